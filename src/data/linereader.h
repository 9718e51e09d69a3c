/* Lines from a file or stdin, plain, gzip or zstd (detected by magic bytes, not by name).
 * Strips "\n" / "\r\n", a UTF-8 BOM at the start of the file, and returns a last line that
 * has no newline. Lines longer than max_line are not returned whole: the reader skips to
 * the next newline and returns the line with SQ_LINE_TOO_LONG set (and len 0), so the
 * caller can count it with its line number. Memory is bounded by max_line + buffers. */
#ifndef SQ_DATA_LINEREADER_H
#define SQ_DATA_LINEREADER_H

#include <stddef.h>
#include <stdint.h>

#include "shopseq/status.h"

enum {
    SQ_LINE_TOO_LONG = 1u << 0, /* content dropped; len == 0 */
    SQ_LINE_HAS_NUL = 1u << 1,  /* the line contains a NUL byte */
};

typedef struct sq_line {
    const char *data; /* valid until the next call; not NUL-terminated */
    size_t len;
    uint64_t lineno; /* 1-based */
    unsigned flags;
} sq_line;

typedef enum { SQ_COMPRESSION_NONE, SQ_COMPRESSION_GZIP, SQ_COMPRESSION_ZSTD } sq_compression;

typedef struct sq_line_reader sq_line_reader;

/* path "-" reads stdin. */
sq_status sq_line_reader_open(sq_line_reader **r, const char *path, size_t max_line,
                              sq_error *err);
/* 1 with a line, 0 at end of input, -1 on a read/decompression error (err set, with the
 * file name and line number). */
int sq_line_reader_next(sq_line_reader *r, sq_line *line, sq_error *err);
/* A plain file read from byte start (just after a newline) to its end, with the line
 * numbers of the whole file; bytes_in counts from start. For a parallel parse. */
sq_status sq_line_reader_open_at(sq_line_reader **r, const char *path, size_t max_line,
                                 uint64_t start, sq_error *err);
/* Plain mode: end the input at file offset end (after a newline, not before what was
 * already returned). 0 ok, -1 when that is not possible. */
int sq_line_reader_limit(sq_line_reader *r, uint64_t end);
/* Lines returned so far, counted from the start of the file. */
uint64_t sq_line_reader_lineno(const sq_line_reader *r);
/* Plain mode: file offset of the next byte not yet returned in a line. */
uint64_t sq_line_reader_tell(const sq_line_reader *r);
sq_compression sq_line_reader_compression(const sq_line_reader *r);
uint64_t sq_line_reader_bytes_in(const sq_line_reader *r);  /* raw bytes consumed so far */
uint64_t sq_line_reader_file_size(const sq_line_reader *r); /* 0 when unknown (stdin, pipe) */
void sq_line_reader_close(sq_line_reader *r); /* NULL ok */

#endif
