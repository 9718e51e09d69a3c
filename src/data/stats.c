#include "shopseq/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank quantiles of lengths[0..n) (sorted in place). */
static sq_length_dist length_dist(uint64_t *len, uint64_t n) {
    sq_length_dist d = {0};
    if (!n) return d;
    qsort(len, n, sizeof *len, cmp_u64);
    double sum = 0;
    for (uint64_t i = 0; i < n; i++) sum += (double)len[i];
    d.min = len[0];
    d.max = len[n - 1];
    d.median = len[(n - 1) / 2];
    uint64_t r90 = (uint64_t)ceil(0.9 * (double)n);
    d.p90 = len[r90 ? r90 - 1 : 0];
    d.mean = sum / (double)n;
    return d;
}

sq_status sq_dataset_stats_compute(const sq_dataset *ds, sq_dataset_stats *s, sq_error *err) {
    memset(s, 0, sizeof *s);
    s->users = ds->n_users;
    s->items = ds->n_items;
    s->categories = ds->n_categories;
    s->events = ds->n_events;
    s->sessions = ds->n_sessions;
    s->time_min_ms = ds->time_min_ms;
    s->time_max_ms = ds->time_max_ms;
    uint64_t n = ds->n_events;
    for (uint64_t i = 0; i < n; i++) {
        s->by_behavior[ds->behavior[i]]++;
        s->events_with_price += !isnan(ds->price[i]);
        s->events_with_category += ds->category[i] != SQ_NONE;
    }
    uint64_t *len = malloc(((uint64_t)ds->n_users + ds->n_sessions + 1) * sizeof *len);
    /* per-user "last user that touched this item" finds distinct pairs in one pass */
    uint32_t *last_user = malloc(((size_t)ds->n_items + 1) * sizeof *last_user);
    if (!len || !last_user) {
        free(len);
        free(last_user);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory computing stats");
    }
    memset(last_user, 0xff, (size_t)ds->n_items * sizeof *last_user);
    for (uint32_t u = 0; u < ds->n_users; u++) {
        len[u] = ds->user_offsets[u + 1] - ds->user_offsets[u];
        for (uint64_t i = ds->user_offsets[u]; i < ds->user_offsets[u + 1]; i++) {
            uint32_t it = ds->item[i];
            if (last_user[it] != u) {
                if (last_user[it] == UINT32_MAX) s->items_seen++;
                last_user[it] = u;
                s->user_item_pairs++;
            }
        }
    }
    s->user_length = length_dist(len, ds->n_users);
    /* sessions are contiguous runs of one session id */
    uint64_t ns = 0;
    for (uint64_t i = 0; i < n;) {
        uint64_t j = i + 1;
        while (j < n && ds->session[j] == ds->session[i]) j++;
        len[ns++] = j - i;
        i = j;
    }
    s->session_length = length_dist(len, ns);
    if (ds->n_users && ds->n_items)
        s->density = (double)s->user_item_pairs / ((double)ds->n_users * (double)ds->n_items);
    free(len);
    free(last_user);
    return SQ_OK;
}
