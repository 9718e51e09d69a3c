/* Lines from a file or stdin, plain, gzip or zstd.
 *
 * Decompressed bytes land in one large buffer (buf); a line that lies wholly inside it is
 * returned as a pointer into it (no copy). Only a line that straddles two fills is copied
 * into the line buffer (lb, max_line + 1 bytes, the +1 for a '\r' before the '\n'). */
#include "data/linereader.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define SQ_LR_BUFSZ ((size_t)1 << 20)
#define SQ_LR_MAX_LINE ((size_t)1 << 30)
#define SQ_LR_RING 3          /* decoded buffers: one parsed, the others decoded ahead */
#define SLOT_EMPTY PTRDIFF_MIN

struct sq_line_reader {
    int fd;
    int own_fd;
    char *path; /* for messages */
    size_t max_line;
    sq_compression comp;

    unsigned char *in; /* raw bytes (compressed modes; in plain mode in == buf) */
    size_t in_pos, in_len;
    int eof_raw;

    char *buf; /* decompressed bytes [pos, end) */
    size_t pos, end;
    int eof;    /* buf will not be refilled */
    int failed; /* a previous call returned -1; later calls repeat its error */
    sq_status fail_status;
    char fail_msg[256];

    char *lb; /* partial line carried over a refill */
    size_t lb_len;
    int lb_toolong;

    uint64_t bytes_in, file_size, lineno;
    int at_start;   /* the first line returned is the file's first (a BOM may start it) */
    uint64_t limit; /* plain mode: stop at this file offset (UINT64_MAX: none) */

    /* compressed modes: bytes read so far (the decoder thread adds), its failure, and the
     * ring of decoded buffers it fills (slot_len: SLOT_EMPTY, bytes, 0 at end, -1 failed) */
    atomic_uint_least64_t raw_bytes;
    sq_status d_status;
    char d_what[200];
    int decoder_started, stop, held;
    pthread_t decoder;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *slot[SQ_LR_RING];
    ptrdiff_t slot_len[SQ_LR_RING];

    z_stream zs;
    int zs_init, gz_in_member;
    ZSTD_DStream *zd;
    size_t zret;
};

static const char empty_line[1] = "";

static ssize_t read_full(int fd, void *p, size_t n) {
    for (;;) {
        ssize_t k = read(fd, p, n);
        if (k >= 0 || errno != EINTR) return k;
    }
}

static int fail(sq_line_reader *r, sq_error *err, sq_status st, const char *what) {
    r->failed = 1;
    r->fail_status = st;
    snprintf(r->fail_msg, sizeof r->fail_msg, "%s:%llu: %s", r->path,
             (unsigned long long)(r->lineno + 1), what);
    sq_error_set(err, st, "%s", r->fail_msg);
    return -1;
}

/* A decompression failure, kept until the lines before it are returned (the decoder may
 * run ahead in its own thread); fail() then reports it with the line number reached. */
static int dfail(sq_line_reader *r, sq_status st, const char *what) {
    r->d_status = st;
    snprintf(r->d_what, sizeof r->d_what, "%s", what);
    return -1;
}

/* Reads raw bytes into r->in (compressed modes). 0 ok (eof_raw set at end), -1 error. */
static int read_raw(sq_line_reader *r) {
    ssize_t k = read_full(r->fd, r->in, SQ_LR_BUFSZ);
    if (k < 0) return dfail(r, SQ_ERR_IO, strerror(errno));
    r->in_pos = 0;
    r->in_len = (size_t)k;
    atomic_fetch_add_explicit(&r->raw_bytes, (uint64_t)k, memory_order_relaxed);
    if (k == 0) r->eof_raw = 1;
    return 0;
}

