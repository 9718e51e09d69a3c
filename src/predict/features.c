/* Tabular features of a user (and of a candidate item) at a cut. Every value is computed
 * from the events [b, p) of one user, all strictly before the cut, and from per-item counts
 * over events before the cut: nothing at or after the cut can reach a feature. Session ids
 * are compared only between neighbouring events, never used as values (their numbering
 * depends on other users' later events). Counts go through log1p so that heavy users do not
 * dominate the standardised scale. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *const sq__pred_feature_names[SQ__PRED_N_ALL_FEATURES] = {
#define SQ__PRED_FNAME(name, str) str,
    SQ__PRED_USER_FEATURES(SQ__PRED_FNAME) SQ__PRED_ITEM_FEATURES(SQ__PRED_FNAME)
#undef SQ__PRED_FNAME
};

uint64_t sq__pred_lower_bound(const sq_dataset *ds, uint64_t b, uint64_t e, int64_t t) {
    while (b < e) {
        uint64_t mid = b + (e - b) / 2;
        if (ds->time_ms[mid] < t) b = mid + 1;
        else e = mid;
    }
    return b;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Distinct values among n (sorts buf in place). */
static uint64_t distinct(uint32_t *buf, uint64_t n) {
    qsort(buf, n, sizeof *buf, cmp_u32);
    uint64_t d = 0;
    for (uint64_t i = 0; i < n; i++)
        if (buf[i] != SQ_NONE && (i == 0 || buf[i] != buf[i - 1])) d++;
    return d;
}

static float lg(double v) { return (float)log1p(v > 0 ? v : 0); }

static const double HOUR = 3600000.0;

void sq__pred_user_features(const sq_dataset *ds, const sq_pred_config *cfg, uint64_t b,
                            uint64_t p, int64_t cut_ms, float *row) {
    memset(row, 0, SQ__PRED_N_USER_FEATURES * sizeof *row);
    uint64_t n = p - b;
    if (!n) return;
    uint64_t by[SQ_BEHAVIOR_COUNT] = {0};
    uint64_t sessions = 0, last_h = 0, last_day = 0, last_week = 0, sessions_week = 0,
             buys_week = 0, cat_events = 0, cat_buys = 0, last_session_events = 0;
    int64_t last_buy = INT64_MIN;
    double monetary = 0;
    int has_price = (ds->flags & SQ_DATASET_HAS_PRICE) != 0;
    for (uint64_t i = b; i < p; i++) {
        int bh = ds->behavior[i];
        if (bh < SQ_BEHAVIOR_COUNT) by[bh]++;
        int new_session = i == b || ds->session[i] != ds->session[i - 1];
        if (new_session) {
            sessions++;
            last_session_events = 0;
        }
        last_session_events++;
        int64_t age = cut_ms - ds->time_ms[i];
        if (age <= cfg->horizon_ms) last_h++;
        if (age <= 86400000) last_day++;
        if (age <= 7 * 86400000LL) {
            last_week++;
            sessions_week += new_session;
            buys_week += bh == SQ_BEHAVIOR_BUY;
        }
        if (bh == SQ_BEHAVIOR_BUY) {
            last_buy = ds->time_ms[i];
            if (has_price && !isnan(ds->price[i])) monetary += ds->price[i];
        }
        if (cfg->category != SQ_NONE && ds->category[i] == cfg->category) {
            cat_events++;
            cat_buys += bh == SQ_BEHAVIOR_BUY;
        }
    }
    uint32_t *buf = malloc(n * sizeof *buf);
    uint64_t n_items = 0, n_cats = 0;
    if (buf) { /* without memory the two counts stay 0 rather than failing the whole run */
        memcpy(buf, ds->item + b, n * sizeof *buf);
        n_items = distinct(buf, n);
        memcpy(buf, ds->category + b, n * sizeof *buf);
        n_cats = distinct(buf, n);
        free(buf);
    }
    int64_t first = ds->time_ms[b], last = ds->time_ms[p - 1];
    double views = (double)(by[SQ_BEHAVIOR_VIEW] + by[SQ_BEHAVIOR_CLICK]);
    row[SQ__F_LOG_EVENTS] = lg((double)n);
    for (int k = 0; k < SQ_BEHAVIOR_COUNT; k++) row[SQ__F_LOG_VIEW + k] = lg((double)by[k]);
    row[SQ__F_LOG_SESSIONS] = lg((double)sessions);
    row[SQ__F_LOG_ITEMS] = lg((double)n_items);
    row[SQ__F_LOG_CATEGORIES] = lg((double)n_cats);
    row[SQ__F_LOG_HOURS_SINCE_LAST] = lg((double)(cut_ms - last) / HOUR);
    row[SQ__F_LOG_HOURS_SINCE_FIRST] = lg((double)(cut_ms - first) / HOUR);
    /* never bought: censored at the whole observed history (the flag tells them apart) */
    row[SQ__F_LOG_HOURS_SINCE_BUY] =
        lg((double)(cut_ms - (last_buy == INT64_MIN ? first : last_buy)) / HOUR);
    row[SQ__F_EVER_BOUGHT] = last_buy != INT64_MIN;
    row[SQ__F_LOG_GAP_LAST_TWO] = n > 1 ? lg((double)(last - ds->time_ms[p - 2]) / HOUR) : 0;
    row[SQ__F_LOG_SESSION_GAP] =
        sessions > 1 ? lg((double)(last - first) / HOUR / (double)(sessions - 1)) : 0;
    row[SQ__F_LOG_EVENTS_LAST_H] = lg((double)last_h);
    row[SQ__F_LOG_EVENTS_LAST_DAY] = lg((double)last_day);
    row[SQ__F_LOG_EVENTS_LAST_WEEK] = lg((double)last_week);
    row[SQ__F_LOG_SESSIONS_LAST_WEEK] = lg((double)sessions_week);
    row[SQ__F_LOG_BUYS_LAST_WEEK] = lg((double)buys_week);
    row[SQ__F_LOG_MONETARY] = lg(monetary);
    /* rates with one pseudo-event in the denominator: defined for every user, and shrunk
     * towards 0 for users with little history */
    row[SQ__F_BUY_PER_VIEW] = (float)((double)by[SQ_BEHAVIOR_BUY] / (views + 1));
    row[SQ__F_CART_PER_VIEW] = (float)((double)by[SQ_BEHAVIOR_CART] / (views + 1));
    row[SQ__F_BUY_PER_CART] = (float)((double)by[SQ_BEHAVIOR_BUY] /
                                      ((double)by[SQ_BEHAVIOR_CART] + 1));
    row[SQ__F_FAV_PER_VIEW] = (float)((double)by[SQ_BEHAVIOR_FAV] / (views + 1));
    row[SQ__F_LOG_LAST_SESSION_EVENTS] = lg((double)last_session_events);
    int lb = ds->behavior[p - 1];
    if (lb < SQ_BEHAVIOR_COUNT) row[SQ__F_LAST_VIEW + lb] = 1;
    row[SQ__F_LOG_CAT_EVENTS] = lg((double)cat_events);
    row[SQ__F_LOG_CAT_BUYS] = lg((double)cat_buys);
}

