/*
 * Neuron population kernels, one call per step. State arrays (v, i) belong to the
 * caller and are zeroed at reset; parameters are shared (per == 0) or per neuron.
 *
 * Input: a population's x is the sum of its incoming edges (xs[0..n_xs-1], each [n]),
 * added exactly in 64 bits (integer) or left to right (float), as the simulators do.
 * Synapses have already requantized their outputs into this population's units.
 *
 * Integer (compiler/ir/interpret_int.py; intermediates 64-bit, sat = state width):
 *   LIF:     v = sat(decay(v, beta_q) + x + leak_q)
 *            s = v > thr_q;  subtract: v -= s * thr_q;  zero: v = s ? reset_q : v
 *   LI:      v = sat(decay(v, beta_q) + x + leak_q);  y = v
 *   IF:      v = sat(v + x);  spike/reset as LIF
 *   Threshold: y = x > thr_q (stateless)
 *   CubaLIF: i = sat_cur(decay(i, alpha_q) + x)
 *            v = sat(decay(v, beta_q) + rshift_round(i * mult_v, shift_v) + leak_q)
 *            spike/reset as LIF
 * Float (compiler/ir/interpret.py, same operation order):
 *   LIF/LI:  v = beta * v + (1 - beta) * (v_leak + r * x)
 *   IF:      v = v + r * x
 *   CubaLIF: i = alpha * i + x;  v = beta * v + (1 - beta) * (v_leak + r * w_in * i)
 * Outputs: spikes 0/1 (LIF, IF, CubaLIF, Threshold; snnc_spike_t in the integer kernels)
 * or the membrane (LI).
 */
#ifndef SNNC_NEURON_H
#define SNNC_NEURON_H

#include <stdint.h>

#include "snnc/types.h"

/* Integer LIF / LI / IF population. LI reads beta_q and leak_q only; IF reads thr_q,
 * reset_q and reset only (unused views may be {NULL, 0}). */
typedef struct {
    int32_t n;           /* neurons */
    int32_t state_bits;  /* width of v: 16 or 32 */
    int32_t reset;       /* SNNC_RESET_SUBTRACT or SNNC_RESET_ZERO */
    snnc_pi32_t beta_q;  /* Q0.15 decay in [0, 32768] */
    snnc_pi32_t leak_q;  /* state units */
    snnc_pi32_t thr_q;   /* state units, > 0 */
    snnc_pi32_t reset_q; /* state units (reset 'zero') */
} snnc_lif_q_t;

/* Integer CubaLIF population. */
typedef struct {
    int32_t n;
    int32_t cur_bits;    /* width of the synaptic current i */
    int32_t state_bits;  /* width of v */
    int32_t reset;
    snnc_pi32_t alpha_q; /* Q0.15 synaptic decay */
    snnc_pi32_t beta_q;  /* Q0.15 membrane decay */
    snnc_pi32_t mult_v;  /* current -> membrane units */
    snnc_pi32_t shift_v;
    snnc_pi32_t leak_q;
    snnc_pi32_t thr_q;
    snnc_pi32_t reset_q;
} snnc_cubalif_q_t;

/* v: [n] state; xs: n_xs input vectors [n]; s/y: [n] outputs. */
int snnc_lif_q(const snnc_lif_q_t *p, int32_t *v, const int32_t *const *xs, int32_t n_xs,
               snnc_spike_t *s);
int snnc_li_q(const snnc_lif_q_t *p, int32_t *v, const int32_t *const *xs, int32_t n_xs,
              int32_t *y);
int snnc_if_q(const snnc_lif_q_t *p, int32_t *v, const int32_t *const *xs, int32_t n_xs,
              snnc_spike_t *s);
int snnc_cubalif_q(const snnc_cubalif_q_t *p, int32_t *i, int32_t *v,
                   const int32_t *const *xs, int32_t n_xs, snnc_spike_t *s);

/* The same with 16-bit state arrays (state_bits, and cur_bits, at most 16): half the RAM.
 * SNNC_ERR_ARG if a width does not fit. */
int snnc_lif_q16(const snnc_lif_q_t *p, int16_t *v, const int32_t *const *xs, int32_t n_xs,
                 snnc_spike_t *s);
int snnc_if_q16(const snnc_lif_q_t *p, int16_t *v, const int32_t *const *xs, int32_t n_xs,
                snnc_spike_t *s);
int snnc_cubalif_q16(const snnc_cubalif_q_t *p, int16_t *i, int16_t *v,
                     const int32_t *const *xs, int32_t n_xs, snnc_spike_t *s);

/* Integer Heaviside (stateless): y = x > thr_q, x the exact sum of the incoming edges. */
int snnc_threshold_q(int32_t n, const snnc_pi32_t *thr_q, const int32_t *const *xs,
                     int32_t n_xs, snnc_spike_t *y);

/* Float LIF / LI / IF population (LI ignores thr/v_reset, IF ignores beta/v_leak). */
typedef struct {
    int32_t n;
    int32_t reset;
    snnc_preal_t beta;
    snnc_preal_t r;
    snnc_preal_t v_leak;
    snnc_preal_t thr;
    snnc_preal_t v_reset;
} snnc_lif_f_t;

typedef struct {
    int32_t n;
    int32_t reset;
    snnc_preal_t alpha;
    snnc_preal_t beta;
    snnc_preal_t r;
    snnc_preal_t w_in;
    snnc_preal_t v_leak;
    snnc_preal_t thr;
    snnc_preal_t v_reset;
} snnc_cubalif_f_t;

int snnc_lif_f(const snnc_lif_f_t *p, snnc_real_t *v, const snnc_real_t *const *xs,
               int32_t n_xs, snnc_real_t *s);
int snnc_li_f(const snnc_lif_f_t *p, snnc_real_t *v, const snnc_real_t *const *xs,
              int32_t n_xs, snnc_real_t *y);
int snnc_if_f(const snnc_lif_f_t *p, snnc_real_t *v, const snnc_real_t *const *xs,
              int32_t n_xs, snnc_real_t *s);
int snnc_cubalif_f(const snnc_cubalif_f_t *p, snnc_real_t *i, snnc_real_t *v,
                   const snnc_real_t *const *xs, int32_t n_xs, snnc_real_t *s);

#endif /* SNNC_NEURON_H */
