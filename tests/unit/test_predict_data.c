/* Examples of the prediction tasks: labels on a hand-made log where every label is known,
 * hand-computed features, and the leak test: changing or adding events at or after the cut
 * must leave every feature and every sequence input bit-identical. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "predict/internal.h"
#include "shopseq/predict.h"
#include "shopseq/predict_model.h"

/* ---- an in-memory dataset (the reader's struct filled by hand) ---- */
typedef struct {
    uint32_t user, item;
    uint8_t beh;
    int64_t t;
    uint32_t cat;
    float price;
    uint32_t order; /* input order, for stable sorting */
} ev;

typedef struct {
    sq_dataset ds;
    uint64_t *off;
    uint32_t *item, *cat, *sess, *icat;
    uint8_t *beh;
    int64_t *t;
    float *price;
} mem_ds;

static int by_user_time(const void *a, const void *b) {
    const ev *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void mem_build(mem_ds *m, ev *e, size_t n, uint32_t n_users, uint32_t n_items,
                      uint32_t n_cats) {
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < n; i++) e[i].order = (uint32_t)i;
    qsort(e, n, sizeof *e, by_user_time);
    m->off = calloc(n_users + 1, sizeof *m->off);
    m->item = malloc((n + 1) * sizeof *m->item);
    m->cat = malloc((n + 1) * sizeof *m->cat);
    m->sess = malloc((n + 1) * sizeof *m->sess);
    m->beh = malloc(n + 1);
    m->t = malloc((n + 1) * sizeof *m->t);
    m->price = malloc((n + 1) * sizeof *m->price);
    m->icat = malloc((n_items + 1) * sizeof *m->icat);
    for (uint32_t i = 0; i < n_items; i++) m->icat[i] = SQ_NONE;
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++) {
        m->off[e[i].user + 1]++;
        m->item[i] = e[i].item;
        m->cat[i] = e[i].cat;
        m->beh[i] = e[i].beh;
        m->t[i] = e[i].t;
        m->price[i] = e[i].price;
        m->icat[e[i].item] = e[i].cat; /* last seen, as ingest does */
        if (i > 0 && (e[i].user != e[i - 1].user || e[i].t - e[i - 1].t > 1800000)) s++;
        m->sess[i] = s;
    }
    for (uint32_t u = 0; u < n_users; u++) m->off[u + 1] += m->off[u];
    sq_dataset *d = &m->ds;
    d->n_users = n_users;
    d->n_items = n_items;
    d->n_categories = n_cats;
    d->flags = SQ_DATASET_HAS_CATEGORY | SQ_DATASET_HAS_PRICE;
    d->n_events = n;
    d->n_sessions = n ? s + 1 : 0;
    d->user_offsets = m->off;
    d->item = m->item;
    d->behavior = m->beh;
    d->time_ms = m->t;
    d->category = m->cat;
    d->price = m->price;
    d->session = m->sess;
    d->item_category = m->icat;
    d->time_min_ms = n ? m->t[0] : 0;
    d->time_max_ms = 0;
    for (size_t i = 0; i < n; i++) {
        if (m->t[i] < d->time_min_ms) d->time_min_ms = m->t[i];
        if (m->t[i] > d->time_max_ms) d->time_max_ms = m->t[i];
    }
}

static void mem_free(mem_ds *m) {
    free(m->off);
    free(m->item);
    free(m->cat);
    free(m->sess);
    free(m->beh);
    free(m->t);
    free(m->price);
    free(m->icat);
}

/* ---- the hand-made log ---- */
static const int64_t T0 = 1700000000000LL, H = 3600000;
enum { VIEW = SQ_BEHAVIOR_VIEW, FAV = SQ_BEHAVIOR_FAV, CART = SQ_BEHAVIOR_CART, BUY = SQ_BEHAVIOR_BUY };
#define AT(hours) (T0 + (int64_t)((hours) * (double)H))

