/* The encoder op of every neural model (model.h encode / encode_backward), which the task
 * heads of `shopseq predict` sit on:
 * - score == encode . E^T, with E the table the model declares as its output table
 *   (sq_model_output_table: item_emb; caser's out_emb; bert4rec's first n_items rows, plus
 *   its output bias, sq_model_output_bias), so
 *   rep is exactly the scoring representation and the service's fast scorer and the item
 *   task read the right table; the baselines declare none;
 * - encode_backward is the gradient of J = sum(rep * R) for every parameter tensor, by finite
 *   differences (training mode, dropout 0);
 * - encode leaves no state that changes the next score (sequences are independent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_check.h"
#include "shopseq/model.h"

enum { V = 9, C = 8, NSEQ = 3, N = 8, MAXLEN = 6 };
static const int seq_off[NSEQ + 1] = {0, 4, 5, N};
static const uint32_t item[N] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t beh[N] = {0, 1, 2, 0, 3, 0, 1, 0};
static int pos[N];
static float R[NSEQ * C];

typedef struct {
    sq_model *m;
    sq_batch b;
    float rep[NSEQ * C];
} ctx;

static double obj(void *p) {
    ctx *c = p;
    sq_model_encode(c->m, &c->b, 0, c->rep);
    return fd_dot(c->rep, R, NSEQ * C);
}

static sq_model *make(const char *name, float scale) {
    sq_model_config c;
    sq_model_config_default(&c);
    c.n_items = V;
    sq_error err = {0};
    assert_int_equal(sq_model_config_preset(&c, name, &err), SQ_OK);
    c.dim = C;
    c.heads = 2;
    c.blocks = 2;
    c.maxlen = MAXLEN;
    c.batch = NSEQ;
    c.dropout = 0.0f;
    c.ln_eps = 1e-5f;
    c.use_behavior = 1;
    c.window = 3;
    c.filters_h = 2;
    c.filters_v = 2;
    c.seed = 5;
    sq_model *m;
    assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
    /* larger random weights than the inits, so that every path carries gradient (0.2 for
     * bert4rec: measured, its [mask] embedding row's central differences need 0.15-0.3) */
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 11);
    for (int i = 0; i < m->params.n; i++) {
        const sq_nn_tensor *t = &m->params.t[i];
        float *w = m->params.data + t->offset;
        for (size_t j = 0; j < t->numel; j++) w[j] += scale * (2.0f * sq_nn_rng_uniform(&r) - 1.0f);
    }
    return m;
}

static void check_model(const char *name, const char *table, float scale) {
    fprintf(stderr, "%s\n", name);
    ctx c = {.m = make(name, scale)};
    sq_model *m = c.m;
    assert_true(sq_model_can_encode(m));
    for (int s = 0; s < NSEQ; s++)
        for (int r = seq_off[s]; r < seq_off[s + 1]; r++)
            pos[r] = MAXLEN - (seq_off[s + 1] - seq_off[s]) + (r - seq_off[s]);
    c.b = (sq_batch){.n_seq = NSEQ, .seq_off = seq_off, .item = item, .behavior = beh, .pos = pos,
                     .seed = 3};
    /* score == rep . E^T (+ the output bias) */
    float scores[NSEQ * V], rep[NSEQ * C];
    sq_model_score(m, &c.b, scores);
    sq_model_encode(m, &c.b, 0, rep);
    int ti = sq_model_output_table(m);
    assert_true(ti >= 0);
    assert_int_equal(ti, sq_nn_params_find(&m->params, table));
    const float *E = sq_nn_param(&m->params, ti);
    /* bert4rec's masked-LM head adds its per-item output bias (the preset has it) */
    const int ib = sq_model_output_bias(m);
    assert_true(strcmp(name, "bert4rec") == 0 ? ib >= 0 : ib < 0);
    const float *ob = ib >= 0 ? sq_nn_param(&m->params, ib) : NULL;
    double maxd = 0.0;
    for (int s = 0; s < NSEQ; s++)
        for (int v = 0; v < V; v++) {
            double d = fd_dot(rep + (size_t)s * C, E + (size_t)v * C, C) + (ob ? ob[v] : 0.0);
            maxd = fmax(maxd, fabs(d - scores[s * V + v]));
        }
    fprintf(stderr, "  score vs rep.E^T (+ bias) max diff %.2e\n", maxd);
    assert_true(maxd < 1e-5);
    /* the third sequence alone encodes to the same vector */
    const int off1[2] = {0, 3};
    sq_batch b1 = {.n_seq = 1, .seq_off = off1, .item = item + 5, .behavior = beh + 5,
                   .pos = pos + 5};
    float rep1[C];
    sq_model_encode(m, &b1, 0, rep1);
    for (int i = 0; i < C; i++) assert_true(fabsf(rep1[i] - rep[2 * C + i]) < 1e-5f);
    /* finite differences of sum(rep * R), every tensor */
    sq_nn_params_zero_grad(&m->params);
    sq_model_encode(m, &c.b, 1, rep);
    sq_model_encode_backward(m, &c.b, R);
    for (int i = 0; i < m->params.n; i++) {
        const sq_nn_tensor *t = &m->params.t[i];
        assert_true(fd_ok(t->name, sq_nn_pgrad(&m->params, i), sq_nn_param(&m->params, i),
                          t->numel, obj, &c));
    }
    sq_model_free(m);
}

static void test_sasrec(void **s) { (void)s; check_model("sasrec", "item_emb.weight", 0.3f); }
static void test_bert4rec(void **s) { (void)s; check_model("bert4rec", "item_emb.weight", 0.2f); }
static void test_gru4rec(void **s) { (void)s; check_model("gru4rec", "item_emb.weight", 0.3f); }
static void test_lstm(void **s) { (void)s; check_model("lstm", "item_emb.weight", 0.3f); }
static void test_caser(void **s) { (void)s; check_model("caser", "out_emb.weight", 0.3f); }

static void test_baselines_have_none(void **s) {
    (void)s;
    const char *names[] = {"pop", "markov", "itemknn"};
    for (int k = 0; k < 3; k++) {
        sq_model_config c;
        sq_model_config_default(&c);
        c.n_items = V;
        sq_error err = {0};
        assert_int_equal(sq_model_config_preset(&c, names[k], &err), SQ_OK);
        sq_model *m;
        assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
        assert_false(sq_model_can_encode(m));
        assert_int_equal(sq_model_output_table(m), -1);
        sq_model_free(m);
    }
}

int main(void) {
    sq_nn_init(1); /* tiny shapes: threads only add synchronisation on a shared machine */
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 9);
    fd_fill(R, NSEQ * C, &r, 1.0f);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sasrec), cmocka_unit_test(test_bert4rec),
        cmocka_unit_test(test_gru4rec), cmocka_unit_test(test_lstm),
        cmocka_unit_test(test_caser), cmocka_unit_test(test_baselines_have_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
