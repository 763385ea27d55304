"""Scaling of the modular ensemble with route length: ``python -m snnc.models.vpr.scaling``.

For routes of 99, 198 and 396 places (the first places of the cached route) and 792
places (a longer route generated the same way, 6 rows of views per image instead of 3;
needs scikit-image, skipped with a message without it), i.e. 4, 8, 16 and 32 modules of
25 places, trains the ensemble (no hyperactive removal, so every size is treated
alike), and measures in the reference simulator:

* Recall@1 on the query traversal (within the tolerance);
* per-query cost: synaptic operations per query (every non-zero synapse once per step,
  T steps), synaptic events actually processed (spikes times fan-out, plus the input
  currents into every module), and the simulator's CPU time per query (32 queries,
  median of 5 rounds that visit every size in turn, so all sizes see the same machine
  load; absolute times on a shared machine are noise, ratios are the point);
* compile cost: building and verifying the IR graph, and writing it as ``.snn``.

Every module has its own nodes (the place map of a module covers only its region's
places), so the work per query is one module's work times the number of modules:
linear in the route length. Writes ``scaling.json`` and the scaling table of README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import Affine, Linear, save, verify
from snnc.compiler.ir.interpret import simulate
from snnc.compiler.ir.serialize import atomic_write
from snnc.models.vpr.data import ROUTE_FILE, Route, encode, generate_route, load_route
from snnc.models.vpr.evaluate import write_readme_block
from snnc.models.vpr.export import (
    DeployConfig,
    as_current,
    build_graph,
    one_blas_thread,
    predict_places,
    recall_at_1,
)
from snnc.models.vpr.model import TrainConfig, train_ensemble
from snnc.models.vpr.train import TOLERANCE

HERE = Path(__file__).parent


def synapse_ops(graph, steps: int) -> int:
    """Synaptic operations per query if every non-zero synapse is used every step (the
    dense work of a backend that skips absent synapses, e.g. the one-hot place map)."""
    return steps * sum(int(np.count_nonzero(n.weight)) for _, n in graph.items()
                       if isinstance(n, (Affine, Linear)))


def event_ops(graph, x: np.ndarray) -> float:
    """Mean synaptic events per query: input currents into every module's Affine each
    step, plus every spike times its non-zero fan-out (inhibition and place map)."""
    steps = int(graph.metadata["vpr"]["steps"])
    res = simulate(graph, as_current(x, steps), record=True)
    total = 0.0
    for name, node in graph.items():
        if isinstance(node, Affine):
            total += steps * np.asarray(node.weight).size
        elif isinstance(node, Linear):
            src = graph.predecessors(name)[0]
            fan = (np.asarray(node.weight) != 0).sum(axis=0)  # per presynaptic neuron
            total += float((res.traces[src].sum(axis=1) * fan).sum(axis=1).mean())
    return total


def snnc_compile_host(model: Path, calib: np.ndarray, out: Path) -> tuple[float, int]:
    """``snnc compile MODEL -o OUT --target host --calib ...`` in this process (int8,
    the default pass pipeline, then the C sources): (CPU seconds, planned flash bytes)."""
    from snnc.compiler.cli_compile import compile_model
    from snnc.compiler.passes.pipeline import CompileOptions
    from snnc.targets import registry

    t0 = time.process_time()
    g, plan, _ = compile_model(model, CompileOptions(target="host"), calib)
    registry.write_build("host", g, out, {"flash_bytes": plan.flash_bytes,
                                          "ram_bytes": plan.ram_bytes})
    return time.process_time() - t0, int(plan.flash_bytes)


def route_of(n_places: int, cached: Route) -> Route:
    """The first ``n_places`` places of the cached route or, for a longer route, of a
    route generated with enough rows of views per image."""
    if n_places <= cached.n_places:
        return cached.subset(n_places)
    per_row = cached.n_places // 3  # the cached route walks 3 rows per image
    rows = -(-n_places // per_row)
    return generate_route(rows=rows).subset(n_places)


def measure(n_places: int, route: Route, cfg: TrainConfig, dep: DeployConfig,
            workdir: Path, timing_queries: int = 32) -> dict:
    """One row of the scaling table (``route``: the cached route; the graph is saved in
    ``workdir`` for the compile timing)."""
    sub = route_of(n_places, route)
    truth = np.arange(n_places)
    t0 = time.time()
    mods = train_ensemble(sub.frames["reference"], cfg, progress=False)
    train_s = time.time() - t0
    t0 = time.time()
    g = verify(build_graph(mods, n_places, dep))
    path = workdir / f"vpr_{n_places}.snn"
    save(g, path)
    size = path.stat().st_size
    compile_s = time.time() - t0
    # 64 reference frames spread over the route calibrate the int8 quantization.
    idx = np.linspace(0, n_places - 1, 64).round().astype(int)
    calib = as_current(encode(sub.frames["reference"][idx]), dep.steps)
    recall = recall_at_1(predict_places(g, sub.frames["query"]), truth, TOLERANCE)
    x = encode(sub.frames["query"][:timing_queries])
    return {
        "places": n_places, "route": "cached" if n_places <= route.n_places else
        sub.source.rsplit(":", 1)[-1],
        "modules": len(mods),
        "neurons": int(sum(len(m.weight) for m in mods)),
        "recall_at_1": recall, "train_s": round(train_s, 1),
        "compile_s": round(compile_s, 2), "snn_bytes": size,
        "synapse_ops_per_query": synapse_ops(g, dep.steps),
        "event_ops_per_query": round(event_ops(g, x), 0),
        "graph": g, "x": x, "path": path, "calib": calib,
    }


def time_interleaved(rows: list[dict], steps: int, rounds: int = 5,
                     compile_rounds: int = 3) -> None:
    """Simulator CPU time per query and ``snnc compile --target host`` CPU time for every
    size, measured round-robin so that all sizes see the same machine load; the median
    of the rounds goes in each row."""
    times: list[list[float]] = [[] for _ in rows]
    ctimes: list[list[float]] = [[] for _ in rows]
    for k in range(rounds):
        for i, r in enumerate(rows):
            # CPU time of this process: on a shared machine wall time mostly measures the
            # other jobs.
            t0 = time.process_time()
            simulate(r["graph"], as_current(r["x"], steps), check=False)
            times[i].append((time.process_time() - t0) / len(r["x"]))
            if k < compile_rounds:
                cs, r["host_flash_bytes"] = snnc_compile_host(
                    r["path"], r["calib"], r["path"].with_suffix(".build"))
                ctimes[i].append(cs)
    for r, t, c in zip(rows, times, ctimes):
        r["sim_ms_per_query"] = round(1000 * float(np.median(t)), 2)
        r["snnc_compile_host_cpu_s"] = round(float(np.median(c)), 2)
        del r["graph"], r["x"], r["path"], r["calib"]


def table(rows: list[dict]) -> str:
    """The README scaling table for measured ``rows``."""
    base = rows[0]

    def ratio(r: dict, k: str) -> str:
        return f"{r[k]} ({r[k] / base[k]:.2f}x)"

    lines = ["| places (route) | modules | neurons | Recall@1 (query) | synaptic ops / query "
             "| synaptic events / query | sim CPU ms / query (ratio) "
             "| snnc compile --target host, CPU s (ratio) | build IR + write .snn, s "
             "| .snn bytes | host flash bytes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(
            f"| {r['places']} ({r.get('route', 'cached')}) | {r['modules']} | {r['neurons']} "
            f"| {r['recall_at_1']:.3f} "
            f"| {r['synapse_ops_per_query']:,} | {r['event_ops_per_query']:,.0f} "
            f"| {ratio(r, 'sim_ms_per_query')} | {ratio(r, 'snnc_compile_host_cpu_s')} "
            f"| {r['compile_s']} | {r['snn_bytes']:,} | {r['host_flash_bytes']:,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """CLI entry point."""
    # One BLAS thread: the process CPU time then measures the work, not a second BLAS
    # thread waiting for a core another job holds.
    with one_blas_thread():
        _main(argv)


def _main(argv: list[str] | None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="99,198,396,792", help="route lengths (places)")
    ap.add_argument("--route", default=str(ROUTE_FILE))
    ap.add_argument("--no-readme", action="store_true")
    ap.add_argument("--readme-from-json", action="store_true",
                    help="only rewrite the README table from scaling.json")
    a = ap.parse_args(argv)
    out = HERE / "scaling.json"
    if a.readme_from_json:
        write_readme_block("scaling", table(json.loads(out.read_text())))
        return
    route = load_route(a.route)
    cfg, dep = TrainConfig(), DeployConfig()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for n in (int(s) for s in a.sizes.split(",")):
            try:
                rows.append(measure(n, route, cfg, dep, Path(d)))
            except SnncError as e:  # a longer route needs scikit-image to be generated
                print(f"vpr: scaling: {n} places skipped: {e}", file=sys.stderr)
                continue
            print(f"vpr: scaling: {n} places measured", file=sys.stderr)
        print("vpr: scaling: timing simulate and snnc compile, all sizes in turn",
              file=sys.stderr)
        time_interleaved(rows, dep.steps)
    atomic_write(out, lambda f: f.write(json.dumps(rows, indent=1) + "\n"), mode="w")
    print(json.dumps(rows, indent=1))
    if not a.no_readme:
        write_readme_block("scaling", table(rows))


if __name__ == "__main__":
    main()
