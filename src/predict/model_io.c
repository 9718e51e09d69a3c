/* Saving and loading a trained prediction scorer (format in include/shopseq/predict_model.h).
 * The loader trusts nothing: every metadata value is covered by predict_meta_xxh64, the
 * tensor bytes by sq_data_xxh64, and the feature names must be this build's, so a file
 * from another version or an edited threshold is refused rather than served quietly. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "internal.h"
#include "predict/neural.h"
#include "shopseq/predict_model.h"
#include "shopseq/safetensors.h"
#include "shopseq/train.h"

#define FORMAT "shopseq-predict/1"

/* The metadata keys the checksum covers, in this order. */
static const char *const meta_keys[] = {
    "format", "scorer", "task", "horizon_ms", "active_ms", "lookback_ms", "category",
    "threshold", "features", "classes", "cut_ms", "data_end_ms", "train_cut_ms", "data_xxh64",
    "item_dict_xxh64", "label", "encoder", "encoder_xxh64", "head"};
enum { N_META = sizeof meta_keys / sizeof *meta_keys };
_Static_assert((int)N_META == (int)SQ__PRED_N_META, "internal.h's SQ__PRED_N_META");

uint64_t sq__pred_meta_hash(const char *const *values) {
    XXH3_state_t *s = XXH3_createState();
    if (!s) return 0;
    XXH3_64bits_reset(s);
    for (int i = 0; i < N_META; i++) {
        XXH3_64bits_update(s, meta_keys[i], strlen(meta_keys[i]) + 1);
        XXH3_64bits_update(s, values[i], strlen(values[i]) + 1);
    }
    uint64_t h = XXH3_64bits_digest(s);
    XXH3_freeState(s);
    return h;
}

void sq__pred_meta_pairs(const char *const *values, char hash[17], const char **meta) {
    snprintf(hash, 17, "%016" PRIx64, sq__pred_meta_hash(values));
    for (int i = 0; i < N_META; i++) {
        meta[2 * i] = meta_keys[i];
        meta[2 * i + 1] = values[i];
    }
    meta[2 * N_META] = "predict_meta_xxh64";
    meta[2 * N_META + 1] = hash;
    meta[2 * N_META + 2] = NULL;
}

void sq_pred_model_free(sq_pred_model *m) {
    if (!m) return;
    free(m->mean);
    free(m->std);
    free(m->base_rate);
    sq_logreg_free(&m->lr);
    if (m->owns_neural) sq_pred_scorer_free(m->neural);
    if (m->lock_) {
        pthread_mutex_destroy(m->lock_);
        free(m->lock_);
    }
    memset(m, 0, sizeof *m);
}

static sq_status alloc_arrays(sq_pred_model *m, sq_error *err) {
    size_t f = (size_t)m->n_features, k = (size_t)m->n_outputs;
    m->mean = malloc(f * sizeof *m->mean);
    m->std = malloc(f * sizeof *m->std);
    m->base_rate = calloc(k, sizeof *m->base_rate);
    int logistic = !strcmp(m->scorer, "logistic");
    if (logistic) m->lr.w = malloc(k * (f + 1) * sizeof *m->lr.w);
    m->lr.k = (int)k;
    m->lr.d = (int)f;
    if (!m->mean || !m->std || !m->base_rate || (logistic && !m->lr.w)) {
        sq_pred_model_free(m);
        return sq_error_set(err, SQ_ERR_NOMEM, "prediction model");
    }
    return SQ_OK;
}

