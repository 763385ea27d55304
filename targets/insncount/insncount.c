/*
 * insncount: a QEMU TCG plugin that counts executed guest instructions exactly, per
 * interval between two marker addresses.
 *
 * Why our own plugin: QEMU 7.2 does not implement the Cortex-M DWT cycle counter, and
 * Debian's QEMU is built with plugin API v1 but ships no qemu-plugin.h, so the few API
 * prototypes used here are declared below (they match QEMU 7.x's include/qemu/qemu-plugin.h).
 *
 * Arguments (comma separated after the .so path):
 *   start=ADDR  executing the instruction at ADDR opens an interval (the marker itself is
 *               not counted)
 *   stop=ADDR   executing the instruction at ADDR closes the interval (not counted)
 * ADDR accepts 0x-prefixed hex; the Thumb bit (bit 0) is cleared.
 *
 * Output (only visible with `-d plugin -D FILE`): one line
 *   "insncount total=T intervals=N"
 * followed by lines "insncount counts c1 c2 ..." with up to 32 interval counts each, in
 * execution order. Counts are instructions, not cycles.
 *
 * Single vCPU guests only (the firmware and user-mode harness are single threaded).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU plugin API v1 (subset) --------------------------------------------------- */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t; /* opaque here: never dereferenced */
enum qemu_plugin_cb_flags {
    QEMU_PLUGIN_CB_NO_REGS,
    QEMU_PLUGIN_CB_R_REGS,
    QEMU_PLUGIN_CB_RW_REGS,
};
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* ---- state ------------------------------------------------------------------------- */
static uint64_t start_addr = UINT64_MAX;
static uint64_t stop_addr = UINT64_MAX;
static int counting;
static uint64_t total;    /* every executed instruction */
static uint64_t current;  /* instructions in the open interval */
static uint64_t *intervals;
static size_t n_intervals, cap_intervals;

static void push_interval(uint64_t c)
{
    if (n_intervals == cap_intervals) {
        size_t cap = cap_intervals ? 2 * cap_intervals : 1024;
        uint64_t *p = realloc(intervals, cap * sizeof *p);
        if (!p) {
            return; /* out of memory: drop the interval rather than crash the emulator */
        }
        intervals = p;
        cap_intervals = cap;
    }
    intervals[n_intervals++] = c;
}

/* Whole translation block without markers: add its length in one callback (fast path). */
static void tb_exec(unsigned int vcpu, void *udata)
{
    uint64_t n = (uint64_t)(uintptr_t)udata;
    (void)vcpu;
    total += n;
    if (counting) {
        current += n;
    }
}

/* Per-instruction path, used only for blocks containing a marker address. */
static void insn_exec(unsigned int vcpu, void *udata)
{
    uint64_t pc = (uint64_t)(uintptr_t)udata;
    (void)vcpu;
    total += 1;
    if (pc == start_addr) {
        counting = 1;
        current = 0;
        return;
    }
    if (pc == stop_addr) {
        if (counting) {
            push_interval(current);
        }
        counting = 0;
        return;
    }
    if (counting) {
        current += 1;
    }
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    int has_marker = 0;
    (void)id;
    for (size_t i = 0; i < n; i++) {
        uint64_t pc = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
        if (pc == start_addr || pc == stop_addr) {
            has_marker = 1;
        }
    }
    if (!has_marker) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
                                             (void *)(uintptr_t)n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        qemu_plugin_register_vcpu_insn_exec_cb(insn, insn_exec, QEMU_PLUGIN_CB_NO_REGS,
                                               (void *)(uintptr_t)pc);
    }
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
    char line[32 * 24 + 32];
    (void)id;
    (void)udata;
    snprintf(line, sizeof line, "insncount total=%" PRIu64 " intervals=%zu\n", total,
             n_intervals);
    qemu_plugin_outs(line);
    for (size_t i = 0; i < n_intervals; i += 32) {
        size_t len = (size_t)snprintf(line, sizeof line, "insncount counts");
        for (size_t j = i; j < n_intervals && j < i + 32; j++) {
            len += (size_t)snprintf(line + len, sizeof line - len, " %" PRIu64, intervals[j]);
        }
        snprintf(line + len, sizeof line - len, "\n");
        qemu_plugin_outs(line);
    }
    free(intervals);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id,
                                                                const qemu_info_t *info,
                                                                int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "start=", 6) == 0) {
            start_addr = strtoull(a + 6, NULL, 0) & ~(uint64_t)1;
        } else if (strncmp(a, "stop=", 5) == 0) {
            stop_addr = strtoull(a + 5, NULL, 0) & ~(uint64_t)1;
        } else {
            fprintf(stderr, "insncount: unknown argument '%s' (expected start=ADDR,stop=ADDR)\n", a);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
