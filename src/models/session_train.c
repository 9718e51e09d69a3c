#include "models/session_train.h"

#include <stdlib.h>
#include <string.h>

#include "core/progress.h"
#include "models/train_step.h"

const char *sq_batching_name(sq_batching b) {
    return b == SQ_BATCHING_SESSION ? "session-parallel" : "padded";
}

int sq_batching_from_name(const char *s) {
    return !strcmp(s, "padded") ? SQ_BATCHING_PADDED
           : !strcmp(s, "session-parallel") ? SQ_BATCHING_SESSION
                                            : -1;
}

typedef struct {
    int64_t t;
    uint64_t b, e;
} span;

static int cmp_span(const void *x, const void *y) {
    const span *a = x, *b = y;
    if (a->t != b->t) return a->t < b->t ? -1 : 1;
    return a->b < b->b ? -1 : a->b > b->b; /* ties: dataset order */
}

void sq__session_free(sq__session_train *s) {
    sq__sb_free(&s->sb);
    free(s->beg), free(s->end), free(s->pos), free(s->beh), free(s->gap), free(s->neg);
    memset(s, 0, sizeof *s);
}

sq_status sq__session_init(sq__session_train *s, const sq_model *m, const sq_dataset *ds,
                           int all_events, int n_neg, sq_error *err) {
    memset(s, 0, sizeof *s);
    const int B = m->cfg.batch;
    const size_t nu = ds->n_users ? ds->n_users : 1;
    span *sp = malloc(nu * sizeof *sp);
    s->beg = malloc(nu * sizeof *s->beg);
    s->end = malloc(nu * sizeof *s->end);
    s->pos = calloc((size_t)B, sizeof *s->pos);
    s->beh = malloc((size_t)B);
    s->gap = malloc((size_t)B);
    s->neg = malloc((size_t)(n_neg > 0 ? n_neg : 1) * sizeof *s->neg);
    s->n_neg = n_neg > 0 ? n_neg : 0;
    if (!sp || !s->beg || !s->end || !s->pos || !s->beh || !s->gap || !s->neg) {
        free(sp);
        sq__session_free(s);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory for session-parallel training");
    }
    uint32_t n = 0;
    for (uint32_t u = 0; u < ds->n_users; u++) {
        uint64_t b, e;
        if (!sq__train_span(ds, u, all_events, &b, &e)) continue;
        sp[n++] = (span){.t = ds->time_ms ? ds->time_ms[b] : 0, .b = b, .e = e};
    }
    qsort(sp, n, sizeof *sp, cmp_span);
    for (uint32_t i = 0; i < n; i++) {
        s->beg[i] = sp[i].b, s->end[i] = sp[i].e;
        s->rows += sp[i].e - sp[i].b - 1; /* every event but the last is an input */
    }
    s->n = n;
    free(sp);
    if (sq__sb_init(&s->sb, B, s->beg, s->end, n) != 0) {
        sq__session_free(s);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory for session-parallel training");
    }
    return SQ_OK;
}

void sq__session_epoch(sq__session_train *s, sq_model *m, const sq_dataset *ds,
                       const sq_train_opts *o, const sq_nn_adamw *opt, int epoch,
                       const sq__item_sampler *smp, double t0, double *loss_sum, double *rows,
                       int *steps) {
    const int NS = smp && smp->cdf ? s->n_neg : 0, use_gap = m->cfg.use_gap;
    sq__session_batcher *sb = &s->sb;
    sq__sb_rewind(sb);
    sq_nn_rng rng; /* dropout and sample streams: (seed, epoch) only, so resume is exact */
    sq_nn_rng_seed(&rng, m->cfg.seed ^ ((uint64_t)(epoch + 1) * 0x9E3779B97F4A7C15ull));
    double loss = 0.0, done = 0.0, drawn = t0;
    int r, n = 0;
    while ((r = sq__sb_next(sb, ds->item)) > 0) {
        for (int i = 0; i < r; i++) {
            const uint64_t ev = sb->event[i];
            s->beh[i] = ds->behavior[ev];
            /* a row starting its sequence has no previous event (sq_gap_fill's rule) */
            if (use_gap)
                s->gap[i] = sb->state_src[i] >= 0 ? sq_gap_bucket(ds->time_ms[ev - 1], ds->time_ms[ev]) : 0;
        }
        sq_batch bt = {.n_seq = r, .seq_off = sb->seq_off, .item = sb->item, .behavior = s->beh,
                       .gap = use_gap ? s->gap : NULL, .pos = s->pos, .target = sb->target,
                       .state_src = sb->state_src, .seed = sq_nn_rng_next(&rng)};
        if (smp) {
            bt.logq_pop = smp->logq_pop;
            bt.logq_alpha = smp->logq_alpha;
        }
        if (NS) {
            sq__sampler_draw(smp, &rng, s->neg, NS);
            bt.shared_neg = s->neg;
            bt.n_shared_neg = NS;
        }
        loss += sq__train_step(m, &bt, opt);
        done += r;
        n++;
        /* steps are small: redraw by time, not every few steps */
        const double now = o->progress ? sq_now_s() : 0.0;
        if (o->progress && (now - drawn >= 0.1 || done >= (double)s->rows)) {
            sq__train_progress(o, epoch + 1, done / (double)s->rows, loss / n, done, t0);
            drawn = now;
        }
    }
    *loss_sum += loss;
    *rows += done;
    *steps += n;
}
