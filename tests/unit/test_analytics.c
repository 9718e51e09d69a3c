/* Analytics on small hand-made logs where every number is known (worked out in comments). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>

#include "analytics_build.h"
#include "shopseq/analytics.h"

#define D 86400
#define T0 1704067200 /* 2024-01-01 00:00:00 UTC, a Monday */
#define V SQ_BEHAVIOR_VIEW
#define F SQ_BEHAVIOR_FAV
#define C SQ_BEHAVIOR_CART
#define B SQ_BEHAVIOR_BUY

/* u0: session A (view i0, view i1, cart i0, buy i0 @10) on day 0; session B (view i2) day 2
 * u1: A (view i0, cart i0) day 0; B (view i1, cart i1, buy i1 @20) day 1;
 *     C (view i0, buy i0 @10) day 3
 * u2: one view of i0 on day 1
 * u3: fav i1, view i1, cart i2 on day 2
 * Rows are deliberately out of order: the builder sorts them like ingest. */
static const tb_event LOG[] = {
    {"u1", "i0", "c0", V, T0 + 100, NAN},
    {"u0", "i0", "c0", V, T0 + 0, NAN},
    {"u0", "i1", "c0", V, T0 + 60, NAN},
    {"u0", "i0", "c0", C, T0 + 120, NAN},
    {"u0", "i0", "c0", B, T0 + 600, 10},
    {"u0", "i2", "c1", V, T0 + 2 * D, NAN},
    {"u1", "i0", "c0", C, T0 + 200, NAN},
    {"u1", "i1", "c0", V, T0 + D, NAN},
    {"u1", "i1", "c0", C, T0 + D + 100, NAN},
    {"u1", "i1", "c0", B, T0 + D + 700, 20},
    {"u1", "i0", "c0", V, T0 + 3 * D, NAN},
    {"u1", "i0", "c0", B, T0 + 3 * D + 300, 10},
    {"u2", "i0", "c0", V, T0 + D + 50, NAN},
    {"u3", "i1", "c0", F, T0 + 2 * D + 10, NAN},
    {"u3", "i1", "c0", V, T0 + 2 * D + 20, NAN},
    {"u3", "i2", "c1", C, T0 + 2 * D + 30, NAN},
};
#define NLOG (sizeof LOG / sizeof *LOG)

typedef struct {
    sq_dataset ds;
    sq_analysis a;
    char path[512];
} fx;

static int setup_log(void **state) {
    fx *f = calloc(1, sizeof *f);
    assert_non_null(tb_tmp(f->path, sizeof f->path, "analytics_small.sqd"));
    assert_int_equal(tb_write(f->path, LOG, NLOG, 1800, 1), 0);
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&f->ds, f->path, &err), SQ_OK);
    sq_analysis_opts o = sq_analysis_opts_default();
    o.top_n = 2;
    o.min_support = 2;
    assert_int_equal(sq_analyze(&f->ds, &o, &f->a, &err), SQ_OK);
    *state = f;
    return 0;
}
static int teardown(void **state) {
    fx *f = *state;
    sq_analysis_free(&f->a);
    sq_dataset_close(&f->ds);
    free(f);
    return 0;
}

static uint32_t user_id(const sq_dataset *ds, const char *name) {
    return sq_dict_find(&ds->users, name, strlen(name));
}
static const char *item_name(const sq_dataset *ds, uint32_t id, char *buf) {
    size_t n;
    const char *s = sq_dict_get(&ds->items, id, &n);
    memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}

