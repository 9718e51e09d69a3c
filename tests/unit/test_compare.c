/* The comparison's JSON (written by compare and run, read back by analyze --compare): a
 * round trip gives the same bytes, malformed files are refused, and the reading line names
 * the leader the right way round. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shopseq/compare.h"
#include "test_util.h"

static void row(sq_compare_result *r, const char *model, double ndcg10) {
    sq_compare_row *w = &r->rows[r->n_models++];
    snprintf(w->model, sizeof w->model, "%s", model);
    w->ok = 1;
    w->ev.n_users = 2000;
    w->ev.hr[2] = 1.5 * ndcg10, w->ev.ndcg[2] = ndcg10, w->ev.mrr[2] = 0.8 * ndcg10;
    w->ev.hr[3] = 1.8 * ndcg10, w->ev.ndcg[3] = 1.1 * ndcg10, w->ev.mrr[3] = 0.85 * ndcg10;
    w->coverage10 = 0.125;
    w->train_s = 12.5;
    w->events_per_s = 54321.5;
    w->epochs_run = 3;
    w->best_epoch = sq_compare_is_baseline(model) ? 0 : 2;
    w->params = 332160;
    w->peak_rss_kb = 36864; /* 36.0 MB: exact in the JSON's 0.1 MB */
}

static sq_compare_result *sample(void) {
    sq_compare_result *r = calloc(1, sizeof *r);
    snprintf(r->dataset, sizeof r->dataset, "runs/\"x\"\\shop.sqd");
    r->users = 20000, r->items = 9954, r->events = 2021284;
    row(r, "pop", 0.0866);
    row(r, "markov", 0.25);
    row(r, "sasrec", 0.3075);
    sq_compare_row *f = &r->rows[r->n_models++];
    snprintf(f->model, sizeof f->model, "caser");
    snprintf(f->error, sizeof f->error, "out of memory\tin \"conv\"");
    return r;
}

static char *to_json(const sq_compare_result *r) {
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);
    sq_compare_write_json(fp, r);
    fclose(fp);
    return buf;
}

static void test_round_trip(void **state) {
    (void)state;
    sq_compare_result *r = sample(), *back = malloc(sizeof *back);
    char *path = test_path("compare.json");
    sq_error err = {0};
    assert_int_equal(sq_compare_save_json(r, path, &err), SQ_OK);
    assert_int_equal(sq_compare_load_json(back, path, &err), SQ_OK);
    char *a = to_json(r), *b = to_json(back);
    assert_string_equal(a, b);
    assert_int_equal(back->n_models, 4);
    assert_int_equal(sq_compare_failed(back), 1);
    assert_string_equal(back->rows[3].error, "out of memory\tin \"conv\"");
    assert_int_equal(back->session, 0);
    unlink(path);
    free(a), free(b), free(path), free(r), free(back);
}

static void test_refuses_malformed(void **state) {
    (void)state;
    sq_compare_result *back = malloc(sizeof *back);
    char *path = test_path("bad.json");
    const char *bad[] = {
        "not json",
        "{\"dataset\":\"d\",\"users\":1,\"items\":1,\"events\":1}",
        "{\"dataset\":\"d\",\"users\":1,\"items\":1,\"events\":1,\"protocol\":\"p\",\"models\":[{\"ok\":true}]}",
        "{\"dataset\":\"d\",\"users\":1,\"items\":1,\"events\":1,\"protocol\":\"p\",\"models\":[{\"model\":\"pop\",\"ok\":true,\"test_users\":1}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_bytes(path, bad[i], strlen(bad[i]));
        sq_error err = {0};
        assert_int_not_equal(sq_compare_load_json(back, path, &err), SQ_OK);
        assert_true(err.msg[0] != 0);
    }
    unlink(path);
    free(path), free(back);
}

static void test_reading(void **state) {
    (void)state;
    sq_compare_result *r = sample();
    char buf[512];
    sq_compare_reading(r, buf, sizeof buf);
    assert_string_equal(buf, "sasrec leads NDCG@10 by 23% over the best baseline (markov): 0.3075 vs 0.2500.");
    r->rows[2].ev.ndcg[2] = 0.2;
    sq_compare_reading(r, buf, sizeof buf);
    assert_non_null(strstr(buf, "The best baseline (markov) leads NDCG@10: the best neural model (sasrec) reaches 80%"));
    r->n_models = 2; /* baselines only */
    sq_compare_reading(r, buf, sizeof buf);
    assert_string_equal(buf, "markov has the best NDCG@10 (0.2500) of the 2 models.");
    free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_refuses_malformed),
        cmocka_unit_test(test_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
