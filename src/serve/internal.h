/* Internal pieces of the server (src/serve/): routes, metrics, the server state. */
#ifndef SQ_SERVE_INTERNAL_H
#define SQ_SERVE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "shopseq/serve.h"

/* Routes, as labelled in metrics. */
#define SQ__ROUTE_TABLE(X)                       \
    X(SQ__R_EVENTS, "events")                    \
    X(SQ__R_RECS, "recommendations")             \
    X(SQ__R_PREDICT, "predict")                  \
    X(SQ__R_EXPLAIN, "explain")                  \
    X(SQ__R_HISTORY, "history")                  \
    X(SQ__R_HEALTHZ, "healthz")                  \
    X(SQ__R_METRICS, "metrics")                  \
    X(SQ__R_RELOAD, "reload")                    \
    X(SQ__R_OTHER, "other")

typedef enum {
#define SQ__R_ENUM(id, name) id,
    SQ__ROUTE_TABLE(SQ__R_ENUM)
#undef SQ__R_ENUM
    SQ__R_COUNT
} sq__route;

const char *sq__route_name(int r);

/* ---- metrics (metrics.c): lock-free counters ---- */
enum { SQ__N_CODES = 13, SQ__N_BUCKETS = 13 };

typedef struct sq__metrics {
    _Atomic uint64_t requests[SQ__R_COUNT][SQ__N_CODES];
    _Atomic uint64_t latency_bucket[SQ__R_COUNT][SQ__N_BUCKETS]; /* non-cumulative */
    _Atomic uint64_t latency_count[SQ__R_COUNT];
    _Atomic uint64_t latency_sum_ns[SQ__R_COUNT];
    _Atomic uint64_t events_accepted, events_unknown_items, recs_fallback;
    _Atomic uint64_t reloads_ok, reloads_failed;
} sq__metrics;

void sq__metrics_observe(sq__metrics *m, int route, int status, double seconds);

/* ---- server state ---- */
typedef struct sq__server {
    sq_serve_config cfg;
    sq_store *store;
    pthread_mutex_t eng_lock;    /* guards eng and generation (held for a pointer copy) */
    sq_engine *eng;
    uint64_t generation;
    pthread_mutex_t reload_lock; /* one reload at a time */
    sq__metrics metrics;
    _Atomic int in_flight;
    double started_at;
} sq__server;

/* A reference to the current engine (release with sq_engine_unref). */
sq_engine *sq__server_engine(sq__server *s, uint64_t *generation);
/* Loads the checkpoint again and swaps it in; requests keep running on the old one. */
sq_status sq__server_reload(sq__server *s, sq_error *err);
/* Prometheus text exposition (malloc'd). */
char *sq__metrics_text(sq__server *s, size_t *len);

/* ---- routes (routes.c) ---- */
typedef struct sq__request {
    int route;
    const char *user;   /* decoded id from the path (routes under /v1/users/{id}/) */
    size_t user_len;
    const char *body;
    size_t body_len;
    /* query parameters, NULL when absent */
    const char *q_k, *q_exclude_seen, *q_n;
} sq__request;

typedef struct sq__response {
    int status;
    char *body; /* malloc'd */
    size_t len;
    const char *content_type;
} sq__response;

/* Route of a method + path; *user receives the {id} part. Returns SQ__R_OTHER with
 * *allowed set when the path exists but the method does not (405). */
int sq__route_match(const char *method, const char *url, const char **user, size_t *user_len,
                    const char **allowed);
/* Runs a route. */
void sq__handle(sq__server *s, const sq__request *rq, sq__response *resp);
/* {"error":{"code":...,"message":...}} with that status. */
void sq__error_response(sq__response *resp, int status, const char *code, const char *message);

/* Constant-time comparison of the Authorization header against "Bearer <token>". */
int sq__auth_ok(const char *header, const char *token);

#endif
