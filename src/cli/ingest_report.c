/* Printing an ingest report: a table for people, one JSON object for machines. */
#include <jansson.h>
#include <stdio.h>

#include "../data/timeparse.h"
#include "cli.h"
#include "shopseq/ingest.h"

void sq_cli_print_ingest_report(FILE *fp, const sq_ingest_report *r, const char *out) {
    char t0[32], t1[32];
    sq_time_format_iso(r->time_min_ms, t0, sizeof t0);
    sq_time_format_iso(r->time_max_ms, t1, sizeof t1);
    fprintf(fp, "ingest: %llu files, %.1f MB read in %.2fs (%.0f rows/s)\n",
            (unsigned long long)r->files, (double)r->bytes_in / 1e6, r->seconds,
            r->seconds > 0 ? (double)r->rows_read / r->seconds : 0.0);
    fprintf(fp, "  %-22s %12llu\n", "rows read", (unsigned long long)r->rows_read);
    if (r->empty_lines)
        fprintf(fp, "  %-22s %12llu\n", "empty lines skipped", (unsigned long long)r->empty_lines);
    fprintf(fp, "  %-22s %12llu\n", "rejected", (unsigned long long)r->rejected_total);
    for (int k = 0; k < SQ_REJECT_COUNT; k++) {
        if (!r->rejected[k]) continue;
        fprintf(fp, "    %-20s %12llu  (%s)\n", sq_reject_name((sq_reject_reason)k),
                (unsigned long long)r->rejected[k], sq_reject_help((sq_reject_reason)k));
        for (int e = 0; e < SQ_INGEST_EXAMPLES && (uint64_t)e < r->rejected[k]; e++)
            fprintf(fp, "      e.g. %s\n", r->examples[k][e]);
    }
    fprintf(fp, "  %-22s %12llu\n", "duplicates removed", (unsigned long long)r->duplicates);
    if (!r->events) return;
    fprintf(fp, "  %-22s %12llu\n", "events written", (unsigned long long)r->events);
    fprintf(fp, "  %-22s %12u\n", "users", r->users);
    fprintf(fp, "  %-22s %12u\n", "items", r->items);
    fprintf(fp, "  %-22s %12u\n", "categories", r->categories);
    fprintf(fp, "  %-22s %12llu\n", "sessions", (unsigned long long)r->sessions);
    fprintf(fp, "  %-22s %s .. %s\n", "time span", t0, t1);
    if (out) fprintf(fp, "  %-22s %s\n", "output", out);
}

void sq_cli_json_ingest_report(FILE *fp, const sq_ingest_report *r, const char *out,
                               const sq_error *err) {
    json_t *o = json_object();
    json_object_set_new(o, "ok", json_boolean(err == NULL));
    if (err) json_object_set_new(o, "error", json_string(err->msg));
    if (out && !err) json_object_set_new(o, "output", json_string(out));
    json_object_set_new(o, "files", json_integer((json_int_t)r->files));
    json_object_set_new(o, "bytes_in", json_integer((json_int_t)r->bytes_in));
    json_object_set_new(o, "rows_read", json_integer((json_int_t)r->rows_read));
    json_object_set_new(o, "empty_lines", json_integer((json_int_t)r->empty_lines));
    json_object_set_new(o, "events", json_integer((json_int_t)r->events));
    json_object_set_new(o, "duplicates", json_integer((json_int_t)r->duplicates));
    json_object_set_new(o, "rejected_total", json_integer((json_int_t)r->rejected_total));
    json_t *rej = json_object(), *ex = json_object();
    for (int k = 0; k < SQ_REJECT_COUNT; k++) {
        const char *name = sq_reject_name((sq_reject_reason)k);
        json_object_set_new(rej, name, json_integer((json_int_t)r->rejected[k]));
        if (!r->rejected[k]) continue;
        json_t *a = json_array();
        for (int e = 0; e < SQ_INGEST_EXAMPLES && (uint64_t)e < r->rejected[k]; e++)
            json_array_append_new(a, json_string(r->examples[k][e]));
        json_object_set_new(ex, name, a);
    }
    json_object_set_new(o, "rejected", rej);
    json_object_set_new(o, "rejected_examples", ex);
    json_object_set_new(o, "users", json_integer(r->users));
    json_object_set_new(o, "items", json_integer(r->items));
    json_object_set_new(o, "categories", json_integer(r->categories));
    json_object_set_new(o, "sessions", json_integer((json_int_t)r->sessions));
    if (r->events) {
        char t[32];
        sq_time_format_iso(r->time_min_ms, t, sizeof t);
        json_object_set_new(o, "time_min", json_string(t));
        sq_time_format_iso(r->time_max_ms, t, sizeof t);
        json_object_set_new(o, "time_max", json_string(t));
    }
    json_object_set_new(o, "seconds", json_real(r->seconds));
    json_object_set_new(o, "rows_per_s",
                        json_real(r->seconds > 0 ? (double)r->rows_read / r->seconds : 0));
    json_dumpf(o, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', fp);
    json_decref(o);
}
