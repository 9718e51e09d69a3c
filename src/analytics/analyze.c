/* sq_analyze: runs the passes in order and owns the result's memory. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const stage_names[SQ_STAGE_COUNT] = {"view", "fav", "cart", "buy"};
static const char *const rank_names[SQ_RANK_COUNT] = {"views", "carts", "buys", "conversion"};
static const char *const segment_names[SQ_SEG_COUNT] = {
#define SQ__SEG_NAME(name, str) str,
    SQ_SEGMENT_TABLE(SQ__SEG_NAME)
#undef SQ__SEG_NAME
};

const char *sq_stage_name(int s) { return s >= 0 && s < SQ_STAGE_COUNT ? stage_names[s] : "?"; }
const char *sq_rank_name(int r) { return r >= 0 && r < SQ_RANK_COUNT ? rank_names[r] : "?"; }
const char *sq_segment_name(int s) { return s >= 0 && s < SQ_SEG_COUNT ? segment_names[s] : "?"; }

sq_analysis_opts sq_analysis_opts_default(void) {
    sq_analysis_opts o = {.top_n = 10, .min_support = 20, .tz_offset_min = 0, .trim_share = 0.001};
    return o;
}

double sq_funnel_step(const sq_funnel *f, int stage, bool has_fav) {
    /* the chain is view -> cart -> buy; fav is a side step measured against views */
    if (stage <= SQ_STAGE_VIEW || stage >= SQ_STAGE_COUNT) return NAN;
    if (stage == SQ_STAGE_FAV && !has_fav) return NAN;
    int prev = stage == SQ_STAGE_BUY ? SQ_STAGE_CART : SQ_STAGE_VIEW;
    return f->reached[prev] ? (double)f->reached[stage] / (double)f->reached[prev] : NAN;
}

double sq_funnel_overall(const sq_funnel *f) {
    return f->reached[SQ_STAGE_VIEW]
               ? (double)f->reached[SQ_STAGE_BUY] / (double)f->reached[SQ_STAGE_VIEW]
               : NAN;
}

double sq_analysis_cart_abandonment(const sq_analysis *a) {
    return a->carted_pairs ? 1.0 - (double)a->carted_bought_pairs / (double)a->carted_pairs : NAN;
}
double sq_analysis_bounce_rate(const sq_analysis *a) {
    return a->n_sessions ? (double)a->bounce_sessions / (double)a->n_sessions : NAN;
}
double sq_analysis_repeat_rate(const sq_analysis *a) {
    return a->buyers ? (double)a->repeat_buyers / (double)a->buyers : NAN;
}
int64_t sq_analysis_period_day(const sq_analysis *a, uint32_t p) {
    return a->day0 + (int64_t)p * a->period_days;
}

void sq_day_format(int64_t day, char *buf, int cap) {
    /* civil_from_days (H. Hinnant) */
    int64_t z = day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    snprintf(buf, (size_t)cap, "%04lld-%02lld-%02lld", (long long)y, (long long)m, (long long)d);
}

static const uint32_t bucket_lo[SQ_DIST_BUCKETS] = {1, 2, 3, 4, 5, 6, 11, 21, 51, 101, 201, 501, 1001, 5001};
void sq_dist_bucket_range(int b, uint32_t *lo, uint32_t *hi) {
    *lo = bucket_lo[b];
    *hi = b + 1 < SQ_DIST_BUCKETS ? bucket_lo[b + 1] - 1 : UINT32_MAX;
}
void sq_dist_bucket_label(int b, char *buf, int cap) {
    uint32_t lo, hi;
    sq_dist_bucket_range(b, &lo, &hi);
    if (hi == UINT32_MAX) snprintf(buf, (size_t)cap, ">%u", lo - 1);
    else if (lo == hi) snprintf(buf, (size_t)cap, "%u", lo);
    else snprintf(buf, (size_t)cap, "%u-%u", lo, hi);
}

/* ---- selection: quickselect with a three-way partition (many equal counts are common).
 * On return v[0..k) <= v[k] <= v[k+1..n). */
