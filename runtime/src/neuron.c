/* Neuron population kernels (see include/snnc/neuron.h for the equations). */
#include "snnc/neuron.h"

#include "internal.h"
#include "snnc/fixed.h"

/* Spike and reset of one integer neuron; returns the spike (0/1). */
static inline snnc_spike_t spike_reset_q(int32_t *v, int32_t thr, int32_t reset_q, int32_t mode)
{
    if (*v > thr) {
        /* v > thr > 0, so v - thr stays in the state range. */
        *v = mode == SNNC_RESET_ZERO ? reset_q : *v - thr;
        return 1;
    }
    return 0;
}

/* Widths a state array of VT elements can hold. */
static int check_bits(int32_t bits, int32_t max_bits) { return bits >= 2 && bits <= max_bits; }

/* One definition per state element type VT (int32_t, or int16_t for 16-bit states:
 * half the RAM); values are computed in 64/32 bits and stored after saturation. */
#define SNNC_LIF_Q(NAME, VT, VBITS)                                                    \
    int NAME(const snnc_lif_q_t *p, VT *v, const int32_t *const *xs, int32_t n_xs,     \
             snnc_spike_t *s)                                                          \
    {                                                                                  \
        int32_t i;                                                                     \
        if (!p || !p->beta_q.v || !p->leak_q.v || !p->thr_q.v || !p->reset_q.v || !v ||   \
            !s || !SNNC_CHECK_XS(xs, n_xs))                                            \
            return SNNC_ERR_NULL;                                                      \
        if (p->n < 0 || !check_bits(p->state_bits, VBITS)) return SNNC_ERR_ARG;        \
        for (i = 0; i < p->n; ++i) {                                                   \
            int32_t vi = snnc_sat(snnc_decay(v[i], SNNC_AT(p->beta_q, i)) +            \
                                      snnc_sum_at(xs, n_xs, i) + SNNC_AT(p->leak_q, i), \
                                  p->state_bits);                                      \
            s[i] = spike_reset_q(&vi, SNNC_AT(p->thr_q, i), SNNC_AT(p->reset_q, i),    \
                                 p->reset);                                            \
            v[i] = (VT)vi;                                                             \
        }                                                                              \
        return SNNC_OK;                                                                \
    }

SNNC_LIF_Q(snnc_lif_q, int32_t, 32)
SNNC_LIF_Q(snnc_lif_q16, int16_t, 16)

int snnc_li_q(const snnc_lif_q_t *p, int32_t *v, const int32_t *const *xs, int32_t n_xs,
              int32_t *y)
{
    int32_t i;
    if (!p || !p->beta_q.v || !p->leak_q.v || !v || !y || !SNNC_CHECK_XS(xs, n_xs))
        return SNNC_ERR_NULL;
    if (p->n < 0 || !check_bits(p->state_bits, 32)) return SNNC_ERR_ARG;
    for (i = 0; i < p->n; ++i) {
        v[i] = snnc_sat(snnc_decay(v[i], SNNC_AT(p->beta_q, i)) + snnc_sum_at(xs, n_xs, i) +
                            SNNC_AT(p->leak_q, i),
                        p->state_bits);
        y[i] = v[i];
    }
    return SNNC_OK;
}

#define SNNC_IF_Q(NAME, VT, VBITS)                                                     \
    int NAME(const snnc_lif_q_t *p, VT *v, const int32_t *const *xs, int32_t n_xs,     \
             snnc_spike_t *s)                                                          \
    {                                                                                  \
        int32_t i;                                                                     \
        if (!p || !p->thr_q.v || !p->reset_q.v || !v || !s || !SNNC_CHECK_XS(xs, n_xs))    \
            return SNNC_ERR_NULL;                                                      \
        if (p->n < 0 || !check_bits(p->state_bits, VBITS)) return SNNC_ERR_ARG;        \
        for (i = 0; i < p->n; ++i) {                                                   \
            int32_t vi = snnc_sat((int64_t)v[i] + snnc_sum_at(xs, n_xs, i), p->state_bits); \
            s[i] = spike_reset_q(&vi, SNNC_AT(p->thr_q, i), SNNC_AT(p->reset_q, i),    \
                                 p->reset);                                            \
            v[i] = (VT)vi;                                                             \
        }                                                                              \
        return SNNC_OK;                                                                \
    }

