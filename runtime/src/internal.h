/* Private helpers shared by the runtime's sources. */
#ifndef SNNC_INTERNAL_H
#define SNNC_INTERNAL_H

#include "snnc/types.h"

/* Sum of element i of the incoming edges, left to right like the float simulator. */
static inline snnc_real_t snnc_sum_at_f(const snnc_real_t *const *xs, int32_t n_xs,
                                        int32_t i)
{
    snnc_real_t acc = xs[0][i];
    int32_t k;
    for (k = 1; k < n_xs; ++k) acc = acc + xs[k][i];
    return acc;
}

/* Every input vector present (n_xs >= 1, no NULL). */
static inline int snnc_check_xs(const void *const *xs, int32_t n_xs)
{
    int32_t k;
    if (!xs || n_xs < 1) return 0;
    for (k = 0; k < n_xs; ++k)
        if (!xs[k]) return 0;
    return 1;
}

#define SNNC_CHECK_XS(xs, n_xs) snnc_check_xs((const void *const *)(xs), (n_xs))

#endif /* SNNC_INTERNAL_H */
