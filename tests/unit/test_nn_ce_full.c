/* The full-softmax cross-entropy kernels (src/nn/ce_full.c, ce_full_avx512.c) against a
 * direct double-precision computation: loss, dh, dtable and (with an output bias) dbias, over shapes that cross the
 * item tiles and the row blocks with remainders, 1 and 2 threads, logits near +-80 (no
 * overflow, no NaN), and bit-identical results when run twice. The AVX-512 path (C a
 * multiple of 16) also by finite differences, and bit-identical on 1 and 2 threads. The BLAS path is checked on every CPU.
 * Every shape also runs on one workspace kept across all shapes and thread counts (as a
 * model keeps it across steps): the same bits as a fresh one. */
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/ce_full.h"
#include "nn_check.h"

typedef double (*ce_fn)(float *, float *, float *, const float *, const float *, const float *,
                        const uint32_t *, int, int, int, float, float *, sq_nn_ws *);

static sq_nn_ws kept; /* reused by every check_shape of a test */

/* loss, dh (N, C), dtable (V, C), dbias (V) in double; b: the output bias or NULL */
static double reference(double *dh, double *dt, double *db, const float *h, const float *E,
                        const float *b, const uint32_t *tg, int N, int V, int C, double gs) {
    double total = 0.0;
    double *l = malloc((size_t)V * sizeof *l);
    memset(dh, 0, (size_t)N * C * sizeof *dh);
    memset(dt, 0, (size_t)V * C * sizeof *dt);
    memset(db, 0, (size_t)V * sizeof *db);
    for (int i = 0; i < N; i++) {
        double m = -INFINITY, s = 0.0;
        for (int v = 0; v < V; v++) {
            l[v] = fd_dot(h + (size_t)i * C, E + (size_t)v * C, C) + (b ? b[v] : 0.0);
            m = l[v] > m ? l[v] : m;
        }
        for (int v = 0; v < V; v++) s += exp(l[v] - m);
        const double lse = m + log(s);
        total += lse - l[tg[i]];
        for (int v = 0; v < V; v++) {
            const double p = (exp(l[v] - lse) - (v == (int)tg[i])) * gs / N;
            db[v] += p;
            for (int c = 0; c < C; c++) {
                dh[(size_t)i * C + c] += p * E[(size_t)v * C + c];
                dt[(size_t)v * C + c] += p * h[(size_t)i * C + c];
            }
        }
    }
    free(l);
    return total / N;
}

