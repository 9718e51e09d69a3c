/* One GRU step for N independent rows, each from its own previous state (nn.GRUCell): the
 * layer under session-parallel training, where every row of a mini-batch is the next
 * event of a different session. Two products per direction instead of a recurrence. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "shopseq/nn.h"

static inline float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

size_t sq_nn_gru_cell_cache_size(int N, int H) { return (size_t)N * 7 * H; }
size_t sq_nn_gru_cell_scratch_size(int N, int H) { return (size_t)N * 6 * H; }

/* cache row (7H): [r z n ghn | W_hh h0 (3H)], ghn = W_hn h0 + b_hn */
void sq_nn_gru_cell_forward(float *out, float *cache, const float *x, const float *h0,
                            const float *w_ih, const float *w_hh, const float *b_ih,
                            const float *b_hh, int N, int IC, int H) {
    if (N <= 0) return;
    const int G = 3 * H, LD = 7 * H;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, G, IC, 1.0f, x, IC, w_ih, IC, 0.0f,
                cache, LD);
    if (h0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, G, H, 1.0f, h0, H, w_hh, H, 0.0f,
                    cache + 4 * H, LD);
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        float *c = cache + (size_t)i * LD, *gh = c + 4 * H, *h = out + (size_t)i * H;
        const float *hp = h0 ? h0 + (size_t)i * H : NULL;
        for (int k = 0; k < H; k++) {
            const float ghr = (hp ? gh[k] : 0.0f) + b_hh[k],
                        ghz = (hp ? gh[H + k] : 0.0f) + b_hh[H + k],
                        ghn = (hp ? gh[2 * H + k] : 0.0f) + b_hh[2 * H + k];
            const float r = sigm(c[k] + b_ih[k] + ghr), z = sigm(c[H + k] + b_ih[H + k] + ghz);
            const float n = tanhf(c[2 * H + k] + b_ih[2 * H + k] + r * ghn);
            c[k] = r;
            c[H + k] = z;
            c[2 * H + k] = n;
            c[3 * H + k] = ghn;
            h[k] = (1.0f - z) * n + z * (hp ? hp[k] : 0.0f);
        }
    }
}

void sq_nn_gru_cell_backward(float *dx, float *dh0, float *dw_ih, float *dw_hh, float *db_ih,
                             float *db_hh, const float *dout, const float *cache, const float *x,
                             const float *h0, const float *w_ih, const float *w_hh, int N, int IC,
                             int H, float *scratch) {
    if (N <= 0) return;
    const int G = 3 * H, LD = 7 * H;
    float *dgx = scratch, *dgh = scratch + (size_t)N * G;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *c = cache + (size_t)i * LD, *d = dout + (size_t)i * H;
        const float *hp = h0 ? h0 + (size_t)i * H : NULL;
        float *ax = dgx + (size_t)i * G, *ah = dgh + (size_t)i * G;
        for (int k = 0; k < H; k++) {
            const float r = c[k], z = c[H + k], n = c[2 * H + k], ghn = c[3 * H + k];
            const float dan = d[k] * (1.0f - z) * (1.0f - n * n);
            const float dar = dan * ghn * r * (1.0f - r);
            const float daz = d[k] * ((hp ? hp[k] : 0.0f) - n) * z * (1.0f - z);
            ax[k] = ah[k] = dar;
            ax[H + k] = ah[H + k] = daz;
            ax[2 * H + k] = dan;
            ah[2 * H + k] = dan * r;
        }
    }
    for (int i = 0; i < N; i++)
        for (int k = 0; k < G; k++) {
            db_ih[k] += dgx[(size_t)i * G + k];
            db_hh[k] += dgh[(size_t)i * G + k];
        }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, IC, N, 1.0f, dgx, G, x, IC, 1.0f,
                dw_ih, IC);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, G, 1.0f, dgx, G, w_ih, IC,
                    1.0f, dx, IC);
    if (h0) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, N, 1.0f, dgh, G, h0, H, 1.0f,
                    dw_hh, H);
        if (dh0) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, H, G, 1.0f, dgh, G, w_hh, H,
                        1.0f, dh0, H);
            for (int i = 0; i < N; i++)
                for (int k = 0; k < H; k++)
                    dh0[(size_t)i * H + k] += dout[(size_t)i * H + k] * cache[(size_t)i * LD + H + k];
        }
    }
}
