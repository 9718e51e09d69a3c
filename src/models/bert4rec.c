/* BERT4Rec (Sun et al., CIKM 2019) over packed sequences.
 *
 * Encoder (post-LN Transformer, as BERT and the official BERT4Rec code):
 *   x = drop(LN_emb(E[tok] + P[pos] (+ side embeddings, features.c; none on [mask] tokens,
 *                                       which would leak the hidden event's behaviour,
 *                                       category, price or time)))
 *   per block:  x1 = LN1(x + drop(MHA(x)))      bidirectional within each sequence
 *               x  = LN2(x1 + drop(W2 gelu(W1 x1 + b1) + b2))      (inner size 4C)
 * Head (BERT's masked-LM head):
 *   t = LN_h(gelu(W_t h + b_t));  logits = t . E[0..V) + o      (input embeddings tied)
 * with the per-item output bias o when cfg.output_bias (the paper and the preset; without
 * it, item popularity can only live in the embeddings' norms and their angle to LN_h's
 * beta). The bias needs the full cross-entropy: --loss shared has no bias term.
 *
 * Training (Cloze). A training batch row j of sequence s holds input event j and target
 * j+1 (model.h); the model rebuilds the whole sequence item[r0..r1) + target[r1-1] and masks
 * each token with probability cfg.mask_prob using sq_nn_hash_uniform(batch seed, token
 * index) (always [mask], as the official code); a sequence with no masked token gets its
 * last one masked, so that every sequence contributes. With probability cfg.mask_last a
 * sequence is masked at its last token only (the official code's force-last instances: the
 * recommendation task itself, which random Cloze masks rarely pose). Loss: mean softmax
 * cross-entropy over the masked tokens: over the full catalogue (--loss ce, the paper), or
 * (--loss shared) over the batch's masked targets plus cfg.negatives uniform items shared
 * by all rows.
 * Recommendation: the sequence's events followed by [mask]; the scores at the [mask].
 * Positions are right-aligned: token j of a T-token sequence has position maxlen + 1 - T + j
 * (the table has maxlen + 1 rows: maxlen events plus the appended [mask]).
 *
 * The encoder is exposed for fine-tuning through include/shopseq/bert4rec.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/bert4rec.h"
#include "models/features.h"
#include "models/shared_loss.h"
#include "shopseq/model.h"

typedef struct {
    int in_w, in_b, out_w, out_b, ln1_w, ln1_b, w1, b1, w2, b2, ln2_w, ln2_b;
} block_ix;

typedef struct {
    float *x, *q, *k, *v, *att, *att_drop, *a, *r1, *m1, *s1, *x1, *f1, *g1, *r2, *m2, *s2;
} block_act;

typedef struct {
    sq_model base;
    int C, B, H, V, maxpos;
    int item_emb, pos_emb, eln_w, eln_b, ht_w, ht_b, hln_w, hln_b;
    int out_b; /* head.out_bias, or -1 without cfg.output_bias */
    sq__side side;
    block_ix *bix;
    block_act *act;
    float *arena;
    size_t max_rows;
    /* token batch */
    uint32_t *tok;
    int *pos, *seq_off, *mrow;
    uint8_t *beh, *gap;
    uint32_t *mtgt;
    int n_seq, N, M;
    sq__side_in side_in; /* of the last encode */
    /* activations */
    float *e0, *me, *se, *xout;
    float *hsel, *t1, *t2, *t3, *mh, *sh;
    /* backward */
    float *dx, *dr, *dx1, *df, *dg1, *da, *dq, *dk, *dv, *dt, *dhs, *att_scratch, *ce_scratch;
    sq__shared_buf shared;
    uint64_t drop_seed, loss_seed;
    float pd; /* dropout of the last encode */
} bert;

