/*
 * Convolution and pooling kernels of integer models (issue 17; compiler/ir/qnodes.py
 * QConv, compiler/ir/nodes.py SumPool2d). Layout: channels first, row-major, no batch:
 * x[c][h][w]. A Conv1d is a Conv2d with H = 1 (kernel height 1).
 *
 *   acc[co,oy,ox] = sat32(sum_{ci,ky,kx} w[co][ci][ky][kx] *
 *                         x[g*Cin/G + ci][oy*sh + ky*dh - ph][ox*sw + kx*dw - pw] + bias[co])
 *   y             = sat_{out_bits}(rshift_round(acc * mult[co], shift[co]))
 *
 * exactly as compiler/ir/interpret_int.py (zero padding; g = co / (Cout/G)).
 *
 * Two schedules, one result: `snnc_qconv2d_*` (real-valued inputs) gathers each output
 * from its window; `snnc_qconv2d_*_s` (spike inputs) scatters each spike into the
 * outputs it reaches, so the work follows the events. The scatter accumulates in the
 * int32 output when the code generator proved |acc| < 2^31 (wide == NULL), else in the
 * caller's int64 scratch `wide` [Cout*Hout*Wout].
 */
#ifndef SNNC_CONV_H
#define SNNC_CONV_H

#include <stdint.h>

#include "snnc/synapse.h"
#include "snnc/types.h"

/* Geometry of a 2-D convolution or pooling window (sizes in elements). */
typedef struct {
    int32_t c_in, h_in, w_in;    /* input */
    int32_t c_out, h_out, w_out; /* output */
    int32_t kh, kw;              /* kernel */
    int32_t sh, sw;              /* stride */
    int32_t ph, pw;              /* zero padding */
    int32_t dh, dw;              /* dilation */
    int32_t groups;
} snnc_conv2d_t;

/* p->n_out = Cout*Hout*Wout, p->n_in = Cin*Hin*Win; mult/shift per output channel
 * (p->mult.per is 0 or 1: one value, or one per channel). */
int snnc_qconv2d_i8(const snnc_qsyn_t *p, const snnc_conv2d_t *g, const int8_t *w,
                    const int32_t *x, int32_t *y);
int snnc_qconv2d_i16(const snnc_qsyn_t *p, const snnc_conv2d_t *g, const int16_t *w,
                     const int32_t *x, int32_t *y);
int snnc_qconv2d_i8_s(const snnc_qsyn_t *p, const snnc_conv2d_t *g, const int8_t *w,
                      const snnc_spike_t *x, int64_t *wide, int32_t *y);
int snnc_qconv2d_i16_s(const snnc_qsyn_t *p, const snnc_conv2d_t *g, const int16_t *w,
                       const snnc_spike_t *x, int64_t *wide, int32_t *y);

/* Sum pooling per channel (c_out == c_in, groups ignored): y = sat32(window sum). */
int snnc_sumpool2d_q(const snnc_conv2d_t *g, const int32_t *x, int32_t *y);
int snnc_sumpool2d_q_s(const snnc_conv2d_t *g, const snnc_spike_t *x, int32_t *y);

#endif /* SNNC_CONV_H */
