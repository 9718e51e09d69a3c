/* The counting baselines (pop, markov, itemknn) on hand-made sequences with answers worked
 * out by hand; checkpoint round trip; sq_train + sq_evaluate on a tiny dataset where the
 * Markov chain is exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shopseq/model.h"
#include "shopseq/train.h"
#include "test_dataset.h"

enum { V = 6 };

/* training sequences 0 1 2 | 0 1 3 | 1 2 | 4 (too short to carry a transition) */
static const int tr_off[] = {0, 2, 4, 5, 5};
static const uint32_t tr_item[] = {0, 1, 0, 1, 1};
static const uint32_t tr_target[] = {1, 2, 1, 3, 2};

static sq_model *fitted(const char *name, int window) {
    sq_model_config c;
    sq_model_config_default(&c);
    c.n_items = V;
    sq_error err = {0};
    assert_int_equal(sq_model_config_preset(&c, name, &err), SQ_OK);
    c.window = window;
    c.batch = 4;
    sq_model *m;
    assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
    assert_non_null(m->ops->fit_batch);
    sq_batch b = {.n_seq = 4, .seq_off = tr_off, .item = tr_item, .target = tr_target};
    /* two halves: the counts must not depend on how the data is batched */
    sq_batch b1 = b, b2 = b;
    b1.n_seq = 2;
    b2.n_seq = 2;
    b2.seq_off = tr_off + 2;
    m->ops->fit_batch(m, &b1);
    m->ops->fit_batch(m, &b2);
    m->ops->fit_end(m);
    return m;
}

/* scores after each query sequence (one row per query) */
static void query(sq_model *m, const uint32_t *items, int n, float *scores) {
    int off[2] = {0, n};
    sq_batch b = {.n_seq = 1, .seq_off = off, .item = items};
    sq_model_score(m, &b, scores);
}

static void test_pop(void **s) {
    (void)s;
    sq_model *m = fitted("pop", 0);
    float sc[V];
    uint32_t q[] = {3};
    query(m, q, 1, sc);
    /* counts: 0:2 1:3 2:2 3:1 4:0 5:0 (item 4's lone event has no target row) */
    const float want[V] = {2, 3, 2, 1, 0, 0};
    for (int v = 0; v < V; v++) assert_true(sc[v] == want[v]);
    sq_model_free(m);
}

static void test_markov(void **s) {
    (void)s;
    sq_model *m = fitted("markov", 0);
    float sc[V];
    uint32_t q[] = {3, 1};
    query(m, q, 2, sc);
    /* after 1: P(2|1) = 2/3, P(3|1) = 1/3, the rest by popularity below both */
    assert_true(fabsf(sc[2] - 2.0f / 3) < 1e-6f);
    assert_true(fabsf(sc[3] - 1.0f / 3) < 1e-6f);
    assert_true(sc[1] > sc[0] && sc[0] > sc[4] && sc[0] < 1e-6f);
    uint32_t q2[] = {0};
    query(m, q2, 1, sc);
    assert_true(fabsf(sc[1] - 1.0f) < 1e-6f);
    /* an item never followed by anything: popularity only */
    uint32_t q3[] = {5};
    query(m, q3, 1, sc);
    assert_true(sc[1] > sc[0] && sc[0] == sc[2] && sc[2] > sc[3] && sc[1] < 1e-6f);
    sq_model_free(m);
}