static void destroy(sq_model *mm) {
    bert *m = (bert *)mm;
    if (!m) return;
    sq_nn_params_free(&m->base.params);
    sq__shared_free(&m->shared);
    free(m->bix);
    free(m->act);
    free(m->arena);
    free(m->tok);
    free(m->pos);
    free(m->seq_off);
    free(m->mrow);
    free(m->beh);
    free(m->gap);
    free(m->mtgt);
    free(m);
}

static int add(sq_nn_params *p, const char *name, int64_t a, int64_t b) {
    int64_t shape[2] = {a, b};
    return sq_nn_params_add(p, name, b ? 2 : 1, shape);
}

static sq_status create(sq_model **out, const sq_model_config *cfg, sq_error *err) {
    *out = NULL;
    const int C = cfg->dim, B = cfg->blocks, H = cfg->heads;
    if (C <= 0 || B < 1 || H <= 0 || C % H || cfg->maxlen <= 0 || cfg->n_items <= 0 ||
        cfg->batch <= 0 || cfg->dropout < 0.0f || cfg->dropout >= 1.0f ||
        cfg->mask_prob < 0.0f || cfg->mask_prob > 1.0f || !(cfg->mask_last >= 0.0f) ||
        cfg->mask_last > 1.0f || cfg->output_bias < -1 || cfg->output_bias > 1)
        return sq_error_set(err, SQ_ERR_USAGE,
                            "bert4rec: bad config (dim %d a multiple of heads %d, blocks %d >= 1, "
                            "maxlen %d, items %d, batch %d, dropout %g, mask_prob %g, "
                            "mask_last %g, output_bias %d)",
                            C, H, B, cfg->maxlen, cfg->n_items, cfg->batch, (double)cfg->dropout,
                            (double)cfg->mask_prob, (double)cfg->mask_last, cfg->output_bias);
    if (cfg->loss != SQ_LOSS_CE && cfg->loss != SQ_LOSS_SHARED)
        return sq_error_set(err, SQ_ERR_USAGE, "bert4rec: --loss must be ce or shared");
    if (cfg->output_bias == 1 && cfg->loss != SQ_LOSS_CE)
        return sq_error_set(err, SQ_ERR_USAGE,
                            "bert4rec: the output bias needs --loss ce (give --output-bias 0 "
                            "for --loss shared)");
    bert *m = calloc(1, sizeof *m);
    if (!m) return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    m->base.ops = &sq_bert4rec_ops;
    m->base.cfg = *cfg;
    if (m->base.cfg.mask_prob == 0.0f) m->base.cfg.mask_prob = 0.2f;
    if (cfg->output_bias < 0) m->base.cfg.output_bias = cfg->loss == SQ_LOSS_CE;
    m->C = C, m->B = B, m->H = H, m->V = cfg->n_items, m->maxpos = cfg->maxlen + 1;
    sq_nn_params *p = &m->base.params;
    m->bix = calloc((size_t)B, sizeof *m->bix);
    m->act = calloc((size_t)B, sizeof *m->act);
    if (!m->bix || !m->act) goto nomem;
    int bad = 0;
    m->item_emb = add(p, "item_emb.weight", cfg->n_items + 1, C);
    m->pos_emb = add(p, "pos_emb.weight", m->maxpos, C);
    sq_status sst = sq__side_add(&m->side, p, cfg, err);
    if (sst != SQ_OK) {
        destroy(&m->base);
        return sst;
    }
    m->eln_w = add(p, "emb_ln.weight", C, 0);
    m->eln_b = add(p, "emb_ln.bias", C, 0);
    bad |= m->item_emb < 0 || m->pos_emb < 0 || m->eln_b < 0;
    for (int l = 0; l < B; l++) {
        char n[64];
        block_ix *I = &m->bix[l];
#define P(field, suffix, a, b)                          \
    snprintf(n, sizeof n, "blocks.%d.%s", l, suffix);   \
    I->field = add(p, n, a, b);                         \
    bad |= I->field < 0;
        P(in_w, "attn.in_proj_weight", 3 * C, C);
        P(in_b, "attn.in_proj_bias", 3 * C, 0);
        P(out_w, "attn.out_proj.weight", C, C);
        P(out_b, "attn.out_proj.bias", C, 0);
        P(ln1_w, "ln1.weight", C, 0);
        P(ln1_b, "ln1.bias", C, 0);
        P(w1, "ffn.w1.weight", 4 * C, C);
        P(b1, "ffn.w1.bias", 4 * C, 0);
        P(w2, "ffn.w2.weight", C, 4 * C);
        P(b2, "ffn.w2.bias", C, 0);
        P(ln2_w, "ln2.weight", C, 0);
        P(ln2_b, "ln2.bias", C, 0);
#undef P
    }
    m->ht_w = add(p, "head.dense.weight", C, C);
    m->ht_b = add(p, "head.dense.bias", C, 0);
    m->hln_w = add(p, "head.ln.weight", C, 0);
    m->hln_b = add(p, "head.ln.bias", C, 0);
    const int with_bias = m->base.cfg.output_bias;
    m->out_b = with_bias ? add(p, "head.out_bias", cfg->n_items, 0) : -1;
    if (bad || m->hln_b < 0 || (with_bias && m->out_b < 0)) goto nomem;
    if (sq_nn_params_alloc(p, err) != SQ_OK) {
        destroy(&m->base);
        return SQ_ERR_NOMEM;
    }
    /* init: truncated-normal-like N(0, 0.02) clipped at 2 sd (BERT), LN weight 1, biases 0 */
    sq_nn_rng r;
    sq_nn_rng_seed(&r, cfg->seed);
    for (int i = 0; i < p->n; i++) {
        sq_nn_tensor *t = &p->t[i];
        float *w = p->data + t->offset;
        if (t->ndim == 2)
            for (size_t j = 0; j < t->numel; j++) {
                float z;
                do z = sq_nn_rng_normal(&r);
                while (fabsf(z) > 2.0f);
                w[j] = 0.02f * z;
            }
        else if (strstr(t->name, "ln") && strstr(t->name, ".weight"))
            for (size_t j = 0; j < t->numel; j++) w[j] = 1.0f;
    }
    /* activations for batch * (maxlen + 1) token rows */
    const size_t N = (size_t)cfg->batch * m->maxpos, NC = N * C;
    size_t att = 0; /* worst case: every sequence maxpos tokens long */
    att = (size_t)cfg->batch * m->maxpos * m->maxpos * H;
    const int nt = sq_nn_threads();
    m->max_rows = N;
    const size_t per_block = NC * 8 + 2 * (NC * 4) + 4 * N + att * (cfg->dropout > 0 ? 2 : 1);
    const size_t total = (size_t)B * per_block + NC * 2 + 2 * N + NC * 4 + 2 * N + NC * 9 +
                         NC * 4 + NC * 2 + (size_t)nt * sq_nn_attention_scratch_size(m->maxpos) +
                         sq_nn_ce_scratch_size(cfg->n_items);
    m->arena = malloc(total * sizeof(float));
    m->tok = malloc(N * sizeof *m->tok);
    m->pos = malloc(N * sizeof *m->pos);
    m->seq_off = malloc(((size_t)cfg->batch + 1) * sizeof *m->seq_off);
    m->mrow = malloc(N * sizeof *m->mrow);
    m->beh = malloc(N);
    m->gap = malloc(N);
    m->mtgt = malloc(N * sizeof *m->mtgt);
    if (!m->arena || !m->tok || !m->pos || !m->seq_off || !m->mrow || !m->beh || !m->gap || !m->mtgt) {
        destroy(&m->base);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory for %zu MB of activations",
                            total * sizeof(float) >> 20);
    }
    float *a = m->arena;
