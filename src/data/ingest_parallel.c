/* Two-thread parse of one plain delimited file, equal in every output to a 1-thread parse.
 *
 * The rows after the header are split at a newline near the middle. The calling thread
 * parses the first part into the ingest state as usual; a second thread parses the second
 * part into a state of its own (its own dictionaries, columns and report; line numbers of
 * the whole file, counted before it starts). After both end, the second part is merged:
 * its dictionary strings are interned into the first part's tables in the order of their
 * dense ids (so ids stay "order of first appearance in the input"), its columns are
 * remapped and appended (so row order, hence stable sorting and de-duplication, is the
 * input order), and its reject counts and first examples follow the first part's.
 *
 * --max-errors is judged with counts of the whole file so far, which the second part does
 * not know: it only records how close it came to the limit, and when the merge sees that a
 * 1-thread parse might have stopped inside the second part (or the second part failed in
 * any way), that part is parsed again, sequentially, continuing the first part's state.
 * Nothing is shared between the threads while they run but the cancel flag and a progress
 * counter (atomics); everything else is merged after the join. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest_parse.h"

/* Below this size a second thread costs more than it saves. */
#define SQ_PARALLEL_MIN_BYTES ((uint64_t)16 << 20)

int sq__ingest_threads(const sq_ingest_state *s, const sq_line_reader *r) {
    /* SQ_INGEST_THREADS=1 forces one thread; =2 forces two even on small files (tests) */
    const char *env = getenv("SQ_INGEST_THREADS");
    int forced = env && *env ? atoi(env) : 0;
    if (forced == 1) return 1;
    if (sq_line_reader_compression(r) != SQ_COMPRESSION_NONE) return 1;
    if (sq_line_reader_file_size(r) == 0) return 1; /* stdin, a pipe */
    if (s->o->flags & SQ_INGEST_SYNTHETIC_TIME) return 1; /* time = global row number */
    if (forced >= 2) return 2;
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) return 1;
    return sq_line_reader_file_size(r) >= SQ_PARALLEL_MIN_BYTES ? 2 : 1;
}

typedef struct part {
    sq_ingest_state s;
    sq_ingest_report rep;
    sq_line_reader *r;
    const char *path;
    sq_csv_shape shape;
    sq_error err;
    sq_status st;
    uint64_t window; /* > 0: the part's columns are rows [window, ...) of the first part's */
    uint64_t window_cap; /* the first part's capacity while shared */
} part;

static void *part_main(void *arg) {
    part *p = arg;
    p->st = sq__csv_rows(&p->s, p->r, p->path, &p->shape, NULL, &p->err);
    return NULL;
}

/* First offset after a newline at or after target, or 0 when there is none. */
static uint64_t split_point(const char *path, uint64_t target, uint64_t size) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    uint64_t split = 0;
    char buf[1 << 16];
    if (fseeko(f, (off_t)target, SEEK_SET) == 0) {
        uint64_t off = target;
        size_t k;
        while (!split && off < size && (k = fread(buf, 1, sizeof buf, f)) > 0) {
            const char *nl = memchr(buf, '\n', k);
            if (nl) split = off + (uint64_t)(nl - buf) + 1;
            off += k;
        }
    }
    fclose(f);
    return split < size ? split : 0;
}

/* Dense ids of src's strings in dst (added in src's id order); NULL when out of memory. */
static uint32_t *merge_dict(sq_intern *dst, const sq_intern *src) {
    uint32_t *map = malloc(((size_t)src->n + 1) * sizeof *map);
    if (!map) return NULL;
    for (uint32_t i = 0; i < src->n; i++) {
        map[i] = sq_intern_get(dst, src->bytes + src->offsets[i],
                               src->offsets[i + 1] - src->offsets[i]);
        if (map[i] == UINT32_MAX) {
            free(map);
            return NULL;
        }
    }
    return map;
}

