"""Accuracy and SynOps vs fraction of weights kept: ``python -m snnc.models.hdsnn.sparsity_curve``.

Prunes the committed ``hdsnn.snn`` by global magnitude (the expanded kernel: every copy
of a kernel weight has the same magnitude, so copies are kept or removed together) and
per node (``layer``: each delay tap ranked separately), removes inert synapses (empty
delay taps disappear), and measures accuracy and SynOps per sample on the committed test
set; for comparison (as in the HD-SNN paper) also ``shortest-delays``: keep the
weights with the shortest delays first (magnitude breaks ties within a delay). Only the kernel (the ``tap<d>`` nodes) is pruned: the pooling matrix is part of the
readout. Writes ``sparsity_curve.{json,md,png}`` here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from snnc.compiler.ir import Graph, load
from snnc.models.delaynet.sparsity_curve import curve, write_outputs
from snnc.models.hdsnn.events import flatten_events, load_test_set

HERE = Path(__file__).resolve().parent


def keep_shortest_delays(g: Graph, kept: float, taps: list[str]) -> Graph:
    """Keep the ``kept`` fraction of non-zero tap weights with the shortest delays."""
    entries = []  # (delay, -|w|, node, flat index) of every live synapse
    for n in taps:
        w, d = g.nodes[n].weight, g.nodes[n].delay
        idx = np.flatnonzero(w)
        entries.append(np.stack([d.ravel()[idx], -np.abs(w.ravel()[idx]),
                                 np.full(idx.size, taps.index(n)), idx], axis=1))
    allx = np.concatenate(entries)
    order = np.lexsort((allx[:, 1], allx[:, 0]))  # by delay, then by decreasing |w|
    keep = allx[order[:int(round(kept * len(allx)))]]
    nodes = dict(g.nodes)
    for i, n in enumerate(taps):
        w = np.zeros_like(g.nodes[n].weight)
        sel = keep[keep[:, 2] == i, 3].astype(np.int64)
        w.ravel()[sel] = g.nodes[n].weight.ravel()[sel]
        nodes[n] = g.nodes[n].replace(weight=w)
    return g.replace(nodes=nodes)


def main() -> None:
    g = load(HERE / "hdsnn.snn")
    X, y, _ = load_test_set()
    x = flatten_events(X)
    print(f"hdsnn: {len(y)} test samples, {x.shape[1]} steps", file=sys.stderr)
    taps = [n for n in g.nodes if n.startswith("tap")]  # the fixed pooling matrix stays
    rows = curve(g, x, y, scopes=("global", "layer"), nodes=taps,
                 extra={"shortest-delays": lambda gr, k: keep_shortest_delays(gr, k, taps)})
    write_outputs(rows, HERE, "sparsity_curve",
                  "HD-SNN motion direction: magnitude pruning + inert-synapse removal")


if __name__ == "__main__":
    main()
