/* Internal to ingest: the parse stage's state, shared by ingest_parse.c (rows -> columns)
 * and ingest_build.c (columns -> sorted, de-duplicated, sessionized .sqd). */
#ifndef SQ_DATA_INGEST_PARSE_H
#define SQ_DATA_INGEST_PARSE_H

#include <stdint.h>

#include "intern.h"
#include "shopseq/ingest.h"

typedef struct sq_event_columns {
    uint32_t *user, *item, *category, *session_key;
    uint32_t *row_hash; /* of the raw row: duplicates are identical rows, not just equal mapped fields */
    uint8_t *behavior;
    int64_t *time_ms;
    float *price;
    uint64_t n, cap;
} sq_event_columns;

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
    const char *const *inputs;
    size_t n_inputs;
} sq_ingest_state;

sq_status sq__ingest_state_init(sq_ingest_state *s, const sq_ingest_options *o,
                                sq_ingest_report *rep, sq_error *err);
void sq__ingest_state_free(sq_ingest_state *s);
/* Parses one input into s->ev; counts and records rejects in s->rep. */
sq_status sq__ingest_file(sq_ingest_state *s, const char *path, sq_error *err);
/* Sorts, de-duplicates, sessionizes and writes; frees the event columns as it goes. */
sq_status sq__ingest_build(sq_ingest_state *s, const char *out_path, sq_error *err);
/* JSON text (malloc'd) recording inputs, mapping and counts; NULL when out of memory. */
char *sq__ingest_provenance(const sq_ingest_state *s);

#endif