/* cut at 100 h, horizon 24 h: labels from [100 h, 124 h) */
static void hand_log(mem_ds *m) {
    ev e[] = {
        /* A: bought before, buys again at 110 h; first event after the cut is a view */
        {0, 0, VIEW, AT(10), 0, 10.f, 0}, {0, 0, CART, AT(50), 0, 10.f, 0},
        {0, 0, BUY, AT(99), 0, 10.f, 0}, {0, 1, VIEW, AT(101), 0, 5.f, 0},
        {0, 1, BUY, AT(110), 0, 5.f, 0},
        /* B: active, silent in the window (its cart at 125 h is after it) */
        {1, 2, VIEW, AT(20), 0, 1.f, 0}, {1, 2, FAV, AT(90), 0, 1.f, 0},
        {1, 2, CART, AT(125), 0, 1.f, 0},
        /* C: inactive for 70 h, then a cart exactly at the cut and a buy of category 1 */
        {2, 0, VIEW, AT(30), 0, 10.f, 0}, {2, 0, CART, AT(100), 0, 10.f, 0},
        {2, 3, BUY, AT(123.9), 1, 7.f, 0},
        /* D: no history before the cut */
        {3, 1, VIEW, AT(105), 0, 5.f, 0},
        /* E: its buy falls exactly at the window's end (excluded) */
        {4, 1, CART, AT(99.5), 0, 5.f, 0}, {4, 1, BUY, AT(124), 0, 5.f, 0},
    };
    mem_build(m, e, sizeof e / sizeof *e, 5, 4, 2);
}

static void build(const sq_dataset *ds, sq_pred_task task, int labels, sq_pred_examples *ex,
                  void (*tweak)(sq_pred_config *)) {
    sq_pred_config c;
    sq_pred_config_default(&c);
    c.task = task;
    c.horizon_ms = 24 * H;
    c.item_negatives = 1;
    if (tweak) tweak(&c);
    sq_error err = {0};
    assert_int_equal(sq_pred_build(ds, &c, AT(100), labels, ex, &err), SQ_OK);
}

static void expect(const sq_pred_examples *ex, size_t n, const uint32_t *users,
                   const int32_t *labels) {
    assert_int_equal(ex->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ex->user[i], users[i]);
        assert_int_equal(ex->label[i], labels[i]);
        assert_int_equal(ex->cut_ms[i], AT(100));
        for (uint64_t j = ex->seq_begin[i]; j < ex->seq_end[i]; j++)
            assert_true(ex->ds->time_ms[j] < AT(100));
    }
}

static void cat1(sq_pred_config *c) { c->category = 1; }
static void look24(sq_pred_config *c) { c->lookback_ms = 24 * H; }
static void active100(sq_pred_config *c) { c->active_ms = 100 * H; }

