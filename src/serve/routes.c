/* The HTTP API's routes: request -> JSON response. Specified in docs/openapi.yaml. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/timeparse.h"
#include "internal.h"
#include "shopseq/behavior.h"
#include "shopseq/predict.h"

/* Tasks of POST /v1/predict: next_item from the checkpoint, the others from the heads given
 * by --predict-model (pred: their sq_pred_task). A task without a head answers 501. */
static const struct {
    const char *name;
    int pred;
} tasks[] = {{"next_item", -1}, {"next_behavior", SQ_PRED_NEXT_BEHAVIOR},
             {"purchase", SQ_PRED_PURCHASE}, {"churn", SQ_PRED_CHURN}};
#define N_TASKS (sizeof tasks / sizeof *tasks)

static int task_available(const sq_engine *e, size_t t) {
    return tasks[t].pred < 0 || sq_engine_predict_model(e, tasks[t].pred) != NULL;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void json_response(sq__response *resp, int status, json_t *j) {
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!resp->body) {
        sq__error_response(resp, 500, "internal", "out of memory");
        return;
    }
    resp->len = strlen(resp->body);
}

void sq__error_response(sq__response *resp, int status, const char *code, const char *message) {
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!resp->body) {
        /* message not valid UTF-8 or no memory: a fixed body */
        static const char fixed[] = "{\"error\":{\"code\":\"internal\",\"message\":\"error\"}}";
        resp->body = strdup(fixed);
    }
    resp->len = resp->body ? strlen(resp->body) : 0;
}

static int status_of(sq_status st) {
    switch (st) {
    case SQ_ERR_NOMEM: return 503;
    case SQ_ERR_LIMIT: return 507;
    case SQ_ERR_USAGE:
    case SQ_ERR_FORMAT: return 400;
    default: return 500;
    }
}

int sq__route_match(const char *method, const char *url, const char **user, size_t *user_len,
                    const char **allowed) {
    *user = NULL;
    *user_len = 0;
    *allowed = NULL;
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    struct {
        const char *path;
        int route, post;
    } fixed[] = {{"/v1/events", SQ__R_EVENTS, 1}, {"/v1/predict", SQ__R_PREDICT, 1},
                 {"/v1/admin/reload", SQ__R_RELOAD, 1}, {"/healthz", SQ__R_HEALTHZ, 0},
                 {"/metrics", SQ__R_METRICS, 0}};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (!strcmp(url, fixed[i].path)) {
            if (fixed[i].post ? post : get) return fixed[i].route;
            *allowed = fixed[i].post ? "POST" : "GET, HEAD";
            return SQ__R_OTHER;
        }
    static const char prefix[] = "/v1/users/";
    if (strncmp(url, prefix, sizeof prefix - 1)) return SQ__R_OTHER;
    const char *id = url + sizeof prefix - 1, *slash = strrchr(id, '/');
    if (!slash || slash == id) return SQ__R_OTHER;
    static const struct {
        const char *name;
        int route;
    } sub[] = {{"/recommendations", SQ__R_RECS}, {"/explain", SQ__R_EXPLAIN}, {"/history", SQ__R_HISTORY}};
    for (size_t i = 0; i < sizeof sub / sizeof *sub; i++)
        if (!strcmp(slash, sub[i].name)) {
            if (!get) {
                *allowed = "GET, HEAD";
                return SQ__R_OTHER;
            }
            *user = id;
            *user_len = (size_t)(slash - id);
            return sub[i].route;
        }
    return SQ__R_OTHER;
}

/* ---- helpers ---- */
static int parse_int(const char *s, long lo, long hi, long *out) {
    /* digits only (strtol alone would take leading blanks and '+') */
    if (!s || !((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' && s[1] <= '9'))) return -1;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out) {
    if (!strcmp(s, "true") || !strcmp(s, "1")) *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "0")) *out = 0;
    else return -1;
    return 0;
}

static json_t *json_id(const char *s, size_t n) { return json_stringn(s, n); }

/* History of a user as the model sees it (training + stored). */
static sq_status load_seq(sq__server *s, sq_engine *e, const char *user, size_t user_len,
                          sq_user_seq *seq, sq_error *err) {
    sq_history h;
    sq_status st = sq_store_get(s->store, user, user_len, &h, err);
    if (st == SQ_OK) st = sq_engine_user_seq(e, user, user_len, &h, seq, err);
    sq_history_free(&h);
    return st;
}

static json_t *items_json(sq_engine *e, const uint32_t *items, const float *scores, int n) {
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        size_t len;
        const char *id = sq_engine_item_id(e, items[i], &len);
        json_array_append_new(arr, json_pack("{s:o,s:f,s:i}", "item", json_id(id, len), "score",
                                             (double)scores[i], "rank", i + 1));
    }
    return arr;
}

