/* The MLP task head (include/shopseq/head.h): finite differences of the weighted BCE and
 * the weighted softmax CE through the head, for every parameter and for the representation
 * input (what flows back into the encoder), with and without dropout; the losses against
 * hand values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_check.h"
#include "shopseq/head.h"

enum { NR = 6, REP = 5, FEAT = 3, HID = 7, K = 4 };

typedef struct {
    sq_mlp_head h;
    float rep[NR * REP], feat[NR * FEAT];
    uint8_t yb[NR];
    int yk[NR];
    int softmax;
    float drop, cw[K];
} ctx;

static double obj(void *p) {
    ctx *c = p;
    /* with dropout: the training forward with a fixed stream, a smooth function */
    const float *z = sq_mlp_head_forward(&c->h, c->rep, c->feat, NR, c->drop > 0.0f, 99);
    return c->softmax ? sq_head_softmax_ce(z, c->yk, NR, K, c->cw, NULL)
                      : sq_head_bce(z, c->yb, NR, 3.0f, 0.5f, NULL);
}

static void check(int softmax, float drop) {
    ctx c = {.softmax = softmax, .drop = drop};
    sq_error err = {0};
    assert_int_equal(sq_mlp_head_init(&c.h, REP, FEAT, HID, softmax ? K : 1, drop, NR, 3, &err),
                     SQ_OK);
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 17);
    fd_fill(c.rep, NR * REP, &r, 1.0f);
    fd_fill(c.feat, NR * FEAT, &r, 1.0f);
    for (int i = 0; i < NR; i++) c.yb[i] = (uint8_t)(i % 3 == 0), c.yk[i] = i % K;
    for (int k = 0; k < K; k++) c.cw[k] = 0.5f + (float)k;
    /* bigger weights than the init, so that most relu units are active somewhere */
    for (size_t j = 0; j < c.h.params.total; j++) c.h.params.data[j] *= 2.0f;
    sq_nn_params_zero_grad(&c.h.params);
    const float *z = sq_mlp_head_forward(&c.h, c.rep, c.feat, NR, 1, 99);
    float dz[NR * K], drep[NR * REP];
    if (softmax) sq_head_softmax_ce(z, c.yk, NR, K, c.cw, dz);
    else sq_head_bce(z, c.yb, NR, 3.0f, 0.5f, dz);
    sq_mlp_head_backward(&c.h, dz, drep);
    const char *names[] = {"head.w1.weight", "head.w1.bias", "head.w2.weight", "head.w2.bias"};
    for (int k = 0; k < 4; k++) {
        int i = sq_nn_params_find(&c.h.params, names[k]);
        assert_true(i >= 0);
        assert_true(fd_ok(names[k], sq_nn_pgrad(&c.h.params, i), sq_nn_param(&c.h.params, i),
                          c.h.params.t[i].numel, obj, &c));
    }
    assert_true(fd_ok("rep", drep, c.rep, NR * REP, obj, &c));
    sq_mlp_head_free(&c.h);
}

static void test_binary(void **s) { (void)s; check(0, 0.0f); }
static void test_softmax(void **s) { (void)s; check(1, 0.0f); }

static void test_loss_values(void **s) {
    (void)s;
    /* logits 0 and 2, labels 1 and 0, weights 2 (pos) and 1 (neg):
     * (2 log 2 + log(1 + e^2)) / 3 */
    const float z[2] = {0.0f, 2.0f};
    const uint8_t y[2] = {1, 0};
    double want = (2.0 * log(2.0) + log1p(exp(2.0))) / 3.0;
    assert_true(fabs(sq_head_bce(z, y, 2, 2.0f, 1.0f, NULL) - want) < 1e-9);
    /* extreme logits stay finite */
    const float big[2] = {-200.0f, 200.0f};
    assert_true(isfinite(sq_head_bce(big, y, 2, 1.0f, 1.0f, NULL)));
    /* softmax over {0, log 3}: class 1 has probability 3/4 */
    const float zk[2] = {0.0f, (float)log(3.0)};
    const int yk[1] = {1};
    assert_true(fabs(sq_head_softmax_ce(zk, yk, 1, 2, NULL, NULL) - log(4.0 / 3.0)) < 1e-6);
}

static void test_dropout(void **s) {
    (void)s;
    check(0, 0.5f); /* backward regenerates the forward's mask */
    sq_mlp_head_free(NULL);
}

int main(void) {
    sq_nn_init(1); /* tiny shapes: threads only add synchronisation on a shared machine */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary), cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_loss_values), cmocka_unit_test(test_dropout)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
