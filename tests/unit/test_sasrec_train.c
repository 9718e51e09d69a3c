/* Training end to end on a tiny learnable dataset: learning happens, runs are
 * deterministic, resume is exact, checkpoints round-trip and damaged ones are refused,
 * evaluation and recommendation agree. */
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
#include "shopseq/safetensors.h"
#include "shopseq/train.h"
#include "test_dataset.h"

enum { NU = 64, NI = 24, LEN = 12 };
static char dir[1024];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

/* user u walks the items cyclically with a user-specific stride 1 or 2 */
static void make_dataset(const char *path) {
    static uint32_t item[NU * LEN];
    static uint8_t beh[NU * LEN];
    static int64_t t[NU * LEN];
    for (int u = 0; u < NU; u++)
        for (int j = 0; j < LEN; j++) {
            int e = u * LEN + j;
            item[e] = (uint32_t)((u + j * (1 + u % 2)) % NI);
            beh[e] = (uint8_t)(j % 3);
            t[e] = 1000 * j;
        }
    sq_error err = {0};
    if (test_write_users(path, NU, NI, LEN, item, t, beh, &err) != SQ_OK) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(err.status, SQ_OK);
}

static sq_model_config small_cfg(void) {
    sq_model_config c;
    sq_model_config_default(&c);
    c.n_items = NI;
    c.dim = 16;
    c.heads = 2;
    c.maxlen = 8;
    c.batch = 16;
    c.dropout = 0.1f;
    c.seed = 7;
    return c;
}

static int setup(void **state) {
    (void)state;
    const char *tmp = getenv("SQ_TMPDIR");
    snprintf(dir, sizeof dir, "%s/sasrec_train", tmp ? tmp : "/tmp");
    mkdir(tmp ? tmp : "/tmp", 0777);
    mkdir(dir, 0777);
    char p[1100];
    path_of(p, sizeof p, "tiny.sqd");
    make_dataset(p);
    return 0;
}

static sq_model *train_once(const sq_dataset *ds, sq_loss_kind loss, int epochs, const char *out,
                            const char *resume, sq_train_result *r) {
    sq_model *m;
    sq_error err = {0};
    if (resume) assert_int_equal(sq_model_load(&m, resume, &err), SQ_OK);
    else {
        sq_model_config c = small_cfg();
        c.loss = loss;
        c.negatives = loss == SQ_LOSS_SAMPLED ? 4 : 1;
        assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
    }
    sq_train_opts o = {.epochs = epochs, .lr = 0.01f, .out = out, .resume = resume};
    if (sq_train(m, ds, &o, r, &err) != SQ_OK) fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(err.status, SQ_OK);
    return m;
}

static void test_learns_and_is_deterministic(void **state) {
    (void)state;
    char p[1100];
    path_of(p, sizeof p, "tiny.sqd");
    sq_dataset ds = {0};
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, p, &err), SQ_OK);
    for (int loss = 0; loss < 3; loss++) {
        sq_train_result r;
        sq_model *a = train_once(&ds, (sq_loss_kind)loss, 30, NULL, NULL, &r);
        sq_model *b = train_once(&ds, (sq_loss_kind)loss, 30, NULL, NULL, &r);
        assert_memory_equal(a->params.data, b->params.data, a->params.total * sizeof(float));
        sq_eval_opts eo = {.split = SQ_SPLIT_TEST, .protocol = SQ_PROTOCOL_FULL, .mask_history = 0};
        sq_eval_result er;
        assert_int_equal(sq_evaluate(a, &ds, &eo, &er, &err), SQ_OK);
        fprintf(stderr, "  loss %s: train loss %.3f, test HR@1 %.3f HR@5 %.3f NDCG@10 %.3f\n",
                sq_loss_name((sq_loss_kind)loss), r.last_loss, er.hr[0], er.hr[1], er.ndcg[2]);
        assert_int_equal(er.n_users, NU);
        assert_true(er.hr[1] > 0.6); /* random would be 5/24 */
        /* metrics are consistent: HR increasing in K, NDCG <= HR, MRR <= NDCG */
        for (int k = 0; k < SQ_EVAL_NK; k++) {
            if (k) assert_true(er.hr[k] >= er.hr[k - 1]);
            assert_true(er.ndcg[k] <= er.hr[k] + 1e-12 && er.mrr[k] <= er.ndcg[k] + 1e-12);
        }
        sq_model_free(a);
        sq_model_free(b);
    }
    sq_dataset_close(&ds);
}

