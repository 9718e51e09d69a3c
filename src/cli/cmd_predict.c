/* shopseq predict: purchase / churn / next-behaviour / item scores at a time cut, or their
 * honest evaluation (--evaluate) for every scorer side by side. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/csvout.h"
#include "../core/fileio.h"
#include "../data/timeparse.h"
#include "cli.h"
#include "shopseq/behavior.h"
#include "shopseq/dataset.h"
#include "shopseq/predict.h"
#include "shopseq/predict_model.h"
#include "shopseq/predict_report.h"

static const char usage_text[] =
    "usage: shopseq predict DATA.sqd --task purchase|churn|next-behavior|item [options]\n"
    "\n"
    "Scores every user at a time cut T from events before T only: the probability of a\n"
    "purchase in [T, T+h), of churn (an active user with no event in [T, T+h)), of each\n"
    "behaviour for the next event, or of interacting with candidate items. The scorer learns\n"
    "from the same task one horizon earlier (features before T-h, labels in [T-h, T)), and\n"
    "at the cuts before that (--train-cuts): no label at or after T is ever seen.\n"
    "Definitions: docs/predict.md.\n"
    "\n"
    "Without --evaluate, T defaults to the end of the data (scores for the future) and the\n"
    "scores are written with the original ids: csv user,score (next-behavior:\n"
    "user,p_<behaviour>...; item: user,item,score), or json (JSON Lines).\n"
    "With --evaluate, T defaults to the end of the data minus h; the metrics of every scorer\n"
    "on the labelled users at T are printed side by side (ROC-AUC, PR-AUC, log-loss,\n"
    "accuracy, precision, recall, F1 at the threshold that maximises F1 on the validation\n"
    "users, calibration in 10 bins; next-behavior: accuracy, macro-F1, log-loss, AUC per class).\n"
    "\n"
    "  --task T            purchase, churn, next-behavior or item (required)\n"
    "  --horizon H         h, e.g. 24h, 3d, 90m, 1w (seconds without a unit); default 7d, or\n"
    "                      an eighth of the data's span rounded down to a day or hour\n"
    "  --cut T             the cut: Unix seconds, milliseconds or ISO-8601\n"
    "  --category ID       purchase: only buys in this category (original id)\n"
    "  --active W          churn: active = an event in [T-W, T) (default h)\n"
    "  --lookback W        other tasks: only users with an event in [T-W, T) (default: any)\n"
    "  --negatives N       item: negatives per positive, sampled by popularity (4)\n"
    "  --class-weight W    none (default: calibrated probabilities) or balanced\n"
    "  --l2 X              logistic regression L2 strength (0.001)\n"
    "  --valid-share X     share of training users held out for the threshold (0.2)\n"
    "  --train-cuts N      training examples from the N cuts T-h, T-2h, ... stacked (4)\n"
    "  --evaluate          measure instead of writing scores\n"
    "  --format F          csv (default) or json (JSON Lines) for the scores\n"
    "  --out FILE          scores to FILE (written atomically) instead of stdout\n"
    "  --save-model FILE   also save the scorer whose scores are written (the logistic one,\n"
    "                      or with --model/--scratch the first neural one: its encoder goes\n"
    "                      to FILE.encoder.safetensors) with its standardisation and\n"
    "                      threshold, for shopseq serve --predict-model (purchase, churn,\n"
    "                      next-behavior; written atomically)\n"
    "  --json              --evaluate: one JSON object on stdout; scores: a summary on stdout\n"
    "                      (needs --out)\n"
    "  --model CKPT        also score with a pre-trained sequence encoder + MLP head (the\n"
    "                      neural scorer); without --evaluate its scores are written\n"
    "  --finetune M        neural: head (default), all, or both (one row each)\n"
    "  --scratch MODEL     neural: also train this encoder from scratch (e.g. sasrec; the\n"
    "                      whole model is trained)\n"
    "  --no-features       neural: the head sees the sequence encoding only (default: also\n"
    "                      the standardised features the baseline uses)\n"
    "  --pretrain N        with --scratch: also pre-train that encoder here for N epochs\n"
    "                      (next item, events before the training cut only), then fine-tune\n"
    "                      it as --finetune says\n"
    "  --epochs N, --lr X, --hidden N   neural training settings\n"
    "  --seed N            sampling and the fit/validation split (42)\n"
    "  --threads N         threads for the neural scorer\n"
    "  -h, --help          this text\n"
    "\n"
    "examples:\n"
    "  shopseq predict shop.sqd --task purchase --horizon 7d --evaluate\n"
    "  shopseq predict shop.sqd --task churn --out churn.csv\n"
    "  shopseq predict shop.sqd --task purchase --out p.csv --save-model purchase.safetensors\n"
    "  shopseq predict tb.sqd --task next-behavior --horizon 1d --evaluate --json\n";

enum {
    O_TASK = 256, O_HORIZON, O_CUT, O_CATEGORY, O_ACTIVE, O_LOOKBACK, O_NEG, O_CW, O_L2,
    O_VSHARE, O_EVAL, O_FORMAT, O_OUT, O_JSON, O_MODEL, O_FINETUNE, O_SCRATCH, O_EPOCHS,
    O_LR, O_HIDDEN, O_SEED, O_THREADS, O_TRAIN_CUTS, O_PRETRAIN, O_NO_FEATURES, O_SAVE_MODEL
};

/* "24h", "3d", "90m", "1w", "3600s", "3600": a positive duration in ms; 0 if malformed. */
static int64_t parse_duration(const char *s) {
    size_t n = strlen(s);
    if (!n) return 0;
    int64_t unit = 1000;
    char last = s[n - 1];
    char buf[64];
    if (last == 's' || last == 'm' || last == 'h' || last == 'd' || last == 'w') {
        unit = last == 's' ? 1000 : last == 'm' ? 60000 : last == 'h' ? 3600000
             : last == 'd' ? 86400000 : 7 * 86400000LL;
        n--;
    }
    if (!n || n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = 0;
    double v;
    if (sq_cli_parse_double(buf, &v) || !(v > 0) || v > 1e7) return 0;
    return (int64_t)llround(v * (double)unit);
}

static void print_binary_row(const char *label, const sq_pred_binary_metrics *m) {
    printf("  %-34s %7.4f %7.4f %8.4f %7.4f %7.4f %7.4f %7.4f %7.4f\n", label, m->auc, m->ap,
           m->logloss, m->accuracy, m->precision, m->recall, m->f1, m->threshold);
}

static void print_calibration(const char *label, const sq_pred_binary_metrics *m) {
    printf("\ncalibration, %s (test):\n  %-11s %8s %10s %9s\n", label, "bin", "count",
           "mean pred", "observed");
    for (int b = 0; b < SQ_PRED_CALIB_BINS; b++) {
        const sq_pred_calib_bin *c = &m->calib[b];
        if (!c->count) continue;
        printf("  [%.1f, %.1f%c %8llu %10.4f %9.4f\n", b / 10.0, (b + 1) / 10.0,
               b == SQ_PRED_CALIB_BINS - 1 ? ']' : ')', (unsigned long long)c->count,
               c->mean_pred, c->observed);
    }
}

/* Scores with original ids: one row per example. */
static sq_status write_scores(FILE *fp, const sq_dataset *ds, const sq_pred_examples *ex,
                              const float *p, int json) {
    int k = sq_pred_n_outputs(ex);
    if (!json) {
        fputs(ex->task == SQ_PRED_ITEM ? "user,item,score" : "user", fp);
        if (ex->task != SQ_PRED_ITEM) {
            if (k == 1) fputs(",score", fp);
            else
                for (int c = 0; c < k; c++) fprintf(fp, ",p_%s", sq_behavior_name(ex->class_behavior[c]));
        }
        fputc('\n', fp);
    }
    for (size_t i = 0; i < ex->n; i++) {
        size_t ul, il = 0;
        const char *us = sq_dict_get(&ds->users, ex->user[i], &ul);
        const char *is = ex->item[i] != SQ_NONE ? sq_dict_get(&ds->items, ex->item[i], &il) : NULL;
        const float *r = p + i * (size_t)k;
        if (json) {
            fputs("{\"user\":", fp);
            sq_cli_json_string(fp, us, ul);
            if (is) {
                fputs(",\"item\":", fp);
                sq_cli_json_string(fp, is, il);
            }
            if (k == 1) fprintf(fp, ",\"score\":%.6g", (double)r[0]);
            else
                for (int c = 0; c < k; c++)
                    fprintf(fp, ",\"p_%s\":%.6g", sq_behavior_name(ex->class_behavior[c]), (double)r[c]);
            fputs("}\n", fp);
        } else {
            sq_csv_write_field(fp, us, ul);
            if (is) {
                fputc(',', fp);
                sq_csv_write_field(fp, is, il);
            }
            for (int c = 0; c < k; c++) fprintf(fp, ",%.6g", (double)r[c]);
            fputc('\n', fp);
        }
    }
    return ferror(fp) ? SQ_ERR_IO : SQ_OK;
}

int sq_cmd_predict(int argc, char **argv) {
    static const struct option opts[] = {
        {"task", required_argument, 0, O_TASK}, {"horizon", required_argument, 0, O_HORIZON},
        {"cut", required_argument, 0, O_CUT}, {"category", required_argument, 0, O_CATEGORY},
        {"active", required_argument, 0, O_ACTIVE}, {"lookback", required_argument, 0, O_LOOKBACK},
        {"negatives", required_argument, 0, O_NEG}, {"class-weight", required_argument, 0, O_CW},
        {"l2", required_argument, 0, O_L2}, {"valid-share", required_argument, 0, O_VSHARE},
        {"evaluate", no_argument, 0, O_EVAL}, {"format", required_argument, 0, O_FORMAT},
        {"out", required_argument, 0, O_OUT}, {"json", no_argument, 0, O_JSON},
        {"model", required_argument, 0, O_MODEL}, {"finetune", required_argument, 0, O_FINETUNE},
        {"scratch", required_argument, 0, O_SCRATCH}, {"epochs", required_argument, 0, O_EPOCHS},
        {"lr", required_argument, 0, O_LR}, {"hidden", required_argument, 0, O_HIDDEN},
        {"train-cuts", required_argument, 0, O_TRAIN_CUTS}, {"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, O_THREADS},
        {"pretrain", required_argument, 0, O_PRETRAIN},
        {"no-features", no_argument, 0, O_NO_FEATURES},
        {"save-model", required_argument, 0, O_SAVE_MODEL},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "predict";
    sq_pred_config cfg;
    sq_pred_config_default(&cfg);
    cfg.horizon_ms = 0; /* chosen from the data unless given */
    sq_pred_scorer_opts so;
    sq_pred_scorer_opts_default(&so);
    const char *cut_s = NULL, *category = NULL, *out = NULL, *model = NULL, *scratch = NULL,
               *save_model = NULL;
    int task = -1, evaluate = 0, json = 0, fmt_json = 0, ft_modes = 1; /* 1 head, 2 all */
    double valid_share = 0.2, d;
    uint64_t u;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(usage_text, stdout); return SQ_EXIT_OK;
        case O_TASK:
            if ((task = sq_pred_task_from_name(optarg)) < 0)
                return sq_cli_usage(cmd, "--task must be purchase, churn, next-behavior or item, "
                                    "got '%s'", optarg);
            break;
        case O_HORIZON:
            if (!(cfg.horizon_ms = parse_duration(optarg)))
                return sq_cli_usage(cmd, "bad --horizon '%s' (e.g. 24h, 3d)", optarg);
            break;
        case O_ACTIVE:
            if (!(cfg.active_ms = parse_duration(optarg)))
                return sq_cli_usage(cmd, "bad --active '%s' (e.g. 7d)", optarg);
            break;
        case O_LOOKBACK:
            if (!(cfg.lookback_ms = parse_duration(optarg)))
                return sq_cli_usage(cmd, "bad --lookback '%s' (e.g. 30d)", optarg);
            break;
        case O_CUT: cut_s = optarg; break;
        case O_CATEGORY: category = optarg; break;
        case O_NEG:
            if (sq_cli_parse_u64(optarg, &u) || u < 1 || u > 1000)
                return sq_cli_usage(cmd, "--negatives needs 1..1000, got '%s'", optarg);
            cfg.item_negatives = (int)u;
            break;
        case O_CW:
            if (strcmp(optarg, "none") && strcmp(optarg, "balanced"))
                return sq_cli_usage(cmd, "--class-weight must be none or balanced");
            so.class_weight = !strcmp(optarg, "balanced");
            break;
        case O_L2:
            if (sq_cli_parse_double(optarg, &d) || !(d >= 0) || d > 1e6)
                return sq_cli_usage(cmd, "bad --l2 '%s'", optarg);
            so.l2 = d;
            break;
        case O_VSHARE:
            if (sq_cli_parse_double(optarg, &d) || !(d > 0) || !(d < 1))
                return sq_cli_usage(cmd, "--valid-share needs a number in (0, 1)");
            valid_share = d;
            break;
        case O_EVAL: evaluate = 1; break;
        case O_FORMAT:
            if (strcmp(optarg, "csv") && strcmp(optarg, "json"))
                return sq_cli_usage(cmd, "--format must be csv or json");
            fmt_json = !strcmp(optarg, "json");
            break;
        case O_OUT: out = optarg; break;
        case O_SAVE_MODEL: save_model = optarg; break;
        case O_JSON: json = 1; break;
        case O_MODEL: model = optarg; break;
        case O_FINETUNE:
            if (strcmp(optarg, "head") && strcmp(optarg, "all") && strcmp(optarg, "both"))
                return sq_cli_usage(cmd, "--finetune must be head, all or both");
            ft_modes = !strcmp(optarg, "head") ? 1 : !strcmp(optarg, "all") ? 2 : 3;
            break;
        case O_NO_FEATURES: so.with_features = 0; break;
        case O_PRETRAIN:
            if (sq_cli_parse_u64(optarg, &u) || u > 100000)
                return sq_cli_usage(cmd, "bad --pretrain '%s'", optarg);
            so.pretrain_epochs = (int)u;
            break;
        case O_SCRATCH: scratch = optarg; break;
        case O_EPOCHS:
            if (sq_cli_parse_u64(optarg, &u) || u < 1 || u > 100000)
                return sq_cli_usage(cmd, "bad --epochs '%s'", optarg);
            so.epochs = (int)u;
            break;
        case O_LR:
            if (sq_cli_parse_double(optarg, &d) || !(d > 0) || d > 10)
                return sq_cli_usage(cmd, "bad --lr '%s'", optarg);
            so.lr = (float)d;
            break;
        case O_HIDDEN:
            if (sq_cli_parse_u64(optarg, &u) || u < 1 || u > 65536)
                return sq_cli_usage(cmd, "bad --hidden '%s'", optarg);
            so.hidden = (int)u;
            break;
        case O_TRAIN_CUTS:
            if (sq_cli_parse_u64(optarg, &u) || u < 1 || u > 1000)
                return sq_cli_usage(cmd, "--train-cuts needs 1..1000, got '%s'", optarg);
            cfg.train_cuts = (int)u;
            break;
        case O_SEED:
            if (sq_cli_parse_u64(optarg, &u)) return sq_cli_usage(cmd, "bad --seed '%s'", optarg);
            cfg.seed = so.seed = u;
            break;
        case O_THREADS:
            if (sq_cli_parse_u64(optarg, &u) || u < 1 || u > 1024)
                return sq_cli_usage(cmd, "bad --threads '%s'", optarg);
            so.threads = (int)u;
            break;
        default: return sq_cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return sq_cli_usage(cmd, "expected one DATA.sqd");
    if (task < 0) return sq_cli_usage(cmd, "--task is required");
    if (json && !evaluate && !out)
        return sq_cli_usage(cmd, "--json without --evaluate needs --out (the scores go there)");
    if (save_model && task == SQ_PRED_ITEM)
        return sq_cli_usage(cmd, "--save-model: the item task cannot be served (it scores "
                            "candidate items); save purchase, churn or next-behavior");
    if (category && task != SQ_PRED_PURCHASE)
        return sq_cli_usage(cmd, "--category applies to --task purchase only");
    /* the neural scorers are asked for by name: a build without them says so, it never
     * silently falls back to the baseline */
    if ((model || scratch) && !sq_pred_scorer_known("neural")) {
        fprintf(stderr, "shopseq predict: --%s needs the neural scorer, which is not available "
                "in this build\n", model ? "model" : "scratch");
        return SQ_EXIT_FAIL;
    }
    cfg.task = (sq_pred_task)task;
    int64_t cut_ms = 0;
    if (cut_s && sq_time_parse(cut_s, strlen(cut_s), SQ_TIME_AUTO, &cut_ms) != 0)
        return sq_cli_usage(cmd, "bad --cut '%s' (Unix seconds or ms, or ISO-8601)", cut_s);

    sq_error err = {0};
    sq_dataset ds = {0};
    if (sq_dataset_open(&ds, argv[optind], &err) != SQ_OK) return sq_cli_fail(cmd, &err);
    sq_status st = SQ_OK;
    int64_t end_ms = 0;
    sq_pred_data pd = {0};
    enum { MAX_SCORERS = 6 };
    sq_pred_scorer *scorers[MAX_SCORERS] = {0};
    sq_pred_result results[MAX_SCORERS];
    int n_scorers = 0;
    float *probs = NULL;
    sq_pred_eval_json *ej = NULL; /* --evaluate --json: the document, row by row */
    char tbuf[32], tbuf2[32], ebuf[32], hbuf[32];

    if (category) {
        cfg.category = sq_dict_find(&ds.categories, category, strlen(category));
        if (cfg.category == SQ_NONE) {
            st = sq_error_set(&err, SQ_ERR_NOT_FOUND, "--category: no category '%s' in %s",
                              category, argv[optind]);
            goto done;
        }
    }
    if (!cfg.horizon_ms) cfg.horizon_ms = sq_pred_default_horizon(&ds);
    if ((st = sq_pred_data_end(&ds, &end_ms, &err)) != SQ_OK) goto done;
    if (!cut_s) cut_ms = evaluate ? end_ms - cfg.horizon_ms : end_ms;
    sq_pred_fmt_duration(cfg.horizon_ms, hbuf, sizeof hbuf);
    sq_time_format_iso(end_ms, ebuf, sizeof ebuf);
    if (evaluate && cut_ms + cfg.horizon_ms > end_ms) {
        sq_time_format_iso(cut_ms, tbuf, sizeof tbuf);
        st = sq_error_set(&err, SQ_ERR_USAGE, "the label window [%s, +%s) runs past the data's "
                          "end %s: labels would be incomplete (use an earlier --cut or a "
                          "shorter --horizon)", tbuf, hbuf, ebuf);
        goto done;
    }
    if ((st = sq_pred_prepare(&ds, &cfg, cut_ms, evaluate, valid_share, &pd, &err)) != SQ_OK)
        goto done;
    if (pd.target.n == 0) {
        sq_time_format_iso(cut_ms, tbuf, sizeof tbuf);
        st = sq_error_set(&err, SQ_ERR_USAGE, "no %s examples at the cut %s", evaluate ?
                          "labelled" : "eligible", tbuf);
        goto done;
    }

    /* the scorers: the logistic baseline always; the neural ones when asked for */
    so.verbose = !json;
    /* rows: the baseline; the checkpoint per --finetune mode; the encoder pre-trained here
     * per mode (--pretrain); the encoder from scratch (whole model trained) */
    const char *names[MAX_SCORERS] = {"logistic"};
    sq_pred_scorer_opts sopts[MAX_SCORERS];
    int n_slots = 1;
    sopts[0] = so;
    for (int mode = 1; mode <= 2 && model; mode++) {
        if (!(ft_modes & mode)) continue;
        names[n_slots] = "neural";
        sopts[n_slots] = so;
        sopts[n_slots].checkpoint = model;
        sopts[n_slots].pretrain_epochs = 0;
        sopts[n_slots++].finetune_all = mode == 2;
    }
    for (int mode = 1; mode <= 2 && scratch && so.pretrain_epochs > 0; mode++) {
        if (!(ft_modes & mode)) continue;
        names[n_slots] = "neural";
        sopts[n_slots] = so;
        sopts[n_slots].encoder = scratch;
        sopts[n_slots++].finetune_all = mode == 2;
    }
    if (scratch) {
        names[n_slots] = "neural";
        sopts[n_slots] = so;
        sopts[n_slots].encoder = scratch;
        sopts[n_slots].pretrain_epochs = 0;
        sopts[n_slots++].finetune_all = 1;
    }
    for (int s = 0; s < n_slots; s++) {
        if (!names[s]) continue;
        if ((st = sq_pred_scorer_create(&scorers[n_scorers], names[s], &sopts[s], &err)) != SQ_OK)
            goto done;
        n_scorers++;
    }
    int k = sq_pred_n_outputs(&pd.target);
    if (!(probs = malloc(pd.target.n * (size_t)k * sizeof *probs))) {
        st = sq_error_set(&err, SQ_ERR_NOMEM, "predictions");
        goto done;
    }
    if (evaluate && json && !(ej = sq_pred_eval_json_new(&cfg, &pd, end_ms, category))) {
        st = sq_error_set(&err, SQ_ERR_NOMEM, "predictions");
        goto done;
    }
    /* without --evaluate one scorer's scores are written (the pre-trained model's when
     * given, else the from-scratch one's, else the baseline's): the others are skipped */
    int chosen = n_scorers > 1 ? 1 : 0;
    for (int s = evaluate ? 0 : chosen; s < (evaluate ? n_scorers : chosen + 1); s++) {
        if (!json && evaluate) fprintf(stderr, "predict: fitting %s\n", scorers[s]->label);
        if ((st = sq_pred_run(scorers[s], &pd, probs, &results[s], &err)) != SQ_OK) goto done;
        if (ej && sq_pred_eval_json_add(ej, scorers[s]->ops->name, &results[s], &pd,
                                        sq_pred_is_binary(&pd.target) ? probs : NULL)) {
            st = sq_error_set(&err, SQ_ERR_NOMEM, "predictions");
            goto done;
        }
    }

    if (save_model) { /* the scorer whose scores are written, fitted in both modes */
        sq_pred_model pm;
        st = sq_pred_model_from_run(&pm, &ds, &cfg, &pd, scorers[chosen], &results[chosen],
                                    end_ms, category, &err);
        if (st == SQ_OK) st = sq_pred_model_save(&pm, save_model, &err);
        sq_pred_model_free(&pm);
        if (st != SQ_OK) goto done;
        if (!json) fprintf(stderr, "predict: %s scorer saved -> %s\n", sq_pred_task_name(task),
                           save_model);
    }

    sq_time_format_iso(pd.cut_ms, tbuf, sizeof tbuf);
    sq_time_format_iso(pd.train_cut_ms, tbuf2, sizeof tbuf2);
    if (!evaluate) {
        sq_atomic_file af = {0};
        FILE *fp = stdout;
        if (out) {
            if ((st = sq_atomic_open(&af, out, &err)) != SQ_OK) goto done;
            fp = af.fp;
        }
        st = write_scores(fp, &ds, &pd.target, probs, fmt_json);
        if (out) {
            if (st != SQ_OK) {
                sq_atomic_abort(&af);
                sq_error_set(&err, st, "writing %s", out);
                goto done;
            }
            if ((st = sq_atomic_commit(&af, &err)) != SQ_OK) goto done;
        } else if (st != SQ_OK || fflush(stdout) != 0) {
            st = sq_error_set(&err, SQ_ERR_IO, "writing the scores to stdout");
            goto done;
        }
        if (json) {
            printf("{\"task\": \"%s\", \"cut\": \"%s\", \"horizon\": \"%s\", \"rows\": %zu, "
                   "\"scorer\": ", sq_pred_task_name(task), tbuf, hbuf, pd.target.n);
            sq_cli_json_string(stdout, scorers[chosen]->label, strlen(scorers[chosen]->label));
            printf(", \"out\": ");
            sq_cli_json_string(stdout, out, strlen(out));
            if (save_model) {
                printf(", \"saved_model\": ");
                sq_cli_json_string(stdout, save_model, strlen(save_model));
            }
            printf("}\n");
        } else if (out) {
            fprintf(stderr, "predict: %zu rows of %s scores at %s (horizon %s) -> %s\n",
                    pd.target.n, sq_pred_task_name(task), tbuf, hbuf, out);
        }
        goto done;
    }

    if (json) {
        sq_pred_eval_json_write(ej, stdout);
        goto done;
    }

    printf("task %s, horizon %s: features before %s, labels in [%s, +%s)\n",
           sq_pred_task_name(task), hbuf, tbuf, tbuf, hbuf);
    printf("trained at %s (labels in [%s, %s))", tbuf2, tbuf2, tbuf);
    if (cfg.train_cuts > 1) printf(" and %d earlier cuts, one horizon apart", cfg.train_cuts - 1);
    printf(";\nthreshold chosen on %.0f%% of the training users, held out\n", 100 * valid_share);
    const sq_pred_examples *sets[3] = {&pd.fit, &pd.valid, &pd.target};
    const char *set_names[3] = {"fit", "valid", "test"};
    for (int i = 0; i < 3; i++) {
        const sq_pred_examples *ex = sets[i];
        if (sq_pred_is_binary(ex)) {
            uint64_t pos = 0;
            for (size_t j = 0; j < ex->n; j++) pos += ex->label[j] == 1;
            printf("  %-6s %8zu examples, %5.1f%% positive\n", set_names[i], ex->n,
                   ex->n ? 100.0 * (double)pos / (double)ex->n : 0.0);
        } else {
            printf("  %-6s %8zu examples\n", set_names[i], ex->n);
        }
    }
    printf("\n");
    if (sq_pred_is_binary(&pd.target)) {
        printf("  %-34s %7s %7s %8s %7s %7s %7s %7s %7s\n", "scorer (test)", "ROC-AUC", "PR-AUC",
               "logloss", "acc", "prec", "recall", "F1", "thresh");
        for (int s = 0; s < n_scorers; s++) print_binary_row(results[s].label, &results[s].target);
        for (int s = 0; s < n_scorers; s++) print_calibration(results[s].label, &results[s].target);
    } else {
        printf("  %-34s %7s %8s %8s", "scorer (test)", "acc", "macroF1", "logloss");
        for (int ci = 0; ci < pd.target.n_classes; ci++)
            printf(" %8.8s", sq_behavior_name(pd.target.class_behavior[ci]));
        printf("   (AUC one-vs-rest)\n");
        for (int s = 0; s < n_scorers; s++) {
            const sq_pred_multi_metrics *m = &results[s].target_multi;
            printf("  %-34s %7.4f %8.4f %8.4f", results[s].label, m->accuracy, m->macro_f1,
                   m->logloss);
            for (int ci = 0; ci < m->k; ci++) printf(" %8.4f", m->auc[ci]);
            printf("\n");
        }
        printf("  %-34s", "support");
        for (int ci = 0; ci < pd.target.n_classes; ci++)
            printf(" %s %llu", sq_behavior_name(pd.target.class_behavior[ci]),
                   (unsigned long long)results[0].target_multi.support[ci]);
        printf("\n");
    }

done:
    sq_pred_eval_json_free(ej);
    free(probs);
    for (int s = 0; s < n_scorers; s++) sq_pred_scorer_free(scorers[s]);
    sq_pred_data_free(&pd);
    sq_dataset_close(&ds);
    return st == SQ_OK ? SQ_EXIT_OK : sq_cli_fail(cmd, &err);
}
