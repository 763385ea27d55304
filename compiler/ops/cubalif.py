"""CubaLIF: the current-based LIF (synaptic current ``i``, membrane ``v``; NIR ``CubaLIF``).

Float (``CubaLIF``), with ``alpha = decay(tau_syn)``, ``beta = decay(tau_mem)``::

    i[t] = alpha * i[t-1] + x[t]
    v[t] = beta * v[t-1] + (1 - beta) * (v_leak + r * w_in * i[t])
    s[t] = v[t] > v_threshold, then reset as LIF;   y[t] = s[t]

Integer (``QCubaLIF``; the current in ``cur_bits``, the membrane in ``state_bits``)::

    i = sat_cur(decay(i, alpha_q) + x)
    v = sat_state(decay(v, beta_q) + rshift_round(i * mult_v, shift_v) + leak_q)  (int64)
    spike and reset as QLIF;   y = s

State: ``i`` (``cur_bits``) and ``v`` (``state_bits``); incoming synapses requantize into
the current's units (the first state of the spec). Backends: C (``snnc_cubalif_q``/
``snnc_cubalif_q16``/``snnc_cubalif_f``, runtime/src/neuron.c), HLS (``snnc::cubalif``),
ONNX float and integer, TFLite (through ONNX), NIR ``CubaLIF`` (NIR's synaptic gain
``1 - alpha`` is folded into ``w_in``; see compiler/frontend/nir.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from snnc.compiler.errors import UnsupportedError
from snnc.compiler.ir.interpret import _spike_and_reset
from snnc.compiler.ir.interpret_int import I64, _spike_reset, decay, rshift_round, sat
from snnc.compiler.ir.nodes import SPIKE, _Population
from snnc.compiler.ir.qnodes import Q15_ONE, STATE_BITS, _bits, _ints, _QPopulation
from snnc.compiler.ops import OpDef, StateVar, lower, register
from snnc.compiler.ops.lif import check_positive, hls_leaky, quantize_scale


@dataclass(frozen=True, eq=False)
class CubaLIF(_Population):
    """Current-based LIF (synaptic current i, membrane v).

    i[t] = alpha * i[t-1] + x[t]                                alpha = decay(tau_syn, dt)
    v[t] = beta * v[t-1] + (1 - beta) * (v_leak + r * w_in * i[t])   beta = decay(tau_mem, dt)
    s[t] = v[t] > v_threshold, then reset as LIF;  y[t] = s[t]
    """

    kind: ClassVar[str] = "CubaLIF"
    out_dtype: ClassVar[str] = SPIKE
    array_fields: ClassVar[tuple[str, ...]] = (
        "tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in",
    )
    tau_syn: np.ndarray = field(default_factory=lambda: np.array(1.0))
    tau_mem: np.ndarray = field(default_factory=lambda: np.array(1.0))
    r: np.ndarray = field(default_factory=lambda: np.array(1.0))
    v_leak: np.ndarray = field(default_factory=lambda: np.array(0.0))
    v_threshold: np.ndarray = field(default_factory=lambda: np.array(1.0))
    v_reset: np.ndarray = field(default_factory=lambda: np.array(0.0))
    w_in: np.ndarray = field(default_factory=lambda: np.array(1.0))
    reset: str = "subtract"


@dataclass(frozen=True, eq=False)
class QCubaLIF(_QPopulation):
    """Integer current-based LIF (current i in ``cur_bits``, membrane v in ``state_bits``).

    i = sat_cur(decay(i, alpha_q) + x)
    v = sat(decay(v, beta_q) + rshift_round(i * mult_v, shift_v) + leak_q)   (product in int64)
    spike and reset as :class:`QLIF`;  y = s
    """

    kind: ClassVar[str] = "QCubaLIF"
    out_dtype: ClassVar[str] = SPIKE
    array_fields: ClassVar[tuple[str, ...]] = (
        "alpha_q", "beta_q", "mult_v", "shift_v", "leak_q", "thr_q", "reset_q")
    alpha_q: np.ndarray = field(default_factory=lambda: np.array(Q15_ONE, np.int32))
    beta_q: np.ndarray = field(default_factory=lambda: np.array(Q15_ONE, np.int32))
    mult_v: np.ndarray = field(default_factory=lambda: np.array(1, np.int32))
    shift_v: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    leak_q: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    thr_q: np.ndarray = field(default_factory=lambda: np.array(1, np.int32))
    reset_q: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    reset: str = "subtract"
    cur_bits: int = 16
    i_scale: float = 1.0

    def check(self, name: str) -> None:
        self._check_common(name, ("alpha_q", "beta_q", "leak_q", "thr_q", "reset_q"))
        _bits("cur_bits", name, self.cur_bits, STATE_BITS)
        _ints("mult_v", name, self.mult_v, 0, (1 << 31) - 1)
        _ints("shift_v", name, self.shift_v, 0, 62)


def _check(name: str, node: Any) -> None:
    if isinstance(node, CubaLIF):
        check_positive(name, node, ("tau_syn", "tau_mem"), True)


def float_step(node: CubaLIF, x: np.ndarray, st: dict[str, np.ndarray], g: Any) -> np.ndarray:
    """One float step."""
    alpha, beta = g.decay(node.tau_syn), g.decay(node.tau_mem)
    i = alpha * st.get("i", np.zeros_like(x)) + x
    v = beta * st.get("v", np.zeros_like(x)) + (1.0 - beta) * (
        node.v_leak + node.r * node.w_in * i)
    st["i"] = i
    s, st["v"] = _spike_and_reset(v, node)
    return s


def int_step(node: QCubaLIF, x: np.ndarray, st: dict[str, np.ndarray], g: Any) -> np.ndarray:
    """One integer step (the golden model)."""
    i = sat(decay(st.get("i", np.zeros_like(x)), node.alpha_q) + x, node.cur_bits)
    drive = rshift_round(i * np.asarray(node.mult_v, I64), node.shift_v)
    v = sat(decay(st.get("v", np.zeros_like(x)), node.beta_q) + drive
            + np.asarray(node.leak_q, I64), node.state_bits)
    st["i"] = i
    s, st["v"] = _spike_reset(v, node)
    return s


def quantize(q: Any, name: str, node: CubaLIF) -> tuple[QCubaLIF, np.ndarray, dict[str, Any]]:
    """Membrane and current scales from calibration; the ``i -> v`` gain
    ``(1 - beta) r w_in`` becomes ``mult_v * 2**-shift_v`` (a power of two with --pow2)."""
    from snnc.compiler.ir.qnodes import srange
    from snnc.compiler.passes.quantize import _iround, _top, _vec, quantize_multiplier

    opt, shape, n = q.opt, tuple(node.shape), node.size
    lo, hi = srange(opt.state_bits)
    s, pp, common = quantize_scale(q, name, node)
    alpha = _vec(q.g.decay(node.tau_syn), shape)
    beta = _vec(q.g.decay(node.tau_mem), shape)
    gain_v = (1.0 - beta) * _vec(node.r, shape) * _vec(node.w_in, shape)
    ib = q._absmax(name, "i") or 1.0
    si_req = ib * opt.headroom / _top(opt.state_bits)
    si = np.full(n, si_req)
    if opt.pow2:  # pick the current scale so the i -> v gain is a power of two
        pos = gain_v > 0
        k = np.ceil(np.log2(np.where(pos, si_req * gain_v / s, 1.0)))
        si = np.where(pos, np.exp2(k) * s / np.where(pos, gain_v, 1.0), si_req)
    mult_v, shift_v = quantize_multiplier(gain_v * si / s, pow2=opt.pow2)
    qn = QCubaLIF(alpha_q=pp(_iround(alpha * Q15_ONE, 0, Q15_ONE)),
                  beta_q=pp(_iround(beta * Q15_ONE, 0, Q15_ONE)),
                  mult_v=pp(mult_v), shift_v=pp(shift_v),
                  leak_q=pp(_iround((1 - beta) * _vec(node.v_leak, shape) / s, lo, hi)),
                  thr_q=pp(_iround(_vec(node.v_threshold, shape) / s, 1, hi)),
                  reset_q=pp(_iround(_vec(node.v_reset, shape) / s, lo, hi)),
                  reset=node.reset, cur_bits=opt.state_bits,
                  i_scale=float(np.max(si)), **common)
    return qn, si, {"v_scale": s, "i_scale_max": float(np.max(si))}


def nir_import(node: Any, shape: tuple[int, ...], nc: Any) -> CubaLIF:
    """NIR ``CubaLIF`` under the importer's framework conventions."""
    tau_syn, tau_mem, r = nc.tau("tau_syn"), nc.tau("tau_mem"), nc.q("r")
    exact = nc.attrs.get("w_in")
    if exact is not None and nc.timing_as_recorded:
        w_in = np.asarray(exact)
    elif nc.framework == "norse":  # LIFCell: i += x (gain 1), v integrates i
        w_in = nc.q("w_in")
    elif nc.framework == "rockpool":  # LIFTorch: i = beta_s (i + x); v = beta_m v + i
        w_in = nc.decay(tau_syn)
        r = 1.0 / (1.0 - nc.decay(tau_mem))
    else:  # fold NIR's synaptic gain (1 - alpha) into w_in (compiler/frontend/nir.py)
        w_in = nc.q("w_in") * (1.0 - nc.decay(tau_syn))
    return CubaLIF(shape=shape, tau_syn=tau_syn, tau_mem=tau_mem, r=r, w_in=w_in,
                   reset=nc.reset, **nc.levels())


