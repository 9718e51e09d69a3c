/* Test helper: builds a .sqd file from a table of events (any order), the way ingest does:
 * stable sort by (user, time), sessions cut at gaps > gap_s, dense ids in first-seen order.
 * Only for tests: O(n log n) with plain arrays, names as given. */
#ifndef SQ_TESTS_ANALYTICS_BUILD_H
#define SQ_TESTS_ANALYTICS_BUILD_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/behavior.h"
#include "shopseq/dataset.h"

typedef struct tb_event {
    const char *user, *item, *cat; /* cat may be NULL */
    int behavior;                  /* sq_behavior */
    int64_t time_s;
    float price;                   /* NaN when unknown */
} tb_event;

typedef struct tb_dict { /* strings -> dense ids in first-seen order (linear hash) */
    char **names;
    uint32_t n, cap;
    uint32_t *slots; size_t nslots;
} tb_dict;

static uint64_t tb_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}
static uint32_t tb_dict_id(tb_dict *d, const char *s) {
    if ((size_t)(d->n + 1) * 2 > d->nslots) {
        size_t ns = d->nslots ? d->nslots * 2 : 1024;
        uint32_t *sl = malloc(ns * sizeof *sl);
        memset(sl, 0xff, ns * sizeof *sl);
        for (uint32_t i = 0; i < d->n; i++) {
            size_t k = tb_hash(d->names[i]) & (ns - 1);
            while (sl[k] != UINT32_MAX) k = (k + 1) & (ns - 1);
            sl[k] = i;
        }
        free(d->slots);
        d->slots = sl, d->nslots = ns;
    }
    size_t k = tb_hash(s) & (d->nslots - 1);
    while (d->slots[k] != UINT32_MAX) {
        if (!strcmp(d->names[d->slots[k]], s)) return d->slots[k];
        k = (k + 1) & (d->nslots - 1);
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 64;
        d->names = realloc(d->names, d->cap * sizeof *d->names);
    }
    d->names[d->n] = strdup(s);
    d->slots[k] = d->n;
    return d->n++;
}
static sq_dict_src tb_dict_src(const tb_dict *d, uint64_t **offs, char **bytes) {
    size_t total = 0;
    for (uint32_t i = 0; i < d->n; i++) total += strlen(d->names[i]);
    *offs = malloc((d->n + 1) * sizeof **offs);
    *bytes = malloc(total + 1);
    size_t p = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        (*offs)[i] = p;
        size_t l = strlen(d->names[i]);
        memcpy(*bytes + p, d->names[i], l);
        p += l;
    }
    (*offs)[d->n] = p;
    return (sq_dict_src){d->n, *offs, *bytes};
}
static void tb_dict_free(tb_dict *d) {
    for (uint32_t i = 0; i < d->n; i++) free(d->names[i]);
    free(d->names), free(d->slots);
}

typedef struct { uint32_t user; int64_t t; uint64_t row; } tb_key;
static int tb_cmp(const void *x, const void *y) {
    const tb_key *a = x, *b = y;
    if (a->user != b->user) return a->user < b->user ? -1 : 1;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return a->row < b->row ? -1 : a->row > b->row;
}

/* Writes the events to path; returns 0 on success. */
static int tb_write(const char *path, const tb_event *ev, size_t n, int64_t gap_s, int with_price) {
    tb_dict du = {0}, di = {0}, dc = {0};
    tb_key *keys = malloc(n * sizeof *keys);
    uint32_t *uid = malloc(n * sizeof *uid), *iid = malloc(n * sizeof *iid), *cid = malloc(n * sizeof *cid);
    int has_cat = 0;
    for (size_t e = 0; e < n; e++) {
        uid[e] = tb_dict_id(&du, ev[e].user);
        iid[e] = tb_dict_id(&di, ev[e].item);
        cid[e] = ev[e].cat ? (has_cat = 1, tb_dict_id(&dc, ev[e].cat)) : SQ_NONE;
        keys[e] = (tb_key){uid[e], ev[e].time_s * 1000, e};
    }
    qsort(keys, n, sizeof *keys, tb_cmp);
    uint64_t *uoff = calloc(du.n + 1, sizeof *uoff);
    uint32_t *item = malloc(n * 4), *cat = malloc(n * 4), *sess = malloc(n * 4);
    uint8_t *beh = malloc(n);
    int64_t *tm = malloc(n * 8);
    float *price = malloc(n * 4);
    uint32_t ns = 0;
    for (size_t j = 0; j < n; j++) {
        size_t e = keys[j].row;
        uoff[keys[j].user + 1]++;
        item[j] = iid[e], cat[j] = cid[e], beh[j] = (uint8_t)ev[e].behavior;
        tm[j] = keys[j].t, price[j] = ev[e].price;
        if (j == 0 || keys[j].user != keys[j - 1].user || keys[j].t - keys[j - 1].t > gap_s * 1000) ns++;
        sess[j] = ns - 1;
    }
    for (uint32_t u = 0; u < du.n; u++) uoff[u + 1] += uoff[u];
    uint64_t *o1, *o2, *o3;
    char *b1, *b2, *b3;
    sq_dataset_src src = {
        .n_users = du.n, .n_items = di.n, .n_categories = dc.n,
        .flags = (has_cat ? SQ_DATASET_HAS_CATEGORY : 0) | (with_price ? SQ_DATASET_HAS_PRICE : 0),
        .n_events = n, .n_sessions = ns, .session_gap_s = gap_s, .user_offsets = uoff,
        .item = item, .behavior = beh, .time_ms = tm, .category = has_cat ? cat : NULL,
        .price = with_price ? price : NULL, .session = sess,
        .users = tb_dict_src(&du, &o1, &b1), .items = tb_dict_src(&di, &o2, &b2),
        .categories = tb_dict_src(&dc, &o3, &b3)};
    sq_error err = {0};
    sq_status st = sq_dataset_write(path, &src, &err);
    if (st != SQ_OK) fprintf(stderr, "tb_write: %s\n", err.msg);
    free(o1), free(o2), free(o3), free(b1), free(b2), free(b3);
    free(keys), free(uid), free(iid), free(cid), free(uoff), free(item), free(cat), free(sess);
    free(beh), free(tm), free(price);
    tb_dict_free(&du), tb_dict_free(&di), tb_dict_free(&dc);
    return st == SQ_OK ? 0 : -1;
}

/* SQ_TMPDIR (created) + "/" + name, in a static buffer per call site's buf. */
static const char *tb_tmp(char *buf, size_t cap, const char *name) {
    const char *d = getenv("SQ_TMPDIR");
    if (!d || !*d) d = "/tmp";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", d);
    if (system(cmd) != 0) return NULL;
    snprintf(buf, cap, "%s/%s", d, name);
    return buf;
}

#endif
