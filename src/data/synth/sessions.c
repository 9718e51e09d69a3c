/* One session: a burst of item views (seconds to minutes apart), some favourited, some
 * carted, and a checkout at the end that buys part of the cart (cart abandonment, price
 * sensitivity). Consumables bought earlier come due and are bought again. A small share
 * of buys ("buy now") has no cart event. */
#include <math.h>
#include <string.h>

#include "data/synth/synth_internal.h"

#define P_DIRECT_BUY 0.002 /* per view: buy without a cart event */
#define MAX_GAP (20 * 60)  /* longest pause inside a session, below the 30-min cut */

bool sq__emit(sq__ctx *c, sq__user *u, uint32_t item, int behavior, int64_t t) {
    if (t >= u->limit) {
        u->stopped = true;
        return false;
    }
    sq__sink *s = c->sink;
    u->last_t = t;
    u->events++;
    s->events++;
    s->by_behavior[behavior]++;
    if (!s->w) return true;
    static const char names[][8] = {"view,", "click,", "search,", "fav,", "cart,",
                                    "uncart,", "buy,", "review,", "rate,"};
    static const uint8_t lens[] = {5, 6, 7, 4, 5, 7, 4, 7, 5};
    const sq__item_text *it = &s->world->item_text[item];
    char *p = sq__writer_reserve(s->w);
    char *p0 = p;
    memcpy(p, s->uid, 24);
    p += s->uid_len;
    memcpy(p, it->pre, 24);
    p += it->pre_len;
    memcpy(p, names[behavior], 8);
    p += lens[behavior];
    p += sq__fmt_u64(p, (uint64_t)t);
    *p++ = ',';
    memcpy(p, it->price, 16);
    p += it->price_len;
    s->w->len += (size_t)(p - p0);
    return true;
}

static void remember(sq__user *u, uint32_t item) {
    u->recent[u->recent_pos] = item;
    u->recent_pos = (u->recent_pos + 1) % SQ__RECENT;
    if (u->n_recent < SQ__RECENT) u->n_recent++;
}

static int64_t gap(sq__rng *r, double median, int64_t lo, int64_t hi) {
    int64_t g = (int64_t)(median * exp(0.9 * sq__rng_normal(r)));
    return g < lo ? lo : g > hi ? hi : g;
}

static double price_factor(double beta, float z) {
    double f = exp(-beta * z);
    return f < 0.3 ? 0.3 : f > 2.0 ? 2.0 : f;
}

/* An item of category cat, the type's price taste applied by rejection. */
static uint32_t choose_item(sq__ctx *c, sq__user *u, const sq__type_params *p, uint32_t cat,
                            int64_t t) {
    sq__rng *r = &u->rng;
    uint32_t item = 0;
    for (int tries = 0; tries < 4; tries++) {
        item = sq__world_pick_item(c->w, cat, t, r);
        double acc = exp(-p->price_alpha * c->w->item_z[item]);
        if (acc >= 1.0 || sq__rng_uniform(r) < acc) break;
    }
    return item;
}

static void consumable_bought(sq__ctx *c, sq__user *u, uint32_t item, int64_t t) {
    const sq__world *w = c->w;
    uint32_t cat = w->item_cat[item];
    if (!w->cat_consumable[cat]) return;
    int64_t due = t + (int64_t)(w->cat_period[cat] * SQ__DAY * sq__rng_lognormal(&u->rng, 0, 0.25));
    for (int k = 0; k < u->n_due; k++)
        if (u->due_item[k] == item) {
            u->due_time[k] = due;
            return;
        }
    if (u->n_due == SQ__MAX_DUE) { /* forget the oldest */
        memmove(u->due_item, u->due_item + 1, (SQ__MAX_DUE - 1) * sizeof *u->due_item);
        memmove(u->due_time, u->due_time + 1, (SQ__MAX_DUE - 1) * sizeof *u->due_time);
        u->n_due--;
    }
    u->due_item[u->n_due] = item;
    u->due_time[u->n_due] = due;
    u->n_due++;
}