static void test_funnel(void **state) {
    fx *f = *state;
    const sq_analysis *a = &f->a;
    assert_true(a->has_fav);
    /* users: view 4 (all), fav 1 (u3), cart 3 (u0 u1 u3), buy 2 (u0 u1) */
    assert_int_equal(a->users_funnel.reached[SQ_STAGE_VIEW], 4);
    assert_int_equal(a->users_funnel.reached[SQ_STAGE_FAV], 1);
    assert_int_equal(a->users_funnel.reached[SQ_STAGE_CART], 3);
    assert_int_equal(a->users_funnel.reached[SQ_STAGE_BUY], 2);
    assert_float_equal(sq_funnel_step(&a->users_funnel, SQ_STAGE_FAV, true), 0.25, 1e-12);
    assert_float_equal(sq_funnel_step(&a->users_funnel, SQ_STAGE_CART, true), 0.75, 1e-12);
    assert_float_equal(sq_funnel_step(&a->users_funnel, SQ_STAGE_BUY, true), 2.0 / 3, 1e-12);
    assert_float_equal(sq_funnel_overall(&a->users_funnel), 0.5, 1e-12);
    /* 7 sessions: u0 {4 events, 1}, u1 {2, 3, 2}, u2 {1}, u3 {3}; every one has a view,
     * carts in 4 (u0A u1A u1B u3), buys in 3 (u0A u1B u1C), fav in 1 */
    assert_int_equal(a->sessions_funnel.total, 7);
    assert_int_equal(a->sessions_funnel.reached[SQ_STAGE_VIEW], 7);
    assert_int_equal(a->sessions_funnel.reached[SQ_STAGE_FAV], 1);
    assert_int_equal(a->sessions_funnel.reached[SQ_STAGE_CART], 4);
    assert_int_equal(a->sessions_funnel.reached[SQ_STAGE_BUY], 3);
    assert_int_equal(a->sessions_with_cart, 4);
    assert_int_equal(a->sessions_cart_no_buy, 2); /* u1A, u3 */
    /* carted (user,item): u0-i0 bought, u1-i0 bought 3 days later, u1-i1 bought, u3-i2 not */
    assert_int_equal(a->carted_pairs, 4);
    assert_int_equal(a->carted_bought_pairs, 3);
    assert_float_equal(sq_analysis_cart_abandonment(a), 0.25, 1e-12);
    /* first view -> buy: u0-i0 600 s, u1-i1 700 s, u1-i0 3 days + 200 s */
    assert_int_equal(a->view_buy_pairs, 3);
    assert_float_equal(a->view_buy_median_s, 700, 1e-9);
    assert_float_equal(a->view_buy_p25_s, 600, 1e-9);
    assert_float_equal(a->view_buy_p75_s, 3 * D + 200, 1e-9);
    assert_int_equal(a->events_by_behavior[V], 8);
    assert_int_equal(a->events_by_behavior[F], 1);
    assert_int_equal(a->events_by_behavior[C], 4);
    assert_int_equal(a->events_by_behavior[B], 3);
    /* per category (most viewed first): c0 view 4, fav 1, cart 2, buy 2; c1 view 1, cart 1 */
    assert_int_equal(a->n_category_funnels, 2);
    const sq_category_funnel *c0 = &a->category_funnels[0], *c1 = &a->category_funnels[1];
    size_t n;
    assert_memory_equal(sq_dict_get(&f->ds.categories, c0->id, &n), "c0", 2);
    assert_int_equal(c0->users.reached[SQ_STAGE_VIEW], 4);
    assert_int_equal(c0->users.reached[SQ_STAGE_FAV], 1);
    assert_int_equal(c0->users.reached[SQ_STAGE_CART], 2);
    assert_int_equal(c0->users.reached[SQ_STAGE_BUY], 2);
    assert_int_equal(c1->users.reached[SQ_STAGE_VIEW], 1);
    assert_int_equal(c1->users.reached[SQ_STAGE_CART], 1);
    assert_int_equal(c1->users.reached[SQ_STAGE_BUY], 0);
    assert_int_equal(c0->events, 14);
    /* c0: carted (u0,i0) (u1,i0) (u1,i1), all bought; view->buy 600, 700, 3 days + 200 s.
     * c1: (u3,i2) carted, never bought; no purchase */
    assert_int_equal(c0->carted_pairs, 3);
    assert_int_equal(c0->carted_bought_pairs, 3);
    assert_int_equal(c0->view_buy_pairs, 3);
    assert_float_equal(c0->view_buy_median_s, 700, 1e-9);
    assert_int_equal(c1->carted_pairs, 1);
    assert_int_equal(c1->carted_bought_pairs, 0);
    assert_int_equal(c1->view_buy_pairs, 0);
    assert_true(isnan(c1->view_buy_median_s));
}

