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

/* The same page with a "Model comparison" section (table and NDCG@10 bars) after the
 * analytics when cmp is not NULL (include/shopseq/compare.h). */
struct sq_compare_result;
sq_status sq_report_write_html_compare(const sq_analysis *a, const sq_dataset *ds,
                                       const struct sq_compare_result *cmp, const char *path,
                                       const char *title, sq_error *err);

/* The same page with a "Predictions" section at the end when pred is not NULL (per task:
 * the test ROC curve of every scorer, a reliability diagram, the measures; see
 * include/shopseq/predict_report.h). Either part may be NULL. */
struct sq_pred_summary;
sq_status sq_report_write_html_full(const sq_analysis *a, const sq_dataset *ds,
                                    const struct sq_compare_result *cmp,
                                    const struct sq_pred_summary *pred, const char *path,
                                    const char *title, sq_error *err);

#endif
