/* Full-catalogue scoring for the server: score(v) = h . E[v] (+ bias[v], bert4rec's output
 * bias, added to the approximate and the exact scores alike) for every item v, top-k.
 *
 * Why not one sgemm: a request scores one sequence against the whole catalogue, so the
 * product is (1, C) x (C, V) and BLAS spends its time packing E (V x C floats, 24 MB for
 * 100k items at C = 64) on every call; the pass is memory-bound either way.
 *
 * So the server keeps an int8 copy of E (per-item scale, 4x less memory traffic) laid out
 * in blocks of 16 items, c-major inside a block (Q[block][c][16]): one pass over Q gives
 * approximate scores for a whole batch of sequences with 16-wide FMAs and no horizontal
 * sums. The approximation error of item v is bounded:
 *     |approx(v) - h.E[v]| <= scale(v) * |h|_1 * (1/2 + rounding slack)
 * (rounding to the nearest int8 step is off by at most half a step in each coordinate).
 * Top-k is then exact: tau = the k-th largest lower bound; only items whose upper bound
 * reaches tau can be in the top k, and those few are rescored in fp32 against E. The
 * result is the fp32 top-k (scores equal to sgemm's up to summation order).
 *
 * With AVX512-VNNI, h is quantised too (per sequence: step rs = max|h| / 127) and the pass
 * is integer dot products (vpdpbusd: 64 multiply-adds per instruction, exact in int32);
 * quantising h adds at most rs/2 * sum_c |q(v,c)| * scale(v) to the bound. Q is then laid
 * out in groups of 4 coordinates (Q4[block][c/4][16][4]), as vpdpbusd reads it. */
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define LANES 16
/* fp32 rounding of both the int8 dot (<= 127 |h|_1 per unit of scale, C <= 1024 terms)
 * and of the exact dot: generous against 2 * C * 2^-24 * 127 */
#define SLACK 0.02f

sq_status sq__scorer_init(sq__scorer *s, const float *E, const float *bias, int V, int C,
                          sq_error *err) {
    memset(s, 0, sizeof *s);
    if (V < 1 || C < 1 || C > 1024) return sq_error_set(err, SQ_ERR_USAGE, "scorer: bad shape %d x %d", V, C);
    s->V = V;
    s->C = C;
    s->nblk = (V + LANES - 1) / LANES;
    s->E = E;
    s->bias = bias;
    s->q = aligned_alloc(64, ((size_t)s->nblk * C * LANES + 63) / 64 * 64); /* size: a multiple of the alignment */
    s->scale = calloc((size_t)s->nblk * LANES, sizeof *s->scale);
    if (!s->q || !s->scale) {
        sq__scorer_free(s);
        return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
    }
    memset(s->q, 0, (size_t)s->nblk * C * LANES);
    for (int v = 0; v < V; v++) {
        const float *e = E + (size_t)v * C;
        float mx = 0.0f;
        for (int c = 0; c < C; c++) mx = fmaxf(mx, fabsf(e[c]));
        float sc = mx > 0.0f ? mx / 127.0f : 0.0f;
        s->scale[v] = sc;
        int8_t *q = s->q + (size_t)(v / LANES) * C * LANES + v % LANES;
        for (int c = 0; c < C; c++) {
            float x = sc > 0.0f ? nearbyintf(e[c] / sc) : 0.0f;
            q[(size_t)c * LANES] = (int8_t)(x > 127.0f ? 127.0f : x < -127.0f ? -127.0f : x);
        }
    }
    s->isa = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    if (s->isa == 2 && __builtin_cpu_supports("avx512vnni")) {
        s->C4 = (C + 3) / 4 * 4;
        size_t bytes = (size_t)s->nblk * s->C4 * LANES;
        s->q4 = aligned_alloc(64, bytes);
        s->qsum = calloc((size_t)s->nblk * LANES, sizeof *s->qsum);
        s->qabs = calloc((size_t)s->nblk * LANES, sizeof *s->qabs);
        if (!s->q4 || !s->qsum || !s->qabs) {
            sq__scorer_free(s);
            return sq_error_set(err, SQ_ERR_NOMEM, "out of memory");
        }
        memset(s->q4, 0, bytes);
        for (int v = 0; v < V; v++) {
            const int8_t *q = s->q + (size_t)(v / LANES) * C * LANES + v % LANES;
            int8_t *q4 = s->q4 + (size_t)(v / LANES) * s->C4 * LANES + (size_t)(v % LANES) * 4;
            int32_t sum = 0, abs = 0;
            for (int c = 0; c < C; c++) {
                int8_t x = q[(size_t)c * LANES];
                q4[(size_t)(c / 4) * LANES * 4 + c % 4] = x;
                sum += x;
                abs += x < 0 ? -x : x;
            }
            s->qsum[v] = sum;
            s->qabs[v] = s->scale[v] * (float)abs;
        }
        s->isa = 3;
    }
    return SQ_OK;
}

