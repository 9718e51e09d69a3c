/* The neural engine: layers as forward/backward pairs over plain float arrays.
 *
 * Conventions (llm.c style)
 * - Shapes are given in comments as (N, C): N rows (tokens), C channels, row-major.
 * - Sequences are *packed*: no padding is ever stored or computed. A batch of n_seq
 *   sequences is one (N, C) array; sequence s owns rows [seq_off[s], seq_off[s+1]).
 * - `x_forward(out, cache..., in, weights..., dims)` overwrites out and its caches.
 * - `x_backward(din, dweights..., dout, cache..., dims)`: weight gradients ACCUMULATE
 *   (+=); input gradients are documented per function (most accumulate too, so that a
 *   residual branch can add into the same buffer).
 * - Parallelism: our own OpenMP loops, each thread owning whole output rows (or whole
 *   weight rows / columns for weight gradients), BLAS single-threaded inside
 *   (sq_nn_init). Reductions run in a fixed order: results are deterministic for a given
 *   seed and thread count.
 * - Randomness: sq_nn_rng (xoshiro256**) for sampling; dropout masks come from a
 *   counter-based hash of (seed, element index), so forward and backward regenerate the
 *   same mask without storing it, independent of the thread count.
 */
#ifndef SHOPSEQ_NN_H
#define SHOPSEQ_NN_H

#include <stddef.h>
#include <stdint.h>

#include "shopseq/status.h"

/* Sets BLAS to one thread (we parallelise ourselves) and OpenMP to `threads` (0 = leave
 * the OpenMP default). Call once before using the engine. */
void sq_nn_init(int threads);
int sq_nn_threads(void);

/* ---- randomness ---- */
typedef struct sq_nn_rng {
    uint64_t s[4];
} sq_nn_rng;

void sq_nn_rng_seed(sq_nn_rng *r, uint64_t seed);
uint64_t sq_nn_rng_next(sq_nn_rng *r);
float sq_nn_rng_uniform(sq_nn_rng *r);             /* [0, 1) */
uint32_t sq_nn_rng_below(sq_nn_rng *r, uint32_t n); /* [0, n), unbiased */
float sq_nn_rng_normal(sq_nn_rng *r);
/* Counter-based uniform in [0, 1) for element i of stream `seed` (splitmix64 finaliser).
 * Inline: dropout calls it once per element. */
static inline float sq_nn_hash_uniform(uint64_t seed, uint64_t i) {
    uint64_t z = (seed ^ (i * 0xD1B54A32D192ED03ull)) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (float)((z ^ (z >> 31)) >> 40) * 0x1.0p-24f;
}

/* ---- parameters: one contiguous buffer (and grad, AdamW m and v alike) ---- */
typedef struct sq_nn_tensor {
    char name[64];
    int ndim;
    int64_t shape[4];
    size_t offset; /* in floats, into data/grad/m/v; 16-float aligned */
    size_t numel;
} sq_nn_tensor;

typedef struct sq_nn_params {
    sq_nn_tensor *t;
    int n, cap;
    size_t total; /* floats, including alignment gaps */
    float *data, *grad, *m, *v;
    int64_t step; /* AdamW steps taken */
} sq_nn_params;

/* Registers a tensor (before sq_nn_params_alloc); returns its index or -1 (no memory). */
int sq_nn_params_add(sq_nn_params *p, const char *name, int ndim, const int64_t *shape);
/* Allocates data, grad, m, v (zeroed). */
sq_status sq_nn_params_alloc(sq_nn_params *p, sq_error *err);
void sq_nn_params_free(sq_nn_params *p); /* accepts a zeroed p */
static inline float *sq_nn_param(const sq_nn_params *p, int i) { return p->data + p->t[i].offset; }
static inline float *sq_nn_pgrad(const sq_nn_params *p, int i) { return p->grad + p->t[i].offset; }
int sq_nn_params_find(const sq_nn_params *p, const char *name); /* -1 if absent */
void sq_nn_params_zero_grad(sq_nn_params *p);

/* A growable buffer that a caller keeps across calls of the kernels that need per-thread
 * room (sq_nn_ce_full, sq_nn_bprmax_shared), so that a training step allocates nothing:
 * it grows to the largest request and is released by sq_nn_ws_free. One per model, never
 * used by two calls at once; a zeroed struct is an empty workspace. */
typedef struct sq_nn_ws {
    void *p;
    size_t cap; /* bytes */
} sq_nn_ws;
/* 64-byte aligned room for `bytes` (contents undefined); NULL when out of memory. */
void *sq_nn_ws_get(sq_nn_ws *ws, size_t bytes);
void sq_nn_ws_free(sq_nn_ws *ws); /* accepts NULL */