static void test_labels(void **state) {
    (void)state;
    mem_ds m;
    hand_log(&m);
    sq_pred_examples ex;
    build(&m.ds, SQ_PRED_PURCHASE, 1, &ex, NULL);
    expect(&ex, 4, (uint32_t[]){0, 1, 2, 4}, (int32_t[]){1, 0, 1, 0});
    /* sequences: each user's events before the cut */
    assert_int_equal(ex.seq_begin[0], 0);
    assert_int_equal(ex.seq_end[0], 3);
    assert_int_equal(ex.seq_begin[1], 5);
    assert_int_equal(ex.seq_end[1], 7);
    assert_int_equal(ex.seq_begin[2], 8);
    assert_int_equal(ex.seq_end[2], 9);
    assert_int_equal(ex.n_classes, 2);
    sq_pred_examples_free(&ex);
    build(&m.ds, SQ_PRED_PURCHASE, 1, &ex, cat1);
    expect(&ex, 4, (uint32_t[]){0, 1, 2, 4}, (int32_t[]){0, 0, 1, 0});
    sq_pred_examples_free(&ex);
    build(&m.ds, SQ_PRED_PURCHASE, 1, &ex, look24);
    expect(&ex, 3, (uint32_t[]){0, 1, 4}, (int32_t[]){1, 0, 0});
    sq_pred_examples_free(&ex);
    /* scoring: same users, no labels */
    build(&m.ds, SQ_PRED_PURCHASE, 0, &ex, NULL);
    expect(&ex, 4, (uint32_t[]){0, 1, 2, 4}, (int32_t[]){-1, -1, -1, -1});
    assert_int_equal(ex.has_labels, 0);
    sq_pred_examples_free(&ex);

    /* churn: active = an event in [76 h, 100 h); C (last at 30 h) is not */
    build(&m.ds, SQ_PRED_CHURN, 1, &ex, NULL);
    expect(&ex, 3, (uint32_t[]){0, 1, 4}, (int32_t[]){0, 1, 1});
    sq_pred_examples_free(&ex);
    build(&m.ds, SQ_PRED_CHURN, 1, &ex, active100);
    expect(&ex, 4, (uint32_t[]){0, 1, 2, 4}, (int32_t[]){0, 1, 0, 1});
    sq_pred_examples_free(&ex);

    /* next behaviour: classes view, fav, cart, buy; only users with an event in the window */
    build(&m.ds, SQ_PRED_NEXT_BEHAVIOR, 1, &ex, NULL);
    assert_int_equal(ex.n_classes, 4);
    assert_int_equal(ex.class_behavior[0], VIEW);
    assert_int_equal(ex.class_behavior[1], FAV);
    assert_int_equal(ex.class_behavior[2], CART);
    assert_int_equal(ex.class_behavior[3], BUY);
    expect(&ex, 2, (uint32_t[]){0, 2}, (int32_t[]){0, 2});
    sq_pred_examples_free(&ex);
    build(&m.ds, SQ_PRED_NEXT_BEHAVIOR, 0, &ex, NULL);
    expect(&ex, 4, (uint32_t[]){0, 1, 2, 4}, (int32_t[]){-1, -1, -1, -1});
    sq_pred_examples_free(&ex);

    /* item: A's positive is item 1; C's are items 0 and 3 (first-seen order); one negative
     * per positive, from items seen before the cut and not in the user's window */
    build(&m.ds, SQ_PRED_ITEM, 1, &ex, NULL);
    assert_int_equal(ex.n_features, SQ__PRED_N_ALL_FEATURES);
    size_t pos = 0, neg = 0;
    for (size_t i = 0; i < ex.n; i++) {
        assert_true(ex.user[i] == 0 || ex.user[i] == 2);
        if (ex.label[i]) {
            pos++;
            if (ex.user[i] == 0) assert_int_equal(ex.item[i], 1);
            else assert_true(ex.item[i] == 0 || ex.item[i] == 3);
        } else {
            neg++;
            if (ex.user[i] == 0) assert_true(ex.item[i] == 0 || ex.item[i] == 2);
            else assert_true(ex.item[i] == 1 || ex.item[i] == 2);
        }
    }
    assert_int_equal(pos, 3);
    assert_true(neg >= 2 && neg <= 3); /* C's two draws may find only one distinct item */
    assert_int_equal(ex.user[0], 0);
    assert_int_equal(ex.item[0], 1);
    assert_int_equal(ex.label[0], 1);
    assert_int_equal(sq_pred_n_outputs(&ex), 1);
    sq_pred_examples_free(&ex);
    mem_free(&m);

    /* two behaviours only: next-behavior stays multi-class, one output per class */
    ev e2[] = {{0, 0, VIEW, AT(10), 0, 1.f, 0}, {0, 0, BUY, AT(101), 0, 1.f, 0},
               {1, 1, BUY, AT(20), 0, 1.f, 0}, {1, 1, VIEW, AT(102), 0, 1.f, 0}};
    mem_build(&m, e2, 4, 2, 2, 1);
    build(&m.ds, SQ_PRED_NEXT_BEHAVIOR, 1, &ex, NULL);
    assert_int_equal(ex.n_classes, 2);
    assert_false(sq_pred_is_binary(&ex));
    assert_int_equal(sq_pred_n_outputs(&ex), 2);
    expect(&ex, 2, (uint32_t[]){0, 1}, (int32_t[]){1, 0});
    sq_pred_examples_free(&ex);
    mem_free(&m);
}

#define F(name) ex.x[SQ__F_##name]
#define NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-5)