void sq__scorer_free(sq__scorer *s) {
    if (!s) return;
    free(s->q);
    free(s->scale);
    free(s->q4);
    free(s->qsum);
    free(s->qabs);
    memset(s, 0, sizeof *s);
}

/* ---- the int8 pass: blocks [b0, b1) for n sequences; out rows of stride ld ---- */
__attribute__((target("avx512f"))) static void pass_avx512(const sq__scorer *s, int b0, int b1,
                                                            const float *rep, int n, float *out,
                                                            size_t ld) {
    const int C = s->C;
    for (int b = b0; b < b1; b++) {
        const int8_t *q = s->q + (size_t)b * C * LANES;
        __m512 sc = _mm512_loadu_ps(s->scale + (size_t)b * LANES);
        int i = 0;
        for (; i + 4 <= n; i += 4) { /* four sequences share each widened row of Q */
            const float *r = rep + (size_t)i * C;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int c = 0; c < C; c++) {
                __m512 e = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(q + c * LANES))));
                a0 = _mm512_fmadd_ps(_mm512_set1_ps(r[c]), e, a0);
                a1 = _mm512_fmadd_ps(_mm512_set1_ps(r[C + c]), e, a1);
                a2 = _mm512_fmadd_ps(_mm512_set1_ps(r[2 * C + c]), e, a2);
                a3 = _mm512_fmadd_ps(_mm512_set1_ps(r[3 * C + c]), e, a3);
            }
            _mm512_storeu_ps(out + (size_t)i * ld + (size_t)b * LANES, _mm512_mul_ps(a0, sc));
            _mm512_storeu_ps(out + (size_t)(i + 1) * ld + (size_t)b * LANES, _mm512_mul_ps(a1, sc));
            _mm512_storeu_ps(out + (size_t)(i + 2) * ld + (size_t)b * LANES, _mm512_mul_ps(a2, sc));
            _mm512_storeu_ps(out + (size_t)(i + 3) * ld + (size_t)b * LANES, _mm512_mul_ps(a3, sc));
        }
        for (; i < n; i++) {
            const float *r = rep + (size_t)i * C;
            __m512 a0 = _mm512_setzero_ps();
            for (int c = 0; c < C; c++) {
                __m512 e = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(q + c * LANES))));
                a0 = _mm512_fmadd_ps(_mm512_set1_ps(r[c]), e, a0);
            }
            _mm512_storeu_ps(out + (size_t)i * ld + (size_t)b * LANES, _mm512_mul_ps(a0, sc));
        }
    }
}

