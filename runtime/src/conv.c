/* Convolution and pooling kernels (see include/snnc/conv.h). */
#include "snnc/conv.h"

#include "snnc/fixed.h"

static int check(const snnc_qsyn_t *p, const snnc_conv2d_t *g)
{
    if (!p || !g || !p->mult.v || !p->shift.v) return SNNC_ERR_NULL;
    if (g->groups < 1 || g->c_in % g->groups || g->c_out % g->groups || g->kh < 1 ||
        g->kw < 1 || g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1 || g->ph < 0 ||
        g->pw < 0 || p->out_bits < 2 || p->out_bits > 32 ||
        p->n_out != g->c_out * g->h_out * g->w_out || p->n_in != g->c_in * g->h_in * g->w_in)
        return SNNC_ERR_ARG;
    return SNNC_OK;
}

/* acc (exact) + bias -> clamp to int32 -> requantize with the channel's multiplier. */
static inline int32_t finish(const snnc_qsyn_t *p, int32_t co, int64_t acc)
{
    if (p->bias) acc += p->bias[co];
    return snnc_rq(snnc_sat(acc, 32), SNNC_AT(p->mult, co), SNNC_AT(p->shift, co),
                   p->out_bits);
}

/* Gather: each output from its window (real-valued inputs). */
#define SNNC_QCONV2D(NAME, WT)                                                         \
    int NAME(const snnc_qsyn_t *p, const snnc_conv2d_t *g, const WT *w,                \
             const int32_t *x, int32_t *y)                                             \
    {                                                                                  \
        int32_t co, oy, ox, ci, ky, kx;                                                \
        int rc = check(p, g);                                                          \
        if (rc != SNNC_OK) return rc;                                                  \
        if (!w || !x || !y) return SNNC_ERR_NULL;                                      \
        {                                                                              \
            const int32_t cig = g->c_in / g->groups, cog = g->c_out / g->groups;       \
            for (co = 0; co < g->c_out; ++co) {                                        \
                const int32_t c0 = (co / cog) * cig;                                   \
                const WT *wc = w + (int64_t)co * cig * g->kh * g->kw;                  \
                for (oy = 0; oy < g->h_out; ++oy)                                      \
                    for (ox = 0; ox < g->w_out; ++ox) {                                \
                        int64_t acc = 0;                                               \
                        for (ci = 0; ci < cig; ++ci)                                   \
                            for (ky = 0; ky < g->kh; ++ky) {                           \
                                const int32_t iy = oy * g->sh + ky * g->dh - g->ph;    \
                                if (iy < 0 || iy >= g->h_in) continue;                 \
                                for (kx = 0; kx < g->kw; ++kx) {                       \
                                    const int32_t ix = ox * g->sw + kx * g->dw - g->pw;\
                                    if (ix < 0 || ix >= g->w_in) continue;             \
                                    acc += (int64_t)wc[(ci * g->kh + ky) * g->kw + kx] \
                                           * x[((int64_t)(c0 + ci) * g->h_in + iy)     \
                                               * g->w_in + ix];                        \
                                }                                                      \
                            }                                                          \
                        y[((int64_t)co * g->h_out + oy) * g->w_out + ox] =             \
                            finish(p, co, acc);                                        \
                    }                                                                  \
            }                                                                          \
        }                                                                              \
        return SNNC_OK;                                                                \
    }

SNNC_QCONV2D(snnc_qconv2d_i8, int8_t)
SNNC_QCONV2D(snnc_qconv2d_i16, int16_t)

/* Scatter: each input spike adds its weights to the outputs whose window holds it.
 * Output (oy, ox) reads input row iy through tap ky when oy*sh = iy + ph - ky*dh. The
 * innermost loop walks the group's output channels with two pointer strides (32-bit
 * index arithmetic: the code generator keeps every layer below 2^31 elements). */