static void test_itemknn(void **s) {
    (void)s;
    sq_model *m = fitted("itemknn", 1);
    float sc[V];
    uint32_t q[] = {1};
    query(m, q, 1, sc);
    /* window 1: c(0,1) = 2, c(1,2) = 2, c(1,3) = 1; n = 2 3 2 1
     * sim(1,0) = sim(1,2) = 2/sqrt(6), sim(1,3) = 1/sqrt(3) */
    assert_true(fabsf(sc[0] - 2.0f / sqrtf(6.0f)) < 1e-6f);
    assert_true(fabsf(sc[2] - 2.0f / sqrtf(6.0f)) < 1e-6f);
    assert_true(fabsf(sc[3] - 1.0f / sqrtf(3.0f)) < 1e-6f);
    assert_true(sc[1] < 1e-6f); /* never its own neighbour */
    /* history 0 then 1 (most recent): sim(1,.) + sim(0,.)/2; sim(0,1) = 2/sqrt(6) */
    uint32_t q2[] = {0, 1};
    query(m, q2, 2, sc);
    assert_true(fabsf(sc[1] - 1.0f / sqrtf(6.0f)) < 1e-6f);
    sq_model_free(m);
    /* window 2 adds c(0,2) = 1 and c(0,3) = 1 */
    m = fitted("itemknn", 2);
    uint32_t q3[] = {0};
    query(m, q3, 1, sc);
    assert_true(fabsf(sc[2] - 1.0f / 2.0f) < 1e-6f);
    assert_true(fabsf(sc[3] - 1.0f / sqrtf(2.0f)) < 1e-6f);
    sq_model_free(m);
}

static char dir[1024];

static void test_checkpoint_roundtrip(void **s) {
    (void)s;
    sq_model *m = fitted("itemknn", 2);
    char path[1200];
    snprintf(path, sizeof path, "%s/knn.safetensors", dir);
    sq_error err = {0};
    assert_int_equal(sq_model_save(m, path, NULL, 0, &err), SQ_OK);
    sq_model *m2;
    assert_int_equal(sq_model_load(&m2, path, &err), SQ_OK);
    assert_string_equal(m2->cfg.model, "itemknn");
    assert_int_equal(m2->cfg.window, 2);
    float a[V], b[V];
    uint32_t q[] = {2, 0};
    query(m, q, 2, a);
    query(m2, q, 2, b);
    assert_memory_equal(a, b, sizeof a);
    sq_model_free(m);
    sq_model_free(m2);
}

/* Dataset: every user walks 0 -> 1 -> ... -> NI-1 -> 0 from a user-specific start, so a
 * Markov chain learnt from the training part predicts validation and test exactly. */
enum { NU = 40, NI = 10, LEN = 8 };
static void make_dataset(const char *path) {
    static uint32_t item[NU * LEN];
    static int64_t t[NU * LEN];
    for (int u = 0; u < NU; u++)
        for (int j = 0; j < LEN; j++) {
            item[u * LEN + j] = (uint32_t)((u + j) % NI);
            t[u * LEN + j] = 1000 * j;
        }
    sq_error err = {0};
    assert_int_equal(test_write_users(path, NU, NI, LEN, item, t, NULL, &err), SQ_OK);
}

static void test_train_eval(void **s) {
    (void)s;
    char path[1200];
    snprintf(path, sizeof path, "%s/walk.sqd", dir);
    make_dataset(path);
    sq_dataset ds;
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, path, &err), SQ_OK);
    const char *names[] = {"markov", "pop", "itemknn"};
    double hr1[3];
    for (int i = 0; i < 3; i++) {
        sq_model_config c;
        sq_model_config_default(&c);
        c.n_items = NI;
        assert_int_equal(sq_model_config_preset(&c, names[i], &err), SQ_OK);
        c.batch = 7;
        sq_model *m;
        assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
        sq_train_opts o = {.epochs = 2, .eval_every = 1};
        sq_train_result r;
        assert_int_equal(sq_train(m, &ds, &o, &r, &err), SQ_OK);
        sq_eval_opts eo = {.split = SQ_SPLIT_TEST, .protocol = SQ_PROTOCOL_FULL};
        sq_eval_result er;
        assert_int_equal(sq_evaluate(m, &ds, &eo, &er, &err), SQ_OK);
        assert_int_equal(er.n_users, NU);
        hr1[i] = er.hr[0];
        fprintf(stderr, "  %s: HR@1 %.3f HR@10 %.3f\n", names[i], er.hr[0], er.hr[2]);
        sq_model_free(m);
    }
    assert_true(hr1[0] == 1.0);  /* markov is exact */
    assert_true(hr1[1] < 0.5);   /* popularity cannot be */
    assert_true(hr1[2] > hr1[1]); /* neighbours of the last item beat popularity */
    sq_dataset_close(&ds);
}

