/* Side features (src/models/features.c): the behaviour, category, price-bucket and time-gap
 * embeddings of every neural model.
 * - gap buckets and the one fill helper; the --features list parser
 * - price deciles and category rows built from a dataset
 * - finite differences on every side table of every neural model, through encode /
 *   encode_backward, and exact zeros in the table rows the batch does not touch (the
 *   backward writes sparse rows into the dense gradient)
 * - checkpoints keep the config and the per-item tables
 * - BERT4Rec: nothing about a [mask]ed event (behaviour, gap, its item's category or price)
 *   reaches the Cloze loss, while the same features of visible events do */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_check.h"
#include "shopseq/model.h"
#include "test_util.h"

static void test_gap_bucket(void **s) {
    (void)s;
    assert_int_equal(sq_gap_bucket(0, 0), 1);           /* same second */
    assert_int_equal(sq_gap_bucket(1000, 500), 1);      /* out of order: 0 s */
    assert_int_equal(sq_gap_bucket(0, 999), 1);         /* under a second */
    assert_int_equal(sq_gap_bucket(0, 1000), 2);        /* 1 s: log2(2) = 1 */
    assert_int_equal(sq_gap_bucket(0, 2000), 2);        /* 2 s: floor(log2 3) = 1 */
    assert_int_equal(sq_gap_bucket(0, 3000), 3);        /* 3 s: log2 4 = 2 */
    assert_int_equal(sq_gap_bucket(0, 3600000), 12);    /* 1 h: floor(log2 3601) = 11 */
    assert_int_equal(sq_gap_bucket(0, INT64_MAX / 2), SQ_GAP_BUCKETS - 1); /* capped */
    const int64_t t[5] = {0, 1000, 1000, 61000, 3661000};
    uint8_t g[5];
    sq_gap_fill(g, t, 0, 0, 5); /* the user's first event has no predecessor */
    const uint8_t want[5] = {0, 2, 1, 6, 12};
    assert_memory_equal(g, want, 5);
    sq_gap_fill(g, t, 0, 2, 3); /* a window's first row still sees the event before it */
    assert_memory_equal(g, want + 2, 3);
}

static void test_parse(void **s) {
    (void)s;
    sq_error err = {0};
    assert_int_equal(sq_features_parse("none", &err), 0);
    assert_int_equal(sq_features_parse("", &err), 0);
    assert_int_equal(sq_features_parse("gap,category", &err), SQ_FEAT_GAP | SQ_FEAT_CATEGORY);
    assert_int_equal(sq_features_parse("all", &err), 15);
    assert_int_equal(sq_features_parse("behavior,colour", &err), -1);
    assert_non_null(strstr(err.msg, "colour"));
    char buf[64];
    assert_string_equal(sq_features_name(SQ_FEAT_BEHAVIOR | SQ_FEAT_PRICE, buf, sizeof buf),
                        "behavior,price");
    assert_string_equal(sq_features_name(0, buf, sizeof buf), "none");
    sq_model_config c;
    sq_model_config_default(&c);
    sq_features_set(&c, SQ_FEAT_GAP | SQ_FEAT_CATEGORY);
    assert_true(!c.use_behavior && c.use_category && !c.use_price && c.use_gap);
    assert_int_equal(sq_features_mask(&c), SQ_FEAT_GAP | SQ_FEAT_CATEGORY);
}

/* A dataset in memory: 22 items, item i (< 20) priced i + 1 on its one event (items 3 and 4
 * share a price), items 20 and 21 never priced; categories by item. */
enum { DV = 22, DE = 22 };
static uint32_t d_item[DE], d_cat[DV];
static float d_price[DE];
static int64_t d_time[DE];
static uint64_t d_off[2] = {0, DE};

static void fake_dataset(sq_dataset *ds, uint32_t flags) {
    memset(ds, 0, sizeof *ds);
    for (uint32_t i = 0; i < DE; i++) {
        d_item[i] = i;
        d_price[i] = i < 20 ? (float)(i == 4 ? 4 : i + 1) : NAN;
        d_time[i] = (int64_t)i * 1000;
    }
    for (uint32_t i = 0; i < DV; i++) d_cat[i] = i % 4 == 3 ? SQ_NONE : i % 3;
    ds->n_users = 1;
    ds->n_items = DV;
    ds->n_categories = 3;
    ds->n_events = DE;
    ds->flags = flags;
    ds->user_offsets = d_off;
    ds->item = d_item;
    ds->price = d_price;
    ds->time_ms = d_time;
    ds->item_category = d_cat;
}