#define TAKE(ptr, n) (ptr = a, a += (n))
    for (int l = 0; l < B; l++) {
        block_act *A = &m->act[l];
        TAKE(A->x, NC); TAKE(A->q, NC); TAKE(A->k, NC); TAKE(A->v, NC); TAKE(A->a, NC);
        TAKE(A->r1, NC); TAKE(A->x1, NC); TAKE(A->r2, NC);
        TAKE(A->f1, NC * 4); TAKE(A->g1, NC * 4);
        TAKE(A->m1, N); TAKE(A->s1, N); TAKE(A->m2, N); TAKE(A->s2, N);
        TAKE(A->att, att);
        A->att_drop = NULL;
        if (cfg->dropout > 0) TAKE(A->att_drop, att);
    }
    TAKE(m->e0, NC); TAKE(m->xout, NC); TAKE(m->me, N); TAKE(m->se, N);
    TAKE(m->hsel, NC); TAKE(m->t1, NC); TAKE(m->t2, NC); TAKE(m->t3, NC);
    TAKE(m->mh, N); TAKE(m->sh, N);
    TAKE(m->dx, NC); TAKE(m->dr, NC); TAKE(m->dx1, NC); TAKE(m->df, NC); TAKE(m->da, NC);
    TAKE(m->dq, NC); TAKE(m->dk, NC); TAKE(m->dv, NC); TAKE(m->dt, NC);
    TAKE(m->dg1, NC * 4);
    TAKE(m->dhs, NC * 2);
    TAKE(m->att_scratch, (size_t)nt * sq_nn_attention_scratch_size(m->maxpos));
    TAKE(m->ce_scratch, sq_nn_ce_scratch_size(cfg->n_items));
