/* The shop's world: categories with Zipf-like popularity, per-category log-normal prices,
 * consumable categories, items with Zipf-like popularity inside their category, and items
 * launched during the span. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/synth/synth_internal.h"

void sq__world_free(sq__world *w) {
    if (!w) return;
    free(w->cat_w);
    free(w->cat_cum);
    free(w->cat_mu);
    free(w->cat_sigma);
    free(w->cat_consumable);
    free(w->cat_period);
    free(w->cat_off);
    free(w->cat_items);
    free(w->cat_launch);
    free(w->cat_itemcum);
    free(w->item_cat);
    free(w->item_cents);
    free(w->item_z);
    free(w->item_launch);
    free(w->item_rank);
    free(w->item_text);
    memset(w, 0, sizeof *w);
}

static void shuffle_u32(uint32_t *a, uint32_t n, sq__rng *r) {
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = sq__rng_below(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

/* sort helpers (qsort with a context-free comparator over a parallel key array) */
typedef struct { int64_t launch; uint32_t item; } launch_key;
static int cmp_launch(const void *a, const void *b) {
    const launch_key *x = a, *y = b;
    if (x->launch != y->launch) return x->launch < y->launch ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}
typedef struct { double pop; uint32_t item; } pop_key;
static int cmp_pop(const void *a, const void *b) {
    const pop_key *x = a, *y = b;
    if (x->pop != y->pop) return x->pop > y->pop ? -1 : 1;
    return x->item < y->item ? -1 : x->item > y->item;
}