static void test_attach(void **s) {
    (void)s;
    sq_dataset ds;
    fake_dataset(&ds, SQ_DATASET_HAS_CATEGORY | SQ_DATASET_HAS_PRICE);
    sq_model_config c;
    sq_model_config_default(&c);
    c.n_items = DV;
    c.dim = 4;
    c.maxlen = 4;
    c.batch = 2;
    sq_features_set(&c, SQ_FEAT_CATEGORY | SQ_FEAT_PRICE | SQ_FEAT_GAP);
    sq_error err = {0};
    sq_model *m = NULL;
    /* gap needs real times */
    ds.flags |= SQ_DATASET_SYNTHETIC_TIME;
    assert_int_equal(sq_model_create_for(&m, &c, &ds, &err), SQ_ERR_USAGE);
    assert_non_null(strstr(err.msg, "'time'"));
    assert_null(m);
    ds.flags &= ~(uint32_t)SQ_DATASET_SYNTHETIC_TIME;
    ds.flags &= ~(uint32_t)SQ_DATASET_HAS_PRICE;
    assert_int_equal(sq_model_create_for(&m, &c, &ds, &err), SQ_ERR_USAGE);
    assert_non_null(strstr(err.msg, "'price'"));
    ds.flags |= SQ_DATASET_HAS_PRICE;
    assert_int_equal(sq_model_create_for(&m, &c, &ds, &err), SQ_OK);
    assert_int_equal(m->cfg.n_categories, 3);
    for (int i = 0; i < DV; i++)
        assert_int_equal(m->item_category[i], i % 4 == 3 ? 0 : i % 3 + 1);
    /* 20 priced items in deciles of two; equal prices share the lower bucket */
    const int32_t want[DV] = {1, 1, 2, 2, 2, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 0, 0};
    for (int i = 0; i < DV; i++) assert_int_equal(m->item_price[i], want[i]);
    /* out-of-range tables are refused and leave "unknown" */
    int32_t bad[DV] = {0};
    bad[5] = SQ_PRICE_BUCKETS + 1;
    assert_int_equal(sq_model_set_item_features(m, NULL, bad, &err), SQ_ERR_FORMAT);
    assert_int_equal(m->item_price[0], 0);
    sq_model_free(m);
    /* the counting baselines take no side features */
    c.n_categories = 0;
    snprintf(c.model, sizeof c.model, "pop");
    assert_int_equal(sq_model_create_for(&m, &c, &ds, &err), SQ_ERR_USAGE);
}

/* ---- finite differences through each model ---- */
enum { FV = 11, FC = 8, FNC = 3, FNSEQ = 2, FN = 7 };
static const int f_off[FNSEQ + 1] = {0, 4, FN};
static const uint32_t f_item[FN] = {1, 2, 3, 1, 4, 5, 6};
static const int f_pos[FN] = {2, 3, 4, 5, 3, 4, 5};
static const uint8_t f_beh[FN] = {0, 1, 0, 3, 0, 3, 2};
static const uint8_t f_gap[FN] = {0, 4, 4, 9, 0, 1, 30};
static float f_R[FNSEQ * FC];
static float f_rep[FNSEQ * FC];

static sq_batch f_batch(void) {
    return (sq_batch){.n_seq = FNSEQ, .seq_off = f_off, .item = f_item, .behavior = f_beh,
                      .gap = f_gap, .pos = f_pos};
}

static double f_obj(void *p) {
    sq_model *m = p;
    sq_batch b = f_batch();
    sq_model_encode(m, &b, 0, f_rep);
    return fd_dot(f_rep, f_R, FNSEQ * FC);
}

