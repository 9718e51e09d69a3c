/* Model checkpoints as safetensors. Tensor names are the parameter names (PyTorch style);
 * optimizer moments, when saved, are "optim.m.<name>" / "optim.v.<name>". __metadata__
 * holds the config ("sq_model", "dim", ...), "sq_format": "shopseq-checkpoint-1", and
 * whatever key/value pairs the caller adds (fingerprints, trainer state). Side features
 * (features.c) are "use_behavior", "use_category", "use_price", "use_gap" (absent = 0 in
 * older files) and "n_categories"; the per-item tables they read are the I32 tensors
 * "feature.item_category" and "feature.item_price_bucket" (not trained). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/model.h"
#include "shopseq/safetensors.h"

#define CKPT_FORMAT "shopseq-checkpoint-1"

sq_status sq_model_save(const sq_model *m, const char *path, const char *const *meta,
                        int with_optimizer, sq_error *err) {
    const sq_nn_params *p = &m->params;
    const sq_model_config *c = &m->cfg;
    const int n_par = p->n * (with_optimizer ? 3 : 1);
    int n = n_par + !!m->item_category + !!m->item_price;
    sq_st_entry *e = calloc((size_t)n, sizeof *e);
    char (*names)[96] = calloc((size_t)n, sizeof *names);
    enum { NKV = 64 };
    const char *kv[2 * NKV + 1] = {0};
    char vals[32][64];
    if (!e || !names) {
        free(e);
        free(names);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    for (int k = 0; k < n_par; k++) {
        int i = k % p->n, part = k / p->n;
        const sq_nn_tensor *t = &p->t[i];
        const float *base = part == 0 ? p->data : part == 1 ? p->m : p->v;
        snprintf(names[k], sizeof names[k], "%s%s", part == 0 ? "" : part == 1 ? "optim.m." : "optim.v.",
                 t->name);
        e[k].name = names[k];
        e[k].dtype = "F32";
        e[k].ndim = t->ndim;
        memcpy(e[k].shape, t->shape, sizeof t->shape);
        e[k].data = base + t->offset;
        e[k].nbytes = t->numel * sizeof(float);
    }
    int n_tab = n_par;
    const int32_t *tabs[2] = {m->item_category, m->item_price};
    static const char *const tab_names[2] = {"feature.item_category", "feature.item_price_bucket"};
    for (int q = 0; q < 2; q++)
        if (tabs[q]) {
            e[n_tab].name = tab_names[q];
            e[n_tab].dtype = "I32";
            e[n_tab].ndim = 1;
            e[n_tab].shape[0] = c->n_items;
            e[n_tab].data = tabs[q];
            e[n_tab++].nbytes = (size_t)c->n_items * sizeof(int32_t);
        }
    int j = 0, v = 0;
#define KV(key, fmt, val)                                      \
    do {                                                       \
        snprintf(vals[v], sizeof vals[v], fmt, val);           \
        kv[j++] = key;                                         \
        kv[j++] = vals[v++];                                   \
    } while (0)
    kv[j++] = "sq_format";
    kv[j++] = CKPT_FORMAT;
    kv[j++] = "sq_model";
    kv[j++] = c->model;
    KV("n_items", "%d", c->n_items);
    KV("dim", "%d", c->dim);
    KV("blocks", "%d", c->blocks);
    KV("heads", "%d", c->heads);
    KV("maxlen", "%d", c->maxlen);
    KV("dropout", "%.9g", (double)c->dropout);
    KV("use_behavior", "%d", c->use_behavior);
    KV("use_category", "%d", c->use_category);
    KV("use_price", "%d", c->use_price);
    KV("use_gap", "%d", c->use_gap);
    KV("n_categories", "%d", c->n_categories);
    KV("loss", "%s", sq_loss_name(c->loss));
    KV("negatives", "%d", c->negatives);
    KV("batch", "%d", c->batch);
    KV("ln_eps", "%.9g", (double)c->ln_eps);
    KV("seed", "%" PRIu64, c->seed);
    KV("mask_prob", "%.9g", (double)c->mask_prob);
    KV("mask_last", "%.9g", (double)c->mask_last);
    KV("output_bias", "%d", c->output_bias);
    KV("window", "%d", c->window);
    KV("filters_h", "%d", c->filters_h);
    KV("filters_v", "%d", c->filters_v);
    KV("init_std", "%.9g", (double)c->init_std);
    KV("bpreg", "%.9g", (double)c->bpreg);
    KV("final_elu", "%.9g", (double)c->final_elu);
    if (with_optimizer) KV("optim_step", "%" PRId64, p->step);
#undef KV
    if (meta)
        for (const char *const *q = meta; q[0] && q[1] && j < 2 * NKV - 1; q += 2) {
            kv[j++] = q[0];
            kv[j++] = q[1];
        }
    kv[j] = NULL;
    sq_status st = sq_st_write(path, e, n, kv, err);
    free(e);
    free(names);
    return st;
}

static int meta_num(const sq_st_file *f, const char *key, double *out) {
    const char *s = sq_st_meta(f, key);
    if (!s) return -1;
    char *end;
    *out = strtod(s, &end);
    return *end ? -1 : 0;
}

sq_status sq_model_load_file(sq_model **out, const sq_st_file *f, const char *path,
                             sq_error *err) {
    *out = NULL;
    sq_status st;
    const char *fmt = sq_st_meta(f, "sq_format"), *name = sq_st_meta(f, "sq_model");
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0 || !name) {
        return sq_error_set(err, SQ_ERR_FORMAT,
                            "%s: not a shopseq checkpoint (metadata sq_format/sq_model missing)",
                            path);
    }
    sq_model_config c;
    sq_model_config_default(&c);
    snprintf(c.model, sizeof c.model, "%s", name);
    double x[12];
    static const char *keys[] = {"n_items", "dim",   "blocks", "heads",  "maxlen", "dropout",
                                 "use_behavior", "negatives", "batch", "ln_eps", "seed"};
    for (int i = 0; i < 11; i++)
        if (meta_num(f, keys[i], &x[i]) != 0)
            return sq_error_set(err, SQ_ERR_FORMAT, "%s: checkpoint metadata '%s' missing or bad",
                                path, keys[i]);
    c.n_items = (int)x[0];
    c.dim = (int)x[1];
    c.blocks = (int)x[2];
    c.heads = (int)x[3];
    c.maxlen = (int)x[4];
    c.dropout = (float)x[5];
    c.use_behavior = (int)x[6];
    c.negatives = (int)x[7];
    c.batch = (int)x[8];
    c.ln_eps = (float)x[9];
    c.seed = strtoull(sq_st_meta(f, "seed"), NULL, 10);
    /* model-specific fields: absent in older checkpoints (then 0 = default) */
    if (meta_num(f, "mask_prob", &x[11]) == 0) c.mask_prob = (float)x[11];
    if (meta_num(f, "mask_last", &x[11]) == 0) c.mask_last = (float)x[11];
    if (meta_num(f, "output_bias", &x[11]) == 0) c.output_bias = (int)x[11];
    if (meta_num(f, "window", &x[11]) == 0) c.window = (int)x[11];
    if (meta_num(f, "filters_h", &x[11]) == 0) c.filters_h = (int)x[11];
    if (meta_num(f, "filters_v", &x[11]) == 0) c.filters_v = (int)x[11];
    if (meta_num(f, "init_std", &x[11]) == 0) c.init_std = (float)x[11];
    /* side features: absent in older checkpoints (then off) */
    if (meta_num(f, "use_category", &x[11]) == 0) c.use_category = (int)x[11];
    if (meta_num(f, "use_price", &x[11]) == 0) c.use_price = (int)x[11];
    if (meta_num(f, "use_gap", &x[11]) == 0) c.use_gap = (int)x[11];
    if (meta_num(f, "n_categories", &x[11]) == 0) c.n_categories = (int)x[11];
    if (meta_num(f, "bpreg", &x[11]) == 0) c.bpreg = (float)x[11];
    if (meta_num(f, "final_elu", &x[11]) == 0) c.final_elu = (float)x[11];
    const char *ls = sq_st_meta(f, "loss");
    c.loss = ls && sq_loss_from_name(ls) >= 0 ? (sq_loss_kind)sq_loss_from_name(ls) : SQ_LOSS_BCE;
    sq_model *m;
    st = sq_model_create(&m, &c, err);
    if (st != SQ_OK) return st;
    sq_nn_params *p = &m->params;
    const char *step = sq_st_meta(f, "optim_step");
    for (int i = 0; i < p->n; i++) {
        for (int part = 0; part < (step ? 3 : 1); part++) {
            char tn[96];
            snprintf(tn, sizeof tn, "%s%s", part == 0 ? "" : part == 1 ? "optim.m." : "optim.v.",
                     p->t[i].name);
            const sq_st_tensor *t = sq_st_find(f, tn);
            int shape_ok = t && !strcmp(t->dtype, "F32") && t->ndim == p->t[i].ndim;
            for (int d = 0; shape_ok && d < t->ndim; d++) shape_ok = t->shape[d] == p->t[i].shape[d];
            if (!shape_ok) {
                st = sq_error_set(err, SQ_ERR_FORMAT, "%s: tensor '%s' %s", path, tn,
                                  t ? "has the wrong dtype or shape for the config" : "missing");
                sq_model_free(m);
            return st;
            }
            float *dst = (part == 0 ? p->data : part == 1 ? p->m : p->v) + p->t[i].offset;
            memcpy(dst, t->data, t->nbytes);
        }
    }
    p->step = step ? strtoll(step, NULL, 10) : 0;
    /* the per-item side tables */
    const char *tn[2] = {"feature.item_category", "feature.item_price_bucket"};
    const int32_t *tv[2] = {NULL, NULL};
    const int want[2] = {c.use_category, c.use_price};
    for (int q = 0; q < 2; q++) {
        if (!want[q]) continue;
        const sq_st_tensor *t = sq_st_find(f, tn[q]);
        if (!t || strcmp(t->dtype, "I32") || t->ndim != 1 || t->shape[0] != c.n_items) {
            st = sq_error_set(err, SQ_ERR_FORMAT, "%s: tensor '%s' %s", path, tn[q],
                              t ? "is not I32 (n_items)" : "missing (its feature is on)");
            sq_model_free(m);
            return st;
        }
        tv[q] = t->data;
    }
    st = sq_model_set_item_features(m, tv[0], tv[1], err);
    if (st != SQ_OK) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        sq_model_free(m);
        return sq_error_set(err, st, "%s: %s", path, why);
    }
    *out = m;
    return SQ_OK;
}

sq_status sq_model_load(sq_model **out, const char *path, sq_error *err) {
    *out = NULL;
    sq_st_file f;
    sq_status st = sq_st_read(&f, path, err);
    if (st != SQ_OK) return st;
    st = sq_model_load_file(out, &f, path, err);
    sq_st_free(&f);
    return st;
}
