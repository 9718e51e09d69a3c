/* ingest: exact reject counts per reason on a malformed file, ordering, duplicates,
 * sessions, dictionaries back to original ids, JSON Lines, gzip, --max-errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <zlib.h>

#include <cmocka.h>

#include "shopseq/behavior.h"
#include "shopseq/dataset.h"
#include "shopseq/ingest.h"
#include "test_util.h"

static sq_status ingest_text(const char *name, const char *text, size_t len,
                             sq_ingest_options *o, sq_ingest_report *rep, char **out_path) {
    char *in = test_path(name);
    write_bytes(in, text, len);
    char *out = test_path("out.sqd");
    unlink(out);
    sq_error err = {0};
    const char *inputs[] = {in};
    sq_status st = sq_ingest_run(inputs, 1, out, o, rep, &err);
    if (st != SQ_OK) printf("ingest: %s\n", err.msg);
    unlink(in);
    free(in);
    *out_path = out;
    return st;
}

static int64_t ev_user_index(const sq_dataset *ds, const char *user) {
    return sq_dict_find(&ds->users, user, strlen(user));
}

static void assert_item(const sq_dataset *ds, uint64_t i, const char *want) {
    size_t n;
    const char *s = sq_dict_get(&ds->items, ds->item[i], &n);
    if (n != strlen(want) || memcmp(s, want, n)) fail_msg("event %llu: item %.*s, want %s",
                                                          (unsigned long long)i, (int)n, s, want);
}

static void test_malformed_file_exact_counts(void **state) {
    (void)state;
    char longline[3000];
    memset(longline, 'x', sizeof longline);
    char text[8192];
    size_t n = 0;
#define ADD(s) (memcpy(text + n, s, sizeof(s) - 1), n += sizeof(s) - 1)
    ADD("\xef\xbb\xbfuser_id,item_id,category_id,behavior,timestamp,price\r\n"); /* BOM, CRLF */
    ADD("u1,i1,c1,view,1700000000,9.99\n");          /* ok */
    ADD("u1,i2,c1,cart,1700000010,5\r\n");           /* ok */
    ADD("u1,i1,c1,view,1700000000,9.99\n");          /* exact duplicate of row 2 */
    ADD("u2,i3,,buy,1700000100,\n");                 /* ok: optional fields empty */
    ADD("u2,,c2,view,1700000200,1\n");               /* missing_field */
    ADD("u3,i4,c2,jump,1700000300,1\n");             /* unknown_behavior */
    ADD("u3,i4,c2,view,notatime,1\n");               /* bad_time */
    ADD("u3,i4,c2,view,2019-13-01,1\n");             /* bad_time */
    ADD("u3,i4,c2,view,1700000300,abc\n");           /* bad_number */
    ADD("u3,i4,c2,view,1700000300,-1\n");            /* bad_number */
    ADD("u3,i4,c2,view,1700000300\n");               /* wrong_field_count */
    ADD("u3,i4,c2,view,1700000300,1,extra\n");       /* wrong_field_count */
    ADD("\"u4,i5,c3,view,1700000400,1\n");           /* bad_quote */
    ADD("u5,i6,c3,view,1700000500,1\0x\n");          /* bad_encoding (NUL) */
    ADD("u5,\xff\xfe,c3,view,1700000500,1\n");       /* bad_encoding (UTF-8) */
    memcpy(text + n, longline, sizeof longline);     /* line_too_long */
    n += sizeof longline;
    ADD("\n");
    ADD("\n");                                        /* empty line */
    ADD("\"u6\",i7,\"c,4\",buy,2024-01-01T00:00:00Z,3\n"); /* ok: quotes, ISO time */
    ADD("u1,i3,c1,buy,1699999990,2");                /* ok: earliest of u1; no final newline */
