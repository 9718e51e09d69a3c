/* String interning: original id string -> dense id in order of first appearance.
 * Strings live in one growing byte arena with a u64 offset table (the layout of a .sqd
 * dictionary, so it is written without copying); the hash table holds (tag, id) pairs. */
#ifndef SQ_DATA_INTERN_H
#define SQ_DATA_INTERN_H

#include <stddef.h>
#include <stdint.h>

#include "shopseq/dataset.h"

typedef struct sq_intern {
    char *bytes;
    uint64_t bytes_len, bytes_cap;
    uint64_t *offsets; /* (n+1) */
    uint32_t n, offsets_cap;
    uint64_t *table; /* (hash tag << 32) | (id + 1); 0 = empty */
    uint64_t table_cap;
    uint32_t last_id; /* id returned last (UINT32_MAX: none): logs often repeat a user */
} sq_intern;

int sq_intern_init(sq_intern *t); /* 0 ok, -1 out of memory */
void sq_intern_free(sq_intern *t);
/* Dense id of s, adding it if new. UINT32_MAX when out of memory or 2^32-1 ids. */
uint32_t sq_intern_get(sq_intern *t, const char *s, size_t len);
/* Dictionary view for the .sqd writer (valid until the next sq_intern_get). */
sq_dict_src sq_intern_dict(const sq_intern *t);

#endif
