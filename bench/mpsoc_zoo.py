"""Every zoo model on the MPSoC target: HLS C simulation and the A53 host program under
qemu-aarch64, both against the integer simulator, with the kernel's estimate.

``python -m snnc.bench.mpsoc_zoo [--samples N] [--board zcu102]`` compiles each
``models/**/*.snn`` with the mpsoc pipeline (int8 weights, 16-bit state; calibrated on the
model's own test inputs; the smallest reuse factor that fits the board), builds the csim
testbench (g++, self-checking against golden outputs) and the static aarch64 host program
(``-DHOST_SIM``: the kernel linked in software), runs ``N`` test samples through both and
records agreement, the chosen reuse and the estimator's cycles per step and utilization.

Writes ``bench/results/mpsoc_zoo.json`` and ``.md``. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def measure(model: Path, samples: int, board: str, work: Path) -> dict[str, Any]:
    """One zoo model: csim and qemu-aarch64 host outputs vs the integer simulator."""
    from snnc.compiler.ir import load
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline
    from snnc.models.testsets import load_test_data
    from snnc.targets.benchmark import compare, device_inputs, reference_outputs
    from snnc.targets.mpsoc.build import build_csim, build_host, build_info
    from snnc.targets.mpsoc.run import run_csim, run_qemu
    from snnc.targets.registry import write_build

    g = load(model)
    calib = load_test_data(g, 16)
    gq, _ = run_pipeline(g, PassContext(
        options=CompileOptions(calib_samples=16, target="mpsoc", profile=board),
        calib=calib.x, progress=lambda m: None))
    data = load_test_data(g, samples)
    x = device_inputs(gq, data.x)
    ref, _ = reference_outputs(gq, x)
    bd = write_build("mpsoc", gq, work / g.name)
    cs = run_csim(build_csim(bd), bd, x, golden=ref)
    hq = run_qemu(build_host(bd), x)
    est = build_info(bd)["estimate"]
    row: dict[str, Any] = {
        "model": str(model.relative_to(ROOT)), "name": g.name, "inputs": data.source,
        "samples": int(x.shape[0]), "steps": int(x.shape[1]), "values": int(ref.size),
        "csim_bit_exact": compare(cs.harness.outputs, ref, True)["match"],
        "csim_self_check_mismatches": cs.mismatches,
        "host_qemu_bit_exact": compare(hq.harness.outputs, ref, True)["match"],
        "estimate": est,
    }
    if data.y is not None:
        row["accuracy_device"] = float(np.mean(np.argmax(cs.harness.outputs[:, -1], 1)
                                               == data.y[:x.shape[0]]))
    return row


def to_markdown(res: dict[str, Any]) -> str:
    """The zoo table."""
    lines = [f"# Zoo models on the MPSoC target ({res['board']})", "",
             f"int8 weights, 16-bit state, {res['samples']} test samples per model; csim = "
             "the HLS testbench built with g++ (it also checks itself against golden "
             "outputs); host = the static aarch64 host program with the kernel linked in "
             "software, under qemu-aarch64. Reuse, cycles and utilization are the "
             "analytical estimate (targets/mpsoc/estimate.py), not synthesis results.", "",
             "| model | steps | values compared | csim bit-exact | host (qemu-aarch64) "
             "bit-exact | reuse | cycles/step | us/step | LUT % | FF % | BRAM18 % | DSP % | "
             "accuracy |", "| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: "
             "| ---: | ---: | ---: |"]
    for r in res["rows"]:
        if "error" in r:
            lines.append(f"| {r['model']} | error: {r['error']} |")
            continue
        e, u = r["estimate"], r["estimate"]["utilization"]
        acc = f"{r['accuracy_device']:.3f}" if "accuracy_device" in r else "n/a"
        lines.append(
            f"| {r['model']} | {r['steps']} | {r['values']:,} | "
            f"{'yes' if r['csim_bit_exact'] else 'NO'} ({r['csim_self_check_mismatches']} "
            f"mismatches) | {'yes' if r['host_qemu_bit_exact'] else 'NO'} | {e['reuse']} | "
            f"{e['cycles_per_step']:,} | {e['latency_us_per_step']:.2f} | "
            f"{100 * u['lut']:.1f} | {100 * u['ff']:.1f} | {100 * u['bram18']:.1f} | "
            f"{100 * u['dsp']:.1f} | {acc} |")
    lines += ["", f"Reproduce: `python -m snnc.bench.mpsoc_zoo --samples {res['samples']} "
                  f"--board {res['board']}`."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--board", default="zcu102")
    ap.add_argument("--out", default=str(RESULTS))
    a = ap.parse_args(argv)
    from snnc.compiler.errors import SnncError
    from snnc.compiler.ir.serialize import atomic_write

    rows = []
    with tempfile.TemporaryDirectory(prefix="snnc-mpsoc-zoo-") as td:
        for m in sorted((ROOT / "models").rglob("*.snn")):
            _log(f"{m.relative_to(ROOT)}")
            try:
                rows.append(measure(m, a.samples, a.board, Path(td)))
            except SnncError as e:  # report the model, keep going with the others
                rows.append({"model": str(m.relative_to(ROOT)), "error": str(e)[:300]})
    res = {"samples": a.samples, "board": a.board, "rows": rows,
           "machine": {"host": platform.machine(), "python": platform.python_version()}}
    out = Path(a.out)
    atomic_write(out / "mpsoc_zoo.json", lambda f: f.write(json.dumps(res, indent=1)),
                 mode="w")
    atomic_write(out / "mpsoc_zoo.md", lambda f: f.write(to_markdown(res)), mode="w")
    print(to_markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
