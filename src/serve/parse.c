/* Request bodies -> events, and the limits on them. Untrusted input: every size capped,
 * every type checked, errors name the field. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/timeparse.h"
#include "shopseq/behavior.h"
#include "internal.h"
#include "shopseq/serve.h"

void sq_serve_limits_default(sq_serve_limits *l) {
    l->max_body = 1u << 20;
    l->max_body_total = (size_t)256 << 20;
    l->max_events = 1000;
    l->max_id_len = 256;
    l->max_fields = 16;
    l->max_k = 1000;
    l->max_explain = 50;
}

int sq__parse_time(const json_t *t, int64_t *ms) {
    if (json_is_number(t)) {
        double x = json_number_value(t);
        if (!isfinite(x) || x < 0 || x > 1e15) return 1;
        *ms = x >= 1e11 ? (int64_t)x : (int64_t)llround(x * 1000.0);
        return 0;
    }
    if (json_is_string(t))
        return sq_time_parse(json_string_value(t), json_string_length(t), SQ_TIME_AUTO, ms) ? 2 : 0;
    return 3;
}

static sq_status fail(sq_error *err, const char **code, const char *c, sq_status st,
                      const char *fmt, const char *where, const char *detail) {
    *code = c;
    return sq_error_set(err, st, fmt, where, detail);
}

/* An id field: a string (1..max bytes, no NUL) or an integer. Integers are formatted into
 * buf and stored in the document (so the pointer stays valid). */
static int get_id(json_t *obj, const char *key, size_t max, const char **s, size_t *len) {
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        json_object_set_new(obj, key, json_string(buf)); /* v is released here */
        v = json_object_get(obj, key);
    }
    if (!json_is_string(v)) return -1;
    *s = json_string_value(v);
    *len = json_string_length(v);
    if (*len == 0 || *len > max || memchr(*s, '\0', *len)) return -2;
    return 0;
}

static sq_status parse_one(json_t *o, const char *where, const sq_serve_limits *lim,
                           int64_t now_ms, sq_serve_event *e, const char **code, sq_error *err) {
    if (!json_is_object(o))
        return fail(err, code, "invalid_field", SQ_ERR_FORMAT, "%s: an event must be a JSON object%s",
                    where, "");
    if (json_object_size(o) > lim->max_fields)
        return fail(err, code, "too_many_fields", SQ_ERR_LIMIT, "%s: more fields than the limit%s",
                    where, "");
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (strcmp(key, "user") && strcmp(key, "item") && strcmp(key, "behavior") &&
            strcmp(key, "time") && strcmp(key, "category") && strcmp(key, "price") &&
            strcmp(key, "session")) {
            char f[96];
            snprintf(f, sizeof f, "%.64s", key);
            return fail(err, code, "unknown_field", SQ_ERR_FORMAT,
                        "%s: unknown field '%s' (fields: user, item, behavior, time, category, "
                        "price, session)", where, f);
        }
    }
    char w[128];
    static const char *const ids[2] = {"user", "item"};
    for (int i = 0; i < 2; i++) {
        const char *s;
        size_t n;
        snprintf(w, sizeof w, "%s.%s", where, ids[i]);
        int rc = json_object_get(o, ids[i]) ? get_id(o, ids[i], lim->max_id_len, &s, &n) : -3;
        if (rc == -3) return fail(err, code, "missing_field", SQ_ERR_FORMAT, "%s: required%s", w, "");
        if (rc == -1)
            return fail(err, code, "invalid_field", SQ_ERR_FORMAT,
                        "%s: must be a string or an integer%s", w, "");
        if (rc == -2)
            return fail(err, code, "too_long", SQ_ERR_LIMIT,
                        "%s: must be 1..limit bytes without NUL%s", w, "");
        if (i == 0) e->user = s, e->user_len = n;
        else e->item = s, e->item_len = n;
    }
    json_t *b = json_object_get(o, "behavior");
    snprintf(w, sizeof w, "%s.behavior", where);
    if (!b) {
        e->behavior = 0; /* view */
    } else if (!json_is_string(b)) {
        return fail(err, code, "invalid_field", SQ_ERR_FORMAT, "%s: must be a string%s", w, "");
    } else {
        e->behavior = sq_behavior_from_name(json_string_value(b), json_string_length(b));
        if (e->behavior < 0) {
            char d[200];
            snprintf(d, sizeof d, " '%.40s' (canonical: view, click, search, fav, cart, uncart, "
                     "buy, review, rate)", json_string_value(b));
            return fail(err, code, "unknown_behavior", SQ_ERR_FORMAT, "%s: unknown behaviour%s", w, d);
        }
    }
    json_t *t = json_object_get(o, "time");
    snprintf(w, sizeof w, "%s.time", where);
    if (!t || json_is_null(t)) {
        e->time_ms = now_ms;
    } else {
        static const char *const why[] = {"", "out of range", "not a Unix time or ISO-8601 date",
                                          "must be a number or a string"};
        int r = sq__parse_time(t, &e->time_ms);
        if (r) return fail(err, code, "invalid_field", SQ_ERR_FORMAT, "%s: %s", w, why[r]);
    }
    json_t *c = json_object_get(o, "category"), *p = json_object_get(o, "price"),
           *se = json_object_get(o, "session");
    if (c && !json_is_null(c) && !json_is_string(c) && !json_is_integer(c))
        return fail(err, code, "invalid_field", SQ_ERR_FORMAT, "%s.category: must be a string or an integer%s",
                    where, "");
    if (se && !json_is_null(se) && !json_is_string(se) && !json_is_integer(se))
        return fail(err, code, "invalid_field", SQ_ERR_FORMAT, "%s.session: must be a string or an integer%s",
                    where, "");
    if (p && !json_is_null(p) && (!json_is_number(p) || !(json_number_value(p) >= 0) ||
                                  json_number_value(p) > 3e38))
        return fail(err, code, "invalid_field", SQ_ERR_FORMAT, "%s.price: must be a number in [0, 3e38]%s",
                    where, "");
    if (p && !json_is_null(p)) {
        e->has_price = 1;
        e->price = (float)json_number_value(p);
    }
    if (c && !json_is_null(c) && !(json_is_string(c) && json_string_length(c) == 0)) {
        snprintf(w, sizeof w, "%s.category", where);
        const char *cs;
        size_t cn;
        if (get_id(o, "category", lim->max_id_len, &cs, &cn) == -2)
            return fail(err, code, "too_long", SQ_ERR_LIMIT,
                        "%s: must be 1..limit bytes without NUL%s", w, "");
        e->category = cs;
        e->category_len = cn;
    }
    return SQ_OK;
}

