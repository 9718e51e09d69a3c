/* Raw behaviour logs -> .sqd dataset.
 *
 * parse (CSV/TSV/JSON Lines, plain/gzip/zstd, several files or stdin) -> map columns and
 * vocabulary -> validate (every rejected row counted by reason, with file:line examples)
 * -> dense ids -> sort per user by time (stable) -> drop exact duplicates -> sessions
 * (inactivity gap or a session column) -> write .sqd atomically. */
#ifndef SHOPSEQ_INGEST_H
#define SHOPSEQ_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "shopseq/status.h"

/* Canonical fields an input column can map to. */
#define SQ_INGEST_FIELD_TABLE(X)                                            \
    X(SQ_IN_USER, "user", "user id (required)")                             \
    X(SQ_IN_ITEM, "item", "item id (required)")                             \
    X(SQ_IN_BEHAVIOR, "behavior", "behaviour word, mapped by --behaviors")  \
    X(SQ_IN_TIME, "time", "event time: Unix s/ms or ISO-8601")              \
    X(SQ_IN_CATEGORY, "category", "category id")                            \
    X(SQ_IN_PRICE, "price", "price, a decimal number >= 0")                 \
    X(SQ_IN_SESSION, "session", "session id (else sessions are cut by a gap)") \
    X(SQ_IN_TIME_OFFSET, "time_offset", "milliseconds added to time")       \
    X(SQ_IN_MONTH, "month", "month 1-12, with day and --year instead of time") \
    X(SQ_IN_DAY, "day", "day of month, with month and --year")

typedef enum {
#define SQ__IN_ENUM(id, name, help) id,
    SQ_INGEST_FIELD_TABLE(SQ__IN_ENUM)
#undef SQ__IN_ENUM
    SQ_IN_FIELD_COUNT
} sq_ingest_field;

/* Why a row was rejected. Stable names appear in reports and JSON. */
#define SQ_REJECT_TABLE(X)                                                       \
    X(SQ_REJECT_FIELD_COUNT, "wrong_field_count", "number of fields differs from the header") \
    X(SQ_REJECT_MISSING_FIELD, "missing_field", "a required field is empty")     \
    X(SQ_REJECT_BAD_NUMBER, "bad_number", "a number (price, month, day, offset) does not parse") \
    X(SQ_REJECT_BAD_TIME, "bad_time", "the time does not parse")                 \
    X(SQ_REJECT_UNKNOWN_BEHAVIOR, "unknown_behavior", "the behaviour word is not mapped") \
    X(SQ_REJECT_LINE_TOO_LONG, "line_too_long", "the line exceeds --max-line bytes") \
    X(SQ_REJECT_BAD_ENCODING, "bad_encoding", "invalid UTF-8 or a NUL byte")     \
    X(SQ_REJECT_BAD_QUOTE, "bad_quote", "unbalanced CSV quotes")                 \
    X(SQ_REJECT_BAD_JSON, "bad_json", "the JSON Lines record does not parse")

typedef enum {
#define SQ__REJECT_ENUM(id, name, help) id,
    SQ_REJECT_TABLE(SQ__REJECT_ENUM)
#undef SQ__REJECT_ENUM
    SQ_REJECT_COUNT
} sq_reject_reason;

const char *sq_ingest_field_name(sq_ingest_field f);
const char *sq_reject_name(sq_reject_reason r);
const char *sq_reject_help(sq_reject_reason r);

typedef enum { SQ_INPUT_AUTO, SQ_INPUT_CSV, SQ_INPUT_JSONL } sq_input_format;

enum {
    SQ_INGEST_STRIP_ZERO_FRACTION = 1u << 0, /* ids like "266079.0" become "266079" */
    SQ_INGEST_SYNTHETIC_TIME = 1u << 1,      /* no time column: time is the row order */
};

typedef struct sq_ingest_options {
    sq_input_format format;
    char delimiter;    /* 0: sniff from the first line */
    int header;        /* 1 yes, 0 no, -1 auto (yes when any column is given by name) */
    /* Column of each field: header names ("visitorid|user_id": first that exists), or a
     * 1-based column number ("3"). A trailing '?' marks it optional. NULL: not mapped. */
    const char *columns[SQ_IN_FIELD_COUNT];
    /* "pv=view,addtocart=cart,transaction=buy"; canonical names always map to themselves. */
    const char *behaviors;
    const char *default_behavior; /* used when no behaviour column is mapped */
    int time_format;              /* sq_time_format */
    int year;                     /* for month/day inputs */
    unsigned flags;
    int64_t session_gap_s; /* default 1800 */
    uint64_t max_errors;   /* abort when more rows are rejected (UINT64_MAX: no limit) */
    double max_error_ratio; /* abort when rejected/rows exceeds this (1.0: no limit) */
    size_t max_line;        /* bytes; default 1 MiB */
    const char *preset_name; /* recorded in provenance */
    /* progress: called now and then with bytes read of the current file and its size. */
    void (*progress)(void *ctx, const char *stage, uint64_t done, uint64_t total);
    void *progress_ctx;
    char *owned_[8]; /* private: copies made by sq_ingest_parse_map */
    int n_owned_;
} sq_ingest_options;

#define SQ_INGEST_EXAMPLES 3

typedef struct sq_ingest_report {
    uint64_t files, bytes_in;
    uint64_t rows_read;   /* data rows seen (not header, not empty lines) */
    uint64_t empty_lines; /* skipped blank lines (counted, not events) */
    uint64_t rejected_total;
    uint64_t rejected[SQ_REJECT_COUNT];
    char examples[SQ_REJECT_COUNT][SQ_INGEST_EXAMPLES][200]; /* "file:line: detail" */
    uint64_t duplicates;  /* exact duplicate events removed */
    uint64_t events;      /* written */
    uint32_t users, items, categories;
    uint64_t sessions;
    int64_t time_min_ms, time_max_ms;
    double seconds;
    int parse_threads; /* most threads that parsed one input (2: split at a line boundary) */
} sq_ingest_report;

void sq_ingest_options_init(sq_ingest_options *o); /* the simulator's own layout */
void sq_ingest_options_free(sq_ingest_options *o);

/* Names of the presets, NULL-terminated. */
extern const char *const sq_ingest_preset_names[];
/* Applies a named preset on top of o. SQ_ERR_USAGE for an unknown name. */
sq_status sq_ingest_preset(sq_ingest_options *o, const char *name, sq_error *err);
/* Applies "--map user=visitorid,item=3,time=ts?" on top of o. */
sq_status sq_ingest_parse_map(sq_ingest_options *o, const char *spec, sq_error *err);

/* Reads every input (path "-" is stdin) and writes out_path. rep is filled even on
 * failure (as far as it got). */
sq_status sq_ingest_run(const char *const *inputs, size_t n_inputs, const char *out_path,
                        const sq_ingest_options *o, sq_ingest_report *rep, sq_error *err);

#endif
