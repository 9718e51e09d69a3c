/* Elementwise layers: ReLU, GELU (tanh approximation), inverted dropout. */
#include <math.h>
#include <string.h>

#include "shopseq/nn.h"

void sq_nn_relu_forward(float *out, const float *in, size_t n) {
    const long ln = (long)n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < ln; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void sq_nn_relu_backward(float *din, const float *dout, const float *in, size_t n) {
    const long ln = (long)n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < ln; i++) din[i] = in[i] > 0.0f ? dout[i] : 0.0f;
}

#define GELU_K 0.7978845608028654f /* sqrt(2/pi) */

void sq_nn_gelu_forward(float *out, const float *in, size_t n) {
    const long ln = (long)n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < ln; i++) {
        float x = in[i];
        out[i] = 0.5f * x * (1.0f + tanhf(GELU_K * (x + 0.044715f * x * x * x)));
    }
}

void sq_nn_gelu_backward(float *din, const float *dout, const float *in, size_t n) {
    const long ln = (long)n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < ln; i++) {
        float x = in[i];
        float u = GELU_K * (x + 0.044715f * x * x * x);
        float t = tanhf(u);
        float du = GELU_K * (1.0f + 3.0f * 0.044715f * x * x);
        din[i] = dout[i] * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
    }
}

void sq_nn_dropout_forward(float *out, const float *in, size_t n, float p, uint64_t seed) {
    if (p <= 0.0f) {
        if (out != in) memcpy(out, in, n * sizeof(float));
        return;
    }
    const float scale = 1.0f / (1.0f - p);
    const long ln = (long)n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < ln; i++)
        out[i] = sq_nn_hash_uniform(seed, (uint64_t)i) < p ? 0.0f : in[i] * scale;
}

void sq_nn_dropout_backward(float *din, const float *dout, size_t n, float p, uint64_t seed) {
    sq_nn_dropout_forward(din, dout, n, p, seed);
}

void sq_nn_add(float *y, const float *x, size_t n) {
    const long ln = (long)n;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < ln; i++) y[i] += x[i];
}