#undef TAKE
    *out = &m->base;
    return SQ_OK;
nomem:
    destroy(&m->base);
    return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
}

static uint64_t site_seed(uint64_t base, int layer, int site) {
    return base ^ ((uint64_t)(layer + 2) * 0x9E3779B97F4A7C15ull) ^
           ((uint64_t)(site + 1) * 0xC2B2AE3D27D4EB4Full);
}

int sq_bert4rec_mask_token(const sq_model *m) { return m->cfg.n_items; }

const float *sq_bert4rec_encode(sq_model *mm, int n_seq, const int *seq_off, const uint32_t *tok,
                                const int *pos, const uint8_t *beh, const uint8_t *gap, int train,
                                uint64_t seed) {
    bert *m = (bert *)mm;
    const sq_model_config *cfg = &m->base.cfg;
    const sq_nn_params *p = &m->base.params;
    const int C = m->C, N = seq_off[n_seq];
    const float pd = train ? cfg->dropout : 0.0f;
    m->pd = pd;
    m->drop_seed = seed;
    m->n_seq = n_seq;
    m->N = N;
    if (seq_off != m->seq_off) memcpy(m->seq_off, seq_off, ((size_t)n_seq + 1) * sizeof *seq_off);
    if (tok != m->tok) memcpy(m->tok, tok, (size_t)N * sizeof *tok);
    if (pos != m->pos) memcpy(m->pos, pos, (size_t)N * sizeof *pos);
    /* side inputs are kept (copied) for the backward */
    if (beh && beh != m->beh) memcpy(m->beh, beh, (size_t)N);
    if (gap && gap != m->gap) memcpy(m->gap, gap, (size_t)N);
    m->side_in = (sq__side_in){m->tok, beh ? m->beh : NULL, gap ? m->gap : NULL};
    sq_nn_embedding_forward(m->e0, m->tok, sq_nn_param(p, m->item_emb), N, C, 1.0f);
    sq_nn_embedding_add_forward(m->e0, (const uint32_t *)m->pos, sq_nn_param(p, m->pos_emb), N, C);
    sq__side_forward(&m->side, &m->base, &m->side_in, N, m->e0); /* skips [mask] tokens */
    float *x = m->act[0].x;
    sq_nn_layernorm_forward(x, m->me, m->se, m->e0, sq_nn_param(p, m->eln_w),
                            sq_nn_param(p, m->eln_b), N, C, cfg->ln_eps);
    sq_nn_dropout_forward(x, x, (size_t)N * C, pd, site_seed(seed, -1, 0));
    for (int l = 0; l < m->B; l++) {
        block_act *A = &m->act[l];
        const block_ix *I = &m->bix[l];
        const float *inw = sq_nn_param(p, I->in_w), *inb = sq_nn_param(p, I->in_b);
        sq_nn_linear_forward(A->q, A->x, inw, inb, N, C, C);
        sq_nn_linear_forward(A->k, A->x, inw + (size_t)C * C, inb + C, N, C, C);
        sq_nn_linear_forward(A->v, A->x, inw + (size_t)2 * C * C, inb + 2 * C, N, C, C);
        sq_nn_attention_forward(A->a, A->att, A->att_drop, A->q, A->k, A->v, m->seq_off, n_seq, C,
                                m->H, 0, pd, site_seed(seed, l, 1));
        sq_nn_linear_forward(A->r1, A->a, sq_nn_param(p, I->out_w), sq_nn_param(p, I->out_b), N, C,
                             C);
        sq_nn_dropout_forward(A->r1, A->r1, (size_t)N * C, pd, site_seed(seed, l, 2));
        sq_nn_add(A->r1, A->x, (size_t)N * C);
        sq_nn_layernorm_forward(A->x1, A->m1, A->s1, A->r1, sq_nn_param(p, I->ln1_w),
                                sq_nn_param(p, I->ln1_b), N, C, cfg->ln_eps);
        sq_nn_linear_forward(A->f1, A->x1, sq_nn_param(p, I->w1), sq_nn_param(p, I->b1), N, C,
                             4 * C);
        sq_nn_gelu_forward(A->g1, A->f1, (size_t)N * 4 * C);
        sq_nn_linear_forward(A->r2, A->g1, sq_nn_param(p, I->w2), sq_nn_param(p, I->b2), N, 4 * C,
                             C);
        sq_nn_dropout_forward(A->r2, A->r2, (size_t)N * C, pd, site_seed(seed, l, 3));
        sq_nn_add(A->r2, A->x1, (size_t)N * C);
        float *xn = l + 1 < m->B ? m->act[l + 1].x : m->xout;
        sq_nn_layernorm_forward(xn, A->m2, A->s2, A->r2, sq_nn_param(p, I->ln2_w),
                                sq_nn_param(p, I->ln2_b), N, C, cfg->ln_eps);
    }
    return m->xout;
}

