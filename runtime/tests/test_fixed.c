/* Fixed-point primitives against hand-computed values (docs/fixed_point.md). */
#include "snnc/snnc.h"
#include "snnc_test.h"

int main(void)
{
    /* saturation */
    CHECK_EQ(snnc_sat(40000, 16), 32767);
    CHECK_EQ(snnc_sat(-40000, 16), -32768);
    CHECK_EQ(snnc_sat(-32768, 16), -32768);
    CHECK_EQ(snnc_sat((int64_t)1 << 40, 32), 2147483647);
    CHECK_EQ(snnc_sat(-((int64_t)1 << 40), 32), -2147483647LL - 1);
    CHECK_EQ(snnc_sat(127, 8), 127);
    CHECK_EQ(snnc_sat(128, 8), 127);
    /* round half up, arithmetic (floor) shift */
    CHECK_EQ(snnc_rshift_round(5, 1), 3);    /* 2.5 -> 3 */
    CHECK_EQ(snnc_rshift_round(-5, 1), -2);  /* -2.5 -> -2 (half up) */
    CHECK_EQ(snnc_rshift_round(-7, 2), -2);  /* -1.75 -> -2 */
    CHECK_EQ(snnc_rshift_round(6, 2), 2);    /* 1.5 -> 2 */
    CHECK_EQ(snnc_rshift_round(-6, 2), -1);  /* -1.5 -> -1 */
    CHECK_EQ(snnc_rshift_round(123, 0), 123);
    CHECK_EQ(snnc_rshift_round((int64_t)1 << 61, 62), 1); /* 0.5 -> 1 */
    /* decay: the docstring example decay(-3, 16384) == -1 */
    CHECK_EQ(snnc_decay(-3, 16384), -1);
    CHECK_EQ(snnc_decay(3, 16384), 2);
    CHECK_EQ(snnc_decay(1000, 32768), 1000);
    CHECK_EQ(snnc_decay(1000, 0), 0);
    CHECK_EQ(snnc_decay(-32768, 29491), -29491); /* -32768*29491/32768 exactly */
    /* requantization: 100 * 3 / 4 = 75; saturates at the state width */
    CHECK_EQ(snnc_rq(100, 3, 2, 16), 75);
    CHECK_EQ(snnc_rq(-101, 3, 2, 16), -76); /* -75.75 -> -76 */
    CHECK_EQ(snnc_rq(2147483647, 2147483647, 0, 32), 2147483647);
    CHECK_EQ(snnc_rq(100000, 1, 0, 16), 32767);
    TEST_MAIN_END("test_fixed");
}
