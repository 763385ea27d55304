"""LIF: the leaky integrate-and-fire neuron (NIR ``LIF``).

Float (``LIF``), per neuron, with ``beta = decay(tau, dt)``::

    v[t] = beta * v[t-1] + (1 - beta) * (v_leak + r * x[t])
    s[t] = v[t] > v_threshold
    reset 'subtract': v[t] -= s[t] * v_threshold;  'zero': v[t] = v_reset where s[t]
    y[t] = s[t]

Integer (``QLIF``; x = the sum of the incoming, already requantized edges, in state
units; docs/fixed_point.md)::

    v = sat_state(decay(v, beta_q) + x + leak_q);  s = v > thr_q
    reset 'subtract': v = v - s * thr_q;  'zero': v = s ? reset_q : v;   y = s

State: ``v``, ``state_bits`` wide. Backends: C (runtime/src/neuron.c ``snnc_lif_q``/
``snnc_lif_q16``/``snnc_lif_f``, or one inline loop over float inputs; 16-bit populations
fed by spikes go through the fused event-driven path of :mod:`compiler.codegen.c_fused`),
HLS (``snnc::lif`` in templates/hls/snnc_hls.h), ONNX float and integer, TFLite (through
the ONNX step model), NIR ``LIF``.

The helpers (``c_leaky_params``, ``c_spiking_leaky``, ``hls_leaky``, ``onnx_leaky``,
``onnx_int_leaky``, ``quantize_scale``, ``check_positive``) are shared with the other
members of the family (:mod:`.li`, :mod:`.if_`, :mod:`.cubalif`); LIF, LI and IF use the
same C parameter struct.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.interpret import _spike_and_reset
from snnc.compiler.ir.interpret_int import I64, _spike_reset, decay, sat
from snnc.compiler.ir.nodes import SPIKE, _Population
from snnc.compiler.ir.qnodes import Q15_ONE, _QPopulation
from snnc.compiler.ops import FusedNeuron, OpDef, StateVar, lower, register


@dataclass(frozen=True, eq=False)
class LIF(_Population):
    """Leaky integrate-and-fire.

    v[t] = beta * v[t-1] + (1 - beta) * (v_leak + r * x[t])     beta = decay(tau, dt)
    s[t] = v[t] > v_threshold
    reset 'subtract': v[t] -= s[t] * v_threshold;  'zero': v[t] = v_reset where s[t]
    y[t] = s[t]
    """

    kind: ClassVar[str] = "LIF"
    out_dtype: ClassVar[str] = SPIKE
    array_fields: ClassVar[tuple[str, ...]] = ("tau", "r", "v_leak", "v_threshold", "v_reset")
    tau: np.ndarray = field(default_factory=lambda: np.array(1.0))
    r: np.ndarray = field(default_factory=lambda: np.array(1.0))
    v_leak: np.ndarray = field(default_factory=lambda: np.array(0.0))
    v_threshold: np.ndarray = field(default_factory=lambda: np.array(1.0))
    v_reset: np.ndarray = field(default_factory=lambda: np.array(0.0))
    reset: str = "subtract"


@dataclass(frozen=True, eq=False)
class QLIF(_QPopulation):
    """Integer LIF.  x = sum of incoming (already requantized) edges, in state units.

    v = sat(decay(v, beta_q) + x + leak_q);  s = v > thr_q;
    reset 'subtract': v = v - s*thr_q;  'zero': v = s ? reset_q : v;   y = s
    """

    kind: ClassVar[str] = "QLIF"
    out_dtype: ClassVar[str] = SPIKE
    array_fields: ClassVar[tuple[str, ...]] = ("beta_q", "leak_q", "thr_q", "reset_q")
    beta_q: np.ndarray = field(default_factory=lambda: np.array(Q15_ONE, np.int32))
    leak_q: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    thr_q: np.ndarray = field(default_factory=lambda: np.array(1, np.int32))
    reset_q: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    reset: str = "subtract"

    def check(self, name: str) -> None:
        self._check_common(name, self.array_fields)


def check_positive(name: str, node: Any, taus: tuple[str, ...], threshold: bool) -> None:
    """Time constants > 0 and (spiking kinds) ``v_threshold`` > 0, naming the node."""
    for f in taus:
        if np.any(np.asarray(getattr(node, f)) <= 0):
            raise GraphError(f"'{f}' must be > 0", name)
    if threshold and np.any(np.asarray(node.v_threshold) <= 0):
        raise GraphError("v_threshold must be > 0", name)


def _check(name: str, node: Any) -> None:
    if isinstance(node, LIF):
        check_positive(name, node, ("tau",), True)


# ------------------------------------------------------------------ step rules


def float_step(node: LIF, x: np.ndarray, st: dict[str, np.ndarray], g: Any) -> np.ndarray:
    """One float step (the reference the quantized model approximates)."""
    beta = g.decay(node.tau)
    v = st.get("v", np.zeros_like(x))
    v = beta * v + (1.0 - beta) * (node.v_leak + node.r * x)
    s, st["v"] = _spike_and_reset(v, node)
    return s


def int_step(node: QLIF, x: np.ndarray, st: dict[str, np.ndarray], g: Any) -> np.ndarray:
    """One integer step: the golden model every backend reproduces bit for bit."""
    v = st.get("v", np.zeros_like(x))
    v = sat(decay(v, node.beta_q) + x + np.asarray(node.leak_q, I64), node.state_bits)
    s, st["v"] = _spike_reset(v, node)
    return s


def quantize_scale(q: Any, name: str, node: Any) -> tuple[float, Any, Any]:
    """(membrane scale from calibration, ``pp`` reshaping a parameter to the population
    compactly, the common QNode fields)."""
    from snnc.compiler.passes.quantize import _compact

    shape = tuple(node.shape)
    s = q._v_scale(name, node)

    def pp(a: np.ndarray) -> np.ndarray:
        return _compact(np.asarray(a).reshape(shape))

    return s, pp, dict(shape=shape, state_bits=q.opt.state_bits, v_scale=s)


def quantize(q: Any, name: str, node: LIF) -> tuple[QLIF, np.ndarray, dict[str, Any]]:
    """Membrane scale from calibration; ``(1 - beta) r`` goes into the synapse's
    requantization (the input arrives in membrane units)."""
    from snnc.compiler.ir.qnodes import srange
    from snnc.compiler.passes.quantize import _dest_scale, _iround, _vec

    shape = tuple(node.shape)
    lo, hi = srange(q.opt.state_bits)
    s, pp, common = quantize_scale(q, name, node)
    beta = _vec(q.g.decay(node.tau), shape)
    gain = (1.0 - beta) * _vec(node.r, shape)
    qn = QLIF(beta_q=pp(_iround(beta * Q15_ONE, 0, Q15_ONE)),
              leak_q=pp(_iround((1.0 - beta) * _vec(node.v_leak, shape) / s, lo, hi)),
              thr_q=pp(_iround(_vec(node.v_threshold, shape) / s, 1, hi)),
              reset_q=pp(_iround(_vec(node.v_reset, shape) / s, lo, hi)),
              reset=node.reset, **common)
    return qn, _dest_scale(s, gain), {"v_scale": s}


# ------------------------------------------------------------------ NIR


def nir_import(node: Any, shape: tuple[int, ...], nc: Any) -> LIF:
    """NIR ``LIF`` (``nc``: the importer's framework conventions, compiler/frontend/nir.py)."""
    t, r = nc.tau("tau"), nc.q("r")
    if nc.framework == "rockpool":  # v = beta v + x: unit gain
        r = 1.0 / (1.0 - nc.decay(t))
    return LIF(shape=shape, tau=t, r=r, reset=nc.reset, **nc.levels())


def nir_export(node: LIF, nc: Any) -> Any:
    import nir

    return nir.LIF(tau=nc.full("tau"), r=nc.full("r"), v_leak=nc.full("v_leak"),
                   v_threshold=nc.full("v_threshold"), v_reset=nc.full("v_reset"),
                   metadata=nc.meta())


OP = register(OpDef(
    kind="LIF", float_cls=LIF, quant_cls=QLIF, spiking=True,
    state=(StateVar("v", "state_bits", "membrane"),),
    float_step=float_step, int_step=int_step, quantize=quantize, check=_check,
    nir_type="LIF", nir_import=nir_import, nir_export=nir_export,
    hls_cost={"ops": 6, "params": 4, "decayed": ("v",)},
    fused_c=FusedNeuron(decay="beta_q", leak="leak_q")))


# ------------------------------------------------------------------ lowerings


def c_leaky_params(ctx: Any, name: str, node: Any, used: list[str] | None = None,
                   struct: bool = True) -> dict[str, str]:
    """The parameter views of a LIF, LI or IF population and (``struct``) its
    ``snnc_lif_q_t`` / ``snnc_lif_f_t`` struct (runtime/include/snnc/neuron.h); absent
    parameters are neutral. ``used``: only these float parameters (an inline loop)."""
    from snnc.compiler.codegen.c import RESET, _param

    nid = ctx.ids[name]
    n, shape = node.size, tuple(node.shape)
    reset = RESET[getattr(node, "reset", "subtract")]
    if isinstance(node, _QPopulation):
        views = {}
        for f in ("beta_q", "leak_q", "thr_q", "reset_q"):
            views[f] = (_param(ctx, name, f, getattr(node, f), n, shape, "int32_t")
                        if hasattr(node, f) else "{NULL, 0}")
        ctx.struct(f"static const snnc_lif_q_t {nid}_p = {{{n}, {int(node.state_bits)}, "
                   f"{reset}, {views['beta_q']}, {views['leak_q']}, {views['thr_q']}, "
                   f"{views['reset_q']}}};\n")
        return views
    g = ctx.graph
    vals = {
        "beta": g.decay(node.tau) if hasattr(node, "tau") else np.array(1.0),
        "r": node.r,
        "v_leak": getattr(node, "v_leak", np.array(0.0)),
        "thr": getattr(node, "v_threshold", np.array(1.0)),
        "v_reset": getattr(node, "v_reset", np.array(0.0)),
    }
    if used is not None:
        vals = {k: vals[k] for k in used}
    fv = {k: _param(ctx, name, k, np.asarray(v, np.float64), n, shape, "snnc_real_t")
          for k, v in vals.items()}
    if struct:
        ctx.struct(f"static const snnc_lif_f_t {nid}_p = {{{n}, {reset}, {fv['beta']}, "
                   f"{fv['r']}, {fv['v_leak']}, {fv['thr']}, {fv['v_reset']}}};\n")
    return fv


def c_spiking_leaky(ctx: Any, name: str, node: Any, lines: list[str], op: OpDef,
                    kern: str) -> None:
    """A LIF or IF population: integer ``<kern>_q``/``<kern>_q16`` (the membrane member
    int16_t for 16-bit states, from the state spec); float over float inputs one inline
    loop (:func:`_lif_loop_f`), else ``<kern>_f``."""
    from snnc.compiler.codegen.c import RESET

    nid, n = ctx.ids[name], node.size
    sv = op.state[0]
    if isinstance(node, _QPopulation):
        c_leaky_params(ctx, name, node)
        xs, k = ctx.xs_list(name, lines)
        (v,), w = ctx.spec_state(name, node, op.state)
        y = ctx.buffer(name, n, f"{name}: spikes")
        lines.append(f"    SNNC_TRY({kern}_q{w}(&{nid}_p, {v}, {xs}, {k}, {y}));")
        return
    reset = RESET[getattr(node, "reset", "subtract")]
    xs_f = (ctx.inputs(name) if all(ctx.btype[p] == "snnc_real_t" for p in ctx.preds[name])
            else None)
    used = None
    if xs_f is not None:  # only the parameters the loop reads
        used = (["r"] if not hasattr(node, "tau") else ["beta", "v_leak", "r"]) + ["thr"] + (
            ["v_reset"] if reset == RESET["zero"] else [])
    views = c_leaky_params(ctx, name, node, used, struct=xs_f is None)
    v = ctx.member("snnc_real_t", f"{sv.name}_{nid}", n, f"{name}: {sv.doc}")
    y = ctx.buffer(name, n, f"{name}: spikes")
    if xs_f is not None:
        _lif_loop_f(ctx, not hasattr(node, "tau"), n,
                    {k_: _view_at(vw) for k_, vw in views.items()}, reset, xs_f, v, y, lines)
        return
    xs, k = ctx.xs_list(name, lines)
    lines.append(f"    SNNC_TRY({kern}_f(&{nid}_p, {v}, {xs}, {k}, {y}));")


def _view_at(view: str) -> str:
    """``{table, per}`` (from ``_param``) as the C expression of neuron ``i``'s value."""
    table, per = view.strip("{}").split(", ")
    return f"{table}[{'i' if per == '1' else '0'}]"


def _lif_loop_f(ctx: Any, no_leak: bool, n: int, at: dict[str, str], reset: str,
                xs: list[str], v: str, y: str, lines: list[str]) -> None:
    """A float LIF (IF: ``no_leak``) population as one inline loop over its inputs' float
    buffers.

    The same operations in the same order as ``snnc_lif_f``/``snnc_if_f`` (bit-identical
    results), without the pointer array, per-element parameter views and NULL checks;
    restrict pointers and a branch-free reset let GCC vectorize it.
    """
    from snnc.compiler.codegen.c import RESET

    ctx.need_i = True  # (the caller's block scope holds these declarations)
    lines.append(f"    snnc_real_t *restrict v = {v};")
    lines.append(f"    snnc_real_t *restrict y = {y};")
    for k, x in enumerate(xs):
        lines.append(f"    const snnc_real_t *restrict x{k} = {x};")
    lines.append(f"    for (i = 0; i < {n}; ++i) {{")
    x_sum = " + ".join(f"x{k}[i]" for k in range(len(xs)))  # left to right, as the runtime
    lines.append(f"        const snnc_real_t x = {x_sum};")
    if no_leak:
        lines.append(f"        const snnc_real_t vi = v[i] + {at['r']} * x;")
    else:
        lines.append(f"        const snnc_real_t beta = {at['beta']};")
        lines.append("        const snnc_real_t vi = beta * v[i] + (1 - beta) * "
                     f"({at['v_leak']} + {at['r']} * x);")
    lines.append(f"        const snnc_real_t thr = {at['thr']};")
    after = at["v_reset"] if reset == RESET["zero"] else "vi - thr"
    lines.append(f"        v[i] = vi > thr ? {after} : vi;")
    lines.append("        y[i] = vi > thr ? (snnc_real_t)1 : (snnc_real_t)0;")
    lines.append("    }")


@lower("c", "LIF")
def lower_c(ctx: Any, name: str, node: Any, lines: list[str]) -> None:
    """``snnc_lif_q``/``snnc_lif_q16`` (integer) or ``snnc_lif_f`` (float)."""
    c_spiking_leaky(ctx, name, node, lines, OP, "snnc_lif")


def hls_leaky(ctx: Any, name: str, node: Any, lines: list[str],
              states: tuple[StateVar, ...]) -> tuple[int, str, str, list[str]]:
    """(n, x, y, [one static per state variable, in the order given]) of a population
    (HLS emitter); names, widths and comments come from the state spec."""
    from snnc.compiler.codegen.hls import _bits_type, _size

    n, i = _size(tuple(node.shape_out())), ctx.ids[name]
    x, _ = ctx.input_of(name, n, lines)
    y = ctx.y(name)
    st = [ctx.static(_bits_type(sv.bits(node)), f"{i}_{sv.name}", (n,),
                     f"{name}: {sv.doc}, int{sv.bits(node)}") for sv in states]
    return n, x, y, st


@lower("hls", "LIF")
def lower_hls(ctx: Any, name: str, node: QLIF, lines: list[str]) -> None:
    """One ``snnc::lif`` loop (templates/hls); static v."""
    n, x, y, (v,) = hls_leaky(ctx, name, node, lines, OP.state)
    prm = [ctx.param(name, f, getattr(node, f), n) for f in ("beta_q", "leak_q", "thr_q",
                                                              "reset_q")]
    zero = str(node.reset == "zero").lower()
    lines.append(f"    snnc::lif<{n}>({x}, {v}, {', '.join(prm)}, {zero}, "
                 f"{int(node.state_bits)}, {y});")


def onnx_leaky(lw: Any, n: str, node: Any, x: str, op: OpDef) -> tuple[str, str]:
    """(v state, new v) of ``v = beta*v + (1-beta)*(v_leak + r*x)`` in the simulator's
    order (LIF and LI)."""
    beta = lw.g.decay(node.tau)
    v = lw.state(n, op.state[0].name, tuple(node.shape))
    drive = lw.add_const(node.v_leak, lw.mul(node.r, x, "r"), "vleak")
    return v, lw.b.op("Add", [lw.mul(beta, v, "beta"), lw.mul(1.0 - beta, drive, "gain")], "v")


@lower("onnx", "LIF")
def lower_onnx(lw: Any, n: str, node: LIF, x: str) -> str:
    """Float ONNX step, in :func:`float_step`'s order."""
    v, vn = onnx_leaky(lw, n, node, x, OP)
    s, vr = lw.spike_reset(n, node, vn)
    lw.set_next(v, vr)
    return s


def onnx_int_leaky(lw: Any, n: str, node: Any, x: str, op: OpDef) -> tuple[str, str]:
    """(v state, new v) of ``v = sat(decay(v, beta_q) + x + leak_q)`` (LIF and LI)."""
    v = lw.state(n, op.state[0].name, tuple(node.shape))
    vn = lw.add_i(lw.b.op("Add", [lw.decay(v, node.beta_q, node.state_bits), x], "v"),
                  node.leak_q, "leak")
    return v, lw.sat(vn, node.state_bits)


@lower("onnx_int", "LIF")
def lower_onnx_int(lw: Any, n: str, node: QLIF, x: str) -> str:
    """Integer ONNX step (int64 tensors), :func:`int_step` op for op."""
    v, vn = onnx_int_leaky(lw, n, node, x, OP)
    s, vr = lw.spike_reset_q(node, vn)
    lw.set_next(v, vr)
    return s


@lower("tflite", "LIF")
def lower_tflite(*_: Any) -> None:
    """TFLite translates the ONNX step model, so the ONNX lowerings above serve it."""
