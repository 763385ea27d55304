/* Minimal test harness for the runtime's C unit tests (stdio is fine here). */
#ifndef SNNC_TEST_H
#define SNNC_TEST_H

#include <stdio.h>

static int snnc_test_failures = 0;
static int snnc_test_checks = 0;

/* Integer equality; prints the location, expression, expected and actual on failure. */
#define CHECK_EQ(actual, expected)                                                      \
    do {                                                                                \
        long long a_ = (long long)(actual), e_ = (long long)(expected);                 \
        ++snnc_test_checks;                                                             \
        if (a_ != e_) {                                                                 \
            ++snnc_test_failures;                                                       \
            fprintf(stderr, "%s:%d: %s: expected %lld, got %lld\n", __FILE__, __LINE__, \
                    #actual, e_, a_);                                                   \
        }                                                                               \
    } while (0)

#define CHECK_NEAR(actual, expected, tol)                                               \
    do {                                                                                \
        double a_ = (double)(actual), e_ = (double)(expected);                          \
        ++snnc_test_checks;                                                             \
        if (!(a_ - e_ <= (tol) && e_ - a_ <= (tol))) {                                  \
            ++snnc_test_failures;                                                       \
            fprintf(stderr, "%s:%d: %s: expected %.9g, got %.9g (diff %.3g)\n",         \
                    __FILE__, __LINE__, #actual, e_, a_, a_ - e_);                      \
        }                                                                               \
    } while (0)

#define TEST_MAIN_END(name)                                                             \
    do {                                                                                \
        printf("%s: %d checks, %d failures\n", name, snnc_test_checks,                  \
               snnc_test_failures);                                                     \
        return snnc_test_failures ? 1 : 0;                                              \
    } while (0)

#endif /* SNNC_TEST_H */
