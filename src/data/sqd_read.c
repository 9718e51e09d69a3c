#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "shopseq/behavior.h"
#include "shopseq/dataset.h"
#include "sqd_format.h"

static const sqd_section_entry *find_section(const sqd_header *h, uint32_t id) {
    for (uint32_t i = 0; i < h->n_sections; i++)
        if (h->sections[i].id == id) return &h->sections[i];
    return NULL;
}

/* Points *out at section id, checking that it has exactly `size` bytes (or any size when
 * size == UINT64_MAX) and 8-byte alignment. */
static sq_status get_section(const sq_dataset *ds, const sqd_header *h, const char *path,
                             uint32_t id, uint64_t size, const void **out, uint64_t *got,
                             int optional, sq_error *err) {
    const sqd_section_entry *e = find_section(h, id);
    *out = NULL;
    if (got) *got = 0;
    if (!e) {
        if (optional) return SQ_OK;
        return sq_error_set(err, SQ_ERR_FORMAT, "%s: section %u missing", path, id);
    }
    if (size != UINT64_MAX && e->size != size)
        return sq_error_set(err, SQ_ERR_FORMAT,
                            "%s: section %u has %llu bytes, header counts need %llu", path, id,
                            (unsigned long long)e->size, (unsigned long long)size);
    *out = (const char *)ds->map_ + e->offset;
    if (got) *got = e->size;
    return SQ_OK;
}

static sq_status load_dict(sq_dataset *ds, const sqd_header *h, const char *path,
                           uint32_t first_id, uint32_t n, sq_dict *d, sq_error *err) {
    const void *p;
    uint64_t sz;
    sq_status st = get_section(ds, h, path, first_id, ((uint64_t)n + 1) * 8, &p, NULL, 0, err);
    if (st != SQ_OK) return st;
    d->n = n;
    d->offsets = p;
    st = get_section(ds, h, path, first_id + 1, UINT64_MAX, &p, &sz, 0, err);
    if (st != SQ_OK) return st;
    d->bytes = p;
    if (d->offsets[0] != 0 || d->offsets[n] != sz)
        return sq_error_set(err, SQ_ERR_FORMAT, "%s: dictionary %u offsets do not match its bytes",
                            path, first_id);
    for (uint32_t i = 0; i < n; i++)
        if (d->offsets[i] > d->offsets[i + 1])
            return sq_error_set(err, SQ_ERR_FORMAT, "%s: dictionary %u offsets not ascending",
                                path, first_id);
    st = get_section(ds, h, path, first_id + 2, UINT64_MAX, &p, &sz, 0, err);
    if (st != SQ_OK) return st;
    uint64_t cap = sz / 4;
    if (cap == 0 || (cap & (cap - 1)) || cap < n)
        return sq_error_set(err, SQ_ERR_FORMAT, "%s: dictionary %u lookup table has bad size",
                            path, first_id);
    d->hash = p;
    d->hash_cap = cap;
    for (uint64_t i = 0; i < cap; i++)
        if (d->hash[i] != UINT32_MAX && d->hash[i] >= n)
            return sq_error_set(err, SQ_ERR_FORMAT, "%s: dictionary %u lookup table out of range",
                                path, first_id);
    return SQ_OK;
}

static sq_status validate(sq_dataset *ds, const sqd_header *h, const char *path, sq_error *err) {
    uint64_t n = h->n_events;
    const void *p;
    sq_status st;
#define SECTION(id, size, field)                                                  \
    do {                                                                          \
        st = get_section(ds, h, path, id, size, &p, NULL, 0, err);                \
        if (st != SQ_OK) return st;                                               \
        ds->field = p;                                                            \
    } while (0)
    SECTION(SQ_SECTION_USER_OFFSETS, ((uint64_t)h->n_users + 1) * 8, user_offsets);
    SECTION(SQ_SECTION_ITEM, n * 4, item);
    SECTION(SQ_SECTION_BEHAVIOR, n, behavior);
    SECTION(SQ_SECTION_TIME, n * 8, time_ms);
    SECTION(SQ_SECTION_CATEGORY, n * 4, category);
    SECTION(SQ_SECTION_PRICE, n * 4, price);
    SECTION(SQ_SECTION_SESSION, n * 4, session);
    SECTION(SQ_SECTION_ITEM_CATEGORY, (uint64_t)h->n_items * 4, item_category);
#undef SECTION
    st = load_dict(ds, h, path, SQ_SECTION_USER_DICT_OFFSETS, h->n_users, &ds->users, err);
    if (st == SQ_OK)
        st = load_dict(ds, h, path, SQ_SECTION_ITEM_DICT_OFFSETS, h->n_items, &ds->items, err);
    if (st == SQ_OK)
        st = load_dict(ds, h, path, SQ_SECTION_CATEGORY_DICT_OFFSETS, h->n_categories,
                       &ds->categories, err);
    if (st != SQ_OK) return st;
    uint64_t psz;
    st = get_section(ds, h, path, SQ_SECTION_PROVENANCE, UINT64_MAX, &p, &psz, 1, err);
    if (st != SQ_OK) return st;
    ds->provenance = p;
    ds->provenance_len = psz;

    /* Range checks, so that no later stage can index out of bounds on a crafted file. */
    if (ds->user_offsets[0] != 0 || ds->user_offsets[h->n_users] != n)
        return sq_error_set(err, SQ_ERR_FORMAT, "%s: user index does not cover the events", path);
    for (uint32_t u = 0; u < h->n_users; u++)
        if (ds->user_offsets[u] > ds->user_offsets[u + 1])
            return sq_error_set(err, SQ_ERR_FORMAT, "%s: user index not ascending at user %u",
                                path, u);
    for (uint64_t i = 0; i < n; i++) {
        if (ds->item[i] >= h->n_items || ds->behavior[i] >= SQ_BEHAVIOR_COUNT ||
            ds->session[i] >= h->n_sessions ||
            (ds->category[i] != SQ_NONE && ds->category[i] >= h->n_categories))
            return sq_error_set(err, SQ_ERR_FORMAT, "%s: event %llu has an id out of range", path,
                                (unsigned long long)i);
    }
    for (uint32_t i = 0; i < h->n_items; i++)
        if (ds->item_category[i] != SQ_NONE && ds->item_category[i] >= h->n_categories)
            return sq_error_set(err, SQ_ERR_FORMAT, "%s: item %u has a category out of range",
                                path, i);
    return SQ_OK;
}

