/* Session-parallel mini-batches: the slot schedule, state resets, compaction and targets on
 * hand-made sequences; GRU4Rec on session-parallel steps computes exactly what it computes
 * on whole sequences (dropout 0, no update between steps); sq_train with session batching
 * learns, is deterministic for a seed, and refuses models it does not apply to. */
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

#include "models/session_batcher.h"
#include "shopseq/model.h"
#include "shopseq/train.h"
#include "test_dataset.h"

/* five sequences: S0 = 10 11 12, S1 = 20 21, S2 = 30 31 32 33, S3 = 40 41, S4 = 50 51 52 */
static const uint32_t items[] = {10, 11, 12, 20, 21, 30, 31, 32, 33, 40, 41, 50, 51, 52};
static const uint64_t beg[] = {0, 3, 5, 9, 11}, end[] = {3, 5, 9, 11, 14};

typedef struct {
    int rows;
    uint32_t in[3], tgt[3];
    int src[3];
} step;

static void expect(int B, int n_seq, const step *want, int n_steps) {
    sq__session_batcher sb;
    assert_int_equal(sq__sb_init(&sb, B, beg, end, (uint32_t)n_seq), 0);
    for (int s = 0; s < n_steps; s++) {
        int r = sq__sb_next(&sb, items);
        assert_int_equal(r, want[s].rows);
        for (int i = 0; i < r; i++) {
            assert_int_equal(sb.item[i], want[s].in[i]);
            assert_int_equal(sb.target[i], want[s].tgt[i]);
            assert_int_equal(sb.state_src[i], want[s].src[i]);
            assert_int_equal(items[sb.event[i]], sb.item[i]);
            assert_int_equal(sb.seq_off[i], i);
        }
    }
    assert_int_equal(sq__sb_next(&sb, items), 0); /* the epoch is over, and stays over */
    assert_int_equal(sq__sb_next(&sb, items), 0);
    sq__sb_free(&sb);
}

static void test_schedule_two_slots(void **s) {
    (void)s;
    /* slot 0: S0 S0 S3 S4 S4; slot 1: S1 S2 S2 S2, then nothing left and it is dropped */
    const step want[] = {
        {2, {10, 20}, {11, 21}, {-1, -1}}, /* both start from zero */
        {2, {11, 30}, {12, 31}, {0, -1}},  /* S1 had one target: slot 1 resets for S2 */
        {2, {40, 31}, {41, 32}, {-1, 1}},  /* S0 done: slot 0 resets for S3 */
        {2, {50, 32}, {51, 33}, {-1, 1}},
        {1, {51}, {52}, {0}},              /* S2 done, none left: slot 1 dropped */
    };
    expect(2, 5, want, 5);
}

static void test_schedule_compaction(void **s) {
    (void)s;
    /* S0..S3 over three slots: after step 2 slots 0 and 1 run out and are dropped, so
     * slot 2's row moves to 0 and takes its state from the old row 2 */
    const step want[] = {
        {3, {10, 20, 30}, {11, 21, 31}, {-1, -1, -1}},
        {3, {11, 40, 31}, {12, 41, 32}, {0, -1, 2}},
        {1, {32}, {33}, {2}},
    };
    expect(3, 4, want, 3);
}

static void test_more_slots_than_sequences(void **s) {
    (void)s;
    const step want[] = {{2, {10, 20}, {11, 21}, {-1, -1}}, {1, {11}, {12}, {0}}};
    expect(8, 2, want, 2);
}