sq_status sq_pred_model_from_run(sq_pred_model *m, const sq_dataset *ds,
                                 const sq_pred_config *cfg, const sq_pred_data *d,
                                 const sq_pred_scorer *s, const sq_pred_result *r,
                                 int64_t data_end_ms, const char *category_id, sq_error *err) {
    memset(m, 0, sizeof *m);
    const sq_logreg *lr = sq_pred_logistic_model(s);
    if (!lr && !sq__neural_is(s))
        return sq_error_set(err, SQ_ERR_USAGE, "only a fitted logistic or neural scorer can be "
                            "saved (scorer '%s')", s ? s->label : "none");
    if (cfg->task == SQ_PRED_ITEM)
        return sq_error_set(err, SQ_ERR_USAGE, "the item task cannot be saved: it scores "
                            "candidate items, which the service does not take");
    const sq_pred_examples *fit = &d->fit;
    if (fit->n_features > SQ_PRED_MODEL_MAX_FEATURES ||
        (lr && (lr->d != fit->n_features || lr->k != sq_pred_n_outputs(fit))))
        return sq_error_set(err, SQ_ERR_USAGE, "prediction model: %d features do not fit",
                            fit->n_features);
    if (category_id && strlen(category_id) >= sizeof m->category_id)
        return sq_error_set(err, SQ_ERR_USAGE, "prediction model: category id too long");
    m->cfg = *cfg;
    snprintf(m->scorer, sizeof m->scorer, "%s", lr ? "logistic" : "neural");
    if (!lr) m->neural = (sq_pred_scorer *)s; /* borrowed */
    m->n_items = ds->n_items;
    m->n_features = fit->n_features;
    m->n_outputs = sq_pred_n_outputs(fit);
    m->n_classes = fit->n_classes;
    memcpy(m->class_behavior, fit->class_behavior, sizeof m->class_behavior);
    sq_status st = alloc_arrays(m, err);
    if (st != SQ_OK) return st;
    memcpy(m->mean, d->norm.mean, (size_t)m->n_features * sizeof *m->mean);
    memcpy(m->std, d->norm.std, (size_t)m->n_features * sizeof *m->std);
    if (lr) memcpy(m->lr.w, lr->w, (size_t)lr->k * (size_t)(lr->d + 1) * sizeof *m->lr.w);
    for (size_t i = 0; i < fit->n; i++) {
        int32_t y = fit->label[i];
        if (m->n_outputs == 1) m->base_rate[0] += y == 1;
        else if (y >= 0 && y < m->n_outputs) m->base_rate[y] += 1;
    }
    for (int c = 0; c < m->n_outputs; c++) m->base_rate[c] /= fit->n ? (double)fit->n : 1.0;
    m->threshold = r->threshold;
    m->cut_ms = d->cut_ms;
    m->train_cut_ms = d->train_cut_ms;
    m->data_end_ms = data_end_ms;
    m->data_fp = sq_dataset_data_fingerprint(ds);
    m->item_fp = sq_dataset_item_fingerprint(ds);
    snprintf(m->category_id, sizeof m->category_id, "%s", category_id ? category_id : "");
    snprintf(m->label, sizeof m->label, "%s", s->label);
    return SQ_OK;
}

/* name,name,... into buf; -1 if it does not fit */
static int join_names(char *buf, size_t cap, int n, const char *(*name)(int, const void *),
                      const void *ctx) {
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        int w = snprintf(buf + at, cap - at, "%s%s", i ? "," : "", name(i, ctx));
        if (w < 0 || (size_t)w >= cap - at) return -1;
        at += (size_t)w;
    }
    return 0;
}

static const char *feature_name(int i, const void *ctx) {
    (void)ctx;
    return sq__pred_feature_names[i];
}

static const char *class_name(int i, const void *ctx) {
    return sq_behavior_name(((const sq_pred_model *)ctx)->class_behavior[i]);
}

/* The metadata values of m, in meta_keys order, into bufs (the neural ones are the
 * caller's). */
