/* The neural scorer ("neural"): a sequence encoder (any model with model.h encode) and an
 * MLP head (head.h) on its representation, optionally concatenated with the standardised
 * tabular features.
 *
 * Encoder: a checkpoint (opts.checkpoint; its item dictionary must be this dataset's,
 * sq_check_fingerprint, so dense item ids are shared and no item is unknown), or a new
 * model of opts.encoder (that model's preset, maxlen capped at NEURAL_MAXLEN, behaviour
 * embeddings on). A new model can first be pre-trained here with its own next-item
 * objective (opts.pretrain_epochs) on every user's events before the earliest training
 * cut, so that no event at or after any example's cut reaches the encoder's weights (a
 * checkpoint from `shopseq train` on the whole dataset has seen the later events too).
 *
 * Item task (a candidate per example): the head also gets the encoder's next-item score of
 * the candidate, rep . E[item], with its gradient into both when the whole model trains.
 *
 * Inputs (sq__neural_span): example i reads the last maxlen events of
 * [seq_begin[i], seq_end[i]), which sq_pred_build guarantees all precede the cut.
 *
 * Training: AdamW on the head (opts.finetune_all = 0: the encoder is frozen and each
 * example's representation is computed once) or on head and encoder (= 1: dropout on in
 * the encoder, its gradient through encode_backward); weighted BCE / softmax CE (class
 * weights with opts.class_weight); early stopping on the validation examples' loss
 * (patience NEURAL_PATIENCE epochs; the best epoch's weights are kept). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "predict/neural.h"
#include "shopseq/head.h"
#include "shopseq/model.h"
#include "shopseq/safetensors.h"
#include "shopseq/train.h"

enum { NEURAL_BATCH = 64, NEURAL_MAXLEN = 50, NEURAL_PATIENCE = 3, NEURAL_EPOCHS = 20 };

typedef struct {
    sq_pred_scorer base;
    sq_pred_scorer_opts o;
    char ckpt[4096], encoder[32];
    sq_model *m;
    sq_mlp_head head;
    int B, maxlen, C, F, K; /* batch, input length, rep dim, tabular features, outputs */
    /* item task: one more head input, the encoder's next-item score of the candidate,
     * rep . E[item] (E = etab, the table score multiplies with); -1 for the other tasks */
    int etab, FD;            /* FD = F + (etab >= 0): the head's feature width */
    int ebias;               /* the output bias added to that score (bert4rec), or -1 */
    uint32_t cand[NEURAL_BATCH];
    /* one packed batch */
    int *seq_off, *pos;
    uint32_t *item, *target, *neg;
    uint8_t *beh, *gap;
    float *rep, *drep, *dlog, *feat;
} neural;

void sq__neural_span(const sq_pred_examples *ex, size_t i, int maxlen, uint64_t *b,
                     uint64_t *e) {
    *e = ex->seq_end[i];
    *b = *e - ex->seq_begin[i] > (uint64_t)maxlen ? *e - (uint64_t)maxlen : ex->seq_begin[i];
}

static void destroy(sq_pred_scorer *s) {
    neural *n = (neural *)s;
    if (!n) return;
    sq_model_free(n->m);
    sq_mlp_head_free(&n->head);
    free(n->seq_off);
    free(n->pos);
    free(n->item);
    free(n->target);
    free(n->neg);
    free(n->beh);
    free(n->gap);
    free(n->rep);
    free(n->drep);
    free(n->dlog);
    free(n->feat);
    free(n);
}

/* The scorer around encoder m (taken over: freed on failure too), a checkpoint's model
 * loaded from o->checkpoint, or NULL to make one of o->encoder at fit. */