sq_status sq_serve_parse_events(const char *body, size_t len, const sq_serve_limits *lim,
                                int64_t now_ms, sq_event_batch *out, const char **code,
                                sq_error *err) {
    memset(out, 0, sizeof *out);
    *code = NULL;
    if (len > lim->max_body)
        return fail(err, code, "body_too_large", SQ_ERR_LIMIT, "%s: larger than the limit%s", "body", "");
    json_error_t je;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!doc) {
        *code = "malformed_json";
        return sq_error_set(err, SQ_ERR_FORMAT, "body: malformed JSON at line %d column %d: %s",
                            je.line, je.column, je.text);
    }
    size_t n = json_is_array(doc) ? json_array_size(doc) : 1;
    sq_status st = SQ_OK;
    if (json_is_array(doc) && n == 0)
        st = fail(err, code, "invalid_field", SQ_ERR_FORMAT, "%s: empty array%s", "body", "");
    else if (n > lim->max_events)
        st = fail(err, code, "too_many_events", SQ_ERR_LIMIT, "%s: more events than the limit%s", "body", "");
    else if (!(out->ev = calloc(n, sizeof *out->ev)))
        st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory"), *code = "internal";
    for (size_t i = 0; st == SQ_OK && i < n; i++) {
        char where[32];
        if (json_is_array(doc)) snprintf(where, sizeof where, "events[%zu]", i);
        else snprintf(where, sizeof where, "event");
        st = parse_one(json_is_array(doc) ? json_array_get(doc, i) : doc, where, lim, now_ms,
                       &out->ev[i], code, err);
    }
    out->doc_ = doc;
    if (st != SQ_OK) {
        sq_event_batch_free(out);
        return st;
    }
    out->n = n;
    return SQ_OK;
}

void sq_event_batch_free(sq_event_batch *b) {
    if (!b) return;
    free(b->ev);
    if (b->doc_) json_decref(b->doc_);
    memset(b, 0, sizeof *b);
}
