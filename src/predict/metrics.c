/* Classification metrics of the prediction tasks. Definitions follow scikit-learn
 * (roc_auc_score, average_precision_score, log_loss) so that figures can be checked there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/predict.h"

typedef struct {
    float p;
    uint32_t i;
} scored;

static int by_score_desc(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Indices sorted by score, highest first (ties by index, so results are deterministic). */
static scored *sorted_desc(const float *p, size_t n) {
    scored *s = malloc((n ? n : 1) * sizeof *s);
    if (!s) return NULL;
    for (size_t i = 0; i < n; i++) s[i] = (scored){p[i], (uint32_t)i};
    qsort(s, n, sizeof *s, by_score_desc);
    return s;
}

/* Counts the run of equal scores starting at a (one threshold step) into tp/fp; returns
 * where the next run starts. Every threshold sweep steps by whole runs so ties never split. */
static size_t take_ties(const scored *s, const int32_t *y, size_t a, size_t n, uint64_t *tp,
                        uint64_t *fp) {
    size_t b = a;
    while (b < n && s[b].p == s[a].p) {
        if (y[s[b].i] == 1) (*tp)++;
        else (*fp)++;
        b++;
    }
    return b;
}

double sq_pred_auc(const float *p, const int32_t *y, size_t n) {
    uint64_t npos = 0;
    for (size_t i = 0; i < n; i++) npos += y[i] == 1;
    uint64_t nneg = n - npos;
    if (!npos || !nneg) return NAN;
    scored *s = sorted_desc(p, n);
    if (!s) return NAN;
    /* Walk from the lowest score up: rank r (1-based) of ascending order; a tie group
     * shares the average of its ranks. */
    double sum_pos_rank = 0;
    size_t j = n;
    while (j > 0) {
        size_t hi = j, lo = j;
        while (lo > 0 && s[lo - 1].p == s[hi - 1].p) lo--;
        /* group s[lo..hi) holds ascending ranks n-hi+1 .. n-lo */
        double avg = ((double)(n - hi + 1) + (double)(n - lo)) / 2.0;
        for (size_t t = lo; t < hi; t++)
            if (y[s[t].i] == 1) sum_pos_rank += avg;
        j = lo;
    }
    free(s);
    return (sum_pos_rank - (double)npos * ((double)npos + 1) / 2.0) / ((double)npos * (double)nneg);
}

double sq_pred_average_precision(const float *p, const int32_t *y, size_t n) {
    uint64_t npos = 0;
    for (size_t i = 0; i < n; i++) npos += y[i] == 1;
    if (!npos) return NAN;
    scored *s = sorted_desc(p, n);
    if (!s) return NAN;
    double ap = 0, prev_recall = 0;
    uint64_t tp = 0, fp = 0;
    for (size_t a = 0; a < n;) {
        const size_t b = take_ties(s, y, a, n, &tp, &fp);
        double recall = (double)tp / (double)npos;
        ap += (recall - prev_recall) * (double)tp / (double)(tp + fp);
        prev_recall = recall;
        a = b;
    }
    free(s);
    return ap;
}

static double clip(double p) { return p < 1e-7 ? 1e-7 : p > 1 - 1e-7 ? 1 - 1e-7 : p; }

double sq_pred_logloss(const float *p, const int32_t *y, size_t n) {
    if (!n) return NAN;
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double q = clip(p[i]);
        s -= y[i] == 1 ? log(q) : log(1 - q);
    }
    return s / (double)n;
}

double sq_pred_best_f1_threshold(const float *p, const int32_t *y, size_t n) {
    uint64_t npos = 0;
    for (size_t i = 0; i < n; i++) npos += y[i] == 1;
    if (!npos) return 0.5;
    scored *s = sorted_desc(p, n);
    if (!s) return 0.5;
    double best = -1, thr = 0.5;
    uint64_t tp = 0, fp = 0;
    for (size_t a = 0; a < n;) {
        const size_t b = take_ties(s, y, a, n, &tp, &fp);
        double f1 = 2.0 * (double)tp / (double)(tp + fp + npos);
        if (f1 > best) { /* strict: among equal F1, the highest threshold */
            best = f1;
            thr = s[a].p;
        }
        a = b;
    }
    free(s);
    return thr;
}

