/* The FFI shim between generated model code and TVM kernels (see snnc_tvm.h). */
#include "snnc_tvm.h"

#include <stddef.h>

/* ABI mirrors of dlpack's DLTensor and tvm-ffi's TVMFFIAny (tvm_ffi/c_api.h). */
typedef struct {
    int32_t device_type; /* kDLCPU = 1 */
    int32_t device_id;
} snnc_dl_device_t;

typedef struct {
    uint8_t code;
    uint8_t bits;
    uint16_t lanes;
} snnc_dl_dtype_t;

typedef struct {
    void *data;
    snnc_dl_device_t device;
    int32_t ndim;
    snnc_dl_dtype_t dtype;
    int64_t *shape;
    int64_t *strides; /* NULL: compact row-major */
    uint64_t byte_offset;
} snnc_dl_tensor_t;

typedef struct {
    int32_t type_index; /* kTVMFFINone = 0, kTVMFFIDLTensorPtr = 7 */
    uint32_t zero_padding;
    union {
        int64_t v_int64;
        void *v_ptr;
    } v;
} snnc_ffi_any_t;

#define SNNC_FFI_NONE 0
#define SNNC_FFI_DLTENSOR_PTR 7
#define SNNC_DL_CPU 1

int snnc_tvm_call(snnc_tvm_fn_t fn, const snnc_tvm_arg_t *args, int32_t n_args)
{
    snnc_dl_tensor_t t[SNNC_TVM_MAX_ARGS];
    int64_t shape[SNNC_TVM_MAX_ARGS];
    snnc_ffi_any_t any[SNNC_TVM_MAX_ARGS];
    snnc_ffi_any_t result;
    int32_t i;
    if (!fn || !args || n_args < 0 || n_args > SNNC_TVM_MAX_ARGS) return SNNC_ERR_TVM;
    for (i = 0; i < n_args; ++i) {
        shape[i] = args[i].n;
        t[i].data = (void *)(uintptr_t)args[i].data; /* kernels never write inputs */
        t[i].device.device_type = SNNC_DL_CPU;
        t[i].device.device_id = 0;
        t[i].ndim = 1;
        t[i].dtype.code = args[i].code;
        t[i].dtype.bits = args[i].bits;
        t[i].dtype.lanes = 1;
        t[i].shape = &shape[i];
        t[i].strides = NULL;
        t[i].byte_offset = 0;
        any[i].type_index = SNNC_FFI_DLTENSOR_PTR;
        any[i].zero_padding = 0;
        any[i].v.v_ptr = &t[i];
    }
    result.type_index = SNNC_FFI_NONE;
    result.zero_padding = 0;
    result.v.v_int64 = 0;
    return fn(NULL, any, n_args, &result) == 0 ? 0 : SNNC_ERR_TVM;
}

/*
 * The error hook the kernels call when an argument check fails, before returning
 * non-zero. TVM's runtime would keep the message in thread-local state; here the status
 * code is the whole report (no heap, no globals, no stdio on the MCU). Hidden, so a host
 * library loaded next to TVM itself keeps its own hook.
 */
#if defined(__GNUC__) && defined(__ELF__)
__attribute__((visibility("hidden")))
#endif
void TVMFFIErrorSetRaisedFromCStrParts(const char *kind, const char **message_parts,
                                       int32_t num_parts);

void TVMFFIErrorSetRaisedFromCStrParts(const char *kind, const char **message_parts,
                                       int32_t num_parts)
{
    (void)kind;
    (void)message_parts;
    (void)num_parts;
}
