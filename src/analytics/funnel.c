/* The funnel view -> (fav) -> cart -> buy over users, sessions and user x category;
 * cart abandonment and time from first view to buy per (user, item); and the per-item and
 * per-category counters that items.c ranks.
 *
 * One pass over users in order. "Has user u already done X with item i" is answered by
 * stamp arrays (stamp[i] == u), so nothing is reset between users and nothing is
 * allocated per event; view->buy durations go into one growable array (with the category
 * of each, for the per-category medians). */
#include <math.h>
#include <string.h>

#include "internal.h"

typedef struct {
    uint32_t view, cart, cart_bought, bought; /* user stamps */
    int64_t first_view_ms;
} item_stamps;

sq_status sq__funnel(sq__ctx *c, sq_error *err) {
    const sq_dataset *ds = c->ds;
    sq_analysis *a = c->a;
    uint32_t ni = ds->n_items, nc = a->has_category ? ds->n_categories : 0;
    c->items = calloc(ni ? ni : 1, sizeof *c->items);
    c->cats = calloc(nc ? nc : 1, sizeof *c->cats);
    c->cat_reached = calloc((size_t)(nc ? nc : 1) * SQ_STAGE_COUNT, sizeof *c->cat_reached);
    item_stamps *is = malloc((size_t)(ni ? ni : 1) * sizeof *is);
    uint32_t *cs = malloc((size_t)(nc ? nc : 1) * (SQ_STAGE_COUNT + 1) * sizeof *cs);
    size_t cap = 1024, n_pairs = 0;
    double *vb = malloc(cap * sizeof *vb);
    uint32_t *vbc = malloc(cap * sizeof *vbc);
    if (!c->items || !c->cats || !c->cat_reached || !is || !cs || !vb || !vbc) {
        free(is), free(cs), free(vb), free(vbc);
        return sq_error_set(err, SQ_ERR_NOMEM, "funnel: out of memory");
    }
    for (uint32_t i = 0; i < ni; i++)
        is[i] = (item_stamps){SQ__STAMP_NONE, SQ__STAMP_NONE, SQ__STAMP_NONE, SQ__STAMP_NONE, 0};
    /* per category: stamps of the 4 stages, then "bought after view" */
    memset(cs, 0xff, (size_t)(nc ? nc : 1) * (SQ_STAGE_COUNT + 1) * sizeof *cs);

    const uint32_t *item = ds->item, *cat = ds->category, *sess = ds->session;
    const uint8_t *beh = ds->behavior;
    const int64_t *t = ds->time_ms;
    sq_status st = SQ_OK;
    const uint8_t view_b = a->view_behavior;
    for (uint32_t u = 0; u < ds->n_users; u++) {
        unsigned user_mask = 0, sess_mask = 0;
        uint64_t begin = ds->user_offsets[u], end = ds->user_offsets[u + 1];
        for (uint64_t e = begin; e < end; e++) {
            if (e > begin && sess[e] != sess[e - 1]) {
                for (int s = 0; s < SQ_STAGE_COUNT; s++)
                    a->sessions_funnel.reached[s] += (sess_mask >> s) & 1u;
                if (sess_mask & (1u << SQ_STAGE_CART)) {
                    a->sessions_with_cart++;
                    a->sessions_cart_no_buy += !(sess_mask & (1u << SQ_STAGE_BUY));
                }
                sess_mask = 0;
            }
            int stage = sq__stage_of(beh[e], view_b);
            uint32_t i = item[e];
            sq__ent_stats *ist = i < ni ? &c->items[i] : NULL;
            if (ist) ist->events++;
            uint32_t k = nc ? cat[e] : SQ_NONE;
            sq__ent_stats *cst = k < nc ? &c->cats[k] : NULL;
            uint32_t *ck = cst ? &cs[(size_t)k * (SQ_STAGE_COUNT + 1)] : NULL;
            if (cst) cst->events++;
            if (stage < 0) continue;
            user_mask |= 1u << stage;
            sess_mask |= 1u << stage;
            if (ck && ck[stage] != u) {
                ck[stage] = u;
                c->cat_reached[(size_t)k * SQ_STAGE_COUNT + stage]++;
            }
            if (!ist) continue;
            item_stamps *s = &is[i];
            switch (stage) {
            case SQ_STAGE_VIEW:
                ist->views++;
                if (cst) cst->views++;
                if (s->view != u) {
                    s->view = u;
                    s->first_view_ms = t[e];
                    ist->viewers++;
                }
                break;
            case SQ_STAGE_FAV:
                ist->favs++;
                if (cst) cst->favs++;
                break;
            case SQ_STAGE_CART:
                ist->carts++;
                if (cst) cst->carts++;
                if (s->cart != u) {
                    s->cart = u;
                    a->carted_pairs++;
                    if (cst) cst->carted_pairs++;
                }
                break;
            case SQ_STAGE_BUY:
                ist->buys++;
                if (cst) cst->buys++;
                if (s->cart == u && s->cart_bought != u) {
                    s->cart_bought = u;
                    a->carted_bought_pairs++;
                    if (cst) cst->carted_bought_pairs++;
                }
                if (s->view == u && s->bought != u) {
                    s->bought = u;
                    ist->buyers_after_view++;
                    if (n_pairs == cap) {
                        double *nv = realloc(vb, 2 * cap * sizeof *vb);
                        if (nv) vb = nv;
                        uint32_t *nc2 = nv ? realloc(vbc, 2 * cap * sizeof *vbc) : NULL;
                        if (!nc2) {
                            st = sq_error_set(err, SQ_ERR_NOMEM, "funnel: out of memory");
                            goto done;
                        }
                        vbc = nc2, cap *= 2;
                    }
                    vbc[n_pairs] = cst ? k : SQ_NONE;
                    vb[n_pairs++] = (double)(t[e] - s->first_view_ms) / 1000.0;
                }
                break;
            }
            /* category "bought after view": the user viewed the category before */
            if (stage == SQ_STAGE_BUY && ck && ck[SQ_STAGE_VIEW] == u && ck[SQ_STAGE_COUNT] != u) {
                ck[SQ_STAGE_COUNT] = u;
                cst->buyers_after_view++;
            }
        }
        if (end > begin) {
            for (int s = 0; s < SQ_STAGE_COUNT; s++) {
                a->sessions_funnel.reached[s] += (sess_mask >> s) & 1u;
                a->users_funnel.reached[s] += (user_mask >> s) & 1u;
            }
            if (sess_mask & (1u << SQ_STAGE_CART)) {
                a->sessions_with_cart++;
                a->sessions_cart_no_buy += !(sess_mask & (1u << SQ_STAGE_BUY));
            }
        }
    }
    for (uint32_t k = 0; k < nc; k++)
        c->cats[k].viewers = (uint32_t)c->cat_reached[(size_t)k * SQ_STAGE_COUNT + SQ_STAGE_VIEW];
done:
    a->users_funnel.total = ds->n_users;
    a->sessions_funnel.total = ds->n_sessions;
    a->view_buy_pairs = n_pairs;
    c->vb = vb, c->vb_cat = vbc, c->n_vb = n_pairs; /* quantiles in items.c, per category too */
    free(is);
    free(cs);
    return st;
}
