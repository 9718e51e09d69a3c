#include <math.h>
#include <stdlib.h>

#include "models/shared_loss.h"
#include "shopseq/nn.h"

/* cand/col for the batch's targets plus the samples (given, or n_samples uniform draws from
 * seed); returns K, or -1 when out of memory */
static int candidates(sq__shared_buf *sb, const uint32_t *target, int N, int C, int V,
                      const uint32_t *given, int n_samples, uint64_t seed) {
    if (n_samples < 0) n_samples = 0;
    size_t rows = (size_t)N + (size_t)n_samples;
    if (rows > sb->cap_rows) {
        uint32_t *c = realloc(sb->cand, rows * sizeof *c);
        if (!c) return -1;
        sb->cand = c;
        int *col = realloc(sb->col, rows * sizeof *col);
        if (!col) return -1;
        sb->col = col;
        float *q = realloc(sb->colq, rows * sizeof *q);
        if (!q) return -1;
        sb->colq = q;
        sb->cap_rows = rows;
    }
    const int K = given ? sq_nn_shared_candidates_given(sb->cand, sb->col, target, N, given, n_samples)
                        : sq_nn_shared_candidates(sb->cand, sb->col, target, N, n_samples, V, seed);
    size_t need = sq_nn_ce_shared_scratch_size(N, K, C);
    if (need > sb->cap_scratch) {
        float *s = realloc(sb->scratch, need * sizeof *s);
        if (!s) return -1;
        sb->scratch = s;
        sb->cap_scratch = need;
    }
    return K;
}

double sq__shared_loss(sq__shared_buf *sb, float *dh, float *dtable, const float *h,
                       const float *table, const uint32_t *target, int N, int C, int V,
                       int n_samples, uint64_t seed) {
    if (N <= 0) return 0.0;
    const int K = candidates(sb, target, N, C, V, NULL, n_samples, seed);
    if (K < 0) return NAN;
    return sq_nn_ce_shared(dh, dtable, h, table, sb->cand, K, sb->col, N, C, 1.0f, sb->scratch);
}

double sq__cand_loss(sq__shared_buf *sb, const sq_model_config *cfg, const sq_batch *b,
                     float *dh, float *dtable, const float *h, const float *table, int N,
                     uint64_t seed) {
    if (N <= 0) return 0.0;
    const int C = cfg->dim;
    const int K = candidates(sb, b->target, N, C, cfg->n_items, b->shared_neg,
                             b->shared_neg ? b->n_shared_neg : cfg->negatives, seed);
    if (K < 0) return NAN;
    if (cfg->loss == SQ_LOSS_BPRMAX)
        return sq_nn_bprmax_shared(dh, dtable, h, table, sb->cand, K, sb->col, N, C, cfg->bpreg,
                                   cfg->final_elu, 1.0f, sb->scratch, &sb->ws);
    const float *colq = NULL;
    if (b->logq_pop) { /* sampled-only columns first, then the targets' columns */
        for (int k = 0; k < K; k++) sb->colq[k] = b->logq_alpha * b->logq_pop[sb->cand[k]];
        for (int i = 0; i < N; i++) sb->colq[sb->col[i]] = b->logq_pop[b->target[i]];
        colq = sb->colq;
    }
    return sq_nn_ce_shared_logq(dh, dtable, h, table, sb->cand, K, sb->col, N, C, colq, 1.0f,
                                sb->scratch);
}

void sq__shared_free(sq__shared_buf *sb) {
    free(sb->cand);
    free(sb->col);
    free(sb->colq);
    free(sb->scratch);
    sq_nn_ws_free(&sb->ws);
}
