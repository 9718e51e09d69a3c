/* Finite-difference checks of multi-head self-attention over packed sequences: causal
 * (blocked, longer than one block) and bidirectional, with and without dropout; causality
 * and isolation between packed sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_check.h"

enum { NSEQ = 3, C = 4, H = 2, N = 1 + 5 + 37 };
static const int seq_off[NSEQ + 1] = {0, 1, 6, N};

typedef struct {
    float q[N * C], k[N * C], v[N * C], R[N * C], out[N * C];
    float *att, *att_drop;
    int causal;
    float p;
} at_ctx;

static double at_obj(void *vp) {
    at_ctx *c = vp;
    sq_nn_attention_forward(c->out, c->att, c->att_drop, c->q, c->k, c->v, seq_off, NSEQ, C, H,
                            c->causal, c->p, 1234);
    return fd_dot(c->out, c->R, N * C);
}

static void check(int causal, float p) {
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 5);
    at_ctx c = {.causal = causal, .p = p};
    size_t cs = sq_nn_attention_cache_size(seq_off, NSEQ, H);
    assert_int_equal(cs, (size_t)H * (1 + 25 + 37 * 37));
    c.att = calloc(cs, sizeof(float));
    c.att_drop = calloc(cs, sizeof(float));
    fd_fill(c.q, N * C, &r, 1.5f);
    fd_fill(c.k, N * C, &r, 1.5f);
    fd_fill(c.v, N * C, &r, 1.0f);
    fd_fill(c.R, N * C, &r, 1.0f);
    float dq[N * C], dk[N * C], dv[N * C];
    memset(dk, 0x7f, sizeof dk); /* overwritten, not accumulated */
    float *scratch = calloc((size_t)sq_nn_threads() * sq_nn_attention_scratch_size(37), 4);
    at_obj(&c);
    sq_nn_attention_backward(dq, dk, dv, c.R, c.att, c.att_drop, c.q, c.k, c.v, seq_off, NSEQ, C,
                             H, causal, p, 1234, scratch);
    char name[64];
    snprintf(name, sizeof name, "attn %s p=%.1f dq", causal ? "causal" : "bidir", p);
    assert_true(fd_ok(name, dq, c.q, N * C, at_obj, &c));
    name[strlen(name) - 1] = 'k';
    assert_true(fd_ok(name, dk, c.k, N * C, at_obj, &c));
    name[strlen(name) - 1] = 'v';
    assert_true(fd_ok(name, dv, c.v, N * C, at_obj, &c));

    /* structure: perturbing key/value row j of sequence 2 changes output row i only if
     * i is in the same sequence and (bidirectional or i >= j) */
    float base[N * C];
    at_obj(&c);
    memcpy(base, c.out, sizeof base);
    const int j = 6 + 20;
    c.v[j * C] += 1.0f;
    c.k[j * C + 1] += 1.0f;
    at_obj(&c);
    for (int i = 0; i < N; i++) {
        int changed = 0;
        for (int d = 0; d < C; d++) changed |= c.out[i * C + d] != base[i * C + d];
        int expect = i >= 6 && (!causal || i >= j);
        if (p == 0.0f) assert_int_equal(changed, expect);
        else if (!expect) assert_int_equal(changed, 0);
    }
    free(scratch);
    free(c.att);
    free(c.att_drop);
}

static void test_causal(void **s) { (void)s; check(1, 0.0f); }
static void test_causal_dropout(void **s) { (void)s; check(1, 0.3f); }
static void test_bidirectional(void **s) { (void)s; check(0, 0.0f); }
static void test_bidirectional_dropout(void **s) { (void)s; check(0, 0.3f); }

int main(void) {
    sq_nn_init(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_causal),
        cmocka_unit_test(test_causal_dropout),
        cmocka_unit_test(test_bidirectional),
        cmocka_unit_test(test_bidirectional_dropout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
