/*
 * C-simulation testbench for the snnc HLS kernel (g++ here, `csim_design` in Vitis HLS).
 *
 *   tb inputs.bin [golden.bin]
 *
 * Runs every sample (a reset call, then one kernel call per step), prints the snnc harness
 * protocol, and, given the integer simulator's outputs (golden.bin), compares every value:
 * exit 0 only if all match (the HLS convention: a testbench checks itself).
 */
#include "snnc_io.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s inputs.bin [golden.bin]\n", argv[0]);
        return 2;
    }
    struct snnc_io_data in, gold = {0, 0, 0, NULL};
    if (snnc_io_read(argv[1], "SNNI", SNNC_N_INPUTS, sizeof(snnc_input_t), &in)) {
        return 2;
    }
    if (argc > 2 && (snnc_io_read(argv[2], "SNNO", SNNC_N_OUTPUTS, 4, &gold) ||
                     gold.samples != in.samples || gold.steps != in.steps)) {
        fprintf(stderr, "tb: %s does not match the inputs' samples x steps\n", argv[2]);
        return 2;
    }
    static snnc_input_t x[SNNC_N_INPUTS];
    static snnc_output_t y[SNNC_N_OUTPUTS];
    long mismatches = 0;
    snnc_io_header(in.samples, in.steps);
    for (uint32_t s = 0; s < in.samples; s++) {
        snnc_kernel(x, y, 1);
        for (uint32_t t = 0; t < in.steps; t++) {
            size_t k = (size_t)s * in.steps + t;
            memcpy(x, (const snnc_input_t *)in.values + k * SNNC_N_INPUTS, sizeof x);
            snnc_kernel(x, y, 0);
            snnc_io_row(y);
            if (gold.values) {
                const int32_t *g = (const int32_t *)gold.values + k * SNNC_N_OUTPUTS;
                for (int i = 0; i < SNNC_N_OUTPUTS; i++) {
                    if ((int32_t)y[i] != g[i] && mismatches++ < 10) {
                        fprintf(stderr, "tb: sample %u step %u output %d: kernel %ld, golden %ld\n",
                                (unsigned)s, (unsigned)t, i, (long)y[i], (long)g[i]);
                    }
                }
            }
        }
    }
    if (gold.values) {
        printf("snnc-csim compared=%lu mismatches=%ld\n",
               (unsigned long)in.samples * in.steps * SNNC_N_OUTPUTS, mismatches);
    }
    printf("snnc-done rc=%d\n", mismatches ? 1 : 0);
    free(in.values);
    free(gold.values);
    return mismatches ? 1 : 0;
}