/* dst column (n1 rows, grown to n1 + n2) gets src's n2 rows appended, through map if
 * given (SQ_NONE stays SQ_NONE); src is freed. */
#define APPEND_COLUMN(dst, src, n1, n2, map, ok)                                         \
    do {                                                                                 \
        void *grown_ = realloc((dst), ((n1) + (n2)) * sizeof *(dst));                    \
        if (!grown_) {                                                                   \
            (ok) = 0;                                                                    \
            break;                                                                       \
        }                                                                                \
        (dst) = grown_;                                                                  \
        if (map) {                                                                       \
            const uint32_t *m_ = (map);                                                  \
            for (uint64_t i_ = 0; i_ < (n2); i_++) {                                     \
                uint32_t v_ = (uint32_t)(src)[i_];                                       \
                (dst)[(n1) + i_] = v_ == SQ_NONE ? SQ_NONE : m_[v_];                     \
            }                                                                            \
        } else {                                                                         \
            memcpy((dst) + (n1), (src), (n2) * sizeof *(dst));                           \
        }                                                                                \
        free(src);                                                                       \
        (src) = NULL;                                                                    \
    } while (0)

/* Lets the second part write its rows straight into the first part's columns, from a row
 * the first part cannot reach: each of its rows is one of the lines before split (counted
 * by the second part's reader). The second part's rows need at least expected + 1 bytes
 * each. The columns are reserved for both (virtual memory: pages are touched as rows
 * come), so the merge copies nothing but the gap and touches no new pages; both windows
 * are fixed, a row beyond a bound would fail its part. 0 ok; -1: separate columns. */
static int share_columns(sq_ingest_state *s, part *p, const sq_line_reader *r, int first_pending,
                         uint64_t size, uint64_t split) {
    uint64_t lines_before = sq_line_reader_lineno(p->r);
    uint64_t taken = sq_line_reader_lineno(r);
    if (lines_before < taken || p->shape.expected < 1) return -1;
    uint64_t rows1 = lines_before - taken + (first_pending ? 1 : 0);
    uint64_t rows2 = (size - split) / ((uint64_t)p->shape.expected + 1) + 1;
    uint64_t k = s->ev.n + rows1;
    if (k + rows2 >= UINT32_MAX || sq__columns_reserve(&s->ev, k + rows2) != 0) return -1;
    sq_event_columns *b = &p->s.ev;
    free(b->user);
    free(b->item);
    free(b->category);
    free(b->session_key);
    free(b->row_hash);
    free(b->behavior);
    free(b->time_ms);
    free(b->price);
    *b = (sq_event_columns){.user = s->ev.user + k, .item = s->ev.item + k,
                            .category = s->ev.category + k, .session_key = s->ev.session_key + k,
                            .row_hash = s->ev.row_hash + k, .behavior = s->ev.behavior + k,
                            .time_ms = s->ev.time_ms + k, .price = s->ev.price + k,
                            .n = 0, .cap = rows2, .fixed = 1};
    p->window = k;
    p->window_cap = s->ev.cap;
    s->ev.cap = k;
    s->ev.fixed = 1;
    return 0;
}

/* Ends sharing: the first part's columns are whole again, the second's not its own. */
static void unshare_columns(sq_ingest_state *s, part *p) {
    if (!p->window) return;
    s->ev.cap = p->window_cap;
    s->ev.fixed = 0;
    memset(&p->s.ev, 0, sizeof p->s.ev);
}

