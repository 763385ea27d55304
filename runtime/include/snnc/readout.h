/*
 * Readouts: running spike counts and membrane reductions; class = argmax at the end.
 * x is the exact sum of the incoming edges xs[0..n_xs-1] (each [n]).
 *
 *   count:    c = sat32(c + x)
 *   membrane: first step after reset and 'last': c = sat32(x);
 *             'sum': c = sat32(c + x);  'max': c = max(c, sat32(x))
 * Float versions drop the saturation. `started` (owned by the caller, zeroed at reset)
 * marks that the first step has happened. y receives c every step.
 */
#ifndef SNNC_READOUT_H
#define SNNC_READOUT_H

#include <stdint.h>

#include "snnc/types.h"

int snnc_count_q(int32_t n, int32_t *c, const int32_t *const *xs, int32_t n_xs, int32_t *y);
int snnc_membrane_q(int32_t n, int32_t reduce, int32_t *c, int32_t *started,
                    const int32_t *const *xs, int32_t n_xs, int32_t *y);
int snnc_count_f(int32_t n, snnc_real_t *c, const snnc_real_t *const *xs, int32_t n_xs,
                 snnc_real_t *y);
int snnc_membrane_f(int32_t n, int32_t reduce, snnc_real_t *c, int32_t *started,
                    const snnc_real_t *const *xs, int32_t n_xs, snnc_real_t *y);

/* Index of the largest of y[0..n-1] (ties -> lowest index), or -1 if n <= 0. */
int32_t snnc_argmax_i32(const int32_t *y, int32_t n);
int32_t snnc_argmax_f(const snnc_real_t *y, int32_t n);

#endif /* SNNC_READOUT_H */
