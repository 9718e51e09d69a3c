/* One-screen summary of a dataset (shopseq stats). */
#ifndef SHOPSEQ_STATS_H
#define SHOPSEQ_STATS_H

#include <stdint.h>

#include "shopseq/behavior.h"
#include "shopseq/dataset.h"

typedef struct sq_length_dist {
    uint64_t min, median, p90, max;
    double mean;
} sq_length_dist;

typedef struct sq_dataset_stats {
    uint32_t users, items, categories;
    uint64_t events, sessions;
    uint64_t by_behavior[SQ_BEHAVIOR_COUNT];
    int64_t time_min_ms, time_max_ms;
    sq_length_dist user_length;    /* events per user */
    sq_length_dist session_length; /* events per session */
    double density;                /* distinct (user, item) pairs / (users * items) */
    uint64_t user_item_pairs;
    uint32_t items_seen;           /* items with at least one event */
    uint64_t events_with_price, events_with_category;
} sq_dataset_stats;

sq_status sq_dataset_stats_compute(const sq_dataset *ds, sq_dataset_stats *out, sq_error *err);

#endif
