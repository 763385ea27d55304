/* Neuron kernels against hand-stepped traces (integer and float). */
#include "snnc/snnc.h"
#include "snnc_test.h"

static void test_lif_subtract_and_zero(void)
{
    /* beta_q = 16384 (0.5), leak 0, thr 100, input 80 every step.
     * subtract: v: 80 -> 40+80=120 > 100: s=1, v=20 -> 10+80=90 -> 45+80=125: s=1, v=25
     * zero (reset_q = -7): 80 -> 120: s=1, v=-7 -> round(-3.5)=-3 (half up) +80 = 77 */
    const int32_t beta = 16384, leak = 0, thr = 100, rst = -7;
    const int32_t x[1] = {80};
    const int32_t *xs[1];
    int32_t v = 0, t;
    snnc_spike_t s = 0;
    const int32_t want_v[4] = {80, 20, 90, 25}, want_s[4] = {0, 1, 0, 1};
    const int32_t want_vz[3] = {80, -7, 77};
    snnc_lif_q_t p;
    xs[0] = x;
    p.n = 1; p.state_bits = 16; p.reset = SNNC_RESET_SUBTRACT;
    p.beta_q.v = &beta; p.beta_q.per = 0; p.leak_q.v = &leak; p.leak_q.per = 0;
    p.thr_q.v = &thr; p.thr_q.per = 0; p.reset_q.v = &rst; p.reset_q.per = 0;
    for (t = 0; t < 4; ++t) {
        CHECK_EQ(snnc_lif_q(&p, &v, xs, 1, &s), SNNC_OK);
        CHECK_EQ(v, want_v[t]);
        CHECK_EQ(s, want_s[t]);
    }
    p.reset = SNNC_RESET_ZERO;
    v = 0;
    for (t = 0; t < 3; ++t) {
        CHECK_EQ(snnc_lif_q(&p, &v, xs, 1, &s), SNNC_OK);
        CHECK_EQ(v, want_vz[t]);
    }
    CHECK_EQ(snnc_lif_q(&p, &v, xs, 0, &s), SNNC_ERR_NULL);
}

static void test_saturation_and_two_inputs(void)
{
    /* two edges of 30000 each: exact sum 60000 saturates v at 32767 (16-bit), not wraps */
    const int32_t beta = 32768, leak = 0, thr = 32767, rst = 0;
    const int32_t a[1] = {30000}, b[1] = {30000};
    const int32_t *xs[2];
    int32_t v = 0, y = 0;
    snnc_spike_t s = 0;
    snnc_lif_q_t p;
    xs[0] = a; xs[1] = b;
    p.n = 1; p.state_bits = 16; p.reset = SNNC_RESET_SUBTRACT;
    p.beta_q.v = &beta; p.beta_q.per = 0; p.leak_q.v = &leak; p.leak_q.per = 0;
    p.thr_q.v = &thr; p.thr_q.per = 0; p.reset_q.v = &rst; p.reset_q.per = 0;
    CHECK_EQ(snnc_lif_q(&p, &v, xs, 2, &s), SNNC_OK);
    CHECK_EQ(v, 32767);
    CHECK_EQ(s, 0); /* spike needs v > thr */
    /* LI: y = v, never resets */
    CHECK_EQ(snnc_li_q(&p, &v, xs, 2, &y), SNNC_OK);
    CHECK_EQ(y, 32767);
    /* IF: v = sat(v + x) */
    v = -32000;
    {
        const int32_t neg[1] = {-1000};
        const int32_t *xn[1];
        xn[0] = neg;
        CHECK_EQ(snnc_if_q(&p, &v, xn, 1, &s), SNNC_OK);
        CHECK_EQ(v, -32768);
    }
}

