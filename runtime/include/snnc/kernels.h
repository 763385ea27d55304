/*
 * Specialized integer kernels for generated code (compiler/codegen/c.py, fused layers).
 *
 * The generated step function calls these with compile-time constant sizes, so every
 * call inlines into a loop specialized for its layer (CMSIS-NN style: no parameter
 * structs, no run-time checks in the step path; model.c checks nothing at run time that
 * the compiler proved at compile time). Every kernel has one portable C99 definition;
 * where an ISA has a faster instruction sequence (SMMULR, SSAT, SXTB16/SADD16 on
 * Armv7E-M) the fast version computes the same bits, and the portable one is what other
 * compilers and the host tests run.
 *
 * Arithmetic follows docs/fixed_point.md. The generator only picks a kernel after
 * proving its preconditions (value bounds, shift ranges), noted at each kernel.
 */
#ifndef SNNC_KERNELS_H
#define SNNC_KERNELS_H

#include <stdint.h>

#include "snnc/types.h"

#if defined(__GNUC__)
#define SNNC_MEMCPY __builtin_memcpy
#define SNNC_INLINE static inline __attribute__((always_inline))
#define SNNC_ALIGN4 __attribute__((aligned(4)))
#define SNNC_UNROLL(n) _Pragma(SNNC_STR(GCC unroll n))
#define SNNC_STR(x) #x
#else
#include <string.h>
#define SNNC_MEMCPY memcpy
#define SNNC_UNROLL(n)
#define SNNC_INLINE static inline
#define SNNC_ALIGN4
#endif

#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(SNNC_PORTABLE)
#define SNNC_ARM_DSP 1
#include <arm_acle.h>
#endif
#if defined(__aarch64__) && defined(__ARM_NEON) && !defined(SNNC_PORTABLE)
#define SNNC_NEON 1
#include <arm_neon.h>
#endif

/* Generated neuron loops: unrolled where that measured faster (A72; on the M4 the
 * register pressure of an unrolled body costs more than the loop tests it saves). */
#if defined(__aarch64__)
#define SNNC_NEURON_UNROLL SNNC_UNROLL(4)
#else
#define SNNC_NEURON_UNROLL
#endif

/* round(a * m / 2^32) with round half up: (a * m + 2^31) >> 32, exact (SMMULR). */
SNNC_INLINE int32_t snnc_mulhr(int32_t a, int32_t m)
{
#if defined(SNNC_ARM_DSP)
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(m));
    return r;
#else
    return (int32_t)(((int64_t)a * m + ((int64_t)1 << 31)) >> 32);
#endif
}

/* Clamp x to the signed `bits`-bit range (bits a compile-time constant in 2..32). */
SNNC_INLINE int32_t snnc_ssat(int32_t x, const int bits)
{
    if (bits >= 32) return x; /* the generator proved no saturation can occur */
    const int32_t hi = (int32_t)(((int64_t)1 << (bits - 1)) - 1);
    const int32_t lo = -hi - 1;
#if defined(SNNC_ARM_DSP) && defined(__OPTIMIZE__)
    /* GCC turns the clamp into compare chains once it is merged with nearby code. */
    if (__builtin_constant_p(bits) && bits < 32) {
        int32_t r;
        __asm__("ssat %0, %1, %2" : "=r"(r) : "n"(bits), "r"(x));
        return r;
    }
#endif
    return x > hi ? hi : (x < lo ? lo : x);
}

/*
 * Requantize rq(acc, m, sh, bits) = sat_bits(rshift_round(acc * m, sh)) for
 * sh <= 32 when |acc| << (32 - sh) < 2^31 (proved by the generator from the layer's
 * accumulator bound): (acc * 2^(32-sh) * m + 2^31) >> 32 is the same number exactly.
 * `l` = 32 - sh.
 */
SNNC_INLINE int32_t snnc_rq_hr(int32_t acc, int32_t m, int32_t l, const int bits)
{
    return snnc_ssat(snnc_mulhr((int32_t)((uint32_t)acc << l), m), bits);
}

/*
 * The same for shifts above 32: with t = sh + l - 32 >= 1 (a per-layer constant) and
 * H = floor(a * m / 2^32) for a = acc << l, rshift_round(acc * m, sh) = (H + 2^(t-1)) >> t
 * exactly (the low word cannot carry into a multiple of 2^t). One SMULL on the M4.
 */
SNNC_INLINE int32_t snnc_rq_h(int32_t acc, int32_t m, int32_t l, const int t, const int bits)
{
    const int32_t h = (int32_t)(((int64_t)(int32_t)((uint32_t)acc << l) * m) >> 32);
    return snnc_ssat((h + (1 << (t - 1))) >> t, bits);
}

