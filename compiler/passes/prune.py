"""Magnitude pruning: zero the smallest-magnitude weights of the synapse nodes.

``prune_magnitude(graph, fraction_removed, scope)`` removes ``fraction_removed`` of the
currently non-zero weights (biases and delays untouched), ranking them by |w| either
over all synapse nodes together (``scope="global"``) or within each node separately
(``scope="layer"``); ``nodes`` restricts pruning to some synapse nodes (e.g. to leave a
fixed pooling matrix alone). The cut is a magnitude threshold: every weight with
``|w| <= |w_k|`` (``w_k`` the k-th smallest, ``k = round(fraction * n)``) goes, so
weights of equal magnitude (e.g. one kernel weight copied at every position of an
expanded convolution) are removed together and the achieved fraction can be slightly
above the requested one.

Preserves: the graph's structure (nodes, edges, kinds, storage, shapes, dtypes), every
non-weight parameter, and every kept weight bit for bit; ``verify`` still passes.
Does not preserve: the outputs (that is the point; measure the accuracy). Zeroed
synapses of a DelayedLinear keep their delay: run ``remove_inert_synapses`` to reset
them and shrink ``max_delay``.
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Real

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import SYNAPSE_KINDS
from snnc.compiler.ir.verify import verify

SCOPES = ("global", "layer")


def _check(fraction_removed: object, scope: object) -> float:
    if isinstance(fraction_removed, bool) or not isinstance(fraction_removed, Real):
        raise SnncError(
            f"prune: option 'fraction_removed' must be a number in [0, 1), got "
            f"{fraction_removed!r}")
    f = float(fraction_removed)
    if not (0.0 <= f < 1.0):
        raise SnncError(f"prune: option 'fraction_removed' must be in [0, 1), got {f}")
    if scope not in SCOPES:
        raise SnncError(f"prune: option 'scope' must be one of {SCOPES}, got {scope!r}")
    return f


def _threshold(mags: np.ndarray, fraction: float) -> float | None:
    """Largest magnitude to remove, or None if nothing is removed."""
    k = int(round(fraction * mags.size))
    if k <= 0:
        return None
    return float(np.partition(mags, k - 1)[k - 1])


def prune_magnitude(graph: Graph, fraction_removed: float, scope: str = "global",
                    nodes: Iterable[str] | None = None) -> Graph:
    """A copy of ``graph`` with ``fraction_removed`` of its non-zero weights set to zero.

    ``nodes``: names of the synapse nodes to prune (default: all of them).
    """
    fraction = _check(fraction_removed, scope)
    syn = [n for n, node in graph.items() if isinstance(node, SYNAPSE_KINDS)]
    if nodes is not None:
        wanted = list(nodes)
        bad = [n for n in wanted if n not in syn]
        if bad:
            raise SnncError(f"prune: option 'nodes' names {bad}, which are not synapse nodes "
                            f"of the graph (synapse nodes: {syn})")
        syn = [n for n in syn if n in wanted]
    thresholds: dict[str, float | None] = {}
    if scope == "global":
        mags = [np.abs(np.asarray(graph.nodes[n].weight, np.float64)).ravel() for n in syn]
        allm = np.concatenate(mags) if mags else np.zeros(0)
        thr = _threshold(allm[allm != 0], fraction)
        thresholds = {n: thr for n in syn}
    else:
        for n in syn:
            m = np.abs(np.asarray(graph.nodes[n].weight, np.float64)).ravel()
            thresholds[n] = _threshold(m[m != 0], fraction)
    new = dict(graph.nodes)
    for n in syn:
        thr = thresholds[n]
        if thr is None:
            continue
        w = np.asarray(new[n].weight)
        keep = np.abs(w.astype(np.float64)) > thr
        new[n] = new[n].replace(weight=np.where(keep, w, np.zeros((), w.dtype)).astype(w.dtype))
    return verify(graph.replace(nodes=new))


def count_weights(graph: Graph, nodes: Iterable[str] | None = None) -> tuple[int, int]:
    """(non-zero weights, all weights) over the graph's synapse nodes (or ``nodes``)."""
    nz = tot = 0
    wanted = None if nodes is None else set(nodes)
    for name, node in graph.items():
        if isinstance(node, SYNAPSE_KINDS) and (wanted is None or name in wanted):
            w = np.asarray(node.weight)
            nz += int(np.count_nonzero(w))
            tot += int(w.size)
    return nz, tot
