/* Task names, defaults and the default cuts from the data's span. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

static const char *const task_names[SQ_PRED_TASK_COUNT] = {"purchase", "churn", "next-behavior",
                                                           "item"};

const char *sq_pred_task_name(int task) {
    return task >= 0 && task < SQ_PRED_TASK_COUNT ? task_names[task] : "?";
}

int sq_pred_task_from_name(const char *s) {
    for (int t = 0; t < SQ_PRED_TASK_COUNT; t++)
        if (!strcasecmp(s, task_names[t])) return t;
    if (!strcasecmp(s, "next_behavior") || !strcasecmp(s, "next-behaviour")) return SQ_PRED_NEXT_BEHAVIOR;
    return -1;
}

void sq_pred_config_default(sq_pred_config *c) {
    memset(c, 0, sizeof *c);
    c->task = SQ_PRED_PURCHASE;
    c->horizon_ms = 7 * 86400000LL;
    c->category = SQ_NONE;
    c->item_negatives = 4;
    c->item_max_pos = 20;
    c->item_candidates = 20;
    c->seed = 42;
    c->train_cuts = 4;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static const int64_t HOUR_MS = 3600000, DAY_MS = 86400000;

/* The trimmed span: the 0.1% earliest and latest events are treated as strays (a few
 * rows far outside a data set's official window must not move the cuts). */
static sq_status trimmed_span(const sq_dataset *ds, int64_t *lo, int64_t *hi, sq_error *err) {
    uint64_t n = ds->n_events;
    if (!n) return sq_error_set(err, SQ_ERR_USAGE, "the dataset has no events");
    if (ds->flags & SQ_DATASET_SYNTHETIC_TIME)
        return sq_error_set(err, SQ_ERR_USAGE,
                            "the dataset has no event times (ingested without a time column): "
                            "time cuts and horizons need them");
    int64_t *t = malloc(n * sizeof *t);
    if (!t) return sq_error_set(err, SQ_ERR_NOMEM, "sorting %llu event times",
                                (unsigned long long)n);
    memcpy(t, ds->time_ms, n * sizeof *t);
    qsort(t, n, sizeof *t, cmp_i64);
    uint64_t drop = n / 1000;
    *lo = t[drop];
    *hi = t[n - 1 - drop];
    /* the trim is for strays: when the extremes sit close to the bulk (within 5% of the
     * span) they are the data's real edges, and trimming would cut a busy last hour */
    int64_t near = (*hi - *lo) / 20;
    if (t[0] >= *lo - near) *lo = t[0];
    if (t[n - 1] <= *hi + near) *hi = t[n - 1];
    free(t);
    return SQ_OK;
}

sq_status sq_pred_data_end(const sq_dataset *ds, int64_t *end_ms, sq_error *err) {
    int64_t lo, hi;
    sq_status st = trimmed_span(ds, &lo, &hi, err);
    if (st != SQ_OK) return st;
    /* the last event's hour, rounded up: [E - h, E) then ends at a whole hour */
    int64_t e = hi + 1;
    int64_t r = ((e % HOUR_MS) + HOUR_MS) % HOUR_MS;
    *end_ms = r ? e + (HOUR_MS - r) : e;
    return SQ_OK;
}

int64_t sq_pred_default_horizon(const sq_dataset *ds) {
    int64_t lo, hi;
    if (trimmed_span(ds, &lo, &hi, NULL) != SQ_OK) return DAY_MS;
    int64_t span = hi - lo;
    if (span >= 8 * 7 * DAY_MS) return 7 * DAY_MS;
    int64_t h = span / 8;
    h = h >= DAY_MS ? h / DAY_MS * DAY_MS : h / HOUR_MS * HOUR_MS;
    return h < HOUR_MS ? HOUR_MS : h;
}
