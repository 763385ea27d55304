"""Static memory planner: every buffer's size and lifetime, one arena, RAM and flash bytes.

``plan_memory(graph) -> MemoryPlan`` models what a step-function runtime holds:

Sizes follow a :class:`~compiler.passes.storage.Layout` (default: the snnc C runtime,
whose activations are int32 and whose tables are int32 parameter vectors).

RAM
- **state** (persists for the whole run): membrane ``v`` (and current ``i`` of a CubaLIF)
  per neuron at ``state_bits / 8`` bytes (4 in a float graph); a delayed synapse's ring of
  ``(max_delay + 1) * out`` accumulator slots of 4 bytes, or 8 when the accumulator bound
  ``max_i sum_j |w_ij| * max|x_j| + |b_i|`` reaches 2**31 (the runtime's int64 rings);
  readout accumulators, 4 bytes per class.
- **persistent buffers**: a node output read through a recurrent edge (step ``t-1``) must
  survive from its producer to the next step.
- **arena**: every other buffer lives from its producer's position in the schedule to
  its last reader's; buffers whose lifetimes do not overlap share bytes. Offsets are
  assigned greedily (largest first, lowest non-conflicting offset, 4-byte alignment).
  Inputs are written before the step (position -1); a buffer read by an Output lives to
  the end of the step (the caller reads it).

Buffer element sizes: float graphs 4 bytes; integer graphs ``layout.spike_bytes`` for
spikes and ``layout.activation_bytes`` for every other value (inputs, synapse outputs,
membranes, readouts) — 4 and 4 in the snnc runtime. ``Flatten`` and ``Output`` alias
their source (no bytes). Fused synapses (see :mod:`compiler.passes.fuse`) have no output
buffer; their population gets a 4-byte accumulator per neuron ``<pop>.acc`` live only
during its step.

Flash: every parameter array at its dtype's size (float parameters as float32), weight
matrices at their chosen layout's size (:func:`compiler.passes.storage.weight_bytes`),
0-d parameters as one value. Reporting-only fields (``w_scale``) are not counted.

The planner reads the graph and never changes it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import (
    SPIKE,
    CubaLIF,
    DelayedLinear,
    Flatten,
    Input,
    MembraneArgmax,
    Node,
    Output,
    SpikeCountArgmax,
    _Population,
)
from snnc.compiler.ir.qnodes import (
    QCubaLIF,
    QDelayedLinear,
    QInput,
    _QPopulation,
    is_quantized,
)
from snnc.compiler.passes.fuse import fused_synapses
from snnc.compiler.passes.storage import MATRIX_KINDS, SNNC_RUNTIME, Layout, weight_bytes

ALIGN = 4
REPORT_ONLY = ("w_scale",)


@dataclass
class Buffer:
    """One activation buffer: bytes, live interval [first, last] in schedule positions."""

    name: str
    nbytes: int
    first: int
    last: int
    persistent: bool = False
    offset: int | None = None  # in the arena (None for persistent buffers)


@dataclass
class MemoryPlan:
    """RAM and flash of a graph as a runtime would lay them out (bytes)."""

    buffers: list[Buffer]
    arena_bytes: int
    persistent_bytes: int
    state_bytes: int
    flash_bytes: int
    state_by_node: dict[str, int] = field(default_factory=dict)
    flash_by_node: dict[str, int] = field(default_factory=dict)

    @property
    def ram_bytes(self) -> int:
        """Total RAM: state + persistent buffers + the shared arena."""
        return self.state_bytes + self.persistent_bytes + self.arena_bytes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (includes ``ram_bytes``)."""
        d = asdict(self)
        d["ram_bytes"] = self.ram_bytes
        return d

    def to_markdown(self) -> str:
        """A short Markdown table of the plan."""
        lines = [f"RAM {self.ram_bytes} B (state {self.state_bytes} B, persistent buffers "
                 f"{self.persistent_bytes} B, arena {self.arena_bytes} B); flash "
                 f"{self.flash_bytes} B", "",
                 "| buffer | bytes | live | offset |", "| --- | ---: | --- | ---: |"]
        for b in self.buffers:
            off = "persistent" if b.persistent else str(b.offset)
            lines.append(f"| {b.name} | {b.nbytes} | {b.first}..{b.last} | {off} |")
        return "\n".join(lines)


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _elem_bytes(node: Node, layout: Layout, quantized: bool) -> int:
    if not quantized:
        return 4  # float32 values (spikes too: the float kernels take real vectors)
    spike = (node.dtype if isinstance(node, Input) else getattr(node, "out_dtype", "")) == SPIKE
    return layout.spike_bytes if spike else layout.activation_bytes


def _numel(node: Node) -> int:
    return int(np.prod(node.shape_out()))


