"""Helpers for the device-target tests: the stand-in build directory and tool checks.

The stand-in (``standin_build``) is a small hand-written model.h/model.c honouring the
generated-code contract: a 4-neuron LIF layer over 8 spike inputs with int8 weights,
Q0.15 decay, int16 membrane and int32 spike counts as outputs. ``standin_reference``
computes the same thing in NumPy, independently of any C, so the device tests compare
against it until (and besides) the real codegen + integer simulator.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

# Every model of the zoo (the bit-exactness tests iterate over them all).
ZOO = sorted((ROOT / "models").rglob("*.snn"))

STANDIN_W = np.array([[10, -3, 7, 0, 5, 5, -8, 2], [1, 2, 3, 4, 5, 6, 7, 8],
                      [-5, 9, 0, 0, 12, -1, 3, 3], [7, 7, -7, 7, -7, 7, -7, 7]], dtype=np.int64)
STANDIN_BETA_Q = 29491
STANDIN_THR = 20


def standin_sources(extra_table_bytes: int = 0, extra_state_bytes: int = 0) -> dict[str, str]:
    """model.h / model.c of the stand-in; the extras inflate flash/RAM for size checks."""
    h = f"""/* Stand-in for generated code (tests only). */
#ifndef MODEL_H
#define MODEL_H
#include <stdint.h>
#define SNNC_MODEL_NAME "standin"
#define SNNC_N_INPUTS 8
#define SNNC_N_OUTPUTS 4
typedef uint8_t snnc_input_t;
typedef int32_t snnc_output_t;
typedef struct {{ int16_t v[4]; int32_t count[4]; uint8_t pad[{max(extra_state_bytes, 1)}]; }} standin_state_t;
#define SNNC_MODEL_STATE_T standin_state_t
#define SNNC_MODEL_INIT standin_init
#define SNNC_MODEL_RESET standin_reset
#define SNNC_MODEL_STEP standin_step
int standin_init(standin_state_t *s);
int standin_reset(standin_state_t *s);
int standin_step(standin_state_t *s, const snnc_input_t *in, snnc_output_t *out);
#endif
"""
    rows = ",".join("{" + ",".join(map(str, r)) + "}" for r in STANDIN_W)
    table = ""
    use = ""
    if extra_table_bytes:
        table = f"static const uint8_t big_table[{extra_table_bytes}] = {{1}};\n"
        use = "  s->pad[0] = big_table[in[0]];\n"
    c = f"""#include "model.h"
static const int8_t W[4][8] = {{{rows}}};
{table}int standin_init(standin_state_t *s) {{ return standin_reset(s); }}
int standin_reset(standin_state_t *s) {{
  for (int i = 0; i < 4; i++) {{ s->v[i] = 0; s->count[i] = 0; }}
  return 0;
}}
int standin_step(standin_state_t *s, const snnc_input_t *in, snnc_output_t *out) {{
{use}  for (int i = 0; i < 4; i++) {{
    int32_t acc = 0;
    for (int j = 0; j < 8; j++) acc += W[i][j] * in[j];
    int32_t v = (int32_t)((({STANDIN_BETA_Q} * (int32_t)s->v[i]) + (1 << 14)) >> 15) + acc;
    if (v > 32767) v = 32767;
    if (v < -32768) v = -32768;
    if (v > {STANDIN_THR}) {{ v -= {STANDIN_THR}; s->count[i]++; }}
    s->v[i] = (int16_t)v;
    out[i] = s->count[i];
  }}
  return 0;
}}
"""
    return {"model.h": h, "model.c": c}


def write_standin(d: Path, **kw: int) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in standin_sources(**kw).items():
        (d / name).write_text(text)
    return d


def standin_reference(x: np.ndarray) -> np.ndarray:
    """NumPy model of the stand-in: outputs [S, T, 4] (spike counts)."""
    s_, t_, _ = x.shape
    v = np.zeros((s_, 4), dtype=np.int64)
    cnt = np.zeros((s_, 4), dtype=np.int64)
    out = np.zeros((s_, t_, 4), dtype=np.int64)
    for t in range(t_):
        acc = x[:, t].astype(np.int64) @ STANDIN_W.T
        v = ((STANDIN_BETA_Q * v + (1 << 14)) >> 15) + acc
        v = np.clip(v, -32768, 32767)
        s = v > STANDIN_THR
        v = np.where(s, v - STANDIN_THR, v)
        cnt += s
        out[:, t] = cnt
    return out


def require(*tools: str) -> None:
    """Skip the calling test (with the reason) if a tool is missing."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing tools: {', '.join(missing)} (run scripts/setup.sh)")




def alif_case(precision: str) -> tuple[object, np.ndarray, np.ndarray]:
    """A quantized recurrent ALIF net (compiler/ops/alif.py), device inputs and the integer
    golden model's outputs on them: ``precision`` 'int8' (16-bit states, the int16_t
    kernel) or 'int16_s32' (32-bit states)."""
    from snnc.compiler.ir import Affine, Graph, Input, Linear, Output, SpikeCountArgmax
    from snnc.compiler.ops.alif import ALIF
    from snnc.compiler.passes.quantize import QuantOptions, quantize
    from snnc.targets.benchmark import device_inputs, reference_outputs

    r = np.random.default_rng(3)
    g = Graph(
        nodes={"x": Input((5,)), "fc": Affine(r.normal(0, 0.9, (6, 5)), r.normal(0, 0.2, 6)),
               "alif": ALIF((6,), tau_mem=np.array(5e-3), tau_adp=np.array(20e-3),
                            v_threshold=np.array(0.3), beta_a=np.array(0.4)),
               "rec": Linear(r.normal(0, 0.5, (6, 6))),
               "count": SpikeCountArgmax((6,)), "y": Output((6,))},
        edges=(("x", "fc"), ("fc", "alif"), ("alif", "rec"), ("rec", "alif"),
               ("alif", "count"), ("count", "y")), dt=1e-3, name="alif_net")
    opt = QuantOptions() if precision == "int8" else QuantOptions(
        weight_bits=16, state_bits=32, input_bits=16)
    calib = r.normal(0, 1.5, (32, 25, 5))
    gq = quantize(g, calib, opt)
    x_dev = device_inputs(gq, r.normal(0, 1.5, (3, 25, 5)))
    ref, _ = reference_outputs(gq, x_dev)
    return gq, x_dev, ref
