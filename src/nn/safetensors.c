/* safetensors reader and writer (format in include/shopseq/safetensors.h). */
#include "shopseq/safetensors.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/fileio.h"

#define ST_MAX_HEADER (100u << 20)

static size_t dtype_size(const char *d) {
    static const struct { const char *n; size_t s; } t[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
        {"I16", 2}, {"I8", 1},  {"U64", 8}, {"U32", 4},  {"U16", 2}, {"U8", 1}, {"BOOL", 1}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(d, t[i].n)) return t[i].s;
    return 0;
}

void sq_st_free(sq_st_file *f) {
    if (!f) return;
    if (f->meta)
        for (char **p = f->meta; *p; p++) free(*p);
    free(f->meta);
    free(f->t);
    free(f->buf_);
    memset(f, 0, sizeof *f);
}

const sq_st_tensor *sq_st_find(const sq_st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

const char *sq_st_meta(const sq_st_file *f, const char *key) {
    if (!f->meta) return NULL;
    for (char **p = f->meta; p[0] && p[1]; p += 2)
        if (!strcmp(p[0], key)) return p[1];
    return NULL;
}

static int cmp_begin(const void *a, const void *b) {
    const sq_st_tensor *x = a, *y = b;
    const char *px = x->data, *py = y->data;
    return px < py ? -1 : px > py;
}

sq_status sq_st_read(sq_st_file *f, const char *path, sq_error *err) {
    memset(f, 0, sizeof *f);
    sq_status st = SQ_OK;
    json_t *root = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return sq_error_set(err, SQ_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (fseek(fp, 0, SEEK_END) != 0) goto ioerr;
    long sz = ftell(fp);
    if (sz < 0 || fseek(fp, 0, SEEK_SET) != 0) goto ioerr;
    f->size_ = (size_t)sz;
    if (f->size_ < 8) {
        fclose(fp);
        return sq_error_set(err, SQ_ERR_FORMAT, "%s: not a safetensors file (only %zu bytes)",
                            path, f->size_);
    }
    f->buf_ = malloc(f->size_ + 1);
    if (!f->buf_) {
        fclose(fp);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory reading %s", path);
    }
    if (fread(f->buf_, 1, f->size_, fp) != f->size_) goto ioerr;
    fclose(fp);
    fp = NULL;
    const unsigned char *b = f->buf_;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = (hl << 8) | b[i];
    if (hl > ST_MAX_HEADER || hl > f->size_ - 8) {
        st = sq_error_set(err, SQ_ERR_FORMAT,
                          "%s: truncated or not a safetensors file (header length %" PRIu64
                          ", file %zu bytes)", path, hl, f->size_);
        goto fail;
    }
    const char *data = (const char *)b + 8 + hl;
    const size_t data_len = f->size_ - 8 - hl;
    json_error_t je;
    root = json_loadb((const char *)b + 8, hl, 0, &je);
    if (!root || !json_is_object(root)) {
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: bad safetensors header: %s", path,
                          root ? "not an object" : je.text);
        goto fail;
    }
    size_t nt = json_object_size(root);
    f->t = calloc(nt ? nt : 1, sizeof *f->t);
    if (!f->t) goto nomem;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(val)) {
                st = sq_error_set(err, SQ_ERR_FORMAT, "%s: __metadata__ is not an object", path);
                goto fail;
            }
            size_t nm = json_object_size(val), k = 0;
            f->meta = calloc(2 * nm + 1, sizeof *f->meta);
            if (!f->meta) goto nomem;
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    st = sq_error_set(err, SQ_ERR_FORMAT, "%s: metadata '%s' is not a string",
                                      path, mk);
                    goto fail;
                }
                f->meta[k++] = strdup(mk);
                f->meta[k++] = strdup(json_string_value(mv));
                if (!f->meta[k - 1] || !f->meta[k - 2]) goto nomem;
            }
            continue;
        }
        sq_st_tensor *t = &f->t[f->n];
        json_t *dt = json_object_get(val, "dtype"), *sh = json_object_get(val, "shape"),
               *of = json_object_get(val, "data_offsets");
        if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(of) ||
            json_array_size(of) != 2 || json_array_size(sh) > 8 ||
            strlen(key) >= sizeof t->name || strlen(json_string_value(dt)) >= sizeof t->dtype) {
            st = sq_error_set(err, SQ_ERR_FORMAT, "%s: tensor '%s': bad header entry", path, key);
            goto fail;
        }
        snprintf(t->name, sizeof t->name, "%s", key);
        snprintf(t->dtype, sizeof t->dtype, "%s", json_string_value(dt));
        size_t es = dtype_size(t->dtype);
        if (!es) {
            st = sq_error_set(err, SQ_ERR_FORMAT, "%s: tensor '%s': unknown dtype %s", path, key,
                              t->dtype);
            goto fail;
        }
        t->ndim = (int)json_array_size(sh);
        uint64_t numel = 1;
        for (int i = 0; i < t->ndim; i++) {
            json_t *d = json_array_get(sh, (size_t)i);
            if (!json_is_integer(d) || json_integer_value(d) < 0 ||
                json_integer_value(d) > (1ll << 40)) {
                st = sq_error_set(err, SQ_ERR_FORMAT, "%s: tensor '%s': bad shape", path, key);
                goto fail;
            }
            t->shape[i] = json_integer_value(d);
            numel *= (uint64_t)t->shape[i];
            if (numel > (1ull << 40)) {
                st = sq_error_set(err, SQ_ERR_FORMAT, "%s: tensor '%s': too large", path, key);
                goto fail;
            }
        }
        json_t *o0 = json_array_get(of, 0), *o1 = json_array_get(of, 1);
        if (!json_is_integer(o0) || !json_is_integer(o1)) {
            st = sq_error_set(err, SQ_ERR_FORMAT, "%s: tensor '%s': bad offsets", path, key);
            goto fail;
        }
        json_int_t beg = json_integer_value(o0), end = json_integer_value(o1);
        if (beg < 0 || end < beg || (uint64_t)end > data_len) {
            st = sq_error_set(err, SQ_ERR_FORMAT,
                              "%s: truncated: tensor '%s' needs bytes up to %lld, data section "
                              "has %zu", path, key, (long long)end, data_len);
            goto fail;
        }
        if ((uint64_t)(end - beg) != numel * es) {
            st = sq_error_set(err, SQ_ERR_FORMAT,
                              "%s: tensor '%s': %lld bytes for %" PRIu64 " elements of %s", path,
                              key, (long long)(end - beg), numel, t->dtype);
            goto fail;
        }
        t->data = data + beg;
        t->nbytes = (size_t)(end - beg);
        f->n++;
    }
    /* tensors must tile the data section exactly */
    sq_st_tensor *sorted = malloc((size_t)(f->n ? f->n : 1) * sizeof *sorted);
    if (!sorted) goto nomem;
    memcpy(sorted, f->t, (size_t)f->n * sizeof *sorted);
    qsort(sorted, (size_t)f->n, sizeof *sorted, cmp_begin);
    size_t at = 0;
    for (int i = 0; i < f->n; i++) {
        size_t beg = (size_t)((const char *)sorted[i].data - data);
        if (beg != at) {
            st = sq_error_set(err, SQ_ERR_FORMAT, "%s: tensor '%s' overlaps or leaves a hole",
                              path, sorted[i].name);
            free(sorted); /* after the message: it reads sorted[i] */
            goto fail;
        }
        at += sorted[i].nbytes;
    }
    free(sorted);
    if (at != data_len) {
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: %zu trailing bytes after the tensors", path,
                          data_len - at);
        goto fail;
    }
    const char *want = sq_st_meta(f, "sq_data_xxh64");
    if (want) {
        char got[17];
        snprintf(got, sizeof got, "%016llx", (unsigned long long)XXH3_64bits(data, data_len));
        if (strcmp(got, want) != 0) {
            st = sq_error_set(err, SQ_ERR_CHECKSUM,
                              "%s: tensor data checksum mismatch (file damaged or modified)",
                              path);
            goto fail;
        }
    }
    json_decref(root);
    return SQ_OK;
