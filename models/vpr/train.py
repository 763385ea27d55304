"""Train, calibrate and export the VPR ensemble: ``python -m snnc.models.vpr.train``.

1. Load the route (the cached ``route.npz`` by default, or ``--nordland ROOT``).
2. Train one module per region on the reference traversal (:mod:`models.vpr.model`).
3. Express the ensemble in the IR (:mod:`models.vpr.export`).
4. Calibration (the "environment-learning" phase): count, in the reference simulator,
   how many reference frames outside each neuron's region make it fire
   (:func:`compiler.passes.hyperactive.hyperactive_counts`), try a few thresholds, and
   keep the one with the best Recall@1 on the *calibration* traversal (never the query
   traversal, which is held out for :mod:`models.vpr.evaluate`). "No removal" is one of
   the candidates, so the removal is only kept if it helps on calibration.
5. Save the pruned ensemble as ``.snn`` and the calibration log as JSON beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Graph, save
from snnc.compiler.passes.hyperactive import hyperactive_counts, remove_hyperactive
from snnc.models.vpr.data import ROUTE_FILE, Route, encode, load_nordland, load_route
from snnc.models.vpr.export import (
    DeployConfig,
    as_current,
    build_graph,
    encode_queries,
    merge_scores,
    module_scores,
    one_blas_thread,
    pruned_module_scores,
    recall_at_1,
)
from snnc.models.vpr.model import TrainConfig, train_ensemble

HERE = Path(__file__).parent
MODEL_FILE = HERE / "vpr_ensemble.snn"
TOLERANCE = 2  # frames; Recall@1 counts a match within this many frames of the truth


def n_removed(graph: Graph) -> int:
    """Number of neurons the hyperactive pass removed from ``graph``."""
    return sum(len(v) for v in graph.metadata.get("hyperactive", {}).get("removed", {}).values())


def calibrate(graph: Graph, route: Route, percentiles: tuple[float, ...], min_spikes: int,
              tolerance: int = TOLERANCE, log: bool = True
              ) -> tuple[Graph, list[dict], dict[str, np.ndarray]]:
    """Hyperactive-neuron removal with the threshold chosen on the calibration traversal.

    Candidate thresholds are percentiles of the per-neuron out-of-region counts on the
    reference frames; the unpruned graph is candidate "none". Returns the chosen graph
    and one record per candidate, and the per-neuron counts.

    Cost: the ensemble is simulated once on the reference frames (the counts) and once
    on the calibration frames; a candidate then re-simulates only the modules that lost
    neurons. Modules share nothing but the input and their place scores are merged
    only at the decision, so the other modules' scores are the unpruned ones, and each
    candidate's decisions are exactly those of simulating its whole pruned graph
    (``predict_places``; tests/models/test_vpr.py checks this).
    """
    p = route.n_places
    ref = as_current(encode(route.frames["reference"]), int(graph.metadata["vpr"]["steps"]))
    t0 = time.time()
    # Views within `tolerance` places of a region count as in-region: consecutive
    # views overlap, so a module's last neurons rightly answer for the next few places.
    counts = hyperactive_counts(graph, ref, np.arange(p), min_spikes=min_spikes,
                                progress=log, region_margin=tolerance)
    allc = np.concatenate(list(counts.values()))
    xcal = encode_queries(graph, route.frames["calibration"])
    truth = np.arange(p)
    base = module_scores(graph, xcal, progress=log)
    records = [{"threshold": None, "removed": 0, "recall_calibration": recall_at_1(
        np.argmax(merge_scores(graph, base), axis=1), truth, tolerance)}]
    best, best_g = records[0], graph
    for th in sorted({max(1, int(np.ceil(np.percentile(allc, q)))) for q in percentiles}):
        try:
            g2 = remove_hyperactive(graph, None, th, counts=counts, min_spikes=min_spikes,
                                    region_margin=tolerance)
        except SnncError as e:  # e.g. a whole module would go: not a usable candidate
            if log:
                print(f"vpr: threshold {th}: skipped ({e})", file=sys.stderr)
            continue
        scores = pruned_module_scores(g2, xcal, base)
        rec = {"threshold": th, "removed": n_removed(g2), "recall_calibration": recall_at_1(
            np.argmax(merge_scores(g2, scores), axis=1), truth, tolerance)}
        records.append(rec)
        if log:
            print(f"vpr: threshold {th}: removed {rec['removed']} neurons in "
                  f"{len(g2.metadata['hyperactive']['removed'])} modules, calibration Recall@1 "
                  f"{rec['recall_calibration']:.3f}", file=sys.stderr)
        if rec["recall_calibration"] > best["recall_calibration"]:
            best, best_g = rec, g2
    if log:
        print(f"vpr: calibration took {time.time() - t0:.0f} s; chose threshold "
              f"{best['threshold']} (unpruned: {records[0]['recall_calibration']:.3f})",
              file=sys.stderr)
    return best_g, records, counts


def with_calibration(graph: Graph, records: list[dict],
                     counts: dict[str, np.ndarray]) -> Graph:
    """``graph`` with the calibration log and the per-neuron out-of-region counts of the
    unpruned ensemble in its metadata (as saved), so the candidates can be rebuilt."""
    return graph.replace(metadata={**graph.metadata, "calibration": {
        "candidates": records,
        "counts": {k: [int(i) for i in v] for k, v in counts.items()}}})


def train(route: Route, cfg: TrainConfig = TrainConfig(), deploy: DeployConfig = DeployConfig(),
          percentiles: tuple[float, ...] = (95.0, 98.0, 99.0, 99.5), min_spikes: int = 1,
          log: bool = True) -> tuple[Graph, Graph, list[dict], dict[str, np.ndarray]]:
    """(chosen graph, unpruned graph, calibration records, hyperactive counts)."""
    with one_blas_thread():
        return _train(route, cfg, deploy, percentiles, min_spikes, log)


def _train(route: Route, cfg: TrainConfig, deploy: DeployConfig,
           percentiles: tuple[float, ...], min_spikes: int,
           log: bool) -> tuple[Graph, Graph, list[dict], dict[str, np.ndarray]]:
    t0 = time.time()
    mods = train_ensemble(route.frames["reference"], cfg, progress=log)
    if log:
        print(f"vpr: trained {len(mods)} modules in {time.time() - t0:.0f} s", file=sys.stderr)
    # No wall-clock figures in the graph: retraining must reproduce the file exactly.
    full = build_graph(mods, route.n_places, deploy,
                       extra_meta={"train": asdict(cfg), "route": route.source,
                                   "tolerance": TOLERANCE})
    if "calibration" not in route.frames:
        return full, full, [], {}
    pruned, records, counts = calibrate(full, route, percentiles, min_spikes, log=log)
    return pruned, full, records, counts


def main(argv: list[str] | None = None) -> None:
    """CLI entry point (``python -m snnc.models.vpr.train --help``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--route", default=str(ROUTE_FILE), help="cached route .npz")
    ap.add_argument("--nordland", help="Nordland root folder (overrides --route)")
    ap.add_argument("--reference", default="summer")
    ap.add_argument("--query", default="winter")
    ap.add_argument("--calibration", default="fall")
    ap.add_argument("--places-per-module", type=int, default=TrainConfig.places_per_module)
    ap.add_argument("--neurons-per-place", type=int, default=TrainConfig.neurons_per_place)
    ap.add_argument("--seed", type=int, default=TrainConfig.seed)
    ap.add_argument("--min-spikes", type=int, default=1)
    ap.add_argument("-o", "--out", default=str(MODEL_FILE))
    a = ap.parse_args(argv)
    if a.nordland:
        route = load_nordland(a.nordland, a.reference, a.query, a.calibration)
    else:
        route = load_route(a.route)
    cfg = TrainConfig(places_per_module=a.places_per_module,
                      neurons_per_place=a.neurons_per_place, seed=a.seed)
    t0 = time.time()
    pruned, _, records, counts = train(route, cfg, min_spikes=a.min_spikes)
    h = save(with_calibration(pruned, records, counts), a.out)
    print(json.dumps({"model": a.out, "hash": h, "seconds": round(time.time() - t0, 1),
                      "calibration": records}, indent=1))


if __name__ == "__main__":
    main()
