/*
 * snnc HLS kernel library: one template per node kind, in the style of hls4ml's
 * nnet_utils. Vitis HLS synthesizes it; plain g++ compiles it unchanged for C simulation
 * (the pragmas are then ignored) and for the A53 host's software kernel (HOST_SIM).
 *
 * Arithmetic is the fixed-point contract of docs/fixed_point.md, bit for bit: exact
 * int64 accumulation, one clamp to int32, requantization acc * mult >> shift with round
 * half up, Q0.15 decays, saturating states. Standard integer types only (no ap_int.h),
 * so the same source builds without the vendor headers; the estimator in
 * targets/mpsoc/estimate.py accounts for the widths synthesis would actually need.
 *
 * Parallelism: a synapse layer of N_OUT x N_IN weights runs on UNITS multiply-accumulate
 * units for ceil(N_IN * N_OUT / UNITS) pipelined rounds (II = 1), i.e. reuse factor
 * R = N_IN * N_OUT / UNITS as in hls4ml; neuron, requantization and readout loops are
 * pipelined over their N elements at II = 1.
 */
#ifndef SNNC_HLS_H
#define SNNC_HLS_H

#include <stdint.h>

namespace snnc {

typedef int64_t acc_t;

static inline int64_t sat(int64_t x, int bits)
{
#pragma HLS INLINE
    const int64_t hi = ((int64_t)1 << (bits - 1)) - 1;
    const int64_t lo = -hi - 1;
    return x < lo ? lo : (x > hi ? hi : x);
}

/* (x + 2^(n-1)) >> n for n > 0 (arithmetic shift: round half up), x for n == 0. */
static inline int64_t rshift_round(int64_t x, int32_t n)
{
#pragma HLS INLINE
    return n > 0 ? (x + ((int64_t)1 << (n - 1))) >> n : x;
}

static inline int64_t decay(int64_t v, int32_t q15)
{
#pragma HLS INLINE
    return rshift_round((int64_t)q15 * v, 15);
}

static inline int64_t requant(int64_t acc, int32_t mult, int32_t shift, int bits)
{
#pragma HLS INLINE
    return sat(rshift_round(sat(acc, 32) * (int64_t)mult, shift), bits);
}

/* Real-valued input: y = x_q - zero_point. */
template <int N, typename X>
void qinput(const X x[N], const int32_t zp[N], int32_t y[N])
{
QINPUT:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        y[i] = (int32_t)x[i] - zp[i];
    }
}

/* Spike input: 0/1 passed through. */
template <int N, typename X>
void spikes_in(const X x[N], uint8_t y[N])
{
SPIKES_IN:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        y[i] = (uint8_t)x[i];
    }
}

/* Add the bias and requantize the accumulators into the target population's units
 * (one neuron per cycle, so bias/mult/shift need no partitioning). */
template <int N_OUT>
void requant_out(const acc_t acc[N_OUT], const int32_t bias[N_OUT], const int32_t mult[N_OUT],
                 const int32_t shift[N_OUT], int out_bits, int32_t y[N_OUT])
{
REQUANT:
    for (int i = 0; i < N_OUT; i++) {
#pragma HLS PIPELINE II=1
        y[i] = (int32_t)requant(acc[i] + bias[i], mult[i], shift[i], out_bits);
    }
}

/* QLinear: acc_i = sum_j w[i][j] x_j + bias_i (exact), then requant. w is row-major
 * [N_OUT * N_IN]; round r, unit m handles flat index k = r * UNITS + m. */