SNNC_IF_Q(snnc_if_q, int32_t, 32)
SNNC_IF_Q(snnc_if_q16, int16_t, 16)

#define SNNC_CUBALIF_Q(NAME, VT, VBITS)                                                \
    int NAME(const snnc_cubalif_q_t *p, VT *cur, VT *v, const int32_t *const *xs,      \
             int32_t n_xs, snnc_spike_t *s)                                            \
    {                                                                                  \
        int32_t i;                                                                     \
        if (!p || !p->alpha_q.v || !p->beta_q.v || !p->mult_v.v || !p->shift_v.v ||    \
            !p->leak_q.v || !p->thr_q.v || !p->reset_q.v || !cur || !v || !s ||        \
            !SNNC_CHECK_XS(xs, n_xs))                                                  \
            return SNNC_ERR_NULL;                                                      \
        if (p->n < 0 || !check_bits(p->state_bits, VBITS) ||                           \
            !check_bits(p->cur_bits, VBITS))                                           \
            return SNNC_ERR_ARG;                                                       \
        for (i = 0; i < p->n; ++i) {                                                   \
            int64_t drive;                                                             \
            int32_t vi;                                                                \
            const int32_t ci = snnc_sat(snnc_decay(cur[i], SNNC_AT(p->alpha_q, i)) +   \
                                            snnc_sum_at(xs, n_xs, i),                  \
                                        p->cur_bits);                                  \
            cur[i] = (VT)ci;                                                           \
            /* current -> membrane units; not saturated on its own (the sum is). */    \
            drive = snnc_rshift_round((int64_t)ci * SNNC_AT(p->mult_v, i),             \
                                      SNNC_AT(p->shift_v, i));                         \
            vi = snnc_sat(snnc_decay(v[i], SNNC_AT(p->beta_q, i)) + drive +            \
                              SNNC_AT(p->leak_q, i),                                   \
                          p->state_bits);                                              \
            s[i] = spike_reset_q(&vi, SNNC_AT(p->thr_q, i), SNNC_AT(p->reset_q, i),    \
                                 p->reset);                                            \
            v[i] = (VT)vi;                                                             \
        }                                                                              \
        return SNNC_OK;                                                                \
    }

SNNC_CUBALIF_Q(snnc_cubalif_q, int32_t, 32)
SNNC_CUBALIF_Q(snnc_cubalif_q16, int16_t, 16)

int snnc_threshold_q(int32_t n, const snnc_pi32_t *thr_q, const int32_t *const *xs,
                     int32_t n_xs, snnc_spike_t *y)
{
    int32_t i;
    if (!thr_q || !thr_q->v || !y || !SNNC_CHECK_XS(xs, n_xs)) return SNNC_ERR_NULL;
    if (n < 0) return SNNC_ERR_ARG;
    for (i = 0; i < n; ++i) y[i] = snnc_sum_at(xs, n_xs, i) > SNNC_AT(*thr_q, i) ? 1 : 0;
    return SNNC_OK;
}

/* ------------------------------------------------------------------ float */

static inline snnc_real_t spike_reset_f(snnc_real_t *v, snnc_real_t thr, snnc_real_t vreset,
                                        int32_t mode)
{
    if (*v > thr) {
        *v = mode == SNNC_RESET_ZERO ? vreset : *v - thr;
        return 1;
    }
    return 0;
}

