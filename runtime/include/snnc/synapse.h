/*
 * Synapse kernels, one call per step (docs/fixed_point.md, compiler/ir/qnodes.py):
 *
 *   acc_i = sat32(sum_j w[i,j] * x[j] + bias[i])        (exact, then clamp to int32)
 *   y_i   = sat_{out_bits}(rshift_round(acc_i * mult_i, shift_i))
 *
 * so y is already in the target population's state units. Weights are int8 (int4 models
 * store [-8, 7] in int8) or int16; activations are int32 (real inputs x_q - zp, membrane
 * values) or, for the `_s` variants, spikes (snnc_spike_t, 0/1, one byte each).
 *
 * Storage: dense row-major, or CSC by presynaptic neuron: a non-zero input j (a spike)
 * touches only column j's entries col_ptr[j] .. col_ptr[j+1]-1, so the work follows the
 * events, not the matrix size (DESIGN.md section 4).
 *
 * Exactness of the sparse sums: the CSC kernels accumulate straight into the int32
 * output when the caller passes wide == NULL, which is exact when the code generator
 * has proven |acc| < 2^31 for every input (sum_j |w_ij| * max|x_j| + |b_i|); otherwise
 * they accumulate in the caller's int64 scratch `wide` [n_out]. Delay rings follow
 * the same rule (int32 or int64 slots).
 */
#ifndef SNNC_SYNAPSE_H
#define SNNC_SYNAPSE_H

#include <stdint.h>

#include "snnc/types.h"

/* Requantization of a synapse layer's accumulators into its target's units. */
typedef struct {
    int32_t n_out;
    int32_t n_in;
    int32_t out_bits;     /* 16 or 32 */
    const int32_t *bias;  /* [n_out] or NULL */
    snnc_pi32_t mult;     /* >= 0 */
    snnc_pi32_t shift;    /* [0, 62] */
} snnc_qsyn_t;

/* Dense: w [n_out * n_in] row-major, x [n_in], y [n_out] (overwritten). */
int snnc_qdense_i8(const snnc_qsyn_t *p, const int8_t *w, const int32_t *x, int32_t *y);
int snnc_qdense_i16(const snnc_qsyn_t *p, const int16_t *w, const int32_t *x, int32_t *y);
int snnc_qdense_i8_s(const snnc_qsyn_t *p, const int8_t *w, const snnc_spike_t *x, int32_t *y);
int snnc_qdense_i16_s(const snnc_qsyn_t *p, const int16_t *w, const snnc_spike_t *x,
                      int32_t *y);

/* CSC: col_ptr [n_in + 1], row [nnz], w [nnz]; wide: int64 scratch [n_out] or NULL. */
int snnc_qcsc_i8(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                 const int8_t *w, const int32_t *x, int64_t *wide, int32_t *y);
int snnc_qcsc_i16(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                  const int16_t *w, const int32_t *x, int64_t *wide, int32_t *y);
int snnc_qcsc_i8_s(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                   const int8_t *w, const snnc_spike_t *x, int64_t *wide, int32_t *y);
int snnc_qcsc_i16_s(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                    const int16_t *w, const snnc_spike_t *x, int64_t *wide, int32_t *y);

/*
 * Synaptic delays: acc_i[t] = sat32(sum_j w[i,j] x_j[t - d[i,j]] + bias_i), then rq.
 * ring: [(max_delay + 1) * n_out] slots owned by the caller (zeroed at reset); *head:
 * the slot of step t. An event of input j at step t adds w[i,j] x_j into slot
 * (head + d[i,j]) mod (max_delay + 1) of neuron i; then slot head is read out, cleared,
 * and head advances. CSC storage with one delay per stored synapse.
 */
int snnc_qdelay_i8_r32(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                       const int8_t *w, const uint16_t *delay, int32_t max_delay,
                       const int32_t *x, int32_t *ring, int32_t *head, int32_t *y);
int snnc_qdelay_i8_r64(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                       const int8_t *w, const uint16_t *delay, int32_t max_delay,
                       const int32_t *x, int64_t *ring, int32_t *head, int32_t *y);
int snnc_qdelay_i16_r32(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                        const int16_t *w, const uint16_t *delay, int32_t max_delay,
                        const int32_t *x, int32_t *ring, int32_t *head, int32_t *y);
int snnc_qdelay_i16_r64(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                        const int16_t *w, const uint16_t *delay, int32_t max_delay,
                        const int32_t *x, int64_t *ring, int32_t *head, int32_t *y);
/* ... and with spike inputs. */
int snnc_qdelay_i8_r32_s(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                         const int8_t *w, const uint16_t *delay, int32_t max_delay,
                         const snnc_spike_t *x, int32_t *ring, int32_t *head, int32_t *y);
int snnc_qdelay_i8_r64_s(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                         const int8_t *w, const uint16_t *delay, int32_t max_delay,
                         const snnc_spike_t *x, int64_t *ring, int32_t *head, int32_t *y);
int snnc_qdelay_i16_r32_s(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                          const int16_t *w, const uint16_t *delay, int32_t max_delay,
                          const snnc_spike_t *x, int32_t *ring, int32_t *head, int32_t *y);
int snnc_qdelay_i16_r64_s(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,
                          const int16_t *w, const uint16_t *delay, int32_t max_delay,
                          const snnc_spike_t *x, int64_t *ring, int32_t *head, int32_t *y);

/* Float synapses (snnc_real_t): y = W x (+ b); same storage forms. */
int snnc_dense_f(const snnc_real_t *w, const snnc_real_t *bias, int32_t n_out,
                 int32_t n_in, const snnc_real_t *x, snnc_real_t *y);
/* Spike-fed dense layer, weights column-major: wt[j * n_out + i] = W[i][j]; skips the
 * columns of zero inputs. */
int snnc_dense_event_f(const snnc_real_t *wt, const snnc_real_t *bias, int32_t n_out,
                       int32_t n_in, const snnc_real_t *x, snnc_real_t *y);
int snnc_csc_f(const int32_t *col_ptr, const uint16_t *row, const snnc_real_t *w,
               const snnc_real_t *bias, int32_t n_out, int32_t n_in, const snnc_real_t *x,
               snnc_real_t *y);
int snnc_delay_f(const int32_t *col_ptr, const uint16_t *row, const snnc_real_t *w,
                 const uint16_t *delay, int32_t max_delay, int32_t n_out, int32_t n_in,
                 const snnc_real_t *x, snnc_real_t *ring, int32_t *head, snnc_real_t *y);

/*
 * Glue: a node's input is the sum of its incoming edges (NIR semantics).
 * snnc_sum_i32 writes sat32 of the exact sum of n_src int32 vectors (exact whenever
 * the sum fits); snnc_sum_f adds left to right as the float simulator does.
 */
int snnc_sum_i32(const int32_t *const *src, int32_t n_src, int32_t n, int32_t *y);
int snnc_sum_f(const snnc_real_t *const *src, int32_t n_src, int32_t n, snnc_real_t *y);
int snnc_scale_f(const snnc_preal_t *scale, int32_t n, const snnc_real_t *x,
                 snnc_real_t *y);  /* y = x * scale */
int snnc_threshold_f(const snnc_preal_t *thr, int32_t n, const snnc_real_t *x,
                     snnc_real_t *y);  /* y = x > thr */

#endif /* SNNC_SYNAPSE_H */
