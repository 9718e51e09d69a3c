#include "shopseq/report.h"
#include "core/fileio.h"
#include <string.h>
sq_status sq_report_write_html(const sq_analysis *a, const sq_dataset *ds, const char *path,
                               const char *title, sq_error *err) {
    const char *s = "<!doctype html><title>shopseq</title>\n";
    return sq_write_file_atomic(path, s, strlen(s), err);
}
