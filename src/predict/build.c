/* Examples of a task at a cut: who is an example, its label from [cut, cut + h), its
 * features and its sequence range from events before the cut. Definitions are in
 * docs/predict.md; keep the two in step. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct {
    sq_pred_examples *ex;
    size_t cap;
} growing;

static int grow(growing *g) {
    sq_pred_examples *ex = g->ex;
    if (ex->n < g->cap) return 0;
    size_t cap = g->cap ? g->cap * 2 : 1024, f = (size_t)ex->n_features;
#define GROW(field, count)                                                   \
    do {                                                                     \
        void *p_ = realloc(ex->field, (count) * sizeof *ex->field);          \
        if (!p_) return -1;                                                  \
        ex->field = p_;                                                      \
    } while (0)
    GROW(user, cap);
    GROW(item, cap);
    GROW(cut_ms, cap);
    GROW(label, cap);
    GROW(seq_begin, cap);
    GROW(seq_end, cap);
    GROW(x, cap * f);
#undef GROW
    g->cap = cap;
    return 0;
}

/* Appends one example; returns its feature row, or NULL without memory. */
static float *push(growing *g, uint32_t u, uint32_t item, int64_t cut, int32_t label,
                   uint64_t b, uint64_t p) {
    if (grow(g)) return NULL;
    sq_pred_examples *ex = g->ex;
    size_t i = ex->n++;
    ex->user[i] = u;
    ex->item[i] = item;
    ex->cut_ms[i] = cut;
    ex->label[i] = label;
    ex->seq_begin[i] = b;
    ex->seq_end[i] = p;
    return ex->x + i * (size_t)ex->n_features;
}

/* Item counts before the cut, the popularity prefix sums for negative sampling, and the
 * most popular items (scoring candidates). */
typedef struct {
    sq__pred_items c;
    uint64_t *cum; /* (n_items + 1) prefix sums of c.events */
    uint32_t *top; /* (n_top) */
    int n_top;
} item_stats;

static void item_stats_free(item_stats *s) {
    free(s->c.events);
    free(s->c.buys);
    free(s->c.recent);
    free(s->c.category);
    free(s->c.category_time);
    free(s->cum);
    free(s->top);
}

static int item_stats_build(item_stats *s, const sq_dataset *ds, int64_t cut, int64_t h,
                            int n_top) {
    memset(s, 0, sizeof *s);
    size_t ni = ds->n_items ? ds->n_items : 1;
    s->c.events = calloc(ni, sizeof(uint32_t));
    s->c.buys = calloc(ni, sizeof(uint32_t));
    s->c.recent = calloc(ni, sizeof(uint32_t));
    s->c.category = malloc(ni * sizeof(uint32_t));
    s->c.category_time = malloc(ni * sizeof(int64_t));
    s->cum = calloc(ni + 1, sizeof(uint64_t));
    s->top = calloc((size_t)(n_top > 0 ? n_top : 1), sizeof(uint32_t));
    if (!s->c.events || !s->c.buys || !s->c.recent || !s->c.category || !s->c.category_time ||
        !s->cum || !s->top)
        return -1;
    for (size_t it = 0; it < ni; it++) {
        s->c.category[it] = SQ_NONE;
        s->c.category_time[it] = INT64_MIN;
    }
    for (uint64_t i = 0; i < ds->n_events; i++) {
        int64_t t = ds->time_ms[i];
        if (t >= cut) continue;
        uint32_t it = ds->item[i];
        s->c.events[it]++;
        s->c.buys[it] += ds->behavior[i] == SQ_BEHAVIOR_BUY;
        s->c.recent[it] += t >= cut - h;
        if (ds->category[i] != SQ_NONE && t >= s->c.category_time[it]) {
            s->c.category[it] = ds->category[i];
            s->c.category_time[it] = t;
        }
    }
    for (uint32_t it = 0; it < ds->n_items; it++) {
        s->cum[it + 1] = s->cum[it] + s->c.events[it];
        /* insertion into the top list (more events first, then lower id) */
        uint32_t e = s->c.events[it];
        if (!e) continue;
        int pos = s->n_top;
        while (pos > 0 && s->c.events[s->top[pos - 1]] < e) pos--;
        if (pos >= n_top) continue;
        int last = s->n_top < n_top ? s->n_top : n_top - 1;
        memmove(s->top + pos + 1, s->top + pos, (size_t)(last - pos) * sizeof *s->top);
        s->top[pos] = it;
        if (s->n_top < n_top) s->n_top++;
    }
    return 0;
}