/* Each fill_* writes from buf[0] and returns the byte count, 0 at end of input, -1. */
static ptrdiff_t fill_gzip(sq_line_reader *r, char *dst) {
    for (;;) {
        if (r->zs.avail_in == 0 && !r->eof_raw) {
            if (read_raw(r) != 0) return -1;
            r->zs.next_in = r->in;
            r->zs.avail_in = (uInt)r->in_len;
        }
        if (!r->gz_in_member) {
            if (r->zs.avail_in == 0 && r->eof_raw) return 0;
            if (inflateReset(&r->zs) != Z_OK) return dfail(r, SQ_ERR_INTERNAL, "inflateReset");
            r->gz_in_member = 1; /* first member, or another one after the previous */
        }
        r->zs.next_out = (Bytef *)dst;
        r->zs.avail_out = (uInt)SQ_LR_BUFSZ;
        int ret = inflate(&r->zs, Z_NO_FLUSH);
        size_t produced = SQ_LR_BUFSZ - r->zs.avail_out;
        if (ret == Z_STREAM_END) {
            r->gz_in_member = 0;
        } else if (ret == Z_BUF_ERROR) {
            if (produced == 0 && r->zs.avail_in == 0 && r->eof_raw)
                return dfail(r, SQ_ERR_FORMAT, "truncated gzip stream");
        } else if (ret != Z_OK) {
            char what[160];
            snprintf(what, sizeof what, "corrupt gzip stream (%s)",
                     r->zs.msg ? r->zs.msg : "inflate failed");
            return dfail(r, SQ_ERR_FORMAT, what);
        }
        if (produced) return (ptrdiff_t)produced;
    }
}

static ptrdiff_t fill_zstd(sq_line_reader *r, char *dst) {
    for (;;) {
        if (r->in_pos == r->in_len && !r->eof_raw && read_raw(r) != 0) return -1;
        if (r->in_pos == r->in_len && r->eof_raw && r->zret == 0) return 0;
        ZSTD_inBuffer ib = {r->in, r->in_len, r->in_pos};
        ZSTD_outBuffer ob = {dst, SQ_LR_BUFSZ, 0};
        size_t ret = ZSTD_decompressStream(r->zd, &ob, &ib);
        r->in_pos = ib.pos;
        if (ZSTD_isError(ret)) {
            char what[160];
            snprintf(what, sizeof what, "corrupt zstd stream (%s)", ZSTD_getErrorName(ret));
            return dfail(r, SQ_ERR_FORMAT, what);
        }
        r->zret = ret; /* 0: a frame is complete and flushed */
        if (ob.pos) return (ptrdiff_t)ob.pos;
        if (r->in_pos == r->in_len && r->eof_raw) {
            if (r->zret != 0) return dfail(r, SQ_ERR_FORMAT, "truncated zstd stream");
            return 0;
        }
    }
}

static ptrdiff_t decode(sq_line_reader *r, char *dst) {
    return r->comp == SQ_COMPRESSION_GZIP ? fill_gzip(r, dst) : fill_zstd(r, dst);
}

/* Decompression thread: fills the ring's slots in order while the caller parses the lines
 * of earlier slots. Only it touches the decoder (zs, zd, in, eof_raw, ...) once started. */
static void *decoder_main(void *arg) {
    sq_line_reader *r = arg;
    for (int w = 0;; w = (w + 1) % SQ_LR_RING) {
        pthread_mutex_lock(&r->mu);
        while (r->slot_len[w] != SLOT_EMPTY && !r->stop) pthread_cond_wait(&r->cv, &r->mu);
        int stop = r->stop;
        pthread_mutex_unlock(&r->mu);
        if (stop) return NULL;
        ptrdiff_t k = decode(r, r->slot[w]);
        pthread_mutex_lock(&r->mu);
        r->slot_len[w] = k; /* > 0 data, 0 end of input, -1 failed (d_status, d_what) */
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (k <= 0) return NULL;
    }
}

/* Next decoded slot from the thread; gives back the one whose lines were all returned. */
static ptrdiff_t take_slot(sq_line_reader *r) {
    pthread_mutex_lock(&r->mu);
    if (r->held >= 0) {
        r->slot_len[r->held] = SLOT_EMPTY;
        pthread_cond_broadcast(&r->cv);
    }
    int next = (r->held + 1 + SQ_LR_RING) % SQ_LR_RING;
    if (r->held < 0) next = 0;
    while (r->slot_len[next] == SLOT_EMPTY) pthread_cond_wait(&r->cv, &r->mu);
    ptrdiff_t k = r->slot_len[next];
    pthread_mutex_unlock(&r->mu);
    r->held = next;
    r->buf = r->slot[next];
    return k;
}

