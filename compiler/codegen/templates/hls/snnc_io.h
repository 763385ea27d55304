/*
 * Test-input files and the snnc harness protocol, shared by the csim testbench (tb.cpp)
 * and the A53 host program (host.cpp); the same formats as the other targets' harnesses
 * (targets/common.py):
 *
 *   input file  "SNNI", u32 version 1, u32 samples, u32 steps, u32 inputs, u32 bytes per
 *               value, then snnc_input_t[samples][steps][inputs]   (little endian)
 *   golden file "SNNO", u32 version 1, u32 samples, u32 steps, u32 outputs, then
 *               int32_t[samples][steps][outputs]                    (little endian)
 *   stdout      snnc-harness v1 model=... / o HEX per step / [t NS ...] / snnc-done rc=RC
 */
#ifndef SNNC_IO_H
#define SNNC_IO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

struct snnc_io_data {
    uint32_t samples, steps, width;
    void *values; /* samples * steps * width elements */
};

static int snnc_io_u32(FILE *f, uint32_t *v)
{
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) {
        return -1;
    }
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

/* Read an SNNI (inputs) or SNNO (golden outputs) file; 0 on success, else prints why. */
static int snnc_io_read(const char *path, const char *magic, uint32_t width, uint32_t esize,
                        struct snnc_io_data *d)
{
    FILE *f = fopen(path, "rb");
    char m[4];
    uint32_t version, w, es = esize;
    if (!f) {
        fprintf(stderr, "snnc: cannot open %s\n", path);
        return 2;
    }
    int bad = fread(m, 1, 4, f) != 4 || memcmp(m, magic, 4) != 0 || snnc_io_u32(f, &version) ||
              version != 1 || snnc_io_u32(f, &d->samples) || snnc_io_u32(f, &d->steps) ||
              snnc_io_u32(f, &w);
    if (!bad && memcmp(magic, "SNNI", 4) == 0) {
        bad = snnc_io_u32(f, &es) != 0;
    }
    if (bad || w != width || es != esize) {
        fprintf(stderr, "snnc: %s is not a %.4s v1 file of %u x %u-byte values\n", path, magic,
                (unsigned)width, (unsigned)esize);
        fclose(f);
        return 2;
    }
    size_t n = (size_t)d->samples * d->steps * width;
    d->width = width;
    d->values = malloc(n ? n * esize : 1);
    if (!d->values || fread(d->values, esize, n, f) != n) {
        fprintf(stderr, "snnc: %s is truncated\n", path);
        fclose(f);
        return 2;
    }
    fclose(f);
    return 0;
}

static void snnc_io_header(uint32_t samples, uint32_t steps)
{
    printf("snnc-harness v1 model=%s samples=%u steps=%u inputs=%d outputs=%d out_bytes=%u\n",
           SNNC_MODEL_NAME, (unsigned)samples, (unsigned)steps, (int)SNNC_N_INPUTS,
           (int)SNNC_N_OUTPUTS, (unsigned)(SNNC_N_OUTPUTS * sizeof(snnc_output_t)));
}

static void snnc_io_row(const snnc_output_t *y)
{
    const unsigned char *b = (const unsigned char *)y;
    fputs("o ", stdout);
    for (size_t i = 0; i < SNNC_N_OUTPUTS * sizeof(snnc_output_t); i++) {
        printf("%02x", b[i]);
    }
    fputc('\n', stdout);
}

#endif
