/* The analysis window (trimmed of stray timestamps) with the events per behaviour, and
 * activity over time: hour x weekday, events per day and behaviour, daily active users. */
#include <math.h>
#include <string.h>

#include "internal.h"

#define SQ__MAX_SPAN_DAYS 200000 /* ~550 years: beyond this the times are broken */

sq_status sq__window(sq__ctx *c, sq_error *err) {
    const sq_dataset *ds = c->ds;
    sq_analysis *a = c->a;
    int64_t dmin = sq__day(ds->time_min_ms, c->tz_ms), dmax = sq__day(ds->time_max_ms, c->tz_ms);
    if (dmax < dmin || dmax - dmin >= SQ__MAX_SPAN_DAYS)
        return sq_error_set(err, SQ_ERR_FORMAT, "time range of %lld days is not plausible",
                            (long long)(dmax - dmin + 1));
    size_t span = (size_t)(dmax - dmin + 1);
    uint64_t *hist = calloc(span, sizeof *hist);
    if (!hist) return sq_error_set(err, SQ_ERR_NOMEM, "window: out of memory");
    const int64_t *t = ds->time_ms;
    const uint8_t *b = ds->behavior;
    for (uint64_t e = 0; e < ds->n_events; e++) {
        int64_t d = sq__day(t[e], c->tz_ms) - dmin;
        if (d >= 0 && d < (int64_t)span) hist[d]++;
        a->events_by_behavior[b[e] & 15]++;
    }
    a->has_fav = a->events_by_behavior[SQ_BEHAVIOR_FAV] > 0;
    a->view_behavior = a->events_by_behavior[SQ_BEHAVIOR_VIEW] || !a->events_by_behavior[SQ_BEHAVIOR_CLICK]
                           ? SQ_BEHAVIOR_VIEW : SQ_BEHAVIOR_CLICK;
    /* Trim whole days from each end while they hold at most trim_share of the events. */
    double budget = a->opts.trim_share * (double)ds->n_events;
    size_t lo = 0, hi = span; /* [lo, hi) */
    uint64_t cum = 0;
    while (lo + 1 < hi && (double)(cum + hist[lo]) <= budget) cum += hist[lo++];
    a->events_before = cum;
    cum = 0;
    while (hi - 1 > lo && (double)(cum + hist[hi - 1]) <= budget) cum += hist[--hi];
    a->events_after = cum;
    free(hist);
    a->day0 = dmin + (int64_t)lo;
    a->n_days = (uint32_t)(hi - lo);

    /* Reference time for recency: the last event inside the window. */
    int64_t end_ms = (a->day0 + a->n_days) * SQ__MS_PER_DAY - c->tz_ms; /* exclusive */
    int64_t ref = INT64_MIN;
    for (uint64_t e = 0; e < ds->n_events; e++)
        if (t[e] < end_ms && t[e] > ref) ref = t[e];
    a->window_end_ms = ref == INT64_MIN ? ds->time_max_ms : ref;

    if (a->n_days <= 45) a->period = SQ_PERIOD_DAY, a->period_days = 1;
    else if (a->n_days <= 7 * 60) a->period = SQ_PERIOD_WEEK, a->period_days = 7;
    else a->period = SQ_PERIOD_MONTH, a->period_days = 30;
    a->n_periods = (a->n_days + a->period_days - 1) / a->period_days;
    if (a->n_periods > 104) { /* very long spans: keep the cohort triangle readable */
        a->period_days = (a->n_days + 103) / 104;
        a->n_periods = (a->n_days + a->period_days - 1) / a->period_days;
    }
    return SQ_OK;
}

sq_status sq__activity(sq__ctx *c, sq_error *err) {
    const sq_dataset *ds = c->ds;
    sq_analysis *a = c->a;
    a->daily_events = calloc(a->n_days, sizeof *a->daily_events);
    a->daily_by_behavior = calloc((size_t)a->n_days * SQ_BEHAVIOR_COUNT, sizeof *a->daily_by_behavior);
    a->daily_active_users = calloc(a->n_days, sizeof *a->daily_active_users);
    if (!a->daily_events || !a->daily_by_behavior || !a->daily_active_users)
        return sq_error_set(err, SQ_ERR_NOMEM, "activity: out of memory");
    const int64_t *t = ds->time_ms;
    const uint8_t *b = ds->behavior;
    for (uint32_t u = 0; u < ds->n_users; u++) {
        int64_t last_day = INT64_MIN;
        for (uint64_t e = ds->user_offsets[u], end = ds->user_offsets[u + 1]; e < end; e++) {
            int64_t ms = t[e] + c->tz_ms;
            int64_t day = sq__day(t[e], c->tz_ms);
            int64_t in_day = ms - day * SQ__MS_PER_DAY;
            int hour = (int)(in_day / 3600000);
            int wd = (int)(((day % 7) + 7 + 3) % 7); /* 1970-01-01 was a Thursday */
            a->hour_weekday[wd][hour]++;
            int64_t d = day - a->day0;
            if (d < 0 || d >= (int64_t)a->n_days) continue;
            a->daily_events[d]++;
            if (b[e] < SQ_BEHAVIOR_COUNT) a->daily_by_behavior[(size_t)d * SQ_BEHAVIOR_COUNT + b[e]]++;
            if (day != last_day) {
                a->daily_active_users[d]++;
                last_day = day;
            }
        }
    }
    return SQ_OK;
}