__attribute__((target("avx2,fma"))) static void pass_avx2(const sq__scorer *s, int b0, int b1,
                                                          const float *rep, int n, float *out,
                                                          size_t ld) {
    const int C = s->C;
    for (int b = b0; b < b1; b++) {
        const int8_t *q = s->q + (size_t)b * C * LANES;
        __m256 sl = _mm256_loadu_ps(s->scale + (size_t)b * LANES), sh = _mm256_loadu_ps(s->scale + (size_t)b * LANES + 8);
        int i = 0;
        for (; i + 2 <= n; i += 2) {
            const float *r = rep + (size_t)i * C;
            __m256 l0 = _mm256_setzero_ps(), h0 = l0, l1 = l0, h1 = l0;
            for (int c = 0; c < C; c++) {
                __m128i raw = _mm_load_si128((const __m128i *)(q + c * LANES));
                __m256 el = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(raw));
                __m256 eh = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(raw, 8)));
                __m256 r0 = _mm256_set1_ps(r[c]), r1 = _mm256_set1_ps(r[C + c]);
                l0 = _mm256_fmadd_ps(r0, el, l0);
                h0 = _mm256_fmadd_ps(r0, eh, h0);
                l1 = _mm256_fmadd_ps(r1, el, l1);
                h1 = _mm256_fmadd_ps(r1, eh, h1);
            }
            float *o0 = out + (size_t)i * ld + (size_t)b * LANES, *o1 = o0 + ld;
            _mm256_storeu_ps(o0, _mm256_mul_ps(l0, sl));
            _mm256_storeu_ps(o0 + 8, _mm256_mul_ps(h0, sh));
            _mm256_storeu_ps(o1, _mm256_mul_ps(l1, sl));
            _mm256_storeu_ps(o1 + 8, _mm256_mul_ps(h1, sh));
        }
        for (; i < n; i++) {
            const float *r = rep + (size_t)i * C;
            __m256 l0 = _mm256_setzero_ps(), h0 = l0;
            for (int c = 0; c < C; c++) {
                __m128i raw = _mm_load_si128((const __m128i *)(q + c * LANES));
                __m256 r0 = _mm256_set1_ps(r[c]);
                l0 = _mm256_fmadd_ps(r0, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(raw)), l0);
                h0 = _mm256_fmadd_ps(r0, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(raw, 8))), h0);
            }
            float *o0 = out + (size_t)i * ld + (size_t)b * LANES;
            _mm256_storeu_ps(o0, _mm256_mul_ps(l0, sl));
            _mm256_storeu_ps(o0 + 8, _mm256_mul_ps(h0, sh));
        }
    }
}

/* h quantised for vpdpbusd: ru = round(h / rs) + 128 in 0..255 (unsigned bytes), 4 per int32 */
static float quantise_rep(const float *r, int C, int C4, uint32_t *ru) {
    float mx = 0.0f;
    for (int c = 0; c < C; c++) mx = fmaxf(mx, fabsf(r[c]));
    float rs = mx > 0.0f ? mx / 127.0f : 1.0f;
    for (int g = 0; g < C4 / 4; g++) {
        uint32_t w = 0;
        for (int j = 0; j < 4; j++) {
            int c = 4 * g + j;
            float x = c < C ? nearbyintf(r[c] / rs) : 0.0f;
            x = x > 127.0f ? 127.0f : x < -127.0f ? -127.0f : x;
            w |= (uint32_t)((int)x + 128) << (8 * j);
        }
        ru[g] = w;
    }
    return rs;
}

