/* Finite-difference checks of the output losses: full softmax cross-entropy (more rows than
 * one internal chunk), sampled softmax and BCE with negatives (repeated items), against
 * values computed directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_check.h"

enum { N = 131, V = 9, C = 3, K = 3 };

typedef struct {
    float h[N * C], table[V * C];
    uint32_t target[N], neg[N * K];
    int kind; /* 0 full CE, 1 sampled softmax, 2 BCE */
    float *scratch;
} lo_ctx;

static double lo_obj(void *p) {
    lo_ctx *c = p;
    if (c->kind == 0)
        return sq_nn_ce_full(NULL, NULL, c->h, c->table, c->target, N, V, C, 1.0f, c->scratch, NULL);
    if (c->kind == 1)
        return sq_nn_sampled_softmax(NULL, NULL, c->h, c->table, c->target, c->neg, N, K, C, 1.0f);
    return sq_nn_bce_neg(NULL, NULL, c->h, c->table, c->target, c->neg, N, K, C, 1.0f);
}

static double direct(const lo_ctx *c) {
    double total = 0.0;
    for (int i = 0; i < N; i++) {
        double lg[V];
        for (int v = 0; v < V; v++) lg[v] = fd_dot(c->h + i * C, c->table + v * C, C);
        if (c->kind == 0) {
            double s = 0.0;
            for (int v = 0; v < V; v++) s += exp(lg[v]);
            total += log(s) - lg[c->target[i]];
        } else if (c->kind == 1) {
            double s = exp(lg[c->target[i]]);
            for (int j = 0; j < K; j++) s += exp(lg[c->neg[i * K + j]]);
            total += log(s) - lg[c->target[i]];
        } else {
            total += log1p(exp(-lg[c->target[i]]));
            for (int j = 0; j < K; j++) total += log1p(exp(lg[c->neg[i * K + j]]));
        }
    }
    return total / N;
}

static void check(int kind) {
    static const char *names[] = {"ce_full", "sampled_softmax", "bce_neg"};
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 6);
    lo_ctx c = {.kind = kind};
    c.scratch = malloc(sq_nn_ce_scratch_size(V) * sizeof(float));
    fd_fill(c.h, N * C, &r, 1.0f);
    fd_fill(c.table, V * C, &r, 1.0f);
    for (int i = 0; i < N; i++) {
        c.target[i] = sq_nn_rng_below(&r, V);
        for (int j = 0; j < K; j++) c.neg[i * K + j] = sq_nn_rng_below(&r, V);
    }
    double l = lo_obj(&c);
    assert_true(fabs(l - direct(&c)) < 1e-5 * fabs(l) + 1e-6);
    float dh[N * C], dt[V * C];
    for (int i = 0; i < N * C; i++) dh[i] = 1.0f; /* accumulates */
    memset(dt, 0, sizeof dt);
    double l2 = 0.0;
    if (kind == 0) l2 = sq_nn_ce_full(dh, dt, c.h, c.table, c.target, N, V, C, 1.0f, c.scratch, NULL);
    else if (kind == 1)
        l2 = sq_nn_sampled_softmax(dh, dt, c.h, c.table, c.target, c.neg, N, K, C, 1.0f);
    else l2 = sq_nn_bce_neg(dh, dt, c.h, c.table, c.target, c.neg, N, K, C, 1.0f);
    assert_true(fabs(l2 - l) < 1e-12);
    for (int i = 0; i < N * C; i++) dh[i] -= 1.0f;
    char name[64];
    snprintf(name, sizeof name, "%s dh", names[kind]);
    assert_true(fd_ok(name, dh, c.h, N * C, lo_obj, &c));
    snprintf(name, sizeof name, "%s dtable", names[kind]);
    assert_true(fd_ok(name, dt, c.table, V * C, lo_obj, &c));
    free(c.scratch);
}

static void test_ce_full(void **s) { (void)s; check(0); }
static void test_sampled_softmax(void **s) { (void)s; check(1); }
static void test_bce(void **s) { (void)s; check(2); }

int main(void) {
    sq_nn_init(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ce_full),
        cmocka_unit_test(test_sampled_softmax),
        cmocka_unit_test(test_bce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
