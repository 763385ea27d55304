"""Integer ONNX lowering of a quantized graph (the kinds of :mod:`compiler.ir.qnodes`).

Bit-exact with :mod:`compiler.ir.interpret_int` (docs/fixed_point.md): every value is
int64 inside the model, as in the golden model, so no product or sum can wrap.

- Inputs are the quantized integers ``x_q`` (int32, from
  :func:`compiler.ir.interpret_int.quantize_inputs`); the model subtracts the zero point.
- ``sat_b(x)`` is ``Min(Max(x, lo), hi)``.
- ``rshift_round(x, n)`` (arithmetic shift, round half up) has no ONNX op (``BitShift``
  is unsigned only), so it is ``y = x + half; (y - Mod(y, 2**n)) / 2**n`` with
  ``Mod(fmod=0)`` (sign of the divisor, so in [0, 2**n)): the division is exact, so it
  does not matter whether a backend's integer ``Div`` truncates or floors.
- Operations are skipped only under exact identities: ``beta_q == 32768`` (decay by 1),
  ``mult == 1 and shift == 0``, a zero leak, a zero zero-point.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import TensorProto

from snnc.compiler import ops
from snnc.compiler.codegen.onnx import (
    OnnxBuilder,
    StepLowerer,
    delay_stack,
    sum_pool,
)
from snnc.compiler.errors import UnsupportedError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import (
    Flatten,
    Input,
    MembraneArgmax,
    Node,
    Output,
    SpikeCountArgmax,
    SumPool2d,
)
from snnc.compiler.ir.qnodes import (
    Q15_ONE,
    QConv,
    QDelayedLinear,
    QInput,
    QLinear,
    QThreshold,
    is_quantized,
    srange,
)

I64 = np.int64


class IntStepLowerer(StepLowerer):
    """Lowers a quantized graph's step with int64 arithmetic (see the module docstring)."""

    def __init__(self, graph: Graph, b: OnnxBuilder) -> None:
        if not is_quantized(graph):
            raise UnsupportedError(
                f"integer export: graph '{graph.name}' is not quantized (run the quantize pass)")
        self.g = graph
        self.b = b
        self.dtype = "int"
        self.np_dtype = I64
        self.elem = TensorProto.INT64
        self.states = []
        self._next = {}
        # exact_f32: MatMul outputs whose |value| provably stays below 2**24, so a float32
        # product of these integers is exact whatever the summation order (TFLite uses it).
        self.extra: dict[str, Any] = {"integer": True, "exact_f32": []}
        self.bounds = value_bounds(graph)

    # -------------------------------------------------------------- helpers
    def ci(self, arr: Any, hint: str = "c") -> str:
        return self.b.const(np.asarray(arr, dtype=I64), hint)

    def input_np_dtype(self, node: Input) -> Any:
        return np.int32

    def output_np_dtype(self) -> Any:
        return I64

    def lower_input(self, name: str, node: Input, onnx_name: str) -> str:
        x = self.b.op("Cast", [onnx_name], "x64", to=TensorProto.INT64)
        zp = np.asarray(getattr(node, "zero_point", 0), I64)
        if isinstance(node, QInput) and np.any(zp != 0):
            x = self.b.op("Sub", [x, self.ci(zp, "zp")], "x_centered")
        return x

    def sat(self, x: str, bits: int) -> str:
        lo, hi = srange(int(bits))
        x = self.b.op("Max", [x, self.ci(lo, "lo")], "satlo")
        return self.b.op("Min", [x, self.ci(hi, "hi")], "sathi")

    def rshift_round(self, x: str, n: np.ndarray, bound: float = 2.0 ** 63) -> str:
        """``rshift_round(x, n)``; ``bound`` >= max|x| lets TFLite use a 32-bit shift."""
        n = np.asarray(n, I64)
        if np.all(n == 0):
            return x
        half = np.where(n > 0, np.left_shift(I64(1), np.maximum(n - 1, 0)), 0).astype(I64)
        div = np.left_shift(I64(1), n).astype(I64)
        y = self.b.op("Add", [x, self.ci(half, "half")], "rsr_y")
        dv = self.ci(div, "pow2")
        r = self.b.op("Mod", [y, dv], "rsr_mod", fmod=0)
        sub = self.b.op("Sub", [y, r], "rsr_exact")
        out = self.b.op("Div", [sub, dv], "rsr")
        # Recorded so the TFLite translator can emit one arithmetic RIGHT_SHIFT instead.
        self.extra.setdefault("rshift", {})[out] = {
            "x": x, "y": y, "mod": r, "sub": sub, "n": n, "half": half,
            "bound": float(bound) + float(half.max())}
        return out

    def mul_i(self, a: np.ndarray, x: str, hint: str) -> str:
        a = np.asarray(a, I64)
        if np.all(a == 1):
            return x
        return self.b.op("Mul", [self.ci(a, hint), x], "mul")

    def decay(self, v: str, q: np.ndarray, bits: int) -> str:
        """Q0.15 decay of a state ``v`` held in ``bits`` (saturated) bits."""
        q = np.asarray(q, I64)
        if np.all(q == Q15_ONE):  # rshift_round(32768 * v, 15) == v exactly
            return v
        bound = float(q.max()) * 2.0 ** (int(bits) - 1)
        return self.rshift_round(self.mul_i(q, v, "decay_q"), np.asarray(15), bound)

    def add_i(self, x: str, c: np.ndarray, hint: str) -> str:
        c = np.asarray(c, I64)
        if np.all(c == 0):
            return x
        return self.b.op("Add", [x, self.ci(c, hint)], "add")

    def spike_reset_q(self, node: Any, v: str) -> tuple[str, str]:
        thr = self.ci(node.thr_q, "thr")
        cmp = self.b.op("Greater", [v, thr], "cmp")
        s = self.b.op("Cast", [cmp], "spk", to=TensorProto.INT64)
        if node.reset == "subtract":
            v = self.b.op("Sub", [v, self.b.op("Mul", [s, thr], "s_thr")], "v_reset")
        else:
            v = self.b.op("Where", [cmp, self.ci(node.reset_q, "vreset"), v], "v_reset")
        return s, v

    def rule(self, n: str, node: Node, x: str) -> str:
        if isinstance(node, Output):
            return x
        if isinstance(node, Flatten):
            return self.reshape(x, tuple(node.shape_out()))
        if isinstance(node, SumPool2d):  # int64 window sums, saturated as an accumulator
            return self.sat(sum_pool(self.b, node, x), 32)
        if isinstance(node, QDelayedLinear):
            return self._synapse(n, node, self._delayed_acc(n, node, x))
        if isinstance(node, QConv):
            return self._synapse(n, node, self._conv_acc(n, node, x))
        if isinstance(node, QThreshold):
            cmp = self.b.op("Greater", [x, self.ci(node.thr_q, "thr")], "cmp")
            return self.b.op("Cast", [cmp], "spk", to=TensorProto.INT64)
        if isinstance(node, QLinear):
            acc = self.b.op("MatMul", [x, self.ci(np.asarray(node.weight).T, f"{n}_wT")],
                            "acc")
            self._note_exact(n, node, acc)
            return self._synapse(n, node, acc)
        if isinstance(node, SpikeCountArgmax):
            c = self.state(n, "count", tuple(node.shape))
            cn = self.sat(self.b.op("Add", [c, x], "count"), 32)
            self.set_next(c, cn)
            return cn
        if isinstance(node, MembraneArgmax):
            xs = self.sat(x, 32)
            if node.reduce == "last":
                return xs
            if node.reduce == "sum":
                acc = self.state(n, "acc", tuple(node.shape))
                an = self.sat(self.b.op("Add", [acc, x], "acc"), 32)
            elif node.reduce == "max":
                # the int64 minimum makes max(c[-1], x[0]) = sat32(x[0]), the first-step rule
                acc = self.state(n, "acc", tuple(node.shape), init=int(np.iinfo(I64).min))
                an = self.b.op("Max", [acc, xs], "acc")
            else:
                raise UnsupportedError(f"integer export: node '{n}': unknown reduce "
                                       f"'{node.reduce}'")
            self.set_next(acc, an)
            return an
        fn = ops.lowering("onnx_int", n, node)  # registry fallback (compiler/ops/<kind>.py)
        if fn is not None:
            return fn(self, n, node, x)
        raise UnsupportedError(f"integer export: node '{n}' of kind '{node.kind}' has no "
                               "integer rule (quantize the graph first)")

    def _delayed_acc(self, n: str, node: QDelayedLinear, x: str) -> str:
        dmax = node.max_delay
        inn = node.shape_in()[0]
        w = np.asarray(node.weight, I64)
        if dmax == 0:
            acc = self.b.op("MatMul", [x, self.ci(w.T, f"{n}_wT")], "acc")
            self._note_exact(n, node, acc)
            return acc
        hist = self.state(n, "history", (dmax, inn))
        full = self.b.op("Concat", [self.reshape(x, (1, inn)), hist], "hist_full", axis=1)
        nxt = self.b.op("Slice", [full, self.b.const(np.array([0], I64)),
                                  self.b.const(np.array([dmax], I64)),
                                  self.b.const(np.array([1], I64), "axes")], "hist_next")
        self.set_next(hist, nxt)
        flat = self.reshape(full, ((dmax + 1) * inn,))
        acc = self.b.op("MatMul", [flat, self.ci(delay_stack(w, np.asarray(node.delay)),
                                                 f"{n}_wstack")], "acc")
        self._note_exact(n, node, acc)
        return acc

    def _conv_acc(self, n: str, node: QConv, x: str) -> str:
        """Integer convolution through a float32 ``Conv``, only where provably exact.

        No ONNX runtime here has an int32/int64 ``Conv`` (``ConvInteger`` is 8-bit with
        zero points and int32 accumulators of its own), but when every partial sum is an
        integer below 2**24 in magnitude, float32 represents all of them exactly, in any
        summation order. The bias is added afterwards in int64.
        """
        xb = sum(self.bounds.get(p, _BIG) for p in self.g.predecessors(n))
        w = np.asarray(node.weight, np.float64)
        row = np.abs(w).reshape(w.shape[0], -1).sum(axis=1).max(initial=0.0)
        if row * xb >= 2.0 ** 24:
            raise UnsupportedError(
                f"integer export: node '{n}': no exact integer convolution in ONNX runtimes "
                f"and |acc| may reach {row * xb:.3g} >= 2**24 (float32 would round)")
        nd = w.ndim - 2
        xf = self.b.op("Cast", [x], "x_f32", to=TensorProto.FLOAT)
        y = self.b.op("Conv", [xf, self.b.const(w.astype(np.float32), f"{n}_w")], "conv",
                      strides=[int(v) for v in node.stride], pads=[int(v) for v in node.padding] * 2,
                      dilations=[int(v) for v in node.dilation], group=int(node.groups))
        acc = self.b.op("Cast", [y], "acc", to=TensorProto.INT64)
        if np.asarray(node.bias).size:
            acc = self.b.op("Add", [acc, self.ci(np.asarray(node.bias).reshape(
                (-1,) + (1,) * nd), f"{n}_b")], "acc_b")
        return acc

    def _note_exact(self, n: str, node: QLinear, acc: str) -> None:
        xb = sum(self.bounds.get(p, _BIG) for p in self.g.predecessors(n))
        w_abs = np.abs(np.asarray(node.weight, np.float64))
        row = w_abs.reshape(w_abs.shape[0], -1).sum(axis=1).max(initial=0.0)
        if row * xb < 2.0 ** 24:
            self.extra["exact_f32"].append(acc)

    def _synapse(self, n: str, node: QLinear | QConv, acc: str) -> str:
        if np.asarray(node.bias).size and not isinstance(node, QConv):  # conv adds its own
            acc = self.b.op("Add", [acc, self.ci(node.bias, f"{n}_b")], "acc_b")
        acc = self.sat(acc, 32)
        mult, shift = np.asarray(node.mult, I64), np.asarray(node.shift, I64)
        if isinstance(node, QConv):  # per output channel: broadcast over [B, C, *spatial]
            tail = (1,) * (np.asarray(node.weight).ndim - 2)
            mult = mult.reshape((-1,) + tail) if mult.size > 1 else mult
            shift = shift.reshape((-1,) + tail) if shift.size > 1 else shift
        if np.all(mult == 1) and np.all(shift == 0):
            return self.sat(acc, node.out_bits)
        xb = sum(self.bounds.get(p, _BIG) for p in self.g.predecessors(n))
        w_abs = np.abs(np.asarray(node.weight, np.float64))
        row = w_abs.reshape(w_abs.shape[0], -1).sum(axis=1).max(initial=0.0)
        bias = float(np.abs(np.asarray(node.bias, np.float64)).max(initial=0.0))
        acc_bound = min(row * xb + bias, 2.0 ** 31)
        y = self.rshift_round(self.mul_i(mult, acc, "mult"), shift, acc_bound * float(mult.max()))
        return self.sat(y, node.out_bits)


