/* Top-N items and categories (by views, carts, buys, conversion with a minimum support),
 * the per-category funnel of the most viewed categories, and the long-tail shares. */
#include <math.h>
#include <string.h>

#include "internal.h"

static double key_of(const sq__ent_stats *s, int rank) {
    switch (rank) {
    case SQ_RANK_VIEWS: return s->views;
    case SQ_RANK_CARTS: return s->carts;
    case SQ_RANK_BUYS: return s->buys;
    default: return s->viewers ? (double)s->buyers_after_view / s->viewers : 0;
    }
}

/* Does (ka, a) rank before (kb, b)? Larger key first; for conversion more viewers first;
 * then the smaller id, so the order is total and deterministic. */
static int before(double ka, const sq__ent_stats *a, uint32_t ia, double kb,
                  const sq__ent_stats *b, uint32_t ib, int rank) {
    if (ka != kb) return ka > kb;
    if (rank == SQ_RANK_CONVERSION && a->viewers != b->viewers) return a->viewers > b->viewers;
    return ia < ib;
}

static sq_status rank(const sq__ent_stats *st, uint32_t n, int r, uint32_t top_n,
                      uint32_t min_support, sq_rank_list *out, sq_error *err) {
    out->rows = calloc(top_n, sizeof *out->rows);
    uint32_t *ids = malloc(top_n * sizeof *ids);
    if (!out->rows || !ids) {
        free(ids);
        return sq_error_set(err, SQ_ERR_NOMEM, "items: out of memory");
    }
    uint32_t m = 0; /* ids[0..m) kept sorted best first: insertion, O(n) when n >> top_n */
    for (uint32_t i = 0; i < n; i++) {
        const sq__ent_stats *s = &st[i];
        double k = key_of(s, r);
        if (r == SQ_RANK_CONVERSION ? s->viewers < min_support || s->viewers == 0 : k <= 0)
            continue;
        if (m == top_n && !before(k, s, i, key_of(&st[ids[m - 1]], r), &st[ids[m - 1]], ids[m - 1], r))
            continue;
        uint32_t pos = m < top_n ? m++ : m - 1;
        while (pos > 0 && before(k, s, i, key_of(&st[ids[pos - 1]], r), &st[ids[pos - 1]], ids[pos - 1], r)) {
            ids[pos] = ids[pos - 1];
            pos--;
        }
        ids[pos] = i;
    }
    for (uint32_t j = 0; j < m; j++) {
        const sq__ent_stats *s = &st[ids[j]];
        out->rows[j] = (sq_rank_row){.id = ids[j], .views = s->views, .favs = s->favs,
                                     .carts = s->carts, .buys = s->buys, .viewers = s->viewers,
                                     .buyers_after_view = s->buyers_after_view,
                                     .conversion = s->viewers ? (double)s->buyers_after_view / s->viewers : NAN};
    }
    out->n = m;
    free(ids);
    return SQ_OK;
}

