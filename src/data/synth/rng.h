/* The simulator's random numbers: xoshiro256** seeded through splitmix64, state in a
 * caller-owned struct (no globals, no rand()). Streams are derived from (seed, stream id)
 * so that each user has its own independent sequence. */
#ifndef SQ_DATA_SYNTH_RNG_H
#define SQ_DATA_SYNTH_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct sq__rng {
    uint64_t s[4];
} sq__rng;

static inline uint64_t sq__splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void sq__rng_seed(sq__rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ sq__splitmix64(&(uint64_t){stream * 0xD1B54A32D192ED03ull + 1});
    for (int i = 0; i < 4; i++) r->s[i] = sq__splitmix64(&x);
}

static inline uint64_t sq__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t sq__rng_next(sq__rng *r) {
    uint64_t *s = r->s;
    uint64_t result = sq__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sq__rotl(s[3], 45);
    return result;
}

/* [0, 1) */
static inline double sq__rng_uniform(sq__rng *r) {
    return (double)(sq__rng_next(r) >> 11) * 0x1.0p-53;
}

/* (0, 1] — safe for log() */
static inline double sq__rng_uniform_pos(sq__rng *r) {
    return ((double)(sq__rng_next(r) >> 11) + 1.0) * 0x1.0p-53;
}

/* [0, n), n > 0 (Lemire's multiply-shift; bias < 2^-32, fine for a simulator). */
static inline uint32_t sq__rng_below(sq__rng *r, uint32_t n) {
    return (uint32_t)(((sq__rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* [lo, hi] */
static inline int64_t sq__rng_range(sq__rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)sq__rng_below(r, (uint32_t)(hi - lo + 1));
}

static inline int sq__rng_bernoulli(sq__rng *r, double p) { return sq__rng_uniform(r) < p; }

static inline double sq__rng_exp(sq__rng *r, double mean) {
    return -mean * log(sq__rng_uniform_pos(r));
}

/* standard normal (Box-Muller, one value per call: simpler state, deterministic) */
static inline double sq__rng_normal(sq__rng *r) {
    double u1 = sq__rng_uniform_pos(r), u2 = sq__rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static inline double sq__rng_lognormal(sq__rng *r, double mu, double sigma) {
    return exp(mu + sigma * sq__rng_normal(r));
}

/* Gamma(shape, 1), Marsaglia-Tsang. */
static inline double sq__rng_gamma(sq__rng *r, double shape) {
    if (shape < 1.0) {
        double u = sq__rng_uniform_pos(r);
        return sq__rng_gamma(r, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = sq__rng_normal(r), v = 1.0 + c * x;
        if (v <= 0) continue;
        v = v * v * v;
        double u = sq__rng_uniform_pos(r);
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v)) return d * v;
    }
}

static inline uint32_t sq__rng_poisson(sq__rng *r, double lambda) {
    if (lambda <= 0) return 0;
    if (lambda < 30.0) {
        double l = exp(-lambda), p = 1.0;
        uint32_t k = 0;
        for (;;) {
            p *= sq__rng_uniform(r);
            if (p <= l) return k;
            k++;
        }
    }
    double x = lambda + sqrt(lambda) * sq__rng_normal(r) + 0.5;
    return x < 0 ? 0 : (uint32_t)x;
}

#endif
