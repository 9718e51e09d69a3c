/* safetensors files (https://github.com/huggingface/safetensors), read and written here:
 *   u64 LE  n = header length
 *   n bytes JSON: {"__metadata__": {"k": "v", ...},
 *                  "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
 *   data section; offsets relative to its start, tensors contiguous, no holes.
 * shopseq adds "sq_data_xxh64" (hex XXH3-64 of the data section) to the metadata so that a
 * tampered file is refused; files without it (written elsewhere) are accepted. */
#ifndef SHOPSEQ_SAFETENSORS_H
#define SHOPSEQ_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "shopseq/status.h"

typedef struct sq_st_tensor {
    char name[128];
    char dtype[8]; /* F32, F64, I32, I64, U8, ... */
    int ndim;
    int64_t shape[8];
    const void *data;
    size_t nbytes;
} sq_st_tensor;

typedef struct sq_st_file {
    sq_st_tensor *t;
    int n;
    char **meta; /* key, value, key, value, ..., NULL */
    void *buf_;
    size_t size_;
} sq_st_file;

/* Reads and validates a whole file. */
sq_status sq_st_read(sq_st_file *f, const char *path, sq_error *err);
void sq_st_free(sq_st_file *f); /* zeroed ok */
const sq_st_tensor *sq_st_find(const sq_st_file *f, const char *name);
const char *sq_st_meta(const sq_st_file *f, const char *key); /* NULL if absent */

typedef struct sq_st_entry {
    const char *name;
    const char *dtype;
    int ndim;
    int64_t shape[8];
    const void *data;
    size_t nbytes;
} sq_st_entry;

/* Writes atomically (temporary file, fsync, rename). meta: key, value, ..., NULL or NULL. */
sq_status sq_st_write(const char *path, const sq_st_entry *e, int n, const char *const *meta,
                      sq_error *err);

#endif
