"""Remove inert synapses: those that can never change an output.

A synapse is inert when its weight is zero, or (with ``horizon`` = the run length in
steps) when it is a DelayedLinear synapse whose delay is ``>= horizon``: activity starts
at step 0, so it would arrive at step ``>= horizon``, after the run has ended.

``remove_inert_synapses(graph, horizon=None)``:
1. sets the weight of every beyond-horizon delayed synapse to 0;
2. resets the delay of every zero-weight DelayedLinear synapse to 0, so ``max_delay``
   (the ring buffer depth a backend allocates) shrinks to the longest *live* delay;
3. drops a synapse node whose weights are all zero (and bias, if any, is all zero or
   absent) together with its edges, when every node it feeds has another input, so the
   graph stays valid; an empty node that is the sole input of its successor is kept.

Preserves: every output of the simulator bit for bit for runs of up to ``horizon``
steps (any length if ``horizon`` is None): the removed terms were exact zeros. Node
names, kinds and the order of the remaining nodes and edges are unchanged; ``verify``
still passes.
"""

from __future__ import annotations

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import SYNAPSE_KINDS, DelayedLinear, Node
from snnc.compiler.ir.verify import verify


def _check(horizon: object) -> int | None:
    if horizon is None:
        return None
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise SnncError(
            f"inert: option 'horizon' must be a positive integer number of steps or None, "
            f"got {horizon!r}")
    return int(horizon)


def _empty(node: Node) -> bool:
    if not isinstance(node, SYNAPSE_KINDS):
        return False
    if np.any(np.asarray(node.weight) != 0):
        return False
    bias = getattr(node, "bias", None)
    return bias is None or not np.any(np.asarray(bias) != 0)


def remove_inert_synapses(graph: Graph, horizon: int | None = None) -> Graph:
    """A copy of ``graph`` without inert synapses (see the module docstring)."""
    hz = _check(horizon)
    nodes = dict(graph.nodes)
    for name, node in graph.items():
        if not isinstance(node, DelayedLinear):
            continue
        w, d = np.asarray(node.weight), np.asarray(node.delay)
        dead = w == 0
        if hz is not None:
            dead = dead | (d >= hz)
        if np.any(dead & ((w != 0) | (d != 0))):
            nodes[name] = node.replace(
                weight=np.where(dead, np.zeros((), w.dtype), w).astype(w.dtype),
                delay=np.where(dead, np.zeros((), d.dtype), d).astype(d.dtype))
    edges = list(graph.edges)
    # Drop empty synapse nodes one at a time, re-checking that every successor keeps an
    # input (two empty parallel nodes feeding one neuron: one of them must stay).
    for name in list(nodes):
        if not _empty(nodes[name]):
            continue
        succ = [b for a, b in edges if a == name]
        if not succ or all(any(a != name for a, b2 in edges if b2 == b) for b in succ):
            edges = [(a, b) for a, b in edges if name not in (a, b)]
            del nodes[name]
    return verify(graph.replace(nodes=nodes, edges=tuple(edges)))