int64_t sq__session(sq__ctx *c, sq__user *u, int64_t t0) {
    const sq__type_params *p = &sq__types[u->type];
    const sq__world *w = c->w;
    sq__rng *r = &u->rng;
    uint32_t cart[SQ__MAX_CART];
    uint8_t cart_sure[SQ__MAX_CART]; /* 1: a due consumable, bought with replenish_p */
    int ncart = 0;
    int64_t t = t0;
    bool first = true;
    u->sessions++;

    /* a consumable that came due is looked up first */
    for (int k = 0; k < u->n_due; k++) {
        if (u->due_time[k] > t || !sq__rng_bernoulli(r, 0.7)) continue;
        uint32_t item = u->due_item[k];
        memmove(u->due_item + k, u->due_item + k + 1, (size_t)(u->n_due - k - 1) * sizeof *u->due_item);
        memmove(u->due_time + k, u->due_time + k + 1, (size_t)(u->n_due - k - 1) * sizeof *u->due_time);
        u->n_due--;
        if (!sq__emit(c, u, item, SQ_BEHAVIOR_VIEW, t)) return u->last_t;
        first = false;
        remember(u, item);
        if (sq__rng_bernoulli(r, 0.9)) {
            t += gap(r, 8, 1, 120);
            if (!sq__emit(c, u, item, SQ_BEHAVIOR_CART, t)) return u->last_t;
            cart[ncart] = item;
            cart_sure[ncart++] = 1;
        }
        break;
    }

    int n = 1 + (int)sq__rng_poisson(r, p->session_len * u->len_mult - 1.0);
    uint32_t cat = sq__user_pick_category(c, u);
    for (int step = 0; step < n; step++) {
        if (!first) t += gap(r, p->dwell, 1, MAX_GAP);
        first = false;
        if (step > 0 && !sq__rng_bernoulli(r, p->stick)) cat = sq__user_pick_category(c, u);
        uint32_t item;
        if (u->n_recent > 0 && sq__rng_bernoulli(r, p->repeat_p)) {
            item = u->recent[sq__rng_below(r, (uint32_t)u->n_recent)];
            cat = w->item_cat[item];
        } else {
            item = choose_item(c, u, p, cat, t);
        }
        if (!sq__emit(c, u, item, SQ_BEHAVIOR_VIEW, t)) return u->last_t;
        remember(u, item);
        float z = w->item_z[item];
        if (sq__rng_bernoulli(r, p->p_fav)) {
            t += gap(r, 6, 1, 60);
            if (!sq__emit(c, u, item, SQ_BEHAVIOR_FAV, t)) return u->last_t;
        }
        if (sq__rng_bernoulli(r, P_DIRECT_BUY)) {
            t += gap(r, 15, 2, 300);
            if (!sq__emit(c, u, item, SQ_BEHAVIOR_BUY, t)) return u->last_t;
            consumable_bought(c, u, item, t);
            continue;
        }
        if (ncart < SQ__MAX_CART && sq__rng_bernoulli(r, p->p_cart * price_factor(p->price_beta, z))) {
            bool dup = false;
            for (int k = 0; k < ncart; k++) dup |= cart[k] == item;
            if (!dup) {
                t += gap(r, 10, 1, 180);
                if (!sq__emit(c, u, item, SQ_BEHAVIOR_CART, t)) return u->last_t;
                cart[ncart] = item;
                cart_sure[ncart++] = 0;
            }
        }
    }

    /* checkout: part of the cart is bought, the rest abandoned */
    if (ncart > 0) {
        t += gap(r, 40, 5, 600);
        for (int k = 0; k < ncart; k++) {
            uint32_t item = cart[k];
            double pb = cart_sure[k] ? p->replenish_p
                                     : p->p_buy * price_factor(0.5 * p->price_beta, w->item_z[item]);
            if (!sq__rng_bernoulli(r, pb)) continue;
            if (!sq__emit(c, u, item, SQ_BEHAVIOR_BUY, t)) return u->last_t;
            consumable_bought(c, u, item, t);
            t += 1 + sq__rng_below(r, 8);
        }
    }
    return u->last_t;
}
