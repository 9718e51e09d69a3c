/* Internals of the shop simulator, shared by the files of src/data/synth/:
 *   world.c      categories, items, prices, launch times, popularity
 *   types.c      the latent user types and their parameters
 *   users.c      one user's life: type, arrival, churn, preferences and drift, session times
 *   sessions.c   one session: the funnel view -> (fav) -> cart -> buy, consumable repeats
 *   anomalies.c  bots (speed, uniform) and fraud bursts
 *   write.c      buffered CSV writer (plain, gzip, zstd) with hand-rolled formatting
 *   synth.c      options, validation, the run loop, side files */
#ifndef SQ_DATA_SYNTH_INTERNAL_H
#define SQ_DATA_SYNTH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/fileio.h"
#include "data/synth/rng.h"
#include "shopseq/synth.h"

#define SQ__DAY 86400
#define SQ__HOUR 3600

/* ---- world ---------------------------------------------------------------------------- */

typedef struct sq__item_text {
    char pre[23];     /* "item_id,category_id," */
    uint8_t pre_len;
    char price[15];   /* "12.34\n" */
    uint8_t price_len;
} sq__item_text;

typedef struct sq__world {
    uint32_t n_cat, n_items;
    int64_t start, end;        /* span [start, end) */
    double *cat_w;             /* (n_cat) popularity, sums to 1 */
    double *cat_cum;           /* (n_cat) cumulative of cat_w */
    float *cat_mu, *cat_sigma; /* (n_cat) log-normal price parameters */
    uint8_t *cat_consumable;   /* (n_cat) 1: bought again every cat_period days */
    float *cat_period;         /* (n_cat) replenishment period in days */
    uint32_t *cat_off;         /* (n_cat+1) offsets into the per-category arrays below */
    uint32_t *cat_items;       /* (n_items) item index, grouped by category, by launch time */
    int64_t *cat_launch;       /* (n_items) launch time parallel to cat_items */
    double *cat_itemcum;       /* (n_items) cumulative popularity within the category */
    uint32_t *item_cat;        /* (n_items) */
    uint32_t *item_cents;      /* (n_items) price in cents */
    float *item_z;             /* (n_items) (log price - mu_cat) / sigma_cat */
    int64_t *item_launch;      /* (n_items) */
    uint32_t *item_rank;       /* (n_items) 1 = most popular overall */
    sq__item_text *item_text;  /* (n_items) preformatted CSV pieces */
} sq__world;

sq_status sq__world_build(sq__world *w, const sq_synth_options *o, sq_error *err);
void sq__world_free(sq__world *w);
/* A category by popularity. */
uint32_t sq__world_pick_category(const sq__world *w, sq__rng *r);
/* An item of category c launched by time t, by popularity (every category has an item
 * launched before the span starts). */
uint32_t sq__world_pick_item(const sq__world *w, uint32_t c, int64_t t, sq__rng *r);
/* Number of items of category c launched by time t. */
uint32_t sq__world_launched(const sq__world *w, uint32_t c, int64_t t);

/* ---- latent types --------------------------------------------------------------------- */

typedef struct sq__type_params {
    const char *name;
    double share;            /* share among normal users */
    double sessions_per_day; /* mean session rate of an average user */
    double session_len;      /* mean item views per session */
    double dwell;            /* median seconds between views */
    double p_fav, p_cart, p_buy; /* funnel: per view, per view, per carted item */
    double price_alpha;      /* item choice: > 0 prefers cheap items of a category */
    double price_beta;       /* cart/buy: > 0 less likely for expensive items */
    double repeat_p;         /* share of views that revisit a recently seen item */
    double stick;            /* probability the next view stays in the same category */
    double replenish_p;      /* probability a due consumable is bought again */
    int n_pref;              /* number of favourite categories */
    double churn_mult;       /* multiplier on the churn rate */
    double cheap_bias, pricey_bias, consumable_bias; /* category mix */
    double hour_peak[2], hour_share2, hour_spread;   /* active hours (two bumps) */
    double dow[7];           /* weekday weights, Monday first */
} sq__type_params;

extern const sq__type_params sq__types[4];
/* cumulative hour-of-day distribution per type (normal types and bots) */
void sq__type_hour_cdf(int type, double cdf[24]);

