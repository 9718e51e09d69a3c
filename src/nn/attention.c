/* Multi-head self-attention core over packed sequences.
 *
 * One task per (sequence, head); a task owns its rows of out/dq and its rows of dk/dv, so
 * tasks run in any order on any thread with identical results. Causal attention works in
 * row blocks of ATT_BLOCK: block [r0, r1) only multiplies against keys [0, r1), which
 * skips (almost) the masked upper half of the score matrix. Padding is never computed:
 * sequences are packed. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/nn.h"

#define ATT_BLOCK 32

size_t sq_nn_attention_cache_size(const int *seq_off, int n_seq, int H) {
    size_t n = 0;
    for (int s = 0; s < n_seq; s++) {
        size_t L = (size_t)(seq_off[s + 1] - seq_off[s]);
        n += L * L;
    }
    return n * (size_t)H;
}

size_t sq_nn_attention_scratch_size(int max_len) { return (size_t)max_len * (size_t)max_len; }

/* Offset of sequence s's score block in the packed (sum L^2 * H) attention array. The
 * prefix sums live on the stack for ordinary batches; huge batches recompute them per
 * task (cheap next to the GEMMs) so no allocation can fail mid-step. */
enum { ATT_STACK_SEQ = 1024 };
typedef struct { size_t stack[ATT_STACK_SEQ + 1]; const int *seq_off; int n_seq, H; } att_index;

static void att_index_init(att_index *ix, const int *seq_off, int n_seq, int H) {
    ix->seq_off = seq_off;
    ix->n_seq = n_seq;
    ix->H = H;
    if (n_seq > ATT_STACK_SEQ) return;
    ix->stack[0] = 0;
    for (int s = 0; s < n_seq; s++) {
        size_t L = (size_t)(seq_off[s + 1] - seq_off[s]);
        ix->stack[s + 1] = ix->stack[s] + L * L * (size_t)H;
    }
}

static size_t att_offset(const att_index *ix, int s) {
    if (ix->n_seq <= ATT_STACK_SEQ) return ix->stack[s];
    size_t o = 0;
    for (int t = 0; t < s; t++) {
        size_t L = (size_t)(ix->seq_off[t + 1] - ix->seq_off[t]);
        o += L * L * (size_t)ix->H;
    }
    return o;
}

void sq_nn_attention_forward(float *out, float *att, float *att_drop, const float *q,
                             const float *k, const float *v, const int *seq_off, int n_seq, int C,
                             int H, int causal, float dropout_p, uint64_t seed) {
    const int hd = C / H;
    const float scale = 1.0f / sqrtf((float)hd);
    att_index aix;
    att_index_init(&aix, seq_off, n_seq, H);
    const int ntask = n_seq * H;
#pragma omp parallel for schedule(dynamic, 1)
    for (int task = 0; task < ntask; task++) {
        const int s = task / H, h = task % H;
        const int L = seq_off[s + 1] - seq_off[s];
        if (L == 0) continue;
        const size_t row = (size_t)seq_off[s];
        const float *qs = q + row * C + h * hd, *ks = k + row * C + h * hd,
                    *vs = v + row * C + h * hd;
        float *os = out + row * C + h * hd;
        const size_t base = att_offset(&aix, s) + (size_t)h * L * L;
        float *P = att + base;
        float *Pd = dropout_p > 0.0f ? att_drop + base : P;
        const int bs = causal ? ATT_BLOCK : L;
        for (int r0 = 0; r0 < L; r0 += bs) {
            const int r1 = r0 + bs < L ? r0 + bs : L, nk = causal ? r1 : L;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, nk, hd, scale,
                        qs + (size_t)r0 * C, C, ks, C, 0.0f, P + (size_t)r0 * L, L);
            for (int i = r0; i < r1; i++) {
                float *p = P + (size_t)i * L;
                const int n = causal ? i + 1 : L;
                float mx = -INFINITY;
                for (int j = 0; j < n; j++) mx = p[j] > mx ? p[j] : mx;
                float sum = 0.0f;
                for (int j = 0; j < n; j++) {
                    p[j] = expf(p[j] - mx);
                    sum += p[j];
                }
                const float inv = 1.0f / sum;
                for (int j = 0; j < n; j++) p[j] *= inv;
                for (int j = n; j < nk; j++) p[j] = 0.0f;
                if (dropout_p > 0.0f) {
                    float *pd = Pd + (size_t)i * L, ks2 = 1.0f / (1.0f - dropout_p);
                    for (int j = 0; j < nk; j++)
                        pd[j] = sq_nn_hash_uniform(seed, base + (size_t)i * L + j) < dropout_p
                                    ? 0.0f
                                    : p[j] * ks2;
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, hd, nk, 1.0f,
                        Pd + (size_t)r0 * L, L, vs, C, 0.0f, os + (size_t)r0 * C, C);
        }
    }
}

