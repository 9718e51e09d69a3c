/* Prediction results as JSON: one task's evaluation document (shared by `shopseq predict
 * --evaluate --json` and run's predictions.json, so the two never drift apart), the
 * several-task file, and that file read back. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "core/progress.h"
#include "data/timeparse.h"
#include "shopseq/behavior.h"
#include "shopseq/predict_report.h"

struct sq_pred_eval_json {
    json_t *doc, *rows;
};

void sq_pred_fmt_duration(int64_t ms, char *buf, size_t cap) {
    if (ms % 86400000 == 0) snprintf(buf, cap, "%lldd", (long long)(ms / 86400000));
    else if (ms % 3600000 == 0) snprintf(buf, cap, "%lldh", (long long)(ms / 3600000));
    else snprintf(buf, cap, "%.0fs", (double)ms / 1000.0);
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *binary_json(const sq_pred_binary_metrics *m) {
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)m->n));
    json_object_set_new(o, "positives", json_integer((json_int_t)m->n_pos));
    json_object_set_new(o, "roc_auc", num(m->auc));
    json_object_set_new(o, "pr_auc", num(m->ap));
    json_object_set_new(o, "log_loss", num(m->logloss));
    json_object_set_new(o, "threshold", num(m->threshold));
    json_object_set_new(o, "accuracy", num(m->accuracy));
    json_object_set_new(o, "precision", num(m->precision));
    json_object_set_new(o, "recall", num(m->recall));
    json_object_set_new(o, "f1", num(m->f1));
    json_t *cal = json_array();
    for (int b = 0; b < SQ_PRED_CALIB_BINS; b++) {
        json_t *r = json_object();
        json_object_set_new(r, "lo", json_real((double)b / SQ_PRED_CALIB_BINS));
        json_object_set_new(r, "hi", json_real((double)(b + 1) / SQ_PRED_CALIB_BINS));
        json_object_set_new(r, "count", json_integer((json_int_t)m->calib[b].count));
        json_object_set_new(r, "mean_predicted", num(m->calib[b].mean_pred));
        json_object_set_new(r, "observed", num(m->calib[b].observed));
        json_array_append_new(cal, r);
    }
    json_object_set_new(o, "calibration", cal);
    return o;
}

/* {"fpr": [...], "tpr": [...]}: up to 101 points of the test ROC curve, for plotting */
static json_t *roc_json(const sq_pred_examples *ex, const float *p) {
    double f[SQ_PRED_ROC_POINTS], t[SQ_PRED_ROC_POINTS];
    int k = sq_pred_roc_curve(p, ex->label, ex->n, SQ_PRED_ROC_POINTS, f, t);
    json_t *o = json_object(), *fa = json_array(), *ta = json_array();
    for (int i = 0; i < k; i++) {
        json_array_append_new(fa, json_real(f[i]));
        json_array_append_new(ta, json_real(t[i]));
    }
    json_object_set_new(o, "fpr", fa);
    json_object_set_new(o, "tpr", ta);
    return o;
}

static json_t *multi_json(const sq_pred_multi_metrics *m, const sq_pred_examples *ex) {
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)m->n));
    json_object_set_new(o, "accuracy", num(m->accuracy));
    json_object_set_new(o, "macro_f1", num(m->macro_f1));
    json_object_set_new(o, "log_loss", num(m->logloss));
    json_t *auc = json_object(), *f1 = json_object(), *sup = json_object();
    for (int c = 0; c < m->k; c++) {
        const char *name = sq_behavior_name(ex->class_behavior[c]);
        json_object_set_new(auc, name, num(m->auc[c]));
        json_object_set_new(f1, name, num(m->f1[c]));
        json_object_set_new(sup, name, json_integer((json_int_t)m->support[c]));
    }
    json_object_set_new(o, "auc", auc);
    json_object_set_new(o, "f1", f1);
    json_object_set_new(o, "support", sup);
    return o;
}

