"""The memory planner: one layout of a model's RAM, shared by the emitters and the report.

There is one plan per compiled model and it is the layout the generated code has. The
emitters do not keep their own books: while lowering, the C emitter
(:mod:`compiler.codegen.c`, including the event-driven layers of
:mod:`compiler.codegen.c_fused`) and the HLS emitter (:mod:`compiler.codegen.hls`) ask a
:class:`Planner` for every piece of RAM they need, and place their buffers where it says:

- **state members** (``role="state"``): what persists across steps, owned by one node
  (membranes, currents, delay rings, readout counters, persistent accumulators, active
  spike lists);
- **persistent buffers** (``role="buffer"``): a node output that must survive the step
  (read through a recurrent edge at step t+1, or a state that doubles as the output);
- **arenas** (``role="arena"``): every other activation buffer and input-sum scratch, one
  arena per element type, placed by :func:`place_arena` (buffers whose lifetimes in the
  schedule do not overlap share elements: largest first, lowest free offset, ties by name).

:meth:`Planner.finish` lays the members out as a C struct (each member at its type's
alignment, the struct padded to its largest alignment: the rules of the Arm EABI and of
x86-64 System V, which agree for these types), so for the C backend
:attr:`MemoryPlan.ram_bytes` is ``sizeof`` the model's state struct: the RAM the model
adds to a firmware (the smartwatch test checks it against the linked ELF). ``snnc_real_t``
counts as ``float`` (a ``-DSNNC_REAL_DOUBLE`` build doubles the float members). The HLS
emitter's members are separate ``static`` arrays (no struct, no padding).

:func:`plan_memory` is what the compile pipeline reports: it runs the C emitter's
planning on the graph (no file is written) and returns its plan. Flash is the bytes of
the constant tables the emitter writes.

The planner reads the graph and never changes it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import SPIKE, Flatten
from snnc.compiler.ir.qnodes import QInput

# Size and alignment (bytes) of the C types the emitters declare (Arm EABI = x86-64 SysV).
CTYPES: dict[str, int] = {"int8_t": 1, "uint8_t": 1, "snnc_spike_t": 1, "int16_t": 2,
                          "uint16_t": 2, "int32_t": 4, "uint32_t": 4, "int64_t": 8,
                          "float": 4, "snnc_real_t": 4, "double": 8}
ROLES = ("state", "buffer", "arena")


def ctype_bytes(ctype: str) -> int:
    """Bytes of one ``ctype`` element (SnncError for a type the planner does not know)."""
    if ctype not in CTYPES:
        raise SnncError(f"internal: memory planner does not know C type '{ctype}'")
    return CTYPES[ctype]


def _round(n: int, a: int) -> int:
    return (n + a - 1) // a * a


@dataclass
class Member:
    """One piece of model RAM: a state-struct member (C) or a static array (HLS)."""

    name: str
    ctype: str
    n: int | None               # elements (None: a scalar)
    role: str                   # state | buffer | arena
    node: str | None = None     # owning node (None: an arena shared by several)
    comment: str = ""
    align: int = 0              # 0: the type's own alignment
    offset: int = 0             # in the struct (set by Planner.finish)

    @property
    def nbytes(self) -> int:
        """Bytes of the member, not counting padding before it."""
        raw = (self.n if self.n is not None else 1) * ctype_bytes(self.ctype)
        return _round(raw, self.alignment)

    @property
    def alignment(self) -> int:
        return max(self.align, ctype_bytes(self.ctype))


@dataclass
class Buffer:
    """An activation buffer with a lifetime [first, last] in schedule positions, placed at
    ``offset`` elements of its arena (``arena``)."""

    name: str
    node: str
    ctype: str
    n: int
    first: int
    last: int
    comment: str = ""
    arena: str = ""
    offset: int = 0

    @property
    def nbytes(self) -> int:
        return self.n * ctype_bytes(self.ctype)


@dataclass
class MemoryPlan:
    """A model's RAM as its generated code lays it out, and its flash tables (bytes)."""

    backend: str                       # "c" (one state struct) or "hls" (static arrays)
    members: list[Member]
    buffers: list[Buffer]              # arena-placed activation buffers
    ram_bytes: int                     # C: sizeof(state struct); HLS: sum of the statics
    flash_bytes: int
    flash_by_node: dict[str, int] = field(default_factory=dict)

    def _sum(self, role: str) -> int:
        return sum(m.nbytes for m in self.members if m.role == role)

    @property
    def state_bytes(self) -> int:
        """State members (persist across steps)."""
        return self._sum("state")

    @property
    def persistent_bytes(self) -> int:
        """Node outputs kept outside the arena (recurrent sources, state-as-output)."""
        return self._sum("buffer")

    @property
    def arena_bytes(self) -> int:
        """The shared activation arenas."""
        return self._sum("arena")

    @property
    def padding_bytes(self) -> int:
        """Struct padding between and after members (C ABI alignment)."""
        return self.ram_bytes - sum(m.nbytes for m in self.members)

    @property
    def state_by_node(self) -> dict[str, int]:
        """Bytes of state and persistent buffers per owning node (arenas excluded)."""
        out: dict[str, int] = {}
        for m in self.members:
            if m.node is not None and m.role != "arena":
                out[m.node] = out.get(m.node, 0) + m.nbytes
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (includes the derived byte counts)."""
        d = asdict(self)
        for k in ("state_bytes", "persistent_bytes", "arena_bytes", "padding_bytes",
                  "state_by_node"):
            d[k] = getattr(self, k)
        return d

    def to_markdown(self) -> str:
        """A short Markdown table of the plan (members in struct order)."""
        lines = [f"RAM {self.ram_bytes} B (state {self.state_bytes} B, persistent buffers "
                 f"{self.persistent_bytes} B, arena {self.arena_bytes} B, padding "
                 f"{self.padding_bytes} B); flash {self.flash_bytes} B", "",
                 "| member | role | node | type | elements | offset | bytes |",
                 "| --- | --- | --- | --- | ---: | ---: | ---: |"]
        for m in self.members:
            lines.append(f"| {m.name} | {m.role} | {m.node or ''} | {m.ctype} | "
                         f"{m.n if m.n is not None else 1} | {m.offset} | {m.nbytes} |")
        return "\n".join(lines)


def place_arena(buffers: list[Buffer], arena: str) -> int:
    """Place ``buffers`` (one element type) in ``arena``; returns its size in elements.

    A buffer goes at the lowest offset where it overlaps no placed buffer that is alive
    at the same time; buffers are placed largest first, ties by name (deterministic).
    """
    placed: list[Buffer] = []
    for b in sorted(buffers, key=lambda b: (-b.n, b.name)):
        off = 0
        for p in sorted((p for p in placed if not (p.last < b.first or p.first > b.last)),
                        key=lambda p: (p.offset, p.n)):
            if off + b.n <= p.offset:
                break
            off = max(off, p.offset + p.n)
        b.offset, b.arena = off, arena
        placed.append(b)
    return max((b.offset + b.n for b in placed), default=0)


class Planner:
    """Collects what an emitter needs in RAM and lays it out (see the module docstring)."""

    def __init__(self, backend: str = "c") -> None:
        self.backend = backend
        self.members: list[Member] = []
        self.buffers: list[Buffer] = []

    def member(self, name: str, ctype: str, n: int | None = None, *, role: str = "state",
               node: str | None = None, comment: str = "", align: int = 0) -> Member:
        """Reserve a member (``n`` elements of ``ctype``; None: a scalar)."""
        if role not in ROLES:
            raise SnncError(f"internal: memory role '{role}' (expected one of {ROLES})")
        if any(m.name == name for m in self.members):
            raise SnncError(f"internal: memory member '{name}' reserved twice")
        m = Member(name, ctype, n, role, node, comment, align)
        ctype_bytes(ctype)  # unknown types fail here, not in finish()
        self.members.append(m)
        return m

    def arena(self, name: str, ctype: str, buffers: list[Buffer]) -> Member:
        """Place ``buffers`` in one arena member called ``name``."""
        size = place_arena(buffers, name)
        self.buffers.extend(buffers)
        return self.member(name, ctype, size, role="arena",
                           comment="activations of non-overlapping lifetimes")

    def finish(self, flash_bytes: int = 0,
               flash_by_node: dict[str, int] | None = None) -> MemoryPlan:
        """Assign struct offsets (C) and return the plan."""
        off = 0
        biggest = 1
        for m in self.members:
            a = m.alignment if self.backend == "c" else 1
            biggest = max(biggest, a)
            off = _round(off, a)
            m.offset = off
            off += m.nbytes
        ram = _round(off, biggest) if self.backend == "c" else off
        return MemoryPlan(backend=self.backend, members=list(self.members),
                          buffers=list(self.buffers), ram_bytes=ram, flash_bytes=flash_bytes,
                          flash_by_node=dict(flash_by_node or {}))


def spec_state_bytes(graph: Graph) -> dict[str, int]:
    """State RAM per stateful node of a quantized ``graph`` as its op's state spec defines
    it (:meth:`compiler.ops.OpDef.state_bytes`). Raises SnncError naming the node for a
    stateful kind that declares no state spec (the planner never guesses a state)."""
    from snnc.compiler import ops
    from snnc.compiler.ir.nodes import READOUTS

    out: dict[str, int] = {}
    for name, node in graph.items():
        op = ops.op_for(node)
        if op is None:
            if node.stateful and not isinstance(node, READOUTS):
                raise SnncError(f"node '{name}': kind '{node.kind}' is stateful but no op "
                                "declares its state spec (compiler/ops/<kind>.py)")
            continue
        if op.stateful and not op.state:
            raise SnncError(f"node '{name}': op '{op.kind}' is stateful but declares no "
                            "state spec")
        if op.state and type(node) is op.quant_cls:
            out[name] = op.state_bytes(node)
    return out


def check_state(graph: Graph, plan: MemoryPlan) -> None:
    """Every population of ``graph`` has at least its state spec's bytes in ``plan``
    (state members, or the persistent output buffer a state doubles as): an emitter that
    reserves less fails here, loudly, instead of the report under-counting RAM."""
    have: dict[str, int] = {}
    for m in plan.members:
        if m.node is not None and m.role in ("state", "buffer"):
            have[m.node] = have.get(m.node, 0) + m.nbytes
    for name, want in spec_state_bytes(graph).items():
        if have.get(name, 0) < want:
            raise SnncError(f"internal: the {plan.backend} plan reserves "
                            f"{have.get(name, 0)} B for the state of node '{name}', its "
                            f"state spec needs {want} B")


def plan_memory(graph: Graph) -> MemoryPlan:
    """The memory plan of ``graph`` as the C emitter lays it out (no files written)."""
    from snnc.compiler.codegen.c import emit_c  # the emitter imports this module

    return emit_c(graph).plan


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
