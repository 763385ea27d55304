"""Accuracy, float/int agreement, RAM and flash of every zoo model under quantization.

``python -m snnc.bench.quantization [MODEL.snn ...]`` (default: every ``models/**/*.snn``)
compiles each model with the generic pipeline (:mod:`compiler.passes.pipeline`, the same
code as ``snnc compile``) in these configurations:

- float (no quantization), int16 (16-bit weights, 32-bit state), int8 (8-bit weights,
  16-bit state), int4 (4-bit weights, 16-bit state), int8 with power-of-two
  requantization (``--pow2``, shift-only targets);
- int8 after magnitude pruning of 50 / 80 / 90 % of the weights, ranked over all layers
  (global) or within each layer (layer); no fine-tuning.

For each it measures test accuracy with the float simulator (float rows) or the integer
golden model (integer rows), the agreement rate between the integer model and the float
graph it was quantized from (same predicted class, on the test inputs), and RAM / flash
bytes from the memory plan (the C emitter's layout). Calibration uses the first
``--calib`` samples of the training split. Models without a known dataset are run on seeded synthetic inputs
(no labels: accuracy is reported as "-" and only agreement is meaningful).

Writes ``bench/results/quantization.json`` and ``docs/quantization.md``; progress on
stderr. The configurations of a model run on the ``snnc fit`` engine
(:func:`snnc.targets.fit.engine.map_tasks`): ``--workers N`` local processes (default 1,
in this process) or ``--ray auto|ADDRESS``; results are the same whichever runs them.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("float", {"quantize": "float"}),
    ("int16", {"quantize": "int16", "state_bits": 32}),
    ("int8", {"quantize": "int8"}),
    ("int4", {"quantize": "int4"}),
    ("int8, pow2", {"quantize": "int8", "pow2": True}),
] + [(f"int8, {int(100 * f)}% pruned ({scope})",
       {"quantize": "int8", "prune": f, "prune_scope": scope})
      for f in (0.5, 0.8, 0.9) for scope in ("global", "layer")]


def _log(msg: str) -> None:
    print(f"snnc.bench.quantization: {msg}", file=sys.stderr, flush=True)


@dataclass
class Data:
    """Calibration inputs, test inputs and labels (None: synthetic, unlabeled)."""

    calib: np.ndarray
    x: np.ndarray
    y: np.ndarray | None
    source: str


def model_data(graph: Any, n_calib: int, n_test: int, seed: int = 0) -> Data:
    """Calibration (train split) and test data for ``graph``, chosen by its metadata."""
    meta = graph.metadata or {}
    text = " ".join(str(meta.get(k, "")) for k in ("dataset", "task", "model")).lower()
    text = text.replace(" ", "")
    if "basicmotions" in text:
        from snnc.models.datasets import load_basicmotions

        xtr, _, _ = load_basicmotions("train")
        xte, yte, _ = load_basicmotions("test")
        return Data(xtr[:n_calib], xte[:n_test], yte[:n_test], "BasicMotions train/test")
    if "japanesevowels" in text and "t_total" in meta:
        from snnc.models.delaynet.data import load_split

        xtr, _ = load_split("train", meta)
        xte, yte = load_split("test", meta)
        return Data(xtr[:n_calib], xte[:n_test], yte[:n_test], "JapaneseVowels train/test")
    if "sklearn-digits" in text:
        from snnc.models.lsm.data import load_digits_spikes

        steps = int(meta.get("lsm_config", {}).get("steps", 50))
        xtr, _ = load_digits_spikes("train", steps, n=n_calib)
        xte, yte = load_digits_spikes("test", steps)
        return Data(xtr, xte[:n_test], yte[:n_test], "sklearn digits (rate-coded) train/test")
    if isinstance(meta.get("vpr"), dict) and isinstance(meta.get("ensemble"), dict):
        from snnc.models.vpr.data import IMAGE_SIZE, PATCH_SIZE, encode, load_route

        route = load_route()
        v = meta["vpr"]
        size, patch = tuple(v.get("image_size", IMAGE_SIZE)), int(v.get("patch_size",
                                                                      PATCH_SIZE))
        steps = int(v["steps"])

        def cur(frames: np.ndarray) -> np.ndarray:
            x = encode(frames, size, patch)
            return np.repeat(x[:, None, :], steps, axis=1)

        ref, query = route.frames["reference"], route.frames["query"]
        pick = np.linspace(0, len(ref) - 1, min(n_calib, len(ref))).astype(int)
        return Data(cur(ref[pick]), cur(query[:n_test]), np.arange(len(query))[:n_test],
                    "VPR route: reference traversal calibrates, query traversal tests "
                    "(accuracy = exact place, Recall@1 with tolerance 0)")
    if "motiondirection" in text:
        from snnc.models.hdsnn.events import flatten_events, load_test_set

        X, y, _ = load_test_set()
        x = flatten_events(X)
        # No training events are committed: calibrate on the last n_calib test samples and
        # evaluate on the others only.
        k = max(len(x) - n_calib, 1)
        return Data(x[k:], x[:k][:n_test], y[:k][:n_test],
                    f"HD-SNN committed event test set ({n_calib} held-out samples calibrate, "
                    "the rest evaluate)")
    from snnc.compiler.ir.nodes import SPIKE

    node = graph.nodes[graph.inputs[0]]
    steps = int(meta.get("steps", meta.get("t_total", 30)))
    rng = np.random.default_rng(seed)
    shape = (n_calib + n_test, steps, *node.shape_out())
    x = (rng.random(shape) < 0.2).astype(np.float64) if node.dtype == SPIKE \
        else rng.standard_normal(shape)
    return Data(x[:n_calib], x[n_calib:], None, f"synthetic (seed {seed}, no labels)")


def run_config(graph: Any, data: Data, opts: dict[str, Any]) -> dict[str, Any]:
    """Compile ``graph`` with ``opts``; measure accuracy, agreement, RAM and flash."""
    from snnc.compiler.ir import predict
    from snnc.compiler.ir.interpret_int import predict_int
    from snnc.compiler.ir.qnodes import is_quantized
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline

    opt = CompileOptions(calib_samples=len(data.calib), **opts)
    ctx = PassContext(options=opt, calib=data.calib, progress=lambda m: None)
    t0 = time.perf_counter()
    g, plan = run_pipeline(graph, ctx)
    row: dict[str, Any] = {"options": opts, "ram_bytes": plan.ram_bytes,
                           "flash_bytes": plan.flash_bytes, "state_bytes": plan.state_bytes,
                           "arena_bytes": plan.arena_bytes}
    if is_quantized(g):
        pred = predict_int(g, data.x)
        ref = predict(ctx.float_reference, data.x)
        row["agreement"] = float(np.mean(pred == ref))
        if data.y is not None:  # the float graph it came from (pruned rows: pruned float)
            row["float_accuracy"] = float(np.mean(ref == data.y))
    else:
        pred = predict(g, data.x)
    row["accuracy"] = None if data.y is None else float(np.mean(pred == data.y))
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def _config_task(opts: dict[str, Any], shared: tuple[Any, Data]) -> dict[str, Any]:
    """Engine task: one configuration of the shared (graph, data)."""
    return run_config(shared[0], shared[1], opts)


def bench_model(path: Path, n_calib: int, n_test: int, workers: int = 1,
                ray: str | None = None) -> dict[str, Any]:
    """Every configuration of one model (on the fit engine: local pool or Ray)."""
    from snnc.compiler.ir import load
    from snnc.targets.fit.engine import map_tasks

    g = load(path)
    data = model_data(g, n_calib, n_test)
    _log(f"{path}: {data.source}, {len(data.x)} test / {len(data.calib)} calibration samples")
    out = map_tasks(_config_task, (g, data), [opts for _, opts in CONFIGS], workers, ray,
                    on_result=lambda i, r: _log(f"  {CONFIGS[i][0]}"))
    rows = {name: r for (name, _), r in zip(CONFIGS, out)}
    return {"model": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
            "name": g.name, "data": data.source, "test_samples": int(len(data.x)),
            "calib_samples": int(len(data.calib)), "configs": rows}


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def to_markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The docs/quantization.md table."""
    lines = [
        "# Quantization and sparsity: accuracy, agreement, memory",
        "",
        "Generated by `python -m snnc.bench.quantization` (do not edit by hand). Each model is",
        "compiled with the generic pipeline (`snnc compile`: prune -> inert synapses ->",
        "dead neurons -> quantize -> dead neurons -> storage -> memory plan).",
        "Accuracy: test split, float simulator for float rows, the integer golden model",
        "(`compiler/ir/interpret_int.py`) for integer rows. Agreement: share of test",
        "inputs on which the integer model predicts the same class as the float graph it",
        "was quantized from (the pruned float graph for pruned rows). RAM / flash: bytes",
        "of the memory plan (`compiler/passes/plan.py`): `sizeof` the state struct and",
        "the const tables the C emitter writes (float rows: float32). int16 = 16-bit",
        "weights with 32-bit state; int8 and int4 use 16-bit state (int4 weights are",
        "stored one per byte); pow2: int8 with",
        "power-of-two requantization multipliers. Pruning is magnitude pruning without",
        "fine-tuning, ranked over all layers (global) or within each layer (layer); a",
        "population all of whose neurons lose their effect is kept (never emptied), so",
        f"memory can stay flat. Calibration: {meta['calib']} training samples (the first",
        f"ones; VPR: {meta['calib']} reference frames spread over the route; HD-SNN, which",
        f"ships no training events: {meta['calib']} held-out test samples, not evaluated).",
        f"Machine: {meta['machine']}.",
        "",
    ]
    for r in results:
        lines += [f"## {r['name']} (`{r['model']}`)", "",
                  f"Data: {r['data']}, {r['test_samples']} test samples.", "",
                  "| config | accuracy % | float accuracy of the same graph % | "
                  "int/float agreement % | RAM B | flash B |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for name, row in r["configs"].items():
            agr = _pct(row.get("agreement")) if "agreement" in row else "(float)"
            fa = _pct(row.get("float_accuracy", row["accuracy"]))
            lines.append(f"| {name} | {_pct(row['accuracy'])} | {fa} | {agr} | "
                         f"{row['ram_bytes']} | {row['flash_bytes']} |")
        f, q = r["configs"]["float"]["accuracy"], r["configs"]["int8"]["accuracy"]
        if f is not None and q is not None:
            gap = 100 * (f - q)
            lines += ["", f"int8 vs float: {gap:+.1f} percentage points "
                      f"({'within' if abs(gap) <= 1.0 else 'NOT within'} the 1 pp goal)."]
        lines.append("")
    return "\n".join(lines)


def _render(doc: dict[str, Any]) -> str:
    md = to_markdown(doc["results"], doc["meta"])
    if doc.get("skipped"):
        md += "\n## Not run\n\n" + "\n".join(f"- `{f['model']}`: {f['error']}"
                                               for f in doc["skipped"]) + "\n"
    return md


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m snnc.bench.quantization``."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="*", help="models (default: models/**/*.snn)")
    ap.add_argument("--calib", type=int, default=64, help="calibration samples")
    ap.add_argument("--test", type=int, default=1000, help="max test samples per model")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "quantization.json"))
    ap.add_argument("--md", default=str(ROOT / "docs" / "quantization.md"))
    ap.add_argument("--workers", type=int, default=1,
                    help="local worker processes for the configurations (0: one per CPU)")
    ap.add_argument("--ray", default=None, help="run on Ray: 'auto' or a cluster address")
    ap.add_argument("--render", action="store_true",
                    help="only re-render the Markdown from an existing --json file")
    a = ap.parse_args(argv)
    from snnc.compiler.errors import SnncError
    from snnc.compiler.ir.serialize import atomic_write

    if a.render:
        doc = json.loads(Path(a.json).read_text())
        atomic_write(a.md, lambda f: f.write(_render(doc)), mode="w")
        _log(f"wrote {a.md}")
        return 0

    paths = [Path(p) for p in a.models] or sorted((ROOT / "models").rglob("*.snn"))
    results, failures = [], []
    for p in paths:
        try:
            results.append(bench_model(p.resolve(), a.calib, a.test, a.workers, a.ray))
        except SnncError as e:  # a model the integer pipeline cannot express yet
            _log(f"{p}: skipped: {e}")
            failures.append({"model": str(p), "error": str(e)})
    meta = {"calib": a.calib, "machine": f"{platform.machine()} {platform.system()}, "
            f"Python {platform.python_version()}, numpy {np.__version__}"}
    doc = {"meta": meta, "results": results, "skipped": failures}
    atomic_write(a.json, lambda f: f.write(json.dumps(doc, indent=1)), mode="w")
    atomic_write(a.md, lambda f: f.write(_render(doc)), mode="w")
    _log(f"wrote {a.json} and {a.md}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
