/* Rows -> validated event columns. Every rejected row is counted by reason with its
 * file:line; nothing is interned (no user, item, ...) for a row that is rejected. */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "csv.h"
#include "ingest_parse.h"
#include "linereader.h"
#include "shopseq/behavior.h"
#include "timeparse.h"

#define MAX_FIELDS 256

typedef struct value {
    const char *p;
    size_t n;
    int present; /* the column exists in this input */
} value;

/* ---- state ---- */

int sq__columns_reserve(sq_event_columns *ev, uint64_t cap) {
    if (cap <= ev->cap) return 0;
    /* realloc of a large block remaps it: no copy, and untouched pages cost nothing */
#define GROW(field)                                                  \
    do {                                                             \
        void *p = realloc(ev->field, cap * sizeof *ev->field);       \
        if (!p) return -1;                                           \
        ev->field = p;                                               \
    } while (0)
    GROW(user);
    GROW(item);
    GROW(category);
    GROW(session_key);
    GROW(row_hash);
    GROW(behavior);
    GROW(time_ms);
    GROW(price);
#undef GROW
    ev->cap = cap;
    return 0;
}

static int grow_columns(sq_event_columns *ev) {
    if (ev->fixed) return -1; /* a part of a parallel parse: its room was reserved */
    return sq__columns_reserve(ev, ev->cap ? ev->cap * 2 : (1u << 16));
}

