/* shopseq synth: a simulator of a shop, the bundled default data.
 *
 * Writes an event log in the CSV layout that `shopseq ingest` reads by default
 *     user_id,item_id,category_id,behavior,timestamp,price
 * plus two ground-truth side files beside it (<stem> = out without .csv[.gz|.zst]):
 *     <stem>.truth.csv  user_id,latent_type,arrival_time,churn_time,anomaly,anomaly_kind,
 *                       sessions,events
 *     <stem>.items.csv  item_id,category_id,price,launch_time,popularity_rank
 * The model (item popularity, latent user types, drift, funnel, churn, anomalies) and the
 * layouts are described in docs/synth.md.
 *
 * Deterministic: the same options (seed included) give byte-identical files. Each user is
 * generated from its own random stream derived from (seed, user id), so a user's events do
 * not depend on how many users are generated. Memory is independent of the event count:
 * events are streamed user by user (rows grouped by user, in time order within a user). */
#ifndef SHOPSEQ_SYNTH_H
#define SHOPSEQ_SYNTH_H

#include <stdint.h>

#include "shopseq/behavior.h"
#include "shopseq/status.h"

/* Latent user types; values are written by name in the truth file. */
typedef enum {
    SQ_SYNTH_BARGAIN_HUNTER = 0,
    SQ_SYNTH_LOYAL_REGULAR = 1,
    SQ_SYNTH_WINDOW_SHOPPER = 2,
    SQ_SYNTH_BIG_BASKET = 3,
    SQ_SYNTH_BOT = 4, /* automated actors (anomaly kinds bot_speed, bot_uniform) */
    SQ_SYNTH_TYPE_COUNT
} sq_synth_type;

/* Anomaly kinds; values are written by name in the truth file ("" for none). */
typedef enum {
    SQ_SYNTH_ANOMALY_NONE = 0,
    SQ_SYNTH_ANOMALY_BOT_SPEED = 1,   /* crawls the catalogue, 0-1 s between events */
    SQ_SYNTH_ANOMALY_BOT_UNIFORM = 2, /* uniform over items and hours, metronome gaps */
    SQ_SYNTH_ANOMALY_FRAUD_BURST = 3, /* a normal account with bursts of buys at 1-5 am */
    SQ_SYNTH_ANOMALY_COUNT
} sq_synth_anomaly;

const char *sq_synth_type_name(int type);
const char *sq_synth_anomaly_name(int kind);

/* Called now and then during sq_synth_run (about every 1% of users). */
typedef void (*sq_synth_progress_fn)(void *ctx, uint64_t users_done, uint64_t users_total,
                                     uint64_t events);

typedef struct sq_synth_options {
    uint64_t seed;         /* 42 */
    uint64_t users;        /* 20000 */
    uint32_t items;        /* 10000: catalogue size at the end of the span */
    uint32_t categories;   /* 50 */
    int64_t start;         /* 1704067200 = 2024-01-01 00:00:00 UTC (a Monday) */
    uint32_t days;         /* 60: length of the span */
    double churn_rate;     /* 0.30: share of (non-bot) users who stop returning in the span */
    double anomaly_rate;   /* 0.01: share of anomalous actors (bots and fraud) */
    double new_user_share; /* 0.60: share of users arriving during the span (rest existing) */
    double new_item_share; /* 0.25: share of items launched during the span */
    double activity;       /* 1.0: multiplier on session frequency (events per user) */
    double drift;          /* 1.0: strength of preference drift (0 = fixed preferences) */
    double item_zipf;      /* 1.1: Zipf exponent of item popularity within a category */
    double category_zipf;  /* 0.9: Zipf exponent of category popularity */
    const char *out;       /* "synth.csv"; .gz or .zst suffix compresses the events file */
    sq_synth_progress_fn progress; /* optional */
    void *progress_ctx;
} sq_synth_options;

typedef struct sq_synth_result {
    uint64_t events;
    uint64_t users;
    uint64_t items;
    uint64_t categories;
    uint64_t sessions;
    uint64_t churned_users;
    uint64_t anomalous_users;
    uint64_t by_behavior[SQ_BEHAVIOR_COUNT];
    uint64_t bytes;  /* uncompressed size of the events CSV */
    double seconds;  /* wall time of sq_synth_run */
    char *events_path; /* the three files written (owned; sq_synth_result_free) */
    char *truth_path;
    char *items_path;
} sq_synth_result;

void sq_synth_options_init(sq_synth_options *o);

/* Checks the options; SQ_ERR_USAGE with a one-line reason when one is out of range. */
sq_status sq_synth_validate(const sq_synth_options *o, sq_error *err);

/* Generates and writes the three files atomically (temp file, fsync, rename).
 * res may be NULL; otherwise it is filled (free with sq_synth_result_free). */
sq_status sq_synth_run(const sq_synth_options *o, sq_synth_result *res, sq_error *err);
void sq_synth_result_free(sq_synth_result *res);

/* Number of users that gives about target_events events with these options (o->users is
 * ignored): simulates a sample of users without writing anything. */
sq_status sq_synth_users_for_events(const sq_synth_options *o, uint64_t target_events,
                                    uint64_t *users, sq_error *err);

#endif
