/*
 * snnc smartwatch firmware harness: runs the generated model (model.h/model.c) on the
 * test inputs embedded by the build (inputs.h), step by step, and prints over
 * semihosting:
 *
 *   snnc-harness v1 model=NAME samples=S steps=T inputs=I outputs=O out_bytes=B
 *   o HEX CYC        one line per step: the raw bytes of snnc_output_t[O] in hex, and
 *                    the SysTick cycles the step took
 *   snnc-done rc=0
 *
 * Outputs are printed as raw bytes so the host decodes them exactly whatever
 * snnc_output_t is. Two latency measurements:
 * - SysTick, clocked by the core clock, read before and after each step: CPU cycles on a
 *   real board (24-bit counter: steps must take < 2^24 cycles). QEMU does not model
 *   cycles, so under emulation these numbers are not used.
 * - Instruction counts from outside: the harness calls the empty markers
 *   snnc_mark_begin()/snnc_mark_end() around every step (and once around nothing, to
 *   calibrate the marker overhead) and the insncount QEMU plugin counts the
 *   instructions executed between them (exact and deterministic).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "inputs.h" /* SNNC_TEST_N_SAMPLES, SNNC_TEST_N_STEPS, snnc_test_inputs[S][T][I] */

/* SysTick (ARMv7-M system timer): control/status, reload, current value. */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

/* noinline + an empty asm keep one fixed address per marker for the plugin. */
__attribute__((noinline, used)) void snnc_mark_begin(void) { __asm volatile("" ::: "memory"); }
__attribute__((noinline, used)) void snnc_mark_end(void) { __asm volatile("" ::: "memory"); }

/* State lives in .bss, not on the stack: its size shows in the RAM section sizes. */
static SNNC_MODEL_STATE_T snnc_state;
static snnc_output_t snnc_out[SNNC_N_OUTPUTS];

static void print_step(const void *p, size_t n, uint32_t cycles)
{
    static const char digits[] = "0123456789abcdef";
    static char line[2 * sizeof(snnc_out) + 16];
    const unsigned char *b = (const unsigned char *)p;
    size_t k = 0;
    line[k++] = 'o';
    line[k++] = ' ';
    for (size_t i = 0; i < n; i++) {
        line[k++] = digits[b[i] >> 4];
        line[k++] = digits[b[i] & 15u];
    }
    line[k] = '\0';
    printf("%s %lu\n", line, (unsigned long)cycles);
}

int main(void)
{
    int rc = 0;
    snnc_mark_begin(); /* calibration interval: marker call overhead only */
    snnc_mark_end();
    printf("snnc-harness v1 model=%s samples=%d steps=%d inputs=%d outputs=%d out_bytes=%u\n",
           SNNC_MODEL_NAME, (int)SNNC_TEST_N_SAMPLES, (int)SNNC_TEST_N_STEPS,
           (int)SNNC_N_INPUTS, (int)SNNC_N_OUTPUTS, (unsigned)sizeof(snnc_out));
    SYST_RVR = 0x00FFFFFFu; /* free-running 24-bit down counter */
    SYST_CVR = 0u;
    SYST_CSR = 5u;          /* enable, core clock, no interrupt */
    SNNC_MODEL_INIT(&snnc_state);
    for (int s = 0; s < SNNC_TEST_N_SAMPLES && rc == 0; s++) {
        SNNC_MODEL_RESET(&snnc_state);
        for (int t = 0; t < SNNC_TEST_N_STEPS; t++) {
            memset(snnc_out, 0, sizeof snnc_out);
            uint32_t c0 = SYST_CVR;
            snnc_mark_begin();
            rc = SNNC_MODEL_STEP(&snnc_state, snnc_test_inputs[s][t], snnc_out);
            snnc_mark_end();
            uint32_t c1 = SYST_CVR;
            if (rc != 0) {
                printf("snnc-error step rc=%d sample=%d step=%d\n", rc, s, t);
                break;
            }
            print_step(snnc_out, sizeof snnc_out, (c0 - c1) & 0x00FFFFFFu);
        }
    }
    fflush(stdout);
    printf("snnc-done rc=%d\n", rc);
    return rc;
}
