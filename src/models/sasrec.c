/* SASRec (Kang & McAuley 2018) over packed sequences, as in the official code and
 * SASRec.pytorch:
 *   x = dropout(E[item] * sqrt(C) + P[pos] (+ side embeddings: behaviour, category, price
 *                                           bucket, time gap; features.c))
 *   per block:  Q = LN1(x);  x = Q + MHA(Q, x, x)   (causal; padded keys never exist)
 *               Y = LN2(x);  x = Y + drop(W2 relu(drop(W1 Y + b1)) + b2)
 *   h = LN_last(x);  score(item) = h . E[item]   (shared item embeddings)
 * Parameter names follow PyTorch (in_proj_weight = [Wq; Wk; Wv]) so that the safetensors
 * checkpoint loads into the twin in tests/reference/sasrec_twin.py. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/features.h"
#include "shopseq/model.h"

typedef struct {
    int ln1_w, ln1_b, in_w, in_b, out_w, out_b, ln2_w, ln2_b, w1, b1, w2, b2;
} block_ix;

typedef struct {
    float *x;     /* (N, C) block input */
    float *Q;     /* (N, C) LN1 output */
    float *m1, *r1; /* (N) */
    float *q, *k, *v; /* (N, C) */
    float *att, *att_drop;
    float *a;     /* (N, C) attention output before out_proj */
    float *xm;    /* (N, C) Q + out_proj(a) */
    float *Y;     /* (N, C) LN2 output */
    float *m2, *r2;
    float *h1d;   /* (N, C) dropout(W1 Y + b1) */
    float *h1r;   /* (N, C) relu(h1d) */
} block_act;

typedef struct {
    sq_model base;
    int item_emb, pos_emb, lnf_w, lnf_b;
    sq__side side; /* behaviour, category, price, gap embeddings */
    block_ix *bix;
    /* activations, sized for cfg.batch * cfg.maxlen rows */
    size_t max_rows, max_att;
    float *arena;
    block_act *act;
    float *x_out; /* (N, C) last block output */
    float *h;     /* (N, C) final LN output */
    float *mf, *rf;
    /* backward scratch */
    float *dx, *dQ, *dq, *dk, *dv, *da, *dY, *dh1, *dtmp, *dh, *att_scratch, *ce_scratch;
    float *gather; /* (n_seq, C) last hidden states for scoring */
    uint64_t drop_seed; /* of the last training forward */
    int last_train;
} sasrec;

static int add_param(sq_nn_params *p, const char *name, int64_t a, int64_t b) {
    int64_t shape[2] = {a, b};
    return sq_nn_params_add(p, name, b ? 2 : 1, shape);
}

static void destroy(sq_model *mm) {
    sasrec *m = (sasrec *)mm;
    if (!m) return;
    sq_nn_params_free(&m->base.params);
    free(m->bix);
    free(m->act);
    free(m->arena);
    free(m);
}

static void xavier(float *w, int64_t rows, int64_t cols, sq_nn_rng *r) {
    float sd = sqrtf(2.0f / (float)(rows + cols));
    for (int64_t i = 0; i < rows * cols; i++) w[i] = sd * sq_nn_rng_normal(r);
}

