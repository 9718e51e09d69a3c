/* sq_line_reader: line endings, BOM, NUL bytes, over-long lines, lines across read-buffer
 * boundaries, gzip (multi-member) and zstd (multi-frame), truncated input. Files are
 * created under $SQ_TMPDIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <zlib.h>
#include <zstd.h>

#include "data/linereader.h"

#define BUF_SIZE ((size_t)1 << 20) /* the reader's internal buffer (linereader.c) */

static char tmpdir[512];

static const char *tmp_path(const char *name) {
    static char p[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
    return p[k];
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void append_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void *read_whole(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc((size_t)sz + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)sz, f), (size_t)sz);
    fclose(f);
    *n = (size_t)sz;
    return p;
}

static void write_gzip(const char *path, const char *mode, const void *data, size_t n) {
    gzFile g = gzopen(path, mode);
    assert_non_null(g);
    if (n) assert_int_equal(gzwrite(g, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(g), Z_OK);
}

static void write_zstd(const char *path, int append, const void *data, size_t n) {
    size_t cap = ZSTD_compressBound(n);
    void *c = malloc(cap);
    assert_non_null(c);
    size_t cn = ZSTD_compress(c, cap, data, n, 3);
    assert_false(ZSTD_isError(cn));
    if (append)
        append_file(path, c, cn);
    else
        write_file(path, c, cn);
    free(c);
}

static sq_line_reader *open_ok(const char *path, size_t max_line) {
    sq_line_reader *r = NULL;
    sq_error err = {0};
    sq_status st = sq_line_reader_open(&r, path, max_line, &err);
    if (st != SQ_OK) fail_msg("open %s: %s", path, err.msg);
    return r;
}

/* Next line must be `want` (NULL: expect end of input) with this line number and flags. */
static void expect_line(sq_line_reader *r, const char *want, size_t want_len, uint64_t lineno,
                        unsigned flags) {
    sq_line line;
    sq_error err = {0};
    int rc = sq_line_reader_next(r, &line, &err);
    if (!want) {
        if (rc != 0) fail_msg("expected end of input, got rc %d (%s)", rc, err.msg);
        return;
    }
    if (rc != 1) fail_msg("expected line %llu, got rc %d (%s)", (unsigned long long)lineno, rc,
                          err.msg);
    assert_int_equal(line.lineno, lineno);
    assert_int_equal(line.flags, flags);
    if (line.len != want_len || memcmp(line.data, want, want_len) != 0)
        fail_msg("line %llu: got '%.*s' (%zu), want '%.*s' (%zu)",
                 (unsigned long long)lineno, (int)(line.len > 60 ? 60 : line.len), line.data,
                 line.len, (int)(want_len > 60 ? 60 : want_len), want, want_len);
}

#define EXPECT(r, s, no) expect_line(r, s, strlen(s), no, 0)
#define EXPECT_END(r) expect_line(r, NULL, 0, 0, 0)

static int setup(void **state) {
    (void)state;
    const char *t = getenv("SQ_TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/linereader", t && *t ? t : "/tmp/shopseq-test");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", tmpdir);
    if (system(cmd) != 0) return -1;
    return 0;
}

static void test_line_endings(void **state) {
    (void)state;
    const char *p = tmp_path("endings.txt");
    const char text[] = "a\nbb\r\n\n\r\nlast";
    write_file(p, text, sizeof text - 1);
    sq_line_reader *r = open_ok(p, 100);
    assert_int_equal(sq_line_reader_compression(r), SQ_COMPRESSION_NONE);
    assert_int_equal(sq_line_reader_file_size(r), sizeof text - 1);
    EXPECT(r, "a", 1);
    EXPECT(r, "bb", 2);
    EXPECT(r, "", 3);
    EXPECT(r, "", 4);
    EXPECT(r, "last", 5); /* no trailing newline */
    EXPECT_END(r);
    EXPECT_END(r); /* stays at the end */
    assert_int_equal(sq_line_reader_bytes_in(r), sizeof text - 1);
    sq_line_reader_close(r);

    /* a trailing newline does not make an extra empty line */
    write_file(p, "x\ny\n", 4);
    r = open_ok(p, 100);
    EXPECT(r, "x", 1);
    EXPECT(r, "y", 2);
    EXPECT_END(r);
    sq_line_reader_close(r);

    /* a lone "\r" inside a line is content */
    write_file(p, "a\rb\n", 4);
    r = open_ok(p, 100);
    EXPECT(r, "a\rb", 1);
    EXPECT_END(r);
    sq_line_reader_close(r);
}

static void test_empty_inputs(void **state) {
    (void)state;
    const char *p = tmp_path("empty.txt");
    write_file(p, "", 0);
    sq_line_reader *r = open_ok(p, 10);
    EXPECT_END(r);
    sq_line_reader_close(r);

    write_file(p, "\n", 1);
    r = open_ok(p, 10);
    EXPECT(r, "", 1);
    EXPECT_END(r);
    sq_line_reader_close(r);

    write_file(p, "ab", 2); /* shorter than a magic number */
    r = open_ok(p, 10);
    EXPECT(r, "ab", 1);
    EXPECT_END(r);
    sq_line_reader_close(r);

    /* empty gzip and zstd files hold no lines */
    const char *g = tmp_path("empty.gz");
    write_gzip(g, "wb", "", 0);
    r = open_ok(g, 10);
    assert_int_equal(sq_line_reader_compression(r), SQ_COMPRESSION_GZIP);
    EXPECT_END(r);
    sq_line_reader_close(r);
    const char *z = tmp_path("empty.zst");
    write_zstd(z, 0, "", 0);
    r = open_ok(z, 10);
    assert_int_equal(sq_line_reader_compression(r), SQ_COMPRESSION_ZSTD);
    EXPECT_END(r);
    sq_line_reader_close(r);
}

static void test_bom(void **state) {
    (void)state;
    const char *p = tmp_path("bom.csv");
    const char text[] = "\xEF\xBB\xBFuser,item\r\n\xEF\xBB\xBFx\n";
    write_file(p, text, sizeof text - 1);
    sq_line_reader *r = open_ok(p, 100);
    EXPECT(r, "user,item", 1);
    EXPECT(r, "\xEF\xBB\xBFx", 2); /* only at the start of the file */
    EXPECT_END(r);
    sq_line_reader_close(r);

    write_file(p, "\xEF\xBB\xBF", 3); /* a file that is only a BOM */
    r = open_ok(p, 100);
    EXPECT(r, "", 1);
    EXPECT_END(r);
    sq_line_reader_close(r);

    const char *g = tmp_path("bom.csv.gz"); /* BOM inside a compressed stream */
    write_gzip(g, "wb", text, sizeof text - 1);
    r = open_ok(g, 100);
    EXPECT(r, "user,item", 1);
    sq_line_reader_close(r);
}

static void test_nul_bytes(void **state) {
    (void)state;
    const char *p = tmp_path("nul.txt");
    const char text[] = "a\0b\nok\n\0\n";
    write_file(p, text, sizeof text - 1);
    sq_line_reader *r = open_ok(p, 100);
    expect_line(r, "a\0b", 3, 1, SQ_LINE_HAS_NUL);
    expect_line(r, "ok", 2, 2, 0);
    expect_line(r, "\0", 1, 3, SQ_LINE_HAS_NUL);
    EXPECT_END(r);
    sq_line_reader_close(r);
}

static void test_long_lines(void **state) {
    (void)state;
    const char *p = tmp_path("long.txt");
    /* max_line 8: 8 bytes fit (also before "\r\n"), 9 do not */
    const char text[] = "12345678\n123456789\nafter\n12345678\r\nxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
                        "end\n123456789";
    write_file(p, text, sizeof text - 1);
    sq_line_reader *r = open_ok(p, 8);
    EXPECT(r, "12345678", 1);
    expect_line(r, "", 0, 2, SQ_LINE_TOO_LONG);
    EXPECT(r, "after", 3);
    EXPECT(r, "12345678", 4);
    expect_line(r, "", 0, 5, SQ_LINE_TOO_LONG);
    EXPECT(r, "end", 6);
    expect_line(r, "", 0, 7, SQ_LINE_TOO_LONG); /* last line, no newline */
    EXPECT_END(r);
    sq_line_reader_close(r);
}

/* Deterministic test text: line i is "i,<run of letters>" of varying length, some CRLF. */
static char *make_text(int nlines, size_t *n) {
    size_t cap = (size_t)nlines * 320 + 64, k = 0;
    char *t = malloc(cap);
    assert_non_null(t);
    for (int i = 0; i < nlines; i++) {
        k += (size_t)sprintf(t + k, "%d,", i);
        int run = (i * 37) % 301;
        memset(t + k, 'a' + i % 26, (size_t)run);
        k += (size_t)run;
        if (i % 7 == 0) t[k++] = '\r';
        t[k++] = '\n';
    }
    *n = k;
    return t;
}

static void check_text(sq_line_reader *r, int nlines) {
    char want[400];
    sq_line line;
    sq_error err = {0};
    for (int i = 0; i < nlines; i++) {
        int len = sprintf(want, "%d,", i);
        int run = (i * 37) % 301;
        memset(want + len, 'a' + i % 26, (size_t)run);
        len += run;
        int rc = sq_line_reader_next(r, &line, &err);
        if (rc != 1) fail_msg("line %d: rc %d (%s)", i + 1, rc, err.msg);
        assert_int_equal(line.lineno, (uint64_t)i + 1);
        assert_int_equal(line.flags, 0);
        if (line.len != (size_t)len || memcmp(line.data, want, (size_t)len) != 0)
            fail_msg("line %d differs (len %zu, want %d)", i + 1, line.len, len);
    }
    EXPECT_END(r);
}

#define BIG_LINES 40000 /* about 6.5 MB: several buffer refills */

static void test_buffer_boundaries(void **state) {
    (void)state;
    size_t n;
    char *t = make_text(BIG_LINES, &n);
    assert_true(n > 3 * BUF_SIZE);
    const char *p = tmp_path("big.csv");
    write_file(p, t, n);
    sq_line_reader *r = open_ok(p, 1000);
    check_text(r, BIG_LINES);
    assert_int_equal(sq_line_reader_bytes_in(r), n);
    assert_int_equal(sq_line_reader_file_size(r), n);
    sq_line_reader_close(r);
    free(t);
}

static void test_boundary_cases(void **state) {
    (void)state;
    const char *p = tmp_path("boundary.txt");
    size_t n = BUF_SIZE * 2 + 16;
    char *t = malloc(n);
    assert_non_null(t);

    /* "\r" is the last byte of the first buffer, "\n" the first of the second */
    memset(t, 'A', BUF_SIZE - 1);
    memcpy(t + BUF_SIZE - 1, "\r\nnext\n", 7);
    write_file(p, t, BUF_SIZE - 1 + 7);
    sq_line_reader *r = open_ok(p, BUF_SIZE);
    expect_line(r, t, BUF_SIZE - 1, 1, 0);
    EXPECT(r, "next", 2);
    EXPECT_END(r);
    sq_line_reader_close(r);

    /* the newline is the last byte of the first buffer */
    memset(t, 'B', BUF_SIZE - 1);
    memcpy(t + BUF_SIZE - 1, "\nz", 2);
    write_file(p, t, BUF_SIZE + 1);
    r = open_ok(p, BUF_SIZE);
    expect_line(r, t, BUF_SIZE - 1, 1, 0);
    EXPECT(r, "z", 2);
    EXPECT_END(r);
    sq_line_reader_close(r);

    /* an over-long line that spans two buffers; the next line and its number intact */
    memcpy(t, "first\n", 6);
    memset(t + 6, 'C', BUF_SIZE + 100);
    memcpy(t + 6 + BUF_SIZE + 100, "\nsecond\n", 8);
    write_file(p, t, 6 + BUF_SIZE + 108);
    r = open_ok(p, 4096);
    EXPECT(r, "first", 1);
    expect_line(r, "", 0, 2, SQ_LINE_TOO_LONG);
    EXPECT(r, "second", 3);
    EXPECT_END(r);
    sq_line_reader_close(r);

    /* a line that straddles and is over max_line by only its tail */
    memset(t, 'D', BUF_SIZE + 10);
    memcpy(t + BUF_SIZE + 10, "\nok", 3);
    write_file(p, t, BUF_SIZE + 13);
    r = open_ok(p, BUF_SIZE + 9);
    expect_line(r, "", 0, 1, SQ_LINE_TOO_LONG);
    EXPECT(r, "ok", 2);
    EXPECT_END(r);
    sq_line_reader_close(r);
    r = open_ok(p, BUF_SIZE + 10); /* exactly fits */
    expect_line(r, t, BUF_SIZE + 10, 1, 0);
    EXPECT(r, "ok", 2);
    sq_line_reader_close(r);
    free(t);
}

static void test_gzip(void **state) {
    (void)state;
    size_t n;
    char *t = make_text(BIG_LINES, &n);
    const char *g = tmp_path("big.csv.gz");
    write_gzip(g, "wb", t, n);
    sq_line_reader *r = open_ok(g, 1000);
    assert_int_equal(sq_line_reader_compression(r), SQ_COMPRESSION_GZIP);
    check_text(r, BIG_LINES);
    size_t gz_size;
    free(read_whole(g, &gz_size));
    assert_int_equal(sq_line_reader_bytes_in(r), gz_size);
    sq_line_reader_close(r);

    /* two members (as `cat a.gz b.gz`), the split inside a line */
    const char *m = tmp_path("multi.gz");
    write_gzip(m, "wb", "one\ntw", 6);
    write_gzip(m, "ab", "o\nthree\n", 8);
    r = open_ok(m, 100);
    EXPECT(r, "one", 1);
    EXPECT(r, "two", 2);
    EXPECT(r, "three", 3);
    EXPECT_END(r);
    sq_line_reader_close(r);

    /* truncated: an error with the file name, not a silent end */
    size_t full;
    unsigned char *bytes = read_whole(g, &full);
    const char *tr = tmp_path("trunc.csv.gz");
    write_file(tr, bytes, full / 2);
    r = open_ok(tr, 1000);
    sq_line line;
    sq_error err = {0};
    int rc;
    uint64_t lines = 0;
    while ((rc = sq_line_reader_next(r, &line, &err)) == 1) lines++;
    assert_int_equal(rc, -1);
    assert_true(lines > 0 && lines < BIG_LINES);
    assert_int_equal(err.status, SQ_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "trunc.csv.gz:"));
    assert_non_null(strstr(err.msg, "truncated"));
    assert_int_equal(sq_line_reader_next(r, &line, &err), -1); /* stays failed */
    sq_line_reader_close(r);

    /* only the trailer missing (the data all decompress, the CRC/size cannot be checked) */
    write_file(tr, bytes, full - 4);
    r = open_ok(tr, 1000);
    while ((rc = sq_line_reader_next(r, &line, &err)) == 1) {
    }
    assert_int_equal(rc, -1);
    sq_line_reader_close(r);

    /* corrupt: a flipped byte in the deflate data */
    bytes[full / 2] ^= 0xff;
    bytes[full / 2 + 1] ^= 0x55;
    const char *bad = tmp_path("corrupt.gz");
    write_file(bad, bytes, full);
    r = open_ok(bad, 1000);
    while ((rc = sq_line_reader_next(r, &line, &err)) == 1) {
    }
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, "corrupt.gz:"));
    sq_line_reader_close(r);
    free(bytes);
    free(t);
}

