/* Behaviour analytics over an open .sqd dataset: funnel, retention, activity, items and
 * categories, users (RFM, repeat purchases, sequence and session lengths).
 *
 *   sq_analysis a;
 *   sq_analysis_opts o = sq_analysis_opts_default();
 *   if (sq_analyze(&ds, &o, &a, &err) != SQ_OK) ...
 *   json_t *j = sq_analysis_to_json(&a, &ds);      // the analysis.json document
 *   sq_analysis_free(&a);
 *
 * sq_analyze reads the mmapped columns in two passes (one over the time column, one over
 * every user in order); it allocates per item, per category, per user and per day, never
 * per event. Exact definitions of every number are in docs/analytics.md. */
#ifndef SHOPSEQ_ANALYTICS_H
#define SHOPSEQ_ANALYTICS_H

#include <stdbool.h>
#include <stdint.h>

#include "shopseq/dataset.h"
#include "shopseq/status.h"

/* Funnel stages, in order. A stage is "reached" in a scope (user, session, user×category)
 * when the scope holds at least one event of that behaviour (view: click events stand in
 * when the data has no view events). */
enum { SQ_STAGE_VIEW, SQ_STAGE_FAV, SQ_STAGE_CART, SQ_STAGE_BUY, SQ_STAGE_COUNT };
const char *sq_stage_name(int stage);

typedef struct sq_analysis_opts {
    uint32_t top_n;          /* rows in each top-N list (default 10) */
    uint32_t min_support;    /* viewers an item/category needs to enter "top by conversion" (20) */
    int32_t tz_offset_min;   /* local time = UTC + offset, for days, hours, weekdays (0) */
    double trim_share;       /* events trimmed from each end of the time range as stray
                                outliers when choosing the window (0.001 = 0.1%) */
} sq_analysis_opts;

sq_analysis_opts sq_analysis_opts_default(void);

typedef struct sq_funnel {
    uint64_t reached[SQ_STAGE_COUNT]; /* scopes with >= 1 event of the stage */
    uint64_t total;                   /* scopes considered */
} sq_funnel;

/* Step conversion: fav / view and cart / view (fav is a side step, not a gate), buy / cart;
 * overall: buy / view. NaN when the denominator is 0. */
double sq_funnel_step(const sq_funnel *f, int stage, bool has_fav);
double sq_funnel_overall(const sq_funnel *f);

typedef struct sq_dist {     /* a distribution of positive integers (lengths) */
    uint64_t n, sum;
    uint32_t min, max;
    double median, p90, mean;
    uint64_t bins[16];       /* counts per bucket, edges in sq_dist_bucket_* */
} sq_dist;
#define SQ_DIST_BUCKETS 14
/* Bucket b holds values in [lo, hi] (hi == UINT32_MAX for the last). */
void sq_dist_bucket_range(int b, uint32_t *lo, uint32_t *hi);
void sq_dist_bucket_label(int b, char *buf, int cap);

typedef struct sq_rank_row {  /* one row of a top-N list of items or categories */
    uint32_t id;              /* dense item or category id */
    uint64_t views, favs, carts, buys; /* events */
    uint64_t viewers;         /* distinct users who viewed */
    uint64_t buyers_after_view; /* distinct viewers who bought after their first view */
    double conversion;        /* buyers_after_view / viewers */
} sq_rank_row;

enum { SQ_RANK_VIEWS, SQ_RANK_CARTS, SQ_RANK_BUYS, SQ_RANK_CONVERSION, SQ_RANK_COUNT };
const char *sq_rank_name(int r);

typedef struct sq_rank_list {
    uint32_t n;
    sq_rank_row *rows; /* (top_n) */
} sq_rank_list;

typedef struct sq_category_funnel { /* user×category funnel of one category */
    uint32_t id;
    sq_funnel users;
    uint64_t events;
    uint64_t carted_pairs, carted_bought_pairs; /* (user, item) pairs on its items */
    uint64_t view_buy_pairs;
    double view_buy_median_s; /* NaN when no pair */
} sq_category_funnel;

/* RFM segments, first matching rule wins (docs/analytics.md). */
#define SQ_SEGMENT_TABLE(X)                   \
    X(SQ_SEG_CHAMPIONS, "champions")          \
    X(SQ_SEG_LOYAL, "loyal")                  \
    X(SQ_SEG_NEW, "new")                      \
    X(SQ_SEG_PROMISING, "promising")          \
    X(SQ_SEG_AT_RISK, "at risk")              \
    X(SQ_SEG_HIBERNATING, "hibernating")
typedef enum {
#define SQ__SEG_ENUM(name, str) name,
    SQ_SEGMENT_TABLE(SQ__SEG_ENUM)
#undef SQ__SEG_ENUM
    SQ_SEG_COUNT
} sq_segment;
const char *sq_segment_name(int s);