typedef struct sq_nn_adamw {
    float lr, beta1, beta2, eps, weight_decay;
} sq_nn_adamw;
/* One AdamW step (PyTorch semantics, decoupled decay) over the whole buffer. */
void sq_nn_adamw_step(sq_nn_params *p, const sq_nn_adamw *opt);

/* ---- embedding (embedding.c) ----
 * out (N, C) = table[ids[i]] (* scale).  backward: dtable rows ids[i] += scale * dout[i]
 * (only touched rows are written: sparse rows into the dense gradient buffer). */
void sq_nn_embedding_forward(float *out, const uint32_t *ids, const float *table, int N, int C,
                             float scale);
/* out (N, C) += table[ids[i]] */
void sq_nn_embedding_add_forward(float *out, const uint32_t *ids, const float *table, int N,
                                 int C);
void sq_nn_embedding_backward(float *dtable, const float *dout, const uint32_t *ids, int N, int C,
                              float scale);

/* ---- linear (linear.c) ----  w (OC, IC) as in PyTorch, b (OC) or NULL.
 * out (N, OC) = in (N, IC) . w^T + b        (overwrites out)
 * din (N, IC) += dout . w   (if din),  dw += dout^T . in  (if dw; else in is not read),
 * db += sum_rows dout  (if db) */
void sq_nn_linear_forward(float *out, const float *in, const float *w, const float *b, int N,
                          int IC, int OC);
void sq_nn_linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w, int N, int IC, int OC);

/* ---- layernorm (layernorm.c) ----  mean, rstd (N) are caches.
 * din (N, C) += ..., dw, db += ... */
void sq_nn_layernorm_forward(float *out, float *mean, float *rstd, const float *in, const float *w,
                             const float *b, int N, int C, float eps);
void sq_nn_layernorm_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                              const float *w, const float *mean, const float *rstd, int N, int C);

/* ---- elementwise (activation.c) ---- in-place allowed for forward (out == in).
 * Backward: din = dout * f'(in), OVERWRITES din (din == dout allowed). */
void sq_nn_relu_forward(float *out, const float *in, size_t n);
void sq_nn_relu_backward(float *din, const float *dout, const float *in, size_t n);
/* GELU, tanh approximation (PyTorch approximate="tanh"). */
void sq_nn_gelu_forward(float *out, const float *in, size_t n);
void sq_nn_gelu_backward(float *din, const float *dout, const float *in, size_t n);
/* Inverted dropout with probability p; mask from (seed, index). p == 0: copy.
 * Backward OVERWRITES din (din == dout allowed). */
void sq_nn_dropout_forward(float *out, const float *in, size_t n, float p, uint64_t seed);
void sq_nn_dropout_backward(float *din, const float *dout, size_t n, float p, uint64_t seed);
/* x (N, C) *= row_mask?  (helpers) */
void sq_nn_add(float *y, const float *x, size_t n); /* y += x */
/* Packed sequences' last rows: out (n_seq, C) = x at each sequence's last row (zeros for an
 * empty sequence), and its adjoint, dx = 0 except dx[last row of s] = dout[s]. The
 * representation every model scores with and hands to task heads. */
void sq_nn_gather_last(float *out, const float *x, const int *seq_off, int n_seq, int C);
void sq_nn_scatter_last(float *dx, const float *dout, const int *seq_off, int n_seq, int C);

/* ---- multi-head self-attention core (attention.c) ----
 * q, k, v (N, C) already projected (C = H * hd); out (N, C) = softmax(q k^T / sqrt(hd)) v
 * per sequence and head. causal = 1: position i sees 0..i (the masked half is skipped);
 * causal = 0: bidirectional over the sequence's own rows (packing is the padding mask).
 * att: cache of probabilities, sq_nn_attention_cache_size(seq_off, n_seq, H) floats.
 * att_drop: the same size when dropout_p > 0 (post-dropout weights), else NULL.
 * Backward OVERWRITES dq, dk, dv. scratch: sq_nn_attention_scratch_size(maxL) floats per
 * thread (threads * that in total). */
size_t sq_nn_attention_cache_size(const int *seq_off, int n_seq, int H);
size_t sq_nn_attention_scratch_size(int max_len);
void sq_nn_attention_forward(float *out, float *att, float *att_drop, const float *q,
                             const float *k, const float *v, const int *seq_off, int n_seq, int C,
                             int H, int causal, float dropout_p, uint64_t seed);
