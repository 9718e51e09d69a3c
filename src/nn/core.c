/* Engine setup, randomness, the parameter buffer and AdamW. */
#include <cblas.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shopseq/nn.h"

void sq_nn_init(int threads) {
    openblas_set_num_threads(1);
    if (threads > 0) omp_set_num_threads(threads);
}

int sq_nn_threads(void) { return omp_get_max_threads(); }

/* ---- xoshiro256** seeded by splitmix64 ---- */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sq_nn_rng_seed(sq_nn_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sq_nn_rng_next(sq_nn_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float sq_nn_rng_uniform(sq_nn_rng *r) { return (float)(sq_nn_rng_next(r) >> 40) * 0x1.0p-24f; }

uint32_t sq_nn_rng_below(sq_nn_rng *r, uint32_t n) {
    /* Lemire's multiply-shift with rejection */
    uint64_t m = (uint64_t)(uint32_t)(sq_nn_rng_next(r) >> 32) * n;
    uint32_t l = (uint32_t)m;
    if (l < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (l < t) {
            m = (uint64_t)(uint32_t)(sq_nn_rng_next(r) >> 32) * n;
            l = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

float sq_nn_rng_normal(sq_nn_rng *r) {
    double u1 = ((sq_nn_rng_next(r) >> 11) + 1.0) * 0x1.0p-53, u2 = (sq_nn_rng_next(r) >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}


/* ---- parameters ---- */
int sq_nn_params_add(sq_nn_params *p, const char *name, int ndim, const int64_t *shape) {
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 32;
        sq_nn_tensor *t = realloc(p->t, (size_t)cap * sizeof *t);
        if (!t) return -1;
        p->t = t;
        p->cap = cap;
    }
    sq_nn_tensor *t = &p->t[p->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        t->numel *= (size_t)shape[i];
    }
    t->offset = (p->total + 15) & ~(size_t)15;
    p->total = t->offset + t->numel;
    return p->n++;
}

sq_status sq_nn_params_alloc(sq_nn_params *p, sq_error *err) {
    size_t n = (p->total + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    p->data = aligned_alloc(64, n * sizeof(float));
    p->grad = aligned_alloc(64, n * sizeof(float));
    p->m = aligned_alloc(64, n * sizeof(float));
    p->v = aligned_alloc(64, n * sizeof(float));
    if (!p->data || !p->grad || !p->m || !p->v)
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory for %zu parameters", p->total);
    memset(p->data, 0, n * sizeof(float));
    memset(p->grad, 0, n * sizeof(float));
    memset(p->m, 0, n * sizeof(float));
    memset(p->v, 0, n * sizeof(float));
    p->step = 0;
    return SQ_OK;
}

void sq_nn_params_free(sq_nn_params *p) {
    if (!p) return;
    free(p->t);
    free(p->data);
    free(p->grad);
    free(p->m);
    free(p->v);
    memset(p, 0, sizeof *p);
}

int sq_nn_params_find(const sq_nn_params *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->t[i].name, name)) return i;
    return -1;
}

void sq_nn_params_zero_grad(sq_nn_params *p) { memset(p->grad, 0, p->total * sizeof(float)); }

void *sq_nn_ws_get(sq_nn_ws *ws, size_t bytes) {
    if (bytes > ws->cap) { /* the old contents need not survive: free first, lower peak */
        free(ws->p);
        const size_t cap = (bytes + 63) / 64 * 64; /* aligned_alloc wants a multiple */
        ws->p = aligned_alloc(64, cap);
        ws->cap = ws->p ? cap : 0;
    }
    return ws->p;
}

void sq_nn_ws_free(sq_nn_ws *ws) {
    if (!ws) return;
    free(ws->p);
    ws->p = NULL;
    ws->cap = 0;
}

/* one AdamW update of w[i0..i1), the same float operations in the same order in both
 * versions, so the AVX-512 one (sqrt and division are correctly rounded there too) gives
 * bit-identical weights; with a 54k-item embedding the step is a tenth of a CE epoch */
static void adamw_range(float *w, const float *g, float *m, float *v, long i0, long i1,
                        float b1, float b2, float c1, float c2, float lr, float eps, float wd) {
    for (long i = i0; i < i1; i++) {
        float gi = g[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float mh = m[i] * c1, vh = v[i] * c2;
        w[i] -= lr * (mh / (sqrtf(vh) + eps) + wd * w[i]);
    }
}

__attribute__((target("avx512f"))) static void
adamw_range_avx512(float *w, const float *g, float *m, float *v, long i0, long i1, float b1,
                   float b2, float c1, float c2, float lr, float eps, float wd) {
    const __m512 B1 = _mm512_set1_ps(b1), B2 = _mm512_set1_ps(b2), A1 = _mm512_set1_ps(1.0f - b1),
                 A2 = _mm512_set1_ps(1.0f - b2), C1 = _mm512_set1_ps(c1), C2 = _mm512_set1_ps(c2),
                 LR = _mm512_set1_ps(lr), EPS = _mm512_set1_ps(eps), WD = _mm512_set1_ps(wd);
    long i = i0;
    for (; i + 16 <= i1; i += 16) {
        const __m512 gi = _mm512_loadu_ps(g + i), wi = _mm512_loadu_ps(w + i);
        const __m512 mi = _mm512_add_ps(_mm512_mul_ps(B1, _mm512_loadu_ps(m + i)), _mm512_mul_ps(A1, gi));
        const __m512 vi = _mm512_add_ps(_mm512_mul_ps(B2, _mm512_loadu_ps(v + i)),
                                        _mm512_mul_ps(_mm512_mul_ps(A2, gi), gi));
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        const __m512 den = _mm512_add_ps(_mm512_sqrt_ps(_mm512_mul_ps(vi, C2)), EPS);
        const __m512 upd = _mm512_add_ps(_mm512_div_ps(_mm512_mul_ps(mi, C1), den), _mm512_mul_ps(WD, wi));
        _mm512_storeu_ps(w + i, _mm512_sub_ps(wi, _mm512_mul_ps(LR, upd)));
    }
    adamw_range(w, g, m, v, i, i1, b1, b2, c1, c2, lr, eps, wd);
}

void sq_nn_adamw_step(sq_nn_params *p, const sq_nn_adamw *o) {
    p->step++;
    const float b1 = o->beta1, b2 = o->beta2, lr = o->lr, eps = o->eps, wd = o->weight_decay;
    const float c1 = 1.0f / (float)(1.0 - pow(b1, (double)p->step));
    const float c2 = 1.0f / (float)(1.0 - pow(b2, (double)p->step));
    float *w = p->data, *g = p->grad, *m = p->m, *v = p->v;
    const long n = (long)p->total;
    const int vec = __builtin_cpu_supports("avx512f");
#pragma omp parallel
    {
        const long nt = omp_get_num_threads(), t = omp_get_thread_num();
        const long i0 = n * t / nt / 16 * 16, i1 = t == nt - 1 ? n : n * (t + 1) / nt / 16 * 16;
        if (vec) adamw_range_avx512(w, g, m, v, i0, i1, b1, b2, c1, c2, lr, eps, wd);
        else adamw_range(w, g, m, v, i0, i1, b1, b2, c1, c2, lr, eps, wd);
    }
}

void sq_nn_gather_last(float *out, const float *x, const int *seq_off, int n_seq, int C) {
    for (int s = 0; s < n_seq; s++) {
        const int last = seq_off[s + 1] - 1;
        if (last < seq_off[s]) memset(out + (size_t)s * C, 0, (size_t)C * sizeof(float));
        else memcpy(out + (size_t)s * C, x + (size_t)last * C, (size_t)C * sizeof(float));
    }
}

void sq_nn_scatter_last(float *dx, const float *dout, const int *seq_off, int n_seq, int C) {
    memset(dx, 0, (size_t)seq_off[n_seq] * C * sizeof(float));
    for (int s = 0; s < n_seq; s++) {
        const int last = seq_off[s + 1] - 1;
        if (last >= seq_off[s])
            memcpy(dx + (size_t)last * C, dout + (size_t)s * C, (size_t)C * sizeof(float));
    }
}
