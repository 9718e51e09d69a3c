/* Finite-difference checks of the position-wise layers: linear, layernorm, embedding,
 * ReLU, GELU, dropout; plus AdamW against a hand-computed step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <omp.h>

#include <cmocka.h>

#include "nn_check.h"

/* ---- linear ---- */
enum { LN_N = 6, LN_IC = 5, LN_OC = 4 };
typedef struct {
    float in[LN_N * LN_IC], w[LN_OC * LN_IC], b[LN_OC], R[LN_N * LN_OC], out[LN_N * LN_OC];
} lin_ctx;

static double lin_obj(void *p) {
    lin_ctx *c = p;
    sq_nn_linear_forward(c->out, c->in, c->w, c->b, LN_N, LN_IC, LN_OC);
    return fd_dot(c->out, c->R, LN_N * LN_OC);
}

static void test_linear(void **state) {
    (void)state;
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 1);
    lin_ctx c;
    fd_fill(c.in, LN_N * LN_IC, &r, 1.0f);
    fd_fill(c.w, LN_OC * LN_IC, &r, 1.0f);
    fd_fill(c.b, LN_OC, &r, 1.0f);
    fd_fill(c.R, LN_N * LN_OC, &r, 1.0f);
    float din[LN_N * LN_IC] = {0}, dw[LN_OC * LN_IC] = {0}, db[LN_OC] = {0};
    /* accumulate semantics: start dw at 1 and subtract afterwards */
    for (int i = 0; i < LN_OC * LN_IC; i++) dw[i] = 1.0f;
    sq_nn_linear_backward(din, dw, db, c.R, c.in, c.w, LN_N, LN_IC, LN_OC);
    for (int i = 0; i < LN_OC * LN_IC; i++) dw[i] -= 1.0f;
    assert_true(fd_ok("linear din", din, c.in, LN_N * LN_IC, lin_obj, &c));
    assert_true(fd_ok("linear dw", dw, c.w, LN_OC * LN_IC, lin_obj, &c));
    assert_true(fd_ok("linear db", db, c.b, LN_OC, lin_obj, &c));
}

/* ---- layernorm ---- */
enum { LA_N = 5, LA_C = 7 };
typedef struct {
    float in[LA_N * LA_C], w[LA_C], b[LA_C], R[LA_N * LA_C], out[LA_N * LA_C], mean[LA_N],
        rstd[LA_N];
} ln_ctx;

static double ln_obj(void *p) {
    ln_ctx *c = p;
    sq_nn_layernorm_forward(c->out, c->mean, c->rstd, c->in, c->w, c->b, LA_N, LA_C, 1e-5f);
    return fd_dot(c->out, c->R, LA_N * LA_C);
}

static void test_layernorm(void **state) {
    (void)state;
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 2);
    ln_ctx c;
    fd_fill(c.in, LA_N * LA_C, &r, 2.0f);
    fd_fill(c.w, LA_C, &r, 1.0f);
    fd_fill(c.b, LA_C, &r, 1.0f);
    fd_fill(c.R, LA_N * LA_C, &r, 1.0f);
    float din[LA_N * LA_C] = {0}, dw[LA_C] = {0}, db[LA_C] = {0};
    ln_obj(&c);
    sq_nn_layernorm_backward(din, dw, db, c.R, c.in, c.w, c.mean, c.rstd, LA_N, LA_C);
    /* output is normalised: mean 0, unit variance per row before the affine part */
    assert_true(fd_ok("layernorm din", din, c.in, LA_N * LA_C, ln_obj, &c));
    assert_true(fd_ok("layernorm dw", dw, c.w, LA_C, ln_obj, &c));
    assert_true(fd_ok("layernorm db", db, c.b, LA_C, ln_obj, &c));
}

/* ---- embedding ---- */
enum { EM_V = 5, EM_C = 3, EM_N = 7 };
typedef struct {
    float table[EM_V * EM_C], R[EM_N * EM_C], out[EM_N * EM_C];
    uint32_t ids[EM_N];
} em_ctx;

static double em_obj(void *p) {
    em_ctx *c = p;
    sq_nn_embedding_forward(c->out, c->ids, c->table, EM_N, EM_C, 1.5f);
    return fd_dot(c->out, c->R, EM_N * EM_C);
}