static sq_status parse_behavior_map(sq_ingest_state *s, sq_error *err) {
    const sq_ingest_options *o = s->o;
    s->n_words = 0;
    if (o->behaviors && *o->behaviors) {
        s->behavior_copy = strdup(o->behaviors);
        if (!s->behavior_copy) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
        char *save = NULL;
        for (char *tok = strtok_r(s->behavior_copy, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(tok, '=');
            if (!eq || eq == tok)
                return sq_error_set(err, SQ_ERR_USAGE,
                                    "--behaviors: '%s' is not word=behaviour (e.g. pv=view)", tok);
            *eq = '\0';
            int code = sq_behavior_from_name(eq + 1, strlen(eq + 1));
            if (code < 0)
                return sq_error_set(err, SQ_ERR_USAGE,
                                    "--behaviors: '%s' is not a canonical behaviour (view, click, "
                                    "search, fav, cart, uncart, buy, review, rate)", eq + 1);
            if (s->n_words >= (int)(sizeof s->words / sizeof *s->words))
                return sq_error_set(err, SQ_ERR_USAGE, "--behaviors: too many words (max 64)");
            s->words[s->n_words++] = (sq_behavior_word){tok, strlen(tok), code};
        }
    }
    s->default_behavior = sq_behavior_from_name(o->default_behavior ? o->default_behavior : "view",
                                                 strlen(o->default_behavior ? o->default_behavior
                                                                            : "view"));
    if (s->default_behavior < 0)
        return sq_error_set(err, SQ_ERR_USAGE, "default behaviour '%s' is not canonical",
                            o->default_behavior);
    return SQ_OK;
}

sq_status sq__ingest_state_init(sq_ingest_state *s, const sq_ingest_options *o,
                                sq_ingest_report *rep, sq_error *err) {
    memset(s, 0, sizeof *s);
    s->o = o;
    s->rep = rep;
    if (sq_intern_init(&s->users) || sq_intern_init(&s->items) || sq_intern_init(&s->categories) ||
        sq_intern_init(&s->sessions) || grow_columns(&s->ev)) {
        sq__ingest_state_free(s);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    sq_status st = parse_behavior_map(s, err);
    if (st != SQ_OK) sq__ingest_state_free(s);
    return st;
}

void sq__ingest_state_free(sq_ingest_state *s) {
    sq_intern_free(&s->users);
    sq_intern_free(&s->items);
    sq_intern_free(&s->categories);
    sq_intern_free(&s->sessions);
    free(s->ev.user);
    free(s->ev.item);
    free(s->ev.category);
    free(s->ev.session_key);
    free(s->ev.row_hash);
    free(s->ev.behavior);
    free(s->ev.time_ms);
    free(s->ev.price);
    free(s->behavior_copy);
    memset(&s->ev, 0, sizeof s->ev);
    s->behavior_copy = NULL;
}

/* ---- rejects ---- */

static sq_status reject(sq_ingest_state *s, sq_reject_reason r, const char *path, uint64_t line,
                        sq_error *err, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static sq_status reject(sq_ingest_state *s, sq_reject_reason r, const char *path, uint64_t line,
                        sq_error *err, const char *fmt, ...) {
    sq_ingest_report *rep = s->rep;
    uint64_t k = rep->rejected[r]++;
    rep->rejected_total++;
    if (k < SQ_INGEST_EXAMPLES) {
        char detail[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
        snprintf(rep->examples[r][k], sizeof rep->examples[r][k], "%s:%llu: %s", path,
                 (unsigned long long)line, detail);
    }
    if (s->defer_limits) {
        /* a later part of a parallel parse: whether the whole file would have stopped here
         * depends on the earlier part; the merge judges that from the worst excess */
        double excess = (double)rep->rejected_total - s->o->max_error_ratio * (double)rep->rows_read;
        if (excess > s->worst_excess) s->worst_excess = excess;
        return SQ_OK;
    }
    if (rep->rejected_total > s->o->max_errors)
        return sq_error_set(err, SQ_ERR_TOO_MANY_ERRORS,
                            "%s:%llu: more than %llu rows rejected (last: %s); see --max-errors",
                            path, (unsigned long long)line, (unsigned long long)s->o->max_errors,
                            sq_reject_name(r));
    if (rep->rows_read >= 1000 &&
        (double)rep->rejected_total > s->o->max_error_ratio * (double)rep->rows_read)
        return sq_error_set(err, SQ_ERR_TOO_MANY_ERRORS,
                            "%s:%llu: %llu of %llu rows rejected (%.1f%%, limit %.1f%%; last: %s); "
                            "check the column mapping, or see --max-errors",
                            path, (unsigned long long)line, (unsigned long long)rep->rejected_total,
                            (unsigned long long)rep->rows_read,
                            100.0 * (double)rep->rejected_total / (double)rep->rows_read,
                            100.0 * s->o->max_error_ratio, sq_reject_name(r));
    return SQ_OK;
}

/* A printable, shortened copy of a field value for an example message. */
static const char *show(const char *p, size_t n, char *buf, size_t cap) {
    size_t j = 0;
    for (size_t i = 0; i < n && j + 4 < cap; i++)
        buf[j++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
    if (j + 4 >= cap && n > j) {
        buf[j++] = '.';
        buf[j++] = '.';
        buf[j++] = '.';
    }
    buf[j] = '\0';
    return buf;
}

/* ---- value helpers ---- */

/* isspace() of the C locale (we never call setlocale), without the per-byte table call */
static inline int is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static inline void trim(const char **p, size_t *n) {
    if (*n && !is_space(**p) && !is_space((*p)[*n - 1])) return; /* the usual case */
    while (*n && is_space(**p)) (*p)++, (*n)--;
    while (*n && is_space((*p)[*n - 1])) (*n)--;
}

static int is_null_word(const char *p, size_t n) {
    if (n > 4) return 0; /* the common case, ids and prices, leaves here */
    if (n == 0) return 1;
    if ((p[0] | 0x20) != 'n') return 0; /* every null word starts with n/N; short ids leave here */
    return (n == 2 && !strncasecmp(p, "NA", 2)) ||
           (n == 4 && !strncasecmp(p, "null", 4)) || (n == 3 && !strncasecmp(p, "NaN", 3)) ||
           (n == 4 && !strncasecmp(p, "None", 4));
}

static int valid_utf8(const unsigned char *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* fast path: 8 ASCII bytes at a time */
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (!(w & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!len || i + (size_t)len > n || (len == 2 && c < 0xc2) || (len == 4 && c > 0xf4))
            return 0;
        for (int k = 1; k < len; k++)
            if ((p[i + k] & 0xc0) != 0x80) return 0;
        if (len == 3 && c == 0xe0 && p[i + 1] < 0xa0) return 0;
        if (len == 3 && c == 0xed && p[i + 1] >= 0xa0) return 0; /* surrogates */
        if (len == 4 && c == 0xf0 && p[i + 1] < 0x90) return 0;
        if (len == 4 && c == 0xf4 && p[i + 1] >= 0x90) return 0;
        i += (size_t)len;
    }
    return 1;
}

static int parse_int(const char *p, size_t n, int64_t *out) {
    if (!n || n > 18) return -1;
    int neg = 0;
    size_t i = 0;
    if (p[0] == '-' || p[0] == '+') {
        neg = p[0] == '-';
        i = 1;
        if (n == 1) return -1;
    }
    int64_t v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* "123.45": at most 15 digits, so the digits are an exact double and one division by an
 * exact power of ten rounds correctly, giving strtod's value bit for bit. */
static int parse_price_fast(const char *p, size_t n, float *out) {
    static const double pow10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    uint64_t m = 0;
    int digits = 0, frac = -1;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= '0' && c <= '9') {
            m = m * 10 + (uint64_t)(c - '0');
            digits++;
            if (frac >= 0) frac++;
        } else if (c == '.' && frac < 0) {
            frac = 0;
        } else {
            return -1;
        }
    }
    if (digits == 0 || digits > 15) return -1;
    *out = (float)((double)m / pow10[frac > 0 ? frac : 0]);
    return 0;
}

static int parse_price(const char *p, size_t n, float *out) {
    char buf[64];
    if (!n || n >= sizeof buf) return -1;
    if (parse_price_fast(p, n, out) == 0) return 0;
    memcpy(buf, p, n);
    buf[n] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v) || v < 0 || v > 3.4e38) return -1;
    /* hex floats and "inf" are not prices */
    for (size_t i = 0; i < n; i++)
        if (!(isdigit((unsigned char)buf[i]) || buf[i] == '.' || buf[i] == 'e' || buf[i] == 'E' ||
              buf[i] == '-' || buf[i] == '+'))
            return -1;
    *out = (float)v;
    return 0;
}

/* "266079.0" -> "266079": JData stores integer ids as floats. */
static void strip_zero_fraction(const char *p, size_t *n) {
    const char *dot = memchr(p, '.', *n);
    if (!dot || dot == p) return;
    for (const char *q = p; q < dot; q++)
        if (!isdigit((unsigned char)*q)) return;
    for (const char *q = dot + 1; q < p + *n; q++)
        if (*q != '0') return;
    *n = (size_t)(dot - p);
}

static int lookup_behavior(const sq_ingest_state *s, const char *p, size_t n) {
    /* exact spelling first: a log writes each word one way, so no case folding per row */
    for (int i = 0; i < s->n_words; i++)
        if (s->words[i].len == n && !memcmp(s->words[i].word, p, n)) return s->words[i].code;
    for (int i = 0; i < s->n_words; i++)
        if (s->words[i].len == n && !strncasecmp(s->words[i].word, p, n)) return s->words[i].code;
    return sq_behavior_from_name(p, n);
}

/* One record, given as values per canonical field. */
static sq_status add_record(sq_ingest_state *s, value v[SQ_IN_FIELD_COUNT], const sq_line *raw,
                            const char *path, uint64_t line, sq_error *err) {
    const sq_ingest_options *o = s->o;
    char buf[48];
    for (int f = 0; f < SQ_IN_FIELD_COUNT; f++)
        if (v[f].present) trim(&v[f].p, &v[f].n);

    if (!v[SQ_IN_USER].n || is_null_word(v[SQ_IN_USER].p, v[SQ_IN_USER].n))
        return reject(s, SQ_REJECT_MISSING_FIELD, path, line, err, "field 'user' is empty");
    if (!v[SQ_IN_ITEM].n || is_null_word(v[SQ_IN_ITEM].p, v[SQ_IN_ITEM].n))
        return reject(s, SQ_REJECT_MISSING_FIELD, path, line, err, "field 'item' is empty");
    if (o->flags & SQ_INGEST_STRIP_ZERO_FRACTION) {
        strip_zero_fraction(v[SQ_IN_USER].p, &v[SQ_IN_USER].n);
        strip_zero_fraction(v[SQ_IN_ITEM].p, &v[SQ_IN_ITEM].n);
    }

    int behavior = s->default_behavior;
    if (v[SQ_IN_BEHAVIOR].present) {
        if (!v[SQ_IN_BEHAVIOR].n)
            return reject(s, SQ_REJECT_MISSING_FIELD, path, line, err, "field 'behavior' is empty");
        behavior = lookup_behavior(s, v[SQ_IN_BEHAVIOR].p, v[SQ_IN_BEHAVIOR].n);
        if (behavior < 0)
            return reject(s, SQ_REJECT_UNKNOWN_BEHAVIOR, path, line, err,
                          "field 'behavior' = '%s' is not mapped (see --behaviors)",
                          show(v[SQ_IN_BEHAVIOR].p, v[SQ_IN_BEHAVIOR].n, buf, sizeof buf));
    }

    int64_t t = 0;
    if (o->flags & SQ_INGEST_SYNTHETIC_TIME) {
        t = (int64_t)s->synthetic_clock * 1000;
    } else if (v[SQ_IN_MONTH].present && !v[SQ_IN_TIME].present) {
        int64_t m, d;
        if (parse_int(v[SQ_IN_MONTH].p, v[SQ_IN_MONTH].n, &m) || m < 1 || m > 12)
            return reject(s, SQ_REJECT_BAD_NUMBER, path, line, err, "field 'month' = '%s'",
                          show(v[SQ_IN_MONTH].p, v[SQ_IN_MONTH].n, buf, sizeof buf));
        if (!v[SQ_IN_DAY].present || parse_int(v[SQ_IN_DAY].p, v[SQ_IN_DAY].n, &d) || d < 1 ||
            d > 31)
            return reject(s, SQ_REJECT_BAD_NUMBER, path, line, err, "field 'day' = '%s'",
                          show(v[SQ_IN_DAY].p, v[SQ_IN_DAY].n, buf, sizeof buf));
        char date[32];
        int len = snprintf(date, sizeof date, "%04d-%02d-%02d", o->year, (int)m, (int)d);
        if (sq_time_parse(date, (size_t)len, SQ_TIME_ISO, &t) != 0)
            return reject(s, SQ_REJECT_BAD_TIME, path, line, err, "no such date %s", date);
    } else {
        if (!v[SQ_IN_TIME].n)
            return reject(s, SQ_REJECT_MISSING_FIELD, path, line, err, "field 'time' is empty");
        if (sq_time_parse_cached(v[SQ_IN_TIME].p, v[SQ_IN_TIME].n, (sq_time_format)o->time_format,
                                 &t, &s->time_cache) != 0)
            return reject(s, SQ_REJECT_BAD_TIME, path, line, err, "field 'time' = '%s'",
                          show(v[SQ_IN_TIME].p, v[SQ_IN_TIME].n, buf, sizeof buf));
        if (v[SQ_IN_TIME_OFFSET].present && v[SQ_IN_TIME_OFFSET].n) {
            int64_t off;
            if (parse_int(v[SQ_IN_TIME_OFFSET].p, v[SQ_IN_TIME_OFFSET].n, &off))
                return reject(s, SQ_REJECT_BAD_NUMBER, path, line, err,
                              "field 'time_offset' = '%s'",
                              show(v[SQ_IN_TIME_OFFSET].p, v[SQ_IN_TIME_OFFSET].n, buf, sizeof buf));
            t += off;
        }
    }

    float price = NAN;
    if (v[SQ_IN_PRICE].present && !is_null_word(v[SQ_IN_PRICE].p, v[SQ_IN_PRICE].n)) {
        if (parse_price(v[SQ_IN_PRICE].p, v[SQ_IN_PRICE].n, &price))
            return reject(s, SQ_REJECT_BAD_NUMBER, path, line, err, "field 'price' = '%s'",
                          show(v[SQ_IN_PRICE].p, v[SQ_IN_PRICE].n, buf, sizeof buf));
    }

    /* valid: intern and append */
    sq_event_columns *ev = &s->ev;
    if (ev->n == ev->cap && grow_columns(ev))
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory after %llu events",
                            (unsigned long long)ev->n);
    uint32_t user = sq_intern_get(&s->users, v[SQ_IN_USER].p, v[SQ_IN_USER].n);
    uint32_t item = sq_intern_get(&s->items, v[SQ_IN_ITEM].p, v[SQ_IN_ITEM].n);
    uint32_t cat = SQ_NONE, skey = SQ_NONE;
    if (v[SQ_IN_CATEGORY].present && !is_null_word(v[SQ_IN_CATEGORY].p, v[SQ_IN_CATEGORY].n)) {
        cat = sq_intern_get(&s->categories, v[SQ_IN_CATEGORY].p, v[SQ_IN_CATEGORY].n);
        s->any_category = 1;
        if (cat == UINT32_MAX) goto nomem;
    }
    if (v[SQ_IN_SESSION].present && v[SQ_IN_SESSION].n) {
        skey = sq_intern_get(&s->sessions, v[SQ_IN_SESSION].p, v[SQ_IN_SESSION].n);
        s->any_session = 1;
        if (skey == UINT32_MAX) goto nomem;
    }
    if (user == UINT32_MAX || item == UINT32_MAX) goto nomem;
    if (!isnan(price)) s->any_price = 1;
    uint64_t i = ev->n++;
    ev->user[i] = user;
    ev->item[i] = item;
    ev->category[i] = cat;
    ev->session_key[i] = skey;
    ev->row_hash[i] = (uint32_t)XXH3_64bits(raw->data, raw->len);
    ev->behavior[i] = (uint8_t)behavior;
    ev->time_ms[i] = t;
    ev->price[i] = price;
    s->synthetic_clock++;
    return SQ_OK;
nomem:
    return sq_error_set(err, SQ_ERR_NOMEM, "out of memory (id dictionaries) after %llu events",
                        (unsigned long long)ev->n);
}

/* ---- column mapping ---- */

static int spec_is_number(const char *spec) {
    if (!spec || !*spec) return 0;
    for (const char *p = spec; *p && *p != '?'; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    return 1;
}

static int spec_optional(const char *spec) {
    size_t n = strlen(spec);
    return n && spec[n - 1] == '?';
}

/* Index of the column a spec names among hdr (or by number); -1 if absent. */
static int resolve_spec(const char *spec, const sq_field *hdr, int nh) {
    if (spec_is_number(spec)) return atoi(spec) - 1;
    const char *p = spec;
    while (*p && *p != '?') {
        const char *end = p;
        while (*end && *end != '|' && *end != '?') end++;
        size_t len = (size_t)(end - p);
        for (int c = 0; c < nh; c++) {
            const char *h = hdr[c].p;
            size_t hn = hdr[c].n;
            trim(&h, &hn);
            if (hn == len && !strncasecmp(h, p, len)) return c;
        }
        p = *end == '|' ? end + 1 : end;
    }
    return -1;
}

static sq_status map_columns(sq_ingest_state *s, const char *path, const sq_field *hdr, int nh,
                             int cols[SQ_IN_FIELD_COUNT], sq_error *err) {
    const sq_ingest_options *o = s->o;
    for (int f = 0; f < SQ_IN_FIELD_COUNT; f++) {
        cols[f] = -1;
        const char *spec = o->columns[f];
        if (!spec) continue;
        if (!hdr && !spec_is_number(spec))
            return sq_error_set(err, SQ_ERR_USAGE,
                                "%s: column '%s' for %s is a name, but the input has no header "
                                "(use a 1-based column number)", path, spec,
                                sq_ingest_field_name((sq_ingest_field)f));
        int c = resolve_spec(spec, hdr, nh);
        if (c < 0 || (c >= nh && hdr)) {
            if (spec_optional(spec)) continue;
            char list[300] = "";
            size_t used = 0;
            for (int i = 0; i < nh && used + 40 < sizeof list; i++) {
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%.*s", i ? ", " : "",
                                         (int)(hdr[i].n > 30 ? 30 : hdr[i].n), hdr[i].p);
            }
            return sq_error_set(err, SQ_ERR_USAGE,
                                "%s: no column '%s' for field %s (the header has: %s)", path, spec,
                                sq_ingest_field_name((sq_ingest_field)f), list);
        }
        cols[f] = c;
    }
    if (cols[SQ_IN_USER] < 0 || cols[SQ_IN_ITEM] < 0)
        return sq_error_set(err, SQ_ERR_USAGE, "%s: the user and item columns must be mapped",
                            path);
    if (cols[SQ_IN_TIME] < 0 && !(o->flags & SQ_INGEST_SYNTHETIC_TIME) &&
        !(cols[SQ_IN_MONTH] >= 0 && cols[SQ_IN_DAY] >= 0))
        return sq_error_set(err, SQ_ERR_USAGE,
                            "%s: no time column mapped (map time=..., or month and day)", path);
    return SQ_OK;
}

/* ---- CSV ---- */

static void report_progress(sq_ingest_state *s, sq_line_reader *r) {
    if (s->publish_bytes) /* a later part of a parallel parse: the first part reports */
        atomic_store_explicit(s->publish_bytes, sq_line_reader_bytes_in(r), memory_order_relaxed);
    else if (s->o->progress)
        s->o->progress(s->o->progress_ctx, "read",
                       sq_line_reader_bytes_in(r) +
                           (s->peer_bytes ? atomic_load_explicit(s->peer_bytes,
                                                                 memory_order_relaxed) : 0),
                       sq_line_reader_file_size(r));
}

sq_status sq__csv_shape(sq_ingest_state *s, const char *path, const sq_line *first,
                        sq_csv_shape *shape, int *first_is_header, sq_error *err) {
    const sq_ingest_options *o = s->o;
    for (int f = 0; f < SQ_IN_FIELD_COUNT; f++) shape->cols[f] = -1;
    shape->delim = o->delimiter ? o->delimiter : sq_csv_sniff_delimiter(first->data, first->len);
    shape->expected = -1;
    shape->need = 0;
    *first_is_header = 0;
    int header = o->header;
    if (header < 0) {
        header = 0;
        for (int f = 0; f < SQ_IN_FIELD_COUNT; f++)
            if (o->columns[f] && !spec_is_number(o->columns[f])) header = 1;
    }
    if (header && (first->flags & SQ_LINE_TOO_LONG))
        return sq_error_set(err, SQ_ERR_FORMAT, "%s:%llu: header line longer than %zu bytes",
                            path, (unsigned long long)first->lineno, o->max_line);
    sq_status st = SQ_OK;
    if (header) {
        /* keep the header text: fields point into it while mapping */
        char *hdr_copy = malloc(first->len + 1);
        char *scratch = malloc(first->len + 1);
        sq_field *fields = malloc(MAX_FIELDS * sizeof *fields);
        if (!hdr_copy || !scratch || !fields) {
            st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
        } else {
            memcpy(hdr_copy, first->data, first->len);
            int nh = sq_csv_split(hdr_copy, first->len, shape->delim, fields, MAX_FIELDS, scratch);
            if (nh < 0 || nh > MAX_FIELDS)
                st = sq_error_set(err, SQ_ERR_FORMAT, "%s:%llu: cannot read the header line",
                                  path, (unsigned long long)first->lineno);
            else
                st = map_columns(s, path, fields, nh, shape->cols, err);
            shape->expected = nh;
            *first_is_header = 1;
        }
        free(hdr_copy);
        free(scratch);
        free(fields);
    } else {
        st = map_columns(s, path, NULL, MAX_FIELDS, shape->cols, err);
    }
    for (int f = 0; f < SQ_IN_FIELD_COUNT; f++)
        if (shape->cols[f] + 1 > shape->need) shape->need = shape->cols[f] + 1;
    return st;
}

int sq__csv_row_fields(const sq_line *line, char delim) {
    if ((line->flags & (SQ_LINE_TOO_LONG | SQ_LINE_HAS_NUL)) || line->len == 0 ||
        (line->len == 1 && line->data[0] == '\r') ||
        !valid_utf8((const unsigned char *)line->data, line->len))
        return -1;
    sq_field *fields = malloc(MAX_FIELDS * sizeof *fields);
    char *scratch = malloc(line->len + 1);
    int nf = fields && scratch ? sq_csv_split(line->data, line->len, delim, fields, MAX_FIELDS,
                                              scratch)
                               : -1;
    free(fields);
    free(scratch);
    return nf < 0 ? -1 : nf;
}

sq_status sq__csv_rows(sq_ingest_state *s, sq_line_reader *r, const char *path,
                       sq_csv_shape *shape, const sq_line *first, sq_error *err) {
    const sq_ingest_options *o = s->o;
    sq_field *fields = malloc(MAX_FIELDS * sizeof *fields);
    char *scratch = malloc(o->max_line + 1);
    sq_status st = SQ_OK;
    if (!fields || !scratch) {
        st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
        goto done;
    }
    const char delim = shape->delim;
    const int need = shape->need;
    const int *cols = shape->cols;
    sq_line line;
    int have_line = first != NULL;
    if (first) line = *first;
    uint64_t since_progress = 0;
    for (;;) {
        if (!have_line) {
            int rc = sq_line_reader_next(r, &line, err);
            if (rc < 0) {
                st = err ? err->status : SQ_ERR_IO;
                goto done;
            }
            if (rc == 0) break;
        }
        have_line = 0;
        if (++since_progress == 65536) {
            since_progress = 0;
            report_progress(s, r);
            if (s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed)) {
                st = sq_error_set(err, SQ_ERR_INTERNAL, "%s: parse cancelled", path);
                goto done;
            }
        }
        if (line.flags & SQ_LINE_TOO_LONG) {
            s->rep->rows_read++;
            st = reject(s, SQ_REJECT_LINE_TOO_LONG, path, line.lineno, err,
                        "line longer than %zu bytes", o->max_line);
            if (st != SQ_OK) goto done;
            continue;
        }
        if (line.len == 0 || (line.len == 1 && line.data[0] == '\r')) {
            s->rep->empty_lines++;
            continue;
        }
        s->rep->rows_read++;
        /* an ASCII line without quotes is valid UTF-8 and splits in one pass */
        int nf = (line.flags & SQ_LINE_HAS_NUL)
                     ? SQ_CSV_NOT_SIMPLE
                     : sq_csv_split_simple(line.data, line.len, delim, fields, MAX_FIELDS);
        if (nf == SQ_CSV_NOT_SIMPLE) {
            if ((line.flags & SQ_LINE_HAS_NUL) ||
                !valid_utf8((const unsigned char *)line.data, line.len)) {
                st = reject(s, SQ_REJECT_BAD_ENCODING, path, line.lineno, err,
                            (line.flags & SQ_LINE_HAS_NUL) ? "NUL byte in line" : "invalid UTF-8");
                if (st != SQ_OK) goto done;
                continue;
            }
            nf = sq_csv_split(line.data, line.len, delim, fields, MAX_FIELDS, scratch);
        }
        if (nf == SQ_CSV_BAD_QUOTE) {
            st = reject(s, SQ_REJECT_BAD_QUOTE, path, line.lineno, err, "unbalanced quotes");
            if (st != SQ_OK) goto done;
            continue;
        }
        if (shape->expected < 0) shape->expected = nf; /* no header: the first row sets the shape */
        const int expected = shape->expected;
        if (nf != expected || nf < need) {
            st = reject(s, SQ_REJECT_FIELD_COUNT, path, line.lineno, err,
                        "%d fields, expected %d", nf, expected < need ? need : expected);
            if (st != SQ_OK) goto done;
            continue;
        }
        value v[SQ_IN_FIELD_COUNT];
        for (int f = 0; f < SQ_IN_FIELD_COUNT; f++) {
            if (cols[f] >= 0) v[f] = (value){fields[cols[f]].p, fields[cols[f]].n, 1};
            else v[f] = (value){NULL, 0, 0};
        }
        st = add_record(s, v, &line, path, line.lineno, err);
        if (st != SQ_OK) goto done;
    }
    report_progress(s, r);
done:
    free(fields);
    free(scratch);
    return st;
}

