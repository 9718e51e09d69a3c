/* A saved scorer applied to one user's events: the same feature code as sq_pred_build, the
 * same standardisation arithmetic as sq_pred_norm_apply and the same sq_logreg_predict (or
 * the neural scorer's own predict, on a one-example batch), so that a served probability
 * equals the offline one on the same history. */
#include <omp.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"
#include "shopseq/predict_model.h"

int sq_pred_model_eligible(const sq_pred_model *m, const sq_dataset *ds, uint64_t b, uint64_t p,
                           int64_t cut_ms) {
    return p > b && sq__pred_eligible(&m->cfg, ds->time_ms[p - 1], cut_ms);
}

/* The neural scorer on events [b, p) and the standardised row; 0 when it cannot score. */
static int neural_score(const sq_pred_model *m, const sq_dataset *ds, uint64_t b, uint64_t p,
                        int64_t cut_ms, float *row, float *probs) {
    uint64_t known = 0; /* the encoder reads known items only; none: nothing to encode */
    for (uint64_t i = b; i < p; i++) known += ds->item[i] < m->n_items;
    if (!known) return 0;
    uint32_t user = 0, item = SQ_NONE;
    int64_t cut = cut_ms;
    int32_t label = -1;
    uint64_t sb = b, se = p;
    sq_pred_examples ex = {.ds = ds, .task = m->cfg.task, .n = 1, .n_features = m->n_features,
                           .n_classes = m->n_classes, .horizon_ms = m->cfg.horizon_ms,
                           .user = &user, .item = &item, .cut_ms = &cut, .label = &label,
                           .seq_begin = &sb, .seq_end = &se, .x = row,
                           .feature_names = sq__pred_feature_names};
    memcpy(ex.class_behavior, m->class_behavior, sizeof ex.class_behavior);
    /* one sequence: a team of threads only costs (and this thread's setting is restored) */
    int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    if (m->lock_) pthread_mutex_lock(m->lock_);
    sq_status st = sq_pred_scorer_predict(m->neural, &ex, probs, NULL);
    if (m->lock_) pthread_mutex_unlock(m->lock_);
    omp_set_num_threads(threads);
    return st == SQ_OK;
}

uint64_t sq_pred_model_score(const sq_pred_model *m, const sq_dataset *ds, uint64_t b,
                             uint64_t e, int64_t cut_ms, float *row, float *probs) {
    uint64_t p = sq__pred_lower_bound(ds, b, e, cut_ms);
    if (p > b) {
        sq__pred_user_features(ds, &m->cfg, b, p, cut_ms, row);
        for (int j = 0; j < m->n_features; j++)
            row[j] = (float)((row[j] - m->mean[j]) / m->std[j]);
        if (!m->neural) {
            sq_logreg_predict(&m->lr, row, 1, probs);
            return p - b;
        }
        if (neural_score(m, ds, b, p, cut_ms, row, probs)) return p - b;
    }
    for (int c = 0; c < m->n_outputs; c++) probs[c] = (float)m->base_rate[c];
    return 0;
}