/* ru (n, C4/4), rs (n); out as pass_avx512 */
__attribute__((target("avx512f,avx512vnni"))) static void pass_vnni(const sq__scorer *s, int b0,
                                                                    int b1, const uint32_t *ru,
                                                                    const float *rs, int n,
                                                                    float *out, size_t ld) {
    const int G = s->C4 / 4;
    for (int b = b0; b < b1; b++) {
        const int8_t *q = s->q4 + (size_t)b * s->C4 * LANES;
        __m512 sc = _mm512_loadu_ps(s->scale + (size_t)b * LANES);
        /* the +128 offset of ru adds 128 * sum_c q(v,c): taken off in int32 */
        __m512i off = _mm512_slli_epi32(_mm512_loadu_si512(s->qsum + (size_t)b * LANES), 7);
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            const uint32_t *r = ru + (size_t)i * G;
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
            for (int g = 0; g < G; g++) {
                __m512i e = _mm512_load_si512((const void *)(q + (size_t)g * 64));
                a0 = _mm512_dpbusd_epi32(a0, _mm512_set1_epi32((int)r[g]), e);
                a1 = _mm512_dpbusd_epi32(a1, _mm512_set1_epi32((int)r[G + g]), e);
                a2 = _mm512_dpbusd_epi32(a2, _mm512_set1_epi32((int)r[2 * G + g]), e);
                a3 = _mm512_dpbusd_epi32(a3, _mm512_set1_epi32((int)r[3 * G + g]), e);
            }
            __m512i acc[4] = {a0, a1, a2, a3};
            for (int j = 0; j < 4; j++)
                _mm512_storeu_ps(out + (size_t)(i + j) * ld + (size_t)b * LANES,
                                 _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[j], off)),
                                               _mm512_mul_ps(sc, _mm512_set1_ps(rs[i + j]))));
        }
        for (; i < n; i++) {
            const uint32_t *r = ru + (size_t)i * G;
            __m512i a0 = _mm512_setzero_si512();
            for (int g = 0; g < G; g++)
                a0 = _mm512_dpbusd_epi32(a0, _mm512_set1_epi32((int)r[g]),
                                         _mm512_load_si512((const void *)(q + (size_t)g * 64)));
            _mm512_storeu_ps(out + (size_t)i * ld + (size_t)b * LANES,
                             _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(a0, off)),
                                           _mm512_mul_ps(sc, _mm512_set1_ps(rs[i]))));
        }
    }
}

static void pass_scalar(const sq__scorer *s, int b0, int b1, const float *rep, int n, float *out,
                        size_t ld) {
    const int C = s->C;
    for (int b = b0; b < b1; b++) {
        const int8_t *q = s->q + (size_t)b * C * LANES;
        for (int i = 0; i < n; i++) {
            float acc[LANES] = {0};
            for (int c = 0; c < C; c++)
                for (int l = 0; l < LANES; l++) acc[l] += rep[(size_t)i * C + c] * (float)q[c * LANES + l];
            for (int l = 0; l < LANES; l++)
                out[(size_t)i * ld + (size_t)b * LANES + l] = acc[l] * s->scale[(size_t)b * LANES + l];
        }
    }
}

void sq__scorer_approx(const sq__scorer *s, const float *rep, int n, float *out, size_t ld) {
    uint32_t *ru = NULL;
    float *rs = NULL;
    int isa = s->isa;
    if (isa == 3) {
        ru = malloc((size_t)n * (s->C4 / 4) * sizeof *ru);
        rs = malloc((size_t)n * sizeof *rs);
        if (ru && rs)
            for (int i = 0; i < n; i++)
                rs[i] = quantise_rep(rep + (size_t)i * s->C, s->C, s->C4, ru + (size_t)i * (s->C4 / 4));
        else
            isa = 2; /* no memory for the quantised h: the float pass has a tighter bound anyway */
    }
    /* items split in contiguous block ranges, one per thread (each thread owns its columns) */
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int b0 = (int)((long)s->nblk * t / nt), b1 = (int)((long)s->nblk * (t + 1) / nt);
        if (isa == 3) pass_vnni(s, b0, b1, ru, rs, n, out, ld);
        else if (isa >= 2) pass_avx512(s, b0, b1, rep, n, out, ld);
        else if (s->isa == 1) pass_avx2(s, b0, b1, rep, n, out, ld);
        else pass_scalar(s, b0, b1, rep, n, out, ld);
        if (s->bias) { /* this thread's own items */
            const int v0 = b0 * LANES, v1 = b1 * LANES < s->V ? b1 * LANES : s->V;
            for (int i = 0; i < n; i++)
                for (int v = v0; v < v1; v++) out[(size_t)i * ld + v] += s->bias[v];
        }
    }
    free(ru);
    free(rs);
}

float sq__scorer_exact(const sq__scorer *s, const float *rep, uint32_t v) {
    const float *e = s->E + (size_t)v * s->C;
    float acc = 0.0f;
    for (int c = 0; c < s->C; c++) acc += rep[c] * e[c];
    return s->bias ? acc + s->bias[v] : acc;
}

