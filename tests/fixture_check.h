/* Reading the PyTorch-twin fixtures (safetensors with F64 reference tensors, written by the
 * scripts in tests/reference) and comparing against them. Include after <cmocka.h>. */
#ifndef SQ_TESTS_FIXTURE_CHECK_H
#define SQ_TESTS_FIXTURE_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/safetensors.h"

/* the fixture's tensor `name`, which must exist with this dtype */
static inline const sq_st_tensor *fixture_need(const sq_st_file *f, const char *name,
                                               const char *dtype) {
    const sq_st_tensor *t = sq_st_find(f, name);
    if (!t) fprintf(stderr, "fixture lacks %s\n", name);
    assert_non_null(t);
    assert_string_equal(t->dtype, dtype);
    return t;
}

/* max |a - ref| / max(max |ref|, 1e-6) */
static inline double fixture_rel_err(const float *a, const double *ref, size_t n) {
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        md = fmax(md, fabs((double)a[i] - ref[i]));
        mr = fmax(mr, fabs(ref[i]));
    }
    return md / fmax(mr, 1e-6);
}

/* An F64 tensor as an aligned copy (a tensor's bytes need not be 8-aligned in memory).
 * Caller frees. */
static inline double *fixture_f64_copy(const sq_st_tensor *t) {
    double *d = malloc(t->nbytes ? t->nbytes : sizeof(double));
    assert_non_null(d);
    memcpy(d, t->data, t->nbytes);
    return d;
}

#endif
