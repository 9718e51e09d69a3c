/* One GRU step (sq_nn_gru_cell_*): finite differences of every input, the initial state and
 * every weight; no state = the packed-sequence GRU on length-1 sequences, forward and
 * backward; and two chained steps = the packed GRU on length-2 sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_check.h"

enum { N = 5, IC = 3, H = 4, G = 3 * H };

typedef struct {
    float x[N * IC], h0[N * H], wih[G * IC], whh[G * H], bih[G], bhh[G], R[N * H], out[N * H];
    float cache[N * 7 * H];
    int no_state;
} ctx;

static double obj(void *p) {
    ctx *c = p;
    sq_nn_gru_cell_forward(c->out, c->cache, c->x, c->no_state ? NULL : c->h0, c->wih, c->whh,
                           c->bih, c->bhh, N, IC, H);
    return fd_dot(c->out, c->R, N * H);
}

static void fill(ctx *c, uint64_t seed) {
    sq_nn_rng r;
    sq_nn_rng_seed(&r, seed);
    fd_fill(c->x, N * IC, &r, 1.0f);
    fd_fill(c->h0, N * H, &r, 0.9f);
    fd_fill(c->wih, G * IC, &r, 0.7f);
    fd_fill(c->whh, G * H, &r, 0.7f);
    fd_fill(c->bih, G, &r, 0.5f);
    fd_fill(c->bhh, G, &r, 0.5f);
    fd_fill(c->R, N * H, &r, 1.0f);
}

static void check(int no_state) {
    ctx c = {.no_state = no_state};
    fill(&c, 5 + no_state);
    assert_true(sq_nn_gru_cell_cache_size(N, H) <= sizeof c.cache / sizeof(float));
    float dx[N * IC], dh0[N * H], dwih[G * IC] = {0}, dwhh[G * H] = {0}, dbih[G] = {0},
                                  dbhh[G] = {0};
    for (int i = 0; i < N * IC; i++) dx[i] = 1.0f; /* dx and dh0 accumulate */
    for (int i = 0; i < N * H; i++) dh0[i] = -2.0f;
    float *scratch = calloc(sq_nn_gru_cell_scratch_size(N, H), sizeof(float));
    obj(&c);
    sq_nn_gru_cell_backward(dx, dh0, dwih, dwhh, dbih, dbhh, c.R, c.cache, c.x,
                            no_state ? NULL : c.h0, c.wih, c.whh, N, IC, H, scratch);
    for (int i = 0; i < N * IC; i++) dx[i] -= 1.0f;
    for (int i = 0; i < N * H; i++) dh0[i] += 2.0f;
    assert_true(fd_ok("cell dx", dx, c.x, N * IC, obj, &c));
    assert_true(fd_ok("cell db_ih", dbih, c.bih, G, obj, &c));
    assert_true(fd_ok("cell db_hh", dbhh, c.bhh, G, obj, &c));
    assert_true(fd_ok("cell dw_ih", dwih, c.wih, G * IC, obj, &c));
    if (!no_state) {
        assert_true(fd_ok("cell dh0", dh0, c.h0, N * H, obj, &c));
        assert_true(fd_ok("cell dw_hh", dwhh, c.whh, G * H, obj, &c));
    } else {
        for (int i = 0; i < N * H; i++) assert_true(dh0[i] == 0.0f);
        for (int i = 0; i < G * H; i++) assert_true(dwhh[i] == 0.0f);
    }
    /* truncated: without dh0 the same weight gradients */
    float dwih2[G * IC] = {0}, dwhh2[G * H] = {0}, dbih2[G] = {0}, dbhh2[G] = {0};
    obj(&c); /* the finite differences left a perturbed forward in the cache */
    sq_nn_gru_cell_backward(NULL, NULL, dwih2, dwhh2, dbih2, dbhh2, c.R, c.cache, c.x,
                            no_state ? NULL : c.h0, c.wih, c.whh, N, IC, H, scratch);
    for (int i = 0; i < G * IC; i++) assert_true(dwih2[i] == dwih[i]);
    for (int i = 0; i < G * H; i++) assert_true(dwhh2[i] == dwhh[i]);
    free(scratch);
}