/* GRU4Rec over session-parallel steps = over whole packed sequences */
static void test_model_steps_match_sequences(void **s) {
    (void)s;
    sq_model_config c;
    sq_model_config_default(&c);
    sq_error err = {0};
    c.n_items = 60;
    assert_int_equal(sq_model_config_preset(&c, "gru4rec", &err), SQ_OK);
    c.n_items = 60;
    c.dim = 8;
    c.blocks = 2;
    c.dropout = 0.0f;
    c.batch = 8;
    c.maxlen = 8;
    sq_model *m;
    assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
    /* packed: every sequence's inputs and next-event targets */
    int off[6] = {0};
    uint32_t in[14], tgt[14];
    int pos[14] = {0}, n = 0;
    for (int q = 0; q < 5; q++) {
        for (uint64_t e = beg[q]; e + 1 < end[q]; e++, n++) in[n] = items[e], tgt[n] = items[e + 1];
        off[q + 1] = n;
    }
    sq_batch pb = {.n_seq = 5, .seq_off = off, .item = in, .pos = pos, .target = tgt};
    const double whole = sq_model_forward(m, &pb, 1) * n;
    double stepped = 0.0;
    int rows = 0, r;
    sq__session_batcher sb;
    assert_int_equal(sq__sb_init(&sb, 2, beg, end, 5), 0);
    while ((r = sq__sb_next(&sb, items)) > 0) {
        sq_batch b = {.n_seq = r, .seq_off = sb.seq_off, .item = sb.item, .pos = pos,
                      .target = sb.target, .state_src = sb.state_src};
        stepped += sq_model_forward(m, &b, 1) * r;
        rows += r;
    }
    sq__sb_free(&sb);
    fprintf(stderr, "summed loss: whole sequences %.6f, session-parallel steps %.6f\n", whole,
            stepped);
    assert_int_equal(rows, n);
    assert_true(fabs(whole - stepped) < 1e-4 * fabs(whole));
    sq_model_free(m);
}

/* ---- end to end ---- */
enum { NU = 48, NI = 20, LEN = 10 };
static char dir[1024];

/* user u walks the items cyclically with stride 1 or 2 */
static void make_dataset(const char *path) {
    static uint32_t item[NU * LEN];
    static int64_t t[NU * LEN];
    for (int u = 0; u < NU; u++)
        for (int j = 0; j < LEN; j++) {
            int e = u * LEN + j;
            item[e] = (uint32_t)((u + j * (1 + u % 2)) % NI);
            t[e] = 1000 * (NU - u) + j; /* later users start earlier: order by time */
        }
    sq_error err = {0};
    if (test_write_users(path, NU, NI, LEN, item, t, NULL, &err) != SQ_OK) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(err.status, SQ_OK);
}

static sq_model *train(const sq_dataset *ds, const char *model, sq_loss_kind loss, int epochs,
                       sq_status want, double *hr10) {
    sq_model_config c;
    sq_model_config_default(&c);
    c.n_items = NI;
    c.seed = 5;
    sq_error err = {0};
    assert_int_equal(sq_model_config_preset(&c, model, &err), SQ_OK);
    c.dim = 16;
    c.batch = 8;
    c.maxlen = 10;
    c.loss = loss;
    c.negatives = 6;
    sq_model *m;
    assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
    sq_train_opts o = {.epochs = epochs, .lr = 0.01f, .batching = SQ_BATCHING_SESSION,
                       .sample_alpha = 0.5f};
    sq_train_result r;
    sq_status st = sq_train(m, ds, &o, &r, &err);
    if (st != SQ_OK) fprintf(stderr, "(expected: %d) %s\n", want, err.msg);
    assert_int_equal(st, want);
    if (hr10) {
        sq_eval_opts eo = {.split = SQ_SPLIT_TEST, .protocol = SQ_PROTOCOL_FULL};
        sq_eval_result er;
        assert_int_equal(sq_evaluate(m, ds, &eo, &er, &err), SQ_OK);
        *hr10 = er.hr[0];
        fprintf(stderr, "%s %s: HR@1 %.3f after %d epochs, last loss %.4f, %.0f events/s\n", model,
                sq_loss_name(loss), er.hr[0], epochs, r.last_loss, r.events_per_second);
    }
    return m;
}