void sq_nn_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *att,
                              const float *att_drop, const float *q, const float *k,
                              const float *v, const int *seq_off, int n_seq, int C, int H,
                              int causal, float dropout_p, uint64_t seed, float *scratch);

/* ---- losses (loss.c, ce_full.c) ----  h (N, C) hidden states, table (V, C) item embeddings used as
 * the output layer. Each returns the mean loss over the N rows; when dh != NULL it also
 * ACCUMULATES the gradient of that mean (times grad_scale) into dh (N, C) and dtable. */
/* Full softmax cross-entropy over V classes. scratch: sq_nn_ce_scratch_size(V) floats; ws:
 * the per-thread tiles (a few MB), kept across calls, or NULL (allocated for this call).
 * Returns NAN when out of memory. */
size_t sq_nn_ce_scratch_size(int V);
double sq_nn_ce_full(float *dh, float *dtable, const float *h, const float *table,
                    const uint32_t *target, int N, int V, int C, float grad_scale, float *scratch,
                    sq_nn_ws *ws);
/* The same with a per-item output bias: logit(i, v) = h[i] . table[v] + bias[v]; when dh !=
 * NULL, dbias (V) accumulates too. bias NULL: sq_nn_ce_full. */
double sq_nn_ce_full_bias(float *dh, float *dtable, float *dbias, const float *h,
                         const float *table, const float *bias, const uint32_t *target, int N,
                         int V, int C, float grad_scale, float *scratch, sq_nn_ws *ws);
/* Sampled softmax: classes {target, neg[i*K .. i*K+K)} per row, target first. */
double sq_nn_sampled_softmax(float *dh, float *dtable, const float *h, const float *table,
                            const uint32_t *target, const uint32_t *neg, int N, int K, int C,
                            float grad_scale);
/* BCE: -log s(h.t) - sum_j log(1 - s(h.n_j)), mean over rows (K = 1 is the SASRec loss). */
double sq_nn_bce_neg(float *dh, float *dtable, const float *h, const float *table,
                    const uint32_t *target, const uint32_t *neg, int N, int K, int C,
                    float grad_scale);

/* ---- recurrent layers (rnn.c) ----  PyTorch nn.GRU / nn.LSTM layouts and semantics:
 * w_ih (G*H, IC), w_hh (G*H, H), b_ih, b_hh (G*H); G = 3 for the GRU (gates r, z, n),
 * 4 for the LSTM (i, f, g, o). Packed sequences, zero initial state per sequence.
 * forward OVERWRITES out (N, H) and cache (sq_nn_{gru,lstm}_cache_size floats).
 * backward: dout (N, H) is the loss gradient at every output row; dx (N, IC) ACCUMULATES
 * (if dx), weight gradients ACCUMULATE; out, cache, x are the forward's; scratch:
 * sq_nn_{gru,lstm}_scratch_size floats. H <= SQ_NN_RNN_MAX_HIDDEN (each thread keeps its
 * recurrent gate row, 4H floats, on its stack: nothing to allocate, nothing to fail). */
#define SQ_NN_RNN_MAX_HIDDEN 4096
size_t sq_nn_gru_cache_size(int N, int H);
size_t sq_nn_gru_scratch_size(int N, int H);
void sq_nn_gru_forward(float *out, float *cache, const float *x, const float *w_ih,
                       const float *w_hh, const float *b_ih, const float *b_hh, const int *seq_off,
                       int n_seq, int IC, int H);
void sq_nn_gru_backward(float *dx, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                        const float *dout, const float *cache, const float *out, const float *x,
                        const float *w_ih, const float *w_hh, const int *seq_off, int n_seq,
                        int IC, int H, float *scratch);
size_t sq_nn_lstm_cache_size(int N, int H);
size_t sq_nn_lstm_scratch_size(int N, int H);
void sq_nn_lstm_forward(float *out, float *cache, const float *x, const float *w_ih,
                        const float *w_hh, const float *b_ih, const float *b_hh,
                        const int *seq_off, int n_seq, int IC, int H);
void sq_nn_lstm_backward(float *dx, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                         const float *dout, const float *cache, const float *out, const float *x,
                         const float *w_ih, const float *w_hh, const int *seq_off, int n_seq,
                         int IC, int H, float *scratch);

/* ---- one GRU step (gru_cell.c; nn.GRUCell) ----
 * N independent rows, row i from its own state h0[i] (h0 NULL: all zero): out (N, H) =
 * GRU(x (N, IC), h0). Layouts as the GRU above. forward OVERWRITES out and cache
 * (sq_nn_gru_cell_cache_size floats). backward: dx (N, IC) and dh0 (N, H) ACCUMULATE when
 * given (dh0 NULL: the step's gradient stops at h0, truncated BPTT), weight gradients
 * ACCUMULATE; scratch: sq_nn_gru_cell_scratch_size floats. */
