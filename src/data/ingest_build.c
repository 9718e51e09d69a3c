/* Parsed columns -> .sqd: group by user (counting sort, stable), sort each user's events
 * by time (stable: ties keep input order), drop exact duplicates, cut sessions, gather each
 * column into its final order and write it, freeing the source column as we go so that
 * peak memory stays near one copy of the events. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_parse.h"
#include "sqd_write.h"

/* Sections are written by a second thread while this one gathers the next column: the
 * kernel's copy of a section into the page cache costs about as much as the gather. One
 * write is in flight at a time, and the writer is touched by one thread at a time (each
 * write is joined before the next starts or anything else uses the writer). */
typedef struct async_writer {
    sq_dataset_writer *w;
    pthread_t th;
    int busy;
    sq_section_id id;
    const void *data;
    uint64_t size;
    void *free_after; /* freed once written */
    int piece, last;  /* a piece of a section (sq__dataset_writer_piece) */
    sq_status st;
    sq_error err;
} async_writer;

static void *write_main(void *arg) {
    async_writer *a = arg;
    a->st = a->piece ? sq__dataset_writer_piece(a->w, a->id, a->data, a->size, a->last, &a->err)
                     : sq_dataset_writer_section(a->w, a->id, a->data, a->size, &a->err);
    free(a->free_after);
    a->free_after = NULL;
    return NULL;
}

/* Waits for the write in flight; its status (copied into err when it failed). */
static sq_status write_wait(async_writer *a, sq_error *err) {
    if (!a->busy) return SQ_OK;
    pthread_join(a->th, NULL);
    a->busy = 0;
    if (a->st != SQ_OK && err) *err = a->err;
    return a->st;
}

static sq_status write_start_piece(async_writer *a, sq_section_id id, const void *data,
                                   uint64_t size, int last, sq_error *err) {
    sq_status st = write_wait(a, err);
    if (st != SQ_OK) return st;
    a->id = id;
    a->data = data;
    a->size = size;
    a->free_after = NULL;
    a->piece = 1;
    a->last = last;
    if (pthread_create(&a->th, NULL, write_main, a) == 0) {
        a->busy = 1;
        return SQ_OK;
    }
    write_main(a);
    if (a->st != SQ_OK && err) *err = a->err;
    return a->st;
}

/* Starts writing data (kept alive by the caller until the next write_wait, or freed by
 * the writer when free_after is set) after the previous write ends. */
static sq_status write_start(async_writer *a, sq_section_id id, const void *data, uint64_t size,
                             int free_after, sq_error *err) {
    sq_status st = write_wait(a, err);
    if (st != SQ_OK) {
        if (free_after) free((void *)data);
        return st;
    }
    a->id = id;
    a->data = data;
    a->size = size;
    a->free_after = free_after ? (void *)data : NULL;
    a->piece = a->last = 0;
    if (pthread_create(&a->th, NULL, write_main, a) == 0) {
        a->busy = 1;
        return SQ_OK;
    }
    write_main(a); /* no thread: write here */
    if (a->st != SQ_OK && err) *err = a->err;
    return a->st;
}

typedef struct key {
    int64_t t;
    uint32_t idx;
} key;

