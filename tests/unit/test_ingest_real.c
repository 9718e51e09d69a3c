/* ingest + stats on real public samples (../shared/data), checked against counts made
 * here independently: the file decompressed with libzstd directly and parsed with sscanf,
 * distinct values found by sorting. Skips with a visible message when the data is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include <cmocka.h>

#include "shopseq/dataset.h"
#include "shopseq/ingest.h"
#include "shopseq/stats.h"
#include "test_util.h"

static char *zstd_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    ZSTD_DStream *ds = ZSTD_createDStream();
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    char in[1 << 16];
    size_t got;
    while ((got = fread(in, 1, sizeof in, f)) > 0) {
        ZSTD_inBuffer ib = {in, got, 0};
        while (ib.pos < ib.size) {
            if (cap - n < (1 << 16)) out = realloc(out, cap *= 2);
            ZSTD_outBuffer ob = {out + n, cap - n, 0};
            size_t r = ZSTD_decompressStream(ds, &ob, &ib);
            assert_false(ZSTD_isError(r));
            n += ob.pos;
        }
    }
    ZSTD_freeDStream(ds);
    fclose(f);
    out = realloc(out, n + 1);
    out[n] = '\0';
    *len = n;
    return out;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static uint64_t distinct(long long *v, uint64_t n) {
    qsort(v, n, sizeof *v, cmp_ll);
    uint64_t d = 0;
    for (uint64_t i = 0; i < n; i++) d += i == 0 || v[i] != v[i - 1];
    return d;
}

static void ingest_one(const char *path, const char *preset, const char *out,
                       sq_ingest_report *rep) {
    sq_ingest_options o;
    sq_ingest_options_init(&o);
    sq_error err = {0};
    assert_int_equal(sq_ingest_preset(&o, preset, &err), SQ_OK);
    const char *inputs[] = {path};
    if (sq_ingest_run(inputs, 1, out, &o, rep, &err) != SQ_OK) fail_msg("%s", err.msg);
}

static void test_taobao_user_histories(void **state) {
    (void)state;
    char *path = shared_data("taobao_userbehavior/user_histories.csv.zst");
    if (!path) skip();
    size_t len;
    char *text = zstd_slurp(path, &len);
    uint64_t rows = 0;
    for (size_t i = 0; i < len; i++) rows += text[i] == '\n';
    long long *users = malloc(rows * sizeof *users), *items = malloc(rows * sizeof *items),
              *cats = malloc(rows * sizeof *cats);
    uint64_t pv = 0, cart = 0, fav = 0, buy = 0, n = 0;
    long long tmin = INT64_MAX, tmax = INT64_MIN;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char b[16];
        long long t;
        assert_int_equal(sscanf(line, "%lld,%lld,%lld,%15[^,],%lld", &users[n], &items[n],
                                &cats[n], b, &t), 5);
        pv += !strcmp(b, "pv");
        cart += !strcmp(b, "cart");
        fav += !strcmp(b, "fav");
        buy += !strcmp(b, "buy");
        if (t < tmin) tmin = t;
        if (t > tmax) tmax = t;
        n++;
    }
    assert_int_equal(n, rows);

    char *out = test_path("taobao.sqd");
    sq_ingest_report rep;
    ingest_one(path, "taobao", out, &rep);
    sq_dataset ds;
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, out, &err), SQ_OK);
    sq_dataset_stats s;
    assert_int_equal(sq_dataset_stats_compute(&ds, &s, &err), SQ_OK);
    assert_int_equal(rep.rows_read, n);
    assert_int_equal(rep.rejected_total, 0);
    assert_int_equal(rep.duplicates, 0); /* the data README: no exact duplicate rows */
    assert_int_equal(s.events, n);
    assert_int_equal(s.users, distinct(users, n));
    assert_int_equal(s.items, distinct(items, n));
    assert_int_equal(s.categories, distinct(cats, n));
    assert_int_equal(s.by_behavior[SQ_BEHAVIOR_VIEW], pv);
    assert_int_equal(s.by_behavior[SQ_BEHAVIOR_CART], cart);
    assert_int_equal(s.by_behavior[SQ_BEHAVIOR_FAV], fav);
    assert_int_equal(s.by_behavior[SQ_BEHAVIOR_BUY], buy);
    assert_int_equal(s.time_min_ms, tmin * 1000);
    assert_int_equal(s.time_max_ms, tmax * 1000);
    /* the published description of this sample */
    assert_int_equal(s.users, 814);
    assert_int_equal(s.events, 84287);
    /* every user's events are time-sorted */
    for (uint32_t u = 0; u < ds.n_users; u++)
        for (uint64_t i = ds.user_offsets[u] + 1; i < ds.user_offsets[u + 1]; i++)
            assert_true(ds.time_ms[i - 1] <= ds.time_ms[i]);
    sq_dataset_close(&ds);
    unlink(out);
    free(out);
    free(users);
    free(items);
    free(cats);
    free(text);
    free(path);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_rees46_duplicates(void **state) {
    (void)state;
    char *path = shared_data("rees46_multicategory/2019-Oct_head.csv.zst");
    if (!path) skip();
    size_t len;
    char *text = zstd_slurp(path, &len);
    char **lines = malloc(sizeof *lines * 40000);
    uint64_t n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (n == 0 && !strncmp(line, "event_time", 10)) continue; /* header */
        lines[n++] = line;
    }
    qsort(lines, n, sizeof *lines, cmp_str);
    uint64_t unique = 0, purchases = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (i && !strcmp(lines[i], lines[i - 1])) continue;
        unique++;
        purchases += strstr(lines[i], ",purchase,") != NULL;
    }
    char *out = test_path("rees46.sqd");
    sq_ingest_report rep;
    ingest_one(path, "rees46", out, &rep);
    assert_int_equal(rep.rows_read, n);
    assert_int_equal(rep.rejected_total, 0);
    assert_int_equal(rep.duplicates, n - unique);
    assert_int_equal(rep.duplicates, 5);
    assert_int_equal(rep.events, unique);
    sq_dataset ds;
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, out, &err), SQ_OK);
    sq_dataset_stats s;
    assert_int_equal(sq_dataset_stats_compute(&ds, &s, &err), SQ_OK);
    assert_int_equal(s.by_behavior[SQ_BEHAVIOR_BUY], purchases);
    assert_true(ds.flags & SQ_DATASET_HAS_PRICE);
    assert_true(ds.flags & SQ_DATASET_HAS_SESSION_COLUMN);
    assert_int_equal(s.users, 4504);
    sq_dataset_close(&ds);
    unlink(out);
    free(out);
    free(lines);
    free(text);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_taobao_user_histories),
        cmocka_unit_test(test_rees46_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
