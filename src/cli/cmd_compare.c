/* shopseq compare: train several models on the same split, evaluate them with the same
 * protocol, one table. Each model runs in a child process (fork), so that its peak RSS is
 * its own (wait4's ru_maxrss) and a failing model does not stop the others. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "shopseq/dataset.h"
#include "shopseq/train.h"

static const char usage_text[] =
    "usage: shopseq compare DATA.sqd [--models LIST] [options]\n"
    "\n"
    "Trains each model with its paper's defaults (docs/models.md) on the same leave-one-out\n"
    "split, keeps the epoch with the best validation NDCG@10, and evaluates all of them the\n"
    "same way: test event of every user with >= 3 events, full-catalogue ranking, the user's\n"
    "earlier items excluded. One table (or JSON): HR/NDCG/MRR@10 and @20, catalogue coverage\n"
    "of the top-10 lists, training time, training events/s, peak RSS, parameters.\n"
    "\n"
    "  --models LIST       comma-separated (default sasrec,bert4rec,gru4rec,lstm,caser,pop,\n"
    "                      itemknn,markov)\n"
    "  --epochs N          epochs for the neural models (20); the counting baselines take one\n"
    "                      pass\n"
    "  --max-seconds S     training time limit per model (0 = none)\n"
    "  --eval-every N      validate every N epochs (max(1, epochs/5))\n"
    "  --patience N        early stop after N validations without improvement (3)\n"
    "  --eval-users N      validation users (0 = all)\n"
    "  --test-users N      test users (0 = all)\n"
    "  --maxlen N          override every model's maxlen (e.g. 50 for short histories)\n"
    "  --batch N           override every model's batch\n"
    "  --dim N             override the neural models' hidden size\n"
    "  --loss KIND         override the neural models' loss where they have it: ce, sampled,\n"
    "                      bce (not bert4rec), shared (batch targets + --negatives shared\n"
    "                      uniform items; not sasrec)\n"
    "  --negatives N       negatives per row for sampled/bce\n"
    "  --dropout P         override the neural models' dropout\n"
    "  --behavior          behaviour-type embeddings in every neural model\n"
    "  --lr X              AdamW learning rate (0.001)\n"
    "  --seed N            (42)\n"
    "  --threads N         OpenMP threads (default: all cores)\n"
    "  --test-data T.sqd   session protocol (GRU4Rec's): train on every event of DATA, no\n"
    "                      validation (fixed --epochs), then predict every next event of the\n"
    "                      sequences in T.sqd (items matched by original id), all items\n"
    "                      ranked, nothing masked, ties counted against the model;\n"
    "                      HR is then Recall@K\n"
    "  --json              JSON on stdout instead of the table\n"
    "  --quiet             no training progress on stderr\n"
    "  -h, --help          this text\n"
    "\n"
    "example:\n"
    "  shopseq compare beauty.sqd --models sasrec,gru4rec,pop,markov --epochs 10\n";

typedef struct {
    int ok;
    char error[512];
    sq_eval_result ev;
    double train_s, events_per_s, coverage10;
    int epochs_run, best_epoch;
    size_t params;
    long peak_rss_kb;
} result;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    int epochs, eval_every, patience, maxlen, batch, quiet, dim, loss, negatives, behavior;
    double dropout;
    uint32_t eval_users, test_users;
    double max_seconds;
    float lr;
    uint64_t seed;
    const sq_dataset *test; /* session protocol when set */
} settings;

