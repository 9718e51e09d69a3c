#include "intern.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

int sq_intern_init(sq_intern *t) {
    memset(t, 0, sizeof *t);
    t->bytes_cap = 1 << 16;
    t->offsets_cap = 1024;
    t->table_cap = 2048;
    t->bytes = malloc(t->bytes_cap);
    t->offsets = malloc(t->offsets_cap * sizeof *t->offsets);
    t->table = calloc(t->table_cap, sizeof *t->table);
    if (!t->bytes || !t->offsets || !t->table) {
        sq_intern_free(t);
        return -1;
    }
    t->offsets[0] = 0;
    t->last_id = UINT32_MAX;
    return 0;
}

void sq_intern_free(sq_intern *t) {
    if (!t) return;
    free(t->bytes);
    free(t->offsets);
    free(t->table);
    memset(t, 0, sizeof *t);
}

static int grow_table(sq_intern *t) {
    uint64_t cap = t->table_cap * 2;
    uint64_t *nt = calloc(cap, sizeof *nt);
    if (!nt) return -1;
    for (uint64_t i = 0; i < t->table_cap; i++) {
        uint64_t e = t->table[i];
        if (!e) continue;
        uint32_t id = (uint32_t)(e & 0xffffffffu) - 1;
        uint64_t h = XXH3_64bits(t->bytes + t->offsets[id], t->offsets[id + 1] - t->offsets[id]);
        uint64_t slot = h & (cap - 1);
        while (nt[slot]) slot = (slot + 1) & (cap - 1);
        nt[slot] = e;
    }
    free(t->table);
    t->table = nt;
    t->table_cap = cap;
    return 0;
}

static uint32_t intern_lookup_or_add(sq_intern *t, const char *s, size_t len);

/* Ids are short (digits, a UUID): comparing 8 bytes at a time inline beats a memcmp call. */
static inline int same_bytes(const char *a, const char *b, size_t n) {
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return 0;
        a += 8, b += 8, n -= 8;
    }
    while (n--)
        if (*a++ != *b++) return 0;
    return 1;
}

/* Rows of one user usually come together (per-user exports, sessions), so the previous
 * answer is checked first: a length compare and a short memcmp instead of a hash. */
uint32_t sq_intern_get(sq_intern *t, const char *s, size_t len) {
    uint32_t last = t->last_id;
    if (last != UINT32_MAX && t->offsets[last + 1] - t->offsets[last] == len &&
        same_bytes(t->bytes + t->offsets[last], s, len))
        return last;
    uint32_t id = intern_lookup_or_add(t, s, len);
    t->last_id = id;
    return id;
}

static uint32_t intern_lookup_or_add(sq_intern *t, const char *s, size_t len) {
    uint64_t h = XXH3_64bits(s, len);
    uint64_t tag = h >> 32;
    uint64_t mask = t->table_cap - 1;
    uint64_t slot = h & mask;
    for (;;) {
        uint64_t e = t->table[slot];
        if (!e) break;
        if ((e >> 32) == tag) {
            uint32_t id = (uint32_t)(e & 0xffffffffu) - 1;
            if (t->offsets[id + 1] - t->offsets[id] == len &&
                same_bytes(t->bytes + t->offsets[id], s, len))
                return id;
        }
        slot = (slot + 1) & mask;
    }
    if (t->n >= UINT32_MAX - 2) return UINT32_MAX;
    /* add */
    if (t->bytes_len + len > t->bytes_cap) {
        uint64_t cap = t->bytes_cap * 2;
        while (cap < t->bytes_len + len) cap *= 2;
        char *nb = realloc(t->bytes, cap);
        if (!nb) return UINT32_MAX;
        t->bytes = nb;
        t->bytes_cap = cap;
    }
    if (t->n + 2 > t->offsets_cap) {
        uint32_t cap = t->offsets_cap > UINT32_MAX / 2 ? UINT32_MAX : t->offsets_cap * 2;
        uint64_t *no = realloc(t->offsets, (size_t)cap * sizeof *no);
        if (!no) return UINT32_MAX;
        t->offsets = no;
        t->offsets_cap = cap;
    }
    memcpy(t->bytes + t->bytes_len, s, len);
    t->bytes_len += len;
    uint32_t id = t->n++;
    t->offsets[t->n] = t->bytes_len;
    t->table[slot] = (tag << 32) | ((uint64_t)id + 1);
    if ((uint64_t)t->n * 2 > t->table_cap && grow_table(t) != 0) return UINT32_MAX;
    return id;
}

sq_dict_src sq_intern_dict(const sq_intern *t) {
    sq_dict_src d = {.n = t->n, .offsets = t->offsets, .bytes = t->bytes};
    return d;
}
