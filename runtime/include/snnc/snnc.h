/*
 * snnc runtime: the on-device kernels that generated models call.
 *
 * Contract (see runtime/README.md): C99, no malloc, no stdio, no function-level
 * statics, every buffer owned by the caller, every entry point returns a status code.
 * Integer kernels reproduce docs/fixed_point.md bit for bit; float kernels follow the
 * float reference simulator (compiler/ir/interpret.py) operation for operation.
 */
#ifndef SNNC_SNNC_H
#define SNNC_SNNC_H

#include "snnc/types.h"
#include "snnc/fixed.h"
#include "snnc/synapse.h"
#include "snnc/neuron.h"
#include "snnc/readout.h"
#include "snnc/encoder.h"
#include "snnc/kernels.h"

#endif /* SNNC_SNNC_H */
