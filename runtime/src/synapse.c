/* Synapse kernels (see include/snnc/synapse.h). */
#include "snnc/synapse.h"

#include "snnc/fixed.h"

static int check_qsyn(const snnc_qsyn_t *p)
{
    if (!p || !p->mult.v || !p->shift.v) return SNNC_ERR_NULL;
    if (p->n_out < 0 || p->n_in < 0 || p->out_bits < 2 || p->out_bits > 32)
        return SNNC_ERR_ARG;
    return SNNC_OK;
}

/* acc (exact) -> clamp to int32 -> requantize into the target's units. */
static inline int32_t finish(const snnc_qsyn_t *p, int32_t i, int64_t acc)
{
    if (p->bias) acc += p->bias[i];
    return snnc_rq(snnc_sat(acc, 32), SNNC_AT(p->mult, i), SNNC_AT(p->shift, i), p->out_bits);
}

#define SNNC_QDENSE(NAME, WT, XT)                                                      \
    int NAME(const snnc_qsyn_t *p, const WT *w, const XT *x, int32_t *y)               \
    {                                                                                  \
        int32_t i, j;                                                                  \
        int rc = check_qsyn(p);                                                        \
        if (rc != SNNC_OK) return rc;                                                  \
        if (!w || !x || !y) return SNNC_ERR_NULL;                                      \
        for (i = 0; i < p->n_out; ++i) {                                               \
            const WT *wr = w + (int64_t)i * p->n_in; /* row i: [n_in] */               \
            int64_t acc = 0;                                                           \
            for (j = 0; j < p->n_in; ++j) acc += (int64_t)wr[j] * x[j];                \
            y[i] = finish(p, i, acc);                                                  \
        }                                                                              \
        return SNNC_OK;                                                                \
    }

SNNC_QDENSE(snnc_qdense_i8, int8_t, int32_t)
SNNC_QDENSE(snnc_qdense_i16, int16_t, int32_t)
SNNC_QDENSE(snnc_qdense_i8_s, int8_t, snnc_spike_t)
SNNC_QDENSE(snnc_qdense_i16_s, int16_t, snnc_spike_t)

/* Event-driven: zero inputs (no spike) are skipped. With wide == NULL the int32 output
 * is the accumulator (the caller proved no overflow); else the int64 scratch is. */
#define SNNC_QCSC(NAME, WT, XT)                                                        \
    int NAME(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,        \
             const WT *w, const XT *x, int64_t *wide, int32_t *y)                      \
    {                                                                                  \
        int32_t i, j, k;                                                               \
        int rc = check_qsyn(p);                                                        \
        if (rc != SNNC_OK) return rc;                                                  \
        if (!col_ptr || !x || !y) return SNNC_ERR_NULL;                                \
        if (col_ptr[p->n_in] > 0 && (!row || !w)) return SNNC_ERR_NULL;                \
        if (wide) {                                                                    \
            for (i = 0; i < p->n_out; ++i) wide[i] = 0;                                \
            for (j = 0; j < p->n_in; ++j) {                                            \
                const int32_t xj = x[j];                                               \
                if (xj == 0) continue;                                                 \
                for (k = col_ptr[j]; k < col_ptr[j + 1]; ++k)                          \
                    wide[row[k]] += (int64_t)w[k] * xj;                                \
            }                                                                          \
            for (i = 0; i < p->n_out; ++i) y[i] = finish(p, i, wide[i]);               \
        } else {                                                                       \
            for (i = 0; i < p->n_out; ++i) y[i] = 0;                                   \
            for (j = 0; j < p->n_in; ++j) {                                            \
                const int32_t xj = x[j];                                               \
                if (xj == 0) continue;                                                 \
                for (k = col_ptr[j]; k < col_ptr[j + 1]; ++k)                          \
                    y[row[k]] += (int32_t)w[k] * xj;                                   \
            }                                                                          \
            for (i = 0; i < p->n_out; ++i) y[i] = finish(p, i, y[i]);                  \
        }                                                                              \
        return SNNC_OK;                                                                \
    }

SNNC_QCSC(snnc_qcsc_i8, int8_t, int32_t)
SNNC_QCSC(snnc_qcsc_i16, int16_t, int32_t)
SNNC_QCSC(snnc_qcsc_i8_s, int8_t, snnc_spike_t)
SNNC_QCSC(snnc_qcsc_i16_s, int16_t, snnc_spike_t)