template <int N_IN, int N_OUT, int UNITS, typename W, typename X>
void dense(const X x[N_IN], const W w[N_OUT * N_IN], const int32_t bias[N_OUT],
           const int32_t mult[N_OUT], const int32_t shift[N_OUT], int out_bits, int32_t y[N_OUT])
{
    acc_t acc[N_OUT];
#pragma HLS ARRAY_PARTITION variable=acc complete
DENSE_INIT:
    for (int i = 0; i < N_OUT; i++) {
#pragma HLS UNROLL
        acc[i] = 0;
    }
    const int rounds = (N_IN * N_OUT + UNITS - 1) / UNITS;
    /* Unit m walks flat indices k = r * UNITS + m as (row, column) counters advanced by
     * the compile-time constants UNITS / N_IN and UNITS % N_IN: no divider or modulo
     * in the unrolled datapath, only an add and one compare per unit. */
    int row[UNITS], col[UNITS];
#pragma HLS ARRAY_PARTITION variable=row complete
#pragma HLS ARRAY_PARTITION variable=col complete
DENSE_UNITS:
    for (int m = 0; m < UNITS; m++) {
#pragma HLS UNROLL
        row[m] = m / N_IN; /* constants after unrolling */
        col[m] = m % N_IN;
    }
DENSE_MAC:
    for (int r = 0; r < rounds; r++) {
#pragma HLS PIPELINE II=1
        for (int m = 0; m < UNITS; m++) {
#pragma HLS UNROLL
            if (row[m] < N_OUT) {
                acc[row[m]] += (acc_t)w[r * UNITS + m] * (acc_t)x[col[m]];
            }
            col[m] += UNITS % N_IN;
            row[m] += UNITS / N_IN;
            if (col[m] >= N_IN) {
                col[m] -= N_IN;
                row[m] += 1;
            }
        }
    }
    requant_out<N_OUT>(acc, bias, mult, shift, out_bits, y);
}

/* QDelayedLinear: a ring of the last DEPTH = max_delay + 1 input vectors; synapse k reads
 * the input of step t - delay[k] (zero before the first step, since reset clears the ring). */
template <int N_IN, int N_OUT, int UNITS, int DEPTH, typename W, typename D, typename X, typename H>
void delayed(const X x[N_IN], H hist[DEPTH][N_IN], int32_t &ptr, const W w[N_OUT * N_IN],
             const D delay[N_OUT * N_IN], const int32_t bias[N_OUT], const int32_t mult[N_OUT],
             const int32_t shift[N_OUT], int out_bits, int32_t y[N_OUT])
{
    acc_t acc[N_OUT];
#pragma HLS ARRAY_PARTITION variable=acc complete
DELAY_PUSH:
    for (int j = 0; j < N_IN; j++) {
#pragma HLS PIPELINE II=1
        hist[ptr][j] = (H)x[j];
    }
DELAY_INIT:
    for (int i = 0; i < N_OUT; i++) {
#pragma HLS UNROLL
        acc[i] = 0;
    }
    const int rounds = (N_IN * N_OUT + UNITS - 1) / UNITS;
    int row[UNITS], col[UNITS]; /* as in dense(): no divider or modulo per unit */
#pragma HLS ARRAY_PARTITION variable=row complete
#pragma HLS ARRAY_PARTITION variable=col complete
DELAY_UNITS:
    for (int m = 0; m < UNITS; m++) {
#pragma HLS UNROLL
        row[m] = m / N_IN;
        col[m] = m % N_IN;
    }
DELAY_MAC:
    for (int r = 0; r < rounds; r++) {
#pragma HLS PIPELINE II=1
        for (int m = 0; m < UNITS; m++) {
#pragma HLS UNROLL
            if (row[m] < N_OUT) {
                const int k = r * UNITS + m;
                int slot = ptr - (int)delay[k]; /* 0 <= delay < DEPTH, 0 <= ptr < DEPTH */
                if (slot < 0) slot += DEPTH;
                acc[row[m]] += (acc_t)w[k] * (acc_t)hist[slot][col[m]];
            }
            col[m] += UNITS % N_IN;
            row[m] += UNITS / N_IN;
            if (col[m] >= N_IN) {
                col[m] -= N_IN;
                row[m] += 1;
            }
        }
    }
    ptr = ptr + 1 == DEPTH ? 0 : ptr + 1;
    requant_out<N_OUT>(acc, bias, mult, shift, out_bits, y);
}

/* QConv (Conv1d is the H = 1 case): per output pixel, gather the zero-padded receptive
 * field of every group into patch[GROUPS][K] (K = CIN / GROUPS * KH * KW taps), then run
 * dense()'s MAC schedule over the [COUT][K] weight matrix (UNITS units, II = 1), output
 * channel co reading its group's patch, and requantize per output channel. The same
 * gather serves spike (uint8) and real-valued (int32) inputs: the datapath is identical
 * and a zero input contributes nothing. Output layout [COUT][OH][OW], as the simulator. */
template <int CIN, int H, int W, int COUT, int GROUPS, int KH, int KW, int SH, int SW, int PH,
          int PW, int DH, int DW, int OH, int OW, int UNITS, typename Wt, typename X>
