/* sq_time_parse: every accepted format with exact values (from `date -u -d ... +%s`),
 * zones, leap years, range checks and garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "data/timeparse.h"

static int64_t parse_ok(const char *s, sq_time_format f) {
    int64_t ms = INT64_MIN;
    int rc = sq_time_parse(s, strlen(s), f, &ms);
    if (rc != 0) fail_msg("expected '%s' (format %d) to parse", s, (int)f);
    return ms;
}

static void parse_bad(const char *s, sq_time_format f) {
    int64_t ms = 12345;
    if (sq_time_parse(s, strlen(s), f, &ms) == 0)
        fail_msg("expected '%s' (format %d) to be rejected, got %lld", s, (int)f,
                 (long long)ms);
    assert_int_equal(ms, 12345); /* untouched on failure */
}

static void test_unix_seconds(void **state) {
    (void)state;
    assert_int_equal(parse_ok("1396306807.617", SQ_TIME_UNIX_S), 1396306807617LL);
    assert_int_equal(parse_ok("1396306807", SQ_TIME_UNIX_S), 1396306807000LL);
    assert_int_equal(parse_ok("1396306807.6", SQ_TIME_UNIX_S), 1396306807600LL);
    assert_int_equal(parse_ok("1396306807.61799", SQ_TIME_UNIX_S), 1396306807617LL);
    assert_int_equal(parse_ok("0", SQ_TIME_UNIX_S), 0);
    assert_int_equal(parse_ok("-1", SQ_TIME_UNIX_S), -1000);
    assert_int_equal(parse_ok("-1.5", SQ_TIME_UNIX_S), -1500);
    assert_int_equal(parse_ok("1511544070", SQ_TIME_UNIX_S), 1511544070000LL); /* Taobao */
    parse_bad("", SQ_TIME_UNIX_S);
    parse_bad("12abc", SQ_TIME_UNIX_S);
    parse_bad("1.", SQ_TIME_UNIX_S);
    parse_bad(".5", SQ_TIME_UNIX_S);
    parse_bad("-", SQ_TIME_UNIX_S);
    parse_bad("+5", SQ_TIME_UNIX_S);
    parse_bad(" 5", SQ_TIME_UNIX_S);
    parse_bad("5 ", SQ_TIME_UNIX_S);
    parse_bad("1e9", SQ_TIME_UNIX_S);
    parse_bad("99999999999999999999", SQ_TIME_UNIX_S); /* overflow */
    parse_bad("2019-10-01", SQ_TIME_UNIX_S);
}

static void test_unix_ms(void **state) {
    (void)state;
    assert_int_equal(parse_ok("1433221332117", SQ_TIME_UNIX_MS), 1433221332117LL);
    assert_int_equal(parse_ok("5", SQ_TIME_UNIX_MS), 5);
    assert_int_equal(parse_ok("-5", SQ_TIME_UNIX_MS), -5);
    parse_bad("1433221332117.5", SQ_TIME_UNIX_MS);
    parse_bad("12abc", SQ_TIME_UNIX_MS);
    parse_bad("", SQ_TIME_UNIX_MS);
}

static void test_auto(void **state) {
    (void)state;
    assert_int_equal(parse_ok("1396306807.617", SQ_TIME_AUTO), 1396306807617LL);
    assert_int_equal(parse_ok("1511544070", SQ_TIME_AUTO), 1511544070000LL);
    assert_int_equal(parse_ok("99999999999", SQ_TIME_AUTO), 99999999999000LL); /* < 1e11: s */
    assert_int_equal(parse_ok("100000000000", SQ_TIME_AUTO), 100000000000LL); /* >= 1e11: ms */
    assert_int_equal(parse_ok("1433221332117", SQ_TIME_AUTO), 1433221332117LL);
    assert_int_equal(parse_ok("-86400", SQ_TIME_AUTO), -86400000LL);
    assert_int_equal(parse_ok("2019-10-01 00:00:00 UTC", SQ_TIME_AUTO), 1569888000000LL);
    assert_int_equal(parse_ok("2016-05-09", SQ_TIME_AUTO), 1462752000000LL);
    parse_bad("", SQ_TIME_AUTO);
    parse_bad("12abc", SQ_TIME_AUTO);
    parse_bad("2019-13-01", SQ_TIME_AUTO);
    parse_bad("abc", SQ_TIME_AUTO);
}