static sq_status create(sq_model **out, const sq_model_config *cfg, sq_error *err) {
    *out = NULL;
    const int C = cfg->dim, B = cfg->blocks;
    if (C <= 0 || B < 0 || cfg->heads <= 0 || C % cfg->heads || cfg->maxlen <= 0 ||
        cfg->n_items <= 0 || cfg->batch <= 0 || cfg->dropout < 0.0f || cfg->dropout >= 1.0f)
        return sq_error_set(err, SQ_ERR_USAGE,
                            "sasrec: bad config (dim %d, blocks %d, heads %d, maxlen %d, items %d, "
                            "batch %d, dropout %g): dim must be a multiple of heads",
                            C, B, cfg->heads, cfg->maxlen, cfg->n_items, cfg->batch,
                            (double)cfg->dropout);
    sasrec *m = calloc(1, sizeof *m);
    if (!m) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    m->base.ops = &sq_sasrec_ops;
    m->base.cfg = *cfg;
    sq_nn_params *p = &m->base.params;
    m->bix = calloc((size_t)(B ? B : 1), sizeof *m->bix);
    m->act = calloc((size_t)(B ? B : 1), sizeof *m->act);
    if (!m->bix || !m->act) goto nomem;
    m->item_emb = add_param(p, "item_emb.weight", cfg->n_items, C);
    m->pos_emb = add_param(p, "pos_emb.weight", cfg->maxlen, C);
    sq_status sst = sq__side_add(&m->side, p, cfg, err);
    if (sst != SQ_OK) {
        destroy(&m->base);
        return sst;
    }
    for (int l = 0; l < B; l++) {
        char n[64];
        block_ix *bi = &m->bix[l];
#define P(field, suffix, a, b)                              \
    snprintf(n, sizeof n, "blocks.%d.%s", l, suffix);       \
    bi->field = add_param(p, n, a, b);                      \
    if (bi->field < 0) goto nomem;
        P(ln1_w, "ln1.weight", C, 0);
        P(ln1_b, "ln1.bias", C, 0);
        P(in_w, "attn.in_proj_weight", 3 * C, C);
        P(in_b, "attn.in_proj_bias", 3 * C, 0);
        P(out_w, "attn.out_proj.weight", C, C);
        P(out_b, "attn.out_proj.bias", C, 0);
        P(ln2_w, "ln2.weight", C, 0);
        P(ln2_b, "ln2.bias", C, 0);
        P(w1, "ffn.w1.weight", C, C);
        P(b1, "ffn.w1.bias", C, 0);
        P(w2, "ffn.w2.weight", C, C);
        P(b2, "ffn.w2.bias", C, 0);
#undef P
    }
    m->lnf_w = add_param(p, "last_ln.weight", C, 0);
    m->lnf_b = add_param(p, "last_ln.bias", C, 0);
    if (m->item_emb < 0 || m->pos_emb < 0 || m->lnf_b < 0) goto nomem;
    if (sq_nn_params_alloc(p, err) != SQ_OK) {
        destroy(&m->base);
        return SQ_ERR_NOMEM;
    }
    /* init: xavier normal for matrices (SASRec.pytorch) or N(0, init_std); LN weight 1,
       biases 0. Xavier gives the 54k-item table of Beauty a tiny sd (0.006) next to the
       position table's, which the small-sd normal init of the full-CE runs avoids. */
    sq_nn_rng r;
    sq_nn_rng_seed(&r, cfg->seed);
    for (int i = 0; i < p->n; i++) {
        sq_nn_tensor *t = &p->t[i];
        float *w = p->data + t->offset;
        if (t->ndim == 2 && cfg->init_std > 0.0f)
            for (size_t j = 0; j < t->numel; j++) w[j] = cfg->init_std * sq_nn_rng_normal(&r);
        else if (t->ndim == 2) xavier(w, t->shape[0], t->shape[1], &r);
        else if (strstr(t->name, "ln") && strstr(t->name, ".weight"))
            for (size_t j = 0; j < t->numel; j++) w[j] = 1.0f;
    }

    /* activation arena */
    const size_t N = (size_t)cfg->batch * cfg->maxlen, NC = N * C;
    const size_t att = (size_t)cfg->batch * cfg->maxlen * cfg->maxlen * cfg->heads;
    const int nt = sq_nn_threads();
    m->max_rows = N;
    m->max_att = att;
    size_t per_block = 9 * NC + 4 * N + att * (cfg->dropout > 0.0f ? 2 : 1);
    size_t total = (size_t)B * per_block + 2 * NC + 2 * N + 10 * NC +
                   (size_t)nt * sq_nn_attention_scratch_size(cfg->maxlen) +
                   sq_nn_ce_scratch_size(cfg->n_items) + (size_t)cfg->batch * C;
    m->arena = malloc(total * sizeof(float));
    if (!m->arena) {
        destroy(&m->base);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory for %zu MB of activations",
                            total * sizeof(float) >> 20);
    }
    float *a = m->arena;
