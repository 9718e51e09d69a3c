/* Prediction metrics on cases worked out by hand (and checked against scikit-learn's
 * roc_auc_score, average_precision_score, log_loss): ties, thresholds, calibration bins,
 * the multi-class summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include "shopseq/predict.h"

#define NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-6)

static void test_auc(void **state) {
    (void)state;
    const float p[] = {0.1f, 0.4f, 0.35f, 0.8f};
    const int32_t y[] = {0, 0, 1, 1};
    NEAR(sq_pred_auc(p, y, 4), 0.75);
    /* a positive tied with a negative counts one half: (1 + 0.5 + 2) / 4 */
    const float pt[] = {0.2f, 0.6f, 0.6f, 0.9f};
    NEAR(sq_pred_auc(pt, y, 4), 0.875);
    /* all tied: 0.5 whatever the order */
    const float pa[] = {0.5f, 0.5f, 0.5f, 0.5f};
    const int32_t ya[] = {1, 0, 1, 0};
    NEAR(sq_pred_auc(pa, ya, 4), 0.5);
    /* perfect and reversed */
    const float pp[] = {0.9f, 0.1f, 0.8f};
    const int32_t yp[] = {1, 0, 1};
    NEAR(sq_pred_auc(pp, yp, 3), 1.0);
    const int32_t yr[] = {0, 1, 0};
    NEAR(sq_pred_auc(pp, yr, 3), 0.0);
    /* one class only: undefined */
    const int32_t y1[] = {1, 1, 1};
    assert_true(isnan(sq_pred_auc(pp, y1, 3)));
}

static void test_average_precision(void **state) {
    (void)state;
    const float p[] = {0.1f, 0.4f, 0.35f, 0.8f};
    const int32_t y[] = {0, 0, 1, 1};
    /* 0.5 * 1 + 0.5 * 2/3 */
    NEAR(sq_pred_average_precision(p, y, 4), 0.5 + 1.0 / 3.0);
    /* tied scores are one threshold: 0.5 * 1/2 + 0.5 * 2/3 */
    const float pt[] = {0.6f, 0.6f, 0.2f};
    const int32_t yt[] = {1, 0, 1};
    NEAR(sq_pred_average_precision(pt, yt, 3), 0.25 + 1.0 / 3.0);
    const int32_t y0[] = {0, 0, 0};
    assert_true(isnan(sq_pred_average_precision(pt, y0, 3)));
}

static void test_logloss_threshold(void **state) {
    (void)state;
    const float p[] = {0.9f, 0.2f};
    const int32_t y[] = {1, 0};
    assert_true(fabs(sq_pred_logloss(p, y, 2) - (-(log(0.9) + log(0.8)) / 2)) < 1e-6);
    /* clipping keeps a confident mistake finite */
    const float pc[] = {0.0f};
    const int32_t yc[] = {1};
    double ll = sq_pred_logloss(pc, yc, 1);
    assert_true(isfinite(ll) && ll > 16 && ll < 16.2);

    const float q[] = {0.1f, 0.4f, 0.35f, 0.8f};
    const int32_t z[] = {0, 0, 1, 1};
    /* F1 per threshold: 0.8 -> 2/3, 0.4 -> 1/2, 0.35 -> 4/5, 0.1 -> 2/3 */
    double thr = sq_pred_best_f1_threshold(q, z, 4);
    NEAR(thr, 0.35f);
    sq_pred_binary_metrics m;
    sq_pred_binary_eval(q, z, 4, thr, &m);
    assert_int_equal(m.n, 4);
    assert_int_equal(m.n_pos, 2);
    NEAR(m.f1, 0.8);
    NEAR(m.precision, 2.0 / 3.0);
    NEAR(m.recall, 1.0);
    NEAR(m.accuracy, 0.75);
    NEAR(m.auc, 0.75);
}

