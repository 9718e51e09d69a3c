/* ingest: the 2-thread parse (SQ_INGEST_THREADS=2) gives exactly what the 1-thread parse
 * gives: byte-identical .sqd sections (all but the provenance, which holds a creation
 * time), the same report (counts per reason, first file:line examples), the same
 * --max-errors outcome and message, on files with rejects in both halves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "data/csv.h"
#include "data/sqd_format.h"
#include "shopseq/dataset.h"
#include "shopseq/ingest.h"
#include "test_util.h"

typedef struct run {
    sq_status st;
    sq_ingest_report rep;
    char msg[512];
    char *sqd; /* file bytes, NULL when none was written */
    size_t sqd_len;
} run;

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) abort();
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void ingest_with(const char *threads, const char *in, const sq_ingest_options *o, run *r) {
    setenv("SQ_INGEST_THREADS", threads, 1);
    char *out = test_path("par.sqd");
    unlink(out);
    sq_error err = {0};
    const char *inputs[] = {in};
    memset(r, 0, sizeof *r);
    r->st = sq_ingest_run(inputs, 1, out, o, &r->rep, &err);
    snprintf(r->msg, sizeof r->msg, "%s", r->st == SQ_OK ? "" : err.msg);
    r->sqd = read_all(out, &r->sqd_len);
    unlink(out);
    free(out);
    unsetenv("SQ_INGEST_THREADS");
}

static void assert_same_sqd(const run *a, const run *b) {
    assert_true((a->sqd == NULL) == (b->sqd == NULL));
    if (!a->sqd) return;
    sqd_header ha, hb;
    memcpy(&ha, a->sqd, sizeof ha);
    memcpy(&hb, b->sqd, sizeof hb);
    assert_int_equal(ha.n_users, hb.n_users);
    assert_int_equal(ha.n_items, hb.n_items);
    assert_int_equal(ha.n_categories, hb.n_categories);
    assert_int_equal(ha.flags, hb.flags);
    assert_int_equal(ha.n_events, hb.n_events);
    assert_int_equal(ha.n_sessions, hb.n_sessions);
    assert_int_equal(ha.time_min_ms, hb.time_min_ms);
    assert_int_equal(ha.time_max_ms, hb.time_max_ms);
    assert_int_equal(ha.n_sections, hb.n_sections);
    int compared = 0;
    for (uint32_t i = 0; i < ha.n_sections; i++) {
        const sqd_section_entry *ea = &ha.sections[i], *eb = &hb.sections[i];
        assert_int_equal(ea->id, eb->id);
        if (ea->id == SQ_SECTION_PROVENANCE) continue;
        assert_int_equal(ea->offset, eb->offset);
        assert_int_equal(ea->size, eb->size);
        assert_memory_equal(a->sqd + ea->offset, b->sqd + eb->offset, ea->size);
        compared++;
    }
    assert_true(compared >= 17);
}

static void assert_same_report(const run *a, const run *b) {
    assert_int_equal(a->st, b->st);
    assert_string_equal(a->msg, b->msg);
    const sq_ingest_report *x = &a->rep, *y = &b->rep;
    assert_int_equal(x->files, y->files);
    assert_int_equal(x->bytes_in, y->bytes_in);
    assert_int_equal(x->rows_read, y->rows_read);
    assert_int_equal(x->empty_lines, y->empty_lines);
    assert_int_equal(x->rejected_total, y->rejected_total);
    for (int r = 0; r < SQ_REJECT_COUNT; r++) {
        assert_int_equal(x->rejected[r], y->rejected[r]);
        for (int k = 0; k < SQ_INGEST_EXAMPLES; k++)
            assert_string_equal(x->examples[r][k], y->examples[r][k]);
    }
    assert_int_equal(x->duplicates, y->duplicates);
    assert_int_equal(x->events, y->events);
    assert_int_equal(x->users, y->users);
    assert_int_equal(x->items, y->items);
    assert_int_equal(x->categories, y->categories);
    assert_int_equal(x->sessions, y->sessions);
}

/* A REES46-like log with a BOM, a header, CRLF on some lines, blank lines, users that
 * span both halves, equal times, exact duplicates, and every kind of reject in each half. */
