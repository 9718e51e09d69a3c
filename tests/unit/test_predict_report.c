/* The predictions file read back (what the report draws): every scorer row whatever its
 * name, null metrics as NaN, failed tasks with their reason, and refusals of files that are
 * not predictions files (a bare `predict --evaluate --json` document has no dataset). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shopseq/predict_report.h"

static char *write_tmp(const char *text) {
    char *path = strdup("/tmp/sq_pred_report_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static const char CAL[] =
    "[{\"lo\":0,\"hi\":0.1,\"count\":6,\"mean_predicted\":0.05,\"observed\":0.0},"
    "{\"lo\":0.1,\"hi\":0.2,\"count\":0,\"mean_predicted\":null,\"observed\":null},"
    "{\"count\":0},{\"count\":0},{\"count\":0},{\"count\":0},{\"count\":0},{\"count\":0},"
    "{\"count\":0},{\"lo\":0.9,\"hi\":1,\"count\":4,\"mean_predicted\":0.95,\"observed\":1.0}]";

static void test_load(void **state) {
    (void)state;
    char text[8192];
    snprintf(text, sizeof text,
             "{\"dataset\":\"shop.sqd\",\"users\":10,\"items\":7,\"events\":99,\"seconds\":0.5,"
             "\"tasks\":["
             "{\"task\":\"purchase\",\"horizon\":\"7d\",\"cut\":\"2024-02-23T00:00:00Z\","
             "\"train_cut\":\"2024-02-16T00:00:00Z\",\"examples\":{\"test\":{\"n\":10,\"positives\":4}},"
             "\"scorers\":["
             "{\"scorer\":\"logistic\",\"label\":\"logistic (RFM)\",\"fit_seconds\":0.1,\"test\":"
             "{\"n\":10,\"positives\":4,\"roc_auc\":0.75,\"pr_auc\":0.6,\"log_loss\":0.5,\"threshold\":0.4,"
             "\"accuracy\":0.7,\"precision\":0.6,\"recall\":0.75,\"f1\":null,\"calibration\":%s,"
             "\"roc\":{\"fpr\":[0,0.5,1],\"tpr\":[0,0.75,1]}}},"
             "{\"scorer\":\"neural\",\"label\":\"sasrec + MLP\",\"fit_seconds\":3,\"test\":"
             "{\"n\":10,\"positives\":4,\"roc_auc\":0.8,\"calibration\":%s,"
             "\"roc\":{\"fpr\":[0,1],\"tpr\":[0,1]}}}]},"
             "{\"task\":\"churn\",\"error\":\"no labelled examples at the test cut\"},"
             "{\"task\":\"next-behavior\",\"horizon\":\"7d\",\"classes\":[\"view\",\"buy\"],"
             "\"examples\":{\"test\":{\"n\":5}},\"scorers\":[{\"scorer\":\"logistic\",\"label\":\"l\","
             "\"test\":{\"n\":5,\"accuracy\":0.8,\"macro_f1\":0.5,\"log_loss\":0.4,"
             "\"auc\":{\"view\":0.6,\"buy\":null},\"f1\":{\"view\":0.9,\"buy\":0.1},"
             "\"support\":{\"view\":4,\"buy\":1}}}]}]}",
             CAL, CAL);
    char *path = write_tmp(text);
    sq_pred_summary *s = malloc(sizeof *s);
    sq_error err = {0};
    assert_int_equal(sq_pred_summary_load(s, path, &err), SQ_OK);
    assert_string_equal(s->dataset, "shop.sqd");
    assert_int_equal(s->users, 10);
    assert_int_equal(s->items, 7);
    assert_int_equal(s->events, 99);
    assert_int_equal(s->n_tasks, 3);
    const sq_pred_sum_task *p = &s->tasks[0];
    assert_true(p->binary);
    assert_int_equal(p->n_scorers, 2);
    assert_int_equal(p->test_n, 10);
    assert_int_equal(p->test_pos, 4);
    assert_string_equal(p->scorers[1].name, "neural"); /* any scorer, read alike */
    assert_true(fabs(p->scorers[0].test.auc - 0.75) < 1e-12);
    assert_true(isnan(p->scorers[0].test.f1));         /* null */
    assert_true(isnan(p->scorers[1].test.ap));         /* absent */
    assert_int_equal(p->scorers[0].roc_n, 3);
    assert_true(fabs(p->scorers[0].tpr[1] - 0.75) < 1e-12);
    assert_int_equal(p->scorers[0].test.calib[9].count, 4);
    assert_true(isnan(p->scorers[0].test.calib[1].mean_pred));
    assert_true(fabs(sq_pred_sum_auc(p, &p->scorers[1]) - 0.8) < 1e-12);
    assert_string_equal(s->tasks[1].error, "no labelled examples at the test cut");
    const sq_pred_sum_task *nb = &s->tasks[2];
    assert_false(nb->binary);
    assert_int_equal(nb->n_classes, 2);
    assert_int_equal(nb->scorers[0].test_multi.support[1], 1);
    /* mean one-vs-rest AUC over the classes that have one */
    assert_true(fabs(sq_pred_sum_auc(nb, &nb->scorers[0]) - 0.6) < 1e-12);
    FILE *devnull = fopen("/dev/null", "w");
    sq_pred_summary_write_table(devnull, s);
    fclose(devnull);
    unlink(path);
    free(path);
    free(s);
}

static void test_refusals(void **state) {
    (void)state;
    const char *bad[] = {
        /* a bare predict --evaluate --json document: no dataset identity */
        "{\"task\":\"purchase\",\"scorers\":[]}",
        /* an unknown task */
        "{\"users\":1,\"items\":1,\"events\":1,\"tasks\":[{\"task\":\"nope\",\"error\":\"x\"}]}",
        /* ROC points outside [0, 1] */
        "{\"users\":1,\"items\":1,\"events\":1,\"tasks\":[{\"task\":\"purchase\",\"examples\":"
        "{\"test\":{\"n\":1,\"positives\":1}},\"scorers\":[{\"scorer\":\"logistic\",\"test\":"
        "{\"n\":1,\"positives\":1,\"roc\":{\"fpr\":[0,2],\"tpr\":[0,1]}}}]}]}",
        "not json",
    };
    sq_pred_summary *s = malloc(sizeof *s);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *path = write_tmp(bad[i]);
        sq_error err = {0};
        assert_int_equal(sq_pred_summary_load(s, path, &err), SQ_ERR_FORMAT);
        assert_true(err.msg[0] != 0);
        unlink(path);
        free(path);
    }
    free(s);
}

static void test_duration(void **state) {
    (void)state;
    char b[32];
    sq_pred_fmt_duration(7 * 86400000LL, b, sizeof b);
    assert_string_equal(b, "7d");
    sq_pred_fmt_duration(36 * 3600000LL, b, sizeof b);
    assert_string_equal(b, "36h");
    sq_pred_fmt_duration(5400000, b, sizeof b);
    assert_string_equal(b, "5400s");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_duration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
