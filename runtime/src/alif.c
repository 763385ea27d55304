/* Integer ALIF population kernel (equations in include/snnc/alif.h). */
#include "snnc/alif.h"

#include "internal.h"
#include "snnc/fixed.h"

int snnc_alif_q(const snnc_alif_q_t *p, int32_t *v, int32_t *b, const int32_t *const *xs,
                int32_t n_xs, snnc_spike_t *s)
{
    int32_t i;
    if (!p || !p->beta_q.v || !p->rho_q.v || !p->leak_q.v || !p->thr_q.v || !p->jump_q.v ||
        !p->reset_q.v || !v || !b || !s || !SNNC_CHECK_XS(xs, n_xs))
        return SNNC_ERR_NULL;
    if (p->n < 0 || p->state_bits < 2 || p->state_bits > 32) return SNNC_ERR_ARG;
    for (i = 0; i < p->n; ++i) {
        const int64_t vi = snnc_sat(snnc_decay(v[i], SNNC_AT(p->beta_q, i)) +
                                        snnc_sum_at(xs, n_xs, i) + SNNC_AT(p->leak_q, i),
                                    p->state_bits);
        /* The threshold can exceed the state range (thr_q + b < 2^32): compare in 64 bits. */
        const int64_t theta = (int64_t)SNNC_AT(p->thr_q, i) + b[i];
        const int fire = vi > theta;
        /* v > theta >= 1, so v - theta stays in [0, v). */
        v[i] = (int32_t)(!fire ? vi : p->reset == SNNC_RESET_ZERO ? SNNC_AT(p->reset_q, i)
                                                                  : vi - theta);
        b[i] = snnc_sat(snnc_decay(b[i], SNNC_AT(p->rho_q, i)) +
                            (fire ? (int64_t)SNNC_AT(p->jump_q, i) : 0),
                        p->state_bits);
        s[i] = (snnc_spike_t)fire;
    }
    return SNNC_OK;
}