def nir_export(node: CubaLIF, nc: Any) -> Any:
    import nir

    gain = 1.0 - nc.graph.decay(node.tau_syn)
    if np.any(gain == 0):
        raise UnsupportedError(f"node '{nc.name}': tau_syn = inf (no synaptic leak) has "
                               "no NIR CubaLIF equivalent")
    nc.attrs["w_in"] = np.asarray(node.w_in)  # exact value for the round trip
    w_in = np.broadcast_to(np.asarray(node.w_in) / gain, nc.shape).copy()
    return nir.CubaLIF(tau_syn=nc.full("tau_syn"), tau_mem=nc.full("tau_mem"), r=nc.full("r"),
                       v_leak=nc.full("v_leak"), v_threshold=nc.full("v_threshold"),
                       v_reset=nc.full("v_reset"), w_in=w_in, metadata=nc.meta())


OP = register(OpDef(
    kind="CubaLIF", float_cls=CubaLIF, quant_cls=QCubaLIF, spiking=True,
    state=(StateVar("i", "cur_bits", "synaptic current"),
           StateVar("v", "state_bits", "membrane")),
    float_step=float_step, int_step=int_step, quantize=quantize, check=_check,
    nir_type="CubaLIF", nir_import=nir_import, nir_export=nir_export,
    hls_cost={"ops": 10, "params": 7, "decayed": ("i", "v"), "mult": "i", "deep": True}))


