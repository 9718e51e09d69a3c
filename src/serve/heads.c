/* The task heads of POST /v1/predict (purchase, churn, next_behavior): the user's history as
 * the service has it (training events from the dataset + events posted to the store),
 * merged in time order into a one-user dataset view, then scored by the saved scorer through
 * sq_pred_model_score: the feature code of `shopseq predict`, not a copy of it.
 *
 * Posted events carry item, behaviour, time and, when given, category and price; without a
 * category they take the catalogue's category of the item (none for items the dataset does
 * not know), without a price it is unknown (NaN); sessions are cut by the dataset's
 * inactivity gap. Training events keep every column and
 * their session ids, so a user without posted events gets exactly the offline features.
 * One allocation per request, sized from the user's history (two more, hash tables, when
 * posted events name items or categories the dataset lacks). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/intern.h"
#include "data/timeparse.h"
#include "internal.h"
#include "shopseq/behavior.h"
#include "shopseq/predict_model.h"

typedef struct {
    int64_t t;
    uint32_t j; /* index in the stored history */
} stamp;

static int cmp_stamp(const void *a, const void *b) {
    const stamp *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j); /* stable: posting order on ties */
}

/* Columns of the merged history; one block. */
typedef struct {
    sq_dataset v; /* the view sq_pred_model_score reads */
    void *block;
} user_view;

static sq_status build_view(const sq_dataset *ds, uint32_t u, const sq_history *h, user_view *uv,
                            sq_error *err) {
    memset(uv, 0, sizeof *uv);
    uint64_t b = u != SQ_NONE ? sq_dataset_user_begin(ds, u) : 0;
    uint64_t nt = u != SQ_NONE ? sq_dataset_user_end(ds, u) - b : 0;
    size_t ns = h->n, n = (size_t)nt + ns;
    uv->v.flags = ds->flags;
    if (!n) return SQ_OK;
    /* widest columns first, so every one stays aligned */
    size_t bytes = n * (sizeof(int64_t) + 4 * sizeof(uint32_t) + sizeof(float) + 1) +
                   ns * (sizeof(stamp) + 2 * sizeof(uint32_t));
    char *p = malloc(bytes);
    if (!p) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    uv->block = p;
    int64_t *time = (int64_t *)p;
    stamp *st = (stamp *)(time + n);
    uint32_t *item = (uint32_t *)(st + ns), *cat = item + n, *sess = cat + n,
             *src = sess + n, *sitem = src + n, /* src: training index, or nt + stored */
             *scat = sitem + ns;
    float *price = (float *)(scat + ns);
    uint8_t *beh = (uint8_t *)(price + n);

    /* dense ids of the stored items and categories; unknown ones get ids past the
     * dataset's, equal ids for equal strings (distinct counts); the interning tables are
     * made only when an unknown string appears */
    sq_intern unk_items = {0}, unk_cats = {0};
    int have_items = 0, have_cats = 0;
    sq_status st_out = SQ_OK;
    for (size_t j = 0; j < ns; j++) {
        const sq_hist_event *e = &h->ev[j];
        uint32_t it = sq_dict_find(&ds->items, e->item, e->item_len);
        if (it == SQ_NONE) {
            uint32_t id = UINT32_MAX;
            if (have_items || (have_items = sq_intern_init(&unk_items) == 0))
                id = sq_intern_get(&unk_items, e->item, e->item_len);
            if (id == UINT32_MAX) { st_out = SQ_ERR_NOMEM; break; }
            it = ds->n_items + id;
        }
        sitem[j] = it;
        if (!e->category || !(ds->flags & SQ_DATASET_HAS_CATEGORY)) {
            /* a dataset without categories: training saw none, so posted ones are ignored */
            scat[j] = sitem[j] < ds->n_items ? ds->item_category[sitem[j]] : SQ_NONE;
        } else {
            uint32_t c = ds->n_categories ? sq_dict_find(&ds->categories, e->category,
                                                         e->category_len) : SQ_NONE;
            if (c == SQ_NONE) {
                uint32_t id = UINT32_MAX;
                if (have_cats || (have_cats = sq_intern_init(&unk_cats) == 0))
                    id = sq_intern_get(&unk_cats, e->category, e->category_len);
                if (id == UINT32_MAX) { st_out = SQ_ERR_NOMEM; break; }
                c = ds->n_categories + id;
            }
            scat[j] = c;
        }
        st[j] = (stamp){e->time_ms, (uint32_t)j};
    }
    const uint32_t n_items = ds->n_items + (have_items ? unk_items.n : 0);
    if (have_items) sq_intern_free(&unk_items);
    if (have_cats) sq_intern_free(&unk_cats);
    if (st_out != SQ_OK) {
        free(uv->block);
        uv->block = NULL;
        return sq_error_set(err, st_out, "out of memory");
    }
    qsort(st, ns, sizeof *st, cmp_stamp);
    /* merge by time; training events first on ties */
    size_t i = 0, k = 0;
    for (size_t o = 0; o < n; o++) {
        int take_train = i < nt && (k == ns || ds->time_ms[b + i] <= st[k].t);
        if (take_train) {
            uint64_t x = b + i++;
            src[o] = (uint32_t)(x - b);
            time[o] = ds->time_ms[x];
            item[o] = ds->item[x];
            cat[o] = ds->category[x];
            price[o] = ds->price[x];
            beh[o] = ds->behavior[x];
        } else {
            size_t j = st[k++].j;
            src[o] = (uint32_t)(nt + j);
            time[o] = h->ev[j].time_ms;
            item[o] = sitem[j];
            cat[o] = scat[j];
            price[o] = h->ev[j].price; /* read only when the dataset has prices */
            beh[o] = (uint8_t)h->ev[j].behavior;
        }
    }
    /* sessions: the dataset's between two training events, else the inactivity gap */
    int64_t gap = ds->session_gap_s > 0 ? ds->session_gap_s * 1000 : 30 * 60 * 1000;
    uint32_t s = 0;
    for (size_t o = 0; o < n; o++) {
        if (o) {
            int both = src[o] < nt && src[o - 1] < nt;
            s += both ? ds->session[b + src[o]] != ds->session[b + src[o - 1]]
                      : time[o] - time[o - 1] > gap;
        }
        sess[o] = s;
    }
    uv->v.n_events = n;
    uv->v.n_users = 1;
    uv->v.n_items = n_items;
    uv->v.time_ms = time;
    uv->v.item = item;
    uv->v.category = cat;
    uv->v.session = sess;
    uv->v.price = price;
    uv->v.behavior = beh;
    return SQ_OK;
}