/* The index of the lowest set bit of x != 0 (RBIT + CLZ on the M4). */
SNNC_INLINE int32_t snnc_ctz32(uint32_t x)
{
#if defined(__GNUC__) && !defined(SNNC_PORTABLE)
    return __builtin_ctz(x);
#else
    int32_t i = 0;
    while (!(x & 1u)) {
        x >>= 1;
        ++i;
    }
    return i;
#endif
}

/* Q0.15 decay of a 16-bit state in 32-bit arithmetic: (beta * v + 2^14) >> 15. */
SNNC_INLINE int32_t snnc_decay16(int32_t v, int32_t beta_q)
{
    return (beta_q * v + (1 << 14)) >> 15;
}

/*
 * Event-driven dense layer over spike inputs: for every active input j (act[0..n_act)),
 * acc[i] += w[j * n + i] for i < n (weights column-major, no multiply: a spike is 1).
 * The generator proves sum_j |w[i][j]| + |bias[i]| < 2^31 (no int32 overflow).
 */
SNNC_INLINE void snnc_ev_dense_i8(int32_t *restrict acc, const int8_t *restrict w,
                                  const int32_t n, const uint16_t *restrict act,
                                  int32_t n_act)
{
    int32_t k, i;
    for (k = 0; k < n_act; ++k) {
        const int8_t *restrict col = w + (int32_t)act[k] * n;
        for (i = 0; i < n; ++i) acc[i] += col[i];
    }
}

/*
 * Same, with 16-bit accumulators (the generator proves every |acc| < 2^15) and each
 * group of 4 weights stored as (w0, w2, w1, w3): on Armv7E-M one SXTB16 pair then
 * yields (w0, w1) and (w2, w3) and two SADD16 add them to four accumulators. n is a
 * multiple of 4, w and acc are 4-byte aligned.
 */
SNNC_INLINE void snnc_ev_dense_i8x4(int16_t *restrict acc, const int8_t *restrict w,
                                    const int32_t n, const uint16_t *restrict act,
                                    int32_t n_act)
{
    int32_t k, i;
    for (k = 0; k < n_act; ++k) {
        const int8_t *restrict col = w + (int32_t)act[k] * n;
#if defined(SNNC_ARM_DSP)
        SNNC_UNROLL(6)
        for (i = 0; i < n; i += 4) {
            /* memcpy: aliasing-safe word access, a single LDR/STR on the M4. */
            uint32_t q, hi, a01, a23;
            __builtin_memcpy(&q, col + i, 4);
            __builtin_memcpy(&a01, acc + i, 4);
            __builtin_memcpy(&a23, acc + i + 2, 4);
            a01 = (uint32_t)__sadd16((int16x2_t)a01, __sxtb16((int32_t)q));
            __asm__("sxtb16 %0, %1, ror #8" : "=r"(hi) : "r"(q)); /* (w2, w3) */
            a23 = (uint32_t)__sadd16((int16x2_t)a23, (int16x2_t)hi);
            __builtin_memcpy(acc + i, &a01, 4);
            __builtin_memcpy(acc + i + 2, &a23, 4);
        }
#else
        i = 0;
#if defined(SNNC_NEON)
        {
            /* Undo the (0, 2, 1, 3) order with one TBL, widen, add 8 lanes at once. */
            const uint8x8_t idx = vcreate_u8(0x0705060403010200ull); /* 0,2,1,3,4,6,5,7 */
            SNNC_UNROLL(4)
            for (; i + 8 <= n; i += 8) {
                const int8x8_t q = vtbl1_s8(vld1_s8(col + i), vreinterpret_s8_u8(idx));
                vst1q_s16(acc + i, vaddq_s16(vld1q_s16(acc + i), vmovl_s8(q)));
            }
        }
#endif
        for (; i < n; i += 4) {
            acc[i] = (int16_t)(acc[i] + col[i]);
            acc[i + 1] = (int16_t)(acc[i + 1] + col[i + 2]);
            acc[i + 2] = (int16_t)(acc[i + 2] + col[i + 1]);
            acc[i + 3] = (int16_t)(acc[i + 3] + col[i + 3]);
        }
#endif
    }
}

/*
 * snnc_ev_dense_i8x4 for rows whose whole-step sum may exceed int16: int16 partial sums
 * over `chunk` active inputs at a time (chunk * max|w| < 2^15, from the generator) are
 * added into the int32 accumulators acc32 and cleared, so acc16 is zero between calls.
 */