static void test_resume_checkpoint_recommend(void **state) {
    (void)state;
    char p[1100], c1[1100], c2[1100], c3[1100], bad[1100];
    path_of(p, sizeof p, "tiny.sqd");
    path_of(c1, sizeof c1, "e2.safetensors");
    path_of(c2, sizeof c2, "e4.safetensors");
    path_of(c3, sizeof c3, "e4r.safetensors");
    path_of(bad, sizeof bad, "bad.safetensors");
    sq_dataset ds = {0};
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, p, &err), SQ_OK);
    sq_train_result r;
    sq_model *full = train_once(&ds, SQ_LOSS_BCE, 4, c2, NULL, &r);
    sq_model *half = train_once(&ds, SQ_LOSS_BCE, 2, c1, NULL, &r);
    sq_model *resumed = train_once(&ds, SQ_LOSS_BCE, 4, c3, c1, &r);
    assert_int_equal(r.epochs_run, 2);
    assert_memory_equal(full->params.data, resumed->params.data, full->params.total * 4);
    assert_memory_equal(full->params.m, resumed->params.m, full->params.total * 4);
    assert_int_equal(full->params.step, resumed->params.step);

    /* load gives identical scores */
    sq_model *loaded;
    assert_int_equal(sq_model_load(&loaded, c2, &err), SQ_OK);
    assert_memory_equal(full->params.data, loaded->params.data, full->params.total * 4);
    assert_int_equal(sq_check_fingerprint(c2, &ds, &err), SQ_OK);
    uint32_t users[3] = {0, 5, 63}, it1[15], it2[15];
    float s1[15], s2[15];
    assert_int_equal(sq_recommend(full, &ds, users, 3, 5, 1, it1, s1, &err), SQ_OK);
    assert_int_equal(sq_recommend(loaded, &ds, users, 3, 5, 1, it2, s2, &err), SQ_OK);
    assert_memory_equal(it1, it2, sizeof it1);
    for (int i = 0; i < 15; i++) {
        if (i % 5) assert_true(s1[i] <= s1[i - 1]);
        /* masked: never an item the user already had */
        uint32_t u = users[i / 5];
        for (uint64_t e = ds.user_offsets[u]; e < ds.user_offsets[u + 1]; e++)
            assert_true(ds.item[e] != it1[i]);
    }

    /* damaged files are refused with a clear message */
    FILE *f = fopen(c2, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    sq_model *x = NULL;
    for (int kind = 0; kind < 4; kind++) {
        f = fopen(bad, "wb");
        if (kind == 0) fwrite(buf, 1, (size_t)n - 100, f);             /* truncated */
        else if (kind == 1) {                                           /* flipped data byte */
            buf[n - 50] ^= 1;
            fwrite(buf, 1, (size_t)n, f);
            buf[n - 50] ^= 1;
        } else if (kind == 2) fwrite(buf, 1, 5, f);                     /* tiny */
        else {                                                          /* header length lie */
            char h[8] = {(char)0xff, (char)0xff, 0, 0, 0, 0, 0, 0};
            fwrite(h, 1, 8, f);
            fwrite(buf + 8, 1, (size_t)n - 8, f);
        }
        fclose(f);
        sq_status st = sq_model_load(&x, bad, &err);
        fprintf(stderr, "  damaged %d: %s\n", kind, err.msg);
        assert_true(st != SQ_OK);
        assert_null(x);
        assert_true(strlen(err.msg) > 10);
    }
    free(buf);
    sq_model_free(full);
    sq_model_free(half);
    sq_model_free(resumed);
    sq_model_free(loaded);
    sq_dataset_close(&ds);
}

/* reduce on plateau: where plain early stopping stops, --lr-drop goes back to the best
 * epoch with a smaller step and trains on; the drop count survives a checkpoint */
