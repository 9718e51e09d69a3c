/* Errors are values: one status enum generated from one table, never renumbered,
 * plus a caller-owned error struct that carries a one-line detail (file:line, field). */
#ifndef SHOPSEQ_STATUS_H
#define SHOPSEQ_STATUS_H

#include <stdarg.h>

#define SQ_STATUS_TABLE(X)                                  \
    X(SQ_OK, 0, "ok")                                       \
    X(SQ_ERR_NOMEM, 1, "out of memory")                     \
    X(SQ_ERR_IO, 2, "input/output error")                   \
    X(SQ_ERR_FORMAT, 3, "malformed input")                  \
    X(SQ_ERR_USAGE, 4, "bad usage")                         \
    X(SQ_ERR_LIMIT, 5, "limit exceeded")                    \
    X(SQ_ERR_CHECKSUM, 6, "checksum mismatch")              \
    X(SQ_ERR_VERSION, 7, "unsupported format version")      \
    X(SQ_ERR_NOT_FOUND, 8, "not found")                     \
    X(SQ_ERR_TOO_MANY_ERRORS, 9, "too many rejected rows")  \
    X(SQ_ERR_INTERNAL, 10, "internal error")

typedef enum {
#define SQ__STATUS_ENUM(name, code, msg) name = code,
    SQ_STATUS_TABLE(SQ__STATUS_ENUM)
#undef SQ__STATUS_ENUM
} sq_status;

/* Caller-owned; msg holds one line without trailing newline. */
typedef struct sq_error {
    sq_status status;
    char msg[512];
} sq_error;

const char *sq_status_name(sq_status s);
const char *sq_status_message(sq_status s);

/* Sets err (if not NULL) and returns s, so callers can `return sq_error_set(...)`. */
sq_status sq_error_set(sq_error *err, sq_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sq_error_clear(sq_error *err);

#endif