_BIG = float(2 ** 63)


def value_bounds(graph: Graph) -> dict[str, float]:
    """A conservative bound on |output| of each node (used to prove float32 exactness)."""
    order, _ = graph.schedule()
    b: dict[str, float] = {}
    for n in order:
        node = graph.nodes[n]
        if isinstance(node, QInput):
            b[n] = 1.0 if node.dtype == "spike" else float(2 ** int(node.bits))
        elif isinstance(node, Input):
            b[n] = 1.0 if node.dtype == "spike" else _BIG
        elif ops.op_for(node) is not None and ops.op_for(node).spiking:
            b[n] = 1.0
        elif ops.is_population(node):  # a non-spiking population outputs its state
            b[n] = float(2 ** (int(node.state_bits) - 1))
        elif isinstance(node, (QLinear, QConv)):
            b[n] = float(2 ** (int(node.out_bits) - 1))
        elif isinstance(node, QThreshold):
            b[n] = 1.0
        elif isinstance(node, SumPool2d):
            k = int(node.kernel_size[0]) * int(node.kernel_size[1])
            b[n] = min(k * sum(b.get(p, _BIG) for p in graph.predecessors(n)), float(2 ** 31))
        elif isinstance(node, (Flatten, Output)):
            b[n] = sum(b.get(p, _BIG) for p in graph.predecessors(n))
        else:
            b[n] = float(2 ** 31)
    return b
