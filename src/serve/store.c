/* Per-user recent history in LMDB.
 *
 * One key per user (the original id bytes) in the "hist" database; its value is the user's
 * events, oldest first:
 *   u32 magic "SQH1" | u32 count | count x record
 *   record: i64 time_ms | u8 behavior | u8 flags | u16 len | item
 *           [flags & 1: f32 price] [flags & 2: u16 clen | category]
 * little-endian, unaligned (read with memcpy). Records written before price and category
 * were kept have flags 0 and read as before. An append rewrites the value in a write
 * transaction, dropping the oldest events beyond the cap; the "meta" database keeps the
 * running total of appended events. Commits are LMDB's default synchronous ones (fsync),
 * so an acknowledged append survives a crash; concurrent appends share one commit (group
 * commit), so the fsync rate does not cap the request rate. */
#include <errno.h>
#include <lmdb.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fileio.h"
#include "shopseq/serve.h"

#define HIST_MAGIC 0x31485153u /* "SQH1" */
#define REC_HDR 12             /* time 8 + behavior 1 + flags 1 + len 2 */
#define F_PRICE 1
#define F_CATEGORY 2

#define GROUP_MAX 256     /* requests in one group commit */
#define GROUP_EVENTS 20000 /* events in one group commit (a request alone may exceed it) */

typedef struct append_req {
    const sq_serve_event *ev;
    size_t n;
    int rc, done;
    const char *stage;
    struct append_req *next;
} append_req;

struct sq_store {
    MDB_env *env;
    MDB_dbi hist, meta;
    int cap;
    /* group commit queue */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    append_req *head, *tail;
    int busy;
};

static sq_status mdb_fail(sq_error *err, int rc, const char *what) {
    return sq_error_set(err, rc == MDB_MAP_FULL ? SQ_ERR_LIMIT : SQ_ERR_IO, "store: %s: %s", what,
                        mdb_strerror(rc));
}

sq_status sq_store_open(sq_store **out, const char *dir, size_t map_mb, int cap_per_user,
                        sq_error *err) {
    *out = NULL;
    if (cap_per_user < 1) return sq_error_set(err, SQ_ERR_USAGE, "store: history cap must be >= 1");
    sq_status st = sq_mkdir_p(dir, err);
    if (st != SQ_OK) return st;
    sq_store *s = calloc(1, sizeof *s);
    if (!s) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    s->cap = cap_per_user;
    pthread_mutex_init(&s->qlock, NULL);
    pthread_cond_init(&s->qcond, NULL);
    int rc = mdb_env_create(&s->env);
    if (rc == 0) rc = mdb_env_set_maxdbs(s->env, 4);
    if (rc == 0) rc = mdb_env_set_mapsize(s->env, (map_mb ? map_mb : 1024) << 20);
    if (rc == 0) rc = mdb_env_set_maxreaders(s->env, 512);
    if (rc == 0) rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0644);
    MDB_txn *txn = NULL;
    if (rc == 0) rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc == 0) rc = mdb_dbi_open(txn, "hist", MDB_CREATE, &s->hist);
    if (rc == 0) rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (rc != 0) {
        if (txn) mdb_txn_abort(txn);
        st = sq_error_set(err, SQ_ERR_IO, "store: cannot open %s: %s", dir, mdb_strerror(rc));
        sq_store_close(s);
        return st;
    }
    *out = s;
    return SQ_OK;
}

void sq_store_close(sq_store *s) {
    if (!s) return;
    if (s->env) mdb_env_close(s->env);
    pthread_mutex_destroy(&s->qlock);
    pthread_cond_destroy(&s->qcond);
    free(s);
}

static uint32_t rd32(const unsigned char *p) {
    uint32_t x;
    memcpy(&x, p, 4);
    return x;
}