static sq_status ingest_csv(sq_ingest_state *s, sq_line_reader *r, const char *path,
                            sq_line *first, sq_error *err) {
    sq_csv_shape shape;
    int first_is_header;
    sq_status st = sq__csv_shape(s, path, first, &shape, &first_is_header, err);
    if (st != SQ_OK) return st;
    if (sq__ingest_threads(s, r) > 1)
        return sq__csv_rows_parallel(s, r, path, &shape, first_is_header ? NULL : first, err);
    return sq__csv_rows(s, r, path, &shape, first_is_header ? NULL : first, err);
}

/* ---- JSON Lines ---- */

static json_t *json_field(json_t *obj, const char *spec) {
    const char *p = spec;
    while (*p && *p != '?') {
        const char *end = p;
        while (*end && *end != '|' && *end != '?') end++;
        json_t *v = json_object_getn(obj, p, (size_t)(end - p));
        if (v) return v;
        p = *end == '|' ? end + 1 : end;
    }
    return NULL;
}

static sq_status ingest_jsonl(sq_ingest_state *s, sq_line_reader *r, const char *path,
                              sq_line *first, sq_error *err) {
    const sq_ingest_options *o = s->o;
    for (int f = 0; f < SQ_IN_FIELD_COUNT; f++)
        if (o->columns[f] && spec_is_number(o->columns[f]))
            return sq_error_set(err, SQ_ERR_USAGE,
                                "%s: JSON Lines fields are mapped by name, not number ('%s')", path,
                                o->columns[f]);
    sq_line line = *first;
    int have_line = 1;
    sq_status st = SQ_OK;
    char numbuf[SQ_IN_FIELD_COUNT][40];
    uint64_t since_progress = 0;
    for (;;) {
        if (!have_line) {
            int rc = sq_line_reader_next(r, &line, err);
            if (rc < 0) return err ? err->status : SQ_ERR_IO;
            if (rc == 0) break;
        }
        have_line = 0;
        if (++since_progress == 65536) {
            since_progress = 0;
            report_progress(s, r);
        }
        if (line.flags & SQ_LINE_TOO_LONG) {
            s->rep->rows_read++;
            st = reject(s, SQ_REJECT_LINE_TOO_LONG, path, line.lineno, err,
                        "line longer than %zu bytes", o->max_line);
            if (st != SQ_OK) return st;
            continue;
        }
        size_t k = 0;
        while (k < line.len && isspace((unsigned char)line.data[k])) k++;
        if (k == line.len) {
            s->rep->empty_lines++;
            continue;
        }
        s->rep->rows_read++;
        if (line.flags & SQ_LINE_HAS_NUL) {
            st = reject(s, SQ_REJECT_BAD_ENCODING, path, line.lineno, err, "NUL byte in line");
            if (st != SQ_OK) return st;
            continue;
        }
        json_error_t jerr;
        json_t *obj = json_loadb(line.data, line.len, 0, &jerr);
        if (!obj || !json_is_object(obj)) {
            int utf8 = obj == NULL && valid_utf8((const unsigned char *)line.data, line.len) == 0;
            json_decref(obj);
            st = reject(s, utf8 ? SQ_REJECT_BAD_ENCODING : SQ_REJECT_BAD_JSON, path, line.lineno,
                        err, "%s", obj ? "not a JSON object" : (utf8 ? "invalid UTF-8" : jerr.text));
            if (st != SQ_OK) return st;
            continue;
        }
        value v[SQ_IN_FIELD_COUNT];
        int bad_field = -1, missing_required = -1;
        for (int f = 0; f < SQ_IN_FIELD_COUNT; f++) {
            v[f] = (value){NULL, 0, 0};
            if (!o->columns[f]) continue;
            json_t *jv = json_field(obj, o->columns[f]);
            if (!jv) {
                if (!spec_optional(o->columns[f]) && missing_required < 0) missing_required = f;
                continue;
            }
            v[f].present = 1;
            if (json_is_string(jv)) {
                v[f].p = json_string_value(jv);
                v[f].n = json_string_length(jv);
            } else if (json_is_integer(jv)) {
                v[f].n = (size_t)snprintf(numbuf[f], sizeof numbuf[f], "%" JSON_INTEGER_FORMAT,
                                          json_integer_value(jv));
                v[f].p = numbuf[f];
            } else if (json_is_real(jv)) {
                v[f].n = (size_t)snprintf(numbuf[f], sizeof numbuf[f], "%.17g", json_real_value(jv));
                v[f].p = numbuf[f];
            } else if (json_is_null(jv)) {
                v[f].p = "";
                v[f].n = 0;
            } else if (bad_field < 0) {
                bad_field = f;
            }
        }
        if (bad_field >= 0) {
            st = reject(s, SQ_REJECT_BAD_JSON, path, line.lineno, err,
                        "field '%s' is not a string or number",
                        sq_ingest_field_name((sq_ingest_field)bad_field));
        } else if (missing_required >= 0 &&
                   !(missing_required == SQ_IN_TIME && (o->flags & SQ_INGEST_SYNTHETIC_TIME))) {
            st = reject(s, SQ_REJECT_MISSING_FIELD, path, line.lineno, err,
                        "no key '%s' for field %s", o->columns[missing_required],
                        sq_ingest_field_name((sq_ingest_field)missing_required));
        } else {
            st = add_record(s, v, &line, path, line.lineno, err);
        }
        json_decref(obj);
        if (st != SQ_OK) return st;
    }
    report_progress(s, r);
    return SQ_OK;
}