static json_t *set_json(const sq_pred_examples *ex) {
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)ex->n));
    if (sq_pred_is_binary(ex)) {
        uint64_t pos = 0;
        for (size_t i = 0; i < ex->n; i++) pos += ex->label[i] == 1;
        json_object_set_new(o, "positives", json_integer((json_int_t)pos));
        json_object_set_new(o, "positive_rate", num(ex->n ? (double)pos / (double)ex->n : NAN));
    } else {
        json_t *c = json_object();
        uint64_t cnt[16] = {0};
        for (size_t i = 0; i < ex->n; i++) cnt[ex->label[i]]++;
        for (int k = 0; k < ex->n_classes; k++)
            json_object_set_new(c, sq_behavior_name(ex->class_behavior[k]),
                                json_integer((json_int_t)cnt[k]));
        json_object_set_new(o, "classes", c);
    }
    /* distinct users: with stacked training cuts a user has a row at each cut */
    uint64_t users = 0;
    uint8_t *seen = calloc(ex->ds && ex->ds->n_users ? ex->ds->n_users : 1, 1);
    for (size_t i = 0; seen && i < ex->n; i++) {
        users += !seen[ex->user[i]];
        seen[ex->user[i]] = 1;
    }
    free(seen);
    json_object_set_new(o, "users", json_integer((json_int_t)users));
    return o;
}

sq_pred_eval_json *sq_pred_eval_json_new(const sq_pred_config *cfg, const sq_pred_data *pd,
                                         int64_t data_end_ms, const char *category) {
    sq_pred_eval_json *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    char hbuf[32], tbuf[32], tbuf2[32], ebuf[32];
    sq_pred_fmt_duration(cfg->horizon_ms, hbuf, sizeof hbuf);
    sq_time_format_iso(pd->cut_ms, tbuf, sizeof tbuf);
    sq_time_format_iso(pd->train_cut_ms, tbuf2, sizeof tbuf2);
    sq_time_format_iso(data_end_ms, ebuf, sizeof ebuf);
    json_t *doc = j->doc = json_object();
    json_object_set_new(doc, "task", json_string(sq_pred_task_name(cfg->task)));
    json_object_set_new(doc, "horizon", json_string(hbuf));
    json_object_set_new(doc, "horizon_s", json_integer(cfg->horizon_ms / 1000));
    json_object_set_new(doc, "cut", json_string(tbuf));
    json_object_set_new(doc, "cut_ms", json_integer(pd->cut_ms));
    json_object_set_new(doc, "train_cut", json_string(tbuf2));
    json_object_set_new(doc, "train_cuts", json_integer(cfg->train_cuts > 1 ? cfg->train_cuts : 1));
    json_object_set_new(doc, "data_end", json_string(ebuf));
    json_object_set_new(doc, "category", category ? json_string(category) : json_null());
    if (cfg->task == SQ_PRED_CHURN) {
        char abuf[32];
        sq_pred_fmt_duration(cfg->active_ms ? cfg->active_ms : cfg->horizon_ms, abuf, sizeof abuf);
        json_object_set_new(doc, "active", json_string(abuf));
    }
    json_t *sets = json_object();
    json_object_set_new(sets, "fit", set_json(&pd->fit));
    json_object_set_new(sets, "valid", set_json(&pd->valid));
    json_object_set_new(sets, "test", set_json(&pd->target));
    json_object_set_new(doc, "examples", sets);
    if (!sq_pred_is_binary(&pd->target)) {
        json_t *cl = json_array();
        for (int ci = 0; ci < pd->target.n_classes; ci++)
            json_array_append_new(cl, json_string(sq_behavior_name(pd->target.class_behavior[ci])));
        json_object_set_new(doc, "classes", cl);
    }
    /* the rows are filled by _add; "scorers" stays the last key */
    j->rows = json_array();
    json_object_set(doc, "scorers", j->rows);
    if (!doc || !j->rows || !json_object_get(doc, "examples")) {
        sq_pred_eval_json_free(j);
        return NULL;
    }
    return j;
}

