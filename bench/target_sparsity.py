"""Instructions per step vs weight sparsity on the emulated devices: dense vs event-driven.

``python -m snnc.bench.target_sparsity [MODEL.snn]`` (default: the bundled L2MU) prunes the
model by magnitude to 0/50/80/90/99% weight sparsity (global), quantizes it (int8
weights, 16-bit state, calibrated on the model's test inputs), and builds each pruned
model twice: every synapse matrix stored dense (row-major kernel, all weights every step)
and stored CSC by presynaptic neuron (event-driven kernel: only the non-zero inputs'
columns). Each build runs the same test samples on the emulated smartwatch (Cortex-M4F,
QEMU MPS2 AN386) and, with ``--rpi``, under qemu-aarch64 (Pi 4 build); the insncount
plugin gives exact instructions per step (deterministic; instructions, not cycles).
Every run is checked bit-exact against the integer simulator.

Writes ``bench/results/sparsity_<model>.json`` and ``.md``. Progress goes to stderr.
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
SPARSITIES = (0.0, 0.5, 0.8, 0.9, 0.99)


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(model: Path, samples: int, sparsities: tuple[float, ...], rpi: bool) -> dict[str, Any]:
    """Measure every (sparsity, storage) configuration; returns the results record."""
    from snnc.compiler.ir import load
    from snnc.compiler.ir.interpret_int import simulate_int
    from snnc.compiler.ir.metrics import connection_sparsity
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline
    from snnc.models.testsets import load_test_data
    from snnc.targets.benchmark import device_inputs
    from snnc.targets.registry import write_build
    from snnc.targets.smartwatch.build import build_firmware
    from snnc.targets.smartwatch.run import run_qemu

    g = load(model)
    data = load_test_data(g, samples)
    rows = []
    with tempfile.TemporaryDirectory(prefix="snnc-sparsity-") as td:
        for sp in sparsities:
            for storage, thr in (("dense", 0.0), ("event-driven (CSC)", 1.0)):
                _log(f"sparsity {sp:.0%}, {storage}")
                opt = CompileOptions(prune=sp, storage_threshold=thr, calib_samples=samples)
                ctx = PassContext(options=opt, calib=data.x, progress=lambda m: None)
                gq, plan = run_pipeline(g, ctx)
                pruned_f = ctx.float_reference
                x = device_inputs(gq, data.x)
                node = gq.nodes[gq.inputs[0]]
                ref = simulate_int(gq, x.reshape(*x.shape[:2], *node.shape_out())
                                   .astype(np.int64)).output
                ref = ref.reshape(ref.shape[0], ref.shape[1], -1)
                bd = write_build("smartwatch", gq, Path(td) / f"{sp}_{thr}")
                fw = build_firmware(bd, x, "nrf52840", bd / "fw")
                r = run_qemu(fw)
                steps = r.counts.intervals
                row = {
                    "sparsity_target": sp,
                    "connection_sparsity": (connection_sparsity(pruned_f)
                                            if pruned_f is not None else None),
                    "storage": storage,
                    "storages": sorted({str(v.storage) for v in gq.nodes.values()
                                        if hasattr(v, "storage")}),
                    "mcu_instr_per_step_median": float(np.median(steps)),
                    "mcu_instr_per_step_p99": float(np.percentile(steps, 99)),
                    "mcu_model_flash_bytes": fw.model_memory.flash_bytes,
                    "mcu_model_ram_bytes": fw.model_memory.ram_bytes,
                    "bit_exact": bool(np.array_equal(r.harness.outputs, ref)),
                }
                if data.y is not None:
                    pred = np.argmax(r.harness.outputs[:, -1], axis=1)
                    row["accuracy"] = float(np.mean(pred == data.y[:samples]))
                if rpi:
                    from snnc.targets.rpi.build import build_binary
                    from snnc.targets.rpi.run import run_qemu_user

                    rr = run_qemu_user(build_binary(bd, "pi4", bd / "rpi"), x)
                    row["a72_instr_per_step_median"] = float(np.median(rr.counts.intervals))
                    row["bit_exact"] = row["bit_exact"] and bool(
                        np.array_equal(rr.harness.outputs, ref))
                rows.append(row)
    return {"model": str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model),
            "name": g.name, "samples": samples, "steps": int(data.x.shape[1]),
            "inputs": data.source, "quantization": "int8 weights, 16-bit state",
            "prune": "magnitude, global", "unit": "guest instructions (QEMU TCG plugin)",
            "machine": {"host": platform.machine(), "python": platform.python_version()},
            "rows": rows}


def to_markdown(r: dict[str, Any]) -> str:
    """The results as a Markdown table (dense vs event-driven per sparsity)."""
    rpi = any("a72_instr_per_step_median" in row for row in r["rows"])
    lines = [f"# Instructions per step vs weight sparsity: {r['name']}", "",
             f"Model `{r['model']}`, {r['quantization']}, pruning {r['prune']}; "
             f"{r['samples']} samples x {r['steps']} steps ({r['inputs']}). Counts are exact "
             "guest instructions under QEMU (insncount plugin), median over all steps; "
             "instructions, not cycles. Every configuration is bit-exact with the integer "
             "simulator unless marked.", "",
             "| weight sparsity | kernel | M4F instr/step (median) | M4F p99 |"
             + (" A72 instr/step |" if rpi else "") + " model flash B | accuracy | bit-exact |",
             "| --- | --- | --- | --- |" + (" --- |" if rpi else "") + " --- | --- | --- |"]
    for row in r["rows"]:
        cs = row["connection_sparsity"]
        sp = f"{row['sparsity_target']:.0%}" + (f" (actual {cs:.1%})" if cs is not None else "")
        acc = f"{row['accuracy']:.3f}" if "accuracy" in row else "n/a"
        lines.append(
            f"| {sp} | {row['storage']} | {row['mcu_instr_per_step_median']:.0f} | "
            f"{row['mcu_instr_per_step_p99']:.0f} |"
            + (f" {row['a72_instr_per_step_median']:.0f} |" if rpi else "")
            + f" {row['mcu_model_flash_bytes']} | {acc} | {'yes' if row['bit_exact'] else 'NO'} |")
    lines += ["", "Reproduce: `python -m snnc.bench.target_sparsity" + (" --rpi" if rpi else "")
              + f" {r['model']} --samples {r['samples']}`."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=str(ROOT / "models" / "l2mu" / "l2mu.snn"))
    ap.add_argument("--samples", type=int, default=40,
                    help="test samples (BasicMotions has 40: all of them by default)")
    ap.add_argument("--rpi", action="store_true", help="also count under qemu-aarch64 (Pi 4)")
    ap.add_argument("--out", default=str(RESULTS))
    a = ap.parse_args(argv)
    from snnc.compiler.ir.serialize import atomic_write

    res = run(Path(a.model).resolve(), a.samples, SPARSITIES, a.rpi)
    out = Path(a.out)
    stem = out / f"sparsity_{res['name']}"
    atomic_write(stem.with_suffix(".json"), lambda f: f.write(json.dumps(res, indent=1)),
                 mode="w")
    atomic_write(stem.with_suffix(".md"), lambda f: f.write(to_markdown(res)), mode="w")
    print(to_markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