static double maxabs(const double *x, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

static void check_shape(ce_fn f, const char *name, int N, int V, int C, float hscale, int threads,
                        int with_bias) {
    sq_nn_rng r;
    sq_nn_rng_seed(&r, (uint64_t)N * 131 + V * 7 + C);
    float *h = malloc((size_t)N * C * sizeof *h), *E = malloc((size_t)V * C * sizeof *E);
    uint32_t *tg = malloc((size_t)N * sizeof *tg);
    fd_fill(h, (size_t)N * C, &r, hscale);
    fd_fill(E, (size_t)V * C, &r, 1.0f);
    for (int i = 0; i < N; i++) tg[i] = sq_nn_rng_below(&r, (uint32_t)V);
    float *b = NULL;
    if (with_bias) {
        b = malloc((size_t)V * sizeof *b);
        fd_fill(b, (size_t)V, &r, 2.0f);
    }
    double *rdh = malloc((size_t)N * C * sizeof *rdh), *rdt = malloc((size_t)V * C * sizeof *rdt);
    double *rdb = malloc((size_t)V * sizeof *rdb);
    const float gs = 0.5f;
    const double rl = reference(rdh, rdt, rdb, h, E, b, tg, N, V, C, gs);
    float *dh[2], *dt[2], *db[2], *scratch = malloc(sq_nn_ce_scratch_size(V) * sizeof *scratch);
    double loss[2];
    omp_set_num_threads(threads);
    for (int k = 0; k < 2; k++) {
        dh[k] = malloc((size_t)N * C * sizeof **dh);
        dt[k] = malloc((size_t)V * C * sizeof **dt);
        db[k] = malloc((size_t)V * sizeof **db);
        for (size_t i = 0; i < (size_t)N * C; i++) dh[k][i] = 1.0f; /* accumulates */
        for (size_t i = 0; i < (size_t)V * C; i++) dt[k][i] = -1.0f;
        for (int v = 0; v < V; v++) db[k][v] = 0.5f;
        loss[k] = f(dh[k], dt[k], b ? db[k] : NULL, h, E, b, tg, N, V, C, gs, scratch,
                    k ? &kept : NULL);
        for (size_t i = 0; i < (size_t)N * C; i++) dh[k][i] -= 1.0f;
        for (size_t i = 0; i < (size_t)V * C; i++) dt[k][i] += 1.0f;
        for (int v = 0; v < V; v++) db[k][v] -= 0.5f;
    }
    /* the loss without a gradient is the same number */
    assert_true(f(NULL, NULL, NULL, h, E, b, tg, N, V, C, gs, scratch, &kept) == loss[0]);
    omp_set_num_threads(2);
    assert_true(isfinite(loss[0]));
    if (fabs(loss[0] - rl) > 1e-5 * fabs(rl) + 1e-5)
        fail_msg("%s N=%d V=%d C=%d: loss %.8f want %.8f", name, N, V, C, loss[0], rl);
    const double sh = maxabs(rdh, (size_t)N * C), st = maxabs(rdt, (size_t)V * C);
    double eh = 0.0, et = 0.0;
    for (size_t i = 0; i < (size_t)N * C; i++) eh = fmax(eh, fabs(dh[0][i] - rdh[i]));
    for (size_t i = 0; i < (size_t)V * C; i++) et = fmax(et, fabs(dt[0][i] - rdt[i]));
    if (b) {
        const double sb = maxabs(rdb, (size_t)V);
        double eb = 0.0;
        for (int v = 0; v < V; v++) eb = fmax(eb, fabs(db[0][v] - rdb[v]));
        if (eb > 1e-4 * sb + 2e-7)
            fail_msg("%s N=%d V=%d C=%d threads %d: dbias err %.3g (max %.3g)", name, N, V, C,
                     threads, eb, sb);
        assert_memory_equal(db[0], db[1], (size_t)V * sizeof **db);
    } else {
        for (int v = 0; v < V; v++) assert_true(db[0][v] == 0.0f); /* NULL dbias: untouched */
    }
    /* absolute floor for the (1.0 +- x) - 1.0 round trip of the accumulation check */
    if (eh > 1e-4 * sh + 2e-7 || et > 1e-4 * st + 2e-7)
        fail_msg("%s N=%d V=%d C=%d threads %d: dh err %.3g (max %.3g), dtable err %.3g (max %.3g)",
                 name, N, V, C, threads, eh, sh, et, st);
    /* reproducible, and the kept workspace changes nothing */
    assert_true(loss[0] == loss[1]);
    assert_memory_equal(dh[0], dh[1], (size_t)N * C * sizeof **dh);
    assert_memory_equal(dt[0], dt[1], (size_t)V * C * sizeof **dt);
    for (int k = 0; k < 2; k++) free(dh[k]), free(dt[k]), free(db[k]);
    free(h), free(E), free(b), free(tg), free(rdh), free(rdt), free(rdb), free(scratch);
}

static void shapes(ce_fn f, const char *name, int C) {
    const int NV[][2] = {{1, 1}, {3, 5}, {17, 129}, {40, 300}, {SQ_CE_ROWS + 37, 260}, {64, 1000}};
    for (size_t s = 0; s < sizeof NV / sizeof *NV; s++)
        for (int th = 1; th <= 2; th++)
            for (int bias = 0; bias <= 1; bias++)
                check_shape(f, name, NV[s][0], NV[s][1], C, 1.0f, th, bias);
    /* logits up to ~+-80: no overflow in exp, no NaN */
    check_shape(f, name, 33, 200, C, 10.0f / sqrtf((float)C) * 2.0f, 2, 1);
}

static void test_blas(void **st) {
    (void)st;
    shapes(sq__ce_full_blas, "blas", 3);
    shapes(sq__ce_full_blas, "blas", 16);
    sq_nn_ws_free(&kept);
}

typedef struct {
    int N, V, C;
    float *h, *E, *scratch;
    uint32_t *tg;
    float *b;
} fd_ctx;

static double fd_obj(void *p) {
    fd_ctx *c = p;
    return sq__ce_full_avx512(NULL, NULL, NULL, c->h, c->E, c->b, c->tg, c->N, c->V, c->C, 1.0f,
                              c->scratch, NULL);
}

static void test_avx512(void **st) {
    (void)st;
    if (!sq__ce_full_avx512_ok(16)) {
        printf("ce_full: no AVX-512 on this CPU, only the BLAS path is tested\n");
        assert_true(isnan(sq__ce_full_avx512(NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 16, 1.0f,
                                             NULL, NULL)));
        return;
    }
    assert_false(sq__ce_full_avx512_ok(24));
    shapes(sq__ce_full_avx512, "avx512", 16);
    shapes(sq__ce_full_avx512, "avx512", 64);
    check_shape(sq__ce_full_avx512, "avx512", 50, 140, 80, 1.0f, 2, 1); /* 64 + 16 lanes */
    sq_nn_ws_free(&kept);
    /* tiles go out in fixed groups: 1 and 2 threads give the same bits */
    {
        enum { N = 300, V = 5000, C = 32 };
        sq_nn_rng r;
        sq_nn_rng_seed(&r, 8);
        float *h = malloc(N * C * sizeof *h), *E = malloc(V * C * sizeof *E);
        float *s = malloc(sq_nn_ce_scratch_size(V) * sizeof *s), *b = malloc(V * sizeof *b);
        uint32_t *tg = malloc(N * sizeof *tg);
        fd_fill(h, N * C, &r, 1.0f);
        fd_fill(E, V * C, &r, 1.0f);
        fd_fill(b, V, &r, 1.0f);
        for (int i = 0; i < N; i++) tg[i] = sq_nn_rng_below(&r, V);
        float *dh[2], *dt[2], *db[2];
        double l[2];
        for (int k = 0; k < 2; k++) {
            dh[k] = calloc(N * C, sizeof **dh);
            dt[k] = calloc(V * C, sizeof **dt);
            db[k] = calloc(V, sizeof **db);
            omp_set_num_threads(k + 1);
            l[k] = sq__ce_full_avx512(dh[k], dt[k], db[k], h, E, b, tg, N, V, C, 1.0f, s, NULL);
        }
        omp_set_num_threads(2);
        assert_true(l[0] == l[1]);
        assert_memory_equal(dh[0], dh[1], N * C * sizeof **dh);
        assert_memory_equal(dt[0], dt[1], V * C * sizeof **dt);
        assert_memory_equal(db[0], db[1], V * sizeof **db);
        for (int k = 0; k < 2; k++) free(dh[k]), free(dt[k]), free(db[k]);
        free(h), free(E), free(b), free(s), free(tg);
    }
    /* finite differences, several tiles and a partial one */
    enum { N = 9, V = 140, C = 16 };
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 5);
    fd_ctx c = {N, V, C, malloc(N * C * sizeof(float)), malloc(V * C * sizeof(float)),
                malloc(sq_nn_ce_scratch_size(V) * sizeof(float)), malloc(N * sizeof(uint32_t)),
                malloc(V * sizeof(float))};
    fd_fill(c.h, N * C, &r, 1.0f);
    fd_fill(c.E, V * C, &r, 1.0f);
    fd_fill(c.b, V, &r, 1.0f);
    for (int i = 0; i < N; i++) c.tg[i] = sq_nn_rng_below(&r, V);
    float *dh = calloc(N * C, sizeof *dh), *dt = calloc(V * C, sizeof *dt);
    float *db = calloc(V, sizeof *db);
    sq__ce_full_avx512(dh, dt, db, c.h, c.E, c.b, c.tg, N, V, C, 1.0f, c.scratch, NULL);
    assert_true(fd_ok("ce_full avx512 dh", dh, c.h, N * C, fd_obj, &c));
    assert_true(fd_ok("ce_full avx512 dtable", dt, c.E, V * C, fd_obj, &c));
    assert_true(fd_ok("ce_full avx512 dbias", db, c.b, V, fd_obj, &c));
    free(dh), free(dt), free(db), free(c.h), free(c.E), free(c.b), free(c.scratch), free(c.tg);
}

int main(void) {
    sq_nn_init(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blas),
        cmocka_unit_test(test_avx512),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
