/* One GRU step for N independent rows, each from its own previous state (nn.GRUCell): the
 * layer under session-parallel training, where every row of a mini-batch is the next
 * event of a different session. Two products per direction instead of a recurrence; the
 * gate maths are the packed GRU's (gru_gates.h), the weight gradients the linear layer's. */
#include <cblas.h>

#include "nn/gru_gates.h"
#include "shopseq/nn.h"

size_t sq_nn_gru_cell_cache_size(int N, int H) { return (size_t)N * 7 * H; }
size_t sq_nn_gru_cell_scratch_size(int N, int H) { return (size_t)N * 6 * H; }

/* cache row (7H): [r z n ghn | gh = W_hh h0 + b_hh (3H)], ghn = W_hn h0 + b_hn */
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
        for (int k = 0; k < G; k++) gh[k] = (hp ? gh[k] : 0.0f) + b_hh[k];
        sq__gru_row_forward(c, h, gh, b_ih, hp, H);
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
    for (int i = 0; i < N; i++)
        sq__gru_row_backward(dgx + (size_t)i * G, dgh + (size_t)i * G, cache + (size_t)i * LD,
                             dout + (size_t)i * H, h0 ? h0 + (size_t)i * H : NULL, H);
    sq_nn_linear_backward(dx, dw_ih, db_ih, dgx, x, w_ih, N, IC, G);
    /* a zero state: b_hh still gets its gradient, W_hh and h0 none */
    sq_nn_linear_backward(h0 ? dh0 : NULL, h0 ? dw_hh : NULL, db_hh, dgh, h0, w_hh, N, H, G);
    if (h0 && dh0) /* h0's direct path through z */
        for (int i = 0; i < N; i++)
            for (int k = 0; k < H; k++)
                dh0[(size_t)i * H + k] += dout[(size_t)i * H + k] * cache[(size_t)i * LD + H + k];
}
