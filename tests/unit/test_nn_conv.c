/* Finite-difference check of Conv1D + max-pool over time (distinct maxima, so the pooled
 * function is differentiable at the test point), and a hand-computed case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_check.h"

enum { N = 4, L = 5, C = 3, K = 2, F = 3 };

typedef struct {
    float in[N * L * C], w[F * K * C], b[F], R[N * F], out[N * F];
    int am[N * F];
} cv_ctx;

static double obj(void *p) {
    cv_ctx *c = p;
    sq_nn_conv1d_maxpool_forward(c->out, c->am, c->in, c->w, c->b, N, L, C, K, F);
    return fd_dot(c->out, c->R, N * F);
}

static void test_fd(void **s) {
    (void)s;
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 21);
    cv_ctx c;
    fd_fill(c.in, N * L * C, &r, 1.0f);
    fd_fill(c.w, F * K * C, &r, 1.0f);
    fd_fill(c.b, F, &r, 1.0f);
    fd_fill(c.R, N * F, &r, 1.0f);
    float din[N * L * C], dw[F * K * C] = {0}, db[F] = {0};
    for (int i = 0; i < N * L * C; i++) din[i] = 2.0f; /* accumulates */
    obj(&c);
    sq_nn_conv1d_maxpool_backward(din, dw, db, c.R, c.am, c.in, c.w, N, L, C, K, F);
    for (int i = 0; i < N * L * C; i++) din[i] -= 2.0f;
    assert_true(fd_ok("conv1d+maxpool din", din, c.in, N * L * C, obj, &c));
    assert_true(fd_ok("conv1d+maxpool dw", dw, c.w, F * K * C, obj, &c));
    assert_true(fd_ok("conv1d+maxpool db", db, c.b, F, obj, &c));
}

static void test_hand(void **s) {
    (void)s;
    /* one channel, window 4, kernel 2 of weights (1, -1): max of x_t - x_{t+1} */
    const float in[4] = {1, 3, 0, 2}, w[2] = {1, -1}, b[1] = {0.5f};
    float out[1];
    int am[1];
    sq_nn_conv1d_maxpool_forward(out, am, in, w, b, 1, 4, 1, 2, 1);
    assert_true(out[0] == 3.5f && am[0] == 1);
}

int main(void) {
    sq_nn_init(0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fd), cmocka_unit_test(test_hand)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
