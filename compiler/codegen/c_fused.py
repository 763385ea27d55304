"""Specialized, event-driven lowering of spiking populations for the C backend.

:mod:`compiler.codegen.c` lowers most nodes to one generic runtime call each. For the
common SNN pattern (spikes -> int8 ``QLinear`` -> 16-bit ``QLIF``/``QIF``) this module
emits code specialized per layer instead (CMSIS-NN / TinyEngine style):

- a population's incoming synapse layers are *fused* into its update: their
  accumulators are persistent state members (zero at reset, cleared as the neuron loop
  reads them), filled event-driven from the source's list of active spike indices
  (weights added, never multiplied: a spike is 1), then requantized and summed inside
  the neuron loop, so no synapse output is stored and reloaded;
- sizes, shifts, thresholds and decays are compile-time constants (tables only where a
  parameter differs per neuron), pointers are ``restrict``, nothing is checked at run time;
- requantization uses the exact 32-bit form of ``runtime/include/snnc/kernels.h``
  (``snnc_rq_hr``: one SMMULR on the M4) wherever the layer's accumulator bound proves it
  exact, else the contract's 64-bit ``snnc_rq``;
- dense accumulators are int16 (4 per SXTB16/SADD16 pair on the M4, 8 per NEON add),
  flushed into int32 ones every ``(2^15 - 1) // max|w|`` active inputs when a row's
  ``sum |w|`` could exceed int16; never int64 (layers whose bound needs it stay on the
  generic path);
- on aarch64 the neuron loop runs four neurons at a time with NEON (``_neon_loop``);
- idle neurons are skipped where that is exact and expected to pay (:func:`lower_population`):
  no input event and a membrane its update would keep; populations of up to 32 neurons
  find the neurons to update as bit masks, so an idle one costs nothing.

Every value is the integer contract's (docs/fixed_point.md) bit for bit: the fused
layers compute the same ``rq`` per layer and the population the same sum, only without
the intermediate buffers. A synapse layer whose value reaches its population through a
recurrent (t-1) edge is computed at step t from the source's previous spikes, which the
source's persistent active list still holds (the plan checks the schedule allows it).

Storage per fused layer over spikes, by estimated instructions per active input
(:func:`storage_for`; the graph's ``storage`` field is about bytes): dense column-major
int8 (no index; int16-accumulator layout with groups of 4 permuted for SXTB16), CSC
with uint8 row indices when the layer has <= 256 outputs (uint16 otherwise) and uint16
column pointers when it has < 65536 weights, or "code": each input's non-zero weights
compiled into a function of immediate adds (``acc[17] += -5;``, 3 instructions per
SynOp on the M4 against ~6 for CSC, 6-8 bytes of flash per weight against 2-3, the rows
addressed from a base that moves up the accumulators: :func:`code_steps`), chosen
while the model's weights stay within a flash budget (:func:`storage_plan`). Layers over
small int32 inputs are dense row-major int16 pairs for SMLAD.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from snnc.compiler.codegen import cnames
from snnc.compiler.errors import SnncError
from snnc.compiler.ir.interpret_int import decay, requant, sat
from snnc.compiler.ir.nodes import REAL, SpikeCountArgmax
from snnc.compiler.ir.qnodes import QDelayedLinear, QInput, QLinear
from snnc.compiler.ops import fused_neuron

if TYPE_CHECKING:  # c.py imports this module; the context type is only for annotations
    from snnc.compiler.codegen.c import _Ctx

RESET_ZERO = "zero"


@dataclass
class Fused:
    """A synapse layer lowered inside its single consumer population."""

    node: str     # the QLinear
    src: str      # its spike source
    dst: str      # the population it feeds
    back: bool    # the population reads it through a recurrent (t-1) edge
    spikes: bool = True  # spike source (event-driven), else int32 values (dense MAC)
    storage: str = ""    # over spikes: "dense", "csc" or "code" (see storage_plan)
    code_cols: int = 0   # "code": inputs [0, code_cols) as code, the rest CSC (see above)
    code_size: int = 0   # "code": estimated flash of that split (storage_plan's figure)


@dataclass
class Plan:
    """Which nodes the specialized path lowers."""

    fused: dict[str, Fused]   # QLinear -> how it is fused
    pops: set[str]            # populations lowered inline
    lists: set[str]           # spike sources that keep an active-index list
    late: dict[str, list[str]]  # buffer -> populations that read it (through a fused layer)
    direct: set[str]          # real inputs the fused layers read straight from ``in``
    counts: dict[str, str]    # SpikeCountArgmax -> the population that counts for it


def _row_bound(node: QLinear, x_bound: int = 1) -> np.ndarray:
    """sum_j |w[i, j]| * x_bound + |bias_i| per output: the accumulator bound."""
    # |w| in the narrowest exact type (int16 for int8 weights: |-128| fits), summed in
    # int64: a fraction of the memory traffic of an int64 copy on layers of millions.
    a = np.asarray(node.weight)
    a = np.abs(a.astype(np.int16 if a.dtype.itemsize == 1 else np.int64))
    w = a.sum(axis=1, dtype=np.int64) * int(x_bound)
    b = np.abs(np.asarray(node.bias, dtype=np.int64))
    return w + (b if b.size else 0)


def plan(ctx: _Ctx, order: list[str], back: set[tuple[str, str]],
         exclude: set[str] = frozenset(), code_budget: int | None = None) -> Plan:
    """Pick the populations and synapse layers the specialized path lowers.

    ``exclude``: nodes that must keep their own lowering (e.g. external kernels).
    ``code_budget``: flash bytes the model may spend on weights compiled into code
    (:func:`storage_plan`; None: :data:`CODE_BUDGET`, 0: never).
    """
    g = ctx.graph
    pos = {n: k for k, n in enumerate(order)}
    succ: dict[str, list[str]] = {n: [] for n in g.nodes}
    for a, b in g.edges:
        succ[a].append(b)
    pops = {n for n, v in g.items()
            if fused_neuron(v) is not None and int(v.state_bits) <= 16
            and n not in exclude}
    fused: dict[str, Fused] = {}
    late: dict[str, list[str]] = {}
    for n, v in g.items():
        if type(v) is not QLinear or n in g.outputs or n in exclude:
            continue
        ps = ctx.preds[n]
        if len(ps) != 1 or len(succ[n]) != 1:
            continue
        src, dst = ps[0], succ[n][0]
        w = np.asarray(v.weight)
        if dst not in pops or int(v.weight_bits) > 8 or w.shape[1] > 65536:
            continue
        if ctx.btype[src] != "snnc_spike_t":
            # int32 inputs (e.g. a quantized sensor): a dense MAC inside the population,
            # reading the source's buffer in the same step only.
            if (ctx.btype[src] != "int32_t" or (src, n) in back or (n, dst) in back
                    or int(_row_bound(v, ctx.bound[src]).max(initial=0)) >= 1 << 31
                    or (str(v.storage) != "dense" and w.size > 1 << 16)):
                continue
            fused[n] = Fused(n, src, dst, False, spikes=False)
            late.setdefault(src, []).append(dst)
            continue
        if int(_row_bound(v).max(initial=0)) >= 1 << 31:
            continue
        # Steps of delay between the source's spikes and the population reading them:
        # the list the source keeps holds its spikes of this step if it runs before the
        # population, of the previous step otherwise (or if it is the population).
        delay = int((src, n) in back) + int((n, dst) in back)
        holds_previous = pos[src] >= pos[dst]
        if delay != int(holds_previous):
            continue
        bias = np.asarray(v.bias)
        if (n, dst) in back and bias.size and np.any(bias):
            continue  # at t = 0 a t-1 edge delivers 0, not rq(bias)
        fused[n] = Fused(n, src, dst, (n, dst) in back)
    storage_plan(g, [f for f in fused.values() if f.spikes],
                 CODE_BUDGET if code_budget is None else code_budget)
    # Real-valued inputs read only by fused layers: those read the caller's array.
    direct = {n for n, v in g.items() if isinstance(v, QInput) and v.dtype == REAL
              and succ[n] and all(b in fused and dot_path(ctx, fused[b]) for b in succ[n])}
    # Spike counters of one population: counted in its spike branch.
    counts = {n: ctx.preds[n][0] for n, v in g.items()
              if type(v) is SpikeCountArgmax and len(ctx.preds[n]) == 1
              and ctx.preds[n][0] in pops}
    lists = {f.src for f in fused.values() if f.spikes}
    # Spike sources of delay rings and unfused layers lowered by compiler/codegen/c_delay.py
    # read the list too.
    lists |= {ctx.preds[n][0] for n, v in g.items()
              if (type(v) is QDelayedLinear or (type(v) is QLinear and n not in fused))
              and n not in exclude and len(ctx.preds[n]) == 1
              and ctx.btype[ctx.preds[n][0]] == "snnc_spike_t"}
    return Plan(fused=fused, pops=pops, lists=lists,
                late=late, direct=direct, counts=counts)


# Estimated M4 instructions per active input (measured by `python -m snnc.bench.kernels`):
# a dense column costs ~2.75 per padded row (SXTB16/SADD16, 4 rows per 9 instructions plus
# the loop: 2.46 measured on 1000 rows, more on small layers), a compressed one ~6 per non-zero (5 in the unrolled loop) plus ~20 to enter
# the unrolled loop; both plus the column lookup and loop set-up. Weights compiled into
# code cost a load, an add of the weight as an immediate and a store per non-zero (6-8
# bytes of Thumb-2 each: :func:`code_steps`) plus the column's dispatch (a return per
# function, a pointer per input).
DENSE_PER_ROW, DENSE_PER_COL, CSC_PER_NZ, CSC_PER_COL = 2.75, 6.0, 6.0, 20.0
CODE_PER_NZ, CODE_PER_COL, CODE_BYTES_PER_COL = 3.0, 8.0, 4
# A column's SynOps address its rows from a base pointer that moves up the accumulators
# (snnc/kernels.h SNNC_CODE_*): a row within NEAR bytes of the base is one 16-bit load,
# add and store (6 bytes of Thumb-2); one within WRITEBACK bytes moves the base there with
# the load (8 bytes); farther rows first move it by up to MOVE bytes per ADDW (4 bytes).
CODE_NEAR, CODE_WRITEBACK, CODE_MOVE = 124, 252, 4092
CODE_STEP_BYTES = {"near": 6, "writeback": 8, "move": 4}
CODE_GAIN = 0.8
# Flash the weights compiled into code may take in total: the generated C is the same for
# every target, so the budget is sized for the smallest C target preset (1 MiB of flash on
# the nRF52840 and Apollo3) with room for the other tables, the runtime and the harness.
CODE_BUDGET = 640 * 1024


def storage_for(w: np.ndarray, code: bool = False) -> str:
    """Storage of an event-driven layer by estimated instructions per active input:
    dense column-major (no index), CSC (row index + weight per synapse) or, with
    ``code``, the non-zero weights compiled into straight-line code (no table at all).
    The pass's ``storage`` field is about bytes; here speed decides (the result is the
    same)."""
    n_out, n_in = w.shape
    n_pad = -(-n_out // 4) * 4
    nz_per_col = np.count_nonzero(w) / max(n_in, 1)
    cost = {"dense": DENSE_PER_COL + DENSE_PER_ROW * n_pad,
            "csc": CSC_PER_COL + CSC_PER_NZ * nz_per_col}
    best = min(cost, key=lambda k: (cost[k], k != "dense"))  # dense wins ties
    # Code costs flash: only where it saves a margin beyond the estimates' error.
    if code and CODE_PER_COL + CODE_PER_NZ * nz_per_col <= CODE_GAIN * cost[best]:
        return "code"
    return best


def code_steps(rows: Any) -> list[tuple[str, int, int]]:
    """The steps adding one input's weights at ``rows`` (ascending) from a base that
    starts at row 0: ``(kind, row, offset)`` with kind ``near`` (row at byte ``offset``
    from the base), ``writeback`` (the base moves ``offset`` bytes to the row first) or
    ``move`` (the base moves ``offset`` bytes; row unused)."""
    out: list[tuple[str, int, int]] = []
    base = 0
    for r in (int(r) for r in rows):
        off = 4 * r - base
        while off > CODE_WRITEBACK:  # far: move the base (to the row, or as far as one ADDW goes)
            m = min(off, CODE_MOVE)
            out.append(("move", r, m))
            base += m
            off -= m
        if off <= CODE_NEAR:
            out.append(("near", r, off))
        else:
            out.append(("writeback", r, off))
            base += off
    return out


def code_col_bytes(w: np.ndarray) -> np.ndarray:
    """Thumb-2 bytes of each input's SynOps compiled into code (0 without weights; the
    return and pointer are counted apart). A64 spends 12 per SynOp, x86-64 ~7."""
    out = np.zeros(w.shape[1], np.int64)
    for j in np.flatnonzero(np.any(w != 0, axis=0)):
        out[j] = sum(CODE_STEP_BYTES[k] for k, _, _ in code_steps(np.flatnonzero(w[:, j])))
    return out


def code_bytes(w: np.ndarray) -> int:
    """Estimated flash of a layer compiled into code (Thumb-2)."""
    return (int(code_col_bytes(w).sum())
            + CODE_BYTES_PER_COL * int(np.count_nonzero(np.any(w != 0, axis=0)))
            + 4 * w.shape[1])  # the table of function pointers


def _table_bytes(w: np.ndarray, storage: str) -> int:
    n_out, n_in = w.shape
    nz = int(np.count_nonzero(w))
    if storage == "dense":
        return -(-n_out // 4) * 4 * n_in
    return nz * (2 if n_out <= 256 else 3) + 2 * (n_in + 1)


def storage_plan(g, fused: list[Fused], budget: int) -> None:
    """Set each event-driven layer's storage (:func:`storage_for`). Layers that would be
    fastest as code get it smallest first while the estimated flash of all the model's
    weights stays under ``budget``; the rest keep their table storage."""
    ws = {f.node: np.asarray(g.nodes[f.node].weight) for f in fused}
    for f in fused:
        f.storage = storage_for(ws[f.node])
    want = [f for f in fused if storage_for(ws[f.node], code=True) == "code"]
    used = sum(_table_bytes(ws[f.node], f.storage) for f in fused)
    # Every other weight tensor of the model takes flash too (at least a byte a weight).
    used += sum(int(np.asarray(v.weight).size) for n, v in g.items()
                if n not in ws and hasattr(v, "weight") and v.weight is not None)
    # Each layer's code bytes per split point, computed once (a Python walk per weight).
    splits = {f.node: _split_bytes(ws[f.node]) for f in want}
    for f in sorted(want, key=lambda f: (int(splits[f.node][-1]), f.node)):
        w = ws[f.node]
        table = _table_bytes(w, f.storage)
        split = splits[f.node]
        # The most leading inputs as code that fit (all of them, or, for a CSC layer, at
        # least an eighth: the rest stay CSC behind the same dispatch).
        fits = np.flatnonzero(used - table + split <= budget)
        c = int(fits.max()) if fits.size else 0
        if c < w.shape[1] and (f.storage != "csc" or c < max(w.shape[1] // 8, 1)):
            continue
        f.storage, f.code_cols, f.code_size = "code", c, int(split[c])
        used += int(split[c]) - table


def _split_bytes(w: np.ndarray) -> np.ndarray:
    """Estimated flash of ``w`` with inputs [0, c) as code and [c, n_in) as CSC, for
    every c in 0..n_in (the function-pointer table covers every input)."""
    n_out, n_in = w.shape
    nz = np.count_nonzero(w, axis=0)
    cum = np.concatenate([[0], np.cumsum(nz)])
    cols = np.concatenate([[0], np.cumsum(nz > 0)])
    code = (np.concatenate([[0], np.cumsum(code_col_bytes(w))])
            + CODE_BYTES_PER_COL * cols + 4 * n_in)
    c = np.arange(n_in + 1)
    csc = np.where(c < n_in, (cum[-1] - cum) * (2 if n_out <= 256 else 3) + 2 * (n_in - c + 1),
                   0)
    return code + csc


def dot_path(ctx: _Ctx, f: Fused) -> bool:
    """A layer over small int32 inputs lowered as per-neuron SMLAD dot products."""
    n_in = np.asarray(ctx.graph.nodes[f.node].weight).shape[1]
    return not f.spikes and ctx.bound[f.src] < 1 << 15 and n_in <= 256


def _const_or_table(ctx: _Ctx, name: str, field_: str, values: np.ndarray,
                    ctype: str = "int32_t") -> str:
    """A literal when every neuron shares the value, else a table indexed by ``i``."""
    from snnc.compiler.codegen import cgen

    v = np.ravel(np.asarray(values, dtype=np.int64))
    if v.size == 0 or np.all(v == v[0]):
        return cgen.int_literal(int(v[0]) if v.size else 0)
    return f"{ctx.table(ctype, f'{ctx.ids[name]}_{field_}', v)}[i]"


def active_list(ctx: _Ctx, name: str, n: int) -> tuple[str, str]:
    """State members holding ``name``'s active spike indices and their count."""
    nid = ctx.ids[name]
    return (ctx.member("uint16_t", f"act_{nid}", n, f"{name}: indices of the active spikes"),
            ctx.member("int32_t", f"nact_{nid}", None, f"{name}: number of active spikes"))