static void test_embedding(void **state) {
    (void)state;
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 3);
    em_ctx c = {.ids = {0, 2, 2, 4, 0, 2, 1}}; /* repeats; row 3 untouched */
    fd_fill(c.table, EM_V * EM_C, &r, 1.0f);
    fd_fill(c.R, EM_N * EM_C, &r, 1.0f);
    float dt[EM_V * EM_C] = {0};
    sq_nn_embedding_backward(dt, c.R, c.ids, EM_N, EM_C, 1.5f);
    for (int k = 0; k < EM_C; k++) assert_true(dt[3 * EM_C + k] == 0.0f);
    assert_true(fd_ok("embedding dtable", dt, c.table, EM_V * EM_C, em_obj, &c));
    /* add variant */
    float out[EM_N * EM_C] = {0};
    sq_nn_embedding_add_forward(out, c.ids, c.table, EM_N, EM_C);
    assert_true(out[1 * EM_C + 2] == c.table[2 * EM_C + 2]);
}

/* ---- elementwise ---- */
enum { EW_N = 40 };
typedef struct {
    float in[EW_N], R[EW_N], out[EW_N];
    int kind; /* 0 relu, 1 gelu, 2 dropout */
} ew_ctx;

static double ew_obj(void *p) {
    ew_ctx *c = p;
    if (c->kind == 0) sq_nn_relu_forward(c->out, c->in, EW_N);
    else if (c->kind == 1) sq_nn_gelu_forward(c->out, c->in, EW_N);
    else sq_nn_dropout_forward(c->out, c->in, EW_N, 0.3f, 77);
    return fd_dot(c->out, c->R, EW_N);
}

static void test_elementwise(void **state) {
    (void)state;
    static const char *names[] = {"relu", "gelu", "dropout"};
    for (int kind = 0; kind < 3; kind++) {
        sq_nn_rng r;
        sq_nn_rng_seed(&r, 4);
        ew_ctx c = {.kind = kind};
        fd_fill(c.in, EW_N, &r, 3.0f);
        for (int i = 0; i < EW_N; i++) /* keep away from the ReLU kink */
            if (fabsf(c.in[i]) < 0.05f) c.in[i] = 0.5f;
        fd_fill(c.R, EW_N, &r, 1.0f);
        float din[EW_N];
        if (kind == 0) sq_nn_relu_backward(din, c.R, c.in, EW_N);
        else if (kind == 1) sq_nn_gelu_backward(din, c.R, c.in, EW_N);
        else sq_nn_dropout_backward(din, c.R, EW_N, 0.3f, 77);
        assert_true(fd_ok(names[kind], din, c.in, EW_N, ew_obj, &c));
    }
    /* dropout: about p zeroed, survivors scaled by 1/(1-p), same mask for the same seed */
    enum { M = 20000 };
    float *x = malloc(M * sizeof *x), *y = malloc(M * sizeof *y), *z = malloc(M * sizeof *z);
    for (int i = 0; i < M; i++) x[i] = 1.0f;
    sq_nn_dropout_forward(y, x, M, 0.25f, 9);
    sq_nn_dropout_forward(z, x, M, 0.25f, 9);
    int zeros = 0;
    for (int i = 0; i < M; i++) {
        assert_true(y[i] == z[i]);
        if (y[i] == 0.0f) zeros++;
        else assert_true(fabsf(y[i] - 1.0f / 0.75f) < 1e-6f);
    }
    assert_true(zeros > M / 4 - 400 && zeros < M / 4 + 400);
    free(x);
    free(y);
    free(z);
}

