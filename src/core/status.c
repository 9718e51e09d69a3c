#include "shopseq/status.h"

#include <stdio.h>
#include <string.h>

const char *sq_status_name(sq_status s) {
    switch (s) {
#define SQ__CASE(name, code, msg) case name: return #name;
        SQ_STATUS_TABLE(SQ__CASE)
#undef SQ__CASE
    }
    return "SQ_ERR_UNKNOWN";
}

const char *sq_status_message(sq_status s) {
    switch (s) {
#define SQ__CASE(name, code, msg) case name: return msg;
        SQ_STATUS_TABLE(SQ__CASE)
#undef SQ__CASE
    }
    return "unknown error";
}

sq_status sq_error_set(sq_error *err, sq_status s, const char *fmt, ...) {
    if (!err) return s;
    err->status = s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    /* one line: a detail with an embedded newline would break log parsers */
    for (char *p = err->msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return s;
}

void sq_error_clear(sq_error *err) {
    if (!err) return;
    err->status = SQ_OK;
    err->msg[0] = '\0';
}
