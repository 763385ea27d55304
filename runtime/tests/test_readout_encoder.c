/* Readouts and the input encoder against hand-computed values. */
#include "snnc/snnc.h"
#include "snnc_test.h"

static void test_readouts(void)
{
    const int32_t x0[2] = {1, 0}, x1[2] = {2147483647, -3};
    const int32_t *xs[1];
    int32_t c[2] = {0, 0}, y[2], started = 0;
    xs[0] = x0;
    CHECK_EQ(snnc_count_q(2, c, xs, 1, y), SNNC_OK);
    xs[0] = x1;
    CHECK_EQ(snnc_count_q(2, c, xs, 1, y), SNNC_OK);
    CHECK_EQ(y[0], 2147483647); /* saturates */
    CHECK_EQ(y[1], -3);
    /* max: first step takes x, then max */
    c[0] = c[1] = 0;
    xs[0] = x1;
    CHECK_EQ(snnc_membrane_q(2, SNNC_REDUCE_MAX, c, &started, xs, 1, y), SNNC_OK);
    CHECK_EQ(y[1], -3);
    xs[0] = x0;
    CHECK_EQ(snnc_membrane_q(2, SNNC_REDUCE_MAX, c, &started, xs, 1, y), SNNC_OK);
    CHECK_EQ(y[0], 2147483647);
    CHECK_EQ(y[1], 0);
    CHECK_EQ(snnc_membrane_q(2, SNNC_REDUCE_LAST, c, &started, xs, 1, y), SNNC_OK);
    CHECK_EQ(y[0], 1);
    CHECK_EQ(snnc_membrane_q(2, 7, c, &started, xs, 1, y), SNNC_ERR_ARG);
    {
        const int32_t t[4] = {3, 9, 9, 1};
        CHECK_EQ(snnc_argmax_i32(t, 4), 1); /* ties -> lowest index */
        CHECK_EQ(snnc_argmax_i32(t, 0), -1);
    }
}

static void test_encoder(void)
{
    /* scale 0.5, zp 3, int8: x/scale = 2.5 -> 3 (half away) + 3 = 6; -2.5 -> -3 + 3 = 0;
     * 1000 -> saturates at 127; -1000 -> -128; 0.74/0.5 = 1.48 -> 1 + 3 = 4 */
    const float scale = 0.5f;
    const int32_t zp = 3;
    const float x[5] = {1.25f, -1.25f, 1000.0f, -1000.0f, 0.74f};
    int16_t q[5];
    CHECK_EQ(snnc_encode_f32(5, &scale, 0, &zp, 0, -128, 127, x, q), SNNC_OK);
    CHECK_EQ(q[0], 6);
    CHECK_EQ(q[1], 0);
    CHECK_EQ(q[2], 127);
    CHECK_EQ(q[3], -128);
    CHECK_EQ(q[4], 4);
    {
        /* the float32 value just below 0.5 must round to 0, not 1 */
        const float one = 1.0f, below = 0.49999997f;
        const int32_t z = 0;
        int16_t r;
        CHECK_EQ(snnc_encode_f32(1, &one, 0, &z, 0, -128, 127, &below, &r), SNNC_OK);
        CHECK_EQ(r, 0);
    }
}

int main(void)
{
    test_readouts();
    test_encoder();
    TEST_MAIN_END("test_readout_encoder");
}