#undef ADD
    sq_ingest_options o;
    sq_ingest_options_init(&o);
    o.max_line = 1024;
    o.max_error_ratio = 1.0;
    sq_ingest_report rep;
    char *out;
    assert_int_equal(ingest_text("bad.csv", text, n, &o, &rep, &out), SQ_OK);

    assert_int_equal(rep.rows_read, 18);
    assert_int_equal(rep.empty_lines, 1);
    assert_int_equal(rep.rejected[SQ_REJECT_MISSING_FIELD], 1);
    assert_int_equal(rep.rejected[SQ_REJECT_UNKNOWN_BEHAVIOR], 1);
    assert_int_equal(rep.rejected[SQ_REJECT_BAD_TIME], 2);
    assert_int_equal(rep.rejected[SQ_REJECT_BAD_NUMBER], 2);
    assert_int_equal(rep.rejected[SQ_REJECT_FIELD_COUNT], 2);
    assert_int_equal(rep.rejected[SQ_REJECT_BAD_QUOTE], 1);
    assert_int_equal(rep.rejected[SQ_REJECT_BAD_ENCODING], 2);
    assert_int_equal(rep.rejected[SQ_REJECT_LINE_TOO_LONG], 1);
    assert_int_equal(rep.rejected[SQ_REJECT_BAD_JSON], 0);
    assert_int_equal(rep.rejected_total, 12);
    assert_int_equal(rep.duplicates, 1);
    assert_int_equal(rep.events, 18 - 12 - 1);
    /* examples carry file:line and the field */
    assert_non_null(strstr(rep.examples[SQ_REJECT_BAD_TIME][0], "bad.csv:8:"));
    assert_non_null(strstr(rep.examples[SQ_REJECT_BAD_TIME][0], "notatime"));
    assert_non_null(strstr(rep.examples[SQ_REJECT_MISSING_FIELD][0], "bad.csv:6:"));
    assert_non_null(strstr(rep.examples[SQ_REJECT_MISSING_FIELD][0], "item"));
    assert_non_null(strstr(rep.examples[SQ_REJECT_LINE_TOO_LONG][0], ":17:"));

    sq_dataset ds;
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, out, &err), SQ_OK);
    assert_int_equal(ds.n_events, 5);
    assert_int_equal(ds.n_users, 3); /* u1, u2, u6: rejected rows add no user */
    uint32_t u1 = (uint32_t)ev_user_index(&ds, "u1");
    assert_int_not_equal(u1, SQ_NONE);
    assert_int_equal(sq_dict_find(&ds.users, "u3", 2), SQ_NONE);
    uint64_t b = ds.user_offsets[u1];
    assert_int_equal(ds.user_offsets[u1 + 1] - b, 3);
    assert_item(&ds, b, "i3"); /* sorted by time */
    assert_item(&ds, b + 1, "i1");
    assert_item(&ds, b + 2, "i2");
    assert_int_equal(ds.time_ms[b], 1699999990000LL);
    assert_int_equal(ds.behavior[b], SQ_BEHAVIOR_BUY);
    assert_true(fabsf(ds.price[b + 1] - 9.99f) < 1e-6f);
    uint32_t u6 = (uint32_t)ev_user_index(&ds, "u6");
    uint64_t e6 = ds.user_offsets[u6];
    size_t len;
    const char *cat = sq_dict_get(&ds.categories, ds.category[e6], &len);
    assert_int_equal(len, 3);
    assert_memory_equal(cat, "c,4", 3);
    assert_int_equal(ds.time_ms[e6], 1704067200000LL);
    uint32_t u2 = (uint32_t)ev_user_index(&ds, "u2");
    assert_int_equal(ds.category[ds.user_offsets[u2]], SQ_NONE);
    assert_true(isnan(ds.price[ds.user_offsets[u2]]));
    sq_dataset_close(&ds);
    unlink(out);
    free(out);
}

static void test_ties_sessions_and_presets(void **state) {
    (void)state;
    /* Taobao layout, no header; u9's rows out of order, two at the same second (file order
     * must be kept), and a 40-minute gap that starts a second session */
    const char text[] = "9,B,1,pv,1000\n"
                        "9,A,1,pv,1000\n"
                        "9,C,1,cart,400\n"
                        "9,D,1,buy,3400\n"
                        "7,A,1,fav,50\n";
    sq_ingest_options o;
    sq_ingest_options_init(&o);
    sq_error err = {0};
    assert_int_equal(sq_ingest_preset(&o, "taobao", &err), SQ_OK);
    sq_ingest_report rep;
    char *out;
    assert_int_equal(ingest_text("tb.csv", text, sizeof text - 1, &o, &rep, &out), SQ_OK);
    sq_dataset ds;
    assert_int_equal(sq_dataset_open(&ds, out, &err), SQ_OK);
    uint32_t u = sq_dict_find(&ds.users, "9", 1);
    uint64_t b = ds.user_offsets[u];
    assert_item(&ds, b, "C");
    assert_item(&ds, b + 1, "B"); /* tie: file order */
    assert_item(&ds, b + 2, "A");
    assert_item(&ds, b + 3, "D");
    assert_int_equal(ds.behavior[b], SQ_BEHAVIOR_CART);
    assert_int_equal(ds.session[b], ds.session[b + 2]);
    assert_int_not_equal(ds.session[b + 2], ds.session[b + 3]); /* 2400 s > 1800 s */
    assert_int_equal(ds.n_sessions, 3);
    assert_int_equal(ds.behavior[ds.user_offsets[sq_dict_find(&ds.users, "7", 1)]],
                     SQ_BEHAVIOR_FAV);
    sq_dataset_close(&ds);

    /* unknown preset: usage error naming the known ones */
    assert_int_equal(sq_ingest_preset(&o, "nope", &err), SQ_ERR_USAGE);
    assert_non_null(strstr(err.msg, "retailrocket"));
    /* --map refinement and a bad spec */
    assert_int_equal(sq_ingest_parse_map(&o, "user=2,item=1", &err), SQ_OK);
    assert_int_equal(sq_ingest_parse_map(&o, "colour=3", &err), SQ_ERR_USAGE);
    sq_ingest_options_free(&o);
    unlink(out);
    free(out);
}

