/*
 * Integer ALIF population (adaptive-threshold LIF, LSNN / Bellec et al. 2018), one call
 * per step. The equations are compiler/ops/alif.py's (the golden model, int64
 * intermediates, sat = state_bits):
 *
 *   v     = sat(decay(v, beta_q) + x + leak_q)
 *   theta = thr_q + b
 *   s     = v > theta;  subtract: v -= s * theta;  zero: v = s ? reset_q : v
 *   b     = sat(decay(b, rho_q) + s * jump_q)
 *
 * v and b ([n] each) belong to the caller and are zeroed at reset. The float kernel
 * (snnc_alif_f, below) keeps v and the adaptation a.
 */
#ifndef SNNC_ALIF_H
#define SNNC_ALIF_H

#include <stdint.h>

#include "snnc/types.h"

typedef struct {
    int32_t n;           /* neurons */
    int32_t state_bits;  /* width of v and b: 2..32 */
    int32_t reset;       /* SNNC_RESET_SUBTRACT or SNNC_RESET_ZERO */
    snnc_pi32_t beta_q;  /* Q0.15 membrane decay */
    snnc_pi32_t rho_q;   /* Q0.15 adaptation decay */
    snnc_pi32_t leak_q;  /* state units */
    snnc_pi32_t thr_q;   /* base threshold b0, state units, > 0 */
    snnc_pi32_t jump_q;  /* threshold increase per spike (beta_a * jump), >= 0 */
    snnc_pi32_t reset_q; /* state units (reset 'zero') */
} snnc_alif_q_t;

/* xs: n_xs input vectors [n]; s: [n] spikes. SNNC_ERR_NULL / SNNC_ERR_ARG on bad input. */
int snnc_alif_q(const snnc_alif_q_t *p, int32_t *v, int32_t *b, const int32_t *const *xs,
                int32_t n_xs, snnc_spike_t *s);
/* The same with 16-bit state arrays (state_bits <= 16, else SNNC_ERR_ARG): half the RAM. */
int snnc_alif_q16(const snnc_alif_q_t *p, int16_t *v, int16_t *b, const int32_t *const *xs,
                  int32_t n_xs, snnc_spike_t *s);

/* Float ALIF (compiler/ops/alif.py float_step, same operation order):
 *   v = beta * v + (1 - beta) * (v_leak + r * x);  theta = thr + beta_a * a
 *   s = v > theta;  subtract: v -= s * theta;  zero: v = s ? v_reset : v
 *   a = rho * a + jump * s */
typedef struct {
    int32_t n;
    int32_t reset;
    snnc_preal_t beta;   /* membrane decay */
    snnc_preal_t rho;    /* adaptation decay */
    snnc_preal_t r;
    snnc_preal_t v_leak;
    snnc_preal_t thr;    /* b0 */
    snnc_preal_t beta_a; /* threshold gain of a */
    snnc_preal_t jump;   /* a += jump per spike */
    snnc_preal_t v_reset;
} snnc_alif_f_t;

int snnc_alif_f(const snnc_alif_f_t *p, snnc_real_t *v, snnc_real_t *a,
                const snnc_real_t *const *xs, int32_t n_xs, snnc_real_t *s);

#endif /* SNNC_ALIF_H */
