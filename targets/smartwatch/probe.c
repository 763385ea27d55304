/*
 * Size probe: the smallest firmware that keeps the model (built with -DSNNC_PROBE_MODEL)
 * or nothing (without it). The size check links both; their section-size difference is
 * what the model and the runtime add to the firmware (code, tables, state).
 */
#include <string.h>

#ifdef SNNC_PROBE_MODEL
#include "model.h"

static SNNC_MODEL_STATE_T probe_state;
static snnc_input_t probe_in[SNNC_N_INPUTS];
static snnc_output_t probe_out[SNNC_N_OUTPUTS];

int main(void)
{
    SNNC_MODEL_INIT(&probe_state);
    SNNC_MODEL_RESET(&probe_state);
    memset(probe_in, 0, sizeof probe_in);
    return SNNC_MODEL_STEP(&probe_state, probe_in, probe_out) != 0;
}
#else
int main(void) { return 0; }
#endif
