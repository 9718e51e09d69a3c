/* Tests of the shop simulator: determinism, ground truth consistent with the events, and
 * the designed behaviour (churn, bot speed, funnel, type differences). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <cmocka.h>

#include "shopseq/behavior.h"
#include "shopseq/synth.h"

/* ---- helpers ------------------------------------------------------------------------- */

static char g_dir[1024];

static const char *tmpdir(void) {
    if (!g_dir[0]) {
        const char *base = getenv("SQ_TMPDIR");
        if (!base || !*base) base = "/tmp";
        mkdir(base, 0777);
        snprintf(g_dir, sizeof g_dir, "%s/synth_unit", base);
        mkdir(g_dir, 0777);
    }
    return g_dir;
}

static char *path_of(const char *name) {
    static char buf[8][1200];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir(), name);
    return buf[k];
}

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)sz + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)sz, f), (size_t)sz);
    b[sz] = 0;
    fclose(f);
    *n = (size_t)sz;
    return b;
}

static void run_synth(uint64_t seed, uint64_t users, double anomaly_rate, const char *out,
                      sq_synth_result *res) {
    sq_synth_options o;
    sq_synth_options_init(&o);
    o.seed = seed;
    o.users = users;
    o.items = 3000;
    o.categories = 30;
    o.anomaly_rate = anomaly_rate;
    o.out = out;
    sq_error err;
    sq_error_clear(&err);
    sq_status st = sq_synth_run(&o, res, &err);
    if (st != SQ_OK) fail_msg("synth failed: %s", err.msg);
}

typedef struct {
    uint32_t user, item, cat;
    int beh;
    int64_t t;
    uint32_t cents;
} event;

typedef struct {
    int type, anomaly;
    int64_t arrival, churn; /* churn -1: none */
    uint64_t sessions, events;
} truth;

typedef struct {
    event *ev;
    size_t n;
    truth *tr; /* indexed by user id (1-based) */
    size_t n_users;
} dataset;

static int type_from(const char *s) {
    for (int t = 0; t < SQ_SYNTH_TYPE_COUNT; t++)
        if (!strcmp(s, sq_synth_type_name(t))) return t;
    return -1;
}

static int anomaly_from(const char *s) {
    for (int t = 0; t < SQ_SYNTH_ANOMALY_COUNT; t++)
        if (!strcmp(s, sq_synth_anomaly_name(t))) return t;
    return -1;
}

static void load(dataset *d, const char *stem) {
    memset(d, 0, sizeof *d);
    char p[1400];
    snprintf(p, sizeof p, "%s.truth.csv", stem);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line,
        "user_id,latent_type,arrival_time,churn_time,anomaly,anomaly_kind,sessions,events\n");
    size_t cap = 1024;
    d->tr = calloc(cap, sizeof *d->tr);
    while (fgets(line, sizeof line, f)) {
        char *fld[8];
        int nf = 0;
        char *s = line;
        line[strcspn(line, "\n")] = 0;
        for (;;) {
            fld[nf++] = s;
            char *c = strchr(s, ',');
            if (!c || nf == 8) break;
            *c = 0;
            s = c + 1;
        }
        assert_int_equal(nf, 8);
        size_t id = strtoull(fld[0], NULL, 10);
        assert_int_equal(id, d->n_users + 1); /* one row per user, in order */
        if (id >= cap) {
            cap *= 2;
            d->tr = realloc(d->tr, cap * sizeof *d->tr);
        }
        truth *t = &d->tr[id];
        t->type = type_from(fld[1]);
        assert_true(t->type >= 0);
        t->arrival = strtoll(fld[2], NULL, 10);
        t->churn = fld[3][0] ? strtoll(fld[3], NULL, 10) : -1;
        assert_true(!strcmp(fld[4], "0") || !strcmp(fld[4], "1"));
        t->anomaly = anomaly_from(fld[5]);
        assert_true(t->anomaly >= 0);
        assert_int_equal(t->anomaly != 0, fld[4][0] == '1');
        t->sessions = strtoull(fld[6], NULL, 10);
        t->events = strtoull(fld[7], NULL, 10);
        d->n_users = id;
    }
    fclose(f);

    snprintf(p, sizeof p, "%s.csv", stem);
    f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "user_id,item_id,category_id,behavior,timestamp,price\n");
    cap = 1 << 16;
    d->ev = malloc(cap * sizeof *d->ev);
    while (fgets(line, sizeof line, f)) {
        if (d->n == cap) {
            cap *= 2;
            d->ev = realloc(d->ev, cap * sizeof *d->ev);
        }
        event *e = &d->ev[d->n++];
        char *s = line, *end;
        e->user = (uint32_t)strtoul(s, &end, 10);
        assert_true(*end == ',');
        e->item = (uint32_t)strtoul(end + 1, &end, 10);
        assert_true(*end == ',');
        e->cat = (uint32_t)strtoul(end + 1, &end, 10);
        assert_true(*end == ',');
        s = end + 1;
        char *c = strchr(s, ',');
        assert_non_null(c);
        e->beh = sq_behavior_from_name(s, (size_t)(c - s));
        assert_true(e->beh >= 0);
        e->t = strtoll(c + 1, &end, 10);
        assert_true(*end == ',');
        unsigned whole = (unsigned)strtoul(end + 1, &end, 10);
        assert_true(*end == '.');
        assert_true(end[1] >= '0' && end[1] <= '9' && end[2] >= '0' && end[2] <= '9' && end[3] == '\n');
        e->cents = whole * 100 + (unsigned)(end[1] - '0') * 10 + (unsigned)(end[2] - '0');
    }
    fclose(f);
}