static int meta_values(const sq_pred_model *m, char bufs[N_META][2048], const char **v) {
    snprintf(bufs[0], sizeof bufs[0], FORMAT);
    snprintf(bufs[1], sizeof bufs[1], "%s", m->scorer);
    snprintf(bufs[2], sizeof bufs[2], "%s", sq_pred_task_name(m->cfg.task));
    snprintf(bufs[3], sizeof bufs[3], "%" PRId64, m->cfg.horizon_ms);
    snprintf(bufs[4], sizeof bufs[4], "%" PRId64, m->cfg.active_ms);
    snprintf(bufs[5], sizeof bufs[5], "%" PRId64, m->cfg.lookback_ms);
    snprintf(bufs[6], sizeof bufs[6], "%s", m->category_id);
    snprintf(bufs[7], sizeof bufs[7], "%.17g", m->threshold);
    if (join_names(bufs[8], sizeof bufs[8], m->n_features, feature_name, NULL)) return -1;
    if (join_names(bufs[9], sizeof bufs[9], m->n_outputs == 1 ? 0 : m->n_classes, class_name, m))
        return -1;
    snprintf(bufs[10], sizeof bufs[10], "%" PRId64, m->cut_ms);
    snprintf(bufs[11], sizeof bufs[11], "%" PRId64, m->data_end_ms);
    snprintf(bufs[12], sizeof bufs[12], "%" PRId64, m->train_cut_ms);
    snprintf(bufs[13], sizeof bufs[13], "%016" PRIx64, m->data_fp);
    snprintf(bufs[14], sizeof bufs[14], "%016" PRIx64, m->item_fp);
    snprintf(bufs[15], sizeof bufs[15], "%s", m->label);
    for (int i = 16; i < N_META; i++) bufs[i][0] = 0;
    for (int i = 0; i < N_META; i++) v[i] = bufs[i];
    return 0;
}

static const char *const head_names[4] = {"head.w1.weight", "head.w1.bias", "head.w2.weight",
                                          "head.w2.bias"};

/* The neural scorer's encoder beside path; its name, checksum and head into bufs 16..18. */
static sq_status save_encoder(const sq_pred_model *m, const char *path, char bufs[N_META][2048],
                              sq__neural_head *h, sq_error *err) {
    char enc[1100], ifp[17];
    snprintf(enc, sizeof enc, "%s.encoder.safetensors", path);
    snprintf(ifp, sizeof ifp, "%016" PRIx64, m->item_fp);
    const char *enc_meta[] = {"item_dict_xxh64", ifp, NULL};
    sq_status st = sq__neural_export(m->neural, enc, enc_meta, h, err);
    if (st != SQ_OK) return st;
    sq_st_file f;
    if ((st = sq_st_read(&f, enc, err)) != SQ_OK) return st;
    const char *x = sq_st_meta(&f, "sq_data_xxh64");
    const char *base = strrchr(enc, '/');
    snprintf(bufs[16], sizeof bufs[16], "%s", base ? base + 1 : enc);
    snprintf(bufs[17], sizeof bufs[17], "%s", x ? x : "");
    snprintf(bufs[18], sizeof bufs[18], "%d,%d,%d,%d,%d,%d", h->hidden, h->in_dim, h->out,
             h->n_features, h->with_features, h->finetune_all);
    sq_st_free(&f);
    return SQ_OK;
}

sq_status sq_pred_model_save(const sq_pred_model *m, const char *path, sq_error *err) {
    char bufs[N_META][2048];
    const char *v[N_META];
    if (meta_values(m, bufs, v))
        return sq_error_set(err, SQ_ERR_USAGE, "prediction model: names too long to save");
    sq__neural_head h = {0};
    if (m->neural) {
        sq_status st = save_encoder(m, path, bufs, &h, err);
        if (st != SQ_OK) return st;
    }
    char hash[17];
    const char *meta[2 * N_META + 3];
    sq__pred_meta_pairs(v, hash, meta);
    int64_t f = m->n_features, k = m->n_outputs;
    sq_st_entry e[8] = {
        {"mean", "F64", 1, {f}, m->mean, (size_t)f * sizeof(double)},
        {"std", "F64", 1, {f}, m->std, (size_t)f * sizeof(double)},
        {"base_rate", "F64", 1, {k}, m->base_rate, (size_t)k * sizeof(double)},
        {"weight", "F64", 2, {k, f + 1}, m->lr.w, (size_t)(k * (f + 1)) * sizeof(double)},
    };
    int n = 4;
    if (m->neural) {
        n = 3;
        for (int i = 0; i < 4; i++) {
            size_t numel = sq__neural_head_numel(&h, i);
            e[n++] = (sq_st_entry){head_names[i], "F32", 1, {(int64_t)numel}, h.w[i],
                                   numel * sizeof(float)};
        }
    }
    return sq_st_write(path, e, n, meta, err);
}