sq_status sq__world_build(sq__world *w, const sq_synth_options *o, sq_error *err) {
    memset(w, 0, sizeof *w);
    uint32_t C = o->categories, N = o->items;
    w->n_cat = C;
    w->n_items = N;
    w->start = o->start;
    w->end = o->start + (int64_t)o->days * SQ__DAY;
    sq__rng r;
    sq__rng_seed(&r, o->seed, 0x776f726c64ull /* "world" */);

    w->cat_w = calloc(C, sizeof *w->cat_w);
    w->cat_cum = calloc(C, sizeof *w->cat_cum);
    w->cat_mu = calloc(C, sizeof *w->cat_mu);
    w->cat_sigma = calloc(C, sizeof *w->cat_sigma);
    w->cat_consumable = calloc(C, 1);
    w->cat_period = calloc(C, sizeof *w->cat_period);
    w->cat_off = calloc((size_t)C + 1, sizeof *w->cat_off);
    w->cat_items = calloc(N, sizeof *w->cat_items);
    w->cat_launch = calloc(N, sizeof *w->cat_launch);
    w->cat_itemcum = calloc(N, sizeof *w->cat_itemcum);
    w->item_cat = calloc(N, sizeof *w->item_cat);
    w->item_cents = calloc(N, sizeof *w->item_cents);
    w->item_z = calloc(N, sizeof *w->item_z);
    w->item_launch = calloc(N, sizeof *w->item_launch);
    w->item_rank = calloc(N, sizeof *w->item_rank);
    w->item_text = calloc(N, sizeof *w->item_text);
    uint32_t *perm = calloc(C > N ? C : N, sizeof *perm);
    double *item_w = calloc(N, sizeof *item_w);
    launch_key *lk = calloc(N, sizeof *lk);
    pop_key *pk = calloc(N, sizeof *pk);
    if (!w->cat_w || !w->cat_cum || !w->cat_mu || !w->cat_sigma || !w->cat_consumable ||
        !w->cat_period || !w->cat_off || !w->cat_items || !w->cat_launch || !w->cat_itemcum ||
        !w->item_cat || !w->item_cents || !w->item_z || !w->item_launch || !w->item_rank ||
        !w->item_text || !perm || !item_w || !lk || !pk) {
        free(perm);
        free(item_w);
        free(lk);
        free(pk);
        sq__world_free(w);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory building a catalogue of %u items",
                            N);
    }

    /* Categories: Zipf popularity over a random permutation of ranks; a median price
     * log-uniform in [2, 400]; about a fifth are consumables (groceries, cosmetics...). */
    for (uint32_t c = 0; c < C; c++) perm[c] = c;
    shuffle_u32(perm, C, &r);
    double tot = 0;
    for (uint32_t c = 0; c < C; c++) {
        w->cat_w[c] = 1.0 / pow((double)perm[c] + 1.0, o->category_zipf);
        tot += w->cat_w[c];
        w->cat_mu[c] = (float)(log(2.0) + sq__rng_uniform(&r) * (log(400.0) - log(2.0)));
        w->cat_sigma[c] = (float)(0.35 + 0.4 * sq__rng_uniform(&r));
        w->cat_consumable[c] = sq__rng_bernoulli(&r, 0.2);
        w->cat_period[c] = (float)(7.0 + 23.0 * sq__rng_uniform(&r));
    }
    double cum = 0;
    for (uint32_t c = 0; c < C; c++) {
        w->cat_w[c] /= tot;
        cum += w->cat_w[c];
        w->cat_cum[c] = cum;
    }
    w->cat_cum[C - 1] = 1.0;

    /* Items: category by popularity (the first C items cover every category once, so no
     * category is empty), price log-normal per category, launch before the span for the
     * established catalogue and uniform over the span for new items. The first item of
     * each category is always established. */
    uint32_t *count = calloc(C, sizeof *count);
    if (!count) {
        free(perm); free(item_w); free(lk); free(pk);
        sq__world_free(w);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < N; i++) {
        uint32_t c = i < C ? i : sq__world_pick_category(w, &r);
        w->item_cat[i] = c;
        count[c]++;
        double z = sq__rng_normal(&r);
        double p = exp(w->cat_mu[c] + w->cat_sigma[c] * z);
        if (p < 0.5) p = 0.5;
        if (p > 1e6) p = 1e6;
        uint32_t cents = (uint32_t)llround(p * 100.0);
        if (p >= 20) cents = cents / 100 * 100 - 1; /* x.99 pricing */
        w->item_cents[i] = cents;
        w->item_z[i] = (float)((log(cents / 100.0) - w->cat_mu[c]) / w->cat_sigma[c]);
        bool is_new = i >= C && sq__rng_bernoulli(&r, o->new_item_share);
        w->item_launch[i] = is_new ? w->start + (int64_t)(sq__rng_uniform(&r) * (double)(w->end - w->start))
                                   : w->start - (int64_t)sq__rng_range(&r, SQ__DAY, 730 * SQ__DAY);
    }
    w->cat_off[0] = 0;
    for (uint32_t c = 0; c < C; c++) w->cat_off[c + 1] = w->cat_off[c] + count[c];
    free(count);

    /* Group by category, sorted by launch time; within-category Zipf popularity by a
     * random rank, so that new items can be hits too. */
    for (uint32_t i = 0; i < N; i++) {
        lk[i].launch = w->item_launch[i];
        lk[i].item = i;
    }
    uint32_t *fill = calloc(C, sizeof *fill);
    if (!fill) {
        free(perm); free(item_w); free(lk); free(pk);
        sq__world_free(w);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    qsort(lk, N, sizeof *lk, cmp_launch);
    for (uint32_t k = 0; k < N; k++) {
        uint32_t i = lk[k].item, c = w->item_cat[i];
        uint32_t pos = w->cat_off[c] + fill[c]++;
        w->cat_items[pos] = i;
        w->cat_launch[pos] = w->item_launch[i];
    }
    free(fill);
    for (uint32_t c = 0; c < C; c++) {
        uint32_t b = w->cat_off[c], n = w->cat_off[c + 1] - b;
        for (uint32_t k = 0; k < n; k++) perm[k] = k;
        shuffle_u32(perm, n, &r);
        double s = 0;
        for (uint32_t k = 0; k < n; k++) {
            item_w[w->cat_items[b + k]] = 1.0 / pow((double)perm[k] + 1.0, o->item_zipf);
            s += item_w[w->cat_items[b + k]];
        }
        double acc = 0;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t i = w->cat_items[b + k];
            acc += item_w[i];
            w->cat_itemcum[b + k] = acc;
            item_w[i] = w->cat_w[c] * item_w[i] / s; /* overall popularity */
        }
    }
    for (uint32_t i = 0; i < N; i++) {
        pk[i].pop = item_w[i];
        pk[i].item = i;
    }
    qsort(pk, N, sizeof *pk, cmp_pop);
    for (uint32_t k = 0; k < N; k++) w->item_rank[pk[k].item] = k + 1;

    /* Preformatted CSV pieces. */
    for (uint32_t i = 0; i < N; i++) {
        sq__item_text *t = &w->item_text[i];
        int n = sq__fmt_u64(t->pre, (uint64_t)i + 1);
        t->pre[n++] = ',';
        n += sq__fmt_u64(t->pre + n, (uint64_t)w->item_cat[i] + 1);
        t->pre[n++] = ',';
        t->pre_len = (uint8_t)n;
        uint32_t cents = w->item_cents[i];
        n = sq__fmt_u64(t->price, cents / 100);
        t->price[n++] = '.';
        t->price[n++] = (char)('0' + cents % 100 / 10);
        t->price[n++] = (char)('0' + cents % 10);
        t->price[n++] = '\n';
        t->price_len = (uint8_t)n;
    }
    free(perm);
    free(item_w);
    free(lk);
    free(pk);
    return SQ_OK;
}

uint32_t sq__world_pick_category(const sq__world *w, sq__rng *r) {
    double u = sq__rng_uniform(r);
    uint32_t lo = 0, hi = w->n_cat - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (w->cat_cum[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

uint32_t sq__world_launched(const sq__world *w, uint32_t c, int64_t t) {
    uint32_t b = w->cat_off[c], lo = 0, hi = w->cat_off[c + 1] - b;
    const int64_t *L = w->cat_launch + b;
    while (lo < hi) { /* first index with launch > t */
        uint32_t mid = (lo + hi) / 2;
        if (L[mid] <= t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

uint32_t sq__world_pick_item(const sq__world *w, uint32_t c, int64_t t, sq__rng *r) {
    uint32_t b = w->cat_off[c];
    uint32_t k = sq__world_launched(w, c, t);
    if (k == 0) k = 1; /* cannot happen: the first item of a category is established */
    const double *cum = w->cat_itemcum + b;
    double u = sq__rng_uniform(r) * cum[k - 1];
    uint32_t lo = 0, hi = k - 1;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (cum[mid] > u) hi = mid;
        else lo = mid + 1;
    }
    return w->cat_items[b + lo];
}