#define SNNC_QCONV2D_S(NAME, WT)                                                       \
    int NAME(const snnc_qsyn_t *p, const snnc_conv2d_t *g, const WT *w,                \
             const snnc_spike_t *x, int64_t *wide, int32_t *y)                         \
    {                                                                                  \
        int32_t ci, iy, ix, ky, kx, k, co;                                             \
        int rc = check(p, g);                                                          \
        if (rc != SNNC_OK) return rc;                                                  \
        if (!w || !x || !y) return SNNC_ERR_NULL;                                      \
        {                                                                              \
            const int32_t cig = g->c_in / g->groups, cog = g->c_out / g->groups;       \
            const int32_t hw = g->h_out * g->w_out, ws = cig * g->kh * g->kw;           \
            const snnc_spike_t *xp = x;                                                \
            for (k = 0; k < p->n_out; ++k) {                                           \
                if (wide) wide[k] = 0;                                                 \
                else y[k] = 0;                                                         \
            }                                                                          \
            for (ci = 0; ci < g->c_in; ++ci) {                                         \
                const int32_t grp = ci / cig, cl = ci - grp * cig;                     \
                for (iy = 0; iy < g->h_in; ++iy)                                       \
                    for (ix = 0; ix < g->w_in; ++ix) {                                 \
                        if (!*xp++) continue;                                          \
                        for (ky = 0; ky < g->kh; ++ky) {                               \
                            const int32_t ny = iy + g->ph - ky * g->dh;                \
                            int32_t oy;                                                \
                            if (ny < 0) continue;                                      \
                            if (g->sh == 1) oy = ny; /* no division on the common path */\
                            else if (ny % g->sh) continue;                             \
                            else oy = ny / g->sh;                                      \
                            if (oy >= g->h_out) continue;                              \
                            for (kx = 0; kx < g->kw; ++kx) {                           \
                                const int32_t nx = ix + g->pw - kx * g->dw;            \
                                const int32_t o0 = grp * cog * hw + oy * g->w_out;     \
                                const WT *wp = w + (grp * cog * cig + cl) * g->kh      \
                                                   * g->kw + ky * g->kw + kx;          \
                                int32_t ox;                                            \
                                if (nx < 0) continue;                                  \
                                if (g->sw == 1) ox = nx;                               \
                                else if (nx % g->sw) continue;                         \
                                else ox = nx / g->sw;                                  \
                                if (ox >= g->w_out) continue;                          \
                                if (wide) {                                            \
                                    int64_t *op = wide + o0 + ox;                      \
                                    for (co = 0; co < cog; ++co, op += hw, wp += ws)   \
                                        *op += *wp;                                    \
                                } else {                                               \
                                    int32_t *op = y + o0 + ox;                         \
                                    for (co = 0; co < cog; ++co, op += hw, wp += ws)   \
                                        *op += *wp;                                    \
                                }                                                      \
                            }                                                          \
                        }                                                              \
                    }                                                                  \
            }                                                                          \
            for (co = 0; co < g->c_out; ++co)                                          \
                for (k = co * hw; k < (co + 1) * hw; ++k)                              \
                    y[k] = finish(p, co, wide ? wide[k] : (int64_t)y[k]);              \
        }                                                                              \
        return SNNC_OK;                                                                \
    }

SNNC_QCONV2D_S(snnc_qconv2d_i8_s, int8_t)
SNNC_QCONV2D_S(snnc_qconv2d_i16_s, int16_t)

#define SNNC_SUMPOOL2D(NAME, XT)                                                       \
    int NAME(const snnc_conv2d_t *g, const XT *x, int32_t *y)                          \
    {                                                                                  \
        int32_t c, oy, ox, ky, kx;                                                     \
        if (!g || !x || !y) return SNNC_ERR_NULL;                                      \
        if (g->c_out != g->c_in || g->kh < 1 || g->kw < 1 || g->sh < 1 || g->sw < 1 ||  \
            g->ph < 0 || g->pw < 0)                                                    \
            return SNNC_ERR_ARG;                                                       \
        for (c = 0; c < g->c_in; ++c)                                                  \
            for (oy = 0; oy < g->h_out; ++oy)                                          \
                for (ox = 0; ox < g->w_out; ++ox) {                                    \
                    int64_t acc = 0;                                                   \
                    for (ky = 0; ky < g->kh; ++ky) {                                   \
                        const int32_t iy = oy * g->sh + ky - g->ph;                    \
                        if (iy < 0 || iy >= g->h_in) continue;                         \
                        for (kx = 0; kx < g->kw; ++kx) {                               \
                            const int32_t ix = ox * g->sw + kx - g->pw;                \
                            if (ix < 0 || ix >= g->w_in) continue;                     \
                            acc += x[((int64_t)c * g->h_in + iy) * g->w_in + ix];      \
                        }                                                              \
                    }                                                                  \
                    y[((int64_t)c * g->h_out + oy) * g->w_out + ox] = snnc_sat(acc, 32); \
                }                                                                      \
        return SNNC_OK;                                                                \
    }

SNNC_SUMPOOL2D(snnc_sumpool2d_q, int32_t)
SNNC_SUMPOOL2D(snnc_sumpool2d_q_s, snnc_spike_t)