@lower("c", "CubaLIF")
def lower_c(ctx: Any, name: str, node: Any, lines: list[str]) -> None:
    """``snnc_cubalif_q``/``snnc_cubalif_q16`` or ``snnc_cubalif_f``; states i and v."""
    from snnc.compiler.codegen.c import RESET, _param

    nid, n, shape = ctx.ids[name], node.size, tuple(node.shape)
    if isinstance(node, CubaLIF):
        g = ctx.graph
        vals = {"alpha": g.decay(node.tau_syn), "beta": g.decay(node.tau_mem), "r": node.r,
                "w_in": node.w_in, "v_leak": node.v_leak, "thr": node.v_threshold,
                "v_reset": node.v_reset}
        fviews = [_param(ctx, name, k, np.asarray(v, np.float64), n, shape, "snnc_real_t")
                  for k, v in vals.items()]
        ctx.struct(f"static const snnc_cubalif_f_t {nid}_p = {{{n}, {RESET[node.reset]}, "
                   f"{', '.join(fviews)}}};\n")
        xs, k = ctx.xs_list(name, lines)
        i, v = (ctx.member("snnc_real_t", f"{sv.name}_{nid}", n, f"{name}: {sv.doc}")
                for sv in OP.state)
        y = ctx.buffer(name, n, f"{name}: spikes")
        lines.append(f"    SNNC_TRY(snnc_cubalif_f(&{nid}_p, {i}, {v}, {xs}, {k}, {y}));")
        return
    views = [_param(ctx, name, f, getattr(node, f), n, shape, "int32_t")
             for f in ("alpha_q", "beta_q", "mult_v", "shift_v", "leak_q", "thr_q", "reset_q")]
    ctx.struct(f"static const snnc_cubalif_q_t {nid}_p = {{{n}, {int(node.cur_bits)}, "
               f"{int(node.state_bits)}, {RESET[node.reset]}, {', '.join(views)}}};\n")
    xs, k = ctx.xs_list(name, lines)
    (i, v), w = ctx.spec_state(name, node, OP.state)
    y = ctx.buffer(name, n, f"{name}: spikes")
    lines.append(f"    SNNC_TRY(snnc_cubalif_q{w}(&{nid}_p, {i}, {v}, {xs}, {k}, {y}));")


