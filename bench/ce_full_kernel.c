/* Time of one full-softmax CE call (loss + dh + dtable) at a SASRec-on-Beauty batch shape:
 * the AVX-512 path (sq_nn_ce_full when it applies) and the OpenBLAS-per-tile path, best of
 * REPS, CPU seconds of the process (less moved by other jobs than wall time on a shared
 * machine when run on 1 thread), with the GFLOP/s of the 4 products (2 N V C each).
 *
 *   cc -O2 -fopenmp -Iinclude -Isrc bench/ce_full_kernel.c build/libshopseq.a \
 *       $(pkg-config --libs openblas) -lm -o bench/out/ce_full_kernel
 *   bench/out/ce_full_kernel [N=720] [V=54542] [C=64] [THREADS=1] [REPS=3]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/ce_full.h"
#include "shopseq/nn.h"

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef double (*ce_fn)(float *, float *, float *, const float *, const float *, const float *,
                        const uint32_t *, int, int, int, float, float *, sq_nn_ws *);

int main(int argc, char **argv) {
    const int N = argc > 1 ? atoi(argv[1]) : 720, V = argc > 2 ? atoi(argv[2]) : 54542;
    const int C = argc > 3 ? atoi(argv[3]) : 64, T = argc > 4 ? atoi(argv[4]) : 1;
    const int reps = argc > 5 ? atoi(argv[5]) : 3;
    if (N < 1 || V < 1 || C < 1 || T < 1 || reps < 1) {
        fprintf(stderr, "usage: %s [N] [V] [C] [THREADS] [REPS]\n", argv[0]);
        return 2;
    }
    sq_nn_init(T);
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 1);
    float *h = malloc(sizeof *h * N * C), *E = malloc(sizeof *E * V * C);
    float *dh = malloc(sizeof *dh * N * C), *dE = malloc(sizeof *dE * V * C);
    float *scratch = malloc(sizeof *scratch * sq_nn_ce_scratch_size(V));
    uint32_t *tg = malloc(sizeof *tg * N);
    sq_nn_ws ws = {0}; /* kept across the repetitions, as a model keeps it across steps */
    if (!h || !E || !dh || !dE || !scratch || !tg) return 1;
    for (long i = 0; i < (long)N * C; i++) h[i] = 2.0f * sq_nn_rng_uniform(&r) - 1.0f;
    for (long i = 0; i < (long)V * C; i++) E[i] = 0.6f * sq_nn_rng_uniform(&r) - 0.3f;
    for (int i = 0; i < N; i++) tg[i] = sq_nn_rng_below(&r, (uint32_t)V);
    const double gflop = 4.0 * 2.0 * N * (double)V * C / 1e9;
    const struct { const char *name; ce_fn f; int ok; } paths[] = {
        {"avx512", sq__ce_full_avx512, sq__ce_full_avx512_ok(C)},
        {"blas", sq__ce_full_blas, 1},
    };
    printf("N %d V %d C %d threads %d\n", N, V, C, T);
    for (int p = 0; p < 2; p++) {
        if (!paths[p].ok) {
            printf("%-7s not available here\n", paths[p].name);
            continue;
        }
        double best = INFINITY, loss = 0.0;
        for (int k = 0; k < reps; k++) {
            memset(dh, 0, sizeof *dh * N * C);
            memset(dE, 0, sizeof *dE * V * C);
            const double t0 = cpu_s();
            loss = paths[p].f(dh, dE, NULL, h, E, NULL, tg, N, V, C, 1.0f, scratch, &ws);
            const double t = cpu_s() - t0;
            best = t < best ? t : best;
        }
        printf("%-7s %.4f cpu s  %.1f GFLOP/s  loss %.7f\n", paths[p].name, best, gflop / best, loss);
    }
    sq_nn_ws_free(&ws);
    return 0;
}
