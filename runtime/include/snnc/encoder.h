/*
 * Real-valued input encoder (sensor samples -> quantized inputs), per channel c:
 *   x_q = sat[qmin, qmax](round_half_away(x / scale_c) + zp_c)
 * computed in float32 exactly as the integer simulator does (docs/fixed_point.md).
 * The network then sees x_q - zp_c (the generated step function subtracts zp).
 */
#ifndef SNNC_ENCODER_H
#define SNNC_ENCODER_H

#include <stdint.h>

#include "snnc/types.h"

/* x: [n] float32, scale/zp: per channel ([n]) or shared, xq: [n]. */
int snnc_encode_f32(int32_t n, const float *scale, int32_t scale_per, const int32_t *zp,
                    int32_t zp_per, int32_t qmin, int32_t qmax, const float *x, int16_t *xq);

#endif /* SNNC_ENCODER_H */