static void test_iso_variants(void **state) {
    (void)state;
    /* REES46 */
    assert_int_equal(parse_ok("2019-10-01 00:00:00 UTC", SQ_TIME_ISO), 1569888000000LL);
    /* JData */
    assert_int_equal(parse_ok("2016-02-01 00:00:00", SQ_TIME_ISO), 1454284800000LL);
    /* Tianchi: date + hour */
    assert_int_equal(parse_ok("2014-12-06 02", SQ_TIME_ISO), 1417831200000LL);
    /* Diginetica: date only */
    assert_int_equal(parse_ok("2016-05-09", SQ_TIME_ISO), 1462752000000LL);
    /* YooChoose */
    assert_int_equal(parse_ok("2014-04-01T03:00:07.123Z", SQ_TIME_ISO), 1396321207123LL);
    assert_int_equal(parse_ok("2014-04-01T03:00:07Z", SQ_TIME_ISO), 1396321207000LL);
    assert_int_equal(parse_ok("2014-04-01T03:00:07", SQ_TIME_ISO), 1396321207000LL);
    assert_int_equal(parse_ok("2014-04-01T03:00:07.5", SQ_TIME_ISO), 1396321207500LL);
    assert_int_equal(parse_ok("2014-04-01T03:00:07.123456Z", SQ_TIME_ISO), 1396321207123LL);
    assert_int_equal(parse_ok("2016-05-09 13:45", SQ_TIME_ISO), 1462801500000LL);
    assert_int_equal(parse_ok("2016-05-09T13:45", SQ_TIME_ISO), 1462801500000LL);
    assert_int_equal(parse_ok("1969-12-31 23:59:59", SQ_TIME_ISO), -1000LL);
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z", SQ_TIME_ISO), 0);
    assert_int_equal(parse_ok("1900-03-01", SQ_TIME_ISO), -2203891200000LL);
    assert_int_equal(parse_ok("9999-12-31 23:59:59", SQ_TIME_ISO), 253402300799000LL);
    assert_int_equal(parse_ok("0000-01-01", SQ_TIME_ISO), -62167219200000LL);
}

static void test_iso_zones(void **state) {
    (void)state;
    const int64_t base = 1569888000000LL; /* 2019-10-01T00:00:00Z */
    assert_int_equal(parse_ok("2019-10-01T05:30:00+05:30", SQ_TIME_ISO), base);
    assert_int_equal(parse_ok("2019-10-01T05:30:00+0530", SQ_TIME_ISO), base);
    assert_int_equal(parse_ok("2019-10-01T00:00:00-0700", SQ_TIME_ISO), 1569913200000LL);
    assert_int_equal(parse_ok("2019-10-01 00:00:00-03", SQ_TIME_ISO), 1569898800000LL);
    assert_int_equal(parse_ok("2019-10-01 02:00:00+02", SQ_TIME_ISO), base);
    assert_int_equal(parse_ok("2019-10-01T00:00:00+00:00", SQ_TIME_ISO), base);
    assert_int_equal(parse_ok("2019-10-01T00:00:00.250+01:00", SQ_TIME_ISO),
                     base - 3600000LL + 250);
    assert_int_equal(parse_ok("2019-10-01 00:00 UTC", SQ_TIME_ISO), base);
    parse_bad("2019-10-01T00:00:00+5", SQ_TIME_ISO);
    parse_bad("2019-10-01T00:00:00+24:00", SQ_TIME_ISO);
    parse_bad("2019-10-01T00:00:00+05:60", SQ_TIME_ISO);
    parse_bad("2019-10-01T00:00:00+05:3", SQ_TIME_ISO);
    parse_bad("2019-10-01T00:00:00 utc", SQ_TIME_ISO);
    parse_bad("2019-10-01T00:00:00UTC", SQ_TIME_ISO);
    parse_bad("2019-10-01T00:00:00ZZ", SQ_TIME_ISO);
    parse_bad("2019-10-01T00:00:00 UTC ", SQ_TIME_ISO);
    parse_bad("2019-10-01T00:00:00 EST", SQ_TIME_ISO);
}

