/* The GRU's gate maths for one row (PyTorch nn.GRU: reset r, update z, new n), shared by
 * the packed-sequence layer (rnn.c) and the one-step cell (gru_cell.c), so that the two
 * compute the same numbers. Internal to src/nn.
 *   r = s(a_r), z = s(a_z), n = tanh(gx_n + b_in + r * ghn), h = (1 - z) n + z h_prev
 * with a_* = gx_* + b_i* + gh_*, gh = W_hh h_prev + b_hh and ghn its n part. */
#ifndef SQ_NN_GRU_GATES_H
#define SQ_NN_GRU_GATES_H

#include <math.h>

static inline float sq__sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

/* c (4H): gx = x W_ih^T (no bias) in its first 3H on entry, [r z n ghn] on exit (the
 * cache row); gh (3H) as above (b_hh alone for a zero state); hp: h_prev, NULL = zero. */
static inline void sq__gru_row_forward(float *c, float *h, const float *gh, const float *b_ih,
                                       const float *hp, int H) {
    for (int k = 0; k < H; k++) {
        const float r = sq__sigm(c[k] + b_ih[k] + gh[k]);
        const float z = sq__sigm(c[H + k] + b_ih[H + k] + gh[H + k]);
        const float n = tanhf(c[2 * H + k] + b_ih[2 * H + k] + r * gh[2 * H + k]);
        c[k] = r;
        c[H + k] = z;
        c[2 * H + k] = n;
        c[3 * H + k] = gh[2 * H + k];
        h[k] = (1.0f - z) * n + z * (hp ? hp[k] : 0.0f);
    }
}

/* g (H): the loss gradient at the row's output h; c, hp: the forward's. ax (3H) gets the
 * gradient of the input side's pre-activations (gx + b_ih), ah (3H) of the hidden side's
 * (gh). The direct path to h_prev, g * z, is the caller's. */
static inline void sq__gru_row_backward(float *ax, float *ah, const float *c, const float *g,
                                        const float *hp, int H) {
    for (int k = 0; k < H; k++) {
        const float r = c[k], z = c[H + k], n = c[2 * H + k], ghn = c[3 * H + k];
        const float dan = g[k] * (1.0f - z) * (1.0f - n * n);
        const float daz = g[k] * ((hp ? hp[k] : 0.0f) - n) * z * (1.0f - z);
        const float dar = dan * ghn * r * (1.0f - r);
        ax[k] = ah[k] = dar;
        ax[H + k] = ah[H + k] = daz;
        ax[2 * H + k] = dan;
        ah[2 * H + k] = dan * r;
    }
}

#endif