static void test_roc_curve(void **state) {
    (void)state;
    const float p[] = {0.1f, 0.4f, 0.35f, 0.8f};
    const int32_t y[] = {0, 0, 1, 1};
    double f[8], t[8];
    /* thresholds 0.8, 0.4, 0.35, 0.1: (0,0) (0,.5) (.5,.5) (.5,1) (1,1) */
    assert_int_equal(sq_pred_roc_curve(p, y, 4, 8, f, t), 5);
    const double wf[] = {0, 0, 0.5, 0.5, 1}, wt[] = {0, 0.5, 0.5, 1, 1};
    for (int i = 0; i < 5; i++) {
        NEAR(f[i], wf[i]);
        NEAR(t[i], wt[i]);
    }
    /* thinned: the ends stay */
    assert_int_equal(sq_pred_roc_curve(p, y, 4, 3, f, t), 3);
    NEAR(f[0], 0);
    NEAR(t[2], 1);
    NEAR(f[2], 1);
    const int32_t y1[] = {1, 1, 1, 1};
    assert_int_equal(sq_pred_roc_curve(p, y1, 4, 8, f, t), 0);
}

static void test_calibration(void **state) {
    (void)state;
    const float p[] = {0.05f, 0.15f, 0.15f, 0.95f, 1.0f};
    const int32_t y[] = {0, 1, 0, 1, 1};
    sq_pred_binary_metrics m;
    sq_pred_binary_eval(p, y, 5, 0.5, &m);
    assert_int_equal(m.calib[0].count, 1);
    NEAR(m.calib[0].mean_pred, 0.05f);
    NEAR(m.calib[0].observed, 0.0);
    assert_int_equal(m.calib[1].count, 2);
    NEAR(m.calib[1].mean_pred, 0.15f);
    NEAR(m.calib[1].observed, 0.5);
    assert_int_equal(m.calib[9].count, 2); /* 1.0 falls in the last bin */
    NEAR(m.calib[9].mean_pred, (0.95f + 1.0f) / 2);
    NEAR(m.calib[9].observed, 1.0);
    for (int b = 2; b < 9; b++) {
        assert_int_equal(m.calib[b].count, 0);
        assert_true(isnan(m.calib[b].observed));
    }
    NEAR(m.precision, 1.0); /* p >= 0.5: the two last, both positive */
    NEAR(m.recall, 2.0 / 3.0);
}

static void test_multi(void **state) {
    (void)state;
    /* 3 classes, 4 examples; predictions 0, 1, 1, 2 for truths 0, 1, 2, 2 */
    const float p[] = {0.7f, 0.2f, 0.1f, /**/ 0.1f, 0.8f, 0.1f, /**/ 0.2f, 0.5f, 0.3f,
                       /**/ 0.1f, 0.1f, 0.8f};
    const int32_t y[] = {0, 1, 2, 2};
    sq_pred_multi_metrics m;
    sq_pred_multi_eval(p, y, 4, 3, &m);
    NEAR(m.accuracy, 0.75);
    /* F1: class 0 1, class 1 2*1/(2+1) = 2/3, class 2 2*1/(1+2) = 2/3 */
    NEAR(m.f1[0], 1.0);
    NEAR(m.f1[1], 2.0 / 3.0);
    NEAR(m.f1[2], 2.0 / 3.0);
    NEAR(m.macro_f1, (1.0 + 4.0 / 3.0) / 3.0);
    NEAR(m.logloss, -(log(0.7) + log(0.8) + log(0.3) + log(0.8)) / 4);
    assert_int_equal(m.support[2], 2);
    NEAR(m.auc[0], 1.0);
    /* class 2 vs rest: scores 0.1, 0.1 (neg) vs 0.3, 0.8 (pos) */
    NEAR(m.auc[2], 1.0);
    /* class 1: pos 0.8; negs 0.2, 0.5, 0.1 */
    NEAR(m.auc[1], 1.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auc),
        cmocka_unit_test(test_average_precision),
        cmocka_unit_test(test_logloss_threshold),
        cmocka_unit_test(test_roc_curve),
        cmocka_unit_test(test_calibration),
        cmocka_unit_test(test_multi),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