static void test_features(void **state) {
    (void)state;
    mem_ds m;
    hand_log(&m);
    sq_pred_examples ex;
    build(&m.ds, SQ_PRED_PURCHASE, 1, &ex, NULL);
    /* user A at 100 h: view 10 h, cart 50 h, buy 99 h (price 10); three sessions */
    NEAR(F(LOG_EVENTS), log1p(3));
    NEAR(F(LOG_VIEW), log1p(1));
    NEAR(F(LOG_CART), log1p(1));
    NEAR(F(LOG_BUY), log1p(1));
    NEAR(F(LOG_FAV), 0);
    NEAR(F(LOG_SESSIONS), log1p(3));
    NEAR(F(LOG_ITEMS), log1p(1));
    NEAR(F(LOG_CATEGORIES), log1p(1));
    NEAR(F(LOG_HOURS_SINCE_LAST), log1p(1));
    NEAR(F(LOG_HOURS_SINCE_FIRST), log1p(90));
    NEAR(F(LOG_HOURS_SINCE_BUY), log1p(1));
    NEAR(F(EVER_BOUGHT), 1);
    NEAR(F(LOG_GAP_LAST_TWO), log1p(49));
    NEAR(F(LOG_SESSION_GAP), log1p(44.5));
    NEAR(F(LOG_EVENTS_LAST_H), log1p(1));
    NEAR(F(LOG_EVENTS_LAST_DAY), log1p(1));
    NEAR(F(LOG_EVENTS_LAST_WEEK), log1p(3));
    NEAR(F(LOG_SESSIONS_LAST_WEEK), log1p(3));
    NEAR(F(LOG_BUYS_LAST_WEEK), log1p(1));
    NEAR(F(LOG_MONETARY), log1p(10));
    NEAR(F(BUY_PER_VIEW), 0.5);
    NEAR(F(CART_PER_VIEW), 0.5);
    NEAR(F(BUY_PER_CART), 0.5);
    NEAR(F(FAV_PER_VIEW), 0);
    NEAR(F(LOG_LAST_SESSION_EVENTS), log1p(1));
    NEAR(F(LAST_BUY), 1);
    NEAR(F(LAST_VIEW), 0);
    /* standardisation: fitted means/stds make the training columns mean 0, std 1 */
    sq_pred_norm nm;
    sq_error err = {0};
    assert_int_equal(sq_pred_norm_fit(&nm, &ex, &err), SQ_OK);
    sq_pred_norm_apply(&nm, &ex);
    for (int j = 0; j < ex.n_features; j++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < ex.n; i++) {
            s += ex.x[i * (size_t)ex.n_features + j];
            ss += ex.x[i * (size_t)ex.n_features + j] * ex.x[i * (size_t)ex.n_features + j];
        }
        assert_true(fabs(s / (double)ex.n) < 1e-5);
        assert_true(fabs(ss / (double)ex.n - 1) < 1e-4 || ss < 1e-9); /* constant: all 0 */
    }
    sq_pred_norm_free(&nm);
    sq_pred_examples_free(&ex);
    mem_free(&m);
}

