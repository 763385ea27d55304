"""Node kinds of the snnc IR.

Every node is a frozen dataclass whose fields use NIR's parameter names. Shapes never
include the batch or time axes. Parameters may be scalars (kept scalar: one value shared
by the population) or arrays broadcastable to the node's shape.

Time is discrete. The graph carries ``dt`` and the discretization method; decay factors
are derived from ``tau`` by :func:`compiler.ir.graph.decay` so the same node can be run
(and exported back to NIR) without loss. Within a step, each node's input ``x[t]`` is
the sum of its incoming edges; recurrent (back) edges deliver the source's output of
step ``t-1`` (see :mod:`compiler.ir.graph`).

Neuron kinds live in their own op files, ``compiler/ops/<kind>.py`` (LIF, LI, IF,
CubaLIF, ALIF; see CONTRIBUTING.md and :mod:`compiler.ops`); registering one adds its
classes to ``NODE_KINDS``, and this module re-exports the ones that used to live here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

Shape = tuple[int, ...]

SPIKE = "spike"  # values are 0/1
REAL = "real"


@dataclass(frozen=True, eq=False)
class Node:
    """Base class. ``kind`` is the serialized name; ``stateful`` marks nodes with memory."""

    kind: ClassVar[str] = "Node"
    stateful: ClassVar[bool] = False
    out_dtype: ClassVar[str] = REAL
    # Names of fields holding arrays (weights/parameters) rather than attributes.
    array_fields: ClassVar[tuple[str, ...]] = ()

    def params(self) -> dict[str, Any]:
        """All fields as a dict (arrays are not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def replace(self, **changes: Any) -> "Node":
        """A copy with some fields changed (dataclasses.replace, typed)."""
        p = self.params()
        p.update(changes)
        return type(self)(**p)

    def shape_in(self) -> Shape:
        raise NotImplementedError

    def shape_out(self) -> Shape:
        raise NotImplementedError


def _arr(x: Any, dtype: Any = np.float64) -> np.ndarray:
    return np.asarray(x, dtype=dtype)


# --------------------------------------------------------------------------- I/O


@dataclass(frozen=True, eq=False)
class Input(Node):
    """Graph input. ``shape`` excludes batch and time; ``dtype`` is 'real' or 'spike'.

    y[t] = u[t]  (the caller's input at step t)
    """

    kind: ClassVar[str] = "Input"
    shape: Shape
    dtype: str = REAL

    def shape_in(self) -> Shape:
        return tuple(self.shape)

    def shape_out(self) -> Shape:
        return tuple(self.shape)


@dataclass(frozen=True, eq=False)
class Output(Node):
    """Graph output: records its input every step.  y[t] = x[t]"""

    kind: ClassVar[str] = "Output"
    shape: Shape

    def shape_in(self) -> Shape:
        return tuple(self.shape)

    def shape_out(self) -> Shape:
        return tuple(self.shape)


# --------------------------------------------------------------------------- synapses


@dataclass(frozen=True, eq=False)
class Affine(Node):
    """Dense synapses with bias.  y[t] = W x[t] + b,  W: [out, in], b: [out]"""

    kind: ClassVar[str] = "Affine"
    array_fields: ClassVar[tuple[str, ...]] = ("weight", "bias")
    weight: np.ndarray
    bias: np.ndarray
    storage: str = "dense"  # 'dense' | 'csr' | 'csc' (chosen by the sparsify pass)

    def shape_in(self) -> Shape:
        return (int(self.weight.shape[1]),)

    def shape_out(self) -> Shape:
        return (int(self.weight.shape[0]),)


@dataclass(frozen=True, eq=False)
class Linear(Node):
    """Synapses without bias.  y[t] = W x[t],  W: [out, in]

    Zeros in W are absent synapses; ``storage`` records how a backend should store W
    ('dense', or 'csc' so that a spike of input j touches only column j's non-zeros).
    """

    kind: ClassVar[str] = "Linear"
    array_fields: ClassVar[tuple[str, ...]] = ("weight",)
    weight: np.ndarray
    storage: str = "dense"

    def shape_in(self) -> Shape:
        return (int(self.weight.shape[1]),)

    def shape_out(self) -> Shape:
        return (int(self.weight.shape[0]),)


@dataclass(frozen=True, eq=False)
class DelayedLinear(Node):
    """Synapses with one integer delay (in steps) each.

    y_i[t] = sum_j W[i,j] * x_j[t - D[i,j]]      (x_j[t'] = 0 for t' < 0)

    W: [out, in] float, D: [out, in] non-negative int. A spike arriving at t lands in a
    ring buffer slot (t + D) mod (max(D)+1) of the target neuron.
    """

    kind: ClassVar[str] = "DelayedLinear"
    array_fields: ClassVar[tuple[str, ...]] = ("weight", "delay")
    weight: np.ndarray
    delay: np.ndarray
    storage: str = "dense"

    def shape_in(self) -> Shape:
        return (int(self.weight.shape[1]),)

    def shape_out(self) -> Shape:
        return (int(self.weight.shape[0]),)

    @property
    def max_delay(self) -> int:
        return int(self.delay.max()) if self.delay.size else 0


def conv_out_len(n: int, k: int, stride: int, pad: int, dil: int) -> int:
    """Output length of a 1-D convolution (PyTorch/NIR convention)."""
    return (n + 2 * pad - dil * (k - 1) - 1) // stride + 1


@dataclass(frozen=True, eq=False)
class Conv1d(Node):
    """1-D convolution.  y[c_out, l] = b[c_out] + sum_{c_in,k} W[c_out, c_in/g, k] x[c_in, l*s + k*d - p]

    input shape (C_in, L) with L = ``input_shape``; W: [C_out, C_in/groups, K].
    """

    kind: ClassVar[str] = "Conv1d"
    array_fields: ClassVar[tuple[str, ...]] = ("weight", "bias")
    input_shape: int
    weight: np.ndarray
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    bias: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def shape_in(self) -> Shape:
        return (int(self.weight.shape[1] * self.groups), int(self.input_shape))

    def shape_out(self) -> Shape:
        k = int(self.weight.shape[2])
        return (
            int(self.weight.shape[0]),
            conv_out_len(int(self.input_shape), k, self.stride, self.padding, self.dilation),
        )


@dataclass(frozen=True, eq=False)
class Conv2d(Node):
    """2-D convolution, as Conv1d over (H, W).  input (C_in, H, W); W: [C_out, C_in/g, KH, KW]."""

    kind: ClassVar[str] = "Conv2d"
    array_fields: ClassVar[tuple[str, ...]] = ("weight", "bias")
    input_shape: tuple[int, int]
    weight: np.ndarray
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def shape_in(self) -> Shape:
        h, w = self.input_shape
        return (int(self.weight.shape[1] * self.groups), int(h), int(w))

    def shape_out(self) -> Shape:
        h, w = self.input_shape
        kh, kw = int(self.weight.shape[2]), int(self.weight.shape[3])
        return (
            int(self.weight.shape[0]),
            conv_out_len(int(h), kh, self.stride[0], self.padding[0], self.dilation[0]),
            conv_out_len(int(w), kw, self.stride[1], self.padding[1], self.dilation[1]),
        )


@dataclass(frozen=True, eq=False)
class Flatten(Node):
    """Reshape dims [start_dim, end_dim] of the (batch-free) input into one.  y = reshape(x)"""

    kind: ClassVar[str] = "Flatten"
    input_shape: Shape
    start_dim: int = 0
    end_dim: int = -1

    def shape_in(self) -> Shape:
        return tuple(self.input_shape)

    def shape_out(self) -> Shape:
        s = list(self.input_shape)
        a = self.start_dim % len(s)
        b = self.end_dim % len(s)
        return tuple(s[:a] + [int(np.prod(s[a : b + 1]))] + s[b + 1 :])


# --- pooling (issue 17) ------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SumPool2d(Node):
    """2-D sum pooling over each channel (no weights; exact on integers).

    y[c, i, j] = sum_{a<KH, b<KW} x[c, i*SH + a - PH, j*SW + b - PW]   (zero padding)

    input (C, H, W) with (H, W) = ``input_shape[1:]``. NIR's AvgPool2d imports as this
    node with its 1/(KH*KW) folded into the next synapse (or a Scale); MaxPool2d over
    0/1 spikes is this node followed by ``Threshold(0)`` (max of spikes = any spike).
    """

    kind: ClassVar[str] = "SumPool2d"
    input_shape: Shape  # (C, H, W)
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int] = (0, 0)

    def shape_in(self) -> Shape:
        return tuple(int(v) for v in self.input_shape)

    def shape_out(self) -> Shape:
        c, h, w = (int(v) for v in self.input_shape)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (c, conv_out_len(h, int(kh), int(sh), int(ph), 1),
                conv_out_len(w, int(kw), int(sw), int(pw), 1))