@lower("hls", "CubaLIF")
def lower_hls(ctx: Any, name: str, node: QCubaLIF, lines: list[str]) -> None:
    """One ``snnc::cubalif`` loop; statics v and i."""
    i_sv, v_sv = OP.state  # statics membrane first (the order the emitter always had)
    n, x, y, (v, cur) = hls_leaky(ctx, name, node, lines, (v_sv, i_sv))
    p = {f: ctx.param(name, f, getattr(node, f), n)
         for f in ("beta_q", "leak_q", "thr_q", "reset_q", "alpha_q", "mult_v", "shift_v")}
    zero = str(node.reset == "zero").lower()
    lines.append(f"    snnc::cubalif<{n}>({x}, {cur}, {v}, {p['alpha_q']}, {p['beta_q']}, "
                 f"{p['mult_v']}, {p['shift_v']}, {p['leak_q']}, {p['thr_q']}, "
                 f"{p['reset_q']}, {zero}, {int(node.cur_bits)}, {int(node.state_bits)}, "
                 f"{y});")


@lower("onnx", "CubaLIF")
def lower_onnx(lw: Any, n: str, node: CubaLIF, x: str) -> str:
    alpha, beta = lw.g.decay(node.tau_syn), lw.g.decay(node.tau_mem)
    i, v = (lw.state(n, sv.name, tuple(node.shape)) for sv in OP.state)
    inew = lw.b.op("Add", [lw.mul(alpha, i, "alpha"), x], "i")
    rw = np.asarray(node.r, np.float64) * np.asarray(node.w_in, np.float64)
    drive = lw.add_const(node.v_leak, lw.mul(rw, inew, "rw"), "vleak")
    vn = lw.b.op("Add", [lw.mul(beta, v, "beta"), lw.mul(1.0 - beta, drive, "gain")], "v")
    lw.set_next(i, inew)
    s, vr = lw.spike_reset(n, node, vn)
    lw.set_next(v, vr)
    return s


@lower("onnx_int", "CubaLIF")
def lower_onnx_int(lw: Any, n: str, node: QCubaLIF, x: str) -> str:
    i, v = (lw.state(n, sv.name, tuple(node.shape)) for sv in OP.state)
    inew = lw.sat(lw.b.op("Add", [lw.decay(i, node.alpha_q, node.cur_bits), x], "i"),
                  node.cur_bits)
    drive = lw.rshift_round(
        lw.mul_i(node.mult_v, inew, "mult_v"), node.shift_v,
        float(np.max(node.mult_v)) * 2.0 ** (int(node.cur_bits) - 1))
    vn = lw.b.op("Add", [lw.decay(v, node.beta_q, node.state_bits), drive], "v")
    vn = lw.sat(lw.add_i(vn, node.leak_q, "leak"), node.state_bits)
    lw.set_next(i, inew)
    s, vr = lw.spike_reset_q(node, vn)
    lw.set_next(v, vr)
    return s


@lower("tflite", "CubaLIF")
def lower_tflite(*_: Any) -> None:
    """TFLite translates the ONNX step model, so the ONNX lowerings above serve it."""
