/* Internals of src/predict/: feature layout and helpers shared by its files. */
#ifndef SQ_PREDICT_INTERNAL_H
#define SQ_PREDICT_INTERNAL_H

#include "shopseq/behavior.h"
#include "shopseq/predict.h"

/* User features, computed from the user's events [b, p) (all with time < cut). */
#define SQ__PRED_USER_FEATURES(X) \
    X(LOG_EVENTS, "log_events") \
    X(LOG_VIEW, "log_view") X(LOG_CLICK, "log_click") X(LOG_SEARCH, "log_search") \
    X(LOG_FAV, "log_fav") X(LOG_CART, "log_cart") X(LOG_UNCART, "log_uncart") \
    X(LOG_BUY, "log_buy") X(LOG_REVIEW, "log_review") X(LOG_RATE, "log_rate") \
    X(LOG_SESSIONS, "log_sessions") \
    X(LOG_ITEMS, "log_distinct_items") \
    X(LOG_CATEGORIES, "log_distinct_categories") \
    X(LOG_HOURS_SINCE_LAST, "log_hours_since_last_event") \
    X(LOG_HOURS_SINCE_FIRST, "log_hours_since_first_event") \
    X(LOG_HOURS_SINCE_BUY, "log_hours_since_last_buy") \
    X(EVER_BOUGHT, "ever_bought") \
    X(LOG_GAP_LAST_TWO, "log_hours_between_last_two_events") \
    X(LOG_SESSION_GAP, "log_mean_hours_between_sessions") \
    X(LOG_EVENTS_LAST_H, "log_events_last_horizon") \
    X(LOG_EVENTS_LAST_DAY, "log_events_last_24h") \
    X(LOG_EVENTS_LAST_WEEK, "log_events_last_7d") \
    X(LOG_SESSIONS_LAST_WEEK, "log_sessions_last_7d") \
    X(LOG_BUYS_LAST_WEEK, "log_buys_last_7d") \
    X(LOG_MONETARY, "log_monetary") \
    X(BUY_PER_VIEW, "buy_per_view") X(CART_PER_VIEW, "cart_per_view") \
    X(BUY_PER_CART, "buy_per_cart") X(FAV_PER_VIEW, "fav_per_view") \
    X(LOG_LAST_SESSION_EVENTS, "log_last_session_events") \
    X(LAST_VIEW, "last_is_view") X(LAST_CLICK, "last_is_click") \
    X(LAST_SEARCH, "last_is_search") X(LAST_FAV, "last_is_fav") X(LAST_CART, "last_is_cart") \
    X(LAST_UNCART, "last_is_uncart") X(LAST_BUY, "last_is_buy") \
    X(LAST_REVIEW, "last_is_review") X(LAST_RATE, "last_is_rate") \
    X(LOG_CAT_EVENTS, "log_events_in_category") X(LOG_CAT_BUYS, "log_buys_in_category")

/* Candidate-item features (item task), appended after the user features. */
#define SQ__PRED_ITEM_FEATURES(X) \
    X(ITEM_LOG_POP, "item_log_events") \
    X(ITEM_LOG_BUYS, "item_log_buys") \
    X(ITEM_LOG_POP_RECENT, "item_log_events_last_horizon") \
    X(UI_LOG_EVENTS, "user_item_log_events") \
    X(UI_BOUGHT, "user_item_bought") \
    X(UI_LOG_HOURS_SINCE, "user_item_log_hours_since") \
    X(UC_SHARE, "user_category_share") \
    X(UC_LOG_EVENTS, "user_category_log_events")

enum {
#define SQ__PRED_FENUM(name, str) SQ__F_##name,
    SQ__PRED_USER_FEATURES(SQ__PRED_FENUM)
    SQ__PRED_N_USER_FEATURES,
    SQ__F_ITEM_BASE_ = SQ__PRED_N_USER_FEATURES - 1,
    SQ__PRED_ITEM_FEATURES(SQ__PRED_FENUM)
    SQ__PRED_N_ALL_FEATURES
#undef SQ__PRED_FENUM
};

extern const char *const sq__pred_feature_names[SQ__PRED_N_ALL_FEATURES];

/* The number of a saved scorer's metadata keys that predict_meta_xxh64 covers, and that
 * checksum of their values in the keys' order (model_io.c; tests write files with it). */
enum { SQ__PRED_N_META = 19 };
uint64_t sq__pred_meta_hash(const char *const *values);
/* The NULL-terminated key/value list a saved scorer's __metadata__ holds: the covered keys
 * with these values, then predict_meta_xxh64 (written into hash). meta has room for
 * 2 * SQ__PRED_N_META + 3 entries; it points into values and hash. */
void sq__pred_meta_pairs(const char *const *values, char hash[17], const char **meta);

/* Per-item counts over events with time < cut (item task). */
typedef struct sq__pred_items {
    uint32_t *events, *buys, *recent; /* (n_items) */
    /* (n_items) category of the item's latest event before the cut, SQ_NONE if it has
     * none: the dataset's item_category is "last seen" over all events, a later one
     * included, so it must not be read */
    uint32_t *category;
    int64_t *category_time;
} sq__pred_items;

/* Writes SQ__PRED_N_USER_FEATURES values for user events [b, p) at cut. */
void sq__pred_user_features(const sq_dataset *ds, const sq_pred_config *cfg, uint64_t b,
                            uint64_t p, int64_t cut_ms, float *row);
/* Writes the item features of (events [b, p), item) at cut. */
void sq__pred_item_features(const sq_dataset *ds, const sq__pred_items *it, uint64_t b,
                            uint64_t p, uint32_t item, int64_t cut_ms, float *row);

/* Appends src's rows to dst (same task and features); 0, or -1 without memory. */
int sq__pred_append(sq_pred_examples *dst, const sq_pred_examples *src);

/* 1 when a user whose latest event before cut_ms is at `last` is an example of cfg's task
 * (churn: active; other tasks: within the lookback, if any). */
int sq__pred_eligible(const sq_pred_config *cfg, int64_t last, int64_t cut_ms);

/* First index in [b, e) whose time is >= t (events of one user are time-sorted). */
uint64_t sq__pred_lower_bound(const sq_dataset *ds, uint64_t b, uint64_t e, int64_t t);

#endif