void sq_bert4rec_encoder_backward(sq_model *mm, const float *dh) {
    bert *m = (bert *)mm;
    const sq_nn_params *p = &m->base.params;
    const int C = m->C, N = m->N;
    const size_t NC = (size_t)N * C;
    const float pd = m->pd;
    const uint64_t seed = m->drop_seed;
    memcpy(m->dx, dh, NC * sizeof(float));
    for (int l = m->B - 1; l >= 0; l--) {
        block_act *A = &m->act[l];
        const block_ix *I = &m->bix[l];
        /* x_out = LN2(r2), r2 = x1 + drop(W2 g1 + b2) */
        memset(m->dr, 0, NC * sizeof(float));
        sq_nn_layernorm_backward(m->dr, sq_nn_pgrad(p, I->ln2_w), sq_nn_pgrad(p, I->ln2_b), m->dx,
                                 A->r2, sq_nn_param(p, I->ln2_w), A->m2, A->s2, N, C);
        memcpy(m->dx1, m->dr, NC * sizeof(float));
        sq_nn_dropout_backward(m->df, m->dr, NC, pd, site_seed(seed, l, 3));
        memset(m->dg1, 0, NC * 4 * sizeof(float));
        sq_nn_linear_backward(m->dg1, sq_nn_pgrad(p, I->w2), sq_nn_pgrad(p, I->b2), m->df, A->g1,
                              sq_nn_param(p, I->w2), N, 4 * C, C);
        sq_nn_gelu_backward(m->dg1, m->dg1, A->f1, NC * 4);
        sq_nn_linear_backward(m->dx1, sq_nn_pgrad(p, I->w1), sq_nn_pgrad(p, I->b1), m->dg1, A->x1,
                              sq_nn_param(p, I->w1), N, C, 4 * C);
        /* x1 = LN1(r1), r1 = x + drop(out_proj(a)) */
        memset(m->dr, 0, NC * sizeof(float));
        sq_nn_layernorm_backward(m->dr, sq_nn_pgrad(p, I->ln1_w), sq_nn_pgrad(p, I->ln1_b), m->dx1,
                                 A->r1, sq_nn_param(p, I->ln1_w), A->m1, A->s1, N, C);
        memcpy(m->dx, m->dr, NC * sizeof(float));
        sq_nn_dropout_backward(m->df, m->dr, NC, pd, site_seed(seed, l, 2));
        memset(m->da, 0, NC * sizeof(float));
        sq_nn_linear_backward(m->da, sq_nn_pgrad(p, I->out_w), sq_nn_pgrad(p, I->out_b), m->df,
                              A->a, sq_nn_param(p, I->out_w), N, C, C);
        sq_nn_attention_backward(m->dq, m->dk, m->dv, m->da, A->att, A->att_drop, A->q, A->k, A->v,
                                 m->seq_off, m->n_seq, C, m->H, 0, pd, site_seed(seed, l, 1),
                                 m->att_scratch);
        const float *inw = sq_nn_param(p, I->in_w);
        float *dinw = sq_nn_pgrad(p, I->in_w), *dinb = sq_nn_pgrad(p, I->in_b);
        sq_nn_linear_backward(m->dx, dinw, dinb, m->dq, A->x, inw, N, C, C);
        sq_nn_linear_backward(m->dx, dinw + (size_t)C * C, dinb + C, m->dk, A->x,
                              inw + (size_t)C * C, N, C, C);
        sq_nn_linear_backward(m->dx, dinw + (size_t)2 * C * C, dinb + 2 * C, m->dv, A->x,
                              inw + (size_t)2 * C * C, N, C, C);
    }
    /* x = drop(LN_emb(e0)) */
    sq_nn_dropout_backward(m->dx, m->dx, NC, pd, site_seed(seed, -1, 0));
    memset(m->dr, 0, NC * sizeof(float));
    sq_nn_layernorm_backward(m->dr, sq_nn_pgrad(p, m->eln_w), sq_nn_pgrad(p, m->eln_b), m->dx,
                             m->e0, sq_nn_param(p, m->eln_w), m->me, m->se, N, C);
    sq_nn_embedding_backward(sq_nn_pgrad(p, m->item_emb), m->dr, m->tok, N, C, 1.0f);
    sq_nn_embedding_backward(sq_nn_pgrad(p, m->pos_emb), m->dr, (const uint32_t *)m->pos, N, C,
                             1.0f);
    sq__side_backward(&m->side, &m->base, &m->side_in, N, m->dr);
}

