#include "models/session_batcher.h"

#include <stdlib.h>
#include <string.h>

void sq__sb_free(sq__session_batcher *sb) {
    free(sb->cur);
    free(sb->stop);
    free(sb->src);
    free(sb->item);
    free(sb->target);
    free(sb->event);
    free(sb->state_src);
    free(sb->seq_off);
    memset(sb, 0, sizeof *sb);
}

int sq__sb_init(sq__session_batcher *sb, int B, const uint64_t *beg, const uint64_t *end,
                uint32_t n_seq) {
    memset(sb, 0, sizeof *sb);
    if (B < 1) return -1;
    const size_t b = (size_t)B;
    sb->cur = malloc(b * sizeof *sb->cur);
    sb->stop = malloc(b * sizeof *sb->stop);
    sb->src = malloc(b * sizeof *sb->src);
    sb->item = malloc(b * sizeof *sb->item);
    sb->target = malloc(b * sizeof *sb->target);
    sb->event = malloc(b * sizeof *sb->event);
    sb->state_src = malloc(b * sizeof *sb->state_src);
    sb->seq_off = malloc((b + 1) * sizeof *sb->seq_off);
    if (!sb->cur || !sb->stop || !sb->src || !sb->item || !sb->target || !sb->event || !sb->state_src ||
        !sb->seq_off) {
        sq__sb_free(sb);
        return -1;
    }
    sb->B = B;
    sb->beg = beg;
    sb->end = end;
    sb->n_seq = n_seq;
    for (int i = 0; i <= B; i++) sb->seq_off[i] = i; /* one event per row */
    sq__sb_rewind(sb);
    return 0;
}

void sq__sb_rewind(sq__session_batcher *sb) {
    sb->n = 0;
    sb->next = 0;
    for (int i = 0; i < sb->B && sb->next < sb->n_seq; i++, sb->next++) {
        sb->cur[i] = sb->beg[sb->next];
        sb->stop[i] = sb->end[sb->next];
        sb->src[i] = -1;
        sb->n++;
    }
}

int sq__sb_next(sq__session_batcher *sb, const uint32_t *item) {
    const int rows = sb->n;
    for (int i = 0; i < rows; i++) {
        sb->event[i] = sb->cur[i];
        sb->item[i] = item[sb->cur[i]];
        sb->target[i] = item[sb->cur[i] + 1];
        sb->state_src[i] = sb->src[i];
    }
    /* advance; refill finished slots in slot order; drop the rest, keeping order */
    int n = 0;
    for (int i = 0; i < rows; i++) {
        uint64_t cur = sb->cur[i] + 1, stop = sb->stop[i];
        int src = i;
        if (cur + 1 >= stop) { /* no next target: the sequence is done */
            if (sb->next == sb->n_seq) continue;
            cur = sb->beg[sb->next];
            stop = sb->end[sb->next++];
            src = -1;
        }
        sb->cur[n] = cur;
        sb->stop[n] = stop;
        sb->src[n++] = src;
    }
    sb->n = n;
    return rows;
}
