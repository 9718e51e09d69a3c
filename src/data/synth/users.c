/* One user's life: latent type, arrival (existing customer or new during the span),
 * churn at a known time (with activity fading in the two weeks before), favourite
 * categories that drift, and the times of sessions (daily and weekly rhythm). */
#include <math.h>
#include <string.h>

#include "data/synth/synth_internal.h"

#define MIN_SESSION_GAP (45 * 60) /* sessions are separated by more than a 30-min cut */

static int pick_type(sq__rng *r) {
    double u = sq__rng_uniform(r), acc = 0;
    for (int t = 0; t < 4; t++) {
        acc += sq__types[t].share;
        if (u < acc) return t;
    }
    return 3;
}

/* A category for a new favourite: by popularity, tilted by the type's category mix. */
static uint32_t pick_pref_category(sq__ctx *c, const sq__type_params *p, sq__rng *r) {
    const sq__world *w = c->w;
    double mid = log(20.0); /* geometric middle of the category median prices */
    for (int tries = 0; tries < 16; tries++) {
        uint32_t k = sq__world_pick_category(w, r);
        double bias = 1.0;
        if (w->cat_consumable[k]) bias *= p->consumable_bias;
        if (w->cat_mu[k] < mid) bias *= p->cheap_bias;
        else bias *= p->pricey_bias;
        if (sq__rng_uniform(r) * 4.0 < bias) return k;
    }
    return sq__world_pick_category(w, r);
}

int64_t sq__pick_time_of_day(sq__ctx *c, int type, sq__rng *r) {
    const double *cdf = c->hour_cdf[type];
    double u = sq__rng_uniform(r);
    int h = 0;
    while (h < 23 && cdf[h] <= u) h++;
    return (int64_t)h * SQ__HOUR + sq__rng_below(r, SQ__HOUR);
}

void sq__user_init(sq__ctx *c, sq__user *u, uint64_t id) {
    const sq_synth_options *o = c->o;
    const sq__world *w = c->w;
    memset(u, 0, sizeof *u);
    u->id = id;
    sq__rng_seed(&u->rng, o->seed, id);
    sq__rng *r = &u->rng;
    u->churn = -1;
    u->type = pick_type(r);
    u->activity = sq__rng_lognormal(r, -0.125, 0.5); /* mean 1, heavy tail */
    u->len_mult = sq__rng_lognormal(r, -0.045, 0.3);
    int64_t span = w->end - w->start;
    int64_t first_day_max = span > 2 * SQ__DAY ? span - SQ__DAY : span / 2;

    /* arrival: new during the span (first session at arrival), or an existing customer
     * whose first session in the span comes after a few days */
    if (sq__rng_bernoulli(r, o->new_user_share)) {
        int64_t day = (int64_t)(sq__rng_uniform(r) * (double)(first_day_max / SQ__DAY + 1));
        u->arrival = w->start + day * SQ__DAY + sq__pick_time_of_day(c, u->type, r);
        if (u->arrival >= w->end) u->arrival = w->end - 1;
        u->first = u->arrival;
    } else {
        u->arrival = w->start - (int64_t)sq__rng_range(r, SQ__DAY, 365 * SQ__DAY);
        double rate = sq__types[u->type].sessions_per_day * u->activity * o->activity;
        double wait = sq__rng_exp(r, 1.0 / (rate > 0.05 ? rate : 0.05));
        if (wait > 14) wait = sq__rng_uniform(r) * 14;
        int64_t day = (int64_t)wait;
        if (day * SQ__DAY >= first_day_max) day = 0;
        u->first = w->start + day * SQ__DAY + sq__pick_time_of_day(c, u->type, r);
        if (u->first >= w->end) u->first = w->end - 1;
    }

    /* anomalous actors replace the type (bots) or add to it (fraud) */
    sq__anomaly_init(c, u);

    /* churn: stops returning at a uniform time at least two days after the first session */
    if (u->type != SQ_SYNTH_BOT) {
        double pc = o->churn_rate * sq__types[u->type].churn_mult;
        if (sq__rng_bernoulli(r, pc)) {
            int64_t lo = u->first + 2 * SQ__DAY;
            if (lo < w->end - SQ__HOUR)
                u->churn = lo + (int64_t)(sq__rng_uniform(r) * (double)(w->end - lo));
        }
    }
    u->limit = u->churn >= 0 ? u->churn : w->end;

    /* favourite categories with gamma weights (a Dirichlet draw) */
    if (u->type != SQ_SYNTH_BOT) {
        const sq__type_params *p = &sq__types[u->type];
        u->n_pref = p->n_pref;
        for (int k = 0; k < u->n_pref; k++) {
            u->pref_cat[k] = pick_pref_category(c, p, r);
            u->pref_w[k] = sq__rng_gamma(r, 0.8) + 1e-3;
        }
    }
}

