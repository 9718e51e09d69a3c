/* Conv1D over a window of rows followed by max-pooling over time (Caser's horizontal
 * convolutions, the TextCNN building block). */
#include <float.h>
#include <string.h>

#include "shopseq/nn.h"

void sq_nn_conv1d_maxpool_forward(float *out, int *argmax, const float *in, const float *w,
                                  const float *b, int N, int L, int C, int K, int F) {
    const int T = L - K + 1;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = in + (size_t)n * L * C;
        for (int f = 0; f < F; f++) {
            const float *wf = w + (size_t)f * K * C;
            float best = -FLT_MAX;
            int bt = 0;
            for (int t = 0; t < T; t++) {
                /* the window rows t..t+K-1 are contiguous: one dot product of K*C */
                const float *xt = x + (size_t)t * C;
                float s = b ? b[f] : 0.0f;
                for (int j = 0; j < K * C; j++) s += wf[j] * xt[j];
                if (s > best) {
                    best = s;
                    bt = t;
                }
            }
            out[(size_t)n * F + f] = best;
            argmax[(size_t)n * F + f] = bt;
        }
    }
}

void sq_nn_conv1d_maxpool_backward(float *din, float *dw, float *db, const float *dout,
                                   const int *argmax, const float *in, const float *w, int N,
                                   int L, int C, int K, int F) {
    /* weight gradients: each thread owns whole filters */
#pragma omp parallel for schedule(static)
    for (int f = 0; f < F; f++) {
        float *dwf = dw + (size_t)f * K * C;
        for (int n = 0; n < N; n++) {
            const float g = dout[(size_t)n * F + f];
            if (g == 0.0f) continue;
            const float *xt = in + (size_t)n * L * C + (size_t)argmax[(size_t)n * F + f] * C;
            for (int j = 0; j < K * C; j++) dwf[j] += g * xt[j];
            if (db) db[f] += g;
        }
    }
    if (!din) return;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        for (int f = 0; f < F; f++) {
            const float g = dout[(size_t)n * F + f];
            if (g == 0.0f) continue;
            float *dx = din + (size_t)n * L * C + (size_t)argmax[(size_t)n * F + f] * C;
            const float *wf = w + (size_t)f * K * C;
            for (int j = 0; j < K * C; j++) dx[j] += g * wf[j];
        }
}