sq_status sq__items(sq__ctx *c, sq_error *err) {
    const sq_dataset *ds = c->ds;
    sq_analysis *a = c->a;
    uint32_t top = a->opts.top_n, nc = a->has_category ? ds->n_categories : 0;
    for (int r = 0; r < SQ_RANK_COUNT; r++) {
        sq_status st = rank(c->items, ds->n_items, r, top, a->opts.min_support, &a->top_items[r], err);
        if (st == SQ_OK) st = rank(c->cats, nc, r, top, a->opts.min_support, &a->top_categories[r], err);
        if (st != SQ_OK) return st;
    }
    /* per-category funnels: the top_n categories by viewers */
    if (nc) {
        sq_rank_list by_viewers = {0};
        /* rank by viewers: reuse the conversion order's tie rule on a viewers key */
        sq__ent_stats *tmp = malloc((size_t)nc * sizeof *tmp);
        if (!tmp) return sq_error_set(err, SQ_ERR_NOMEM, "items: out of memory");
        for (uint32_t k = 0; k < nc; k++) tmp[k] = (sq__ent_stats){.views = c->cats[k].viewers};
        sq_status st = rank(tmp, nc, SQ_RANK_VIEWS, top, 0, &by_viewers, err);
        free(tmp);
        if (st != SQ_OK) return st;
        a->category_funnels = calloc(by_viewers.n ? by_viewers.n : 1, sizeof *a->category_funnels);
        if (!a->category_funnels) {
            free(by_viewers.rows);
            return sq_error_set(err, SQ_ERR_NOMEM, "items: out of memory");
        }
        for (uint32_t j = 0; j < by_viewers.n; j++) {
            uint32_t k = by_viewers.rows[j].id;
            sq_category_funnel *f = &a->category_funnels[j];
            f->id = k;
            f->events = c->cats[k].events;
            for (int s = 0; s < SQ_STAGE_COUNT; s++)
                f->users.reached[s] = c->cat_reached[(size_t)k * SQ_STAGE_COUNT + s];
            f->users.total = f->users.reached[SQ_STAGE_VIEW];
            f->carted_pairs = c->cats[k].carted_pairs;
            f->carted_bought_pairs = c->cats[k].carted_bought_pairs;
        }
        a->n_category_funnels = by_viewers.n;
        free(by_viewers.rows);
        /* per-category view->buy medians: group the durations of these categories */
        uint32_t m = a->n_category_funnels;
        int32_t *slot = malloc((size_t)nc * sizeof *slot);
        size_t *off = calloc((size_t)m + 1, sizeof *off);
        if (!slot || !off) {
            free(slot), free(off);
            return sq_error_set(err, SQ_ERR_NOMEM, "items: out of memory");
        }
        for (uint32_t k = 0; k < nc; k++) slot[k] = -1;
        for (uint32_t j = 0; j < m; j++) slot[a->category_funnels[j].id] = (int32_t)j;
        for (size_t p = 0; p < c->n_vb; p++)
            if (c->vb_cat[p] < nc && slot[c->vb_cat[p]] >= 0) off[slot[c->vb_cat[p]] + 1]++;
        for (uint32_t j = 0; j < m; j++) off[j + 1] += off[j];
        double *grouped = malloc((off[m] ? off[m] : 1) * sizeof *grouped);
        if (!grouped) {
            free(slot), free(off);
            return sq_error_set(err, SQ_ERR_NOMEM, "items: out of memory");
        }
        for (size_t p = 0; p < c->n_vb; p++)
            if (c->vb_cat[p] < nc && slot[c->vb_cat[p]] >= 0) grouped[off[slot[c->vb_cat[p]]]++] = c->vb[p];
        for (uint32_t j = m; j > 0; j--) off[j] = off[j - 1]; /* the scatter shifted offsets */
        off[0] = 0;
        for (uint32_t j = 0; j < m; j++) {
            a->category_funnels[j].view_buy_pairs = off[j + 1] - off[j];
            a->category_funnels[j].view_buy_median_s = sq__median_f64(grouped + off[j], off[j + 1] - off[j]);
        }
        free(grouped), free(slot), free(off);
    }
    /* overall view->buy quantiles (reorders c->vb, so after the grouping above) */
    a->view_buy_median_s = sq__median_f64(c->vb, c->n_vb);
    a->view_buy_p25_s = sq__quantile_f64(c->vb, c->n_vb, 0.25);
    a->view_buy_p75_s = sq__quantile_f64(c->vb, c->n_vb, 0.75);
    /* long tail: share of all events on the top 1% / 10% of items (items with >= 1 event) */
    uint32_t *cnt = malloc((size_t)(ds->n_items ? ds->n_items : 1) * sizeof *cnt);
    if (!cnt) return sq_error_set(err, SQ_ERR_NOMEM, "items: out of memory");
    uint64_t n = 0, total = 0;
    for (uint32_t i = 0; i < ds->n_items; i++)
        if (c->items[i].events) {
            cnt[n++] = c->items[i].events;
            total += c->items[i].events;
        }
    a->items_with_events = n;
    double shares[2] = {0.01, 0.10};
    double *outs[2] = {&a->top1_share, &a->top10_share};
    for (int q = 0; q < 2; q++) {
        *outs[q] = NAN;
        if (!n) continue;
        uint64_t k = (uint64_t)llround(shares[q] * (double)n);
        if (k < 1) k = 1;
        /* the k largest are v[n-k..n) after selecting the (n-k)-th smallest */
        sq__select_u32(cnt, n, n - k);
        uint64_t sum = 0;
        for (uint64_t j = n - k; j < n; j++) sum += cnt[j];
        *outs[q] = (double)sum / (double)total;
    }
    free(cnt);
    return SQ_OK;
}