static void test_train_learns_deterministic(void **s) {
    (void)s;
    char p[1100];
    snprintf(p, sizeof p, "%s/tiny.sqd", dir);
    make_dataset(p);
    sq_dataset ds = {0};
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, p, &err), SQ_OK);
    double h0, h1, h2;
    sq_model *m0 = train(&ds, "gru4rec", SQ_LOSS_BPRMAX, 0, SQ_OK, &h0); /* untrained */
    sq_model *m1 = train(&ds, "gru4rec", SQ_LOSS_BPRMAX, 8, SQ_OK, &h1);
    sq_model *m2 = train(&ds, "gru4rec", SQ_LOSS_BPRMAX, 8, SQ_OK, &h2);
    assert_true(h1 > 0.8 && h1 > h0 + 0.2); /* a walk is determined by two items */
    assert_memory_equal(m1->params.data, m2->params.data, m1->params.total * sizeof(float));
    sq_model_free(m0), sq_model_free(m1), sq_model_free(m2);
    sq_model *m3 = train(&ds, "gru4rec", SQ_LOSS_CE, 8, SQ_OK, &h1);
    assert_true(h1 > 0.8);
    sq_model_free(m3);
    sq_model_free(train(&ds, "lstm", SQ_LOSS_CE, 1, SQ_ERR_USAGE, NULL));
    sq_model_free(train(&ds, "gru4rec", SQ_LOSS_SAMPLED, 1, SQ_ERR_USAGE, NULL));
    sq_dataset_close(&ds);
}

/* a small CE GRU4Rec over the NI-item test data */
static sq_model_config small_gru4rec(int dim, int batch) {
    sq_model_config c;
    sq_model_config_default(&c);
    c.n_items = NI;
    sq_error err = {0};
    assert_int_equal(sq_model_config_preset(&c, "gru4rec", &err), SQ_OK);
    c.dim = dim;
    c.batch = batch;
    c.loss = SQ_LOSS_CE;
    return c;
}

/* sq_train's session-parallel epochs = the loop docs/models.md describes, written out here:
 * sequences by their first event's time (users 47..0 in make_dataset), slots filled in
 * that order every epoch, the step seeds from (seed, epoch), one AdamW update per step. */
static void test_train_is_the_documented_loop(void **s) {
    (void)s;
    char p[1100];
    snprintf(p, sizeof p, "%s/loop.sqd", dir);
    make_dataset(p);
    sq_dataset ds = {0};
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, p, &err), SQ_OK);
    sq_model_config c = small_gru4rec(16, 5);
    c.seed = 9;
    sq_model *m1, *m2;
    assert_int_equal(sq_model_create(&m1, &c, &err), SQ_OK);
    assert_int_equal(sq_model_create(&m2, &c, &err), SQ_OK);
    const int epochs = 3;
    sq_train_opts o = {.epochs = epochs, .lr = 0.01f, .weight_decay = 0.01f,
                       .batching = SQ_BATCHING_SESSION};
    sq_train_result r;
    assert_int_equal(sq_train(m1, &ds, &o, &r, &err), SQ_OK);
    /* by hand: the training span of a user is all but its last two events */
    uint64_t b[NU], e[NU];
    for (int i = 0; i < NU; i++) {
        const int u = NU - 1 - i;
        b[i] = (uint64_t)u * LEN, e[i] = (uint64_t)u * LEN + LEN - 2;
    }
    sq_nn_adamw opt = {.lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f,
                       .weight_decay = 0.01f};
    int pos[8] = {0}, steps = 0;
    double loss = 0.0;
    for (int ep = 0; ep < epochs; ep++) {
        sq_nn_rng rng;
        sq_nn_rng_seed(&rng, c.seed ^ ((uint64_t)(ep + 1) * 0x9E3779B97F4A7C15ull));
        sq__session_batcher sb;
        assert_int_equal(sq__sb_init(&sb, c.batch, b, e, NU), 0);
        int n;
        loss = 0.0, steps = 0;
        while ((n = sq__sb_next(&sb, ds.item)) > 0) {
            sq_batch bt = {.n_seq = n, .seq_off = sb.seq_off, .item = sb.item, .pos = pos,
                           .target = sb.target, .state_src = sb.state_src,
                           .seed = sq_nn_rng_next(&rng)};
            sq_nn_params_zero_grad(&m2->params);
            loss += sq_model_forward(m2, &bt, 1);
            sq_model_backward(m2, &bt);
            sq_nn_adamw_step(&m2->params, &opt);
            steps++;
        }
        sq__sb_free(&sb);
    }
    fprintf(stderr, "last epoch: %d steps, mean loss %.6f (sq_train %.6f)\n", steps,
            loss / steps, r.last_loss);
    assert_true(fabs(loss / steps - r.last_loss) <= 1e-12 * fabs(loss / steps));
    assert_memory_equal(m1->params.data, m2->params.data, m1->params.total * sizeof(float));
    sq_model_free(m1), sq_model_free(m2);
    sq_dataset_close(&ds);
}