int sq_pred_eval_json_add(sq_pred_eval_json *j, const char *scorer, const sq_pred_result *res,
                          const sq_pred_data *pd, const float *probs) {
    json_t *r = json_object();
    if (!r) return -1;
    json_object_set_new(r, "scorer", json_string(scorer));
    json_object_set_new(r, "label", json_string(res->label));
    json_object_set_new(r, "fit_seconds", json_real(res->fit_seconds));
    if (sq_pred_is_binary(&pd->target)) {
        json_t *t = binary_json(&res->target);
        if (probs) json_object_set_new(t, "roc", roc_json(&pd->target, probs));
        json_object_set_new(r, "test", t);
        json_object_set_new(r, "valid", binary_json(&res->valid));
    } else {
        json_object_set_new(r, "test", multi_json(&res->target_multi, &pd->target));
        json_object_set_new(r, "valid", multi_json(&res->valid_multi, &pd->target));
    }
    return json_array_append_new(j->rows, r) == 0 ? 0 : -1;
}

int sq_pred_eval_json_write(const sq_pred_eval_json *j, FILE *fp) {
    if (json_dumpf(j->doc, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) return -1;
    return fputc('\n', fp) == EOF ? -1 : 0;
}

void sq_pred_eval_json_free(sq_pred_eval_json *j) {
    if (!j) return;
    json_decref(j->rows);
    json_decref(j->doc);
    free(j);
}

/* ---- several tasks into one file ---- */

void sq_pred_eval_opts_init(sq_pred_eval_opts *o) {
    static const char *const logistic[] = {"logistic"};
    memset(o, 0, sizeof *o);
    o->tasks[0] = SQ_PRED_PURCHASE;
    o->tasks[1] = SQ_PRED_CHURN;
    o->n_tasks = 2;
    o->valid_share = 0.2;
    sq_pred_config c;
    sq_pred_config_default(&c);
    o->train_cuts = c.train_cuts;
    o->seed = c.seed;
    o->scorers = logistic;
    o->n_scorers = 1;
    sq_pred_scorer_opts_default(&o->scorer_opts);
}

/* One task's document, or an error (left in err) for a task this data cannot carry. */
static sq_status eval_task(const sq_dataset *ds, const sq_pred_eval_opts *o, int task,
                           json_t **out, sq_error *err) {
    sq_pred_config cfg;
    sq_pred_config_default(&cfg);
    cfg.task = (sq_pred_task)task;
    cfg.horizon_ms = o->horizon_ms ? o->horizon_ms : sq_pred_default_horizon(ds);
    cfg.train_cuts = o->train_cuts;
    cfg.seed = o->seed;
    int64_t end_ms = 0;
    sq_status st = sq_pred_data_end(ds, &end_ms, err);
    if (st != SQ_OK) return st;
    sq_pred_data pd = {0};
    if ((st = sq_pred_prepare(ds, &cfg, end_ms - cfg.horizon_ms, 1, o->valid_share, &pd, err)) != SQ_OK)
        return st;
    float *probs = NULL;
    sq_pred_eval_json *j = NULL;
    if (pd.target.n == 0) {
        st = sq_error_set(err, SQ_ERR_USAGE, "no labelled examples at the test cut");
        goto done;
    }
    probs = malloc(pd.target.n * (size_t)sq_pred_n_outputs(&pd.target) * sizeof *probs);
    j = sq_pred_eval_json_new(&cfg, &pd, end_ms, NULL);
    if (!probs || !j) {
        st = sq_error_set(err, SQ_ERR_NOMEM, "predictions");
        goto done;
    }
    for (int s = 0; s < o->n_scorers && st == SQ_OK; s++) {
        sq_pred_scorer *sc = NULL;
        sq_pred_scorer_opts so = o->scorer_opts;
        so.seed = o->seed;
        so.verbose = 0;
        if ((st = sq_pred_scorer_create(&sc, o->scorers[s], &so, err)) != SQ_OK) break;
        sq_pred_result r;
        double t0 = sq_now_s();
        st = sq_pred_run(sc, &pd, probs, &r, err);
        if (st == SQ_OK && sq_pred_eval_json_add(j, sc->ops->name, &r, &pd,
                                                 sq_pred_is_binary(&pd.target) ? probs : NULL))
            st = sq_error_set(err, SQ_ERR_NOMEM, "predictions");
        if (st == SQ_OK && o->log)
            fprintf(o->log, "predict: %s, %s: %.1fs\n", sq_pred_task_name(task), sc->label,
                    sq_now_s() - t0);
        sq_pred_scorer_free(sc);
    }
    if (st == SQ_OK) *out = json_incref(j->doc);
done:
    sq_pred_eval_json_free(j);
    free(probs);
    sq_pred_data_free(&pd);
    return st;
}

sq_status sq_pred_evaluate_save(const sq_dataset *ds, const char *dataset_name,
                                const sq_pred_eval_opts *o, const char *path, sq_error *err) {
    if (o->n_tasks < 1 || o->n_tasks > SQ_PRED_TASK_COUNT || o->n_scorers < 1 ||
        o->n_scorers > SQ_PRED_SUM_SCORERS)
        return sq_error_set(err, SQ_ERR_USAGE, "predictions: 1..%d tasks and 1..%d scorers",
                            SQ_PRED_TASK_COUNT, SQ_PRED_SUM_SCORERS);
    for (int s = 0; s < o->n_scorers; s++)
        if (!sq_pred_scorer_known(o->scorers[s]))
            return sq_error_set(err, SQ_ERR_NOT_FOUND, "scorer '%s' is not available in this "
                                "build", o->scorers[s]);
    double t0 = sq_now_s();
    json_t *root = json_object(), *tasks = json_array();
    json_object_set_new(root, "dataset", json_string(dataset_name));
    json_object_set_new(root, "users", json_integer(ds->n_users));
    json_object_set_new(root, "items", json_integer(ds->n_items));
    json_object_set_new(root, "events", json_integer((json_int_t)ds->n_events));
    sq_status st = SQ_OK;
    for (int t = 0; t < o->n_tasks && st == SQ_OK; t++) {
        if (o->tasks[t] < 0 || o->tasks[t] >= SQ_PRED_TASK_COUNT) {
            st = sq_error_set(err, SQ_ERR_USAGE, "predictions: bad task %d", o->tasks[t]);
            break;
        }
        json_t *doc = NULL;
        sq_error terr = {0};
        sq_status ts = eval_task(ds, o, o->tasks[t], &doc, &terr);
        if (ts == SQ_ERR_NOMEM || ts == SQ_ERR_IO || ts == SQ_ERR_INTERNAL) {
            st = ts;
            *err = terr;
            break;
        }
        if (ts != SQ_OK) {
            /* the data cannot carry this task (span, one class): say so in the file */
            doc = json_object();
            json_object_set_new(doc, "task", json_string(sq_pred_task_name(o->tasks[t])));
            json_object_set_new(doc, "error", json_string(terr.msg));
            if (o->log) fprintf(o->log, "predict: %s: %s\n", sq_pred_task_name(o->tasks[t]), terr.msg);
        }
        json_array_append_new(tasks, doc);
    }
    json_object_set_new(root, "seconds", json_real(sq_now_s() - t0));
    json_object_set_new(root, "tasks", tasks);
    if (st == SQ_OK) {
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text) st = sq_error_set(err, SQ_ERR_NOMEM, "predictions JSON");
        else {
            size_t n = strlen(text);
            text[n] = '\n'; /* json_dumps' terminator becomes the final newline */
            st = sq_write_file_atomic(path, text, n + 1, err);
            free(text);
        }
    }
    json_decref(root);
    return st;
}

