/* The model registry and shared helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/model.h"

static const sq_model_ops *const registry[] = {
    &sq_sasrec_ops, &sq_gru4rec_ops, &sq_lstm_ops, &sq_caser_ops, &sq_bert4rec_ops,
    &sq_pop_ops, &sq_markov_ops, &sq_itemknn_ops,
};

static const char *const loss_names[] = {"bce", "ce", "sampled", "shared", "bpr-max"};

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
    c->bpreg = 1.0f;
    c->final_elu = 0.5f;
}

sq_status sq_model_create(sq_model **m, const sq_model_config *cfg, sq_error *err) {
    *m = NULL;
    if (cfg->loss == SQ_LOSS_SHARED && strcmp(cfg->model, "bert4rec") &&
        strcmp(cfg->model, "gru4rec") && strcmp(cfg->model, "lstm") && strcmp(cfg->model, "caser"))
        return sq_error_set(err, SQ_ERR_USAGE,
                            "%s: --loss shared is for bert4rec, gru4rec, lstm and caser", cfg->model);
    if (cfg->loss == SQ_LOSS_BPRMAX && strcmp(cfg->model, "gru4rec") && strcmp(cfg->model, "lstm"))
        return sq_error_set(err, SQ_ERR_USAGE, "%s: --loss bpr-max is for gru4rec and lstm",
                            cfg->model);
    if (cfg->bpreg < 0.0f || cfg->final_elu < 0.0f)
        return sq_error_set(err, SQ_ERR_USAGE, "%s: bpreg %g and final_elu %g must be >= 0",
                            cfg->model, (double)cfg->bpreg, (double)cfg->final_elu);
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
        if (!strcmp(cfg->model, registry[i]->name)) {
            if (registry[i]->fit_batch && (cfg->use_category || cfg->use_price || cfg->use_gap))
                return sq_error_set(err, SQ_ERR_USAGE, "%s: side features (category, price, "
                                    "gap) are for the neural models", cfg->model);
            sq_status st = registry[i]->create(m, cfg, err);
            if (st != SQ_OK) return st;
            /* the per-item side tables, all "unknown" until filled */
            const size_t V = (size_t)(cfg->n_items > 0 ? cfg->n_items : 1);
            if (cfg->use_category) (*m)->item_category = calloc(V, sizeof(int32_t));
            if (cfg->use_price) (*m)->item_price = calloc(V, sizeof(int32_t));
            if ((cfg->use_category && !(*m)->item_category) ||
                (cfg->use_price && !(*m)->item_price)) {
                sq_model_free(*m);
                *m = NULL;
                return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
            }
            return SQ_OK;
        }
    return sq_error_set(err, SQ_ERR_USAGE, "unknown model '%s' (known: %s)", cfg->model,
                        sq_model_names());
}

void sq_model_free(sq_model *m) {
    if (!m) return;
    free(m->item_category);
    free(m->item_price);
    sq_nn_ws_free(&m->loss_ws);
    m->ops->destroy(m);
}

int sq_model_output_table(const sq_model *m) {
    if (!m->ops->output_table || !sq_model_can_encode(m)) return -1;
    const int i = sq_nn_params_find(&m->params, m->ops->output_table);
    if (i < 0) return -1;
    const sq_nn_tensor *t = &m->params.t[i];
    return t->ndim == 2 && t->shape[0] >= m->cfg.n_items && t->shape[1] == m->cfg.dim ? i : -1;
}

int sq_model_output_bias(const sq_model *m) {
    if (!m->ops->output_bias || sq_model_output_table(m) < 0) return -1;
    const int i = sq_nn_params_find(&m->params, m->ops->output_bias);
    if (i < 0) return -1;
    const sq_nn_tensor *t = &m->params.t[i];
    return t->ndim == 1 && t->shape[0] >= m->cfg.n_items ? i : -1;
}

const char *sq_model_names(void) {
    static char buf[256];
    if (!buf[0])
        for (size_t i = 0; i < sizeof registry / sizeof *registry; i++) {
            if (i) strcat(buf, ",");
            strcat(buf, registry[i]->name);
        }
    return buf;
}

int sq_model_known(const char *name) {
    for (size_t i = 0; i < sizeof registry / sizeof *registry; i++)
        if (!strcmp(name, registry[i]->name)) return 1;
    return 0;
}

/* Per-model defaults: the paper's (or the official code's) settings where they exist.
 * Reused fields: for the RNNs `blocks` is the number of stacked layers; for the counting
 * baselines `dim` is the number of neighbours/successors kept per item. */
sq_status sq_model_config_preset(sq_model_config *c, const char *model, sq_error *err) {
    if (!sq_model_known(model))
        return sq_error_set(err, SQ_ERR_USAGE, "unknown model '%s' (known: %s)", model,
                            sq_model_names());
    const int n_items = c->n_items;
    const uint64_t seed = c->seed;
    sq_model_config_default(c);
    c->n_items = n_items;
    c->seed = seed;
    snprintf(c->model, sizeof c->model, "%s", model);
    if (!strcmp(model, "gru4rec") || !strcmp(model, "lstm")) {
        /* GRU4Rec (official PyTorch code, cross-entropy variant): one layer of 100 units,
         * tied ("constrained") input/output item embeddings, hidden dropout */
        c->dim = 100;
        c->blocks = 1;
        c->heads = 1;
        c->maxlen = 50;
        c->dropout = 0.1f;
        c->loss = SQ_LOSS_CE;
    } else if (!strcmp(model, "caser")) {
        /* Caser (Tang & Wang 2018): d 50, L 5, n_h 16, n_v 4, dropout 0.5 */
        c->dim = 50;
        c->maxlen = 50;
        c->window = 5;
        c->filters_h = 16;
        c->filters_v = 4;
        c->dropout = 0.5f;
        c->loss = SQ_LOSS_BCE; /* with 3 negatives per target, as the paper */
        c->negatives = 3;
    } else if (!strcmp(model, "bert4rec")) {
        /* BERT4Rec (Sun et al. 2019): d 64, 2 blocks, 2 heads, maxlen 200, dropout 0.1,
         * Cloze probability 0.6 on Beauty (0.2 on ML-1M), BERT's masked-LM head with its
         * per-item output bias */
        c->dim = 64;
        c->blocks = 2;
        c->heads = 2;
        c->maxlen = 200;
        c->dropout = 0.1f;
        c->mask_prob = 0.6f;
        c->output_bias = -1; /* on with the full CE, which the bias needs */
        c->loss = SQ_LOSS_CE;
        c->ln_eps = 1e-12f;
    } else if (!strcmp(model, "pop") || !strcmp(model, "markov") || !strcmp(model, "itemknn")) {
        c->dim = 100;       /* successors / neighbours kept per item */
        c->blocks = 0;
        c->maxlen = 1000;   /* the whole training history feeds the counts */
        c->window = 5;      /* itemknn: co-occurrence within 5 positions */
        c->dropout = 0.0f;
        c->loss = SQ_LOSS_CE; /* no negatives are drawn for counting models */
    }
    return SQ_OK;
}
