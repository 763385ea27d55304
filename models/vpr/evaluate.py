"""Evaluate the VPR ensemble: ``python -m snnc.models.vpr.evaluate``.

Measures, on the held-out query traversal of the cached route, Recall@1 (a match within
``tolerance`` frames) of

* the committed ensemble (``vpr_ensemble.snn``) run in the snnc reference simulator;
* the same ensemble retrained from its recorded seed *without* and *with* the
  hyperactive-neuron removal (every calibration candidate threshold), also in the
  simulator; retraining is deterministic, and the script checks that it reproduces the
  committed graph bit for bit (same content hash);
* the sum-of-absolute-differences (SAD) baseline on the same patch-normalized frames.

Writes ``results.json`` and the results table of ``README.md`` (between the
``<!-- results -->`` markers). Progress goes to stderr.
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
from snnc.compiler.ir import load, simulate
from snnc.compiler.ir.serialize import atomic_write, graph_hash
from snnc.compiler.passes.hyperactive import remove_hyperactive
from snnc.models.vpr.data import ROUTE_FILE, load_route
from snnc.models.vpr.export import (
    DeployConfig,
    as_current,
    assignments,
    build_graph,
    encode_queries,
    merge_scores,
    module_scores,
    one_blas_thread,
    predict_places,
    pruned_module_scores,
    recall_at_1,
    sad_predict,
    steps_of,
)
from snnc.models.vpr.model import TrainConfig, train_ensemble
from snnc.models.vpr.train import MODEL_FILE, TOLERANCE, with_calibration

HERE = Path(__file__).parent
README = HERE / "README.md"
RESULTS = HERE / "results.json"
QUICK_STRIDE = 4  # the default test tier checks every 4th query (fast on a busy machine)


def replace_block(text: str, tag: str, body: str) -> str:
    """Replace the text between ``<!-- tag -->`` and ``<!-- /tag -->`` in ``text``."""
    a, b = f"<!-- {tag} -->", f"<!-- /{tag} -->"
    if a not in text or b not in text:
        raise SnncError(f"{README}: markers {a} ... {b} missing")
    head, rest = text.split(a, 1)
    _, tail = rest.split(b, 1)
    return f"{head}{a}\n{body}\n{b}{tail}"


def write_readme_block(tag: str, body: str) -> None:
    """Update one generated block of models/vpr/README.md atomically."""
    text = replace_block(README.read_text(), tag, body)
    atomic_write(README, lambda f: f.write(text), mode="w")


def quick_figures(graph, route, tol: int) -> dict:
    """Recall@1 of ``graph`` and of SAD on every QUICK_STRIDE-th query of ``route``."""
    idx = np.arange(0, route.n_places, QUICK_STRIDE)
    q = route.frames["query"][idx]
    return {"stride": QUICK_STRIDE, "queries": int(len(idx)),
            "recall": recall_at_1(predict_places(graph, q, batch_size=len(idx)), idx, tol),
            "sad": recall_at_1(sad_predict(route.frames["reference"], q), idx, tol)}


def removal_decisions(full, frames: np.ndarray, tol: int, records: list[dict],
                      counts: dict[str, np.ndarray], batch_size: int = 64) -> None:
    """Whom each candidate removal would silence: for every candidate threshold, the
    number of the unpruned ensemble's decisions on ``frames`` (place i is frame i) that
    at least one neuron it removes takes part in (fired, and is assigned the decided
    place), as ``rec["removed_in_decisions"] = [correct, wrong]``."""
    x = encode_queries(full, frames)
    steps = steps_of(full)
    pops = [m["population"] for m in full.metadata["ensemble"]["modules"]]
    spikes: dict[str, list[np.ndarray]] = {p: [] for p in pops}
    for s in range(0, len(x), batch_size):
        res = simulate(full, as_current(x[s:s + batch_size], steps), record=True,
                       check=(s == 0))
        for p in pops:
            spikes[p].append(res.traces[p].sum(axis=1))
    fired = {p: np.concatenate(v) > 0 for p, v in spikes.items()}
    asg = assignments(full)
    scores = np.zeros((len(x), full.metadata["ensemble"]["n_places"]))
    for m in full.metadata["ensemble"]["modules"]:  # the place scores, from the spikes
        np.add.at(scores.T, asg[m["population"]],
                  np.concatenate(spikes[m["population"]]).T)
    decided = np.argmax(scores, axis=1)
    ok = np.abs(decided - np.arange(len(x))) <= tol
    for rec in records:
        if rec["threshold"] is None:
            continue
        involved = np.zeros(len(x), dtype=bool)  # per decision: a removed neuron took part
        for p in pops:
            took_part = fired[p] & (asg[p][None, :] == decided[:, None])
            involved |= took_part[:, np.asarray(counts[p]) >= rec["threshold"]].any(axis=1)
        rec["removed_in_decisions"] = [int((involved & ok).sum()), int((involved & ~ok).sum())]


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    with one_blas_thread():
        _main(argv)


def _main(argv: list[str] | None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(MODEL_FILE))
    ap.add_argument("--route", default=str(ROUTE_FILE))
    ap.add_argument("--tolerance", type=int, default=TOLERANCE)
    ap.add_argument("--no-readme", action="store_true", help="do not update README.md")
    ap.add_argument("--quick", action="store_true",
                    help=f"only measure the committed model on every {QUICK_STRIDE}th query "
                    "(the figure the default test tier checks) and add it to results.json")
    a = ap.parse_args(argv)
    route = load_route(a.route)
    p, truth, tol = route.n_places, np.arange(route.n_places), a.tolerance
    query = route.frames["query"]
    if a.quick:
        res = json.loads(RESULTS.read_text())
        res["quick"] = quick_figures(load(a.model), route, tol)
        atomic_write(RESULTS, lambda f: f.write(json.dumps(res, indent=1) + "\n"), mode="w")
        print(json.dumps(res["quick"], indent=1))
        return
    t0 = time.time()
    g = load(a.model)
    xq = encode_queries(g, query)
    t = time.time()
    g_scores = module_scores(g, xq, progress=True)
    sim_s = time.time() - t
    pred = np.argmax(merge_scores(g, g_scores), axis=1)
    committed = recall_at_1(pred, truth, tol)
    sad = {k: recall_at_1(sad_predict(route.frames["reference"], route.frames[k]), truth, tol)
           for k in ("calibration", "query")}
    print(f"vpr: committed model Recall@1 {committed:.3f}, SAD {sad['query']:.3f}",
          file=sys.stderr)

    meta = g.metadata["vpr"]
    cfg = TrainConfig(**meta["train"])
    dep = DeployConfig(**{k: meta[k] for k in ("steps", "gain", "offset", "inhibition")})
    # Retrain (deterministic) and rebuild every calibration candidate from the recorded
    # counts; the chosen one must be the committed file, bit for bit.
    mods = train_ensemble(route.frames["reference"], cfg, progress=True)
    full = build_graph(mods, p, dep, extra_meta={"train": asdict(cfg), "route": route.source,
                                                 "tolerance": meta["tolerance"]})
    cal = g.metadata["calibration"]
    records = [dict(r) for r in cal["candidates"]]
    counts = {k: np.asarray(v) for k, v in cal["counts"].items()}
    chosen_th = g.metadata.get("hyperactive", {}).get("threshold")
    chosen = full if chosen_th is None else remove_hyperactive(
        full, None, chosen_th, counts=counts, region_margin=meta["tolerance"])
    reproduced = graph_hash(with_calibration(chosen, records, counts)) == graph_hash(g)
    # Query scores of the unpruned ensemble, module by module: a candidate re-simulates
    # only the modules the removal touched (see train.calibrate). When the committed
    # file is the reproduced unpruned ensemble, its scores are those.
    base = g_scores if (reproduced and chosen_th is None) else module_scores(
        full, xq, progress=True)
    rows = records
    # Why removal helps or not: the calibration decisions the removed neurons take part in.
    removal_decisions(full, route.frames["calibration"], tol, rows, counts)
    # Query recall of every candidate (the threshold was chosen on calibration only).
    for rec in rows:
        gg = full if rec["threshold"] is None else remove_hyperactive(
            full, None, rec["threshold"], counts=counts, region_margin=meta["tolerance"])
        same = reproduced and rec["threshold"] == chosen_th
        # The committed file is one of the candidates: reuse its simulated decisions.
        rec["recall_query"] = committed if same else recall_at_1(np.argmax(merge_scores(
            gg, pruned_module_scores(gg, xq, base)), axis=1), truth, tol)
        rec["neurons"] = int(sum(n.shape[0] for k, n in gg.items() if k.endswith("_pop")))
        print(f"vpr: threshold {rec['threshold']}: query Recall@1 {rec['recall_query']:.3f}",
              file=sys.stderr)
    # Where the committed model errs: wrong queries per source image of the route
    # (generate_route walks each image in places_per_image consecutive places).
    wrong = np.abs(pred - truth) > tol
    breakdown = {}
    if route.source.startswith("skimage:"):
        names = route.source.split(":")[1].split(",")
        per = p // len(names)
        breakdown = {n: [int(wrong[i * per:(i + 1) * per].sum()), per]
                     for i, n in enumerate(names)}
    res = {
        "errors_per_source_image": breakdown,
        "route": route.source, "places": p, "tolerance": tol,
        "modules": len(g.metadata["ensemble"]["modules"]),
        "neurons": int(sum(n.shape[0] for k, n in g.items() if k.endswith("_pop"))),
        "committed_recall_query": committed, "committed_threshold":
            g.metadata.get("hyperactive", {}).get("threshold"),
        "retrain_reproduces_committed": bool(reproduced),
        "sad": sad, "candidates": rows, "sim_seconds_query_set": round(sim_s, 1),
        "seconds": round(time.time() - t0, 1),
    }
    atomic_write(RESULTS, lambda f: f.write(json.dumps(res, indent=1) + "\n"), mode="w")
    print(json.dumps(res, indent=1))
    if not a.no_readme:
        lines = [
            f"Route: {p} places ({route.source}); Recall@1 within {tol} frames; "
            f"{res['modules']} modules, {res['neurons']} neurons; "
            f"retraining reproduces the committed .snn: {reproduced}.",
            "",
            "| model (reference simulator) | hyperactive threshold | neurons removed | "
            "calibration decisions of the unpruned model the removed neurons take part in: "
            "correct / wrong | Recall@1 calibration | Recall@1 query (test) |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for rec in rows:
            name = "ensemble, no removal" if rec["threshold"] is None else "ensemble + removal"
            took = rec.get("removed_in_decisions")
            took = f"{took[0]} / {took[1]}" if took else "-"
            lines.append(f"| {name} | {rec['threshold'] or '-'} | {rec['removed']} | {took} | "
                         f"{rec['recall_calibration']:.3f} | {rec['recall_query']:.3f} |")
        lines.append(f"| SAD baseline (patch-normalized 28x28) | - | - | - | "
                     f"{sad['calibration']:.3f} | {sad['query']:.3f} |")
        lines.append("")
        lines.append(f"Committed model (`vpr_ensemble.snn`, threshold "
                     f"{res['committed_threshold'] or 'none'}): Recall@1 on the query "
                     f"traversal {committed:.3f}.")
        if breakdown:
            lines.append("")
            lines.append("Committed model's wrong queries per source image: " + ", ".join(
                f"{k} {v[0]}/{v[1]}" for k, v in breakdown.items()) + ".")
        write_readme_block("results", "\n".join(lines))


if __name__ == "__main__":
    main()
