"""Hyperactive-neuron removal for ensembles of region-specific modules (VPR ensembles).

In an ensemble where each module is responsible for one region of a route (Hussaini,
Milford & Fischer, ICRA 2023), a neuron that fires for many places *outside* its
module's region is hyperactive: at deployment it wins queries that belong to other
modules. During calibration the graph is run on calibration inputs (typically the
reference frames of every region, with the place of each); for each module neuron the
calibration samples that make it fire and lie outside its module's region (by more than
``region_margin`` places) are counted, and the neurons whose count reaches
``threshold`` are removed.

Graph contract (what this pass reads), written by e.g. :mod:`models.vpr.export`::

    metadata["ensemble"] = {"modules": [{"population": "<node name>",
                                         "places": [place indices of its region]}, ...],
                            ...}

(other keys, e.g. each module's ``"output"``, are carried over untouched). Each listed
population must be a 1-D spiking population (a spiking op: LIF, CubaLIF, IF, ALIF) whose every neighbour is
a dense synapse node (Affine, Linear, DelayedLinear) connected only to it on that side:
incoming synapses lose row ``k`` (and bias/delay entry), recurrent synapses (population
-> synapse -> same population) lose row and column ``k``, outgoing synapses (e.g. the
place-assignment layer) lose column ``k``, and per-neuron parameters of the population
lose entry ``k``. What lies past the outgoing synapses (a place-score readout shared by
every module, or one readout and Output per module as in :mod:`models.vpr.export`) is
not touched. Anything else next to a population raises
:class:`~compiler.errors.UnsupportedError` naming it. A module whose every neuron is
hyperactive is removed whole (its population and synapse nodes), unless a node
downstream would then lose its last input (e.g. the module's own place readout), which
is an error: removing it would drop places from the decision.

Preserves: every node and edge outside the touched populations and their synapse nodes,
every surviving weight and parameter bit for bit, the graph's dt, discretization and
name, the Output nodes, their order and shapes (the place scores keep all places, so
outputs concatenated in graph order still index the same places). It does NOT preserve
outputs' values: removing a neuron changes its module's competition (that is the point).
Modules share nothing but their inputs, so the modules that lose no neuron keep their
exact outputs. Records ``metadata["hyperactive"] = {"threshold", "min_spikes",
"region_margin", "removed": {population: [indices before this pass]}}`` and drops
removed modules from ``metadata["ensemble"]["modules"]``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from snnc.compiler.errors import GraphError, SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.interpret import simulate
from snnc.compiler.ir.nodes import Affine, DelayedLinear, Linear, Node, emits_spikes
from snnc.compiler.ir.verify import verify
from snnc.compiler.ops import is_population

_DENSE = (Affine, Linear, DelayedLinear)


def ensemble_modules(graph: Graph) -> list[dict[str, Any]]:
    """The ``metadata["ensemble"]["modules"]`` list, checked against the graph."""
    try:
        mods = graph.metadata["ensemble"]["modules"]
    except (KeyError, TypeError):
        raise GraphError(f"graph '{graph.name}' has no metadata['ensemble']['modules'] "
                         "(not a region-module ensemble)") from None
    for m in mods:
        pop = m.get("population") if isinstance(m, dict) else None
        node = graph.nodes.get(pop) if isinstance(pop, str) else None
        if node is None:
            raise GraphError(f"ensemble module {m!r} names no population of the graph")
        if not (is_population(node) and emits_spikes(node)) or len(node.shape) != 1:
            raise UnsupportedError(f"node '{pop}': ensemble populations must be 1-D spiking "
                                   f"neuron populations, got {node.kind} {tuple(node.shape)}")
        if "places" not in m:
            raise GraphError(f"ensemble module of '{pop}' lists no 'places' (its region)", pop)
    return list(mods)


def _neighbours(graph: Graph, pop: str) -> tuple[list[str], list[str], list[str]]:
    """(incoming, recurrent, outgoing) synapse nodes of ``pop``; error on anything else."""
    ins, rec, outs = [], [], []
    for s in graph.predecessors(pop):
        node = graph.nodes[s]
        if not isinstance(node, _DENSE) or graph.successors(s) != [pop]:
            raise UnsupportedError(
                f"node '{s}' feeds population '{pop}' but is not a dense synapse node "
                "feeding only it; hyperactive removal cannot shrink it")
        (rec if graph.predecessors(s) == [pop] else ins).append(s)
    for s in graph.successors(pop):
        if s in rec:
            continue
        node = graph.nodes[s]
        if not isinstance(node, _DENSE) or graph.predecessors(s) != [pop]:
            raise UnsupportedError(
                f"node '{s}' reads population '{pop}' but is not a dense synapse node "
                "reading only it; hyperactive removal cannot shrink it")
        outs.append(s)
    return ins, rec, outs


def _slice_pop(node: Node, keep: np.ndarray) -> Node:
    n = int(node.shape[0])
    ch: dict[str, Any] = {"shape": (int(keep.sum()),)}
    for f in node.array_fields:
        a = np.asarray(getattr(node, f))
        if a.shape == (n,):  # per-neuron; scalars stay shared
            ch[f] = a[keep]
    return node.replace(**ch)


def _slice_syn(node: Node, rows: np.ndarray | None, cols: np.ndarray | None) -> Node:
    n_out = int(node.weight.shape[0])
    ch: dict[str, Any] = {}
    for f in node.array_fields:
        a = np.asarray(getattr(node, f))
        if a.ndim == 2:  # weight, delay: [out, in]
            a = a[rows] if rows is not None else a
            a = a[:, cols] if cols is not None else a
            ch[f] = a
        elif rows is not None and a.shape == (n_out,):  # bias
            ch[f] = a[rows]
    return node.replace(**ch)


def hyperactive_counts(graph: Graph, calibration_inputs: np.ndarray | dict[str, np.ndarray],
                       calibration_places: np.ndarray | None = None, min_spikes: int = 1,
                       batch_size: int = 64, progress: bool = False,
                       region_margin: int = 0) -> dict[str, np.ndarray]:
    """Per module population: for each neuron, the number of calibration samples on which
    it fires at least ``min_spikes`` spikes, counting only samples whose place (from
    ``calibration_places``) lies outside the module's region, by more than
    ``region_margin`` places (views just past a region's end may legitimately look like
    its last places); all samples if ``calibration_places`` is None (the paper's count
    over every reference image)."""
    mods = ensemble_modules(graph)
    if not isinstance(calibration_inputs, dict):
        calibration_inputs = {graph.inputs[0]: calibration_inputs} if graph.inputs else {}
    arrs = {k: np.asarray(v) for k, v in calibration_inputs.items()}
    n = {int(v.shape[0]) for v in arrs.values() if v.ndim >= 1}
    if len(n) != 1 or 0 in n:
        raise SnncError("calibration inputs must be non-empty arrays [B, T, ...] sharing B")
    (bsz,) = n
    if calibration_places is not None:
        calibration_places = np.asarray(calibration_places)
        if calibration_places.shape != (bsz,):
            raise SnncError(f"calibration_places must have shape [{bsz}] (one place per "
                            f"calibration sample), got {list(calibration_places.shape)}")
    if min_spikes < 1:
        raise SnncError(f"min_spikes must be >= 1, got {min_spikes}")
    if region_margin < 0:
        raise SnncError(f"region_margin must be >= 0, got {region_margin}")
    counts = {m["population"]: np.zeros(int(graph.nodes[m["population"]].shape[0]), np.int64)
              for m in mods}
    for s in range(0, bsz, batch_size):
        chunk = {k: v[s:s + batch_size] for k, v in arrs.items()}
        res = simulate(graph, chunk, record=True, check=(s == 0))
        for m in mods:
            pop = m["population"]
            fired = res.traces[pop].sum(axis=1) >= min_spikes  # [b, N]
            if calibration_places is not None:
                cp = calibration_places[s:s + batch_size]
                dist = np.abs(cp[:, None] - np.asarray(m["places"])[None, :]).min(axis=1)
                fired &= (dist > region_margin)[:, None]
            counts[pop] += fired.sum(axis=0)
        if progress:
            print(f"hyperactive: calibrated {min(s + batch_size, bsz)}/{bsz}", file=sys.stderr)
    return counts


def remove_neurons(graph: Graph, keep: dict[str, np.ndarray]
                   ) -> tuple[Graph, dict[str, list[int]]]:
    """Remove the neurons with ``keep[pop] == False`` from each listed ensemble population
    (structural part of :func:`remove_hyperactive`; see the module docstring). Returns the
    new graph and the removed indices per population."""
    mods = ensemble_modules(graph)
    pops = {m["population"] for m in mods}
    nodes = dict(graph.nodes)
    edges = list(graph.edges)
    dropped_pops: set[str] = set()
    removed: dict[str, list[int]] = {}
    for pop, k in keep.items():
        if pop not in pops:
            raise GraphError("not an ensemble population listed in metadata['ensemble']", pop)
        k = np.asarray(k, dtype=bool)
        n = int(graph.nodes[pop].shape[0])
        if k.shape != (n,):
            raise SnncError(f"keep mask for '{pop}' has shape {list(k.shape)}, expected [{n}]")
        if k.all():
            continue
        removed[pop] = [int(i) for i in np.flatnonzero(~k)]
        ins, rec, outs = _neighbours(graph, pop)
        if not k.any():  # the whole module goes
            gone = {pop, *ins, *rec, *outs}
            for o in outs:
                for tgt in graph.successors(o):
                    if all(p in gone for p in graph.predecessors(tgt)):
                        raise SnncError(
                            f"every neuron of '{pop}' is hyperactive and removing the module "
                            f"would leave node '{tgt}' without input; raise the threshold")
            for g in gone:
                nodes.pop(g, None)
            edges = [e for e in edges if e[0] not in gone and e[1] not in gone]
            dropped_pops.add(pop)
            continue
        nodes[pop] = _slice_pop(nodes[pop], k)
        for s in ins:
            nodes[s] = _slice_syn(nodes[s], k, None)
        for s in rec:
            nodes[s] = _slice_syn(nodes[s], k, k)
        for s in outs:
            nodes[s] = _slice_syn(nodes[s], None, k)
    meta = dict(graph.metadata)
    ens = dict(meta["ensemble"])
    ens["modules"] = [m for m in mods if m["population"] not in dropped_pops]
    meta["ensemble"] = ens
    if not ens["modules"]:
        raise SnncError("every ensemble module would be removed; raise the threshold")
    return verify(graph.replace(nodes=nodes, edges=tuple(edges), metadata=meta)), removed


def remove_hyperactive(graph: Graph, calibration_inputs: np.ndarray | dict[str, np.ndarray],
                       threshold: int, *, calibration_places: np.ndarray | None = None,
                       min_spikes: int = 1, region_margin: int = 0, batch_size: int = 64,
                       counts: dict[str, np.ndarray] | None = None,
                       progress: bool = False) -> Graph:
    """A copy of ``graph`` without its hyperactive neurons.

    ``calibration_inputs``: ``[B, T, *input_shape]`` (or a dict per Input node) run through
    the float reference simulator. A neuron is hyperactive when the number of calibration
    samples on which it fires at least ``min_spikes`` spikes (only samples outside its
    module's region, by more than ``region_margin`` places, when ``calibration_places``
    gives each sample's place) is ``>= threshold``. ``counts`` may pass precomputed :func:`hyperactive_counts` (to sweep
    thresholds without re-simulating). See the module docstring for what is preserved.
    """
    if not isinstance(threshold, (int, np.integer)) or threshold < 1:
        raise SnncError(f"threshold must be an integer >= 1 (a number of calibration "
                        f"samples), got {threshold!r}")
    if counts is None:
        counts = hyperactive_counts(graph, calibration_inputs, calibration_places,
                                    min_spikes, batch_size, progress, region_margin)
    keep = {pop: np.asarray(c) < threshold for pop, c in counts.items()}
    out, removed = remove_neurons(graph, keep)
    meta = dict(out.metadata)
    meta["hyperactive"] = {"threshold": int(threshold), "min_spikes": int(min_spikes),
                           "region_margin": int(region_margin), "removed": removed}
    return verify(out.replace(metadata=meta))
