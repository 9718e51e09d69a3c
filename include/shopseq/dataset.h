/* The .sqd dataset file: every later stage reads events from here.
 *
 * Reading maps the file (zero-copy): the column pointers below point into the mapping.
 * Events are grouped by user (CSR: user u owns events [user_offsets[u], user_offsets[u+1]))
 * and sorted by time within a user, ties in input order. Dense ids (users, items,
 * categories) index dictionaries that give back the original id strings.
 * The byte layout is specified in docs/sqd-format.md. */
#ifndef SHOPSEQ_DATASET_H
#define SHOPSEQ_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "shopseq/status.h"

#define SQ_NONE UINT32_MAX /* missing category (or other optional dense id) */

enum {
    SQ_DATASET_HAS_CATEGORY = 1u << 0, /* category column carries real values */
    SQ_DATASET_HAS_PRICE = 1u << 1,    /* price column carries real values (NaN = missing) */
    SQ_DATASET_HAS_SESSION_COLUMN = 1u << 2, /* sessions came from the input, not a gap */
    SQ_DATASET_SYNTHETIC_TIME = 1u << 3, /* input had no time: time_ms is the row order */
};

/* Original-id dictionary: id i is bytes[offsets[i] .. offsets[i+1]). */
typedef struct sq_dict {
    uint32_t n;
    const uint64_t *offsets; /* (n+1) */
    const char *bytes;
    const uint32_t *hash;    /* open addressing, hash_cap slots, UINT32_MAX = empty */
    uint64_t hash_cap;       /* power of two */
} sq_dict;

typedef struct sq_dataset {
    uint32_t n_users, n_items, n_categories, flags;
    uint64_t n_events, n_sessions;
    int64_t time_min_ms, time_max_ms;
    int64_t session_gap_s; /* gap used to cut sessions; 0 when taken from a column */

    const uint64_t *user_offsets;  /* (n_users+1) */
    const uint32_t *item;          /* (n_events) */
    const uint8_t *behavior;       /* (n_events) sq_behavior */
    const int64_t *time_ms;        /* (n_events) Unix milliseconds */
    const uint32_t *category;      /* (n_events) SQ_NONE when unknown */
    const float *price;            /* (n_events) NaN when unknown */
    const uint32_t *session;       /* (n_events) dense session id, ascending within a user */
    const uint32_t *item_category; /* (n_items) category of each item (last seen), or SQ_NONE */

    sq_dict users, items, categories;
    const char *provenance; /* JSON text written by the producer (inputs, mapping, counts) */
    size_t provenance_len;

    void *map_;      /* private */
    size_t map_size_;
} sq_dataset;

/* Opens and validates (magic, version, sizes, checksums). On error ds is left closed. */
sq_status sq_dataset_open(sq_dataset *ds, const char *path, sq_error *err);
void sq_dataset_close(sq_dataset *ds); /* accepts a zeroed or closed ds */

/* Original id of a dense id; *len receives its length (not NUL-terminated). */
const char *sq_dict_get(const sq_dict *d, uint32_t id, size_t *len);
/* Dense id of an original id, or SQ_NONE. */
uint32_t sq_dict_find(const sq_dict *d, const char *s, size_t len);

static inline uint64_t sq_dataset_user_begin(const sq_dataset *ds, uint32_t u) {
    return ds->user_offsets[u];
}
static inline uint64_t sq_dataset_user_end(const sq_dataset *ds, uint32_t u) {
    return ds->user_offsets[u + 1];
}

/* ---- writing ----
 * Everything a writer needs, as plain arrays in final order. Dictionaries are given as
 * (bytes, offsets, n); their lookup tables are built by the writer. The file appears at
 * `path` only when complete (temporary file, fsync, rename). */
typedef struct sq_dict_src {
    uint32_t n;
    const uint64_t *offsets; /* (n+1) */
    const char *bytes;
} sq_dict_src;

typedef struct sq_dataset_src {
    uint32_t n_users, n_items, n_categories, flags;
    uint64_t n_events, n_sessions;
    int64_t session_gap_s;
    const uint64_t *user_offsets;
    const uint32_t *item;
    const uint8_t *behavior;
    const int64_t *time_ms;
    const uint32_t *category; /* may be NULL: written as SQ_NONE */
    const float *price;       /* may be NULL: written as NaN */
    const uint32_t *session;
    const uint32_t *item_category; /* may be NULL: derived from the events */
    sq_dict_src users, items, categories;
    const char *provenance; /* may be NULL */
} sq_dataset_src;

sq_status sq_dataset_write(const char *path, const sq_dataset_src *src, sq_error *err);

/* Column-at-a-time writer, for producers that cannot hold every column at once
 * (ingest gathers one sorted column, writes it, reuses the buffer). Sections may come in
 * any order; sq_dataset_writer_finish checks that all required ones were given. */
typedef struct sq_dataset_writer sq_dataset_writer;

typedef enum {
    SQ_SECTION_USER_OFFSETS = 1,
    SQ_SECTION_ITEM = 2,
    SQ_SECTION_BEHAVIOR = 3,
    SQ_SECTION_TIME = 4,
    SQ_SECTION_CATEGORY = 5,
    SQ_SECTION_PRICE = 6,
    SQ_SECTION_SESSION = 7,
    SQ_SECTION_ITEM_CATEGORY = 8,
    SQ_SECTION_USER_DICT_OFFSETS = 9,
    SQ_SECTION_USER_DICT_BYTES = 10,
    SQ_SECTION_USER_DICT_HASH = 11,
    SQ_SECTION_ITEM_DICT_OFFSETS = 12,
    SQ_SECTION_ITEM_DICT_BYTES = 13,
    SQ_SECTION_ITEM_DICT_HASH = 14,
    SQ_SECTION_CATEGORY_DICT_OFFSETS = 15,
    SQ_SECTION_CATEGORY_DICT_BYTES = 16,
    SQ_SECTION_CATEGORY_DICT_HASH = 17,
    SQ_SECTION_PROVENANCE = 18,
} sq_section_id;

typedef struct sq_dataset_counts {
    uint32_t n_users, n_items, n_categories, flags;
    uint64_t n_events, n_sessions;
    int64_t time_min_ms, time_max_ms;
    int64_t session_gap_s;
} sq_dataset_counts;

sq_status sq_dataset_writer_open(sq_dataset_writer **w, const char *path, sq_error *err);
sq_status sq_dataset_writer_section(sq_dataset_writer *w, sq_section_id id, const void *data,
                                    uint64_t size, sq_error *err);
/* Writes one dictionary's three sections (offsets, bytes, lookup table). */
sq_status sq_dataset_writer_dict(sq_dataset_writer *w, sq_section_id offsets_id,
                                 const sq_dict_src *d, sq_error *err);
/* Writes the header, fsyncs and renames into place. Frees w in every case. */
sq_status sq_dataset_writer_finish(sq_dataset_writer *w, const sq_dataset_counts *c,
                                   sq_error *err);
void sq_dataset_writer_abort(sq_dataset_writer *w); /* removes the temporary file; NULL ok */

/* The hash used by dictionary lookup tables (XXH3-64 of the id bytes). */
uint64_t sq_dict_hash(const char *s, size_t len);

#endif
