/* Durable file writes: temporary file beside the target, fsync, rename, fsync of the
 * directory. A crash leaves either the old file or the new one, never a partial file. */
#ifndef SQ_CORE_FILEIO_H
#define SQ_CORE_FILEIO_H

#include <stdio.h>

#include "shopseq/status.h"

typedef struct sq_atomic_file {
    FILE *fp;
    char *final_path;
    char *tmp_path;
} sq_atomic_file;

sq_status sq_atomic_open(sq_atomic_file *f, const char *path, sq_error *err);
/* Flushes, fsyncs, renames into place. Closes f in every case. */
sq_status sq_atomic_commit(sq_atomic_file *f, sq_error *err);
/* Removes the temporary file; safe on a zeroed or committed f. */
void sq_atomic_abort(sq_atomic_file *f);

/* Writes a whole buffer atomically to path. */
sq_status sq_write_file_atomic(const char *path, const void *data, size_t size, sq_error *err);

/* mkdir -p */
sq_status sq_mkdir_p(const char *path, sq_error *err);

#endif
