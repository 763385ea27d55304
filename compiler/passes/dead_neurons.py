"""Dead-neuron removal: drop spiking neurons that can never affect an output.

A neuron ``k`` of a 1-D spiking population (a registered op with the spiking trait: LIF,
CubaLIF, IF, ALIF and their integer kinds) is dead when either

- it can never spike: every incoming synapse row ``k`` is zero, no incoming bias drives
  it (bias[k] == 0), and its leak cannot push it up (float ``v_leak[k] <= 0``, integer
  ``leak_q[k] <= 0``): starting from 0 its membrane then never rises above 0 < threshold;
- or it has no outgoing effect: every outgoing synapse column ``k`` is zero.

Its row is removed from every incoming synapse node (weights, delays, bias, per-neuron
multipliers), its column from every outgoing one, and its entry from the population's
per-neuron parameters. The pass repeats until nothing changes (removing a neuron's
outputs can starve the next layer).

Only populations whose every neighbour is a fully connected synapse node with this
population as its only source/target are touched, so class indices (readouts), inputs and
convolutions never change shape; a population is never emptied.

Preserves: every output of the float and the integer simulator bit for bit (the removed
terms were exact zeros). Records ``metadata["dead_neurons"] = {population: [removed
original indices]}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import Node, emits_spikes
from snnc.compiler.ir.verify import verify
from snnc.compiler.ops import is_population
from snnc.compiler.passes.storage import MATRIX_KINDS


def _spiking_population(node: Node) -> bool:
    return is_population(node) and emits_spikes(node)


def _leak(node: Node) -> np.ndarray:
    """The constant drive of a population (integer ``leak_q``, float ``v_leak``; none: 0)."""
    for f in ("leak_q", "v_leak"):
        if hasattr(node, f):
            return np.asarray(getattr(node, f))
    return np.zeros(())


def _slice_pop(node: Node, keep: np.ndarray) -> Node:
    n = node.size
    ch: dict[str, Any] = {"shape": (int(keep.sum()),)}
    for f in node.array_fields:
        a = np.asarray(getattr(node, f))
        if a.shape == (n,):
            ch[f] = a[keep]
    return node.replace(**ch)


def _slice_syn(node: Node, rows: np.ndarray | None, cols: np.ndarray | None) -> Node:
    n_out = node.weight.shape[0]
    ch: dict[str, Any] = {}
    for f in node.array_fields:
        a = np.asarray(getattr(node, f))
        if a.ndim == 2:  # weight, delay
            if rows is not None:
                a = a[rows]
            if cols is not None:
                a = a[:, cols]
            ch[f] = a
        elif a.shape == (n_out,) and rows is not None:  # bias, per-neuron mult/shift/scales
            ch[f] = a[rows]
    return node.replace(**ch)


def _candidates(graph: Graph) -> dict[str, tuple[list[str], list[str]]]:
    """Populations this pass may shrink -> (incoming synapses, outgoing synapses)."""
    out = {}
    for name, node in graph.items():
        if not _spiking_population(node) or len(node.shape) != 1:
            continue
        ins, outs = graph.predecessors(name), graph.successors(name)
        ok = all(isinstance(graph.nodes[s], MATRIX_KINDS) and graph.successors(s) == [name]
                 for s in ins)
        ok = ok and all(isinstance(graph.nodes[s], MATRIX_KINDS)
                        and graph.predecessors(s) == [name] for s in outs)
        if ok and ins:
            out[name] = (ins, outs)
    return out


def remove_dead_neurons(graph: Graph) -> Graph:
    """A copy of ``graph`` without dead neurons (see the module docstring)."""
    removed: dict[str, list[int]] = {
        k: list(v) for k, v in graph.metadata.get("dead_neurons", {}).items()}
    index: dict[str, np.ndarray] = {}  # population -> original indices still present
    changed_any = False
    while True:
        cands = _candidates(graph)
        nodes = dict(graph.nodes)
        changed = False
        for pop, (ins, outs) in cands.items():
            node = nodes[pop]
            n = node.size
            drive = np.zeros(n, dtype=bool)
            for s in ins:
                syn = nodes[s]
                drive |= np.any(np.asarray(syn.weight) != 0, axis=1)
                b = np.asarray(getattr(syn, "bias", np.zeros(0)))
                if b.size:
                    drive |= b != 0
            drive |= np.broadcast_to(_leak(node) > 0, (n,))
            effect = np.zeros(n, dtype=bool)
            for s in outs:
                effect |= np.any(np.asarray(nodes[s].weight) != 0, axis=0)
            keep = drive & effect
            if keep.all() or not keep.any():
                continue
            orig = index.get(pop, np.arange(n))
            removed.setdefault(pop, []).extend(int(i) for i in orig[~keep])
            index[pop] = orig[keep]
            nodes[pop] = _slice_pop(node, keep)
            for s in set(ins) | set(outs):
                nodes[s] = _slice_syn(nodes[s], keep if s in ins else None,
                                      keep if s in outs else None)
            changed = True
        if not changed:
            break
        graph = graph.replace(nodes=nodes)
        changed_any = True
    if changed_any:
        meta = dict(graph.metadata)
        meta["dead_neurons"] = {k: sorted(v) for k, v in removed.items()}
        graph = graph.replace(metadata=meta)
    return verify(graph)