/* ---- the leak test ---- */
static uint64_t rs;
static uint64_t rnd(uint64_t n) {
    uint64_t z = (rs += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (z ^ (z >> 31)) % n;
}

enum { LU = 80, LI = 40, LC = 6 };
static const uint8_t behs[] = {VIEW, VIEW, VIEW, VIEW, FAV, CART, CART, BUY};

static ev random_event(uint32_t u, int64_t lo, int64_t hi, uint32_t n_items) {
    uint32_t it = (uint32_t)rnd(n_items);
    return (ev){u, it, behs[rnd(sizeof behs)], lo + (int64_t)rnd((uint64_t)(hi - lo)),
                it % LC, (float)(1 + rnd(100)), 0};
}

/* Every input of example i of a, read from a's dataset, equals that of b. */
static void same_inputs(const sq_pred_examples *a, const sq_pred_examples *b) {
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->n_features, b->n_features);
    assert_memory_equal(a->user, b->user, a->n * sizeof *a->user);
    assert_memory_equal(a->item, b->item, a->n * sizeof *a->item);
    assert_memory_equal(a->cut_ms, b->cut_ms, a->n * sizeof *a->cut_ms);
    assert_memory_equal(a->x, b->x, a->n * (size_t)a->n_features * sizeof *a->x);
    const sq_dataset *da = a->ds, *db = b->ds;
    for (size_t i = 0; i < a->n; i++) {
        uint64_t la = a->seq_end[i] - a->seq_begin[i], lb = b->seq_end[i] - b->seq_begin[i];
        assert_int_equal(la, lb);
        uint64_t ba = a->seq_begin[i], bb = b->seq_begin[i];
        assert_memory_equal(da->item + ba, db->item + bb, la * sizeof *da->item);
        assert_memory_equal(da->behavior + ba, db->behavior + bb, la);
        assert_memory_equal(da->time_ms + ba, db->time_ms + bb, la * sizeof *da->time_ms);
        assert_memory_equal(da->category + ba, db->category + bb, la * sizeof *da->category);
        assert_memory_equal(da->price + ba, db->price + bb, la * sizeof *da->price);
        /* session boundaries (ids are global and shift with other users' events) */
        for (uint64_t j = 1; j < la; j++)
            assert_int_equal(da->session[ba + j] != da->session[ba + j - 1],
                             db->session[bb + j] != db->session[bb + j - 1]);
    }
}

static void test_no_leak(void **state) {
    (void)state;
    const int64_t cut = AT(240), day = 24 * H;
    size_t cap = 20000, n1 = 0, n2 = 0;
    ev *e1 = malloc(cap * sizeof *e1), *e2 = malloc(cap * sizeof *e2);
    rs = 99;
    for (uint32_t u = 0; u < LU; u++) {
        int k = (int)rnd(40);
        for (int j = 0; j < k; j++) e1[n1++] = random_event(u, cut - 10 * day, cut + 5 * day, LI);
        if (u % 7 == 0) e1[n1++] = (ev){u, 1, BUY, cut, 1, 3.f, 0}; /* exactly at the cut */
    }
    /* the second log: every event at or after the cut changed (item, behaviour, category,
     * price, time), new events after the cut for most users and at the cut itself, new
     * items that exist only after it, and a new user with no history */
    for (size_t i = 0; i < n1; i++) {
        ev x = e1[i];
        if (x.t >= cut) {
            ev y = random_event(x.user, cut, cut + 6 * day, LI + 10);
            y.cat = (uint32_t)rnd(LC); /* even the category of known items moves */
            x = y;
        }
        e2[n2++] = x;
    }
    for (uint32_t u = 0; u < LU; u++) {
        int k = (int)rnd(30);
        for (int j = 0; j < k; j++) e2[n2++] = random_event(u, cut, cut + 6 * day, LI + 10);
        if (u % 3 == 0) e2[n2++] = (ev){u, 2, BUY, cut, 2, 9.f, 0};
        for (int j = 0; j < 20 && u % 5 == 0; j++) e2[n2++] = (ev){u, 5, BUY, cut + j * H, 5, 1.f, 0};
    }
    e2[n2++] = (ev){LU, 7, BUY, cut + H, 1, 1.f, 0};
    mem_ds a, b;
    mem_build(&a, e1, n1, LU, LI, LC);
    mem_build(&b, e2, n2, LU + 1, LI + 10, LC);
    sq_error err = {0};
    int differs = 0;
    for (int task = 0; task < SQ_PRED_TASK_COUNT; task++) {
        for (int labels = 0; labels <= 1; labels++) {
            /* labelled next-behavior and item examples are chosen by their labels: the
             * example sets differ by design, their inputs are checked unlabelled */
            if (labels && (task == SQ_PRED_NEXT_BEHAVIOR || task == SQ_PRED_ITEM)) continue;
            sq_pred_config c;
            sq_pred_config_default(&c);
            c.task = (sq_pred_task)task;
            c.horizon_ms = 2 * day;
            if (task == SQ_PRED_PURCHASE && labels) c.category = 1;
            sq_pred_examples xa, xb;
            assert_int_equal(sq_pred_build(&a.ds, &c, cut, labels, &xa, &err), SQ_OK);
            assert_int_equal(sq_pred_build(&b.ds, &c, cut, labels, &xb, &err), SQ_OK);
            assert_true(xa.n > 10);
            same_inputs(&xa, &xb);
            for (size_t i = 0; labels && i < xa.n; i++) differs |= xa.label[i] != xb.label[i];
            sq_pred_examples_free(&xa);
            sq_pred_examples_free(&xb);
        }
    }
    /* the test is not vacuous: the labels did change, and features over whole histories
     * (what a leak would compute) differ */
    assert_true(differs);
    sq_pred_config c;
    sq_pred_config_default(&c);
    float ra[SQ__PRED_N_USER_FEATURES], rb[SQ__PRED_N_USER_FEATURES];
    int whole_differs = 0;
    for (uint32_t u = 0; u < LU; u++) {
        sq__pred_user_features(&a.ds, &c, a.off[u], a.off[u + 1], cut + 7 * day, ra);
        sq__pred_user_features(&b.ds, &c, b.off[u], b.off[u + 1], cut + 7 * day, rb);
        whole_differs |= memcmp(ra, rb, sizeof ra) != 0;
    }
    assert_true(whole_differs);
    mem_free(&a);
    mem_free(&b);
    free(e1);
    free(e2);
}