#define SNNC_QDELAY(NAME, WT, RT, XT)                                                  \
    int NAME(const snnc_qsyn_t *p, const int32_t *col_ptr, const uint16_t *row,        \
             const WT *w, const uint16_t *delay, int32_t max_delay, const XT *x,       \
             RT *ring, int32_t *head, int32_t *y)                                      \
    {                                                                                  \
        int32_t i, j, k, slots;                                                        \
        RT *now;                                                                       \
        int rc = check_qsyn(p);                                                        \
        if (rc != SNNC_OK) return rc;                                                  \
        if (!col_ptr || !x || !ring || !head || !y) return SNNC_ERR_NULL;              \
        if (col_ptr[p->n_in] > 0 && (!row || !w || !delay)) return SNNC_ERR_NULL;      \
        slots = max_delay + 1;                                                         \
        if (max_delay < 0 || *head < 0 || *head >= slots) return SNNC_ERR_ARG;         \
        for (j = 0; j < p->n_in; ++j) {                                                \
            const int32_t xj = x[j];                                                   \
            if (xj == 0) continue;                                                     \
            for (k = col_ptr[j]; k < col_ptr[j + 1]; ++k)                              \
                ring[(int64_t)((*head + delay[k]) % slots) * p->n_out + row[k]] +=     \
                    (RT)w[k] * xj;                                                     \
        }                                                                              \
        now = ring + (int64_t)(*head) * p->n_out; /* [n_out]: all that is due now */   \
        for (i = 0; i < p->n_out; ++i) {                                               \
            y[i] = finish(p, i, (int64_t)now[i]);                                      \
            now[i] = 0;                                                                \
        }                                                                              \
        *head = (*head + 1) % slots;                                                   \
        return SNNC_OK;                                                                \
    }

SNNC_QDELAY(snnc_qdelay_i8_r32, int8_t, int32_t, int32_t)
SNNC_QDELAY(snnc_qdelay_i8_r64, int8_t, int64_t, int32_t)
SNNC_QDELAY(snnc_qdelay_i16_r32, int16_t, int32_t, int32_t)
SNNC_QDELAY(snnc_qdelay_i16_r64, int16_t, int64_t, int32_t)
SNNC_QDELAY(snnc_qdelay_i8_r32_s, int8_t, int32_t, snnc_spike_t)
SNNC_QDELAY(snnc_qdelay_i8_r64_s, int8_t, int64_t, snnc_spike_t)
SNNC_QDELAY(snnc_qdelay_i16_r32_s, int16_t, int32_t, snnc_spike_t)
SNNC_QDELAY(snnc_qdelay_i16_r64_s, int16_t, int64_t, snnc_spike_t)

/* ------------------------------------------------------------------ float */

int snnc_dense_f(const snnc_real_t *w, const snnc_real_t *bias, int32_t n_out,
                 int32_t n_in, const snnc_real_t *x, snnc_real_t *y)
{
    int32_t i, j;
    if (!w || !x || !y) return SNNC_ERR_NULL;
    if (n_out < 0 || n_in < 0) return SNNC_ERR_ARG;
    for (i = 0; i < n_out; ++i) {
        /* Eight independent partial sums: one running sum is a serial chain of dependent
         * adds that the compiler may not reorder (no -ffast-math), so it can neither
         * vectorize nor pipeline it. Eight lanes map onto SSE/NEON registers at -O2 (6x
         * on a 1000x1400 layer here). The float contract is a tolerance against the
         * reference simulator, not a summation order. */
        const snnc_real_t *wr = w + (int64_t)i * n_in;
        snnc_real_t a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        snnc_real_t acc;
        int32_t k;
        for (j = 0; j + 8 <= n_in; j += 8)
            for (k = 0; k < 8; ++k) a[k] += wr[j + k] * x[j + k];
        acc = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
        for (; j < n_in; ++j) acc += wr[j] * x[j];
        y[i] = bias ? acc + bias[i] : acc;
    }
    return SNNC_OK;
}

int snnc_dense_event_f(const snnc_real_t *wt, const snnc_real_t *bias, int32_t n_out,
                       int32_t n_in, const snnc_real_t *x, snnc_real_t *y)
{
    /* Weights stored column-major (wt[j][i] = W[i][j]) for spike-fed layers: only the
     * columns of inputs that are non-zero this step are read, and the inner loop runs
     * over contiguous outputs, so it vectorizes (unlike CSC's indexed scatter). Skipping
     * zero inputs is exact for any input; multiplying by x[j] keeps non-binary values. */
    int32_t i, j;
    if (!wt || !x || !y) return SNNC_ERR_NULL;
    if (n_out < 0 || n_in < 0) return SNNC_ERR_ARG;
    for (i = 0; i < n_out; ++i) y[i] = bias ? bias[i] : (snnc_real_t)0;
    for (j = 0; j < n_in; ++j) {
        const snnc_real_t xj = x[j];
        const snnc_real_t *col = wt + (int64_t)j * n_out;
        if (xj == 0) continue;
        for (i = 0; i < n_out; ++i) y[i] += col[i] * xj;
    }
    return SNNC_OK;
}

