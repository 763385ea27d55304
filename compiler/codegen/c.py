"""C code generator: a graph -> ``model.h`` + ``model.c`` calling the snnc C runtime.

The generated-code contract (targets build against it; keep the names):

- ``model.h``: a header comment (snnc version, model name and content hash, shapes,
  arithmetic, flash/RAM bytes), ``SNNC_MODEL_NAME``, ``SNNC_N_INPUTS`` and
  ``SNNC_N_OUTPUTS`` (values per step, all inputs/outputs concatenated in graph order),
  ``snnc_input_t`` (``uint8_t`` for spike inputs, ``int16_t`` for quantized real inputs,
  ``float`` for float graphs), ``snnc_output_t`` (``int32_t`` or ``float``), the state
  struct ``snnc_<model>_state_t`` and ``snnc_<model>_init/reset/step`` (status codes),
  plus the macros ``SNNC_MODEL_STATE_T``, ``SNNC_MODEL_INIT``, ``SNNC_MODEL_RESET`` and
  ``SNNC_MODEL_STEP``. Quantized graphs with real inputs also get
  ``snnc_<model>_encode`` (``SNNC_MODEL_ENCODE``).
- ``model.c``: weights and parameters as named ``static const`` tables, and the step
  function: one runtime call per node, in the graph's schedule order.

Two arithmetics: quantized graphs (the integer kinds of :mod:`compiler.ir.qnodes`)
lower to the integer kernels and match :mod:`compiler.ir.interpret_int` bit for bit;
float graphs lower to the float kernels (``snnc_real_t``: float on devices, double with
``-DSNNC_REAL_DOUBLE``) and follow :mod:`compiler.ir.interpret` operation by operation.
Output is deterministic: schedule order, sorted names, exact literals, no timestamps.

A new node kind registers its lowering in its op file (``@lower("c", kind)`` in
``compiler/ops/<kind>.py``); the kinds below predate the registry.
"""

from __future__ import annotations

import contextlib
import functools
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import jinja2
import numpy as np

