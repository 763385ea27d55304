"""ALIF: the adaptive-threshold LIF of LSNN (Bellec et al. 2018), as used on SHD.

Float (``ALIF``), per neuron, with ``beta = decay(tau_mem)``, ``rho = decay(tau_adp)``::

    v[t]     = beta * v[t-1] + (1 - beta) * (v_leak + r * x[t])
    theta[t] = v_threshold + beta_a * a[t-1]          (b0 = v_threshold)
    s[t]     = v[t] > theta[t]
    reset 'subtract': v[t] -= s[t] * theta[t];  'zero': v[t] = v_reset where s[t]
    a[t]     = rho * a[t-1] + jump * s[t]
    y[t]     = s[t]

Bellec et al. write ``a[t] = rho a[t-1] + (1 - rho) s[t]`` (``jump = 1 - rho``); Yin et
al. 2021 and most SHD code use ``jump = 1``, the default here. ``beta_a >= 0`` and
``jump >= 0`` (the threshold only rises). The membrane is LIF's (same ``tau``/``r``
convention as :class:`compiler.ir.nodes.LIF`).

Integer (``QALIF``, docs/fixed_point.md primitives; ``b`` is ``beta_a * a`` in state
units, so the threshold is one addition)::

    v     = sat_state(decay(v, beta_q) + x + leak_q)
    theta = thr_q + b                                  (int64, >= 1)
    s     = v > theta
    reset 'subtract': v = v - s * theta;  'zero': v = s ? reset_q : v
    b     = sat_state(decay(b, rho_q) + s * jump_q)    (the new b serves step t+1)

State: ``v`` and ``b``, both ``state_bits`` wide. NIR has no adaptive LIF primitive, so
NIR import/export is unsupported. Backends: C (runtime/src/alif.c, integer and float),
HLS (templates/hls/alif.h), ONNX float and integer, TFLite (through
the ONNX step model).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.interpret_int import I64, decay, sat
from snnc.compiler.ir.nodes import SPIKE, _Population
from snnc.compiler.ir.qnodes import Q15_ONE, _ints, _QPopulation
from snnc.compiler.ops import OpDef, StateVar, lower, register


@dataclass(frozen=True, eq=False)
class ALIF(_Population):
    """Adaptive-threshold LIF (LSNN). Equations: module docstring."""

    kind: ClassVar[str] = "ALIF"
    out_dtype: ClassVar[str] = SPIKE
    array_fields: ClassVar[tuple[str, ...]] = (
        "tau_mem", "tau_adp", "r", "v_leak", "v_threshold", "beta_a", "jump", "v_reset")
    tau_mem: np.ndarray = field(default_factory=lambda: np.array(1.0))
    tau_adp: np.ndarray = field(default_factory=lambda: np.array(1.0))
    r: np.ndarray = field(default_factory=lambda: np.array(1.0))
    v_leak: np.ndarray = field(default_factory=lambda: np.array(0.0))
    v_threshold: np.ndarray = field(default_factory=lambda: np.array(1.0))
    beta_a: np.ndarray = field(default_factory=lambda: np.array(1.8))
    jump: np.ndarray = field(default_factory=lambda: np.array(1.0))
    v_reset: np.ndarray = field(default_factory=lambda: np.array(0.0))
    reset: str = "subtract"


@dataclass(frozen=True, eq=False)
class QALIF(_QPopulation):
    """Integer ALIF. Equations: module docstring."""

    kind: ClassVar[str] = "QALIF"
    out_dtype: ClassVar[str] = SPIKE
    array_fields: ClassVar[tuple[str, ...]] = (
        "beta_q", "rho_q", "leak_q", "thr_q", "jump_q", "reset_q")
    beta_q: np.ndarray = field(default_factory=lambda: np.array(Q15_ONE, np.int32))
    rho_q: np.ndarray = field(default_factory=lambda: np.array(Q15_ONE, np.int32))
    leak_q: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    thr_q: np.ndarray = field(default_factory=lambda: np.array(1, np.int32))
    jump_q: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    reset_q: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    reset: str = "subtract"

    def check(self, name: str) -> None:
        self._check_common(name, ("beta_q", "leak_q", "thr_q", "reset_q"))
        _ints("rho_q", name, self.rho_q, 0, Q15_ONE)
        _ints("jump_q", name, self.jump_q, 0, (1 << (int(self.state_bits) - 1)) - 1)


def _check(name: str, node: Any) -> None:
    if isinstance(node, ALIF):
        if np.any(np.asarray(node.v_threshold) <= 0):
            raise GraphError("v_threshold must be > 0", name)
        for f in ("beta_a", "jump"):
            if np.any(np.asarray(getattr(node, f)) < 0):
                raise GraphError(f"'{f}' must be >= 0 (the threshold only rises)", name)
        for f in ("tau_mem", "tau_adp"):
            if np.any(np.asarray(getattr(node, f)) <= 0):
                raise GraphError(f"'{f}' must be > 0", name)


# ------------------------------------------------------------------ step rules


def float_step(node: ALIF, x: np.ndarray, st: dict[str, np.ndarray], g: Any) -> np.ndarray:
    """One float step (the reference the quantized model approximates)."""
    beta, rho = g.decay(node.tau_mem), g.decay(node.tau_adp)
    v = st.get("v", np.zeros_like(x))
    a = st.get("a", np.zeros_like(x))
    v = beta * v + (1.0 - beta) * (node.v_leak + node.r * x)
    theta = node.v_threshold + node.beta_a * a
    s = (v > theta).astype(np.float64)
    st["v"] = v - s * theta if node.reset == "subtract" else np.where(s > 0, node.v_reset, v)
    st["a"] = rho * a + node.jump * s
    return s


def int_step(node: QALIF, x: np.ndarray, st: dict[str, np.ndarray], g: Any) -> np.ndarray:
    """One integer step: the golden model every backend reproduces bit for bit."""
    p = {f: np.asarray(getattr(node, f), I64) for f in node.array_fields}
    sb = int(node.state_bits)
    v = sat(decay(st.get("v", np.zeros_like(x)), p["beta_q"]) + x + p["leak_q"], sb)
    b = st.get("b", np.zeros_like(x))
    theta = p["thr_q"] + b
    s = (v > theta).astype(I64)
    st["v"] = v - s * theta if node.reset == "subtract" else np.where(s > 0, p["reset_q"], v)
    st["b"] = sat(decay(b, p["rho_q"]) + s * p["jump_q"], sb)
    return s


def quantize(q: Any, name: str, node: ALIF) -> tuple[QALIF, np.ndarray, dict[str, Any]]:
    """Membrane scale from calibration (pre-reset v reaches the largest threshold); the
    adaptation ``b = beta_a * a`` shares the membrane's scale."""
    from snnc.compiler.ir.qnodes import srange
    from snnc.compiler.passes.quantize import _compact, _dest_scale, _iround, _top, _vec

    opt, shape = q.opt, tuple(node.shape)
    lo, hi = srange(opt.state_bits)
    thr = _vec(node.v_threshold, shape) + _vec(node.beta_a, shape) * q._absmax(name, "a")
    bound = max(q._absmax(name, "v") + float(np.max(thr)),
                float(np.max(np.abs(_vec(node.v_reset, shape)))),
                float(np.max(np.abs(_vec(node.v_leak, shape)))))
    s = (bound if bound > 0 else 1.0) * opt.headroom / _top(opt.state_bits)
    beta = _vec(q.g.decay(node.tau_mem), shape)
    rho = _vec(q.g.decay(node.tau_adp), shape)

    def pp(a: np.ndarray) -> np.ndarray:
        return _compact(np.asarray(a).reshape(shape))

    qn = QALIF(shape=shape, state_bits=opt.state_bits, v_scale=s,
               beta_q=pp(_iround(beta * Q15_ONE, 0, Q15_ONE)),
               rho_q=pp(_iround(rho * Q15_ONE, 0, Q15_ONE)),
               leak_q=pp(_iround((1.0 - beta) * _vec(node.v_leak, shape) / s, lo, hi)),
               thr_q=pp(_iround(_vec(node.v_threshold, shape) / s, 1, hi)),
               jump_q=pp(_iround(_vec(node.beta_a, shape) * _vec(node.jump, shape) / s, 0, hi)),
               reset_q=pp(_iround(_vec(node.v_reset, shape) / s, lo, hi)),
               reset=node.reset)
    return qn, _dest_scale(s, (1.0 - beta) * _vec(node.r, shape)), {"v_scale": s}


