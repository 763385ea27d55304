/* Synapse kernels: dense vs CSC vs hand-computed; delays; saturation of acc. */
#include "snnc/snnc.h"
#include "snnc_test.h"

static const int32_t ONE = 1, ZERO = 0;

static void test_dense_and_csc(void)
{
    /* W = [[1, -2, 0], [0, 3, 4]], x = [1, 1, 2], b = [10, -1]
     * acc = [1 - 2 + 0 + 10, 0 + 3 + 8 - 1] = [9, 10]; rq with m=3, sh=1: [14 (13.5), 15] */
    static const int8_t w[6] = {1, -2, 0, 0, 3, 4};
    static const int32_t b[2] = {10, -1};
    static const int32_t col_ptr[4] = {0, 1, 3, 4};
    static const uint16_t row[4] = {0, 0, 1, 1};
    static const int8_t wc[4] = {1, -2, 3, 4};
    const int32_t m = 3, sh = 1;
    const int32_t x[3] = {1, 1, 2};
    int32_t y[2] = {0, 0}, yc[2] = {0, 0}, yw[2] = {0, 0};
    int64_t wide[2];
    snnc_qsyn_t p;
    p.n_out = 2; p.n_in = 3; p.out_bits = 16; p.bias = b;
    p.mult.v = &m; p.mult.per = 0; p.shift.v = &sh; p.shift.per = 0;
    CHECK_EQ(snnc_qdense_i8(&p, w, x, y), SNNC_OK);
    CHECK_EQ(y[0], 14);
    CHECK_EQ(y[1], 15);
    CHECK_EQ(snnc_qcsc_i8(&p, col_ptr, row, wc, x, NULL, yc), SNNC_OK);
    CHECK_EQ(yc[0], 14);
    CHECK_EQ(yc[1], 15);
    CHECK_EQ(snnc_qcsc_i8(&p, col_ptr, row, wc, x, wide, yw), SNNC_OK);
    CHECK_EQ(yw[0], 14);
    CHECK_EQ(yw[1], 15);
    /* errors */
    CHECK_EQ(snnc_qdense_i8(NULL, w, x, y), SNNC_ERR_NULL);
    CHECK_EQ(snnc_qdense_i8(&p, w, NULL, y), SNNC_ERR_NULL);
    p.n_out = -1;
    CHECK_EQ(snnc_qdense_i8(&p, w, x, y), SNNC_ERR_ARG);
}

static void test_acc_clamps_before_rq(void)
{
    /* acc = 30000 * 32767 * 3 > 2^31: clamped to int32 max, then >> 16 */
    static const int16_t w[3] = {32767, 32767, 32767};
    static const int32_t col_ptr[4] = {0, 1, 2, 3};
    static const uint16_t row[3] = {0, 0, 0};
    const int32_t x[3] = {30000, 30000, 30000};
    const int32_t m = 1, sh = 16;
    int32_t y = 0;
    int64_t wide[1];
    snnc_qsyn_t p;
    p.n_out = 1; p.n_in = 3; p.out_bits = 32; p.bias = NULL;
    p.mult.v = &m; p.mult.per = 0; p.shift.v = &sh; p.shift.per = 0;
    CHECK_EQ(snnc_qdense_i16(&p, w, x, &y), SNNC_OK);
    CHECK_EQ(y, (2147483647LL + 32768) >> 16);
    y = 0;
    CHECK_EQ(snnc_qcsc_i16(&p, col_ptr, row, w, x, wide, &y), SNNC_OK);
    CHECK_EQ(y, (2147483647LL + 32768) >> 16);
}

static void test_delay(void)
{
    /* 2 inputs -> 1 output; w = [2, 5], d = [0, 2]. x0 spikes at t=0, x1 at t=0 and t=1.
     * y[0] = 2 (x0 now), y[1] = 0, y[2] = 5 (x1 from t=0), y[3] = 5 (x1 from t=1), y[4] = 0 */
    static const int32_t col_ptr[3] = {0, 1, 2};
    static const uint16_t row[2] = {0, 0};
    static const int8_t w[2] = {2, 5};
    static const uint16_t d[2] = {0, 2};
    const int32_t xs[5][2] = {{1, 1}, {0, 1}, {0, 0}, {0, 0}, {0, 0}};
    const int32_t want[5] = {2, 0, 5, 5, 0};
    int32_t ring32[3] = {0, 0, 0}, head32 = 0, y32 = 0;
    int64_t ring64[3] = {0, 0, 0};
    int32_t head64 = 0, y64 = 0, t;
    snnc_qsyn_t p;
    p.n_out = 1; p.n_in = 2; p.out_bits = 16; p.bias = NULL;
    p.mult.v = &ONE; p.mult.per = 0; p.shift.v = &ZERO; p.shift.per = 0;
    for (t = 0; t < 5; ++t) {
        CHECK_EQ(snnc_qdelay_i8_r32(&p, col_ptr, row, w, d, 2, xs[t], ring32, &head32, &y32),
                 SNNC_OK);
        CHECK_EQ(snnc_qdelay_i8_r64(&p, col_ptr, row, w, d, 2, xs[t], ring64, &head64, &y64),
                 SNNC_OK);
        CHECK_EQ(y32, want[t]);
        CHECK_EQ(y64, want[t]);
    }
    head32 = 3;
    CHECK_EQ(snnc_qdelay_i8_r32(&p, col_ptr, row, w, d, 2, xs[0], ring32, &head32, &y32),
             SNNC_ERR_ARG);
}

