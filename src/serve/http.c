/* The HTTP server: libmicrohttpd (epoll, thread pool), request bodies under a cap, bearer
 * auth on writes, metrics per request, reload (SIGHUP / admin route) and graceful SIGTERM. */
#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "shopseq/predict_model.h"
#include "shopseq/nn.h"

void sq_serve_config_default(sq_serve_config *c) {
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8080;
    c->threads = 16; /* handlers block (fsync, the scoring batch): more threads than cores */
    c->conn_limit = 1024;
    c->timeout_s = 30;
    c->map_mb = 1024;
    c->history_cap = 200;
    sq_serve_limits_default(&c->limits);
}

static double now_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_real(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int sq__auth_ok(const char *header, const char *token) {
    static const char bearer[] = "Bearer ";
    if (!token) return 1;
    if (!header || strncmp(header, bearer, sizeof bearer - 1)) return 0;
    const char *got = header + sizeof bearer - 1;
    size_t n = strlen(got), m = strlen(token);
    /* constant time in the token's content: always walk the whole expected token */
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < m; i++) diff |= (unsigned char)(token[i] ^ (i < n ? got[i] : 0));
    return diff == 0;
}

sq_engine *sq__server_engine(sq__server *s, uint64_t *generation) {
    pthread_mutex_lock(&s->eng_lock);
    sq_engine *e = s->eng;
    sq_engine_ref(e);
    if (generation) *generation = s->generation;
    pthread_mutex_unlock(&s->eng_lock);
    return e;
}

/* The checkpoint, the dataset and the task heads, as configured. */
static sq_status engine_open(const sq_serve_config *c, sq_engine **out, sq_error *err) {
    sq_status st = sq_engine_load(out, c->model_path, c->data_path, err);
    for (int i = 0; st == SQ_OK && i < c->n_predict; i++)
        st = sq_engine_add_predict(*out, c->predict_paths[i], err);
    if (st != SQ_OK) {
        sq_engine_unref(*out);
        *out = NULL;
    }
    return st;
}

sq_status sq__server_reload(sq__server *s, sq_error *err) {
    pthread_mutex_lock(&s->reload_lock);
    sq_engine *e = NULL;
    sq_status st = engine_open(&s->cfg, &e, err);
    if (st == SQ_OK) {
        sq_engine_set_threads(e, s->score_threads);
        pthread_mutex_lock(&s->eng_lock);
        sq_engine *old = s->eng;
        s->eng = e;
        s->generation++;
        pthread_mutex_unlock(&s->eng_lock);
        sq_engine_unref(old); /* freed when the last request on it finishes */
        atomic_fetch_add(&s->metrics.reloads_ok, 1);
        fprintf(stderr, "shopseq serve: reloaded %s (generation %llu)\n", s->cfg.model_path,
                (unsigned long long)s->generation);
    } else {
        atomic_fetch_add(&s->metrics.reloads_failed, 1);
        fprintf(stderr, "shopseq serve: reload failed, keeping the loaded model: %s\n", err->msg);
    }
    pthread_mutex_unlock(&s->reload_lock);
    return st;
}

/* ---- one request ---- */
typedef struct conn_req {
    int route;
    double t0;
    int status;
    int responded;
    int too_large;
    char *body;
    size_t len, cap;
    const char *user;
    size_t user_len;
} conn_req;

static enum MHD_Result send_resp(struct MHD_Connection *c, conn_req *r, sq__response *resp,
                                 const char *allow) {
    struct MHD_Response *mr = MHD_create_response_from_buffer(resp->len, resp->body, MHD_RESPMEM_MUST_FREE);
    if (!mr) {
        free(resp->body);
        return MHD_NO;
    }
    MHD_add_response_header(mr, "Content-Type", resp->content_type ? resp->content_type : "application/json");
    if (allow) MHD_add_response_header(mr, "Allow", allow);
    if (resp->status == 401) MHD_add_response_header(mr, "WWW-Authenticate", "Bearer");
    r->status = resp->status;
    r->responded = 1;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)resp->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, conn_req *r, int status,
                                  const char *code, const char *msg, const char *allow) {
    sq__response resp = {0};
    sq__error_response(&resp, status, code, msg);
    return send_resp(c, r, &resp, allow);
}