void conv(const X x[CIN * H * W], const Wt w[COUT * (CIN / GROUPS) * KH * KW],
          const int32_t bias[COUT], const int32_t mult[COUT], const int32_t shift[COUT],
          int out_bits, int32_t y[COUT * OH * OW])
{
    const int CPG_IN = CIN / GROUPS;
    const int CPG_OUT = COUT / GROUPS;
    const int K = CPG_IN * KH * KW;
    enum { PATCH_BANKS = UNITS < K ? UNITS : K }; /* taps one MAC round reads per group */
    X patch[GROUPS][K];
#pragma HLS ARRAY_PARTITION variable=patch complete dim=1
#pragma HLS ARRAY_PARTITION variable=patch cyclic factor=PATCH_BANKS dim=2
    acc_t acc[COUT];
#pragma HLS ARRAY_PARTITION variable=acc complete
    int row[UNITS], col[UNITS]; /* as in dense(): no divider or modulo per unit */
#pragma HLS ARRAY_PARTITION variable=row complete
#pragma HLS ARRAY_PARTITION variable=col complete
    const int rounds = (K * COUT + UNITS - 1) / UNITS;
CONV_PIXEL:
    for (int p = 0; p < OH * OW; p++) {
        const int oy = p / OW, ox = p % OW;
CONV_GATHER:
        for (int g = 0; g < GROUPS; g++) {
            for (int j = 0; j < K; j++) {
#pragma HLS PIPELINE II=1
                const int ci = j / (KH * KW), ky = (j / KW) % KH, kx = j % KW;
                const int iy = oy * SH + ky * DH - PH, ix = ox * SW + kx * DW - PW;
                const bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
                patch[g][j] = inside ? x[((g * CPG_IN + ci) * H + iy) * W + ix] : (X)0;
            }
        }
CONV_INIT:
        for (int i = 0; i < COUT; i++) {
#pragma HLS UNROLL
            acc[i] = 0;
        }
CONV_UNITS:
        for (int m = 0; m < UNITS; m++) {
#pragma HLS UNROLL
            row[m] = m / K; /* constants after unrolling */
            col[m] = m % K;
        }
CONV_MAC:
        for (int r = 0; r < rounds; r++) {
#pragma HLS PIPELINE II=1
            for (int m = 0; m < UNITS; m++) {
#pragma HLS UNROLL
                if (row[m] < COUT) {
                    acc[row[m]] += (acc_t)w[r * UNITS + m] * (acc_t)patch[row[m] / CPG_OUT][col[m]];
                }
                col[m] += UNITS % K;
                row[m] += UNITS / K;
                if (col[m] >= K) {
                    col[m] -= K;
                    row[m] += 1;
                }
            }
        }
CONV_REQUANT:
        for (int i = 0; i < COUT; i++) {
#pragma HLS PIPELINE II=1
            y[i * OH * OW + p] = (int32_t)requant(acc[i] + bias[i], mult[i], shift[i], out_bits);
        }
    }
}

/* SumPool2d: y[c][oy][ox] = sat32(sum of the zero-padded KH x KW window), one output per
 * cycle (the window's KH * KW reads are unrolled). Spike windows sum to a count. */
template <int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int OH, int OW,
          typename X>
void sum_pool(const X x[C * H * W], int32_t y[C * OH * OW])
{
SUM_POOL:
    for (int o = 0; o < C * OH * OW; o++) {
#pragma HLS PIPELINE II=1
        const int c = o / (OH * OW), oy = (o / OW) % OH, ox = o % OW;
        acc_t s = 0;
SUM_POOL_WINDOW:
        for (int a = 0; a < KH; a++) {
            for (int b = 0; b < KW; b++) {
                const int iy = oy * SH + a - PH, ix = ox * SW + b - PW;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W) {
                    s += (acc_t)x[(c * H + iy) * W + ix];
                }
            }
        }
        y[o] = (int32_t)sat(s, 32);
    }
}

/* Spike and reset shared by the spiking populations (v > thr; subtract or zero reset). */
static inline uint8_t fire(int64_t &v, int32_t thr, int32_t reset_q, bool reset_zero)
{
#pragma HLS INLINE
    const bool s = v > thr;
    if (s) {
        v = reset_zero ? (int64_t)reset_q : v - thr;
    }
    return (uint8_t)s;
}

