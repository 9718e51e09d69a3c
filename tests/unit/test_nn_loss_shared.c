/* The shared-candidate softmax: finite differences, equality with the full softmax when
 * every item is a candidate, and the candidate builder (targets kept, sorted, distinct). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_check.h"

enum { N = 6, C = 4, V = 11 };

typedef struct {
    float h[N * C], table[V * C];
    uint32_t cand[N + 8], target[N];
    int col[N], K;
    float *scratch;
} ctx;

static double obj(void *p) {
    ctx *c = p;
    return sq_nn_ce_shared(NULL, NULL, c->h, c->table, c->cand, c->K, c->col, N, C, 1.0f,
                           c->scratch);
}

static void test_shared(void **s) {
    (void)s;
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 31);
    ctx c = {.target = {3, 7, 3, 0, 10, 5}};
    fd_fill(c.h, N * C, &r, 1.0f);
    fd_fill(c.table, V * C, &r, 1.0f);
    c.K = sq_nn_shared_candidates(c.cand, c.col, c.target, N, 8, V, 99);
    assert_true(c.K <= N + 8 && c.K >= 5);
    for (int k = 1; k < c.K; k++) assert_true(c.cand[k - 1] < c.cand[k]);
    for (int i = 0; i < N; i++) assert_int_equal(c.cand[c.col[i]], c.target[i]);
    c.scratch = calloc(sq_nn_ce_shared_scratch_size(N, N + 8, C), sizeof(float));
    float dh[N * C] = {0}, dt[V * C] = {0};
    sq_nn_ce_shared(dh, dt, c.h, c.table, c.cand, c.K, c.col, N, C, 1.0f, c.scratch);
    assert_true(fd_ok("shared softmax dh", dh, c.h, N * C, obj, &c));
    assert_true(fd_ok("shared softmax dtable", dt, c.table, V * C, obj, &c));
    /* every item a candidate = the full softmax */
    c.K = V;
    for (int k = 0; k < V; k++) c.cand[k] = (uint32_t)k;
    for (int i = 0; i < N; i++) c.col[i] = (int)c.target[i];
    float *full_scratch = calloc(sq_nn_ce_scratch_size(V), sizeof(float));
    free(c.scratch);
    c.scratch = calloc(sq_nn_ce_shared_scratch_size(N, V, C), sizeof(float));
    float dh1[N * C] = {0}, dt1[V * C] = {0}, dh2[N * C] = {0}, dt2[V * C] = {0};
    double l1 = sq_nn_ce_shared(dh1, dt1, c.h, c.table, c.cand, V, c.col, N, C, 1.0f, c.scratch);
    double l2 = sq_nn_ce_full(dh2, dt2, c.h, c.table, c.target, N, V, C, 1.0f, full_scratch, NULL);
    assert_true(fabs(l1 - l2) < 1e-6);
    for (int i = 0; i < N * C; i++) assert_true(fabsf(dh1[i] - dh2[i]) < 1e-6f);
    for (int i = 0; i < V * C; i++) assert_true(fabsf(dt1[i] - dt2[i]) < 1e-6f);
    free(full_scratch);
    free(c.scratch);
}

/* logQ: finite differences with a per-column correction; a correction equal for every
 * column changes nothing; lowering the target's column raises the loss */
static const float *logq_cols;
static double obj_logq(void *p) {
    ctx *c = p;
    return sq_nn_ce_shared_logq(NULL, NULL, c->h, c->table, c->cand, c->K, c->col, N, C,
                                logq_cols, 1.0f, c->scratch);
}

static void test_logq(void **s) {
    (void)s;
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 41);
    ctx c = {.target = {3, 7, 3, 0, 10, 5}};
    fd_fill(c.h, N * C, &r, 1.0f);
    fd_fill(c.table, V * C, &r, 1.0f);
    c.K = sq_nn_shared_candidates(c.cand, c.col, c.target, N, 8, V, 7);
    c.scratch = calloc(sq_nn_ce_shared_scratch_size(N, N + 8, C), sizeof(float));
    float q[N + 8], same[N + 8];
    fd_fill(q, (size_t)c.K, &r, 2.0f);
    for (int k = 0; k < c.K; k++) same[k] = 1.5f;
    logq_cols = q;
    float dh[N * C] = {0}, dt[V * C] = {0};
    sq_nn_ce_shared_logq(dh, dt, c.h, c.table, c.cand, c.K, c.col, N, C, q, 1.0f, c.scratch);
    assert_true(fd_ok("logq softmax dh", dh, c.h, N * C, obj_logq, &c));
    assert_true(fd_ok("logq softmax dtable", dt, c.table, V * C, obj_logq, &c));
    const double plain = obj(&c);
    logq_cols = same;
    assert_true(fabs(obj_logq(&c) - plain) < 1e-5);
    for (int k = 0; k < c.K; k++) same[k] = 0.0f;
    same[c.col[0]] = 1.0f;
    assert_true(obj_logq(&c) > plain);
    free(c.scratch);
}

int main(void) {
    sq_nn_init(0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_shared), cmocka_unit_test(test_logq)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