void sq__user_drift(sq__ctx *c, sq__user *u, double dt) {
    double drift = c->o->drift;
    if (drift <= 0 || u->n_pref == 0) return;
    double days = dt / SQ__DAY;
    sq__rng *r = &u->rng;
    /* log-weights follow a random walk; now and then a favourite is replaced */
    double sd = 0.15 * drift * sqrt(days);
    for (int k = 0; k < u->n_pref; k++) {
        u->pref_w[k] *= exp(sd * sq__rng_normal(r));
        if (u->pref_w[k] < 1e-4) u->pref_w[k] = 1e-4;
        if (u->pref_w[k] > 1e4) u->pref_w[k] = 1e4;
    }
    double p_replace = 1.0 - exp(-0.03 * drift * days);
    if (sq__rng_bernoulli(r, p_replace)) {
        int lo = 0;
        for (int k = 1; k < u->n_pref; k++)
            if (u->pref_w[k] < u->pref_w[lo]) lo = k;
        u->pref_cat[lo] = pick_pref_category(c, &sq__types[u->type], r);
        double mx = 0;
        for (int k = 0; k < u->n_pref; k++)
            if (u->pref_w[k] > mx) mx = u->pref_w[k];
        u->pref_w[lo] = mx; /* a new interest starts strong */
    }
}

uint32_t sq__user_pick_category(sq__ctx *c, sq__user *u) {
    sq__rng *r = &u->rng;
    if (u->n_pref == 0 || sq__rng_bernoulli(r, 0.12)) /* exploration */
        return sq__world_pick_category(c->w, r);
    double tot = 0;
    for (int k = 0; k < u->n_pref; k++) tot += u->pref_w[k];
    double x = sq__rng_uniform(r) * tot;
    for (int k = 0; k < u->n_pref; k++) {
        x -= u->pref_w[k];
        if (x < 0) return u->pref_cat[k];
    }
    return u->pref_cat[u->n_pref - 1];
}

static int dow_of(int64_t t) { /* 0 = Monday */
    int64_t d = t >= 0 ? t / SQ__DAY : (t - SQ__DAY + 1) / SQ__DAY;
    return (int)(((d + 3) % 7 + 7) % 7);
}

void sq__user_generate(sq__ctx *c, sq__user *u) {
    if (u->type == SQ_SYNTH_BOT) {
        sq__bot_generate(c, u);
        return;
    }
    const sq__world *w = c->w;
    const sq__type_params *p = &sq__types[u->type];
    sq__rng *r = &u->rng;
    double base = p->sessions_per_day * u->activity * c->o->activity;
    int64_t fraud_day[3] = {-1, -1, -1};
    if (u->anomaly == SQ_SYNTH_ANOMALY_FRAUD_BURST) {
        /* one to three bursts on days after the first session */
        int nb = 1 + (int)sq__rng_below(r, 3);
        int64_t d0 = (u->first - w->start) / SQ__DAY + 1, d1 = (u->limit - w->start) / SQ__DAY;
        for (int k = 0; k < nb && d1 > d0; k++) fraud_day[k] = sq__rng_range(r, d0, d1 - 1);
    }

    int64_t prev = u->first;
    int64_t end = sq__session(c, u, u->first);
    int64_t day0 = (u->first - w->start) / SQ__DAY;
    int64_t nday = (u->limit - w->start + SQ__DAY - 1) / SQ__DAY;
    for (int64_t d = day0; d < nday && !u->stopped; d++) {
        int64_t ds = w->start + d * SQ__DAY;
        double rate = base * p->dow[dow_of(ds)];
        if (u->churn >= 0) { /* fading in the two weeks before churning */
            double left = (double)(u->churn - ds) / SQ__DAY;
            if (left < 14) rate *= 0.25 + 0.75 * (left > 0 ? left : 0) / 14.0;
        }
        for (int k = 0; k < 3 && !u->stopped; k++) {
            if (fraud_day[k] != d) continue;
            int64_t t = ds + SQ__HOUR + sq__rng_range(r, 0, 4 * SQ__HOUR - 1);
            if (t < end + MIN_SESSION_GAP) t = end + MIN_SESSION_GAP + (int64_t)sq__rng_exp(r, 600);
            if (t >= u->limit) break;
            end = sq__fraud_burst(c, u, t);
        }
        uint32_t n = sq__rng_poisson(r, rate);
        if (n > 6) n = 6;
        int64_t tod[6];
        for (uint32_t k = 0; k < n; k++) {
            int64_t x = sq__pick_time_of_day(c, u->type, r);
            uint32_t j = k;
            while (j > 0 && tod[j - 1] > x) { tod[j] = tod[j - 1]; j--; }
            tod[j] = x;
        }
        for (uint32_t k = 0; k < n && !u->stopped; k++) {
            int64_t t = ds + tod[k];
            if (t <= u->first) continue;
            if (t < end + MIN_SESSION_GAP) t = end + MIN_SESSION_GAP + (int64_t)sq__rng_exp(r, 3600);
            if (t >= u->limit) { u->stopped = true; break; }
            sq__user_drift(c, u, (double)(t - prev));
            prev = t;
            end = sq__session(c, u, t);
        }
    }
}