def acc_bound(graph: Graph, name: str) -> int:
    """Static bound on |acc| of an integer synapse node: max_i sum_j |w_ij| max|x_j| + |b_i|."""
    node = graph.nodes[name]
    xmax = 0
    for p in graph.predecessors(name):
        src = graph.nodes[p]
        while isinstance(src, Flatten):
            src = graph.nodes[graph.predecessors(p)[0]]
        if isinstance(src, QInput):
            m = 1 if src.dtype == SPIKE else (1 << int(src.bits))  # |x_q - zp| < 2**bits
        elif getattr(src, "out_dtype", None) == SPIKE:
            m = 1
        else:
            m = 1 << (int(getattr(src, "state_bits", 32)) - 1)
        xmax += m
    w = np.abs(np.asarray(node.weight, dtype=np.int64))
    b = np.abs(np.asarray(getattr(node, "bias", np.zeros(0)), dtype=np.int64))
    tot = w.sum(axis=1) * xmax + (b if b.size else 0)
    return int(tot.max()) if tot.size else 0


def state_bytes(node: Node, slot_bytes: int = 4) -> int:
    """Bytes of ``node``'s state that persist across steps."""
    if isinstance(node, (DelayedLinear, QDelayedLinear)):
        return slot_bytes * (node.max_delay + 1) * int(node.weight.shape[0]) \
            if node.max_delay else 0
    if isinstance(node, (SpikeCountArgmax, MembraneArgmax)):
        return 4 * node.size
    if isinstance(node, _QPopulation):
        per = int(node.state_bits) // 8
        return node.size * (per + (int(node.cur_bits) // 8 if isinstance(node, QCubaLIF) else 0))
    if isinstance(node, _Population):
        return node.size * 4 * (2 if isinstance(node, CubaLIF) else 1)
    return 0


def flash_bytes(node: Node, layout: Layout = SNNC_RUNTIME) -> int:
    """Bytes of ``node``'s constant tables."""
    total = 0
    for f in node.array_fields:
        if f in REPORT_ONLY or (f in ("weight", "delay") and isinstance(node, MATRIX_KINDS)):
            continue  # reporting-only, or a matrix counted below (layout-aware)
        a = np.asarray(getattr(node, f))
        total += a.size * (4 if a.dtype.kind == "f" else a.dtype.itemsize)
    if isinstance(node, MATRIX_KINDS):
        total += weight_bytes(node, layout=layout)
    return total


def _greedy(buffers: list[Buffer]) -> int:
    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (-b.nbytes, b.first, b.name)):
        overlapping = sorted((p for p in placed if not (p.last < b.first or b.last < p.first)),
                             key=lambda p: p.offset)
        off = 0
        for p in overlapping:
            if off + b.nbytes <= p.offset:
                break
            off = max(off, _align(p.offset + p.nbytes))
        b.offset = off
        placed.append(b)
    return max((b.offset + b.nbytes for b in placed), default=0)


def plan_memory(graph: Graph, layout: Layout = SNNC_RUNTIME) -> MemoryPlan:
    """Plan ``graph``'s memory (see the module docstring)."""
    order, back = graph.schedule()
    quantized = is_quantized(graph)
    fused = fused_synapses(graph)
    pos = {n: i for i, n in enumerate(order)}
    for s, p in fused.items():
        pos[s] = pos[p]
    end = len(order)
    alias = {n for n, v in graph.items() if isinstance(v, (Flatten, Output))}

    def source(n: str) -> str:
        while n in alias:
            n = graph.predecessors(n)[0]
        return n

    last: dict[str, int] = {}
    persistent: set[str] = set()
    for a, b in graph.edges:
        src = source(a)
        delayed = (a, b) in back or (b in fused and (b, fused[b]) in back)
        if isinstance(graph.nodes[b], Output):
            last[src] = end
        elif b in alias:
            continue  # the alias's own readers extend the source (handled via source())
        elif delayed:
            persistent.add(src)
        else:
            last[src] = max(last.get(src, -1), pos[b])
    buffers: list[Buffer] = []
    for n in order:
        node = graph.nodes[n]
        if n in alias or n in fused:
            continue
        first = -1 if isinstance(node, Input) else pos[n]
        nbytes = _align(_numel(node) * _elem_bytes(node, layout, quantized))
        buffers.append(Buffer(n, nbytes, first, max(last.get(n, first), first),
                              persistent=n in persistent))
    for p in sorted(set(fused.values()), key=lambda p: pos[p]):
        buffers.append(Buffer(f"{p}.acc", _align(4 * _numel(graph.nodes[p])), pos[p], pos[p]))
    arena = _greedy([b for b in buffers if not b.persistent])
    st: dict[str, int] = {}
    for n, v in graph.items():
        slot = 8 if isinstance(v, QDelayedLinear) and acc_bound(graph, n) >= 1 << 31 else 4
        if state_bytes(v, slot):
            st[n] = state_bytes(v, slot)
    fl = {n: flash_bytes(v, layout) for n, v in graph.items() if flash_bytes(v, layout)}
    return MemoryPlan(
        buffers=buffers, arena_bytes=arena,
        persistent_bytes=sum(b.nbytes for b in buffers if b.persistent),
        state_bytes=sum(st.values()), flash_bytes=sum(fl.values()),
        state_by_node=st, flash_by_node=fl)

