/*
 * Calling TVM-generated kernels without the TVM runtime (--kernels tvm).
 *
 * `tvm.compile` of a TIR PrimFunc with an LLVM target gives an object exporting
 * `int __tvm_ffi_<name>(void *self, const TVMFFIAny *args, int32_t n, TVMFFIAny *result)`
 * (the tvm-ffi "safe call" convention): every argument is a pointer to a DLTensor, which
 * the kernel checks (type, ndim, dtype, shape, device) before it runs. snnc_tvm_call packs
 * flat 1-D arrays into DLTensors and TVMFFIAny values on the caller's stack, so a call
 * needs no heap, no TVM runtime and no mutable globals. The only symbol the objects need
 * from outside, the error hook TVMFFIErrorSetRaisedFromCStrParts, is defined in
 * snnc_tvm.c: a failed check is reported through the kernel's return value alone.
 */
#ifndef SNNC_TVM_H
#define SNNC_TVM_H

#include <stdint.h>

/* A kernel's argument check failed (a build mismatch: regenerate the kernels). */
#define SNNC_ERR_TVM (-16)
/* Most arguments a kernel takes (the delayed synapse: 11). */
#define SNNC_TVM_MAX_ARGS 12

/* DLDataType codes. */
#define SNNC_TVM_INT 0
#define SNNC_TVM_UINT 1

/* One flat array argument: data pointer, element count, DLDataType code and bits. */
typedef struct {
    const void *data;
    int64_t n;
    uint8_t code;
    uint8_t bits;
} snnc_tvm_arg_t;

/* The tvm-ffi safe-call signature; args/result are TVMFFIAny arrays (opaque here). */
typedef int (*snnc_tvm_fn_t)(void *self, const void *args, int32_t n_args, void *result);

/* Call `fn` on `n_args` arrays; SNNC_OK (0), or SNNC_ERR_TVM if the kernel refused. */
int snnc_tvm_call(snnc_tvm_fn_t fn, const snnc_tvm_arg_t *args, int32_t n_args);

#endif /* SNNC_TVM_H */