/* ---- top-k with a min-heap of the k best so far; ties: the lower item id ranks first ---- */
static int worse(float a, uint32_t ia, float b, uint32_t ib) { return a < b || (a == b && ia > ib); }

static void sift_down(float *sc, uint32_t *it, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(sc[l], it[l], sc[m], it[m])) m = l;
        if (r < n && worse(sc[r], it[r], sc[m], it[m])) m = r;
        if (m == i) return;
        float t = sc[i];
        sc[i] = sc[m];
        sc[m] = t;
        uint32_t u = it[i];
        it[i] = it[m];
        it[m] = u;
        i = m;
    }
}

static void heap_push(float *sc, uint32_t *it, int *have, int k, float x, uint32_t v) {
    if (*have < k) {
        int i = (*have)++;
        sc[i] = x;
        it[i] = v;
        while (i > 0) { /* sift up */
            int p = (i - 1) / 2;
            if (!worse(sc[i], it[i], sc[p], it[p])) break;
            float t = sc[i];
            sc[i] = sc[p];
            sc[p] = t;
            uint32_t u = it[i];
            it[i] = it[p];
            it[p] = u;
            i = p;
        }
    } else if (worse(sc[0], it[0], x, v)) {
        sc[0] = x;
        it[0] = v;
        sift_down(sc, it, k, 0);
    }
}

/* heap -> best first */
static void heap_sort_out(float *sc, uint32_t *it, int n) {
    for (int m = n; m > 1; m--) {
        float t = sc[0];
        sc[0] = sc[m - 1];
        sc[m - 1] = t;
        uint32_t u = it[0];
        it[0] = it[m - 1];
        it[m - 1] = u;
        sift_down(sc, it, m - 1, 0);
    }
}

int sq__topk(const float *s, int V, int k, uint32_t *items, float *scores) {
    int have = 0;
    for (int v = 0; v < V; v++) {
        float x = s[v];
        if (x == -INFINITY || x != x) continue;
        heap_push(scores, items, &have, k, x, (uint32_t)v);
    }
    heap_sort_out(scores, items, have);
    return have;
}

/* tau = the k-th largest lower bound approx(v) - f * scale(v) over the live items; -inf when
 * fewer than k are live. Then every live item whose upper bound reaches tau is rescored. The
 * AVX-512 version tests 16 items per compare and leaves the scalar heap code to the few
 * that pass (after the first k, rarely any): it is the same selection. */
typedef struct bound { /* |approx(v) - h.E[v]| <= f * scale(v) + g * w(v) */
    float f, g;
    const float *w;
} bound;

static float tau_scalar(const sq__scorer *s, const float *a, bound d, int k, uint32_t *it,
                        float *sc) {
    int have = 0;
    for (int v = 0; v < s->V; v++) {
        float x = a[v];
        if (x == -INFINITY || x != x) continue;
        heap_push(sc, it, &have, k, x - (d.f * s->scale[v] + d.g * d.w[v]), (uint32_t)v);
    }
    return have == k ? sc[0] : -INFINITY;
}

static int rescore_scalar(const sq__scorer *s, const float *rep, const float *a, bound d,
                          float tau, int k, uint32_t *it, float *sc, size_t *n) {
    int have = 0;
    for (int v = 0; v < s->V; v++) {
        float x = a[v];
        if (x == -INFINITY || x != x || x + (d.f * s->scale[v] + d.g * d.w[v]) < tau) continue;
        (*n)++;
        heap_push(sc, it, &have, k, sq__scorer_exact(s, rep, (uint32_t)v), (uint32_t)v);
    }
    return have;
}