void sq_nn_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *att,
                              const float *att_drop, const float *q, const float *k,
                              const float *v, const int *seq_off, int n_seq, int C, int H,
                              int causal, float dropout_p, uint64_t seed, float *scratch) {
    const int hd = C / H;
    const float scale = 1.0f / sqrtf((float)hd);
    att_index aix;
    att_index_init(&aix, seq_off, n_seq, H);
    int max_len = 0;
    for (int s = 0; s < n_seq; s++)
        if (seq_off[s + 1] - seq_off[s] > max_len) max_len = seq_off[s + 1] - seq_off[s];
    const size_t per_thread = sq_nn_attention_scratch_size(max_len);
    const int ntask = n_seq * H;
#pragma omp parallel for schedule(dynamic, 1)
    for (int task = 0; task < ntask; task++) {
        const int s = task / H, h = task % H;
        const int L = seq_off[s + 1] - seq_off[s];
        if (L == 0) continue;
        float *dP = scratch + (size_t)omp_get_thread_num() * per_thread;
        const size_t row = (size_t)seq_off[s];
        const size_t col = (size_t)h * hd;
        const float *qs = q + row * C + col, *ks = k + row * C + col, *vs = v + row * C + col,
                    *dos = dout + row * C + col;
        float *dqs = dq + row * C + col, *dks = dk + row * C + col, *dvs = dv + row * C + col;
        const size_t base = att_offset(&aix, s) + (size_t)h * L * L;
        const float *P = att + base;
        const float *Pd = dropout_p > 0.0f ? att_drop + base : P;
        for (int i = 0; i < L; i++) {
            memset(dks + (size_t)i * C, 0, hd * sizeof(float));
            memset(dvs + (size_t)i * C, 0, hd * sizeof(float));
        }
        const int bs = causal ? ATT_BLOCK : L;
        for (int r0 = 0; r0 < L; r0 += bs) {
            const int r1 = r0 + bs < L ? r0 + bs : L, nk = causal ? r1 : L, nr = r1 - r0;
            /* dPd = dout . v^T ;  dv += Pd^T . dout */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, nk, hd, 1.0f,
                        dos + (size_t)r0 * C, C, vs, C, 0.0f, dP, nk);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, hd, nr, 1.0f,
                        Pd + (size_t)r0 * L, L, dos + (size_t)r0 * C, C, 1.0f, dvs, C);
            for (int i = r0; i < r1; i++) {
                float *g = dP + (size_t)(i - r0) * nk;
                const float *p = P + (size_t)i * L;
                const int n = causal ? i + 1 : L;
                if (dropout_p > 0.0f) {
                    const float ks2 = 1.0f / (1.0f - dropout_p);
                    for (int j = 0; j < n; j++)
                        g[j] = sq_nn_hash_uniform(seed, base + (size_t)i * L + j) < dropout_p
                                   ? 0.0f
                                   : g[j] * ks2;
                }
                float dot = 0.0f;
                for (int j = 0; j < n; j++) dot += g[j] * p[j];
                for (int j = 0; j < n; j++) g[j] = p[j] * (g[j] - dot);
                for (int j = n; j < nk; j++) g[j] = 0.0f;
            }
            /* dq = dS . k * scale ; dk += dS^T . q * scale */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, hd, nk, scale, dP, nk, ks,
                        C, 0.0f, dqs + (size_t)r0 * C, C);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, hd, nr, scale, dP, nk,
                        qs + (size_t)r0 * C, C, 1.0f, dks, C);
        }
    }
}