#define SQ__DEFINE_SELECT(name, T)                                          \
    T name(T *v, size_t n, size_t k) {                                      \
        ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;         \
        while (lo < hi) {                                                   \
            T x = v[lo], y = v[lo + (hi - lo) / 2], z = v[hi], p;           \
            if ((x <= y && y <= z) || (z <= y && y <= x)) p = y;            \
            else if ((y <= x && x <= z) || (z <= x && x <= y)) p = x;       \
            else p = z;                                                     \
            ptrdiff_t lt = lo, i = lo, gt = hi;                             \
            while (i <= gt) {                                               \
                T t = v[i];                                                 \
                if (t < p) { v[i++] = v[lt]; v[lt++] = t; }                 \
                else if (t > p) { v[i] = v[gt]; v[gt--] = t; }              \
                else i++;                                                   \
            }                                                               \
            if (kk < lt) hi = lt - 1;                                       \
            else if (kk > gt) lo = gt + 1;                                  \
            else return p;                                                  \
        }                                                                   \
        return v[kk];                                                       \
    }
SQ__DEFINE_SELECT(sq__select_f64, double)
SQ__DEFINE_SELECT(sq__select_f32, float)
SQ__DEFINE_SELECT(sq__select_u32, uint32_t)

double sq__median_f64(double *v, size_t n) {
    if (!n) return NAN;
    double hi = sq__select_f64(v, n, n / 2);
    if (n % 2) return hi;
    double lo = v[0]; /* max of the lower half */
    for (size_t i = 1; i < n / 2; i++)
        if (v[i] > lo) lo = v[i];
    return (lo + hi) / 2;
}

double sq__quantile_f64(double *v, size_t n, double q) {
    if (!n) return NAN;
    size_t r = (size_t)ceil(q * (double)n); /* nearest rank, 1-based */
    if (r < 1) r = 1;
    if (r > n) r = n;
    return sq__select_f64(v, n, r - 1);
}

void sq_analysis_free(sq_analysis *a) {
    if (!a) return;
    free(a->cohort_size);
    free(a->cohort_active);
    free(a->daily_events);
    free(a->daily_by_behavior);
    free(a->daily_active_users);
    for (int r = 0; r < SQ_RANK_COUNT; r++) {
        free(a->top_items[r].rows);
        free(a->top_categories[r].rows);
    }
    free(a->category_funnels);
    free(a->rfm);
    memset(a, 0, sizeof *a);
}

sq_status sq_analyze(const sq_dataset *ds, const sq_analysis_opts *opts, sq_analysis *a,
                     sq_error *err) {
    memset(a, 0, sizeof *a);
    a->opts = opts ? *opts : sq_analysis_opts_default();
    if (a->opts.top_n == 0) a->opts.top_n = 1;
    if (!(a->opts.trim_share >= 0 && a->opts.trim_share < 0.5))
        return sq_error_set(err, SQ_ERR_USAGE, "trim share must be in [0, 0.5)");
    if (ds->n_events == 0 || ds->n_users == 0)
        return sq_error_set(err, SQ_ERR_FORMAT, "the dataset has no events");
    a->has_price = (ds->flags & SQ_DATASET_HAS_PRICE) != 0;
    a->has_category = (ds->flags & SQ_DATASET_HAS_CATEGORY) != 0 && ds->n_categories > 0;

    sq__ctx c = {.ds = ds, .a = a, .tz_ms = (int64_t)a->opts.tz_offset_min * 60000};
    sq_status st = sq__window(&c, err);
    if (st == SQ_OK) {
        /* The other passes only read the dataset and the window and write disjoint fields
         * of a (items.c reads what funnel.c wrote, so they run in one section): run them
         * side by side. Each has its own error; the first failure in pass order wins, so
         * the result does not depend on scheduling. */
        enum { N = 5 };
        sq_error errs[N];
        sq_status sts[N];
        memset(errs, 0, sizeof errs);
#pragma omp parallel sections
        {
#pragma omp section
            {
                sts[0] = sq__funnel(&c, &errs[0]);
                if (sts[0] == SQ_OK) sts[0] = sq__items(&c, &errs[0]);
            }
#pragma omp section
            sts[1] = sq__activity(&c, &errs[1]);
#pragma omp section
            sts[2] = sq__rfm(&c, &errs[2]);
#pragma omp section
            sts[3] = sq__sessions(&c, &errs[3]);
#pragma omp section
            sts[4] = sq__retention(&c, &errs[4]);
        }
        for (int i = 0; i < N && st == SQ_OK; i++)
            if (sts[i] != SQ_OK) {
                st = sts[i];
                if (err) *err = errs[i];
            }
    }
    free(c.items);
    free(c.cats);
    free(c.cat_reached);
    free(c.vb);
    free(c.vb_cat);
    return st;
}