static void test_fd(void **s) {
    (void)s;
    check(0);
    check(1);
}

/* the cell agrees with the packed-sequence GRU: one step from zero = length-1 sequences;
 * a second step from the first's output = the second row of length-2 sequences */
static void test_matches_sequence_gru(void **s) {
    (void)s;
    ctx c = {0};
    fill(&c, 9);
    float x2[2 * N * IC], seq_out[2 * N * H], seq_cache[2 * N * 4 * H], step1[N * H],
        step2[N * H], x_b[N * IC];
    sq_nn_rng r;
    sq_nn_rng_seed(&r, 10);
    fd_fill(x_b, N * IC, &r, 1.0f);
    int off[N + 1];
    for (int i = 0; i < N; i++) {
        memcpy(x2 + (size_t)(2 * i) * IC, c.x + (size_t)i * IC, IC * sizeof(float));
        memcpy(x2 + (size_t)(2 * i + 1) * IC, x_b + (size_t)i * IC, IC * sizeof(float));
        off[i] = 2 * i;
    }
    off[N] = 2 * N;
    sq_nn_gru_forward(seq_out, seq_cache, x2, c.wih, c.whh, c.bih, c.bhh, off, N, IC, H);
    sq_nn_gru_cell_forward(step1, c.cache, c.x, NULL, c.wih, c.whh, c.bih, c.bhh, N, IC, H);
    sq_nn_gru_cell_forward(step2, c.cache, x_b, step1, c.wih, c.whh, c.bih, c.bhh, N, IC, H);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < H; k++) {
            assert_true(fabsf(step1[i * H + k] - seq_out[(2 * i) * H + k]) < 1e-6f);
            assert_true(fabsf(step2[i * H + k] - seq_out[(2 * i + 1) * H + k]) < 1e-6f);
        }
    /* backward from zero state = the packed GRU's on length-1 sequences */
    float cache1[N * 4 * H], out1[N * H], dx[2][N * IC], dwih[2][G * IC], dwhh[2][G * H],
        dbih[2][G], dbhh[2][G];
    memset(dx, 0, sizeof dx), memset(dwih, 0, sizeof dwih), memset(dwhh, 0, sizeof dwhh);
    memset(dbih, 0, sizeof dbih), memset(dbhh, 0, sizeof dbhh);
    for (int i = 0; i <= N; i++) off[i] = i;
    float *scr = calloc(sq_nn_gru_scratch_size(N, H) + sq_nn_gru_cell_scratch_size(N, H), sizeof(float));
    sq_nn_gru_forward(out1, cache1, c.x, c.wih, c.whh, c.bih, c.bhh, off, N, IC, H);
    sq_nn_gru_backward(dx[0], dwih[0], dwhh[0], dbih[0], dbhh[0], c.R, cache1, out1, c.x, c.wih,
                       c.whh, off, N, IC, H, scr);
    sq_nn_gru_cell_forward(step1, c.cache, c.x, NULL, c.wih, c.whh, c.bih, c.bhh, N, IC, H);
    sq_nn_gru_cell_backward(dx[1], NULL, dwih[1], dwhh[1], dbih[1], dbhh[1], c.R, c.cache, c.x,
                            NULL, c.wih, c.whh, N, IC, H, scr);
    const struct { const char *name; const float *a, *b; int n; } g[] = {
        {"dx", dx[0], dx[1], N * IC}, {"dw_ih", dwih[0], dwih[1], G * IC},
        {"dw_hh", dwhh[0], dwhh[1], G * H}, {"db_ih", dbih[0], dbih[1], G},
        {"db_hh", dbhh[0], dbhh[1], G}};
    for (size_t q = 0; q < sizeof g / sizeof *g; q++)
        for (int i = 0; i < g[q].n; i++)
            if (!(fabsf(g[q].a[i] - g[q].b[i]) <= 1e-6f * (1.0f + fabsf(g[q].a[i]))))
                fail_msg("cell %s[%d] %.9g, packed GRU %.9g", g[q].name, i, (double)g[q].b[i],
                         (double)g[q].a[i]);
    free(scr);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fd),
                                       cmocka_unit_test(test_matches_sequence_gru)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
