"""``verify(graph)``: the checks every pass must leave passing.

Checks edges, shapes (input sum vs. the node's expected input), dtypes (readouts and
spike-only consumers), cycles (each must pass through a stateful node), and parameter
ranges (tau > 0, delays >= 0 integers, finite weights, known reset modes), names
(:mod:`compiler.ir.names`), ``dt`` (a finite positive real), that every parameter
broadcasts to its node's shape, convolution geometry (stride/dilation/groups >= 1,
consistent channel counts, non-empty output) and size limits. A graph ``verify`` accepts
must run in both simulators and every emitter (tests/security/test_verify_property.py);
a node whose fields make a check itself fail is reported as malformed, never as a
Python exception. Errors name the node at fault.
"""

from __future__ import annotations

import numbers

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir import names
from snnc.compiler.ir.graph import DISCRETIZATIONS, Graph
from snnc.compiler.ir.nodes import (
    REAL,
    RESET_MODES,
    SPIKE,
    Affine,
    Conv1d,
    Conv2d,
    DelayedLinear,
    Flatten,
    Input,
    MembraneArgmax,
    Node,
    Output,
    SpikeCountArgmax,
)

# Elements of one node's output (or weight): bounds the simulators' and emitters' memory.
MAX_ELEMENTS = 1 << 22
MAX_DIMS = 8


def verify(graph: Graph) -> Graph:
    """Raise :class:`GraphError` naming the node at fault; return the graph if valid."""
    if not isinstance(graph.nodes, dict) or not graph.nodes:
        raise GraphError("graph has no nodes")
    names.check_graph_name(graph.name)
    for name, node in graph.nodes.items():
        names.check_node_name(name)
        if not isinstance(node, Node):
            raise GraphError(f"not an IR node (got {type(node).__name__})", name)
    dt = graph.dt
    if (isinstance(dt, (bool, np.bool_)) or not isinstance(dt, numbers.Real)
            or not np.isfinite(float(dt)) or float(dt) <= 0):
        raise GraphError(f"dt must be a finite positive real number (seconds), got "
                         f"{names.shown(dt) if isinstance(dt, str) else repr(dt)[:40]}")
    if not isinstance(graph.discretization, str) or graph.discretization not in DISCRETIZATIONS:
        raise GraphError(f"unknown discretization {names.shown(graph.discretization)} "
                         f"(expected one of {DISCRETIZATIONS})")
    if not graph.inputs:
        raise GraphError("graph has no Input node")
    if not graph.outputs:
        raise GraphError("graph has no Output node")
    seen = set()
    for a, b in graph.edges:
        for n in (a, b):
            if n not in graph.nodes:
                raise GraphError(f"edge {a} -> {b} refers to a node that does not exist", n)
        if (a, b) in seen:
            raise GraphError(f"duplicate edge {a} -> {b}", b)
        seen.add((a, b))
    for name, node in graph.items():
        try:
            _check_params(name, node)
            _check_geometry(name, node)
            node.shape_in(), node.shape_out()
        except GraphError:
            raise
        except (TypeError, ValueError, IndexError, AttributeError, OverflowError,
                ZeroDivisionError, KeyError, NotImplementedError) as e:
            raise GraphError(f"malformed {node.kind} node ({type(e).__name__}: {e})",
                             name) from None
    for name, node in graph.items():
        preds = graph.predecessors(name)
        if isinstance(node, Input):
            if preds:
                raise GraphError("an Input node cannot have incoming edges", name)
            if not isinstance(node.dtype, str) or node.dtype not in (SPIKE, REAL):
                raise GraphError(f"Input dtype must be 'real' or 'spike', got "
                                 f"{names.shown(node.dtype)}", name)
            continue
        if isinstance(node, Output) and graph.successors(name):
            raise GraphError("an Output node cannot have outgoing edges", name)
        if not preds:
            raise GraphError("node has no incoming edge (it would never receive input)", name)
        want = tuple(node.shape_in())
        for p in preds:
            got = tuple(graph.nodes[p].shape_out())
            if int(np.prod(got)) != int(np.prod(want)) or (len(got) > 1 and got != want):
                raise GraphError(
                    f"shape mismatch: input from '{p}' has shape {got}, node expects {want}",
                    name,
                )
            if isinstance(node, SpikeCountArgmax) and _dtype(graph, p) != SPIKE:
                raise GraphError(
                    f"SpikeCountArgmax needs spikes but '{p}' emits real values "
                    "(use MembraneArgmax)", name)
    _check_cycles(graph)
    return graph