/* ---- the file read back ---- */

static double getnum(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void getstr(const json_t *o, const char *key, char *buf, size_t cap) {
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(buf, cap, "%s", s ? s : "");
}

static int load_binary(const json_t *m, sq_pred_sum_scorer *s) {
    sq_pred_binary_metrics *b = &s->test;
    double n = getnum(m, "n"), pos = getnum(m, "positives");
    if (!(n >= 0) || !(pos >= 0)) return -1;
    b->n = (uint64_t)n;
    b->n_pos = (uint64_t)pos;
    b->auc = getnum(m, "roc_auc");
    b->ap = getnum(m, "pr_auc");
    b->logloss = getnum(m, "log_loss");
    b->threshold = getnum(m, "threshold");
    b->accuracy = getnum(m, "accuracy");
    b->precision = getnum(m, "precision");
    b->recall = getnum(m, "recall");
    b->f1 = getnum(m, "f1");
    const json_t *cal = json_object_get(m, "calibration");
    for (int k = 0; k < SQ_PRED_CALIB_BINS; k++) {
        const json_t *c = json_array_get(cal, (size_t)k);
        double cnt = getnum(c, "count");
        b->calib[k].count = cnt >= 0 ? (uint64_t)cnt : 0;
        b->calib[k].mean_pred = getnum(c, "mean_predicted");
        b->calib[k].observed = getnum(c, "observed");
    }
    const json_t *roc = json_object_get(m, "roc");
    const json_t *fa = json_object_get(roc, "fpr"), *ta = json_object_get(roc, "tpr");
    size_t k = json_array_size(fa);
    if (k != json_array_size(ta) || k > SQ_PRED_ROC_POINTS) return -1;
    for (size_t i = 0; i < k; i++) {
        double f = json_number_value(json_array_get(fa, i)), t = json_number_value(json_array_get(ta, i));
        if (!(f >= 0 && f <= 1 && t >= 0 && t <= 1)) return -1;
        s->fpr[i] = f;
        s->tpr[i] = t;
    }
    s->roc_n = (int)k;
    return 0;
}

static int load_multi(const json_t *m, const sq_pred_sum_task *t, sq_pred_sum_scorer *s) {
    sq_pred_multi_metrics *mm = &s->test_multi;
    double n = getnum(m, "n");
    if (!(n >= 0)) return -1;
    mm->n = (uint64_t)n;
    mm->k = t->n_classes;
    mm->accuracy = getnum(m, "accuracy");
    mm->macro_f1 = getnum(m, "macro_f1");
    mm->logloss = getnum(m, "log_loss");
    const json_t *auc = json_object_get(m, "auc"), *f1 = json_object_get(m, "f1"),
                 *sup = json_object_get(m, "support");
    for (int c = 0; c < t->n_classes; c++) {
        mm->auc[c] = getnum(auc, t->classes[c]);
        mm->f1[c] = getnum(f1, t->classes[c]);
        double v = getnum(sup, t->classes[c]);
        mm->support[c] = v >= 0 ? (uint64_t)v : 0;
    }
    return 0;
}

static int load_task(const json_t *d, sq_pred_sum_task *t) {
    getstr(d, "task", t->task, sizeof t->task);
    if (sq_pred_task_from_name(t->task) < 0) return -1;
    getstr(d, "error", t->error, sizeof t->error);
    if (t->error[0]) return 0;
    getstr(d, "horizon", t->horizon, sizeof t->horizon);
    getstr(d, "cut", t->cut, sizeof t->cut);
    getstr(d, "train_cut", t->train_cut, sizeof t->train_cut);
    t->binary = strcmp(t->task, "next-behavior") != 0;
    const json_t *test = json_object_get(json_object_get(d, "examples"), "test");
    double n = getnum(test, "n");
    if (!(n >= 0)) return -1;
    t->test_n = (uint64_t)n;
    if (t->binary) {
        double p = getnum(test, "positives");
        t->test_pos = p >= 0 ? (uint64_t)p : 0;
    } else {
        const json_t *cl = json_object_get(d, "classes");
        if (!json_is_array(cl) || json_array_size(cl) > 16) return -1;
        t->n_classes = (int)json_array_size(cl);
        for (int c = 0; c < t->n_classes; c++) {
            const char *s = json_string_value(json_array_get(cl, (size_t)c));
            if (!s) return -1;
            snprintf(t->classes[c], sizeof t->classes[c], "%s", s);
        }
    }
    const json_t *rows = json_object_get(d, "scorers");
    if (!json_is_array(rows) || json_array_size(rows) > SQ_PRED_SUM_SCORERS) return -1;
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r) {
        sq_pred_sum_scorer *s = &t->scorers[i];
        getstr(r, "scorer", s->name, sizeof s->name);
        getstr(r, "label", s->label, sizeof s->label);
        if (!s->label[0]) snprintf(s->label, sizeof s->label, "%s", s->name);
        s->fit_seconds = getnum(r, "fit_seconds");
        const json_t *m = json_object_get(r, "test");
        if (!json_is_object(m) || (t->binary ? load_binary(m, s) : load_multi(m, t, s))) return -1;
        t->n_scorers = (int)i + 1;
    }
    return 0;
}

