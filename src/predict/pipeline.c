/* The evaluation protocol: train at cut - h, choose on a held-out part of those users,
 * measure at the cut. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

sq_status sq_pred_prepare(const sq_dataset *ds, const sq_pred_config *cfg, int64_t cut_ms,
                          int target_labels, double valid_share, sq_pred_data *d,
                          sq_error *err) {
    memset(d, 0, sizeof *d);
    d->cut_ms = cut_ms;
    d->train_cut_ms = cut_ms - cfg->horizon_ms;
    sq_pred_examples all;
    sq_status st = sq_pred_build(ds, cfg, d->train_cut_ms, 1, &all, err);
    if (st != SQ_OK) return st;
    /* earlier cuts stack more examples; the split below is by user, so a user's rows at
     * every cut land on the same side */
    for (int k = 2; k <= cfg->train_cuts && st == SQ_OK && all.n < SQ_PRED_STACK_ENOUGH; k++) {
        sq_pred_examples more;
        st = sq_pred_build(ds, cfg, cut_ms - k * cfg->horizon_ms, 1, &more, err);
        if (st == SQ_OK && sq__pred_append(&all, &more) != 0)
            st = sq_error_set(err, SQ_ERR_NOMEM, "stacking training cuts");
        sq_pred_examples_free(&more);
    }
    if (st == SQ_OK) st = sq_pred_split(&all, valid_share, cfg->seed, &d->fit, &d->valid, err);
    sq_pred_examples_free(&all);
    if (st == SQ_OK) st = sq_pred_build(ds, cfg, cut_ms, target_labels, &d->target, err);
    if (st == SQ_OK && d->fit.n == 0)
        st = sq_error_set(err, SQ_ERR_USAGE, "no training examples at the training cut (the "
                          "cut minus one horizon): move --cut later or shorten --horizon");
    if (st == SQ_OK && cfg->task != SQ_PRED_NEXT_BEHAVIOR) {
        uint64_t pos = 0;
        for (size_t i = 0; i < d->fit.n; i++) pos += d->fit.label[i] == 1;
        if (pos == 0 || pos == d->fit.n)
            st = sq_error_set(err, SQ_ERR_USAGE, "the %zu training examples all have label %d: "
                              "nothing to learn (try another --horizon or --cut)",
                              d->fit.n, pos ? 1 : 0);
    }
    if (st == SQ_OK) st = sq_pred_norm_fit(&d->norm, &d->fit, err);
    if (st != SQ_OK) {
        sq_pred_data_free(d);
        return st;
    }
    sq_pred_norm_apply(&d->norm, &d->fit);
    sq_pred_norm_apply(&d->norm, &d->valid);
    sq_pred_norm_apply(&d->norm, &d->target);
    return SQ_OK;
}

void sq_pred_data_free(sq_pred_data *d) {
    if (!d) return;
    sq_pred_examples_free(&d->fit);
    sq_pred_examples_free(&d->valid);
    sq_pred_examples_free(&d->target);
    sq_pred_norm_free(&d->norm);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void measure(const sq_pred_examples *ex, const float *p, double thr,
                    sq_pred_binary_metrics *bm, sq_pred_multi_metrics *mm) {
    if (sq_pred_is_binary(ex)) sq_pred_binary_eval(p, ex->label, ex->n, thr, bm);
    else sq_pred_multi_eval(p, ex->label, ex->n, ex->n_classes, mm);
}

sq_status sq_pred_run(sq_pred_scorer *s, const sq_pred_data *d, float *probs,
                      sq_pred_result *r, sq_error *err) {
    memset(r, 0, sizeof *r);
    snprintf(r->label, sizeof r->label, "%s", s->label);
    double t0 = now();
    sq_status st = sq_pred_scorer_fit(s, &d->fit, &d->valid, err);
    if (st != SQ_OK) return st;
    r->fit_seconds = now() - t0;
    int k = sq_pred_n_outputs(&d->fit);
    size_t nv = d->valid.n, nt = d->target.n;
    float *pv = malloc((nv ? nv : 1) * (size_t)k * sizeof *pv);
    float *pt = probs ? probs : malloc((nt ? nt : 1) * (size_t)k * sizeof *pt);
    if (!pv || !pt) {
        free(pv);
        if (!probs) free(pt);
        return sq_error_set(err, SQ_ERR_NOMEM, "predictions");
    }
    r->threshold = 0.5;
    if (nv) {
        st = sq_pred_scorer_predict(s, &d->valid, pv, err);
        if (st == SQ_OK && k == 1) r->threshold = sq_pred_best_f1_threshold(pv, d->valid.label, nv);
        if (st == SQ_OK) measure(&d->valid, pv, r->threshold, &r->valid, &r->valid_multi);
    }
    if (st == SQ_OK && nt) st = sq_pred_scorer_predict(s, &d->target, pt, err);
    if (st == SQ_OK && nt && d->target.has_labels)
        measure(&d->target, pt, r->threshold, &r->target, &r->target_multi);
    free(pv);
    if (!probs) free(pt);
    return st;
}