SNNC_INLINE void snnc_ev_dense_i8x4_wide(int32_t *restrict acc32, int16_t *restrict acc16,
                                         const int8_t *restrict w, const int32_t n,
                                         const uint16_t *restrict act, int32_t n_act,
                                         const int32_t chunk)
{
    int32_t k, i;
    for (k = 0; k < n_act; k += chunk) {
        snnc_ev_dense_i8x4(acc16, w, n, act + k, n_act - k < chunk ? n_act - k : chunk);
#if defined(SNNC_ARM_DSP) && defined(__ARMEL__)
        /* Two partial sums per word (acc16[i] in the low half): SXTAH adds the low one,
         * an ADD with ASR #16 the high one; ~3 instructions per accumulator, not 7. */
        SNNC_UNROLL(4)
        for (i = 0; i < n; i += 2) {
            uint32_t q;
            int32_t lo;
            const uint32_t zero = 0;
            __builtin_memcpy(&q, acc16 + i, 4);
            /* asm: GCC would otherwise split the word back into two halfword loads. */
            __asm__("sxtah %0, %1, %2" : "=r"(lo) : "r"(acc32[i]), "r"(q));
            acc32[i] = lo;
            acc32[i + 1] += (int32_t)q >> 16;
            __builtin_memcpy(acc16 + i, &zero, 4);
        }
#else
        for (i = 0; i < n; ++i) {
            acc32[i] += acc16[i];
            acc16[i] = 0;
        }
#endif
    }
}

/*
 * Dense int8 layer over int32 inputs (row-major weights): acc[i] += sum_j w[i][j] * x[j].
 * The generator proves the exact sum fits int32 (from the inputs' value bound).
 */
SNNC_INLINE void snnc_mac_i8(int32_t *restrict acc, const int8_t *restrict w,
                             const int32_t n_out, const int32_t n_in,
                             const int32_t *restrict x)
{
    int32_t i, j;
    for (i = 0; i < n_out; ++i) {
        const int8_t *restrict row = w + i * n_in;
        int32_t a = acc[i];
        for (j = 0; j < n_in; ++j) a += row[j] * x[j];
        acc[i] = a;
    }
}

/*
 * Dense int8 layer over small inputs, int8 weights kept (CMSIS-NN's vec-mat multiply):
 * acc[i] += sum_j w[i][j] * x[j], w row-major int8 with rows 4-byte aligned (n_in a
 * multiple of 4: the generator checks), x the int16 copy snnc_pack_x16 wrote this step
 * (the generator proves |x| < 2^15 and that every row's exact sum, hence every partial
 * sum in any order, fits int32: all paths give the same bits).
 * Armv7E-M: per word of 4 weights, SXTB16 gives (w0, w2) and SXTB16 ROR 8 (w1, w3)
 * against x packed as (x0, x2, x1, x3): two SMLAD per 4 MACs, no weight reordering.
 * aarch64: 8 weights widened by SXTL, SMLAL/SMLAL2 into two int32x4 sums.
 */
SNNC_INLINE void snnc_pack_x16(int16_t *restrict x16, const int32_t *restrict x,
                               const int32_t n)
{
    int32_t j = 0;
#if defined(SNNC_ARM_DSP)
    for (; j + 4 <= n; j += 4) { /* the pairs SXTB16 yields: (x0, x2), (x1, x3) */
        x16[j] = (int16_t)x[j];
        x16[j + 1] = (int16_t)x[j + 2];
        x16[j + 2] = (int16_t)x[j + 1];
        x16[j + 3] = (int16_t)x[j + 3];
    }
#endif
    for (; j < n; ++j) x16[j] = (int16_t)x[j];
}

SNNC_INLINE void snnc_mac_i8x16(int32_t *restrict acc, const int8_t *restrict w,
                                const int32_t n_out, const int32_t n_in,
                                const int16_t *restrict x16)
{
    int32_t i = 0, j;
#if defined(SNNC_ARM_DSP)
    /* Two rows at a time (as CMSIS-NN): each input word pair is loaded once for both,
     * 12 instructions per 8 MACs instead of 14. */
    for (; i + 2 <= n_out; i += 2) {
        const int8_t *restrict r0 = w + i * n_in;
        const int8_t *restrict r1 = r0 + n_in;
        int32_t a0 = acc[i], a1 = acc[i + 1];
        SNNC_UNROLL(8)
        for (j = 0; j + 4 <= n_in; j += 4) {
            int32_t q0, q1, h0, h1;
            int16x2_t x02, x13;
            __builtin_memcpy(&q0, r0 + j, 4);
            __builtin_memcpy(&q1, r1 + j, 4);
            __builtin_memcpy(&x02, x16 + j, 4);
            __builtin_memcpy(&x13, x16 + j + 2, 4);
            __asm__("sxtb16 %0, %1, ror #8" : "=r"(h0) : "r"(q0));
            __asm__("sxtb16 %0, %1, ror #8" : "=r"(h1) : "r"(q1));
            a0 = __smlad(__sxtb16(q0), x02, a0);
            a1 = __smlad(__sxtb16(q1), x02, a1);
            a0 = __smlad((int16x2_t)h0, x13, a0);
            a1 = __smlad((int16x2_t)h1, x13, a1);
        }
        for (; j < n_in; ++j) {
            a0 += r0[j] * x16[j];
            a1 += r1[j] * x16[j];
        }
        acc[i] = a0;
        acc[i + 1] = a1;
    }
#endif
    for (; i < n_out; ++i) {
        const int8_t *restrict row = w + i * n_in;
        int32_t a = acc[i];
        j = 0;
#if defined(SNNC_ARM_DSP)
        SNNC_UNROLL(4)
        for (; j + 4 <= n_in; j += 4) {
            int32_t q, hi;
            int16x2_t x02, x13;
            __builtin_memcpy(&q, row + j, 4);
            __builtin_memcpy(&x02, x16 + j, 4);
            __builtin_memcpy(&x13, x16 + j + 2, 4);
            __asm__("sxtb16 %0, %1, ror #8" : "=r"(hi) : "r"(q)); /* (w1, w3) */
            a = __smlad(__sxtb16(q), x02, a);
            a = __smlad((int16x2_t)hi, x13, a);
        }
#elif defined(SNNC_NEON)
        {
            int32x4_t a0 = vdupq_n_s32(0), a1 = vdupq_n_s32(0);
            SNNC_UNROLL(2)
            for (; j + 8 <= n_in; j += 8) {
                const int16x8_t wv = vmovl_s8(vld1_s8(row + j));
                const int16x8_t xv = vld1q_s16(x16 + j);
                a0 = vmlal_s16(a0, vget_low_s16(wv), vget_low_s16(xv));
                a1 = vmlal_high_s16(a1, wv, xv);
            }
            a += vaddvq_s32(vaddq_s32(a0, a1));
        }
#endif
        for (; j < n_in; ++j) a += row[j] * x16[j];
        acc[i] = a;
    }
}

