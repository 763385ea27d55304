/*
 * Host harness for the generated model: exported entry points for Python (ctypes).
 * Not part of the on-device contract; the caller (Python) allocates the state buffer,
 * so neither this file nor the model allocates memory.
 */
#include <stddef.h>
#include <stdint.h>

#include "model.h"

int32_t snnc_host_state_bytes(void) { return (int32_t)sizeof(SNNC_MODEL_STATE_T); }
int32_t snnc_host_n_inputs(void) { return SNNC_N_INPUTS; }
int32_t snnc_host_n_outputs(void) { return SNNC_N_OUTPUTS; }
int32_t snnc_host_input_bytes(void) { return (int32_t)sizeof(snnc_input_t); }
int32_t snnc_host_output_bytes(void) { return (int32_t)sizeof(snnc_output_t); }
int32_t snnc_host_real_bytes(void) { return (int32_t)sizeof(snnc_real_t); }

/* x: [n_samples][n_steps][SNNC_N_INPUTS], y: [n_samples][n_steps][SNNC_N_OUTPUTS].
 * Each sample starts from reset; returns the first non-zero status, or 0. */
int snnc_host_run(void *state, const snnc_input_t *x, int32_t n_samples, int32_t n_steps,
                  snnc_output_t *y)
{
    SNNC_MODEL_STATE_T *s = (SNNC_MODEL_STATE_T *)state;
    int32_t b, t;
    int rc = SNNC_MODEL_INIT(s);
    if (rc != SNNC_OK) return rc;
    for (b = 0; b < n_samples; ++b) {
        rc = SNNC_MODEL_RESET(s);
        if (rc != SNNC_OK) return rc;
#ifdef SNNC_MODEL_RUN
        /* The generated whole-sequence entry point: T steps inside C. */
        (void)t;
        {
            const size_t k = (size_t)b * (size_t)n_steps;
            rc = SNNC_MODEL_RUN(s, x + k * SNNC_N_INPUTS, n_steps, y + k * SNNC_N_OUTPUTS);
            if (rc != SNNC_OK) return rc;
        }
#else
        for (t = 0; t < n_steps; ++t) {
            const size_t k = (size_t)b * (size_t)n_steps + (size_t)t;
            rc = SNNC_MODEL_STEP(s, x + k * SNNC_N_INPUTS, y + k * SNNC_N_OUTPUTS);
            if (rc != SNNC_OK) return rc;
        }
#endif
    }
    return SNNC_OK;
}

#ifdef SNNC_MODEL_ENCODE
/* x: [n_rows][SNNC_N_INPUTS] float32 sensor samples -> q: quantized inputs. */
int snnc_host_encode(const float *x, int32_t n_rows, snnc_input_t *q)
{
    int32_t r;
    for (r = 0; r < n_rows; ++r) {
        const size_t k = (size_t)r * SNNC_N_INPUTS;
        int rc = SNNC_MODEL_ENCODE(x + k, q + k);
        if (rc != SNNC_OK) return rc;
    }
    return SNNC_OK;
}
#endif
