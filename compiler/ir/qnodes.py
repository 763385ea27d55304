"""Quantized (integer) node kinds: what the quantize pass emits and every integer backend reads.

A quantized graph uses these kinds in place of the float synapse/neuron/input kinds; the
float readouts (``SpikeCountArgmax``, ``MembraneArgmax``), ``Flatten`` and ``Output`` are
reused unchanged (the integer simulator gives them integer semantics). Every parameter the
arithmetic needs is stored explicitly as an integer array with an integer dtype; the float
scales that produced them are kept only for reporting (``*_scale`` fields, never read by
the integer simulator). The arithmetic is defined in :mod:`compiler.ir.interpret_int` and
summarized in ``docs/fixed_point.md``:

    acc   = sat32(sum_j w_q[i,j] * x[j] + b_q[i])               (exact in int64, then clamp)
    rq    = sat_out(rshift_round(acc * mult[i], shift[i]))      (into the target's state units)
    decay = rshift_round(beta_q * v, 15)                        (Q0.15, round half up)

Parameters may be 0-d (one value per layer) or one value per output neuron.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.nodes import (
    NODE_KINDS,
    SPIKE,
    Input,
    Node,
    Shape,
    _Population,
    conv_out_len,
)

WEIGHT_BITS = (4, 8, 16)
STATE_BITS = (16, 32)
INPUT_BITS = (8, 16)
Q15_ONE = 1 << 15  # beta_q of a decay factor of exactly 1


def _ints(name: str, node: str, v: np.ndarray, lo: int, hi: int) -> None:
    a = np.asarray(v)
    if a.dtype.kind not in "iu":
        raise GraphError(f"'{name}' must have an integer dtype, got {a.dtype}", node)
    if a.size and (int(a.min()) < lo or int(a.max()) > hi):
        raise GraphError(f"'{name}' must lie in [{lo}, {hi}], got [{a.min()}, {a.max()}]",
                         node)


def _bits(name: str, node: str, bits: int, allowed: tuple[int, ...]) -> None:
    if int(bits) not in allowed:
        raise GraphError(f"'{name}' must be one of {allowed}, got {bits}", node)


def srange(bits: int) -> tuple[int, int]:
    """Signed range of a ``bits``-wide integer: (-2**(bits-1), 2**(bits-1) - 1)."""
    return -(1 << (bits - 1)), (1 << (bits - 1)) - 1


# --------------------------------------------------------------------------- input


@dataclass(frozen=True, eq=False)
class QInput(Input):
    """Quantized graph input.

    Real inputs: the caller passes ``x_q = sat_bits(round_half_away(x / scale) + zero_point)``
    (see :func:`compiler.ir.interpret_int.quantize_inputs`); the node emits
    ``y = x_q - zero_point`` (int). ``scale`` (float32) and ``zero_point`` (int32) broadcast
    to ``shape`` (one per channel: the last axis for 1-D inputs, axis 0 otherwise).
    Spike inputs: ``bits`` = 1, scale 1, zero point 0; the caller passes 0/1.
    """

    kind: ClassVar[str] = "QInput"
    array_fields: ClassVar[tuple[str, ...]] = ("scale", "zero_point")
    scale: np.ndarray = field(default_factory=lambda: np.array(1.0, np.float32))
    zero_point: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    bits: int = 8

    def check(self, name: str) -> None:
        if self.dtype == SPIKE:
            if int(self.bits) != 1:
                raise GraphError("a spike QInput has bits = 1", name)
        else:
            _bits("bits", name, self.bits, INPUT_BITS)
        if np.asarray(self.scale).dtype != np.float32 or not np.all(np.asarray(self.scale) > 0):
            raise GraphError("'scale' must be positive float32", name)
        _ints("zero_point", name, self.zero_point, *srange(max(int(self.bits), 2)))
        for f in ("scale", "zero_point"):
            try:
                np.broadcast_shapes(np.shape(getattr(self, f)), tuple(self.shape))
            except ValueError:
                raise GraphError(f"'{f}' does not broadcast to input shape {self.shape}",
                                 name) from None


# --------------------------------------------------------------------------- synapses


@dataclass(frozen=True, eq=False)
class QLinear(Node):
    """Integer synapses, requantized into the target population's units.

    acc_i = sat32(sum_j weight[i,j] * x[j] + bias[i])          (int64, then clamp to int32)
    y_i   = sat_{out_bits}(rshift_round(acc_i * mult[i], shift[i]))

    ``weight``: int8/int16 ``[out, in]`` (int4 weights are int8 in [-8, 7]); ``bias``:
    int32 ``[out]`` or empty; ``mult``: int32 >= 0 and ``shift``: int32 in [0, 62], 0-d or
    ``[out]``. ``w_scale`` (float, reporting only): real weight = w_scale[i] * weight[i,j]
    in the units of the input (after folding the input's scale).
    """

    kind: ClassVar[str] = "QLinear"
    array_fields: ClassVar[tuple[str, ...]] = ("weight", "bias", "mult", "shift", "w_scale")
    weight: np.ndarray
    bias: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    mult: np.ndarray = field(default_factory=lambda: np.array(1, np.int32))
    shift: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    weight_bits: int = 8
    out_bits: int = 16
    storage: str = "dense"
    w_scale: np.ndarray = field(default_factory=lambda: np.array(1.0))

    def shape_in(self) -> Shape:
        return (int(self.weight.shape[1]),)

    def shape_out(self) -> Shape:
        return (int(self.weight.shape[0]),)

    def check(self, name: str) -> None:
        _check_synapse(self, name)


@dataclass(frozen=True, eq=False)
class QDelayedLinear(QLinear):
    """As :class:`QLinear` with one delay (steps) per synapse:

    acc_i[t] = sat32(sum_j weight[i,j] * x_j[t - delay[i,j]] + bias[i])   (x[t' < 0] = 0)

    A C runtime keeps a ring of ``max_delay + 1`` accumulator slots per target neuron
    (int64, or int32 when ``acc_bound`` < 2**31); the clamp to int32 happens when the slot
    is read, so the result equals this definition.
    """

    kind: ClassVar[str] = "QDelayedLinear"
    array_fields: ClassVar[tuple[str, ...]] = (
        "weight", "delay", "bias", "mult", "shift", "w_scale")
    delay: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int32))

    @property
    def max_delay(self) -> int:
        return int(self.delay.max()) if self.delay.size else 0

    def check(self, name: str) -> None:
        _check_synapse(self, name)
        d = np.asarray(self.delay)
        if d.shape != np.asarray(self.weight).shape:
            raise GraphError(f"delay shape {d.shape} != weight shape {self.weight.shape}", name)
        _ints("delay", name, d, 0, 1 << 20)


@dataclass(frozen=True, eq=False)
class QConv(Node):
    """Integer 1-D or 2-D convolution, requantized per output channel (PyTorch/NIR layout).

    acc[c, p] = sat32(sum_{ci, k} weight[c, ci, k] * x[g*Cin/G + ci, p*stride + k*dilation - padding]
                      + bias[c])          (zero padding; g = c // (Cout/G); exact in int64)
    y[c, p]   = sat_{out_bits}(rshift_round(acc[c, p] * mult[c], shift[c]))

    ``input_shape``: spatial input size (L,) or (H, W); ``stride``/``padding``/``dilation``
    tuples of the same length; ``weight`` int8/int16 ``[Cout, Cin/G, *K]``; ``bias`` int32
    ``[Cout]`` or empty; ``mult``/``shift`` 0-d or ``[Cout]``.
    """

    kind: ClassVar[str] = "QConv"
    array_fields: ClassVar[tuple[str, ...]] = ("weight", "bias", "mult", "shift", "w_scale")
    input_shape: tuple[int, ...]
    weight: np.ndarray
    stride: tuple[int, ...] = (1,)
    padding: tuple[int, ...] = (0,)
    dilation: tuple[int, ...] = (1,)
    groups: int = 1
    bias: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    mult: np.ndarray = field(default_factory=lambda: np.array(1, np.int32))
    shift: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    weight_bits: int = 8
    out_bits: int = 16
    w_scale: np.ndarray = field(default_factory=lambda: np.array(1.0))

    def shape_in(self) -> Shape:
        return (int(self.weight.shape[1] * self.groups), *map(int, self.input_shape))

    def shape_out(self) -> Shape:
        ks = self.weight.shape[2:]
        return (int(self.weight.shape[0]), *(
            conv_out_len(int(n), int(k), int(s), int(p), int(d)) for n, k, s, p, d in
            zip(self.input_shape, ks, self.stride, self.padding, self.dilation)))

    def check(self, name: str) -> None:
        w = np.asarray(self.weight)
        nd = len(self.input_shape)
        if w.ndim != nd + 2 or nd not in (1, 2):
            raise GraphError(f"weight must be [Cout, Cin/groups, *K] with {nd} kernel dims, "
                             f"got shape {w.shape}", name)
        for f in ("stride", "padding", "dilation"):
            if len(getattr(self, f)) != nd:
                raise GraphError(f"'{f}' must have {nd} entries", name)
        if int(self.groups) < 1 or w.shape[0] % int(self.groups):
            raise GraphError(f"groups={self.groups} does not divide {w.shape[0]} channels", name)
        _check_synapse(self, name, ndim=w.ndim)


def _check_synapse(node: Node, name: str, ndim: int = 2) -> None:
    w = np.asarray(node.weight)
    if w.ndim != ndim:
        raise GraphError(f"weight must be 2-D [out, in], got shape {w.shape}", name)
    _bits("weight_bits", name, node.weight_bits, WEIGHT_BITS)
    _bits("out_bits", name, node.out_bits, STATE_BITS)
    _ints("weight", name, w, *srange(int(node.weight_bits)))
    _ints("bias", name, node.bias, *srange(32))
    if np.asarray(node.bias).size not in (0, w.shape[0]):
        raise GraphError(f"bias has {np.asarray(node.bias).size} entries, expected {w.shape[0]}",
                         name)
    _ints("mult", name, node.mult, 0, (1 << 31) - 1)
    _ints("shift", name, node.shift, 0, 62)
    for f in ("mult", "shift"):
        if np.asarray(getattr(node, f)).size not in (1, w.shape[0]):
            raise GraphError(f"'{f}' must be 0-d or have {w.shape[0]} entries", name)


# --------------------------------------------------------------------------- neurons


@dataclass(frozen=True, eq=False)
class _QPopulation(_Population):
    """Integer population: state saturates to ``state_bits``; ``v_scale`` is reporting only."""

    state_bits: int = 16
    v_scale: float = 1.0

    def _check_common(self, name: str, fields_: tuple[str, ...]) -> None:
        _bits("state_bits", name, self.state_bits, STATE_BITS)
        lo, hi = srange(int(self.state_bits))
        for f in fields_:
            if f == "beta_q" or f == "alpha_q":
                _ints(f, name, getattr(self, f), 0, Q15_ONE)
            elif f == "thr_q":
                _ints(f, name, getattr(self, f), 1, hi)
            else:
                _ints(f, name, getattr(self, f), lo, hi)


# QLIF, QCubaLIF, QLI and QIF live in compiler/ops/<kind>.py (re-exported below).


@dataclass(frozen=True, eq=False)
class QThreshold(Node):
    """Integer Heaviside (stateless).  y = x > thr_q   (x: exact int64 sum of the inputs)

    ``thr_q`` int32 (0-d or one per element, may be <= 0) in the units of the incoming
    requantized synapses; ``v_scale`` (reporting only) is that unit.
    """

    kind: ClassVar[str] = "QThreshold"
    out_dtype: ClassVar[str] = SPIKE
    array_fields: ClassVar[tuple[str, ...]] = ("thr_q",)
    shape: Shape
    thr_q: np.ndarray = field(default_factory=lambda: np.array(0, np.int32))
    state_bits: int = 16
    v_scale: float = 1.0

    def shape_in(self) -> Shape:
        return tuple(self.shape)

    def shape_out(self) -> Shape:
        return tuple(self.shape)

    def check(self, name: str) -> None:
        _bits("state_bits", name, self.state_bits, STATE_BITS)
        _ints("thr_q", name, self.thr_q, *srange(int(self.state_bits)))
        try:
            np.broadcast_shapes(np.shape(self.thr_q), tuple(self.shape))
        except ValueError:
            raise GraphError(f"'thr_q' does not broadcast to shape {self.shape}",
                             name) from None


QSYNAPSE_KINDS = (QLinear, QDelayedLinear, QConv)
QNODE_KINDS: tuple[type[Node], ...] = (QInput, *QSYNAPSE_KINDS, QThreshold)

# Register with the shared table so .snn files and verify() know these kinds.
NODE_KINDS.update({cls.kind: cls for cls in QNODE_KINDS})


def is_quantized(graph: object) -> bool:
    """True if the graph uses integer node kinds (it was produced by the quantize pass)."""
    from snnc.compiler.ops import op_for

    nodes = getattr(graph, "nodes", {}).values()
    return any(isinstance(n, QNODE_KINDS) or (op_for(n) is not None
                                               and type(n) is op_for(n).quant_cls)
               for n in nodes)


# Kinds that moved to their op files (compiler/ops/); old imports keep working (PEP 562).
_MOVED = {"QLIF": "lif", "QLI": "li", "QIF": "if_", "QCubaLIF": "cubalif"}


def __getattr__(name: str) -> object:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f"snnc.compiler.ops.{_MOVED[name]}"), name)
    if name == "QNEURON_KINDS":  # every registered neuron population (integer kinds)
        from snnc.compiler import ops

        return tuple(o.quant_cls for o in ops.ops() if o.population and o.quant_cls)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