static int is_write(int route) { return route == SQ__R_EVENTS || route == SQ__R_RELOAD; }

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    sq__server *s = cls;
    conn_req *r = *con_cls;
    if (!r) {
        /* headers received: route, auth and declared size are checked before any body */
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        *con_cls = r;
        r->t0 = now_mono();
        atomic_fetch_add(&s->in_flight, 1);
        const char *allowed;
        r->route = sq__route_match(method, url, &r->user, &r->user_len, &allowed);
        if (allowed) return send_error(c, r, 405, "method_not_allowed", "method not allowed on this route", allowed);
        if (r->route == SQ__R_OTHER) return send_error(c, r, 404, "not_found", "no such route (see docs/openapi.yaml)", NULL);
        if (r->user) {
            json_t *j = json_stringn(r->user, r->user_len);
            json_decref(j);
            if (!j || r->user_len > s->cfg.limits.max_id_len || memchr(r->user, 0, r->user_len))
                return send_error(c, r, 400, "invalid_parameter", "user id: must be 1..256 bytes of UTF-8", NULL);
        }
        if (is_write(r->route) &&
            !sq__auth_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"), s->cfg.token))
            return send_error(c, r, 401, "unauthorized", "a valid 'Authorization: Bearer <token>' header is required", NULL);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        unsigned long long declared = cl ? strtoull(cl, NULL, 10) : 0;
        if (declared > s->cfg.limits.max_body)
            return send_error(c, r, 413, "body_too_large", "request body larger than the limit", NULL);
        if (declared && atomic_load(&s->body_bytes) + declared > s->cfg.limits.max_body_total)
            return send_error(c, r, 503, "overloaded", "too many request bodies in flight; retry", NULL);
        return MHD_YES;
    }
    if (r->responded) {
        *upload_size = 0; /* discard what follows an early answer */
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (r->too_large || r->len + n > s->cfg.limits.max_body) {
            /* chunked body over the cap: stop reading it, the connection is closed */
            r->too_large = 1;
            r->status = 413;
            return MHD_NO;
        }
        if (r->len + n > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->len + n) cap *= 2;
            if (cap > s->cfg.limits.max_body) cap = s->cfg.limits.max_body;
            /* all connections together hold at most max_body_total of bodies: past it the
             * connection is closed (a slow sender cannot pin memory without bound) */
            if (atomic_fetch_add(&s->body_bytes, cap - r->cap) + (cap - r->cap) > s->cfg.limits.max_body_total) {
                atomic_fetch_sub(&s->body_bytes, cap - r->cap);
                r->status = 503;
                return MHD_NO;
            }
            char *b = realloc(r->body, cap);
            if (!b) {
                atomic_fetch_sub(&s->body_bytes, cap - r->cap);
                return MHD_NO;
            }
            r->body = b;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload, n);
        r->len += n;
        return MHD_YES;
    }
    sq__request rq = {.route = r->route, .user = r->user, .user_len = r->user_len,
                      .body = r->body ? r->body : "", .body_len = r->len};
    rq.q_k = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k");
    rq.q_exclude_seen = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "exclude_seen");
    rq.q_n = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n");
    sq__response resp = {0};
    sq__handle(s, &rq, &resp);
    return send_resp(c, r, &resp, NULL);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    sq__server *s = cls;
    conn_req *r = *con_cls;
    if (!r) return;
    int status = r->status ? r->status : (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? 408 : 0);
    sq__metrics_observe(&s->metrics, r->route, status, now_mono() - r->t0);
    atomic_fetch_sub(&s->in_flight, 1);
    atomic_fetch_sub(&s->body_bytes, r->cap);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void on_log(void *cls, const char *fmt, va_list ap) {
    fputs("shopseq serve: http: ", stderr);
    vfprintf(stderr, fmt, ap);
}

