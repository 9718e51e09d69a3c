/* The scorer registry: one line per scorer. */
#include <string.h>

#include "predict/neural.h"
#include "shopseq/predict.h"

static const sq_pred_scorer_ops *const scorers[] = {
    &sq_pred_logistic_ops,
    &sq_pred_neural_ops,
};

void sq_pred_scorer_opts_default(sq_pred_scorer_opts *o) {
    memset(o, 0, sizeof *o);
    o->l2 = 1e-3;
    o->max_iter = 200;
    o->seed = 42;
    o->with_features = 1;
}

static const sq_pred_scorer_ops *find(const char *name) {
    for (size_t i = 0; i < sizeof scorers / sizeof *scorers; i++)
        if (!strcmp(scorers[i]->name, name)) return scorers[i];
    return NULL;
}

int sq_pred_scorer_known(const char *name) { return find(name) != NULL; }

sq_status sq_pred_scorer_create(sq_pred_scorer **s, const char *name,
                                const sq_pred_scorer_opts *o, sq_error *err) {
    *s = NULL;
    const sq_pred_scorer_ops *ops = find(name);
    if (!ops)
        return sq_error_set(err, SQ_ERR_NOT_FOUND, "scorer '%s' is not available in this build",
                            name);
    return ops->create(s, o, err);
}

void sq_pred_scorer_free(sq_pred_scorer *s) {
    if (s) s->ops->destroy(s);
}
