#include "models/item_sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sq__sampler_init(sq__item_sampler *s, const uint32_t *counts, uint32_t n_items, float alpha) {
    memset(s, 0, sizeof *s);
    if (!n_items) return -1;
    s->cdf = malloc((size_t)n_items * sizeof *s->cdf);
    if (!s->cdf) return -1;
    double total = 0.0;
    for (uint32_t i = 0; i < n_items; i++) {
        total += counts[i] ? pow((double)counts[i], (double)alpha) : 0.0;
        s->cdf[i] = (float)total;
    }
    if (total <= 0.0) {
        sq__sampler_free(s);
        return -1;
    }
    for (uint32_t i = 0; i < n_items; i++) s->cdf[i] = (float)(s->cdf[i] / total);
    s->cdf[n_items - 1] = 1.0f; /* rounding must not leave a gap at the top */
    s->n_items = n_items;
    return 0;
}

void sq__sampler_draw(const sq__item_sampler *s, sq_nn_rng *r, uint32_t *out, int n) {
    for (int j = 0; j < n; j++) {
        const float u = sq_nn_rng_uniform(r);
        uint32_t lo = 0, hi = s->n_items - 1; /* the first item whose cdf exceeds u */
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (s->cdf[mid] <= u) lo = mid + 1;
            else hi = mid;
        }
        out[j] = lo;
    }
}

void sq__sampler_free(sq__item_sampler *s) {
    free(s->cdf);
    free(s->logq_pop);
    memset(s, 0, sizeof *s);
}
