/* GRU and LSTM layers over packed sequences (PyTorch nn.GRU / nn.LSTM semantics, zero
 * initial state per sequence).
 *
 * The input projections of all rows are one product (x . W_ih^T + b_ih, through the linear
 * layer); the recurrence runs per sequence, sequences in parallel (each thread owns whole
 * sequences, so results do not depend on the thread count). Backward stores the gradients
 * of the gate pre-activations of every row and turns them into weight gradients with two
 * products at the end (dW = dA^T . X), so no thread ever writes a shared weight gradient. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn/gru_gates.h"
#include "shopseq/nn.h"


/* beyond the stack rows' size: the output is NaN, never a write past them (model create
 * refuses such a dim first) */
static int too_wide(float *out, const int *seq_off, int n_seq, int H) {
    if (H <= SQ_NN_RNN_MAX_HIDDEN) return 0;
    for (size_t i = 0; i < (size_t)seq_off[n_seq] * (size_t)H; i++) out[i] = NAN;
    return 1;
}

size_t sq_nn_gru_cache_size(int N, int H) { return (size_t)N * 4 * H; }
size_t sq_nn_gru_scratch_size(int N, int H) { return (size_t)N * 7 * H; }
size_t sq_nn_lstm_cache_size(int N, int H) { return (size_t)N * 5 * H; }
size_t sq_nn_lstm_scratch_size(int N, int H) { return (size_t)N * 5 * H; }

/* ---- GRU ----  cache row: [r z n ghn] with ghn = W_hn h_prev + b_hn (gru_gates.h) */
void sq_nn_gru_forward(float *out, float *cache, const float *x, const float *w_ih,
                       const float *w_hh, const float *b_ih, const float *b_hh, const int *seq_off,
                       int n_seq, int IC, int H) {
    if (too_wide(out, seq_off, n_seq, H)) return;
    const int G = 3 * H;
    float *gx = cache; /* gx lands in the first 3H of each (4H) cache row */
#pragma omp parallel
    {
        float gh[3 * SQ_NN_RNN_MAX_HIDDEN];
#pragma omp for schedule(dynamic, 1)
        for (int s = 0; s < n_seq; s++) {
            const int r0 = seq_off[s], r1 = seq_off[s + 1];
            /* input projection of this sequence's rows, into the cache rows (ld 4H) */
            if (r1 > r0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, G, IC, 1.0f,
                            x + (size_t)r0 * IC, IC, w_ih, IC, 0.0f, gx + (size_t)r0 * 4 * H, 4 * H);
            for (int t = r0; t < r1; t++) {
                float *c = cache + (size_t)t * 4 * H;
                const float *hp = t > r0 ? out + (size_t)(t - 1) * H : NULL;
                float *h = out + (size_t)t * H;
                memcpy(gh, b_hh, (size_t)G * sizeof *gh);
                if (hp) cblas_sgemv(CblasRowMajor, CblasNoTrans, G, H, 1.0f, w_hh, H, hp, 1, 1.0f, gh, 1);
                sq__gru_row_forward(c, h, gh, b_ih, hp, H);
            }
        }
    }
}

void sq_nn_gru_backward(float *dx, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                        const float *dout, const float *cache, const float *out, const float *x,
                        const float *w_ih, const float *w_hh, const int *seq_off, int n_seq,
                        int IC, int H, float *scratch) {
    if (H > SQ_NN_RNN_MAX_HIDDEN) return; /* the forward gave NaN */
    const int N = seq_off[n_seq], G = 3 * H;
    float *dgx = scratch, *dgh = scratch + (size_t)N * G, *hprev = scratch + (size_t)2 * N * G;
#pragma omp parallel
    {
        float dh[2 * SQ_NN_RNN_MAX_HIDDEN], *dhn = dh + H;
#pragma omp for schedule(dynamic, 1)
        for (int s = 0; s < n_seq; s++) {
            const int r0 = seq_off[s], r1 = seq_off[s + 1];
            memset(dhn, 0, (size_t)H * sizeof *dhn);
            for (int t = r1 - 1; t >= r0; t--) {
                const float *c = cache + (size_t)t * 4 * H;
                const float *hp = t > r0 ? out + (size_t)(t - 1) * H : NULL;
                float *ax = dgx + (size_t)t * G, *ah = dgh + (size_t)t * G;
                float *hpr = hprev + (size_t)t * H;
                for (int k = 0; k < H; k++) dhn[k] += dout[(size_t)t * H + k]; /* g at h_t */
                sq__gru_row_backward(ax, ah, c, dhn, hp, H);
                for (int k = 0; k < H; k++) {
                    dh[k] = dhn[k] * c[H + k]; /* through z */
                    hpr[k] = hp ? hp[k] : 0.0f;
                }
                if (t > r0)
                    cblas_sgemv(CblasRowMajor, CblasTrans, G, H, 1.0f, w_hh, H, ah, 1, 1.0f, dh, 1);
                memcpy(dhn, dh, (size_t)H * sizeof *dh);
            }
        }
    }
    sq_nn_linear_backward(dx, dw_ih, db_ih, dgx, x, w_ih, N, IC, G);
    sq_nn_linear_backward(NULL, dw_hh, db_hh, dgh, hprev, w_hh, N, H, G);
}