#define TAKE(ptr, n) \
    do {             \
        ptr = a;     \
        a += (n);    \
    } while (0)
    for (int l = 0; l < B; l++) {
        block_act *ba = &m->act[l];
        TAKE(ba->x, NC); TAKE(ba->Q, NC); TAKE(ba->q, NC); TAKE(ba->k, NC); TAKE(ba->v, NC);
        TAKE(ba->a, NC); TAKE(ba->xm, NC); TAKE(ba->Y, NC); TAKE(ba->h1d, NC);
        ba->h1r = NULL; /* h1r = relu(h1d) is recomputed into scratch when needed */
        TAKE(ba->m1, N); TAKE(ba->r1, N); TAKE(ba->m2, N); TAKE(ba->r2, N);
        TAKE(ba->att, att);
        ba->att_drop = NULL;
        if (cfg->dropout > 0.0f) TAKE(ba->att_drop, att);
    }
    TAKE(m->x_out, NC); TAKE(m->h, NC); TAKE(m->mf, N); TAKE(m->rf, N);
    TAKE(m->dx, NC); TAKE(m->dQ, NC); TAKE(m->dq, NC); TAKE(m->dk, NC); TAKE(m->dv, NC);
    TAKE(m->da, NC); TAKE(m->dY, NC); TAKE(m->dh1, NC); TAKE(m->dtmp, NC); TAKE(m->dh, NC);
    TAKE(m->att_scratch, (size_t)nt * sq_nn_attention_scratch_size(cfg->maxlen));
    TAKE(m->ce_scratch, sq_nn_ce_scratch_size(cfg->n_items));
    TAKE(m->gather, (size_t)cfg->batch * C);
#undef TAKE
    *out = &m->base;
    return SQ_OK;
nomem:
    destroy(&m->base);
    return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
}

/* Seeds of the dropout masks of one forward, one stream per site. */
static uint64_t site_seed(uint64_t base, int layer, int site) {
    return base ^ ((uint64_t)(layer + 1) * 0x9E3779B97F4A7C15ull) ^
           ((uint64_t)(site + 1) * 0xC2B2AE3D27D4EB4Full);
}

/* Runs the encoder; leaves h (N, C). */
static void encode(sasrec *m, const sq_batch *b, int train) {
    const sq_model_config *cfg = &m->base.cfg;
    const sq_nn_params *p = &m->base.params;
    const int C = cfg->dim, N = b->seq_off[b->n_seq];
    const float pd = train ? cfg->dropout : 0.0f;
    if (train) m->drop_seed = b->seed;
    m->last_train = train;
    float *x = cfg->blocks ? m->act[0].x : m->x_out;
    sq_nn_embedding_forward(x, b->item, sq_nn_param(p, m->item_emb), N, C, sqrtf((float)C));
    sq_nn_embedding_add_forward(x, (const uint32_t *)b->pos, sq_nn_param(p, m->pos_emb), N, C);
    const sq__side_in in = sq__side_of(b);
    sq__side_forward(&m->side, &m->base, &in, N, x);
    sq_nn_dropout_forward(x, x, (size_t)N * C, pd, site_seed(m->drop_seed, -1, 0));
    for (int l = 0; l < cfg->blocks; l++) {
        block_act *A = &m->act[l];
        const block_ix *I = &m->bix[l];
        const float *inw = sq_nn_param(p, I->in_w), *inb = sq_nn_param(p, I->in_b);
        sq_nn_layernorm_forward(A->Q, A->m1, A->r1, A->x, sq_nn_param(p, I->ln1_w),
                                sq_nn_param(p, I->ln1_b), N, C, cfg->ln_eps);
        sq_nn_linear_forward(A->q, A->Q, inw, inb, N, C, C);
        sq_nn_linear_forward(A->k, A->x, inw + (size_t)C * C, inb + C, N, C, C);
        sq_nn_linear_forward(A->v, A->x, inw + (size_t)2 * C * C, inb + 2 * C, N, C, C);
        sq_nn_attention_forward(A->a, A->att, A->att_drop, A->q, A->k, A->v, b->seq_off, b->n_seq,
                                C, cfg->heads, 1, pd, site_seed(m->drop_seed, l, 1));
        sq_nn_linear_forward(A->xm, A->a, sq_nn_param(p, I->out_w), sq_nn_param(p, I->out_b), N,
                             C, C);
        sq_nn_add(A->xm, A->Q, (size_t)N * C);
        sq_nn_layernorm_forward(A->Y, A->m2, A->r2, A->xm, sq_nn_param(p, I->ln2_w),
                                sq_nn_param(p, I->ln2_b), N, C, cfg->ln_eps);
        float *xn = l + 1 < cfg->blocks ? m->act[l + 1].x : m->x_out;
        sq_nn_linear_forward(A->h1d, A->Y, sq_nn_param(p, I->w1), sq_nn_param(p, I->b1), N, C, C);
        sq_nn_dropout_forward(A->h1d, A->h1d, (size_t)N * C, pd, site_seed(m->drop_seed, l, 2));
        float *h1r = m->dtmp; /* relu output is only an input of W2 */
        sq_nn_relu_forward(h1r, A->h1d, (size_t)N * C);
        sq_nn_linear_forward(xn, h1r, sq_nn_param(p, I->w2), sq_nn_param(p, I->b2), N, C, C);
        sq_nn_dropout_forward(xn, xn, (size_t)N * C, pd, site_seed(m->drop_seed, l, 3));
        sq_nn_add(xn, A->Y, (size_t)N * C);
    }
    sq_nn_layernorm_forward(m->h, m->mf, m->rf, m->x_out, sq_nn_param(p, m->lnf_w),
                            sq_nn_param(p, m->lnf_b), N, C, cfg->ln_eps);
}