/*
 * Dense layer over small inputs: acc[i] += sum_j w[i][j] * x[j] with x and w as int16
 * (row-major, n_in even; the generator pads a zero column and proves |x| < 2^15 and
 * that the exact sum fits int32). On Armv7E-M one SMLAD does two multiply-adds.
 */
SNNC_INLINE void snnc_mac_i16x2(int32_t *restrict acc, const int16_t *restrict w,
                                const int32_t n_out, const int32_t n_in,
                                const int16_t *restrict x)
{
    int32_t i, j;
    for (i = 0; i < n_out; ++i) {
        const int16_t *restrict row = w + i * n_in;
        int32_t a = acc[i];
#if defined(SNNC_ARM_DSP)
        SNNC_UNROLL(8)
        for (j = 0; j < n_in; j += 2) {
            int16x2_t wp, xp;
            __builtin_memcpy(&wp, row + j, 4);
            __builtin_memcpy(&xp, x + j, 4);
            a = __smlad(wp, xp, a);
        }
#else
        for (j = 0; j < n_in; ++j) a += row[j] * x[j];
#endif
        acc[i] = a;
    }
}

/* One row of snnc_mac_i16x2 as a value: sum_j w[j] * x[j] (n even, w and x aligned). */
SNNC_INLINE int32_t snnc_dot_i16x2(const int16_t *restrict w, const int16_t *restrict x,
                                   const int32_t n)
{
    int32_t j, a = 0;
#if defined(SNNC_ARM_DSP)
    SNNC_UNROLL(8)
    for (j = 0; j < n; j += 2) {
        int16x2_t wp, xp;
        __builtin_memcpy(&wp, w + j, 4);
        __builtin_memcpy(&xp, x + j, 4);
        a = __smlad(wp, xp, a);
    }
#else
    for (j = 0; j < n; ++j) a += w[j] * x[j];
#endif
    return a;
}

/*
 * Event-driven compressed (CSC) layer over spike inputs: for every active input j,
 * acc[row[p]] += w[p] for p in [col_ptr[j], col_ptr[j+1]). Row indices are uint8_t
 * (n_out <= 256) or uint16_t; col_ptr is uint16_t or int32_t (by the number of weights).
 */
#define SNNC_EV_CSC(NAME, PT, RT)                                                         \
    SNNC_INLINE void NAME(int32_t *restrict acc, const PT *restrict col_ptr,              \
                          const RT *restrict row, const int8_t *restrict w,               \
                          const uint16_t *restrict act, int32_t n_act)                    \
    {                                                                                     \
        int32_t k;                                                                        \
        for (k = 0; k < n_act; ++k) {                                                     \
            const int32_t j = act[k];                                                     \
            const RT *restrict r = row + col_ptr[j];                                      \
            const RT *const end = row + col_ptr[j + 1];                                   \
            const int8_t *restrict v = w + col_ptr[j];                                    \
            SNNC_UNROLL(8)                                                                \
            while (r != end) acc[*r++] += *v++;                                           \
        }                                                                                 \
    }

SNNC_EV_CSC(snnc_ev_csc_p16_r8, uint16_t, uint8_t)
SNNC_EV_CSC(snnc_ev_csc_p16_r16, uint16_t, uint16_t)
SNNC_EV_CSC(snnc_ev_csc_p32_r8, int32_t, uint8_t)
SNNC_EV_CSC(snnc_ev_csc_p32_r16, int32_t, uint16_t)