/* The neural scorer of a prediction file: its encoder (beside it, bound by checksum) and
 * its head. */
static sq_status load_neural(sq_pred_model *m, const sq_st_file *f, const char *path,
                             const char *const *v, sq_error *err) {
    sq__neural_head h = {0};
    int used = 0;
    if (sscanf(v[18], "%d,%d,%d,%d,%d,%d%n", &h.hidden, &h.in_dim, &h.out, &h.n_features,
               &h.with_features, &h.finetune_all, &used) != 6 || v[18][used] ||
        h.hidden < 1 || h.in_dim < 1 || h.hidden > 65536 || h.in_dim > 65536)
        return sq_error_set(err, SQ_ERR_FORMAT, "%s: metadata 'head' has a bad value '%.60s' "
                            "(expected hidden,in,out,features,with_features,finetune_all: six "
                            "integers, hidden and in within 1..65536)", path, v[18]);
    if (h.out != m->n_outputs)
        return sq_error_set(err, SQ_ERR_FORMAT, "%s: metadata 'head' '%.60s' gives %d outputs, "
                            "task %s has %d", path, v[18], h.out, v[2], m->n_outputs);
    if (!*v[16] || strchr(v[16], '/'))
        return sq_error_set(err, SQ_ERR_FORMAT, "%s: metadata 'encoder' has a bad value '%.60s' "
                            "(the encoder's file name, beside this file)", path, v[16]);
    if (f->n != 7)
        return sq_error_set(err, SQ_ERR_FORMAT, "%s: %d tensors; a neural scorer has 7 (mean, "
                            "std, base_rate, %s, %s, %s, %s)", path, f->n, head_names[0],
                            head_names[1], head_names[2], head_names[3]);
    for (int i = 0; i < 4; i++) {
        const sq_st_tensor *t = sq_st_find(f, head_names[i]);
        if (!t || strcmp(t->dtype, "F32") || t->nbytes != sq__neural_head_numel(&h, i) * 4)
            return sq_error_set(err, SQ_ERR_FORMAT, "%s: tensor %s missing or of the wrong size",
                                path, head_names[i]);
        h.w[i] = t->data;
    }
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path + 1) : 0;
    if ((size_t)snprintf(m->encoder_path, sizeof m->encoder_path, "%.*s%s", dir, path, v[16]) >=
        sizeof m->encoder_path)
        return sq_error_set(err, SQ_ERR_USAGE, "%s: path too long", path);
    /* the encoder is read once: its checksum and item fingerprint (kept for
     * sq_pred_model_check_data) from the same read as its weights */
    sq_st_file ef;
    sq_status st = sq_st_read(&ef, m->encoder_path, err);
    if (st != SQ_OK) return st;
    const char *x = sq_st_meta(&ef, "sq_data_xxh64"), *ifp = sq_st_meta(&ef, "item_dict_xxh64");
    sq_model *enc = NULL;
    if (!x || strcmp(x, v[17]))
        st = sq_error_set(err, SQ_ERR_CHECKSUM, "%s: the encoder %s is not the one saved with "
                          "it (checksum differs)", path, m->encoder_path);
    else
        st = sq_model_load_file(&enc, &ef, m->encoder_path, err);
    m->has_encoder_item_fp = ifp != NULL;
    snprintf(m->encoder_item_fp, sizeof m->encoder_item_fp, "%s", ifp ? ifp : "");
    sq_st_free(&ef);
    if (st != SQ_OK) return st;
    if ((st = sq__neural_restore(&m->neural, enc, m->encoder_path, &h, m->cfg.task,
                                 m->n_features, err)) != SQ_OK)
        return st;
    m->owns_neural = 1;
    if (!(m->lock_ = malloc(sizeof(pthread_mutex_t))))
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    pthread_mutex_init(m->lock_, NULL);
    return SQ_OK;
}

