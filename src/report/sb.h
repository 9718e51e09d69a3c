/* A growable string for building pages; allocation failure is sticky (oom) and checked
 * once at the end, so drawing code stays linear. */
#ifndef SQ_REPORT_SB_H
#define SQ_REPORT_SB_H

#include <stddef.h>

typedef struct sq_sb {
    char *p;
    size_t n, cap;
    int oom;
} sq_sb;

void sq_sb_free(sq_sb *sb);
void sq_sb_puts(sq_sb *sb, const char *s);
void sq_sb_putn(sq_sb *sb, const char *s, size_t n);
void sq_sb_printf(sq_sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s escaped for HTML text and attribute values */
void sq_sb_esc(sq_sb *sb, const char *s, size_t n);

/* Compact human numbers: 987, 12,345, 1.23M; and percentages with sensible digits. */
void sq_fmt_count(char *buf, size_t cap, double v);
void sq_fmt_pct(char *buf, size_t cap, double share);   /* 0.3812 -> "38.1%" */
void sq_fmt_duration(char *buf, size_t cap, double s); /* 297 -> "5 min", 90000 -> "1.0 days" */

#endif