static void test_retention_activity(void **state) {
    fx *f = *state;
    const sq_analysis *a = &f->a;
    assert_int_equal(a->n_days, 4);
    assert_int_equal(a->period, SQ_PERIOD_DAY);
    assert_int_equal(a->n_periods, 4);
    char buf[16];
    sq_day_format(a->day0, buf, sizeof buf);
    assert_string_equal(buf, "2024-01-01");
    /* cohorts: day 0 = {u0 active days 0,2; u1 days 0,1,3}; day 1 = {u2}; day 2 = {u3} */
    const uint64_t size[4] = {2, 1, 1, 0};
    const uint64_t c0[4] = {2, 1, 1, 1}, c1[3] = {1, 0, 0}, c2[2] = {1, 0};
    for (int c = 0; c < 4; c++) assert_int_equal(a->cohort_size[c], size[c]);
    for (int k = 0; k < 4; k++) assert_int_equal(a->cohort_active[0 * 4 + k], c0[k]);
    for (int k = 0; k < 3; k++) assert_int_equal(a->cohort_active[1 * 4 + k], c1[k]);
    for (int k = 0; k < 2; k++) assert_int_equal(a->cohort_active[2 * 4 + k], c2[k]);
    /* daily events and active users */
    const uint64_t ev[4] = {6, 4, 4, 2}, dau[4] = {2, 2, 2, 1};
    for (int d = 0; d < 4; d++) {
        assert_int_equal(a->daily_events[d], ev[d]);
        assert_int_equal(a->daily_active_users[d], dau[d]);
    }
    assert_int_equal(a->daily_by_behavior[1 * SQ_BEHAVIOR_COUNT + B], 1);
    /* every event lies in hour 0 of Mon..Thu */
    assert_int_equal(a->hour_weekday[0][0], 6);
    assert_int_equal(a->hour_weekday[1][0], 4);
    assert_int_equal(a->hour_weekday[2][0], 4);
    assert_int_equal(a->hour_weekday[3][0], 2);
    assert_int_equal(a->hour_weekday[4][0], 0);
    assert_int_equal(a->events_before + a->events_after, 0);
}

static void test_items(void **state) {
    fx *f = *state;
    const sq_analysis *a = &f->a;
    char nm[16];
    /* views: i0 4, i1 3 (top 2 only) */
    const sq_rank_list *v = &a->top_items[SQ_RANK_VIEWS];
    assert_int_equal(v->n, 2);
    assert_string_equal(item_name(&f->ds, v->rows[0].id, nm), "i0");
    assert_int_equal(v->rows[0].views, 4);
    assert_int_equal(v->rows[0].viewers, 3);
    assert_int_equal(v->rows[0].carts, 2);
    assert_int_equal(v->rows[0].buys, 2);
    assert_string_equal(item_name(&f->ds, v->rows[1].id, nm), "i1");
    assert_int_equal(v->rows[1].favs, 1);
    /* conversion (min support 2 viewers): i0 2/3, i1 1/3; i2 (1 viewer) excluded */
    const sq_rank_list *cv = &a->top_items[SQ_RANK_CONVERSION];
    assert_int_equal(cv->n, 2);
    assert_string_equal(item_name(&f->ds, cv->rows[0].id, nm), "i0");
    assert_float_equal(cv->rows[0].conversion, 2.0 / 3, 1e-12);
    assert_string_equal(item_name(&f->ds, cv->rows[1].id, nm), "i1");
    assert_float_equal(cv->rows[1].conversion, 1.0 / 3, 1e-12);
    /* carts: i0 2, then i1 and i2 tie at 1: the smaller dense id (i1, seen first) wins */
    const sq_rank_list *ca = &a->top_items[SQ_RANK_CARTS];
    assert_string_equal(item_name(&f->ds, ca->rows[1].id, nm), "i1");
    /* long tail: events per item 8, 6, 2; top 1% and 10% both round up to 1 item: 8/16 */
    assert_int_equal(a->items_with_events, 3);
    assert_float_equal(a->top1_share, 0.5, 1e-12);
    assert_float_equal(a->top10_share, 0.5, 1e-12);
    /* categories by buys: c0 with 3 */
    assert_int_equal(a->top_categories[SQ_RANK_BUYS].n, 1);
    assert_int_equal(a->top_categories[SQ_RANK_BUYS].rows[0].buys, 3);
}