from snnc.compiler import __version__, ops
from snnc.compiler.codegen import c_delay, c_fused, cgen, cnames
from snnc.compiler.errors import GraphError, SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import (
    REAL,
    SPIKE,
    Affine,
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
    emits_spikes,
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
from snnc.compiler.ir.serialize import atomic_write, graph_hash
from snnc.compiler.ir.verify import verify
from snnc.compiler.passes.plan import Buffer, MemoryPlan, Planner, check_state, place_arena

TEMPLATES = Path(__file__).parent / "templates"
RUNTIME_DIR = Path(__file__).resolve().parents[2] / "runtime"
REDUCE = {"sum": "SNNC_REDUCE_SUM", "max": "SNNC_REDUCE_MAX", "last": "SNNC_REDUCE_LAST"}
RESET = {"subtract": "SNNC_RESET_SUBTRACT", "zero": "SNNC_RESET_ZERO"}
# The whole-sequence entry point keeps SNNC_PRE_STEPS steps of inputs and input-only
# layer outputs on its stack: layers are hoisted only while that stays below this many
# bytes for up to PRE_STEPS_MAX steps of doubles.
PRE_STEPS_MAX, PRE_STACK_BYTES = 16, 1 << 20
_CTYPE_BYTES = {"int8_t": 1, "uint8_t": 1, "snnc_spike_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4,
                "int64_t": 8, "float": 4, "snnc_real_t": 4}


def runtime_dir() -> Path:
    """The C runtime's folder (``include/`` and ``src/``)."""
    return RUNTIME_DIR


@dataclass
class CModel:
    """Generated sources plus what a target needs to know about them."""

    name: str            # graph name
    c_name: str          # C identifier fragment: snnc_<c_name>_step
    header: str          # model.h
    source: str          # model.c
    quantized: bool
    n_inputs: int
    n_outputs: int
    input_ctype: str
    output_ctype: str
    flash_bytes: int     # const tables
    ram_bytes: int       # sizeof the state struct (the memory plan's ram_bytes)
    plan: MemoryPlan | None = None  # the one memory plan (compiler/passes/plan.py)
    # Large tables as binary files beside model.c, included by the assembler (file name
    # -> bytes; cgen.blob_array): part of the build directory like model.c.
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        """The files :meth:`write` writes, relative to the build directory."""
        return ["model.h", "model.c", *sorted(self.blobs)]

    def write(self, out_dir: str | Path) -> Path:
        """Write ``model.h``, ``model.c`` and the table files into ``out_dir``
        (atomically, each file; the tables first, so a model.c never names a missing
        one)."""
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        for fname, data in sorted(self.blobs.items()):
            atomic_write(d / fname, lambda f, b=data: f.write(b), mode="wb")
        atomic_write(d / "model.h", lambda f: f.write(self.header), mode="w")
        atomic_write(d / "model.c", lambda f: f.write(self.source), mode="w")
        return d


@dataclass
class _Buf:
    """An activation buffer: placed in the shared arena unless it must persist."""

    name: str       # y_<node> or x_<node>
    node: str
    ctype: str
    n: int
    comment: str
    scratch: bool   # a summed input, live only during its node's step
    state: bool     # the node's state doubles as its output (LI membrane, readouts)


@dataclass
class _Ctx:
    graph: Graph
    quantized: bool
    ids: dict[str, str]                      # node -> C fragment
    preds: dict[str, list[str]]
    act: str                                 # activation C type
    tables: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    flash: int = 0
    ram: int = 0
    need_i: bool = False
    # Float dense layers over one real-valued Input, computed several steps at a time by
    # the whole-sequence entry point (_lower_linear_f; model.c.j2's snnc_<m>_run).
    pre: list[dict[str, object]] = field(default_factory=list)
    in_off: dict[str, int] = field(default_factory=dict)
    out_off: dict[str, int] = field(default_factory=dict)
    bound: dict[str, int] = field(default_factory=dict)   # max |output| (integer graphs)
    names: set[str] = field(default_factory=set)          # tables emitted so far
    bufs: dict[str, "_Buf"] = field(default_factory=dict)  # activation buffers by name
    btype: dict[str, str] = field(default_factory=dict)   # C type of each node's output
    late: dict[str, list[str]] = field(default_factory=dict)  # extra readers (c_fused)
    late_direct: set[str] = field(default_factory=set)  # inputs read from `in` (c_fused)
    # int16 copies of small inputs packed this step (c_fused; dropped when the source
    # is lowered again, so no reader sees a copy older than the value it must read).
    x16: dict[str, str] = field(default_factory=dict)
    external: set[str] = field(default_factory=set)  # nodes with external kernels
    lists: set[str] = field(default_factory=set)  # spike sources keeping an active list
    # The memory plan: every state member is reserved through it (compiler/passes/plan.py).
    planner: Planner = field(default_factory=lambda: Planner("c"))
    cur: str | None = None                                # node being lowered (owner)
    flash_by: dict[str, int] = field(default_factory=dict)
    includes: list[str] = field(default_factory=list)  # runtime headers of registered ops
    blobs: dict[str, bytes] = field(default_factory=dict)  # large tables' .incbin files

    # -- emitters
    def table(self, ctype: str, name: str, values: np.ndarray, comment: str = "") -> str:
        vals = np.asarray(values).ravel()
        if name in self.names:
            raise SnncError(f"internal: table '{name}' emitted twice")
        self.names.add(name)
        n_blobs = len(self.blobs)
        text = cgen.array(ctype, name, vals, comment=cnames.c_comment(comment), strings=True,
                          blobs=self.blobs)
        if n_blobs == 0 and self.blobs:
            text = cgen.BLOB_PRELUDE + text
        self.tables.append(text)
        self.flash += max(vals.size, 1) * _CTYPE_BYTES[ctype]
        if self.cur is not None:
            self.flash_by[self.cur] = (self.flash_by.get(self.cur, 0)
                                       + max(vals.size, 1) * _CTYPE_BYTES[ctype])
        return name

    def spec_state(self, name: str, node: Any, state: tuple) -> tuple[list[str], str]:
        """The state-struct members of an integer population, one array per variable of
        its op's state spec (``state``: StateVar tuple), named ``<var>_<id>``: int16_t when
        every variable is at most 16 bits wide (half the RAM; the ``_q16`` kernels), else
        int32_t. Returns the members and the kernel suffix (``"16"`` or ``""``)."""
        nid, n = self.ids[name], node.size
        w16 = all(sv.bits(node) <= 16 for sv in state)
        ctype = "int16_t" if w16 else "int32_t"
        return ([self.member(ctype, f"{sv.name}_{nid}", n, f"{name}: {sv.doc}")
                 for sv in state], "16" if w16 else "")

    def member(self, ctype: str, name: str, n: int | None = None, comment: str = "", *,
               role: str = "state", node: str | None = None, align: int = 0) -> str:
        """Reserve a state-struct member through the memory plan and declare it.

        ``node``: its owner (default: the node being lowered); ``align`` (4 or 8): wider
        than the type's own alignment (declared as a union with an int32/int64 member).
        """
        cgen.identifier(name)
        m = self.planner.member(name, ctype, n, role=role,
                                node=node if node is not None or role == "arena" else self.cur,
                                comment=comment, align=align)
        dims = f"[{n}]" if n is not None else ""
        if align > _CTYPE_BYTES[ctype]:
            wide = {4: "int32_t", 8: "int64_t"}[align]
            decl = f"union {{ {wide} align; {ctype} v{dims}; }} {name};"
        else:
            decl = f"{ctype} {name}{dims};"
        if comment:
            decl += f" /* {cnames.c_comment(comment)} */"
        self.fields.append(decl)
        self.ram += m.nbytes
        return f"s->{name}.v" if align > _CTYPE_BYTES[ctype] else f"s->{name}"

    def struct(self, text: str, size: int = 32) -> None:
        self.tables.append(text)
        self.flash += size

    def buffer(self, node: str, n: int, comment: str, *, state: bool = False,
               scratch: bool = False) -> str:
        """Register node's output (or input-sum scratch) buffer; returns its token."""
        name = f"{'x' if scratch else 'y'}_{self.ids[node]}"
        cgen.identifier(name)
        ctype = self.act if scratch else self.btype[node]
        self.bufs[name] = _Buf(name, node, ctype, n, comment, scratch, state)
        return f"@{name}@"

    def y(self, node: str) -> str:
        return f"@y_{self.ids[node]}@"

    def inputs(self, node: str) -> list[str]:
        ps = self.preds[node]
        if not ps:
            raise GraphError("has no incoming edge", node)
        return [self.y(p) for p in ps]

    def in_type(self, node: str) -> str:
        """C type of :meth:`one_input`'s vector (a single source keeps its own type)."""
        ps = self.preds[node]
        return self.btype[ps[0]] if len(ps) == 1 else self.act

    def one_input(self, node: str, n: int, lines: list[str]) -> str:
        """Pointer to the node's input vector: its single source, or a summed scratch."""
        xs = self.inputs(node)
        if len(xs) == 1:
            return xs[0]
        return self._sum_scratch(node, n, lines)

    def _sum_scratch(self, node: str, n: int, lines: list[str]) -> str:
        xs = self.inputs(node)
        dst = self.buffer(node, n, "sum of incoming edges", scratch=True)
        if all(self.btype[p] == self.act for p in self.preds[node]):
            kern = "snnc_sum_f" if self.act == "snnc_real_t" else "snnc_sum_i32"
            lines.append(f"    {{\n        const {self.act} *const src[{len(xs)}] = {{"
                         f"{', '.join(xs)}}};\n"
                         f"        SNNC_TRY({kern}(src, {len(xs)}, {n}, {dst}));\n    }}")
        else:  # spikes mixed with int32 values: exact sum, clamped once (as snnc_sum_i32)
            self.need_i = True
            terms = " + ".join(f"(int64_t){x}[i]" for x in xs)
            lines.append(f"    for (i = 0; i < {n}; ++i) {dst}[i] = snnc_sat({terms}, 32);")
        return dst

    def xs_list(self, node: str, lines: list[str]) -> tuple[str, int]:
        """A local array of the incoming edges (kernels sum them exactly); spike sources
        are first summed into an int32 scratch, since the kernels read int32 vectors."""
        xs = self.inputs(node)
        if any(self.btype[p] != self.act for p in self.preds[node]):
            n = _size(tuple(self.graph.nodes[node].shape_in()))
            xs = [self._sum_scratch(node, n, lines)]
        name = f"xs_{self.ids[node]}"
        lines.append(f"    const {self.act} *const {name}[{len(xs)}] = {{{', '.join(xs)}}};")
        return name, len(xs)


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape)) if len(shape) else 1


def _param(ctx: _Ctx, node: str, field_: str, value: np.ndarray, n: int, shape: tuple,
           ctype: str) -> str:
    """Emit a parameter table; returns the C view initializer ``{table, per}``."""
    a = np.asarray(value)
    try:
        full = np.broadcast_to(a, shape)
    except ValueError:
        raise GraphError(f"parameter '{field_}' of shape {a.shape} does not broadcast to "
                         f"{shape}", node) from None
    flat = np.ravel(full)
    if flat.size and np.all(flat == flat[0]) and a.size == 1:
        vals, per = flat[:1], 0
    else:
        vals, per = flat, 1
    if ctype != "snnc_real_t":
        lo, hi = srange(32)
        if vals.size and (int(vals.min()) < lo or int(vals.max()) > hi):
            raise GraphError(f"parameter '{field_}' does not fit int32", node)
    name = ctx.table(ctype, f"{ctx.ids[node]}_{field_}", vals)
    assert len(vals) in (1, n)
    return f"{{{name}, {per}}}"


