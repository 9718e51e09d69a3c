/* shopseq run: the main job. Each stage is the library call (or subcommand) a user could
 * run alone; run chains them and leaves every output under one folder. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/fileio.h"
#include "../core/progress.h"
#include "cli.h"
#include "ingest_flags.h"
#include "shopseq/compare.h"
#include "shopseq/dataset.h"
#include "shopseq/ingest.h"
#include "shopseq/nn.h"
#include "shopseq/predict.h"
#include "shopseq/predict_report.h"
#include "shopseq/stats.h"
#include "shopseq/synth.h"

/* The compare stage's fixed settings (the --help text repeats them): sized so that all
 * eight models take about two minutes on 2 cores on the default 20,000-user shop (the
 * neural models see the last RUN_MAXLEN events of each of the 20,000 sequences per epoch). */
#define RUN_MODELS "pop,markov,itemknn,sasrec,gru4rec,lstm,caser,bert4rec"
#define RUN_EPOCHS 4
#define RUN_MAXLEN 20
#define RUN_DIM 32
#define RUN_NEG 256
#define RUN_EVU 1000
#define RUN_TESTU 2000
/* a short budget needs a larger step than the papers' 0.001: at 0.005 SASRec passes 0.25
 * NDCG@10 in 3 epochs on the default shop, at 0.001 it is still at popularity's 0.10 */
#define RUN_LR 0.005f
/* a safety net on slow or busy machines: no new epoch after this much training */
#define RUN_MAX_SECONDS 60.0
/* The predict stage: the logistic baseline at predict's defaults (horizon from the span,
 * test cut at the end minus it, 4 training cuts) on each task; seconds on the default shop.
 * next-behavior is not a default: on the simulator every first event after the cut is a
 * view, one class (it is meaningful on real logs: --predict-tasks). */
#define RUN_PREDICT_TASKS "purchase,churn"

static const char usage_text[] =
    "usage: shopseq run [EVENTS...] [--preset NAME | --map SPEC ...] --out DIR [options]\n"
    "\n"
    "The main job, every stage in one go, outputs under DIR:\n"
    "  1. synth    without EVENTS, simulate the default shop  -> DIR/events.csv (+ truth files)\n"
    "  2. ingest   clean, validate, sort, sessionize           -> DIR/shop.sqd, DIR/ingest.json\n"
    "  3. stats    one-screen summary                          -> DIR/stats.json\n"
    "  4. compare  every model briefly, on one split           -> DIR/compare.json\n"
    "              (simulated shop; EVENTS only with --compare)\n"
    "  5. predict  purchase and churn within the horizon: the  -> DIR/predictions.json\n"
    "              logistic baseline evaluated at predict's default cut (shopseq predict)\n"
    "  6. analyze  funnel, retention, activity, items, RFM,    -> DIR/report.html,\n"
    "              the model comparison and the predictions       DIR/analysis.json, DIR/rfm.csv\n"
    "\n"
    "options\n"
    "  --out DIR            output folder (created; default runs/default)\n"
    "  --users N            users to simulate without EVENTS (20000)\n"
    "  --seed S             simulator seed (42)\n"
    "  --compare            run the compare stage on EVENTS too\n"
    "  --no-compare         skip the compare stage\n"
    "  --compare-models L   comma-separated models (" RUN_MODELS ")\n"
    "  --compare-epochs N   epochs per neural model (4). The stage's other settings are sized\n"
    "                       for about two minutes on 2 cores at the default size: the last 20\n"
    "                       events per sequence, hidden size 32, lr 0.005, shared-candidate\n"
    "                       softmax over 256 items (sasrec keeps BCE), validation on 1000\n"
    "                       users each epoch, test on 2000 users, no new epoch after 60 s of\n"
    "                       training per model. For a longer comparison: shopseq compare\n"
    "                       DIR/shop.sqd --json > FILE, then shopseq analyze DIR/shop.sqd\n"
    "                       --out DIR --compare FILE\n"
    "  --no-predict         skip the predict stage\n"
    "  --predict-tasks L    comma-separated tasks (" RUN_PREDICT_TASKS "; also next-behavior,\n"
    "                       item)\n"
    "  --quiet              only the final summary\n"
    "  --json               no tables; one JSON object on stdout (the ingest report,\n"
    "                       stats, comparison and predictions, with the paths of every output)\n"
    "  -h, --help           this text\n"
    "ingest options (for EVENTS; see shopseq ingest --help)\n"
    SQ_INGEST_FLAGS_HELP
    "\n"
    "examples:\n"
    "  shopseq run --out runs/demo\n"
    "  shopseq run UserBehavior.csv.zst --preset taobao --out runs/taobao\n";

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void synth_progress(void *ctx, uint64_t done, uint64_t total, uint64_t events) {
    char extra[64];
    snprintf(extra, sizeof extra, "%llu events", (unsigned long long)events);
    sq_progress_update(ctx, done, total, extra);
}