OP = register(OpDef(
    kind="ALIF", float_cls=ALIF, quant_cls=QALIF, spiking=True,
    state=(StateVar("v", "state_bits", "membrane"),
           StateVar("b", "state_bits", "threshold increase beta_a * a")),
    float_step=float_step, int_step=int_step, quantize=quantize, check=_check,
    nir_unsupported="NIR has no adaptive-threshold LIF primitive",
    # per neuron: decay v, + x, + leak, sat v, thr + b, compare, reset, decay b, + jump,
    # sat b; int32 tables beta, rho, leak, thr, jump, reset; two Q0.15 decay products
    hls_cost={"ops": 10, "params": 6, "decayed": ("v", "b")}))


# ------------------------------------------------------------------ lowerings


@lower("c", "ALIF")
def lower_c(ctx: Any, name: str, node: Any, lines: list[str]) -> None:
    """One ``snnc_alif_q`` (integer) or ``snnc_alif_f`` (float) call (runtime/src/alif.c);
    states v and b (a) in the state struct."""
    from snnc.compiler.codegen.c import RESET, _param

    nid, n, shape = ctx.ids[name], node.size, tuple(node.shape)
    ctx.includes.append("snnc/alif.h")
    if isinstance(node, ALIF):  # float graph: snnc_alif_f, states v and a
        g = ctx.graph
        vals = {"beta": g.decay(node.tau_mem), "rho": g.decay(node.tau_adp), "r": node.r,
                "v_leak": node.v_leak, "thr": node.v_threshold, "beta_a": node.beta_a,
                "jump": node.jump, "v_reset": node.v_reset}
        fviews = [_param(ctx, name, k, np.asarray(v, np.float64), n, shape, "snnc_real_t")
                  for k, v in vals.items()]
        ctx.struct(f"static const snnc_alif_f_t {nid}_p = {{{n}, {RESET[node.reset]}, "
                   f"{', '.join(fviews)}}};\n")
        xs, k = ctx.xs_list(name, lines)
        v = ctx.member("snnc_real_t", f"v_{nid}", n, f"{name}: membrane")
        a = ctx.member("snnc_real_t", f"a_{nid}", n, f"{name}: adaptation")
        y = ctx.buffer(name, n, f"{name}: spikes")
        lines.append(f"    SNNC_TRY(snnc_alif_f(&{nid}_p, {v}, {a}, {xs}, {k}, {y}));")
        return
    views = [_param(ctx, name, f, getattr(node, f), n, shape, "int32_t")
             for f in ("beta_q", "rho_q", "leak_q", "thr_q", "jump_q", "reset_q")]
    ctx.struct(f"static const snnc_alif_q_t {nid}_p = {{{n}, {int(node.state_bits)}, "
               f"{RESET[node.reset]}, {', '.join(views)}}};\n")
    xs, k = ctx.xs_list(name, lines)
    (v, b), w = ctx.spec_state(name, node, OP.state)
    y = ctx.buffer(name, n, f"{name}: spikes")
    lines.append(f"    SNNC_TRY(snnc_alif_q{w}(&{nid}_p, {v}, {b}, {xs}, {k}, {y}));")


