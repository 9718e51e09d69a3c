#include "models/session_train.h"

#include <stdlib.h>
#include <string.h>

#include "models/session_batcher.h"

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

sq_status sq__session_epoch(sq_model *m, const sq_dataset *ds, const sq_train_opts *o,
                            const sq_nn_adamw *opt, int epoch, const sq__item_sampler *smp,
                            double *loss_sum, double *rows, int *steps, sq_error *err) {
    const sq_model_config *cfg = &m->cfg;
    const int B = cfg->batch, NS = smp && smp->cdf ? cfg->negatives : 0;
    span *sp = malloc((size_t)(ds->n_users ? ds->n_users : 1) * sizeof *sp);
    uint64_t *beg = malloc((size_t)(ds->n_users ? ds->n_users : 1) * sizeof *beg);
    uint64_t *end = malloc((size_t)(ds->n_users ? ds->n_users : 1) * sizeof *end);
    int *pos = calloc((size_t)B, sizeof *pos);
    uint8_t *beh = malloc((size_t)B), *gap = malloc((size_t)B);
    uint32_t *neg = malloc((size_t)(NS ? NS : 1) * sizeof *neg);
    sq__session_batcher sb = {0};
    sq_status st = SQ_OK;
    if (!sp || !beg || !end || !pos || !beh || !gap || !neg) {
        st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory for session-parallel training");
        goto out;
    }
    uint32_t n = 0;
    for (uint32_t u = 0; u < ds->n_users; u++) {
        uint64_t b, e;
        if (!sq__train_span(ds, u, o->all_events, &b, &e)) continue;
        sp[n++] = (span){.t = ds->time_ms ? ds->time_ms[b] : 0, .b = b, .e = e};
    }
    qsort(sp, n, sizeof *sp, cmp_span);
    for (uint32_t i = 0; i < n; i++) beg[i] = sp[i].b, end[i] = sp[i].e;
    if (sq__sb_init(&sb, B, beg, end, n) != 0) {
        st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory for session-parallel training");
        goto out;
    }
    sq_nn_rng rng; /* dropout and sample streams: (seed, epoch) only, so resume is exact */
    sq_nn_rng_seed(&rng, cfg->seed ^ ((uint64_t)(epoch + 1) * 0x9E3779B97F4A7C15ull));
    int r;
    while ((r = sq__sb_next(&sb, ds->item)) > 0) {
        for (int i = 0; i < r; i++) {
            const uint64_t ev = sb.event[i];
            beh[i] = ds->behavior[ev];
            /* a row starting its sequence has no previous event (sq_gap_fill's rule) */
            gap[i] = sb.state_src[i] >= 0 ? sq_gap_bucket(ds->time_ms[ev - 1], ds->time_ms[ev]) : 0;
        }
        sq_batch bt = {.n_seq = r, .seq_off = sb.seq_off, .item = sb.item, .behavior = beh, .gap = gap,
                       .pos = pos, .target = sb.target, .state_src = sb.state_src,
                       .seed = sq_nn_rng_next(&rng)};
        if (smp) {
            bt.logq_pop = smp->logq_pop;
            bt.logq_alpha = smp->logq_alpha;
        }
        if (NS) {
            sq__sampler_draw(smp, &rng, neg, NS);
            bt.shared_neg = neg;
            bt.n_shared_neg = NS;
        }
        sq_nn_params_zero_grad(&m->params);
        *loss_sum += sq_model_forward(m, &bt, 1);
        sq_model_backward(m, &bt);
        sq_nn_adamw_step(&m->params, opt);
        *rows += r;
        ++*steps;
    }
out:
    sq__sb_free(&sb);
    free(sp), free(beg), free(end), free(pos), free(beh), free(gap), free(neg);
    return st;
}
