/* analysis.json, rfm.csv, and writing all outputs into a folder. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/csvout.h"
#include "core/fileio.h"
#include "internal.h"
#include "shopseq/report.h"

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *orig_id(const sq_dict *d, uint32_t id) {
    if (id >= d->n) return json_null();
    size_t len;
    const char *s = sq_dict_get(d, id, &len);
    return json_stringn(s, len);
}

static json_t *funnel_json(const sq_funnel *f, bool has_fav) {
    json_t *o = json_object(), *reached = json_object(), *step = json_object();
    for (int s = 0; s < SQ_STAGE_COUNT; s++) {
        if (s == SQ_STAGE_FAV && !has_fav) continue;
        json_object_set_new(reached, sq_stage_name(s), json_integer((json_int_t)f->reached[s]));
        if (s > 0) json_object_set_new(step, sq_stage_name(s), num(sq_funnel_step(f, s, has_fav)));
    }
    json_object_set_new(o, "total", json_integer((json_int_t)f->total));
    json_object_set_new(o, "reached", reached);
    json_object_set_new(o, "step_conversion", step);
    json_object_set_new(o, "overall_conversion", num(sq_funnel_overall(f)));
    return o;
}

static json_t *dist_json(const sq_dist *d) {
    json_t *o = json_object(), *h = json_array();
    json_object_set_new(o, "count", json_integer((json_int_t)d->n));
    json_object_set_new(o, "min", json_integer(d->min));
    json_object_set_new(o, "median", num(d->median));
    json_object_set_new(o, "mean", num(d->mean));
    json_object_set_new(o, "p90", num(d->p90));
    json_object_set_new(o, "max", json_integer(d->max));
    for (int b = 0; b < SQ_DIST_BUCKETS; b++) {
        char label[32];
        sq_dist_bucket_label(b, label, sizeof label);
        json_array_append_new(h, json_pack("{s:s,s:I}", "bucket", label, "count", (json_int_t)d->bins[b]));
    }
    json_object_set_new(o, "histogram", h);
    return o;
}

static json_t *rank_json(const sq_rank_list *l, const sq_dataset *ds, int is_item) {
    json_t *arr = json_array();
    for (uint32_t j = 0; j < l->n; j++) {
        const sq_rank_row *r = &l->rows[j];
        json_t *o = json_object();
        json_object_set_new(o, is_item ? "item" : "category",
                            orig_id(is_item ? &ds->items : &ds->categories, r->id));
        if (is_item && ds->item_category && r->id < ds->n_items &&
            (ds->flags & SQ_DATASET_HAS_CATEGORY))
            json_object_set_new(o, "category", orig_id(&ds->categories, ds->item_category[r->id]));
        json_object_set_new(o, "views", json_integer((json_int_t)r->views));
        json_object_set_new(o, "favs", json_integer((json_int_t)r->favs));
        json_object_set_new(o, "carts", json_integer((json_int_t)r->carts));
        json_object_set_new(o, "buys", json_integer((json_int_t)r->buys));
        json_object_set_new(o, "viewers", json_integer((json_int_t)r->viewers));
        json_object_set_new(o, "buyers_after_view", json_integer((json_int_t)r->buyers_after_view));
        json_object_set_new(o, "conversion", num(r->conversion));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *period_name(const sq_analysis *a) {
    if (a->period == SQ_PERIOD_DAY) return json_string("day");
    if (a->period == SQ_PERIOD_WEEK) return json_string("week");
    char buf[32];
    snprintf(buf, sizeof buf, "%u days", a->period_days);
    return json_string(buf);
}

json_t *sq_analysis_to_json(const sq_analysis *a, const sq_dataset *ds) {
    json_t *root = json_object();
    char d0[16], d1[16];
    sq_day_format(a->day0, d0, sizeof d0);
    sq_day_format(a->day0 + a->n_days - 1, d1, sizeof d1);

    json_object_set_new(root, "dataset", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b}",
        "users", (json_int_t)ds->n_users, "items", (json_int_t)ds->n_items,
        "categories", (json_int_t)ds->n_categories, "events", (json_int_t)ds->n_events,
        "sessions", (json_int_t)ds->n_sessions, "time_min", (json_int_t)ds->time_min_ms,
        "time_max", (json_int_t)ds->time_max_ms, "has_price", a->has_price,
        "has_category", a->has_category));
    json_object_set_new(root, "window", json_pack("{s:s,s:s,s:i,s:I,s:I,s:I,s:i}",
        "first_day", d0, "last_day", d1, "days", (int)a->n_days,
        "events_before", (json_int_t)a->events_before, "events_after", (json_int_t)a->events_after,
        "recency_reference_ms", (json_int_t)a->window_end_ms,
        "utc_offset_minutes", (int)a->opts.tz_offset_min));

    /* funnel */
    json_t *fn = json_object(), *ev = json_object();
    for (int b = 0; b < SQ_BEHAVIOR_COUNT; b++)
        json_object_set_new(ev, sq_behavior_name(b), json_integer((json_int_t)a->events_by_behavior[b]));
    json_object_set_new(fn, "stages", a->has_fav ? json_pack("[s,s,s,s]", "view", "fav", "cart", "buy")
                                                 : json_pack("[s,s,s]", "view", "cart", "buy"));
    json_object_set_new(fn, "events", ev);
    json_object_set_new(fn, "view_stage_behavior", json_string(sq_behavior_name(a->view_behavior)));
    json_object_set_new(fn, "users", funnel_json(&a->users_funnel, a->has_fav));
    json_object_set_new(fn, "sessions", funnel_json(&a->sessions_funnel, a->has_fav));
    json_object_set_new(fn, "cart_abandonment", json_pack("{s:I,s:I,s:o,s:I,s:I,s:o}",
        "carted_pairs", (json_int_t)a->carted_pairs, "bought_after_cart_pairs", (json_int_t)a->carted_bought_pairs,
        "rate", num(sq_analysis_cart_abandonment(a)),
        "sessions_with_cart", (json_int_t)a->sessions_with_cart,
        "sessions_cart_without_buy", (json_int_t)a->sessions_cart_no_buy,
        "session_rate", num(a->sessions_with_cart ? (double)a->sessions_cart_no_buy / a->sessions_with_cart : NAN)));
    json_object_set_new(fn, "view_to_buy", json_pack("{s:I,s:o,s:o,s:o}",
        "pairs", (json_int_t)a->view_buy_pairs, "median_s", num(a->view_buy_median_s),
        "p25_s", num(a->view_buy_p25_s), "p75_s", num(a->view_buy_p75_s)));
    json_t *cf = json_array();
    for (uint32_t j = 0; j < a->n_category_funnels; j++) {
        json_t *o = funnel_json(&a->category_funnels[j].users, a->has_fav);
        json_object_set_new(o, "category", orig_id(&ds->categories, a->category_funnels[j].id));
        const sq_category_funnel *cf1 = &a->category_funnels[j];
        json_object_set_new(o, "events", json_integer((json_int_t)cf1->events));
        json_object_set_new(o, "cart_abandonment", json_pack("{s:I,s:I,s:o}",
            "carted_pairs", (json_int_t)cf1->carted_pairs,
            "bought_after_cart_pairs", (json_int_t)cf1->carted_bought_pairs,
            "rate", num(cf1->carted_pairs ? 1.0 - (double)cf1->carted_bought_pairs / cf1->carted_pairs : NAN)));
        json_object_set_new(o, "view_to_buy", json_pack("{s:I,s:o}", "pairs", (json_int_t)cf1->view_buy_pairs,
                                                        "median_s", num(cf1->view_buy_median_s)));
        json_array_append_new(cf, o);
    }
    json_object_set_new(fn, "categories", cf);
    json_object_set_new(root, "funnel", fn);

    /* retention */
    json_t *ret = json_object(), *cohorts = json_array();
    json_object_set_new(ret, "period", period_name(a));
    json_object_set_new(ret, "period_days", json_integer(a->period_days));
    for (uint32_t c = 0; c < a->n_periods; c++) {
        char ds0[16];
        sq_day_format(sq_analysis_period_day(a, c), ds0, sizeof ds0);
        json_t *act = json_array(), *rate = json_array();
        for (uint32_t k = 0; c + k < a->n_periods; k++) {
            uint64_t v = a->cohort_active[(size_t)c * a->n_periods + k];
            json_array_append_new(act, json_integer((json_int_t)v));
            json_array_append_new(rate, num(a->cohort_size[c] ? (double)v / a->cohort_size[c] : NAN));
        }
        json_array_append_new(cohorts, json_pack("{s:s,s:I,s:o,s:o}", "start", ds0, "size",
                                                 (json_int_t)a->cohort_size[c], "active", act, "rate", rate));
    }
    json_object_set_new(ret, "cohorts", cohorts);
    json_object_set_new(root, "retention", ret);

    /* activity */
    json_t *act = json_object(), *hw = json_array();
    for (int w = 0; w < 7; w++) {
        json_t *row = json_array();
        for (int h = 0; h < 24; h++) json_array_append_new(row, json_integer((json_int_t)a->hour_weekday[w][h]));
        json_array_append_new(hw, row);
    }
    json_object_set_new(act, "weekdays", json_pack("[s,s,s,s,s,s,s]", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"));
    json_object_set_new(act, "hour_weekday", hw);
    json_t *days = json_array(), *evs = json_array(), *dau = json_array(), *byb = json_object();
    for (uint32_t d = 0; d < a->n_days; d++) {
        char s[16];
        sq_day_format(a->day0 + d, s, sizeof s);
        json_array_append_new(days, json_string(s));
        json_array_append_new(evs, json_integer((json_int_t)a->daily_events[d]));
        json_array_append_new(dau, json_integer((json_int_t)a->daily_active_users[d]));
    }
    for (int b = 0; b < SQ_BEHAVIOR_COUNT; b++) {
        if (!a->events_by_behavior[b]) continue;
        json_t *arr = json_array();
        for (uint32_t d = 0; d < a->n_days; d++)
            json_array_append_new(arr, json_integer((json_int_t)a->daily_by_behavior[(size_t)d * SQ_BEHAVIOR_COUNT + b]));
        json_object_set_new(byb, sq_behavior_name(b), arr);
    }
    json_object_set_new(act, "days", days);
    json_object_set_new(act, "daily_events", evs);
    json_object_set_new(act, "daily_active_users", dau);
    json_object_set_new(act, "daily_by_behavior", byb);
    json_object_set_new(root, "activity", act);

    /* items and categories */
    json_t *it = json_object(), *ct = json_object();
    for (int r = 0; r < SQ_RANK_COUNT; r++) {
        char key[32];
        snprintf(key, sizeof key, "top_by_%s", sq_rank_name(r));
        json_object_set_new(it, key, rank_json(&a->top_items[r], ds, 1));
        json_object_set_new(ct, key, rank_json(&a->top_categories[r], ds, 0));
    }
    json_object_set_new(it, "min_support_viewers", json_integer(a->opts.min_support));
    json_object_set_new(it, "long_tail", json_pack("{s:I,s:o,s:o}", "items_with_events",
        (json_int_t)a->items_with_events, "top1pct_share", num(a->top1_share), "top10pct_share", num(a->top10_share)));
    json_object_set_new(root, "items", it);
    json_object_set_new(root, "categories", ct);

    /* users */
    json_t *us = json_object(), *segs = json_object();
    for (int s = 0; s < SQ_SEG_COUNT; s++)
        json_object_set_new(segs, sq_segment_name(s), json_pack("{s:I,s:o,s:o,s:o,s:o}",
            "users", (json_int_t)a->segment_size[s],
            "share", num(ds->n_users ? (double)a->segment_size[s] / ds->n_users : NAN),
            "mean_recency_days", num(a->segment_mean[s][0]), "mean_frequency", num(a->segment_mean[s][1]),
            "mean_monetary", num(a->segment_mean[s][2])));
    json_object_set_new(us, "rfm", json_pack("{s:s,s:s,s:o}", "monetary", a->has_price ? "spend" : "purchases",
                                             "frequency", "sessions", "segments", segs));
    json_object_set_new(us, "buyers", json_integer((json_int_t)a->buyers));
    json_object_set_new(us, "repeat_buyers", json_integer((json_int_t)a->repeat_buyers));
    json_object_set_new(us, "repeat_purchase_rate", num(sq_analysis_repeat_rate(a)));
    json_object_set_new(us, "sequence_length", dist_json(&a->seq_len));
    json_object_set_new(us, "session_length", dist_json(&a->session_len));
    json_object_set_new(us, "bounce_rate", num(sq_analysis_bounce_rate(a)));
    json_object_set_new(us, "median_session_duration_s", num(a->session_duration_median_s));
    json_object_set_new(root, "users", us);
    return root;
}

sq_status sq_analysis_write_rfm_csv(const sq_analysis *a, const sq_dataset *ds, const char *path,
                                    sq_error *err) {
    sq_atomic_file f = {0};
    sq_status st = sq_atomic_open(&f, path, err);
    if (st != SQ_OK) return st;
    fprintf(f.fp, "user_id,recency_days,frequency_sessions,%s,r_score,f_score,m_score,segment\n",
            a->has_price ? "monetary_spend" : "monetary_purchases");
    for (uint32_t u = 0; u < ds->n_users; u++) {
        const sq_rfm_user *r = &a->rfm[u];
        if (isnan(r->recency_days)) continue;
        size_t len;
        const char *id = sq_dict_get(&ds->users, u, &len);
        sq_csv_write_field(f.fp, id, len);
        fprintf(f.fp, ",%.3f,%u,%.2f,%u,%u,%u,%s\n", r->recency_days, r->frequency, r->monetary,
                r->r, r->f, r->m, sq_segment_name(r->segment));
    }
    if (ferror(f.fp)) {
        sq_atomic_abort(&f);
        return sq_error_set(err, SQ_ERR_IO, "%s: write failed", path);
    }
    return sq_atomic_commit(&f, err);
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

sq_status sq_analysis_write_all(const sq_analysis *a, const sq_dataset *ds, const char *dir,
                                const char *title, sq_error *err) {
    sq_status st = sq_mkdir_p(dir, err);
    if (st != SQ_OK) return st;
    char *pj = join(dir, "analysis.json"), *pc = join(dir, "rfm.csv"), *ph = join(dir, "report.html");
    char *text = NULL;
    json_t *j = NULL;
    if (!pj || !pc || !ph) {
        st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
        goto out;
    }
    j = sq_analysis_to_json(a, ds);
    text = j ? json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
    if (!text) {
        st = sq_error_set(err, SQ_ERR_NOMEM, "analysis.json: out of memory");
        goto out;
    }
    size_t n = strlen(text);
    text[n] = '\0';
    char *buf = realloc(text, n + 2);
    if (!buf) {
        st = sq_error_set(err, SQ_ERR_NOMEM, "analysis.json: out of memory");
        goto out;
    }
    text = buf;
    text[n] = '\n';
    st = sq_write_file_atomic(pj, text, n + 1, err);
    if (st == SQ_OK) st = sq_analysis_write_rfm_csv(a, ds, pc, err);
    if (st == SQ_OK) st = sq_report_write_html(a, ds, ph, title, err);
out:
    free(text);
    json_decref(j);
    free(pj), free(pc), free(ph);
    return st;
}