static double loss_and_grad(sasrec *m, const sq_batch *b, float *dh) {
    const sq_model_config *cfg = &m->base.cfg;
    const sq_nn_params *p = &m->base.params;
    const int C = cfg->dim, N = b->seq_off[b->n_seq];
    const float *E = sq_nn_param(p, m->item_emb);
    float *dE = dh ? sq_nn_pgrad(p, m->item_emb) : NULL;
    switch (cfg->loss) {
    case SQ_LOSS_CE:
        return sq_nn_ce_full(dh, dE, m->h, E, b->target, N, cfg->n_items, C, 1.0f, m->ce_scratch,
                             &m->base.loss_ws);
    case SQ_LOSS_SAMPLED:
        return sq_nn_sampled_softmax(dh, dE, m->h, E, b->target, b->neg, N, b->n_neg, C, 1.0f);
    case SQ_LOSS_BCE:
    default:
        return sq_nn_bce_neg(dh, dE, m->h, E, b->target, b->neg, N, b->n_neg, C, 1.0f);
    }
}

static double forward(sq_model *mm, const sq_batch *b, int train) {
    sasrec *m = (sasrec *)mm;
    encode(m, b, train);
    return b->target ? loss_and_grad(m, b, NULL) : 0.0;
}

/* Backpropagates m->dh (N, C), the gradient at h, into params.grad. */
static void backward_from_dh(sasrec *m, const sq_batch *b) {
    const sq_model_config *cfg = &m->base.cfg;
    const sq_nn_params *p = &m->base.params;
    const int C = cfg->dim, N = b->seq_off[b->n_seq];
    const size_t NC = (size_t)N * C;
    const float pd = m->last_train ? cfg->dropout : 0.0f;
    /* final layernorm: dx = d x_out */
    memset(m->dx, 0, NC * sizeof(float));
    sq_nn_layernorm_backward(m->dx, sq_nn_pgrad(p, m->lnf_w), sq_nn_pgrad(p, m->lnf_b), m->dh,
                             m->x_out, sq_nn_param(p, m->lnf_w), m->mf, m->rf, N, C);
    for (int l = cfg->blocks - 1; l >= 0; l--) {
        block_act *A = &m->act[l];
        const block_ix *I = &m->bix[l];
        const float *inw = sq_nn_param(p, I->in_w);
        float *dinw = sq_nn_pgrad(p, I->in_w), *dinb = sq_nn_pgrad(p, I->in_b);
        /* x_next = Y + drop(W2 relu(h1d) + b2) */
        memcpy(m->dY, m->dx, NC * sizeof(float));
        sq_nn_dropout_backward(m->dx, m->dx, NC, pd, site_seed(m->drop_seed, l, 3));
        float *h1r = m->dtmp;
        sq_nn_relu_forward(h1r, A->h1d, NC);
        memset(m->dh1, 0, NC * sizeof(float));
        sq_nn_linear_backward(m->dh1, sq_nn_pgrad(p, I->w2), sq_nn_pgrad(p, I->b2), m->dx, h1r,
                              sq_nn_param(p, I->w2), N, C, C);
        sq_nn_relu_backward(m->dh1, m->dh1, A->h1d, NC);
        sq_nn_dropout_backward(m->dh1, m->dh1, NC, pd, site_seed(m->drop_seed, l, 2));
        sq_nn_linear_backward(m->dY, sq_nn_pgrad(p, I->w1), sq_nn_pgrad(p, I->b1), m->dh1, A->Y,
                              sq_nn_param(p, I->w1), N, C, C);
        /* Y = LN2(xm) */
        memset(m->dQ, 0, NC * sizeof(float));
        sq_nn_layernorm_backward(m->dQ, sq_nn_pgrad(p, I->ln2_w), sq_nn_pgrad(p, I->ln2_b), m->dY,
                                 A->xm, sq_nn_param(p, I->ln2_w), A->m2, A->r2, N, C);
        /* xm = Q + out_proj(a): dQ holds d xm, which is also d Q's residual share */
        memset(m->da, 0, NC * sizeof(float));
        sq_nn_linear_backward(m->da, sq_nn_pgrad(p, I->out_w), sq_nn_pgrad(p, I->out_b), m->dQ,
                              A->a, sq_nn_param(p, I->out_w), N, C, C);
        sq_nn_attention_backward(m->dq, m->dk, m->dv, m->da, A->att, A->att_drop, A->q, A->k,
                                 A->v, b->seq_off, b->n_seq, C, cfg->heads, 1, pd,
                                 site_seed(m->drop_seed, l, 1), m->att_scratch);
        sq_nn_linear_backward(m->dQ, dinw, dinb, m->dq, A->Q, inw, N, C, C);
        memset(m->dx, 0, NC * sizeof(float));
        sq_nn_linear_backward(m->dx, dinw + (size_t)C * C, dinb + C, m->dk, A->x,
                              inw + (size_t)C * C, N, C, C);
        sq_nn_linear_backward(m->dx, dinw + (size_t)2 * C * C, dinb + 2 * C, m->dv, A->x,
                              inw + (size_t)2 * C * C, N, C, C);
        /* Q = LN1(x) */
        sq_nn_layernorm_backward(m->dx, sq_nn_pgrad(p, I->ln1_w), sq_nn_pgrad(p, I->ln1_b), m->dQ,
                                 A->x, sq_nn_param(p, I->ln1_w), A->m1, A->r1, N, C);
    }
    /* input embeddings */
    sq_nn_dropout_backward(m->dx, m->dx, NC, pd, site_seed(m->drop_seed, -1, 0));
    sq_nn_embedding_backward(sq_nn_pgrad(p, m->item_emb), m->dx, b->item, N, C, sqrtf((float)C));
    sq_nn_embedding_backward(sq_nn_pgrad(p, m->pos_emb), m->dx, (const uint32_t *)b->pos, N, C,
                             1.0f);
    const sq__side_in in = sq__side_of(b);
    sq__side_backward(&m->side, &m->base, &in, N, m->dx);
}

