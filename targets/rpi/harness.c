/*
 * snnc Raspberry Pi (aarch64 Linux) harness: runs the generated model on test inputs
 * read from a file (or stdin with "-"), and prints the snnc harness protocol:
 *
 *   snnc-harness v1 model=NAME samples=S steps=T inputs=I outputs=O out_bytes=B
 *   o HEX          one line per step: the raw bytes of snnc_output_t[O]
 *   t NS NS ...    wall-clock nanoseconds of each step (CLOCK_MONOTONIC), 32 per line
 *   snnc-done rc=0
 *
 * Input file (little endian): "SNNI", u32 version (1), u32 samples, u32 steps,
 * u32 inputs, u32 bytes per value, then snnc_input_t[samples][steps][inputs].
 * The markers snnc_mark_begin/snnc_mark_end bracket each step for the insncount plugin
 * (qemu-aarch64 user mode); the clock reads sit outside them.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

__attribute__((noinline, used)) void snnc_mark_begin(void) { __asm volatile("" ::: "memory"); }
__attribute__((noinline, used)) void snnc_mark_end(void) { __asm volatile("" ::: "memory"); }

static SNNC_MODEL_STATE_T snnc_state;
static snnc_output_t snnc_out[SNNC_N_OUTPUTS];

static int read_u32(FILE *f, uint32_t *v)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) {
        return -1;
    }
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "-";
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char magic[4];
    uint32_t version, samples, steps, n_in, esize;
    if (!f) {
        fprintf(stderr, "snnc-harness: cannot open %s\n", path);
        return 2;
    }
    if (fread(magic, 1, 4, f) != 4 || memcmp(magic, "SNNI", 4) != 0 || read_u32(f, &version) ||
        version != 1 || read_u32(f, &samples) || read_u32(f, &steps) || read_u32(f, &n_in) ||
        read_u32(f, &esize)) {
        fprintf(stderr, "snnc-harness: %s is not an snnc input file (SNNI v1)\n", path);
        return 2;
    }
    if (n_in != SNNC_N_INPUTS || esize != sizeof(snnc_input_t)) {
        fprintf(stderr, "snnc-harness: inputs are %u x %u bytes, model takes %d x %u\n",
                (unsigned)n_in, (unsigned)esize, (int)SNNC_N_INPUTS,
                (unsigned)sizeof(snnc_input_t));
        return 2;
    }
    size_t n_vals = (size_t)samples * steps * n_in;
    snnc_input_t *x = malloc(n_vals ? n_vals * sizeof *x : 1);
    int64_t *ns = malloc(((size_t)samples * steps + 1) * sizeof *ns);
    if (!x || !ns || fread(x, sizeof *x, n_vals, f) != n_vals) {
        fprintf(stderr, "snnc-harness: %s is truncated or memory is short\n", path);
        return 2;
    }
    if (f != stdin) {
        fclose(f);
    }
    snnc_mark_begin(); /* calibration interval: marker call overhead only */
    snnc_mark_end();
    printf("snnc-harness v1 model=%s samples=%u steps=%u inputs=%d outputs=%d out_bytes=%u\n",
           SNNC_MODEL_NAME, (unsigned)samples, (unsigned)steps, (int)SNNC_N_INPUTS,
           (int)SNNC_N_OUTPUTS, (unsigned)sizeof(snnc_out));
    int rc = 0;
    size_t k = 0;
    SNNC_MODEL_INIT(&snnc_state);
    for (uint32_t s = 0; s < samples && rc == 0; s++) {
        SNNC_MODEL_RESET(&snnc_state);
        for (uint32_t t = 0; t < steps; t++) {
            const snnc_input_t *in = x + ((size_t)s * steps + t) * n_in;
            memset(snnc_out, 0, sizeof snnc_out);
            int64_t t0 = now_ns();
            snnc_mark_begin();
            rc = SNNC_MODEL_STEP(&snnc_state, in, snnc_out);
            snnc_mark_end();
            ns[k++] = now_ns() - t0;
            if (rc != 0) {
                printf("snnc-error step rc=%d sample=%u step=%u\n", rc, (unsigned)s, (unsigned)t);
                break;
            }
            fputs("o ", stdout);
            const unsigned char *b = (const unsigned char *)snnc_out;
            for (size_t i = 0; i < sizeof snnc_out; i++) {
                printf("%02x", b[i]);
            }
            fputc('\n', stdout);
        }
    }
    for (size_t i = 0; i < k; i += 32) {
        fputs("t", stdout);
        for (size_t j = i; j < k && j < i + 32; j++) {
            printf(" %lld", (long long)ns[j]);
        }
        fputc('\n', stdout);
    }
    printf("snnc-done rc=%d\n", rc);
    free(x);
    free(ns);
    return rc;
}
