/* Fully connected layer through single-threaded BLAS inside our own row-parallel loops. */
#include <cblas.h>
#include <omp.h>

#include "shopseq/nn.h"

static inline void chunk(int n, int parts, int idx, int *b, int *e) {
    int q = n / parts, r = n % parts;
    *b = idx * q + (idx < r ? idx : r);
    *e = *b + q + (idx < r);
}

void sq_nn_linear_forward(float *out, const float *in, const float *w, const float *b, int N,
                          int IC, int OC) {
#pragma omp parallel
    {
        int r0, r1;
        chunk(N, omp_get_num_threads(), omp_get_thread_num(), &r0, &r1);
        if (r1 > r0) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, OC, IC, 1.0f,
                        in + (size_t)r0 * IC, IC, w, IC, 0.0f, out + (size_t)r0 * OC, OC);
            if (b)
                for (int i = r0; i < r1; i++)
                    for (int o = 0; o < OC; o++) out[(size_t)i * OC + o] += b[o];
        }
    }
}

void sq_nn_linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                           const float *w, int N, int IC, int OC) {
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num(), r0, r1, o0, o1;
        if (din) {
            chunk(N, nt, t, &r0, &r1);
            if (r1 > r0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, IC, OC, 1.0f,
                            dout + (size_t)r0 * OC, OC, w, IC, 1.0f, din + (size_t)r0 * IC, IC);
        }
        /* weight rows [o0, o1) belong to this thread: dw[o] += sum_i dout[i,o] in[i] */
        chunk(OC, nt, t, &o0, &o1);
        if (o1 > o0 && N > 0) {
            if (dw)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o1 - o0, IC, N, 1.0f,
                            dout + o0, OC, in, IC, 1.0f, dw + (size_t)o0 * IC, IC);
            if (db)
                for (int o = o0; o < o1; o++) {
                    float s = 0.0f;
                    for (int i = 0; i < N; i++) s += dout[(size_t)i * OC + o];
                    db[o] += s;
                }
        }
    }
}
