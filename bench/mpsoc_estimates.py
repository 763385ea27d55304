"""Every zoo model on every MPSoC board: chosen reuse, LUT/FF/BRAM18/DSP, cycles per step.

``python -m snnc.bench.mpsoc_estimates`` compiles each ``models/**/*.snn`` with the default
pipeline (int8 weights, 16-bit state; calibrated on 16 of the model's own test inputs, as
``bench.target_zoo``), then, for each board preset, picks the reuse factor with the fewest
cycles per step that fits the board's limits (:func:`targets.mpsoc.estimate.choose_reuse`)
and records the analytical estimate: resources with utilization, cycles and microseconds
per step at the board's kernel clock, and the fit verdict (for a model that fits at no
reuse factor, the closest candidate and what it exceeds).

Writes ``bench/results/mpsoc_estimates.json`` and ``.md``. Progress goes to stderr. These
are analytical figures, not Vitis HLS synthesis reports.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def quantized_zoo_model(model: Path, calib_samples: int = 16) -> Any:
    """The zoo model compiled by the default pipeline (as bench.target_zoo does)."""
    from snnc.compiler.ir import load
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline
    from snnc.models.testsets import load_test_data

    g = load(model)
    calib = load_test_data(g, calib_samples)
    gq, _ = run_pipeline(g, PassContext(options=CompileOptions(calib_samples=calib_samples),
                                        calib=calib.x, progress=lambda m: None))
    return gq


def measure(model: Path) -> list[dict[str, Any]]:
    """One zoo model on every board preset: one row per board."""
    from snnc.targets.mpsoc.estimate import choose_reuse
    from snnc.targets.mpsoc.profile import PRESETS

    gq = quantized_zoo_model(model)
    rows = []
    for board in PRESETS.values():
        t0 = time.perf_counter()
        e = choose_reuse(gq, board)
        d = e.to_dict()
        d.pop("nodes")
        d["model_path"] = str(model.relative_to(ROOT))
        d["estimate_seconds"] = round(time.perf_counter() - t0, 3)
        rows.append(d)
        _log(f"  {board.name}: reuse {e.reuse}, {'fits' if e.fits else 'does not fit'}")
    return rows


def _pct(r: dict[str, Any], k: str) -> str:
    return f"{r['totals'][k]:,} ({100 * r['utilization'][k]:.1f}%)"


def to_markdown(res: dict[str, Any]) -> str:
    """The model x board table."""
    from snnc.targets.mpsoc.profile import LIMITS, PRESETS

    lim = ", ".join(f"{k.upper()} {100 * v:.0f}%" for k, v in LIMITS.items())
    boards = "; ".join(f"{b.board} {b.part}: {b.lut:,} LUT, {b.ff:,} FF, {b.bram18:,} "
                       f"BRAM18, {b.dsp:,} DSP, kernel {b.pl_clock_hz / 1e6:g} MHz"
                       for b in PRESETS.values())
    lines = ["# Zoo models on the MPSoC boards (analytical estimate)", "",
             "Analytical LUT/FF/BRAM18/DSP and cycle estimate of the HLS kernel "
             "(targets/mpsoc/estimate.py; rules of thumb, NOT Vitis HLS synthesis reports). "
             "Models compiled with the default pipeline (int8 weights, 16-bit state). For "
             "each board the reuse factor (1, 2, 4, ...) with the fewest cycles per step "
             f"that stays under the limits ({lim}) is chosen; where none fits, the closest "
             "candidate is shown with what it exceeds. Utilization in parentheses. "
             "us/step: kernel cycles at the board's kernel clock, without the A53's "
             "AXI4-Lite transfers.", "", f"Boards: {boards}.", "",
             "| model | board | reuse | LUT | FF | BRAM18 | DSP | cycles/step | us/step | "
             "fits |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in res["rows"]:
        if "error" in r:
            lines.append(f"| {r['model_path']} | error: {r['error']} | | | | | | | | |")
            continue
        verdict = "yes" if r["fits"] else "no: " + "; ".join(r["violations"])
        lines.append(
            f"| {r['model']} | {r['board_name']} | {r['reuse']} | {_pct(r, 'lut')} | "
            f"{_pct(r, 'ff')} | {_pct(r, 'bram18')} | {_pct(r, 'dsp')} | "
            f"{r['cycles_per_step']:,} | {r['latency_us_per_step']:.2f} | {verdict} |")
    lines += ["", "Reproduce: `python -m snnc.bench.mpsoc_estimates`."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(RESULTS))
    a = ap.parse_args(argv)
    from snnc.compiler.errors import SnncError
    from snnc.compiler.ir.serialize import atomic_write

    rows: list[dict[str, Any]] = []
    for m in sorted((ROOT / "models").rglob("*.snn")):
        _log(f"{m.relative_to(ROOT)}")
        try:
            rows.extend(measure(m))
        except SnncError as e:  # report the model, keep going with the others
            rows.append({"model_path": str(m.relative_to(ROOT)), "error": str(e)[:300]})
    res = {"rows": rows, "note": "analytical estimate, not calibrated against Vitis HLS",
           "machine": {"host": platform.machine(), "python": platform.python_version()}}
    out = Path(a.out)
    atomic_write(out / "mpsoc_estimates.json", lambda f: f.write(json.dumps(res, indent=1)),
                 mode="w")
    atomic_write(out / "mpsoc_estimates.md", lambda f: f.write(to_markdown(res)), mode="w")
    print(to_markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