static int parse_i64(const char *s, int64_t *out) {
    char *end;
    if (!s || !*s) return -1;
    long long v = strtoll(s, &end, 10);
    if (*end) return -1;
    *out = v;
    return 0;
}

static int parse_hex(const char *s, uint64_t *out) {
    char *end;
    if (!s || strlen(s) != 16) return -1;
    *out = strtoull(s, &end, 16);
    return *end ? -1 : 0;
}

/* The tensor `name`: F64 with n values, or NULL. */
static const double *f64(const sq_st_file *f, const char *name, size_t n) {
    const sq_st_tensor *t = sq_st_find(f, name);
    if (!t || strcmp(t->dtype, "F64") || t->nbytes != n * sizeof(double)) return NULL;
    return t->data;
}

sq_status sq_pred_model_load(sq_pred_model *m, const char *path, sq_error *err) {
    memset(m, 0, sizeof *m);
    sq_st_file f;
    sq_status st = sq_st_read(&f, path, err);
    if (st != SQ_OK) return st;
    const char *v[N_META];
    for (int i = 0; i < N_META; i++) v[i] = sq_st_meta(&f, meta_keys[i]);
    const char *fmt = v[0], *want = sq_st_meta(&f, "predict_meta_xxh64");
    char got[17];
    if (!fmt || strcmp(fmt, FORMAT)) {
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: not a prediction model (format '%s', "
                          "expected '" FORMAT "'; write one with shopseq predict --save-model)",
                          path, fmt ? fmt : "none");
        goto fail;
    }
    for (int i = 0; i < N_META; i++)
        if (!v[i]) {
            st = sq_error_set(err, SQ_ERR_FORMAT, "%s: metadata '%s' missing", path, meta_keys[i]);
            goto fail;
        }
    snprintf(got, sizeof got, "%016" PRIx64, sq__pred_meta_hash(v));
    if (!want || !sq_st_meta(&f, "sq_data_xxh64") || strcmp(want, got)) {
        st = sq_error_set(err, SQ_ERR_CHECKSUM, "%s: metadata checksum %s (file damaged or "
                          "modified)", path, want ? "mismatch" : "missing");
        goto fail;
    }
    int task = sq_pred_task_from_name(v[2]);
    snprintf(m->scorer, sizeof m->scorer, "%s", v[1]);
    if (task < 0 || task == SQ_PRED_ITEM || (strcmp(v[1], "logistic") && strcmp(v[1], "neural"))) {
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: scorer '%s' for task '%s' cannot be served",
                          path, v[1], v[2]);
        goto fail;
    }
    sq_pred_config_default(&m->cfg);
    m->cfg.task = (sq_pred_task)task;
    char *end;
    m->threshold = strtod(v[7], &end);
    int bad = parse_i64(v[3], &m->cfg.horizon_ms) || m->cfg.horizon_ms <= 0 ? 3
              : parse_i64(v[4], &m->cfg.active_ms)                          ? 4
              : parse_i64(v[5], &m->cfg.lookback_ms)                        ? 5
              : strlen(v[6]) >= sizeof m->category_id                       ? 6
              : *end || !(m->threshold >= 0 && m->threshold <= 1)           ? 7
              : parse_i64(v[10], &m->cut_ms)                                ? 10
              : parse_i64(v[11], &m->data_end_ms)                           ? 11
              : parse_i64(v[12], &m->train_cut_ms)                          ? 12
              : parse_hex(v[13], &m->data_fp)                               ? 13
              : parse_hex(v[14], &m->item_fp)                               ? 14
                                                                            : -1;
    if (bad >= 0) {
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: metadata '%s' has a bad value '%.40s'", path,
                          meta_keys[bad], v[bad]);
        goto fail;
    }
    snprintf(m->category_id, sizeof m->category_id, "%s", v[6]);
    snprintf(m->label, sizeof m->label, "%s", v[15]);
    snprintf(m->path, sizeof m->path, "%s", path);
    /* the features must be this build's, name for name and in order */
    m->n_features = SQ__PRED_N_USER_FEATURES;
    char names[2048];
    join_names(names, sizeof names, m->n_features, feature_name, NULL);
    if (strcmp(names, v[8])) {
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: saved with other features than this build "
                          "computes (retrain it with this shopseq)", path);
        goto fail;
    }
    m->n_outputs = 1;
    m->n_classes = 2;
    if (task == SQ_PRED_NEXT_BEHAVIOR) {
        m->n_classes = 0;
        for (const char *p = v[9]; *p && m->n_classes < 16;) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            int b = sq_behavior_from_name(p, n);
            if (b < 0) {
                st = sq_error_set(err, SQ_ERR_FORMAT, "%s: metadata '%s': unknown behaviour "
                                  "'%.*s'", path, meta_keys[9], (int)(n < 40 ? n : 40), p);
                goto fail;
            }
            m->class_behavior[m->n_classes++] = (uint8_t)b;
            p += n + (c != NULL);
        }
        m->n_outputs = m->n_classes;
        if (m->n_classes < 2) {
            st = sq_error_set(err, SQ_ERR_FORMAT, "%s: bad behaviour classes '%s'", path, v[9]);
            goto fail;
        }
    }
    size_t nf = (size_t)m->n_features, k = (size_t)m->n_outputs;
    int neural = !strcmp(m->scorer, "neural");
    const double *mean = f64(&f, "mean", nf), *sd = f64(&f, "std", nf),
                 *w = f64(&f, "weight", k * (nf + 1)), *br = f64(&f, "base_rate", k);
    if (!mean || !sd || !br || (!neural && (!w || f.n != 4))) {
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: expected tensors mean, std (%zu), weight "
                          "(%zu x %zu), base_rate (%zu), all F64", path, nf, k, nf + 1, k);
        goto fail;
    }
    if ((st = alloc_arrays(m, err)) != SQ_OK) goto fail;
    memcpy(m->mean, mean, nf * sizeof *mean);
    memcpy(m->std, sd, nf * sizeof *sd);
    if (!neural) memcpy(m->lr.w, w, k * (nf + 1) * sizeof *w);
    memcpy(m->base_rate, br, k * sizeof *br);
    if (neural && (st = load_neural(m, &f, path, v, err)) != SQ_OK) goto fail;
    sq_st_free(&f);
    return SQ_OK;