static sq_status merge_part(sq_ingest_state *s, part *p, sq_error *err) {
    sq_ingest_state *t = &p->s;
    uint32_t *mu = merge_dict(&s->users, &t->users);
    uint32_t *mi = merge_dict(&s->items, &t->items);
    uint32_t *mc = merge_dict(&s->categories, &t->categories);
    uint32_t *ms = merge_dict(&s->sessions, &t->sessions);
    int ok = mu && mi && mc && ms;
    sq_event_columns *a = &s->ev, *b = &t->ev;
    uint64_t n1 = a->n, n2 = b->n;
    if (ok && n2 && p->window) {
        /* the rows are in place already: renumber their ids, and close the gap (rows the
         * first part did not fill: its header, empty and rejected lines) */
        uint64_t k = p->window;
        for (uint64_t i = 0; i < n2; i++) {
            b->user[i] = mu[b->user[i]];
            b->item[i] = mi[b->item[i]];
            if (b->category[i] != SQ_NONE) b->category[i] = mc[b->category[i]];
            if (b->session_key[i] != SQ_NONE) b->session_key[i] = ms[b->session_key[i]];
        }
        if (k > n1) {
#define CLOSE_GAP(field) memmove(a->field + n1, a->field + k, n2 * sizeof *a->field)
            CLOSE_GAP(user);
            CLOSE_GAP(item);
            CLOSE_GAP(category);
            CLOSE_GAP(session_key);
            CLOSE_GAP(row_hash);
            CLOSE_GAP(behavior);
            CLOSE_GAP(time_ms);
            CLOSE_GAP(price);
#undef CLOSE_GAP
        }
        a->n = n1 + n2;
    } else if (ok && n2) {
        /* column by column, so that memory peaks at one column more than both parts */
        int oks[8] = {1, 1, 1, 1, 1, 1, 1, 1};
#pragma omp parallel for schedule(dynamic, 1) num_threads(2)
        for (int c = 0; c < 8; c++) {
            switch (c) {
            case 0: APPEND_COLUMN(a->time_ms, b->time_ms, n1, n2, NULL, oks[c]); break;
            case 1: APPEND_COLUMN(a->user, b->user, n1, n2, mu, oks[c]); break;
            case 2: APPEND_COLUMN(a->item, b->item, n1, n2, mi, oks[c]); break;
            case 3: APPEND_COLUMN(a->category, b->category, n1, n2, mc, oks[c]); break;
            case 4: APPEND_COLUMN(a->session_key, b->session_key, n1, n2, ms, oks[c]); break;
            case 5: APPEND_COLUMN(a->row_hash, b->row_hash, n1, n2, NULL, oks[c]); break;
            case 6: APPEND_COLUMN(a->price, b->price, n1, n2, NULL, oks[c]); break;
            default: APPEND_COLUMN(a->behavior, b->behavior, n1, n2, NULL, oks[c]); break;
            }
        }
        for (int c = 0; c < 8; c++) ok &= oks[c];
        /* a failed column leaves a inconsistent: the caller fails the whole ingest */
        a->n = a->cap = n1 + n2;
    }
    free(mu);
    free(mi);
    free(mc);
    free(ms);
    if (!ok) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory merging the parse parts");
    s->any_category |= t->any_category;
    s->any_price |= t->any_price;
    s->any_session |= t->any_session;
    s->synthetic_clock += t->synthetic_clock;

    sq_ingest_report *rep = s->rep;
    const sq_ingest_report *r2 = &p->rep;
    for (int r = 0; r < SQ_REJECT_COUNT; r++) {
        for (uint64_t k = 0; k < r2->rejected[r] && k < SQ_INGEST_EXAMPLES; k++)
            if (rep->rejected[r] + k < SQ_INGEST_EXAMPLES)
                memcpy(rep->examples[r][rep->rejected[r] + k], r2->examples[r][k],
                       sizeof rep->examples[r][k]);
        rep->rejected[r] += r2->rejected[r];
    }
    rep->rejected_total += r2->rejected_total;
    rep->rows_read += r2->rows_read;
    rep->empty_lines += r2->empty_lines;
    return SQ_OK;
}

/* Whether a 1-thread parse could have stopped at a reject inside the second part: its
 * counts there are the first part's plus the second part's so far. Errs towards yes (the
 * second part is then parsed again, exactly); the slack covers rounding of ratio * rows. */