static sq_status adopt(sq_pred_scorer **out, const sq_pred_scorer_opts *o, sq_model *m,
                       sq_error *err) {
    *out = NULL;
    neural *n = calloc(1, sizeof *n);
    if (!n) {
        sq_model_free(m);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    n->base.ops = &sq_pred_neural_ops;
    n->o = *o;
    n->m = m;
    const char *what;
    if (m) {
        snprintf(n->ckpt, sizeof n->ckpt, "%s", o->checkpoint);
        n->o.checkpoint = n->ckpt;
        snprintf(n->encoder, sizeof n->encoder, "%s", m->cfg.model);
        what = "ckpt";
    } else {
        snprintf(n->encoder, sizeof n->encoder, "%s", o->encoder);
        what = o->pretrain_epochs > 0 ? "pre-trained" : "scratch";
    }
    n->o.encoder = n->encoder;
    if (n->m && !sq_model_can_encode(n->m)) {
        sq_error_set(err, SQ_ERR_USAGE, "neural scorer: %s is a %s checkpoint, which has no "
                     "sequence encoder (a counting baseline)", o->checkpoint, n->encoder);
        destroy(&n->base);
        return SQ_ERR_USAGE;
    }
    snprintf(n->base.label, sizeof n->base.label, "%s (%s) %s", n->encoder, what,
             o->finetune_all ? "fine-tuned" : "head");
    sq_nn_init(o->threads); /* BLAS on one thread inside our OpenMP loops */
    *out = &n->base;
    return SQ_OK;
}

static sq_status create(sq_pred_scorer **out, const sq_pred_scorer_opts *o, sq_error *err) {
    *out = NULL;
    if (!o->checkpoint && !o->encoder)
        return sq_error_set(err, SQ_ERR_USAGE, "neural scorer: a checkpoint or an encoder name "
                            "(training from scratch) is needed");
    if (!o->checkpoint && !sq_model_known(o->encoder))
        return sq_error_set(err, SQ_ERR_USAGE, "neural scorer: unknown encoder '%s' (known: %s)",
                            o->encoder, sq_model_names());
    sq_model *m = NULL;
    if (o->checkpoint) {
        sq_status st = sq_model_load(&m, o->checkpoint, err);
        if (st != SQ_OK) return st;
    }
    return adopt(out, o, m, err);
}

/* The model (new when training from scratch) and the buffers, once the data are known. */
static sq_status buffers(neural *n, int n_features, sq_pred_task task, int K, sq_error *err);

static sq_status setup(neural *n, const sq_pred_examples *train, sq_error *err) {
    const sq_dataset *ds = train->ds;
    sq_status st;
    if (n->m) {
        if ((st = sq_check_fingerprint(n->ckpt, ds, err)) != SQ_OK) return st;
        if ((st = sq_features_check_data(n->m, ds, err)) != SQ_OK) return st;
        /* trained on this very dataset: its weights have seen the events after the cut
         * (next-item targets, never the task's labels); say so, --pretrain avoids it */
        sq_st_file f;
        if (n->o.verbose && sq_st_read(&f, n->ckpt, err) == SQ_OK) {
            const char *fp = sq_st_meta(&f, "data_xxh64");
            char want[17];
            snprintf(want, sizeof want, "%016" PRIx64, sq_dataset_data_fingerprint(ds));
            if (fp && !strcmp(fp, want))
                fprintf(stderr, "neural: note: %s was pre-trained on all of this dataset's "
                        "events, those after the cut included (--scratch MODEL --pretrain N "
                        "pre-trains on events before the training cut only)\n", n->ckpt);
            sq_st_free(&f);
        }
        if ((uint32_t)n->m->cfg.n_items != ds->n_items)
            return sq_error_set(err, SQ_ERR_USAGE, "%s: %d items, the dataset has %u", n->ckpt,
                                n->m->cfg.n_items, ds->n_items);
        /* the pre-training's optimiser moments describe another objective */
        sq_nn_params *p = &n->m->params;
        memset(p->m, 0, p->total * sizeof(float));
        memset(p->v, 0, p->total * sizeof(float));
        p->step = 0;
    } else {
        sq_model_config c;
        sq_model_config_default(&c);
        c.n_items = (int)ds->n_items;
        c.seed = n->o.seed;
        if ((st = sq_model_config_preset(&c, n->encoder, err)) != SQ_OK) return st;
        if (c.maxlen > NEURAL_MAXLEN) c.maxlen = NEURAL_MAXLEN;
        c.use_behavior = 1; /* what the user did, not only which item, drives buying */
        c.batch = NEURAL_BATCH;
        if ((st = sq_model_create_for(&n->m, &c, ds, err)) != SQ_OK) return st;
        if (!sq_model_can_encode(n->m))
            return sq_error_set(err, SQ_ERR_USAGE, "neural scorer: %s has no sequence encoder",
                                n->encoder);
    }
    return buffers(n, train->n_features, train->task, sq_pred_n_outputs(train), err);
}

/* Batch buffers and the head, once the encoder n->m is in place. */
static sq_status buffers(neural *n, int n_features, sq_pred_task task, int K, sq_error *err) {
    const sq_model_config *c = &n->m->cfg;
    n->B = c->batch < NEURAL_BATCH ? c->batch : NEURAL_BATCH;
    n->maxlen = c->maxlen;
    n->C = c->dim;
    n->F = n->o.with_features ? n_features : 0;
    n->etab = task == SQ_PRED_ITEM ? sq_model_output_table(n->m) : -1;
    n->ebias = n->etab >= 0 ? sq_model_output_bias(n->m) : -1;
    n->FD = n->F + (n->etab >= 0);
    n->K = K;
    const size_t rows = (size_t)n->B * n->maxlen;
    const int negs = c->negatives > 0 ? c->negatives : 1;
    n->seq_off = malloc(((size_t)n->B + 1) * sizeof *n->seq_off);
    n->pos = malloc(rows * sizeof *n->pos);
    n->item = malloc(rows * sizeof *n->item);
    n->target = malloc(rows * sizeof *n->target);
    n->neg = malloc(rows * negs * sizeof *n->neg);
    n->beh = malloc(rows);
    n->gap = malloc(rows);
    n->rep = malloc((size_t)n->B * n->C * sizeof *n->rep);
    n->drep = malloc((size_t)n->B * n->C * sizeof *n->drep);
    n->dlog = malloc((size_t)n->B * n->K * sizeof *n->dlog);
    n->feat = malloc((size_t)n->B * (n->FD ? n->FD : 1) * sizeof *n->feat);
    if (!n->seq_off || !n->pos || !n->item || !n->target || !n->neg || !n->beh || !n->gap || !n->rep ||
        !n->drep || !n->dlog || !n->feat)
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    return sq_mlp_head_init(&n->head, n->C, n->FD, n->o.hidden > 0 ? n->o.hidden : 64, n->K, 0.1f,
                            n->B, n->o.seed ^ 0x5EEDull, err);
}

/* Packs examples idx[0..cnt) into the batch (their inputs only) and their features. */
static sq_batch pack(neural *n, const sq_pred_examples *ex, const size_t *idx, int cnt) {
    const sq_dataset *ds = ex->ds;
    int r = 0;
    n->seq_off[0] = 0;
    for (int s = 0; s < cnt; s++) {
        uint64_t b, e;
        sq__neural_span(ex, idx[s], n->maxlen, &b, &e);
        /* items the encoder does not know (posted to the service; never offline, where the
         * span is read as it is) are skipped, the span reaching further back instead */
        const uint32_t V = (uint32_t)n->m->cfg.n_items;
        const uint64_t first = ex->seq_begin[idx[s]];
        int L = 0;
        for (uint64_t j = b; j < e; j++) L += ds->item[j] < V;
        while (L < n->maxlen && b > first) L += ds->item[--b] < V;
        /* time gaps between the events kept, within the example's history only (nothing
         * before seq_begin is its input): the first row's is to the kept event before it */
        uint64_t pj = b;
        int has_prev = 0;
        while (!has_prev && pj > first) has_prev = ds->item[--pj] < V;
        int64_t prev_t = has_prev ? ds->time_ms[pj] : 0;
        for (int q = 0; b < e; b++) {
            if (ds->item[b] >= V) continue;
            n->item[r + q] = ds->item[b];
            n->beh[r + q] = ds->behavior[b];
            n->gap[r + q] = has_prev ? sq_gap_bucket(prev_t, ds->time_ms[b]) : 0;
            n->pos[r + q] = n->maxlen - L + q; /* right-aligned, as sq_train's batches */
            prev_t = ds->time_ms[b];
            has_prev = 1;
            q++;
        }
        r += L;
        n->seq_off[s + 1] = r;
        if (n->F)
            memcpy(n->feat + (size_t)s * n->FD, ex->x + idx[s] * (size_t)ex->n_features,
                   (size_t)n->F * sizeof(float));
        n->cand[s] = ex->item[idx[s]];
    }
    return (sq_batch){.n_seq = cnt, .seq_off = n->seq_off, .item = n->item, .behavior = n->beh,
                      .gap = n->gap, .pos = n->pos};
}

/* Item task: the candidate's score rep . E[item] (+ the output bias) as the last head
 * input of each row. */
static void item_scores(neural *n, const float *rep, int cnt) {
    if (n->etab < 0) return;
    const float *E = sq_nn_param(&n->m->params, n->etab);
    const float *ob = n->ebias >= 0 ? sq_nn_param(&n->m->params, n->ebias) : NULL;
    for (int s = 0; s < cnt; s++) {
        const float *r = rep + (size_t)s * n->C, *e = E + (size_t)n->cand[s] * n->C;
        float d = ob ? ob[n->cand[s]] : 0.0f;
        for (int c = 0; c < n->C; c++) d += r[c] * e[c];
        n->feat[(size_t)s * n->FD + n->F] = d;
    }
}

/* Item task, whole model trained: the head's gradient at that score into drep and E. */
static void item_scores_backward(neural *n, const float *rep, int cnt) {
    if (n->etab < 0) return;
    const float *E = sq_nn_param(&n->m->params, n->etab);
    float *dE = sq_nn_pgrad(&n->m->params, n->etab);
    float *dob = n->ebias >= 0 ? sq_nn_pgrad(&n->m->params, n->ebias) : NULL;
    const int col = n->head.rep_dim + n->F;
    for (int s = 0; s < cnt; s++) {
        const float g = n->head.dx[(size_t)s * n->head.in_dim + col];
        if (dob) dob[n->cand[s]] += g;
        const float *r = rep + (size_t)s * n->C, *e = E + (size_t)n->cand[s] * n->C;
        float *dr = n->drep + (size_t)s * n->C, *de = dE + (size_t)n->cand[s] * n->C;
        for (int c = 0; c < n->C; c++) {
            dr[c] += g * e[c];
            de[c] += g * r[c];
        }
    }
}

/* The encoder's own next-item objective on every user's events before `before`. */
static void pretrain(neural *n, const sq_dataset *ds, int64_t before, int epochs, float lr) {
    const sq_model_config *c = &n->m->cfg;
    const int K = c->loss == SQ_LOSS_BCE || c->loss == SQ_LOSS_SAMPLED
                      ? (c->negatives > 0 ? c->negatives : 1) : 0;
    sq_nn_adamw opt = {.lr = lr, .beta1 = 0.9f, .beta2 = 0.98f, .eps = 1e-8f};
    sq_nn_rng rng;
    sq_nn_rng_seed(&rng, n->o.seed ^ 0x9E37ull);
    uint32_t *users = malloc((size_t)ds->n_users * sizeof *users);
    if (!users) return;
    uint32_t nu = 0;
    for (uint32_t u = 0; u < ds->n_users; u++) {
        uint64_t b = ds->user_offsets[u];
        if (sq__pred_lower_bound(ds, b, ds->user_offsets[u + 1], before) - b >= 2) users[nu++] = u;
    }
    for (int ep = 0; ep < epochs; ep++) {
        for (uint32_t i = nu; i > 1; i--) { /* shuffle */
            uint32_t j = sq_nn_rng_below(&rng, i), t = users[i - 1];
            users[i - 1] = users[j], users[j] = t;
        }
        double ls = 0.0;
        int steps = 0;
        for (uint32_t u0 = 0; u0 < nu; u0 += (uint32_t)n->B) {
            int cnt = nu - u0 < (uint32_t)n->B ? (int)(nu - u0) : n->B, r = 0;
            n->seq_off[0] = 0;
            for (int s = 0; s < cnt; s++) {
                const uint32_t u = users[u0 + s];
                const uint64_t b0 = ds->user_offsets[u];
                const uint64_t e = sq__pred_lower_bound(ds, b0, ds->user_offsets[u + 1], before);
                /* inputs [b, e - 1), targets [b + 1, e): the last maxlen of them */
                const uint64_t b = e - 1 - b0 > (uint64_t)n->maxlen ? e - 1 - n->maxlen : b0;
                const int L = (int)(e - 1 - b);
                for (int j = 0; j < L; j++) {
                    n->item[r + j] = ds->item[b + j];
                    n->beh[r + j] = ds->behavior[b + j];
                    n->pos[r + j] = n->maxlen - L + j;
                    n->target[r + j] = ds->item[b + j + 1];
                    for (int k = 0; k < K; k++)
                        n->neg[(size_t)(r + j) * K + k] = sq_nn_rng_below(&rng, ds->n_items);
                }
                sq_gap_fill(n->gap + r, ds->time_ms, b0, b, L);
                r += L;
                n->seq_off[s + 1] = r;
            }
            sq_batch bt = {.n_seq = cnt, .seq_off = n->seq_off, .item = n->item,
                           .behavior = n->beh, .gap = n->gap, .pos = n->pos, .target = n->target,
                           .neg = K ? n->neg : NULL, .n_neg = K, .seed = sq_nn_rng_next(&rng)};
            sq_nn_params_zero_grad(&n->m->params);
            ls += sq_model_forward(n->m, &bt, 1);
            sq_model_backward(n->m, &bt);
            sq_nn_adamw_step(&n->m->params, &opt);
            steps++;
        }
        if (n->o.verbose)
            fprintf(stderr, "neural: pre-training %s epoch %d, next-item loss %.4f (%u users)\n",
                    n->encoder, ep + 1, steps ? ls / steps : 0.0, nu);
    }
    free(users);
    sq_nn_params *p = &n->m->params;
    memset(p->m, 0, p->total * sizeof(float));
    memset(p->v, 0, p->total * sizeof(float));
    p->step = 0;
}

/* Encodes all of ex with the encoder in inference mode into reps (ex->n, C). */
static void encode_all(neural *n, const sq_pred_examples *ex, float *reps) {
    size_t idx[NEURAL_BATCH];
    for (size_t i0 = 0; i0 < ex->n; i0 += (size_t)n->B) {
        int cnt = ex->n - i0 < (size_t)n->B ? (int)(ex->n - i0) : n->B;
        for (int s = 0; s < cnt; s++) idx[s] = i0 + (size_t)s;
        sq_batch b = pack(n, ex, idx, cnt);
        sq_model_encode(n->m, &b, 0, reps + i0 * (size_t)n->C);
    }
}

typedef struct {
    float w_pos, w_neg, cw[16];
    int use_cw;
} weights;

static double head_loss(const neural *n, const float *logits, const sq_pred_examples *ex,
                        const size_t *idx, int cnt, const weights *w, float *dlog) {
    uint8_t yb[NEURAL_BATCH];
    int yk[NEURAL_BATCH];
    for (int s = 0; s < cnt; s++) {
        yb[s] = ex->label[idx[s]] == 1;
        yk[s] = ex->label[idx[s]];
    }
    if (n->K == 1) return sq_head_bce(logits, yb, cnt, w->w_pos, w->w_neg, dlog);
    return sq_head_softmax_ce(logits, yk, cnt, n->K, w->use_cw ? w->cw : NULL, dlog);
}

/* Mean (weighted) loss over ex; reps: cached representations or NULL (encode now). */
static double eval_loss(neural *n, const sq_pred_examples *ex, const float *reps,
                        const weights *w) {
    size_t idx[NEURAL_BATCH];
    double sum = 0.0;
    for (size_t i0 = 0; i0 < ex->n; i0 += (size_t)n->B) {
        int cnt = ex->n - i0 < (size_t)n->B ? (int)(ex->n - i0) : n->B;
        for (int s = 0; s < cnt; s++) idx[s] = i0 + (size_t)s;
        sq_batch b = pack(n, ex, idx, cnt);
        const float *rep = reps ? reps + i0 * (size_t)n->C : n->rep;
        if (!reps) sq_model_encode(n->m, &b, 0, n->rep);
        item_scores(n, rep, cnt);
        const float *z = sq_mlp_head_forward(&n->head, rep, n->FD ? n->feat : NULL, cnt, 0, 0);
        sum += head_loss(n, z, ex, idx, cnt, w, NULL) * cnt;
    }
    return ex->n ? sum / (double)ex->n : 0.0;
}

static sq_status fit(sq_pred_scorer *s, const sq_pred_examples *train,
                     const sq_pred_examples *valid, sq_error *err) {
    neural *n = (neural *)s;
    if (n->head.arena) return sq_error_set(err, SQ_ERR_USAGE, "neural scorer: fit once");
    sq_status st = setup(n, train, err);
    if (st != SQ_OK) return st;
    const int all = n->o.finetune_all;
    const float lr = n->o.lr > 0 ? n->o.lr : 1e-3f;
    const int epochs = n->o.epochs > 0 ? n->o.epochs : NEURAL_EPOCHS;
    if (!n->ckpt[0] && n->o.pretrain_epochs > 0) {
        int64_t before = INT64_MAX; /* the earliest cut: no example's label window is read */
        for (size_t i = 0; i < train->n; i++)
            if (train->cut_ms[i] < before) before = train->cut_ms[i];
        pretrain(n, train->ds, before, n->o.pretrain_epochs, lr);
    }
    /* class weights (opts.class_weight): inversely to frequency, mean weight 1 */
    weights w = {.w_pos = 1.0f, .w_neg = 1.0f};
    if (n->o.class_weight && train->n) {
        size_t cnt[16] = {0};
        for (size_t i = 0; i < train->n; i++)
            if (train->label[i] >= 0 && train->label[i] < 16) cnt[train->label[i]]++;
        const int k = n->K == 1 ? 2 : n->K;
        for (int c = 0; c < k && c < 16; c++)
            w.cw[c] = cnt[c] ? (float)((double)train->n / ((double)k * cnt[c])) : 0.0f;
        w.w_neg = w.cw[0], w.w_pos = w.cw[1], w.use_cw = 1;
    }
    /* head only: the frozen encoder's representations, once */
    float *rt = NULL, *rv = NULL;
    size_t *order = malloc((train->n ? train->n : 1) * sizeof *order);
    float *best_m = malloc(n->m->params.total * sizeof(float));
    float *best_h = malloc(n->head.params.total * sizeof(float));
    if (!all) {
        rt = malloc((train->n ? train->n : 1) * (size_t)n->C * sizeof *rt);
        rv = malloc((valid->n ? valid->n : 1) * (size_t)n->C * sizeof *rv);
    }
    if (!order || !best_m || !best_h || (!all && (!rt || !rv))) {
        st = sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (!all) {
        encode_all(n, train, rt);
        encode_all(n, valid, rv);
    }
    for (size_t i = 0; i < train->n; i++) order[i] = i;
    sq_nn_rng rng;
    sq_nn_rng_seed(&rng, n->o.seed ^ 0xF17ull);
    sq_nn_adamw oh = {.lr = lr, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                      .weight_decay = 1e-4f};
    sq_nn_adamw om = oh;
    om.weight_decay = 0.0f; /* the encoder as pre-trained: no decay pulling it to zero */
    /* a pre-trained encoder moves slower than the new head (at the head's rate it
     * overfits the few task labels within an epoch or two) */
    if (n->ckpt[0] || n->o.pretrain_epochs > 0) om.lr = lr * 0.1f;
    double best = INFINITY;
    int best_ep = 0, bad = 0;
    for (int ep = 1; ep <= epochs; ep++) {
        for (size_t i = train->n; i > 1; i--) {
            size_t j = sq_nn_rng_below(&rng, (uint32_t)i), t = order[i - 1];
            order[i - 1] = order[j], order[j] = t;
        }
        double ls = 0.0;
        for (size_t i0 = 0; i0 < train->n; i0 += (size_t)n->B) {
            const int cnt = train->n - i0 < (size_t)n->B ? (int)(train->n - i0) : n->B;
            const size_t *idx = order + i0;
            sq_batch b = pack(n, train, idx, cnt);
            b.seed = sq_nn_rng_next(&rng);
            if (all) sq_model_encode(n->m, &b, 1, n->rep);
            else
                for (int q = 0; q < cnt; q++)
                    memcpy(n->rep + (size_t)q * n->C, rt + idx[q] * (size_t)n->C,
                           (size_t)n->C * sizeof(float));
            item_scores(n, n->rep, cnt);
            sq_nn_params_zero_grad(&n->head.params);
            const float *z = sq_mlp_head_forward(&n->head, n->rep, n->FD ? n->feat : NULL, cnt,
                                                 1, b.seed ^ 0xA5A5ull);
            ls += head_loss(n, z, train, idx, cnt, &w, n->dlog) * cnt;
            sq_mlp_head_backward(&n->head, n->dlog, all ? n->drep : NULL);
            sq_nn_adamw_step(&n->head.params, &oh);
            if (all) {
                sq_nn_params_zero_grad(&n->m->params);
                item_scores_backward(n, n->rep, cnt);
                sq_model_encode_backward(n->m, &b, n->drep);
                sq_nn_adamw_step(&n->m->params, &om);
            }
        }
        const double vl = valid->n ? eval_loss(n, valid, rv, &w) : -(double)ep;
        if (n->o.verbose)
            fprintf(stderr, "neural: %s epoch %d, loss %.4f, validation %.4f\n", n->base.label,
                    ep, train->n ? ls / (double)train->n : 0.0, valid->n ? vl : NAN);
        if (vl < best) {
            best = vl, best_ep = ep, bad = 0;
            if (all) memcpy(best_m, n->m->params.data, n->m->params.total * sizeof(float));
            memcpy(best_h, n->head.params.data, n->head.params.total * sizeof(float));
        } else if (++bad >= NEURAL_PATIENCE) {
            break;
        }
    }
    if (best_ep) {
        if (all) memcpy(n->m->params.data, best_m, n->m->params.total * sizeof(float));
        memcpy(n->head.params.data, best_h, n->head.params.total * sizeof(float));
    }
    if (n->o.verbose) fprintf(stderr, "neural: kept epoch %d\n", best_ep);
done:
    free(rt);
    free(rv);
    free(order);
    free(best_m);
    free(best_h);
    return st;
}

static sq_status predict(sq_pred_scorer *s, const sq_pred_examples *ex, float *probs,
                         sq_error *err) {
    neural *n = (neural *)s;
    if (!n->head.arena) return sq_error_set(err, SQ_ERR_USAGE, "neural scorer: predict before fit");
    if (sq_pred_n_outputs(ex) != n->K || (n->F && ex->n_features != n->F))
        return sq_error_set(err, SQ_ERR_USAGE, "neural scorer: examples unlike the training ones");
    size_t idx[NEURAL_BATCH];
    for (size_t i0 = 0; i0 < ex->n; i0 += (size_t)n->B) {
        int cnt = ex->n - i0 < (size_t)n->B ? (int)(ex->n - i0) : n->B;
        for (int q = 0; q < cnt; q++) idx[q] = i0 + (size_t)q;
        sq_batch b = pack(n, ex, idx, cnt);
        sq_model_encode(n->m, &b, 0, n->rep);
        item_scores(n, n->rep, cnt);
        const float *z = sq_mlp_head_forward(&n->head, n->rep, n->FD ? n->feat : NULL, cnt, 0, 0);
        float *p = probs + i0 * (size_t)n->K;
        for (int q = 0; q < cnt; q++) {
            if (n->K == 1) {
                p[q] = (float)(1.0 / (1.0 + exp(-(double)z[q])));
                continue;
            }
            const float *zq = z + (size_t)q * n->K;
            double mx = zq[0], se = 0.0;
            for (int k = 1; k < n->K; k++) mx = fmax(mx, zq[k]);
            for (int k = 0; k < n->K; k++) se += exp(zq[k] - mx);
            for (int k = 0; k < n->K; k++)
                p[(size_t)q * n->K + k] = (float)(exp(zq[k] - mx) / se);
        }
    }
    return SQ_OK;
}

/* ---- saving and restoring a fitted scorer (the task heads of shopseq serve) ---- */
int sq__neural_is(const sq_pred_scorer *s) { return s && s->ops == &sq_pred_neural_ops; }

sq_status sq__neural_export(const sq_pred_scorer *s, const char *enc_path,
                            const char *const *enc_meta, sq__neural_head *h, sq_error *err) {
    const neural *n = (const neural *)s;
    if (!sq__neural_is(s) || !n->head.arena)
        return sq_error_set(err, SQ_ERR_USAGE, "neural scorer: export before fit");
    if (n->etab >= 0)
        return sq_error_set(err, SQ_ERR_USAGE, "neural scorer: the item task cannot be saved");
    sq_status st = sq_model_save(n->m, enc_path, enc_meta, 0, err);
    if (st != SQ_OK) return st;
    const sq_nn_params *p = &n->head.params;
    h->hidden = n->head.hidden;
    h->in_dim = n->head.in_dim;
    h->out = n->head.out;
    h->n_features = n->F;
    h->with_features = n->o.with_features;
    h->finetune_all = n->o.finetune_all;
    h->w[0] = sq_nn_param(p, n->head.w1);
    h->w[1] = sq_nn_param(p, n->head.b1);
    h->w[2] = sq_nn_param(p, n->head.w2);
    h->w[3] = sq_nn_param(p, n->head.b2);
    return SQ_OK;
}

sq_status sq__neural_restore(sq_pred_scorer **out, sq_model *enc, const char *enc_path,
                             const sq__neural_head *h, sq_pred_task task, int n_features,
                             sq_error *err) {
    *out = NULL;
    sq_pred_scorer_opts o;
    sq_pred_scorer_opts_default(&o);
    o.checkpoint = enc_path;
    o.with_features = h->with_features;
    o.finetune_all = h->finetune_all;
    o.hidden = h->hidden;
    o.threads = 0; /* leave the caller's OpenMP setting alone */
    sq_pred_scorer *s;
    sq_status st = adopt(&s, &o, enc, err);
    if (st != SQ_OK) return st;
    neural *n = (neural *)s;
    st = buffers(n, n_features, task, h->out, err);
    if (st == SQ_OK && (n->head.in_dim != h->in_dim || n->F != h->n_features))
        st = sq_error_set(err, SQ_ERR_FORMAT, "%s: the head takes %d inputs, the encoder and "
                          "features give %d", enc_path, h->in_dim, n->head.in_dim);
    if (st != SQ_OK) {
        destroy(s);
        return st;
    }
    const sq_nn_params *p = &n->head.params;
    const int idx[4] = {n->head.w1, n->head.b1, n->head.w2, n->head.b2};
    for (int i = 0; i < 4; i++)
        memcpy(sq_nn_param(p, idx[i]), h->w[i], p->t[idx[i]].numel * sizeof(float));
    *out = s;
    return SQ_OK;
}

size_t sq__neural_head_numel(const sq__neural_head *h, int i) {
    const size_t hid = (size_t)h->hidden, in = (size_t)h->in_dim, out = (size_t)h->out;
    return i == 0 ? hid * in : i == 1 ? hid : i == 2 ? out * hid : out;
}

const sq_pred_scorer_ops sq_pred_neural_ops = {
    .name = "neural", .create = create, .fit = fit, .predict = predict, .destroy = destroy};