static void test_leap_years(void **state) {
    (void)state;
    assert_int_equal(parse_ok("2000-02-29 12:34:56", SQ_TIME_ISO), 951827696000LL);
    assert_int_equal(parse_ok("2024-02-29", SQ_TIME_ISO), 1709164800000LL);
    assert_int_equal(parse_ok("2024-03-01", SQ_TIME_ISO) - parse_ok("2024-02-28", SQ_TIME_ISO),
                     2 * 86400000LL);
    assert_int_equal(parse_ok("2023-03-01", SQ_TIME_ISO) - parse_ok("2023-02-28", SQ_TIME_ISO),
                     86400000LL);
    parse_bad("1900-02-29", SQ_TIME_ISO); /* divisible by 100, not by 400 */
    parse_bad("2023-02-29", SQ_TIME_ISO);
    parse_bad("2100-02-29", SQ_TIME_ISO);
    parse_bad("2024-02-30", SQ_TIME_ISO);
}

static void test_iso_bad(void **state) {
    (void)state;
    const char *bad[] = {
        "", "2019-13-01", "2019-00-10", "2019-10-00", "2019-04-31", "2019-10-32",
        "2019-10-01 24:00:00", "2019-10-01 23:60:00", "2019-10-01 23:59:60",
        "2019-10-01 2", "2019-10-01 02:3", "2019-10-01 02:30:", "2019-10-01 02:30:00.",
        "2019-10-01T", "2019-10-01 ", " 2019-10-01", "2019-1-01", "19-10-01", "2019/10/01",
        "2019-10-01X00:00:00", "2019-10-01 00:00:00 UTCX", "12abc", "2019-10-01 00:00:0a",
        "1396306807",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) parse_bad(bad[i], SQ_TIME_ISO);
    /* length limits the parse: a valid prefix followed by garbage outside n is fine */
    int64_t ms;
    assert_int_equal(sq_time_parse("2016-05-09XYZ", 10, SQ_TIME_ISO, &ms), 0);
    assert_int_equal(ms, 1462752000000LL);
    assert_int_equal(sq_time_parse(NULL, 0, SQ_TIME_AUTO, &ms), -1);
}

static void test_days_from_civil(void **state) {
    (void)state;
    assert_int_equal(sq_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(sq_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(sq_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(sq_days_from_civil(0, 3, 1), -719468);
    assert_int_equal(sq_days_from_civil(-1, 12, 31), -719529);
}

static void test_format_iso(void **state) {
    (void)state;
    char buf[32];
    sq_time_format_iso(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    sq_time_format_iso(1396306807617LL, buf, sizeof buf);
    assert_string_equal(buf, "2014-03-31T23:00:07Z");
    sq_time_format_iso(-1, buf, sizeof buf); /* floors toward the past */
    assert_string_equal(buf, "1969-12-31T23:59:59Z");
    sq_time_format_iso(951827696000LL, buf, sizeof buf);
    assert_string_equal(buf, "2000-02-29T12:34:56Z");
    sq_time_format_iso(253402300799000LL, buf, sizeof buf);
    assert_string_equal(buf, "9999-12-31T23:59:59Z");
    /* round trip over a range of days, every 7 hours and a bit */
    for (int64_t t = -2208988800000LL; t < 4102444800000LL; t += 25199123LL) {
        int64_t secs_ms = t - ((t % 1000) + 1000) % 1000;
        sq_time_format_iso(t, buf, sizeof buf);
        int64_t back;
        assert_int_equal(sq_time_parse(buf, strlen(buf), SQ_TIME_ISO, &back), 0);
        assert_int_equal(back, secs_ms);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_seconds),  cmocka_unit_test(test_unix_ms),
        cmocka_unit_test(test_auto),          cmocka_unit_test(test_iso_variants),
        cmocka_unit_test(test_iso_zones),     cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_iso_bad),       cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_format_iso),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
