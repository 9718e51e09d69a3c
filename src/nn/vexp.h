/* Vectorised expf for the softmax loops (libm's scalar expf was a fifth of a full-softmax
 * training epoch). One algorithm per instruction set, picked at run time as the service's
 * scorer does: AVX-512F, AVX2+FMA, portable C. Internal to the library.
 *
 * Accuracy (tests/unit/test_nn_vexp.c, every instruction set the CPU has): relative error
 * below 2 ulp for normal results; results below FLT_MIN (x < -87.3) within one denormal
 * step; x < -104 and -inf give +0, x > 88.73 and +inf give +inf, NaN stays NaN. */
#ifndef SQ_NN_VEXP_H
#define SQ_NN_VEXP_H

enum { SQ_VEXP_C, SQ_VEXP_AVX2, SQ_VEXP_AVX512, SQ_VEXP_NISA };

typedef struct sq__vexp_ops {
    const char *name;
    /* max of x[0..n), -inf for n == 0 (NaN elements are skipped) */
    float (*max)(const float *x, int n);
    /* sum of exp(x[i] - shift) over i < n */
    double (*sum_exp)(const float *x, int n, float shift);
    /* y[i] = exp(x[i] - shift) * scale; y may be x */
    void (*exp_scale)(float *y, const float *x, int n, float shift, float scale);
} sq__vexp_ops;

/* The kernels for one instruction set; NULL when this CPU lacks it. */
const sq__vexp_ops *sq__vexp_ops_for(int isa);
/* The fastest kernels this CPU runs. */
const sq__vexp_ops *sq__vexp_best(void);

#endif
