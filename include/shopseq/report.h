/* The one-file HTML report of an analysis: inline SVG charts, one stylesheet, no script
 * and no external request. Deterministic: the same analysis gives the same bytes. */
#ifndef SHOPSEQ_REPORT_H
#define SHOPSEQ_REPORT_H

#include "shopseq/analytics.h"
#include "shopseq/dataset.h"
#include "shopseq/status.h"

/* Writes report.html-style output atomically to path; title may be NULL. */
sq_status sq_report_write_html(const sq_analysis *a, const sq_dataset *ds, const char *path,
                               const char *title, sq_error *err);

#endif