static void test_split_and_prepare(void **state) {
    (void)state;
    mem_ds m;
    hand_log(&m);
    sq_pred_config c;
    sq_pred_config_default(&c);
    c.horizon_ms = 24 * H;
    sq_pred_examples ex, fit, valid;
    sq_error err = {0};
    assert_int_equal(sq_pred_build(&m.ds, &c, AT(100), 1, &ex, &err), SQ_OK);
    assert_int_equal(sq_pred_split(&ex, 0.5, 3, &fit, &valid, &err), SQ_OK);
    assert_int_equal(fit.n + valid.n, ex.n);
    for (size_t i = 0; i < fit.n; i++)
        for (size_t j = 0; j < valid.n; j++) assert_true(fit.user[i] != valid.user[j]);
    sq_pred_examples_free(&fit);
    sq_pred_examples_free(&valid);
    sq_pred_examples_free(&ex);
    /* a training cut before any history: a clear error, not an empty fit */
    sq_pred_data d;
    c.horizon_ms = 200 * H;
    assert_int_equal(sq_pred_prepare(&m.ds, &c, AT(100), 1, 0.2, &d, &err), SQ_ERR_USAGE);
    assert_non_null(strstr(err.msg, "no training examples"));
    mem_free(&m);
}

/* ---- a saved scorer: the same probabilities as sq_pred_run, bit for bit, after a round
 * trip through the file; edited, truncated and foreign files refused ---- */
/* src's bytes to dst, byte `at` (from the end when negative; none when 0) flipped, cut to
 * keep bytes (0 = all). */
static void corrupt(const char *src, const char *dst, long at, size_t keep) {
    FILE *f = fopen(src, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 100 && n < sizeof buf);
    if (at) buf[at > 0 ? (size_t)at : n - (size_t)(-at)] ^= 0x20;
    f = fopen(dst, "wb");
    assert_non_null(f);
    fwrite(buf, 1, keep ? keep : n, f);
    fclose(f);
}