/*
 * Weights compiled into code (the "code" storage of compiler/codegen/c_fused.py):
 * SNNC_CODE_FN(name, body) defines `void name(int32_t *acc, int32_t j)` (j, the input,
 * is unused: the signature is shared with table-driven columns) running body, a sequence
 * of one-SynOp steps with w in 1..128, rows ascending:
 *   SNNC_CODE_ADD(r, o, w)   acc[r] += w, where o = 4 * r - base: the byte offset of row
 *                            r from the moving base (0 at entry), o <= 124;
 *   SNNC_CODE_ADDW(r, d, w)  the same after moving the base d bytes (4..252) to row r;
 *   SNNC_CODE_MOVE(d)        move the base d bytes (<= 4092) forward;
 * and the SUB forms (acc[r] -= w). On Thumb-2 the base is r0: ADD is a 16-bit load,
 * add-immediate and store (6 bytes), ADDW a load with writeback and the same two 16-bit
 * instructions (8 bytes), so a SynOp costs three instructions and 6-8 bytes however far
 * its row is (a fixed offset would need 32-bit loads and stores past row 31: 10 bytes).
 * A64 does the same with x0; x86-64 adds to memory at the absolute row (one instruction
 * per SynOp, MOVE is nothing), and so does the C. On Thumb-2, A64 and x86-64 ELF with
 * GCC-compatible compilers these instructions are written as assembly: gcc needs
 * seconds to optimize tens of thousands of such statements, the assembler milliseconds.
 * Scratch: r0/x0 (the argument), r1/w1 and the flags (caller-saved).
 */