/* Top-k of a user as a JSON object (recommendations and predict share it). */
static int recommend(sq__server *s, sq_engine *e, const char *user, size_t user_len, int k,
                     int exclude_seen, json_t **out, sq__response *resp) {
    sq_error err = {0};
    sq_user_seq seq;
    sq_status st = load_seq(s, e, user, user_len, &seq, &err);
    uint32_t *items = malloc((size_t)k * sizeof *items);
    float *scores = malloc((size_t)k * sizeof *scores);
    int n = 0, fallback = 0;
    if (st == SQ_OK && (!items || !scores)) st = sq_error_set(&err, SQ_ERR_NOMEM, "out of memory");
    if (st == SQ_OK) st = sq_engine_topk(e, &seq, k, exclude_seen, items, scores, &n, &fallback, &err);
    if (st != SQ_OK) {
        sq__error_response(resp, status_of(st), "internal", err.msg);
    } else {
        if (fallback) atomic_fetch_add(&s->metrics.recs_fallback, 1);
        *out = json_pack("{s:s#,s:o,s:s,s:b,s:i,s:I,s:I}", "user", user, (int)user_len, "items",
                         items_json(e, items, scores, n), "fallback",
                         fallback ? "popularity" : "none", "known_user", seq.known_user,
                         "k", k, "history_used", (json_int_t)seq.n, "history_unknown_items",
                         (json_int_t)seq.n_unknown);
        if (fallback) json_object_set_new(*out, "fallback", json_string("popularity"));
        else json_object_set_new(*out, "fallback", json_null());
    }
    sq_user_seq_free(&seq);
    free(items);
    free(scores);
    return st == SQ_OK ? 0 : -1;
}

/* ---- routes ---- */
static void h_events(sq__server *s, const sq__request *rq, sq__response *resp) {
    sq_event_batch b;
    const char *code = NULL;
    sq_error err = {0};
    sq_status st = sq_serve_parse_events(rq->body, rq->body_len, &s->cfg.limits, now_ms(), &b,
                                         &code, &err);
    if (st != SQ_OK) {
        int status = st == SQ_ERR_NOMEM ? 503 : !strcmp(code, "body_too_large") ? 413 : 400;
        sq__error_response(resp, status, code ? code : "invalid_request", err.msg);
        return;
    }
    st = sq_store_append(s->store, b.ev, b.n, &err); /* durable before we answer */
    if (st != SQ_OK) {
        sq__error_response(resp, st == SQ_ERR_LIMIT ? 507 : 500,
                           st == SQ_ERR_LIMIT ? "store_full" : "store_error", err.msg);
        sq_event_batch_free(&b);
        return;
    }
    uint64_t gen;
    sq_engine *e = sq__server_engine(s, &gen);
    size_t unknown = 0;
    for (size_t i = 0; i < b.n; i++)
        unknown += sq_engine_item_find(e, b.ev[i].item, b.ev[i].item_len) == UINT32_MAX;
    sq_engine_unref(e);
    atomic_fetch_add(&s->metrics.events_accepted, b.n);
    atomic_fetch_add(&s->metrics.events_unknown_items, unknown);
    json_response(resp, 200, json_pack("{s:I,s:I,s:b}", "accepted", (json_int_t)b.n, "unknown_items",
                                       (json_int_t)unknown, "durable", 1));
    sq_event_batch_free(&b);
}

static int get_k(const sq__server *s, const char *q, int def, long *k, sq__response *resp) {
    *k = def;
    if (q && parse_int(q, 1, s->cfg.limits.max_k, k)) {
        char msg[96];
        snprintf(msg, sizeof msg, "k: must be an integer in 1..%d", s->cfg.limits.max_k);
        sq__error_response(resp, 400, "invalid_parameter", msg);
        return -1;
    }
    return 0;
}