static uint32_t sample_by_popularity(const item_stats *s, uint32_t n_items, uint64_t *rng) {
    uint64_t total = s->cum[n_items];
    uint64_t r = splitmix(rng) % total;
    uint32_t lo = 0, hi = n_items; /* first it with cum[it + 1] > r */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->cum[mid + 1] > r) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

static int in_list(const uint32_t *a, int n, uint32_t v) {
    for (int i = 0; i < n; i++)
        if (a[i] == v) return 1;
    return 0;
}

static int in_events(const sq_dataset *ds, uint64_t b, uint64_t e, uint32_t item) {
    for (uint64_t i = b; i < e; i++)
        if (ds->item[i] == item) return 1;
    return 0;
}

int sq__pred_eligible(const sq_pred_config *cfg, int64_t last, int64_t cut_ms) {
    if (cfg->task == SQ_PRED_CHURN) /* not active: cannot churn */
        return last >= cut_ms - (cfg->active_ms > 0 ? cfg->active_ms : cfg->horizon_ms);
    return !(cfg->lookback_ms > 0 && last < cut_ms - cfg->lookback_ms);
}

void sq_pred_examples_free(sq_pred_examples *ex) {
    if (!ex) return;
    free(ex->user);
    free(ex->item);
    free(ex->cut_ms);
    free(ex->label);
    free(ex->seq_begin);
    free(ex->seq_end);
    free(ex->x);
    memset(ex, 0, sizeof *ex);
}