static void test_spike_inputs_match_int32_inputs(void)
{
    /* The snnc_spike_t variants must equal the int32 kernels on the same 0/1 vector. */
    static const int8_t w[12] = {3, -4, 5, 0, 7, 1, -2, 0, 9, 9, -9, 2};
    static const int32_t col_ptr[5] = {0, 2, 4, 6, 9};
    static const uint16_t row[9] = {0, 2, 0, 1, 1, 2, 0, 1, 2};
    static const int8_t wc[9] = {3, 7, -4, 1, -2, 9, 0, 9, 2};
    static const uint16_t d[9] = {0, 1, 2, 0, 1, 2, 0, 1, 2};
    const int32_t m = 1, sh = 0;
    const int32_t x32[4] = {1, 0, 1, 1};
    const snnc_spike_t xs[4] = {1, 0, 1, 1};
    int32_t a[3], b[3], r32[9] = {0}, r8[9] = {0}, h32 = 0, h8 = 0, t, i;
    snnc_qsyn_t p;
    p.n_out = 3; p.n_in = 4; p.out_bits = 16; p.bias = NULL;
    p.mult.v = &m; p.mult.per = 0; p.shift.v = &sh; p.shift.per = 0;
    CHECK_EQ(snnc_qdense_i8(&p, w, x32, a), SNNC_OK);
    CHECK_EQ(snnc_qdense_i8_s(&p, w, xs, b), SNNC_OK);
    for (i = 0; i < 3; ++i) CHECK_EQ(b[i], a[i]);
    CHECK_EQ(a[0], 3 + 5 + 0); /* row 0: w[0] + w[2] + w[3] */
    CHECK_EQ(snnc_qcsc_i8(&p, col_ptr, row, wc, x32, NULL, a), SNNC_OK);
    CHECK_EQ(snnc_qcsc_i8_s(&p, col_ptr, row, wc, xs, NULL, b), SNNC_OK);
    for (i = 0; i < 3; ++i) CHECK_EQ(b[i], a[i]);
    for (t = 0; t < 4; ++t) {
        CHECK_EQ(snnc_qdelay_i8_r32(&p, col_ptr, row, wc, d, 2, x32, r32, &h32, a), SNNC_OK);
        CHECK_EQ(snnc_qdelay_i8_r32_s(&p, col_ptr, row, wc, d, 2, xs, r8, &h8, b), SNNC_OK);
        for (i = 0; i < 3; ++i) CHECK_EQ(b[i], a[i]);
    }
}

static void test_float(void)
{
    static const snnc_real_t w[6] = {0.5f, -1, 0, 0, 2, 0.25f};
    static const snnc_real_t b[2] = {1, 0};
    static const int32_t col_ptr[4] = {0, 1, 3, 4};
    static const uint16_t row[4] = {0, 0, 1, 1};
    static const snnc_real_t wc[4] = {0.5f, -1, 2, 0.25f};
    const snnc_real_t x[3] = {2, 1, 4};
    snnc_real_t y[2], yc[2];
    CHECK_EQ(snnc_dense_f(w, b, 2, 3, x, y), SNNC_OK);
    CHECK_NEAR(y[0], 1.0, 1e-6);  /* 1 - 1 + 1 */
    CHECK_NEAR(y[1], 3.0, 1e-6);  /* 2 + 1 */
    CHECK_EQ(snnc_csc_f(col_ptr, row, wc, b, 2, 3, x, yc), SNNC_OK);
    CHECK_NEAR(yc[0], 1.0, 1e-6);
    CHECK_NEAR(yc[1], 3.0, 1e-6);
    {   /* the same W column-major, inputs with a zero (skipped) and a non-binary value */
        static const snnc_real_t wt[6] = {0.5f, 0, -1, 2, 0, 0.25f};
        const snnc_real_t xs[3] = {2, 0, 4};
        snnc_real_t ye[2];
        CHECK_EQ(snnc_dense_event_f(wt, b, 2, 3, xs, ye), SNNC_OK);
        CHECK_NEAR(ye[0], 2.0, 1e-6);  /* 1 + 0.5*2 + 0*(-1) + 0*4 */
        CHECK_NEAR(ye[1], 1.0, 1e-6);  /* 0 + 0 + 0 + 0.25*4 */
        CHECK_EQ(snnc_dense_event_f(NULL, b, 2, 3, xs, ye), SNNC_ERR_NULL);
    }
}

static void test_sum(void)
{
    const int32_t a[2] = {2147483647, -5}, b[2] = {10, 7};
    const int32_t *src[2];
    int32_t y[2];
    src[0] = a; src[1] = b;
    CHECK_EQ(snnc_sum_i32(src, 2, 2, y), SNNC_OK);
    CHECK_EQ(y[0], 2147483647);
    CHECK_EQ(y[1], 2);
    CHECK_EQ(snnc_sum_i32(src, 0, 2, y), SNNC_ERR_NULL);
}

int main(void)
{
    test_dense_and_csc();
    test_acc_clamps_before_rq();
    test_delay();
    test_spike_inputs_match_int32_inputs();
    test_float();
    test_sum();
    TEST_MAIN_END("test_synapse");
}