/* Size of the record at p (size bytes left), or 0 if malformed. */
static size_t rec_len(const unsigned char *p, size_t size) {
    if (size < REC_HDR) return 0;
    uint16_t len;
    memcpy(&len, p + 10, 2);
    unsigned flags = p[9];
    size_t n = REC_HDR + len;
    if (flags & ~(unsigned)(F_PRICE | F_CATEGORY)) return 0;
    if (flags & F_PRICE) n += 4;
    if (flags & F_CATEGORY) {
        if (n + 2 > size) return 0;
        uint16_t clen;
        memcpy(&clen, p + n, 2);
        n += 2 + (size_t)clen;
    }
    return n <= size ? n : 0;
}

/* Byte offset of each record of a value; returns the count or -1 if malformed. */
static long walk(const unsigned char *v, size_t size, size_t *offs, size_t cap) {
    if (size < 8 || rd32(v) != HIST_MAGIC) return -1;
    uint32_t n = rd32(v + 4);
    size_t p = 8;
    for (uint32_t i = 0; i < n; i++) {
        size_t r = rec_len(v + p, size - p);
        if (!r) return -1;
        if (offs && i < cap) offs[i] = p;
        p += r;
    }
    return p == size ? (long)n : -1;
}

static size_t rec_size(const sq_serve_event *e) {
    return REC_HDR + e->item_len + (e->has_price ? 4 : 0) + (e->category ? 2 + e->category_len : 0);
}

static size_t rec_put(unsigned char *p, const sq_serve_event *e) {
    uint16_t len = (uint16_t)e->item_len;
    memcpy(p, &e->time_ms, 8);
    p[8] = (unsigned char)e->behavior;
    p[9] = (unsigned char)((e->has_price ? F_PRICE : 0) | (e->category ? F_CATEGORY : 0));
    memcpy(p + 10, &len, 2);
    memcpy(p + REC_HDR, e->item, len);
    size_t n = REC_HDR + (size_t)len;
    if (e->has_price) {
        memcpy(p + n, &e->price, 4);
        n += 4;
    }
    if (e->category) {
        uint16_t clen = (uint16_t)e->category_len;
        memcpy(p + n, &clen, 2);
        memcpy(p + n + 2, e->category, clen);
        n += 2 + (size_t)clen;
    }
    return n;
}

/* Appends to one user: old value + new events, trimmed to cap. */
static int append_user(sq_store *s, MDB_txn *txn, const sq_serve_event *ev, const size_t *idx,
                       size_t n_new) {
    MDB_val key = {ev[idx[0]].user_len, (void *)ev[idx[0]].user}, val;
    const unsigned char *old = NULL;
    size_t old_size = 0;
    long n_old = 0;
    int rc = mdb_get(txn, s->hist, &key, &val);
    if (rc == 0) {
        old = val.mv_data;
        old_size = val.mv_size;
        n_old = walk(old, old_size, NULL, 0);
        if (n_old < 0) n_old = 0, old_size = 0; /* unreadable value: start over */
    } else if (rc != MDB_NOTFOUND) {
        return rc;
    }
    size_t total = (size_t)n_old + n_new, keep_old = (size_t)n_old, skip_new = 0;
    if (total > (size_t)s->cap) {
        size_t drop = total - (size_t)s->cap;
        if (drop >= keep_old) {
            skip_new = drop - keep_old;
            keep_old = 0;
        } else {
            keep_old -= drop;
        }
    }
    size_t *offs = NULL;
    size_t old_from = 8; /* byte offset of the first kept old record */
    if (n_old > 0 && keep_old < (size_t)n_old) {
        offs = malloc((size_t)n_old * sizeof *offs);
        if (!offs) return ENOMEM;
        walk(old, old_size, offs, (size_t)n_old);
        old_from = keep_old ? offs[(size_t)n_old - keep_old] : old_size;
        free(offs);
    }
    size_t size = 8 + (old_size > old_from ? old_size - old_from : 0);
    for (size_t i = skip_new; i < n_new; i++) size += rec_size(&ev[idx[i]]);
    unsigned char *buf = malloc(size);
    if (!buf) return ENOMEM;
    uint32_t magic = HIST_MAGIC, cnt = (uint32_t)(keep_old + n_new - skip_new);
    memcpy(buf, &magic, 4);
    memcpy(buf + 4, &cnt, 4);
    size_t p = 8;
    if (old_size > old_from) {
        memcpy(buf + p, old + old_from, old_size - old_from);
        p += old_size - old_from;
    }
    for (size_t i = skip_new; i < n_new; i++) p += rec_put(buf + p, &ev[idx[i]]);
    val.mv_size = size;
    val.mv_data = buf;
    rc = mdb_put(txn, s->hist, &key, &val, 0);
    free(buf);
    return rc;
}

