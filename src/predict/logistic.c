/* Logistic regression (binary and multinomial) with L2, fitted by L-BFGS.
 * Single-threaded on purpose: the problems are small (tens of features, tens of thousands
 * of examples) and a fixed summation order makes the fit bit-reproducible. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/predict.h"

typedef struct {
    const float *x;
    const int32_t *y;
    const double *sw;
    size_t n;
    int d, k;
    double l2, wsum;
    double *z; /* (k) scratch */
} problem;

/* f(theta) and its gradient g. theta: (k, d+1), bias last in each row. */
static double objective(const problem *pb, const double *th, double *g) {
    int d = pb->d, k = pb->k, row = d + 1;
    size_t np = (size_t)k * (size_t)row;
    memset(g, 0, np * sizeof *g);
    double f = 0;
    double *z = pb->z;
    for (size_t i = 0; i < pb->n; i++) {
        const float *xi = pb->x + i * (size_t)d;
        double w = pb->sw ? pb->sw[i] : 1.0;
        for (int c = 0; c < k; c++) {
            const double *t = th + (size_t)c * row;
            double s = t[d];
            for (int j = 0; j < d; j++) s += t[j] * xi[j];
            z[c] = s;
        }
        if (k == 1) {
            double s = z[0], y = pb->y[i] == 1;
            /* log(1 + e^s) - y s, computed without overflow */
            f += w * ((s > 0 ? s + log1p(exp(-s)) : log1p(exp(s))) - y * s);
            double r = w * (1.0 / (1.0 + exp(-s)) - y);
            for (int j = 0; j < d; j++) g[j] += r * xi[j];
            g[d] += r;
        } else {
            double mx = z[0];
            for (int c = 1; c < k; c++) mx = z[c] > mx ? z[c] : mx;
            double se = 0;
            for (int c = 0; c < k; c++) se += exp(z[c] - mx);
            double lse = mx + log(se);
            f += w * (lse - z[pb->y[i]]);
            for (int c = 0; c < k; c++) {
                double r = w * (exp(z[c] - lse) - (c == pb->y[i]));
                double *gc = g + (size_t)c * row;
                for (int j = 0; j < d; j++) gc[j] += r * xi[j];
                gc[d] += r;
            }
        }
    }
    f /= pb->wsum;
    for (size_t p = 0; p < np; p++) g[p] /= pb->wsum;
    for (int c = 0; c < k; c++)
        for (int j = 0; j < d; j++) {
            double t = th[(size_t)c * row + j];
            f += 0.5 * pb->l2 * t * t;
            g[(size_t)c * row + j] += pb->l2 * t;
        }
    return f;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

enum { HIST = 10 };

sq_status sq_logreg_fit(sq_logreg *m, const float *x, const int32_t *y, const double *sw,
                        size_t n, int d, int k, double l2, int max_iter, sq_error *err) {
    memset(m, 0, sizeof *m);
    if (k < 1 || k > 64 || d < 0 || !n)
        return sq_error_set(err, SQ_ERR_USAGE, "logistic regression: %zu examples, %d classes",
                            n, k);
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= (k == 1 ? 2 : k))
            return sq_error_set(err, SQ_ERR_USAGE, "logistic regression: label %d of example %zu "
                                "out of range", (int)y[i], i);
    size_t np = (size_t)k * (size_t)(d + 1);
    double *buf = calloc(np * (5 + 2 * HIST) + (size_t)HIST + (size_t)k, sizeof *buf);
    if (!buf) return sq_error_set(err, SQ_ERR_NOMEM, "logistic regression: %zu parameters", np);
    double *th = buf, *g = th + np, *th2 = g + np, *g2 = th2 + np, *dir = g2 + np;
    double *S = dir + np, *Y = S + np * HIST, *rho = Y + np * HIST, *z = rho + HIST;
    double alpha[HIST];
    problem pb = {x, y, sw, n, d, k, l2, 0, z};
    for (size_t i = 0; i < n; i++) pb.wsum += sw ? sw[i] : 1.0;
    if (!(pb.wsum > 0)) {
        free(buf);
        return sq_error_set(err, SQ_ERR_USAGE, "logistic regression: example weights sum to 0");
    }
    double f = objective(&pb, th, g);
    int hn = 0, hpos = 0; /* history length, next slot */
    for (int it = 0; it < max_iter; it++) {
        double gmax = 0;
        for (size_t p = 0; p < np; p++) gmax = fmax(gmax, fabs(g[p]));
        if (gmax < 1e-7) break;
        /* two-loop recursion: dir = -H g */
        for (size_t p = 0; p < np; p++) dir[p] = -g[p];
        for (int h = 0; h < hn; h++) {
            int s = (hpos - 1 - h + HIST) % HIST;
            alpha[s] = rho[s] * dot(S + (size_t)s * np, dir, np);
            for (size_t p = 0; p < np; p++) dir[p] -= alpha[s] * Y[(size_t)s * np + p];
        }
        double gamma = 1.0;
        if (hn) {
            int s = (hpos - 1 + HIST) % HIST;
            gamma = dot(S + (size_t)s * np, Y + (size_t)s * np, np) /
                    dot(Y + (size_t)s * np, Y + (size_t)s * np, np);
        } else {
            gamma = 1.0 / sqrt(dot(g, g, np));
        }
        for (size_t p = 0; p < np; p++) dir[p] *= gamma;
        for (int h = hn - 1; h >= 0; h--) {
            int s = (hpos - 1 - h + HIST) % HIST;
            double beta = rho[s] * dot(Y + (size_t)s * np, dir, np);
            for (size_t p = 0; p < np; p++) dir[p] += (alpha[s] - beta) * S[(size_t)s * np + p];
        }
        double slope = dot(g, dir, np);
        if (slope >= 0) { /* not a descent direction: restart from steepest descent */
            hn = 0;
            for (size_t p = 0; p < np; p++) dir[p] = -g[p] / sqrt(dot(g, g, np));
            slope = dot(g, dir, np);
        }
        /* backtracking line search (Armijo) */
        double step = 1.0, f2 = f;
        int ok = 0;
        for (int ls = 0; ls < 40; ls++) {
            for (size_t p = 0; p < np; p++) th2[p] = th[p] + step * dir[p];
            f2 = objective(&pb, th2, g2);
            if (f2 <= f + 1e-4 * step * slope) {
                ok = 1;
                break;
            }
            step *= 0.5;
        }
        if (!ok) break; /* no progress possible at double precision */
        int s = hpos;
        double sy = 0;
        for (size_t p = 0; p < np; p++) {
            S[(size_t)s * np + p] = th2[p] - th[p];
            Y[(size_t)s * np + p] = g2[p] - g[p];
        }
        sy = dot(S + (size_t)s * np, Y + (size_t)s * np, np);
        if (sy > 1e-12) { /* keep only pairs that preserve positive curvature */
            rho[s] = 1.0 / sy;
            hpos = (hpos + 1) % HIST;
            if (hn < HIST) hn++;
        }
        double df = f - f2;
        memcpy(th, th2, np * sizeof *th);
        memcpy(g, g2, np * sizeof *g);
        f = f2;
        if (df <= 1e-12 * fmax(1.0, fabs(f))) break;
    }
    m->k = k;
    m->d = d;
    m->w = malloc(np * sizeof *m->w);
    if (!m->w) {
        free(buf);
        return sq_error_set(err, SQ_ERR_NOMEM, "logistic regression weights");
    }
    memcpy(m->w, th, np * sizeof *m->w);
    free(buf);
    return SQ_OK;
}

