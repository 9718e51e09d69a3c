/* Fit/validation split by user, and feature standardisation fitted on training rows only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Copies the rows where side[i] == want. */
static sq_status subset(const sq_pred_examples *ex, const uint8_t *side, int want,
                        sq_pred_examples *out) {
    *out = *ex;
    out->n = 0;
    for (size_t i = 0; i < ex->n; i++) out->n += side[i] == want;
    size_t n = out->n ? out->n : 1, f = (size_t)ex->n_features;
    out->user = malloc(n * sizeof *out->user);
    out->item = malloc(n * sizeof *out->item);
    out->cut_ms = malloc(n * sizeof *out->cut_ms);
    out->label = malloc(n * sizeof *out->label);
    out->seq_begin = malloc(n * sizeof *out->seq_begin);
    out->seq_end = malloc(n * sizeof *out->seq_end);
    out->x = malloc(n * f * sizeof *out->x);
    if (!out->user || !out->item || !out->cut_ms || !out->label || !out->seq_begin ||
        !out->seq_end || !out->x) {
        sq_pred_examples_free(out);
        return SQ_ERR_NOMEM;
    }
    size_t j = 0;
    for (size_t i = 0; i < ex->n; i++) {
        if (side[i] != want) continue;
        out->user[j] = ex->user[i];
        out->item[j] = ex->item[i];
        out->cut_ms[j] = ex->cut_ms[i];
        out->label[j] = ex->label[i];
        out->seq_begin[j] = ex->seq_begin[i];
        out->seq_end[j] = ex->seq_end[i];
        memcpy(out->x + j * f, ex->x + i * f, f * sizeof *out->x);
        j++;
    }
    return SQ_OK;
}

sq_status sq_pred_split(const sq_pred_examples *ex, double valid_share, uint64_t seed,
                        sq_pred_examples *fit, sq_pred_examples *valid, sq_error *err) {
    memset(fit, 0, sizeof *fit);
    memset(valid, 0, sizeof *valid);
    uint8_t *side = malloc(ex->n ? ex->n : 1);
    if (!side) return sq_error_set(err, SQ_ERR_NOMEM, "fit/validation split");
    /* by user, so that one user's candidate rows never straddle the two parts */
    for (size_t i = 0; i < ex->n; i++)
        side[i] = (double)(mix(ex->user[i] ^ mix(seed)) >> 11) * 0x1.0p-53 < valid_share;
    sq_status st = subset(ex, side, 0, fit);
    if (st == SQ_OK) st = subset(ex, side, 1, valid);
    free(side);
    if (st != SQ_OK) {
        sq_pred_examples_free(fit);
        return sq_error_set(err, st, "fit/validation split");
    }
    return SQ_OK;
}

sq_status sq_pred_norm_fit(sq_pred_norm *nm, const sq_pred_examples *ex, sq_error *err) {
    int f = ex->n_features;
    nm->n_features = f;
    nm->mean = calloc((size_t)f + 1, sizeof *nm->mean);
    nm->std = calloc((size_t)f + 1, sizeof *nm->std);
    if (!nm->mean || !nm->std) {
        sq_pred_norm_free(nm);
        return sq_error_set(err, SQ_ERR_NOMEM, "feature statistics");
    }
    for (size_t i = 0; i < ex->n; i++)
        for (int j = 0; j < f; j++) nm->mean[j] += ex->x[i * (size_t)f + j];
    for (int j = 0; j < f; j++) nm->mean[j] /= ex->n ? (double)ex->n : 1.0;
    for (size_t i = 0; i < ex->n; i++)
        for (int j = 0; j < f; j++) {
            double d = ex->x[i * (size_t)f + j] - nm->mean[j];
            nm->std[j] += d * d;
        }
    for (int j = 0; j < f; j++) {
        double s = sqrt(nm->std[j] / (ex->n ? (double)ex->n : 1.0));
        nm->std[j] = s > 1e-9 ? s : 1.0; /* a constant column becomes 0, not NaN */
    }
    return SQ_OK;
}

void sq_pred_norm_apply(const sq_pred_norm *nm, sq_pred_examples *ex) {
    int f = ex->n_features;
    for (size_t i = 0; i < ex->n; i++)
        for (int j = 0; j < f; j++) {
            float *v = ex->x + i * (size_t)f + j;
            *v = (float)((*v - nm->mean[j]) / nm->std[j]);
        }
}

void sq_pred_norm_free(sq_pred_norm *nm) {
    if (!nm) return;
    free(nm->mean);
    free(nm->std);
    nm->mean = nm->std = NULL;
}

int sq__pred_append(sq_pred_examples *dst, const sq_pred_examples *src) {
    size_t n = dst->n + src->n, f = (size_t)dst->n_features;
    if (!n) return 0;
#define APPEND(field, width)                                                        \
    do {                                                                            \
        void *p_ = realloc(dst->field, n * (width) * sizeof *dst->field);           \
        if (!p_) return -1;                                                         \
        dst->field = p_;                                                            \
        if (src->n)                                                                 \
            memcpy(dst->field + dst->n * (width), src->field,                       \
                   src->n * (width) * sizeof *dst->field);                          \
    } while (0)
    APPEND(user, 1);
    APPEND(item, 1);
    APPEND(cut_ms, 1);
    APPEND(label, 1);
    APPEND(seq_begin, 1);
    APPEND(seq_end, 1);
    APPEND(x, f);
#undef APPEND
    dst->n = n;
    return 0;
}