static int stage_stats(const char *sqd, const char *json_path, int quiet) {
    sq_dataset ds;
    sq_dataset_stats s;
    sq_error err = {0};
    if (sq_dataset_open(&ds, sqd, &err) != SQ_OK) return sq_cli_fail("run", &err);
    if (sq_dataset_stats_compute(&ds, &s, &err) != SQ_OK) {
        sq_dataset_close(&ds);
        return sq_cli_fail("run", &err);
    }
    if (!quiet) {
        printf("\n== stats\n");
        sq_cli_print_stats(stdout, sqd, &ds, &s);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem) {
        sq_dataset_close(&ds);
        sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
        return sq_cli_fail("run", &err);
    }
    sq_cli_json_stats(mem, &ds, &s);
    fclose(mem);
    sq_dataset_close(&ds);
    sq_status st = sq_write_file_atomic(json_path, buf, len, &err);
    free(buf);
    return st == SQ_OK ? SQ_EXIT_OK : sq_cli_fail("run", &err);
}

/* The compare stage runs in a process forked before any other stage: sq_compare_run forks
 * one child per model, and a child forked after an OpenMP parallel region hangs (libgomp's
 * thread pool does not survive fork), while ingest and analyze run such regions. The
 * worker waits until shop.sqd exists: one byte on the pipe starts it, EOF ends it. */
typedef struct {
    pid_t pid;
    int fd; /* write end; -1 once used */
} compare_worker;

typedef struct {
    const char *sqd, *json_path;
    const char *const *models;
    int n_models, epochs, quiet;
} compare_job;

/* exit status: 0 all models ok, 1 some failed (compare.json written), 2 no compare.json */
static int compare_worker_main(int fd, const compare_job *job) {
    char go;
    ssize_t n;
    while ((n = read(fd, &go, 1)) < 0 && errno == EINTR) {
    }
    close(fd);
    if (n != 1) return 0;
    double t0 = sq_now_s();
    sq_nn_init(0);
    sq_error err = {0};
    sq_dataset ds = {0};
    sq_compare_result *res = malloc(sizeof *res);
    if (!res) {
        sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
        sq_cli_fail("run", &err);
        return 2;
    }
    if (sq_dataset_open(&ds, job->sqd, &err) != SQ_OK) {
        free(res);
        sq_cli_fail("run", &err);
        return 2;
    }
    sq_compare_opts o;
    sq_compare_opts_init(&o);
    o.epochs = job->epochs;
    o.eval_every = 1;
    o.maxlen = RUN_MAXLEN;
    o.dim = RUN_DIM;
    o.loss = SQ_LOSS_SHARED;
    o.negatives = RUN_NEG;
    o.lr = RUN_LR;
    o.eval_users = RUN_EVU;
    o.test_users = RUN_TESTU;
    o.max_seconds = RUN_MAX_SECONDS;
    /* one model per core, one thread each: these small models (hidden size 32) keep two
     * cores busier than one model on two threads, and single-threaded runs give the same
     * figures on any machine (when the time cap does not cut) */
    o.jobs = sq_nn_threads();
    o.log = job->quiet ? NULL : stderr;
    sq_status st = sq_compare_run(&ds, job->sqd, job->models, job->n_models, &o, res, &err);
    sq_dataset_close(&ds);
    if (st == SQ_OK) st = sq_compare_save_json(res, job->json_path, &err);
    if (st != SQ_OK) {
        free(res);
        sq_cli_fail("run", &err);
        return 2;
    }
    if (!job->quiet) {
        sq_compare_write_table(stdout, res);
        char reading[512];
        sq_compare_reading(res, reading, sizeof reading);
        printf("%s\n   %d models in %.1fs (%d at a time, one thread each)\n", reading,
               job->n_models, sq_now_s() - t0, o.jobs < job->n_models ? o.jobs : job->n_models);
    }
    int failed = sq_compare_failed(res);
    free(res);
    return failed ? 1 : 0;
}