static void unload(dataset *d) {
    free(d->ev);
    free(d->tr);
}

/* one shared dataset: 3000 users, 5% anomalous so that every kind is present */
static dataset g_ds;
static const int64_t START = 1704067200, END = 1704067200 + 60 * 86400;

static int setup(void **state) {
    (void)state;
    sq_synth_result res;
    run_synth(11, 3000, 0.05, path_of("main.csv"), &res);
    sq_synth_result_free(&res);
    char stem[1200];
    snprintf(stem, sizeof stem, "%s/main", tmpdir());
    load(&g_ds, stem);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unload(&g_ds);
    return 0;
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_determinism(void **state) {
    (void)state;
    sq_synth_result r1, r2, r3;
    run_synth(5, 400, 0.02, path_of("a.csv"), &r1);
    run_synth(5, 400, 0.02, path_of("b.csv"), &r2);
    run_synth(6, 400, 0.02, path_of("c.csv"), &r3);
    assert_int_equal(r1.events, r2.events);
    const char *sfx[] = {".csv", ".truth.csv", ".items.csv"};
    for (int k = 0; k < 3; k++) {
        char pa[64], pb[64], pc[64];
        snprintf(pa, sizeof pa, "a%s", sfx[k]);
        snprintf(pb, sizeof pb, "b%s", sfx[k]);
        snprintf(pc, sizeof pc, "c%s", sfx[k]);
        size_t na, nb, nc;
        char *a = slurp(path_of(pa), &na), *b = slurp(path_of(pb), &nb), *c = slurp(path_of(pc), &nc);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
        assert_true(na != nc || memcmp(a, c, na) != 0);
        free(a);
        free(b);
        free(c);
    }
    sq_synth_result_free(&r1);
    sq_synth_result_free(&r2);
    sq_synth_result_free(&r3);
}

/* a user's events do not depend on how many users are generated */
static void test_prefix_stable(void **state) {
    (void)state;
    sq_synth_result r1, r2;
    run_synth(9, 100, 0.02, path_of("p100.csv"), &r1);
    run_synth(9, 300, 0.02, path_of("p300.csv"), &r2);
    size_t n1, n2;
    char *a = slurp(path_of("p100.csv"), &n1), *b = slurp(path_of("p300.csv"), &n2);
    assert_true(n2 > n1);
    assert_memory_equal(a, b, n1);
    assert_true(!strncmp(b + n1, "101,", 4));
    free(a);
    free(b);
    sq_synth_result_free(&r1);
    sq_synth_result_free(&r2);
}

static void test_gzip_matches_plain(void **state) {
    (void)state;
    sq_synth_result r1, r2;
    run_synth(3, 200, 0.01, path_of("z.csv"), &r1);
    run_synth(3, 200, 0.01, path_of("z2.csv.gz"), &r2);
    assert_string_equal(r2.truth_path, path_of("z2.truth.csv"));
    size_t n;
    char *plain = slurp(path_of("z.csv"), &n);
    gzFile g = gzopen(path_of("z2.csv.gz"), "rb");
    assert_non_null(g);
    char *un = malloc(n + 16);
    int got = gzread(g, un, (unsigned)(n + 16));
    gzclose(g);
    assert_int_equal(got, (int)n);
    assert_memory_equal(plain, un, n);
    assert_int_equal(r2.bytes, n);
    free(plain);
    free(un);
    sq_synth_result_free(&r1);
    sq_synth_result_free(&r2);
}

static void test_truth_matches_events(void **state) {
    (void)state;
    dataset *d = &g_ds;
    assert_int_equal(d->n_users, 3000);
    uint64_t *count = calloc(d->n_users + 1, sizeof *count);
    uint64_t *sessions = calloc(d->n_users + 1, sizeof *sessions);
    for (size_t i = 0; i < d->n; i++) {
        const event *e = &d->ev[i];
        assert_true(e->user >= 1 && e->user <= d->n_users);
        /* grouped by user, time order within a user */
        if (i > 0 && d->ev[i - 1].user == e->user) {
            assert_true(d->ev[i - 1].t <= e->t);
            if (e->t - d->ev[i - 1].t > 1800) sessions[e->user]++;
        } else {
            assert_true(i == 0 || d->ev[i - 1].user < e->user);
            sessions[e->user]++;
        }
        count[e->user]++;
    }
    for (size_t u = 1; u <= d->n_users; u++) {
        assert_true(count[u] > 0); /* every user has events */
        assert_int_equal(count[u], d->tr[u].events);
        /* sessions are recovered exactly by a 30-minute inactivity cut */
        assert_int_equal(sessions[u], d->tr[u].sessions);
    }
    free(count);
    free(sessions);
}

static void test_time_span_and_churn(void **state) {
    (void)state;
    dataset *d = &g_ds;
    size_t churned = 0, after = 0;
    for (size_t u = 1; u <= d->n_users; u++) churned += d->tr[u].churn >= 0;
    for (size_t i = 0; i < d->n; i++) {
        const event *e = &d->ev[i];
        const truth *t = &d->tr[e->user];
        assert_true(e->t >= START && e->t < END);
        assert_true(e->t >= t->arrival);
        if (t->churn >= 0 && e->t >= t->churn) after++;
    }
    assert_int_equal(after, 0);
    /* default churn rate 0.3, type multipliers average to about 1 */
    double share = (double)churned / (double)d->n_users;
    assert_true(share > 0.2 && share < 0.4);
    /* churners fade: fewer events per day in their last week than in their first */
    double early = 0, late = 0;
    for (size_t i = 0; i < d->n; i++) {
        const truth *t = &d->tr[d->ev[i].user];
        if (t->churn < 0 || t->anomaly || t->arrival >= START || t->churn - START < 28 * 86400) continue;
        if (d->ev[i].t < START + 7 * 86400) early++;
        if (d->ev[i].t >= t->churn - 7 * 86400) late++;
    }
    assert_true(late < early);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_bot_speed(void **state) {
    (void)state;
    dataset *d = &g_ds;
    int64_t *bot = malloc(d->n * sizeof *bot), *human = malloc(d->n * sizeof *human);
    size_t nb = 0, nh = 0;
    size_t bot_users[SQ_SYNTH_ANOMALY_COUNT] = {0};
    for (size_t u = 1; u <= d->n_users; u++) bot_users[d->tr[u].anomaly]++;
    for (int k = 1; k < SQ_SYNTH_ANOMALY_COUNT; k++) assert_true(bot_users[k] > 10);
    for (size_t i = 1; i < d->n; i++) {
        const event *a = &d->ev[i - 1], *b = &d->ev[i];
        if (a->user != b->user || b->t - a->t > 1800) continue;
        int an = d->tr[b->user].anomaly;
        if (an == SQ_SYNTH_ANOMALY_BOT_SPEED) bot[nb++] = b->t - a->t;
        else if (an == SQ_SYNTH_ANOMALY_NONE) human[nh++] = b->t - a->t;
    }
    assert_true(nb > 1000 && nh > 1000);
    qsort(bot, nb, sizeof *bot, cmp_i64);
    qsort(human, nh, sizeof *human, cmp_i64);
    /* promised: bot_speed events 0-1 s apart (median 0); humans take seconds */
    assert_true(bot[nb - 1] <= 1);
    assert_int_equal(bot[nb / 2], 0);
    assert_true(human[nh / 2] >= 5);
    free(bot);
    free(human);
    /* bots only view; bot_uniform users view at all hours */
    int hours[24] = {0};
    for (size_t i = 0; i < d->n; i++) {
        int an = d->tr[d->ev[i].user].anomaly;
        if (an == SQ_SYNTH_ANOMALY_BOT_SPEED || an == SQ_SYNTH_ANOMALY_BOT_UNIFORM)
            assert_int_equal(d->ev[i].beh, SQ_BEHAVIOR_VIEW);
        if (an == SQ_SYNTH_ANOMALY_BOT_UNIFORM) hours[(d->ev[i].t % 86400) / 3600]++;
    }
    for (int h = 0; h < 24; h++) assert_true(hours[h] > 0);
}

static void test_fraud_bursts(void **state) {
    (void)state;
    dataset *d = &g_ds;
    /* fraud accounts have buys without a cart at 1-5 am */
    size_t night_direct = 0, fraud_users = 0;
    for (size_t u = 1; u <= d->n_users; u++) fraud_users += d->tr[u].anomaly == SQ_SYNTH_ANOMALY_FRAUD_BURST;
    for (size_t i = 0; i < d->n; i++) {
        const event *e = &d->ev[i];
        if (d->tr[e->user].anomaly != SQ_SYNTH_ANOMALY_FRAUD_BURST || e->beh != SQ_BEHAVIOR_BUY) continue;
        int h = (int)((e->t % 86400) / 3600);
        if (h >= 1 && h < 6) night_direct++;
    }
    assert_true(night_direct >= 8 * fraud_users / 2);
}

static void test_buy_after_cart(void **state) {
    (void)state;
    dataset *d = &g_ds;
    size_t buys = 0, with_cart = 0;
    size_t s0 = 0; /* first event of the current session */
    for (size_t i = 0; i < d->n; i++) {
        const event *e = &d->ev[i];
        if (i == 0 || d->ev[i - 1].user != e->user || e->t - d->ev[i - 1].t > 1800) s0 = i;
        if (e->beh != SQ_BEHAVIOR_BUY || d->tr[e->user].anomaly) continue;
        buys++;
        for (size_t j = s0; j < i; j++)
            if (d->ev[j].beh == SQ_BEHAVIOR_CART && d->ev[j].item == e->item) {
                with_cart++;
                break;
            }
    }
    assert_true(buys > 1000);
    /* designed: about 97% of normal users' buys follow a cart of the item in the session
     * (the rest are "buy now" purchases straight from the view) */
    double rate = (double)with_cart / (double)buys;
    assert_true(rate > 0.93 && rate < 0.995);
}

static void test_prices_and_items(void **state) {
    (void)state;
    dataset *d = &g_ds;
    char p[1200];
    snprintf(p, sizeof p, "%s/main.items.csv", tmpdir());
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "item_id,category_id,price,launch_time,popularity_rank\n");
    uint32_t n = 3000;
    uint32_t *cat = calloc(n + 1, sizeof *cat), *cents = calloc(n + 1, sizeof *cents);
    int64_t *launch = calloc(n + 1, sizeof *launch);
    char *rank_seen = calloc(n + 1, 1);
    uint32_t rows = 0;
    size_t launched_in_span = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned id, c, rank, w, fr;
        long long l;
        assert_int_equal(sscanf(line, "%u,%u,%u.%u,%lld,%u", &id, &c, &w, &fr, &l, &rank), 6);
        assert_int_equal(id, ++rows);
        assert_true(c >= 1 && c <= 30);
        assert_true(rank >= 1 && rank <= n && !rank_seen[rank]);
        rank_seen[rank] = 1;
        cat[id] = c;
        cents[id] = w * 100 + fr;
        assert_true(cents[id] > 0);
        launch[id] = l;
        launched_in_span += l >= START;
    }
    fclose(f);
    assert_int_equal(rows, n);
    /* new items appear over the span (default share 0.25) */
    assert_true(launched_in_span > n / 8 && launched_in_span < n / 2);
    for (size_t i = 0; i < d->n; i++) {
        const event *e = &d->ev[i];
        assert_true(e->item >= 1 && e->item <= n);
        assert_true(e->cents > 0);
        assert_int_equal(e->cents, cents[e->item]);
        assert_int_equal(e->cat, cat[e->item]);
        assert_true(e->t >= launch[e->item]); /* no event before the item exists */
    }
    free(cat);
    free(cents);
    free(launch);
    free(rank_seen);
}