static int same_user(const sq_serve_event *a, const sq_serve_event *b) {
    return a->user_len == b->user_len && !memcmp(a->user, b->user, a->user_len);
}

/* Appends one request's events inside txn, grouped by user (each user's events in
 * posted order). */
static int append_events(sq_store *s, MDB_txn *txn, const sq_serve_event *ev, size_t n) {
    size_t *idx = malloc(n * sizeof *idx);
    unsigned char *done = calloc(n, 1);
    int rc = idx && done ? 0 : ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (done[i]) continue;
        size_t m = 0;
        for (size_t j = i; j < n; j++)
            if (!done[j] && same_user(&ev[i], &ev[j])) {
                done[j] = 1;
                idx[m++] = j;
            }
        rc = append_user(s, txn, ev, idx, m);
    }
    free(idx);
    free(done);
    return rc;
}

/* One write transaction for requests [0, n): all their events and the counter, one
 * synchronous commit. On failure nothing of it is stored; *stage says where it failed. */
static int commit_group(sq_store *s, append_req *const *rq, int n, const char **stage) {
    MDB_txn *txn = NULL;
    uint64_t added = 0;
    *stage = "append";
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = append_events(s, txn, rq[i]->ev, rq[i]->n);
        added += rq[i]->n;
    }
    if (rc == 0) {
        MDB_val key = {5, "total"}, val;
        uint64_t total = 0;
        if (mdb_get(txn, s->meta, &key, &val) == 0 && val.mv_size == 8) memcpy(&total, val.mv_data, 8);
        total += added;
        val.mv_size = 8;
        val.mv_data = &total;
        rc = mdb_put(txn, s->meta, &key, &val, 0);
    }
    if (rc != 0) {
        if (txn) mdb_txn_abort(txn);
        return rc;
    }
    *stage = "commit";
    return mdb_txn_commit(txn); /* synchronous: fsync before returning */
}

sq_status sq_store_append(sq_store *s, const sq_serve_event *ev, size_t n, sq_error *err) {
    if (n == 0) return SQ_OK;
    for (size_t i = 0; i < n; i++)
        if (ev[i].user_len == 0 || ev[i].user_len > 511 || ev[i].item_len > 65535 ||
            ev[i].category_len > 65535)
            return sq_error_set(err, SQ_ERR_USAGE, "store: event %zu: id length out of range", i);
    /* group commit: whoever finds no commit running takes every queued request into one
     * transaction (one fsync for all); the others wait for it. A failed group is retried
     * request by request, so that one bad request cannot fail its neighbours. */
    append_req me = {.ev = ev, .n = n};
    pthread_mutex_lock(&s->qlock);
    if (s->tail) s->tail->next = &me;
    else s->head = &me;
    s->tail = &me;
    while (!me.done) {
        if (s->busy) {
            pthread_cond_wait(&s->qcond, &s->qlock);
            continue;
        }
        append_req *take[GROUP_MAX];
        int m = 0;
        size_t events = 0;
        while (s->head && m < GROUP_MAX && (m == 0 || events + s->head->n <= GROUP_EVENTS)) {
            events += s->head->n;
            take[m++] = s->head;
            s->head = s->head->next;
        }
        if (!s->head) s->tail = NULL;
        s->busy = 1;
        pthread_mutex_unlock(&s->qlock);
        const char *stage;
        int rc = commit_group(s, take, m, &stage);
        for (int i = 0; i < m; i++) {
            take[i]->rc = rc;
            take[i]->stage = stage;
        }
        if (rc != 0 && m > 1)
            for (int i = 0; i < m; i++) take[i]->rc = commit_group(s, &take[i], 1, &take[i]->stage);
        pthread_mutex_lock(&s->qlock);
        for (int i = 0; i < m; i++) take[i]->done = 1;
        s->busy = 0;
        pthread_cond_broadcast(&s->qcond);
    }
    pthread_mutex_unlock(&s->qlock);
    return me.rc == 0 ? SQ_OK : mdb_fail(err, me.rc, me.stage);
}

