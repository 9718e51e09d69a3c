/* Side features for every neural model: behaviour, category, price bucket and time-gap
 * embeddings, summed into each event's input row (model.h). Category and price bucket are
 * per-item tables held by the model (and saved in its checkpoint), so batches carry only
 * item ids; the time gap travels in sq_batch.gap, filled by sq_gap_fill. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/features.h"
#include "shopseq/behavior.h"

uint8_t sq_gap_bucket(int64_t prev_ms, int64_t cur_ms) {
    const uint64_t s = cur_ms > prev_ms ? (uint64_t)(cur_ms - prev_ms) / 1000u : 0u;
    const int b = 1 + (63 - __builtin_clzll(s + 1)); /* 1 + floor(log2(1 + s)) */
    return (uint8_t)(b < SQ_GAP_BUCKETS ? b : SQ_GAP_BUCKETS - 1);
}

void sq_gap_fill(uint8_t *gap, const int64_t *time_ms, uint64_t first, uint64_t begin, int n) {
    for (int j = 0; j < n; j++) {
        const uint64_t ev = begin + (uint64_t)j;
        gap[j] = ev > first ? sq_gap_bucket(time_ms[ev - 1], time_ms[ev]) : 0;
    }
}

static const char *const feat_names[] = {"behavior", "category", "price", "gap"};
enum { N_FEAT = 4 };

int sq_features_parse(const char *list, sq_error *err) {
    int mask = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = 0;
        if (len == 4 && !strncmp(p, "none", 4)) found = 1;
        else if (len == 3 && !strncmp(p, "all", 3)) mask = (1 << N_FEAT) - 1, found = 1;
        for (int i = 0; i < N_FEAT && !found; i++)
            if (strlen(feat_names[i]) == len && !strncmp(p, feat_names[i], len)) {
                mask |= 1 << i;
                found = 1;
            }
        if (!found) {
            sq_error_set(err, SQ_ERR_USAGE,
                         "unknown feature '%.*s' (features: behavior, category, price, gap; "
                         "none; all)", (int)len, p);
            return -1;
        }
        p += len;
        if (*p == ',') p++;
    }
    return mask;
}

void sq_features_set(sq_model_config *c, int mask) {
    c->use_behavior = !!(mask & SQ_FEAT_BEHAVIOR);
    c->use_category = !!(mask & SQ_FEAT_CATEGORY);
    c->use_price = !!(mask & SQ_FEAT_PRICE);
    c->use_gap = !!(mask & SQ_FEAT_GAP);
}

int sq_features_mask(const sq_model_config *c) {
    return (c->use_behavior ? SQ_FEAT_BEHAVIOR : 0) | (c->use_category ? SQ_FEAT_CATEGORY : 0) |
           (c->use_price ? SQ_FEAT_PRICE : 0) | (c->use_gap ? SQ_FEAT_GAP : 0);
}

const char *sq_features_name(int mask, char *buf, size_t n) {
    size_t w = 0;
    if (n) buf[0] = 0;
    for (int i = 0; i < N_FEAT; i++)
        if (mask & (1 << i)) {
            int k = snprintf(buf + w, n > w ? n - w : 0, "%s%s", w ? "," : "", feat_names[i]);
            if (k > 0) w += (size_t)k;
        }
    if (!w) snprintf(buf, n, "none");
    return buf;
}

sq_status sq_features_prepare(sq_model_config *c, const sq_dataset *ds, sq_error *err) {
    if (c->use_category) {
        if (!(ds->flags & SQ_DATASET_HAS_CATEGORY) || ds->n_categories == 0)
            return sq_error_set(err, SQ_ERR_USAGE,
                                "--features category: the dataset has no 'category' column "
                                "(ingest one with --map category=COLUMN, or drop the feature)");
        c->n_categories = (int)ds->n_categories;
    }
    if (c->use_price && !(ds->flags & SQ_DATASET_HAS_PRICE))
        return sq_error_set(err, SQ_ERR_USAGE,
                            "--features price: the dataset has no 'price' column (ingest one "
                            "with --map price=COLUMN, or drop the feature)");
    if (c->use_gap && (ds->flags & SQ_DATASET_SYNTHETIC_TIME))
        return sq_error_set(err, SQ_ERR_USAGE,
                            "--features gap: the dataset has no 'time' column (its times are "
                            "the row order; ingest one with --map time=COLUMN, or drop the "
                            "feature)");
    return SQ_OK;
}

