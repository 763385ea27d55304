"""`snnc fit` on the zoo for the smartwatch, engine scaling and local-vs-Ray identity.

``python -m snnc.bench.fit_zoo [--models l2mu,delaynet] [--scaling] [--ray]``

1. Fit: for each model, ``snnc fit``'s search (the same code path as the command) on the
   model's test split as the validation data, target smartwatch (nRF52840), objective
   instructions per step, accuracy budget 1 pp below the float model, flash and RAM no
   worse than the default int8 compile (``--max-flash default --max-ram default``).
   DelayNet also searches its fine-tuned 80%-pruned variant (``delaynet_pruned80.snn``
   from ``models.delaynet.gradual_prune``) when it exists. Writes
   ``bench/results/fit_smartwatch_<model>.{json,md,png}``.
2. ``--scaling``: one sweep (L2MU, ``--scaling-points`` points, empty cache each time)
   with a local pool of 1 worker, then 2 workers; wall time and speedup, and whether both
   gave identical records.
3. ``--ray``: the same sweep on a local Ray head (127.0.0.1, 2 CPUs); identical records
   to the local pool?

Summary in ``bench/results/fit_zoo.{json,md}``. Caches live in a temporary directory
(every figure here is a fresh measurement).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MODELS = {"l2mu": ROOT / "models" / "l2mu" / "l2mu.snn",
          "delaynet": ROOT / "models" / "delaynet" / "delaynet.snn"}
VARIANTS = {"delaynet": [ROOT / "models" / "delaynet" / "delaynet_pruned80.snn"]}


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def _data(graph: Any) -> tuple[np.ndarray, np.ndarray, str]:
    from snnc.models.testsets import load_test_data

    d = load_test_data(graph, 100000)
    if d.y is None:
        raise SystemExit(f"no labelled test split for {graph.name}: {d.source}")
    return d.x.astype(np.float32), d.y.astype(np.int64), d.source


def run_fit(name: str, max_points: int, workers: int, out_root: Path) -> dict[str, Any]:
    """One smartwatch fit of a zoo model; writes its report files into bench/results."""
    from snnc.compiler.ir import load
    from snnc.compiler.ir.serialize import atomic_write
    from snnc.targets.fit import FitConfig, fit
    from snnc.targets.fit.engine import make_engine
    from snnc.targets.fit.report import summary_line, write_outputs
    from snnc.targets.fit.search import make_state

    g = load(MODELS[name])
    graphs = {"base": g}
    for v in VARIANTS.get(name, []):
        if v.exists():
            graphs[v.stem] = load(v)
    x, y, src = _data(g)
    cfg = FitConfig(target="smartwatch", objective="instructions", max_drop=1.0,
                    max_points=max_points, limits={"flash": "default", "ram": "default"})
    _log(f"fit {name}: {len(graphs)} model(s), {len(x)} samples ({src})")
    res = fit(graphs, x, y, cfg, lambda st: make_engine(st, workers, None),
              cache_dir=out_root / f"cache_{name}")
    _log(summary_line(res))
    state, _ = make_state(graphs, x, y, cfg, "qemu")
    bdir = out_root / f"build_{name}"
    write_outputs(res, state, bdir)
    stem = RESULTS / f"fit_smartwatch_{name}"
    d = res.to_dict()
    d["data"] = src
    d["command"] = f"python -m snnc.bench.fit_zoo --models {name}"
    atomic_write(f"{stem}.json", lambda f: f.write(json.dumps(d, indent=1) + "\n"), mode="w")
    md = (bdir / "fit.md").read_text().replace(
        "\n\n", f"\n\nData: {src} (the zoo's test split stands in for the user's "
                "validation data). Command: `python -m snnc.bench.fit_zoo`.\n\n", 1)
    atomic_write(f"{stem}.md", lambda f: f.write(md), mode="w")
    shutil.copyfile(bdir / "front.png", f"{stem}.png")
    ch, df = res.chosen, res.default
    return {"model": name, "data": src, "chosen": ch["point"],
            "chosen_accuracy": ch["accuracy"], "default_accuracy": df["accuracy"],
            "float_accuracy": res.reference_accuracy,
            "chosen_cost": ch["cost"], "default_cost": df["cost"],
            "instructions_gain": df["cost"]["instructions"] / ch["cost"]["instructions"],
            "no_worse_flash_ram": ch["cost"]["flash"] <= df["cost"]["flash"]
            and ch["cost"]["ram"] <= df["cost"]["ram"],
            "within_budget": ch["accuracy"] >= res.threshold(),
            "evaluations": res.evaluated, "seconds": round(res.seconds, 1),
            "rungs": res.rungs}


def sweep(engine_factory: Any, points: int, cache: Path | None) -> tuple[Any, float]:
    """The scaling sweep: L2MU, smartwatch, ``points`` points, one rung."""
    from snnc.compiler.ir import load
    from snnc.targets.fit import FitConfig, fit

    g = load(MODELS["l2mu"])
    x, y, _ = _data(g)
    cfg = FitConfig(target="smartwatch", objective="instructions", max_drop=100.0,
                    max_points=points, seed=11)
    t0 = time.perf_counter()
    res = fit({"base": g}, x, y, cfg, engine_factory, cache_dir=cache)
    return res, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    from snnc.compiler.ir.serialize import atomic_write
    from snnc.targets.fit.engine import LocalPool, RayEngine

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="l2mu,delaynet")
    p.add_argument("--max-points", type=int, default=96)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--scaling", action="store_true")
    p.add_argument("--scaling-points", type=int, default=24)
    p.add_argument("--repeats", type=int, default=1,
                   help="--scaling: alternating 1- and 2-worker runs (median ratio)")
    p.add_argument("--ray", action="store_true")
    args = p.parse_args(argv)
    summ_path = RESULTS / "fit_zoo.json"
    summary: dict[str, Any] = json.loads(summ_path.read_text()) if summ_path.exists() else {}
    from snnc.targets.fit.search import code_fingerprint

    summary["host"] = {"machine": platform.machine(), "cpus": os.cpu_count(),
                       "note": "2-core machine shared with other jobs while measured"}
    # Which code measured (a checkout edited during a run gives mixed figures: run from a
    # snapshot, e.g. `git archive HEAD`, to compare engines on fixed code).
    code = {"fingerprint": code_fingerprint(), "commit": os.environ.get("SNNC_COMMIT")}
    with tempfile.TemporaryDirectory(prefix="snnc-fit-bench-") as td:
        root = Path(td)
        for name in [m for m in args.models.split(",") if m]:
            summary.setdefault("fits", {})[name] = {**run_fit(name, args.max_points,
                                                              args.workers, root),
                                                     "code": code}
        if args.scaling or args.ray:
            summary["engine_code"] = code
        if args.scaling:
            # 1 and 2 workers alternate, so drifting load from other jobs hits both alike;
            # the speedup is the median of the pairs' ratios.
            pairs, same = [], True
            for _ in range(args.repeats):
                r1, t1 = sweep(lambda st: LocalPool(st, 1), args.scaling_points, None)
                r2, t2 = sweep(lambda st: LocalPool(st, 2), args.scaling_points, None)
                pairs.append((round(t1, 1), round(t2, 1)))
                same = same and r1.records == r2.records
                _log(f"scaling: 1 worker {t1:.1f} s, 2 workers {t2:.1f} s -> x{t1 / t2:.2f}")
            ratios = sorted(a / b for a, b in pairs)
            summary["scaling"] = {
                "sweep": f"L2MU smartwatch, {args.scaling_points} points (compile + int8 "
                         "golden-model accuracy on 40 samples + QEMU build/run of 4 samples)",
                "pairs_seconds_1_vs_2_workers": pairs,
                "seconds_1_worker": pairs[0][0], "seconds_2_workers": pairs[0][1],
                "speedup": round(float(np.median(ratios)), 3),
                "speedups": [round(r, 3) for r in ratios],
                "seconds_per_point_1_worker":
                    round(float(np.median([a for a, _ in pairs])) / args.scaling_points, 2),
                "identical_records": same}
        if args.ray:
            rl, tl = sweep(lambda st: LocalPool(st, 2), args.scaling_points, None)
            import ray

            ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
            try:
                rr, tr = sweep(lambda st: RayEngine(st), args.scaling_points, None)
            finally:
                ray.shutdown()
            summary["ray"] = {"points": args.scaling_points, "seconds_local_pool": round(tl, 1),
                              "seconds_ray_local_head": round(tr, 1),
                              "identical_records": rr.records == rl.records,
                              "identical_front": rr.front == rl.front}
            _log(f"ray: identical records {rr.records == rl.records}")
    atomic_write(summ_path, lambda f: f.write(json.dumps(summary, indent=1) + "\n"), mode="w")
    atomic_write(RESULTS / "fit_zoo.md", lambda f: f.write(to_markdown(summary)), mode="w")
    print(to_markdown(summary))


def to_markdown(s: dict[str, Any]) -> str:
    """The summary table."""
    lines = ["# snnc fit on the zoo (smartwatch, nRF52840)", "",
             "`python -m snnc.bench.fit_zoo --scaling --ray`. Objective: QEMU instructions "
             "per step (median); budget: 1 pp below the float model on the test split; flash "
             "and RAM (model + runtime, ELF) no worse than the default int8 compile. Per-model "
             "fronts: `fit_smartwatch_<model>.{md,json,png}`.", "",
             "| model | chosen point | accuracy (float / default / chosen) | instructions "
             "default -> chosen | flash B | RAM B |", "| --- | --- | --- | --- | --- | --- |"]
    for name, f in s.get("fits", {}).items():
        pt = " ".join(f"{k}={v}" for k, v in f["chosen"].items())
        dc, cc = f["default_cost"], f["chosen_cost"]
        lines.append(f"| {name} | {pt} | {100 * f['float_accuracy']:.2f}% / "
                     f"{100 * f['default_accuracy']:.2f}% / {100 * f['chosen_accuracy']:.2f}% | "
                     f"{dc['instructions']:,.0f} -> {cc['instructions']:,.0f} "
                     f"(x{f['instructions_gain']:.2f}) | {dc['flash']:,} -> {cc['flash']:,} | "
                     f"{dc['ram']:,} -> {cc['ram']:,} |")
    if "scaling" in s:
        c = s["scaling"]
        pairs = c.get("pairs_seconds_1_vs_2_workers",
                      [(c["seconds_1_worker"], c["seconds_2_workers"])])
        lines += ["", f"Scaling ({c['sweep']}), 1 vs 2 workers, alternating runs (s): "
                      + ", ".join(f"{a} vs {b}" for a, b in pairs)
                      + f": median speedup **x{c['speedup']:.2f}**; identical records: "
                      f"{c['identical_records']}. Measured while other jobs shared the 2 cores; "
                      "re-measure on an idle machine with `python -m snnc.bench.fit_zoo "
                      "--models '' --scaling`."]
    if "engine_code" in s:
        c = s["engine_code"]
        lines += ["", f"Engine figures measured on code fingerprint {c['fingerprint']}"
                      + (f" (commit {c['commit'][:10]})" if c.get("commit") else "") + "."]
    if "ray" in s:
        r = s["ray"]
        lines += ["", f"Ray (local head, 127.0.0.1, 2 CPUs) vs local pool, {r['points']} points: "
                      f"identical records {r['identical_records']}, identical front "
                      f"{r['identical_front']} ({r['seconds_ray_local_head']} s vs "
                      f"{r['seconds_local_pool']} s)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
