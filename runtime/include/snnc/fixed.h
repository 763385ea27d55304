/*
 * Fixed-point primitives of the integer contract (docs/fixed_point.md).
 *
 * sat_b(x)            clamp to the signed b-bit range (b in 2..32)
 * rshift_round(x, n)  (x + (1 << (n-1))) >> n for n > 0 (round half up), x for n == 0
 * rq(acc, m, sh)      sat_state(rshift_round(acc * m, sh)), 64-bit product
 * decay(v, beta_q)    rshift_round(beta_q * v, 15), beta_q in Q0.15 [0, 32768]
 *
 * ">>" on a negative signed value is implementation-defined in C99; every compiler we
 * target (gcc, clang, arm-none-eabi-gcc) shifts arithmetically (floor), which is what
 * the contract requires. The check below refuses a preprocessor that disagrees.
 */
#ifndef SNNC_FIXED_H
#define SNNC_FIXED_H

#include <stdint.h>

#if ((-1) >> 1) != -1
#error "snnc needs an arithmetic right shift on signed integers"
#endif

/* Clamp x to the signed `bits`-bit range. */
static inline int32_t snnc_sat(int64_t x, int bits)
{
    const int64_t hi = ((int64_t)1 << (bits - 1)) - 1;
    const int64_t lo = -hi - 1;
    return (int32_t)(x > hi ? hi : (x < lo ? lo : x));
}

/* Round-half-up arithmetic right shift; n in [0, 62]. */
static inline int64_t snnc_rshift_round(int64_t x, int32_t n)
{
    return n > 0 ? (x + ((int64_t)1 << (n - 1))) >> n : x;
}

/* Requantize an accumulator into state units: sat_bits(rshift_round(acc * m, sh)). */
static inline int32_t snnc_rq(int64_t acc, int32_t m, int32_t sh, int bits)
{
    return snnc_sat(snnc_rshift_round(acc * (int64_t)m, sh), bits);
}

/* Q0.15 decay: rshift_round(beta_q * v, 15). */
static inline int64_t snnc_decay(int32_t v, int32_t beta_q)
{
    return snnc_rshift_round((int64_t)beta_q * (int64_t)v, 15);
}

/* Exact sum of element i of n_xs int32 vectors (a node's incoming edges). */
static inline int64_t snnc_sum_at(const int32_t *const *xs, int32_t n_xs, int32_t i)
{
    int64_t acc = 0;
    int32_t k;
    for (k = 0; k < n_xs; ++k) acc += xs[k][i];
    return acc;
}

#endif /* SNNC_FIXED_H */