size_t sq_nn_gru_cell_cache_size(int N, int H);
size_t sq_nn_gru_cell_scratch_size(int N, int H);
void sq_nn_gru_cell_forward(float *out, float *cache, const float *x, const float *h0,
                            const float *w_ih, const float *w_hh, const float *b_ih,
                            const float *b_hh, int N, int IC, int H);
void sq_nn_gru_cell_backward(float *dx, float *dh0, float *dw_ih, float *dw_hh, float *db_ih,
                             float *db_hh, const float *dout, const float *cache, const float *x,
                             const float *h0, const float *w_ih, const float *w_hh, int N, int IC,
                             int H, float *scratch);

/* ---- Conv1D + max-pool over time (conv.c) ----
 * in (N, L, C): N windows of L rows; w (F, K, C) (PyTorch Conv2d(1, F, (K, C)) weight),
 * b (F) or NULL. out (N, F) = max over t in [0, L-K] of b + sum_{j,c} w[f,j,c] in[n,t+j,c];
 * argmax (N, F) caches the winning t (the first on ties). forward OVERWRITES out, argmax.
 * backward: din (N, L, C) ACCUMULATES (if din), dw, db ACCUMULATE. */
void sq_nn_conv1d_maxpool_forward(float *out, int *argmax, const float *in, const float *w,
                                  const float *b, int N, int L, int C, int K, int F);
void sq_nn_conv1d_maxpool_backward(float *din, float *dw, float *db, const float *dout,
                                   const int *argmax, const float *in, const float *w, int N,
                                   int L, int C, int K, int F);

/* ---- shared-candidate softmax (loss_shared.c) ----
 * Cross-entropy of each row over one candidate set shared by the whole batch: cand[0..K)
 * distinct item ids, target_col[i] the column of row i's target. Returns the mean loss;
 * with dh, ACCUMULATES the gradient (times grad_scale) into dh (N, C) and dtable's
 * candidate rows. scratch: sq_nn_ce_shared_scratch_size(N, K, C) floats.
 * sq_nn_shared_candidates builds cand (room for N + n_samples) and target_col from the
 * batch's targets plus n_samples uniform draws from [0, V) (hash of seed), sorted and
 * deduplicated; returns K. With every item a candidate this is the full softmax. */
size_t sq_nn_ce_shared_scratch_size(int N, int K, int C);
double sq_nn_ce_shared(float *dh, float *dtable, const float *h, const float *table,
                       const uint32_t *cand, int K, const int *target_col, int N, int C,
                       float grad_scale, float *scratch);
int sq_nn_shared_candidates(uint32_t *cand, int *target_col, const uint32_t *target, int N,
                            int n_samples, int V, uint64_t seed);
/* The same softmax with every logit of column k lowered by col_logq[k] (NULL: none): the
 * logQ correction of sampled softmax (log of how likely the column was to be a candidate). */
double sq_nn_ce_shared_logq(float *dh, float *dtable, const float *h, const float *table,
                            const uint32_t *cand, int K, const int *target_col, int N, int C,
                            const float *col_logq, float grad_scale, float *scratch);
/* The same from given samples (e.g. drawn by popularity); cand has room for N + n_samples
 * and may hold the samples at cand + N already. */
int sq_nn_shared_candidates_given(uint32_t *cand, int *target_col, const uint32_t *target, int N,
                                  const uint32_t *samples, int n_samples);

/* ---- BPR-max over the shared candidates (loss_bprmax.c; Hidasi & Karatzoglou 2018) ----
 * Same candidate set, arguments and scratch as sq_nn_ce_shared; ws: per-thread rows (2K
 * floats a thread), kept across calls, or NULL (allocated for this call). Per row, with o_k =
 * ELU_elu(h . E[cand[k]]) (elu = 0: o_k = the raw score) and s_k the softmax of o over the
 * row's negatives (every candidate but target_col[i]):
 *   loss = -log(sum_k s_k sigmoid(o_t - o_k) + 1e-24) + bpreg * sum_k s_k o_k^2.
 * Returns the mean; with dh, ACCUMULATES the gradient (times grad_scale). A row with no
 * negative (K = 1) contributes 0; out of memory: NAN. */
double sq_nn_bprmax_shared(float *dh, float *dtable, const float *h, const float *table,
                           const uint32_t *cand, int K, const int *target_col, int N, int C,
                           float bpreg, float elu, float grad_scale, float *scratch, sq_nn_ws *ws);

#endif