static int compare_worker_start(compare_worker *w, const compare_job *job) {
    int fd[2];
    w->pid = -1;
    w->fd = -1;
    if (pipe(fd) != 0) return -1;
    fflush(stdout); /* the worker would print the parent's buffered output again */
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[1]);
        int code = compare_worker_main(fd[0], job);
        fflush(stdout);
        fflush(stderr);
        _exit(code);
    }
    close(fd[0]);
    w->pid = pid;
    w->fd = fd[1];
    return 0;
}

/* go: start the stage and wait for it; !go: let the worker quit. Returns its exit status
 * (0, 1, 2; 2 also when it died). */
static int compare_worker_finish(compare_worker *w, int go) {
    if (w->pid <= 0) return 2;
    if (w->fd >= 0) {
        fflush(stdout);
        fflush(stderr);
        /* a worker that died early must fail the stage, not kill run with SIGPIPE */
        struct sigaction ign = {.sa_handler = SIG_IGN}, old;
        sigaction(SIGPIPE, &ign, &old);
        if (go && write(w->fd, "g", 1) != 1) go = 0;
        sigaction(SIGPIPE, &old, NULL);
        close(w->fd);
        w->fd = -1;
    }
    int status = 0;
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
    }
    w->pid = -1;
    if (!go) return 2;
    return WIFEXITED(status) && WEXITSTATUS(status) <= 1 ? WEXITSTATUS(status) : 2;
}

/* The predict stage: every task evaluated into predictions.json (a task the data cannot
 * carry is noted there and on screen, not fatal), then its table. In this process: it
 * forks nothing, so the OpenMP regions before it do no harm. */
static int stage_predict(const char *sqd, const char *json_path, const int *tasks, int n_tasks,
                         int quiet) {
    sq_error err = {0};
    sq_dataset ds = {0};
    if (sq_dataset_open(&ds, sqd, &err) != SQ_OK) return sq_cli_fail("run", &err);
    sq_pred_eval_opts o;
    sq_pred_eval_opts_init(&o);
    memcpy(o.tasks, tasks, (size_t)n_tasks * sizeof *tasks);
    o.n_tasks = n_tasks;
    o.log = quiet ? NULL : stderr;
    double t0 = sq_now_s();
    sq_status st = sq_pred_evaluate_save(&ds, sqd, &o, json_path, &err);
    sq_dataset_close(&ds);
    if (st != SQ_OK) return sq_cli_fail("run", &err);
    if (quiet) return SQ_EXIT_OK;
    sq_pred_summary *s = malloc(sizeof *s);
    if (!s || sq_pred_summary_load(s, json_path, &err) != SQ_OK) {
        if (!s) sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
        free(s);
        return sq_cli_fail("run", &err);
    }
    fflush(stderr);
    sq_pred_summary_write_table(stdout, s);
    printf("   %d task%s in %.1fs (every measure: shopseq predict %s --task T --evaluate)\n",
           s->n_tasks, s->n_tasks == 1 ? "" : "s", sq_now_s() - t0, sqd);
    free(s);
    return SQ_EXIT_OK;
}

