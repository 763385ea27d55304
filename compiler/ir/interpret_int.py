"""The integer simulator: the bit-exact golden model of a quantized graph.

It reuses the float simulator's scheduler (:func:`compiler.ir.interpret.simulate` with
``step_rule=int_step``) so both agree on execution order and on the recurrent-edge rule;
only the arithmetic differs. All arithmetic is on numpy int64, vectorized over the batch;
every rounding and saturation is one of the helpers below, and ``docs/fixed_point.md``
states the same rules for the C runtime and every integer backend, which must match this
module bit for bit.

Sum of incoming edges: each QLinear already requantized its output into the target
population's state units, so a node's input is the exact int64 sum of its edges; the
population saturates after adding it (never before).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from snnc.compiler.errors import GraphError, SnncError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.interpret import SimResult, simulate, sum_pool2d
from snnc.compiler.ir.nodes import (
    REAL,
    Flatten,
    Input,
    MembraneArgmax,
    Node,
    Output,
    SpikeCountArgmax,
    SumPool2d,
)
from snnc.compiler.ir.qnodes import (
    QConv,
    QDelayedLinear,
    QInput,
    QLinear,
    QThreshold,
    is_quantized,
    srange,
)

I64 = np.int64


# ------------------------------------------------------------------ the primitives


def sat(x: np.ndarray, bits: int) -> np.ndarray:
    """Clamp to the signed ``bits``-wide range (saturation, never wrap-around)."""
    lo, hi = srange(int(bits))
    return np.clip(np.asarray(x, dtype=I64), lo, hi)


def rshift_round(x: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """``(x + (1 << (n-1))) >> n`` for n > 0 (round half up, arithmetic shift); ``x`` for n == 0.

    ``n`` may be an array (one shift per neuron), broadcast against ``x``.
    """
    x = np.asarray(x, dtype=I64)
    n = np.asarray(n, dtype=I64)
    half = np.left_shift(I64(1), np.maximum(n - 1, 0))
    return np.where(n > 0, np.right_shift(x + half, n), x)


def decay(v: np.ndarray, beta_q: np.ndarray) -> np.ndarray:
    """Q0.15 decay: ``rshift_round(beta_q * v, 15)`` (e.g. decay(-3, 16384) == -1)."""
    return rshift_round(np.asarray(beta_q, dtype=I64) * np.asarray(v, dtype=I64), 15)


def requant(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray, bits: int) -> np.ndarray:
    """``sat_bits(rshift_round(acc * mult, shift))`` with a 64-bit product."""
    return sat(rshift_round(np.asarray(acc, dtype=I64) * np.asarray(mult, dtype=I64), shift),
               bits)


def round_half_away(x: np.ndarray) -> np.ndarray:
    """Round to nearest, ties away from zero (C's ``roundf``), exactly, for float32 ``x``."""
    x64 = np.asarray(x, dtype=np.float32).astype(np.float64)  # +0.5 is exact in float64
    return np.trunc(x64 + np.copysign(0.5, x64))


# ------------------------------------------------------------------ inputs


def quantize_inputs(graph_q: Graph, x: dict[str, np.ndarray] | np.ndarray
                    ) -> dict[str, np.ndarray] | np.ndarray:
    """Float inputs -> the integers every backend is fed (``[B, T, *shape]``, int32).

    Real input channel c: ``x_q = sat_bits(round_half_away(float32(x) / scale_c) + zp_c)``,
    the division done in float32 (IEEE, as in C). Spike inputs must be 0/1 and pass
    through. Returns the same structure as given (a dict keyed by input node, or an array).
    """
    single = not isinstance(x, dict)
    if single:
        if len(graph_q.inputs) != 1:
            raise SnncError(f"graph has inputs {graph_q.inputs}; pass a dict of arrays")
        x = {graph_q.inputs[0]: x}
    out: dict[str, np.ndarray] = {}
    for name in graph_q.inputs:
        if name not in x:
            raise SnncError(f"no data for input node '{name}'")
        node = graph_q.nodes[name]
        arr = np.asarray(x[name])
        want = tuple(node.shape_out())
        if arr.ndim != 2 + len(want) or tuple(arr.shape[2:]) != want:
            raise SnncError(f"input '{name}': expected shape [batch, T, "
                            f"{', '.join(map(str, want))}], got {list(arr.shape)}")
        if not isinstance(node, QInput):
            raise SnncError(f"input '{name}' is not quantized (run the quantize pass first)")
        if node.dtype == REAL:
            if not np.all(np.isfinite(arr)):
                raise SnncError(f"input '{name}' has non-finite values")
            q = round_half_away(arr.astype(np.float32) / np.asarray(node.scale, np.float32))
            q = np.clip(q, -(2.0 ** 62), 2.0 ** 62).astype(I64) + np.asarray(node.zero_point, I64)
            out[name] = sat(q, node.bits).astype(np.int32)
        else:
            if not np.all((arr == 0) | (arr == 1)):
                raise SnncError(f"spike input '{name}' must hold only 0 and 1")
            out[name] = arr.astype(np.int32)
    return out[graph_q.inputs[0]] if single else out


# ------------------------------------------------------------------ the step rule


def _ints_in(x: np.ndarray, node: str) -> np.ndarray:
    """Node inputs are integers; the scheduler's zero-filled recurrent start is float 0."""
    a = np.asarray(x)
    if a.dtype.kind == "f":
        if not np.all(a == np.round(a)):
            raise GraphError("integer simulator received non-integer values", node)
    return a.astype(I64)


def _spike_reset(v: np.ndarray, node: Any) -> tuple[np.ndarray, np.ndarray]:
    """(spikes, v after reset) of an integer population with ``thr_q``/``reset``/
    ``reset_q`` (the spiking op files' integer rules share it)."""
    thr = np.asarray(node.thr_q, dtype=I64)
    s = v > thr
    if node.reset == "subtract":
        v = v - np.where(s, thr, I64(0))  # v > thr > 0: cannot leave the state range
    else:
        v = np.where(s, np.asarray(node.reset_q, dtype=I64), v)
    return s.astype(I64), v


_F64_EXACT = 1 << 53  # every integer of magnitude below this is a float64

# Per weight matrix: (int64 copy, float64 copy, max_i sum_j |w_ij|). Keyed weakly by the
# node (nodes are immutable), so repeated steps do not redo the conversions.
_PREP: "weakref.WeakKeyDictionary[Node, list[tuple[int, np.ndarray, np.ndarray, int]]]" = \
    weakref.WeakKeyDictionary()


def _prepare(node: Node) -> list[tuple[int, np.ndarray, np.ndarray, int]]:
    """[(delay, w_int64, w_float64, row-abs-sum bound)] per distinct delay (one for QLinear)."""
    got = _PREP.get(node)
    if got is None:
        w = np.asarray(node.weight, dtype=I64)
        if isinstance(node, QDelayedLinear):
            parts = [(int(d), np.where(node.delay == d, w, 0)) for d in np.unique(node.delay)]
        else:
            parts = [(0, w)]
        got = [(d, wd, wd.astype(np.float64),
                int(np.abs(wd).sum(axis=1).max()) if wd.size else 0) for d, wd in parts]
        _PREP[node] = got
    return got


def _acc(w: np.ndarray, x: np.ndarray, wf: np.ndarray | None = None,
         rowsum: int | None = None) -> np.ndarray:
    """Exact int64 matrix product ``x[B, in] @ w.T``.

    When every partial sum is bounded by ``max|x| * max_i sum_j |w_ij| < 2**53``, the
    product is computed with float64 BLAS: each partial sum is then an integer that
    float64 represents exactly, whatever the summation order, so the result is the same
    integer (and much faster than numpy's integer matmul). Otherwise int64 arithmetic.
    """
    wi = np.asarray(w, dtype=I64)
    if x.size == 0 or wi.size == 0:
        return x @ wi.T
    if rowsum is None:
        rowsum = int(np.abs(wi).sum(axis=1).max())
    if int(np.max(np.abs(x))) * rowsum < _F64_EXACT:
        wf = wi.astype(np.float64) if wf is None else wf
        return (x.astype(np.float64) @ wf.T).astype(I64)
    return x @ wi.T


def _conv_int(node: "QConv", x: np.ndarray) -> np.ndarray:
    """Exact integer convolution (see :class:`QConv`); float64 when provably exact."""
    w = np.asarray(node.weight, dtype=I64)
    nd = w.ndim - 2
    rowsum = int(np.abs(w).reshape(w.shape[0], -1).sum(axis=1).max()) if w.size else 0
    exact_f64 = x.size == 0 or int(np.max(np.abs(x))) * rowsum < _F64_EXACT
    dt = np.float64 if exact_f64 else I64
    bsz, cin = x.shape[:2]
    pad, st, dil = tuple(node.padding), tuple(node.stride), tuple(node.dilation)
    xp = np.pad(x.astype(dt), [(0, 0), (0, 0)] + [(p, p) for p in pad])
    ks = w.shape[2:]
    outs = [(xp.shape[2 + i] - dil[i] * (ks[i] - 1) - 1) // st[i] + 1 for i in range(nd)]
    cout, groups = w.shape[0], int(node.groups)
    cpg_in, cpg_out = cin // groups, cout // groups
    y = np.zeros((bsz, cout, *outs), dtype=dt)
    wd = w.astype(dt)
    for kidx in np.ndindex(*ks):
        sl = tuple(slice(kidx[i] * dil[i], kidx[i] * dil[i] + st[i] * (outs[i] - 1) + 1, st[i])
                   for i in range(nd))
        patch = xp[(slice(None), slice(None)) + sl]
        for g in range(groups):
            wg = wd[g * cpg_out:(g + 1) * cpg_out, :, *kidx]
            y[:, g * cpg_out:(g + 1) * cpg_out] += np.einsum(
                "oi,bi...->bo...", wg, patch[:, g * cpg_in:(g + 1) * cpg_in])
    y = y.astype(I64)
    b = np.asarray(node.bias, dtype=I64)
    if b.size:
        y = y + b.reshape((1, cout) + (1,) * nd)
    shp = (1, cout) + (1,) * nd
    m = np.asarray(node.mult, dtype=I64)
    sh = np.asarray(node.shift, dtype=I64)
    return requant(sat(y, 32), m.reshape(shp) if m.ndim else m,
                   sh.reshape(shp) if sh.ndim else sh, node.out_bits)


def int_step(node: Node, x: np.ndarray, st: dict[str, np.ndarray], g: Graph) -> np.ndarray:
    """One step of ``node`` in integer arithmetic (the rule :func:`simulate` calls)."""
    name = getattr(node, "kind", "?")
    x = _ints_in(x, name)
    bsz = x.shape[0]
    if isinstance(node, QInput):
        return x - np.asarray(node.zero_point, dtype=I64)
    if isinstance(node, (Input, Output)):
        return x
    if isinstance(node, Flatten):
        return x.reshape((bsz,) + tuple(node.shape_out()))
    if isinstance(node, SumPool2d):  # integer window sums, saturated like an accumulator
        return sat(sum_pool2d(x, node), 32)
    if isinstance(node, QConv):
        return _conv_int(node, x)
    if isinstance(node, QDelayedLinear):
        dmax = node.max_delay
        hist = st.setdefault("history", np.zeros((dmax + 1, bsz, x.shape[1]), dtype=I64))
        ptr = int(st.get("ptr", 0))
        hist[ptr] = x
        acc = np.zeros((bsz, node.weight.shape[0]), dtype=I64)
        for d, wi, wf, rowsum in _prepare(node):
            acc += _acc(wi, hist[(ptr - d) % (dmax + 1)], wf, rowsum)
        st["ptr"] = np.asarray((ptr + 1) % (dmax + 1))
        return _synapse_out(node, acc)
    if isinstance(node, QLinear):
        (_, wi, wf, rowsum), = _prepare(node)
        return _synapse_out(node, _acc(wi, x, wf, rowsum))
    if isinstance(node, QThreshold):
        return (x > np.asarray(node.thr_q, dtype=I64)).astype(I64)
    if isinstance(node, SpikeCountArgmax):
        st["count"] = sat(st.get("count", np.zeros_like(x)) + x, 32)
        return st["count"]
    if isinstance(node, MembraneArgmax):
        if "acc" not in st or node.reduce == "last":
            st["acc"] = sat(x, 32)
        elif node.reduce == "sum":
            st["acc"] = sat(st["acc"] + x, 32)
        else:
            st["acc"] = np.maximum(st["acc"], sat(x, 32))
        return st["acc"]
    from snnc.compiler.ops import op_for  # registry fallback (compiler/ops/<kind>.py)
    op = op_for(node)
    if op is not None and op.int_step is not None:
        return op.int_step(node, x, st, g)
    raise GraphError(f"the integer simulator has no rule for node kind '{node.kind}' "
                     "(quantize the graph first)", name)


def _synapse_out(node: QLinear, acc: np.ndarray) -> np.ndarray:
    if np.asarray(node.bias).size:
        acc = acc + np.asarray(node.bias, dtype=I64)
    return requant(sat(acc, 32), node.mult, node.shift, node.out_bits)


# ------------------------------------------------------------------ entry points


def simulate_int(graph_q: Graph, inputs: dict[str, np.ndarray] | np.ndarray, *,
                 record: bool = False, check: bool = True) -> SimResult:
    """Run a quantized graph on already-quantized integer inputs (see :func:`quantize_inputs`).

    Returns int64 traces ``[B, T, ...]`` (outputs; with ``record`` every node and state).
    """
    if not is_quantized(graph_q):
        raise SnncError(f"graph '{graph_q.name}' is not quantized (run the quantize pass)")
    ins = inputs if isinstance(inputs, dict) else (
        {graph_q.inputs[0]: inputs} if len(graph_q.inputs) == 1 else inputs)
    if isinstance(ins, dict):
        for k, v in ins.items():
            if np.asarray(v).dtype.kind not in "iub":
                raise SnncError(f"input '{k}': the integer simulator takes integer arrays "
                                f"(got {np.asarray(v).dtype}); use quantize_inputs()")
    return simulate(graph_q, inputs, record=record, step_rule=int_step, check=check)


def run_int(graph_q: Graph, x_float: dict[str, np.ndarray] | np.ndarray, *,
            record: bool = False) -> SimResult:
    """Quantize float inputs then simulate: what a deployed integer model computes."""
    return simulate_int(graph_q, quantize_inputs(graph_q, x_float), record=record)


def predict_int(graph_q: Graph, x_float: dict[str, np.ndarray] | np.ndarray,
                batch_size: int = 256) -> np.ndarray:
    """Class per sample from the integer model (argmax of the last step; ties -> lowest)."""
    if not isinstance(x_float, dict):
        x_float = {graph_q.inputs[0]: x_float}
    n = next(iter(x_float.values())).shape[0]
    preds = []
    for s in range(0, n, batch_size):
        chunk = {k: v[s:s + batch_size] for k, v in x_float.items()}
        out = simulate_int(graph_q, quantize_inputs(graph_q, chunk), check=(s == 0)).output
        preds.append(np.argmax(out[:, -1].reshape(out.shape[0], -1), axis=1))
    return np.concatenate(preds) if preds else np.zeros(0, dtype=np.int64)