static void backward(sq_model *mm, const sq_batch *b) {
    sasrec *m = (sasrec *)mm;
    memset(m->dh, 0, (size_t)b->seq_off[b->n_seq] * m->base.cfg.dim * sizeof(float));
    loss_and_grad(m, b, m->dh);
    backward_from_dh(m, b);
}

/* rep (n_seq, C) = h at the last row of each sequence (zeros for an empty one) */
static void encode_op(sq_model *mm, const sq_batch *b, int train, float *rep) {
    sasrec *m = (sasrec *)mm;
    encode(m, b, train);
    sq_nn_gather_last(rep, m->h, b->seq_off, b->n_seq, m->base.cfg.dim);
}

static void encode_backward(sq_model *mm, const sq_batch *b, const float *drep) {
    sasrec *m = (sasrec *)mm;
    sq_nn_scatter_last(m->dh, drep, b->seq_off, b->n_seq, m->base.cfg.dim);
    backward_from_dh(m, b);
}

static void score(sq_model *mm, const sq_batch *b, float *scores) {
    sasrec *m = (sasrec *)mm;
    const sq_model_config *cfg = &m->base.cfg;
    const int C = cfg->dim;
    encode_op(mm, b, 0, m->gather);
    /* scores (n_seq, V) = gather . E^T : as a linear layer with V outputs, row-parallel */
    sq_nn_linear_forward(scores, m->gather, sq_nn_param(&m->base.params, m->item_emb), NULL,
                         b->n_seq, C, cfg->n_items);
}

const sq_model_ops sq_sasrec_ops = {
    .name = "sasrec",
    .create = create,
    .forward = forward,
    .backward = backward,
    .score = score,
    .destroy = destroy,
    .encode = encode_op,
    .encode_backward = encode_backward,
    .output_table = "item_emb.weight",
};