void sq_logreg_predict(const sq_logreg *m, const float *x, size_t n, float *probs) {
    int d = m->d, k = m->k;
    double z[64];
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * (size_t)d;
        for (int c = 0; c < k; c++) {
            const double *t = m->w + (size_t)c * (d + 1);
            double s = t[d];
            for (int j = 0; j < d; j++) s += t[j] * xi[j];
            z[c] = s;
        }
        if (k == 1) {
            probs[i] = (float)(1.0 / (1.0 + exp(-z[0])));
            continue;
        }
        double mx = z[0], se = 0;
        for (int c = 1; c < k; c++) mx = z[c] > mx ? z[c] : mx;
        for (int c = 0; c < k; c++) se += exp(z[c] - mx);
        for (int c = 0; c < k; c++) probs[i * (size_t)k + c] = (float)(exp(z[c] - mx) / se);
    }
}

void sq_logreg_free(sq_logreg *m) {
    if (!m) return;
    free(m->w);
    m->w = NULL;
}

/* ---- the scorer ---- */
typedef struct {
    sq_pred_scorer base;
    sq_pred_scorer_opts o;
    sq_logreg m;
} logistic_scorer;

static sq_status lr_create(sq_pred_scorer **out, const sq_pred_scorer_opts *o, sq_error *err) {
    logistic_scorer *s = calloc(1, sizeof *s);
    if (!s) return sq_error_set(err, SQ_ERR_NOMEM, "logistic scorer");
    s->base.ops = &sq_pred_logistic_ops;
    s->o = *o;
    snprintf(s->base.label, sizeof s->base.label, "logistic (RFM + counts)%s",
             o->class_weight ? ", balanced" : "");
    *out = &s->base;
    return SQ_OK;
}