static void test_per_neuron_params(void)
{
    const int32_t beta[2] = {32768, 0}, leak = 5, thr[2] = {1000, 10}, rst = 0;
    const int32_t x[2] = {3, 3};
    const int32_t *xs[1];
    int32_t v[2] = {100, 100};
    snnc_spike_t s[2];
    snnc_lif_q_t p;
    xs[0] = x;
    p.n = 2; p.state_bits = 32; p.reset = SNNC_RESET_ZERO;
    p.beta_q.v = beta; p.beta_q.per = 1; p.leak_q.v = &leak; p.leak_q.per = 0;
    p.thr_q.v = thr; p.thr_q.per = 1; p.reset_q.v = &rst; p.reset_q.per = 0;
    CHECK_EQ(snnc_lif_q(&p, v, xs, 1, s), SNNC_OK);
    CHECK_EQ(v[0], 108);  /* 100 + 3 + 5 */
    CHECK_EQ(s[0], 0);
    CHECK_EQ(v[1], 8);    /* decay to 0, + 3 + 5 = 8 <= 10: no spike */
    CHECK_EQ(s[1], 0);
}

static void test_cubalif(void)
{
    /* alpha 0.5, beta 0.5, mult_v 1 shift_v 1 (i/2), thr 20.
     * t0: i = 40, v = 20 (no spike, needs > 20); t1: i = 20+40 = 60, v = 10 + 30 = 40 ->
     * spike, subtract: v = 20 */
    const int32_t half = 16384, one = 1, leak = 0, thr = 20, rst = 0;
    const int32_t x[1] = {40};
    const int32_t *xs[1];
    int32_t i = 0, v = 0;
    snnc_spike_t s = 0;
    snnc_cubalif_q_t p;
    xs[0] = x;
    p.n = 1; p.cur_bits = 16; p.state_bits = 16; p.reset = SNNC_RESET_SUBTRACT;
    p.alpha_q.v = &half; p.alpha_q.per = 0; p.beta_q.v = &half; p.beta_q.per = 0;
    p.mult_v.v = &one; p.mult_v.per = 0; p.shift_v.v = &one; p.shift_v.per = 0;
    p.leak_q.v = &leak; p.leak_q.per = 0; p.thr_q.v = &thr; p.thr_q.per = 0;
    p.reset_q.v = &rst; p.reset_q.per = 0;
    CHECK_EQ(snnc_cubalif_q(&p, &i, &v, xs, 1, &s), SNNC_OK);
    CHECK_EQ(i, 40);
    CHECK_EQ(v, 20);
    CHECK_EQ(s, 0);
    CHECK_EQ(snnc_cubalif_q(&p, &i, &v, xs, 1, &s), SNNC_OK);
    CHECK_EQ(i, 60);
    CHECK_EQ(v, 20);
    CHECK_EQ(s, 1);
}

static void test_float_lif(void)
{
    /* beta 0.5, r 2, v_leak 0, thr 1: v = 0.5 v + 0.5 * 2 x; x = 0.6 each step:
     * v: 0.6 -> 0.9 -> 1.05 (spike, v = 0.05) */
    const snnc_real_t beta = 0.5f, r = 2, leak = 0, thr = 1, vr = 0;
    const snnc_real_t x[1] = {0.6f};
    const snnc_real_t *xs[1];
    snnc_real_t v = 0, s = 0;
    snnc_lif_f_t p;
    xs[0] = x;
    p.n = 1; p.reset = SNNC_RESET_SUBTRACT;
    p.beta.v = &beta; p.beta.per = 0; p.r.v = &r; p.r.per = 0; p.v_leak.v = &leak;
    p.v_leak.per = 0; p.thr.v = &thr; p.thr.per = 0; p.v_reset.v = &vr; p.v_reset.per = 0;
    CHECK_EQ(snnc_lif_f(&p, &v, xs, 1, &s), SNNC_OK);
    CHECK_NEAR(v, 0.6, 1e-6);
    CHECK_EQ(snnc_lif_f(&p, &v, xs, 1, &s), SNNC_OK);
    CHECK_NEAR(v, 0.9, 1e-6);
    CHECK_EQ(s, 0);
    CHECK_EQ(snnc_lif_f(&p, &v, xs, 1, &s), SNNC_OK);
    CHECK_NEAR(v, 0.05, 1e-6);
    CHECK_EQ(s, 1);
}

