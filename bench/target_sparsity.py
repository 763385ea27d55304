"""Instructions per step vs weight sparsity on the emulated devices.

``python -m snnc.bench.target_sparsity [MODEL.snn]`` (default: the bundled L2MU) prunes the
model by magnitude to 0/50/80/90/99% weight sparsity (global), quantizes it (int8
weights, 16-bit state, calibrated on the model's test inputs) and builds it the way
``snnc compile --target smartwatch`` does: spiking layers go through the specialized
event-driven engine (compiler/codegen/c_fused.py: storage per layer by estimated
instructions, idle neurons skipped), so there is one build per sparsity. Each build runs
the same test samples on the emulated smartwatch (Cortex-M4F, QEMU MPS2 AN386) and, with
``--rpi``, under qemu-aarch64 (Pi 4 build); the insncount plugin gives exact instructions
per step (deterministic; instructions, not cycles). Every run is checked bit-exact
against the integer simulator, which also gives the spike activity (share of neurons
spiking per step, over every spiking population and the input).

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
    """Measure every sparsity; returns the results record."""
    from snnc.compiler.ir import load
    from snnc.compiler.ir.interpret_int import simulate_int
    from snnc.compiler.ir.metrics import connection_sparsity
    from snnc.compiler.ir.qnodes import QLIF
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
            _log(f"sparsity {sp:.0%}")
            opt = CompileOptions(prune=sp, calib_samples=samples)
            ctx = PassContext(options=opt, calib=data.x, progress=lambda m: None)
            gq, plan = run_pipeline(g, ctx)
            pruned_f = ctx.float_reference
            x = device_inputs(gq, data.x)
            node = gq.nodes[gq.inputs[0]]
            sim = simulate_int(gq, x.reshape(*x.shape[:2], *node.shape_out())
                               .astype(np.int64), record=True)
            ref = sim.output.reshape(sim.output.shape[0], sim.output.shape[1], -1)
            spiking = [n for n, v in gq.items()
                       if getattr(v, "out_dtype", getattr(v, "dtype", None)) == "spike"
                       and n in sim.traces]
            pops = [n for n in spiking if isinstance(gq.nodes[n], QLIF)]
            bd = write_build("smartwatch", gq, Path(td) / f"{sp}")
            fw = build_firmware(bd, x, "nrf52840", bd / "fw")
            r = run_qemu(fw)
            steps = r.counts.intervals
            row = {
                "sparsity_target": sp,
                "connection_sparsity": (connection_sparsity(pruned_f)
                                        if pruned_f is not None else None),
                "spike_activity": float(np.mean(np.concatenate(
                    [np.ravel(sim.traces[n] != 0) for n in spiking]))),
                "populations": {n: {"size": int(gq.nodes[n].size),
                                    "spike_rate": float(np.mean(sim.traces[n] != 0))}
                                for n in pops},
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
    """The results as a Markdown table (one build per sparsity; ratios to the 0% row)."""
    rpi = any("a72_instr_per_step_median" in row for row in r["rows"])
    base = r["rows"][0]
    lines = [f"# Instructions per step vs weight sparsity: {r['name']}", "",
             f"Model `{r['model']}`, {r['quantization']}, pruning {r['prune']}; "
             f"{r['samples']} samples x {r['steps']} steps ({r['inputs']}). Built as "
             "`snnc compile --target smartwatch` builds it (the specialized event-driven "
             "engine of compiler/codegen/c_fused.py: storage per layer by estimated "
             "instructions, idle neurons skipped). Counts are exact guest instructions "
             "under QEMU (insncount plugin), median over all steps; instructions, not "
             "cycles. 'vs 0%': the ratio to the first row. Spike activity: share of the "
             "neurons of every spiking node spiking per step, from the integer "
             "simulator. Every configuration is bit-exact with the integer simulator "
             "unless marked.", "",
             "| weight sparsity | spike activity | M4F instr/step (median) | M4F vs 0% | M4F p99 |"
             + (" A72 instr/step | A72 vs 0% |" if rpi else "")
             + " model flash B | accuracy | bit-exact |",
             "| --- | --- | --- | --- | --- |" + (" --- | --- |" if rpi else "")
             + " --- | --- | --- |"]
    for row in r["rows"]:
        cs = row["connection_sparsity"]
        sp = f"{row['sparsity_target']:.0%}" + (f" (actual {cs:.1%})" if cs is not None else "")
        acc = f"{row['accuracy']:.3f}" if "accuracy" in row else "n/a"
        m4 = row["mcu_instr_per_step_median"]
        a72 = (f" {row['a72_instr_per_step_median']:.0f} |"
               f" {row['a72_instr_per_step_median'] / base['a72_instr_per_step_median']:.0%} |"
               if rpi else "")
        lines.append(
            f"| {sp} | {row['spike_activity']:.1%} | {m4:.0f} | "
            f"{m4 / base['mcu_instr_per_step_median']:.0%} | "
            f"{row['mcu_instr_per_step_p99']:.0f} |" + a72
            + f" {row['mcu_model_flash_bytes']} | {acc} | {'yes' if row['bit_exact'] else 'NO'} |")
    pops = list(base["populations"])
    if pops:
        lines += ["", "Spike rate per population (share of its neurons spiking per step):", "",
                  "| weight sparsity | " + " | ".join(
                      f"{p} ({base['populations'][p]['size']})" for p in pops) + " |",
                  "| --- |" + " --- |" * len(pops)]
        for row in r["rows"]:
            lines.append(f"| {row['sparsity_target']:.0%} | " + " | ".join(
                f"{row['populations'][p]['spike_rate']:.1%}" if p in row["populations"]
                else "-" for p in pops) + " |")
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