static void test_popularity_skew(void **state) {
    (void)state;
    dataset *d = &g_ds;
    uint64_t *views = calloc(3001, sizeof *views);
    uint64_t total = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->ev[i].beh == SQ_BEHAVIOR_VIEW && !d->tr[d->ev[i].user].anomaly) {
            views[d->ev[i].item]++;
            total++;
        }
    qsort(views + 1, 3000, sizeof *views, cmp_i64); /* ascending (values fit in int64) */
    uint64_t top = 0;
    for (int k = 0; k < 300; k++) top += views[3000 - k];
    /* Zipf-like: the top 10% of items draw well over a third of the views */
    assert_true((double)top / (double)total > 0.35);
    free(views);
}

static void test_types_differ(void **state) {
    (void)state;
    dataset *d = &g_ds;
    double n[4][SQ_BEHAVIOR_COUNT] = {{0}};
    double buy_price[4] = {0}, buy_n[4] = {0};
    for (size_t i = 0; i < d->n; i++) {
        const event *e = &d->ev[i];
        const truth *t = &d->tr[e->user];
        if (t->anomaly || t->type >= 4) continue;
        n[t->type][e->beh]++;
        if (e->beh == SQ_BEHAVIOR_BUY) {
            buy_price[t->type] += e->cents;
            buy_n[t->type]++;
        }
    }
    double cart_view[4], buy_cart[4], fav_view[4];
    for (int k = 0; k < 4; k++) {
        cart_view[k] = n[k][SQ_BEHAVIOR_CART] / n[k][SQ_BEHAVIOR_VIEW];
        buy_cart[k] = n[k][SQ_BEHAVIOR_BUY] / n[k][SQ_BEHAVIOR_CART];
        fav_view[k] = n[k][SQ_BEHAVIOR_FAV] / n[k][SQ_BEHAVIOR_VIEW];
    }
    enum { BH = SQ_SYNTH_BARGAIN_HUNTER, LR = SQ_SYNTH_LOYAL_REGULAR,
           WS = SQ_SYNTH_WINDOW_SHOPPER, BB = SQ_SYNTH_BIG_BASKET };
    /* designed: big_basket > loyal_regular > bargain_hunter > window_shopper */
    assert_true(cart_view[BB] > cart_view[LR] && cart_view[LR] > cart_view[BH] &&
                cart_view[BH] > cart_view[WS]);
    assert_true(buy_cart[BB] > buy_cart[LR] && buy_cart[LR] > buy_cart[BH] &&
                buy_cart[BH] > buy_cart[WS]);
    /* window shoppers favourite the most */
    for (int k = 0; k < 4; k++)
        if (k != WS) assert_true(fav_view[WS] > fav_view[k]);
    /* bargain hunters pay the least per item */
    for (int k = 0; k < 4; k++)
        if (k != BH) assert_true(buy_price[BH] / buy_n[BH] < buy_price[k] / buy_n[k]);
}

