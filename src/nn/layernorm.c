/* Layer normalisation over the last dimension (PyTorch semantics, biased variance). */
#include <math.h>
#include <omp.h>

#include "shopseq/nn.h"

void sq_nn_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *w,
                             const float *b, int N, int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *x = in + (size_t)i * C;
        float *y = out + (size_t)i * C;
        double m = 0.0;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        double v = 0.0;
        for (int c = 0; c < C; c++) {
            double d = x[c] - m;
            v += d * d;
        }
        v /= C;
        float s = (float)(1.0 / sqrt(v + eps)), mf = (float)m;
        for (int c = 0; c < C; c++) y[c] = (x[c] - mf) * s * w[c] + b[c];
        mean[i] = mf;
        rstd[i] = s;
    }
}

void sq_nn_layernorm_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                              const float *w, const float *mean, const float *rstd, int N, int C) {
#pragma omp parallel
    {
        /* input gradient: rows owned by threads */
#pragma omp for schedule(static)
        for (int i = 0; i < N; i++) {
            const float *x = in + (size_t)i * C, *dy = dout + (size_t)i * C;
            float *dx = din + (size_t)i * C;
            float m = mean[i], s = rstd[i];
            float a = 0.0f, bsum = 0.0f; /* mean(dy*w), mean(dy*w*xhat) */
            for (int c = 0; c < C; c++) {
                float g = dy[c] * w[c];
                a += g;
                bsum += g * (x[c] - m) * s;
            }
            a /= C;
            bsum /= C;
            for (int c = 0; c < C; c++) {
                float xh = (x[c] - m) * s;
                dx[c] += s * (dy[c] * w[c] - a - xh * bsum);
            }
        }
        /* weight gradients: columns owned by threads, rows summed in order */
#pragma omp for schedule(static)
        for (int c = 0; c < C; c++) {
            float sw = 0.0f, sb = 0.0f;
            for (int i = 0; i < N; i++) {
                float dy = dout[(size_t)i * C + c];
                sw += dy * (in[(size_t)i * C + c] - mean[i]) * rstd[i];
                sb += dy;
            }
            dw[c] += sw;
            db[c] += sb;
        }
    }
}