static int get_exclude(const char *q, int *ex, sq__response *resp) {
    *ex = 1;
    if (q && parse_bool(q, ex)) {
        sq__error_response(resp, 400, "invalid_parameter", "exclude_seen: must be true or false");
        return -1;
    }
    return 0;
}

static void h_recs(sq__server *s, const sq__request *rq, sq__response *resp) {
    long k;
    int ex;
    if (get_k(s, rq->q_k, 10, &k, resp) || get_exclude(rq->q_exclude_seen, &ex, resp)) return;
    uint64_t gen;
    sq_engine *e = sq__server_engine(s, &gen);
    json_t *j = NULL;
    if (recommend(s, e, rq->user, rq->user_len, (int)k, ex, &j, resp) == 0) {
        json_object_set_new(j, "model_generation", json_integer((json_int_t)gen));
        json_response(resp, 200, j);
    }
    sq_engine_unref(e);
}

static void h_history(sq__server *s, const sq__request *rq, sq__response *resp) {
    sq_history h;
    sq_error err = {0};
    sq_status st = sq_store_get(s->store, rq->user, rq->user_len, &h, &err);
    if (st != SQ_OK) {
        sq__error_response(resp, status_of(st), "store_error", err.msg);
        return;
    }
    uint64_t gen;
    sq_engine *e = sq__server_engine(s, &gen);
    json_t *arr = json_array();
    for (size_t i = 0; i < h.n; i++) {
        json_t *o = json_pack("{s:o,s:s,s:I,s:b}", "item", json_id(h.ev[i].item, h.ev[i].item_len),
                              "behavior", sq_behavior_name(h.ev[i].behavior), "time",
                              (json_int_t)h.ev[i].time_ms, "known_item",
                              sq_engine_item_find(e, h.ev[i].item, h.ev[i].item_len) != UINT32_MAX);
        if (o && h.ev[i].category)
            json_object_set_new(o, "category", json_id(h.ev[i].category, h.ev[i].category_len));
        if (o && !isnan(h.ev[i].price)) json_object_set_new(o, "price", json_real(h.ev[i].price));
        json_array_append_new(arr, o);
    }
    sq_engine_unref(e);
    sq_history_free(&h);
    json_response(resp, 200, json_pack("{s:s#,s:o,s:i}", "user", rq->user, (int)rq->user_len,
                                       "events", arr, "cap", s->cfg.history_cap));
}

static void h_explain(sq__server *s, const sq__request *rq, sq__response *resp) {
    long n = 10;
    int ex;
    if (rq->q_n && parse_int(rq->q_n, 1, s->cfg.limits.max_explain, &n)) {
        char msg[96];
        snprintf(msg, sizeof msg, "n: must be an integer in 1..%d", s->cfg.limits.max_explain);
        sq__error_response(resp, 400, "invalid_parameter", msg);
        return;
    }
    if (get_exclude(rq->q_exclude_seen, &ex, resp)) return;
    uint64_t gen;
    sq_engine *e = sq__server_engine(s, &gen);
    sq_error err = {0};
    sq_user_seq seq;
    sq_explain x;
    sq_status st = load_seq(s, e, rq->user, rq->user_len, &seq, &err);
    if (st == SQ_OK && seq.n == 0) {
        sq__error_response(resp, 404, "no_history",
                           "the user has no history with items the model knows: nothing to explain");
    } else if (st == SQ_OK && (st = sq_engine_explain(e, &seq, (int)n, ex, &x, &err)) == SQ_OK &&
               x.top_item == UINT32_MAX) {
        sq__error_response(resp, 404, "no_candidates", "every item is excluded as seen");
    } else if (st == SQ_OK) {
        size_t len;
        const char *top = sq_engine_item_id(e, x.top_item, &len);
        json_t *arr = json_array();
        for (int i = 0; i < x.n; i++) {
            size_t q = x.index[i], il;
            const char *id = sq_engine_item_id(e, seq.item[q], &il);
            char t[40];
            sq_time_format_iso(seq.time_ms[q], t, sizeof t);
            json_array_append_new(
                arr, json_pack("{s:i,s:I,s:o,s:s,s:s,s:f,s:f}", "rank_from_end", i + 1, "position",
                               (json_int_t)q, "item", json_id(id, il), "behavior",
                               sq_behavior_name(seq.behavior[q]), "time", t, "score_without",
                               (double)x.score_without[i], "score_drop", (double)x.drop[i]));
        }
        json_response(resp, 200,
                      json_pack("{s:s#,s:s,s:o,s:f,s:o,s:I,s:I}", "user", rq->user,
                                (int)rq->user_len, "method", "occlusion", "top_item",
                                json_id(top, len), "top_score", (double)x.base_score, "events",
                                arr, "history_used", (json_int_t)seq.n, "model_generation",
                                (json_int_t)gen));
    }
    if (st != SQ_OK) sq__error_response(resp, status_of(st), "internal", err.msg);
    sq_user_seq_free(&seq);
    sq_engine_unref(e);
}

