"""ONNX export of an snnc graph: the step function, and a whole window through ``Scan``.

The *step model* computes one time step. Every piece of memory is explicit: each state
(membrane ``v``, synaptic current ``i``, readout accumulators, delay lines, and the
previous output of a recurrent edge's source) is an ONNX input ``state_*`` and comes
back as an output ``next_*``. The caller feeds ``next_*`` into ``state_*`` on the next
call, starting from :meth:`OnnxStep.initial_state`. This is the streaming form every
baseline runtime (onnxruntime, TVM through its ONNX frontend, LiteRT through
:mod:`compiler.codegen.tflite`) executes at batch 1.

The *window model* (:func:`export_window`) wraps the same step body in an ONNX ``Scan``
over the time axis: inputs ``[B, T, ...]`` plus the initial states, outputs ``[B, T, ...]``
plus the final states.

Float exports mirror the reference simulator's operation order
(:mod:`compiler.ir.interpret`), so a ``float64`` export agrees with it to rounding
(tests use 1e-9), and a ``float32`` export to float32 rounding (a spike can flip where a
membrane lands within float32 rounding of its threshold; tests report that).
Operations are skipped only where an exact identity holds (``x * 1``, ``x + 0``).

Integer exports (graphs produced by the quantize pass) follow docs/fixed_point.md and are
implemented in :mod:`compiler.codegen.onnx_int` when the graph carries quantization.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from snnc.compiler import ops
from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import (
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

OPSET = 17
FLOAT_DTYPES = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE}
_NP_OF_ONNX = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64,
               TensorProto.INT32: np.int32, TensorProto.INT64: np.int64,
               TensorProto.BOOL: np.bool_, TensorProto.INT8: np.int8}


def sanitize(name: str) -> str:
    """An identifier every backend accepts (TVM and TFLite dislike ':' or '/')."""
    s = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return s if s and not s[0].isdigit() else f"n_{s}"


@dataclass(frozen=True)
class StateSpec:
    """One piece of step-to-step memory: fed in as ``name``, returned as ``out_name``."""

    name: str
    out_name: str
    node: str
    field: str
    shape: tuple[int, ...]  # without the batch axis
    dtype: Any  # numpy dtype
    init: float | int = 0

    def initial(self, batch: int) -> np.ndarray:
        """The state at t = 0 for ``batch`` samples."""
        return np.full((batch,) + self.shape, self.init, dtype=self.dtype)


@dataclass
class OnnxStep:
    """An exported step (or window) model and the names a runner needs."""

    model: onnx.ModelProto
    inputs: dict[str, str]  # graph Input node -> ONNX input name
    outputs: dict[str, str]  # graph Output node -> ONNX output name
    states: list[StateSpec]
    dtype: str  # 'float32' | 'float64' | 'int'
    batch: int | None  # None: symbolic batch axis
    input_dtype: Any = np.float32
    window: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def initial_state(self, batch: int) -> dict[str, np.ndarray]:
        """State feed for the first step (or the window's start)."""
        return {s.name: s.initial(batch) for s in self.states}

    def save(self, path: str | Path) -> Path:
        """Write the .onnx file atomically."""
        from snnc.compiler.ir.serialize import atomic_write

        data = self.model.SerializeToString()
        atomic_write(path, lambda f: f.write(data))
        return Path(path)


class OnnxBuilder:
    """Accumulates nodes and initializers of one ONNX graph with unique names."""

    def __init__(self, prefix: str = "") -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0
        self.prefix = prefix

    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"{self.prefix}{sanitize(hint)}_{self._n}"

    def const(self, arr: np.ndarray, hint: str = "c") -> str:
        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None,
           out: str | None = None, **attrs: Any) -> str:
        out = out or self.fresh(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


@dataclass
class Lowered:
    """A lowered step body: value names for the builder's graph."""

    inputs: list[tuple[str, str, tuple[int, ...], Any]]  # (node, onnx name, shape, np dtype)
    outputs: list[tuple[str, str, tuple[int, ...], Any]]
    states: list[StateSpec]


# A per-kind rule: (lowerer, node name, node, x) -> output value name. It declares
# states through ``lw.state(...)`` and returns the node's step output.
Rule = Callable[["StepLowerer", str, Node, str], str]


class StepLowerer:
    """Lowers a graph's step function into an :class:`OnnxBuilder` (float rules here)."""

    def __init__(self, graph: Graph, b: OnnxBuilder, dtype: str) -> None:
        if dtype not in FLOAT_DTYPES:
            raise SnncError(f"unknown ONNX float dtype '{dtype}' (expected float32 or float64)")
        self.g = graph
        self.b = b
        self.dtype = dtype
        self.np_dtype = _NP_OF_ONNX[FLOAT_DTYPES[dtype]]
        self.elem = FLOAT_DTYPES[dtype]
        self.states: list[StateSpec] = []
        self._next: dict[str, str] = {}  # state input name -> value holding its next value

    # -------------------------------------------------------------- helpers
    def c(self, arr: Any, hint: str = "c") -> str:
        return self.b.const(np.asarray(arr, dtype=self.np_dtype), hint)

    def state(self, node: str, fld: str, shape: tuple[int, ...], init: float | int = 0,
              dtype: Any = None) -> str:
        """Declare a state; returns the ONNX name holding its value at t-1."""
        base = f"{sanitize(node)}__{fld}"
        spec = StateSpec(f"state_{base}", f"next_{base}", node, fld, tuple(shape),
                         np.dtype(dtype or self.np_dtype), init)
        self.states.append(spec)
        return spec.name

    def set_next(self, state_name: str, value: str) -> None:
        self._next[state_name] = value

    def reshape(self, x: str, shape: tuple[int, ...]) -> str:
        return self.b.op("Reshape", [x, self.b.const(np.array((-1,) + tuple(shape), np.int64),
                                                     "shape")], "reshape")

    def mul(self, a_const: np.ndarray, x: str, hint: str) -> str:
        """``a * x`` with the constant on the left, as the simulator writes it; skips 1."""
        a = np.asarray(a_const, dtype=np.float64)
        if np.all(a == 1.0):
            return x
        return self.b.op("Mul", [self.c(a, hint), x], "mul")

    def add_const(self, a_const: np.ndarray, x: str, hint: str) -> str:
        a = np.asarray(a_const, dtype=np.float64)
        if np.all(a == 0.0):
            return x
        return self.b.op("Add", [self.c(a, hint), x], "add")

    # -------------------------------------------------------------- driver
    def lower(self) -> Lowered:
        g = self.g
        verify(g)
        order, back = g.schedule()
        preds = {n: [(a, (a, n) in back) for a, b in g.edges if b == n] for n in g.nodes}
        back_srcs = sorted({a for a, _ in back})
        prev: dict[str, str] = {}
        for a in back_srcs:
            prev[a] = self.state(a, "prev_out", tuple(g.nodes[a].shape_out()))
        cur: dict[str, str] = {}
        inputs, outputs = [], []
        for n in order:
            node = g.nodes[n]
            if isinstance(node, Input):
                name = f"in_{sanitize(n)}"
                inputs.append((n, name, tuple(node.shape_out()), self.input_np_dtype(node)))
                cur[n] = self.lower_input(n, node, name)
                continue
            x = None
            for a, is_back in preds[n]:
                y = prev[a] if is_back else cur[a]
                if tuple(g.nodes[a].shape_out()) != tuple(node.shape_in()):
                    y = self.reshape(y, tuple(node.shape_in()))
                x = y if x is None else self.b.op("Add", [x, y], "sum")
            assert x is not None  # verify() guarantees at least one predecessor
            y = self.rule(n, node, x)
            if isinstance(node, Output):
                oname = f"out_{sanitize(n)}"
                self.b.op("Identity", [y], out=oname)
                outputs.append((n, oname, tuple(node.shape_out()), self.output_np_dtype()))
            cur[n] = y
        for a in back_srcs:
            self.set_next(prev[a], cur[a])
        for s in self.states:
            self.b.op("Identity", [self._next[s.name]], out=s.out_name)
        return Lowered(inputs, outputs, self.states)

    def input_np_dtype(self, node: Input) -> Any:
        return self.np_dtype

    def output_np_dtype(self) -> Any:
        return self.np_dtype

    def lower_input(self, name: str, node: Input, onnx_name: str) -> str:
        return onnx_name

    def rule(self, n: str, node: Node, x: str) -> str:
        fn = FLOAT_RULES.get(type(node)) or ops.lowering("onnx", n, node)  # registry fallback
        if fn is None:
            raise UnsupportedError(f"ONNX export: node '{n}' of kind '{node.kind}' has no rule")
        return fn(self, n, node, x)

    # -------------------------------------------------------------- shared neuron parts
    def spike_reset(self, n: str, node: Any, v: str) -> tuple[str, str]:
        """(spikes, v after reset) as the simulator's ``_spike_and_reset``."""
        thr = np.asarray(node.v_threshold, dtype=np.float64)
        cmp = self.b.op("Greater", [v, self.c(thr, "thr")], "cmp")
        s = self.b.op("Cast", [cmp], "spk", to=self.elem)
        if node.reset == "subtract":
            v = self.b.op("Sub", [v, self.mul(thr, s, "thr")], "v_reset")
        else:
            v = self.b.op("Where", [cmp, self.c(np.asarray(node.v_reset), "vreset"), v], "v_reset")
        return s, v


def _dense(lw: StepLowerer, n: str, w: np.ndarray, x: str, bias: np.ndarray | None) -> str:
    y = lw.b.op("MatMul", [x, lw.c(np.asarray(w).T, f"{n}_wT")], "matmul")
    if bias is not None:
        y = lw.b.op("Add", [y, lw.c(bias, f"{n}_b")], "bias")
    return y


def delay_stack(w: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Stack W by delay: ``Ws[k*in + j, i] = W[i, j] if D[i, j] == k``, shape [(D+1)*in, out].

    With ``hist[b, k, j] = x_j[t-k]`` flattened to [B, (D+1)*in], one MatMul gives
    ``y_i[t] = sum_j W[i,j] x_j[t - D[i,j]]``.
    """
    out, inn = w.shape
    dmax = int(d.max()) if d.size else 0
    ws = np.zeros((dmax + 1, inn, out), dtype=w.dtype)
    for k in range(dmax + 1):
        ws[k] = np.where(d == k, w, 0).T
    return ws.reshape((dmax + 1) * inn, out)


def _delayed(lw: StepLowerer, n: str, node: DelayedLinear, x: str) -> str:
    dmax = node.max_delay
    inn = node.shape_in()[0]
    if dmax == 0:
        return _dense(lw, n, node.weight, x, None)
    hist = lw.state(n, "history", (dmax, inn))  # hist[:, k-1] = x[t-k]
    x3 = lw.reshape(x, (1, inn))
    full = lw.b.op("Concat", [x3, hist], "hist_full", axis=1)  # [B, D+1, in]
    nxt = lw.b.op("Slice", [full, lw.b.const(np.array([0], np.int64)),
                            lw.b.const(np.array([dmax], np.int64)),
                            lw.b.const(np.array([1], np.int64), "axes")], "hist_next")
    lw.set_next(hist, nxt)
    flat = lw.reshape(full, ((dmax + 1) * inn,))
    ws = delay_stack(np.asarray(node.weight, np.float64), np.asarray(node.delay))
    return lw.b.op("MatMul", [flat, lw.c(ws, f"{n}_wstack")], "matmul")


def _conv(lw: StepLowerer, n: str, node: Conv1d | Conv2d, x: str) -> str:
    nd = 1 if isinstance(node, Conv1d) else 2
    tup = (lambda v: (int(v),)) if nd == 1 else (lambda v: tuple(int(i) for i in v))
    pads = tup(node.padding)
    ins = [x, lw.c(node.weight, f"{n}_w")]
    if np.asarray(node.bias).size:
        ins.append(lw.c(node.bias, f"{n}_b"))
    return lw.b.op("Conv", ins, "conv", strides=list(tup(node.stride)),
                   pads=list(pads) * 2, dilations=list(tup(node.dilation)),
                   group=int(node.groups))


def sum_pool(b: OnnxBuilder, node: SumPool2d, x: str) -> str:
    """SumPool2d as Pad + one strided Slice per kernel offset + Add.

    The windows are added in the simulator's order (offset (0, 0) first, row-major), so a
    float64 export is exact, and the integer lowering (int64) reuses it unchanged. ONNX's
    ``AveragePool`` would divide and ``Conv`` with a ones kernel has no float64/int64
    kernel in onnxruntime; slices and adds exist for every dtype.
    """
    (kh, kw), (sh, sw), (ph, pw) = node.kernel_size, node.stride, node.padding
    if ph or pw:
        x = b.op("Pad", [x, b.const(np.array([0, 0, ph, pw, 0, 0, ph, pw], np.int64), "pads")],
                 "pool_pad")
    oh, ow = (int(v) for v in node.shape_out()[1:])
    axes = b.const(np.array([2, 3], np.int64), "axes")
    steps = b.const(np.array([sh, sw], np.int64), "steps")
    y = None
    for a in range(int(kh)):
        for c in range(int(kw)):
            win = b.op("Slice", [x, b.const(np.array([a, c], np.int64), "starts"),
                                 b.const(np.array([a + sh * (oh - 1) + 1, c + sw * (ow - 1) + 1],
                                                  np.int64), "ends"), axes, steps], "pool_win")
            y = win if y is None else b.op("Add", [y, win], "pool_sum")
    assert y is not None  # kernel_size >= 1 (verify)
    return y


def _count(lw: StepLowerer, n: str, node: SpikeCountArgmax, x: str) -> str:
    c = lw.state(n, "count", tuple(node.shape))
    cn = lw.b.op("Add", [c, x], "count")
    lw.set_next(c, cn)
    return cn


def _membrane(lw: StepLowerer, n: str, node: MembraneArgmax, x: str) -> str:
    if node.reduce == "last":
        return x
    if node.reduce == "sum":
        acc = lw.state(n, "acc", tuple(node.shape))
        an = lw.b.op("Add", [acc, x], "acc")
    elif node.reduce == "max":
        # c[-1] = -inf makes max(c[-1], x[0]) = x[0], the simulator's first-step rule
        acc = lw.state(n, "acc", tuple(node.shape), init=-np.inf)
        an = lw.b.op("Max", [acc, x], "acc")
    else:
        raise UnsupportedError(f"ONNX export: node '{n}': unknown reduce '{node.reduce}'")
    lw.set_next(acc, an)
    return an


FLOAT_RULES: dict[type, Rule] = {
    Output: lambda lw, n, node, x: x,
    Affine: lambda lw, n, node, x: _dense(lw, n, node.weight, x, node.bias),
    Linear: lambda lw, n, node, x: _dense(lw, n, node.weight, x, None),
    DelayedLinear: _delayed,
    Conv1d: _conv,
    Conv2d: _conv,
    Flatten: lambda lw, n, node, x: lw.reshape(x, tuple(node.shape_out())),
    SumPool2d: lambda lw, n, node, x: sum_pool(lw.b, node, x),
    Scale: lambda lw, n, node, x: lw.mul(node.scale, x, "scale"),
    Threshold: lambda lw, n, node, x: lw.b.op(
        "Cast", [lw.b.op("Greater", [x, lw.c(node.threshold, "thr")], "cmp")], "spk",
        to=lw.elem),
    SpikeCountArgmax: _count,
    MembraneArgmax: _membrane,
}


def _vi(name: str, np_dtype: Any, shape: tuple[int, ...], batch: int | str | None
        ) -> onnx.ValueInfoProto:
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(np_dtype))
    return helper.make_tensor_value_info(name, elem, [batch if batch is not None else "batch",
                                                      *shape])


def make_lowerer(graph: Graph, b: OnnxBuilder, dtype: str) -> StepLowerer:
    """The lowerer for ``dtype``: 'float32'/'float64', or 'int' for a quantized graph."""
    if dtype == "int":
        from snnc.compiler.codegen.onnx_int import IntStepLowerer

        return IntStepLowerer(graph, b)
    return StepLowerer(graph, b, dtype)


def export_step(graph: Graph, *, dtype: str = "float32", batch: int | None = None
                ) -> OnnxStep:
    """The step function of ``graph`` as an ONNX model (states as inputs and outputs).

    ``batch`` fixes the batch axis (LiteRT and TVM want a static shape); None leaves a
    symbolic ``batch`` axis. Raises :class:`UnsupportedError` naming a node ONNX cannot
    express.
    """
    b = OnnxBuilder()
    lw = make_lowerer(graph, b, dtype)
    low = lw.lower()
    ins = [_vi(name, dt, shp, batch) for _, name, shp, dt in low.inputs]
    ins += [_vi(s.name, s.dtype, s.shape, batch) for s in low.states]
    outs = [_vi(name, dt, shp, batch) for _, name, shp, dt in low.outputs]
    outs += [_vi(s.out_name, s.dtype, s.shape, batch) for s in low.states]
    og = helper.make_graph(b.nodes, sanitize(graph.name) + "_step", ins, outs, b.inits)
    model = _finish(og, graph, "step")
    return OnnxStep(model, {n: name for n, name, _, _ in low.inputs},
                    {n: name for n, name, _, _ in low.outputs}, low.states,
                    dtype, batch, input_dtype=low.inputs[0][3] if low.inputs else np.float32,
                    extra=getattr(lw, "extra", {}))


def export_window(graph: Graph, *, dtype: str = "float32", batch: int | None = None
                  ) -> OnnxStep:
    """A whole window as one ONNX model: the step body inside ``Scan`` over axis 1.

    Inputs: ``in_*`` ``[B, T, ...]`` and the initial ``state_*``; outputs: ``out_*``
    ``[B, T, ...]`` and the final ``next_*``.
    """
    body_b = OnnxBuilder(prefix="b_")
    lw = make_lowerer(graph, body_b, dtype)
    low = lw.lower()
    # Scan body: states first, then one time slice of each input; new states, then outputs.
    b_in = [_vi(s.name, s.dtype, s.shape, batch) for s in low.states]
    b_in += [_vi(name, dt, shp, batch) for _, name, shp, dt in low.inputs]
    b_out = [_vi(s.out_name, s.dtype, s.shape, batch) for s in low.states]
    b_out += [_vi(name, dt, shp, batch) for _, name, shp, dt in low.outputs]
    body = helper.make_graph(body_b.nodes, "step_body", b_in, b_out, body_b.inits)
    outer_in = [f"seq_{name}" for _, name, _, _ in low.inputs]
    outer_out = [f"seq_{name}" for _, name, _, _ in low.outputs]
    scan = helper.make_node(
        "Scan", [s.name for s in low.states] + outer_in,
        [f"final_{s.name}" for s in low.states] + outer_out, name="scan", body=body,
        num_scan_inputs=len(low.inputs), scan_input_axes=[1] * len(low.inputs),
        scan_output_axes=[1] * len(low.outputs))
    bt = batch if batch is not None else "batch"
    ins = [helper.make_tensor_value_info(
        o, helper.np_dtype_to_tensor_dtype(np.dtype(dt)), [bt, "T", *shp])
        for o, (_, _, shp, dt) in zip(outer_in, low.inputs)]
    ins += [_vi(s.name, s.dtype, s.shape, batch) for s in low.states]
    outs = [helper.make_tensor_value_info(
        o, helper.np_dtype_to_tensor_dtype(np.dtype(dt)), [bt, "T", *shp])
        for o, (_, _, shp, dt) in zip(outer_out, low.outputs)]
    outs += [_vi(f"final_{s.name}", s.dtype, s.shape, batch) for s in low.states]
    og = helper.make_graph([scan], sanitize(graph.name) + "_window", ins, outs)
    model = _finish(og, graph, "window")
    return OnnxStep(model, {n: f"seq_{name}" for n, name, _, _ in low.inputs},
                    {n: f"seq_{name}" for n, name, _, _ in low.outputs}, low.states,
                    dtype, batch, input_dtype=low.inputs[0][3] if low.inputs else np.float32,
                    window=True, extra=getattr(lw, "extra", {}))


def _finish(og: onnx.GraphProto, graph: Graph, kind: str) -> onnx.ModelProto:
    from snnc.compiler import __version__

    model = helper.make_model(og, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="snnc", producer_version=__version__)
    model.ir_version = 8  # readable by every onnxruntime/TVM frontend installed here
    helper.set_model_props(model, {"snnc.model": graph.name, "snnc.kind": kind,
                                   "snnc.dt": repr(graph.dt)})
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:  # a bug in a rule, not a user error
        raise SnncError(f"ONNX export of '{graph.name}' produced an invalid model: {e}") from e
    return model