void sq__pred_item_features(const sq_dataset *ds, const sq__pred_items *it, uint64_t b,
                            uint64_t p, uint32_t item, int64_t cut_ms, float *row) {
    float *r = row - (SQ__PRED_N_USER_FEATURES); /* index by the global feature enum */
    r[SQ__F_ITEM_LOG_POP] = lg(it->events[item]);
    r[SQ__F_ITEM_LOG_BUYS] = lg(it->buys[item]);
    r[SQ__F_ITEM_LOG_POP_RECENT] = lg(it->recent[item]);
    uint32_t cat = it->category[item];
    uint64_t ui = 0, ui_buy = 0, uc = 0;
    int64_t ui_last = INT64_MIN;
    for (uint64_t i = b; i < p; i++) {
        if (ds->item[i] == item) {
            ui++;
            ui_buy += ds->behavior[i] == SQ_BEHAVIOR_BUY;
            ui_last = ds->time_ms[i];
        }
        if (cat != SQ_NONE && ds->category[i] == cat) uc++;
    }
    int64_t ref = ui_last != INT64_MIN ? ui_last : (p > b ? ds->time_ms[b] : cut_ms);
    r[SQ__F_UI_LOG_EVENTS] = lg((double)ui);
    r[SQ__F_UI_BOUGHT] = ui_buy > 0;
    r[SQ__F_UI_LOG_HOURS_SINCE] = lg((double)(cut_ms - ref) / HOUR);
    r[SQ__F_UC_SHARE] = p > b ? (float)((double)uc / (double)(p - b)) : 0;
    r[SQ__F_UC_LOG_EVENTS] = lg((double)uc);
}
