/* Model comparison (include/shopseq/compare.h): one child process per model, the results
 * back through a pipe, and the one JSON format shared by `compare`, `run` and the report. */
#include "shopseq/compare.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/fileio.h"
#include "shopseq/model.h"
#include "shopseq/nn.h"

void sq_compare_opts_init(sq_compare_opts *o) {
    memset(o, 0, sizeof *o);
    o->epochs = 20;
    o->patience = 3;
    o->lr_drops = 2;
    o->loss = -1;
    o->dropout = -1.0;
    o->bpreg = -1.0;
    o->final_elu = -1.0;
    o->lr = 1e-3f;
    o->seed = 42;
}

int sq_compare_is_baseline(const char *m) {
    return !strcmp(m, "pop") || !strcmp(m, "markov") || !strcmp(m, "itemknn");
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs in the child: train, evaluate, coverage. */
static void run_one(const char *name, const sq_dataset *ds, const sq_compare_opts *st,
                    int eval_every, sq_compare_row *r) {
    sq_error err = {0};
    sq_model_config cfg;
    sq_model_config_default(&cfg);
    cfg.n_items = (int)ds->n_items;
    cfg.seed = st->seed;
    if (sq_model_config_preset(&cfg, name, &err) != SQ_OK) goto fail;
    int counting = sq_compare_is_baseline(name);
    if (st->maxlen > 0 && !counting) cfg.maxlen = st->maxlen;
    if (st->batch > 0) cfg.batch = st->batch;
    if (!counting) {
        if (st->dim > 0) cfg.dim = st->dim;
        /* the loss override where the model has that loss */
        int is_bert = !strcmp(name, "bert4rec"), is_sas = !strcmp(name, "sasrec");
        int is_rnn = !strcmp(name, "gru4rec") || !strcmp(name, "lstm");
        int take = st->loss == SQ_LOSS_CE || (st->loss == SQ_LOSS_SHARED && !is_sas) ||
                   (st->loss == SQ_LOSS_BPRMAX && is_rnn) ||
                   ((st->loss == SQ_LOSS_BCE || st->loss == SQ_LOSS_SAMPLED) && !is_bert);
        if (take) cfg.loss = (sq_loss_kind)st->loss;
        /* negatives go with the overridden loss (a model keeping its own keeps its own) */
        if (st->negatives > 0 && (take || st->loss < 0)) cfg.negatives = st->negatives;
        if (st->dropout >= 0) cfg.dropout = (float)st->dropout;
        sq_features_set(&cfg, st->features);
        if (st->bpreg >= 0) cfg.bpreg = (float)st->bpreg;
        if (st->final_elu >= 0) cfg.final_elu = (float)st->final_elu;
    }
    sq_model *m;
    if (sq_model_create_for(&m, &cfg, ds, &err) != SQ_OK) goto fail;
    r->params = m->params.total;
    sq_train_opts to = {.epochs = counting ? 1 : st->epochs, .lr = st->lr,
                        .eval_every = counting ? 0 : eval_every, .patience = st->patience,
                        .lr_drop = st->lr_drop, .lr_drops = st->lr_drops,
                        .eval_users = st->eval_users, .keep_history = st->keep_history,
                        .log = st->log_training ? st->log : NULL, .progress = 0,
                        .max_seconds = st->max_seconds, .all_events = st->test != NULL};
    if (!strcmp(name, "gru4rec")) to.batching = (sq_batching)st->batching;
    if (!strcmp(name, "gru4rec") || !strcmp(name, "lstm")) { /* the RNN losses read them */
        to.sample_alpha = (float)st->sample_alpha;
        to.logq = (float)st->logq;
    }
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
    sq_eval_opts eo = {.split = SQ_SPLIT_TEST, .protocol = SQ_PROTOCOL_FULL,
                       .mask_history = !st->keep_history,
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

typedef struct {
    pid_t pid;
    int fd; /* read end of the child's result pipe */
    int idx;
} child;

/* Forks the child that trains models[i]; on failure fills row i's error. */
static int start_child(child *c, int i, const char *const *models, const sq_dataset *ds,
                       const sq_compare_opts *o, int eval_every, sq_compare_result *res) {
    sq_compare_row *r = &res->rows[i];
    int fd[2];
    if (o->log) {
        fprintf(o->log, "compare: %s ...\n", models[i]);
        fflush(o->log);
    }
    if (pipe(fd) != 0) {
        snprintf(r->error, sizeof r->error, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->error, sizeof r->error, "fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return -1;
    }
    if (pid == 0) {
        close(fd[0]);
        /* several at once: one thread each, so they do not fight over the cores */
        if (o->jobs > 1) sq_nn_init(1);
        sq_compare_row cr;
        memset(&cr, 0, sizeof cr);
        run_one(models[i], ds, o, eval_every, &cr);
        if (o->log) fflush(o->log);
        fflush(stderr);
        _exit(write_all(fd[1], &cr, sizeof cr) == 0 ? 0 : 1);
    }
    close(fd[1]);
    c->pid = pid;
    c->fd = fd[0];
    c->idx = i;
    return 0;
}

/* Reads the child's row (it writes it just before exiting) and reaps it. */
static void finish_child(child *c, const char *const *models, sq_compare_result *res) {
    sq_compare_row *r = &res->rows[c->idx];
    int got = read_all(c->fd, r, sizeof *r) == 0;
    close(c->fd);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(c->pid, &status, 0, &ru) < 0 && errno == EINTR) {
    }
    if (!got) {
        memset(r, 0, sizeof *r);
        snprintf(r->error, sizeof r->error, "the run died (%s %d)",
                 WIFSIGNALED(status) ? "signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    snprintf(r->model, sizeof r->model, "%s", models[c->idx]);
    r->peak_rss_kb = ru.ru_maxrss;
}

sq_status sq_compare_run(const sq_dataset *ds, const char *dataset_name,
                         const char *const *models, int n_models, const sq_compare_opts *o,
                         sq_compare_result *res, sq_error *err) {
    if (n_models < 1 || n_models > SQ_COMPARE_MAX_MODELS)
        return sq_error_set(err, SQ_ERR_USAGE, "compare: 1 to %d models, got %d",
                            SQ_COMPARE_MAX_MODELS, n_models);
    for (int i = 0; i < n_models; i++)
        if (!sq_model_known(models[i]) || strlen(models[i]) >= sizeof res->rows[0].model)
            return sq_error_set(err, SQ_ERR_USAGE, "unknown model '%s' (known: %s)", models[i],
                                sq_model_names());
    memset(res, 0, sizeof *res);
    snprintf(res->dataset, sizeof res->dataset, "%s", dataset_name ? dataset_name : "");
    res->users = ds->n_users;
    res->items = ds->n_items;
    res->events = ds->n_events;
    res->session = o->test != NULL;
    res->keep_history = o->test == NULL && o->keep_history;
    res->features = o->features;
    res->n_models = n_models;
    int eval_every = o->eval_every ? o->eval_every : (o->epochs / 5 > 1 ? o->epochs / 5 : 1);
    int jobs = o->jobs > 1 ? (o->jobs < n_models ? o->jobs : n_models) : 1;
    /* the children inherit unflushed stdio buffers and would print them twice */
    fflush(stdout);
    fflush(stderr);
    if (o->log) fflush(o->log);
    child run[SQ_COMPARE_MAX_MODELS];
    int next = 0, running = 0;
    while (next < n_models || running) {
        while (running < jobs && next < n_models) {
            if (start_child(&run[running], next, models, ds, o, eval_every, res) == 0) running++;
            else snprintf(res->rows[next].model, sizeof res->rows[next].model, "%s", models[next]);
            next++;
        }
        if (!running) break;
        /* the first child to finish: its pipe turns readable (its row, or EOF if it died) */
        int done = 0;
        if (running > 1) {
            struct pollfd pf[SQ_COMPARE_MAX_MODELS];
            for (int k = 0; k < running; k++) pf[k] = (struct pollfd){.fd = run[k].fd, .events = POLLIN};
            while (poll(pf, (nfds_t)running, -1) < 0 && errno == EINTR) {
            }
            while (done < running - 1 && !pf[done].revents) done++;
        }
        finish_child(&run[done], models, res);
        run[done] = run[--running];
    }
    return SQ_OK;
}

int sq_compare_failed(const sq_compare_result *r) {
    int n = 0;
    for (int i = 0; i < r->n_models; i++) n += !r->rows[i].ok;
    return n;
}

static const char PROTO_LOO[] = "leave-one-out test event, full-catalogue ranking, history masked";
static const char PROTO_LOO_KEEP[] =
    "leave-one-out test event, full-catalogue ranking, history not masked";
static const char PROTO_SESSION[] =
    "session next-event on --test-data, all items ranked, ties against the model "
    "(GRU4Rec's conservative mode), nothing masked; HR = Recall";

const char *sq_compare_protocol(const sq_compare_result *r) {
    return r->session ? PROTO_SESSION : r->keep_history ? PROTO_LOO_KEEP : PROTO_LOO;
}

static void put_string(FILE *fp, const char *s) {
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(fp, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", fp);
        else if (*p == '\t') fputs("\\t", fp);
        else if (*p == '\r') fputs("\\r", fp);
        else if (*p < 0x20) fprintf(fp, "\\u%04x", *p);
        else fputc(*p, fp);
    }
    fputc('"', fp);
}

void sq_compare_write_json(FILE *fp, const sq_compare_result *res) {
    char feats[64];
    fprintf(fp, "{\"dataset\":");
    put_string(fp, res->dataset);
    fprintf(fp, ",\"users\":%u,\"items\":%u,\"events\":%llu,\"protocol\":\"%s\","
            "\"features\":\"%s\","
            "\"coverage\":\"distinct items in all users' top-10 / catalogue\",\"models\":[",
            res->users, res->items, (unsigned long long)res->events, sq_compare_protocol(res),
            sq_features_name(res->features, feats, sizeof feats));
    for (int i = 0; i < res->n_models; i++) {
        const sq_compare_row *r = &res->rows[i];
        fprintf(fp, "%s{\"model\":", i ? "," : "");
        put_string(fp, r->model);
        fprintf(fp, ",\"ok\":%s", r->ok ? "true" : "false");
        if (!r->ok) {
            fprintf(fp, ",\"error\":");
            put_string(fp, r->error);
            fprintf(fp, "}");
            continue;
        }
        fprintf(fp, ",\"%s\":%u", res->session ? "predictions" : "test_users", r->ev.n_users);
        for (int k = 2; k < 4; k++)
            fprintf(fp, ",\"hr@%d\":%.6f,\"ndcg@%d\":%.6f,\"mrr@%d\":%.6f", sq_eval_ks[k],
                    r->ev.hr[k], sq_eval_ks[k], r->ev.ndcg[k], sq_eval_ks[k], r->ev.mrr[k]);
        fprintf(fp, ",\"coverage@10\":%.6f,\"train_seconds\":%.3f,\"events_per_second\":%.1f,"
                "\"epochs\":%d,\"best_epoch\":%d,\"peak_rss_mb\":%.1f,\"parameters\":%zu}",
                r->coverage10, r->train_s, r->events_per_s, r->epochs_run, r->best_epoch,
                r->peak_rss_kb / 1024.0, r->params);
    }
    fprintf(fp, "]}\n");
}

void sq_compare_write_table(FILE *fp, const sq_compare_result *res) {
    char feats[64];
    fprintf(fp, "compare %s: %u users, %u items, %llu events\nprotocol: %s\nside features: %s\n\n",
            res->dataset, res->users, res->items, (unsigned long long)res->events,
            sq_compare_protocol(res), sq_features_name(res->features, feats, sizeof feats));
    fprintf(fp, "%-9s %7s %7s %7s %7s %7s %7s %6s %8s %9s %7s %9s %6s\n", "model", "HR@10",
            "NDCG@10", "MRR@10", "HR@20", "NDCG@20", "MRR@20", "cov@10", "train_s", "events/s",
            "RSS_MB", "params", "epochs");
    for (int i = 0; i < res->n_models; i++) {
        const sq_compare_row *r = &res->rows[i];
        if (!r->ok) {
            fprintf(fp, "%-9s failed: %s\n", r->model, r->error);
            continue;
        }
        char ep[32];
        if (r->best_epoch) snprintf(ep, sizeof ep, "%d/%d", r->best_epoch, r->epochs_run);
        else snprintf(ep, sizeof ep, "-/%d", r->epochs_run);
        fprintf(fp, "%-9s %7.4f %7.4f %7.4f %7.4f %7.4f %7.4f %6.3f %8.1f %9.0f %7.1f %9zu %s\n",
                r->model, r->ev.hr[2], r->ev.ndcg[2], r->ev.mrr[2], r->ev.hr[3], r->ev.ndcg[3],
                r->ev.mrr[3], r->coverage10, r->train_s, r->events_per_s,
                r->peak_rss_kb / 1024.0, r->params, ep);
    }
    fprintf(fp, "\nepochs: best/run (validation NDCG@10 picks the best; - = no validation: "
            "counting baselines take one pass, --test-data trains fixed epochs)\n");
}

sq_status sq_compare_save_json(const sq_compare_result *r, const char *path, sq_error *err) {
    sq_atomic_file f;
    sq_status st = sq_atomic_open(&f, path, err);
    if (st != SQ_OK) return st;
    sq_compare_write_json(f.fp, r);
    if (ferror(f.fp)) {
        sq_atomic_abort(&f);
        return sq_error_set(err, SQ_ERR_IO, "%s: write failed", path);
    }
    return sq_atomic_commit(&f, err);
}

/* number member or NaN when absent (so a hand-edited file fails loudly below) */
static double num(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

sq_status sq_compare_load_json(sq_compare_result *r, const char *path, sq_error *err) {
    memset(r, 0, sizeof *r);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        return sq_error_set(err, SQ_ERR_FORMAT, "%s:%d: %s", path, je.line, je.text);
    sq_status st = SQ_OK;
    const json_t *models = json_object_get(root, "models");
    const char *ds = json_string_value(json_object_get(root, "dataset"));
    const char *proto = json_string_value(json_object_get(root, "protocol"));
    double users = num(root, "users"), items = num(root, "items"), events = num(root, "events");
    if (!json_is_array(models) || !ds || !proto || !(users >= 0) || !(items >= 0) ||
        !(events >= 0)) {
        st = sq_error_set(err, SQ_ERR_FORMAT,
                          "%s: not a compare result (dataset, users, items, events, protocol, "
                          "models expected)", path);
        goto out;
    }
    if (json_array_size(models) > SQ_COMPARE_MAX_MODELS) {
        st = sq_error_set(err, SQ_ERR_LIMIT, "%s: more than %d models", path,
                          SQ_COMPARE_MAX_MODELS);
        goto out;
    }
    snprintf(r->dataset, sizeof r->dataset, "%s", ds);
    r->users = (uint32_t)users;
    r->items = (uint32_t)items;
    r->events = (uint64_t)events;
    r->session = !strcmp(proto, PROTO_SESSION);
    r->keep_history = !strcmp(proto, PROTO_LOO_KEEP);
    /* absent in files written before side features: none */
    const char *fs = json_string_value(json_object_get(root, "features"));
    r->features = fs ? sq_features_parse(fs, NULL) : 0;
    if (r->features < 0) r->features = 0;
    size_t i;
    const json_t *m;
    json_array_foreach(models, i, m) {
        sq_compare_row *row = &r->rows[i];
        const char *name = json_string_value(json_object_get(m, "model"));
        const json_t *ok = json_object_get(m, "ok");
        if (!name || !json_is_boolean(ok)) {
            st = sq_error_set(err, SQ_ERR_FORMAT, "%s: models[%zu] has no model or ok", path, i);
            goto out;
        }
        snprintf(row->model, sizeof row->model, "%s", name);
        row->ok = json_is_true(ok);
        r->n_models = (int)i + 1;
        if (!row->ok) {
            const char *e = json_string_value(json_object_get(m, "error"));
            snprintf(row->error, sizeof row->error, "%s", e ? e : "failed");
            continue;
        }
        double v[13] = {num(m, r->session ? "predictions" : "test_users"), num(m, "hr@10"),
                        num(m, "ndcg@10"), num(m, "mrr@10"), num(m, "hr@20"), num(m, "ndcg@20"),
                        num(m, "mrr@20"), num(m, "coverage@10"), num(m, "train_seconds"),
                        num(m, "events_per_second"), num(m, "epochs"), num(m, "best_epoch"),
                        num(m, "peak_rss_mb")};
        double params = num(m, "parameters");
        for (int k = 0; k < 13; k++)
            if (!(v[k] >= 0)) {
                st = sq_error_set(err, SQ_ERR_FORMAT, "%s: models[%zu] (%s) lacks a field or has "
                                  "a negative one", path, i, name);
                goto out;
            }
        row->ev.n_users = (uint32_t)v[0];
        row->ev.hr[2] = v[1], row->ev.ndcg[2] = v[2], row->ev.mrr[2] = v[3];
        row->ev.hr[3] = v[4], row->ev.ndcg[3] = v[5], row->ev.mrr[3] = v[6];
        row->coverage10 = v[7];
        row->train_s = v[8];
        row->events_per_s = v[9];
        row->epochs_run = (int)v[10];
        row->best_epoch = (int)v[11];
        row->peak_rss_kb = lround(v[12] * 1024);
        row->params = params >= 0 ? (size_t)params : 0;
    }
out:
    json_decref(root);
    return st;
}

void sq_compare_reading(const sq_compare_result *r, char *buf, size_t cap) {
    int bn = -1, bb = -1, best = -1, n_ok = 0;
    for (int i = 0; i < r->n_models; i++) {
        const sq_compare_row *w = &r->rows[i];
        if (!w->ok) continue;
        n_ok++;
        double v = w->ev.ndcg[2];
        int *slot = sq_compare_is_baseline(w->model) ? &bb : &bn;
        if (*slot < 0 || v > r->rows[*slot].ev.ndcg[2]) *slot = i;
        if (best < 0 || v > r->rows[best].ev.ndcg[2]) best = i;
    }
    if (cap) buf[0] = 0;
    if (best < 0) return;
    if (bn < 0 || bb < 0) {
        snprintf(buf, cap, "%s has the best NDCG@10 (%.4f) of the %d model%s.", r->rows[best].model,
                 r->rows[best].ev.ndcg[2], n_ok, n_ok == 1 ? "" : "s");
        return;
    }
    const sq_compare_row *n = &r->rows[bn], *b = &r->rows[bb];
    double vn = n->ev.ndcg[2], vb = b->ev.ndcg[2];
    if (vn > vb && vb > 0)
        snprintf(buf, cap, "%s leads NDCG@10 by %.0f%% over the best baseline (%s): %.4f vs %.4f.",
                 n->model, 100 * (vn / vb - 1), b->model, vn, vb);
    else if (vn > vb)
        snprintf(buf, cap, "%s leads NDCG@10 with %.4f; every baseline scores 0.", n->model, vn);
    else if (vb > 0)
        snprintf(buf, cap, "The best baseline (%s) leads NDCG@10: the best neural model (%s) "
                 "reaches %.0f%% of it (%.4f vs %.4f).", b->model, n->model, 100 * vn / vb, vn, vb);
    else
        snprintf(buf, cap, "Every model scores NDCG@10 0 on this test.");
}
