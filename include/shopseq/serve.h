/* The online service (`shopseq serve`): events in, recommendations out, over HTTP/1.1 JSON.
 *
 * Pieces, each usable on its own (the CLI and the tests are clients of this header):
 *   store   per-user recent history in LMDB (sq_store_*): appends are committed durably
 *           (LMDB's synchronous commit) before the call returns, so an acknowledged event
 *           survives kill -9; each user's history is bounded (oldest events dropped).
 *   parse   request bodies -> events, with caps on sizes and counts (sq_serve_parse_events).
 *   engine  a loaded checkpoint + its dataset, reference-counted so that a reload swaps it
 *           while requests still hold the old one (sq_engine_*); concurrent scoring
 *           requests are combined into one batch.
 *   server  libmicrohttpd with a thread pool, routes, auth, limits, metrics (sq_serve_run).
 * The HTTP API is specified in docs/openapi.yaml. */
#ifndef SHOPSEQ_SERVE_H
#define SHOPSEQ_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "shopseq/status.h"

/* ---- limits on untrusted input ---- */
typedef struct sq_serve_limits {
    size_t max_body;        /* bytes of a request body (1 MiB) */
    size_t max_body_total;  /* bytes of request bodies held at once, all connections (256 MiB) */
    size_t max_events;      /* events in one POST /v1/events (1000) */
    size_t max_id_len;      /* bytes of a user or item id (256) */
    size_t max_fields;      /* fields of one event object (16) */
    int max_k;              /* largest k of recommendations (1000) */
    int max_explain;        /* largest n of explain (50) */
} sq_serve_limits;

void sq_serve_limits_default(sq_serve_limits *l);

/* One event as posted: ids are the original (string) ids; behavior is an sq_behavior. */
typedef struct sq_serve_event {
    const char *user;
    size_t user_len;
    const char *item;
    size_t item_len;
    int behavior;
    int64_t time_ms;
    const char *category; /* original category id, or NULL (absent) */
    size_t category_len;
    int has_price;        /* price is given (a zeroed event has none) */
    float price;
} sq_serve_event;

/* ---- request parsing ---- */
typedef struct sq_event_batch {
    sq_serve_event *ev; /* (n) strings point into the parsed document */
    size_t n;
    void *doc_;         /* private (the JSON document) */
} sq_event_batch;

/* Parses a POST /v1/events body: one event object or an array of them. Fields: "user"
 * and "item" (string or integer, required), "behavior" (canonical name, default "view"),
 * "time" (Unix s or ms number, or ISO-8601 string; default now_ms), and optional
 * "category" (string or integer, kept), "price" (number >= 0, kept) and "session"
 * (type-checked, not stored: the service cuts sessions by the inactivity gap). On error returns
 * SQ_ERR_FORMAT / SQ_ERR_LIMIT, *code receives a stable error code ("malformed_json",
 * "invalid_field", "unknown_behavior", "missing_field", "unknown_field", "too_many_events",
 * "too_long") and err->msg names the field (e.g. "events[3].behavior: ..."). */
sq_status sq_serve_parse_events(const char *body, size_t len, const sq_serve_limits *lim,
                                int64_t now_ms, sq_event_batch *out, const char **code,
                                sq_error *err);
void sq_event_batch_free(sq_event_batch *b); /* accepts a zeroed b */

/* ---- store ---- */
typedef struct sq_store sq_store;

/* One stored event; item and category point into sq_history.bytes. */
typedef struct sq_hist_event {
    int64_t time_ms;
    int behavior;
    const char *item;
    size_t item_len;
    const char *category; /* NULL when the event had none */
    size_t category_len;
    float price;          /* NaN when the event had none */
} sq_hist_event;

typedef struct sq_history {
    sq_hist_event *ev; /* (n) oldest first */
    size_t n;
    char *bytes_;
} sq_history;

/* Opens (creating) the LMDB environment in directory dir. map_mb: largest size of the
 * database; cap_per_user: events kept per user (oldest dropped beyond it). */
sq_status sq_store_open(sq_store **s, const char *dir, size_t map_mb, int cap_per_user,
                        sq_error *err);
void sq_store_close(sq_store *s); /* NULL ok */
/* Appends n events in one transaction, durable when this returns SQ_OK.
 * SQ_ERR_LIMIT when the database is full. */
sq_status sq_store_append(sq_store *s, const sq_serve_event *ev, size_t n, sq_error *err);
/* The stored events of a user (empty history if none). */
sq_status sq_store_get(sq_store *s, const char *user, size_t user_len, sq_history *h,
                       sq_error *err);
void sq_history_free(sq_history *h); /* accepts a zeroed h */
/* Events appended over the store's life (a counter kept in the database) and users. */
uint64_t sq_store_events_total(sq_store *s);
uint64_t sq_store_users(sq_store *s);

