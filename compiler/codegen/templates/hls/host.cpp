/*
 * A53 host program for the snnc HLS kernel (aarch64 Linux on the Zynq UltraScale+ PS).
 *
 *   host inputs.bin [/dev/uioN]
 *
 * Board build (default): drives the kernel in the programmable logic through its AXI4-Lite
 * register map, mapped from a UIO device (default /dev/uio0, or $SNNC_UIO): per step it
 * writes the inputs into the x array, sets reset, starts the kernel (ap_start), waits for
 * ap_done and reads the y array. The register offsets come from the driver header Vitis
 * HLS exports with the IP (xsnnc_kernel_hw.h, solution1/impl/misc/drivers/.../src/): copy
 * it next to this file before cross-compiling.
 *
 * -DHOST_SIM: the kernel is linked in software (kernel.cpp compiled for the A53), for
 * emulation under qemu-aarch64 or a board without the bitstream.
 *
 * Prints the snnc harness protocol with CLOCK_MONOTONIC nanoseconds per step.
 */
#define _POSIX_C_SOURCE 199309L
#include <time.h>

#include "snnc_io.h"

#ifdef HOST_SIM
static int kernel_open(const char *dev) { (void)dev; return 0; }
static void kernel_step(const snnc_input_t *x, snnc_output_t *y, int32_t reset)
{
    snnc_kernel(x, y, reset);
}
#else
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include("xsnnc_kernel_hw.h")
#include "xsnnc_kernel_hw.h"
#define SNNC_HAVE_HW_H 1
#endif
#endif
#ifndef SNNC_HAVE_HW_H
#error "board build needs xsnnc_kernel_hw.h from the exported HLS IP (or build with -DHOST_SIM)"
#endif
#define REG_CTRL XSNNC_KERNEL_CONTROL_ADDR_AP_CTRL
#define REG_X XSNNC_KERNEL_CONTROL_ADDR_X_BASE
#define REG_Y XSNNC_KERNEL_CONTROL_ADDR_Y_BASE
#define REG_RESET XSNNC_KERNEL_CONTROL_ADDR_RESET_DATA

static volatile uint32_t *regs;

static int kernel_open(const char *dev)
{
    char path[96];
    unsigned long size = 0x10000;
    const char *name = strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
    snprintf(path, sizeof path, "/sys/class/uio/%s/maps/map0/size", name);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%lx", &size) != 1) size = 0x10000;
        fclose(f);
    }
    int fd = open(dev, O_RDWR | O_SYNC);
    if (fd < 0) {
        fprintf(stderr, "host: cannot open %s (is the bitstream loaded with a UIO node?)\n", dev);
        return 2;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        fprintf(stderr, "host: cannot map %s\n", dev);
        return 2;
    }
    regs = (volatile uint32_t *)p;
    return 0;
}

/* Arrays in the AXI4-Lite space hold their elements packed at their natural width, in
 * 32-bit words (little endian, as the HLS driver's Write_*_Bytes functions write them). */
static void kernel_step(const snnc_input_t *x, snnc_output_t *y, int32_t reset)
{
    uint32_t w[(SNNC_N_INPUTS * sizeof(snnc_input_t) + 3) / 4] = {0};
    memcpy(w, x, SNNC_N_INPUTS * sizeof(snnc_input_t));
    for (size_t i = 0; i < sizeof w / 4; i++) regs[REG_X / 4 + i] = w[i];
    regs[REG_RESET / 4] = (uint32_t)reset;
    regs[REG_CTRL / 4] = 1u;                       /* ap_start */
    while ((regs[REG_CTRL / 4] & 2u) == 0) {       /* ap_done (clear on read) */
    }
    for (int i = 0; i < SNNC_N_OUTPUTS; i++) y[i] = (snnc_output_t)regs[REG_Y / 4 + i];
}
#endif

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s inputs.bin [/dev/uioN]\n", argv[0]);
        return 2;
    }
    const char *dev = argc > 2 ? argv[2] : (getenv("SNNC_UIO") ? getenv("SNNC_UIO") : "/dev/uio0");
    struct snnc_io_data in;
    if (snnc_io_read(argv[1], "SNNI", SNNC_N_INPUTS, sizeof(snnc_input_t), &in) ||
        kernel_open(dev)) {
        return 2;
    }
    static snnc_output_t y[SNNC_N_OUTPUTS];
    size_t n = (size_t)in.samples * in.steps;
    int64_t *ns = (int64_t *)malloc((n + 1) * sizeof *ns);
    if (!ns) return 2;
    snnc_io_header(in.samples, in.steps);
    for (uint32_t s = 0; s < in.samples; s++) {
        kernel_step((const snnc_input_t *)in.values, y, 1);
        for (uint32_t t = 0; t < in.steps; t++) {
            size_t k = (size_t)s * in.steps + t;
            int64_t t0 = now_ns();
            kernel_step((const snnc_input_t *)in.values + k * SNNC_N_INPUTS, y, 0);
            ns[k] = now_ns() - t0;
            snnc_io_row(y);
        }
    }
    for (size_t i = 0; i < n; i += 32) {
        fputs("t", stdout);
        for (size_t j = i; j < n && j < i + 32; j++) printf(" %lld", (long long)ns[j]);
        fputc('\n', stdout);
    }
    printf("snnc-done rc=0\n");
    free(ns);
    free(in.values);
    return 0;
}
