/* Writing CSV: original ids may hold commas, quotes or newlines, and a reader must get them
 * back unchanged (RFC 4180 quoting). */
#ifndef SQ_CORE_CSVOUT_H
#define SQ_CORE_CSVOUT_H

#include <stddef.h>
#include <stdio.h>

/* Writes s[0..n) as one CSV field: as is, or quoted with inner quotes doubled when it
 * contains a comma, a quote, CR or LF. */
void sq_csv_write_field(FILE *fp, const char *s, size_t n);

#endif
