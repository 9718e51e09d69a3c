/* GRU4Rec, LSTM, Caser and BERT4Rec against their PyTorch twins
 * (tests/reference/family_twin.py): forward loss, final-state scores, every parameter
 * gradient, and a 20-step AdamW loss trajectory. The twins run in float64; we in float32. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/model.h"
#include "shopseq/safetensors.h"
#include "fixture_check.h"

static int meta_int(const sq_st_file *f, const char *k) {
    const char *v = sq_st_meta(f, k);
    assert_non_null(v);
    return atoi(v);
}

static void run_case(const char *name) {
    char path[4096];
    const char *src = getenv("SQ_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/fixtures/family/%s.safetensors", src ? src : ".", name);
    sq_st_file f;
    sq_error err = {0};
    if (sq_st_read(&f, path, &err) != SQ_OK) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(err.status, SQ_OK);

    const sq_st_tensor *so = fixture_need(&f, "in.seq_off", "I32");
    const int n_seq = (int)so->shape[0] - 1;
    sq_model_config cfg;
    sq_model_config_default(&cfg);
    sq_error perr = {0};
    assert_int_equal(sq_model_config_preset(&cfg, sq_st_meta(&f, "sq_model"), &perr), SQ_OK);
    const char *mv;
    if ((mv = sq_st_meta(&f, "window"))) cfg.window = atoi(mv);
    if ((mv = sq_st_meta(&f, "filters_h"))) cfg.filters_h = atoi(mv);
    if ((mv = sq_st_meta(&f, "filters_v"))) cfg.filters_v = atoi(mv);
    if ((mv = sq_st_meta(&f, "mask_prob"))) cfg.mask_prob = (float)atof(mv);
    if ((mv = sq_st_meta(&f, "ln_eps"))) cfg.ln_eps = (float)atof(mv);
    cfg.output_bias = (mv = sq_st_meta(&f, "output_bias")) ? atoi(mv) : 0;
    cfg.n_items = meta_int(&f, "n_items");
    cfg.dim = meta_int(&f, "dim");
    cfg.blocks = meta_int(&f, "blocks");
    cfg.heads = meta_int(&f, "heads");
    cfg.maxlen = meta_int(&f, "maxlen");
    cfg.use_behavior = meta_int(&f, "use_behavior");
    cfg.negatives = meta_int(&f, "negatives");
    cfg.loss = sq_loss_from_name(sq_st_meta(&f, "loss"));
    cfg.dropout = 0.0f;
    cfg.batch = n_seq;
    sq_model *m;
    assert_int_equal(sq_model_create(&m, &cfg, &err), SQ_OK);
    sq_nn_params *p = &m->params;
    for (int i = 0; i < p->n; i++) {
        char pn[160];
        snprintf(pn, sizeof pn, "p.%s", p->t[i].name);
        const sq_st_tensor *t = fixture_need(&f, pn, "F32");
        assert_int_equal(t->nbytes, p->t[i].numel * sizeof(float));
        memcpy(sq_nn_param(p, i), t->data, t->nbytes);
    }
    const int *seq_off = so->data;
    const int N = seq_off[n_seq];
    sq_batch b = {
        .n_seq = n_seq,
        .seq_off = seq_off,
        .item = fixture_need(&f, "in.item", "I32")->data,
        .behavior = fixture_need(&f, "in.beh", "U8")->data,
        .pos = fixture_need(&f, "in.pos", "I32")->data,
        .target = fixture_need(&f, "in.target", "I32")->data,
        .neg = fixture_need(&f, "in.neg", "I32")->data,
        .n_neg = cfg.negatives,
        .seed = strtoull(sq_st_meta(&f, "batch_seed"), NULL, 10),
    };
    double ref_loss;
    memcpy(&ref_loss, fixture_need(&f, "out.loss", "F64")->data, sizeof ref_loss);
    sq_nn_params_zero_grad(p);
    double loss = sq_model_forward(m, &b, 1);
    sq_model_backward(m, &b);
    fprintf(stderr, "  %s: loss %.7f twin %.7f\n", name, loss, ref_loss);
    assert_true(fabs(loss - ref_loss) < 2e-6 * fmax(1.0, fabs(ref_loss)));
    int bad = 0;
    double gworst = 0.0;
    for (int i = 0; i < p->n; i++) {
        char gn[160];
        snprintf(gn, sizeof gn, "grad.%s", p->t[i].name);
        const sq_st_tensor *g = fixture_need(&f, gn, "F64");
        double *gd = fixture_f64_copy(g);
        double e = fixture_rel_err(sq_nn_pgrad(p, i), gd, p->t[i].numel);
        free(gd);
        gworst = fmax(gworst, e);
        if (e > 1e-4) {
            fprintf(stderr, "  %s: gradient %s rel err %.2e\n", name, p->t[i].name, e);
            bad++;
        }
    }
    fprintf(stderr, "  %s: %d parameter gradients, worst rel err %.2e\n", name, p->n, gworst);
    assert_int_equal(bad, 0);
    /* scores after the last event of each sequence */
    float *scores = malloc((size_t)n_seq * cfg.n_items * sizeof *scores);
    double *ref_s = malloc((size_t)n_seq * cfg.n_items * sizeof *ref_s);
    const sq_st_tensor *st = fixture_need(&f, "out.scores", "F64");
    memcpy(ref_s, st->data, st->nbytes);
    sq_model_score(m, &b, scores);
    assert_true(fixture_rel_err(scores, ref_s, (size_t)n_seq * cfg.n_items) < 1e-5);
    free(scores);
    free(ref_s);

    /* 20 AdamW steps on the same batch, from the same start */
    for (int i = 0; i < p->n; i++) {
        char pn[160];
        snprintf(pn, sizeof pn, "p.%s", p->t[i].name);
        memcpy(sq_nn_param(p, i), sq_st_find(&f, pn)->data, p->t[i].numel * sizeof(float));
    }
    memset(p->m, 0, p->total * sizeof(float));
    memset(p->v, 0, p->total * sizeof(float));
    p->step = 0;
    sq_nn_adamw opt = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f,
                       .weight_decay = 0.01f};
    double *traj = fixture_f64_copy(fixture_need(&f, "traj.loss", "F64"));
    double worst = 0.0;
    for (int s = 0; s < 20; s++) {
        sq_nn_params_zero_grad(p);
        double l = sq_model_forward(m, &b, 1);
        sq_model_backward(m, &b);
        sq_nn_adamw_step(p, &opt);
        worst = fmax(worst, fabs(l - traj[s]) / fmax(1.0, fabs(traj[s])));
    }
    fprintf(stderr, "  %s: 20-step trajectory %.4f -> %.4f, worst rel diff %.2e\n", name, traj[0],
            traj[19], worst);
    free(traj);
    assert_true(worst < 1e-4);
    (void)N;
    sq_model_free(m);
    sq_st_free(&f);
}

#define CASE(n) \
    static void test_##n(void **s) { (void)s; run_case(#n); }
CASE(gru4rec_ce)
CASE(gru4rec_sampled)
CASE(lstm_ce)
CASE(lstm_bce)
CASE(caser_bce)
CASE(caser_ce_behavior)
CASE(bert4rec_ce)
CASE(bert4rec_behavior)
CASE(gru4rec_shared)
CASE(bert4rec_shared)

int main(void) {
    sq_nn_init(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gru4rec_ce),
        cmocka_unit_test(test_gru4rec_sampled),
        cmocka_unit_test(test_lstm_ce),
        cmocka_unit_test(test_lstm_bce),
        cmocka_unit_test(test_caser_bce),
        cmocka_unit_test(test_caser_ce_behavior),
        cmocka_unit_test(test_bert4rec_ce),
        cmocka_unit_test(test_bert4rec_behavior),
        cmocka_unit_test(test_gru4rec_shared),
        cmocka_unit_test(test_bert4rec_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
