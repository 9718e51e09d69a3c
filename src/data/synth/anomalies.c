/* Anomalous actors, labelled in the truth file:
 *   bot_speed    crawls categories item by item, 0-1 s between events (median 0 s),
 *                40-300 views per session, views only, any hour
 *   bot_uniform  views items drawn uniformly from the whole launched catalogue (not by
 *                popularity), metronome gaps of 3-8 s (+0/1 s jitter), any hour
 *   fraud_burst  an otherwise normal account with 1-3 bursts at 1-5 am: 8-30 buys of
 *                expensive items, each right after its view, no cart events */
#include "data/synth/synth_internal.h"

#define SHARE_SPEED 0.3
#define SHARE_UNIFORM 0.3 /* the rest is fraud */

void sq__anomaly_init(sq__ctx *c, sq__user *u) {
    sq__rng *r = &u->rng;
    if (!sq__rng_bernoulli(r, c->o->anomaly_rate)) return;
    double x = sq__rng_uniform(r);
    if (x < SHARE_SPEED) {
        u->anomaly = SQ_SYNTH_ANOMALY_BOT_SPEED;
        u->type = SQ_SYNTH_BOT;
    } else if (x < SHARE_SPEED + SHARE_UNIFORM) {
        u->anomaly = SQ_SYNTH_ANOMALY_BOT_UNIFORM;
        u->type = SQ_SYNTH_BOT;
    } else {
        u->anomaly = SQ_SYNTH_ANOMALY_FRAUD_BURST;
    }
}

static uint32_t uniform_item(sq__ctx *c, int64_t t, sq__rng *r) {
    const sq__world *w = c->w;
    uint32_t item = 0;
    for (int tries = 0; tries < 16; tries++) {
        item = sq__rng_below(r, w->n_items);
        if (w->item_launch[item] <= t) return item;
    }
    return w->cat_items[w->cat_off[w->item_cat[item]]]; /* an established item */
}

void sq__bot_generate(sq__ctx *c, sq__user *u) {
    const sq__world *w = c->w;
    sq__rng *r = &u->rng;
    bool speed = u->anomaly == SQ_SYNTH_ANOMALY_BOT_SPEED;
    double rate = speed ? 0.12 : 0.3; /* sessions per day */
    int64_t period = 3 + sq__rng_below(r, 6);
    int64_t t = u->first;
    while (!u->stopped) {
        u->sessions++;
        uint32_t n = speed ? 40 + sq__rng_below(r, 261) : 20 + sq__rng_below(r, 101);
        uint32_t cat = sq__world_pick_category(w, r);
        uint32_t pos = 0;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t item;
            if (speed) { /* crawl: next launched item of the category, then another one */
                uint32_t nl = sq__world_launched(w, cat, t);
                if (pos >= nl) {
                    cat = (cat + 1) % w->n_cat;
                    pos = 0;
                }
                item = w->cat_items[w->cat_off[cat] + pos++];
            } else {
                item = uniform_item(c, t, r);
            }
            if (!sq__emit(c, u, item, SQ_BEHAVIOR_VIEW, t)) break;
            t += speed ? (int64_t)sq__rng_bernoulli(r, 0.4) : period + (int64_t)sq__rng_below(r, 2);
        }
        /* next session: a later day at a uniform hour, at least 45 min after this one */
        int64_t next = t + 45 * 60 + (int64_t)sq__rng_exp(r, SQ__DAY / rate);
        next = next - (next - w->start) % SQ__DAY + sq__pick_time_of_day(c, SQ_SYNTH_BOT, r);
        if (next < t + 45 * 60) next += SQ__DAY;
        if (next >= u->limit) break;
        t = next;
    }
}

int64_t sq__fraud_burst(sq__ctx *c, sq__user *u, int64_t t0) {
    const sq__world *w = c->w;
    sq__rng *r = &u->rng;
    uint32_t n = 8 + sq__rng_below(r, 23);
    int64_t t = t0;
    u->sessions++;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t item = 0;
        for (int tries = 0; tries < 16; tries++) { /* expensive: top of its category */
            item = sq__world_pick_item(w, sq__world_pick_category(w, r), t, r);
            if (w->item_z[item] > 0.8) break;
        }
        if (!sq__emit(c, u, item, SQ_BEHAVIOR_VIEW, t)) break;
        t += 2 + sq__rng_below(r, 9);
        if (!sq__emit(c, u, item, SQ_BEHAVIOR_BUY, t)) break;
        t += 5 + sq__rng_below(r, 26);
    }
    return u->last_t;
}
