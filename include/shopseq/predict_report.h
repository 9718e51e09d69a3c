/* Prediction results as files: the evaluation JSON of one task (what
 * `shopseq predict --evaluate --json` prints), a predictions file holding several tasks on
 * one dataset (run's predictions.json), and that file read back for tables and the HTML
 * report. See docs/predict.md.
 *
 *   sq_pred_eval_opts o; sq_pred_eval_opts_init(&o);     // purchase, churn; logistic
 *   sq_pred_evaluate_save(&ds, "shop.sqd", &o, "predictions.json", &err);
 *   sq_pred_summary *s = malloc(sizeof *s);
 *   sq_pred_summary_load(s, "predictions.json", &err);   // what the report draws
 */
#ifndef SHOPSEQ_PREDICT_REPORT_H
#define SHOPSEQ_PREDICT_REPORT_H

#include <stdio.h>

#include "shopseq/predict.h"

/* ---- one task's evaluation document, built scorer by scorer ---- */
typedef struct sq_pred_eval_json sq_pred_eval_json;

/* The task's header (task, horizon, cuts, data end, category, examples, classes) from the
 * prepared data; category is the original id or NULL. NULL when out of memory. */
sq_pred_eval_json *sq_pred_eval_json_new(const sq_pred_config *cfg, const sq_pred_data *pd,
                                         int64_t data_end_ms, const char *category);
/* Appends one scorer row (registry name, its result; probs: its predictions on pd->target,
 * for the test ROC curve of binary tasks, or NULL). 0, or -1 when out of memory. */
int sq_pred_eval_json_add(sq_pred_eval_json *j, const char *scorer, const sq_pred_result *r,
                          const sq_pred_data *pd, const float *probs);
/* The document, indented, and a newline. 0, or -1 on a write error. */
int sq_pred_eval_json_write(const sq_pred_eval_json *j, FILE *fp);
void sq_pred_eval_json_free(sq_pred_eval_json *j); /* NULL ok */

/* "7d", "36h", "5400s": a horizon as the JSON and the tables write it */
void sq_pred_fmt_duration(int64_t ms, char *buf, size_t cap);

/* ---- several tasks on one dataset, into one file ---- */
typedef struct sq_pred_eval_opts {
    int tasks[SQ_PRED_TASK_COUNT]; /* sq_pred_task values, in the file's order */
    int n_tasks;                   /* (2: purchase, churn) */
    int64_t horizon_ms;            /* 0 = sq_pred_default_horizon */
    double valid_share;            /* (0.2) */
    int train_cuts;                /* (4, as sq_pred_config_default) */
    uint64_t seed;                 /* (42) */
    const char *const *scorers;    /* registry names, one row each ("logistic") */
    int n_scorers;
    sq_pred_scorer_opts scorer_opts; /* shared by every scorer (sq_pred_scorer_opts_default) */
    FILE *log;                     /* one line per task and scorer; NULL = quiet */
} sq_pred_eval_opts;

void sq_pred_eval_opts_init(sq_pred_eval_opts *o);

/* Evaluates every task of o at its default test cut (the data's end minus the horizon)
 * and writes path atomically:
 *   {"dataset", "users", "items", "events", "seconds", "tasks": [DOC, ...]}
 * where each DOC is the task's evaluation document (as `shopseq predict --evaluate
 * --json`), or {"task", "error"} for a task that cannot be evaluated on this data (too short
 * a span, one class only): the others still run. Fails only on bad options, memory or the
 * write. */
sq_status sq_pred_evaluate_save(const sq_dataset *ds, const char *dataset_name,
                                const sq_pred_eval_opts *o, const char *path, sq_error *err);

/* ---- a predictions file read back ---- */
enum { SQ_PRED_SUM_TASKS = 8, SQ_PRED_SUM_SCORERS = 8, SQ_PRED_ROC_POINTS = 101 };

typedef struct sq_pred_sum_scorer {
    char name[32], label[96];
    double fit_seconds;
    sq_pred_binary_metrics test;      /* binary tasks (NaN where the file has null) */
    int roc_n;                        /* points of the test ROC curve (0: none) */
    double fpr[SQ_PRED_ROC_POINTS], tpr[SQ_PRED_ROC_POINTS];
    sq_pred_multi_metrics test_multi; /* next-behavior */
} sq_pred_sum_scorer;

typedef struct sq_pred_sum_task {
    char task[24];        /* "purchase", ... */
    char error[256];      /* non-empty: the task was not evaluated, and why */
    int binary;
    char horizon[16], cut[32], train_cut[32];
    uint64_t test_n, test_pos; /* binary: test examples and positives */
    int n_classes;             /* next-behavior */
    char classes[16][16];
    int n_scorers;
    sq_pred_sum_scorer scorers[SQ_PRED_SUM_SCORERS];
} sq_pred_sum_task;

typedef struct sq_pred_summary {
    char dataset[1024];
    uint32_t users, items;
    uint64_t events;
    double seconds;
    int n_tasks;
    sq_pred_sum_task tasks[SQ_PRED_SUM_TASKS];
} sq_pred_summary; /* large: allocate it */

/* Reads what sq_pred_evaluate_save wrote; extra scorer rows (any registry name) are read
 * like the baseline's. SQ_ERR_FORMAT when it is not such a file (a bare `predict
 * --evaluate --json` document has no dataset identity and is refused as well). */
sq_status sq_pred_summary_load(sq_pred_summary *s, const char *path, sq_error *err);

/* The headline figure of a scorer on a task: ROC-AUC (binary) or the mean one-vs-rest
 * ROC-AUC over classes (next-behavior). NaN when undefined. */
double sq_pred_sum_auc(const sq_pred_sum_task *t, const sq_pred_sum_scorer *s);

/* The text table (task, scorer, ROC-AUC, PR-AUC, F1) of a summary, with a line per failed
 * task. */
void sq_pred_summary_write_table(FILE *fp, const sq_pred_summary *s);

#endif
