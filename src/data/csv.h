/* Field splitting for one delimited line (RFC 4180 quoting). */
#ifndef SQ_DATA_CSV_H
#define SQ_DATA_CSV_H

#include <stddef.h>

typedef struct sq_field {
    const char *p; /* into the line, or into scratch for an unescaped quoted field */
    size_t n;
} sq_field;

enum {
    SQ_CSV_BAD_QUOTE = -1, /* unterminated quote, or text after a closing quote */
    SQ_CSV_NOT_SIMPLE = -2, /* sq_csv_split_simple: the line needs sq_csv_split */
};

/* Splits line[0..len) at delim. delim ' ' means "any run of spaces or tabs" (the SASRec
 * `user item` files), with leading/trailing blanks ignored. A field in double quotes may
 * contain the delimiter and "" for a quote; such a field is unescaped into scratch (which
 * must hold len bytes). Unquoted fields are returned as they are (no trimming).
 * Returns the number of fields in the line (it may exceed max_fields; only the first
 * max_fields are stored) or SQ_CSV_BAD_QUOTE. An empty line has 1 empty field. */
int sq_csv_split(const char *line, size_t len, char delim, sq_field *fields, int max_fields,
                 char *scratch);

/* The common case in one pass: a line of ASCII bytes (hence valid UTF-8) with no quote,
 * split at delim (not ' '). Returns what sq_csv_split returns for it, or
 * SQ_CSV_NOT_SIMPLE (fields untouched or partly written) for any other line. */
int sq_csv_split_simple(const char *line, size_t len, char delim, sq_field *fields,
                        int max_fields);

/* Guesses the delimiter of a header or first line: the most frequent of , \t ; | outside
 * quotes, or ' ' when none occurs and the line has blanks. Returns ',' by default. */
char sq_csv_sniff_delimiter(const char *line, size_t len);

#endif
