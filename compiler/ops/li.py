"""LI: the leaky integrator, a membrane readout that never spikes (NIR ``LI``).

Float (``LI``), with ``beta = decay(tau, dt)``::

    v[t] = beta * v[t-1] + (1 - beta) * (v_leak + r * x[t]);   y[t] = v[t]

Integer (``QLI``)::

    v = sat_state(decay(v, beta_q) + x + leak_q);   y = v

State: ``v``, ``state_bits`` wide; it doubles as the output, so the C emitter keeps it in
the node's persistent int32 output buffer (the other backends as a state of the spec's
width). Backends: C (``snnc_li_q``/``snnc_li_f``, runtime/src/neuron.c), HLS
(``snnc::li``), ONNX float and integer, TFLite (through ONNX), NIR ``LI``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from snnc.compiler.ir.interpret_int import I64, decay, sat
from snnc.compiler.ir.nodes import REAL, _Population
from snnc.compiler.ir.qnodes import Q15_ONE, _QPopulation
from snnc.compiler.ops import OpDef, StateVar, lower, register
from snnc.compiler.ops.lif import (
    c_leaky_params,
    check_positive,
    hls_leaky,
    onnx_int_leaky,
    onnx_leaky,
    quantize_scale,
)


@dataclass(frozen=True, eq=False)
class LI(_Population):
    """Leaky integrator (never spikes; a membrane readout).

    v[t] = beta * v[t-1] + (1 - beta) * (v_leak + r * x[t]);   y[t] = v[t]
    """

    kind: ClassVar[str] = "LI"
    array_fields: ClassVar[tuple[str, ...]] = ("tau", "r", "v_leak")
    tau: np.ndarray = field(default_factory=lambda: np.array(1.0))
    r: np.ndarray = field(default_factory=lambda: np.array(1.0))
    v_leak: np.ndarray = field(default_factory=lambda: np.array(0.0))


@dataclass(frozen=True, eq=False)
class QLI(_QPopulation):
    """Integer leaky integrator (readout membrane).  v = sat(decay(v, beta_q) + x + leak_q);  y = v"""

    kind: ClassVar[str] = "QLI"
    out_dtype: ClassVar[str] = REAL
    array_fields: ClassVar[tuple[str, ...]] = ("beta_q", "leak_q")
    beta_q: np.ndarray = field(default_factory=lambda: np.array(Q15_ONE, np.int32))
    leak_q: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))

    def check(self, name: str) -> None:
        self._check_common(name, self.array_fields)


def _check(name: str, node: Any) -> None:
    if isinstance(node, LI):
        check_positive(name, node, ("tau",), False)


def float_step(node: LI, x: np.ndarray, st: dict[str, np.ndarray], g: Any) -> np.ndarray:
    """One float step."""
    beta = g.decay(node.tau)
    v = st.get("v", np.zeros_like(x))
    v = beta * v + (1.0 - beta) * (node.v_leak + node.r * x)
    st["v"] = v
    return v


def int_step(node: QLI, x: np.ndarray, st: dict[str, np.ndarray], g: Any) -> np.ndarray:
    """One integer step (the golden model)."""
    v = st.get("v", np.zeros_like(x))
    v = sat(decay(v, node.beta_q) + x + np.asarray(node.leak_q, I64), node.state_bits)
    st["v"] = v
    return v


def quantize(q: Any, name: str, node: LI) -> tuple[QLI, np.ndarray, dict[str, Any]]:
    """As LIF's rule without threshold and reset; the output is in membrane units."""
    from snnc.compiler.ir.qnodes import srange
    from snnc.compiler.passes.quantize import _dest_scale, _iround, _vec

    shape = tuple(node.shape)
    lo, hi = srange(q.opt.state_bits)
    s, pp, common = quantize_scale(q, name, node)
    beta = _vec(q.g.decay(node.tau), shape)
    gain = (1.0 - beta) * _vec(node.r, shape)
    qn = QLI(beta_q=pp(_iround(beta * Q15_ONE, 0, Q15_ONE)),
             leak_q=pp(_iround((1.0 - beta) * _vec(node.v_leak, shape) / s, lo, hi)),
             **common)
    return qn, _dest_scale(s, gain), {"v_scale": s}


def nir_import(node: Any, shape: tuple[int, ...], nc: Any) -> LI:
    """NIR ``LI`` under the importer's framework conventions (compiler/frontend/nir.py)."""
    t, r = nc.tau("tau"), nc.q("r")
    if nc.framework == "rockpool":  # ExpSyn: y = beta (y + x)
        b = nc.decay(t)
        r = b / (1.0 - b)
    elif nc.framework == "sinabs":  # ExpLeak's default norm_input=False: v = alpha v + x
        r = r / (1.0 - nc.decay(t))
    return LI(shape=shape, tau=t, r=r, v_leak=nc.q("v_leak"))


def nir_export(node: LI, nc: Any) -> Any:
    import nir

    return nir.LI(tau=nc.full("tau"), r=nc.full("r"), v_leak=nc.full("v_leak"),
                  metadata=nc.meta())


OP = register(OpDef(
    kind="LI", float_cls=LI, quant_cls=QLI, spiking=False,
    state=(StateVar("v", "state_bits", "membrane"),),
    float_step=float_step, int_step=int_step, quantize=quantize, check=_check,
    nir_type="LI", nir_import=nir_import, nir_export=nir_export,
    hls_cost={"ops": 4, "params": 2, "decayed": ("v",), "out_buffer": True}))


@lower("c", "LI")
def lower_c(ctx: Any, name: str, node: Any, lines: list[str]) -> None:
    """``snnc_li_q``/``snnc_li_f``: the membrane is the node's persistent output buffer."""
    nid, n = ctx.ids[name], node.size
    c_leaky_params(ctx, name, node)
    xs, k = ctx.xs_list(name, lines)
    y = ctx.buffer(name, n, f"{name}: {OP.state[0].doc} v (state and output)", state=True)
    kern = "snnc_li_q" if isinstance(node, _QPopulation) else "snnc_li_f"
    lines.append(f"    SNNC_TRY({kern}(&{nid}_p, {y}, {xs}, {k}, {y}));")


@lower("hls", "LI")
def lower_hls(ctx: Any, name: str, node: QLI, lines: list[str]) -> None:
    """One ``snnc::li`` loop; static v."""
    n, x, y, (v,) = hls_leaky(ctx, name, node, lines, OP.state)
    beta, leak = (ctx.param(name, f, getattr(node, f), n) for f in ("beta_q", "leak_q"))
    lines.append(f"    snnc::li<{n}>({x}, {v}, {beta}, {leak}, {int(node.state_bits)}, {y});")


@lower("onnx", "LI")
def lower_onnx(lw: Any, n: str, node: LI, x: str) -> str:
    v, vn = onnx_leaky(lw, n, node, x, OP)
    lw.set_next(v, vn)
    return vn


@lower("onnx_int", "LI")
def lower_onnx_int(lw: Any, n: str, node: QLI, x: str) -> str:
    v, vn = onnx_int_leaky(lw, n, node, x, OP)
    lw.set_next(v, vn)
    return vn


@lower("tflite", "LI")
def lower_tflite(*_: Any) -> None:
    """TFLite translates the ONNX step model, so the ONNX lowerings above serve it."""