static void test_users_for_events(void **state) {
    (void)state;
    sq_synth_options o;
    sq_synth_options_init(&o);
    o.out = path_of("target.csv");
    o.items = 3000;
    o.categories = 30;
    uint64_t users = 0;
    sq_error err;
    assert_int_equal(sq_synth_users_for_events(&o, 200000, &users, &err), SQ_OK);
    o.users = users;
    sq_synth_result res;
    assert_int_equal(sq_synth_run(&o, &res, &err), SQ_OK);
    assert_true(res.events > 160000 && res.events < 240000);
    sq_synth_result_free(&res);
}

static void test_validate(void **state) {
    (void)state;
    sq_synth_options o;
    sq_error err;
    sq_synth_options_init(&o);
    assert_int_equal(sq_synth_validate(&o, &err), SQ_OK);
    o.churn_rate = 1.5;
    assert_int_equal(sq_synth_validate(&o, &err), SQ_ERR_USAGE);
    sq_synth_options_init(&o);
    o.items = 10;
    o.categories = 20;
    assert_int_equal(sq_synth_validate(&o, &err), SQ_ERR_USAGE);
    sq_synth_options_init(&o);
    o.users = 0;
    assert_int_equal(sq_synth_validate(&o, &err), SQ_ERR_USAGE);
    /* unwritable output: an error, no crash */
    sq_synth_options_init(&o);
    o.users = 5;
    o.out = "/nonexistent-dir/x.csv";
    assert_int_equal(sq_synth_run(&o, NULL, &err), SQ_ERR_IO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_prefix_stable),
        cmocka_unit_test(test_gzip_matches_plain),
        cmocka_unit_test(test_truth_matches_events),
        cmocka_unit_test(test_time_span_and_churn),
        cmocka_unit_test(test_bot_speed),
        cmocka_unit_test(test_fraud_bursts),
        cmocka_unit_test(test_buy_after_cart),
        cmocka_unit_test(test_prices_and_items),
        cmocka_unit_test(test_popularity_skew),
        cmocka_unit_test(test_types_differ),
        cmocka_unit_test(test_users_for_events),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests_name("synth", tests, setup, teardown);
}