enum { MASK_LAST_STREAM = 0x5bd1e995 };

/* Builds the token batch from a model batch: with targets (training), the whole sequences
 * with Cloze masking; without, the events followed by [mask]. Fills mrow/mtgt (M). */
static void build_tokens(bert *m, const sq_batch *b, int train) {
    const int maxpos = m->maxpos;
    const float rho = m->base.cfg.mask_prob;
    int t = 0, M = 0;
    m->seq_off[0] = 0;
    for (int s = 0; s < b->n_seq; s++) {
        const int r0 = b->seq_off[s], r1 = b->seq_off[s + 1];
        int L = r1 - r0;
        if (L > maxpos - 1) L = maxpos - 1; /* keep the last maxlen events */
        const int first = r1 - L, T = L + 1, M0 = M;
        /* a force-last sequence: only the appended target is masked (its own hash stream,
         * so the Cloze draws of other sequences do not move) */
        const int last_only = train && b->target && L > 0 && m->base.cfg.mask_last > 0.0f &&
                              sq_nn_hash_uniform(b->seed ^ MASK_LAST_STREAM, (uint64_t)s) <
                                  m->base.cfg.mask_last;
        for (int j = 0; j < T; j++, t++) {
            const int r = first + j;
            uint32_t item;
            if (j < L) item = b->item[r];
            else item = train && b->target ? b->target[r1 - 1] : (uint32_t)m->V;
            m->tok[t] = item;
            /* the appended target token's behaviour and time are not in the batch */
            m->beh[t] = j < L && b->behavior ? b->behavior[r] : 0;
            m->gap[t] = j < L && b->gap ? b->gap[r] : 0;
            m->pos[t] = maxpos - T + j;
            if (train && b->target && L > 0 && !last_only &&
                sq_nn_hash_uniform(b->seed, (uint64_t)t) < rho) {
                m->mrow[M] = t;
                m->mtgt[M++] = item;
                m->tok[t] = (uint32_t)m->V;
            }
        }
        if (train && b->target && L > 0 && M == M0) { /* nothing masked: the last token */
            m->mrow[M] = t - 1;
            m->mtgt[M++] = m->tok[t - 1];
            m->tok[t - 1] = (uint32_t)m->V;
        }
        if (!train || !b->target) m->mrow[M++] = t - 1; /* the appended [mask] */
        m->seq_off[s + 1] = t;
    }
    m->M = M;
}