fail:
    sq_st_free(&f);
    sq_pred_model_free(m);
    return st;
}

sq_status sq_pred_model_check_data(sq_pred_model *m, const sq_dataset *ds, sq_error *err) {
    uint64_t fp = sq_dataset_data_fingerprint(ds), ifp = sq_dataset_item_fingerprint(ds);
    if (fp != m->data_fp || ifp != m->item_fp)
        return sq_error_set(err, SQ_ERR_USAGE, "%s was trained on another dataset (data "
                            "fingerprint %016" PRIx64 ", this dataset %016" PRIx64 ")", m->path,
                            m->data_fp, fp);
    if (m->neural && m->encoder_path[0]) {
        sq_status st = sq_check_item_fingerprint(
            m->encoder_path, m->has_encoder_item_fp ? m->encoder_item_fp : NULL, ds, err);
        if (st != SQ_OK) return st;
    }
    m->n_items = ds->n_items;
    m->cfg.category = SQ_NONE;
    if (m->category_id[0]) {
        m->cfg.category = sq_dict_find(&ds->categories, m->category_id, strlen(m->category_id));
        if (m->cfg.category == SQ_NONE)
            return sq_error_set(err, SQ_ERR_USAGE, "%s: category '%s' is not in the dataset",
                                m->path, m->category_id);
    }
    return SQ_OK;
}