#if defined(__GNUC__) && !defined(SNNC_PORTABLE) && defined(__thumb2__) && defined(__ARMEL__)
#define SNNC_CODE_ASM 1
#define SNNC_CODE_ADD(r, o, w) "ldr r1, [r0, #" #o "]\n\tadds r1, #" #w "\n\tstr r1, [r0, #" #o "]\n\t"
#define SNNC_CODE_SUB(r, o, w) "ldr r1, [r0, #" #o "]\n\tsubs r1, #" #w "\n\tstr r1, [r0, #" #o "]\n\t"
#define SNNC_CODE_ADDW(r, d, w) "ldr r1, [r0, #" #d "]!\n\tadds r1, #" #w "\n\tstr r1, [r0]\n\t"
#define SNNC_CODE_SUBW(r, d, w) "ldr r1, [r0, #" #d "]!\n\tsubs r1, #" #w "\n\tstr r1, [r0]\n\t"
#define SNNC_CODE_MOVE(d) "addw r0, r0, #" #d "\n\t"
#define SNNC_CODE_FN(name, body)                                                          \
    __attribute__((visibility("hidden"))) void name(int32_t *acc, int32_t j);            \
    __asm__(".pushsection .text." #name ",\"ax\",%progbits\n\t.p2align 1\n\t.thumb\n\t"     \
            ".thumb_func\n\t.type " #name ", %function\n" #name ":\n\t" body "bx lr\n\t"    \
            ".size " #name ", .-" #name "\n\t.popsection");
#elif defined(__GNUC__) && !defined(SNNC_PORTABLE) && defined(__aarch64__) && defined(__AARCH64EL__)
#define SNNC_CODE_ASM 1
#if defined(__ARM_FEATURE_BTI_DEFAULT) /* -mbranch-protection: a landing pad for BLR */
#define SNNC_CODE_ENTRY "bti c\n\t"
#else
#define SNNC_CODE_ENTRY ""
#endif
#define SNNC_CODE_ADD(r, o, w) "ldr w1, [x0, #" #o "]\n\tadd w1, w1, #" #w "\n\tstr w1, [x0, #" #o "]\n\t"
#define SNNC_CODE_SUB(r, o, w) "ldr w1, [x0, #" #o "]\n\tsub w1, w1, #" #w "\n\tstr w1, [x0, #" #o "]\n\t"
#define SNNC_CODE_ADDW(r, d, w) "ldr w1, [x0, #" #d "]!\n\tadd w1, w1, #" #w "\n\tstr w1, [x0]\n\t"
#define SNNC_CODE_SUBW(r, d, w) "ldr w1, [x0, #" #d "]!\n\tsub w1, w1, #" #w "\n\tstr w1, [x0]\n\t"
#define SNNC_CODE_MOVE(d) "add x0, x0, #" #d "\n\t"
#define SNNC_CODE_FN(name, body)                                                          \
    __attribute__((visibility("hidden"))) void name(int32_t *acc, int32_t j);            \
    __asm__(".pushsection .text." #name ",\"ax\",%progbits\n\t.p2align 2\n\t"             \
            ".type " #name ", %function\n" #name ":\n\t" SNNC_CODE_ENTRY body "ret\n\t"     \
            ".size " #name ", .-" #name "\n\t.popsection");
#elif defined(__GNUC__) && !defined(SNNC_PORTABLE) && defined(__x86_64__) && defined(__ELF__)
/* x86-64 adds to memory directly: one instruction per SynOp, at the absolute row. */
#define SNNC_CODE_ASM 1
#if defined(__CET__) /* -fcf-protection: a landing pad for the indirect call */
#define SNNC_CODE_ENTRY "endbr64\n\t"
#else
#define SNNC_CODE_ENTRY ""
#endif
#define SNNC_CODE_ADD(r, o, w) "addl $" #w ", 4*" #r "(%rdi)\n\t"
#define SNNC_CODE_SUB(r, o, w) "subl $" #w ", 4*" #r "(%rdi)\n\t"
#define SNNC_CODE_ADDW(r, d, w) SNNC_CODE_ADD(r, 0, w)
#define SNNC_CODE_SUBW(r, d, w) SNNC_CODE_SUB(r, 0, w)
#define SNNC_CODE_MOVE(d) ""
#define SNNC_CODE_FN(name, body)                                                          \
    __attribute__((visibility("hidden"))) void name(int32_t *acc, int32_t j);            \
    __asm__(".pushsection .text." #name ",\"ax\",@progbits\n\t.p2align 4\n\t"             \
            ".type " #name ", @function\n" #name ":\n\t" SNNC_CODE_ENTRY body "ret\n\t"     \
            ".size " #name ", .-" #name "\n\t.popsection");
#else
#define SNNC_CODE_ADD(r, o, w) acc[r] += w;
#define SNNC_CODE_SUB(r, o, w) acc[r] -= w;
#define SNNC_CODE_ADDW(r, d, w) acc[r] += w;
#define SNNC_CODE_SUBW(r, d, w) acc[r] -= w;
#define SNNC_CODE_MOVE(d)
#define SNNC_CODE_FN(name, body)                                                          \
    static void name(int32_t *restrict acc, int32_t j) { (void)j; body }
#endif

/* snnc_active's step for the four inputs s[j..j+3] (at least one active). */
SNNC_INLINE int32_t snnc_active4(const uint8_t *restrict s, const int32_t j,
                                 uint16_t *restrict act, int32_t k)
{
    if (s[j]) act[k++] = (uint16_t)j;
    if (s[j + 1]) act[k++] = (uint16_t)(j + 1);
    if (s[j + 2]) act[k++] = (uint16_t)(j + 2);
    if (s[j + 3]) act[k++] = (uint16_t)(j + 3);
    return k;
}

/* The active-index list of a spike vector: act[k] = j for every s[j] != 0, in order. */
SNNC_INLINE int32_t snnc_active(const uint8_t *restrict s, const int32_t n,
                                uint16_t *restrict act)
{
    int32_t j = 0, k = 0;
    /* Sparse activity: one test skips sixteen silent inputs (four words ORed; at 5%
     * activity 44% of the blocks are silent), then one test per word. */
    for (; j + 16 <= n; j += 16) {
        uint32_t q0, q1, q2, q3;
        SNNC_MEMCPY(&q0, s + j, 4);
        SNNC_MEMCPY(&q1, s + j + 4, 4);
        SNNC_MEMCPY(&q2, s + j + 8, 4);
        SNNC_MEMCPY(&q3, s + j + 12, 4);
        if (!(q0 | q1 | q2 | q3)) continue;
        if (q0) k = snnc_active4(s, j, act, k);
        if (q1) k = snnc_active4(s, j + 4, act, k);
        if (q2) k = snnc_active4(s, j + 8, act, k);
        if (q3) k = snnc_active4(s, j + 12, act, k);
    }
    for (; j + 4 <= n; j += 4) {
        uint32_t q;
        SNNC_MEMCPY(&q, s + j, 4);
        if (q) k = snnc_active4(s, j, act, k);
    }
    for (; j < n; ++j)
        if (s[j]) act[k++] = (uint16_t)j;
    return k;
}

/* ------------------------------------------------------------------ float */

/*
 * Float kernels for float graphs (snnc_real_t), called with compile-time sizes and
 * restrict pointers so that GCC vectorizes them at -O2 (its cheap cost model allows no
 * run-time alias checks). The float contract is a tolerance against the reference
 * simulator (tests/compiler/codegen/test_c_float.py), not a summation order.
 */

/* snnc_dense_fk(_steps) are not inlined: in a step function with many dense layers
 * (the VPR ensemble: 16) GCC kept the partial sums of some inlined copies in memory
 * (4x slower). One out-of-line copy per model, sizes shared by all calls propagated in. */
#if defined(__GNUC__)
#define SNNC_NOINLINE static __attribute__((noinline, unused))
#else
#define SNNC_NOINLINE static
#endif

/* Partial sums per row of snnc_dot_fk: two 256-bit registers with AVX, two 128-bit
 * ones (SSE, NEON) otherwise; 16 lanes of SSE measured 2x slower than 8 (spills). */
#if defined(__AVX__)
#define SNNC_F_LANES 16
#else
#define SNNC_F_LANES 8
#endif

/*
 * One row of a dense float layer: sum_j w[j] * x[j] over SNNC_F_LANES independent
 * partial sums (a single running sum is a chain of dependent adds the compiler may not
 * reorder without -ffast-math, so it could neither vectorize nor pipeline it).
 */
SNNC_INLINE snnc_real_t snnc_dot_fk(const snnc_real_t *restrict w,
                                    const snnc_real_t *restrict x, const int32_t n)
{
    int32_t j, k;
    snnc_real_t a[SNNC_F_LANES], acc;
    for (k = 0; k < SNNC_F_LANES; ++k) a[k] = 0;
    for (j = 0; j + SNNC_F_LANES <= n; j += SNNC_F_LANES)
        for (k = 0; k < SNNC_F_LANES; ++k) a[k] += w[j + k] * x[j + k];
#if SNNC_F_LANES == 16
    for (k = 0; k < 8; ++k) a[k] += a[k + 8];
#endif
    acc = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
    for (; j < n; ++j) acc += w[j] * x[j];
    return acc;
}

/* Dense float layer, weights row-major: y[i] = sum_j w[i][j] * x[j] (+ bias[i]); bias
 * may be NULL. */
SNNC_NOINLINE void snnc_dense_fk(snnc_real_t *restrict y, const snnc_real_t *restrict w,
                                 const snnc_real_t *restrict bias, const int32_t n_out,
                                 const int32_t n_in, const snnc_real_t *restrict x)
{
    int32_t i;
    for (i = 0; i < n_out; ++i) {
        const snnc_real_t acc = snnc_dot_fk(w + (int64_t)i * n_in, x, n_in);
        y[i] = bias ? acc + bias[i] : acc;
    }
}

/*
 * snnc_dense_fk on the inputs of n_steps time steps at once (x: [n_steps][n_in], y: step
 * s's outputs at y + s * y_stride), for layers that read only the model's input: each
 * weight row is fetched from memory once for all the steps and then read from L1. Every
 * step's value is the one snnc_dense_fk computes (same snnc_dot_fk).
 */
SNNC_NOINLINE void snnc_dense_fk_steps(snnc_real_t *restrict y, const int32_t y_stride,
                                       const snnc_real_t *restrict w,
                                       const snnc_real_t *restrict bias, const int32_t n_out,
                                       const int32_t n_in, const snnc_real_t *restrict x,
                                       const int32_t n_steps)
{
    int32_t i, t;
    for (i = 0; i < n_out; ++i) {
        const snnc_real_t *restrict wr = w + (int64_t)i * n_in;
        for (t = 0; t < n_steps; ++t) {
            const snnc_real_t acc = snnc_dot_fk(wr, x + (int64_t)t * n_in, n_in);
            y[(int64_t)t * y_stride + i] = bias ? acc + bias[i] : acc;
        }
    }
}

/* A GCC vector as wide as the vector unit: 32 bytes with AVX, else 16 (SSE, NEON; wider
 * vectors than the hardware's are split piecewise, measured 6x slower on SSE2).
 * Element-wise, so it computes what the scalar loop does, lane by lane. */
#if defined(__GNUC__) && !defined(SNNC_PORTABLE)
#define SNNC_VF 1
#if defined(__AVX__)
#define SNNC_VF_BYTES 32
#else
#define SNNC_VF_BYTES 16
#endif
typedef snnc_real_t snnc_vf_t __attribute__((vector_size(SNNC_VF_BYTES)));
#define SNNC_VF_N ((int32_t)(SNNC_VF_BYTES / sizeof(snnc_real_t)))
#endif

/*
 * Event-driven dense float layer over mostly-zero inputs (spikes), weights column-major
 * (wt[j][i] = W[i][j]): y = bias (or 0), then y[i] += wt[j][i] * x[j] for every input j
 * with x[j] != 0, in ascending j. Skipping zero inputs is exact for finite weights. The
 * active inputs are listed once (act: n_in <= 65536 scratch entries); then each block of 4
 * vectors of outputs stays in registers while all active columns are added into it, so
 * y is loaded and stored once per step, not once per active input. Each y[i] sees the
 * same operations in the same order as the runtime's snnc_dense_event_f (bit-identical).
 */
SNNC_INLINE void snnc_ev_dense_fk(snnc_real_t *restrict y, const snnc_real_t *restrict wt,
                                  const snnc_real_t *restrict bias, const int32_t n_out,
                                  const int32_t n_in, const snnc_real_t *restrict x,
                                  uint16_t *restrict act)
{
    int32_t i = 0, j, k, n_act = 0;
    /* Branch-free: at 5-50% activity a test per input mispredicts often (measured ~half
     * the layer's time on the LSM); the store is harmless when x[j] == 0. */
    for (j = 0; j < n_in; ++j) {
        act[n_act] = (uint16_t)j;
        n_act += x[j] != 0;
    }
#if defined(SNNC_VF)
    for (; i + 4 * SNNC_VF_N <= n_out; i += 4 * SNNC_VF_N) {
        /* Named variables, not arrays: GCC keeps these in registers. */
        snnc_vf_t a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        if (bias) {
            SNNC_MEMCPY(&a0, bias + i, sizeof a0);
            SNNC_MEMCPY(&a1, bias + i + SNNC_VF_N, sizeof a1);
            SNNC_MEMCPY(&a2, bias + i + 2 * SNNC_VF_N, sizeof a2);
            SNNC_MEMCPY(&a3, bias + i + 3 * SNNC_VF_N, sizeof a3);
        }
        for (k = 0; k < n_act; ++k) {
            const snnc_real_t xj = x[act[k]];
            const snnc_real_t *restrict col = wt + (int64_t)act[k] * n_out + i;
            snnc_vf_t c0, c1, c2, c3;
            SNNC_MEMCPY(&c0, col, sizeof c0);
            SNNC_MEMCPY(&c1, col + SNNC_VF_N, sizeof c1);
            SNNC_MEMCPY(&c2, col + 2 * SNNC_VF_N, sizeof c2);
            SNNC_MEMCPY(&c3, col + 3 * SNNC_VF_N, sizeof c3);
            a0 += c0 * xj;
            a1 += c1 * xj;
            a2 += c2 * xj;
            a3 += c3 * xj;
        }
        SNNC_MEMCPY(y + i, &a0, sizeof a0);
        SNNC_MEMCPY(y + i + SNNC_VF_N, &a1, sizeof a1);
        SNNC_MEMCPY(y + i + 2 * SNNC_VF_N, &a2, sizeof a2);
        SNNC_MEMCPY(y + i + 3 * SNNC_VF_N, &a3, sizeof a3);
    }
    for (; i + SNNC_VF_N <= n_out; i += SNNC_VF_N) {
        snnc_vf_t a = {0};
        if (bias) SNNC_MEMCPY(&a, bias + i, sizeof a);
        for (k = 0; k < n_act; ++k) {
            snnc_vf_t c;
            SNNC_MEMCPY(&c, wt + (int64_t)act[k] * n_out + i, sizeof c);
            a += c * x[act[k]];
        }
        SNNC_MEMCPY(y + i, &a, sizeof a);
    }
#endif
    for (; i < n_out; ++i) {
        snnc_real_t a = bias ? bias[i] : (snnc_real_t)0;
        for (k = 0; k < n_act; ++k) a += wt[(int64_t)act[k] * n_out + i] * x[act[k]];
        y[i] = a;
    }
}

/*
 * Float synapses with per-synapse delays, CSC with a delay per weight (the runtime's
 * snnc_delay_f inlined with compile-time sizes): the active inputs are listed branch-free,
 * each adds w * x[j] into the ring slot `delay` steps ahead, and this step's slot is
 * emitted and cleared. The same additions in the same order as snnc_delay_f (bit-identical)
 * without the modulo per synapse (delay <= max_delay and head < slots).
 */
SNNC_INLINE void snnc_delay_fk(const int32_t *restrict col_ptr, const uint16_t *restrict row,
                               const snnc_real_t *restrict w, const uint16_t *restrict delay,
                               const int32_t max_delay, const int32_t n_out,
                               const int32_t n_in, const snnc_real_t *restrict x,
                               snnc_real_t *restrict ring, int32_t *restrict head,
                               snnc_real_t *restrict y, uint16_t *restrict act)
{
    const int32_t slots = max_delay + 1, h = *head;
    int32_t i, j, k, q, n_act = 0;
    snnc_real_t *restrict now = ring + (int64_t)h * n_out;
    for (j = 0; j < n_in; ++j) {
        act[n_act] = (uint16_t)j;
        n_act += x[j] != 0;
    }
    for (q = 0; q < n_act; ++q) {
        const int32_t c = act[q], end = col_ptr[c + 1];
        const snnc_real_t xj = x[c];
        for (k = col_ptr[c]; k < end; ++k) {
            int32_t slot = h + delay[k];
            if (slot >= slots) slot -= slots;
            ring[(int64_t)slot * n_out + row[k]] += w[k] * xj;
        }
    }
    for (i = 0; i < n_out; ++i) {
        y[i] = now[i];
        now[i] = 0;
    }
    *head = h + 1 == slots ? 0 : h + 1;
}

#endif /* SNNC_KERNELS_H */
