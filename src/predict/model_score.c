/* A saved scorer applied to one user's events: the same feature code as sq_pred_build, the
 * same standardisation arithmetic as sq_pred_norm_apply and the same sq_logreg_predict, so
 * that a served probability equals the offline one bit for bit on the same history. */
#include "internal.h"
#include "shopseq/predict_model.h"

int sq_pred_model_eligible(const sq_pred_model *m, const sq_dataset *ds, uint64_t b, uint64_t p,
                           int64_t cut_ms) {
    return p > b && sq__pred_eligible(&m->cfg, ds->time_ms[p - 1], cut_ms);
}

uint64_t sq_pred_model_score(const sq_pred_model *m, const sq_dataset *ds, uint64_t b,
                             uint64_t e, int64_t cut_ms, float *row, float *probs) {
    uint64_t p = sq__pred_lower_bound(ds, b, e, cut_ms);
    if (p == b) {
        for (int c = 0; c < m->n_outputs; c++) probs[c] = (float)m->base_rate[c];
        return 0;
    }
    sq__pred_user_features(ds, &m->cfg, b, p, cut_ms, row);
    for (int j = 0; j < m->n_features; j++) row[j] = (float)((row[j] - m->mean[j]) / m->std[j]);
    sq_logreg_predict(&m->lr, row, 1, probs);
    return p - b;
}
