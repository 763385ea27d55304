"""IF: integrate-and-fire without leak (NIR ``IF``). The file is ``if_.py`` because
``if`` is a Python keyword.

Float (``IF``)::

    v[t] = v[t-1] + r * x[t];   s[t] = v[t] > v_threshold, then reset as LIF;   y[t] = s[t]

Integer (``QIF``)::

    v = sat_state(v + x);   s = v > thr_q, then reset as QLIF;   y = s

State: ``v``, ``state_bits`` wide. Backends: C (``snnc_if_q``/``snnc_if_q16``/``snnc_if_f``,
runtime/src/neuron.c; 16-bit populations fed by spikes go through the fused event-driven
path of :mod:`compiler.codegen.c_fused`), HLS (``snnc::if_neuron``), ONNX float and
integer, TFLite (through ONNX), NIR ``IF``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from snnc.compiler.ir.interpret import _spike_and_reset
from snnc.compiler.ir.interpret_int import _spike_reset, sat
from snnc.compiler.ir.nodes import SPIKE, _Population
from snnc.compiler.ir.qnodes import _QPopulation
from snnc.compiler.ops import FusedNeuron, OpDef, StateVar, lower, register
from snnc.compiler.ops.lif import c_spiking_leaky, check_positive, hls_leaky, quantize_scale


@dataclass(frozen=True, eq=False)
class IF(_Population):
    """Integrate-and-fire (no leak).

    v[t] = v[t-1] + r * x[t];  s[t] = v[t] > v_threshold, then reset as LIF;  y[t] = s[t]
    """

    kind: ClassVar[str] = "IF"
    out_dtype: ClassVar[str] = SPIKE
    array_fields: ClassVar[tuple[str, ...]] = ("r", "v_threshold", "v_reset")
    r: np.ndarray = field(default_factory=lambda: np.array(1.0))
    v_threshold: np.ndarray = field(default_factory=lambda: np.array(1.0))
    v_reset: np.ndarray = field(default_factory=lambda: np.array(0.0))
    reset: str = "subtract"


@dataclass(frozen=True, eq=False)
class QIF(_QPopulation):
    """Integer IF.  v = sat(v + x);  spike and reset as :class:`QLIF`;  y = s"""

    kind: ClassVar[str] = "QIF"
    out_dtype: ClassVar[str] = SPIKE
    array_fields: ClassVar[tuple[str, ...]] = ("thr_q", "reset_q")
    thr_q: np.ndarray = field(default_factory=lambda: np.array(1, np.int32))
    reset_q: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    reset: str = "subtract"

    def check(self, name: str) -> None:
        self._check_common(name, self.array_fields)


def _check(name: str, node: Any) -> None:
    if isinstance(node, IF):
        check_positive(name, node, (), True)


def float_step(node: IF, x: np.ndarray, st: dict[str, np.ndarray], g: Any) -> np.ndarray:
    """One float step."""
    v = st.get("v", np.zeros_like(x)) + node.r * x
    s, st["v"] = _spike_and_reset(v, node)
    return s


def int_step(node: QIF, x: np.ndarray, st: dict[str, np.ndarray], g: Any) -> np.ndarray:
    """One integer step (the golden model)."""
    v = sat(st.get("v", np.zeros_like(x)) + x, node.state_bits)
    s, st["v"] = _spike_reset(v, node)
    return s


def quantize(q: Any, name: str, node: IF) -> tuple[QIF, np.ndarray, dict[str, Any]]:
    """Membrane scale from calibration; ``r`` goes into the synapse's requantization."""
    from snnc.compiler.ir.qnodes import srange
    from snnc.compiler.passes.quantize import _dest_scale, _iround, _vec

    shape = tuple(node.shape)
    lo, hi = srange(q.opt.state_bits)
    s, pp, common = quantize_scale(q, name, node)
    qn = QIF(thr_q=pp(_iround(_vec(node.v_threshold, shape) / s, 1, hi)),
             reset_q=pp(_iround(_vec(node.v_reset, shape) / s, lo, hi)),
             reset=node.reset, **common)
    return qn, _dest_scale(s, _vec(node.r, shape)), {"v_scale": s}


def nir_import(node: Any, shape: tuple[int, ...], nc: Any) -> IF:
    """NIR ``IF``: ``dv/dt = R I`` read per step, ``v[t] = v[t-1] + r x[t]``."""
    return IF(shape=shape, r=nc.q("r"), v_threshold=nc.q("v_threshold"),
              v_reset=nc.q("v_reset"), reset=nc.reset)


def nir_export(node: IF, nc: Any) -> Any:
    import nir

    return nir.IF(r=nc.full("r"), v_threshold=nc.full("v_threshold"),
                  v_reset=nc.full("v_reset"), metadata=nc.meta())


OP = register(OpDef(
    kind="IF", float_cls=IF, quant_cls=QIF, spiking=True,
    state=(StateVar("v", "state_bits", "membrane"),),
    float_step=float_step, int_step=int_step, quantize=quantize, check=_check,
    nir_type="IF", nir_import=nir_import, nir_export=nir_export,
    hls_cost={"ops": 4, "params": 2},
    fused_c=FusedNeuron()))


@lower("c", "IF")
def lower_c(ctx: Any, name: str, node: Any, lines: list[str]) -> None:
    """``snnc_if_q``/``snnc_if_q16`` (integer) or ``snnc_if_f`` (float)."""
    c_spiking_leaky(ctx, name, node, lines, OP, "snnc_if")


@lower("hls", "IF")
def lower_hls(ctx: Any, name: str, node: QIF, lines: list[str]) -> None:
    """One ``snnc::if_neuron`` loop; static v."""
    n, x, y, (v,) = hls_leaky(ctx, name, node, lines, OP.state)
    thr, rst = (ctx.param(name, f, getattr(node, f), n) for f in ("thr_q", "reset_q"))
    lines.append(f"    snnc::if_neuron<{n}>({x}, {v}, {thr}, {rst}, "
                 f"{str(node.reset == 'zero').lower()}, {int(node.state_bits)}, {y});")


@lower("onnx", "IF")
def lower_onnx(lw: Any, n: str, node: IF, x: str) -> str:
    v = lw.state(n, OP.state[0].name, tuple(node.shape))
    vn = lw.b.op("Add", [v, lw.mul(node.r, x, "r")], "v")
    s, vr = lw.spike_reset(n, node, vn)
    lw.set_next(v, vr)
    return s


@lower("onnx_int", "IF")
def lower_onnx_int(lw: Any, n: str, node: QIF, x: str) -> str:
    v = lw.state(n, OP.state[0].name, tuple(node.shape))
    vn = lw.sat(lw.b.op("Add", [v, x], "v"), node.state_bits)
    s, vr = lw.spike_reset_q(node, vn)
    lw.set_next(v, vr)
    return s


@lower("tflite", "IF")
def lower_tflite(*_: Any) -> None:
    """TFLite translates the ONNX step model, so the ONNX lowerings above serve it."""