def _csc(w: np.ndarray, delay: np.ndarray | None = None
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Column-compressed non-zeros of ``w`` [out, in]: col_ptr, row, values, delays."""
    nz_cols, nz_rows = np.nonzero(w.T)  # column-major order, rows ascending in a column
    col_ptr = np.zeros(w.shape[1] + 1, dtype=np.int64)
    np.add.at(col_ptr, nz_cols + 1, 1)
    col_ptr = np.cumsum(col_ptr)
    vals = w[nz_rows, nz_cols]
    d = None if delay is None else np.asarray(delay)[nz_rows, nz_cols]
    return col_ptr, nz_rows, vals, d


# ------------------------------------------------------------------ integer lowering


def _wtype(node: QLinear) -> tuple[str, str]:
    return ("int8_t", "i8") if int(node.weight_bits) <= 8 else ("int16_t", "i16")


def _in_bound(ctx: _Ctx, node: str) -> int:
    return sum(ctx.bound[p] for p in ctx.preds[node])


def _lower_qinput(ctx: _Ctx, name: str, node: QInput, lines: list[str]) -> None:
    n = _size(node.shape)
    nid = ctx.ids[name]
    y = ctx.buffer(name, n, f"{name}: x_q - zero_point")
    off = ctx.in_off[name]
    zp = np.ravel(np.broadcast_to(np.asarray(node.zero_point), tuple(node.shape)))
    ctx.need_i = True
    if node.dtype == SPIKE or not np.any(zp):
        lines.append(f"    for (i = 0; i < {n}; ++i) {y}[i] = ({ctx.btype[name]})in[{off} + i];")
    else:
        t = ctx.table("int32_t", f"{nid}_zero_point", zp)
        lines.append(f"    for (i = 0; i < {n}; ++i) {y}[i] = (int32_t)in[{off} + i] - {t}[i];")


def _qsyn_struct(ctx: _Ctx, name: str, node: QLinear) -> str:
    nid = ctx.ids[name]
    n_out, n_in = np.asarray(node.weight).shape
    bias = np.asarray(node.bias)
    b = ctx.table("int32_t", f"{nid}_bias", bias) if bias.size else "NULL"
    m = _param(ctx, name, "mult", node.mult, n_out, (n_out,), "int32_t")
    sh = _param(ctx, name, "shift", node.shift, n_out, (n_out,), "int32_t")
    ctx.struct(f"static const snnc_qsyn_t {nid}_p = {{{n_out}, {n_in}, {int(node.out_bits)}, "
               f"{b}, {m}, {sh}}};\n")
    return f"&{nid}_p"


def _acc_bound(ctx: _Ctx, name: str, node: QLinear) -> int:
    w = np.abs(np.asarray(node.weight, dtype=np.int64))
    xb = _in_bound(ctx, name)
    b = np.abs(np.asarray(node.bias, dtype=np.int64))
    tot = w.sum(axis=1) * xb + (b if b.size else 0)
    return int(tot.max()) if tot.size else 0


def _lower_qlinear(ctx: _Ctx, name: str, node: QLinear, lines: list[str]) -> None:
    nid = ctx.ids[name]
    w = np.asarray(node.weight)
    n_out, n_in = w.shape
    wt, suf = _wtype(node)
    if (ctx.in_type(name) == "snnc_spike_t" and n_out <= 65535
            and c_delay.applies(ctx, name, node, _acc_bound(ctx, name, node))):
        c_delay.lower(ctx, name, node, lines)  # event-driven, as a ring of one slot
        return
    p = _qsyn_struct(ctx, name, node)
    x = ctx.one_input(name, n_in, lines)
    y = ctx.buffer(name, n_out, f"{name}: {node.kind} out")
    if n_out > 65535:
        raise UnsupportedError(f"node '{name}': {n_out} outputs exceed the runtime's "
                               "uint16 row index")
    if ctx.in_type(name) == "snnc_spike_t":
        suf += "_s"  # spike inputs: one byte each, events skipped in CSC
    if node.storage == "dense":
        t = ctx.table(wt, f"{nid}_w", w, f"{name}: weights [{n_out}][{n_in}] row-major")
        lines.append(f"    SNNC_TRY(snnc_qdense_{suf}({p}, {t}, {x}, {y}));")
        return
    col_ptr, row, vals, _ = _csc(w)
    cp = ctx.table("int32_t", f"{nid}_col_ptr", col_ptr,
                   f"{name}: CSC by presynaptic neuron, {vals.size} non-zeros of "
                   f"{n_out}x{n_in}")
    r = ctx.table("uint16_t", f"{nid}_row", row)
    v = ctx.table(wt, f"{nid}_w", vals)
    wide = "NULL"
    if _acc_bound(ctx, name, node) >= 1 << 31:
        wide = ctx.member("int64_t", f"wide_{nid}", n_out, "int64 accumulators")
    lines.append(f"    SNNC_TRY(snnc_qcsc_{suf}({p}, {cp}, {r}, {v}, {x}, {wide}, {y}));")


def _lower_qdelayed(ctx: _Ctx, name: str, node: QDelayedLinear, lines: list[str]) -> None:
    nid = ctx.ids[name]
    w = np.asarray(node.weight)
    n_out, n_in = w.shape
    wt, suf = _wtype(node)
    dmax = node.max_delay
    if dmax > 65535 or n_out > 65535:
        raise UnsupportedError(f"node '{name}': delays > 65535 steps or > 65535 outputs "
                               "exceed the runtime's uint16 tables")
    if c_delay.applies(ctx, name, node, _acc_bound(ctx, name, node)):
        c_delay.lower(ctx, name, node, lines)
        return
    p = _qsyn_struct(ctx, name, node)
    x = ctx.one_input(name, n_in, lines)
    col_ptr, row, vals, d = _csc(w, node.delay)
    cp = ctx.table("int32_t", f"{nid}_col_ptr", col_ptr,
                   f"{name}: CSC with delays, {vals.size} synapses, max delay {dmax}")
    r = ctx.table("uint16_t", f"{nid}_row", row)
    v = ctx.table(wt, f"{nid}_w", vals)
    dl = ctx.table("uint16_t", f"{nid}_delay", d)
    rt, rs = ("int32_t", "r32") if _acc_bound(ctx, name, node) < 1 << 31 else ("int64_t", "r64")
    ring = ctx.member(rt, f"ring_{nid}", (dmax + 1) * n_out, f"{dmax + 1} slots x {n_out}")
    head = ctx.member("int32_t", f"head_{nid}")
    y = ctx.buffer(name, n_out, f"{name}: {node.kind} out")
    sp = "_s" if ctx.in_type(name) == "snnc_spike_t" else ""
    lines.append(f"    SNNC_TRY(snnc_qdelay_{suf}_{rs}{sp}({p}, {cp}, {r}, {v}, {dl}, {dmax}, "
                 f"{x}, {ring}, &{head}, {y}));")


def _lower_qthreshold(ctx: _Ctx, name: str, node: QThreshold, lines: list[str]) -> None:
    nid = ctx.ids[name]
    n, shape = _size(tuple(node.shape)), tuple(node.shape)
    view = _param(ctx, name, "thr_q", node.thr_q, n, shape, "int32_t")
    ctx.struct(f"static const snnc_pi32_t {nid}_p = {view};\n", 8)
    xs, k = ctx.xs_list(name, lines)
    y = ctx.buffer(name, n, f"{name}: spikes")
    lines.append(f"    SNNC_TRY(snnc_threshold_q({n}, &{nid}_p, {xs}, {k}, {y}));")


def _lower_readout(ctx: _Ctx, name: str, node: Node, lines: list[str]) -> None:
    nid = ctx.ids[name]
    n = _size(tuple(node.shape_out()))
    q = "q" if ctx.quantized else "f"
    ps = ctx.preds[name]
    if (ctx.quantized and isinstance(node, SpikeCountArgmax) and len(ps) == 1
            and ctx.btype[ps[0]] == "snnc_spike_t"):
        # One spike source: c = sat_32(c + s) is an increment that stops at INT32_MAX.
        x = ctx.y(ps[0])
        y = ctx.buffer(name, n, f"{name}: spike counts (state and output)", state=True)
        ctx.need_i = True
        lines.append(f"    for (i = 0; i < {n}; ++i) {y}[i] += {x}[i] & ({y}[i] != INT32_MAX);")
        return
    xs, k = ctx.xs_list(name, lines)
    y = ctx.buffer(name, n, f"{name}: readout accumulator (state and output)", state=True)
    if isinstance(node, SpikeCountArgmax):
        lines.append(f"    SNNC_TRY(snnc_count_{q}({n}, {y}, {xs}, {k}, {y}));")
    else:
        if node.reduce not in REDUCE:
            raise GraphError(f"unknown reduce '{node.reduce}'", name)
        st = ctx.member("int32_t", f"started_{nid}")
        lines.append(f"    SNNC_TRY(snnc_membrane_{q}({n}, {REDUCE[node.reduce]}, {y}, &{st}, "
                     f"{xs}, {k}, {y}));")


def _lower_flatten(ctx: _Ctx, name: str, node: Flatten, lines: list[str]) -> None:
    n = _size(tuple(node.shape_out()))
    x = ctx.one_input(name, n, lines)
    y = ctx.buffer(name, n, f"{name}: flattened")
    ctx.need_i = True
    lines.append(f"    for (i = 0; i < {n}; ++i) {y}[i] = {x}[i];")


def _lower_output(ctx: _Ctx, name: str, node: Output, lines: list[str]) -> None:
    n = _size(tuple(node.shape))
    x = ctx.one_input(name, n, lines)
    ps = ctx.preds[name]
    if ctx.quantized and len(ps) == 1 and ctx.btype.get(ps[0]) == "int32_t":
        # int32_t to int32_t (snnc_output_t of integer graphs): a block copy (LDM/STM).
        lines.append(f"    memcpy(out + {ctx.out_off[name]}, {x}, {n} * sizeof *out);")
        return
    ctx.need_i = True
    lines.append(f"    for (i = 0; i < {n}; ++i) out[{ctx.out_off[name]} + i] = "
                 f"(snnc_output_t){x}[i];")


# ------------------------------------------------------------------ float lowering


def _lower_input_f(ctx: _Ctx, name: str, node: Input, lines: list[str]) -> None:
    n = _size(tuple(node.shape))
    y = ctx.buffer(name, n, f"{name}: input ({node.dtype})")
    ctx.need_i = True
    lines.append(f"    for (i = 0; i < {n}; ++i) {y}[i] = (snnc_real_t)in[{ctx.in_off[name]} + i];")


def _spike_fed_f(ctx: _Ctx, name: str) -> bool:
    """Every source of ``name`` emits spikes (a spiking population or a spike Input, also
    through a Flatten): its input vector is binary and mostly zero."""
    def spiking(n: str) -> bool:
        v = ctx.graph.nodes[n]
        if isinstance(v, Input):
            return v.dtype == SPIKE
        if isinstance(v, Flatten):
            return all(spiking(p) for p in ctx.preds[n])
        return v.out_dtype == SPIKE

    return bool(ctx.preds[name]) and all(spiking(p) for p in ctx.preds[name])


def _lower_linear_f(ctx: _Ctx, name: str, node: Linear | Affine, lines: list[str]) -> None:
    nid = ctx.ids[name]
    w = np.asarray(node.weight, dtype=np.float64)
    n_out, n_in = w.shape
    x = ctx.one_input(name, n_in, lines)
    y = ctx.buffer(name, n_out, f"{name}: {node.kind} out")
    b = "NULL"
    if isinstance(node, Affine) and np.asarray(node.bias).size:
        b = ctx.table("snnc_real_t", f"{nid}_bias", np.asarray(node.bias, np.float64))
    if node.storage == "dense" and _spike_fed_f(ctx, name) and n_in <= 1 << 16:
        # Spike inputs are mostly zero: store W column-major and add only the columns of
        # this step's spiking inputs (contiguous, vectorizable inner loop).
        t = ctx.table("snnc_real_t", f"{nid}_wt", np.ascontiguousarray(w.T),
                      f"{name}: weights column-major [{n_in}][{n_out}]")
        # Inline kernel (kernels.h): constant sizes and restrict let GCC vectorize it.
        act = ctx.member("uint16_t", f"evl_{nid}", n_in,
                         f"{name}: scratch, indices of this step's non-zero inputs")
        lines.append(f"    snnc_ev_dense_fk({y}, {t}, {b}, {n_out}, {n_in}, {x}, {act});")
        return
    if node.storage == "dense":
        t = ctx.table("snnc_real_t", f"{nid}_w", w, f"{name}: weights [{n_out}][{n_in}]")
        (src,) = ctx.preds[name]
        n_pre = sum(int(p["n_out"]) for p in ctx.pre) + n_out
        if (isinstance(ctx.graph.nodes[src], Input)
                and all(p["src"] == src for p in ctx.pre)
                and PRE_STEPS_MAX * (n_in + n_pre) * 8 <= PRE_STACK_BYTES):
            # Reads only the model's input: the whole-sequence entry point computes it
            # for a block of steps at once (each weight row fetched once per block) and
            # passes this step's row in `pre`; a single step computes it here.
            off = sum(int(p["n_out"]) for p in ctx.pre)
            ctx.pre.append(dict(src=src, w=t, bias=b, n_out=n_out, n_in=n_in, off=off,
                                in_off=ctx.in_off[src], name=name))
            lines.append("    if (pre) /* computed in snnc_*_run with the next steps' */")
            lines.append(f"        memcpy({y}, pre + {off}, {n_out} * sizeof(snnc_real_t));")
            lines.append("    else")
            lines.append(f"        snnc_dense_fk({y}, {t}, {b}, {n_out}, {n_in}, {x});")
            return
        lines.append(f"    snnc_dense_fk({y}, {t}, {b}, {n_out}, {n_in}, {x});")
        return
    if n_out > 65535:
        raise UnsupportedError(f"node '{name}': {n_out} outputs exceed the uint16 row index")
    col_ptr, row, vals, _ = _csc(w)
    cp = ctx.table("int32_t", f"{nid}_col_ptr", col_ptr, f"{name}: CSC, {vals.size} non-zeros")
    r = ctx.table("uint16_t", f"{nid}_row", row)
    v = ctx.table("snnc_real_t", f"{nid}_w", vals)
    lines.append(f"    SNNC_TRY(snnc_csc_f({cp}, {r}, {v}, {b}, {n_out}, {n_in}, {x}, {y}));")


def _lower_delayed_f(ctx: _Ctx, name: str, node: DelayedLinear, lines: list[str]) -> None:
    nid = ctx.ids[name]
    w = np.asarray(node.weight, dtype=np.float64)
    n_out, n_in = w.shape
    dmax = node.max_delay
    if dmax > 65535 or n_out > 65535:
        raise UnsupportedError(f"node '{name}': delays or outputs exceed uint16 tables")
    x = ctx.one_input(name, n_in, lines)
    if n_in > 1 << 16:  # the active list is uint16
        raise UnsupportedError(f"node '{name}': {n_in} inputs exceed the uint16 index")
    act = ctx.member("uint16_t", f"evl_{nid}", n_in,
                     f"{name}: scratch, indices of this step's non-zero inputs")
    if dmax == 0:
        # No delay: a plain layer, column-major and event-driven like _lower_linear_f's;
        # it adds the same products in the same order as the ring (zero weights add
        # +-0, which changes no sum), without the ring.
        y = ctx.buffer(name, n_out, f"{name}: {node.kind} out")
        t = ctx.table("snnc_real_t", f"{nid}_wt", np.ascontiguousarray(w.T),
                      f"{name}: weights column-major [{n_in}][{n_out}] (all delays 0)")
        lines.append(f"    snnc_ev_dense_fk({y}, {t}, NULL, {n_out}, {n_in}, {x}, {act});")
        return
    col_ptr, row, vals, d = _csc(w, np.asarray(node.delay).astype(np.int64))
    cp = ctx.table("int32_t", f"{nid}_col_ptr", col_ptr,
                   f"{name}: CSC with delays, {vals.size} synapses, max delay {dmax}")
    r = ctx.table("uint16_t", f"{nid}_row", row)
    v = ctx.table("snnc_real_t", f"{nid}_w", vals)
    dl = ctx.table("uint16_t", f"{nid}_delay", d)
    ring = ctx.member("snnc_real_t", f"ring_{nid}", (dmax + 1) * n_out)
    head = ctx.member("int32_t", f"head_{nid}")
    y = ctx.buffer(name, n_out, f"{name}: {node.kind} out")
    lines.append(f"    snnc_delay_fk({cp}, {r}, {v}, {dl}, {dmax}, {n_out}, {n_in}, {x}, {ring}, "
                 f"&{head}, {y}, {act});")


def _lower_elementwise_f(ctx: _Ctx, name: str, node: Scale | Threshold,
                         lines: list[str]) -> None:
    nid = ctx.ids[name]
    n, shape = _size(tuple(node.shape)), tuple(node.shape)
    field_, kern = ("scale", "snnc_scale_f") if isinstance(node, Scale) else (
        "threshold", "snnc_threshold_f")
    view = _param(ctx, name, field_, np.asarray(getattr(node, field_), np.float64), n, shape,
                  "snnc_real_t")
    ctx.struct(f"static const snnc_preal_t {nid}_p = {view};\n", 8)
    x = ctx.one_input(name, n, lines)
    y = ctx.buffer(name, n, f"{name}: {node.kind} out")
    lines.append(f"    SNNC_TRY({kern}(&{nid}_p, {n}, {x}, {y}));")


# ---- convolution and pooling (issue 17; kernels in runtime/src/conv.c) ----


def _conv_geom(ctx: _Ctx, name: str, shape_in: tuple[int, ...], shape_out: tuple[int, ...],
               k: tuple[int, ...], st: tuple[int, ...], pad: tuple[int, ...],
               dil: tuple[int, ...], groups: int) -> str:
    """Emit the ``snnc_conv2d_t`` of a node (a 1-D layer is 2-D with height 1)."""
    if len(shape_in) == 2:  # (C, L) -> (C, 1, L)
        shape_in, shape_out = (shape_in[0], 1, shape_in[1]), (shape_out[0], 1, shape_out[1])
        k, st, pad, dil = (1, *k), (1, *st), (0, *pad), (1, *dil)
    if '#include "snnc/conv.h"\n' not in ctx.tables:
        ctx.tables.insert(0, '#include "snnc/conv.h"\n')
    nid = ctx.ids[name]
    vals = [*shape_in, *shape_out, *k, *st, *pad, *dil, groups]
    ctx.struct(f"static const snnc_conv2d_t {nid}_g = {{{', '.join(str(int(v)) for v in vals)}}};\n")
    return f"&{nid}_g"


def _lower_qconv(ctx: _Ctx, name: str, node: QConv, lines: list[str]) -> None:
    nid = ctx.ids[name]
    w = np.asarray(node.weight)
    sin, sout = tuple(node.shape_in()), tuple(node.shape_out())
    n_in, n_out, c_out = _size(sin), _size(sout), int(w.shape[0])
    wt, suf = _wtype(node)
    g = _conv_geom(ctx, name, sin, sout, tuple(w.shape[2:]), tuple(node.stride),
                   tuple(node.padding), tuple(node.dilation), int(node.groups))
    bias = np.asarray(node.bias)
    b = ctx.table("int32_t", f"{nid}_bias", bias) if bias.size else "NULL"
    m = _param(ctx, name, "mult", node.mult, c_out, (c_out,), "int32_t")
    sh = _param(ctx, name, "shift", node.shift, c_out, (c_out,), "int32_t")
    ctx.struct(f"static const snnc_qsyn_t {nid}_p = {{{n_out}, {n_in}, "
               f"{int(node.out_bits)}, {b}, {m}, {sh}}};\n")
    t = ctx.table(wt, f"{nid}_w", w, f"{name}: weights {list(w.shape)} (Cout, Cin/G, K...)")
    x = ctx.one_input(name, n_in, lines)
    y = ctx.buffer(name, n_out, f"{name}: {node.kind} out")
    if ctx.in_type(name) == "snnc_spike_t":  # event-driven scatter
        acc = np.abs(w.astype(np.int64)).reshape(c_out, -1).sum(axis=1) * _in_bound(ctx, name)
        acc = acc + (np.abs(bias.astype(np.int64)) if bias.size else 0)
        wide = "NULL"
        if int(acc.max(initial=0)) >= 1 << 31:
            wide = ctx.member("int64_t", f"wide_{nid}", n_out, "int64 accumulators")
        lines.append(f"    SNNC_TRY(snnc_qconv2d_{suf}_s(&{nid}_p, {g}, {t}, {x}, {wide}, {y}));")
    else:
        lines.append(f"    SNNC_TRY(snnc_qconv2d_{suf}(&{nid}_p, {g}, {t}, {x}, {y}));")


def _lower_sumpool(ctx: _Ctx, name: str, node: SumPool2d, lines: list[str]) -> None:
    sin, sout = tuple(node.shape_in()), tuple(node.shape_out())
    g = _conv_geom(ctx, name, sin, sout, tuple(node.kernel_size), tuple(node.stride),
                   tuple(node.padding), (1, 1), 1)
    x = ctx.one_input(name, _size(sin), lines)
    y = ctx.buffer(name, _size(sout), f"{name}: window sums")
    suf = "_s" if ctx.in_type(name) == "snnc_spike_t" else ""
    lines.append(f"    SNNC_TRY(snnc_sumpool2d_q{suf}({g}, {x}, {y}));")
# ---- end of convolution and pooling ----


Rule = Callable[[_Ctx, str, Node, list[str]], None]

# Exact node classes (not isinstance: the integer kinds subclass the float ones).
_INT_RULES: dict[type, Rule] = {
    QInput: _lower_qinput, QLinear: _lower_qlinear, QDelayedLinear: _lower_qdelayed,
    QThreshold: _lower_qthreshold,
    SpikeCountArgmax: _lower_readout, MembraneArgmax: _lower_readout,
    Flatten: _lower_flatten, Output: _lower_output,
    QConv: _lower_qconv, SumPool2d: _lower_sumpool,  # issue 17
}
_FLOAT_RULES: dict[type, Rule] = {
    Input: _lower_input_f, Linear: _lower_linear_f, Affine: _lower_linear_f,
    DelayedLinear: _lower_delayed_f, Scale: _lower_elementwise_f, Threshold: _lower_elementwise_f,
    SpikeCountArgmax: _lower_readout, MembraneArgmax: _lower_readout,
    Flatten: _lower_flatten, Output: _lower_output,
}


def _spiking(node: Node) -> bool:
    """Emits 0/1 spikes (:func:`compiler.ir.nodes.emits_spikes`)."""
    return emits_spikes(node)


def _value_bounds(graph: Graph, preds: dict[str, list[str]]) -> dict[str, int]:
    """An upper bound of |value| of every node's output in an integer graph, from the
    node kinds alone (so recurrent sources need not be lowered first). Used to prove that
    a synapse's accumulator fits int32."""
    out: dict[str, int] = {}

    def bound(n: str, seen: frozenset[str] = frozenset()) -> int:
        if n in out:
            return out[n]
        v = graph.nodes[n]
        if isinstance(v, QInput):
            b = 1 if v.dtype == SPIKE else 1 << int(v.bits)
        elif isinstance(v, (QLinear, QDelayedLinear, QConv)):
            b = 1 << (int(v.out_bits) - 1)
        elif isinstance(v, SumPool2d) and n not in seen:  # window sums, saturated to int32
            kh, kw = v.kernel_size
            b = min(1 << 31, int(kh) * int(kw) * sum(bound(p, seen | {n}) for p in preds[n]))
        elif _spiking(v):
            b = 1
        elif ops.is_population(v):  # a non-spiking population outputs its state
            b = 1 << (int(v.state_bits) - 1)
        elif isinstance(v, Flatten) and n not in seen:
            b = sum(bound(p, seen | {n}) for p in preds[n])
        else:  # readouts, outputs: int32
            b = 1 << 31
        out[n] = b
        return b

    for n in graph.nodes:
        bound(n)
    return out


def _buffer_types(graph: Graph, preds: dict[str, list[str]], act: str) -> dict[str, str]:
    """C type of each node's output buffer: one byte per spike in integer graphs
    (spiking populations, thresholds, spike inputs, and Flattens of those), else ``act``."""
    types: dict[str, str] = {}
    for n, v in graph.items():
        spike = act == "int32_t" and (_spiking(v) or (
            isinstance(v, QInput) and v.dtype == SPIKE))
        types[n] = "snnc_spike_t" if spike else act
    changed = True
    while changed:  # a Flatten keeps its single source's type (chains resolve in turn)
        changed = False
        for n, v in graph.items():
            if isinstance(v, Flatten) and len(preds[n]) == 1 and types[preds[n][0]] != types[n]:
                types[n] = types[preds[n][0]]
                changed = True
    return types


def _place_buffers(ctx: _Ctx, order: list[str], back: set[tuple[str, str]]) -> None:
    """Give every activation buffer its storage and replace the ``@name@`` tokens.

    A buffer persists as its own state member when it must survive the step: a state
    that doubles as output (LI membrane, readout accumulators) or a source read through a
    recurrent edge at step t+1. Every other buffer lives from its producer's position in
    the schedule to its last reader's (inclusive; an input-sum scratch only during its
    node) and shares the ``arena`` member with buffers whose lifetimes do not overlap:
    largest first, lowest free offset, ties by name (deterministic).
    """
    pos = {n: k for k, n in enumerate(order)}
    succ: dict[str, list[str]] = {n: [] for n in ctx.graph.nodes}
    for a, b in ctx.graph.edges:
        succ[a].append(b)
    for a, rs in ctx.late.items():  # populations reading a buffer through a fused layer
        succ[a].extend(rs)
    where: dict[str, str] = {}
    live: list[tuple[_Buf, int, int]] = []
    for b in ctx.bufs.values():
        if b.scratch:
            live.append((b, pos[b.node], pos[b.node]))
            continue
        readers = succ[b.node]
        if b.state or any((b.node, r) in back for r in readers):
            where[b.name] = ctx.member(b.ctype, b.name, b.n, b.comment, role="buffer",
                                       node=b.node)
            continue
        last = max([pos[r] for r in readers] + [pos[b.node]])
        live.append((b, pos[b.node], last))
    # One arena per element type: 'arena' (int32_t / snnc_real_t), 'arena_s' (spikes),
    # placed by the memory planner (compiler/passes/plan.py: place_arena).
    for ctype in sorted({b.ctype for b, _, _ in live}):
        arena = "arena_s" if ctype == "snnc_spike_t" else "arena"
        mine = {b.name: b for b, _, _ in live if b.ctype == ctype}
        pbufs = [Buffer(b.name, b.node, ctype, b.n, first, last, b.comment)
                 for b, first, last in live if b.ctype == ctype]
        size = place_arena(pbufs, arena)
        ctx.planner.buffers.extend(pbufs)
        layout = [(p.offset, mine[p.name]) for p in pbufs]
        for off, b in layout:
            where[b.name] = f"(s->{arena} + {off})"
        ctx.member(ctype, arena, size,
                   "activations of non-overlapping lifetimes, see the layout in model.c",
                   role="arena")
        width = max(len(x.name) for _, x in layout)
        lines = [f"{b.name:<{width}}  [{off}, {off + b.n})  {cnames.c_comment(b.comment)}"
                 for off, b in sorted(layout, key=lambda t: (t[0], t[1].name))]
        ctx.tables.append(f"/* Layout of {arena} ({ctype} elements):\n *   "
                          + "\n *   ".join(lines) + "\n */\n")
    for k, text in enumerate(ctx.steps):
        ctx.steps[k] = _TOKEN.sub(lambda m: where[m.group(1)], text)


_TOKEN = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)@")


