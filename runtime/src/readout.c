/* Readout kernels (see include/snnc/readout.h). */
#include "snnc/readout.h"

#include "internal.h"
#include "snnc/fixed.h"

static int check_reduce(int32_t r)
{
    return r == SNNC_REDUCE_SUM || r == SNNC_REDUCE_MAX || r == SNNC_REDUCE_LAST;
}

int snnc_count_q(int32_t n, int32_t *c, const int32_t *const *xs, int32_t n_xs, int32_t *y)
{
    int32_t i;
    if (!c || !y || !SNNC_CHECK_XS(xs, n_xs)) return SNNC_ERR_NULL;
    for (i = 0; i < n; ++i) {
        c[i] = snnc_sat((int64_t)c[i] + snnc_sum_at(xs, n_xs, i), 32);
        y[i] = c[i];
    }
    return SNNC_OK;
}

int snnc_membrane_q(int32_t n, int32_t reduce, int32_t *c, int32_t *started,
                    const int32_t *const *xs, int32_t n_xs, int32_t *y)
{
    int32_t i;
    if (!c || !started || !y || !SNNC_CHECK_XS(xs, n_xs)) return SNNC_ERR_NULL;
    if (!check_reduce(reduce)) return SNNC_ERR_ARG;
    for (i = 0; i < n; ++i) {
        const int64_t x = snnc_sum_at(xs, n_xs, i);
        if (!*started || reduce == SNNC_REDUCE_LAST) {
            c[i] = snnc_sat(x, 32);
        } else if (reduce == SNNC_REDUCE_SUM) {
            c[i] = snnc_sat((int64_t)c[i] + x, 32);
        } else {
            const int32_t xs32 = snnc_sat(x, 32);
            c[i] = xs32 > c[i] ? xs32 : c[i];
        }
        y[i] = c[i];
    }
    *started = 1;
    return SNNC_OK;
}

int snnc_count_f(int32_t n, snnc_real_t *c, const snnc_real_t *const *xs, int32_t n_xs,
                 snnc_real_t *y)
{
    int32_t i;
    if (!c || !y || !SNNC_CHECK_XS(xs, n_xs)) return SNNC_ERR_NULL;
    for (i = 0; i < n; ++i) {
        c[i] = c[i] + snnc_sum_at_f(xs, n_xs, i);
        y[i] = c[i];
    }
    return SNNC_OK;
}

int snnc_membrane_f(int32_t n, int32_t reduce, snnc_real_t *c, int32_t *started,
                    const snnc_real_t *const *xs, int32_t n_xs, snnc_real_t *y)
{
    int32_t i;
    if (!c || !started || !y || !SNNC_CHECK_XS(xs, n_xs)) return SNNC_ERR_NULL;
    if (!check_reduce(reduce)) return SNNC_ERR_ARG;
    for (i = 0; i < n; ++i) {
        const snnc_real_t x = snnc_sum_at_f(xs, n_xs, i);
        if (!*started || reduce == SNNC_REDUCE_LAST) c[i] = x;
        else if (reduce == SNNC_REDUCE_SUM) c[i] = c[i] + x;
        else c[i] = x > c[i] ? x : c[i];
        y[i] = c[i];
    }
    *started = 1;
    return SNNC_OK;
}

int32_t snnc_argmax_i32(const int32_t *y, int32_t n)
{
    int32_t i, best = 0;
    if (!y || n <= 0) return -1;
    for (i = 1; i < n; ++i)
        if (y[i] > y[best]) best = i;
    return best;
}

int32_t snnc_argmax_f(const snnc_real_t *y, int32_t n)
{
    int32_t i, best = 0;
    if (!y || n <= 0) return -1;
    for (i = 1; i < n; ++i)
        if (y[i] > y[best]) best = i;
    return best;
}