/* QLIF: v = sat(decay(v, beta) + x + leak); spike; reset. */
template <int N, typename X, typename S>
void lif(const X x[N], S v[N], const int32_t beta[N], const int32_t leak[N],
         const int32_t thr[N], const int32_t reset_q[N], bool reset_zero, int state_bits,
         uint8_t s[N])
{
LIF:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        int64_t u = sat(decay(v[i], beta[i]) + (acc_t)x[i] + leak[i], state_bits);
        s[i] = fire(u, thr[i], reset_q[i], reset_zero);
        v[i] = (S)u;
    }
}

/* QIF: v = sat(v + x); spike; reset. */
template <int N, typename X, typename S>
void if_neuron(const X x[N], S v[N], const int32_t thr[N], const int32_t reset_q[N],
               bool reset_zero, int state_bits, uint8_t s[N])
{
IF:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        int64_t u = sat((int64_t)v[i] + (acc_t)x[i], state_bits);
        s[i] = fire(u, thr[i], reset_q[i], reset_zero);
        v[i] = (S)u;
    }
}

/* QCubaLIF: i = sat_cur(decay(i, alpha) + x); v = sat(decay(v, beta) + rsr(i*mult_v,
 * shift_v) + leak); spike; reset. */
template <int N, typename X, typename S, typename C>
void cubalif(const X x[N], C cur[N], S v[N], const int32_t alpha[N], const int32_t beta[N],
             const int32_t mult_v[N], const int32_t shift_v[N], const int32_t leak[N],
             const int32_t thr[N], const int32_t reset_q[N], bool reset_zero, int cur_bits,
             int state_bits, uint8_t s[N])
{
CUBALIF:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        const int64_t c = sat(decay(cur[i], alpha[i]) + (acc_t)x[i], cur_bits);
        int64_t u = sat(decay(v[i], beta[i]) + rshift_round(c * (int64_t)mult_v[i], shift_v[i])
                        + leak[i], state_bits);
        s[i] = fire(u, thr[i], reset_q[i], reset_zero);
        cur[i] = (C)c;
        v[i] = (S)u;
    }
}

/* QLI: v = sat(decay(v, beta) + x + leak); emits v. */
template <int N, typename X, typename S>
void li(const X x[N], S v[N], const int32_t beta[N], const int32_t leak[N], int state_bits,
        int32_t y[N])
{
LI:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        const int64_t u = sat(decay(v[i], beta[i]) + (acc_t)x[i] + leak[i], state_bits);
        v[i] = (S)u;
        y[i] = (int32_t)u;
    }
}

/* QThreshold: y = x > thr on the exact input sum (stateless). */
template <int N, typename X>
void threshold(const X x[N], const int32_t thr[N], uint8_t y[N])
{
THRESHOLD:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        y[i] = (uint8_t)((acc_t)x[i] > (acc_t)thr[i]);
    }
}

/* SpikeCountArgmax: c = sat32(c + x); emits c. */
template <int N, typename X>
void spike_count(const X x[N], int32_t c[N])
{
SPIKE_COUNT:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        c[i] = (int32_t)sat((int64_t)c[i] + (acc_t)x[i], 32);
    }
}

/* MembraneArgmax: first step after reset (and every step for "last") c = sat32(x);
 * "sum": c = sat32(c + x); "max": c = max(c, sat32(x)). mode: 0 sum, 1 max, 2 last. */
template <int N, typename X>
void membrane_readout(const X x[N], int32_t c[N], uint8_t &started, int mode)
{
MEMBRANE:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        const int64_t xi = sat((acc_t)x[i], 32);
        if (!started || mode == 2) {
            c[i] = (int32_t)xi;
        } else if (mode == 0) {
            c[i] = (int32_t)sat((int64_t)c[i] + xi, 32);
        } else {
            c[i] = (int32_t)(xi > c[i] ? xi : c[i]);
        }
    }
    started = 1;
}

/* Flatten / Output: copy. */
template <int N, typename X, typename Y>
void copy(const X x[N], Y y[N])
{
COPY:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        y[i] = (Y)x[i];
    }
}

/* Zero a state or buffer array (the kernel's reset). */
template <int N, typename T>
void clear(T a[N])
{
CLEAR:
    for (int i = 0; i < N; i++) {
#pragma HLS PIPELINE II=1
        a[i] = 0;
    }
}

}  // namespace snnc

#endif