static void test_users(void **state) {
    fx *f = *state;
    const sq_analysis *a = &f->a;
    /* reference time = last event (day 3 + 300 s) */
    const sq_rfm_user *u0 = &a->rfm[user_id(&f->ds, "u0")], *u1 = &a->rfm[user_id(&f->ds, "u1")],
                      *u2 = &a->rfm[user_id(&f->ds, "u2")], *u3 = &a->rfm[user_id(&f->ds, "u3")];
    assert_float_equal(u0->recency_days, 1 + 300.0 / D, 1e-6);
    assert_float_equal(u1->recency_days, 0, 1e-9);
    assert_float_equal(u2->recency_days, 2 + 250.0 / D, 1e-6);
    assert_float_equal(u3->recency_days, 1 + 270.0 / D, 1e-6);
    assert_int_equal(u0->frequency, 2);
    assert_int_equal(u1->frequency, 3);
    assert_int_equal(u2->frequency, 1);
    assert_float_equal(u0->monetary, 10, 1e-6);
    assert_float_equal(u1->monetary, 30, 1e-6);
    assert_float_equal(u2->monetary, 0, 1e-9);
    /* mid-rank quintiles: R u1 5, u3 4, u0 2, u2 1; F u1 5, u0 4, u2 = u3 2;
     * M non-buyers 1, buyers by quartile among buyers: u0 3, u1 5 */
    assert_int_equal(u1->r, 5), assert_int_equal(u3->r, 4), assert_int_equal(u0->r, 2), assert_int_equal(u2->r, 1);
    assert_int_equal(u1->f, 5), assert_int_equal(u0->f, 4), assert_int_equal(u2->f, 2), assert_int_equal(u3->f, 2);
    assert_int_equal(u0->m, 3), assert_int_equal(u1->m, 5), assert_int_equal(u2->m, 1), assert_int_equal(u3->m, 1);
    /* FM = (F+M+1)/2: u0 4, u1 5, u2 2, u3 2 -> at risk, champions, hibernating, promising */
    assert_int_equal(u0->segment, SQ_SEG_AT_RISK);
    assert_int_equal(u1->segment, SQ_SEG_CHAMPIONS);
    assert_int_equal(u2->segment, SQ_SEG_HIBERNATING);
    assert_int_equal(u3->segment, SQ_SEG_PROMISING);
    assert_int_equal(a->segment_size[SQ_SEG_CHAMPIONS], 1);
    assert_int_equal(a->segment_size[SQ_SEG_LOYAL], 0);
    /* repeat purchase: u1 bought in 2 sessions, u0 in 1 */
    assert_int_equal(a->buyers, 2);
    assert_int_equal(a->repeat_buyers, 1);
    assert_float_equal(sq_analysis_repeat_rate(a), 0.5, 1e-12);
    /* lengths: users 5 7 1 3; sessions 4 1 2 3 2 1 3 */
    assert_float_equal(a->seq_len.median, 4, 1e-12);
    assert_float_equal(a->seq_len.p90, 7, 1e-12);
    assert_int_equal(a->seq_len.min, 1);
    assert_int_equal(a->seq_len.max, 7);
    assert_float_equal(a->seq_len.mean, 4, 1e-12);
    assert_int_equal(a->session_len.n, 7);
    assert_float_equal(a->session_len.median, 2, 1e-12);
    assert_float_equal(a->session_len.p90, 4, 1e-12);
    assert_int_equal(a->session_len.bins[0], 2);
    assert_int_equal(a->session_len.bins[1], 2);
    assert_int_equal(a->session_len.bins[2], 2);
    assert_int_equal(a->session_len.bins[3], 1);
    assert_int_equal(a->bounce_sessions, 2);
    assert_float_equal(sq_analysis_bounce_rate(a), 2.0 / 7, 1e-12);
    /* session durations 600 0 100 700 300 0 20 s: median 100 */
    assert_float_equal(a->session_duration_median_s, 100, 1e-9);
}

