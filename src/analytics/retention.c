/* Cohort retention: users grouped by the period (day, week or 30 days, from the window's
 * span) of their first event; cohort c's cell k counts its users active in period c + k.
 * Events outside the window count in its first or last period. */
#include "internal.h"

sq_status sq__retention(sq__ctx *c, sq_error *err) {
    const sq_dataset *ds = c->ds;
    sq_analysis *a = c->a;
    uint32_t P = a->n_periods;
    a->cohort_size = calloc(P, sizeof *a->cohort_size);
    a->cohort_active = calloc((size_t)P * P, sizeof *a->cohort_active);
    if (!a->cohort_size || !a->cohort_active)
        return sq_error_set(err, SQ_ERR_NOMEM, "retention: out of memory");
    const int64_t *t = ds->time_ms;
    for (uint32_t u = 0; u < ds->n_users; u++) {
        uint64_t begin = ds->user_offsets[u], end = ds->user_offsets[u + 1];
        if (begin == end) continue;
        uint32_t cohort = sq__wday(a, t[begin], c->tz_ms) / a->period_days, last = UINT32_MAX;
        a->cohort_size[cohort]++;
        for (uint64_t e = begin; e < end; e++) {
            uint32_t p = sq__wday(a, t[e], c->tz_ms) / a->period_days;
            if (p == last) continue;
            last = p; /* periods never decrease: events are time-sorted per user */
            a->cohort_active[(size_t)cohort * P + (p - cohort)]++;
        }
    }
    return SQ_OK;
}
