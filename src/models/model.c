/* The model registry and shared helpers. */
#include <string.h>

#include "shopseq/model.h"

static const sq_model_ops *const registry[] = {&sq_sasrec_ops};

static const char *const loss_names[] = {"bce", "ce", "sampled"};

const char *sq_loss_name(sq_loss_kind k) {
    return (unsigned)k < sizeof loss_names / sizeof *loss_names ? loss_names[k] : "?";
}

int sq_loss_from_name(const char *s) {
    for (int i = 0; i < (int)(sizeof loss_names / sizeof *loss_names); i++)
        if (!strcmp(s, loss_names[i])) return i;
    return -1;
}

void sq_model_config_default(sq_model_config *c) {
    memset(c, 0, sizeof *c);
    strcpy(c->model, "sasrec");
    c->dim = 50;
    c->blocks = 2;
    c->heads = 1;
    c->maxlen = 200;
    c->dropout = 0.2f;
    c->loss = SQ_LOSS_BCE;
    c->negatives = 1;
    c->batch = 128;
    c->ln_eps = 1e-8f;
    c->seed = 42;
}

sq_status sq_model_create(sq_model **m, const sq_model_config *cfg, sq_error *err) {
    *m = NULL;
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
        if (!strcmp(cfg->model, registry[i]->name)) return registry[i]->create(m, cfg, err);
    return sq_error_set(err, SQ_ERR_USAGE, "unknown model '%s' (known: sasrec)", cfg->model);
}

void sq_model_free(sq_model *m) {
    if (m) m->ops->destroy(m);
}