def _dtype(graph: Graph, name: str) -> str:
    node = graph.nodes[name]
    if isinstance(node, Input):
        return node.dtype
    return node.out_dtype


def _check_params(name: str, node: Node) -> None:
    for f in node.array_fields:
        v = np.asarray(getattr(node, f))
        if v.dtype.kind not in "biuf":
            raise GraphError(f"parameter '{f}' must be numeric, got dtype {v.dtype}", name)
        if not np.all(np.isfinite(v)) and not (f.startswith("tau") and np.all(v > 0)):
            raise GraphError(f"parameter '{f}' has non-finite values", name)
    for f in ("reset", "reduce", "storage", "dtype"):
        if hasattr(node, f) and not isinstance(getattr(node, f), str):
            raise GraphError(f"'{f}' must be a string", name)
    if hasattr(node, "shape"):
        shape = _shape(name, "shape", node.shape)
        # Every parameter must broadcast *to* the node's shape (one value, or one per
        # element along trailing axes), not merely with it: [8, 4] on 8 neurons is wrong.
        for f in node.array_fields:
            v = np.asarray(getattr(node, f))
            try:
                fits = np.broadcast_shapes(v.shape, shape) == shape
            except ValueError:
                fits = False
            if not fits:
                raise GraphError(
                    f"parameter '{f}' of shape {v.shape} does not fit population {shape}",
                    name)
    if hasattr(node, "reset") and getattr(node, "reset") not in RESET_MODES:
        raise GraphError(f"reset must be one of {RESET_MODES}, got '{node.reset}'", name)
    from snnc.compiler.ops import op_for  # a registered op's own rules (compiler/ops/)
    op = op_for(node)
    if op is not None and op.check is not None:
        op.check(name, node)
    if isinstance(node, MembraneArgmax) and node.reduce not in ("sum", "max", "last"):
        raise GraphError(f"reduce must be sum|max|last, got '{node.reduce}'", name)
    if isinstance(node, DelayedLinear):
        d = np.asarray(node.delay)
        if d.shape != np.asarray(node.weight).shape:
            raise GraphError(f"delay shape {d.shape} != weight shape {node.weight.shape}", name)
        if d.dtype.kind not in "iu" or (d.size and d.min() < 0):
            raise GraphError("delays must be non-negative integers (steps)", name)
    w = getattr(node, "weight", None)
    if w is not None:
        if isinstance(node, (DelayedLinear,)) or type(node).__name__ in ("Linear", "Affine"):
            if np.asarray(w).ndim != 2:
                raise GraphError(f"weight must be 2-D [out, in], got shape {np.shape(w)}", name)
        b = getattr(node, "bias", None)
        if b is not None and np.asarray(b).size not in (0, np.asarray(w).shape[0]):
            raise GraphError(f"bias has {np.asarray(b).size} entries, expected {w.shape[0]}", name)
    if hasattr(node, "storage") and node.storage not in ("dense", "csr", "csc"):
        raise GraphError(f"storage must be dense|csr|csc, got '{node.storage}'", name)
    # Node kinds with their own invariants (the quantized kinds) check them here.
    check = getattr(node, "check", None)
    if callable(check):
        check(name)


def _shape(name: str, field: str, s: object) -> tuple[int, ...]:
    """``s`` as a shape of positive ints within the size limits, else GraphError."""
    if isinstance(s, (int, np.integer)) and not isinstance(s, bool):
        s = (s,)
    if not isinstance(s, (tuple, list)) or not 1 <= len(s) <= MAX_DIMS or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in s):
        raise GraphError(f"'{field}' must be a tuple of 1-{MAX_DIMS} integers, got "
                         f"{str(s)[:60]}", name)
    out = tuple(int(d) for d in s)
    if any(d <= 0 for d in out):
        raise GraphError(f"'{field}' must be positive, got {out}", name)
    if int(np.prod(out, dtype=object)) > MAX_ELEMENTS:
        raise GraphError(f"'{field}' {out} exceeds {MAX_ELEMENTS} elements", name)
    return out


def _ints_at_least(name: str, field: str, v: object, n: int, lo: int) -> tuple[int, ...]:
    t = (v,) if isinstance(v, (int, np.integer)) else v
    if (not isinstance(t, (tuple, list)) or len(t) != n or not all(
            isinstance(x, (int, np.integer)) and not isinstance(x, bool) and lo <= x < 1 << 24
            for x in t)):
        raise GraphError(f"'{field}' must be {n} integer(s) >= {lo}, got {str(v)[:40]}", name)
    return tuple(int(x) for x in t)