sq_status sq_store_get(sq_store *s, const char *user, size_t user_len, sq_history *h,
                       sq_error *err) {
    memset(h, 0, sizeof *h);
    if (user_len == 0 || user_len > 511) return SQ_OK;
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) return mdb_fail(err, rc, "read");
    MDB_val key = {user_len, (void *)user}, val;
    rc = mdb_get(txn, s->hist, &key, &val);
    if (rc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return SQ_OK;
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return mdb_fail(err, rc, "read");
    }
    long n = walk(val.mv_data, val.mv_size, NULL, 0);
    if (n <= 0) {
        mdb_txn_abort(txn);
        return n == 0 ? SQ_OK : sq_error_set(err, SQ_ERR_FORMAT, "store: corrupt history value");
    }
    h->bytes_ = malloc(val.mv_size);
    h->ev = malloc((size_t)n * sizeof *h->ev);
    size_t *offs = malloc((size_t)n * sizeof *offs);
    if (!h->bytes_ || !h->ev || !offs) {
        mdb_txn_abort(txn);
        free(offs);
        sq_history_free(h);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    memcpy(h->bytes_, val.mv_data, val.mv_size);
    mdb_txn_abort(txn);
    const unsigned char *v = (const unsigned char *)h->bytes_;
    walk(v, val.mv_size, offs, (size_t)n);
    for (long i = 0; i < n; i++) {
        const unsigned char *p = v + offs[i];
        uint16_t len;
        memcpy(&h->ev[i].time_ms, p, 8);
        h->ev[i].behavior = p[8];
        memcpy(&len, p + 10, 2);
        h->ev[i].item = (const char *)p + REC_HDR;
        h->ev[i].item_len = len;
        size_t q = REC_HDR + (size_t)len;
        h->ev[i].price = NAN;
        h->ev[i].category = NULL;
        h->ev[i].category_len = 0;
        if (p[9] & F_PRICE) {
            memcpy(&h->ev[i].price, p + q, 4);
            q += 4;
        }
        if (p[9] & F_CATEGORY) {
            uint16_t clen;
            memcpy(&clen, p + q, 2);
            h->ev[i].category = (const char *)p + q + 2;
            h->ev[i].category_len = clen;
        }
    }
    h->n = (size_t)n;
    free(offs);
    return SQ_OK;
}

void sq_history_free(sq_history *h) {
    if (!h) return;
    free(h->ev);
    free(h->bytes_);
    memset(h, 0, sizeof *h);
}

uint64_t sq_store_events_total(sq_store *s) {
    MDB_txn *txn;
    uint64_t total = 0;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) return 0;
    MDB_val key = {5, "total"}, val;
    if (mdb_get(txn, s->meta, &key, &val) == 0 && val.mv_size == 8) memcpy(&total, val.mv_data, 8);
    mdb_txn_abort(txn);
    return total;
}

uint64_t sq_store_users(sq_store *s) {
    MDB_txn *txn;
    MDB_stat stt;
    uint64_t n = 0;
    if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) return 0;
    if (mdb_stat(txn, s->hist, &stt) == 0) n = stt.ms_entries;
    mdb_txn_abort(txn);
    return n;
}
