/* The BERT4Rec encoder API for fine-tuning (include/shopseq/bert4rec.h): packed sequences do
 * not see each other, and sq_bert4rec_encoder_backward is the gradient of a downstream loss
 * (finite differences on the position and item embeddings and the first block's FFN). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_check.h"
#include "shopseq/bert4rec.h"

enum { V = 9, C = 8, NSEQ = 2, N = 7 };
#ifndef SCALE
#define SCALE 0.5f
#endif
static const int seq_off[NSEQ + 1] = {0, 4, N};
static const uint32_t tok[N] = {1, 2, 3, V, 4, 5, V};
static const int pos[N] = {2, 3, 4, 5, 3, 4, 5};
static float R[N * C];

static double obj(void *p) {
    sq_model *m = p;
    const float *h = sq_bert4rec_encode(m, NSEQ, seq_off, tok, pos, NULL, NULL, 0, 0);
    return fd_dot(h, R, N * C);
}

static void test_encoder(void **s) {
    (void)s;
    sq_model_config c;
    sq_model_config_default(&c);
    c.n_items = V;
    sq_error err = {0};
    assert_int_equal(sq_model_config_preset(&c, "bert4rec", &err), SQ_OK);
    c.dim = C;
    c.heads = 2;
    c.blocks = 2;
    c.maxlen = 5;
    c.batch = 2;
    c.dropout = 0.0f;
    c.ln_eps = 1e-5f;
    sq_model *m;
    assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
    assert_int_equal(sq_bert4rec_mask_token(m), V);
    /* larger random weights than the init, so that every path carries gradient */
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 7);
    for (int i = 0; i < m->params.n; i++) {
        const sq_nn_tensor *t = &m->params.t[i];
        float *w = m->params.data + t->offset;
        for (size_t j = 0; j < t->numel; j++) w[j] += SCALE * (2.0f * sq_nn_rng_uniform(&r) - 1.0f);
    }
    fd_fill(R, N * C, &r, 1.0f);
    /* isolation: the second sequence alone gives the same rows */
    const float *h = sq_bert4rec_encode(m, NSEQ, seq_off, tok, pos, NULL, NULL, 0, 0);
    float both[N * C];
    memcpy(both, h, sizeof both);
    const int off1[2] = {0, 3};
    h = sq_bert4rec_encode(m, 1, off1, tok + 4, pos + 4, NULL, NULL, 0, 0);
    for (int i = 0; i < 3 * C; i++) assert_true(fabsf(h[i] - both[4 * C + i]) < 1e-6f);
    /* gradient of sum(h * R) */
    sq_nn_params_zero_grad(&m->params);
    sq_bert4rec_encode(m, NSEQ, seq_off, tok, pos, NULL, NULL, 1, 0);
    sq_bert4rec_encoder_backward(m, R);
    const char *names[] = {"pos_emb.weight", "item_emb.weight", "blocks.0.ffn.w1.bias",
                           "blocks.1.attn.in_proj_bias", "emb_ln.weight"};
    for (int k = 0; k < 5; k++) {
        int i = sq_nn_params_find(&m->params, names[k]);
        assert_true(i >= 0);
        assert_true(fd_ok(names[k], sq_nn_pgrad(&m->params, i), sq_nn_param(&m->params, i),
                          m->params.t[i].numel, obj, m));
    }
    sq_model_free(m);
}

int main(void) {
    sq_nn_init(0);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_encoder)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