static int key_cmp(const void *a, const void *b) {
    const key *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int same_event(const sq_event_columns *ev, uint32_t a, uint32_t b) {
    /* user and time are equal by construction */
    if (ev->row_hash[a] != ev->row_hash[b] || ev->item[a] != ev->item[b] ||
        ev->behavior[a] != ev->behavior[b] ||
        ev->category[a] != ev->category[b] || ev->session_key[a] != ev->session_key[b])
        return 0;
    float pa = ev->price[a], pb = ev->price[b];
    return (isnan(pa) && isnan(pb)) || pa == pb;
}

/* Sorts perm[0..n) (one user's events, in input order) by time, stably; then marks exact
 * duplicates (same time and every field) as UINT32_MAX. Returns the duplicate count. */
static uint64_t sort_user(const sq_event_columns *ev, uint32_t *perm, uint64_t n, key *tmp) {
    int sorted = 1;
    for (uint64_t i = 1; i < n && sorted; i++)
        if (ev->time_ms[perm[i]] < ev->time_ms[perm[i - 1]]) sorted = 0;
    if (!sorted) {
        for (uint64_t i = 0; i < n; i++) tmp[i] = (key){ev->time_ms[perm[i]], perm[i]};
        if (n <= 16) {
            for (uint64_t i = 1; i < n; i++) {
                key k = tmp[i];
                uint64_t j = i;
                while (j > 0 && key_cmp(&tmp[j - 1], &k) > 0) tmp[j] = tmp[j - 1], j--;
                tmp[j] = k;
            }
        } else {
            qsort(tmp, n, sizeof *tmp, key_cmp);
        }
        for (uint64_t i = 0; i < n; i++) perm[i] = tmp[i].idx;
    }
    /* duplicates can only share a timestamp: compare within each equal-time run */
    uint64_t dups = 0;
    for (uint64_t start = 0; start < n;) {
        uint64_t end = start + 1;
        while (end < n && ev->time_ms[perm[end]] == ev->time_ms[perm[start]]) end++;
        if (end - start <= 64) {
            for (uint64_t i = start + 1; i < end; i++) {
                for (uint64_t j = start; j < i; j++) {
                    if (perm[j] != UINT32_MAX && same_event(ev, perm[j], perm[i])) {
                        perm[i] = UINT32_MAX;
                        dups++;
                        break;
                    }
                }
            }
        } else {
            /* long run (day-resolution times): group by row hash instead of all pairs;
             * (hash, position) order keeps the first occurrence */
            uint64_t k = end - start;
            for (uint64_t i = 0; i < k; i++)
                tmp[i] = (key){(int64_t)ev->row_hash[perm[start + i]], (uint32_t)i};
            qsort(tmp, k, sizeof *tmp, key_cmp);
            for (uint64_t g = 0; g < k;) {
                uint64_t h = g + 1;
                while (h < k && tmp[h].t == tmp[g].t) h++;
                for (uint64_t i = g + 1; i < h; i++) {
                    uint32_t pi = perm[start + tmp[i].idx];
                    for (uint64_t j = g; j < i; j++) {
                        uint32_t pj = perm[start + tmp[j].idx];
                        if (pj != UINT32_MAX && same_event(ev, pj, pi)) {
                            perm[start + tmp[i].idx] = UINT32_MAX;
                            dups++;
                            break;
                        }
                    }
                }
                g = h;
            }
        }
        start = end;
    }
    return dups;
}

sq_status sq__ingest_build(sq_ingest_state *s, const char *out_path, sq_error *err) {
    sq_event_columns *ev = &s->ev;
    sq_ingest_report *rep = s->rep;
    const sq_ingest_options *o = s->o;
    uint64_t n = ev->n;
    uint32_t n_users = s->users.n;
    if (n == 0)
        return sq_error_set(err, SQ_ERR_FORMAT, "no valid events in the input (%llu rows read, "
                            "%llu rejected)", (unsigned long long)rep->rows_read,
                            (unsigned long long)rep->rejected_total);
    if (n >= UINT32_MAX)
        return sq_error_set(err, SQ_ERR_LIMIT, "more than 4.29 billion events in one dataset");

    sq_status st = SQ_OK;
    uint64_t *offsets = calloc((size_t)n_users + 1, sizeof *offsets);
    uint32_t *perm = malloc(n * sizeof *perm);
    void *gather = NULL;
    sq_dataset_writer *w = NULL;
    async_writer aw = {0};
    uint32_t *session = NULL;
    if (!offsets || !perm) goto nomem;

    /* group by user, stable */
    for (uint64_t i = 0; i < n; i++) offsets[ev->user[i] + 1]++;
    for (uint32_t u = 0; u < n_users; u++) offsets[u + 1] += offsets[u];
    {
        uint64_t *fill = malloc(((size_t)n_users + 1) * sizeof *fill);
        if (!fill) goto nomem;
        memcpy(fill, offsets, ((size_t)n_users + 1) * sizeof *fill);
        for (uint64_t i = 0; i < n; i++) perm[fill[ev->user[i]]++] = (uint32_t)i;
        free(fill);
    }
    /* the user column is not read again: its room (n >= m rows) takes the session ids,
     * so that they touch no new pages */
    session = ev->user;
    ev->user = NULL;

    /* sort each user by time and mark duplicates; users are independent */
    uint64_t max_len = 0;
    for (uint32_t u = 0; u < n_users; u++)
        if (offsets[u + 1] - offsets[u] > max_len) max_len = offsets[u + 1] - offsets[u];
    uint64_t dups = 0;
    int oom = 0;
#pragma omp parallel reduction(+ : dups)
    {
        key *tmp = malloc((max_len ? max_len : 1) * sizeof *tmp);
        if (!tmp) {
#pragma omp atomic write
            oom = 1;
        } else {
#pragma omp for schedule(dynamic, 256)
            for (int64_t u = 0; u < (int64_t)n_users; u++)
                dups += sort_user(ev, perm + offsets[u], offsets[u + 1] - offsets[u], tmp);
        }
        free(tmp);
    }
    if (oom) goto nomem;

    /* compact away duplicates and rebuild the user index */
    uint64_t m = 0;
    for (uint32_t u = 0; u < n_users; u++) {
        uint64_t b = offsets[u], e = offsets[u + 1];
        offsets[u] = m;
        for (uint64_t i = b; i < e; i++)
            if (perm[i] != UINT32_MAX) perm[m++] = perm[i];
    }
    offsets[n_users] = m;
    rep->duplicates = dups;
    /* the row hashes are not read again: their room takes gathered columns below */

    /* sessions: a new one when the session column changes, or after an inactivity gap */
    int64_t gap_ms = o->session_gap_s * 1000;
    int by_column = s->any_session;
    uint64_t n_sessions = 0;
    for (uint32_t u = 0; u < n_users; u++) {
        for (uint64_t i = offsets[u]; i < offsets[u + 1]; i++) {
            int new_session = i == offsets[u];
            if (!new_session) {
                uint32_t a = perm[i - 1], b = perm[i];
                new_session = by_column ? ev->session_key[a] != ev->session_key[b]
                                        : ev->time_ms[b] - ev->time_ms[a] > gap_ms;
            }
            if (new_session) n_sessions++;
            session[i] = (uint32_t)(n_sessions - 1);
        }
    }
    if (n_sessions > UINT32_MAX) {
        st = sq_error_set(err, SQ_ERR_LIMIT, "more than 4.29 billion sessions");
        goto done;
    }

    st = sq_dataset_writer_open(&w, out_path, err);
    if (st != SQ_OK) goto done;
    aw.w = w;
    st = write_start(&aw, SQ_SECTION_USER_OFFSETS, offsets, ((uint64_t)n_users + 1) * 8, 0, err);
    if (st == SQ_OK) {
        st = write_start(&aw, SQ_SECTION_SESSION, session, m * 4, 1, err); /* frees it */
        session = NULL;
    }
    if (st != SQ_OK) goto done;

    sq_dataset_counts c = {.n_users = n_users, .n_items = s->items.n,
                           .n_categories = s->categories.n, .n_events = m,
                           .n_sessions = n_sessions, .session_gap_s = by_column ? 0 : o->session_gap_s,
                           .time_min_ms = INT64_MAX, .time_max_ms = INT64_MIN};
    c.flags = (s->any_category ? SQ_DATASET_HAS_CATEGORY : 0) |
              (s->any_price ? SQ_DATASET_HAS_PRICE : 0) |
              (by_column ? SQ_DATASET_HAS_SESSION_COLUMN : 0) |
              ((o->flags & SQ_INGEST_SYNTHETIC_TIME) ? SQ_DATASET_SYNTHETIC_TIME : 0);

    /* item -> category of its latest event */
    {
        uint32_t *icat = malloc(((size_t)c.n_items + 1) * sizeof *icat);
        int64_t *itime = malloc(((size_t)c.n_items + 1) * sizeof *itime);
        if (!icat || !itime) {
            free(icat);
            free(itime);
            goto nomem;
        }
        memset(icat, 0xff, (size_t)c.n_items * sizeof *icat);
        for (uint32_t i = 0; i < c.n_items; i++) itime[i] = INT64_MIN;
        for (uint64_t i = 0; i < m; i++) {
            uint32_t e = perm[i];
            if (ev->category[e] != SQ_NONE && ev->time_ms[e] >= itime[ev->item[e]]) {
                itime[ev->item[e]] = ev->time_ms[e];
                icat[ev->item[e]] = ev->category[e];
            }
        }
        free(itime);
        st = write_start(&aw, SQ_SECTION_ITEM_CATEGORY, icat, (uint64_t)c.n_items * 4, 1, err);
        if (st != SQ_OK) goto done;
    }

    /* Each column is gathered into room that no longer holds data to read and is not
     * being written: the row hashes' (4 bytes an event), then the columns already
     * gathered. No new memory: the 8-byte times go in pieces of at most a third. */
#define GATHER(dst, field, type, from, to)                                           \
    do {                                                                             \
        type *g_ = (type *)(dst);                                                    \
        for (uint64_t i = (from); i < (to); i++) g_[i - (from)] = ev->field[perm[i]]; \
    } while (0)
    GATHER(ev->row_hash, item, uint32_t, 0, m);
    if ((st = write_start(&aw, SQ_SECTION_ITEM, ev->row_hash, m * 4, 0, err)) != SQ_OK) goto done;
    GATHER(ev->item, category, uint32_t, 0, m);
    if ((st = write_start(&aw, SQ_SECTION_CATEGORY, ev->item, m * 4, 0, err)) != SQ_OK) goto done;
    GATHER(ev->row_hash, behavior, uint8_t, 0, m);
    if ((st = write_start(&aw, SQ_SECTION_BEHAVIOR, ev->row_hash, m, 0, err)) != SQ_OK) goto done;
    free(ev->behavior);
    ev->behavior = NULL;
    GATHER(ev->item, price, float, 0, m);
    if ((st = write_start(&aw, SQ_SECTION_PRICE, ev->item, m * 4, 0, err)) != SQ_OK) goto done;
    free(ev->price);
    ev->price = NULL;
    {
        /* 8 * ceil(m / 3) <= 4 * m bytes from m >= 4; below 64 events a small buffer */
        uint64_t q = m < 64 ? m : (m + 2) / 3;
        if (m < 64 && !(gather = malloc(m ? m * 8 : 8))) goto nomem;
        void *room[2] = {m < 64 ? gather : (void *)ev->row_hash,
                         m < 64 ? gather : (void *)ev->category};
        int k = 0;
        uint64_t from = 0;
        do {
            uint64_t to = from + q < m ? from + q : m;
            int64_t *t = room[k & 1];
            GATHER(t, time_ms, int64_t, from, to);
            for (uint64_t i = 0; i < to - from; i++) {
                if (t[i] < c.time_min_ms) c.time_min_ms = t[i];
                if (t[i] > c.time_max_ms) c.time_max_ms = t[i];
            }
            st = write_start_piece(&aw, SQ_SECTION_TIME, t, (to - from) * 8, to == m, err);
            if (st != SQ_OK) goto done;
            from = to;
            k++;
        } while (from < m);
    }
#undef GATHER
    st = write_wait(&aw, err);
    if (st != SQ_OK) goto done;
    free(gather);
    gather = NULL;
    free(ev->time_ms);
    ev->time_ms = NULL;
    free(ev->row_hash);
    ev->row_hash = NULL;
    free(ev->item);
    ev->item = NULL;
    free(ev->category);
    ev->category = NULL;
    free(perm);
    perm = NULL;

    sq_dict_src users = sq_intern_dict(&s->users), items = sq_intern_dict(&s->items),
                cats = sq_intern_dict(&s->categories);
    st = sq_dataset_writer_dict(w, SQ_SECTION_USER_DICT_OFFSETS, &users, err);
    if (st == SQ_OK) st = sq_dataset_writer_dict(w, SQ_SECTION_ITEM_DICT_OFFSETS, &items, err);
    if (st == SQ_OK) st = sq_dataset_writer_dict(w, SQ_SECTION_CATEGORY_DICT_OFFSETS, &cats, err);
    if (st == SQ_OK) {
        char *provenance = sq__ingest_provenance(s);
        if (provenance)
            st = sq_dataset_writer_section(w, SQ_SECTION_PROVENANCE, provenance,
                                           strlen(provenance), err);
        free(provenance);
    }
    if (st != SQ_OK) goto done;
    st = sq_dataset_writer_finish(w, &c, err);
    w = NULL;
    if (st == SQ_OK) {
        rep->events = m;
        rep->users = n_users;
        rep->items = c.n_items;
        rep->categories = c.n_categories;
        rep->sessions = n_sessions;
        rep->time_min_ms = c.time_min_ms;
        rep->time_max_ms = c.time_max_ms;
    }
done:
    if (aw.busy) {
        sq_status ws = write_wait(&aw, st == SQ_OK ? err : NULL);
        if (st == SQ_OK) st = ws;
    }
    sq_dataset_writer_abort(w);
    free(session);
    free(gather);
    free(offsets);
    free(perm);
    return st;
nomem:
    st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory building the dataset (%llu events)",
                      (unsigned long long)n);
    goto done;
}
