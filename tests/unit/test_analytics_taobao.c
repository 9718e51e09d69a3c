/* Funnel counts and conversion rates on a real file (Taobao UserBehavior user histories),
 * held to values computed independently: a direct count over the raw rows here, and the
 * pandas reference in tests/fixtures/taobao_user_histories_funnel.json
 * (tests/fixtures/taobao_funnel.py). Skips, visibly, when the shared data is absent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <zstd.h>

#include "analytics_build.h"
#include "shopseq/analytics.h"

static char *read_zst(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    size_t cap = 1 << 20, n = 0;
    char *out = malloc(cap);
    ZSTD_DStream *z = ZSTD_createDStream();
    ZSTD_initDStream(z);
    char in[1 << 16];
    size_t got;
    while ((got = fread(in, 1, sizeof in, fp)) > 0) {
        ZSTD_inBuffer ib = {in, got, 0};
        while (ib.pos < ib.size) {
            if (cap - n < (1 << 16)) out = realloc(out, cap *= 2);
            ZSTD_outBuffer ob = {out + n, cap - n, 0};
            size_t r = ZSTD_decompressStream(z, &ob, &ib);
            assert_false(ZSTD_isError(r));
            n += ob.pos;
        }
    }
    ZSTD_freeDStream(z);
    fclose(fp);
    out = realloc(out, n + 1);
    out[n] = 0;
    *len = n;
    return out;
}

static json_t *jget(json_t *o, const char *a, const char *b) {
    json_t *x = json_object_get(o, a);
    return b ? json_object_get(x, b) : x;
}

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static void test_taobao_funnel(void **state) {
    (void)state;
    const char *shared = getenv("SQ_SHARED_DATA"), *src = getenv("SQ_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/taobao_userbehavior/user_histories.csv.zst", shared ? shared : "");
    FILE *probe = shared ? fopen(path, "rb") : NULL;
    if (!probe) {
        printf("SKIP: shared data not found (%s); set SQ_SHARED_DATA to run this test\n", path);
        skip();
    }
    fclose(probe);
    size_t len;
    char *text = read_zst(path, &len);
    assert_non_null(text);
    /* split rows in place: user,item,category,behavior,timestamp */
    size_t cap = 1 << 17, n = 0;
    tb_event *ev = malloc(cap * sizeof *ev);
    char **user_beh[4] = {0}; /* per stage: the user strings of its events, to count directly */
    size_t nub[4] = {0};
    for (int s = 0; s < 4; s++) user_beh[s] = malloc(cap * sizeof(char *));
    const char *beh_names[4] = {"pv", "fav", "cart", "buy"};
    const int beh_vals[4] = {SQ_BEHAVIOR_VIEW, SQ_BEHAVIOR_FAV, SQ_BEHAVIOR_CART, SQ_BEHAVIOR_BUY};
    for (char *p = text; p < text + len;) {
        char *nl = memchr(p, '\n', (size_t)(text + len - p));
        if (!nl) nl = text + len;
        *nl = 0;
        char *f[5];
        int k = 0;
        f[k++] = p;
        for (char *q = p; *q && k < 5; q++)
            if (*q == ',') *q = 0, f[k++] = q + 1;
        assert_int_equal(k, 5);
        if (n == cap) {
            cap *= 2;
            ev = realloc(ev, cap * sizeof *ev);
            for (int s = 0; s < 4; s++) user_beh[s] = realloc(user_beh[s], cap * sizeof(char *));
        }
        int b = -1;
        for (int s = 0; s < 4; s++)
            if (!strcmp(f[3], beh_names[s])) b = s;
        assert_true(b >= 0);
        user_beh[b][nub[b]++] = f[0];
        ev[n++] = (tb_event){f[0], f[1], f[2], beh_vals[b], strtoll(f[4], NULL, 10), NAN};
        p = nl + 1;
    }
    char sqd[512];
    assert_non_null(tb_tmp(sqd, sizeof sqd, "analytics_taobao.sqd"));
    assert_int_equal(tb_write(sqd, ev, n, 1800, 0), 0);
    sq_dataset ds = {0};
    sq_analysis a;
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, sqd, &err), SQ_OK);
    assert_int_equal(sq_analyze(&ds, NULL, &a, &err), SQ_OK);

    /* 1. direct count: distinct users per behaviour, by sorting the raw user strings */
    assert_int_equal(n, 84287);
    for (int s = 0; s < 4; s++) {
        qsort(user_beh[s], nub[s], sizeof(char *), cmp_str);
        size_t distinct = 0;
        for (size_t i = 0; i < nub[s]; i++) distinct += i == 0 || strcmp(user_beh[s][i], user_beh[s][i - 1]);
        assert_int_equal(a.users_funnel.reached[s], distinct);
        assert_int_equal(a.events_by_behavior[beh_vals[s]], nub[s]);
    }

    /* 2. the pandas reference */
    char fixture[1024];
    snprintf(fixture, sizeof fixture, "%s/tests/fixtures/taobao_user_histories_funnel.json", src ? src : ".");
    json_error_t je;
    json_t *j = json_load_file(fixture, 0, &je);
    assert_non_null(j);
    const char *stages[4] = {"view", "fav", "cart", "buy"};
    for (int s = 0; s < 4; s++) {
        assert_int_equal(a.users_funnel.reached[s], json_integer_value(jget(j, "users_reached", stages[s])));
        assert_int_equal(a.sessions_funnel.reached[s], json_integer_value(jget(j, "sessions_reached", stages[s])));
    }
    assert_int_equal(ds.n_users, json_integer_value(jget(j, "users", NULL)));
    assert_int_equal(a.n_sessions, json_integer_value(jget(j, "sessions", NULL)));
    const struct { const char *key; int stage; } conv[] = {{"cart", SQ_STAGE_CART}, {"buy", SQ_STAGE_BUY}};
    for (int i = 0; i < 2; i++) {
        assert_float_equal(sq_funnel_step(&a.users_funnel, conv[i].stage, true),
                           json_real_value(jget(jget(j, "users_conversion", NULL), conv[i].key, NULL)), 1e-12);
        assert_float_equal(sq_funnel_step(&a.sessions_funnel, conv[i].stage, true),
                           json_real_value(jget(jget(j, "sessions_conversion", NULL), conv[i].key, NULL)), 1e-12);
    }
    assert_float_equal(sq_funnel_overall(&a.users_funnel), json_real_value(jget(j, "users_conversion", "overall")), 1e-12);
    assert_float_equal(sq_funnel_overall(&a.sessions_funnel), json_real_value(jget(j, "sessions_conversion", "overall")), 1e-12);
    assert_int_equal(a.carted_pairs, json_integer_value(jget(j, "carted_pairs", NULL)));
    assert_int_equal(a.carted_bought_pairs, json_integer_value(jget(j, "carted_bought_pairs", NULL)));
    assert_float_equal(sq_analysis_cart_abandonment(&a), json_real_value(jget(j, "cart_abandonment", NULL)), 1e-12);
    assert_int_equal(a.view_buy_pairs, json_integer_value(jget(j, "view_buy_pairs", NULL)));
    assert_float_equal(a.view_buy_median_s, json_real_value(jget(j, "view_buy_median_s", NULL)), 1e-9);
    assert_int_equal(a.sessions_with_cart, json_integer_value(jget(j, "sessions_with_cart", NULL)));
    assert_int_equal(a.sessions_cart_no_buy, json_integer_value(jget(j, "sessions_cart_without_buy", NULL)));
    json_decref(j);
    sq_analysis_free(&a);
    sq_dataset_close(&ds);
    for (int s = 0; s < 4; s++) free(user_beh[s]);
    free(ev);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_taobao_funnel)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
