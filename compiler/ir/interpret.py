"""The float reference simulator: the definition of snnc's semantics.

``simulate(graph, {input: x[B, T, ...]})`` runs the graph step by step, vectorized over
the batch, and returns every Output's trace ``[B, T, ...]``; with ``record=True`` it also
returns every node's output trace and every stateful node's state trace. The equations
are the ones in each node's docstring (:mod:`compiler.ir.nodes`; neuron kinds: their op
files, :mod:`compiler.ops`, whose ``float_step`` this simulator calls); the schedule and the
recurrent-edge rule are in :mod:`compiler.ir.graph`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import GraphError, SnncError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import (
    READOUTS,
    Affine,
    Conv1d,
    Conv2d,
    DelayedLinear,
    Flatten,
    Input,
    Linear,
    MembraneArgmax,
    Node,
    Output,
    Scale,
    SpikeCountArgmax,
    SumPool2d,
    Threshold,
)
from snnc.compiler.ir.verify import verify


@dataclass
class SimResult:
    """Outputs ``[B, T, ...]`` per Output node; traces/states per node when recorded."""

    outputs: dict[str, np.ndarray]
    traces: dict[str, np.ndarray] = field(default_factory=dict)
    states: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @property
    def output(self) -> np.ndarray:
        """The single Output's trace; with several Outputs, their traces flattened per
        step and concatenated in graph order, ``[B, T, sum of sizes]`` (the generated C
        code's output vector)."""
        if len(self.outputs) == 1:
            return next(iter(self.outputs.values()))
        if not self.outputs:
            raise SnncError("graph has no outputs")
        return np.concatenate([v.reshape(v.shape[0], v.shape[1], -1)
                               for v in self.outputs.values()], axis=2)


# ------------------------------------------------------------------ per-kind step rules
# Each rule: (node, x[B, *shape_in], state dict, graph) -> y[B, *shape_out]; it updates
# the state dict in place. State starts empty ({}) at t = 0.

def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: tuple[int, ...],
          pad: tuple[int, ...], dil: tuple[int, ...], groups: int) -> np.ndarray:
    """N-d convolution (1-d or 2-d) by explicit gathering, float64."""
    nd = w.ndim - 2
    bsz, cin = x.shape[:2]
    x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    ks = w.shape[2:]
    outs = [(x.shape[2 + i] - dil[i] * (ks[i] - 1) - 1) // stride[i] + 1 for i in range(nd)]
    cout = w.shape[0]
    cpg_in, cpg_out = cin // groups, cout // groups
    y = np.zeros((bsz, cout, *outs))
    for kidx in np.ndindex(*ks):
        sl = tuple(
            slice(kidx[i] * dil[i], kidx[i] * dil[i] + stride[i] * (outs[i] - 1) + 1, stride[i])
            for i in range(nd)
        )
        patch = x[(slice(None), slice(None)) + sl]  # [B, Cin, *outs]
        for g in range(groups):
            wg = w[g * cpg_out:(g + 1) * cpg_out, :, *kidx]  # [cpg_out, cpg_in]
            pg = patch[:, g * cpg_in:(g + 1) * cpg_in]
            y[:, g * cpg_out:(g + 1) * cpg_out] += np.einsum("oi,bi...->bo...", wg, pg)
    if b.size:
        y += b.reshape((1, cout) + (1,) * nd)
    return y


def sum_pool2d(x: np.ndarray, node: SumPool2d) -> np.ndarray:
    """Window sums of ``x`` [B, C, H, W] (any numeric dtype; the integer rule reuses it)."""
    (kh, kw), (sh, sw), (ph, pw) = node.kernel_size, node.stride, node.padding
    x = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    oh, ow = node.shape_out()[1:]
    y = np.zeros(x.shape[:2] + (oh, ow), dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            y += x[:, :, a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw]
    return y


def _spike_and_reset(v: np.ndarray, node: Any) -> tuple[np.ndarray, np.ndarray]:
    """(spikes, v after reset) of a population with ``v_threshold``/``reset``/``v_reset``
    (the spiking op files' float rules share it)."""
    thr = np.asarray(node.v_threshold)
    s = (v > thr).astype(np.float64)
    if node.reset == "subtract":
        v = v - s * thr
    else:
        v = np.where(s > 0, np.asarray(node.v_reset), v)
    return s, v


def _step(node: Node, x: np.ndarray, st: dict[str, np.ndarray], g: Graph) -> np.ndarray:
    bsz = x.shape[0]
    if isinstance(node, (Input, Output)):
        return x
    if isinstance(node, Affine):
        return x @ node.weight.T + node.bias
    if isinstance(node, Linear):
        return x @ node.weight.T
    if isinstance(node, DelayedLinear):
        dmax = node.max_delay
        hist = st.setdefault("history", np.zeros((dmax + 1, bsz, x.shape[1])))
        ptr = int(st.get("ptr", 0))
        hist[ptr] = x
        y = np.zeros((bsz, node.weight.shape[0]))
        for d in np.unique(node.delay):
            wd = np.where(node.delay == d, node.weight, 0.0)
            y += hist[(ptr - int(d)) % (dmax + 1)] @ wd.T
        st["ptr"] = np.asarray((ptr + 1) % (dmax + 1))
        return y
    if isinstance(node, Conv1d):
        return _conv(x, node.weight, node.bias, (node.stride,), (node.padding,),
                     (node.dilation,), node.groups)
    if isinstance(node, Conv2d):
        return _conv(x, node.weight, node.bias, tuple(node.stride), tuple(node.padding),
                     tuple(node.dilation), node.groups)
    if isinstance(node, Flatten):
        return x.reshape((bsz,) + tuple(node.shape_out()))
    if isinstance(node, SumPool2d):
        return sum_pool2d(x, node)
    if isinstance(node, Scale):
        return x * node.scale
    if isinstance(node, Threshold):
        return (x > node.threshold).astype(np.float64)
    if isinstance(node, SpikeCountArgmax):
        st["count"] = st.get("count", np.zeros_like(x)) + x
        return st["count"]
    if isinstance(node, MembraneArgmax):
        if "acc" not in st or node.reduce == "last":
            st["acc"] = x.copy()
        elif node.reduce == "sum":
            st["acc"] = st["acc"] + x
        else:
            st["acc"] = np.maximum(st["acc"], x)
        return st["acc"]
    from snnc.compiler.ops import op_for  # registry fallback (compiler/ops/<kind>.py)
    op = op_for(node)
    if op is not None and op.float_step is not None:
        return op.float_step(node, x, st, g)
    raise GraphError(f"the simulator has no rule for node kind '{node.kind}'")


StepRule = Callable[[Node, np.ndarray, dict[str, np.ndarray], Graph], np.ndarray]


def simulate(graph: Graph, inputs: dict[str, np.ndarray] | np.ndarray, *,
             record: bool = False, step_rule: StepRule = _step,
             check: bool = True) -> SimResult:
    """Run ``graph`` on ``inputs`` (``[B, T, *shape]`` per Input; a bare array if one input).

    ``step_rule`` lets the integer simulator reuse this scheduler with its own arithmetic.
    """
    if check:
        verify(graph)
    if not isinstance(inputs, dict):
        if len(graph.inputs) != 1:
            raise SnncError(f"graph has inputs {graph.inputs}; pass a dict of arrays")
        inputs = {graph.inputs[0]: inputs}
    missing = set(graph.inputs) - set(inputs)
    if missing:
        raise SnncError(f"no data for input node(s) {sorted(missing)}")
    bsz = tsteps = None
    for name in graph.inputs:
        arr = np.asarray(inputs[name])
        want = tuple(graph.nodes[name].shape_out())
        if arr.ndim != 2 + len(want) or tuple(arr.shape[2:]) != want:
            raise SnncError(
                f"input '{name}': expected shape [batch, T, {', '.join(map(str, want))}], "
                f"got {list(arr.shape)}")
        if bsz is None:
            bsz, tsteps = arr.shape[:2]
        elif arr.shape[:2] != (bsz, tsteps):
            raise SnncError("all inputs must share batch and time sizes")
    order, back = graph.schedule()
    preds = {n: [(a, (a, n) in back) for a, b in graph.edges if b == n] for n in graph.nodes}
    states: dict[str, dict[str, np.ndarray]] = {n: {} for n in graph.nodes}
    prev: dict[str, np.ndarray] = {}
    traces: dict[str, list[np.ndarray]] = {n: [] for n in graph.nodes}
    st_traces: dict[str, dict[str, list[np.ndarray]]] = {n: {} for n in graph.nodes}
    for t in range(tsteps):
        cur: dict[str, np.ndarray] = {}
        for n in order:
            node = graph.nodes[n]
            if isinstance(node, Input):
                x = np.asarray(inputs[n][:, t])
            else:
                x = None
                for a, is_back in preds[n]:
                    src = prev if is_back else cur
                    y = src.get(a)
                    if y is None:  # recurrent source before its first step: zeros
                        y = np.zeros((bsz,) + tuple(graph.nodes[a].shape_out()))
                    y = y.reshape((bsz,) + tuple(node.shape_in()))
                    x = y if x is None else x + y
            cur[n] = _as_out(step_rule(node, x, states[n], graph))
            if record or isinstance(node, Output):
                traces[n].append(cur[n])
            if record:
                for k, v in states[n].items():
                    if k not in ("history", "ptr"):
                        st_traces[n].setdefault(k, []).append(np.array(v))
        prev = cur
    outs = {n: np.stack(traces[n], axis=1) for n in graph.outputs}
    res = SimResult(outputs=outs)
    if record:
        res.traces = {n: np.stack(v, axis=1) for n, v in traces.items() if v}
        res.states = {n: {k: np.stack(v, axis=1) for k, v in d.items()}
                      for n, d in st_traces.items() if d}
    return res


def _as_out(y: np.ndarray) -> np.ndarray:
    return np.asarray(y)


def readout_node(graph: Graph) -> str | None:
    """The graph's readout node (SpikeCountArgmax/MembraneArgmax), if it has exactly one."""
    rs = [n for n, v in graph.items() if isinstance(v, READOUTS)]
    return rs[0] if len(rs) == 1 else None


def predict(graph: Graph, inputs: dict[str, np.ndarray] | np.ndarray,
            batch_size: int = 256) -> np.ndarray:
    """Class per sample: argmax of the Output trace at the last step (ties -> lowest index;
    several Outputs are concatenated in graph order, see :attr:`SimResult.output`)."""
    if not isinstance(inputs, dict):
        inputs = {graph.inputs[0]: inputs}
    n = next(iter(inputs.values())).shape[0]
    preds = []
    for s in range(0, n, batch_size):
        chunk = {k: v[s:s + batch_size] for k, v in inputs.items()}
        out = simulate(graph, chunk, check=(s == 0)).output
        preds.append(np.argmax(out[:, -1].reshape(out.shape[0], -1), axis=1))
    return np.concatenate(preds)