static void h_predict(sq__server *s, const sq__request *rq, sq__response *resp) {
    json_error_t je;
    json_t *doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
    char msg[300];
    if (!doc) {
        snprintf(msg, sizeof msg, "body: malformed JSON at line %d column %d: %s", je.line,
                 je.column, je.text);
        sq__error_response(resp, 400, "malformed_json", msg);
        return;
    }
    json_t *user = json_object_get(doc, "user"), *jt = json_object_get(doc, "tasks"),
           *jk = json_object_get(doc, "k"), *jx = json_object_get(doc, "exclude_seen"),
           *jtime = json_object_get(doc, "time");
    char ubuf[32];
    const char *u = NULL;
    size_t ulen = 0;
    if (json_is_integer(user)) {
        snprintf(ubuf, sizeof ubuf, "%lld", (long long)json_integer_value(user));
        u = ubuf;
        ulen = strlen(ubuf);
    } else if (json_is_string(user)) {
        u = json_string_value(user);
        ulen = json_string_length(user);
    }
    int want[N_TASKS] = {0};
    int64_t at_ms = 0;
    const char *bad = NULL;
    char kmsg[64];
    snprintf(kmsg, sizeof kmsg, "k: must be an integer in 1..%d", s->cfg.limits.max_k);
    if (!json_is_object(doc)) bad = "body: must be a JSON object";
    else if (!user) bad = "user: required";
    else if (!u || ulen == 0 || ulen > s->cfg.limits.max_id_len || memchr(u, 0, ulen))
        bad = "user: must be a non-empty string or an integer";
    else if (jk && (!json_is_integer(jk) || json_integer_value(jk) < 1 ||
                    json_integer_value(jk) > s->cfg.limits.max_k))
        bad = kmsg;
    else if (jx && !json_is_boolean(jx)) bad = "exclude_seen: must be a boolean";
    else if (jtime && sq__parse_time(jtime, &at_ms))
        bad = "time: must be a Unix time (s or ms) or an ISO-8601 date";
    else if (jt && (!json_is_array(jt) || json_array_size(jt) == 0 || json_array_size(jt) > 16))
        bad = "tasks: must be a non-empty array of task names";
    if (!bad && jt) {
        size_t i;
        json_t *v;
        json_array_foreach(jt, i, v) {
            size_t t = 0;
            while (t < N_TASKS && !(json_is_string(v) && !strcmp(json_string_value(v), tasks[t].name))) t++;
            if (t == N_TASKS) {
                bad = "tasks: unknown task (tasks: next_item, next_behavior, purchase, churn)";
                break;
            }
            want[t] = 1;
        }
    }
    if (bad) {
        sq__error_response(resp, 400, "invalid_field", bad);
        json_decref(doc);
        return;
    }
    uint64_t gen;
    sq_engine *e = sq__server_engine(s, &gen);
    char avail[96] = "";
    json_t *avail_json = json_array();
    for (size_t t = 0; t < N_TASKS; t++) {
        if (!jt) want[t] = task_available(e, t);
        if (!task_available(e, t)) continue;
        snprintf(avail + strlen(avail), sizeof avail - strlen(avail), "%s%s", *avail ? ", " : "",
                 tasks[t].name);
        json_array_append_new(avail_json, json_string(tasks[t].name));
    }
    for (size_t t = 0; t < N_TASKS; t++)
        if (want[t] && !task_available(e, t)) {
            snprintf(msg, sizeof msg,
                     "task '%s' has no trained head: start the service with --predict-model FILE "
                     "(saved by shopseq predict --task %s --save-model FILE); available tasks: %s",
                     tasks[t].name, sq_pred_task_name(tasks[t].pred), avail);
            sq__error_response(resp, 501, "task_unavailable", msg);
            goto out;
        }
    json_t *preds = json_object();
    if (want[0]) {
        json_t *rec = NULL;
        if (recommend(s, e, u, ulen, jk ? (int)json_integer_value(jk) : 10,
                      jx ? json_is_true(jx) : 1, &rec, resp) != 0) {
            json_decref(preds);
            goto out;
        }
        json_object_set_new(preds, "next_item",
                            json_pack("{s:O,s:O}", "items", json_object_get(rec, "items"),
                                      "fallback", json_object_get(rec, "fallback")));
        json_decref(rec);
    }
    int heads[SQ_PRED_TASK_COUNT] = {0};
    for (size_t t = 1; t < N_TASKS; t++) heads[tasks[t].pred] = want[t];
    sq_error err = {0};
    sq_status st = sq__predict_heads(s, e, u, ulen, heads, jtime != NULL, at_ms, preds, &err);
    if (st != SQ_OK) {
        json_decref(preds);
        sq__error_response(resp, status_of(st), "internal", err.msg);
        goto out;
    }
    json_response(resp, 200,
                  json_pack("{s:s#,s:o,s:O,s:I}", "user", u, (int)ulen, "predictions", preds,
                            "available_tasks", avail_json, "model_generation", (json_int_t)gen));
out:
    json_decref(avail_json);
    sq_engine_unref(e);
    json_decref(doc);
}