@lower("hls", "ALIF")
def lower_hls(ctx: Any, name: str, node: QALIF, lines: list[str]) -> None:
    """One ``snnc::alif`` loop (templates/hls/alif.h); statics v and b."""
    from snnc.compiler.codegen.hls import _bits_type, _size

    n, i, sb = _size(tuple(node.shape_out())), ctx.ids[name], int(node.state_bits)
    x, _ = ctx.input_of(name, n, lines)
    v, b = (ctx.static(_bits_type(sv.bits(node)), f"{i}_{sv.name}", (n,),
                       f"{name}: {sv.doc}, int{sv.bits(node)}") for sv in OP.state)
    prm = [ctx.param(name, f, getattr(node, f), n)
           for f in ("beta_q", "rho_q", "leak_q", "thr_q", "jump_q", "reset_q")]
    ctx.includes.append("alif.h")
    lines.append(f"    snnc::alif<{n}>({x}, {v}, {b}, {', '.join(prm)}, "
                 f"{str(node.reset == 'zero').lower()}, {sb}, {ctx.y(name)});")


@lower("onnx", "ALIF")
def lower_onnx(lw: Any, n: str, node: ALIF, x: str) -> str:
    """Float ONNX step, in :func:`float_step`'s operation order; states v and a."""
    shape = tuple(node.shape)
    beta, rho = lw.g.decay(node.tau_mem), lw.g.decay(node.tau_adp)
    v, a = lw.state(n, "v", shape), lw.state(n, "a", shape)
    drive = lw.add_const(node.v_leak, lw.mul(node.r, x, "r"), "vleak")
    vn = lw.b.op("Add", [lw.mul(beta, v, "beta"), lw.mul(1.0 - beta, drive, "gain")], "v")
    theta = lw.add_const(node.v_threshold, lw.mul(node.beta_a, a, "beta_a"), "b0")
    cmp = lw.b.op("Greater", [vn, theta], "cmp")
    s = lw.b.op("Cast", [cmp], "spk", to=lw.elem)
    if node.reset == "subtract":
        vr = lw.b.op("Sub", [vn, lw.b.op("Mul", [s, theta], "s_theta")], "v_reset")
    else:
        vr = lw.b.op("Where", [cmp, lw.c(np.asarray(node.v_reset), "vreset"), vn], "v_reset")
    lw.set_next(v, vr)
    lw.set_next(a, lw.b.op("Add", [lw.mul(rho, a, "rho"), lw.mul(node.jump, s, "jump")], "a"))
    return s