sq_status sq_pred_build(const sq_dataset *ds, const sq_pred_config *cfg, int64_t cut_ms,
                        int with_labels, sq_pred_examples *ex, sq_error *err) {
    memset(ex, 0, sizeof *ex);
    if (cfg->task < 0 || cfg->task >= SQ_PRED_TASK_COUNT)
        return sq_error_set(err, SQ_ERR_USAGE, "unknown prediction task %d", (int)cfg->task);
    if (cfg->horizon_ms <= 0)
        return sq_error_set(err, SQ_ERR_USAGE, "the horizon must be positive");
    if (cfg->category != SQ_NONE && cfg->category >= ds->n_categories)
        return sq_error_set(err, SQ_ERR_USAGE, "category %u out of range", cfg->category);
    if (cfg->task == SQ_PRED_ITEM && (cfg->item_negatives < 0 || cfg->item_max_pos < 1 ||
                                      cfg->item_candidates < 1))
        return sq_error_set(err, SQ_ERR_USAGE, "item task: bad candidate counts");
    ex->ds = ds;
    ex->task = cfg->task;
    ex->has_labels = with_labels;
    ex->horizon_ms = cfg->horizon_ms;
    ex->n_classes = 2;
    ex->n_features = cfg->task == SQ_PRED_ITEM ? SQ__PRED_N_ALL_FEATURES : SQ__PRED_N_USER_FEATURES;
    ex->feature_names = sq__pred_feature_names;
    int cls_of[SQ_BEHAVIOR_COUNT];
    if (cfg->task == SQ_PRED_NEXT_BEHAVIOR) {
        /* classes: the behaviours of the data's vocabulary (present anywhere in the file) */
        uint64_t seen[256] = {0};
        for (uint64_t i = 0; i < ds->n_events; i++) seen[ds->behavior[i]]++;
        ex->n_classes = 0;
        for (int b = 0; b < SQ_BEHAVIOR_COUNT; b++) {
            cls_of[b] = -1;
            if (seen[b]) {
                cls_of[b] = ex->n_classes;
                ex->class_behavior[ex->n_classes++] = (uint8_t)b;
            }
        }
        if (ex->n_classes < 2)
            return sq_error_set(err, SQ_ERR_USAGE, "next-behavior needs at least two behaviour "
                                "types in the data, it has %d", ex->n_classes);
    }
    int64_t h = cfg->horizon_ms;
    item_stats its = {0};
    if (cfg->task == SQ_PRED_ITEM &&
        item_stats_build(&its, ds, cut_ms, h, cfg->item_candidates) != 0) {
        item_stats_free(&its);
        return sq_error_set(err, SQ_ERR_NOMEM, "item counts");
    }
    int max_pos = cfg->item_max_pos;
    uint32_t *pos = malloc((size_t)(max_pos + cfg->item_candidates + 1) * sizeof *pos);
    uint32_t *neg = malloc((size_t)(max_pos * cfg->item_negatives + 1) * sizeof *neg);
    growing g = {ex, 0};
    if (!pos || !neg) goto nomem;
    for (uint32_t u = 0; u < ds->n_users; u++) {
        uint64_t b = sq_dataset_user_begin(ds, u), e = sq_dataset_user_end(ds, u);
        uint64_t p = sq__pred_lower_bound(ds, b, e, cut_ms);
        if (p == b) continue; /* no history before the cut */
        if (!sq__pred_eligible(cfg, ds->time_ms[p - 1], cut_ms)) continue;
        uint64_t q = with_labels ? sq__pred_lower_bound(ds, p, e, cut_ms + h) : p;
        float *row;
        switch (cfg->task) {
        case SQ_PRED_PURCHASE:
        case SQ_PRED_CHURN: {
            int32_t y = -1;
            if (with_labels) {
                if (cfg->task == SQ_PRED_CHURN) {
                    y = q == p;
                } else {
                    y = 0;
                    for (uint64_t i = p; i < q && !y; i++)
                        y = ds->behavior[i] == SQ_BEHAVIOR_BUY &&
                            (cfg->category == SQ_NONE || ds->category[i] == cfg->category);
                }
            }
            if (!(row = push(&g, u, SQ_NONE, cut_ms, y, b, p))) goto nomem;
            sq__pred_user_features(ds, cfg, b, p, cut_ms, row);
            break;
        }
        case SQ_PRED_NEXT_BEHAVIOR: {
            int32_t y = -1;
            if (with_labels) {
                if (q == p) continue; /* no next event within the horizon */
                if (ds->behavior[p] >= SQ_BEHAVIOR_COUNT) continue; /* not a known behaviour */
                y = cls_of[ds->behavior[p]];
            }
            if (!(row = push(&g, u, SQ_NONE, cut_ms, y, b, p))) goto nomem;
            sq__pred_user_features(ds, cfg, b, p, cut_ms, row);
            break;
        }
        case SQ_PRED_ITEM: {
            int np = 0, nn = 0;
            if (with_labels) {
                for (uint64_t i = p; i < q && np < max_pos; i++)
                    if (!in_list(pos, np, ds->item[i])) pos[np++] = ds->item[i];
                if (!np) continue;
                /* a stream per (seed, user, cut): a user's negatives do not depend on others */
                uint64_t rng = cfg->seed ^ ((uint64_t)u * 0x9E3779B97F4A7C15ull) ^
                               (uint64_t)cut_ms * 0xD1B54A32D192ED03ull;
                if (its.cum[ds->n_items] > 0)
                    for (int k = 0; k < np * cfg->item_negatives; k++)
                        for (int tries = 0; tries < 50; tries++) {
                            uint32_t it = sample_by_popularity(&its, ds->n_items, &rng);
                            if (in_list(neg, nn, it) || in_events(ds, p, q, it)) continue;
                            neg[nn++] = it;
                            break;
                        }
            } else {
                /* scoring candidates: the user's most recent distinct items, then popular */
                int half = cfg->item_candidates / 2 > 0 ? cfg->item_candidates / 2 : 1;
                for (uint64_t i = p; i > b && np < half; i--)
                    if (!in_list(pos, np, ds->item[i - 1])) pos[np++] = ds->item[i - 1];
                for (int t = 0; t < its.n_top && np < cfg->item_candidates; t++)
                    if (!in_list(pos, np, its.top[t])) pos[np++] = its.top[t];
            }
            float urow[SQ__PRED_N_USER_FEATURES];
            sq__pred_user_features(ds, cfg, b, p, cut_ms, urow);
            for (int k = 0; k < np + nn; k++) {
                uint32_t it = k < np ? pos[k] : neg[k - np];
                int32_t y = with_labels ? k < np : -1;
                if (!(row = push(&g, u, it, cut_ms, y, b, p))) goto nomem;
                memcpy(row, urow, sizeof urow);
                sq__pred_item_features(ds, &its.c, b, p, it, cut_ms, row + SQ__PRED_N_USER_FEATURES);
            }
            break;
        }
        default: break;
        }
    }
    free(pos);
    free(neg);
    item_stats_free(&its);
    return SQ_OK;
nomem:
    free(pos);
    free(neg);
    item_stats_free(&its);
    sq_pred_examples_free(ex);
    return sq_error_set(err, SQ_ERR_NOMEM, "building prediction examples");
}