static void test_outputs(void **state) {
    fx *f = *state;
    char dir[512];
    assert_non_null(tb_tmp(dir, sizeof dir, "analytics_small_out"));
    sq_error err = {0};
    assert_int_equal(sq_analysis_write_all(&f->a, &f->ds, dir, "test", &err), SQ_OK);
    char p[600];
    snprintf(p, sizeof p, "%s/analysis.json", dir);
    json_error_t je;
    json_t *j = json_load_file(p, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(
                         json_object_get(j, "funnel"), "users"), "reached"), "buy")), 2);
    assert_float_equal(json_real_value(json_object_get(json_object_get(json_object_get(j, "funnel"),
                                                                       "cart_abandonment"), "rate")), 0.25, 1e-9);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "retention"), "period")), "day");
    json_t *top = json_object_get(json_object_get(j, "items"), "top_by_views");
    assert_string_equal(json_string_value(json_object_get(json_array_get(top, 0), "item")), "i0");
    assert_string_equal(json_string_value(json_object_get(json_array_get(top, 0), "category")), "c0");
    json_decref(j);
    snprintf(p, sizeof p, "%s/rfm.csv", dir);
    FILE *fp = fopen(p, "r");
    assert_non_null(fp);
    char line[256];
    int rows = 0, saw_u1 = 0;
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "user_id,recency_days,frequency_sessions,monetary_spend,r_score,f_score,m_score,segment\n");
    while (fgets(line, sizeof line, fp)) {
        rows++;
        if (!strncmp(line, "u1,", 3)) {
            saw_u1 = 1;
            assert_string_equal(line, "u1,0.000,3,30.00,5,5,5,champions\n");
        }
    }
    fclose(fp);
    assert_int_equal(rows, 4);
    assert_true(saw_u1);
    snprintf(p, sizeof p, "%s/report.html", dir);
    fp = fopen(p, "r");
    assert_non_null(fp);
    fclose(fp);
}

/* Without prices M is the number of buy events; without fav the funnel has three stages. */
static void test_no_price_no_fav(void **state) {
    (void)state;
    tb_event ev[NLOG];
    size_t n = 0;
    for (size_t i = 0; i < NLOG; i++)
        if (LOG[i].behavior != F) ev[n++] = LOG[i];
    char path[512];
    assert_non_null(tb_tmp(path, sizeof path, "analytics_noprice.sqd"));
    assert_int_equal(tb_write(path, ev, n, 1800, 0), 0);
    sq_dataset ds = {0};
    sq_analysis a;
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, path, &err), SQ_OK);
    assert_int_equal(sq_analyze(&ds, NULL, &a, &err), SQ_OK);
    assert_false(a.has_fav);
    assert_false(a.has_price);
    assert_float_equal(a.rfm[user_id(&ds, "u1")].monetary, 2, 1e-9);
    assert_float_equal(a.rfm[user_id(&ds, "u0")].monetary, 1, 1e-9);
    assert_true(isnan(sq_funnel_step(&a.users_funnel, SQ_STAGE_FAV, false)));
    assert_float_equal(sq_funnel_step(&a.users_funnel, SQ_STAGE_CART, false), 0.75, 1e-12);
    /* default min support (20 viewers): nothing qualifies for top by conversion */
    assert_int_equal(a.top_items[SQ_RANK_CONVERSION].n, 0);
    json_t *j = sq_analysis_to_json(&a, &ds);
    json_t *stages = json_object_get(json_object_get(j, "funnel"), "stages");
    assert_int_equal(json_array_size(stages), 3);
    json_decref(j);
    sq_analysis_free(&a);
    sq_dataset_close(&ds);
}

