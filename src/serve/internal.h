/* Internal pieces of the server (src/serve/): routes, metrics, the server state. */
#ifndef SQ_SERVE_INTERNAL_H
#define SQ_SERVE_INTERNAL_H

#include <jansson.h>
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

/* ---- full-catalogue scoring (score.c): int8 pass + exact fp32 rescoring of candidates ---- */
typedef struct sq__scorer {
    int V, C, nblk;    /* items, dim, blocks of 16 items */
    int8_t *q;         /* (nblk, C, 16) quantised E */
    float *scale;      /* (nblk * 16) per item; 0 for the padding of the last block */
    const float *E;    /* (V, C) the model's fp32 item embeddings (not owned) */
    const float *bias; /* (V) the model's output bias, or NULL (not owned) */
    int isa;           /* 3 avx512-vnni (h quantised too), 2 avx512f, 1 avx2+fma, 0 portable C */
    int C4;            /* C rounded up to 4 (vnni) */
    int8_t *q4;        /* (nblk, C4/4, 16, 4) the same values, as vpdpbusd reads them (vnni) */
    int32_t *qsum;     /* (nblk * 16) sum_c q(v,c) (vnni) */
    float *qabs;       /* (nblk * 16) scale(v) * sum_c |q(v,c)| (vnni) */
} sq__scorer;

/* bias: a per-item term added to every score (exact: it shifts both bounds alike), or NULL */
sq_status sq__scorer_init(sq__scorer *s, const float *E, const float *bias, int V, int C,
                          sq_error *err);
void sq__scorer_free(sq__scorer *s); /* accepts a zeroed s */
/* out (n, ld >= nblk*16): approximate scores of rep (n, C) for every item (OpenMP). */
void sq__scorer_approx(const sq__scorer *s, const float *rep, int n, float *out, size_t ld);
float sq__scorer_exact(const sq__scorer *s, const float *rep, uint32_t v);
/* Exact fp32 top-k of rep given its approximate row (items at -inf are excluded); best
 * first, ties to the lower id. *n_rescored: items rescored in fp32. Returns the count. */
int sq__scorer_topk(const sq__scorer *s, const float *rep, const float *approx, int k,
                    uint32_t *items, float *scores, size_t *n_rescored);
/* Top-k of a score row (V), skipping -inf and NaN; best first, ties to the lower id. */
int sq__topk(const float *s, int V, int k, uint32_t *items, float *scores);

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
    _Atomic size_t body_bytes;   /* request body buffers held now (limits.max_body_total) */
    double started_at;
    int score_threads;           /* the main thread's OpenMP team size, given to each engine */
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

/* ---- task heads (heads.c) ---- */
/* The API name of a task head ("purchase", "churn", "next_behavior"). */
const char *sq__head_name(int task);
/* Adds the wanted heads (want[sq_pred_task]) that e has to predictions, scored for the user's
 * training + stored history at at_ms (has_at) or at the default now (docs/openapi.yaml). */
sq_status sq__predict_heads(sq__server *s, sq_engine *e, const char *user, size_t user_len,
                            const int *want, int has_at, int64_t at_ms, json_t *predictions,
                            sq_error *err);

/* Constant-time comparison of the Authorization header against "Bearer <token>". */
int sq__auth_ok(const char *header, const char *token);

/* ---- request fields (parse.c) ---- */
/* A JSON time: Unix seconds or milliseconds (>= 1e11), or an ISO-8601 string, to ms.
 * 0 ok; 1 a number out of range; 2 a string that is no time; 3 neither number nor string. */
int sq__parse_time(const json_t *t, int64_t *ms);

#endif
