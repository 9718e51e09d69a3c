/* Finite-difference gradient checks for the neural engine tests.
 *
 * The objective is J = sum(out * R) for a fixed random R, so the analytic gradient is the
 * layer's backward with dout = R. Central differences with step FD_EPS, forward in float,
 * J summed in double. err = max_i |analytic_i - numeric_i| / max(max_i |numeric_i|, 1e-3).
 * fd_selftest() proves that FD_TOL rejects a 1% error in a single gradient element. */
#ifndef SQ_TESTS_NN_CHECK_H
#define SQ_TESTS_NN_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/nn.h"

#define FD_EPS 1e-2f
#define FD_TOL 5e-4

typedef double (*fd_objective)(void *ctx);

static inline void fd_fill(float *x, size_t n, sq_nn_rng *r, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * (2.0f * sq_nn_rng_uniform(r) - 1.0f);
}

static inline double fd_dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Returns the relative error of `analytic` against central differences of f over x. */
static inline double fd_error(const float *analytic, float *x, size_t n, fd_objective f,
                              void *ctx) {
    double maxn = 0.0, maxd = 0.0;
    double *num = malloc(n * sizeof *num);
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + FD_EPS;
        double jp = f(ctx);
        x[i] = keep - FD_EPS;
        double jm = f(ctx);
        x[i] = keep;
        /* the step actually taken, after float rounding */
        double h = ((double)(keep + FD_EPS) - (double)(keep - FD_EPS));
        num[i] = (jp - jm) / h;
        if (fabs(num[i]) > maxn) maxn = fabs(num[i]);
    }
    for (size_t i = 0; i < n; i++) {
        double d = fabs(num[i] - analytic[i]);
        if (d > maxd) maxd = d;
    }
    free(num);
    return maxd / (maxn > 1e-3 ? maxn : 1e-3);
}

/* Checks, prints and returns 1 if within tolerance. */
static inline int fd_ok(const char *what, const float *analytic, float *x, size_t n,
                        fd_objective f, void *ctx) {
    double e = fd_error(analytic, x, n, f, ctx);
    int ok = e < FD_TOL;
    fprintf(stderr, "  %-32s rel err %.2e %s\n", what, e, ok ? "ok" : "FAIL");
    /* and the check itself must catch a 1% error in the largest element */
    if (ok && n > 0) {
        float *bad = malloc(n * sizeof *bad);
        memcpy(bad, analytic, n * sizeof *bad);
        size_t im = 0;
        for (size_t i = 1; i < n; i++)
            if (fabsf(bad[i]) > fabsf(bad[im])) im = i;
        bad[im] *= 1.01f;
        double eb = fd_error(bad, x, n, f, ctx);
        free(bad);
        if (eb < FD_TOL && fabsf(analytic[im]) > 1e-3f) {
            fprintf(stderr, "  %-32s tolerance too loose (1%% error gives %.2e)\n", what, eb);
            ok = 0;
        }
    }
    return ok;
}

#endif
