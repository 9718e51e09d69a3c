#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fsync_parent_dir(const char *path) {
    char *copy = strdup(path);
    if (!copy) return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(copy);
}

sq_status sq_atomic_open(sq_atomic_file *f, const char *path, sq_error *err) {
    memset(f, 0, sizeof *f);
    size_t n = strlen(path);
    f->final_path = strdup(path);
    f->tmp_path = malloc(n + 32);
    if (!f->final_path || !f->tmp_path) {
        sq_atomic_abort(f);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory opening %s", path);
    }
    snprintf(f->tmp_path, n + 32, "%s.tmp.%ld", path, (long)getpid());
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        int e = errno;
        free(f->final_path);
        free(f->tmp_path);
        memset(f, 0, sizeof *f);
        return sq_error_set(err, SQ_ERR_IO, "cannot create %s: %s", path, strerror(e));
    }
    return SQ_OK;
}

sq_status sq_atomic_commit(sq_atomic_file *f, sq_error *err) {
    sq_status st = SQ_OK;
    if (!f->fp) return sq_error_set(err, SQ_ERR_INTERNAL, "commit of a closed file");
    if (fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0) {
        st = sq_error_set(err, SQ_ERR_IO, "cannot write %s: %s", f->final_path, strerror(errno));
    }
    if (fclose(f->fp) != 0 && st == SQ_OK)
        st = sq_error_set(err, SQ_ERR_IO, "cannot write %s: %s", f->final_path, strerror(errno));
    f->fp = NULL;
    if (st == SQ_OK && rename(f->tmp_path, f->final_path) != 0)
        st = sq_error_set(err, SQ_ERR_IO, "cannot rename into %s: %s", f->final_path,
                          strerror(errno));
    if (st == SQ_OK) fsync_parent_dir(f->final_path);
    else unlink(f->tmp_path);
    free(f->final_path);
    free(f->tmp_path);
    memset(f, 0, sizeof *f);
    return st;
}

void sq_atomic_abort(sq_atomic_file *f) {
    if (!f) return;
    if (f->fp) fclose(f->fp);
    if (f->tmp_path) unlink(f->tmp_path);
    free(f->final_path);
    free(f->tmp_path);
    memset(f, 0, sizeof *f);
}

sq_status sq_write_file_atomic(const char *path, const void *data, size_t size, sq_error *err) {
    sq_atomic_file f;
    sq_status st = sq_atomic_open(&f, path, err);
    if (st != SQ_OK) return st;
    if (size && fwrite(data, 1, size, f.fp) != size) {
        sq_atomic_abort(&f);
        return sq_error_set(err, SQ_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return sq_atomic_commit(&f, err);
}

sq_status sq_mkdir_p(const char *path, sq_error *err) {
    char *p = strdup(path);
    if (!p) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                int e = errno;
                sq_status st = sq_error_set(err, SQ_ERR_IO, "cannot create directory %s: %s", p,
                                            strerror(e));
                free(p);
                return st;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    return SQ_OK;
}