static size_t make_log(char *text, size_t cap, int rows, int with_header) {
    size_t n = 0;
#define PUT(...) (n += (size_t)snprintf(text + n, cap - n, __VA_ARGS__))
    if (with_header) PUT("\xef\xbb\xbfuser_id,item_id,category_id,behavior,timestamp,price\r\n");
    for (int i = 0; i < rows; i++) {
        int u = (i * 7) % 97, item = (i * 13) % 301;
        long t = 1700000000L + (long)((i * 37) % 5000); /* out of order, with ties */
        const char *eol = i % 5 == 0 ? "\r\n" : "\n";
        if (i >= 3000 && i < 3060) { /* a run of rejects late in the file */
            PUT("u%d,i%d,c1,view,later,1%s", u, item, eol);
            continue;
        }
        switch (i % 211) {
        case 17: PUT("u%d,,c1,view,%ld,1%s", u, t, eol); break;              /* missing_field */
        case 41: PUT("u%d,i%d,c1,jump,%ld,1%s", u, item, t, eol); break;     /* unknown_behavior */
        case 59: PUT("u%d,i%d,c1,view,soon,1%s", u, item, eol); break;      /* bad_time */
        case 73: PUT("u%d,i%d,c1,view,%ld,abc%s", u, item, t, eol); break;   /* bad_number */
        case 97: PUT("u%d,i%d,c1,view%s", u, item, eol); break;             /* wrong_field_count */
        case 113: PUT("u%d,\"i%d,c1,view,%ld,1%s", u, item, t, eol); break;  /* bad_quote */
        case 131: /* bad_encoding, only in the second half: its first examples come from there */
            if (i > 2500) {
                PUT("u%d,i\xff%d,c1,view,%ld,1%s", u, item, t, eol);
                break;
            }
            PUT("u%d,i%d,c1,view,%ld,1%s", u, item, t, eol);
            break;
        case 151: PUT("%s", eol); break;                                    /* empty line */
        case 167: /* line_too_long (--max-line 200 below) */
            PUT("u%d,i%d,c1,view,%ld,", u, item, t);
            for (int k = 0; k < 300; k++) PUT("9");
            PUT("%s", eol);
            break;
        default:
            PUT("u%d,i%d,%s,%s,%ld,%s%s", u, item, item % 11 ? "c2" : "",
                i % 3 ? "view" : "cart", t, i % 4 ? "2.5" : "", eol);
            if (i % 101 == 0) /* an exact duplicate row */
                PUT("u%d,i%d,%s,%s,%ld,%s%s", u, item, item % 11 ? "c2" : "",
                    i % 3 ? "view" : "cart", t, i % 4 ? "2.5" : "", eol);
        }
    }
    return n;
}

static void options(sq_ingest_options *o, int with_header) {
    sq_ingest_options_init(o);
    o->max_line = 200;
    for (int f = 0; f < SQ_IN_FIELD_COUNT; f++) o->columns[f] = NULL;
    if (!with_header) {
        o->header = 0;
        o->columns[SQ_IN_USER] = "1";
        o->columns[SQ_IN_ITEM] = "2";
        o->columns[SQ_IN_CATEGORY] = "3?";
        o->columns[SQ_IN_BEHAVIOR] = "4";
        o->columns[SQ_IN_TIME] = "5";
        o->columns[SQ_IN_PRICE] = "6?";
    } else {
        o->columns[SQ_IN_USER] = "user_id";
        o->columns[SQ_IN_ITEM] = "item_id";
        o->columns[SQ_IN_CATEGORY] = "category_id?";
        o->columns[SQ_IN_BEHAVIOR] = "behavior";
        o->columns[SQ_IN_TIME] = "timestamp";
        o->columns[SQ_IN_PRICE] = "price?";
    }
}

static void compare_runs(const char *in, const sq_ingest_options *o, sq_status want,
                         int want_parallel) {
    run one, two;
    ingest_with("1", in, o, &one);
    ingest_with("2", in, o, &two);
    assert_int_equal(one.st, want);
    assert_int_equal(one.rep.parse_threads, 1);
    if (want_parallel) assert_int_equal(two.rep.parse_threads, 2);
    assert_same_report(&one, &two);
    assert_same_sqd(&one, &two);
    free(one.sqd);
    free(two.sqd);
}

static void with_log(int rows, int with_header, void (*body)(const char *in)) {
    size_t cap = (size_t)rows * 400 + 4096;
    char *text = malloc(cap);
    size_t n = make_log(text, cap, rows, with_header);
    char *in = test_path(with_header ? "par_h.csv" : "par_n.csv");
    write_bytes(in, text, n);
    body(in);
    unlink(in);
    free(in);
    free(text);
}