int snnc_csc_f(const int32_t *col_ptr, const uint16_t *row, const snnc_real_t *w,
               const snnc_real_t *bias, int32_t n_out, int32_t n_in, const snnc_real_t *x,
               snnc_real_t *y)
{
    int32_t i, j, k;
    if (!col_ptr || !x || !y || (col_ptr[n_in] > 0 && (!row || !w))) return SNNC_ERR_NULL;
    if (n_out < 0 || n_in < 0) return SNNC_ERR_ARG;
    for (i = 0; i < n_out; ++i) y[i] = 0;
    for (j = 0; j < n_in; ++j) {
        const snnc_real_t xj = x[j];
        if (xj == 0) continue;
        for (k = col_ptr[j]; k < col_ptr[j + 1]; ++k) y[row[k]] += w[k] * xj;
    }
    if (bias)
        for (i = 0; i < n_out; ++i) y[i] += bias[i];
    return SNNC_OK;
}

int snnc_delay_f(const int32_t *col_ptr, const uint16_t *row, const snnc_real_t *w,
                 const uint16_t *delay, int32_t max_delay, int32_t n_out, int32_t n_in,
                 const snnc_real_t *x, snnc_real_t *ring, int32_t *head, snnc_real_t *y)
{
    int32_t i, j, k;
    const int32_t slots = max_delay + 1;
    snnc_real_t *now;
    if (!col_ptr || !x || !ring || !head || !y) return SNNC_ERR_NULL;
    if (col_ptr[n_in] > 0 && (!row || !w || !delay)) return SNNC_ERR_NULL;
    if (max_delay < 0 || n_out < 0 || n_in < 0 || *head < 0 || *head >= slots)
        return SNNC_ERR_ARG;
    for (j = 0; j < n_in; ++j) {
        const snnc_real_t xj = x[j];
        if (xj == 0) continue;
        for (k = col_ptr[j]; k < col_ptr[j + 1]; ++k)
            ring[(int64_t)((*head + delay[k]) % slots) * n_out + row[k]] += w[k] * xj;
    }
    now = ring + (int64_t)(*head) * n_out;
    for (i = 0; i < n_out; ++i) {
        y[i] = now[i];
        now[i] = 0;
    }
    *head = (*head + 1) % slots;
    return SNNC_OK;
}

/* ------------------------------------------------------------------ glue */

int snnc_sum_i32(const int32_t *const *src, int32_t n_src, int32_t n, int32_t *y)
{
    int32_t i, k;
    if (!src || !y || n_src < 1) return SNNC_ERR_NULL;
    for (k = 0; k < n_src; ++k)
        if (!src[k]) return SNNC_ERR_NULL;
    for (i = 0; i < n; ++i) {
        int64_t acc = 0;
        for (k = 0; k < n_src; ++k) acc += src[k][i];
        y[i] = snnc_sat(acc, 32);
    }
    return SNNC_OK;
}

int snnc_sum_f(const snnc_real_t *const *src, int32_t n_src, int32_t n, snnc_real_t *y)
{
    int32_t i, k;
    if (!src || !y || n_src < 1) return SNNC_ERR_NULL;
    for (k = 0; k < n_src; ++k)
        if (!src[k]) return SNNC_ERR_NULL;
    for (i = 0; i < n; ++i) {
        snnc_real_t acc = src[0][i];
        for (k = 1; k < n_src; ++k) acc = acc + src[k][i];
        y[i] = acc;
    }
    return SNNC_OK;
}

int snnc_scale_f(const snnc_preal_t *scale, int32_t n, const snnc_real_t *x, snnc_real_t *y)
{
    int32_t i;
    if (!scale || !scale->v || !x || !y) return SNNC_ERR_NULL;
    for (i = 0; i < n; ++i) y[i] = x[i] * SNNC_AT(*scale, i);
    return SNNC_OK;
}

int snnc_threshold_f(const snnc_preal_t *thr, int32_t n, const snnc_real_t *x, snnc_real_t *y)
{
    int32_t i;
    if (!thr || !thr->v || !x || !y) return SNNC_ERR_NULL;
    for (i = 0; i < n; ++i) y[i] = x[i] > SNNC_AT(*thr, i) ? (snnc_real_t)1 : (snnc_real_t)0;
    return SNNC_OK;
}
