/* Logistic regression recovers the weights that generated its data (binary and
 * multinomial), fits bit-identically twice, and class weights shift the intercept as
 * theory says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/predict.h"

static uint64_t rng_state;
static double unif(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * 0x1.0p-53;
}
static double normal(void) { return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif()); }

enum { N = 40000, D = 3 };

static void test_binary_recovers_weights(void **state) {
    (void)state;
    const double w[D] = {1.5, -2.0, 0.5}, b = -0.3;
    float *x = malloc(sizeof(float) * N * D);
    int32_t *y = malloc(sizeof(int32_t) * N);
    rng_state = 7;
    for (int i = 0; i < N; i++) {
        double z = b;
        for (int j = 0; j < D; j++) {
            x[i * D + j] = (float)normal();
            z += w[j] * x[i * D + j];
        }
        y[i] = unif() < 1 / (1 + exp(-z));
    }
    sq_logreg m, m2;
    sq_error err = {0};
    assert_int_equal(sq_logreg_fit(&m, x, y, NULL, N, D, 1, 0.0, 200, &err), SQ_OK);
    for (int j = 0; j < D; j++) assert_true(fabs(m.w[j] - w[j]) < 0.08);
    assert_true(fabs(m.w[D] - b) < 0.08);
    /* deterministic: a second fit is bit-identical */
    assert_int_equal(sq_logreg_fit(&m2, x, y, NULL, N, D, 1, 0.0, 200, &err), SQ_OK);
    assert_memory_equal(m.w, m2.w, sizeof(double) * (D + 1));
    sq_logreg_free(&m2);
    /* L2 shrinks the weights */
    assert_int_equal(sq_logreg_fit(&m2, x, y, NULL, N, D, 1, 1.0, 200, &err), SQ_OK);
    for (int j = 0; j < D; j++) assert_true(fabs(m2.w[j]) < fabs(m.w[j]));
    sq_logreg_free(&m2);
    /* weighting positives by r moves the intercept by about log r, not the slopes */
    double *sw = malloc(sizeof(double) * N);
    for (int i = 0; i < N; i++) sw[i] = y[i] ? 3.0 : 1.0;
    assert_int_equal(sq_logreg_fit(&m2, x, y, sw, N, D, 1, 0.0, 200, &err), SQ_OK);
    assert_true(fabs(m2.w[D] - (m.w[D] + log(3.0))) < 0.05);
    for (int j = 0; j < D; j++) assert_true(fabs(m2.w[j] - m.w[j]) < 0.08);
    /* predictions are probabilities of the fitted model */
    float p[2];
    sq_logreg_predict(&m, x, 2, p);
    for (int i = 0; i < 2; i++) {
        double z = m.w[D];
        for (int j = 0; j < D; j++) z += m.w[j] * x[i * D + j];
        assert_true(fabs(p[i] - 1 / (1 + exp(-z))) < 1e-6);
    }
    free(sw);
    sq_logreg_free(&m);
    sq_logreg_free(&m2);
    free(x);
    free(y);
}

static void test_multinomial_recovers_weights(void **state) {
    (void)state;
    enum { K = 3 };
    const double W[K][D + 1] = {{0, 0, 0, 0}, {1.0, -1.0, 0.0, 0.5}, {-1.5, 0.5, 1.0, -0.2}};
    float *x = malloc(sizeof(float) * N * D);
    int32_t *y = malloc(sizeof(int32_t) * N);
    rng_state = 11;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) x[i * D + j] = (float)normal();
        double z[K], se = 0;
        for (int c = 0; c < K; c++) {
            z[c] = W[c][D];
            for (int j = 0; j < D; j++) z[c] += W[c][j] * x[i * D + j];
            se += exp(z[c]);
        }
        double u = unif() * se, acc = 0;
        y[i] = K - 1;
        for (int c = 0; c < K; c++)
            if ((acc += exp(z[c])) >= u) {
                y[i] = c;
                break;
            }
    }
    sq_logreg m;
    sq_error err = {0};
    assert_int_equal(sq_logreg_fit(&m, x, y, NULL, N, D, K, 0.0, 300, &err), SQ_OK);
    /* softmax is identified up to a shift shared by all classes: compare differences */
    for (int c = 1; c < K; c++)
        for (int j = 0; j <= D; j++) {
            double got = m.w[c * (D + 1) + j] - m.w[j], want = W[c][j] - W[0][j];
            assert_true(fabs(got - want) < 0.1);
        }
    float p[K];
    sq_logreg_predict(&m, x, 1, p);
    assert_true(fabs(p[0] + p[1] + p[2] - 1) < 1e-5);
    sq_logreg_free(&m);
    free(x);
    free(y);
}

static void test_bad_input(void **state) {
    (void)state;
    const float x[] = {0, 1};
    const int32_t y[] = {0, 2};
    sq_logreg m;
    sq_error err = {0};
    assert_int_equal(sq_logreg_fit(&m, x, y, NULL, 2, 1, 1, 0.0, 10, &err), SQ_ERR_USAGE);
    assert_non_null(strstr(err.msg, "label 2"));
    assert_int_equal(sq_logreg_fit(&m, x, y, NULL, 0, 1, 1, 0.0, 10, &err), SQ_ERR_USAGE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_recovers_weights),
        cmocka_unit_test(test_multinomial_recovers_weights),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