sq_status sq_serve_run(const sq_serve_config *cfg, sq_error *err) {
    /* every thread created from here on inherits the blocked set; we sigwait for them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    sq__server *s = calloc(1, sizeof *s);
    if (!s) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    s->cfg = *cfg;
    s->generation = 1;
    s->started_at = now_real();
    pthread_mutex_init(&s->eng_lock, NULL);
    pthread_mutex_init(&s->reload_lock, NULL);
    struct MHD_Daemon *d = NULL;
    s->score_threads = omp_get_max_threads(); /* after sq_nn_init (--score-threads) */
    sq_status st = engine_open(cfg, &s->eng, err);
    if (st == SQ_OK) sq_engine_set_threads(s->eng, s->score_threads);
    if (st == SQ_OK) st = sq_store_open(&s->store, cfg->state_dir, cfg->map_mb, cfg->history_cap, err);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    if (st == SQ_OK && inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1)
        st = sq_error_set(err, SQ_ERR_USAGE, "--host: '%s' is not an IPv4 address", cfg->host);
    if (st == SQ_OK) {
        unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                         MHD_USE_ERROR_LOG;
        d = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, s,
                             MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads > 0 ? cfg->threads : 1),
                             MHD_OPTION_CONNECTION_LIMIT, cfg->conn_limit,
                             MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                             MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
        if (!d) st = sq_error_set(err, SQ_ERR_IO, "cannot listen on %s:%d (in use?)", cfg->host, cfg->port);
    }
    if (st == SQ_OK) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        int port = di ? di->port : cfg->port;
        sq_engine_info info;
        sq_engine_info_get(s->eng, &info);
        fprintf(stderr, "shopseq serve: %s (%d items, dim %d, maxlen %d; scoring: %s) on http://%s:%d, "
                        "state %s, %d threads, writes %s\n", info.model, info.n_items, info.dim, info.maxlen, info.scoring,
                cfg->host, port, cfg->state_dir, cfg->threads,
                cfg->token ? "need a bearer token" : "UNAUTHENTICATED");
        for (int t = 0; t < SQ_PRED_TASK_COUNT; t++) {
            const sq_pred_model *pm = sq_engine_predict_model(s->eng, t);
            if (pm)
                fprintf(stderr, "shopseq serve: task %s from %s (%s, horizon %lld h, threshold "
                        "%.4f)\n", sq_pred_task_name(t), pm->path, pm->label,
                        (long long)(pm->cfg.horizon_ms / 3600000), pm->threshold);
        }
        if (cfg->port_file) {
            char tmp[4096], num[16];
            snprintf(tmp, sizeof tmp, "%s.tmp", cfg->port_file);
            int n = snprintf(num, sizeof num, "%d\n", port);
            FILE *fp = fopen(tmp, "w");
            if (!fp || fwrite(num, 1, (size_t)n, fp) != (size_t)n || fclose(fp) != 0 ||
                rename(tmp, cfg->port_file) != 0)
                fprintf(stderr, "shopseq serve: cannot write %s\n", cfg->port_file);
        }
        for (;;) {
            int sig = 0;
            if (sigwait(&set, &sig) != 0) continue;
            if (sig == SIGHUP) {
                sq_error rerr = {0};
                sq__server_reload(s, &rerr);
            } else if (sig == SIGTERM || sig == SIGINT) {
                break;
            }
        }
        /* graceful: stop accepting, let requests in flight finish (10 s at most) */
        fprintf(stderr, "shopseq serve: shutting down\n");
        MHD_quiesce_daemon(d);
        for (int i = 0; i < 1000 && atomic_load(&s->in_flight) > 0; i++) usleep(10000);
    }
    if (d) MHD_stop_daemon(d);
    sq_store_close(s->store);
    sq_engine_unref(s->eng);
    pthread_mutex_destroy(&s->eng_lock);
    pthread_mutex_destroy(&s->reload_lock);
    free(s);
    if (st == SQ_OK) fprintf(stderr, "shopseq serve: stopped\n");
    return st;
}
