/* The vectorised exp (src/nn/vexp.c) on every instruction set this CPU has: relative error
 * against exp() in double over a dense sweep of [-100, 88] (below 2 ulp for normal results,
 * within one denormal step below FLT_MIN), the special values, every tail length of the
 * max / sum / scale kernels, and a fuzz: a kernel that computed exp with a 4-ulp error or
 * dropped a tail lane fails here. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "nn/vexp.h"

#define SWEEP 3000000
#define ULP 1.1920928955078125e-7 /* 2^-23 */

/* max relative error over the sweep in units of 2^-23; denormal results are held to an
 * absolute error of one step (2^-149) instead */
static double sweep(const sq__vexp_ops *o) {
    float *x = malloc(SWEEP * sizeof *x), *y = malloc(SWEEP * sizeof *y);
    assert_non_null(x);
    assert_non_null(y);
    for (int i = 0; i < SWEEP; i++) x[i] = -100.0f + (float)(188.0 * i / (SWEEP - 1));
    o->exp_scale(y, x, SWEEP, 0.0f, 1.0f);
    double worst = 0.0;
    for (int i = 0; i < SWEEP; i++) {
        const double e = exp((double)x[i]);
        if (e < FLT_MIN) {
            if (fabs(y[i] - e) > 0x1p-149) fail_msg("%s: exp(%.9g) = %g, want %g", o->name, x[i], y[i], e);
            continue;
        }
        if (e > FLT_MAX) {
            if (!isinf(y[i])) fail_msg("%s: exp(%.9g) = %g, want inf", o->name, x[i], y[i]);
            continue;
        }
        const double rel = fabs(y[i] - e) / e / ULP;
        if (rel > worst) worst = rel;
    }
    free(x);
    free(y);
    return worst;
}

static void check_specials(const sq__vexp_ops *o) {
    const float x[] = {-INFINITY, INFINITY, NAN, 0.0f, -0.0f, 1e-30f, -1e-30f, 88.72f, 88.73f,
                       89.0f, 1000.0f, FLT_MAX, -87.33f, -103.9f, -104.0f, -110.0f, -1000.0f,
                       -FLT_MAX, 1.0f, -1.0f};
    const int n = (int)(sizeof x / sizeof *x);
    float y[sizeof x / sizeof *x];
    o->exp_scale(y, x, n, 0.0f, 1.0f);
    for (int i = 0; i < n; i++) {
        const double e = exp((double)x[i]);
        if (isnan(x[i])) assert_true(isnan(y[i]));
        else if (e > FLT_MAX) assert_true(isinf(y[i]) && y[i] > 0);
        else if (e < 0x1p-150) assert_true(y[i] == 0.0f && !signbit(y[i]));
        else if (e < FLT_MIN) assert_true(fabs(y[i] - e) <= 0x1p-149);
        else if (fabs(y[i] - e) > 2 * ULP * e) fail_msg("%s: exp(%g) = %.9g, want %.9g", o->name, x[i], y[i], e);
    }
    /* no NaN out of a -inf input, also after the shift (a masked-out logit) */
    const float minf[3] = {-INFINITY, -INFINITY, 0.0f};
    float z[3];
    o->exp_scale(z, minf, 3, 5.0f, 2.0f);
    assert_true(z[0] == 0.0f && z[1] == 0.0f);
    assert_true(fabs(z[2] - 2.0 * exp(-5.0)) < 4 * ULP * z[2]);
    assert_true(o->sum_exp(minf, 2, 0.0f) == 0.0);
}

/* every length 0..70 (tails of both vector widths), random data and shifts, against
 * straightforward loops */
static void check_kernels(const sq__vexp_ops *o) {
    uint64_t s = 12345;
    float x[3000], y[3000];
    for (int rep = 0; rep < 4; rep++)
        for (int n = 0; n <= 70 + (rep == 3 ? 2900 : 0); n += rep == 3 ? 97 : 1) {
            for (int i = 0; i < n; i++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                x[i] = (float)((int64_t)(s >> 11) % 40000) / 1000.0f - 20.0f;
            }
            float mx = -INFINITY;
            for (int i = 0; i < n; i++) mx = x[i] > mx ? x[i] : mx;
            assert_true(o->max(x, n) == mx);
            const float shift = n ? mx : 0.0f;
            double want = 0.0;
            for (int i = 0; i < n; i++) want += exp((double)(x[i] - shift));
            const double got = o->sum_exp(x, n, shift);
            if (fabs(got - want) > 4 * ULP * want) fail_msg("%s: sum n=%d %.9g want %.9g", o->name, n, got, want);
            for (int i = 0; i <= n; i++) y[i] = -7.0f; /* y[n] must stay */
            o->exp_scale(y, x, n, shift, 0.5f);
            for (int i = 0; i < n; i++) {
                const double e = 0.5 * exp((double)(x[i] - shift));
                if (fabs(y[i] - e) > 3 * ULP * e + 0x1p-149)
                    fail_msg("%s: scale n=%d i=%d %.9g want %.9g", o->name, n, i, y[i], e);
            }
            assert_true(y[n] == -7.0f);
            o->exp_scale(x, x, n, shift, 1.0f); /* in place */
            for (int i = 0; i < n; i++) assert_true(x[i] >= 0.0f && x[i] <= 1.0f + 2 * ULP);
        }
}

static void test_isa(void **st) {
    (void)st;
    int ran = 0;
    for (int isa = 0; isa < SQ_VEXP_NISA; isa++) {
        const sq__vexp_ops *o = sq__vexp_ops_for(isa);
        if (!o) {
            printf("vexp: %d not supported here\n", isa);
            continue;
        }
        const double worst = sweep(o);
        printf("vexp %-6s: max relative error %.3f ulp over [-100, 88]\n", o->name, worst);
        assert_true(worst < 2.0);
        check_specials(o);
        check_kernels(o);
        ran++;
    }
    assert_true(ran >= 1);
    assert_non_null(sq__vexp_best());
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_isa)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
