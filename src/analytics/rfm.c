/* RFM per user and segments.
 *   R  recency: days from the user's last event to the window's last event
 *   F  frequency: sessions
 *   M  monetary: total price of buy events (price known), else number of buy events
 * Scores 1..5 by mid-rank quintiles over all users (ties share a score; a smaller R is
 * better); M: users without a purchase score 1, buyers 2..5 by mid-rank quartiles among
 * buyers. Segments: first matching rule, with FM = (F + M + 1) / 2:
 *   champions R>=4 & FM>=4 · new: first seen in the last 20% of the window & R>=3 ·
 *   loyal R>=3 & FM>=3 · promising R>=3 · at risk FM>=3 · hibernating (the rest). */
#include <math.h>
#include <string.h>

#include "internal.h"

static int cmp_f32(const void *x, const void *y) {
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

/* number of values < v and == v in sorted s[0..n) */
static void rank_of(const float *s, size_t n, float v, size_t *less, size_t *equal) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    size_t first = lo;
    hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid] <= v) lo = mid + 1;
        else hi = mid;
    }
    *less = first;
    *equal = lo - first;
}

/* 1 + floor(levels * midrank fraction), capped; higher values score higher */
static uint8_t score(const float *s, size_t n, float v, int levels, int lower_is_better) {
    size_t less, equal;
    rank_of(s, n, v, &less, &equal);
    double below = lower_is_better ? (double)(n - less - equal) : (double)less;
    double frac = (below + 0.5 * (double)equal) / (double)n;
    int sc = 1 + (int)floor(frac * levels);
    return (uint8_t)(sc > levels ? levels : sc);
}

sq_status sq__rfm(sq__ctx *c, sq_error *err) {
    const sq_dataset *ds = c->ds;
    sq_analysis *a = c->a;
    size_t n = ds->n_users;
    a->rfm = calloc(n, sizeof *a->rfm);
    float *sr = malloc(n * sizeof *sr), *sf = malloc(n * sizeof *sf), *sm = malloc(n * sizeof *sm);
    uint8_t *is_new = calloc(n, 1);
    if (!a->rfm || !sr || !sf || !sm || !is_new) {
        free(sr), free(sf), free(sm), free(is_new);
        return sq_error_set(err, SQ_ERR_NOMEM, "rfm: out of memory");
    }
    const int64_t *t = ds->time_ms;
    const uint8_t *beh = ds->behavior;
    const float *price = ds->price;
    const uint32_t *sess = ds->session;
    int64_t new_from = a->day0 + (int64_t)floor(0.8 * a->n_days);
    size_t nb = 0; /* buyers (M > 0) */
    for (uint32_t u = 0; u < n; u++) {
        uint64_t begin = ds->user_offsets[u], end = ds->user_offsets[u + 1];
        sq_rfm_user *r = &a->rfm[u];
        if (begin == end) {
            r->recency_days = NAN;
            sr[u] = INFINITY;
            sf[u] = 0;
            continue;
        }
        double rec = (double)(a->window_end_ms - t[end - 1]) / (double)SQ__MS_PER_DAY;
        r->recency_days = (float)(rec > 0 ? rec : 0);
        uint32_t sessions = 1;
        double m = 0;
        for (uint64_t e = begin; e < end; e++) {
            sessions += e > begin && sess[e] != sess[e - 1];
            if (beh[e] != SQ_BEHAVIOR_BUY) continue;
            if (a->has_price) m += isnan(price[e]) ? 0 : price[e];
            else m += 1;
        }
        r->frequency = sessions;
        r->monetary = (float)m;
        is_new[u] = sq__day(t[begin], c->tz_ms) >= new_from && a->n_days >= 5;
        sr[u] = r->recency_days;
        sf[u] = (float)sessions;
        if (m > 0) sm[nb++] = (float)m;
    }
    qsort(sr, n, sizeof *sr, cmp_f32);
    qsort(sf, n, sizeof *sf, cmp_f32);
    qsort(sm, nb, sizeof *sm, cmp_f32);
    double sums[SQ_SEG_COUNT][3] = {{0}};
    for (uint32_t u = 0; u < n; u++) {
        sq_rfm_user *r = &a->rfm[u];
        if (isnan(r->recency_days)) continue;
        r->r = score(sr, n, r->recency_days, 5, 1);
        r->f = score(sf, n, (float)r->frequency, 5, 0);
        r->m = r->monetary > 0 ? (uint8_t)(1 + score(sm, nb, r->monetary, 4, 0)) : 1;
        int fm = (r->f + r->m + 1) / 2;
        sq_segment s;
        if (r->r >= 4 && fm >= 4) s = SQ_SEG_CHAMPIONS;
        else if (is_new[u] && r->r >= 3) s = SQ_SEG_NEW;
        else if (r->r >= 3 && fm >= 3) s = SQ_SEG_LOYAL;
        else if (r->r >= 3) s = SQ_SEG_PROMISING;
        else if (fm >= 3) s = SQ_SEG_AT_RISK;
        else s = SQ_SEG_HIBERNATING;
        r->segment = (uint8_t)s;
        a->segment_size[s]++;
        sums[s][0] += r->recency_days;
        sums[s][1] += r->frequency;
        sums[s][2] += r->monetary;
    }
    for (int s = 0; s < SQ_SEG_COUNT; s++)
        for (int k = 0; k < 3; k++)
            a->segment_mean[s][k] = a->segment_size[s] ? sums[s][k] / (double)a->segment_size[s] : NAN;
    free(sr), free(sf), free(sm), free(is_new);
    return SQ_OK;
}