sq_status sq_pred_summary_load(sq_pred_summary *s, const char *path, sq_error *err) {
    memset(s, 0, sizeof *s);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) return sq_error_set(err, SQ_ERR_FORMAT, "%s:%d: %s", path, je.line, je.text);
    sq_status st = SQ_OK;
    const json_t *tasks = json_object_get(root, "tasks");
    double users = getnum(root, "users"), items = getnum(root, "items"),
           events = getnum(root, "events");
    if (!json_is_array(tasks) || !(users >= 0) || !(items >= 0) || !(events >= 0)) {
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: not a predictions file (dataset, users, items, "
                          "events, tasks expected; run's predictions.json)%s", path,
                          json_object_get(root, "scorers") ? ": a `predict --evaluate --json` "
                          "document does not say which dataset it was made on" : "");
        goto out;
    }
    if (json_array_size(tasks) > SQ_PRED_SUM_TASKS) {
        st = sq_error_set(err, SQ_ERR_LIMIT, "%s: more than %d tasks", path, SQ_PRED_SUM_TASKS);
        goto out;
    }
    getstr(root, "dataset", s->dataset, sizeof s->dataset);
    s->users = (uint32_t)users;
    s->items = (uint32_t)items;
    s->events = (uint64_t)events;
    s->seconds = getnum(root, "seconds");
    size_t i;
    const json_t *d;
    json_array_foreach(tasks, i, d) {
        if (load_task(d, &s->tasks[i])) {
            st = sq_error_set(err, SQ_ERR_FORMAT, "%s: tasks[%zu] is not a task evaluation (or has "
                              "more than %d scorers)", path, i, SQ_PRED_SUM_SCORERS);
            goto out;
        }
        s->n_tasks = (int)i + 1;
    }