static void test_saved_model(void **state) {
    (void)state;
    const int64_t cut = AT(240), day = 24 * H;
    size_t n = 0;
    ev *e = malloc(20000 * sizeof *e);
    rs = 7;
    for (uint32_t u = 0; u < LU; u++) {
        int k = 1 + (int)rnd(40);
        for (int j = 0; j < k; j++) e[n++] = random_event(u, cut - 10 * day, cut, LI);
    }
    mem_ds m;
    mem_build(&m, e, n, LU, LI, LC);
    static const uint64_t no_ids[1] = {0}; /* the fingerprints read the item dictionary */
    m.ds.items.offsets = no_ids;
    m.ds.items.bytes = "";
    const char *d = getenv("SQ_TMPDIR");
    char path[512], bad[520];
    snprintf(path, sizeof path, "%s/predict_model_test.safetensors", d && *d ? d : "/tmp");
    snprintf(bad, sizeof bad, "%s.bad", path);
    sq_pred_task tasks[] = {SQ_PRED_PURCHASE, SQ_PRED_CHURN, SQ_PRED_NEXT_BEHAVIOR};
    for (int ti = 0; ti < 3; ti++) {
        sq_pred_config c;
        sq_pred_config_default(&c);
        c.task = tasks[ti];
        c.horizon_ms = 2 * day;
        sq_error err = {0};
        sq_pred_data pd;
        assert_int_equal(sq_pred_prepare(&m.ds, &c, cut, 0, 0.3, &pd, &err), SQ_OK);
        sq_pred_scorer_opts so;
        sq_pred_scorer_opts_default(&so);
        sq_pred_scorer *sc;
        assert_int_equal(sq_pred_scorer_create(&sc, "logistic", &so, &err), SQ_OK);
        int k = sq_pred_n_outputs(&pd.target);
        float *probs = malloc(pd.target.n * (size_t)k * sizeof *probs);
        sq_pred_result r;
        assert_int_equal(sq_pred_run(sc, &pd, probs, &r, &err), SQ_OK);
        sq_pred_model pm, lm;
        assert_int_equal(sq_pred_model_from_run(&pm, &m.ds, &c, &pd, sc, &r, cut, NULL, &err),
                         SQ_OK);
        assert_int_equal(sq_pred_model_save(&pm, path, &err), SQ_OK);
        sq_pred_model_free(&pm);
        assert_int_equal(sq_pred_model_load(&lm, path, &err), SQ_OK);
        assert_int_equal(sq_pred_model_check_data(&lm, &m.ds, &err), SQ_OK);
        assert_int_equal(lm.cfg.task, c.task);
        assert_true(lm.threshold == r.threshold && lm.n_outputs == k);
        assert_true(pd.target.n > 10);
        for (size_t i = 0; i < pd.target.n; i++) {
            uint32_t u = pd.target.user[i];
            float row[SQ_PRED_MODEL_MAX_FEATURES], p[16];
            /* the user's whole history: the events at or after the cut are the scorer's to drop */
            uint64_t used = sq_pred_model_score(&lm, &m.ds, m.off[u], m.off[u + 1], cut, row, p);
            assert_int_equal(used, pd.target.seq_end[i] - pd.target.seq_begin[i]);
            assert_memory_equal(p, probs + i * (size_t)k, (size_t)k * sizeof *p);
            assert_true(sq_pred_model_eligible(&lm, &m.ds, m.off[u], m.off[u] + used, cut));
        }
        /* no history before the cut: the base rate */
        float row[SQ_PRED_MODEL_MAX_FEATURES], p[16];
        assert_int_equal(sq_pred_model_score(&lm, &m.ds, m.off[0], m.off[1], AT(0), row, p), 0);
        assert_true(p[0] == (float)lm.base_rate[0] && lm.base_rate[0] > 0);
        /* refused: a flipped tensor byte, a flipped metadata byte, a cut file, other data */
        corrupt(path, bad, -2, 0);
        assert_int_equal(sq_pred_model_load(&pm, bad, &err), SQ_ERR_CHECKSUM);
        corrupt(path, bad, 40, 0);
        assert_int_not_equal(sq_pred_model_load(&pm, bad, &err), SQ_OK);
        corrupt(path, bad, 0, 200);
        assert_int_equal(sq_pred_model_load(&pm, bad, &err), SQ_ERR_FORMAT);
        assert_non_null(strstr(err.msg, "truncated"));
        m.beh[0] ^= 1; /* another dataset: its fingerprint differs */
        assert_int_equal(sq_pred_model_check_data(&lm, &m.ds, &err), SQ_ERR_USAGE);
        assert_non_null(strstr(err.msg, "another dataset"));
        m.beh[0] ^= 1;
        sq_pred_model_free(&lm);
        free(probs);
        sq_pred_scorer_free(sc);
        sq_pred_data_free(&pd);
    }
    remove(path);
    remove(bad);
    mem_free(&m);
    free(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_features),
        cmocka_unit_test(test_no_leak),
        cmocka_unit_test(test_split_and_prepare),
        cmocka_unit_test(test_saved_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
