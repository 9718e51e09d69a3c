#include <math.h>
#include <stdlib.h>

#include "models/shared_loss.h"
#include "shopseq/nn.h"

double sq__shared_loss(sq__shared_buf *sb, float *dh, float *dtable, const float *h,
                       const float *table, const uint32_t *target, int N, int C, int V,
                       int n_samples, uint64_t seed) {
    if (N <= 0) return 0.0;
    if (n_samples < 0) n_samples = 0;
    size_t rows = (size_t)N + (size_t)n_samples;
    if (rows > sb->cap_rows) {
        uint32_t *c = realloc(sb->cand, rows * sizeof *c);
        if (!c) return NAN;
        sb->cand = c;
        int *col = realloc(sb->col, rows * sizeof *col);
        if (!col) return NAN;
        sb->col = col;
        sb->cap_rows = rows;
    }
    const int K = sq_nn_shared_candidates(sb->cand, sb->col, target, N, n_samples, V, seed);
    size_t need = sq_nn_ce_shared_scratch_size(N, K, C);
    if (need > sb->cap_scratch) {
        float *s = realloc(sb->scratch, need * sizeof *s);
        if (!s) return NAN;
        sb->scratch = s;
        sb->cap_scratch = need;
    }
    return sq_nn_ce_shared(dh, dtable, h, table, sb->cand, K, sb->col, N, C, 1.0f, sb->scratch);
}

void sq__shared_free(sq__shared_buf *sb) {
    free(sb->cand);
    free(sb->col);
    free(sb->scratch);
}