@lower("onnx_int", "ALIF")
def lower_onnx_int(lw: Any, n: str, node: QALIF, x: str) -> str:
    """Integer ONNX step (int64 tensors), :func:`int_step` op for op; states v and b."""
    from onnx import TensorProto

    shape, sb = tuple(node.shape), int(node.state_bits)
    v, b = lw.state(n, "v", shape), lw.state(n, "b", shape)
    vn = lw.b.op("Add", [lw.decay(v, node.beta_q, sb), x], "v")
    vn = lw.sat(lw.add_i(vn, node.leak_q, "leak"), sb)
    theta = lw.b.op("Add", [b, lw.ci(node.thr_q, "thr")], "theta")
    cmp = lw.b.op("Greater", [vn, theta], "cmp")
    s = lw.b.op("Cast", [cmp], "spk", to=TensorProto.INT64)
    if node.reset == "subtract":
        vr = lw.b.op("Sub", [vn, lw.b.op("Mul", [s, theta], "s_theta")], "v_reset")
    else:
        vr = lw.b.op("Where", [cmp, lw.ci(node.reset_q, "vreset"), vn], "v_reset")
    bn = lw.b.op("Add", [lw.decay(b, node.rho_q, sb),
                         lw.b.op("Mul", [s, lw.ci(node.jump_q, "jump")], "s_jump")], "b")
    lw.set_next(v, vr)
    lw.set_next(b, lw.sat(bn, sb))
    return s


@lower("tflite", "ALIF")
def lower_tflite(*_: Any) -> None:
    """TFLite translates the ONNX step model, so the ONNX lowerings above serve it."""
