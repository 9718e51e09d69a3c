/* sq_synth_run: options, the user-by-user loop, and the ground-truth side files. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "data/synth/synth_internal.h"

void sq_synth_options_init(sq_synth_options *o) {
    memset(o, 0, sizeof *o);
    o->seed = 42;
    o->users = 20000;
    o->items = 10000;
    o->categories = 50;
    o->start = 1704067200; /* 2024-01-01 00:00:00 UTC */
    o->days = 60;
    o->churn_rate = 0.30;
    o->anomaly_rate = 0.01;
    o->new_user_share = 0.60;
    o->new_item_share = 0.25;
    o->activity = 1.0;
    o->drift = 1.0;
    o->item_zipf = 1.1;
    o->category_zipf = 0.9;
    o->out = "synth.csv";
}

static bool in01(double x) { return x >= 0 && x <= 1; }

sq_status sq_synth_validate(const sq_synth_options *o, sq_error *err) {
    if (!o->out || !*o->out) return sq_error_set(err, SQ_ERR_USAGE, "no output file");
    if (o->users < 1 || o->users > 100000000)
        return sq_error_set(err, SQ_ERR_USAGE, "users must be in 1..100000000");
    if (o->categories < 1 || o->categories > 100000)
        return sq_error_set(err, SQ_ERR_USAGE, "categories must be in 1..100000");
    if (o->items < o->categories || o->items > 100000000)
        return sq_error_set(err, SQ_ERR_USAGE, "items must be in categories..100000000");
    if (o->days < 1 || o->days > 3650)
        return sq_error_set(err, SQ_ERR_USAGE, "days must be in 1..3650");
    if (o->start < 0 || o->start > 4000000000LL)
        return sq_error_set(err, SQ_ERR_USAGE, "start must be a time between 1970 and 2096");
    if (!in01(o->churn_rate)) return sq_error_set(err, SQ_ERR_USAGE, "churn rate must be in [0, 1]");
    if (!in01(o->anomaly_rate)) return sq_error_set(err, SQ_ERR_USAGE, "anomaly rate must be in [0, 1]");
    if (!in01(o->new_user_share))
        return sq_error_set(err, SQ_ERR_USAGE, "new-user share must be in [0, 1]");
    if (!in01(o->new_item_share))
        return sq_error_set(err, SQ_ERR_USAGE, "new-item share must be in [0, 1]");
    if (!(o->activity > 0 && o->activity <= 100))
        return sq_error_set(err, SQ_ERR_USAGE, "activity must be in (0, 100]");
    if (!(o->drift >= 0 && o->drift <= 100))
        return sq_error_set(err, SQ_ERR_USAGE, "drift must be in [0, 100]");
    if (!(o->item_zipf >= 0 && o->item_zipf <= 5) || !(o->category_zipf >= 0 && o->category_zipf <= 5))
        return sq_error_set(err, SQ_ERR_USAGE, "zipf exponents must be in [0, 5]");
    return SQ_OK;
}

