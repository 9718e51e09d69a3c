/* Shared between the src/analytics/ passes; not part of the public API. */
#ifndef SQ_ANALYTICS_INTERNAL_H
#define SQ_ANALYTICS_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>

#include "shopseq/analytics.h"
#include "shopseq/behavior.h"
#include "shopseq/dataset.h"

#define SQ__MS_PER_DAY 86400000LL
#define SQ__STAMP_NONE UINT32_MAX

/* Per-item (and per-category) counters filled by the funnel pass, read by items.c. */
typedef struct sq__ent_stats {
    uint32_t events, views, favs, carts, buys;
    uint32_t viewers;           /* distinct users with a view */
    uint32_t buyers_after_view; /* distinct users who bought after their first view */
    uint32_t carted_pairs, carted_bought_pairs; /* (user, item) pairs, as in the funnel */
} sq__ent_stats;

typedef struct sq__ctx {
    const sq_dataset *ds;
    sq_analysis *a;
    sq__ent_stats *items;      /* (n_items) */
    sq__ent_stats *cats;       /* (n_categories) */
    uint64_t *cat_reached;     /* (n_categories * SQ_STAGE_COUNT) users per stage */
    int64_t tz_ms;
    double *vb;                /* (n_vb) seconds from first view to buy, per (user, item) */
    uint32_t *vb_cat;          /* (n_vb) category of that item (SQ_NONE if unknown) */
    size_t n_vb;
} sq__ctx;

/* Local day number of a timestamp. */
static inline int64_t sq__day(int64_t t_ms, int64_t tz_ms) {
    int64_t t = t_ms + tz_ms;
    return t >= 0 ? t / SQ__MS_PER_DAY : -((-t + SQ__MS_PER_DAY - 1) / SQ__MS_PER_DAY);
}
/* Window day index of a timestamp, clamped to [0, n_days). */
static inline uint32_t sq__wday(const sq_analysis *a, int64_t t_ms, int64_t tz_ms) {
    int64_t d = sq__day(t_ms, tz_ms) - a->day0;
    if (d < 0) return 0;
    if (d >= (int64_t)a->n_days) return a->n_days - 1;
    return (uint32_t)d;
}
/* Funnel stage of a behaviour; view_b is the behaviour that counts as "view" (view, or
 * click when the data has no view events, e.g. Tmall). */
static inline int sq__stage_of(uint8_t b, uint8_t view_b) {
    if (b == view_b) return SQ_STAGE_VIEW;
    switch (b) {
    case SQ_BEHAVIOR_FAV: return SQ_STAGE_FAV;
    case SQ_BEHAVIOR_CART: return SQ_STAGE_CART;
    case SQ_BEHAVIOR_BUY: return SQ_STAGE_BUY;
    default: return -1;
    }
}

/* k-th smallest (0-based) of v[0..n), reordering v. */
double sq__select_f64(double *v, size_t n, size_t k);
float sq__select_f32(float *v, size_t n, size_t k);
uint32_t sq__select_u32(uint32_t *v, size_t n, size_t k);
/* Median (mean of the two middle values when n is even) and nearest-rank quantile q. */
double sq__median_f64(double *v, size_t n);
double sq__quantile_f64(double *v, size_t n, double q);

/* The passes, in the order sq_analyze runs them. */
sq_status sq__window(sq__ctx *c, sq_error *err);
sq_status sq__activity(sq__ctx *c, sq_error *err);
sq_status sq__funnel(sq__ctx *c, sq_error *err);
sq_status sq__items(sq__ctx *c, sq_error *err);
sq_status sq__retention(sq__ctx *c, sq_error *err);
sq_status sq__sessions(sq__ctx *c, sq_error *err);
sq_status sq__rfm(sq__ctx *c, sq_error *err);

#endif