static void test_threshold_q(void)
{
    /* y = x > thr with x the exact sum of two edges; thr may be <= 0 */
    const int32_t thr[3] = {5, 0, -2};
    const int32_t a[3] = {3, 0, -1}, b[3] = {3, 0, -1};
    const int32_t *xs[2];
    snnc_spike_t y[3];
    snnc_pi32_t p;
    xs[0] = a; xs[1] = b;
    p.v = thr; p.per = 1;
    CHECK_EQ(snnc_threshold_q(3, &p, xs, 2, y), SNNC_OK);
    CHECK_EQ(y[0], 1);  /* 6 > 5 */
    CHECK_EQ(y[1], 0);  /* 0 > 0 is false */
    CHECK_EQ(y[2], 0);  /* -2 > -2 is false */
}

static void test_16bit_state_variants_match(void)
{
    /* Same parameters and inputs: int16 state arrays give the same trace as int32. */
    const int32_t beta = 29000, leak = -2, thr = 3000, rst = -100, half = 16384, one = 1;
    const int32_t xa[3] = {2500, -40000, 900}, xb[3] = {1200, -35000, -300};
    const int32_t *xs[2];
    int32_t v32[3] = {0, 0, 0}, c32[3] = {0, 0, 0};
    int16_t v16[3] = {0, 0, 0}, c16[3] = {0, 0, 0};
    snnc_spike_t s32[3], s16[3];
    snnc_lif_q_t p;
    snnc_cubalif_q_t q;
    int32_t t, i;
    xs[0] = xa; xs[1] = xb;
    p.n = 3; p.state_bits = 16; p.reset = SNNC_RESET_ZERO;
    p.beta_q.v = &beta; p.beta_q.per = 0; p.leak_q.v = &leak; p.leak_q.per = 0;
    p.thr_q.v = &thr; p.thr_q.per = 0; p.reset_q.v = &rst; p.reset_q.per = 0;
    q.n = 3; q.cur_bits = 16; q.state_bits = 16; q.reset = SNNC_RESET_SUBTRACT;
    q.alpha_q.v = &half; q.alpha_q.per = 0; q.beta_q.v = &beta; q.beta_q.per = 0;
    q.mult_v.v = &one; q.mult_v.per = 0; q.shift_v.v = &one; q.shift_v.per = 0;
    q.leak_q.v = &leak; q.leak_q.per = 0; q.thr_q.v = &thr; q.thr_q.per = 0;
    q.reset_q.v = &rst; q.reset_q.per = 0;
    for (t = 0; t < 6; ++t) {
        CHECK_EQ(snnc_lif_q(&p, v32, xs, 2, s32), SNNC_OK);
        CHECK_EQ(snnc_lif_q16(&p, v16, xs, 2, s16), SNNC_OK);
        for (i = 0; i < 3; ++i) {
            CHECK_EQ(v16[i], v32[i]);
            CHECK_EQ(s16[i], s32[i]);
        }
    }
    CHECK_EQ(v32[1], -32768); /* saturated, not wrapped, and representable in int16 */
    for (i = 0; i < 3; ++i) v32[i] = v16[i] = 0;
    for (t = 0; t < 6; ++t) {
        CHECK_EQ(snnc_if_q(&p, v32, xs, 2, s32), SNNC_OK);
        CHECK_EQ(snnc_if_q16(&p, v16, xs, 2, s16), SNNC_OK);
        CHECK_EQ(snnc_cubalif_q(&q, c32, v32, xs, 2, s32), SNNC_OK);
        CHECK_EQ(snnc_cubalif_q16(&q, c16, v16, xs, 2, s16), SNNC_OK);
        for (i = 0; i < 3; ++i) {
            CHECK_EQ(v16[i], v32[i]);
            CHECK_EQ(c16[i], c32[i]);
            CHECK_EQ(s16[i], s32[i]);
        }
    }
    p.state_bits = 32; /* does not fit int16 arrays */
    CHECK_EQ(snnc_lif_q16(&p, v16, xs, 2, s16), SNNC_ERR_ARG);
}

int main(void)
{
    test_16bit_state_variants_match();
    test_threshold_q();
    test_lif_subtract_and_zero();
    test_saturation_and_two_inputs();
    test_per_neuron_params();
    test_cubalif();
    test_float_lif();
    TEST_MAIN_END("test_neuron");
}
