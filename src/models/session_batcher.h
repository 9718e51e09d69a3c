/* Session-parallel mini-batches (the official GRU4Rec training order). Internal to
 * src/models.
 *
 * B slots each hold one sequence (a session). A step takes, from every active slot, the
 * current event as input and the next event as target, then moves the slot on by one
 * event. A slot whose sequence has no next target left takes the next sequence in order
 * and starts from a zero state; when none is left the slot is dropped and the slots after
 * it move down (so a step's rows stay dense). The epoch ends when no slot is active.
 * state_src[r] says where row r's recurrent state comes from: the row it had in the
 * previous step, or -1 for a sequence that starts here. */
#ifndef SQ_MODELS_SESSION_BATCHER_H
#define SQ_MODELS_SESSION_BATCHER_H

#include <stdint.h>

typedef struct sq__session_batcher {
    int B, n;               /* slots, active slots */
    uint32_t n_seq, next;   /* sequences, the next one to take */
    const uint64_t *beg, *end; /* sequence spans [beg, end) in taking order; end - beg >= 2 */
    uint64_t *cur, *stop;   /* per active slot: current input event, end of its sequence */
    int *src;               /* per active slot: state source of its next row (-1: fresh) */
    /* the step built by sq__sb_next: rows [0, rows) */
    uint32_t *item, *target;
    uint64_t *event;        /* the input event of each row (for its other columns) */
    int *state_src, *seq_off;
} sq__session_batcher;

/* 0 on success, -1 when out of memory. beg/end must outlive the batcher. */
int sq__sb_init(sq__session_batcher *sb, int B, const uint64_t *beg, const uint64_t *end,
                uint32_t n_seq);
/* Starts the schedule over from the first sequence (the next epoch), allocating nothing. */
void sq__sb_rewind(sq__session_batcher *sb);
/* Builds the next step from the event items `item` (indexed by event); returns its rows,
 * 0 when the epoch is over. */
int sq__sb_next(sq__session_batcher *sb, const uint32_t *item);
void sq__sb_free(sq__session_batcher *sb);

#endif