static void h_healthz(sq__server *s, sq__response *resp) {
    uint64_t gen;
    sq_engine *e = sq__server_engine(s, &gen);
    sq_engine_info info;
    sq_engine_info_get(e, &info);
    json_response(resp, 200,
                  json_pack("{s:s,s:{s:s,s:i,s:i,s:i,s:I},s:I,s:I}", "status", "ok", "model",
                            "name", info.model, "items", info.n_items, "dim", info.dim, "maxlen",
                            info.maxlen, "generation", (json_int_t)gen, "events_stored",
                            (json_int_t)sq_store_events_total(s->store), "in_flight",
                            (json_int_t)atomic_load(&s->in_flight)));
    sq_engine_unref(e);
}

static void h_reload(sq__server *s, sq__response *resp) {
    sq_error err = {0};
    if (sq__server_reload(s, &err) != SQ_OK) {
        sq__error_response(resp, 500, "reload_failed", err.msg);
        return;
    }
    uint64_t gen;
    sq_engine *e = sq__server_engine(s, &gen);
    sq_engine_unref(e);
    json_response(resp, 200, json_pack("{s:s,s:I}", "status", "reloaded", "generation", (json_int_t)gen));
}

void sq__handle(sq__server *s, const sq__request *rq, sq__response *resp) {
    switch (rq->route) {
    case SQ__R_EVENTS: h_events(s, rq, resp); break;
    case SQ__R_RECS: h_recs(s, rq, resp); break;
    case SQ__R_PREDICT: h_predict(s, rq, resp); break;
    case SQ__R_EXPLAIN: h_explain(s, rq, resp); break;
    case SQ__R_HISTORY: h_history(s, rq, resp); break;
    case SQ__R_HEALTHZ: h_healthz(s, resp); break;
    case SQ__R_RELOAD: h_reload(s, resp); break;
    case SQ__R_METRICS:
        resp->status = 200;
        resp->content_type = "text/plain; version=0.0.4";
        resp->body = sq__metrics_text(s, &resp->len);
        if (!resp->body) sq__error_response(resp, 503, "internal", "out of memory");
        break;
    default: sq__error_response(resp, 404, "not_found", "no such route (see docs/openapi.yaml)");
    }
}