__attribute__((target("avx512f"))) static float tau_avx512(const sq__scorer *s, const float *a,
                                                           bound d, int k, uint32_t *it,
                                                           float *sc) {
    int have = 0;
    float thr = -INFINITY, lo[LANES];
    const __m512 vf = _mm512_set1_ps(d.f), vg = _mm512_set1_ps(d.g);
    for (int v0 = 0; v0 < s->V; v0 += LANES) {
        int m = s->V - v0 < LANES ? s->V - v0 : LANES;
        __mmask16 live = (__mmask16)(m == LANES ? 0xFFFFu : (1u << m) - 1);
        __m512 x = _mm512_maskz_loadu_ps(live, a + v0);
        __m512 w = _mm512_fmadd_ps(vf, _mm512_maskz_loadu_ps(live, s->scale + v0),
                                   _mm512_mul_ps(vg, _mm512_maskz_loadu_ps(live, d.w + v0)));
        __m512 l = _mm512_sub_ps(x, w);
        /* lo > thr: false for -inf and NaN, so excluded items never pass */
        __mmask16 hit = _mm512_mask_cmp_ps_mask(live, l, _mm512_set1_ps(thr), _CMP_GT_OQ);
        if (!hit) continue;
        _mm512_storeu_ps(lo, l);
        while (hit) {
            int j = __builtin_ctz(hit);
            hit &= (__mmask16)(hit - 1);
            heap_push(sc, it, &have, k, lo[j], (uint32_t)(v0 + j));
            if (have == k) thr = sc[0];
        }
    }
    return have == k ? sc[0] : -INFINITY;
}

__attribute__((target("avx512f"))) static int rescore_avx512(const sq__scorer *s, const float *rep,
                                                             const float *a, bound d, float tau,
                                                             int k, uint32_t *it, float *sc,
                                                             size_t *n) {
    int have = 0;
    const __m512 vf = _mm512_set1_ps(d.f), vg = _mm512_set1_ps(d.g), vt = _mm512_set1_ps(tau),
                 ninf = _mm512_set1_ps(-INFINITY);
    for (int v0 = 0; v0 < s->V; v0 += LANES) {
        int m = s->V - v0 < LANES ? s->V - v0 : LANES;
        __mmask16 live = (__mmask16)(m == LANES ? 0xFFFFu : (1u << m) - 1);
        __m512 x = _mm512_maskz_loadu_ps(live, a + v0);
        __m512 w = _mm512_fmadd_ps(vf, _mm512_maskz_loadu_ps(live, s->scale + v0),
                                   _mm512_mul_ps(vg, _mm512_maskz_loadu_ps(live, d.w + v0)));
        __m512 hi = _mm512_add_ps(x, w);
        __mmask16 hit = _mm512_mask_cmp_ps_mask(live, x, ninf, _CMP_GT_OQ); /* finite */
        hit = _mm512_mask_cmp_ps_mask(hit, hi, vt, _CMP_GE_OQ);
        while (hit) {
            int j = __builtin_ctz(hit);
            hit &= (__mmask16)(hit - 1);
            (*n)++;
            heap_push(sc, it, &have, k, sq__scorer_exact(s, rep, (uint32_t)(v0 + j)), (uint32_t)(v0 + j));
        }
    }
    return have;
}

int sq__scorer_topk(const sq__scorer *s, const float *rep, const float *approx, int k,
                    uint32_t *items, float *scores, size_t *n_rescored) {
    float l1 = 0.0f;
    for (int c = 0; c < s->C; c++) l1 += fabsf(rep[c]);
    bound d = {.f = l1 * (0.5f + SLACK), .g = 0.0f, .w = s->scale};
    if (s->isa == 3) { /* h was quantised too: the step approx_pass used, recomputed */
        float mx = 0.0f;
        for (int c = 0; c < s->C; c++) mx = fmaxf(mx, fabsf(rep[c]));
        d.g = (mx > 0.0f ? mx / 127.0f : 1.0f) * (0.5f + SLACK);
        d.w = s->qabs;
    }
    size_t n = 0;
    int have;
    if (s->isa >= 2) {
        float tau = tau_avx512(s, approx, d, k, items, scores);
        have = rescore_avx512(s, rep, approx, d, tau, k, items, scores, &n);
    } else {
        float tau = tau_scalar(s, approx, d, k, items, scores);
        have = rescore_scalar(s, rep, approx, d, tau, k, items, scores, &n);
    }
    heap_sort_out(scores, items, have);
    if (n_rescored) *n_rescored = n;
    return have;
}