/* <stem>: out without .csv, .csv.gz, .csv.zst, .gz, .zst */
static char *side_path(const char *out, const char *suffix) {
    size_t n = strlen(out);
    static const char *const strip[] = {".csv.gz", ".csv.zst", ".gz", ".zst", ".csv"};
    for (size_t k = 0; k < sizeof strip / sizeof *strip; k++) {
        size_t m = strlen(strip[k]);
        if (n > m && !strcmp(out + n - m, strip[k])) {
            n -= m;
            break;
        }
    }
    size_t sl = strlen(suffix);
    char *p = malloc(n + sl + 1);
    if (!p) return NULL;
    memcpy(p, out, n);
    memcpy(p + n, suffix, sl + 1);
    return p;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void ctx_init(sq__ctx *c, const sq_synth_options *o, const sq__world *w, sq__sink *s) {
    memset(c, 0, sizeof *c);
    c->o = o;
    c->w = w;
    c->sink = s;
    for (int t = 0; t < SQ_SYNTH_TYPE_COUNT; t++) sq__type_hour_cdf(t, c->hour_cdf[t]);
}

static sq_status write_items(const sq__world *w, const char *path, sq_error *err) {
    sq__writer wr;
    sq_status st = sq__writer_open(&wr, path, err);
    if (st != SQ_OK) return st;
    static const char hdr[] = "item_id,category_id,price,launch_time,popularity_rank\n";
    sq__writer_write(&wr, hdr, sizeof hdr - 1);
    for (uint32_t i = 0; i < w->n_items; i++) {
        char *p = sq__writer_reserve(&wr), *p0 = p;
        const sq__item_text *t = &w->item_text[i];
        memcpy(p, t->pre, t->pre_len);
        p += t->pre_len;
        memcpy(p, t->price, t->price_len);
        p += t->price_len - 1; /* drop the newline */
        *p++ = ',';
        int64_t L = w->item_launch[i];
        if (L < 0) { /* before 1970: only with an odd --start */
            *p++ = '-';
            L = -L;
        }
        p += sq__fmt_u64(p, (uint64_t)L);
        *p++ = ',';
        p += sq__fmt_u64(p, w->item_rank[i]);
        *p++ = '\n';
        wr.len += (size_t)(p - p0);
    }
    return sq__writer_commit(&wr, err);
}

static void write_truth_row(sq__writer *wr, const sq__user *u) {
    char *p = sq__writer_reserve(wr), *p0 = p;
    p += sq__fmt_u64(p, u->id);
    *p++ = ',';
    const char *tn = sq_synth_type_name(u->type);
    size_t n = strlen(tn);
    memcpy(p, tn, n);
    p += n;
    *p++ = ',';
    int64_t a = u->arrival;
    if (a < 0) {
        *p++ = '-';
        a = -a;
    }
    p += sq__fmt_u64(p, (uint64_t)a);
    *p++ = ',';
    if (u->churn >= 0) p += sq__fmt_u64(p, (uint64_t)u->churn);
    *p++ = ',';
    *p++ = u->anomaly ? '1' : '0';
    *p++ = ',';
    const char *an = sq_synth_anomaly_name(u->anomaly);
    n = strlen(an);
    memcpy(p, an, n);
    p += n;
    *p++ = ',';
    p += sq__fmt_u64(p, u->sessions);
    *p++ = ',';
    p += sq__fmt_u64(p, u->events);
    *p++ = '\n';
    wr->len += (size_t)(p - p0);
}

sq_status sq_synth_run(const sq_synth_options *o, sq_synth_result *res, sq_error *err) {
    double t0 = now_s();
    sq_status st = sq_synth_validate(o, err);
    if (st != SQ_OK) return st;
    if (res) memset(res, 0, sizeof *res);

    char *truth_path = side_path(o->out, ".truth.csv");
    char *items_path = side_path(o->out, ".items.csv");
    char *events_path = strdup(o->out);
    if (!truth_path || !items_path || !events_path) {
        free(truth_path);
        free(items_path);
        free(events_path);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    if (!strcmp(truth_path, o->out) || !strcmp(items_path, o->out)) {
        free(truth_path);
        free(items_path);
        free(events_path);
        return sq_error_set(err, SQ_ERR_USAGE, "output name %s collides with a side file", o->out);
    }

    sq__world w;
    sq__writer ev, tr;
    memset(&ev, 0, sizeof ev);
    memset(&tr, 0, sizeof tr);
    st = sq__world_build(&w, o, err);
    if (st != SQ_OK) goto out_paths;
    st = write_items(&w, items_path, err);
    if (st != SQ_OK) goto out_world;
    st = sq__writer_open(&ev, events_path, err);
    if (st != SQ_OK) goto out_world;
    st = sq__writer_open(&tr, truth_path, err);
    if (st != SQ_OK) {
        sq__writer_abort(&ev);
        goto out_world;
    }
    static const char ev_hdr[] = "user_id,item_id,category_id,behavior,timestamp,price\n";
    static const char tr_hdr[] =
        "user_id,latent_type,arrival_time,churn_time,anomaly,anomaly_kind,sessions,events\n";
    sq__writer_write(&ev, ev_hdr, sizeof ev_hdr - 1);
    sq__writer_write(&tr, tr_hdr, sizeof tr_hdr - 1);

    sq__sink sink;
    memset(&sink, 0, sizeof sink);
    sink.w = &ev;
    sink.world = &w;
    sq__ctx c;
    ctx_init(&c, o, &w, &sink);
    uint64_t step = o->users / 100 ? o->users / 100 : 1;
    uint64_t sessions = 0, churned = 0, anomalous = 0;
    sq__user u;
    for (uint64_t id = 1; id <= o->users; id++) {
        sq__user_init(&c, &u, id);
        sink.uid_len = sq__fmt_u64(sink.uid, id);
        sink.uid[sink.uid_len++] = ',';
        sq__user_generate(&c, &u);
        write_truth_row(&tr, &u);
        sessions += u.sessions;
        churned += u.churn >= 0;
        anomalous += u.anomaly != 0;
        if (ev.st != SQ_OK || tr.st != SQ_OK) break;
        if (o->progress && (id % step == 0 || id == o->users))
            o->progress(o->progress_ctx, id, o->users, sink.events);
    }
    uint64_t bytes = ev.bytes + ev.len;
    st = sq__writer_commit(&ev, err);
    if (st != SQ_OK) {
        sq__writer_abort(&tr);
        goto out_world;
    }
    st = sq__writer_commit(&tr, err);
    if (st != SQ_OK) goto out_world;

    if (res) {
        res->events = sink.events;
        res->users = o->users;
        res->items = w.n_items;
        res->categories = w.n_cat;
        res->sessions = sessions;
        res->churned_users = churned;
        res->anomalous_users = anomalous;
        memcpy(res->by_behavior, sink.by_behavior, sizeof res->by_behavior);
        res->bytes = bytes;
        res->events_path = events_path;
        res->truth_path = truth_path;
        res->items_path = items_path;
        events_path = truth_path = items_path = NULL;
        res->seconds = now_s() - t0;
    }
out_world:
    sq__world_free(&w);
out_paths:
    free(truth_path);
    free(items_path);
    free(events_path);
    return st;
}

void sq_synth_result_free(sq_synth_result *res) {
    if (!res) return;
    free(res->events_path);
    free(res->truth_path);
    free(res->items_path);
    res->events_path = res->truth_path = res->items_path = NULL;
}

sq_status sq_synth_users_for_events(const sq_synth_options *o, uint64_t target_events,
                                    uint64_t *users, sq_error *err) {
    sq_synth_options oo = *o;
    oo.users = 1;
    sq_status st = sq_synth_validate(&oo, err);
    if (st != SQ_OK) return st;
    sq__world w;
    st = sq__world_build(&w, o, err);
    if (st != SQ_OK) return st;
    sq__sink sink;
    memset(&sink, 0, sizeof sink);
    sink.world = &w;
    sq__ctx c;
    ctx_init(&c, o, &w, &sink);
    /* the first users of the real run: user attributes are independent of the count */
    const uint64_t sample = 4000;
    sq__user u;
    for (uint64_t id = 1; id <= sample; id++) {
        sq__user_init(&c, &u, id);
        sq__user_generate(&c, &u);
    }
    sq__world_free(&w);
    double per_user = (double)sink.events / (double)sample;
    double n = per_user > 0 ? ceil((double)target_events / per_user) : 1;
    if (n < 1) n = 1;
    if (n > 100000000) n = 100000000;
    *users = (uint64_t)n;
    return SQ_OK;
}
