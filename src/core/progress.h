/* Progress display for long work: a redrawn bar on a terminal, a plain line every few
 * seconds otherwise (logs stay readable), nothing when quiet. Writes to stderr. */
#ifndef SQ_CORE_PROGRESS_H
#define SQ_CORE_PROGRESS_H

#include <stdint.h>

typedef struct sq_progress {
    const char *label;
    int tty, quiet, drawn;
    double start, last;
} sq_progress;

void sq_progress_init(sq_progress *p, const char *label, int quiet);
/* done/total in any unit; total 0 = unknown. extra: short text after the bar, may be NULL */
void sq_progress_update(sq_progress *p, uint64_t done, uint64_t total, const char *extra);
void sq_progress_finish(sq_progress *p, const char *extra);
double sq_now_s(void); /* monotonic seconds */

#endif
