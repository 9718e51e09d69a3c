/* sq_csv_split and sq_csv_sniff_delimiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "data/csv.h"

#define MAXF 8

static sq_field F[MAXF];
static char scratch[1024];

static int split(const char *s, char delim) {
    memset(F, 0, sizeof F);
    return sq_csv_split(s, strlen(s), delim, F, MAXF, scratch);
}

static void field_is(int i, const char *want) {
    size_t n = strlen(want);
    if (F[i].n != n || (n && memcmp(F[i].p, want, n) != 0))
        fail_msg("field %d: got '%.*s' (%zu), want '%s'", i, (int)F[i].n,
                 F[i].p ? F[i].p : "", F[i].n, want);
}

static void test_plain(void **state) {
    (void)state;
    assert_int_equal(split("1,2,3,pv,1511544070", ','), 5);
    field_is(0, "1");
    field_is(3, "pv");
    field_is(4, "1511544070");
    assert_int_equal(split("a\tb\tc", '\t'), 3);
    field_is(1, "b");
    assert_int_equal(split(" a , b ", ','), 2); /* no trimming */
    field_is(0, " a ");
    field_is(1, " b ");
    const char *s = "x;y";
    assert_int_equal(sq_csv_split(s, 3, ';', F, MAXF, scratch), 2);
    assert_ptr_equal(F[0].p, s); /* unquoted fields point into the line */
    assert_ptr_equal(F[1].p, s + 2);
}

static void test_empty_fields(void **state) {
    (void)state;
    assert_int_equal(split("", ','), 1);
    field_is(0, "");
    assert_int_equal(split(",", ','), 2);
    field_is(0, "");
    field_is(1, "");
    assert_int_equal(split("a,,c,", ','), 4);
    field_is(0, "a");
    field_is(1, "");
    field_is(2, "c");
    field_is(3, "");
    assert_int_equal(split("\"\",x", ','), 2);
    field_is(0, "");
    field_is(1, "x");
}

static void test_quotes(void **state) {
    (void)state;
    assert_int_equal(split("\"a,b\",c", ','), 2);
    field_is(0, "a,b");
    field_is(1, "c");
    assert_int_equal(split("1,\"say \"\"hi\"\"\",3", ','), 3);
    field_is(0, "1");
    field_is(1, "say \"hi\"");
    field_is(2, "3");
    assert_int_equal(split("\"\"\"\"", ','), 1); /* a lone escaped quote */
    field_is(0, "\"");
    assert_int_equal(split("x,\"tail\"", ','), 2);
    field_is(1, "tail");
    assert_int_equal(split("\"a\tb\"\tc", '\t'), 2);
    field_is(0, "a\tb");
    /* a quote inside an unquoted field is kept as it is */
    assert_int_equal(split("ab\"c,d", ','), 2);
    field_is(0, "ab\"c");
}

static void test_bad_quotes(void **state) {
    (void)state;
    assert_int_equal(split("\"abc", ','), SQ_CSV_BAD_QUOTE);
    assert_int_equal(split("a,\"b", ','), SQ_CSV_BAD_QUOTE);
    assert_int_equal(split("\"a\"b,c", ','), SQ_CSV_BAD_QUOTE);
    assert_int_equal(split("\"a\"\"", ','), SQ_CSV_BAD_QUOTE);
    assert_int_equal(split("\"", ','), SQ_CSV_BAD_QUOTE);
    assert_int_equal(split("\"a\" b", ' '), 2); /* blank after the quote is a separator */
    assert_int_equal(split("\"a\"b", ' '), SQ_CSV_BAD_QUOTE);
}

static void test_too_many_fields(void **state) {
    (void)state;
    sq_field two[2];
    const char *s = "a,b,c,d,e";
    assert_int_equal(sq_csv_split(s, strlen(s), ',', two, 2, scratch), 5);
    assert_int_equal(two[0].n, 1);
    assert_memory_equal(two[0].p, "a", 1);
    assert_memory_equal(two[1].p, "b", 1);
    /* max_fields 0 only counts */
    assert_int_equal(sq_csv_split(s, strlen(s), ',', NULL, 0, scratch), 5);
    assert_int_equal(split("1,2,3,4,5,6,7,8,9,10", ','), 10);
    field_is(7, "8");
}

static void test_blank_runs(void **state) {
    (void)state;
    assert_int_equal(split("1 2", ' '), 2);
    field_is(0, "1");
    field_is(1, "2");
    assert_int_equal(split("  12 \t  345\t\t", ' '), 2);
    field_is(0, "12");
    field_is(1, "345");
    assert_int_equal(split("a b  c", ' '), 3);
    field_is(2, "c");
    assert_int_equal(split("", ' '), 1);
    field_is(0, "");
    assert_int_equal(split("   ", ' '), 1);
    field_is(0, "");
    assert_int_equal(split("\"x y\" z", ' '), 2);
    field_is(0, "x y");
}

static void test_sniff(void **state) {
    (void)state;
#define SNIFF(s) sq_csv_sniff_delimiter(s, strlen(s))
    assert_int_equal(SNIFF("user_id,item_id,category_id,behavior_type,timestamp"), ',');
    assert_int_equal(SNIFF("user_id\titem_id\tcategory_id"), '\t');
    assert_int_equal(SNIFF("sessionId;userId;itemId;timeframe;eventdate"), ';');
    assert_int_equal(SNIFF("a|b|c"), '|');
    assert_int_equal(SNIFF("1 2"), ' ');
    assert_int_equal(SNIFF("single"), ',');
    assert_int_equal(SNIFF(""), ',');
    /* delimiters inside quotes do not count */
    assert_int_equal(SNIFF("\"a,b,c,d\";x;y"), ';');
    /* the most frequent wins */
    assert_int_equal(SNIFF("a;b;c,d;e"), ';');
    assert_int_equal(SNIFF("event_time,event type,x"), ',');
#undef SNIFF
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),          cmocka_unit_test(test_empty_fields),
        cmocka_unit_test(test_quotes),         cmocka_unit_test(test_bad_quotes),
        cmocka_unit_test(test_too_many_fields), cmocka_unit_test(test_blank_runs),
        cmocka_unit_test(test_sniff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
