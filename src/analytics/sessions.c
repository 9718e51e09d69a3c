/* Lengths: events per user and per session (distributions), bounce rate (one-event
 * sessions), median session duration, and repeat buyers (buys in >= 2 sessions). */
#include <math.h>
#include <string.h>

#include "internal.h"

static void dist_add(sq_dist *d, uint32_t v) {
    d->n++;
    d->sum += v;
    if (d->n == 1 || v < d->min) d->min = v;
    if (v > d->max) d->max = v;
    int b = SQ_DIST_BUCKETS - 1;
    while (b > 0) {
        uint32_t lo, hi;
        sq_dist_bucket_range(b, &lo, &hi);
        if (v >= lo) break;
        b--;
    }
    d->bins[b]++;
}

/* median and p90 of v[0..n) (reorders v) */
static void dist_finish(sq_dist *d, uint32_t *v, size_t n) {
    d->mean = d->n ? (double)d->sum / (double)d->n : NAN;
    if (!n) {
        d->median = d->p90 = NAN;
        return;
    }
    double hi = sq__select_u32(v, n, n / 2);
    if (n % 2) d->median = hi;
    else {
        uint32_t lo = v[0];
        for (size_t i = 1; i < n / 2; i++)
            if (v[i] > lo) lo = v[i];
        d->median = (lo + hi) / 2;
    }
    size_t r = (size_t)ceil(0.9 * (double)n);
    if (r < 1) r = 1;
    d->p90 = sq__select_u32(v, n, r - 1);
}

sq_status sq__sessions(sq__ctx *c, sq_error *err) {
    const sq_dataset *ds = c->ds;
    sq_analysis *a = c->a;
    uint64_t ns_cap = ds->n_sessions ? ds->n_sessions : 1;
    uint32_t *ulen = malloc((size_t)ds->n_users * sizeof *ulen);
    uint32_t *slen = malloc((size_t)ns_cap * sizeof *slen);
    double *sdur = malloc((size_t)ns_cap * sizeof *sdur);
    if (!ulen || !slen || !sdur) {
        free(ulen), free(slen), free(sdur);
        return sq_error_set(err, SQ_ERR_NOMEM, "sessions: out of memory");
    }
    const uint32_t *sess = ds->session;
    const uint8_t *beh = ds->behavior;
    const int64_t *t = ds->time_ms;
    uint64_t ns = 0, nu = 0;
    for (uint32_t u = 0; u < ds->n_users; u++) {
        uint64_t begin = ds->user_offsets[u], end = ds->user_offsets[u + 1];
        if (begin == end) continue;
        ulen[nu] = (uint32_t)(end - begin);
        dist_add(&a->seq_len, ulen[nu++]);
        uint32_t buy_sessions = 0;
        uint64_t s0 = begin;
        int sess_has_buy = 0;
        for (uint64_t e = begin; e <= end; e++) {
            if (e == end || (e > s0 && sess[e] != sess[e - 1])) {
                uint32_t len = (uint32_t)(e - s0);
                if (ns < ns_cap) {
                    slen[ns] = len;
                    sdur[ns] = (double)(t[e - 1] - t[s0]) / 1000.0;
                }
                ns++;
                dist_add(&a->session_len, len);
                a->bounce_sessions += len == 1;
                buy_sessions += sess_has_buy;
                sess_has_buy = 0;
                s0 = e;
                if (e == end) break;
            }
            sess_has_buy |= beh[e] == SQ_BEHAVIOR_BUY;
        }
        if (buy_sessions) a->buyers++;
        if (buy_sessions >= 2) a->repeat_buyers++;
    }
    if (ns > ns_cap) ns = ns_cap; /* header undercounted sessions: keep what fits */
    a->n_sessions = a->session_len.n;
    dist_finish(&a->seq_len, ulen, nu);
    dist_finish(&a->session_len, slen, ns);
    a->session_duration_median_s = sq__median_f64(sdur, ns);
    free(ulen), free(slen), free(sdur);
    return SQ_OK;
}