static const struct {
    const char *name;
    int task;
} head_names[] = {{"purchase", SQ_PRED_PURCHASE}, {"churn", SQ_PRED_CHURN},
                  {"next_behavior", SQ_PRED_NEXT_BEHAVIOR}};

const char *sq__head_name(int task) {
    for (size_t i = 0; i < sizeof head_names / sizeof *head_names; i++)
        if (head_names[i].task == task) return head_names[i].name;
    return "?";
}

static json_t *head_json(const sq_pred_model *m, const user_view *uv, int64_t at_ms, int has_at) {
    size_t n = uv->v.n_events;
    /* now: the request's time, else the end of the training data, moved to just after the
     * user's latest event when the store holds later ones */
    int64_t cut = at_ms;
    if (!has_at) {
        cut = m->data_end_ms;
        if (n && uv->v.time_ms[n - 1] >= cut) cut = uv->v.time_ms[n - 1] + 1;
    }
    float row[SQ_PRED_MODEL_MAX_FEATURES], probs[16];
    uint64_t used = sq_pred_model_score(m, &uv->v, 0, n, cut, row, probs);
    char iso[40];
    sq_time_format_iso(cut, iso, sizeof iso);
    json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:b}", "cut", iso, "cut_ms", (json_int_t)cut,
                          "horizon_ms", (json_int_t)m->cfg.horizon_ms, "history_used",
                          (json_int_t)used, "eligible",
                          used && sq_pred_model_eligible(m, &uv->v, 0, used, cut));
    if (!o) return NULL;
    json_object_set_new(o, "fallback", used ? json_null() : json_string("base_rate"));
    if (m->n_outputs == 1) {
        json_object_set_new(o, "probability", json_real(probs[0]));
        json_object_set_new(o, "threshold", json_real(m->threshold));
        json_object_set_new(o, "label", json_boolean(probs[0] >= m->threshold));
        return o;
    }
    json_t *cls = json_object();
    int best = 0;
    for (int c = 0; c < m->n_outputs; c++) {
        json_object_set_new(cls, sq_behavior_name(m->class_behavior[c]), json_real(probs[c]));
        if (probs[c] > probs[best]) best = c;
    }
    json_object_set_new(o, "probabilities", cls);
    json_object_set_new(o, "probability", json_real(probs[best]));
    json_object_set_new(o, "label", json_string(sq_behavior_name(m->class_behavior[best])));
    return o;
}

sq_status sq__predict_heads(sq__server *s, sq_engine *e, const char *user, size_t user_len,
                            const int *want, int has_at, int64_t at_ms, json_t *predictions,
                            sq_error *err) {
    sq_history h;
    sq_status st = sq_store_get(s->store, user, user_len, &h, err);
    if (st != SQ_OK) return st;
    const sq_dataset *ds = sq_engine_dataset(e);
    user_view uv;
    st = build_view(ds, sq_dict_find(&ds->users, user, user_len), &h, &uv, err);
    for (int t = 0; st == SQ_OK && t < SQ_PRED_TASK_COUNT; t++) {
        const sq_pred_model *m = sq_engine_predict_model(e, t);
        if (!want[t] || !m) continue;
        json_t *o = head_json(m, &uv, at_ms, has_at);
        if (!o) st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
        else json_object_set_new(predictions, sq__head_name(t), o);
    }
    free(uv.block);
    sq_history_free(&h);
    return st;
}
