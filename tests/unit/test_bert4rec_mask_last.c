/* BERT4Rec's force-last training sequences (--mask-last): with probability 1 the training
 * loss is exactly the recommendation task (the cross-entropy of the scores after each
 * sequence's events against its last target), the option survives a checkpoint, and a
 * partial probability mixes both kinds of sequence. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "shopseq/model.h"

enum { V = 11, NSEQ = 3, N = 10 };
/* three sequences of 4, 2 and 4 events; row j's target is event j + 1 */
static const int seq_off[NSEQ + 1] = {0, 4, 6, N};
static const uint32_t item[N] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const uint32_t target[N] = {2, 3, 4, 0, 6, 1, 8, 9, 10, 5};
static const int pos[N] = {0, 1, 2, 3, 0, 1, 0, 1, 2, 3};

static sq_model_config small_cfg(float mask_last) {
    sq_model_config c;
    sq_model_config_default(&c);
    c.n_items = V;
    sq_error err = {0};
    assert_int_equal(sq_model_config_preset(&c, "bert4rec", &err), SQ_OK);
    c.loss = SQ_LOSS_CE;
    c.dim = 8, c.heads = 2, c.blocks = 2, c.maxlen = 6, c.batch = NSEQ, c.dropout = 0.0f;
    c.mask_prob = 0.5f;
    c.mask_last = mask_last;
    return c;
}

static sq_model *make(float mask_last) {
    sq_model_config c = small_cfg(mask_last);
    sq_error err = {0};
    sq_model *m;
    assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
    return m;
}

static double train_loss(sq_model *m, uint64_t seed) {
    sq_batch b = {.n_seq = NSEQ, .seq_off = seq_off, .item = item, .pos = pos,
                  .target = target, .seed = seed};
    return sq_model_forward(m, &b, 1);
}

/* mean over sequences of -log softmax(score after the events)[last target] */
static double task_loss(sq_model *m) {
    sq_batch b = {.n_seq = NSEQ, .seq_off = seq_off, .item = item, .pos = pos};
    float sc[NSEQ * V];
    sq_model_score(m, &b, sc);
    double sum = 0.0;
    for (int s = 0; s < NSEQ; s++) {
        const float *x = sc + s * V;
        double mx = x[0], z = 0.0;
        for (int v = 1; v < V; v++) mx = x[v] > mx ? x[v] : mx;
        for (int v = 0; v < V; v++) z += exp(x[v] - mx);
        sum += mx + log(z) - x[target[seq_off[s + 1] - 1]];
    }
    return sum / NSEQ;
}

static void test_force_last_is_the_task(void **s) {
    (void)s;
    sq_model *m = make(1.0f);
    const double task = task_loss(m);
    for (uint64_t seed = 1; seed <= 5; seed++)
        assert_true(fabs(train_loss(m, seed) - task) < 1e-5 * fabs(task));
    /* Cloze masks (the default) pose another problem: the loss differs */
    m->cfg.mask_last = 0.0f;
    assert_true(fabs(train_loss(m, 1) - task) > 1e-3);
    sq_model_free(m);
}

static void test_partial_mixes(void **s) {
    (void)s;
    sq_model *m = make(0.5f);
    sq_model *cloze = make(0.0f); /* same seed, same weights */
    const double task = task_loss(m);
    int n_task = 0, n_cloze = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        const double l = train_loss(m, seed);
        n_task += fabs(l - task) < 1e-5 * fabs(task);
        n_cloze += fabs(l - train_loss(cloze, seed)) < 1e-6 * fabs(l);
    }
    /* all three sequences force-last (1/8) or none (1/8): some of each in 40 seeds */
    assert_true(n_task > 0 && n_task < 40);
    assert_true(n_cloze > 0 && n_cloze < 40);
    sq_model_free(cloze);
    sq_model_free(m);
}

static void test_checkpoint_keeps_it(void **s) {
    (void)s;
    sq_model *m = make(0.25f);
    char path[] = "/tmp/sq_masklast_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sq_error err = {0};
    assert_int_equal(sq_model_save(m, path, NULL, 0, &err), SQ_OK);
    sq_model *r;
    assert_int_equal(sq_model_load(&r, path, &err), SQ_OK);
    assert_true(r->cfg.mask_last == 0.25f);
    assert_true(train_loss(r, 3) == train_loss(m, 3));
    sq_model_free(r);
    sq_model_free(m);
    unlink(path);
}

static void test_bad_probability_refused(void **s) {
    (void)s;
    sq_model_config c = small_cfg(1.5f);
    sq_error err = {0};
    sq_model *m = NULL;
    assert_int_not_equal(sq_model_create(&m, &c, &err), SQ_OK);
    assert_non_null(strstr(err.msg, "mask_last 1.5"));
}

int main(void) {
    sq_nn_init(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_force_last_is_the_task), cmocka_unit_test(test_partial_mixes),
        cmocka_unit_test(test_checkpoint_keeps_it), cmocka_unit_test(test_bad_probability_refused)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
