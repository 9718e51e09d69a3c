/* The latent user types. Their differences are the ground truth that segmentation is
 * scored against; docs/synth.md lists the designed directions:
 *   cart per view:  big_basket > loyal_regular > bargain_hunter > window_shopper
 *   buy per cart:   big_basket > loyal_regular > bargain_hunter > window_shopper
 *   price level:    bargain_hunter lowest (prefers cheap items and categories),
 *                   big_basket highest (no price sensitivity, mild premium taste)
 *   hours:          loyal mornings+evenings, bargain lunch+evening, window late night,
 *                   big_basket evenings and weekends */
#include <math.h>

#include "data/synth/synth_internal.h"

const sq__type_params sq__types[4] = {
    [SQ_SYNTH_BARGAIN_HUNTER] = {
        .name = "bargain_hunter", .share = 0.30, .sessions_per_day = 0.25, .session_len = 9,
        .dwell = 20, .p_fav = 0.06, .p_cart = 0.07, .p_buy = 0.40, .price_alpha = 1.2,
        .price_beta = 1.0, .repeat_p = 0.10, .stick = 0.5, .replenish_p = 0.6, .n_pref = 5,
        .churn_mult = 1.2, .cheap_bias = 2.5, .pricey_bias = 1, .consumable_bias = 1.5,
        .hour_peak = {12.5, 21}, .hour_share2 = 0.5, .hour_spread = 1.8,
        .dow = {1, 1, 1, 1, 1.1, 1.3, 1.2}},
    [SQ_SYNTH_LOYAL_REGULAR] = {
        .name = "loyal_regular", .share = 0.25, .sessions_per_day = 0.25, .session_len = 5,
        .dwell = 25, .p_fav = 0.04, .p_cart = 0.14, .p_buy = 0.72, .price_alpha = 0.2,
        .price_beta = 0.2, .repeat_p = 0.35, .stick = 0.75, .replenish_p = 0.85, .n_pref = 2,
        .churn_mult = 0.5, .cheap_bias = 1, .pricey_bias = 1, .consumable_bias = 2,
        .hour_peak = {8, 20}, .hour_share2 = 0.5, .hour_spread = 1.5,
        .dow = {1.1, 1.1, 1.1, 1.1, 1.0, 0.8, 0.8}},
    [SQ_SYNTH_WINDOW_SHOPPER] = {
        .name = "window_shopper", .share = 0.30, .sessions_per_day = 0.25, .session_len = 11,
        .dwell = 40, .p_fav = 0.09, .p_cart = 0.03, .p_buy = 0.20, .price_alpha = 0.3,
        .price_beta = 0.6, .repeat_p = 0.12, .stick = 0.4, .replenish_p = 0.4, .n_pref = 7,
        .churn_mult = 1.4, .cheap_bias = 1, .pricey_bias = 2, .consumable_bias = 0.5,
        .hour_peak = {22, 15}, .hour_share2 = 0.35, .hour_spread = 2.0,
        .dow = {1, 1, 1, 1, 1, 1.2, 1.3}},
    [SQ_SYNTH_BIG_BASKET] = {
        .name = "big_basket", .share = 0.15, .sessions_per_day = 0.11, .session_len = 12,
        .dwell = 18, .p_fav = 0.02, .p_cart = 0.22, .p_buy = 0.85, .price_alpha = -0.3,
        .price_beta = 0.1, .repeat_p = 0.2, .stick = 0.6, .replenish_p = 0.85, .n_pref = 5,
        .churn_mult = 0.8, .cheap_bias = 1, .pricey_bias = 1.3, .consumable_bias = 4,
        .hour_peak = {19, 10}, .hour_share2 = 0.4, .hour_spread = 2.0,
        .dow = {0.6, 0.6, 0.6, 0.7, 0.9, 1.6, 1.5}},
};

static const char *const type_names[SQ_SYNTH_TYPE_COUNT] = {
    "bargain_hunter", "loyal_regular", "window_shopper", "big_basket", "bot"};
static const char *const anomaly_names[SQ_SYNTH_ANOMALY_COUNT] = {
    "", "bot_speed", "bot_uniform", "fraud_burst"};

const char *sq_synth_type_name(int type) {
    return type >= 0 && type < SQ_SYNTH_TYPE_COUNT ? type_names[type] : "?";
}

const char *sq_synth_anomaly_name(int kind) {
    return kind >= 0 && kind < SQ_SYNTH_ANOMALY_COUNT ? anomaly_names[kind] : "?";
}

void sq__type_hour_cdf(int type, double cdf[24]) {
    double w[24], tot = 0;
    for (int h = 0; h < 24; h++) {
        if (type == SQ_SYNTH_BOT) {
            w[h] = 1.0; /* bots: around the clock */
        } else {
            const sq__type_params *p = &sq__types[type];
            double v = 0.03;
            for (int k = 0; k < 2; k++) {
                double d = fabs(h + 0.5 - p->hour_peak[k]);
                if (d > 12) d = 24 - d;
                double s = k ? p->hour_share2 : 1.0 - p->hour_share2;
                v += s * exp(-d * d / (2 * p->hour_spread * p->hour_spread));
            }
            if (h >= 1 && h < 6) v *= 0.4; /* people sleep */
            w[h] = v;
        }
        tot += w[h];
    }
    double acc = 0;
    for (int h = 0; h < 24; h++) {
        acc += w[h] / tot;
        cdf[h] = acc;
    }
    cdf[23] = 1.0;
}