/* session protocol: a test file with its own dictionary, an unknown item, a 1-event session */
static void test_evaluate_next(void **s) {
    (void)s;
    char path[1200], tpath[1200];
    snprintf(path, sizeof path, "%s/walk2.sqd", dir);
    snprintf(tpath, sizeof tpath, "%s/walk2_test.sqd", dir);
    make_dataset(path);
    /* session 0: i3 i4 zz i5 i6 -> i3 i4 i5 i6 (3 predictions); session 1: i7 (none) */
    static uint64_t uoff[3] = {0, 5, 6}, udo[3] = {0, 2, 4}, ido[7] = {0, 2, 4, 6, 8, 10, 12};
    static uint32_t item[6] = {0, 1, 2, 3, 4, 5}, sess[6] = {0, 0, 0, 0, 0, 1};
    static uint8_t beh[6];
    static int64_t t[6] = {1, 2, 3, 4, 5, 6};
    static const char ub[] = "s0s1", ib[] = "i3i4zzi5i6i7";
    static uint64_t cdo[1];
    sq_dataset_src src = {
        .n_users = 2, .n_items = 6, .n_events = 6, .n_sessions = 2, .user_offsets = uoff,
        .item = item, .behavior = beh, .time_ms = t, .session = sess, .users = {2, udo, ub},
        .items = {6, ido, ib}, .categories = {0, cdo, ""},
    };
    sq_error err = {0};
    assert_int_equal(sq_dataset_write(tpath, &src, &err), SQ_OK);
    sq_dataset tr, te;
    assert_int_equal(sq_dataset_open(&tr, path, &err), SQ_OK);
    assert_int_equal(sq_dataset_open(&te, tpath, &err), SQ_OK);
    sq_model_config c;
    sq_model_config_default(&c);
    c.n_items = NI;
    assert_int_equal(sq_model_config_preset(&c, "markov", &err), SQ_OK);
    sq_model *m;
    assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
    sq_train_opts o = {.epochs = 1, .all_events = 1};
    sq_train_result r;
    assert_int_equal(sq_train(m, &tr, &o, &r, &err), SQ_OK);
    sq_eval_result er;
    assert_int_equal(sq_evaluate_next(m, &tr, &te, 0, &er, &err), SQ_OK);
    assert_int_equal(er.n_users, 3);
    assert_true(er.hr[0] == 1.0 && er.mrr[3] == 1.0);
    /* popularity: all items are equally frequent in the walk -> ties count against it */
    sq_model_free(m);
    assert_int_equal(sq_model_config_preset(&c, "pop", &err), SQ_OK);
    assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
    assert_int_equal(sq_train(m, &tr, &o, &r, &err), SQ_OK);
    assert_int_equal(sq_evaluate_next(m, &tr, &te, 0, &er, &err), SQ_OK);
    assert_true(er.hr[0] == 0.0 && er.hr[2] == 1.0); /* rank 10 of 10 */
    sq_model_free(m);
    sq_dataset_close(&tr);
    sq_dataset_close(&te);
}

int main(void) {
    const char *t = getenv("SQ_TMPDIR");
    snprintf(dir, sizeof dir, "%s/baselines", t ? t : "/tmp");
    mkdir(t ? t : "/tmp", 0755);
    mkdir(dir, 0755);
    sq_nn_init(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pop),
        cmocka_unit_test(test_markov),
        cmocka_unit_test(test_itemknn),
        cmocka_unit_test(test_checkpoint_roundtrip),
        cmocka_unit_test(test_train_eval),
        cmocka_unit_test(test_evaluate_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