# ---- external synapse kernels: the one hook for compiler/codegen/tvm_kernels.py ----
_SYNAPSE_CALL = re.compile(r"\bsnnc_q(?:dense|csc|delay)_\w+\(")


def _external_kernel(lines: list[str], name: str, fn: str) -> None:
    """Make node ``name``'s synapse call go to ``fn``, which takes exactly the parameters
    of the runtime kernel it replaces (``snnc_qdense_*``, ``snnc_qcsc_*``, ``snnc_qdelay_*``)."""
    hits = [k for k, line in enumerate(lines) if _SYNAPSE_CALL.search(line)]
    if len(hits) != 1:
        raise SnncError(f"internal: node '{name}' has {len(hits)} synapse kernel calls, "
                        "expected one to replace")
    lines[hits[0]] = _SYNAPSE_CALL.sub(cgen.identifier(fn) + "(", lines[hits[0]], count=1)
# ---- end of the external-kernel hook ----


def supported_ops(quantized: bool) -> list[str]:
    """Node kinds the C backend lowers, for integer or float graphs."""
    kinds = [c.kind for c in (_INT_RULES if quantized else _FLOAT_RULES)]
    for op in ops.ops():  # registered ops with a C lowering (compiler/ops/<kind>.py)
        cls = op.quant_cls if quantized else op.float_cls
        if cls is not None and callable(op.lowerings.get("c")):
            kinds.append(cls.kind)
    return sorted(kinds)