/* Refills buf. 1 with data, 0 at end of input, -1 on error. */
static int fill(sq_line_reader *r, sq_error *err) {
    ptrdiff_t k;
    r->pos = r->end = 0;
    switch (r->comp) {
    case SQ_COMPRESSION_GZIP:
    case SQ_COMPRESSION_ZSTD:
        k = r->decoder_started ? take_slot(r) : decode(r, r->buf);
        if (k < 0) return fail(r, err, r->d_status, r->d_what);
        break;
    default: {
        size_t want = SQ_LR_BUFSZ;
        if (r->limit - r->bytes_in < want) want = (size_t)(r->limit - r->bytes_in);
        ssize_t n = want ? read_full(r->fd, r->buf, want) : 0;
        if (n < 0) return fail(r, err, SQ_ERR_IO, strerror(errno));
        r->bytes_in += (uint64_t)n;
        k = n;
        break;
    }
    }
    if (k < 0) return -1;
    r->end = (size_t)k;
    return k > 0;
}

/* Decompression in its own thread when one can be had (else fill() decodes in place). */
static void start_decoder(sq_line_reader *r) {
    r->held = -1;
    for (int i = 0; i < SQ_LR_RING; i++) r->slot_len[i] = SLOT_EMPTY;
    r->slot[0] = r->buf;
    for (int i = 1; i < SQ_LR_RING; i++)
        if (!(r->slot[i] = malloc(SQ_LR_BUFSZ))) goto no_thread;
    if (pthread_mutex_init(&r->mu, NULL) != 0) goto no_thread;
    if (pthread_cond_init(&r->cv, NULL) != 0) {
        pthread_mutex_destroy(&r->mu);
        goto no_thread;
    }
    if (pthread_create(&r->decoder, NULL, decoder_main, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        goto no_thread;
    }
    r->decoder_started = 1;
    return;
no_thread:
    for (int i = 1; i < SQ_LR_RING; i++) {
        free(r->slot[i]);
        r->slot[i] = NULL;
    }
}

sq_status sq_line_reader_open(sq_line_reader **out, const char *path, size_t max_line,
                              sq_error *err) {
    *out = NULL;
    if (!path) return sq_error_set(err, SQ_ERR_USAGE, "line reader: no path");
    if (max_line == 0 || max_line > SQ_LR_MAX_LINE)
        return sq_error_set(err, SQ_ERR_USAGE, "%s: max line length %zu out of range [1, %zu]",
                            path, max_line, SQ_LR_MAX_LINE);
    sq_line_reader *r = calloc(1, sizeof *r);
    if (!r) return sq_error_set(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    r->fd = -1;
    r->max_line = max_line;
    r->limit = UINT64_MAX;
    r->at_start = 1;
    int is_stdin = strcmp(path, "-") == 0;
    r->path = strdup(is_stdin ? "<stdin>" : path);
    r->in = malloc(SQ_LR_BUFSZ);
    r->lb = malloc(max_line + 1);
    if (!r->path || !r->in || !r->lb) {
        sq_line_reader_close(r);
        return sq_error_set(err, SQ_ERR_NOMEM, "%s: out of memory", path);
    }
    if (is_stdin) {
        r->fd = 0;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            int e = errno;
            sq_line_reader_close(r);
            return sq_error_set(err, e == ENOENT ? SQ_ERR_NOT_FOUND : SQ_ERR_IO, "%s: %s", path,
                                strerror(e));
        }
        r->own_fd = 1;
    }
    struct stat st;
    if (fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode)) r->file_size = (uint64_t)st.st_size;
#ifdef POSIX_FADV_SEQUENTIAL
    if (r->own_fd) (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif

    /* First bytes: enough to tell the compression from the magic number. */
    size_t got = 0;
    while (got < 4) {
        ssize_t k = read_full(r->fd, r->in + got, SQ_LR_BUFSZ - got);
        if (k < 0) {
            int e = errno;
            sq_line_reader_close(r);
            return sq_error_set(err, SQ_ERR_IO, "%s: %s", path, strerror(e));
        }
        if (k == 0) break;
        got += (size_t)k;
    }
    r->bytes_in = got;
    r->in_len = got;
    const unsigned char *m = r->in;
    if (got >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
        r->comp = SQ_COMPRESSION_GZIP;
    } else if (got >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd) {
        r->comp = SQ_COMPRESSION_ZSTD;
    } else {
        r->comp = SQ_COMPRESSION_NONE;
    }

    if (r->comp == SQ_COMPRESSION_NONE) {
        r->buf = (char *)r->in; /* one buffer: the raw bytes are the text */
        r->in = NULL;
        r->end = got;
        r->eof = 0;
    } else {
        r->buf = malloc(SQ_LR_BUFSZ);
        if (!r->buf) {
            sq_line_reader_close(r);
            return sq_error_set(err, SQ_ERR_NOMEM, "%s: out of memory", path);
        }
        if (r->comp == SQ_COMPRESSION_GZIP) {
            if (inflateInit2(&r->zs, 15 + 32) != Z_OK) {
                sq_line_reader_close(r);
                return sq_error_set(err, SQ_ERR_NOMEM, "%s: inflateInit2 failed", path);
            }
            r->zs_init = 1;
            r->zs.next_in = r->in;
            r->zs.avail_in = (uInt)got;
        } else {
            r->zd = ZSTD_createDStream();
            if (!r->zd || ZSTD_isError(ZSTD_initDStream(r->zd))) {
                sq_line_reader_close(r);
                return sq_error_set(err, SQ_ERR_NOMEM, "%s: ZSTD_createDStream failed", path);
            }
            r->zret = 1; /* inside a frame until the decoder says otherwise */
        }
        atomic_store(&r->raw_bytes, got);
        /* not for pipes: closing early must not wait on a read that may never return */
        if (r->file_size > 0) start_decoder(r);
    }
    *out = r;
    return SQ_OK;
}

/* Appends a piece of a straddling line to lb, or marks it too long. */
static void carry(sq_line_reader *r, const char *p, size_t n) {
    if (r->lb_toolong) return;
    if (n > r->max_line + 1 - r->lb_len) {
        r->lb_toolong = 1;
        r->lb_len = 0;
        return;
    }
    memcpy(r->lb + r->lb_len, p, n);
    r->lb_len += n;
}

static int emit(sq_line_reader *r, sq_line *line, const char *p, size_t n, int toolong) {
    if (n > 0 && p[n - 1] == '\r') n--;
    r->lineno++;
    if (r->lineno == 1 && r->at_start && n >= 3 && (unsigned char)p[0] == 0xef &&
        (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf) {
        p += 3;
        n -= 3;
    }
    line->lineno = r->lineno;
    if (toolong || n > r->max_line) {
        line->data = empty_line;
        line->len = 0;
        line->flags = SQ_LINE_TOO_LONG;
    } else {
        line->data = p;
        line->len = n;
        line->flags = (n && memchr(p, 0, n)) ? SQ_LINE_HAS_NUL : 0;
    }
    return 1;
}

int sq_line_reader_next(sq_line_reader *r, sq_line *line, sq_error *err) {
    if (r->failed) {
        sq_error_set(err, r->fail_status, "%s", r->fail_msg);
        return -1;
    }
    for (;;) {
        if (r->pos < r->end) {
            const char *p = r->buf + r->pos;
            size_t avail = r->end - r->pos;
            const char *nl = memchr(p, '\n', avail);
            if (nl) {
                size_t n = (size_t)(nl - p);
                r->pos += n + 1;
                if (r->lb_len == 0 && !r->lb_toolong) return emit(r, line, p, n, 0);
                carry(r, p, n);
                int toolong = r->lb_toolong;
                size_t len = r->lb_len;
                r->lb_len = 0;
                r->lb_toolong = 0;
                return emit(r, line, r->lb, len, toolong);
            }
            carry(r, p, avail);
            r->pos = r->end;
        }
        if (r->eof) {
            if (r->lb_len == 0 && !r->lb_toolong) return 0;
            int toolong = r->lb_toolong;
            size_t len = r->lb_len;
            r->lb_len = 0;
            r->lb_toolong = 0;
            return emit(r, line, r->lb, len, toolong);
        }
        int k = fill(r, err);
        if (k < 0) return -1;
        if (k == 0) r->eof = 1;
    }
}

int sq_line_reader_limit(sq_line_reader *r, uint64_t end) {
    if (r->comp != SQ_COMPRESSION_NONE || r->lb_len || r->lb_toolong) return -1;
    uint64_t buf_start = r->bytes_in - r->end; /* file offset of buf[0] */
    if (end < buf_start + r->pos) return -1;
    if (end < r->bytes_in) {
        r->end = (size_t)(end - buf_start);
        r->bytes_in = end;
    }
    r->limit = end;
    return 0;
}

uint64_t sq_line_reader_lineno(const sq_line_reader *r) { return r->lineno; }

uint64_t sq_line_reader_tell(const sq_line_reader *r) {
    return r->bytes_in - (r->end - r->pos);
}

/* '\n' bytes in p[0..n), 8 at a time (SWAR: a byte is zero after xor with '\n'). */
static uint64_t count_newlines(const char *p, size_t n) {
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t c = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= ones * '\n';
        /* exact zero-byte mask: no false positives from borrows */
        uint64_t t = ((w & ~high) + ~high) | w;
        c += (uint64_t)__builtin_popcountll(~t & high);
    }
    for (; i < n; i++) c += p[i] == '\n';
    return c;
}

sq_status sq_line_reader_open_at(sq_line_reader **out, const char *path, size_t max_line,
                                 uint64_t start, sq_error *err) {
    sq_line_reader *r;
    sq_status st = sq_line_reader_open(&r, path, max_line, err);
    if (st != SQ_OK) return st;
    *out = NULL;
    if (r->comp != SQ_COMPRESSION_NONE || !r->own_fd) {
        sq_line_reader_close(r);
        return sq_error_set(err, SQ_ERR_USAGE, "%s: not a plain file", path);
    }
    /* line numbers stay those of the whole file: count the lines before start */
    uint64_t lines = 0;
    for (uint64_t off = 0; off < start;) {
        size_t want = start - off < SQ_LR_BUFSZ ? (size_t)(start - off) : SQ_LR_BUFSZ;
        ssize_t k = pread(r->fd, r->buf, want, (off_t)off);
        if (k <= 0) {
            int e = errno;
            sq_line_reader_close(r);
            return sq_error_set(err, SQ_ERR_IO, "%s: %s", path, k < 0 ? strerror(e)
                                                                      : "file shrank while read");
        }
        lines += count_newlines(r->buf, (size_t)k);
        off += (uint64_t)k;
    }
    if (lseek(r->fd, (off_t)start, SEEK_SET) < 0) {
        int e = errno;
        sq_line_reader_close(r);
        return sq_error_set(err, SQ_ERR_IO, "%s: %s", path, strerror(e));
    }
    r->pos = r->end = 0;
    r->bytes_in = 0; /* bytes of this part only */
    r->lineno = lines;
    r->at_start = start == 0;
    *out = r;
    return SQ_OK;
}

sq_compression sq_line_reader_compression(const sq_line_reader *r) { return r->comp; }
uint64_t sq_line_reader_bytes_in(const sq_line_reader *r) {
    if (r->comp != SQ_COMPRESSION_NONE)
        return atomic_load_explicit(&((sq_line_reader *)r)->raw_bytes, memory_order_relaxed);
    return r->bytes_in;
}
uint64_t sq_line_reader_file_size(const sq_line_reader *r) { return r->file_size; }

void sq_line_reader_close(sq_line_reader *r) {
    if (!r) return;
    if (r->decoder_started) {
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->decoder, NULL);
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        for (int i = 0; i < SQ_LR_RING; i++) free(r->slot[i]);
        r->buf = NULL;
    }
    if (r->own_fd && r->fd >= 0) close(r->fd);
    if (r->zs_init) inflateEnd(&r->zs);
    ZSTD_freeDStream(r->zd);
    free(r->in);
    free(r->buf);
    free(r->lb);
    free(r->path);
    free(r);
}