sq_status sq_features_check_data(const sq_model *m, const sq_dataset *ds, sq_error *err) {
    if (m->cfg.use_gap && (ds->flags & SQ_DATASET_SYNTHETIC_TIME))
        return sq_error_set(err, SQ_ERR_USAGE,
                            "the %s model uses time-gap embeddings (features gap) but the "
                            "dataset has no 'time' column to compute them from",
                            m->cfg.model);
    return SQ_OK;
}

sq_status sq_model_set_item_features(sq_model *m, const int32_t *category, const int32_t *price,
                                     sq_error *err) {
    const int V = m->cfg.n_items;
    /* copied first (the source may be an unaligned file mapping), then checked; a bad
     * table is left all-unknown rather than indexing past an embedding */
    if (category && m->item_category) {
        memcpy(m->item_category, category, (size_t)V * sizeof *category);
        for (int i = 0; i < V; i++)
            if (m->item_category[i] < 0 || m->item_category[i] > m->cfg.n_categories) {
                int bad = m->item_category[i];
                memset(m->item_category, 0, (size_t)V * sizeof *category);
                return sq_error_set(err, SQ_ERR_FORMAT, "item %d: category row %d outside "
                                    "[0, %d]", i, bad, m->cfg.n_categories);
            }
    }
    if (price && m->item_price) {
        memcpy(m->item_price, price, (size_t)V * sizeof *price);
        for (int i = 0; i < V; i++)
            if (m->item_price[i] < 0 || m->item_price[i] > SQ_PRICE_BUCKETS) {
                int bad = m->item_price[i];
                memset(m->item_price, 0, (size_t)V * sizeof *price);
                return sq_error_set(err, SQ_ERR_FORMAT, "item %d: price bucket %d outside "
                                    "[0, %d]", i, bad, SQ_PRICE_BUCKETS);
            }
    }
    return SQ_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

sq_status sq_features_attach(sq_model *m, const sq_dataset *ds, sq_error *err) {
    const uint32_t V = ds->n_items;
    if ((uint32_t)m->cfg.n_items != V)
        return sq_error_set(err, SQ_ERR_USAGE, "model has %d items, dataset %u", m->cfg.n_items, V);
    if (m->item_category) {
        if ((uint32_t)m->cfg.n_categories != ds->n_categories)
            return sq_error_set(err, SQ_ERR_USAGE, "model has %d categories, dataset %u",
                                m->cfg.n_categories, ds->n_categories);
        for (uint32_t i = 0; i < V; i++) {
            uint32_t c = ds->item_category[i];
            m->item_category[i] = c == SQ_NONE || c >= ds->n_categories ? 0 : (int32_t)c + 1;
        }
    }
    if (!m->item_price) return SQ_OK;
    /* an item's price: the mean of its events' known prices; buckets: deciles over items */
    double *sum = calloc(V ? V : 1, sizeof *sum), *sorted = malloc((V ? V : 1) * sizeof *sorted);
    uint32_t *cnt = calloc(V ? V : 1, sizeof *cnt);
    if (!sum || !sorted || !cnt) {
        free(sum), free(sorted), free(cnt);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    for (uint64_t e = 0; e < ds->n_events; e++)
        if (!isnan(ds->price[e])) sum[ds->item[e]] += ds->price[e], cnt[ds->item[e]]++;
    size_t known = 0;
    for (uint32_t i = 0; i < V; i++)
        if (cnt[i]) sorted[known++] = sum[i] /= cnt[i];
    qsort(sorted, known, sizeof *sorted, cmp_double);
    for (uint32_t i = 0; i < V; i++) {
        if (!cnt[i]) {
            m->item_price[i] = 0;
            continue;
        }
        size_t lo = 0, hi = known; /* items priced strictly lower: equal prices, equal bucket */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (sorted[mid] < sum[i]) lo = mid + 1;
            else hi = mid;
        }
        m->item_price[i] = 1 + (int32_t)(lo * SQ_PRICE_BUCKETS / known);
    }
    free(sum), free(sorted), free(cnt);
    return SQ_OK;
}

sq_status sq_model_create_for(sq_model **m, sq_model_config *cfg, const sq_dataset *ds,
                              sq_error *err) {
    *m = NULL;
    sq_status st = sq_features_prepare(cfg, ds, err);
    if (st == SQ_OK) st = sq_model_create(m, cfg, err);
    if (st == SQ_OK) st = sq_features_attach(*m, ds, err);
    if (st != SQ_OK) {
        sq_model_free(*m);
        *m = NULL;
    }
    return st;
}

/* ---- the embeddings ---- */
sq_status sq__side_add(sq__side *s, sq_nn_params *p, const sq_model_config *cfg, sq_error *err) {
    s->beh = s->cat = s->price = s->gap = -2;
    if (cfg->use_category && cfg->n_categories < 1) {
        return sq_error_set(err, SQ_ERR_USAGE, "%s: category embeddings need the dataset's "
                            "category count (sq_features_prepare)", cfg->model);
    }
    const int64_t C = cfg->dim;
    int64_t shape[2] = {0, C};
    int bad = 0;
#define ADD(field, flag, rows, name)                   \
    if (flag) {                                        \
        shape[0] = (rows);                             \
        s->field = sq_nn_params_add(p, name, 2, shape); \
        bad |= s->field < 0;                           \
    }
    ADD(beh, cfg->use_behavior, SQ_BEHAVIOR_COUNT, "beh_emb.weight")
    ADD(cat, cfg->use_category, (int64_t)cfg->n_categories + 1, "cat_emb.weight")
    ADD(price, cfg->use_price, SQ_PRICE_BUCKETS + 1, "price_emb.weight")
    ADD(gap, cfg->use_gap, SQ_GAP_BUCKETS, "gap_emb.weight")
#undef ADD
    return bad ? sq_error_set(err, SQ_ERR_NOMEM, "out of memory") : SQ_OK;
}

/* The table rows of row r: up to four (table index, row) pairs; returns how many. */
static int rows_of(const sq__side *s, const sq_model *m, const sq__side_in *in, int r,
                   int tab[4], size_t row[4]) {
    const uint32_t it = in->item[r];
    if (it >= (uint32_t)m->cfg.n_items) return 0; /* [mask]: nothing about the hidden event */
    int k = 0;
    if (s->beh >= 0 && in->beh) tab[k] = s->beh, row[k++] = in->beh[r] % SQ_BEHAVIOR_COUNT;
    if (s->cat >= 0) tab[k] = s->cat, row[k++] = (size_t)m->item_category[it];
    if (s->price >= 0) tab[k] = s->price, row[k++] = (size_t)m->item_price[it];
    if (s->gap >= 0 && in->gap) tab[k] = s->gap, row[k++] = in->gap[r] % SQ_GAP_BUCKETS;
    return k;
}

void sq__side_row(const sq__side *s, const sq_model *m, const sq__side_in *in, int r, float *x) {
    int tab[4];
    size_t row[4];
    const int k = rows_of(s, m, in, r, tab, row), C = m->cfg.dim;
    for (int q = 0; q < k; q++) {
        const float *e = sq_nn_param(&m->params, tab[q]) + row[q] * (size_t)C;
        for (int c = 0; c < C; c++) x[c] += e[c];
    }
}

void sq__side_row_backward(const sq__side *s, const sq_model *m, const sq__side_in *in, int r,
                           const float *g) {
    int tab[4];
    size_t row[4];
    const int k = rows_of(s, m, in, r, tab, row), C = m->cfg.dim;
    for (int q = 0; q < k; q++) {
        float *e = sq_nn_pgrad(&m->params, tab[q]) + row[q] * (size_t)C;
        for (int c = 0; c < C; c++) e[c] += g[c];
    }
}

static int any(const sq__side *s) { return s->beh >= 0 || s->cat >= 0 || s->price >= 0 || s->gap >= 0; }

void sq__side_forward(const sq__side *s, const sq_model *m, const sq__side_in *in, int N,
                      float *x) {
    if (!any(s)) return;
    const size_t C = (size_t)m->cfg.dim;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < N; r++) sq__side_row(s, m, in, r, x + (size_t)r * C);
}

void sq__side_backward(const sq__side *s, const sq_model *m, const sq__side_in *in, int N,
                       const float *dx) {
    if (!any(s)) return;
    const size_t C = (size_t)m->cfg.dim;
    /* serial: rows share table rows; a fixed order keeps the sums deterministic */
    for (int r = 0; r < N; r++) sq__side_row_backward(s, m, in, r, dx + (size_t)r * C);
}