@functools.lru_cache(maxsize=1)
def _template_env() -> jinja2.Environment:
    """One Jinja environment per process: it keeps the compiled templates, so a compile
    that emits several times (memory plan, fit check, build) parses them once; across
    processes the compiled templates come from a bytecode cache (keyed by the template
    source's checksum and the Python version; written atomically by Jinja), which saves
    a fresh `snnc compile` compiling them again."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True,
                              autoescape=False, bytecode_cache=_bytecode_cache())


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """``$XDG_CACHE_HOME/snnc/jinja`` (default ``~/.cache``), or None if not writable."""
    import os

    d = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "snnc" / "jinja"
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(d))


# Models emitted inside reuse_emits(), by graph content and options: one `snnc compile`
# emits the same graph for the memory plan, the size check and the build directory.
_REUSE: list[dict[tuple[str, str, int | None], CModel]] = []


@contextlib.contextmanager
def reuse_emits() -> Iterator[None]:
    """Within this block, :func:`emit_c` of a graph with the same content and options
    returns the first result (callers never modify a CModel). Scoped, not global: a
    module setting changed between two emits (e.g. c_fused.CODE_BUDGET in a test)
    must not return a stale model."""
    _REUSE.append({})
    try:
        yield
    finally:
        _REUSE.pop()


def emit_c(graph: Graph, *, memory: dict[str, int] | None = None,
           kernels: dict[str, str] | None = None, code_budget: int | None = None) -> CModel:
    """:func:`_emit_c`, or its earlier result inside :func:`reuse_emits`."""
    if not _REUSE:
        return _emit_c(graph, memory=memory, kernels=kernels, code_budget=code_budget)
    key = (graph_hash(graph), repr(sorted((kernels or {}).items())), code_budget)
    if key not in _REUSE[-1]:
        _REUSE[-1][key] = _emit_c(graph, memory=memory, kernels=kernels,
                                  code_budget=code_budget)
    return _REUSE[-1][key]


def _emit_c(graph: Graph, *, memory: dict[str, int] | None = None,
            kernels: dict[str, str] | None = None, code_budget: int | None = None) -> CModel:
    """Generate ``model.h``/``model.c`` for ``graph`` (quantized -> integer, else float).

    ``memory`` is accepted for the build API and ignored: the header states this
    emitter's own memory plan (``CModel.plan``, :mod:`compiler.passes.plan`), which is the
    plan ``snnc compile`` reports.
    ``kernels`` (node -> C function, from :mod:`compiler.codegen.tvm_kernels`) replaces
    those synapse layers' runtime kernel calls (see :func:`_external_kernel`).
    ``code_budget``: flash bytes event-driven layers may spend on weights compiled into
    code (:func:`compiler.codegen.c_fused.storage_plan`; None: the default, 0: never).
    Raises UnsupportedError naming the node and op the backend cannot lower.
    """
    verify(graph)
    quantized = is_quantized(graph)
    rules = _INT_RULES if quantized else _FLOAT_RULES
    for name, node in graph.items():
        if type(node) not in rules and ops.lowering("c", name, node) is None:
            what = "quantized" if quantized else "float"
            raise UnsupportedError(
                f"node '{name}': the C backend cannot lower op '{node.kind}' in a {what} "
                f"graph (supported: {', '.join(supported_ops(quantized))})")
    c_name = cnames.c_ident(graph.name).lower()
    order, back = graph.schedule()
    preds = {n: [a for a, b in graph.edges if b == n] for n in graph.nodes}
    ctx = _Ctx(graph=graph, quantized=quantized, ids=cnames.c_idents(graph.nodes),
               preds=preds, act="int32_t" if quantized else "snnc_real_t")
    ctx.btype = _buffer_types(graph, preds, ctx.act)
    if quantized:
        ctx.bound = _value_bounds(graph, preds)
    off = 0
    for n in graph.inputs:
        ctx.in_off[n] = off
        off += _size(tuple(graph.nodes[n].shape_out()))
    n_inputs = off
    off = 0
    for n in graph.outputs:
        ctx.out_off[n] = off
        off += _size(tuple(graph.nodes[n].shape_out()))
    n_outputs = off
    # Specialized event-driven path (compiler/codegen/c_fused.py) for spiking layers.
    ctx.external = set(kernels or ())
    fplan = (c_fused.plan(ctx, order, back, exclude=set(kernels or ()),
                          code_budget=code_budget) if quantized else None)
    if fplan is not None:
        ctx.late, ctx.late_direct, ctx.lists = fplan.late, fplan.direct, fplan.lists
    spike_in = all(graph.nodes[n].dtype == SPIKE for n in graph.inputs)
    for name in order:
        node = graph.nodes[name]
        ctx.cur = name  # owner of the members and tables reserved while lowering it
        ctx.x16.pop(name, None)
        lines = ["    /* " + cnames.c_comment(
            f"{name}: {node.kind} {list(node.shape_in())} -> {list(node.shape_out())}"
            + "".join(f"; reads {a} from t-1" for a in preds[name] if (a, name) in back))
            + " */"]
        if fplan is not None and name in fplan.counts:
            ctx.steps.append(lines[0][:-3] + "; counted by " + cnames.c_comment(
                fplan.counts[name]) + " */")
            continue
        if fplan is not None and name in fplan.direct:
            ctx.steps.append(lines[0][:-3] + "; read from in[] by the layers it feeds */")
            continue
        if fplan is not None and name in fplan.fused:
            ctx.steps.append(lines[0][:-3] + "; fused into "
                             + cnames.c_comment(fplan.fused[name].dst) + " */")
            continue
        if fplan is not None and name in fplan.pops:
            c_fused.lower_population(ctx, fplan, name, node, lines)
            body = "\n".join("    " + line for line in lines[1:])
            ctx.steps.append(f"{lines[0]}\n    {{\n{body}\n    }}")
            continue
        if (fplan is not None and name in fplan.lists and isinstance(node, QInput)
                and spike_in and all(b in fplan.fused for a, b in graph.edges if a == name)):
            n = _size(tuple(node.shape))  # scan the caller's spike bytes, no copy
            c_fused.emit_list_scan(ctx, name, f"(in + {ctx.in_off[name]})", n, lines)
            ctx.steps.append("\n".join(lines))
            continue
        (rules.get(type(node)) or ops.lowering("c", name, node))(ctx, name, node, lines)
        if fplan is not None and name in fplan.lists:
            c_fused.emit_list_scan(ctx, name, ctx.y(name),
                                   _size(tuple(node.shape_out())), lines)
        if kernels and name in kernels:
            _external_kernel(lines, name, kernels[name])
        # Locals (xs arrays) need their own scope so declarations stay at block start.
        if (any(line.lstrip().startswith("const ") for line in lines[1:])
                and lines[1].strip() != "{"):  # not already a block of its own
            body = "\n".join("    " + line for line in lines[1:])
            ctx.steps.append(f"{lines[0]}\n    {{\n{body}\n    }}")
        else:
            ctx.steps.append("\n".join(lines))
    ctx.cur = None
    _place_buffers(ctx, order, back)
    if not ctx.fields:  # C has no empty struct
        ctx.member("int32_t", "unused", None, "stateless model", role="state")
    plan = ctx.planner.finish(ctx.flash, ctx.flash_by)
    check_state(graph, plan)  # every population holds its op's state spec
    if kernels:
        ctx.tables.insert(0, '#include "tvm_kernels.h" /* --kernels tvm */\n')
    if quantized:
        ins = [graph.nodes[n] for n in graph.inputs]
        input_ctype = "uint8_t" if all(i.dtype == SPIKE for i in ins) else "int16_t"
        output_ctype = "int32_t"
        bits = sorted({int(getattr(v, "weight_bits", 0)) for v in graph.nodes.values()} - {0})
        sbits = sorted({int(getattr(v, "state_bits", 0)) for v in graph.nodes.values()} - {0})
        arithmetic = (f"integer (docs/fixed_point.md): weights int{'/int'.join(map(str, bits))}"
                      f", state int{'/int'.join(map(str, sbits))}, accumulators int32")
    else:
        input_ctype, output_ctype = "float", "float"
        arithmetic = (f"float (snnc_real_t; double with -DSNNC_REAL_DOUBLE), dt "
                      f"{graph.dt!r} s, {graph.discretization} discretization")
    encoder = []
    if quantized and input_ctype == "int16_t" and all(
            graph.nodes[n].dtype == REAL for n in graph.inputs):
        for n in graph.inputs:
            node = graph.nodes[n]
            shape = tuple(node.shape)
            sc = np.ravel(np.broadcast_to(np.asarray(node.scale, np.float32), shape))
            zp = np.ravel(np.broadcast_to(np.asarray(node.zero_point), shape))
            lo, hi = srange(int(node.bits))
            nid = ctx.ids[n]
            encoder.append(dict(
                n=_size(shape), off=ctx.in_off[n], qmin=lo, qmax=hi,
                scale=ctx.table("float", f"{nid}_scale", sc,
                                f"{n}: input scale per channel (float32)"),
                scale_per=1,
                zp=(f"{nid}_zero_point" if f"{nid}_zero_point" in ctx.names
                    else ctx.table("int32_t", f"{nid}_zero_point", zp)),
                zp_per=1))
    shape_lines = []
    for n in graph.inputs:
        nd = graph.nodes[n]
        extra = ""
        if quantized and nd.dtype == REAL:
            extra = f", int{int(nd.bits)} with per-channel scale and zero point"
        shape_lines.append(cnames.c_comment(f"input  {n}: {list(nd.shape)} {nd.dtype}{extra}, "
                                             f"in[{ctx.in_off[n]}..]"))
    for n in graph.outputs:
        shape_lines.append(cnames.c_comment(
            f"output {n}: {list(graph.nodes[n].shape)}, out[{ctx.out_off[n]}..]"))
    flash, ram = ctx.flash, plan.ram_bytes
    note = ""  # `memory` is this emitter's own plan: nothing else to report
    env = _template_env()
    common = dict(version=__version__, model_name=cnames.c_string(graph.name),
                  model_hash=graph_hash(graph), c_name=c_name, encoder=encoder)
    header = env.get_template("model.h.j2").render(
        **common, arithmetic=cnames.c_comment(arithmetic), shape_lines=shape_lines, flash_bytes=flash,
        ram_bytes=ram, memory_note=note, n_inputs=n_inputs, n_outputs=n_outputs,
        input_ctype=input_ctype, output_ctype=output_ctype,
        input_note=("quantized input x_q per value" if quantized and input_ctype == "int16_t"
                    else "spike 0/1 per value" if quantized else "input value"),
        output_note="integer output per value" if quantized else "output value",
        fields=ctx.fields)
    source = env.get_template("model.c.j2").render(
        **common, tables=ctx.tables, steps=ctx.steps, need_i=ctx.need_i, pre=ctx.pre,
        n_pre=sum(int(p["n_out"]) for p in ctx.pre), pre_max=PRE_STEPS_MAX,
        pre_names=textwrap.fill(cnames.c_comment(", ".join(str(p["name"]) for p in ctx.pre)),
                                width=78, subsequent_indent="         * "),
        includes=sorted(set(ctx.includes)))
    return CModel(name=graph.name, c_name=c_name, header=header, source=source,
                  quantized=quantized, n_inputs=n_inputs, n_outputs=n_outputs,
                  input_ctype=input_ctype, output_ctype=output_ctype, flash_bytes=flash,
                  ram_bytes=ram, plan=plan, blobs=ctx.blobs)


def write_c(graph: Graph, out_dir: str | Path, **kw: object) -> CModel:
    """Generate and write ``<out_dir>/model.h`` and ``model.c``; returns the CModel."""
    try:
        model = emit_c(graph, **kw)  # type: ignore[arg-type]
    except SnncError:
        raise
    model.write(out_dir)
    return model
