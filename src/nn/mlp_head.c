/* The MLP task head (include/shopseq/head.h): linear + relu + dropout + linear, built from
 * the engine's layers, and its two losses. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/head.h"

sq_status sq_mlp_head_init(sq_mlp_head *h, int rep_dim, int feat_dim, int hidden, int out,
                           float dropout, int max_rows, uint64_t seed, sq_error *err) {
    memset(h, 0, sizeof *h);
    if (rep_dim < 0 || feat_dim < 0 || rep_dim + feat_dim <= 0 || hidden <= 0 || out <= 0 ||
        max_rows <= 0 || dropout < 0.0f || dropout >= 1.0f)
        return sq_error_set(err, SQ_ERR_USAGE,
                            "head: bad shape (rep %d, features %d, hidden %d, out %d, rows %d, "
                            "dropout %g)",
                            rep_dim, feat_dim, hidden, out, max_rows, (double)dropout);
    h->rep_dim = rep_dim, h->feat_dim = feat_dim, h->in_dim = rep_dim + feat_dim;
    h->hidden = hidden, h->out = out, h->max_rows = max_rows, h->dropout = dropout;
    int64_t s1[2] = {hidden, h->in_dim}, sb1[1] = {hidden}, s2[2] = {out, hidden}, sb2[1] = {out};
    h->w1 = sq_nn_params_add(&h->params, "head.w1.weight", 2, s1);
    h->b1 = sq_nn_params_add(&h->params, "head.w1.bias", 1, sb1);
    h->w2 = sq_nn_params_add(&h->params, "head.w2.weight", 2, s2);
    h->b2 = sq_nn_params_add(&h->params, "head.w2.bias", 1, sb2);
    if (h->w1 < 0 || h->b1 < 0 || h->w2 < 0 || h->b2 < 0) {
        sq_mlp_head_free(h);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    if (sq_nn_params_alloc(&h->params, err) != SQ_OK) {
        sq_mlp_head_free(h);
        return SQ_ERR_NOMEM;
    }
    /* nn.Linear's init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases */
    sq_nn_rng r;
    sq_nn_rng_seed(&r, seed);
    const int fan[4] = {h->in_dim, h->in_dim, hidden, hidden};
    const int ix[4] = {h->w1, h->b1, h->w2, h->b2};
    for (int k = 0; k < 4; k++) {
        float *w = sq_nn_param(&h->params, ix[k]), a = 1.0f / sqrtf((float)fan[k]);
        for (size_t j = 0; j < h->params.t[ix[k]].numel; j++)
            w[j] = a * (2.0f * sq_nn_rng_uniform(&r) - 1.0f);
    }
    const size_t R = (size_t)max_rows;
    const size_t total = R * h->in_dim * 2 + R * hidden * 3 + R * out;
    h->arena = malloc(total * sizeof(float));
    if (!h->arena) {
        sq_mlp_head_free(h);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    float *a = h->arena;
    h->x = a, a += R * h->in_dim;
    h->dx = a, a += R * h->in_dim;
    h->a = a, a += R * hidden;
    h->ad = a, a += R * hidden;
    h->da = a, a += R * hidden;
    h->logits = a;
    return SQ_OK;
}

void sq_mlp_head_free(sq_mlp_head *h) {
    if (!h) return;
    sq_nn_params_free(&h->params);
    free(h->arena);
    memset(h, 0, sizeof *h);
}

const float *sq_mlp_head_forward(sq_mlp_head *h, const float *rep, const float *feat, int n,
                                 int train, uint64_t seed) {
    const int R = h->rep_dim, F = h->feat_dim, I = h->in_dim, H = h->hidden;
    const sq_nn_params *p = &h->params;
    h->n = n;
    h->pd = train ? h->dropout : 0.0f;
    h->seed = seed;
    for (int i = 0; i < n; i++) {
        if (R) memcpy(h->x + (size_t)i * I, rep + (size_t)i * R, (size_t)R * sizeof(float));
        if (F) memcpy(h->x + (size_t)i * I + R, feat + (size_t)i * F, (size_t)F * sizeof(float));
    }
    sq_nn_linear_forward(h->a, h->x, sq_nn_param(p, h->w1), sq_nn_param(p, h->b1), n, I, H);
    sq_nn_relu_forward(h->a, h->a, (size_t)n * H);
    sq_nn_dropout_forward(h->ad, h->a, (size_t)n * H, h->pd, seed);
    sq_nn_linear_forward(h->logits, h->ad, sq_nn_param(p, h->w2), sq_nn_param(p, h->b2), n, H,
                         h->out);
    return h->logits;
}

void sq_mlp_head_backward(sq_mlp_head *h, const float *dlogits, float *drep) {
    const int n = h->n, I = h->in_dim, H = h->hidden, R = h->rep_dim;
    const sq_nn_params *p = &h->params;
    memset(h->da, 0, (size_t)n * H * sizeof(float));
    sq_nn_linear_backward(h->da, sq_nn_pgrad(p, h->w2), sq_nn_pgrad(p, h->b2), dlogits, h->ad,
                          sq_nn_param(p, h->w2), n, H, h->out);
    sq_nn_dropout_backward(h->da, h->da, (size_t)n * H, h->pd, h->seed);
    sq_nn_relu_backward(h->da, h->da, h->a, (size_t)n * H); /* relu(y) > 0 iff y > 0 */
    float *dx = NULL;
    if (drep) {
        dx = h->dx;
        memset(dx, 0, (size_t)n * I * sizeof(float));
    }
    sq_nn_linear_backward(dx, sq_nn_pgrad(p, h->w1), sq_nn_pgrad(p, h->b1), h->da, h->x,
                          sq_nn_param(p, h->w1), n, I, H);
    if (drep)
        for (int i = 0; i < n; i++)
            memcpy(drep + (size_t)i * R, dx + (size_t)i * I, (size_t)R * sizeof(float));
}

double sq_head_bce(const float *logits, const uint8_t *y, int n, float w_pos, float w_neg,
                   float *dlogits) {
    double sw = 0.0, loss = 0.0;
    for (int i = 0; i < n; i++) sw += y[i] ? w_pos : w_neg;
    if (sw <= 0.0) sw = 1.0;
    for (int i = 0; i < n; i++) {
        const double z = logits[i], w = y[i] ? w_pos : w_neg;
        /* -log s(z) = log(1 + e^-z), stable for either sign */
        const double sp = z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z));
        loss += w * (y[i] ? sp : sp + z);
        if (dlogits) {
            const double s = 1.0 / (1.0 + exp(-z));
            dlogits[i] = (float)(w * (s - (y[i] ? 1.0 : 0.0)) / sw);
        }
    }
    return loss / sw;
}

double sq_head_softmax_ce(const float *logits, const int *y, int n, int K, const float *class_w,
                          float *dlogits) {
    double sw = 0.0, loss = 0.0;
    for (int i = 0; i < n; i++) sw += class_w ? class_w[y[i]] : 1.0f;
    if (sw <= 0.0) sw = 1.0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + (size_t)i * K;
        double mx = z[0], se = 0.0;
        for (int k = 1; k < K; k++) mx = fmax(mx, z[k]);
        for (int k = 0; k < K; k++) se += exp(z[k] - mx);
        const double lse = mx + log(se), w = class_w ? class_w[y[i]] : 1.0;
        loss += w * (lse - z[y[i]]);
        if (dlogits)
            for (int k = 0; k < K; k++)
                dlogits[(size_t)i * K + k] =
                    (float)(w * (exp(z[k] - lse) - (k == y[i] ? 1.0 : 0.0)) / sw);
    }
    return loss / sw;
}