/* ---- AdamW: two steps against the PyTorch formula evaluated in double ---- */
static void test_adamw(void **state) {
    (void)state;
    sq_nn_params p = {0};
    int64_t shape[1] = {3};
    assert_int_equal(sq_nn_params_add(&p, "a", 1, shape), 0);
    assert_int_equal(sq_nn_params_add(&p, "b", 1, shape), 1);
    assert_int_equal(p.t[1].offset % 16, 0);
    assert_int_equal(sq_nn_params_alloc(&p, NULL), SQ_OK);
    assert_int_equal(sq_nn_params_find(&p, "b"), 1);
    float *w = sq_nn_param(&p, 0), *g = sq_nn_pgrad(&p, 0);
    const float w0[3] = {0.5f, -1.0f, 2.0f}, g1[3] = {0.1f, -0.2f, 0.0f},
                g2[3] = {-0.3f, 0.05f, 1.0f};
    memcpy(w, w0, sizeof w0);
    sq_nn_adamw opt = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f,
                       .weight_decay = 0.1f};
    double W[3], M[3] = {0}, Vv[3] = {0};
    for (int i = 0; i < 3; i++) W[i] = w0[i];
    for (int t = 1; t <= 2; t++) {
        const float *gg = t == 1 ? g1 : g2;
        memcpy(g, gg, 3 * sizeof(float));
        sq_nn_adamw_step(&p, &opt);
        for (int i = 0; i < 3; i++) {
            M[i] = 0.9 * M[i] + 0.1 * gg[i];
            Vv[i] = 0.98 * Vv[i] + 0.02 * (double)gg[i] * gg[i];
            double mh = M[i] / (1 - pow(0.9, t)), vh = Vv[i] / (1 - pow(0.98, t));
            W[i] -= 0.01 * (mh / (sqrt(vh) + 1e-8) + 0.1 * W[i]);
        }
    }
    for (int i = 0; i < 3; i++) assert_true(fabs(w[i] - W[i]) < 1e-6);
    assert_int_equal(p.step, 2);
    sq_nn_params_free(&p);
    sq_nn_params_free(&p); /* zeroed: fine */
}

/* ---- AdamW over 1001 weights (vector body and scalar tail, split among 1 or 2 threads):
 * bit-identical to the float formula evaluated one weight at a time ---- */
static void test_adamw_vector(void **state) {
    (void)state;
    for (int threads = 1; threads <= 2; threads++) {
        sq_nn_params p = {0};
        int64_t shape[1] = {1001};
        assert_int_equal(sq_nn_params_add(&p, "w", 1, shape), 0);
        assert_int_equal(sq_nn_params_alloc(&p, NULL), SQ_OK);
        const long n = (long)p.total;
        float *w = p.data, *W = malloc(n * sizeof *W), *M = calloc(n, sizeof *M),
              *Vv = calloc(n, sizeof *Vv);
        sq_nn_rng r;
        sq_nn_rng_seed(&r, 9);
        for (long i = 0; i < n; i++) W[i] = w[i] = sq_nn_rng_uniform(&r) - 0.5f;
        const sq_nn_adamw opt = {.lr = 0.003f, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f,
                                 .weight_decay = 0.01f};
        omp_set_num_threads(threads);
        for (int t = 1; t <= 3; t++) {
            for (long i = 0; i < n; i++) p.grad[i] = sq_nn_rng_uniform(&r) - 0.5f;
            sq_nn_adamw_step(&p, &opt);
            const float c1 = 1.0f / (float)(1.0 - pow(0.9f, (double)t));
            const float c2 = 1.0f / (float)(1.0 - pow(0.98f, (double)t));
            for (long i = 0; i < n; i++) {
                const float gi = p.grad[i];
                M[i] = 0.9f * M[i] + (1.0f - 0.9f) * gi;
                Vv[i] = 0.98f * Vv[i] + (1.0f - 0.98f) * gi * gi;
                const float mh = M[i] * c1, vh = Vv[i] * c2;
                W[i] -= 0.003f * (mh / (sqrtf(vh) + 1e-8f) + 0.01f * W[i]);
            }
            assert_memory_equal(w, W, n * sizeof *W);
            assert_memory_equal(p.m, M, n * sizeof *M);
            assert_memory_equal(p.v, Vv, n * sizeof *Vv);
        }
        omp_set_num_threads(2);
        free(W), free(M), free(Vv);
        sq_nn_params_free(&p);
    }
}

static void test_rng(void **state) {
    (void)state;
    sq_nn_rng a, b;
    sq_nn_rng_seed(&a, 42);
    sq_nn_rng_seed(&b, 42);
    int hist[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint32_t x = sq_nn_rng_below(&a, 7);
        assert_true(x == sq_nn_rng_below(&b, 7));
        hist[x]++;
    }
    for (int i = 0; i < 7; i++) assert_true(hist[i] > 9500 && hist[i] < 10500);
}

int main(void) {
    sq_nn_init(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),     cmocka_unit_test(test_layernorm),
        cmocka_unit_test(test_embedding),  cmocka_unit_test(test_elementwise),
        cmocka_unit_test(test_adamw),      cmocka_unit_test(test_adamw_vector),      cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