/* 10 busy days in weekly-or-daily range plus one stray event 100 days earlier: the stray is
 * trimmed from the window (counted in events_before) and its user joins the first cohort. */
static void test_window_trim_and_weeks(void **state) {
    (void)state;
    enum { N = 3001 };
    tb_event *ev = calloc(N, sizeof *ev);
    static char names[N][16];
    for (int i = 0; i < N - 1; i++) {
        snprintf(names[i], 16, "u%d", i % 300);
        ev[i] = (tb_event){names[i], "i0", "c0", V, T0 + (int64_t)(i / 300) * 7 * D + (i % 300), NAN};
    }
    ev[N - 1] = (tb_event){"u0", "i0", "c0", V, T0 - 100 * D, NAN};
    char path[512];
    assert_non_null(tb_tmp(path, sizeof path, "analytics_weeks.sqd"));
    assert_int_equal(tb_write(path, ev, N, 1800, 0), 0);
    sq_dataset ds = {0};
    sq_analysis a;
    sq_error err = {0};
    assert_int_equal(sq_dataset_open(&ds, path, &err), SQ_OK);
    assert_int_equal(sq_analyze(&ds, NULL, &a, &err), SQ_OK);
    /* 10 weekly bursts: days 0, 7, ..., 63 -> 64 days -> weekly periods */
    assert_int_equal(a.events_before, 1);
    assert_int_equal(a.n_days, 64);
    assert_int_equal(a.period, SQ_PERIOD_WEEK);
    assert_int_equal(a.n_periods, 10);
    assert_int_equal(a.cohort_size[0], 300);
    for (uint32_t k = 0; k < 10; k++) assert_int_equal(a.cohort_active[k], 300);
    /* last events are 1 s apart, u0 first and u299 last: R scores 1 and 5 */
    assert_int_equal(a.rfm[user_id(&ds, "u0")].r, 1);
    assert_int_equal(a.rfm[user_id(&ds, "u299")].r, 5);
    assert_float_equal(a.rfm[user_id(&ds, "u0")].recency_days, 299.0 / D, 1e-6);
    sq_analysis_free(&a);
    sq_dataset_close(&ds);
    free(ev);
}

/* The passes run as OpenMP sections: 1 and 4 threads must give the same document. */
static void test_thread_count_independent(void **state) {
    fx *f = *state;
    char *text[2];
    for (int k = 0; k < 2; k++) {
        omp_set_num_threads(k ? 4 : 1);
        sq_analysis a;
        sq_error err = {0};
        sq_analysis_opts o = sq_analysis_opts_default();
        o.top_n = 2;
        o.min_support = 2;
        assert_int_equal(sq_analyze(&f->ds, &o, &a, &err), SQ_OK);
        json_t *j = sq_analysis_to_json(&a, &f->ds);
        text[k] = json_dumps(j, JSON_PRESERVE_ORDER);
        json_decref(j);
        sq_analysis_free(&a);
    }
    assert_string_equal(text[0], text[1]);
    free(text[0]), free(text[1]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_funnel, setup_log, teardown),
        cmocka_unit_test_setup_teardown(test_retention_activity, setup_log, teardown),
        cmocka_unit_test_setup_teardown(test_items, setup_log, teardown),
        cmocka_unit_test_setup_teardown(test_users, setup_log, teardown),
        cmocka_unit_test_setup_teardown(test_outputs, setup_log, teardown),
        cmocka_unit_test_setup_teardown(test_thread_count_independent, setup_log, teardown),
        cmocka_unit_test(test_no_price_no_fav),
        cmocka_unit_test(test_window_trim_and_weeks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
