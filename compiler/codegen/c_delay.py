"""Specialized lowering of integer delay rings (``QDelayedLinear``) for the C backend.

The runtime kernel ``snnc_qdelay_*`` (runtime/src/synapse.c) is generic: sizes, slot
count and requantization parameters come from a struct at run time, every synapse finds
its slot with a run-time ``%``, and every output is requantized in 64 bits. Here each
layer gets its own code instead (what TVM bakes in, and more), computing the same bits
(docs/fixed_point.md, event form):

- sizes and the ring's length are constants; the ring position is kept as an element
  offset (slot x n_out) that wraps with one compare, never a division;
- a layer whose synapses all share one delay ``D`` (HD-SNN's taps, DelayNet without
  learned delays) needs one slot per step, not one per synapse: its ring has ``D + 1``
  slots, this step's inputs are added into the slot due ``D`` steps on, and its weights
  are plain CSC (or dense column-major when most are non-zero: no index at all);
- other layers store, per synapse, ``delay * n_out + row`` (one table, one add);
- spike inputs are read from the source's active-index list (shared with the fused
  layers of :mod:`compiler.codegen.c_fused`) and their weights added, not multiplied;
- requantization is the exact 32-bit form of ``kernels.h`` where the accumulator bound
  proves it (:func:`compiler.codegen.c_fused.rq_term`), else the contract's ``snnc_rq``.

Layers whose accumulator may exceed int32 (int64 rings) and layers replaced by external
kernels (``--kernels tvm``) keep the runtime call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from snnc.compiler.codegen import c_fused
from snnc.compiler.ir.qnodes import QDelayedLinear

if TYPE_CHECKING:
    from snnc.compiler.codegen.c import _Ctx

# Dense column-major storage for a one-delay layer when at least this share of its
# weights is non-zero: a column then costs ~1 instruction per row (vectorized) against
# ~6 per stored synapse in CSC, and the table is no larger than CSC's 2-3 bytes each.
DENSE_MIN_DENSITY = 0.25


def applies(ctx: _Ctx, name: str, node: QDelayedLinear, acc_bound: int) -> bool:
    """Whether :func:`lower` handles ``name`` (else the runtime kernel does)."""
    return name not in ctx.external and acc_bound < 1 << 31 and len(ctx.preds[name]) == 1


def lower(ctx: _Ctx, name: str, node: QDelayedLinear, lines: list[str]) -> None:
    """Emit ``name``'s delay ring as specialized C into ``lines`` (see the module doc)."""
    nid = ctx.ids[name]
    w = np.asarray(node.weight)
    n_out, n_in = w.shape
    wt = "int8_t" if int(node.weight_bits) <= 8 else "int16_t"
    nz = w != 0
    d = np.broadcast_to(np.asarray(getattr(node, "delay", 0), dtype=np.int64), w.shape)
    used = np.unique(d[nz])
    uniform = used.size <= 1
    dd = int(used[0]) if used.size else 0
    slots = dd + 1 if uniform else int(used.max()) + 1  # no slot past the longest delay
    ring_n = slots * n_out
    src = ctx.preds[name][0]
    spikes = ctx.in_type(name) == "snnc_spike_t"
    x = ctx.one_input(name, n_in, lines)
    y = ctx.buffer(name, n_out, f"{name}: {node.kind} out")
    xb = 1 if spikes else sum(ctx.bound[p] for p in ctx.preds[name])
    rb = c_fused._row_bound(node, xb)
    nnz = int(nz.sum())
    what = f"{name}: {n_out}x{n_in}, {nnz} synapses"
    ring = ctx.member("int32_t", f"ring_{nid}" if slots > 1 else f"acc_{nid}", ring_n,
                      f"{name}: {slots} slots x {n_out} partial sums, slot-major"
                      if slots > 1 else f"{name}: accumulators (zero between steps)")
    head = (ctx.member("int32_t", f"head_{nid}", None,
                       f"{name}: offset of the slot due now (slot x {n_out})")
            if slots > 1 else "")
    dense = uniform and nnz >= DENSE_MIN_DENSITY * w.size
    out = ["    {"]
    body: list[str] = []
    if uniform:
        if slots == 1:
            body.append(f"int32_t *restrict acc = {ring}; /* read and cleared below */")
        else:
            off = dd * n_out
            body += [f"int32_t *restrict due = {ring} + {head};",
                     f"int32_t *restrict acc = {ring} + ({head} < {ring_n - off} "
                     f"? {head} + {off} : {head} - {ring_n - off}); /* due in {dd} steps */"]
    else:
        body += [f"int32_t *restrict ring = {ring};", f"const int32_t now = {head};"]
    mul = "" if spikes else " * xj"
    if dense:
        t = ctx.table(wt, f"{nid}_w", w.T,
                      f"{what}, delay {dd}: column-major (input j: {n_out} weights)")
        if spikes and wt == "int8_t" and src in ctx.lists:
            body.append(f"snnc_ev_dense_i8(acc, {t}, {n_out}, s->act_{ctx.ids[src]}, "
                        f"s->nact_{ctx.ids[src]});")
        else:
            body += _columns(ctx, src, n_in, x, spikes,
                             [f"    const {wt} *restrict col = {t} + j * {n_out};",
                              f"    for (i = 0; i < {n_out}; ++i) acc[i] += col[i]{mul};"])
    else:
        nz_cols, nz_rows = np.nonzero(w.T)  # column-major, rows ascending in a column
        col_ptr = np.concatenate([[0], np.cumsum(np.bincount(nz_cols, minlength=n_in))])
        pt = "uint16_t" if nnz < 1 << 16 else "int32_t"
        cp = ctx.table(pt, f"{nid}_col_ptr", col_ptr,
                       f"{what}: CSC by input" + (f", delay {dd}" if uniform else ""))
        if uniform:
            v = ctx.table(wt, f"{nid}_w", w[nz_rows, nz_cols])
            rt = "uint8_t" if n_out <= 256 else "uint16_t"
            r = ctx.table(rt, f"{nid}_row", nz_rows)
            inner = [f"        acc[{r}[k]] += {v}[k]{mul};"]
        else:
            # Synapses of a column sorted by (delay, row): with the slot due now at
            # `now`, those of delay >= slots - now/n_out wrap around the ring, a suffix
            # of the column that starts at wrap[j][slots - now/n_out]. Two loops then
            # add without a per-synapse test.
            dz = d[nz_rows, nz_cols]
            order = np.lexsort((nz_rows, dz, nz_cols))
            nz_rows, nz_cols, dz = nz_rows[order], nz_cols[order], dz[order]
            v = ctx.table(wt, f"{nid}_w", w[nz_rows, nz_cols])
            at = nz_rows + dz * n_out
            rt = "uint16_t" if ring_n <= 1 << 16 else "int32_t"
            r = ctx.table(rt, f"{nid}_at", at,
                          f"{name}: delay x {n_out} + row of each synapse (its offset from "
                          "the slot due now), by input, delays ascending")
            # wrap[j][q]: the first synapse of column j with delay >= q (q in 0..slots).
            hist = np.zeros((n_in, slots + 1), dtype=np.int64)
            np.add.at(hist, (nz_cols, dz + 1), 1)
            wrap = col_ptr[:-1, None] + np.cumsum(hist, axis=1)
            wp = ctx.table(pt, f"{nid}_wrap", wrap,
                           f"{name}: per input, its first synapse of delay >= q, "
                           f"q = 0..{slots}")
            body += [f"const {pt} *restrict split = {wp} + ({slots} - now / {n_out});",
                     "int32_t *restrict due = ring + now;"]
            # The wrapped ones land at due[at - ring_n]: before `due`, inside the ring.
            inner = [f"    const int32_t mid = split[j * {slots + 1}];",
                     f"    for (k = {cp}[j]; k < mid; ++k) due[{r}[k]] += {v}[k]{mul};",
                     f"    for (; k < {cp}[j + 1]; ++k) due[{r}[k] - {ring_n}] += {v}[k]{mul};"]
        if uniform:
            inner = [f"    for (k = {cp}[j]; k < {cp}[j + 1]; ++k) {{", *inner, "    }"]
        body += _columns(ctx, src, n_in, x, spikes, inner, need_k=True)
    due = "acc" if uniform and slots == 1 else "due"
    acc_i = f"{due}[i]"
    bias = np.asarray(node.bias, dtype=np.int64)
    if bias.size and np.any(bias):
        acc_i = f"({acc_i} + {c_fused._const_or_table(ctx, name, 'bias', bias)})"
    term = rq_term(ctx, name, node, acc_i, rb)
    body += [f"for (i = 0; i < {n_out}; ++i) {{",
             f"    {y}[i] = {term};",
             f"    {due}[i] = 0;",
             "}"]
    if slots > 1:
        body.append(f"{head} = {head} < {ring_n - n_out} ? {head} + {n_out} : 0;")
    ctx.need_i = True
    out += ["        " + b for b in body] + ["    }"]
    lines += out