out:
    json_decref(root);
    return st;
}

double sq_pred_sum_auc(const sq_pred_sum_task *t, const sq_pred_sum_scorer *s) {
    if (t->binary) return s->test.auc;
    double sum = 0;
    int n = 0;
    for (int c = 0; c < s->test_multi.k; c++)
        if (isfinite(s->test_multi.auc[c])) sum += s->test_multi.auc[c], n++;
    return n ? sum / n : NAN;
}

static void cell(FILE *fp, double v) {
    if (isfinite(v)) fprintf(fp, " %8.4f", v);
    else fprintf(fp, " %8s", "-");
}

void sq_pred_summary_write_table(FILE *fp, const sq_pred_summary *s) {
    int multi = 0;
    fprintf(fp, "  %-18s %-30s %8s %8s %8s\n", "task (test)", "scorer", "ROC-AUC", "PR-AUC", "F1");
    for (int i = 0; i < s->n_tasks; i++) {
        const sq_pred_sum_task *t = &s->tasks[i];
        char name[40];
        snprintf(name, sizeof name, "%s %s", t->task, t->horizon);
        if (t->error[0]) {
            fprintf(fp, "  %-18s not evaluated: %s\n", t->task, t->error);
            continue;
        }
        for (int k = 0; k < t->n_scorers; k++) {
            const sq_pred_sum_scorer *c = &t->scorers[k];
            fprintf(fp, "  %-18s %-30.30s", k ? "" : name, c->label);
            cell(fp, sq_pred_sum_auc(t, c));
            cell(fp, t->binary ? c->test.ap : NAN);
            cell(fp, t->binary ? c->test.f1 : c->test_multi.macro_f1);
            fprintf(fp, "%s\n", t->binary ? "" : "  *");
            multi |= !t->binary;
        }
    }
    if (multi)
        fprintf(fp, "  * next-behavior: mean one-vs-rest ROC-AUC over the classes, macro-F1\n");
}