int sq_cmd_run(int argc, char **argv) {
    enum { O_COMPARE = 2000, O_NO_COMPARE, O_CMP_MODELS, O_CMP_EPOCHS, O_NO_PREDICT, O_PRED_TASKS };
    static const struct option longopts[] = {
        SQ_INGEST_LONG_OPTIONS,
        {"out", required_argument, 0, 'o'},
        {"users", required_argument, 0, 'u'},
        {"seed", required_argument, 0, 's'},
        {"quiet", no_argument, 0, 'q'},
        {"json", no_argument, 0, 'j'},
        {"compare", no_argument, 0, O_COMPARE},
        {"no-compare", no_argument, 0, O_NO_COMPARE},
        {"compare-models", required_argument, 0, O_CMP_MODELS},
        {"compare-epochs", required_argument, 0, O_CMP_EPOCHS},
        {"no-predict", no_argument, 0, O_NO_PREDICT},
        {"predict-tasks", required_argument, 0, O_PRED_TASKS},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    sq_ingest_options io;
    sq_ingest_options_init(&io);
    sq_synth_options so;
    sq_synth_options_init(&so);
    const char *dir = "runs/default";
    int quiet = 0, json = 0, c, rc = SQ_EXIT_OK;
    int cmp_on = -1, cmp_epochs = RUN_EPOCHS; /* cmp_on -1: by input (simulated: yes) */
    char cmp_buf[512] = RUN_MODELS;
    int pred_on = 1, pred_tasks[SQ_PRED_TASK_COUNT], n_pred = 0;
    char pred_buf[256] = RUN_PREDICT_TASKS;
    uint64_t u;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:hq", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': dir = optarg; break;
        case 'q': quiet = 1; break;
        case 'j': json = quiet = 1; break;
        case 'u':
            if (sq_cli_parse_u64(optarg, &so.users) || so.users == 0)
                rc = sq_cli_usage("run", "--users: '%s' is not a positive count", optarg);
            break;
        case 's':
            if (sq_cli_parse_u64(optarg, &so.seed))
                rc = sq_cli_usage("run", "--seed: '%s' is not a number", optarg);
            break;
        case O_COMPARE: cmp_on = 1; break;
        case O_NO_COMPARE: cmp_on = 0; break;
        case O_CMP_MODELS:
            if (strlen(optarg) >= sizeof cmp_buf)
                rc = sq_cli_usage("run", "--compare-models list too long");
            else snprintf(cmp_buf, sizeof cmp_buf, "%s", optarg);
            if (cmp_on < 0) cmp_on = 1; /* asking for models asks for the stage */
            break;
        case O_CMP_EPOCHS:
            if (sq_cli_parse_u64(optarg, &u) || u < 1 || u > 1000)
                rc = sq_cli_usage("run", "--compare-epochs needs an integer in [1, 1000], got '%s'",
                                  optarg);
            else cmp_epochs = (int)u;
            if (cmp_on < 0) cmp_on = 1;
            break;
        case O_NO_PREDICT: pred_on = 0; break;
        case O_PRED_TASKS:
            if (strlen(optarg) >= sizeof pred_buf)
                rc = sq_cli_usage("run", "--predict-tasks list too long");
            else snprintf(pred_buf, sizeof pred_buf, "%s", optarg);
            break;
        case 'h':
            fputs(usage_text, stdout);
            sq_ingest_options_free(&io);
            return SQ_EXIT_OK;
        case '?':
            rc = sq_cli_usage("run", "unknown or incomplete option '%s'", argv[optind - 1]);
            break;
        default: rc = sq_cli_ingest_option("run", c, optarg, &io); break;
        }
        if (rc) {
            sq_ingest_options_free(&io);
            return rc;
        }
    }
    /* the model list, checked before any work */
    const char *cmp_models[SQ_COMPARE_MAX_MODELS];
    int n_cmp = 0;
    /* kept: the analyze stage runs getopt again and moves optind */
    const int simulated = optind >= argc;
    if (cmp_on < 0) cmp_on = simulated;
    for (char *tok = strtok(cmp_buf, ","); cmp_on && tok; tok = strtok(NULL, ",")) {
        if (!*tok) continue;
        if (!sq_model_known(tok)) rc = sq_cli_usage("run", "unknown model '%s' (known: %s)", tok,
                                                     sq_model_names());
        else if (n_cmp == SQ_COMPARE_MAX_MODELS) rc = sq_cli_usage("run", "at most 32 models");
        else cmp_models[n_cmp++] = tok;
        if (rc) break;
    }
    if (!rc && cmp_on && !n_cmp) rc = sq_cli_usage("run", "--compare-models is empty");
    for (char *tok = strtok(pred_buf, ","); !rc && pred_on && tok; tok = strtok(NULL, ",")) {
        int t = sq_pred_task_from_name(tok), dup = 0;
        for (int i = 0; i < n_pred; i++) dup |= pred_tasks[i] == t;
        if (t < 0) rc = sq_cli_usage("run", "unknown task '%s' (purchase, churn, next-behavior, "
                                     "item)", tok);
        else if (dup) rc = sq_cli_usage("run", "--predict-tasks names '%s' twice", tok);
        else pred_tasks[n_pred++] = t;
    }
    if (!rc && pred_on && !n_pred) rc = sq_cli_usage("run", "--predict-tasks is empty");
    if (rc) {
        sq_ingest_options_free(&io);
        return rc;
    }
    sq_error err = {0};
    if (sq_mkdir_p(dir, &err) != SQ_OK) {
        sq_ingest_options_free(&io);
        return sq_cli_fail("run", &err);
    }
    char *events = join(dir, "events.csv"), *sqd = join(dir, "shop.sqd"),
         *ingest_json = join(dir, "ingest.json"), *stats_json = join(dir, "stats.json"),
         *compare_json = join(dir, "compare.json"), *pred_json = join(dir, "predictions.json");
    const char **inputs = NULL;
    size_t n_inputs = 0;
    double t0 = sq_now_s();
    compare_worker worker = {.pid = -1, .fd = -1};
    int cmp_failed = 0;
    /* A previous run's stage outputs must not pass for this run's when a stage is skipped
       or fails: each stage writes its file anew. */
    unlink(compare_json);
    unlink(pred_json);
    compare_job job = {.sqd = sqd, .json_path = compare_json, .models = cmp_models,
                       .n_models = n_cmp, .epochs = cmp_epochs, .quiet = quiet};
    if (cmp_on && compare_worker_start(&worker, &job) != 0) {
        sq_error_set(&err, SQ_ERR_INTERNAL, "cannot start the compare stage: %s", strerror(errno));
        rc = sq_cli_fail("run", &err);
        goto done;
    }

    if (simulated) {
        /* 1. synth: the bundled default data */
        so.out = events;
        sq_progress prog;
        sq_progress_init(&prog, "synth", quiet);
        so.progress = synth_progress;
        so.progress_ctx = &prog;
        sq_synth_result res;
        if (!quiet) printf("== synth: %llu users, seed %llu -> %s\n", (unsigned long long)so.users,
                           (unsigned long long)so.seed, events);
        sq_status st = sq_synth_run(&so, &res, &err);
        sq_progress_finish(&prog, NULL);
        if (st != SQ_OK) {
            rc = sq_cli_fail("run", &err);
            goto done;
        }
        if (!quiet)
            printf("   %llu events, %llu users, %llu items in %.1fs; truth: %s\n",
                   (unsigned long long)res.events, (unsigned long long)res.users,
                   (unsigned long long)res.items, res.seconds, res.truth_path);
        sq_synth_result_free(&res);
        inputs = malloc(sizeof *inputs);
        if (!inputs) goto nomem;
        inputs[0] = events;
        n_inputs = 1;
    } else {
        inputs = (const char **)(argv + optind);
        n_inputs = (size_t)(argc - optind);
    }

    /* 2. ingest */
    {
        sq_progress prog;
        sq_progress_init(&prog, "ingest", quiet);
        io.progress = sq_cli_ingest_progress;
        io.progress_ctx = &prog;
        sq_ingest_report rep;
        if (!quiet) printf("\n== ingest\n");
        fflush(stdout);
        sq_status st = sq_ingest_run(inputs, n_inputs, sqd, &io, &rep, &err);
        sq_progress_finish(&prog, NULL);
        if (!quiet || st != SQ_OK)
            sq_cli_print_ingest_report(st == SQ_OK ? stdout : stderr, &rep, st == SQ_OK ? sqd : NULL);
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&buf, &len);
        if (!mem) goto nomem;
        sq_cli_json_ingest_report(mem, &rep, sqd, st == SQ_OK ? NULL : &err);
        fclose(mem);
        sq_error werr = {0};
        sq_status wst = sq_write_file_atomic(ingest_json, buf, len, &werr);
        free(buf);
        if (st != SQ_OK) {
            rc = sq_cli_fail("run", &err);
            goto done;
        }
        if (wst != SQ_OK) {
            rc = sq_cli_fail("run", &werr);
            goto done;
        }
    }

    /* 3. stats */
    rc = stage_stats(sqd, stats_json, quiet);
    if (rc) goto done;

    /* 4. compare, in the worker forked at the start */
    if (cmp_on) {
        if (!quiet)
            printf("\n== compare: %d models, %d epoch%s each (last %d events per user, hidden "
                   "size %d, lr %g; shopseq run --help) -> %s\n", n_cmp, cmp_epochs,
                   cmp_epochs == 1 ? "" : "s", RUN_MAXLEN, RUN_DIM, (double)RUN_LR, compare_json);
        int code = compare_worker_finish(&worker, 1);
        if (code == 2) {
            sq_error_set(&err, SQ_ERR_INTERNAL, "the compare stage failed");
            rc = sq_cli_fail("run", &err);
            goto done;
        }
        cmp_failed = code == 1;
    }

    /* 5. predict: after compare, which keeps both cores busy until it ends */
    if (pred_on) {
        if (!quiet) {
            printf("\n== predict: %d task%s, logistic baseline at predict's defaults -> %s\n",
                   n_pred, n_pred == 1 ? "" : "s", pred_json);
            fflush(stdout);
        }
        rc = stage_predict(sqd, pred_json, pred_tasks, n_pred, quiet);
        if (rc) goto done;
    }

    /* 6. analyze: the subcommand itself, so run and analyze never drift apart */
    {
        if (!quiet) printf("\n== analyze\n");
        fflush(stdout);
        char *av[10] = {"analyze", sqd, "--out", (char *)dir};
        int ac = 4;
        if (cmp_on) av[ac++] = "--compare", av[ac++] = compare_json;
        if (pred_on) av[ac++] = "--predictions", av[ac++] = pred_json;
        if (quiet) av[ac++] = "--quiet";
        av[ac] = NULL;
        optind = 1;
        rc = sq_cmd_analyze(ac, av);
        if (rc) goto done;
    }
    if (cmp_failed) {
        fprintf(stderr, "shopseq run: some models failed in the compare stage (see %s)\n",
                compare_json);
        rc = SQ_EXIT_FAIL;
    }

    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "ok", json_boolean(!cmp_failed));
        json_object_set_new(o, "out", json_string(dir));
        json_object_set_new(o, "seconds", json_real(sq_now_s() - t0));
        json_t *files = json_array();
        const char *names[] = {"shop.sqd", "ingest.json", "stats.json", "report.html",
                               "analysis.json", "rfm.csv"};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            char *p = join(dir, names[i]);
            json_array_append_new(files, json_string(p));
            free(p);
        }
        if (simulated) json_array_append_new(files, json_string(events));
        if (cmp_on) json_array_append_new(files, json_string(compare_json));
        if (pred_on) json_array_append_new(files, json_string(pred_json));
        json_object_set_new(o, "files", files);
        json_object_set_new(o, "ingest", json_load_file(ingest_json, 0, NULL));
        json_object_set_new(o, "stats", json_load_file(stats_json, 0, NULL));
        if (cmp_on) json_object_set_new(o, "compare", json_load_file(compare_json, 0, NULL));
        if (pred_on) json_object_set_new(o, "predict", json_load_file(pred_json, 0, NULL));
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
        goto done;
    }
    printf("\nshopseq run: done in %.1fs; outputs in %s/ (shop.sqd, stats.json, report.html, "
           "analysis.json, rfm.csv%s%s%s)\n", sq_now_s() - t0, dir, cmp_on ? ", compare.json" : "",
           pred_on ? ", predictions.json" : "",
           simulated ? ", events.csv + truth" : "");
    goto done;
nomem:
    sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
    rc = sq_cli_fail("run", &err);
done:
    if (worker.pid > 0) compare_worker_finish(&worker, 0); /* a stage before it failed */
    if (n_inputs && inputs && inputs[0] == events) free(inputs);
    free(events);
    free(sqd);
    free(ingest_json);
    free(stats_json);
    free(compare_json);
    free(pred_json);
    sq_ingest_options_free(&io);
    return rc;
}