def emit_list_scan(ctx: _Ctx, name: str, src: str, n: int, lines: list[str]) -> None:
    """After a generic spike producer: build its active list from the spike bytes."""
    act, nact = active_list(ctx, name, n)
    lines.append(f"    {nact} = snnc_active({src}, {n}, {act});")


def _acc_member(ctx: _Ctx, nid: str, ctype: str, n: int, what: str) -> str:
    """A persistent accumulator array in the state struct (zero at reset, cleared by
    the population as it reads each element, so the step needs no memset)."""
    name = f"acc_{nid}"
    # int16 accumulators are word-aligned for the SIMD kernel (a union with an int32_t).
    return ctx.member(ctype, name, n, what,
                      align=4 if ctype == "int16_t" else 0)


def _fused_layer(ctx: _Ctx, f: Fused, lines: list[str], mults: list[np.ndarray],
                 vecs: list[dict | None] | None = None,
                 events: list[str] | None = None) -> tuple[str, str]:
    """Emit one fused layer's tables and accumulation; returns the requantized term of
    row ``i`` and the statement clearing its accumulator. Per-row multipliers of the
    exact 32-bit form go to ``mults`` (token ``@Mk@``): the population interleaves them
    into one table, so the neuron loop walks one pointer for all its layers.
    ``events`` gets an expression that is 0 exactly when row ``i``'s input this step is
    the one it gets without input events (its accumulator is 0, or the row has no
    weights): the idle-neuron skip of :func:`lower_population` tests it."""
    node = ctx.graph.nodes[f.node]
    nid = ctx.ids[f.node]
    w = np.asarray(node.weight, dtype=np.int64)
    n_out, n_in = w.shape
    rb = _row_bound(node, 1 if f.spikes else ctx.bound[f.src])
    bias = np.asarray(node.bias, dtype=np.int64)
    act = f"s->act_{ctx.ids[f.src]}"
    nact = f"s->nact_{ctx.ids[f.src]}"
    what = (f"{f.node}: {n_out}x{n_in} int8, event-driven over {f.src}'s active spikes"
            + (" of step t-1" if f.back or f.src == f.dst else ""))
    # Dense over spikes: int16 SIMD accumulators. If a whole step could overflow them,
    # they are flushed into int32 ones every `chunk` active inputs (chunk * max|w| < 2^15).
    narrow = f.spikes and f.storage == "dense"
    wmax = max(int(w.max(initial=0)), -int(w.min(initial=0)), 1)  # no |w| copy
    chunk = 0 if int(rb.max(initial=0)) < 1 << 15 else ((1 << 15) - 1) // wmax
    dot = None
    const = None  # dot path: table of rq(bias) for rows without weights
    if dot_path(ctx, f):
        # A row without weights gets the same input every step: rq(bias), computed here.
        # Its table entry is that value, INT32_MIN for the rows computed at run time
        # (unless some rq(bias) is INT32_MIN itself: then every row is computed).
        empty = ~np.any(w != 0, axis=1)
        if np.any(empty):
            b0 = np.asarray(node.bias, np.int64)
            rq0 = requant(b0 if b0.size else np.zeros(n_out, np.int64),
                          np.ravel(np.broadcast_to(np.asarray(node.mult, np.int64), (n_out,))),
                          np.ravel(np.broadcast_to(np.asarray(node.shift, np.int64), (n_out,))),
                          int(node.out_bits))
            if np.all(empty):
                if events is not None:
                    events.append("0")
                if vecs is not None:
                    vecs.append(None)
                return _const_or_table(ctx, f.node, "rq_bias", rq0), ""
            if np.any(rq0[empty] == -(1 << 31)):
                empty[:] = False
        if np.any(empty):
            const = ctx.table("int32_t", f"{nid}_rq_bias", np.where(empty, rq0, -(1 << 31)),
                              f"{f.node}: rq(bias) of the {int(empty.sum())} rows without "
                              "weights (a constant input); INT32_MIN: computed at run time")
        # Small int16 inputs (a quantized sensor): int16 weights in pairs, SMLAD, one dot
        # product per neuron inside the neuron loop (no accumulator array).
        zp = np.zeros(n_in, dtype=np.int64)
        if f.src in ctx.late_direct:
            # Read the caller's x_q and fold the zero point into the bias (exact:
            # sum_j w_ij (x_j - zp_j) + b_i = sum_j w_ij x_j + (b_i - sum_j w_ij zp_j)).
            zp = np.ravel(np.broadcast_to(np.asarray(ctx.graph.nodes[f.src].zero_point,
                                                     np.int64), (n_in,)))
            folded = (bias if bias.size else np.zeros(n_out, np.int64)) - w @ zp
            if np.any(zp) and int(np.abs(folded).max()) < 1 << 29:
                bias, zp = folded, np.zeros(n_in, dtype=np.int64)
        # The bias rides along as columns over constant inputs: (1) if it fits int16,
        # else (2^14, 1) with the bias split into its high and low 14-bit parts.
        bmax = int(np.abs(bias).max()) if bias.size else 0
        n_b = 0 if not bmax else 1 if bmax < 1 << 15 else 2 if bmax < 1 << 29 else 0
        in_bias = n_b > 0
        n_x = n_in + n_b
        n2 = n_x + n_x % 2
        wp = np.zeros((n_out, n2), dtype=np.int64)
        wp[:, :n_in] = w
        if n_b == 1:
            wp[:, n_in] = bias
        elif n_b == 2:
            wp[:, n_in], wp[:, n_in + 1] = bias >> 14, bias & ((1 << 14) - 1)
        if in_bias:
            bias = np.zeros(0, dtype=np.int64)
        t = ctx.table("int16_t", f"{nid}_w", wp,
                      f"{f.node}: {n_out}x{n_in} over int16 inputs, row-major int16 "
                      + (f"with the bias as column(s) {n_in}.. " if in_bias else "")
                      + f"(padded to {n2} columns: pairs for SMLAD)")
        ctx.tables[-1] = ctx.tables[-1].replace(f"{t}[{wp.size}] =",
                                                f"{t}[{wp.size}] SNNC_ALIGN4 =")
        xs = f"x_{nid}"
        lines.append(f"    union {{ int32_t align; int16_t v[{n2}]; }} {xs};")
        if f.src in ctx.late_direct:  # the caller's int16 inputs, zero point removed here
            off = ctx.in_off[f.src]
            zname = f"{ctx.ids[f.src]}_zero_point"
            if np.any(zp) and zname not in ctx.names:
                ctx.table("int32_t", zname, zp)
            z = f" - {zname}[i]" if np.any(zp) else ""
            lines.append(f"    for (i = 0; i < {n_in}; ++i) {xs}.v[i] = "
                         f"(int16_t)(in[{off} + i]{z});")
        else:
            lines.append(f"    for (i = 0; i < {n_in}; ++i) {xs}.v[i] = "
                         f"(int16_t){ctx.y(f.src)}[i];")
        if n_b == 1:
            lines.append(f"    {xs}.v[{n_in}] = 1; /* the bias column's input */")
        elif n_b == 2:
            lines.append(f"    {xs}.v[{n_in}] = 16384; /* the bias columns' inputs */")
            lines.append(f"    {xs}.v[{n_in + 1}] = 1;")
        if n2 > n_x:
            lines.append(f"    {xs}.v[{n_x}] = 0;")
        dot = f"snnc_dot_i16x2({t} + {n2} * i, {xs}.v, {n2})"
    elif not f.spikes and ctx.bound[f.src] < 1 << 15 and n_in % 4 == 0:
        # Large layer over small inputs: int8 weights as stored (no int16 copy of a big
        # table), the inputs as int16 packed once per step for every layer reading them
        # (the packing is the kernel's own layout: see kernels.h).
        acc = _acc_member(ctx, nid, "int32_t", n_out, f"{f.node}: accumulators")
        t = ctx.table("int8_t", f"{nid}_w", w,
                      f"{f.node}: {n_out}x{n_in} int8 over int16 inputs, row-major")
        ctx.tables[-1] = ctx.tables[-1].replace(f"{t}[{w.size}] =",
                                                f"{t}[{w.size}] SNNC_ALIGN4 =")
        x16 = ctx.x16.get(f.src)
        if x16 is None:
            x16 = ctx.member("int16_t", f"x16_{ctx.ids[f.src]}", n_in,
                             f"{f.src}: int16 copy in snnc_pack_x16's layout, rewritten "
                             "each step before its first reader", align=4)
            ctx.x16[f.src] = x16
            lines.append(f"    snnc_pack_x16({x16}, {ctx.y(f.src)}, {n_in});")
        lines.append(f"    snnc_mac_i8x16({acc}, {t}, {n_out}, {n_in}, {x16});")
    elif not f.spikes:
        acc = _acc_member(ctx, nid, "int32_t", n_out, f"{f.node}: accumulators")
        t = ctx.table("int8_t", f"{nid}_w", w,
                      f"{f.node}: {n_out}x{n_in} int8 over int32 inputs, row-major")
        lines.append(f"    snnc_mac_i8({acc}, {t}, {n_out}, {n_in}, {ctx.y(f.src)});")
    elif narrow:
        # int16 accumulators; outputs padded to 4, groups of 4 stored (w0, w2, w1, w3).
        n_pad = -(-n_out // 4) * 4
        wp = np.zeros((n_in, n_pad), dtype=np.int16)  # int8 values: int16 is exact
        wp[:, :n_out] = np.asarray(node.weight).T  # transposed from int8, not int64: 8x less
        wp = wp.reshape(n_in, n_pad // 4, 4)[:, :, [0, 2, 1, 3]]
        t = ctx.table("int8_t", f"{nid}_w", wp,
                      f"{what}: column-major, padded to {n_pad} rows, groups of 4 "
                      "ordered (0, 2, 1, 3) for SXTB16")
        ctx.tables[-1] = ctx.tables[-1].replace(f"{t}[{wp.size}] =",
                                                f"{t}[{wp.size}] SNNC_ALIGN4 =")
        if not chunk:
            acc = _acc_member(ctx, nid, "int16_t", n_pad, f"{f.node}: accumulators")
            lines.append(f"    snnc_ev_dense_i8x4({acc}, {t}, {n_pad}, {act}, {nact});")
        else:
            a16 = _acc_member(ctx, f"{nid}_16", "int16_t", n_pad,
                              f"{f.node}: int16 partial sums (zero between steps)")
            acc = _acc_member(ctx, nid, "int32_t", n_pad, f"{f.node}: accumulators")
            lines.append(f"    snnc_ev_dense_i8x4_wide({acc}, {a16}, {t}, {n_pad}, {act}, "
                         f"{nact}, {chunk});")
    elif f.storage == "code":
        acc = _acc_member(ctx, nid, "int32_t", n_out, f"{f.node}: accumulators")
        lines.append(f"    {_code_layer(ctx, f, w, what)}({acc}, {act}, {nact});")
    else:
        acc = _acc_member(ctx, nid, "int32_t", n_out, f"{f.node}: accumulators")
        nz_cols, nz_rows = np.nonzero(w.T)
        col_ptr = np.concatenate([[0], np.cumsum(np.bincount(nz_cols, minlength=n_in))])
        pt, ps = ("uint16_t", "p16") if nz_rows.size < 1 << 16 else ("int32_t", "p32")
        rt, rs = ("uint8_t", "r8") if n_out <= 256 else ("uint16_t", "r16")
        cp = ctx.table(pt, f"{nid}_col_ptr", col_ptr, f"{what}: CSC, {nz_rows.size} non-zeros")
        r = ctx.table(rt, f"{nid}_row", nz_rows)
        v = ctx.table("int8_t", f"{nid}_w", w[nz_rows, nz_cols])
        lines.append(f"    snnc_ev_csc_{ps}_{rs}({acc}, {cp}, {r}, {v}, {act}, {nact});")
    clear = f"{acc}[i] = 0;" if dot is None else ""
    if events is not None:
        events.append(f"{acc}[i]" if dot is None else
                      "1" if const is None else f"{const}[i] == INT32_MIN")
    x = f"{acc}[i]" if dot is None else dot
    if bias.size and np.any(bias):  # added as read (the accumulators restart from 0)
        x = f"({x} + {_const_or_table(ctx, f.node, 'bias', bias)})"
    # Requantization: exact 32-bit form when 1 <= shift <= 32 and |acc| << (32 - shift)
    # stays below 2^31 for every row, else the contract's 64-bit snnc_rq.
    mult = np.ravel(np.broadcast_to(np.asarray(node.mult, np.int64), (n_out,)))
    shift = np.ravel(np.broadcast_to(np.asarray(node.shift, np.int64), (n_out,)))
    bits = int(node.out_bits)
    if const is not None:
        # Rows with a compile-time value never reach the run-time rq: give them a
        # computed row's parameters so they do not constrain its form.
        live = int(np.flatnonzero(~empty)[0])
        mult, shift, rb = mult.copy(), shift.copy(), rb.copy()
        mult[empty], shift[empty], rb[empty] = mult[live], shift[live], rb[live]
    # Saturation to out_bits is a no-op when |rq| can never reach the limit.
    top = (rb * mult + (1 << np.maximum(shift - 1, 0))) >> shift
    if int(top.max(initial=0)) < (1 << (bits - 1)) - 1:
        bits = 32
    uni = rq_uniform(mult, shift, rb)
    if uni is not None:  # one shift for the layer, multipliers verified exhaustively
        lsh, mult = uni
        mults.append(mult)
        if vecs is not None:  # what the NEON neuron loop needs (see _neon_loop)
            vecs.append(dict(acc=acc, wide=acc.endswith(".v") is False, l=lsh,
                             k=len(mults) - 1, bits=bits)
                        if dot is None and x == f"{acc}[i]" and lsh >= 1 else None)
        return _or_const(const, f"snnc_rq_hr({x}, @M{len(mults) - 1}@, {lsh}, {bits})"), clear
    if vecs is not None:
        vecs.append(None)
    t_ = max(0, int(shift.max(initial=0)) - 32)
    lsh = 32 + t_ - shift
    if np.all((lsh >= 0) & (lsh <= 31)) and np.all(rb << lsh < 1 << 31):
        if not np.all(mult == mult[0]) and not np.all(lsh == lsh[0]):  # (mult, shift) pairs
            pairs = ctx.table("int32_t", f"{nid}_rq", np.stack([mult, lsh], axis=1),
                              f"{f.node}: (multiplier, left shift) per row")
            m, lsh = f"{pairs}[2 * i]", np.array([0])
            sh = f"{pairs}[2 * i + 1]"
        else:
            m = _const_or_table(ctx, f.node, "mult", mult)
            sh = _const_or_table(ctx, f.node, "lshift", lsh, "uint8_t")
        term = (f"snnc_rq_hr({x}, {m}, {sh}, {bits})" if t_ == 0 else
                f"snnc_rq_h({x}, {m}, {sh}, {t_}, {bits})")
    else:
        m = _const_or_table(ctx, f.node, "mult", mult)
        sh = _const_or_table(ctx, f.node, "shift", shift)
        term = f"snnc_rq({x}, {m}, {sh}, {bits})"
    return _or_const(const, term), clear


def _or_const(const: str | None, term: str) -> str:
    """``term``, or the row's compile-time value where the table ``const`` holds one."""
    return term if const is None else f"({const}[i] != INT32_MIN ? {const}[i] : {term})"


def _code_layer(ctx: _Ctx, f: Fused, w: np.ndarray, what: str) -> str:
    """Define the functions adding a layer's weights compiled into code; returns the
    name of the one called with the accumulators and the active list.

    Input j with non-zero weights gets a function adding them as immediates
    (``SNNC_CODE_ADD(17, 68, 5)``: ``acc[17] += 5``, a load, add and store on the M4, row
    17 at byte 68 from a base that moves up the rows: :func:`code_steps`), so a SynOp
    needs no index or weight load and no loop test; a table of function pointers
    by input dispatches an active input in a few instructions. The macros of
    ``runtime/include/snnc/kernels.h`` make them C, or the same instructions as
    assembly on Thumb-2, A64 and x86-64 (fast to build).
    """
    base = ctx.ids[f.node]
    name = f"{base}_add_spikes"
    if name in ctx.names:
        raise SnncError(f"internal: function '{name}' emitted twice")
    ctx.names.add(name)
    n_out, n_in = w.shape
    c = f.code_cols or n_in
    size = f.code_size or int(_split_bytes(w)[c])
    part = (f"inputs 0..{c - 1} of {n_in} as code, the rest CSC ({base}_csc_column)"
            if c < n_in else "")
    note = textwrap.wrap(
        f"{cnames.c_comment(what)}: weights compiled into code (storage 'code'"
        f"{': ' + part if part else ''}; {int(np.count_nonzero(w))} non-zeros, ~{size} B "
        f"of flash, 3 instructions per SynOp as code). {base}_in<j> adds input j's non-zero "
        "weights to the accumulators: SNNC_CODE_ADD(row, offset, w) is acc[row] += w, "
        "SNNC_CODE_SUB(row, offset, w) acc[row] -= w, the row addressed from a base that "
        "the W forms and SNNC_CODE_MOVE move up (snnc/kernels.h: C, or assembly on Thumb-2, "
        f"A64 and x86-64); {base}_columns[j] points to it.", 86, break_on_hyphens=False)
    out = ["/*", *(f" * {t}" for t in note), " */"]
    if c < n_in:  # the inputs beyond the flash budget: CSC tables and one function
        rest = w[:, c:]
        nz_cols, nz_rows = np.nonzero(rest.T)
        col_ptr = np.concatenate([[0], np.cumsum(np.bincount(nz_cols, minlength=n_in - c))])
        cp = ctx.table("uint16_t" if nz_rows.size < 1 << 16 else "int32_t",
                       f"{base}_col_ptr", col_ptr,
                       f"{f.node}: inputs {c}.. (input j at j - {c}), CSC")
        r = ctx.table("uint8_t" if n_out <= 256 else "uint16_t", f"{base}_row", nz_rows)
        v = ctx.table("int8_t", f"{base}_w", rest[nz_rows, nz_cols])
        out += [f"static void {base}_csc_column(int32_t *restrict acc, int32_t j)",
                "{",
                f"    const int32_t end = {cp}[j - {c} + 1];",
                "    int32_t p;",
                "    SNNC_UNROLL(8)",
                f"    for (p = {cp}[j - {c}]; p < end; ++p) acc[{r}[p]] += {v}[p];",
                "}"]
    out += ["#if defined(__GNUC__) && !defined(__clang__) && !defined(SNNC_CODE_ASM)",
            "#pragma GCC push_options",
            "/* -O1 emits the same load/add/store per weight as -O2 and compiles faster. */",
            '#pragma GCC optimize("O1")',
            "#endif",
            f"typedef void {base}_column_fn(int32_t *restrict acc, int32_t j);"]
    if not np.all(np.any(w != 0, axis=0)):
        out.append(f"static void {base}_none(int32_t *restrict acc, int32_t j) "
                   "{ (void)acc; (void)j; } /* inputs without weights */")
    fns = []
    for j in range(n_in):
        rows = np.flatnonzero(w[:, j])
        if not rows.size:
            fns.append(f"{base}_none")
            continue
        if j >= c:
            fns.append(f"{base}_csc_column")
            continue
        fns.append(f"{base}_in{j}")
        line = f"SNNC_CODE_FN({base}_in{j},"
        for kind, r, off in code_steps(rows):
            v = int(w[r, j])
            op = "ADD" if v > 0 else "SUB"
            st = (f"SNNC_CODE_MOVE({off})" if kind == "move" else
                  f"SNNC_CODE_{op}{'W' if kind == 'writeback' else ''}({r}, {off}, {abs(v)})")
            if len(line) + 1 + len(st) > 98:
                out.append(line)
                line = "    " + st
            else:
                line += " " + st
        out.append(line + ")")
    out += ["#if defined(__GNUC__) && !defined(__clang__) && !defined(SNNC_CODE_ASM)",
            "#pragma GCC pop_options", "#endif",
            f"static {base}_column_fn *const {base}_columns[{n_in}] = {{"]
    line = "   "
    for fn in fns:
        if len(line) + len(fn) + 2 > 98:
            out.append(line)
            line = "   "
        line += f" {fn},"
    out += [line, "};",
            f"static void {name}(int32_t *restrict acc, const uint16_t *restrict act, "
            "int32_t n_act)",
            "{", "    int32_t k;",
            f"    for (k = 0; k < n_act; ++k) {base}_columns[act[k]](acc, act[k]);", "}", ""]
    ctx.struct("\n".join(out), size)
    if ctx.cur is not None:
        ctx.flash_by[ctx.cur] = ctx.flash_by.get(ctx.cur, 0) + size
    return name


def rq_uniform(mult: np.ndarray, shift: np.ndarray, bound: np.ndarray,
               max_bound: int = 1 << 20) -> tuple[int, np.ndarray] | None:
    """A layer-wide left shift ``l`` and per-row multipliers ``m'`` such that
    ``snnc_rq_hr(acc, m', l)`` (``(acc * 2^l * m' + 2^31) >> 32``) equals the contract's
    ``rshift_round(acc * mult, shift)`` for every ``|acc| <= bound`` of the row.

    The equality is checked on every accumulator value the row can take (the bound comes
    from the weights, so this is a proof, not a sample); None when some row has no such
    multiplier (the caller then keeps per-row shifts) or the range is too large to check.
    """
    bmax = int(bound.max(initial=0))
    if bmax > max_bound or mult.size == 0:
        return None
    # The smallest shift that keeps every m' = mult * 2^(32 - shift - l) within 31 bits
    # (rows with larger shifts lose their lowest multiplier bits: hence the check below).
    lsh = int(np.max(32 - shift))
    if lsh < 0 or lsh > 31 or (bmax << lsh) >= 1 << 31:
        return None
    out = np.empty_like(mult)
    for i, (m, sh, b) in enumerate(zip(mult.tolist(), shift.tolist(), bound.tolist())):
        k = sh + lsh - 32  # m' = round(m / 2^k)
        if k == 0 and sh >= 1 and 0 <= m < 1 << 31:
            # No multiplier bit is lost: with l = 32 - sh, (a 2^l m + 2^31) >> 32 =
            # floor((a m + 2^(sh-1)) 2^(32-sh) / 2^32) = (a m + 2^(sh-1)) >> sh for every
            # a, so m' = m (what the check below finds first) needs no check; this skips
            # O(rows x bound) work on wide layers (a 4M-synapse layer: ~1 s).
            out[i] = m
            continue
        a = np.arange(-b, b + 1, dtype=np.int64)
        want = (a * m + (1 << (sh - 1))) >> sh if sh > 0 else a * m
        base = (m + (1 << (k - 1))) >> k if k > 0 else m
        for cand in (base, base - 1, base + 1):
            if 0 <= cand < 1 << 31 and np.array_equal(
                    ((a << lsh) * cand + (1 << 31)) >> 32, want):
                out[i] = cand
                break
        else:
            return None
    return lsh, out


# Idle-neuron skip (see lower_population): the input activity it is planned for, and the
# estimated share of rows without input events above which it pays (a skipped neuron
# costs ~5 M4 instructions instead of ~25, an updated one 1-2 more for the event test).
IDLE_ACTIVITY, IDLE_MIN_SHARE = 0.05, 0.5
# ... and above which the masked loop replaces the NEON one (python -m snnc.bench.target_sparsity).
IDLE_NEON_SHARE = 0.9


def idle_share(ctx: _Ctx, p: Plan, name: str) -> float:
    """Estimated share of ``name``'s neurons that get no input event in a step: a row with
    k non-zero weights over spikes of activity a is silent with probability (1 - a)^k
    (a: the source's spike rate on the calibration data, recorded by the quantize pass,
    else ``IDLE_ACTIVITY``); a row over values only when it has no weights. 0 when some
    input is not a fused layer (its value is not known to be constant)."""
    rates = ctx.graph.metadata.get("quantization", {}).get("nodes", {})
    chance = np.ones(ctx.graph.nodes[name].size)
    for src in ctx.preds[name]:
        f = p.fused.get(src)
        if f is None or f.dst != name:
            return 0.0
        k = np.count_nonzero(np.asarray(ctx.graph.nodes[src].weight), axis=1)
        a = float((rates.get(f.src) or {}).get("spike_rate", IDLE_ACTIVITY))
        chance *= (1 - a) ** k if f.spikes else (k == 0)
    return float(chance.mean())


def rest_range(lif: bool, beta: int, c: int, thr: int, bits: int) -> tuple[int, int]:
    """The membrane values ``[lo, hi]`` the neuron update maps to themselves without a
    spike when its input is the constant ``c`` (leak included): ``sat(decay(v) + c)``
    (LIF) or ``sat(v + c)`` (IF) equals ``v`` and ``v <= thr``. Found by trying every
    ``bits``-bit value; the longest run of such values (lo > hi: none)."""
    v = np.arange(-(1 << (bits - 1)), 1 << (bits - 1), dtype=np.int64)
    pre = (decay(v, beta) if lif else v) + c
    ok = (sat(pre, bits) == v) & (v <= thr)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return 1, 0
    runs = np.split(idx, np.flatnonzero(np.diff(idx) != 1) + 1)
    best = max(runs, key=len)
    return int(v[best[0]]), int(v[best[-1]])


def lower_population(ctx: _Ctx, p: Plan, name: str, node: Any,
                     lines: list[str]) -> None:
    """One specialized block for a 16-bit LIF/IF population and its fused layers.

    Idle-neuron skip, when most neurons are expected to get no input event
    (:func:`idle_share`): without input events a neuron's input is a constant known at
    compile time (the sum of its layers' rq(bias), usually 0), so the membrane values
    its update maps to themselves without a spike form a known range
    (:func:`rest_range`: e.g. v = 0 with no leak, and the small values decay rounding
    keeps). A neuron with no input event and v in that range is skipped: exact, as the
    update would leave v as it is and not spike, and its accumulators are already 0.
    """
    ctx.need_i = True
    n = node.size
    nid = ctx.ids[name]
    shape = tuple(node.shape)
    terms: list[str] = []
    clears: list[str] = []
    mults: list[np.ndarray] = []
    vecs: list[dict | None] = []
    events: list[str] = []
    bound = 0
    for src in ctx.preds[name]:
        f = p.fused.get(src)
        if f is not None and f.dst == name:
            term, clear = _fused_layer(ctx, f, lines, mults, vecs, events)
            terms.append(term)
            if clear:
                clears.append(clear)
            bound += 1 << (int(ctx.graph.nodes[src].out_bits) - 1)
        else:
            terms.append(f"(int32_t){ctx.y(src)}[i]")
            bound += ctx.bound[src]
            vecs.append(None)
    bits = int(node.state_bits)

    def par(field_: str) -> np.ndarray:
        return np.ravel(np.broadcast_to(np.asarray(getattr(node, field_), np.int64), shape))

    thr, reset_q = par("thr_q"), par("reset_q")
    fz = fused_neuron(node)  # the op's form in this kernel: its decay and leak fields
    leak = par(fz.leak) if fz.leak else np.zeros(n, np.int64)
    bound += (1 << (bits - 1)) + int(np.abs(leak).max(initial=0))
    wide = bound >= 1 << 31  # the exact sum needs 64 bits: keep it (rare: int32 inputs)
    vt = "int64_t" if wide else "int32_t"
    v = ctx.member("int16_t", f"v_{nid}", n, f"{name}: membrane")
    succ = [b for a, b in ctx.graph.edges if a == name]
    need_buf = any(b not in p.fused and b not in p.counts for b in succ)
    counters = [ctx.buffer(b, n, f"{b}: spike counts of {name} (state and output)",
                           state=True) for b in succ if p.counts.get(b) == name]
    y = ctx.buffer(name, n, f"{name}: spikes") if need_buf else None
    keep_list = name in p.lists
    if keep_list:
        act, nact = active_list(ctx, name, n)
        lines.append("    int32_t n_act = 0;")
    x = " + ".join(f"({vt}){t}" if wide else t for t in terms) or "0"
    per = [k for k, m in enumerate(mults) if not np.all(m == m[0])]
    for k, m in enumerate(mults):
        if k not in per:
            x = x.replace(f"@M{k}@", str(int(m[0])))
    if per:  # one interleaved table: row i's multipliers are adjacent
        tab = ctx.table("int32_t", f"{nid}_mult", np.stack([mults[k] for k in per], axis=1),
                        f"{name}: requantization multipliers of its {len(per)} fused "
                        "layers (in the order of the sum below), interleaved per neuron")
        for j, k in enumerate(per):
            x = x.replace(f"@M{k}@", f"{tab}[{len(per)} * i + {j}]")
    if fz.decay:
        beta = _const_or_table(ctx, name, fz.decay, par(fz.decay))
        lk = _const_or_table(ctx, name, fz.leak, leak) if fz.leak else "0"
        pre = f"snnc_decay16({v}[i], {beta}) + {x}" + ("" if lk == "0" else f" + {lk}")
    else:
        pre = f"{v}[i] + {x}"
    th = _const_or_table(ctx, name, "thr_q", thr)
    sat = f"snnc_sat({pre}, {bits})" if wide else f"snnc_ssat({pre}, {bits})"
    after = (f"{_const_or_table(ctx, name, 'reset_q', reset_q)}"
             if getattr(node, "reset", "subtract") == RESET_ZERO else f"vi - {th}")
    body = []
    rest = None
    share = idle_share(ctx, p, name) if len(events) == len(terms) else 0.0
    if "1" not in events and share >= IDLE_MIN_SHARE:
        rest = _rest_test(ctx, name, node, par, bits, "@V@")
    # Up to 32 neurons without a spike buffer: the neurons to update are found as bits
    # (those an active input reaches, and those not at rest), so an idle one costs nothing.
    masks = rest is not None and n <= 32 and y is None and not wide
    if rest and not masks:
        ev = " | ".join(f"({e})" if "=" in e else e for e in events if e != "0") or "0"
        skip = "continue;" if not y else f"{{ {y}[i] = 0; continue; }}"  # y may be arena
        body += [f"        if (!({ev}) && {rest.replace('@V@', f'{v}[i]')})",
                 f"            {skip} /* no input event, v at rest: it stays unchanged */"]
    fire = [f"        if (vi > {th}) {{", f"            vi = {after};"]
    if keep_list:
        fire.append(f"            {act}[n_act++] = (uint16_t)i;")
    for c in counters:  # sat_32(c + 1)
        fire.append(f"            {c}[i] += {c}[i] != INT32_MAX;")
    if y:
        fire += [f"            {y}[i] = 1;", "        } else {", f"            {y}[i] = 0;"]
    fire += ["        }", f"        {v}[i] = (int16_t)vi;"]
    body += [f"        int32_t vi = {sat};"] + [f"        {c}" for c in clears] + fire
    neon = None
    # With the bit masks most neurons cost nothing: when nearly all are expected idle,
    # better than four at a time (A72).
    if (not (masks and share >= IDLE_NEON_SHARE) and not wide and bits == 16 and n % 4 == 0 and vecs and all(vecs)
            and len(per) <= 4 and all(q["bits"] in (16, 32) for q in vecs)):
        neon = _neon_loop(node, n, v, vecs, mults, per, tab if per else "", par,
                          act if keep_list else "", counters, y)
    if neon:
        lines.append("#if defined(SNNC_NEON)")
        lines += neon
        lines.append("#else")
    if masks:
        # Neurons no event reaches get the constant input (accumulators all 0): a
        # decay step of their own, without requantization.
        c = _const_or_table(ctx, name, "idle_in", idle_input(ctx, name, node, par))
        c = "" if c == "0" else f" + {c}"
        drift = (f"snnc_decay16({v}[i], {beta}){c}" if fz.decay
                 else f"{v}[i]{c}")
        at_rest = f"        rest |= (uint32_t)({rest.replace('@V@', 'vi')}) << i;"
        lines += _todo_mask(ctx, p, name, nid, n)
        lines += ["    while (todo) {",
                  "        i = snnc_ctz32(todo);",
                  "        todo &= todo - 1;"]
        lines += body + [at_rest, "    }",
                         "    while (drift) { /* no input event, not at rest */",
                         "        i = snnc_ctz32(drift);",
                         "        drift &= drift - 1;",
                         f"        int32_t vi = snnc_ssat({drift}, {bits});"]
        lines += fire + [at_rest, "    }", f"    s->rest_{nid} = (int32_t)rest;"]
    else:
        if n >= 8:
            lines.append("    SNNC_NEURON_UNROLL")
        lines.append(f"    for (i = 0; i < {n}; ++i) {{")
        lines += body
        lines.append("    }")
    if neon:
        lines.append("#endif")
    if keep_list:
        lines.append(f"    {nact} = n_act;")


def _todo_mask(ctx: _Ctx, p: Plan, name: str, nid: str, n: int) -> list[str]:
    """The statements computing, for a population of up to 32 neurons, ``todo`` (bit i:
    an input event reaches neuron i: a table of the rows each input reaches, per layer
    over spikes; the rows with weights of a layer over values), ``drift`` (the others
    not at rest after their last update) and ``rest`` (bit i: neuron i at rest, kept for
    the neurons not updated). Zero state: no neuron known at rest."""
    member = ctx.member("int32_t", f"rest_{nid}", None,
                        f"{name}: bit i set if neuron i was at rest after its last update")
    full = (1 << n) - 1
    out = [f"    uint32_t rest = (uint32_t){member};",
           "    uint32_t todo = 0; /* the neurons an input event reaches */"]
    const = 0
    for src in ctx.preds[name]:
        f = p.fused[src]
        reach = (np.asarray(ctx.graph.nodes[src].weight) != 0).astype(np.int64)
        bits = (reach << np.arange(n, dtype=np.int64)[:, None]).sum(axis=0)  # per input
        if not f.spikes:
            const |= int(np.bitwise_or.reduce(bits, initial=0))
            continue
        sid = ctx.ids[f.src]
        if np.all(bits == full):  # every input reaches every row
            out.append(f"    if (s->nact_{sid}) todo = 0x{full:X}u;")
            continue
        # The narrowest table (int32_t holds bit 31 as the sign).
        ctype = "uint8_t" if n <= 8 else "uint16_t" if n <= 16 else "int32_t"
        tab = ctx.table(ctype, f"{ctx.ids[src]}_reach",
                        np.where(bits >= 1 << 31, bits - (1 << 32), bits),
                        f"{src}: the rows each input reaches (bit i: row i has a weight)")
        out.append(f"    for (i = 0; i < s->nact_{sid}; ++i) "
                   f"todo |= (uint32_t){tab}[s->act_{sid}[i]];")
    if const:
        out.append(f"    todo |= 0x{const:X}u; /* rows with weights over values */")
    out += [f"    uint32_t drift = ~rest & ~todo & 0x{full:X}u; /* not reached, not at rest */",
            "    rest &= ~todo; /* set again below for the updated neurons at rest */"]
    return out


def idle_input(ctx: _Ctx, name: str, node: Any,
               par: Callable[[str], np.ndarray]) -> np.ndarray:
    """Per neuron, what the update adds to the (decayed) membrane in a step without input
    events: the sum of its fused layers' rq(bias) (accumulators 0; rq(0) = 0) and the leak."""
    n = node.size
    c = np.zeros(n, np.int64)
    for src in ctx.preds[name]:
        q = ctx.graph.nodes[src]
        b = np.asarray(q.bias, np.int64)
        if b.size and np.any(b):
            c += requant(np.broadcast_to(b, (n,)), q.mult, q.shift, int(q.out_bits))
    fz = fused_neuron(node)
    return c + (par(fz.leak) if fz.leak else 0)


def _rest_test(ctx: _Ctx, name: str, node: Any, par: Callable[[str], np.ndarray],
               bits: int, v: str) -> str | None:
    """The C test "v[i] is at rest" of :func:`lower_population`'s idle skip (literals when
    every neuron shares its range, else tables), or None when no neuron has a rest value."""
    n = node.size
    c = idle_input(ctx, name, node, par)
    fz = fused_neuron(node)
    lif = fz.decay is not None  # rest_range's decaying form
    beta = par(fz.decay) if lif else np.zeros(n, np.int64)
    thr = par("thr_q")
    keys = np.stack([beta, c, thr], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    ranges = np.array([rest_range(lif, int(b_), int(c_), int(t_), bits) for b_, c_, t_ in uniq])
    lo, hi = ranges[np.ravel(inv), 0], ranges[np.ravel(inv), 1]
    if not np.any(lo <= hi):
        return None
    if np.all(lo == lo[0]) and np.all(hi == hi[0]):
        return (f"{v} == {int(lo[0])}" if lo[0] == hi[0] else
                f"{v} >= {int(lo[0])} && {v} <= {int(hi[0])}")
    tab = ctx.table("int16_t", f"{ctx.ids[name]}_rest", np.stack([lo, hi], axis=1),
                    f"{name}: membrane range at rest (lo, hi) per neuron "
                    "(values its update keeps without input events; lo > hi: none)")
    return f"{v} >= {tab}[2 * i] && {v} <= {tab}[2 * i + 1]"


def _neon_loop(node: Any, n: int, v: str, vecs: list[dict], mults: list[np.ndarray],
               per: list[int], tab: str, par: Callable[[str], np.ndarray], act: str,
               counters: list[str], y: str | None) -> list[str] | None:
    """The neuron loop four neurons at a time with NEON (aarch64), or None when a
    parameter differs per neuron. Same arithmetic as the scalar loop: SQRDMULH of
    ``acc << (l - 1)`` is ``(acc * 2^l * m + 2^31) >> 32`` exactly (no operand is
    INT32_MIN), SQXTN is the 16-bit saturation, SRSHR by 15 the Q0.15 rounding."""
    fz = fused_neuron(node)
    consts = {}
    for f_ in tuple(f for f in (fz.decay, fz.leak) if f) + ("thr_q", "reset_q"):
        a = par(f_)
        if not np.all(a == a[0]):
            return None
        consts[f_] = int(a[0])
    if fz.decay and consts[fz.decay] > 32768:
        return None
    out = ["    for (i = 0; i < %d; i += 4) {" % n]
    if fz.decay:
        out.append(f"        int32x4_t x = vrshrq_n_s32(vmulq_n_s32(vmovl_s16(vld1_s16({v} + i)),"
                   f" {consts[fz.decay]}), 15);")
    else:
        out.append(f"        int32x4_t x = vmovl_s16(vld1_s16({v} + i));")
    if fz.leak and consts[fz.leak]:
        out.append(f"        x = vaddq_s32(x, vdupq_n_s32({consts[fz.leak]}));")
    if per:
        ld = {1: "vld1q_s32", 2: "vld2q_s32", 3: "vld3q_s32", 4: "vld4q_s32"}[len(per)]
        ty = "int32x4_t" if len(per) == 1 else f"int32x4x{len(per)}_t"
        out.append(f"        const {ty} m = {ld}({tab} + {len(per)} * i);")
    for q in vecs:
        k = q["k"]
        if k in per:
            mv = "m" if len(per) == 1 else f"m.val[{per.index(k)}]"
        else:
            mv = f"vdupq_n_s32({int(mults[k][0])})"
        acc = q["acc"]
        av = f"vld1q_s32({acc} + i)" if q["wide"] else f"vmovl_s16(vld1_s16({acc} + i))"
        t = f"vqrdmulhq_s32(vshlq_n_s32({av}, {q['l'] - 1}), {mv})"
        if q["bits"] == 16:
            t = f"vmovl_s16(vqmovn_s32({t}))"
        out.append(f"        x = vaddq_s32(x, {t});")
        out.append(f"        vst1q_s32({acc} + i, vdupq_n_s32(0));" if q["wide"] else
                   f"        vst1_s16({acc} + i, vdup_n_s16(0));")
    thr = consts["thr_q"]
    out += ["        int16x4_t vv = vqmovn_s32(x);",
            f"        const uint16x4_t sp = vcgt_s16(vv, vdup_n_s16({thr}));"]
    if getattr(node, "reset", "subtract") == RESET_ZERO:
        out.append(f"        vv = vbsl_s16(sp, vdup_n_s16({consts['reset_q']}), vv);")
    else:
        out.append(f"        vv = vsub_s16(vv, vand_s16(vreinterpret_s16_u16(sp), "
                   f"vdup_n_s16({thr})));")
    out.append(f"        vst1_s16({v} + i, vv);")
    if act or counters or y:
        out += ["        uint16_t sk[4];", "        int32_t k;", "        vst1_u16(sk, sp);"]
        if y:
            out.append(f"        for (k = 0; k < 4; ++k) {y}[i + k] = (snnc_spike_t)(sk[k] & 1);")
        if act or counters:
            out.append("        if (vget_lane_u64(vreinterpret_u64_u16(sp), 0))")
            out.append("            for (k = 0; k < 4; ++k)")
            out.append("                if (sk[k]) {")
            if act:
                out.append(f"                    {act}[n_act++] = (uint16_t)(i + k);")
            for c in counters:
                out.append(f"                    {c}[i + k] += {c}[i + k] != INT32_MAX;")
            out.append("                }")
    out.append("    }")
    return out