/* head on the M selected rows: t3 = LN_h(gelu(W_t h + b_t)) */
static void head_forward(bert *m, const float *h) {
    const sq_nn_params *p = &m->base.params;
    const int C = m->C, M = m->M;
    for (int i = 0; i < M; i++)
        memcpy(m->hsel + (size_t)i * C, h + (size_t)m->mrow[i] * C, (size_t)C * sizeof(float));
    sq_nn_linear_forward(m->t1, m->hsel, sq_nn_param(p, m->ht_w), sq_nn_param(p, m->ht_b), M, C, C);
    sq_nn_gelu_forward(m->t2, m->t1, (size_t)M * C);
    sq_nn_layernorm_forward(m->t3, m->mh, m->sh, m->t2, sq_nn_param(p, m->hln_w),
                            sq_nn_param(p, m->hln_b), M, C, m->base.cfg.ln_eps);
}

/* over the masked rows: t3 (M, C) against the tied item embeddings */
static double loss(bert *m, float *dt3) {
    const sq_nn_params *p = &m->base.params;
    float *dE = dt3 ? sq_nn_pgrad(p, m->item_emb) : NULL;
    if (m->base.cfg.loss == SQ_LOSS_SHARED)
        return sq__shared_loss(&m->shared, dt3, dE, m->t3, sq_nn_param(p, m->item_emb), m->mtgt,
                               m->M, m->C, m->V, m->base.cfg.negatives, m->loss_seed);
    const float *ob = m->out_b >= 0 ? sq_nn_param(p, m->out_b) : NULL;
    float *dob = dt3 && m->out_b >= 0 ? sq_nn_pgrad(p, m->out_b) : NULL;
    return sq_nn_ce_full_bias(dt3, dE, dob, m->t3, sq_nn_param(p, m->item_emb), ob, m->mtgt,
                              m->M, m->V, m->C, 1.0f, m->ce_scratch, &m->base.loss_ws);
}

static double run(bert *m, const sq_batch *b, int train) {
    build_tokens(m, b, 1);
    const float *h = sq_bert4rec_encode(&m->base, b->n_seq, m->seq_off, m->tok, m->pos,
                                        b->behavior ? m->beh : NULL, b->gap ? m->gap : NULL, train,
                                        b->seed);
    head_forward(m, h);
    m->loss_seed = b->seed ^ 0x7F4A7C15F39CC060ull;
    return loss(m, NULL);
}

static double forward(sq_model *mm, const sq_batch *b, int train) {
    bert *m = (bert *)mm;
    if (!b->target) return 0.0;
    return run(m, b, train);
}

/* Backpropagates m->dt (M, C), the gradient at the head output t3 of the selected rows,
 * through the head and the encoder into params.grad. */