def _columns(ctx: _Ctx, src: str, n_in: int, x: str, spikes: bool, col: list[str],
             need_k: bool = False) -> list[str]:
    """The loop over the inputs that are non-zero this step around ``col`` (the body for
    input ``j``, value ``xj``): the source's active list for spikes when it keeps one."""
    out = [f"int32_t j{', k' if need_k else ''};"]
    if spikes and src in ctx.lists:
        sid = ctx.ids[src]
        out += [f"for (int32_t a = 0; a < s->nact_{sid}; ++a) {{",
                f"    j = s->act_{sid}[a];"]
    else:
        out += [f"for (j = 0; j < {n_in}; ++j) {{"]
        if not spikes:
            out.append(f"    const int32_t xj = {x}[j];")
            out.append("    if (xj == 0) continue;")
        else:
            out.append(f"    if (!{x}[j]) continue;")
    return out + col + ["}"]


def rq_term(ctx: _Ctx, name: str, node: QDelayedLinear, acc: str, rb: np.ndarray) -> str:
    """C expression of row ``i``'s ``rq(acc)`` for accumulators bounded by ``rb`` (|acc|
    per row, < 2^31): the exact 32-bit forms of kernels.h where the bound proves them
    (as :func:`compiler.codegen.c_fused._fused_layer` does), else the contract's
    ``snnc_rq``; no saturation when ``|rq|`` cannot reach the ``out_bits`` limit."""
    n_out = rb.size
    mult = np.ravel(np.broadcast_to(np.asarray(node.mult, np.int64), (n_out,)))
    shift = np.ravel(np.broadcast_to(np.asarray(node.shift, np.int64), (n_out,)))
    bits = int(node.out_bits)
    top = (rb * mult + (1 << np.maximum(shift - 1, 0))) >> shift
    if int(top.max(initial=0)) < (1 << (bits - 1)) - 1:
        bits = 32
    tab = c_fused._const_or_table
    uni = c_fused.rq_uniform(mult, shift, rb)
    if uni is not None:  # one left shift for the layer, multipliers proved exact
        lsh, m = uni
        return f"snnc_rq_hr({acc}, {tab(ctx, name, 'mult', m)}, {lsh}, {bits})"
    t_ = max(0, int(shift.max(initial=0)) - 32)
    lsh = 32 + t_ - shift
    if np.all((lsh >= 0) & (lsh <= 31)) and np.all(rb << lsh < 1 << 31):
        m = tab(ctx, name, "mult", mult)
        sh = tab(ctx, name, "lshift", lsh, "uint8_t")
        return (f"snnc_rq_hr({acc}, {m}, {sh}, {bits})" if t_ == 0 else
                f"snnc_rq_h({acc}, {m}, {sh}, {t_}, {bits})")
    return (f"snnc_rq({acc}, {tab(ctx, name, 'mult', mult)}, "
            f"{tab(ctx, name, 'shift', shift)}, {int(node.out_bits)})")