static sq_model *feature_model(const char *name) {
    sq_model_config c;
    sq_model_config_default(&c);
    c.n_items = FV;
    sq_error err = {0};
    assert_int_equal(sq_model_config_preset(&c, name, &err), SQ_OK);
    c.dim = FC;
    c.heads = 2;
    c.blocks = !strcmp(name, "gru4rec") || !strcmp(name, "lstm") ? 1 : 2;
    c.maxlen = 6;
    c.batch = FNSEQ;
    c.dropout = 0.0f;
    c.window = 3;
    c.filters_h = 2;
    c.filters_v = 2;
    c.n_categories = FNC;
    sq_features_set(&c, SQ_FEAT_BEHAVIOR | SQ_FEAT_CATEGORY | SQ_FEAT_PRICE | SQ_FEAT_GAP);
    sq_model *m;
    assert_int_equal(sq_model_create(&m, &c, &err), SQ_OK);
    int32_t cat[FV], price[FV];
    for (int i = 0; i < FV; i++) cat[i] = i % (FNC + 1), price[i] = (i * 7) % (SQ_PRICE_BUCKETS + 1);
    assert_int_equal(sq_model_set_item_features(m, cat, price, &err), SQ_OK);
    /* every matrix random at one scale (BERT4Rec's init of 0.02 would leave gradients in the
     * float noise of the differences); layernorm weights stay 1 */
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 7);
    for (int i = 0; i < m->params.n; i++)
        if (m->params.t[i].ndim >= 2)
            fd_fill(sq_nn_param(&m->params, i), m->params.t[i].numel, &r, 0.5f);
    static const char *const tabs[] = {"beh_emb.weight", "cat_emb.weight", "price_emb.weight",
                                       "gap_emb.weight"};
    for (int t = 0; t < 4; t++) assert_true(sq_nn_params_find(&m->params, tabs[t]) >= 0);
    return m;
}

static void fd_model(const char *name) {
    sq_model *m = feature_model(name);
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 11);
    fd_fill(f_R, FNSEQ * FC, &r, 1.0f);
    sq_batch b = f_batch();
    sq_nn_params_zero_grad(&m->params);
    sq_model_encode(m, &b, 1, f_rep);
    sq_model_encode_backward(m, &b, f_R);
    /* the rows each table's batch touches */
    const int32_t *cat = m->item_category, *price = m->item_price;
    static const char *const tabs[] = {"beh_emb.weight", "cat_emb.weight", "price_emb.weight",
                                       "gap_emb.weight"};
    int ok = 1;
    for (int t = 0; t < 4; t++) {
        const int i = sq_nn_params_find(&m->params, tabs[t]);
        const sq_nn_tensor *T = &m->params.t[i];
        const int rows = (int)T->shape[0];
        unsigned char used[64] = {0};
        assert_true(rows <= 64);
        for (int q = 0; q < FN; q++) {
            const int row = t == 0 ? f_beh[q] : t == 1 ? cat[f_item[q]] : t == 2 ? price[f_item[q]] : f_gap[q];
            used[row] = 1;
        }
        const float *g = sq_nn_pgrad(&m->params, i);
        float *w = sq_nn_param(&m->params, i);
        for (int row = 0; row < rows; row++) {
            if (!used[row]) { /* untouched rows: exactly zero */
                for (int c = 0; c < FC; c++) assert_true(g[(size_t)row * FC + c] == 0.0f);
                continue;
            }
            char what[64];
            snprintf(what, sizeof what, "%s %s[%d]", name, tabs[t], row);
            ok &= fd_ok(what, g + (size_t)row * FC, w + (size_t)row * FC, FC, f_obj, m);
        }
    }
    assert_true(ok);
    sq_model_free(m);
}

static void test_fd_sasrec(void **s) { (void)s; fd_model("sasrec"); }
static void test_fd_bert4rec(void **s) { (void)s; fd_model("bert4rec"); }
static void test_fd_gru4rec(void **s) { (void)s; fd_model("gru4rec"); }
static void test_fd_lstm(void **s) { (void)s; fd_model("lstm"); }
static void test_fd_caser(void **s) { (void)s; fd_model("caser"); }