static void header_body(const char *in) {
    sq_ingest_options o;
    options(&o, 1);
    compare_runs(in, &o, SQ_OK, 1);
    /* every reason has examples in both halves: the second half's come after the first's */
    run two;
    ingest_with("2", in, &o, &two);
    assert_true(two.rep.rejected[SQ_REJECT_BAD_TIME] >= 4);
    assert_non_null(strstr(two.rep.examples[SQ_REJECT_BAD_TIME][0], ":62: ")); /* header, a duplicate */
    /* row 2663 = 12 * 211 + 131: line 2663 + 2 + the 27 duplicates before it */
    assert_non_null(strstr(two.rep.examples[SQ_REJECT_BAD_ENCODING][0], ":2692: invalid UTF-8"));
    free(two.sqd);
    sq_ingest_options_free(&o);
}

static void test_header_bom_crlf_rejects_both_halves(void **state) {
    (void)state;
    with_log(4000, 1, header_body);
}

static void noheader_body(const char *in) {
    sq_ingest_options o;
    options(&o, 0);
    compare_runs(in, &o, SQ_OK, 1);
    sq_ingest_options_free(&o);
}

static void test_no_header_first_row_sets_shape(void **state) {
    (void)state;
    with_log(4000, 0, noheader_body);
}

static void limits_body(const char *in) {
    sq_ingest_options o;
    options(&o, 1);
    /* 8 rejects per 211 rows and a run of 60 late, about 210 in all: stop in the second half */
    o.max_errors = 120;
    o.max_error_ratio = 1.0;
    compare_runs(in, &o, SQ_ERR_TOO_MANY_ERRORS, 0);
    o.max_errors = 100000;
    compare_runs(in, &o, SQ_OK, 1);
    /* a ratio that the whole file passes but a run of rejects in the second half trips */
    o.max_errors = UINT64_MAX;
    o.max_error_ratio = 0.05;
    compare_runs(in, &o, SQ_ERR_TOO_MANY_ERRORS, 0);
    o.max_error_ratio = 0.10;
    compare_runs(in, &o, SQ_OK, 1);
    sq_ingest_options_free(&o);
}

static void test_max_errors_same_stop(void **state) {
    (void)state;
    with_log(4000, 1, limits_body);
}

static void test_tiny_file(void **state) {
    (void)state;
    /* so small that there may be nothing to split: still the same result */
    const char text[] = "user_id,item_id,category_id,behavior,timestamp,price\nu1,i1,,view,1,\n";
    char *in = test_path("tiny.csv");
    write_bytes(in, text, sizeof text - 1);
    sq_ingest_options o;
    options(&o, 1);
    compare_runs(in, &o, SQ_OK, 0);
    sq_ingest_options_free(&o);
    unlink(in);
    free(in);
}

/* The one-pass splitter of plain ASCII lines agrees with sq_csv_split, or declines. */
static void test_simple_split_agrees(void **state) {
    (void)state;
    static const char *lines[] = {
        "", ",", "a", "a,b", "a,b,", ",a,,b,,", "2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3-4e00-8c23-a032dfed738c",
        "12345678,23456789,34567890", "1234567,", "abcdefgh,ijklmnop,", "a,\"b,c\",d", "abcdefghij\"k",
        "caf\xc3\xa9,x", "abcdefgh\xff,1", "a\tb\tc", "a;b;c",
    };
    const char delims[] = {',', '\t', ';'};
    sq_field f1[8], f2[8];
    char scratch[256];
    for (size_t d = 0; d < sizeof delims; d++) {
        for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
            size_t n = strlen(lines[i]);
            int a = sq_csv_split_simple(lines[i], n, delims[d], f1, 8);
            if (a == SQ_CSV_NOT_SIMPLE) {
                assert_true(strchr(lines[i], '"') || strpbrk(lines[i], "\x80\x81\xa9\xc3\xff"));
                continue;
            }
            int b = sq_csv_split(lines[i], n, delims[d], f2, 8, scratch);
            assert_int_equal(a, b);
            for (int k = 0; k < a && k < 8; k++) {
                assert_ptr_equal(f1[k].p, f2[k].p);
                assert_int_equal(f1[k].n, f2[k].n);
            }
        }
    }
    assert_int_equal(sq_csv_split_simple("a b", 3, ' ', f1, 8), SQ_CSV_NOT_SIMPLE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_bom_crlf_rejects_both_halves),
        cmocka_unit_test(test_no_header_first_row_sets_shape),
        cmocka_unit_test(test_max_errors_same_stop),
        cmocka_unit_test(test_tiny_file),
        cmocka_unit_test(test_simple_split_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