/* ---- LSTM ----  cache row: [i f g o c], gates after their nonlinearity
 *   c = f c_prev + i g, h = o tanh(c) */
void sq_nn_lstm_forward(float *out, float *cache, const float *x, const float *w_ih,
                        const float *w_hh, const float *b_ih, const float *b_hh,
                        const int *seq_off, int n_seq, int IC, int H) {
    if (too_wide(out, seq_off, n_seq, H)) return;
    const int G = 4 * H;
#pragma omp parallel
    {
        float gh[4 * SQ_NN_RNN_MAX_HIDDEN];
#pragma omp for schedule(dynamic, 1)
        for (int s = 0; s < n_seq; s++) {
            const int r0 = seq_off[s], r1 = seq_off[s + 1];
            if (r1 > r0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, G, IC, 1.0f,
                            x + (size_t)r0 * IC, IC, w_ih, IC, 0.0f, cache + (size_t)r0 * 5 * H,
                            5 * H);
            for (int t = r0; t < r1; t++) {
                float *c = cache + (size_t)t * 5 * H;
                const float *hp = t > r0 ? out + (size_t)(t - 1) * H : NULL;
                const float *cp = t > r0 ? c - 5 * H + 4 * H : NULL;
                float *h = out + (size_t)t * H;
                memcpy(gh, b_hh, (size_t)G * sizeof *gh);
                if (hp) cblas_sgemv(CblasRowMajor, CblasNoTrans, G, H, 1.0f, w_hh, H, hp, 1, 1.0f, gh, 1);
                for (int k = 0; k < H; k++) {
                    float ig = sq__sigm(c[k] + b_ih[k] + gh[k]);
                    float fg = sq__sigm(c[H + k] + b_ih[H + k] + gh[H + k]);
                    float gg = tanhf(c[2 * H + k] + b_ih[2 * H + k] + gh[2 * H + k]);
                    float og = sq__sigm(c[3 * H + k] + b_ih[3 * H + k] + gh[3 * H + k]);
                    float cc = fg * (cp ? cp[k] : 0.0f) + ig * gg;
                    c[k] = ig;
                    c[H + k] = fg;
                    c[2 * H + k] = gg;
                    c[3 * H + k] = og;
                    c[4 * H + k] = cc;
                    h[k] = og * tanhf(cc);
                }
            }
        }
    }
}

void sq_nn_lstm_backward(float *dx, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                         const float *dout, const float *cache, const float *out, const float *x,
                         const float *w_ih, const float *w_hh, const int *seq_off, int n_seq,
                         int IC, int H, float *scratch) {
    if (H > SQ_NN_RNN_MAX_HIDDEN) return; /* the forward gave NaN */
    const int N = seq_off[n_seq], G = 4 * H;
    float *da = scratch, *hprev = scratch + (size_t)N * G;
#pragma omp parallel
    {
        float dh[3 * SQ_NN_RNN_MAX_HIDDEN], *dhn = dh + H, *dcn = dh + 2 * H;
#pragma omp for schedule(dynamic, 1)
        for (int s = 0; s < n_seq; s++) {
            const int r0 = seq_off[s], r1 = seq_off[s + 1];
            memset(dhn, 0, (size_t)2 * H * sizeof *dhn);
            for (int t = r1 - 1; t >= r0; t--) {
                const float *c = cache + (size_t)t * 5 * H;
                const float *cp = t > r0 ? c - 5 * H + 4 * H : NULL;
                const float *hp = t > r0 ? out + (size_t)(t - 1) * H : NULL;
                float *a = da + (size_t)t * G, *hpr = hprev + (size_t)t * H;
                for (int k = 0; k < H; k++) {
                    const float ig = c[k], fg = c[H + k], gg = c[2 * H + k], og = c[3 * H + k];
                    const float tc = tanhf(c[4 * H + k]);
                    const float g = dout[(size_t)t * H + k] + dhn[k];
                    const float dc = dcn[k] + g * og * (1.0f - tc * tc);
                    a[k] = dc * gg * ig * (1.0f - ig);
                    a[H + k] = dc * (cp ? cp[k] : 0.0f) * fg * (1.0f - fg);
                    a[2 * H + k] = dc * ig * (1.0f - gg * gg);
                    a[3 * H + k] = g * tc * og * (1.0f - og);
                    dcn[k] = dc * fg;
                    hpr[k] = hp ? hp[k] : 0.0f;
                }
                memset(dh, 0, (size_t)H * sizeof *dh);
                if (t > r0)
                    cblas_sgemv(CblasRowMajor, CblasTrans, G, H, 1.0f, w_hh, H, a, 1, 0.0f, dh, 1);
                memcpy(dhn, dh, (size_t)H * sizeof *dh);
            }
        }
    }
    sq_nn_linear_backward(dx, dw_ih, db_ih, da, x, w_ih, N, IC, G);
    sq_nn_linear_backward(NULL, dw_hh, db_hh, da, hprev, w_hh, N, H, G);
}