/* Runs in the child: train, evaluate, coverage. */
static void run_one(const char *name, const sq_dataset *ds, const settings *st, result *r) {
    sq_error err = {0};
    sq_model_config cfg;
    sq_model_config_default(&cfg);
    cfg.n_items = (int)ds->n_items;
    cfg.seed = st->seed;
    if (sq_model_config_preset(&cfg, name, &err) != SQ_OK) goto fail;
    int counting = !strcmp(name, "pop") || !strcmp(name, "markov") || !strcmp(name, "itemknn");
    if (st->maxlen > 0 && !counting) cfg.maxlen = st->maxlen;
    if (st->batch > 0) cfg.batch = st->batch;
    if (!counting) {
        if (st->dim > 0) cfg.dim = st->dim;
        /* the loss override where the model has that loss */
        int is_bert = !strcmp(name, "bert4rec"), is_sas = !strcmp(name, "sasrec");
        int take = st->loss == SQ_LOSS_CE || (st->loss == SQ_LOSS_SHARED && !is_sas) ||
                   ((st->loss == SQ_LOSS_BCE || st->loss == SQ_LOSS_SAMPLED) && !is_bert);
        if (take) cfg.loss = (sq_loss_kind)st->loss;
        /* negatives go with the overridden loss (a model keeping its own keeps its own) */
        if (st->negatives > 0 && (take || st->loss < 0)) cfg.negatives = st->negatives;
        if (st->dropout >= 0) cfg.dropout = (float)st->dropout;
        cfg.use_behavior = st->behavior;
    }
    sq_model *m;
    if (sq_model_create(&m, &cfg, &err) != SQ_OK) goto fail;
    r->params = m->params.total;
    sq_train_opts to = {.epochs = counting ? 1 : st->epochs, .lr = st->lr,
                        .eval_every = counting ? 0 : st->eval_every, .patience = st->patience,
                        .eval_users = st->eval_users, .log = st->quiet ? NULL : stderr,
                        .progress = 0, .max_seconds = st->max_seconds,
                        .all_events = st->test != NULL};
    if (st->test) to.eval_every = 0;
    sq_train_result tr;
    double t0 = now_s();
    if (sq_train(m, ds, &to, &tr, &err) != SQ_OK) {
        sq_model_free(m);
        goto fail;
    }
    r->train_s = tr.seconds_per_epoch * tr.epochs_run;
    if (r->train_s <= 0) r->train_s = now_s() - t0;
    r->events_per_s = tr.events_per_second;
    r->epochs_run = tr.epochs_run;
    r->best_epoch = tr.best_epoch;
    sq_eval_opts eo = {.split = SQ_SPLIT_TEST, .protocol = SQ_PROTOCOL_FULL, .mask_history = 1,
                       .max_users = st->test_users};
    if ((st->test ? sq_evaluate_next(m, ds, st->test, st->test_users, &r->ev, &err)
                  : sq_evaluate(m, ds, &eo, &r->ev, &err)) != SQ_OK) {
        sq_model_free(m);
        goto fail;
    }
    /* coverage: distinct items in the top-10 lists of the users' next recommendation */
    uint32_t nu = st->test_users && st->test_users < ds->n_users ? st->test_users : ds->n_users;
    uint32_t *users = malloc((size_t)(nu ? nu : 1) * sizeof *users);
    uint32_t *items = malloc((size_t)(nu ? nu : 1) * 10 * sizeof *items);
    float *sc = malloc((size_t)(nu ? nu : 1) * 10 * sizeof *sc);
    unsigned char *seen = calloc(ds->n_items ? ds->n_items : 1, 1);
    if (users && items && sc && seen) {
        for (uint32_t u = 0; u < nu; u++) users[u] = u;
        int k = ds->n_items < 10 ? (int)ds->n_items : 10;
        if (sq_recommend(m, ds, users, (int)nu, k, 1, items, sc, &err) == SQ_OK) {
            size_t distinct = 0;
            for (size_t i = 0; i < (size_t)nu * k; i++)
                if (items[i] < ds->n_items && !seen[items[i]]) seen[items[i]] = 1, distinct++;
            r->coverage10 = ds->n_items ? (double)distinct / ds->n_items : 0.0;
        }
    }
    free(users);
    free(items);
    free(sc);
    free(seen);
    sq_model_free(m);
    r->ok = 1;
    return;
fail:
    memcpy(r->error, err.msg, sizeof r->error);
    r->error[sizeof r->error - 1] = 0;
}

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n) {
    char *c = p;
    while (n) {
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

int sq_cmd_compare(int argc, char **argv) {
    enum { O_MODELS = 256, O_EPOCHS, O_MAXSEC, O_EVERY, O_PAT, O_EVU, O_TESTU, O_MAXLEN, O_BATCH,
           O_LR, O_SEED, O_THREADS, O_JSON, O_QUIET, O_TEST, O_DIM, O_LOSS, O_NEG, O_DROP, O_BEH };
    static const struct option opts[] = {
        {"models", required_argument, 0, O_MODELS}, {"epochs", required_argument, 0, O_EPOCHS},
        {"max-seconds", required_argument, 0, O_MAXSEC},
        {"eval-every", required_argument, 0, O_EVERY},
        {"patience", required_argument, 0, O_PAT}, {"eval-users", required_argument, 0, O_EVU},
        {"test-users", required_argument, 0, O_TESTU}, {"maxlen", required_argument, 0, O_MAXLEN},
        {"batch", required_argument, 0, O_BATCH}, {"lr", required_argument, 0, O_LR},
        {"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, O_THREADS},
        {"test-data", required_argument, 0, O_TEST}, {"dim", required_argument, 0, O_DIM},
        {"loss", required_argument, 0, O_LOSS}, {"negatives", required_argument, 0, O_NEG},
        {"dropout", required_argument, 0, O_DROP}, {"behavior", no_argument, 0, O_BEH}, {"json", no_argument, 0, O_JSON}, {"quiet", no_argument, 0, O_QUIET},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    char models_buf[512] = "sasrec,bert4rec,gru4rec,lstm,caser,pop,itemknn,markov";
    settings st = {.epochs = 20, .eval_every = 0, .patience = 3, .lr = 1e-3f, .seed = 42,
                   .loss = -1, .dropout = -1.0};
    int threads = 0, json = 0;
    const char *test_path = NULL;
    sq_dataset test = {0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        uint64_t u;
        double x;
        switch (c) {
        case 'h': fputs(usage_text, stdout); return SQ_EXIT_OK;
        case O_MODELS:
            if (strlen(optarg) >= sizeof models_buf)
                return sq_cli_usage("compare", "--models list too long");
            snprintf(models_buf, sizeof models_buf, "%s", optarg);
            break;
#define UINT(code, flag, lo, hi, dst)                                                    \
    case code:                                                                          \
        if (sq_cli_parse_u64(optarg, &u) || u + 1 < (uint64_t)(lo) + 1 || u > (hi))     \
            return sq_cli_usage("compare", flag " needs an integer in [%llu, %llu], got '%s'", \
                                (unsigned long long)(lo), (unsigned long long)(hi), optarg); \
        dst = u;                                                                        \
        break;
            UINT(O_EPOCHS, "--epochs", 1, 1000000, st.epochs)
            UINT(O_EVERY, "--eval-every", 0, 1000000, st.eval_every)
            UINT(O_PAT, "--patience", 0, 1000000, st.patience)
            UINT(O_EVU, "--eval-users", 0, 4000000000u, st.eval_users)
            UINT(O_TESTU, "--test-users", 0, 4000000000u, st.test_users)
            UINT(O_MAXLEN, "--maxlen", 1, 4096, st.maxlen)
            UINT(O_BATCH, "--batch", 1, 65536, st.batch)
            UINT(O_THREADS, "--threads", 1, 1024, threads)
            UINT(O_DIM, "--dim", 1, 4096, st.dim)
            UINT(O_NEG, "--negatives", 1, 100000, st.negatives)
            UINT(O_SEED, "--seed", 0, UINT64_MAX, st.seed)
#undef UINT
        case O_MAXSEC:
            if (sq_cli_parse_double(optarg, &x) || x < 0)
                return sq_cli_usage("compare", "--max-seconds needs a number >= 0, got '%s'", optarg);
            st.max_seconds = x;
            break;
        case O_LR:
            if (sq_cli_parse_double(optarg, &x) || x <= 0 || x > 10)
                return sq_cli_usage("compare", "--lr needs a number in (0, 10], got '%s'", optarg);
            st.lr = (float)x;
            break;
        case O_TEST: test_path = optarg; break;
        case O_LOSS:
            st.loss = sq_loss_from_name(optarg);
            if (st.loss < 0)
                return sq_cli_usage("compare", "--loss must be ce, sampled, bce or shared");
            break;
        case O_DROP:
            if (sq_cli_parse_double(optarg, &x) || x < 0 || x >= 1)
                return sq_cli_usage("compare", "--dropout needs a number in [0, 1), got '%s'", optarg);
            st.dropout = x;
            break;
        case O_BEH: st.behavior = 1; break;
        case O_JSON: json = 1; break;
        case O_QUIET: st.quiet = 1; break;
        default: return sq_cli_usage("compare", "bad option");
        }
    }
    if (optind + 1 != argc) return sq_cli_usage("compare", "expected one DATA.sqd argument");
    if (!st.eval_every) st.eval_every = st.epochs / 5 > 1 ? st.epochs / 5 : 1;
    /* the model list, checked before any work */
    char *names[32];
    int n_models = 0;
    for (char *tok = strtok(models_buf, ","); tok; tok = strtok(NULL, ",")) {
        if (!*tok) continue;
        if (!sq_model_known(tok))
            return sq_cli_usage("compare", "unknown model '%s' (known: %s)", tok, sq_model_names());
        if (n_models == 32) return sq_cli_usage("compare", "at most 32 models");
        names[n_models++] = tok;
    }
    if (!n_models) return sq_cli_usage("compare", "--models is empty");
    sq_nn_init(threads);
    sq_error err = {0};
    sq_dataset ds = {0};
    if (sq_dataset_open(&ds, argv[optind], &err) != SQ_OK) return sq_cli_fail("compare", &err);
    if (test_path) {
        if (sq_dataset_open(&test, test_path, &err) != SQ_OK) {
            sq_dataset_close(&ds);
            return sq_cli_fail("compare", &err);
        }
        st.test = &test;
    }
    result *res = calloc((size_t)n_models, sizeof *res);
    if (!res) {
        sq_dataset_close(&ds);
        sq_dataset_close(&test);
        sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
        return sq_cli_fail("compare", &err);
    }
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < n_models; i++) {
        result *r = &res[i];
        if (!st.quiet) fprintf(stderr, "compare: %s ...\n", names[i]);
        int fd[2];
        if (pipe(fd) != 0) {
            snprintf(r->error, sizeof r->error, "pipe: %s", strerror(errno));
            continue;
        }
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(r->error, sizeof r->error, "fork: %s", strerror(errno));
            close(fd[0]);
            close(fd[1]);
            continue;
        }
        if (pid == 0) {
            close(fd[0]);
            result cr = {0};
            run_one(names[i], &ds, &st, &cr);
            fflush(stderr);
            _exit(write_all(fd[1], &cr, sizeof cr) == 0 ? 0 : 1);
        }
        close(fd[1]);
        int got = read_all(fd[0], r, sizeof *r) == 0;
        close(fd[0]);
        int status;
        struct rusage ru;
        memset(&ru, 0, sizeof ru);
        while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
        }
        if (!got) {
            memset(r, 0, sizeof *r);
            snprintf(r->error, sizeof r->error, "the run died (%s %d)",
                     WIFSIGNALED(status) ? "signal" : "exit status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        }
        r->peak_rss_kb = ru.ru_maxrss;
    }
    const char *protocol =
        test_path ? "session next-event on --test-data, all items ranked, ties against the model "
                    "(GRU4Rec's conservative mode), nothing masked; HR = Recall"
                  : "leave-one-out test event, full-catalogue ranking, history masked";
    int failed = 0;
    if (json) {
        printf("{\"dataset\":");
        sq_cli_json_string(stdout, argv[optind], strlen(argv[optind]));
        printf(",\"users\":%u,\"items\":%u,\"events\":%llu,\"protocol\":\"%s\","
               "\"coverage\":\"distinct items in all users' top-10 / catalogue\",\"models\":[",
               ds.n_users, ds.n_items, (unsigned long long)ds.n_events, protocol);
        for (int i = 0; i < n_models; i++) {
            const result *r = &res[i];
            printf("%s{\"model\":\"%s\",\"ok\":%s", i ? "," : "", names[i], r->ok ? "true" : "false");
            if (!r->ok) {
                printf(",\"error\":");
                sq_cli_json_string(stdout, r->error, strlen(r->error));
                printf("}");
                failed++;
                continue;
            }
            printf(",\"%s\":%u", test_path ? "predictions" : "test_users", r->ev.n_users);
            for (int k = 2; k < 4; k++)
                printf(",\"hr@%d\":%.6f,\"ndcg@%d\":%.6f,\"mrr@%d\":%.6f", sq_eval_ks[k], r->ev.hr[k],
                       sq_eval_ks[k], r->ev.ndcg[k], sq_eval_ks[k], r->ev.mrr[k]);
            printf(",\"coverage@10\":%.6f,\"train_seconds\":%.3f,\"events_per_second\":%.1f,"
                   "\"epochs\":%d,\"best_epoch\":%d,\"peak_rss_mb\":%.1f,\"parameters\":%zu}",
                   r->coverage10, r->train_s, r->events_per_s, r->epochs_run, r->best_epoch,
                   r->peak_rss_kb / 1024.0, r->params);
        }
        printf("]}\n");
    } else {
        printf("compare %s: %u users, %u items, %llu events\nprotocol: %s\n\n", argv[optind],
               ds.n_users, ds.n_items, (unsigned long long)ds.n_events, protocol);
        printf("%-9s %7s %7s %7s %7s %7s %7s %6s %8s %9s %7s %9s %6s\n", "model", "HR@10",
               "NDCG@10", "MRR@10", "HR@20", "NDCG@20", "MRR@20", "cov@10", "train_s", "events/s",
               "RSS_MB", "params", "epochs");
        for (int i = 0; i < n_models; i++) {
            const result *r = &res[i];
            if (!r->ok) {
                printf("%-9s failed: %s\n", names[i], r->error);
                failed++;
                continue;
            }
            char ep[32];
            if (r->best_epoch) snprintf(ep, sizeof ep, "%d/%d", r->best_epoch, r->epochs_run);
            else snprintf(ep, sizeof ep, "-/%d", r->epochs_run);
            printf("%-9s %7.4f %7.4f %7.4f %7.4f %7.4f %7.4f %6.3f %8.1f %9.0f %7.1f %9zu %s\n",
                   names[i], r->ev.hr[2], r->ev.ndcg[2], r->ev.mrr[2], r->ev.hr[3], r->ev.ndcg[3],
                   r->ev.mrr[3], r->coverage10, r->train_s, r->events_per_s,
                   r->peak_rss_kb / 1024.0, r->params, ep);
        }
        printf("\nepochs: best/run (validation NDCG@10 picks the best; - = no validation: "
               "counting baselines take one pass, --test-data trains fixed epochs)\n");
    }
    free(res);
    sq_dataset_close(&ds);
    sq_dataset_close(&test);
    if (failed) {
        fprintf(stderr, "shopseq compare: %d of %d models failed\n", failed, n_models);
        return SQ_EXIT_FAIL;
    }
    return SQ_EXIT_OK;
}