int snnc_lif_f(const snnc_lif_f_t *p, snnc_real_t *v, const snnc_real_t *const *xs,
               int32_t n_xs, snnc_real_t *s)
{
    int32_t i;
    if (!p || !p->beta.v || !p->r.v || !p->v_leak.v || !p->thr.v || !p->v_reset.v || !v ||
        !s || !SNNC_CHECK_XS(xs, n_xs))
        return SNNC_ERR_NULL;
    if (p->n < 0) return SNNC_ERR_ARG;
    for (i = 0; i < p->n; ++i) {
        const snnc_real_t beta = SNNC_AT(p->beta, i);
        const snnc_real_t x = snnc_sum_at_f(xs, n_xs, i);
        v[i] = beta * v[i] + (1 - beta) * (SNNC_AT(p->v_leak, i) + SNNC_AT(p->r, i) * x);
        s[i] = spike_reset_f(&v[i], SNNC_AT(p->thr, i), SNNC_AT(p->v_reset, i), p->reset);
    }
    return SNNC_OK;
}

int snnc_li_f(const snnc_lif_f_t *p, snnc_real_t *v, const snnc_real_t *const *xs,
              int32_t n_xs, snnc_real_t *y)
{
    int32_t i;
    if (!p || !p->beta.v || !p->r.v || !p->v_leak.v || !v || !y || !SNNC_CHECK_XS(xs, n_xs))
        return SNNC_ERR_NULL;
    if (p->n < 0) return SNNC_ERR_ARG;
    for (i = 0; i < p->n; ++i) {
        const snnc_real_t beta = SNNC_AT(p->beta, i);
        const snnc_real_t x = snnc_sum_at_f(xs, n_xs, i);
        v[i] = beta * v[i] + (1 - beta) * (SNNC_AT(p->v_leak, i) + SNNC_AT(p->r, i) * x);
        y[i] = v[i];
    }
    return SNNC_OK;
}

int snnc_if_f(const snnc_lif_f_t *p, snnc_real_t *v, const snnc_real_t *const *xs,
              int32_t n_xs, snnc_real_t *s)
{
    int32_t i;
    if (!p || !p->r.v || !p->thr.v || !p->v_reset.v || !v || !s || !SNNC_CHECK_XS(xs, n_xs))
        return SNNC_ERR_NULL;
    if (p->n < 0) return SNNC_ERR_ARG;
    for (i = 0; i < p->n; ++i) {
        v[i] = v[i] + SNNC_AT(p->r, i) * snnc_sum_at_f(xs, n_xs, i);
        s[i] = spike_reset_f(&v[i], SNNC_AT(p->thr, i), SNNC_AT(p->v_reset, i), p->reset);
    }
    return SNNC_OK;
}

int snnc_cubalif_f(const snnc_cubalif_f_t *p, snnc_real_t *cur, snnc_real_t *v,
                   const snnc_real_t *const *xs, int32_t n_xs, snnc_real_t *s)
{
    int32_t i;
    if (!p || !p->alpha.v || !p->beta.v || !p->r.v || !p->w_in.v || !p->v_leak.v ||
        !p->thr.v || !p->v_reset.v || !cur || !v || !s || !SNNC_CHECK_XS(xs, n_xs))
        return SNNC_ERR_NULL;
    if (p->n < 0) return SNNC_ERR_ARG;
    for (i = 0; i < p->n; ++i) {
        const snnc_real_t beta = SNNC_AT(p->beta, i);
        cur[i] = SNNC_AT(p->alpha, i) * cur[i] + snnc_sum_at_f(xs, n_xs, i);
        v[i] = beta * v[i] + (1 - beta) * (SNNC_AT(p->v_leak, i) +
                                          SNNC_AT(p->r, i) * SNNC_AT(p->w_in, i) * cur[i]);
        s[i] = spike_reset_f(&v[i], SNNC_AT(p->thr, i), SNNC_AT(p->v_reset, i), p->reset);
    }
    return SNNC_OK;
}