@dataclass(frozen=True, eq=False)
class Scale(Node):
    """Elementwise gain.  y[t] = scale * x[t]"""

    kind: ClassVar[str] = "Scale"
    array_fields: ClassVar[tuple[str, ...]] = ("scale",)
    shape: Shape
    scale: np.ndarray

    def shape_in(self) -> Shape:
        return tuple(self.shape)

    def shape_out(self) -> Shape:
        return tuple(self.shape)


@dataclass(frozen=True, eq=False)
class Threshold(Node):
    """Heaviside.  y[t] = 1 if x[t] > threshold else 0"""

    kind: ClassVar[str] = "Threshold"
    out_dtype: ClassVar[str] = SPIKE
    array_fields: ClassVar[tuple[str, ...]] = ("threshold",)
    shape: Shape
    threshold: np.ndarray

    def shape_in(self) -> Shape:
        return tuple(self.shape)

    def shape_out(self) -> Shape:
        return tuple(self.shape)


# --------------------------------------------------------------------------- neurons

RESET_MODES = ("subtract", "zero")


@dataclass(frozen=True, eq=False)
class _Population(Node):
    stateful: ClassVar[bool] = True
    shape: Shape

    def shape_in(self) -> Shape:
        return tuple(self.shape)

    def shape_out(self) -> Shape:
        return tuple(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


# LIF, CubaLIF, LI and IF live in compiler/ops/<kind>.py (re-exported below).


# --------------------------------------------------------------------------- readouts


@dataclass(frozen=True, eq=False)
class SpikeCountArgmax(_Population):
    """Spike-count readout.  c[t] = c[t-1] + x[t];  y[t] = c[t];  class = argmax c[T-1]"""

    kind: ClassVar[str] = "SpikeCountArgmax"


@dataclass(frozen=True, eq=False)
class MembraneArgmax(_Population):
    """Membrane readout over a real-valued input (e.g. an LI population).

    reduce 'sum': c[t] = c[t-1] + x[t];  'max': c[t] = max(c[t-1], x[t]) (c[-1] = -inf
    is replaced by x[0]);  'last': c[t] = x[t].   y[t] = c[t];  class = argmax c[T-1]
    """

    kind: ClassVar[str] = "MembraneArgmax"
    reduce: str = "sum"


READOUTS = (SpikeCountArgmax, MembraneArgmax)

NODE_KINDS: dict[str, type[Node]] = {
    cls.kind: cls
    for cls in (
        Input, Output, Affine, Linear, DelayedLinear, Conv1d, Conv2d, Flatten, SumPool2d, Scale,
        Threshold, SpikeCountArgmax, MembraneArgmax,
    )
}  # registered ops (compiler/ops/) add their kinds here

SYNAPSE_KINDS = (Affine, Linear, DelayedLinear, Conv1d, Conv2d)


def emits_spikes(node: Node) -> bool:
    """True if ``node`` outputs 0/1 spikes: its kind's ``out_dtype`` (an Input's ``dtype``).

    The one answer to "is this node spiking" for every pass and emitter (a registered op's
    ``spiking`` trait must agree with its classes' ``out_dtype``; the registry checks)."""
    return (node.dtype if isinstance(node, Input) else node.out_dtype) == SPIKE


def as_param(x: Any) -> np.ndarray:
    """Parameter arrays are float64 numpy arrays (0-d when shared by the population)."""
    return _arr(x)


# Kinds that moved to their op files; ``from snnc.compiler.ir.nodes import LIF`` keeps
# working (PEP 562), resolved on first use so that the op files can import this module.
_MOVED = {"LIF": "lif", "LI": "li", "IF": "if_", "CubaLIF": "cubalif"}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f"snnc.compiler.ops.{_MOVED[name]}"), name)
    if name == "NEURON_KINDS":  # every registered neuron population (float kinds)
        from snnc.compiler import ops

        return tuple(o.float_cls for o in ops.ops() if o.population)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
