/* BPR-max over shared candidates: finite differences (with and without the ELU, with and
 * without the score regulariser) and the PyTorch twin's loss and gradients
 * (tests/reference/bprmax_twin.py, float64, committed in tests/fixtures/bprmax/); a
 * workspace kept across calls and thread counts gives the bits of a fresh one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <omp.h>

#include "nn_check.h"
#include "fixture_check.h"
#include "shopseq/safetensors.h"

enum { N = 6, C = 4, V = 11 };

typedef struct {
    float h[N * C], table[V * C];
    uint32_t cand[N + 8], target[N];
    int col[N], K;
    float bpreg, elu;
    float *scratch;
} ctx;

static double obj(void *p) {
    ctx *c = p;
    return sq_nn_bprmax_shared(NULL, NULL, c->h, c->table, c->cand, c->K, c->col, N, C, c->bpreg,
                               c->elu, 1.0f, c->scratch, NULL);
}

static void fd_case(float bpreg, float elu, uint64_t seed) {
    sq_nn_rng r;
    sq_nn_rng_seed(&r, seed);
    ctx c = {.target = {3, 7, 3, 0, 10, 5}, .bpreg = bpreg, .elu = elu};
    fd_fill(c.h, N * C, &r, 1.0f);
    fd_fill(c.table, V * C, &r, 1.0f);
    c.K = sq_nn_shared_candidates(c.cand, c.col, c.target, N, 8, V, seed + 1);
    c.scratch = calloc(sq_nn_ce_shared_scratch_size(N, N + 8, C), sizeof(float));
    float dh[N * C] = {0}, dt[V * C] = {0};
    double l = sq_nn_bprmax_shared(dh, dt, c.h, c.table, c.cand, c.K, c.col, N, C, bpreg, elu,
                                   1.0f, c.scratch, NULL);
    assert_true(isfinite(l) && l > 0.0);
    fprintf(stderr, "bpreg %g elu %g:\n", (double)bpreg, (double)elu);
    assert_true(fd_ok("bpr-max dh", dh, c.h, N * C, obj, &c));
    assert_true(fd_ok("bpr-max dtable", dt, c.table, V * C, obj, &c));
    free(c.scratch);
}

static void test_fd(void **s) {
    (void)s;
    fd_case(0.0f, 0.0f, 31);
    fd_case(1.0f, 0.0f, 32);
    fd_case(1.95f, 0.5f, 33);
}

/* a single candidate leaves no negative: loss 0, no gradient */
static void test_no_negative(void **s) {
    (void)s;
    float h[2 * C] = {1, 2, 3, 4, -1, 0, 1, 0}, table[3 * C] = {0}, dh[2 * C] = {0},
          dt[3 * C] = {0}, scratch[64];
    for (int i = 0; i < 3 * C; i++) table[i] = 0.1f * (float)i;
    uint32_t cand[1] = {2};
    int col[2] = {0, 0};
    double l = sq_nn_bprmax_shared(dh, dt, h, table, cand, 1, col, 2, C, 1.0f, 0.5f, 1.0f, scratch, NULL);
    assert_true(l == 0.0);
    for (int i = 0; i < 2 * C; i++) assert_true(dh[i] == 0.0f);
    for (int i = 0; i < 3 * C; i++) assert_true(dt[i] == 0.0f);
}

/* max |a - ref| / max(max |ref|, 1e-6) against an F64 fixture tensor */
static double rel_err(const float *a, const sq_st_tensor *ref) {
    double *r = fixture_f64_copy(ref);
    const double e = fixture_rel_err(a, r, ref->nbytes / sizeof(double));
    free(r);
    return e;
}

static void twin_case(const char *name) {
    char path[4096];
    const char *src = getenv("SQ_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/fixtures/bprmax/%s.safetensors", src ? src : ".", name);
    sq_st_file f;
    sq_error err = {0};
    if (sq_st_read(&f, path, &err) != SQ_OK) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(err.status, SQ_OK);
    const sq_st_tensor *th = fixture_need(&f, "h", "F32"), *tt = fixture_need(&f, "table", "F32"),
                       *tc = fixture_need(&f, "cand", "I32"), *tcol = fixture_need(&f, "target_col", "I32");
    const int n = (int)th->shape[0], c = (int)th->shape[1], v = (int)tt->shape[0],
              K = (int)tc->shape[0];
    assert_int_equal(tt->shape[1], c);
    assert_int_equal(tcol->shape[0], n);
    float *h = malloc(th->nbytes), *table = malloc(tt->nbytes);
    uint32_t *cand = malloc((size_t)K * sizeof *cand);
    int *col = malloc((size_t)n * sizeof *col);
    memcpy(h, th->data, th->nbytes);
    memcpy(table, tt->data, tt->nbytes);
    memcpy(cand, tc->data, tc->nbytes); /* ids are small and non-negative */
    memcpy(col, tcol->data, tcol->nbytes);
    float *dh = calloc((size_t)n * c, sizeof *dh), *dt = calloc((size_t)v * c, sizeof *dt);
    float *scratch = calloc(sq_nn_ce_shared_scratch_size(n, K, c), sizeof(float));
    const float bpreg = (float)atof(sq_st_meta(&f, "bpreg")), elu = (float)atof(sq_st_meta(&f, "elu"));
    double l = sq_nn_bprmax_shared(dh, dt, h, table, cand, K, col, n, c, bpreg, elu, 1.0f, scratch,
                                   NULL);
    double want;
    memcpy(&want, fixture_need(&f, "loss", "F64")->data, sizeof want);
    double el = fabs(l - want) / fmax(fabs(want), 1e-6), edh = rel_err(dh, fixture_need(&f, "dh", "F64")),
           edt = rel_err(dt, fixture_need(&f, "dtable", "F64"));
    fprintf(stderr, "%s: loss %.6f (torch %.6f) rel err loss %.1e dh %.1e dtable %.1e\n", name, l,
            want, el, edh, edt);
    assert_true(el < 1e-5);
    assert_true(edh < 1e-4);
    assert_true(edt < 1e-4);
    /* a kept workspace: on 2 threads (it grows), then 1 and 3 (it is reused), the same bits */
    sq_nn_ws ws = {0};
    float *dh2 = malloc((size_t)n * c * sizeof *dh2), *dt2 = malloc((size_t)v * c * sizeof *dt2);
    const int threads[] = {2, 1, 3};
    for (int k = 0; k < 3; k++) {
        omp_set_num_threads(threads[k]);
        memset(dh2, 0, (size_t)n * c * sizeof *dh2);
        memset(dt2, 0, (size_t)v * c * sizeof *dt2);
        const double l2 = sq_nn_bprmax_shared(dh2, dt2, h, table, cand, K, col, n, c, bpreg, elu,
                                              1.0f, scratch, &ws);
        assert_true(l2 == l);
        assert_memory_equal(dh2, dh, (size_t)n * c * sizeof *dh);
        assert_memory_equal(dt2, dt, (size_t)v * c * sizeof *dt);
    }
    omp_set_num_threads(2);
    sq_nn_ws_free(&ws);
    free(dh2), free(dt2);
    free(h), free(table), free(cand), free(col), free(dh), free(dt), free(scratch);
    sq_st_free(&f);
}

static void test_twin(void **s) {
    (void)s;
    twin_case("elu05_reg1");
    twin_case("noelu_reg02");
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fd), cmocka_unit_test(test_no_negative),
                                       cmocka_unit_test(test_twin)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
