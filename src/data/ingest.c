/* sq_ingest_run: parse every input, then build the dataset (see ingest_parse.c and
 * ingest_build.c), recording what was read and how in the file's provenance. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ingest_parse.h"
#include "timeparse.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

char *sq__ingest_provenance(const sq_ingest_state *s) {
    const char *const *inputs = s->inputs;
    size_t n_inputs = s->n_inputs;
    const sq_ingest_options *o = s->o;
    const sq_ingest_report *rep = s->rep;
    json_t *root = json_object();
    json_object_set_new(root, "producer", json_string("shopseq ingest"));
    json_t *files = json_array();
    for (size_t i = 0; i < n_inputs; i++) {
        json_t *f = json_object();
        json_object_set_new(f, "path", json_string(inputs[i]));
        struct stat st;
        if (strcmp(inputs[i], "-") && stat(inputs[i], &st) == 0)
            json_object_set_new(f, "bytes", json_integer((json_int_t)st.st_size));
        json_array_append_new(files, f);
    }
    json_object_set_new(root, "inputs", files);
    if (o->preset_name) json_object_set_new(root, "preset", json_string(o->preset_name));
    json_t *cols = json_object();
    for (int f = 0; f < SQ_IN_FIELD_COUNT; f++)
        if (o->columns[f])
            json_object_set_new(cols, sq_ingest_field_name((sq_ingest_field)f),
                                json_string(o->columns[f]));
    json_object_set_new(root, "columns", cols);
    if (o->behaviors) json_object_set_new(root, "behaviors", json_string(o->behaviors));
    json_object_set_new(root, "session_gap_s", json_integer(o->session_gap_s));
    json_object_set_new(root, "rows_read", json_integer((json_int_t)rep->rows_read));
    json_object_set_new(root, "duplicates", json_integer((json_int_t)rep->duplicates));
    json_t *rej = json_object();
    for (int r = 0; r < SQ_REJECT_COUNT; r++)
        if (rep->rejected[r])
            json_object_set_new(rej, sq_reject_name((sq_reject_reason)r),
                                json_integer((json_int_t)rep->rejected[r]));
    json_object_set_new(root, "rejected", rej);
    char when[32];
    sq_time_format_iso((int64_t)time(NULL) * 1000, when, sizeof when);
    json_object_set_new(root, "created", json_string(when));
    char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    return text;
}

sq_status sq_ingest_run(const char *const *inputs, size_t n_inputs, const char *out_path,
                        const sq_ingest_options *o, sq_ingest_report *rep, sq_error *err) {
    double t0 = now_s();
    memset(rep, 0, sizeof *rep);
    if (n_inputs == 0) return sq_error_set(err, SQ_ERR_USAGE, "no input files");
    sq_ingest_state s;
    sq_status st = sq__ingest_state_init(&s, o, rep, err);
    if (st != SQ_OK) return st;
    s.inputs = inputs;
    s.n_inputs = n_inputs;
    for (size_t i = 0; i < n_inputs && st == SQ_OK; i++) st = sq__ingest_file(&s, inputs[i], err);
    if (st == SQ_OK && rep->rows_read > 0 &&
        (double)rep->rejected_total > o->max_error_ratio * (double)rep->rows_read)
        st = sq_error_set(err, SQ_ERR_TOO_MANY_ERRORS,
                          "%llu of %llu rows rejected (%.1f%%, limit %.1f%%); check the column "
                          "mapping, or see --max-errors",
                          (unsigned long long)rep->rejected_total,
                          (unsigned long long)rep->rows_read,
                          100.0 * (double)rep->rejected_total / (double)rep->rows_read,
                          100.0 * o->max_error_ratio);
    if (st == SQ_OK) {
        if (o->progress) o->progress(o->progress_ctx, "sort", 0, 0);
        st = sq__ingest_build(&s, out_path, err);
    }
    rep->seconds = now_s() - t0;
    sq__ingest_state_free(&s);
    return st;
}