static void backward_from_t3(bert *m) {
    const sq_nn_params *p = &m->base.params;
    const int C = m->C, M = m->M;
    const size_t MC = (size_t)M * C;
    float *dt3 = m->dt, *dt2 = m->dhs;
    memset(dt2, 0, MC * sizeof(float));
    sq_nn_layernorm_backward(dt2, sq_nn_pgrad(p, m->hln_w), sq_nn_pgrad(p, m->hln_b), dt3, m->t2,
                             sq_nn_param(p, m->hln_w), m->mh, m->sh, M, C);
    sq_nn_gelu_backward(dt2, dt2, m->t1, MC);
    float *dh = m->dx1; /* (N, C) gradient at the encoder output, zero off the masked rows */
    float *dhs = dt3;   /* reuse: (M, C) */
    memset(dhs, 0, MC * sizeof(float));
    sq_nn_linear_backward(dhs, sq_nn_pgrad(p, m->ht_w), sq_nn_pgrad(p, m->ht_b), dt2, m->hsel,
                          sq_nn_param(p, m->ht_w), M, C, C);
    memset(dh, 0, (size_t)m->N * C * sizeof(float));
    for (int i = 0; i < M; i++) {
        float *d = dh + (size_t)m->mrow[i] * C;
        const float *g = dhs + (size_t)i * C;
        for (int c = 0; c < C; c++) d[c] += g[c];
    }
    /* the encoder backward reuses dx1 as scratch: hand it a copy */
    memcpy(m->dt, dh, (size_t)m->N * C * sizeof(float));
    sq_bert4rec_encoder_backward(&m->base, m->dt);
}

static void backward(sq_model *mm, const sq_batch *b) {
    bert *m = (bert *)mm;
    (void)b;
    memset(m->dt, 0, (size_t)m->M * m->C * sizeof(float));
    loss(m, m->dt);
    backward_from_t3(m);
}

/* The events followed by [mask] (as score), encoded; rep = the head output at the [mask].
 * In training mode dropout applies but no token is masked: the Cloze objective is the
 * pre-training's, the task head's loss is the caller's. */
static void encode_op(sq_model *mm, const sq_batch *b, int train, float *rep) {
    bert *m = (bert *)mm;
    build_tokens(m, b, 0);
    const float *h = sq_bert4rec_encode(&m->base, b->n_seq, m->seq_off, m->tok, m->pos,
                                        b->behavior ? m->beh : NULL, b->gap ? m->gap : NULL, train,
                                        train ? b->seed : 0);
    head_forward(m, h);
    memcpy(rep, m->t3, (size_t)m->M * m->C * sizeof(float)); /* M = n_seq rows */
}

static void encode_backward(sq_model *mm, const sq_batch *b, const float *drep) {
    bert *m = (bert *)mm;
    (void)b;
    memcpy(m->dt, drep, (size_t)m->M * m->C * sizeof(float));
    backward_from_t3(m);
}

static void score(sq_model *mm, const sq_batch *b, float *scores) {
    bert *m = (bert *)mm;
    build_tokens(m, b, 0);
    const float *h = sq_bert4rec_encode(&m->base, b->n_seq, m->seq_off, m->tok, m->pos,
                                        b->behavior ? m->beh : NULL, b->gap ? m->gap : NULL, 0, 0);
    head_forward(m, h);
    const sq_nn_params *p = &m->base.params;
    sq_nn_linear_forward(scores, m->t3, sq_nn_param(p, m->item_emb),
                         m->out_b >= 0 ? sq_nn_param(p, m->out_b) : NULL, m->M, m->C, m->V);
}

const sq_model_ops sq_bert4rec_ops = {.name = "bert4rec", .create = create, .forward = forward,
                                      .backward = backward, .score = score, .destroy = destroy,
                                      .encode = encode_op, .encode_backward = encode_backward,
                                      .output_table = "item_emb.weight",
                                      .output_bias = "head.out_bias"};
