"""``verify(graph)``: the checks every pass must leave passing.

Checks edges, shapes (input sum vs. the node's expected input), dtypes (readouts and
spike-only consumers), cycles (each must pass through a stateful node), and parameter
ranges (tau > 0, delays >= 0 integers, finite weights, known reset modes). Errors name
the node at fault.
"""

from __future__ import annotations

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.graph import DISCRETIZATIONS, Graph
from snnc.compiler.ir.nodes import (
    IF,
    LI,
    LIF,
    REAL,
    RESET_MODES,
    SPIKE,
    CubaLIF,
    DelayedLinear,
    Input,
    MembraneArgmax,
    Node,
    Output,
    SpikeCountArgmax,
    _Population,
)

_TAUS = {LIF: ("tau",), LI: ("tau",), CubaLIF: ("tau_syn", "tau_mem")}


def verify(graph: Graph) -> Graph:
    """Raise :class:`GraphError` naming the node at fault; return the graph if valid."""
    if not graph.nodes:
        raise GraphError("graph has no nodes")
    if not (np.isfinite(graph.dt) and graph.dt > 0):
        raise GraphError(f"dt must be a positive number, got {graph.dt!r}")
    if graph.discretization not in DISCRETIZATIONS:
        raise GraphError(f"unknown discretization '{graph.discretization}'")
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
        _check_params(name, node)
        preds = graph.predecessors(name)
        if isinstance(node, Input):
            if preds:
                raise GraphError("an Input node cannot have incoming edges", name)
            if node.dtype not in (SPIKE, REAL):
                raise GraphError(f"Input dtype must be 'real' or 'spike', got '{node.dtype}'", name)
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
    if isinstance(node, _Population):
        if any(int(s) <= 0 for s in node.shape):
            raise GraphError(f"population shape must be positive, got {node.shape}", name)
        for f in node.array_fields:
            v = np.asarray(getattr(node, f))
            try:
                np.broadcast_shapes(v.shape, tuple(node.shape))
            except ValueError:
                raise GraphError(
                    f"parameter '{f}' of shape {v.shape} does not fit population {tuple(node.shape)}",
                    name) from None
    for f in _TAUS.get(type(node), ()):
        if np.any(np.asarray(getattr(node, f)) <= 0):
            raise GraphError(f"'{f}' must be > 0", name)
    if hasattr(node, "reset") and getattr(node, "reset") not in RESET_MODES:
        raise GraphError(f"reset must be one of {RESET_MODES}, got '{node.reset}'", name)
    if isinstance(node, (LIF, CubaLIF, IF)) and np.any(np.asarray(node.v_threshold) <= 0):
        raise GraphError("v_threshold must be > 0", name)
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