sq_status sq__ingest_file(sq_ingest_state *s, const char *path, sq_error *err) {
    sq_line_reader *r;
    sq_status st = sq_line_reader_open(&r, path, s->o->max_line, err);
    if (st != SQ_OK) return st;
    s->rep->files++;
    sq_line first;
    int rc;
    /* the first non-empty line decides the format (and is the header, if any) */
    for (;;) {
        rc = sq_line_reader_next(r, &first, err);
        if (rc <= 0) break;
        if (first.flags & SQ_LINE_TOO_LONG) break;
        size_t k = 0;
        while (k < first.len && isspace((unsigned char)first.data[k])) k++;
        if (k < first.len) break;
        s->rep->empty_lines++;
    }
    if (rc < 0) {
        st = err ? err->status : SQ_ERR_IO;
    } else if (rc > 0) {
        sq_input_format fmt = s->o->format;
        if (fmt == SQ_INPUT_AUTO) {
            size_t k = 0;
            while (k < first.len && isspace((unsigned char)first.data[k])) k++;
            fmt = (k < first.len && first.data[k] == '{') ? SQ_INPUT_JSONL : SQ_INPUT_CSV;
        }
        const char *name = strcmp(path, "-") ? path : "<stdin>";
        st = fmt == SQ_INPUT_JSONL ? ingest_jsonl(s, r, name, &first, err)
                                   : ingest_csv(s, r, name, &first, err);
    }
    s->rep->bytes_in += sq_line_reader_bytes_in(r);
    if (s->rep->parse_threads < 1) s->rep->parse_threads = 1;
    sq_line_reader_close(r);
    return st;
}