static void test_jsonl_and_gzip(void **state) {
    (void)state;
    const char text[] =
        "{\"user_id\":\"a\",\"item_id\":5,\"behavior\":\"view\",\"timestamp\":1700000000}\n"
        "{\"user_id\":\"a\",\"item_id\":6,\"behavior\":\"buy\",\"timestamp\":\"2023-11-14T22:13:30Z\","
        "\"price\":12.5}\n"
        "{\"user_id\":\"b\",\"item_id\":5,\"behavior\":\"view\"\n"      /* bad_json */
        "[1,2,3]\n"                                                      /* bad_json */
        "{\"user_id\":\"b\",\"item_id\":5,\"behavior\":\"view\"}\n"     /* missing_field time */
        "{\"user_id\":\"b\",\"item_id\":[5],\"behavior\":\"view\",\"timestamp\":1}\n" /* bad_json */
        "{\"user_id\":\"b\",\"item_id\":7,\"timestamp\":1700000000}\n";  /* ok: default view */
    /* gzip it: the reader must detect compression from the bytes */
    char *gz = test_path("events.jsonl.gz");
    gzFile g = gzopen(gz, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, text, sizeof text - 1), (int)(sizeof text - 1));
    gzclose(g);
    sq_ingest_options o;
    sq_ingest_options_init(&o);
    o.max_error_ratio = 1.0;
    o.columns[SQ_IN_BEHAVIOR] = "behavior?";
    sq_ingest_report rep;
    sq_error err = {0};
    char *out = test_path("j.sqd");
    const char *inputs[] = {gz};
    assert_int_equal(sq_ingest_run(inputs, 1, out, &o, &rep, &err), SQ_OK);
    assert_int_equal(rep.rows_read, 7);
    assert_int_equal(rep.rejected[SQ_REJECT_BAD_JSON], 3);
    assert_int_equal(rep.rejected[SQ_REJECT_MISSING_FIELD], 1);
    assert_int_equal(rep.events, 3);
    sq_dataset ds;
    assert_int_equal(sq_dataset_open(&ds, out, &err), SQ_OK);
    uint32_t a = sq_dict_find(&ds.users, "a", 1);
    assert_item(&ds, ds.user_offsets[a], "5");
    assert_item(&ds, ds.user_offsets[a] + 1, "6");
    assert_true(ds.price[ds.user_offsets[a] + 1] == 12.5f);
    assert_int_equal(ds.time_ms[ds.user_offsets[a] + 1], 1700000010000LL);
    sq_dataset_close(&ds);
    unlink(gz);
    unlink(out);
    free(gz);
    free(out);
}

static void test_max_errors_aborts_without_output(void **state) {
    (void)state;
    char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text, "user_id,item_id,behavior,timestamp\n");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "u%d,i%d,view,%s\n", i, i,
                              i % 4 == 0 ? "bad" : "1700000000");
    sq_ingest_options o;
    sq_ingest_options_init(&o); /* 10% default: 5 of 20 bad is too many */
    sq_ingest_report rep;
    char *out;
    assert_int_equal(ingest_text("m.csv", text, n, &o, &rep, &out), SQ_ERR_TOO_MANY_ERRORS);
    assert_int_not_equal(access(out, F_OK), 0); /* no partial output */
    assert_int_equal(rep.rejected[SQ_REJECT_BAD_TIME], 5);
    free(out);
    o.max_errors = 3;
    o.max_error_ratio = 1.0;
    assert_int_equal(ingest_text("m.csv", text, n, &o, &rep, &out), SQ_ERR_TOO_MANY_ERRORS);
    assert_int_equal(rep.rejected_total, 4); /* stopped at the first one over the limit */
    free(out);
    o.max_errors = 5;
    assert_int_equal(ingest_text("m.csv", text, n, &o, &rep, &out), SQ_OK);
    assert_int_equal(rep.events, 15);
    unlink(out);
    free(out);
}

static void test_missing_column_is_usage_error(void **state) {
    (void)state;
    const char text[] = "who,what,when\nu,i,1\n";
    sq_ingest_options o;
    sq_ingest_options_init(&o);
    sq_ingest_report rep;
    char *in = test_path("cols.csv");
    write_bytes(in, text, sizeof text - 1);
    char *out = test_path("cols.sqd");
    sq_error err = {0};
    const char *inputs[] = {in};
    assert_int_equal(sq_ingest_run(inputs, 1, out, &o, &rep, &err), SQ_ERR_USAGE);
    assert_non_null(strstr(err.msg, "who, what, when")); /* says what the header has */
    assert_int_equal(sq_ingest_parse_map(&o, "user=who,item=what,time=when", &err), SQ_OK);
    assert_int_equal(sq_ingest_run(inputs, 1, out, &o, &rep, &err), SQ_OK);
    assert_int_equal(rep.events, 1);
    sq_ingest_options_free(&o);
    unlink(in);
    unlink(out);
    free(in);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_malformed_file_exact_counts),
        cmocka_unit_test(test_ties_sessions_and_presets),
        cmocka_unit_test(test_jsonl_and_gzip),
        cmocka_unit_test(test_max_errors_aborts_without_output),
        cmocka_unit_test(test_missing_column_is_usage_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