nomem:
    st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory reading %s", path);
    goto fail;
ioerr:
    st = sq_error_set(err, SQ_ERR_IO, "cannot read %s: %s", path, strerror(errno));
fail:
    if (fp) fclose(fp);
    json_decref(root);
    sq_st_free(f);
    return st;
}

sq_status sq_st_write(const char *path, const sq_st_entry *e, int n, const char *const *meta,
                      sq_error *err) {
    json_t *root = json_object(), *md = json_object();
    XXH3_state_t *hs = NULL;
    if (!root || !md) goto nomem;
    size_t off = 0;
    hs = XXH3_createState();
    if (!hs) goto nomem;
    XXH3_64bits_reset(hs);
    for (int i = 0; i < n; i++) {
        json_t *t = json_object(), *sh = json_array();
        if (!t || !sh) {
            json_decref(t);
            json_decref(sh);
            goto nomem;
        }
        json_object_set_new(t, "dtype", json_string(e[i].dtype));
        for (int d = 0; d < e[i].ndim; d++) json_array_append_new(sh, json_integer(e[i].shape[d]));
        json_object_set_new(t, "shape", sh);
        json_t *of = json_array();
        json_array_append_new(of, json_integer((json_int_t)off));
        json_array_append_new(of, json_integer((json_int_t)(off + e[i].nbytes)));
        json_object_set_new(t, "data_offsets", of);
        json_object_set_new(root, e[i].name, t);
        off += e[i].nbytes;
        XXH3_64bits_update(hs, e[i].data, e[i].nbytes);
    }
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)XXH3_64bits_digest(hs));
    XXH3_freeState(hs);
    hs = NULL;
    if (meta)
        for (const char *const *p = meta; p[0] && p[1]; p += 2)
            json_object_set_new(md, p[0], json_string(p[1]));
    json_object_set_new(md, "sq_data_xxh64", json_string(hex));
    json_object_set_new(root, "__metadata__", md);
    md = NULL;
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    root = NULL;
    if (!hdr) goto nomem;
    size_t hl = strlen(hdr), padded = (hl + 7) & ~(size_t)7; /* 8-byte aligned data */
    sq_atomic_file af;
    sq_status st = sq_atomic_open(&af, path, err);
    if (st != SQ_OK) {
        free(hdr);
        return st;
    }
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    int ok = fwrite(le, 1, 8, af.fp) == 8 && fwrite(hdr, 1, hl, af.fp) == hl;
    for (size_t i = hl; ok && i < padded; i++) ok = fputc(' ', af.fp) != EOF;
    for (int i = 0; ok && i < n; i++)
        ok = e[i].nbytes == 0 || fwrite(e[i].data, 1, e[i].nbytes, af.fp) == e[i].nbytes;
    free(hdr);
    if (!ok) {
        sq_atomic_abort(&af);
        return sq_error_set(err, SQ_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return sq_atomic_commit(&af, err);
nomem:
    XXH3_freeState(hs); /* NULL ok */
    json_decref(root);
    json_decref(md);
    return sq_error_set(err, SQ_ERR_NOMEM, "out of memory writing %s", path);
}