/* ---- engine: model + dataset ---- */
typedef struct sq_engine sq_engine;

/* Loads the checkpoint and the dataset it was trained on (item dictionary checked). */
sq_status sq_engine_load(sq_engine **e, const char *model_path, const char *data_path,
                         sq_error *err);
/* Loads a task head saved by `shopseq predict --save-model` and attaches it to e (which owns
 * it from then on; it goes with e on reload). Refused when it was trained on another
 * dataset, or when e already has a head for its task. */
sq_status sq_engine_add_predict(sq_engine *e, const char *path, sq_error *err);
/* The head of a task (sq_pred_task), or NULL when none is loaded. */
const struct sq_pred_model *sq_engine_predict_model(const sq_engine *e, int task);
/* The dataset the engine serves (training histories). */
const struct sq_dataset *sq_engine_dataset(const sq_engine *e);
/* OpenMP threads that score a batch (default: omp_get_max_threads() of the loading thread). */
void sq_engine_set_threads(sq_engine *e, int threads);
void sq_engine_ref(sq_engine *e);
void sq_engine_unref(sq_engine *e); /* frees on the last reference; NULL ok */

typedef struct sq_engine_info {
    const char *model;  /* "sasrec" */
    const char *path;
    int n_items, dim, maxlen, blocks;
    uint32_t n_users;
    uint64_t n_events;
    double loaded_at;   /* Unix seconds */
    const char *scoring; /* how the catalogue is scored (logged at start) */
} sq_engine_info;
void sq_engine_info_get(const sq_engine *e, sq_engine_info *info);

/* A user's history as the model sees it: training history (dataset) + stored events,
 * dense item ids; unknown items are skipped (n_unknown counts them). */
typedef struct sq_user_seq {
    uint32_t *item;
    uint8_t *behavior;
    int64_t *time_ms;
    size_t n, cap;
    size_t n_unknown;    /* stored events whose item is not in the catalogue */
    int known_user;      /* the user is in the training data */
} sq_user_seq;

sq_status sq_engine_user_seq(const sq_engine *e, const char *user, size_t user_len,
                             const sq_history *stored, sq_user_seq *seq, sq_error *err);
void sq_user_seq_free(sq_user_seq *s); /* accepts a zeroed s */

/* Top-k after the last maxlen events of seq; exclude_seen masks every item of seq.
 * items/scores receive *n_out <= k entries, best first. Thread-safe: concurrent callers
 * are combined into one batch. An empty seq gives popularity results (*fallback = 1). */
sq_status sq_engine_topk(sq_engine *e, const sq_user_seq *seq, int k, int exclude_seen,
                         uint32_t *items, float *scores, int *n_out, int *fallback,
                         sq_error *err);

/* Occlusion: the top item after seq, then for each of the last n events (newest first)
 * the top item's score with that event removed. drop[i] = base - score_without_i;
 * index[i] = position of that event in seq. Returns the number of events explained. */
typedef struct sq_explain {
    uint32_t top_item;
    float base_score;
    int n;
    size_t index[64];
    float score_without[64];
    float drop[64];
} sq_explain;
sq_status sq_engine_explain(sq_engine *e, const sq_user_seq *seq, int n, int exclude_seen,
                            sq_explain *out, sq_error *err);

/* Original id of a dense item. */
const char *sq_engine_item_id(const sq_engine *e, uint32_t item, size_t *len);
uint32_t sq_engine_n_items(const sq_engine *e);
/* Dense id of an original item id, or UINT32_MAX (SQ_NONE) if not in the catalogue. */
uint32_t sq_engine_item_find(const sq_engine *e, const char *item, size_t len);

/* ---- server ---- */
typedef struct sq_serve_config {
    const char *model_path;
    const char *data_path;
    const char *state_dir;
    const char *host;       /* "127.0.0.1" */
    int port;               /* 0: any free port (the chosen one is logged) */
    const char *token;      /* bearer token for writes; NULL = writes unauthenticated */
    int threads;            /* HTTP worker threads (thread pool) */
    unsigned conn_limit;    /* concurrent connections */
    unsigned timeout_s;     /* idle connection timeout */
    size_t map_mb;          /* LMDB map size */
    int history_cap;        /* events kept per user */
    sq_serve_limits limits;
    const char *port_file;  /* if set, the bound port is written there once listening */
    const char *predict_paths[8]; /* task heads (shopseq predict --save-model), one per task */
    int n_predict;
} sq_serve_config;

void sq_serve_config_default(sq_serve_config *c);

/* Loads, listens, serves until SIGTERM/SIGINT (graceful: stops accepting, finishes
 * requests in flight, closes the store); SIGHUP reloads the checkpoint. The caller's
 * thread waits for signals (they are blocked in every thread of the process). */
sq_status sq_serve_run(const sq_serve_config *c, sq_error *err);

#endif
