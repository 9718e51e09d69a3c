#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "../core/fileio.h"
#include "shopseq/dataset.h"
#include "sqd_format.h"
#include "sqd_write.h"

struct sq_dataset_writer {
    sq_atomic_file file;
    uint64_t pos;
    sqd_header header;
    XXH3_state_t *piece_hash; /* of the section being written in pieces */
    sqd_section_entry *piece; /* that section, NULL when none is open */
};

uint64_t sq_dict_hash(const char *s, size_t len) { return XXH3_64bits(s, len); }

sq_status sq_dataset_writer_open(sq_dataset_writer **out, const char *path, sq_error *err) {
    *out = NULL;
    sq_dataset_writer *w = calloc(1, sizeof *w);
    if (!w) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    sq_status st = sq_atomic_open(&w->file, path, err);
    if (st != SQ_OK) {
        free(w);
        return st;
    }
    static const uint8_t zeros[SQD_HEADER_SIZE];
    if (fwrite(zeros, 1, SQD_HEADER_SIZE, w->file.fp) != SQD_HEADER_SIZE) {
        sq_dataset_writer_abort(w);
        return sq_error_set(err, SQ_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    w->pos = SQD_HEADER_SIZE;
    *out = w;
    return SQ_OK;
}

void sq_dataset_writer_abort(sq_dataset_writer *w) {
    if (!w) return;
    sq_atomic_abort(&w->file);
    XXH3_freeState(w->piece_hash);
    free(w);
}

static sq_status pad_section(sq_dataset_writer *w, sq_error *err) {
    static const uint8_t pad[SQD_ALIGN];
    uint64_t rem = w->pos % SQD_ALIGN;
    if (rem) {
        if (fwrite(pad, 1, SQD_ALIGN - rem, w->file.fp) != SQD_ALIGN - rem)
            return sq_error_set(err, SQ_ERR_IO, "cannot write %s: %s", w->file.final_path,
                                strerror(errno));
        w->pos += SQD_ALIGN - rem;
    }
    return SQ_OK;
}

sq_status sq__dataset_writer_piece(sq_dataset_writer *w, sq_section_id id, const void *data,
                                   uint64_t size, int last, sq_error *err) {
    sqd_header *h = &w->header;
    if (!w->piece) {
        if (h->n_sections >= SQD_MAX_SECTIONS)
            return sq_error_set(err, SQ_ERR_INTERNAL, "too many sections in .sqd");
        for (uint32_t i = 0; i < h->n_sections; i++)
            if (h->sections[i].id == (uint32_t)id)
                return sq_error_set(err, SQ_ERR_INTERNAL, "section %u written twice",
                                    (unsigned)id);
        if (!w->piece_hash && !(w->piece_hash = XXH3_createState()))
            return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
        XXH3_64bits_reset(w->piece_hash);
        w->piece = &h->sections[h->n_sections++];
        w->piece->id = (uint32_t)id;
        w->piece->offset = w->pos;
        w->piece->size = 0;
    } else if (w->piece->id != (uint32_t)id) {
        return sq_error_set(err, SQ_ERR_INTERNAL, "section %u written while %u is open",
                            (unsigned)id, (unsigned)w->piece->id);
    }
    if (size && fwrite(data, 1, size, w->file.fp) != size)
        return sq_error_set(err, SQ_ERR_IO, "cannot write %s: %s", w->file.final_path,
                            strerror(errno));
    XXH3_64bits_update(w->piece_hash, data, size);
    w->piece->size += size;
    w->pos += size;
    if (!last) return SQ_OK;
    w->piece->checksum = XXH3_64bits_digest(w->piece_hash);
    w->piece = NULL;
    return pad_section(w, err);
}

sq_status sq_dataset_writer_section(sq_dataset_writer *w, sq_section_id id, const void *data,
                                    uint64_t size, sq_error *err) {
    sqd_header *h = &w->header;
    if (h->n_sections >= SQD_MAX_SECTIONS)
        return sq_error_set(err, SQ_ERR_INTERNAL, "too many sections in .sqd");
    for (uint32_t i = 0; i < h->n_sections; i++)
        if (h->sections[i].id == (uint32_t)id)
            return sq_error_set(err, SQ_ERR_INTERNAL, "section %u written twice", (unsigned)id);
    sqd_section_entry *e = &h->sections[h->n_sections++];
    e->id = (uint32_t)id;
    e->offset = w->pos;
    e->size = size;
    e->checksum = XXH3_64bits(data, size);
    if (size && fwrite(data, 1, size, w->file.fp) != size)
        return sq_error_set(err, SQ_ERR_IO, "cannot write %s: %s", w->file.final_path,
                            strerror(errno));
    w->pos += size;
    return pad_section(w, err);
}

sq_status sq_dataset_writer_dict(sq_dataset_writer *w, sq_section_id offsets_id,
                                 const sq_dict_src *d, sq_error *err) {
    /* the lookup table lets readers map an original id back to its dense id without
     * building anything at open time (serving, recommend --user) */
    uint64_t cap = 16;
    while (cap < (uint64_t)d->n * 2) cap <<= 1;
    uint32_t *table = malloc(cap * sizeof *table);
    if (!table) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory (dictionary table)");
    memset(table, 0xff, cap * sizeof *table);
    for (uint32_t i = 0; i < d->n; i++) {
        uint64_t slot = sq_dict_hash(d->bytes + d->offsets[i], d->offsets[i + 1] - d->offsets[i]) &
                        (cap - 1);
        while (table[slot] != UINT32_MAX) slot = (slot + 1) & (cap - 1);
        table[slot] = i;
    }
    sq_status st = sq_dataset_writer_section(w, offsets_id, d->offsets,
                                             ((uint64_t)d->n + 1) * sizeof(uint64_t), err);
    if (st == SQ_OK)
        st = sq_dataset_writer_section(w, (sq_section_id)(offsets_id + 1), d->bytes,
                                       d->offsets[d->n], err);
    if (st == SQ_OK)
        st = sq_dataset_writer_section(w, (sq_section_id)(offsets_id + 2), table,
                                       cap * sizeof *table, err);
    free(table);
    return st;
}

sq_status sq_dataset_writer_finish(sq_dataset_writer *w, const sq_dataset_counts *c,
                                   sq_error *err) {
    sqd_header *h = &w->header;
    static const sq_section_id required[] = {
        SQ_SECTION_USER_OFFSETS, SQ_SECTION_ITEM, SQ_SECTION_BEHAVIOR, SQ_SECTION_TIME,
        SQ_SECTION_CATEGORY, SQ_SECTION_PRICE, SQ_SECTION_SESSION, SQ_SECTION_ITEM_CATEGORY,
        SQ_SECTION_USER_DICT_OFFSETS, SQ_SECTION_ITEM_DICT_OFFSETS,
        SQ_SECTION_CATEGORY_DICT_OFFSETS};
    for (size_t r = 0; r < sizeof required / sizeof *required; r++) {
        int found = 0;
        for (uint32_t i = 0; i < h->n_sections; i++) found |= h->sections[i].id == required[r];
        if (!found) {
            sq_dataset_writer_abort(w);
            return sq_error_set(err, SQ_ERR_INTERNAL, "section %u missing", (unsigned)required[r]);
        }
    }
    memcpy(h->magic, SQD_MAGIC, 8);
    h->version = SQD_VERSION;
    h->header_size = SQD_HEADER_SIZE;
    h->file_size = w->pos;
    h->n_users = c->n_users;
    h->n_items = c->n_items;
    h->n_categories = c->n_categories;
    h->flags = c->flags;
    h->n_events = c->n_events;
    h->n_sessions = c->n_sessions;
    h->time_min_ms = c->time_min_ms;
    h->time_max_ms = c->time_max_ms;
    h->session_gap_s = c->session_gap_s;
    h->header_checksum = XXH3_64bits(h, SQD_HEADER_SIZE - 8);
    if (fseeko(w->file.fp, 0, SEEK_SET) != 0 ||
        fwrite(h, 1, SQD_HEADER_SIZE, w->file.fp) != SQD_HEADER_SIZE) {
        sq_status st = sq_error_set(err, SQ_ERR_IO, "cannot write %s: %s", w->file.final_path,
                                    strerror(errno));
        sq_dataset_writer_abort(w);
        return st;
    }
    sq_status st = sq_atomic_commit(&w->file, err);
    XXH3_freeState(w->piece_hash);
    free(w);
    return st;
}

sq_status sq_dataset_write(const char *path, const sq_dataset_src *s, sq_error *err) {
    sq_dataset_writer *w;
    sq_status st = sq_dataset_writer_open(&w, path, err);
    if (st != SQ_OK) return st;
    uint64_t n = s->n_events;
    uint32_t *tmp_cat = NULL, *tmp_icat = NULL;
    float *tmp_price = NULL;
    const uint32_t *cat = s->category, *icat = s->item_category;
    const float *price = s->price;
    if (!cat) {
        tmp_cat = malloc((n ? n : 1) * sizeof *tmp_cat);
        if (!tmp_cat) goto nomem;
        memset(tmp_cat, 0xff, n * sizeof *tmp_cat);
        cat = tmp_cat;
    }
    if (!price) {
        tmp_price = malloc((n ? n : 1) * sizeof *tmp_price);
        if (!tmp_price) goto nomem;
        for (uint64_t i = 0; i < n; i++) tmp_price[i] = NAN;
        price = tmp_price;
    }
    if (!icat) {
        tmp_icat = malloc(((size_t)s->n_items + 1) * sizeof *tmp_icat);
        if (!tmp_icat) goto nomem;
        memset(tmp_icat, 0xff, (size_t)s->n_items * sizeof *tmp_icat);
        for (uint64_t i = 0; i < n; i++)
            if (cat[i] != SQ_NONE) tmp_icat[s->item[i]] = cat[i];
        icat = tmp_icat;
    }
    sq_dataset_counts c = {.n_users = s->n_users, .n_items = s->n_items,
                           .n_categories = s->n_categories, .flags = s->flags,
                           .n_events = n, .n_sessions = s->n_sessions,
                           .session_gap_s = s->session_gap_s,
                           .time_min_ms = INT64_MAX, .time_max_ms = INT64_MIN};
    for (uint64_t i = 0; i < n; i++) {
        if (s->time_ms[i] < c.time_min_ms) c.time_min_ms = s->time_ms[i];
        if (s->time_ms[i] > c.time_max_ms) c.time_max_ms = s->time_ms[i];
    }
    if (n == 0) c.time_min_ms = c.time_max_ms = 0;
    struct { sq_section_id id; const void *p; uint64_t sz; } cols[] = {
        {SQ_SECTION_USER_OFFSETS, s->user_offsets, ((uint64_t)s->n_users + 1) * 8},
        {SQ_SECTION_ITEM, s->item, n * 4},
        {SQ_SECTION_BEHAVIOR, s->behavior, n},
        {SQ_SECTION_TIME, s->time_ms, n * 8},
        {SQ_SECTION_CATEGORY, cat, n * 4},
        {SQ_SECTION_PRICE, price, n * 4},
        {SQ_SECTION_SESSION, s->session, n * 4},
        {SQ_SECTION_ITEM_CATEGORY, icat, (uint64_t)s->n_items * 4},
    };
    st = SQ_OK;
    for (size_t i = 0; i < sizeof cols / sizeof *cols && st == SQ_OK; i++)
        st = sq_dataset_writer_section(w, cols[i].id, cols[i].p, cols[i].sz, err);
    if (st == SQ_OK) st = sq_dataset_writer_dict(w, SQ_SECTION_USER_DICT_OFFSETS, &s->users, err);
    if (st == SQ_OK) st = sq_dataset_writer_dict(w, SQ_SECTION_ITEM_DICT_OFFSETS, &s->items, err);
    if (st == SQ_OK)
        st = sq_dataset_writer_dict(w, SQ_SECTION_CATEGORY_DICT_OFFSETS, &s->categories, err);
    if (st == SQ_OK && s->provenance)
        st = sq_dataset_writer_section(w, SQ_SECTION_PROVENANCE, s->provenance,
                                       strlen(s->provenance), err);
    free(tmp_cat);
    free(tmp_price);
    free(tmp_icat);
    if (st != SQ_OK) {
        sq_dataset_writer_abort(w);
        return st;
    }
    return sq_dataset_writer_finish(w, &c, err);
nomem:
    free(tmp_cat);
    free(tmp_price);
    free(tmp_icat);
    sq_dataset_writer_abort(w);
    return sq_error_set(err, SQ_ERR_NOMEM, "out of memory writing %s", path);
}
