/* Shared types of the snnc runtime: status codes, modes, the real type, parameter views. */
#ifndef SNNC_TYPES_H
#define SNNC_TYPES_H

#include <stdint.h>

#define SNNC_RUNTIME_VERSION "0.1.0"

/* Status codes: 0 is success, negatives are errors. */
typedef int snnc_status_t;
#define SNNC_OK 0
#define SNNC_ERR_NULL (-1)  /* a required pointer was NULL */
#define SNNC_ERR_ARG (-2)   /* a size or parameter is out of range */

/* Spike activations (0/1) of integer models: one byte per neuron. */
typedef uint8_t snnc_spike_t;

/* Reset modes of spiking populations. */
#define SNNC_RESET_SUBTRACT 0
#define SNNC_RESET_ZERO 1

/* Membrane readout reductions. */
#define SNNC_REDUCE_SUM 0
#define SNNC_REDUCE_MAX 1
#define SNNC_REDUCE_LAST 2

/* Real type of the float kernels: float on devices; double for differential tests
 * against the float64 reference simulator (compile with -DSNNC_REAL_DOUBLE). */
#ifdef SNNC_REAL_DOUBLE
typedef double snnc_real_t;
#else
typedef float snnc_real_t;
#endif

/*
 * A parameter vector shared by a population (per == 0: v[0] for every neuron) or
 * given per neuron (per == 1: v[i]). NIR keeps scalar parameters scalar; so do we.
 */
typedef struct {
    const int32_t *v;
    int32_t per;
} snnc_pi32_t;

typedef struct {
    const snnc_real_t *v;
    int32_t per;
} snnc_preal_t;

#define SNNC_AT(p, i) ((p).v[(p).per ? (i) : 0])

#endif /* SNNC_TYPES_H */
