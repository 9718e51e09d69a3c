/* Embedding lookup; the backward writes only the rows that were looked up. */
#include <string.h>

#include "shopseq/nn.h"

void sq_nn_embedding_forward(float *out, const uint32_t *ids, const float *table, int N, int C,
                             float scale) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *src = table + (size_t)ids[i] * C;
        float *dst = out + (size_t)i * C;
        for (int c = 0; c < C; c++) dst[c] = src[c] * scale;
    }
}

void sq_nn_embedding_add_forward(float *out, const uint32_t *ids, const float *table, int N,
                                 int C) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *src = table + (size_t)ids[i] * C;
        float *dst = out + (size_t)i * C;
        for (int c = 0; c < C; c++) dst[c] += src[c];
    }
}

/* Serial on purpose: rows repeat (popular items), the work is N*C adds, and a fixed order
 * keeps the sum deterministic. */
void sq_nn_embedding_backward(float *dtable, const float *dout, const uint32_t *ids, int N, int C,
                              float scale) {
    for (int i = 0; i < N; i++) {
        float *dst = dtable + (size_t)ids[i] * C;
        const float *src = dout + (size_t)i * C;
        for (int c = 0; c < C; c++) dst[c] += scale * src[c];
    }
}