static void test_zstd(void **state) {
    (void)state;
    size_t n;
    char *t = make_text(BIG_LINES, &n);
    const char *z = tmp_path("big.csv.zst");
    write_zstd(z, 0, t, n);
    sq_line_reader *r = open_ok(z, 1000);
    assert_int_equal(sq_line_reader_compression(r), SQ_COMPRESSION_ZSTD);
    check_text(r, BIG_LINES);
    sq_line_reader_close(r);

    /* two frames, split inside a line */
    size_t half = n / 2 + 5;
    const char *m = tmp_path("two_frames.zst");
    write_zstd(m, 0, t, half);
    write_zstd(m, 1, t + half, n - half);
    r = open_ok(m, 1000);
    check_text(r, BIG_LINES);
    sq_line_reader_close(r);

    /* small two-frame file */
    write_zstd(m, 0, "a\nb", 3);
    write_zstd(m, 1, "c\nd\n", 4);
    r = open_ok(m, 10);
    EXPECT(r, "a", 1);
    EXPECT(r, "bc", 2);
    EXPECT(r, "d", 3);
    EXPECT_END(r);
    sq_line_reader_close(r);

    /* truncated */
    size_t full;
    unsigned char *bytes = read_whole(z, &full);
    const char *tr = tmp_path("trunc.csv.zst");
    write_file(tr, bytes, full - 3);
    r = open_ok(tr, 1000);
    sq_line line;
    sq_error err = {0};
    int rc;
    while ((rc = sq_line_reader_next(r, &line, &err)) == 1) {
    }
    assert_int_equal(rc, -1);
    assert_int_equal(err.status, SQ_ERR_FORMAT);
    assert_non_null(strstr(err.msg, "trunc.csv.zst:"));
    sq_line_reader_close(r);

    write_file(tr, bytes, 4); /* the magic number only */
    r = open_ok(tr, 1000);
    assert_int_equal(sq_line_reader_next(r, &line, &err), -1);
    sq_line_reader_close(r);

    /* corrupt */
    for (size_t i = full / 3; i < full / 3 + 16; i++) bytes[i] ^= 0xa5;
    write_file(tr, bytes, full);
    r = open_ok(tr, 1000);
    while ((rc = sq_line_reader_next(r, &line, &err)) == 1) {
    }
    assert_int_equal(rc, -1);
    sq_line_reader_close(r);
    free(bytes);
    free(t);
}

static void test_open_errors(void **state) {
    (void)state;
    sq_line_reader *r = (sq_line_reader *)1;
    sq_error err = {0};
    assert_int_equal(sq_line_reader_open(&r, tmp_path("does-not-exist.csv"), 100, &err),
                     SQ_ERR_NOT_FOUND);
    assert_null(r);
    assert_non_null(strstr(err.msg, "does-not-exist.csv"));
    const char *p = tmp_path("x.txt");
    write_file(p, "x\n", 2);
    assert_int_equal(sq_line_reader_open(&r, p, 0, &err), SQ_ERR_USAGE);
    assert_null(r);
    sq_line_reader_close(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_endings),   cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_bom),            cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_long_lines),     cmocka_unit_test(test_buffer_boundaries),
        cmocka_unit_test(test_boundary_cases), cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_zstd),           cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