typedef struct sq_rfm_user {
    float recency_days;  /* window end - last event, in days */
    uint32_t frequency;  /* sessions */
    float monetary;      /* spend on buys (price known), else number of buy events */
    uint8_t r, f, m;     /* scores 1..5 */
    uint8_t segment;     /* sq_segment */
} sq_rfm_user;

typedef enum { SQ_PERIOD_DAY, SQ_PERIOD_WEEK, SQ_PERIOD_MONTH } sq_period;

typedef struct sq_analysis {
    sq_analysis_opts opts;
    bool has_fav, has_price, has_category;
    uint8_t view_behavior;    /* what counts as the view stage: view, or click when the
                                 data has no view events */

    /* window: local days [day0, day0 + n_days); events outside are clamped to its ends */
    int64_t day0;             /* local day number (days since 1970-01-01 local) */
    uint32_t n_days;
    uint64_t events_before, events_after; /* trimmed strays */
    int64_t window_end_ms;    /* reference time for recency: last event inside the window */

    /* funnel */
    uint64_t events_by_behavior[16];
    sq_funnel users_funnel, sessions_funnel;
    uint64_t carted_pairs, carted_bought_pairs;   /* (user,item) carted; of those bought later */
    uint64_t sessions_with_cart, sessions_cart_no_buy;
    uint64_t view_buy_pairs;  /* (user,item) bought after a view */
    double view_buy_median_s, view_buy_p25_s, view_buy_p75_s; /* NaN when no pair */

    /* retention: cohorts by first active period; active[c * n_periods + k] = users of
     * cohort c active in period c + k */
    sq_period period;
    uint32_t period_days;     /* 1, 7, 30, or more so that there are at most 104 periods */
    uint32_t n_periods;
    uint64_t *cohort_size;    /* (n_periods) */
    uint64_t *cohort_active;  /* (n_periods * n_periods) */

    /* activity */
    uint64_t hour_weekday[7][24]; /* weekday 0 = Monday, local time */
    uint64_t *daily_events;       /* (n_days) */
    uint64_t *daily_by_behavior;  /* (n_days * SQ_BEHAVIOR_COUNT) */
    uint64_t *daily_active_users; /* (n_days) */

    /* items and categories */
    sq_rank_list top_items[SQ_RANK_COUNT];
    sq_rank_list top_categories[SQ_RANK_COUNT];
    uint32_t n_category_funnels;
    sq_category_funnel *category_funnels; /* top_n categories by viewers */
    uint64_t items_with_events;
    double top1_share, top10_share; /* share of events on the top 1% / 10% of items */

    /* users */
    sq_rfm_user *rfm;         /* (n_users) */
    uint64_t segment_size[SQ_SEG_COUNT];
    double segment_mean[SQ_SEG_COUNT][3]; /* mean recency, frequency, monetary */
    uint64_t buyers, repeat_buyers; /* users with a buy; with buys in >= 2 sessions */
    sq_dist seq_len;          /* events per user */
    sq_dist session_len;      /* events per session */
    uint64_t bounce_sessions; /* sessions with one event */
    uint64_t n_sessions;
    double session_duration_median_s;
} sq_analysis;

/* Computes everything. a is overwritten; free with sq_analysis_free (also on error). */
sq_status sq_analyze(const sq_dataset *ds, const sq_analysis_opts *opts, sq_analysis *a,
                     sq_error *err);
void sq_analysis_free(sq_analysis *a); /* zeroed or freed a ok */

/* Ratios the report and JSON share (NaN when undefined). */
double sq_analysis_cart_abandonment(const sq_analysis *a);
double sq_analysis_bounce_rate(const sq_analysis *a);
double sq_analysis_repeat_rate(const sq_analysis *a);
/* Start of period p (local day number). */
int64_t sq_analysis_period_day(const sq_analysis *a, uint32_t p);

/* Formats a local day number as YYYY-MM-DD. */
void sq_day_format(int64_t day, char *buf, int cap);

/* ---- output ---- */
struct json_t;
/* The analysis.json document (new reference; NULL on allocation failure). */
struct json_t *sq_analysis_to_json(const sq_analysis *a, const sq_dataset *ds);
/* Per-user RFM table with original user ids, written atomically. */
sq_status sq_analysis_write_rfm_csv(const sq_analysis *a, const sq_dataset *ds,
                                    const char *path, sq_error *err);
/* analysis.json, rfm.csv and report.html into dir (created if needed). */
sq_status sq_analysis_write_all(const sq_analysis *a, const sq_dataset *ds, const char *dir,
                                const char *title, sq_error *err);

#endif