/* ---- writer --------------------------------------------------------------------------- */

typedef struct sq__writer {
    sq_atomic_file af;
    int kind;        /* 0 plain, 1 gzip, 2 zstd */
    char *buf;
    size_t len, cap;
    void *z;         /* z_stream* or ZSTD_CCtx* */
    char *obuf;
    size_t ocap;
    uint64_t bytes;  /* uncompressed bytes written */
    sq_status st;
    char errmsg[256];
} sq__writer;

#define SQ__WRITER_SLACK 256 /* room guaranteed after sq__writer_reserve */

sq_status sq__writer_open(sq__writer *w, const char *path, sq_error *err);
void sq__writer_flush_buf(sq__writer *w);
static inline char *sq__writer_reserve(sq__writer *w) {
    if (w->cap - w->len < SQ__WRITER_SLACK) sq__writer_flush_buf(w);
    return w->buf + w->len;
}
void sq__writer_write(sq__writer *w, const char *s, size_t n);
sq_status sq__writer_commit(sq__writer *w, sq_error *err);
void sq__writer_abort(sq__writer *w);

/* decimal digits of v at p, returns the length */
int sq__fmt_u64(char *p, uint64_t v);

/* ---- users and sessions --------------------------------------------------------------- */

#define SQ__MAX_PREF 8
#define SQ__RECENT 32
#define SQ__MAX_DUE 8
#define SQ__MAX_CART 48

typedef struct sq__user {
    uint64_t id;          /* 1-based */
    int type;             /* sq_synth_type */
    int anomaly;          /* sq_synth_anomaly */
    int64_t arrival;      /* may be before the span (existing customers) */
    int64_t first;        /* first session */
    int64_t churn;        /* -1: none */
    int64_t limit;        /* no event at or after this time */
    double activity;      /* multiplier on session rate */
    double len_mult;      /* multiplier on session length */
    int n_pref;
    uint32_t pref_cat[SQ__MAX_PREF];
    double pref_w[SQ__MAX_PREF];
    uint32_t recent[SQ__RECENT];
    int n_recent, recent_pos;
    uint32_t due_item[SQ__MAX_DUE];
    int64_t due_time[SQ__MAX_DUE];
    int n_due;
    int64_t last_t;       /* time of the last event */
    bool stopped;         /* reached limit */
    uint64_t events, sessions;
    sq__rng rng;
} sq__user;

/* Where events go: a writer, or nowhere (counting only). */
typedef struct sq__sink {
    sq__writer *w; /* NULL: count only */
    const sq__world *world;
    char uid[24];
    int uid_len;
    uint64_t events;
    uint64_t by_behavior[SQ_BEHAVIOR_COUNT];
} sq__sink;

typedef struct sq__ctx {
    const sq_synth_options *o;
    const sq__world *w;
    sq__sink *sink;
    double hour_cdf[SQ_SYNTH_TYPE_COUNT][24];
} sq__ctx;

/* Emits one event of user u unless t is at or past u->limit (then u->stopped is set).
 * Returns false when the event was not emitted. */
bool sq__emit(sq__ctx *c, sq__user *u, uint32_t item, int behavior, int64_t t);

/* Draws the user's attributes (type, anomaly, arrival, churn, preferences). */
void sq__user_init(sq__ctx *c, sq__user *u, uint64_t id);
/* Generates and emits all of the user's events. */
void sq__user_generate(sq__ctx *c, sq__user *u);
/* Preference drift between sessions, dt seconds apart. */
void sq__user_drift(sq__ctx *c, sq__user *u, double dt);
uint32_t sq__user_pick_category(sq__ctx *c, sq__user *u);
/* A time of day (seconds into the day) from the type's hour distribution. */
int64_t sq__pick_time_of_day(sq__ctx *c, int type, sq__rng *r);

/* One normal session starting at t0; returns the time of its last event. */
int64_t sq__session(sq__ctx *c, sq__user *u, int64_t t0);

/* anomalies.c */
void sq__anomaly_init(sq__ctx *c, sq__user *u);
void sq__bot_generate(sq__ctx *c, sq__user *u);
/* A fraud burst at about day start ds (buys of expensive items at 1-5 am). */
int64_t sq__fraud_burst(sq__ctx *c, sq__user *u, int64_t t0);

#endif