static int limits_may_trip(const sq_ingest_state *s, const part *p) {
    const sq_ingest_report *r1 = s->rep, *r2 = &p->rep;
    if (r2->rejected_total == 0) return 0;
    if (r2->rejected_total > s->o->max_errors - r1->rejected_total) return 1;
    double base = (double)r1->rejected_total - s->o->max_error_ratio * (double)r1->rows_read;
    double slack = 1e-9 * (double)(r1->rows_read + r2->rows_read + 1);
    return p->s.worst_excess + base > -slack;
}

sq_status sq__csv_rows_parallel(sq_ingest_state *s, sq_line_reader *r, const char *path,
                                sq_csv_shape *shape, const sq_line *first, sq_error *err) {
    uint64_t size = sq_line_reader_file_size(r);
    uint64_t from = sq_line_reader_tell(r);
    uint64_t split = size > from ? split_point(path, from + (size - from) / 2, size) : 0;
    part *p = split ? calloc(1, sizeof *p) : NULL;
    if (!p) {
        return sq__csv_rows(s, r, path, shape, first, err);
    }
    p->shape = *shape;
    if (p->shape.expected < 0) /* no header: the first row sets the field count */
        p->shape.expected = first ? sq__csv_row_fields(first, shape->delim) : -1;
    p->path = path;
    atomic_int cancel = 0;
    atomic_uint_least64_t bytes2 = 0;
    pthread_t th;
    int started = 0;
    if (p->shape.expected >= 0 && sq__ingest_state_init(&p->s, s->o, &p->rep, &p->err) == SQ_OK) {
        p->s.defer_limits = 1;
        p->s.worst_excess = -INFINITY;
        p->s.cancel = &cancel;
        p->s.publish_bytes = &bytes2;
        if (sq_line_reader_open_at(&p->r, path, s->o->max_line, split, &p->err) == SQ_OK) {
            (void)share_columns(s, p, r, first != NULL, size, split);
            if (pthread_create(&th, NULL, part_main, p) == 0) started = 1;
        }
    }
    /* r is only the calling thread's; split lies beyond what it has returned */
    if (started && sq_line_reader_limit(r, split) != 0) {
        atomic_store(&cancel, 1);
        pthread_join(th, NULL);
        started = 0;
    }
    if (!started) {
        unshare_columns(s, p);
        sq_line_reader_close(p->r);
        sq__ingest_state_free(&p->s);
        free(p);
        return sq__csv_rows(s, r, path, shape, first, err);
    }
    s->rep->parse_threads = 2;
    s->peer_bytes = &bytes2;
    sq_status st = sq__csv_rows(s, r, path, shape, first, err);
    if (st != SQ_OK) atomic_store(&cancel, 1); /* a 1-thread parse stops here too */
    pthread_join(th, NULL);
    s->peer_bytes = NULL;
    uint64_t bytes_second = sq_line_reader_bytes_in(p->r);
    sq_line_reader_close(p->r);
    if (st == SQ_OK && p->st == SQ_OK && !limits_may_trip(s, p)) {
        st = merge_part(s, p, err);
        s->rep->bytes_in += bytes_second;
        unshare_columns(s, p);
    } else if (st == SQ_OK) {
        /* parse the second part again, as the continuation of the first (its rows, if
         * they were written into the first part's columns, are overwritten) */
        unshare_columns(s, p);
        sq__ingest_state_free(&p->s);
        sq_line_reader *r2;
        st = sq_line_reader_open_at(&r2, path, s->o->max_line, split, err);
        if (st == SQ_OK) {
            st = sq__csv_rows(s, r2, path, shape, NULL, err);
            s->rep->bytes_in += sq_line_reader_bytes_in(r2);
            sq_line_reader_close(r2);
        }
    }
    unshare_columns(s, p);
    sq__ingest_state_free(&p->s);
    free(p);
    return st;
}
