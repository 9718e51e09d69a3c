/* Buffered output for the events CSV: 1 MiB buffer, hand-rolled integer formatting,
 * optional gzip (zlib) or zstd streaming compression chosen by the file suffix, written
 * atomically (temporary file, fsync, rename). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "data/synth/synth_internal.h"

#define BUF_CAP (1u << 20)

static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

int sq__fmt_u64(char *p, uint64_t v) {
    char tmp[24];
    char *e = tmp + sizeof tmp, *s = e;
    while (v >= 100) {
        unsigned k = (unsigned)(v % 100) * 2;
        v /= 100;
        *--s = digit_pairs[k + 1];
        *--s = digit_pairs[k];
    }
    if (v >= 10) {
        unsigned k = (unsigned)v * 2;
        *--s = digit_pairs[k + 1];
        *--s = digit_pairs[k];
    } else {
        *--s = (char)('0' + v);
    }
    int n = (int)(e - s);
    memcpy(p, s, (size_t)n);
    return n;
}

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

static void fail(sq__writer *w, const char *what) {
    if (w->st != SQ_OK) return;
    w->st = SQ_ERR_IO;
    snprintf(w->errmsg, sizeof w->errmsg, "cannot write %s: %s", w->af.final_path ? w->af.final_path : "?", what);
}

static void put_raw(sq__writer *w, const void *p, size_t n) {
    if (w->st != SQ_OK || n == 0) return;
    if (fwrite(p, 1, n, w->af.fp) != n) fail(w, strerror(errno));
}

sq_status sq__writer_open(sq__writer *w, const char *path, sq_error *err) {
    memset(w, 0, sizeof *w);
    w->kind = ends_with(path, ".gz") ? 1 : ends_with(path, ".zst") ? 2 : 0;
    w->cap = BUF_CAP;
    w->buf = malloc(w->cap);
    if (!w->buf) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    if (w->kind == 1) {
        z_stream *z = calloc(1, sizeof *z);
        w->z = z;
        w->ocap = BUF_CAP;
        w->obuf = malloc(w->ocap);
        if (!z || !w->obuf || deflateInit2(z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(z);
            w->z = NULL;
            sq__writer_abort(w);
            return sq_error_set(err, SQ_ERR_NOMEM, "cannot start gzip compression");
        }
    } else if (w->kind == 2) {
        ZSTD_CCtx *z = ZSTD_createCCtx();
        w->z = z;
        w->ocap = ZSTD_CStreamOutSize();
        w->obuf = malloc(w->ocap);
        if (!z || !w->obuf || ZSTD_isError(ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 3))) {
            sq__writer_abort(w);
            return sq_error_set(err, SQ_ERR_NOMEM, "cannot start zstd compression");
        }
    }
    sq_status st = sq_atomic_open(&w->af, path, err);
    if (st != SQ_OK) {
        sq__writer_abort(w);
        return st;
    }
    return SQ_OK;
}

static void compress_chunk(sq__writer *w, const char *src, size_t n, bool finish) {
    if (w->kind == 1) {
        z_stream *z = w->z;
        z->next_in = (Bytef *)src;
        z->avail_in = (uInt)n;
        int flush = finish ? Z_FINISH : Z_NO_FLUSH;
        for (;;) {
            z->next_out = (Bytef *)w->obuf;
            z->avail_out = (uInt)w->ocap;
            int rc = deflate(z, flush);
            if (rc == Z_STREAM_ERROR) {
                fail(w, "gzip compression failed");
                return;
            }
            put_raw(w, w->obuf, w->ocap - z->avail_out);
            if (finish ? rc == Z_STREAM_END : z->avail_in == 0) break;
        }
    } else {
        ZSTD_inBuffer in = {src, n, 0};
        ZSTD_EndDirective mode = finish ? ZSTD_e_end : ZSTD_e_continue;
        for (;;) {
            ZSTD_outBuffer out = {w->obuf, w->ocap, 0};
            size_t rem = ZSTD_compressStream2(w->z, &out, &in, mode);
            if (ZSTD_isError(rem)) {
                fail(w, ZSTD_getErrorName(rem));
                return;
            }
            put_raw(w, w->obuf, out.pos);
            if (finish ? rem == 0 : in.pos == in.size) break;
        }
    }
}

void sq__writer_flush_buf(sq__writer *w) {
    w->bytes += w->len;
    if (w->kind == 0) put_raw(w, w->buf, w->len);
    else compress_chunk(w, w->buf, w->len, false);
    w->len = 0;
}

void sq__writer_write(sq__writer *w, const char *s, size_t n) {
    while (n > 0) {
        if (w->len == w->cap) sq__writer_flush_buf(w);
        size_t k = w->cap - w->len < n ? w->cap - w->len : n;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
}

static void free_parts(sq__writer *w) {
    if (w->z) {
        if (w->kind == 1) {
            deflateEnd(w->z);
            free(w->z);
        } else {
            ZSTD_freeCCtx(w->z);
        }
    }
    free(w->buf);
    free(w->obuf);
    w->z = NULL;
    w->buf = w->obuf = NULL;
}

sq_status sq__writer_commit(sq__writer *w, sq_error *err) {
    sq__writer_flush_buf(w);
    if (w->kind != 0) compress_chunk(w, NULL, 0, true);
    if (w->st != SQ_OK) {
        sq_status st = sq_error_set(err, w->st, "%s", w->errmsg);
        sq__writer_abort(w);
        return st;
    }
    free_parts(w);
    return sq_atomic_commit(&w->af, err);
}

void sq__writer_abort(sq__writer *w) {
    if (!w) return;
    free_parts(w);
    sq_atomic_abort(&w->af);
}
