/*
 * snnc HLS kernel for ALIF (adaptive-threshold LIF), included by kernel.cpp after
 * snnc_hls.h when the model has an ALIF population. Equations: compiler/ops/alif.py.
 *
 *   v = sat(decay(v, beta) + x + leak);  theta = thr + b;  s = v > theta
 *   subtract: v -= s * theta;  zero: v = s ? reset_q : v;  b = sat(decay(b, rho) + s * jump)
 */
#ifndef SNNC_HLS_ALIF_H
#define SNNC_HLS_ALIF_H

#include "snnc_hls.h"

namespace snnc {

template <int N, typename X, typename S>
void alif(const X x[N], S v[N], S b[N], const int32_t beta[N], const int32_t rho[N],
          const int32_t leak[N], const int32_t thr[N], const int32_t jump[N],
          const int32_t reset_q[N], bool reset_zero, int state_bits, uint8_t s[N])
{
ALIF:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        const int64_t u = sat(decay(v[i], beta[i]) + (acc_t)x[i] + leak[i], state_bits);
        const int64_t theta = (int64_t)thr[i] + b[i];
        const bool f = u > theta;
        v[i] = (S)(!f ? u : reset_zero ? (int64_t)reset_q[i] : u - theta);
        b[i] = (S)sat(decay(b[i], rho[i]) + (f ? (int64_t)jump[i] : 0), state_bits);
        s[i] = (uint8_t)f;
    }
}

}  // namespace snnc

#endif /* SNNC_HLS_ALIF_H */