def _check_geometry(name: str, node: Node) -> None:
    """Weights, convolutions and reshapes: the fields that decide shapes are sane."""
    w = getattr(node, "weight", None)
    if w is not None:
        w = np.asarray(w)
        if w.ndim == 0 or any(d <= 0 for d in w.shape):
            raise GraphError(f"weight must be non-empty, got shape {w.shape}", name)
        if w.size > MAX_ELEMENTS:
            raise GraphError(f"weight of shape {w.shape} exceeds {MAX_ELEMENTS} elements", name)
    if isinstance(node, Affine) and np.asarray(node.bias).size != np.shape(node.weight)[0]:
        raise GraphError(f"Affine bias has {np.asarray(node.bias).size} entries, expected "
                         f"{np.shape(node.weight)[0]} (use Linear for no bias)", name)
    for f in ("bias", "mult", "shift"):  # per output channel: 0-d or one axis, never more
        if f in node.array_fields and np.ndim(getattr(node, f)) > 1:
            raise GraphError(f"'{f}' must be 0-d or 1-D, got shape {np.shape(getattr(node, f))}",
                             name)
    if isinstance(node, (Conv1d, Conv2d)) or node.kind == "QConv":
        nd = {Conv1d: 1, Conv2d: 2}.get(type(node))
        if nd is None:  # QConv: 1-D or 2-D by its input_shape
            ins = node.input_shape
            nd = len(ins) if isinstance(ins, (tuple, list)) else 0
            if nd not in (1, 2):
                raise GraphError(f"input_shape must have 1 or 2 entries, got {str(ins)[:40]}",
                                 name)
        spatial = _shape(name, "input_shape", node.input_shape)
        if len(spatial) != nd:
            raise GraphError(f"input_shape must have {nd} entries", name)
        if w.ndim != nd + 2:
            raise GraphError(f"weight must be [C_out, C_in/groups, *K] with {nd} kernel "
                             f"dim(s), got shape {w.shape}", name)
        stride = _ints_at_least(name, "stride", node.stride, nd, 1)
        dil = _ints_at_least(name, "dilation", node.dilation, nd, 1)
        pad = _ints_at_least(name, "padding", node.padding, nd, 0)
        g = node.groups
        if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or g < 1:
            raise GraphError(f"groups must be an integer >= 1, got {str(g)[:20]}", name)
        if w.shape[0] % int(g):
            raise GraphError(f"groups={g} does not divide {w.shape[0]} output channels", name)
        for n, k, s, p, d in zip(spatial, w.shape[2:], stride, pad, dil):
            if (n + 2 * p - d * (k - 1) - 1) // s + 1 < 1:
                raise GraphError(f"kernel {tuple(w.shape[2:])} with dilation {dil} does not "
                                 f"fit input {spatial} padded by {pad}", name)
        b = np.asarray(getattr(node, "bias", np.zeros(0)))
        if b.size not in (0, w.shape[0]):
            raise GraphError(f"bias has {b.size} entries, expected {w.shape[0]}", name)
        _shape(name, "input shape", node.shape_in())
        _shape(name, "output shape", node.shape_out())
    if isinstance(node, Flatten):
        s = _shape(name, "input_shape", node.input_shape)
        for f in ("start_dim", "end_dim"):
            v = getattr(node, f)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) \
                    or not -len(s) <= v < len(s):
                raise GraphError(f"'{f}' must be an axis of input_shape {s}, got {v}", name)
        if node.start_dim % len(s) > node.end_dim % len(s):
            raise GraphError(f"start_dim {node.start_dim} comes after end_dim "
                             f"{node.end_dim}", name)
        _shape(name, "output shape", node.shape_out())


def _check_cycles(graph: Graph) -> None:
    """Every cycle must contain a stateful node (else it is an algebraic loop)."""
    # Remove stateful nodes' outgoing edges: what remains must be acyclic.
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for a, b in graph.edges:
        if not graph.nodes[a].stateful:
            succ[a].append(b)
    color: dict[str, int] = {}
    for root in graph.nodes:
        if root in color:
            continue
        path = [root]
        stack = [iter(succ[root])]
        color[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                color[path.pop()] = 2
            elif color.get(nxt) == 1:
                cyc = path[path.index(nxt):] + [nxt]
                raise GraphError(
                    "cycle without a stateful node: " + " -> ".join(cyc)
                    + " (recurrence must pass through a neuron population)", nxt)
            elif nxt not in color:
                color[nxt] = 1
                path.append(nxt)
                stack.append(iter(succ[nxt]))
