/* Finite-difference checks of the GRU and LSTM layers over packed sequences (lengths 1, 4,
 * 7), every input and weight; isolation between packed sequences and causality. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_check.h"

enum { NSEQ = 3, IC = 3, H = 4, N = 1 + 4 + 7, GMAX = 4 * H };
static const int seq_off[NSEQ + 1] = {0, 1, 5, N};

typedef struct {
    int lstm;
    float x[N * IC], wih[GMAX * IC], whh[GMAX * H], bih[GMAX], bhh[GMAX], R[N * H], out[N * H];
    float cache[N * 5 * H];
} rnn_ctx;

static void fwd(rnn_ctx *c) {
    if (c->lstm)
        sq_nn_lstm_forward(c->out, c->cache, c->x, c->wih, c->whh, c->bih, c->bhh, seq_off, NSEQ, IC, H);
    else
        sq_nn_gru_forward(c->out, c->cache, c->x, c->wih, c->whh, c->bih, c->bhh, seq_off, NSEQ, IC, H);
}

static double obj(void *p) {
    rnn_ctx *c = p;
    fwd(c);
    return fd_dot(c->out, c->R, N * H);
}

static void check(int lstm) {
    const int G = (lstm ? 4 : 3) * H;
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 11 + lstm);
    rnn_ctx c = {.lstm = lstm};
    fd_fill(c.x, N * IC, &r, 1.0f);
    fd_fill(c.wih, (size_t)G * IC, &r, 0.7f);
    fd_fill(c.whh, (size_t)G * H, &r, 0.7f);
    fd_fill(c.bih, G, &r, 0.5f);
    fd_fill(c.bhh, G, &r, 0.5f);
    fd_fill(c.R, N * H, &r, 1.0f);
    assert_true(sq_nn_gru_cache_size(N, H) <= sizeof c.cache / sizeof(float));
    assert_true(sq_nn_lstm_cache_size(N, H) <= sizeof c.cache / sizeof(float));
    float dx[N * IC], dwih[GMAX * IC] = {0}, dwhh[GMAX * H] = {0}, dbih[GMAX] = {0},
                     dbhh[GMAX] = {0};
    for (int i = 0; i < N * IC; i++) dx[i] = 1.0f; /* dx accumulates */
    float *scratch = calloc(lstm ? sq_nn_lstm_scratch_size(N, H) : sq_nn_gru_scratch_size(N, H),
                            sizeof(float));
    fwd(&c);
    if (lstm)
        sq_nn_lstm_backward(dx, dwih, dwhh, dbih, dbhh, c.R, c.cache, c.out, c.x, c.wih, c.whh,
                            seq_off, NSEQ, IC, H, scratch);
    else
        sq_nn_gru_backward(dx, dwih, dwhh, dbih, dbhh, c.R, c.cache, c.out, c.x, c.wih, c.whh,
                           seq_off, NSEQ, IC, H, scratch);
    for (int i = 0; i < N * IC; i++) dx[i] -= 1.0f;
    const char *nm = lstm ? "lstm" : "gru";
    char w[64];
    snprintf(w, sizeof w, "%s dx", nm);
    assert_true(fd_ok(w, dx, c.x, N * IC, obj, &c));
    snprintf(w, sizeof w, "%s dw_ih", nm);
    assert_true(fd_ok(w, dwih, c.wih, (size_t)G * IC, obj, &c));
    snprintf(w, sizeof w, "%s dw_hh", nm);
    assert_true(fd_ok(w, dwhh, c.whh, (size_t)G * H, obj, &c));
    snprintf(w, sizeof w, "%s db_ih", nm);
    assert_true(fd_ok(w, dbih, c.bih, G, obj, &c));
    snprintf(w, sizeof w, "%s db_hh", nm);
    assert_true(fd_ok(w, dbhh, c.bhh, G, obj, &c));

    /* structure: changing input row j of sequence 2 changes output rows j.. of that
     * sequence only */
    float base[N * H];
    fwd(&c);
    memcpy(base, c.out, sizeof base);
    const int j = 7;
    c.x[j * IC] += 0.5f;
    fwd(&c);
    for (int i = 0; i < N; i++) {
        int changed = 0;
        for (int d = 0; d < H; d++) changed |= c.out[i * H + d] != base[i * H + d];
        assert_int_equal(changed, i >= j);
    }
    free(scratch);
}

static void test_gru(void **s) { (void)s; check(0); }
static void test_lstm(void **s) { (void)s; check(1); }

int main(void) {
    sq_nn_init(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gru),
        cmocka_unit_test(test_lstm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
