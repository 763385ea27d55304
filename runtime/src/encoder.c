/* Real-valued input encoder (see include/snnc/encoder.h). No libm: rounding by hand. */
#include "snnc/encoder.h"

/* round half away from zero of a float32 value already known to fit in int32 range. */
static int64_t round_half_away_f32(float q)
{
    /* Split into integer and fraction parts without libm: the cast truncates toward
     * zero and the fraction |q - trunc(q)| is exact in float32 (Sterbenz). */
    const float t = (float)(int64_t)q;
    const float frac = q - t;
    if (frac >= 0.5f) return (int64_t)t + 1;
    if (frac <= -0.5f) return (int64_t)t - 1;
    return (int64_t)t;
}

int snnc_encode_f32(int32_t n, const float *scale, int32_t scale_per, const int32_t *zp,
                    int32_t zp_per, int32_t qmin, int32_t qmax, const float *x, int16_t *xq)
{
    int32_t i;
    if (!scale || !zp || !x || !xq) return SNNC_ERR_NULL;
    if (n < 0 || qmin > qmax || qmin < -32768 || qmax > 32767) return SNNC_ERR_ARG;
    for (i = 0; i < n; ++i) {
        const float q = x[i] / scale[scale_per ? i : 0];
        int64_t r;
        if (q != q) { /* NaN: no sensible level; take the zero point */
            r = zp[zp_per ? i : 0];
        } else if (q >= 2147483647.0f) {
            r = qmax;
        } else if (q <= -2147483648.0f) {
            r = qmin;
        } else {
            r = round_half_away_f32(q) + zp[zp_per ? i : 0];
        }
        xq[i] = (int16_t)(r > qmax ? qmax : (r < qmin ? qmin : r));
    }
    return SNNC_OK;
}
