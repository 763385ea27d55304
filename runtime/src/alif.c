/* ALIF population kernels, integer and float (equations in include/snnc/alif.h). */
#include "snnc/alif.h"

#include "internal.h"
#include "snnc/fixed.h"

/* One definition per state element type VT (int32_t, or int16_t for states of at most
 * 16 bits: half the RAM); values are computed in 64 bits and stored after saturation. */
#define SNNC_ALIF_Q(NAME, VT, VBITS)                                                        \
    int NAME(const snnc_alif_q_t *p, VT *v, VT *b, const int32_t *const *xs, int32_t n_xs, \
             snnc_spike_t *s)                                                               \
    {                                                                                       \
        int32_t i;                                                                          \
        if (!p || !p->beta_q.v || !p->rho_q.v || !p->leak_q.v || !p->thr_q.v ||             \
            !p->jump_q.v || !p->reset_q.v || !v || !b || !s || !SNNC_CHECK_XS(xs, n_xs))    \
            return SNNC_ERR_NULL;                                                           \
        if (p->n < 0 || p->state_bits < 2 || p->state_bits > (VBITS)) return SNNC_ERR_ARG;  \
        for (i = 0; i < p->n; ++i) {                                                        \
            const int64_t vi = snnc_sat(snnc_decay(v[i], SNNC_AT(p->beta_q, i)) +           \
                                            snnc_sum_at(xs, n_xs, i) + SNNC_AT(p->leak_q, i), \
                                        p->state_bits);                                     \
            /* thr_q + b can exceed the state range (< 2^32): compared in 64 bits. */       \
            const int64_t theta = (int64_t)SNNC_AT(p->thr_q, i) + b[i];                     \
            const int fire = vi > theta;                                                    \
            /* v > theta >= 1, so v - theta stays in [0, v). */                             \
            v[i] = (VT)(!fire ? vi                                                          \
                        : p->reset == SNNC_RESET_ZERO ? (int64_t)SNNC_AT(p->reset_q, i)     \
                                                      : vi - theta);                        \
            b[i] = (VT)snnc_sat(snnc_decay(b[i], SNNC_AT(p->rho_q, i)) +                    \
                                    (fire ? (int64_t)SNNC_AT(p->jump_q, i) : 0),            \
                                p->state_bits);                                             \
            s[i] = (snnc_spike_t)fire;                                                      \
        }                                                                                   \
        return SNNC_OK;                                                                     \
    }

SNNC_ALIF_Q(snnc_alif_q, int32_t, 32)
SNNC_ALIF_Q(snnc_alif_q16, int16_t, 16)

int snnc_alif_f(const snnc_alif_f_t *p, snnc_real_t *v, snnc_real_t *a,
                const snnc_real_t *const *xs, int32_t n_xs, snnc_real_t *s)
{
    int32_t i;
    if (!p || !p->beta.v || !p->rho.v || !p->r.v || !p->v_leak.v || !p->thr.v ||
        !p->beta_a.v || !p->jump.v || !p->v_reset.v || !v || !a || !s ||
        !SNNC_CHECK_XS(xs, n_xs))
        return SNNC_ERR_NULL;
    if (p->n < 0) return SNNC_ERR_ARG;
    for (i = 0; i < p->n; ++i) {
        const snnc_real_t beta = SNNC_AT(p->beta, i);
        const snnc_real_t x = snnc_sum_at_f(xs, n_xs, i);
        const snnc_real_t vi =
            beta * v[i] + (1 - beta) * (SNNC_AT(p->v_leak, i) + SNNC_AT(p->r, i) * x);
        const snnc_real_t theta = SNNC_AT(p->thr, i) + SNNC_AT(p->beta_a, i) * a[i];
        const snnc_real_t si = vi > theta ? 1 : 0;
        v[i] = si == 0 ? vi : p->reset == SNNC_RESET_ZERO ? SNNC_AT(p->v_reset, i) : vi - theta;
        a[i] = SNNC_AT(p->rho, i) * a[i] + SNNC_AT(p->jump, i) * si;
        s[i] = si;
    }
    return SNNC_OK;
}
