"""Fusion: record which synapse nodes a backend runs inside their neuron population's step.

A synapse node (any fully connected kind, float or integer, and convolutions) whose only
consumer is a neuron population (or a Threshold layer) is *fused* into that population: a
backend accumulates its contribution straight into the population's input accumulator during the
population's step, so the synapse's output vector is never written to memory and read
back (one write + one read of ``out`` values per synapse per step saved, and no buffer).
All synapses feeding one population form one group, in edge order.

Choice (documented in ``docs/passes.md``): fusion is recorded on the graph, not by new
node kinds: ``metadata["fusion"] = [{"neuron": pop, "synapses": [s1, s2, ...]}, ...]``.
The simulators ignore it (fusion cannot change a result: the sum of a node's incoming
edges is exact in int64); code generators and the memory planner
(:mod:`compiler.passes.plan`) read it. A fused synapse executes at its population's
position in the schedule; if its edge into the population is recurrent (reads step
``t-1``), it reads its source's previous output at that time instead, so the source's
output buffer persists across steps (the planner accounts for it).

Preserves: every node, edge and parameter bit for bit; only the metadata changes.
"""

from __future__ import annotations

from typing import Any

from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import NEURON_KINDS, SYNAPSE_KINDS, Threshold
from snnc.compiler.ir.qnodes import QNEURON_KINDS, QSYNAPSE_KINDS, QThreshold
from snnc.compiler.ir.verify import verify

FUSABLE_SYNAPSES = (*SYNAPSE_KINDS, *QSYNAPSE_KINDS)
# Targets a synapse can be fused into: neuron populations and (stateless) Threshold layers.
POPULATIONS = (*NEURON_KINDS, *QNEURON_KINDS, Threshold, QThreshold)


def fusion_groups(graph: Graph) -> list[dict[str, Any]]:
    """The fusion groups of ``graph`` (computed, not read from metadata)."""
    groups: dict[str, list[str]] = {}
    for a, b in graph.edges:
        if isinstance(graph.nodes[a], FUSABLE_SYNAPSES) and isinstance(graph.nodes[b],
                                                                        POPULATIONS):
            if graph.successors(a) == [b]:
                groups.setdefault(b, []).append(a)
    order, _ = graph.schedule()
    return [{"neuron": p, "synapses": groups[p]} for p in order if p in groups]


def fuse(graph: Graph) -> Graph:
    """Record the fusion groups in ``graph.metadata["fusion"]`` (replacing stale ones)."""
    meta = dict(graph.metadata)
    meta["fusion"] = fusion_groups(graph)
    return verify(graph.replace(metadata=meta))


def fused_synapses(graph: Graph) -> dict[str, str]:
    """synapse -> population for the groups recorded on ``graph`` (empty if not fused).

    Stale entries (nodes since removed or rewired) are ignored.
    """
    out: dict[str, str] = {}
    for grp in graph.metadata.get("fusion", []) or []:
        p = grp.get("neuron")
        for s in grp.get("synapses", []):
            if s in graph.nodes and p in graph.nodes and graph.successors(s) == [p]:
                out[s] = p
    return out
