/* Tiny sgemm peak bench for bench/train_sasrec.sh: GFLOP/s of OpenBLAS cblas_sgemm on
 * 1024^3 and on the products SASRec (ML-1M, d 50, maxlen 200) is made of.
 * Build: cc -O2 bench/sgemm_peak.c -o sgemm_peak $(pkg-config --cflags --libs openblas)
 * Run:   OPENBLAS_NUM_THREADS=T ./sgemm_peak   (T = 1 or 2) */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void run(const char *name, int M, int N, int K, int transb) {
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N),
          *C = malloc(sizeof(float) * M * N);
    for (long i = 0; i < (long)M * K; i++) A[i] = (float)(i % 7) * 0.1f;
    for (long i = 0; i < (long)K * N; i++) B[i] = (float)(i % 5) * 0.1f;
    const double flop = 2.0 * M * N * K;
    int reps = 1;
    double dt = 0;
    for (;;) { /* grow reps until a run takes >= 0.3 s; the first call is the warm-up */
        double t0 = now();
        for (int r = 0; r < reps; r++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, transb ? CblasTrans : CblasNoTrans, M, N, K,
                        1.0f, A, K, B, transb ? K : N, 0.0f, C, N);
        dt = now() - t0;
        if (dt >= 0.3) break;
        reps *= 2;
    }
    printf("sgemm %-28s %5dx%-5d x %5dx%-5d  %7.1f GFLOP/s\n", name, M, K, K, N,
           flop * reps / dt * 1e-9);
    free(A), free(B), free(C);
}

int main(void) {
    printf("openblas threads %d, config: %s\n", openblas_get_num_threads(), openblas_get_config());
    run("1024^3", 1024, 1024, 1024, 0);
    run("linear N=128*200 (x W^T)", 25600, 50, 50, 1);
    run("attention QK^T per seq", 200, 200, 50, 1);
    run("attention AV per seq", 200, 50, 200, 0);
    run("linear 256 rows", 256, 64, 50, 1);
    return 0;
}