int sq_pred_roc_curve(const float *p, const int32_t *y, size_t n, int max_points, double *fpr,
                      double *tpr) {
    uint64_t npos = 0;
    for (size_t i = 0; i < n; i++) npos += y[i] == 1;
    uint64_t nneg = n - npos;
    if (!npos || !nneg || max_points < 2) return 0;
    scored *s = sorted_desc(p, n);
    double *fx = malloc((n + 1) * sizeof *fx), *tx = malloc((n + 1) * sizeof *tx);
    if (!s || !fx || !tx) {
        free(s);
        free(fx);
        free(tx);
        return 0;
    }
    size_t m = 0;
    fx[m] = tx[m] = 0;
    m++;
    uint64_t tp = 0, fp = 0;
    for (size_t a = 0; a < n;) {
        const size_t b = take_ties(s, y, a, n, &tp, &fp);
        fx[m] = (double)fp / (double)nneg;
        tx[m] = (double)tp / (double)npos;
        m++;
        a = b;
    }
    int k = (size_t)max_points < m ? max_points : (int)m;
    for (int j = 0; j < k; j++) { /* evenly spaced vertices, both ends kept */
        size_t idx = k == 1 ? 0 : (size_t)((double)j * (double)(m - 1) / (double)(k - 1) + 0.5);
        fpr[j] = fx[idx];
        tpr[j] = tx[idx];
    }
    free(s);
    free(fx);
    free(tx);
    return k;
}

void sq_pred_binary_eval(const float *p, const int32_t *y, size_t n, double threshold,
                         sq_pred_binary_metrics *m) {
    memset(m, 0, sizeof *m);
    m->n = n;
    for (size_t i = 0; i < n; i++) m->n_pos += y[i] == 1;
    m->auc = sq_pred_auc(p, y, n);
    m->ap = sq_pred_average_precision(p, y, n);
    m->logloss = sq_pred_logloss(p, y, n);
    m->threshold = threshold;
    uint64_t tp = 0, fp = 0, tn = 0, fn = 0;
    double sum_p[SQ_PRED_CALIB_BINS] = {0}, sum_y[SQ_PRED_CALIB_BINS] = {0};
    for (size_t i = 0; i < n; i++) {
        int pred = p[i] >= threshold, pos = y[i] == 1;
        tp += pred && pos;
        fp += pred && !pos;
        fn += !pred && pos;
        tn += !pred && !pos;
        int b = (int)floor((double)p[i] * SQ_PRED_CALIB_BINS);
        if (b < 0) b = 0;
        if (b >= SQ_PRED_CALIB_BINS) b = SQ_PRED_CALIB_BINS - 1;
        m->calib[b].count++;
        sum_p[b] += p[i];
        sum_y[b] += pos;
    }
    m->accuracy = n ? (double)(tp + tn) / (double)n : NAN;
    m->precision = tp + fp ? (double)tp / (double)(tp + fp) : 0;
    m->recall = tp + fn ? (double)tp / (double)(tp + fn) : NAN;
    m->f1 = 2 * tp + fp + fn ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : NAN;
    for (int b = 0; b < SQ_PRED_CALIB_BINS; b++) {
        uint64_t c = m->calib[b].count;
        m->calib[b].mean_pred = c ? sum_p[b] / (double)c : NAN;
        m->calib[b].observed = c ? sum_y[b] / (double)c : NAN;
    }
}

void sq_pred_multi_eval(const float *probs, const int32_t *y, size_t n, int k,
                        sq_pred_multi_metrics *m) {
    memset(m, 0, sizeof *m);
    m->n = n;
    m->k = k;
    uint64_t tp[16] = {0}, predicted[16] = {0}, correct = 0;
    double ll = 0;
    for (size_t i = 0; i < n; i++) {
        const float *r = probs + i * (size_t)k;
        int best = 0;
        for (int c = 1; c < k; c++)
            if (r[c] > r[best]) best = c;
        predicted[best]++;
        m->support[y[i]]++;
        if (best == y[i]) {
            tp[best]++;
            correct++;
        }
        ll -= log(clip(r[y[i]]));
    }
    m->accuracy = n ? (double)correct / (double)n : NAN;
    m->logloss = n ? ll / (double)n : NAN;
    /* macro-F1 over the classes that occur in the truth or the predictions (scikit-learn) */
    double f1sum = 0;
    int used = 0;
    float *col = malloc((n ? n : 1) * sizeof *col);
    int32_t *yk = malloc((n ? n : 1) * sizeof *yk);
    for (int c = 0; c < k; c++) {
        uint64_t denom = predicted[c] + m->support[c];
        m->f1[c] = denom ? 2.0 * (double)tp[c] / (double)denom : NAN;
        if (denom) {
            f1sum += m->f1[c];
            used++;
        }
        m->auc[c] = NAN;
        if (col && yk) {
            for (size_t i = 0; i < n; i++) {
                col[i] = probs[i * (size_t)k + (size_t)c];
                yk[i] = y[i] == c;
            }
            m->auc[c] = sq_pred_auc(col, yk, n);
        }
    }
    free(col);
    free(yk);
    m->macro_f1 = used ? f1sum / used : NAN;
}