static void test_lr_drop_on_plateau(void **state) {
    (void)state;
    char p[1100], ck[1100];
    path_of(p, sizeof p, "tiny.sqd");
    path_of(ck, sizeof ck, "drop.safetensors");
    sq_dataset ds = {0};
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, p, &err), SQ_OK);
    sq_model_config c = small_cfg();
    sq_model *a, *b;
    assert_int_equal(sq_model_create(&a, &c, &err), SQ_OK);
    assert_int_equal(sq_model_create(&b, &c, &err), SQ_OK);
    /* a large step that overshoots, so validation stalls within a few epochs */
    sq_train_opts o = {.epochs = 60, .lr = 0.05f, .eval_every = 1, .patience = 2};
    sq_train_result ra, rb;
    assert_int_equal(sq_train(a, &ds, &o, &ra, &err), SQ_OK);
    assert_true(ra.epochs_run < 60); /* stopped early */
    assert_int_equal(ra.lr_drops_done, 0);
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *log = open_memstream(&logbuf, &loglen);
    o.lr_drop = 0.1f, o.lr_drops = 2, o.log = log, o.out = ck;
    assert_int_equal(sq_train(b, &ds, &o, &rb, &err), SQ_OK);
    fclose(log);
    /* identical up to the first plateau, then it goes on from the best epoch */
    assert_true(rb.epochs_run > ra.epochs_run);
    assert_true(rb.lr_drops_done >= 1 && rb.lr_drops_done <= 2);
    assert_true(rb.best_ndcg10 >= ra.best_ndcg10);
    char want[64];
    snprintf(want, sizeof want, "plateau: back to epoch %d, learning rate 0.005", ra.best_epoch);
    assert_non_null(strstr(logbuf, want));
    /* the best weights are what the run leaves behind, and what it saved */
    sq_model *saved;
    assert_int_equal(sq_model_load(&saved, ck, &err), SQ_OK);
    assert_memory_equal(saved->params.data, b->params.data, b->params.total * sizeof(float));
    /* the checkpoint (the best epoch) records the drops taken before it; resuming with the
     * same flags continues from there and never exceeds --lr-drops in all */
    sq_st_file f;
    assert_int_equal(sq_st_read(&f, ck, &err), SQ_OK);
    const char *dd = sq_st_meta(&f, "lr_drops_done");
    assert_non_null(dd);
    const int before = atoi(dd);
    sq_st_free(&f);
    assert_true(before <= rb.lr_drops_done);
    sq_train_result rr;
    char *log2 = NULL;
    size_t len2 = 0;
    o.log = open_memstream(&log2, &len2), o.out = NULL, o.resume = ck;
    assert_int_equal(sq_train(saved, &ds, &o, &rr, &err), SQ_OK);
    fclose(o.log);
    int lines = 0;
    for (const char *q = log2; (q = strstr(q, "plateau:")); q++) lines++;
    assert_int_equal(lines, rr.lr_drops_done - before);
    assert_true(rr.lr_drops_done <= 2);
    free(log2);
    /* a resumed run that never beats its checkpoint (a step size that wrecks the model)
     * leaves and saves the checkpoint's weights, not its last epoch's */
    sq_model *again;
    assert_int_equal(sq_model_load(&again, ck, &err), SQ_OK);
    char ck2[1100];
    path_of(ck2, sizeof ck2, "worse.safetensors");
    sq_train_opts bad = {.epochs = 300, .lr = 5.0f, .eval_every = 1, .patience = 2, .out = ck2,
                         .resume = ck};
    sq_train_result rw;
    assert_int_equal(sq_train(again, &ds, &bad, &rw, &err), SQ_OK);
    assert_int_equal(rw.best_epoch, 0);
    sq_model *kept;
    assert_int_equal(sq_model_load(&kept, ck2, &err), SQ_OK);
    sq_model *orig;
    assert_int_equal(sq_model_load(&orig, ck, &err), SQ_OK);
    assert_memory_equal(kept->params.data, orig->params.data, orig->params.total * sizeof(float));
    assert_memory_equal(again->params.data, orig->params.data, orig->params.total * sizeof(float));
    /* a checkpoint whose training state is not a number is refused, naming key and value */
    char ck3[1100];
    path_of(ck3, sizeof ck3, "badmeta.safetensors");
    const char *badmeta[] = {"train_epoch", "3", "lr_drops_done", "x1", NULL};
    assert_int_equal(sq_model_save(orig, ck3, badmeta, 1, &err), SQ_OK);
    bad.resume = ck3, bad.out = NULL;
    assert_int_equal(sq_train(orig, &ds, &bad, &rw, &err), SQ_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "'lr_drops_done' is 'x1'"));
    assert_non_null(strstr(err.msg, ck3));
    sq_model_free(kept);
    sq_model_free(orig);
    sq_model_free(again);
    free(logbuf);
    sq_model_free(saved);
    sq_model_free(a);
    sq_model_free(b);
    sq_dataset_close(&ds);
}

int main(void) {
    sq_nn_init(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_and_is_deterministic),
        cmocka_unit_test(test_resume_checkpoint_recommend),
        cmocka_unit_test(test_lr_drop_on_plateau),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