sq_status sq_dataset_open(sq_dataset *ds, const char *path, sq_error *err) {
    memset(ds, 0, sizeof *ds);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return sq_error_set(err, SQ_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat stt;
    if (fstat(fd, &stt) != 0) {
        int e = errno;
        close(fd);
        return sq_error_set(err, SQ_ERR_IO, "cannot stat %s: %s", path, strerror(e));
    }
    if ((uint64_t)stt.st_size < SQD_HEADER_SIZE) {
        close(fd);
        return sq_error_set(err, SQ_ERR_FORMAT, "%s: not a .sqd file (too short)", path);
    }
    void *map = mmap(NULL, (size_t)stt.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return sq_error_set(err, SQ_ERR_IO, "cannot map %s: %s", path, strerror(errno));
    ds->map_ = map;
    ds->map_size_ = (size_t)stt.st_size;

    const sqd_header *h = map;
    sq_status st = SQ_OK;
    if (memcmp(h->magic, SQD_MAGIC, 8) != 0) {
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: not a .sqd file (bad magic)", path);
        goto fail;
    }
    if (h->version != SQD_VERSION) {
        st = sq_error_set(err, SQ_ERR_VERSION, "%s: .sqd version %u, this build reads %u", path,
                          h->version, SQD_VERSION);
        goto fail;
    }
    if (XXH3_64bits(h, SQD_HEADER_SIZE - 8) != h->header_checksum) {
        st = sq_error_set(err, SQ_ERR_CHECKSUM, "%s: header checksum mismatch", path);
        goto fail;
    }
    if (h->file_size != (uint64_t)stt.st_size) {
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: file has %llu bytes, header says %llu (truncated?)",
                          path, (unsigned long long)stt.st_size, (unsigned long long)h->file_size);
        goto fail;
    }
    if (h->n_sections > SQD_MAX_SECTIONS) {
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: bad section count", path);
        goto fail;
    }
    for (uint32_t i = 0; i < h->n_sections; i++) {
        const sqd_section_entry *e = &h->sections[i];
        if (e->offset < SQD_HEADER_SIZE || e->offset % 8 || e->offset > h->file_size ||
            e->size > h->file_size - e->offset) {
            st = sq_error_set(err, SQ_ERR_FORMAT, "%s: section %u out of bounds", path, e->id);
            goto fail;
        }
        if (XXH3_64bits((const char *)map + e->offset, e->size) != e->checksum) {
            st = sq_error_set(err, SQ_ERR_CHECKSUM, "%s: section %u checksum mismatch (corrupt file)",
                              path, e->id);
            goto fail;
        }
    }
    ds->n_users = h->n_users;
    ds->n_items = h->n_items;
    ds->n_categories = h->n_categories;
    ds->flags = h->flags;
    ds->n_events = h->n_events;
    ds->n_sessions = h->n_sessions;
    ds->time_min_ms = h->time_min_ms;
    ds->time_max_ms = h->time_max_ms;
    ds->session_gap_s = h->session_gap_s;
    st = validate(ds, h, path, err);
    if (st != SQ_OK) goto fail;
    return SQ_OK;
fail:
    munmap(map, (size_t)stt.st_size);
    memset(ds, 0, sizeof *ds);
    return st;
}

void sq_dataset_close(sq_dataset *ds) {
    if (!ds) return;
    if (ds->map_) munmap(ds->map_, ds->map_size_);
    memset(ds, 0, sizeof *ds);
}

const char *sq_dict_get(const sq_dict *d, uint32_t id, size_t *len) {
    if (id >= d->n) {
        if (len) *len = 0;
        return "";
    }
    if (len) *len = d->offsets[id + 1] - d->offsets[id];
    return d->bytes + d->offsets[id];
}

uint32_t sq_dict_find(const sq_dict *d, const char *s, size_t len) {
    if (!d->hash_cap) return SQ_NONE;
    uint64_t slot = sq_dict_hash(s, len) & (d->hash_cap - 1);
    for (uint64_t probes = 0; probes < d->hash_cap; probes++) {
        uint32_t id = d->hash[slot];
        if (id == UINT32_MAX) return SQ_NONE;
        if (d->offsets[id + 1] - d->offsets[id] == len &&
            memcmp(d->bytes + d->offsets[id], s, len) == 0)
            return id;
        slot = (slot + 1) & (d->hash_cap - 1);
    }
    return SQ_NONE;
}
