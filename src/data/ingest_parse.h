/* Internal to ingest: the parse stage's state, shared by ingest_parse.c (rows -> columns)
 * and ingest_build.c (columns -> sorted, de-duplicated, sessionized .sqd). */
#ifndef SQ_DATA_INGEST_PARSE_H
#define SQ_DATA_INGEST_PARSE_H

#include <stdatomic.h>
#include <stdint.h>

#include "intern.h"
#include "linereader.h"
#include "timeparse.h"
#include "shopseq/ingest.h"

typedef struct sq_event_columns {
    uint32_t *user, *item, *category, *session_key;
    uint32_t *row_hash; /* of the raw row: duplicates are identical rows, not just equal mapped fields */
    uint8_t *behavior;
    int64_t *time_ms;
    float *price;
    uint64_t n, cap;
    int fixed; /* cap may not grow (the columns are a window of larger ones) */
} sq_event_columns;

/* Grows every column to hold cap events (no-op when they do). 0 ok, -1 out of memory. */
int sq__columns_reserve(sq_event_columns *ev, uint64_t cap);

typedef struct sq_behavior_word {
    const char *word;
    size_t len;
    int code;
} sq_behavior_word;

typedef struct sq_ingest_state {
    const sq_ingest_options *o;
    sq_ingest_report *rep;
    sq_intern users, items, categories, sessions;
    sq_event_columns ev;
    sq_behavior_word words[64];
    int n_words;
    int default_behavior;
    char *behavior_copy;
    int any_category, any_price, any_session;
    uint64_t synthetic_clock;
    sq_time_cache time_cache; /* per state: each parse thread has its own */
    const char *const *inputs;
    size_t n_inputs;
    /* parallel parse (ingest_parallel.c); all zero in a plain sequential parse */
    int defer_limits;              /* a later part: count rejects, never stop; the merge judges */
    double worst_excess;           /* with defer_limits: max of rejected - ratio * rows so far */
    const atomic_int *cancel;      /* stop at the next check when set */
    atomic_uint_least64_t *publish_bytes;    /* a later part stores its bytes read here */
    const atomic_uint_least64_t *peer_bytes; /* the first part adds them to its progress */
} sq_ingest_state;

/* How a delimited input's rows are read: from its first line (the header, if any). */
typedef struct sq_csv_shape {
    char delim;
    int cols[SQ_IN_FIELD_COUNT]; /* 0-based column of each field, -1 unmapped */
    int expected;                /* fields per row; -1 until the first well-formed row */
    int need;                    /* rows need at least this many fields */
} sq_csv_shape;

sq_status sq__ingest_state_init(sq_ingest_state *s, const sq_ingest_options *o,
                                sq_ingest_report *rep, sq_error *err);
void sq__ingest_state_free(sq_ingest_state *s);
/* Parses one input into s->ev; counts and records rejects in s->rep. */
sq_status sq__ingest_file(sq_ingest_state *s, const char *path, sq_error *err);
/* Delimiter, column mapping and (with a header) the field count, from the first line;
 * *first_is_header tells whether that line was the header (else it is the first row). */
sq_status sq__csv_shape(sq_ingest_state *s, const char *path, const sq_line *first,
                        sq_csv_shape *shape, int *first_is_header, sq_error *err);
/* Parses rows from r into s; first (may be NULL) is a row already taken from r. */
sq_status sq__csv_rows(sq_ingest_state *s, sq_line_reader *r, const char *path,
                       sq_csv_shape *shape, const sq_line *first, sq_error *err);
/* Field count of a well-formed row (what sets the shape without a header), else -1. */
int sq__csv_row_fields(const sq_line *line, char delim);

/* ingest_parallel.c: how many threads parse this input (1 or 2), and the 2-thread parse:
 * the rest of the file is split at a line boundary, the second part parsed into its own
 * state, then merged so that everything equals a 1-thread parse. */
int sq__ingest_threads(const sq_ingest_state *s, const sq_line_reader *r);
sq_status sq__csv_rows_parallel(sq_ingest_state *s, sq_line_reader *r, const char *path,
                                sq_csv_shape *shape, const sq_line *first, sq_error *err);

/* Sorts, de-duplicates, sessionizes and writes; frees the event columns as it goes. */
sq_status sq__ingest_build(sq_ingest_state *s, const char *out_path, sq_error *err);
/* JSON text (malloc'd) recording inputs, mapping and counts; NULL when out of memory. */
char *sq__ingest_provenance(const sq_ingest_state *s);

#endif
