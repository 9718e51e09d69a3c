/* The server's catalogue scorer (src/serve/score.c) against the naive reference: the int8
 * pass stays within its error bound on every instruction set, and the rescored top-k is
 * the exact fp32 top-k (same items, same order, same scores), also with near-ties,
 * duplicate items, zero rows, excluded items, k larger than what is left. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "serve/internal.h"

static uint64_t rng = 88172645463325252ull;
static float urand(void) { /* xorshift64 -> [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

/* with_bias: a per-item output bias (bert4rec's head) that can reorder the top-k */
static void check_case(int V, int C, int n, int k, int isa, int ties, int with_bias) {
    float *E = malloc((size_t)V * C * sizeof *E), *rep = malloc((size_t)n * C * sizeof *rep);
    assert_non_null(E);
    assert_non_null(rep);
    for (int v = 0; v < V; v++)
        for (int c = 0; c < C; c++) E[(size_t)v * C + c] = urand() * (v % 5 == 0 ? 3.0f : 0.3f);
    if (ties) /* blocks of identical items and a zero row: ties must go to the lower id */
        for (int v = 1; v < V; v++)
            if (v % 7 != 0) memcpy(E + (size_t)v * C, E + (size_t)(v - v % 7) * C, C * sizeof *E);
    memset(E + (size_t)(V / 2) * C, 0, C * sizeof *E);
    for (int i = 0; i < n * C; i++) rep[i] = urand() * 2.0f;
    float *bias = NULL;
    if (with_bias) {
        bias = malloc((size_t)V * sizeof *bias);
        for (int v = 0; v < V; v++) bias[v] = urand() * 4.0f;
    }
    sq__scorer s;
    sq_error err = {0};
    assert_int_equal(sq__scorer_init(&s, E, bias, V, C, &err), SQ_OK);
    if (isa > s.isa) { /* this CPU cannot run that path */
        sq__scorer_free(&s);
        free(bias);
        free(E);
        free(rep);
        return;
    }
    s.isa = isa; /* the vnni layout exists only when the CPU has it: isa <= the detected one */
    size_t ld = (size_t)s.nblk * 16;
    float *approx = malloc((size_t)n * ld * sizeof *approx), *exact = malloc((size_t)V * sizeof *exact);
    uint32_t *it = malloc((size_t)k * sizeof *it), *it_ref = malloc((size_t)k * sizeof *it_ref);
    float *sc = malloc((size_t)k * sizeof *sc), *sc_ref = malloc((size_t)k * sizeof *sc_ref);
    sq__scorer_approx(&s, rep, n, approx, ld);
    for (int i = 0; i < n; i++) {
        const float *r = rep + (size_t)i * C;
        float *a = approx + (size_t)i * ld, l1 = 0.0f;
        for (int c = 0; c < C; c++) l1 += fabsf(r[c]);
        for (int v = 0; v < V; v++) {
            exact[v] = sq__scorer_exact(&s, r, (uint32_t)v);
            double naive = bias ? bias[v] : 0.0;
            for (int c = 0; c < C; c++) naive += (double)r[c] * E[(size_t)v * C + c];
            assert_true(fabs(exact[v] - naive) <= 1e-4 * (1.0 + fabs(naive)));
            float mx = 0.0f;
            for (int c = 0; c < C; c++) mx = fmaxf(mx, fabsf(r[c]));
            float bound = s.scale[v] * l1 * 0.5f * 1.02f + 1e-6f;
            if (isa == 3) bound += s.qabs[v] * (mx / 127.0f) * 0.5f * 1.02f; /* h quantised too */
            assert_true(fabsf(a[v] - exact[v]) <= bound);
        }
        /* exclude a few items, as exclude_seen does */
        for (int v = i; v < V; v += 11) a[v] = exact[v] = -INFINITY;
        int got = sq__scorer_topk(&s, r, a, k, it, sc, NULL);
        int want = sq__topk(exact, V, k, it_ref, sc_ref);
        assert_int_equal(got, want);
        for (int j = 0; j < got; j++) {
            assert_int_equal(it[j], it_ref[j]);
            assert_true(sc[j] == sc_ref[j]);
            if (j) assert_true(sc[j - 1] > sc[j] || (sc[j - 1] == sc[j] && it[j - 1] < it[j]));
        }
    }
    free(approx);
    free(exact);
    free(it);
    free(it_ref);
    free(sc);
    free(sc_ref);
    sq__scorer_free(&s);
    free(bias);
    free(E);
    free(rep);
}

static void test_every_isa(void **state) {
    (void)state;
    for (int isa = 0; isa <= 3; isa++) {
        check_case(1000, 64, 7, 10, isa, 0, 0); /* 1000 = 62 blocks + 8 padding items */
        check_case(333, 24, 5, 50, isa, 1, 0);  /* ties, odd dim */
        check_case(40, 8, 3, 100, isa, 0, 0);   /* k beyond the items left */
        check_case(5000, 64, 1, 1, isa, 1, 0);
        check_case(1000, 64, 7, 10, isa, 0, 1); /* with an output bias */
        check_case(333, 24, 5, 50, isa, 1, 1);
    }
}

static void test_topk_reference(void **state) {
    (void)state;
    float s[8] = {1.0f, 3.0f, -INFINITY, 3.0f, NAN, 2.0f, 0.5f, 3.0f};
    uint32_t it[10];
    float sc[10];
    assert_int_equal(sq__topk(s, 8, 5, it, sc), 5);
    uint32_t want[5] = {1, 3, 7, 5, 0};
    for (int i = 0; i < 5; i++) assert_int_equal(it[i], want[i]);
    assert_int_equal(sq__topk(s, 8, 10, it, sc), 6); /* -inf and NaN are never returned */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_isa),
        cmocka_unit_test(test_topk_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