static void test_checkpoint(void **s) {
    (void)s;
    sq_model *m = feature_model("gru4rec");
    char *path = test_path("features.safetensors");
    sq_error err = {0};
    assert_int_equal(sq_model_save(m, path, NULL, 0, &err), SQ_OK);
    sq_model *l;
    assert_int_equal(sq_model_load(&l, path, &err), SQ_OK);
    assert_int_equal(sq_features_mask(&l->cfg), 15);
    assert_int_equal(l->cfg.n_categories, FNC);
    assert_memory_equal(l->item_category, m->item_category, FV * sizeof(int32_t));
    assert_memory_equal(l->item_price, m->item_price, FV * sizeof(int32_t));
    /* the same scores from the loaded model */
    float a[FNSEQ * FV], bsc[FNSEQ * FV];
    sq_batch b = f_batch();
    sq_model_score(m, &b, a);
    sq_model_score(l, &b, bsc);
    assert_memory_equal(a, bsc, sizeof a);
    sq_model_free(l);
    sq_model_free(m);
    remove(path);
    free(path);
}

/* ---- BERT4Rec: the Cloze loss never sees a masked event's features ---- */
static double cloze_loss(sq_model *m, const uint8_t *beh, const uint8_t *gap,
                         const uint32_t *target) {
    sq_batch b = {.n_seq = FNSEQ, .seq_off = f_off, .item = f_item, .behavior = beh, .gap = gap,
                  .pos = f_pos, .target = target, .seed = 99};
    return sq_model_forward(m, &b, 1);
}

static void test_bert4rec_no_leak(void **s) {
    (void)s;
    /* targets: row j's next item; item 9 and 10 appear only as the last targets, which
     * BERT4Rec appends as the final token of each sequence */
    const uint32_t target[FN] = {2, 3, 1, 9, 5, 6, 10};
    uint8_t beh[FN], gap[FN];
    memcpy(beh, f_beh, FN);
    memcpy(gap, f_gap, FN);
    sq_model *m = feature_model("bert4rec");
    /* every token masked: the loss cannot depend on any event's side features */
    m->cfg.mask_prob = 1.0f;
    const double l0 = cloze_loss(m, beh, gap, target);
    for (int q = 0; q < FN; q++) beh[q] = (uint8_t)((beh[q] + 1) % 4), gap[q] = (uint8_t)(gap[q] + 3);
    for (int i = 0; i < FV; i++) m->item_category[i] = (m->item_category[i] + 1) % (FNC + 1);
    assert_true(cloze_loss(m, beh, gap, target) == l0);
    /* nothing masked by chance: only each sequence's appended last token (the target).
     * Its item's category and price must not matter ... */
    m->cfg.mask_prob = 1e-9f;
    memcpy(beh, f_beh, FN);
    memcpy(gap, f_gap, FN);
    const double l1 = cloze_loss(m, beh, gap, target);
    m->item_category[9] = (m->item_category[9] + 1) % (FNC + 1);
    m->item_price[10] = (m->item_price[10] + 5) % (SQ_PRICE_BUCKETS + 1);
    assert_true(cloze_loss(m, beh, gap, target) == l1);
    /* ... while a visible event's behaviour, gap and category do (the test can fail) */
    beh[2] = (uint8_t)(beh[2] + 1);
    const double l2 = cloze_loss(m, beh, gap, target);
    assert_true(l2 != l1);
    gap[5] = (uint8_t)(gap[5] + 1);
    const double l3 = cloze_loss(m, beh, gap, target);
    assert_true(l3 != l2);
    m->item_category[f_item[1]] = (m->item_category[f_item[1]] + 1) % (FNC + 1);
    assert_true(cloze_loss(m, beh, gap, target) != l3);
    sq_model_free(m);
}

int main(void) {
    sq_nn_init(1); /* tiny models: a team of threads would only wait on each other */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_bucket),  cmocka_unit_test(test_parse),
        cmocka_unit_test(test_attach),      cmocka_unit_test(test_fd_sasrec),
        cmocka_unit_test(test_fd_bert4rec), cmocka_unit_test(test_fd_gru4rec),
        cmocka_unit_test(test_fd_lstm),     cmocka_unit_test(test_fd_caser),
        cmocka_unit_test(test_checkpoint),  cmocka_unit_test(test_bert4rec_no_leak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