static sq_status lr_fit(sq_pred_scorer *sc, const sq_pred_examples *train,
                        const sq_pred_examples *valid, sq_error *err) {
    logistic_scorer *s = (logistic_scorer *)sc;
    (void)valid; /* the fit is convex with a fixed L2: nothing to stop early */
    int k = sq_pred_n_outputs(train);
    double *sw = NULL;
    if (s->o.class_weight) {
        /* weight n / (K n_c): every class carries the same total weight */
        int nc = train->n_classes;
        uint64_t cnt[64] = {0};
        for (size_t i = 0; i < train->n; i++) cnt[train->label[i]]++;
        sw = malloc(train->n * sizeof *sw);
        if (!sw) return sq_error_set(err, SQ_ERR_NOMEM, "class weights");
        for (size_t i = 0; i < train->n; i++)
            sw[i] = (double)train->n / ((double)nc * (double)cnt[train->label[i]]);
    }
    sq_logreg_free(&s->m);
    sq_status st = sq_logreg_fit(&s->m, train->x, train->label, sw, train->n,
                                 train->n_features, k, s->o.l2, s->o.max_iter, err);
    free(sw);
    return st;
}

static sq_status lr_predict(sq_pred_scorer *sc, const sq_pred_examples *ex, float *probs,
                            sq_error *err) {
    logistic_scorer *s = (logistic_scorer *)sc;
    if (!s->m.w) return sq_error_set(err, SQ_ERR_USAGE, "logistic scorer: predict before fit");
    if (s->m.d != ex->n_features)
        return sq_error_set(err, SQ_ERR_USAGE, "logistic scorer: %d features, fitted on %d",
                            ex->n_features, s->m.d);
    sq_logreg_predict(&s->m, ex->x, ex->n, probs);
    return SQ_OK;
}

const sq_logreg *sq_pred_logistic_model(const sq_pred_scorer *sc) {
    if (!sc || sc->ops != &sq_pred_logistic_ops) return NULL;
    const logistic_scorer *s = (const logistic_scorer *)sc;
    return s->m.w ? &s->m : NULL;
}

static void lr_destroy(sq_pred_scorer *sc) {
    logistic_scorer *s = (logistic_scorer *)sc;
    sq_logreg_free(&s->m);
    free(s);
}

const sq_pred_scorer_ops sq_pred_logistic_ops = {
    .name = "logistic",
    .create = lr_create,
    .fit = lr_fit,
    .predict = lr_predict,
    .destroy = lr_destroy,
};
