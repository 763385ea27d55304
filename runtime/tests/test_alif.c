/* ALIF kernel (runtime/src/alif.c) against a hand-stepped trace. */
#include "snnc/alif.h"
#include "snnc/snnc.h"
#include "snnc_test.h"

static void test_alif_adapts(void)
{
    /* beta_q = rho_q = 16384 (0.5), leak 0, thr 100, jump 60, input 80 every step.
     * t0: v = 80, theta 100, no spike, b = 0
     * t1: v = 40+80 = 120 > 100: spike, v = 20, b = 0+60 = 60
     * t2: v = 10+80 = 90, theta 160, b = 30
     * t3: v = 45+80 = 125, theta 130: no spike (a plain LIF fires here), b = 15
     * t4: v = decay(125) = (125*16384 + 16384) >> 15 = 63, +80 = 143 > 115: spike,
     *     v = 143-115 = 28, b = decay(15) = 8, +60 = 68
     * t5: v = 14+80 = 94, theta 168, b = 34
     * zero reset (reset_q = -7): t1 v = -7; t2 decay(-7) = -3, v = 77 */
    const int32_t beta = 16384, rho = 16384, leak = 0, thr = 100, jump = 60, rst = -7;
    const int32_t x[1] = {80};
    const int32_t *xs[1];
    int32_t v = 0, b = 0, t;
    snnc_spike_t s = 0;
    const int32_t want_v[6] = {80, 20, 90, 125, 28, 94}, want_s[6] = {0, 1, 0, 0, 1, 0};
    const int32_t want_b[6] = {0, 60, 30, 15, 68, 34}, want_vz[3] = {80, -7, 77};
    snnc_alif_q_t p;
    xs[0] = x;
    p.n = 1; p.state_bits = 16; p.reset = SNNC_RESET_SUBTRACT;
    p.beta_q.v = &beta; p.beta_q.per = 0; p.rho_q.v = &rho; p.rho_q.per = 0;
    p.leak_q.v = &leak; p.leak_q.per = 0; p.thr_q.v = &thr; p.thr_q.per = 0;
    p.jump_q.v = &jump; p.jump_q.per = 0; p.reset_q.v = &rst; p.reset_q.per = 0;
    for (t = 0; t < 6; ++t) {
        CHECK_EQ(snnc_alif_q(&p, &v, &b, xs, 1, &s), SNNC_OK);
        CHECK_EQ(v, want_v[t]);
        CHECK_EQ(s, want_s[t]);
        CHECK_EQ(b, want_b[t]);
    }
    p.reset = SNNC_RESET_ZERO;
    v = 0; b = 0;
    for (t = 0; t < 3; ++t) {
        CHECK_EQ(snnc_alif_q(&p, &v, &b, xs, 1, &s), SNNC_OK);
        CHECK_EQ(v, want_vz[t]);
    }
    {   /* the 16-bit state variant steps identically */
        int16_t v16 = 0, b16 = 0;
        p.reset = SNNC_RESET_SUBTRACT;
        for (t = 0; t < 6; ++t) {
            CHECK_EQ(snnc_alif_q16(&p, &v16, &b16, xs, 1, &s), SNNC_OK);
            CHECK_EQ(v16, want_v[t]);
            CHECK_EQ(s, want_s[t]);
            CHECK_EQ(b16, want_b[t]);
        }
        p.state_bits = 32; /* does not fit int16 arrays */
        CHECK_EQ(snnc_alif_q16(&p, &v16, &b16, xs, 1, &s), SNNC_ERR_ARG);
        p.state_bits = 16;
    }
    CHECK_EQ(snnc_alif_q(&p, &v, &b, xs, 0, &s), SNNC_ERR_NULL);
    p.state_bits = 33;
    CHECK_EQ(snnc_alif_q(&p, &v, &b, xs, 1, &s), SNNC_ERR_ARG);
}

int main(void)
{
    test_alif_adapts();
    TEST_MAIN_END("test_alif");
}