/* session-parallel training reports its epochs as padded training does: a bar on a
 * terminal, a plain line otherwise */
static void test_train_progress_lines(void **s) {
    (void)s;
    char p[1100];
    snprintf(p, sizeof p, "%s/progress.sqd", dir);
    make_dataset(p);
    sq_dataset ds = {0};
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, p, &err), SQ_OK);
    for (int bar = 0; bar < 2; bar++) {
        for (int sp = 0; sp < 2; sp++) {
            sq_model_config c = small_gru4rec(8, 4);
            sq_model *m;
            assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
            char *text = NULL;
            size_t len = 0;
            FILE *log = open_memstream(&text, &len);
            assert_non_null(log);
            sq_train_opts o = {.epochs = 2, .lr = 0.01f, .log = log, .progress = bar,
                               .batching = sp ? SQ_BATCHING_SESSION : SQ_BATCHING_PADDED};
            sq_train_result r;
            assert_int_equal(sq_train(m, &ds, &o, &r, &err), SQ_OK);
            fclose(log);
            fprintf(stderr, "%s, %s:\n%s", sp ? "session-parallel" : "padded",
                    bar ? "bar" : "lines", text);
            if (bar) {
                assert_non_null(strstr(text, "\repoch 1/2 ["));
                assert_non_null(strstr(text, "] 100% loss "));
                assert_non_null(strstr(text, "\repoch 2/2 ["));
            } else {
                assert_true(!strncmp(text, "epoch 1/2 loss ", 15));
                assert_non_null(strstr(text, "\nepoch 2/2 loss "));
            }
            free(text);
            sq_model_free(m);
        }
    }
    sq_dataset_close(&ds);
}

/* with --features gap the time gaps reach training, padded or session-parallel (batches
 * leave them out only for models without the feature): the rows of the buckets in the data
 * (0: first event, 1: under a second) learn, an unused bucket's row does not move (no
 * weight decay) */
static void test_gap_feature_trains(void **s) {
    (void)s;
    char p[1100];
    snprintf(p, sizeof p, "%s/gap.sqd", dir);
    make_dataset(p);
    sq_dataset ds = {0};
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, p, &err), SQ_OK);
    for (int sp = 0; sp < 2; sp++) {
        sq_model_config c = small_gru4rec(8, 8);
        c.use_gap = 1;
        sq_model *m;
        assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
        const int gi = sq_nn_params_find(&m->params, "gap_emb.weight");
        assert_true(gi >= 0);
        float before[3][8];
        for (int row = 0; row < 3; row++)
            memcpy(before[row], sq_nn_param(&m->params, gi) + (size_t)(row == 2 ? 5 : row) * 8,
                   sizeof before[row]);
        sq_train_opts o = {.epochs = 1, .lr = 0.01f,
                           .batching = sp ? SQ_BATCHING_SESSION : SQ_BATCHING_PADDED};
        sq_train_result r;
        assert_int_equal(sq_train(m, &ds, &o, &r, &err), SQ_OK);
        const float *g = sq_nn_param(&m->params, gi);
        assert_memory_not_equal(g, before[0], sizeof before[0]);
        assert_memory_not_equal(g + 8, before[1], sizeof before[1]);
        assert_memory_equal(g + 5 * 8, before[2], sizeof before[2]);
        sq_model_free(m);
    }
    sq_dataset_close(&ds);
}

static int setup(void **state) {
    (void)state;
    const char *tmp = getenv("SQ_TMPDIR");
    snprintf(dir, sizeof dir, "%s/session_batcher", tmp ? tmp : "/tmp");
    mkdir(tmp ? tmp : "/tmp", 0777);
    mkdir(dir, 0777);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_two_slots), cmocka_unit_test(test_schedule_compaction),
        cmocka_unit_test(test_more_slots_than_sequences),
        cmocka_unit_test(test_model_steps_match_sequences),
        cmocka_unit_test(test_train_learns_deterministic),
        cmocka_unit_test(test_train_is_the_documented_loop),
        cmocka_unit_test(test_train_progress_lines), cmocka_unit_test(test_gap_feature_trains)};
    return cmocka_run_group_tests(tests, setup, NULL);
}
