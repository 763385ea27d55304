"""Every zoo model on the emulated devices: instructions per step, flash/RAM, bit-exactness.

``python -m snnc.bench.target_zoo [--samples N]`` compiles each ``models/**/*.snn`` with the
default pipeline (int8 weights, 16-bit state; calibrated on the model's own test inputs),
builds it for the smallest smartwatch preset it fits (Cortex-M4F under QEMU MPS2 AN386)
and for the Pi 4 (qemu-aarch64), runs ``N`` test samples and records the exact
instructions per step and per sample (insncount plugin; instructions, not cycles), the
model + runtime flash/RAM from the ELF sections, agreement with the integer simulator and
accuracy on the labels where the model has a test set.

Writes ``bench/results/devices_zoo.json`` and ``.md`` (a baseline to compare size and
instruction-count regressions against). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def _fitting_profile(build_dir: Path) -> tuple[Any, str]:
    """The smallest smartwatch preset the model fits, else the emulator's 4 MiB / 4 MiB."""
    from snnc.compiler.errors import SnncError
    from snnc.targets.smartwatch.build import check_fit
    from snnc.targets.smartwatch.profile import MIB, PRESETS, get_profile

    for p in sorted(PRESETS.values(), key=lambda p: (p.flash_bytes, p.ram_bytes)):
        try:
            check_fit(build_dir, p, build_dir / f"fit_{p.name}")
            return p, p.name
        except SnncError as e:
            if "does not fit" not in str(e):
                raise
    big = replace(get_profile(), name="an386-max", flash_bytes=4 * MIB, ram_bytes=4 * MIB)
    return big, "none (emulator's 4 MiB)"


def measure(model: Path, samples: int, work: Path) -> dict[str, Any]:
    """One zoo model on both emulated devices."""
    from snnc.compiler.ir import load
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline
    from snnc.models.testsets import load_test_data
    from snnc.targets.benchmark import compare, device_inputs, reference_outputs
    from snnc.targets.registry import write_build
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user
    from snnc.targets.smartwatch.build import build_firmware
    from snnc.targets.smartwatch.run import run_qemu

    g = load(model)
    calib = load_test_data(g, 16)
    gq, _ = run_pipeline(g, PassContext(options=CompileOptions(calib_samples=16),
                                        calib=calib.x, progress=lambda m: None))
    data = load_test_data(g, samples)
    x = device_inputs(gq, data.x)
    ref, _ = reference_outputs(gq, x)
    bd = write_build("smartwatch", gq, work / g.name)
    prof, fits = _fitting_profile(bd)
    # The embedded test inputs are not part of a deployment: run with the emulated board's
    # whole memory so they never crowd the model out (counts do not depend on the map).
    run_prof = replace(prof, name=f"{prof.name}+inputs", flash_bytes=4 * 1024 * 1024,
                       ram_bytes=4 * 1024 * 1024)
    fw = build_firmware(bd, x, run_prof, bd / "fw")
    r = run_qemu(fw)
    per = r.counts.intervals.reshape(x.shape[0], x.shape[1])
    rr = run_qemu_user(build_binary(bd, "pi4", bd / "rpi"), x)
    row: dict[str, Any] = {
        "model": str(model.relative_to(ROOT)), "name": g.name, "inputs": data.source,
        "samples": int(x.shape[0]), "steps": int(x.shape[1]),
        "smallest_preset": fits,
        "mcu_instr_per_step_median": float(np.median(per)),
        "mcu_instr_per_sample_median": float(np.median(per.sum(axis=1))),
        "mcu_model_flash_bytes": fw.model_memory.flash_bytes,
        "mcu_model_ram_bytes": fw.model_memory.ram_bytes,
        "a72_instr_per_step_median": float(np.median(rr.counts.intervals)),
        "mcu_bit_exact": compare(r.harness.outputs, ref, True)["match"],
        "a72_bit_exact": compare(rr.harness.outputs, ref, True)["match"],
    }
    if data.y is not None:
        row["accuracy_device"] = float(np.mean(np.argmax(r.harness.outputs[:, -1], 1) == data.y))
    return row


def to_markdown(res: dict[str, Any]) -> str:
    """The zoo table."""
    lines = ["# Zoo models on the emulated devices", "",
             f"int8 weights, 16-bit state (default pipeline), {res['samples']} test samples per "
             "model (evenly spaced over the test split; synthetic seeded inputs where a model "
             "has no test set). Instructions are exact guest instructions under QEMU "
             "(insncount plugin), not cycles. Flash/RAM: what the model and runtime add to "
             "the firmware (ELF sections).", "",
             "| model | steps | smallest preset | M4F instr/step | M4F instr/sample | flash B | "
             "RAM B | A72 instr/step | bit-exact (M4F, A72) | accuracy |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in res["rows"]:
        if "error" in r:
            lines.append(f"| {r['model']} | error: {r['error']} |")
            continue
        acc = f"{r['accuracy_device']:.3f}" if "accuracy_device" in r else "n/a"
        lines.append(
            f"| {r['model']} | {r['steps']} | {r['smallest_preset']} | "
            f"{r['mcu_instr_per_step_median']:.0f} | {r['mcu_instr_per_sample_median']:.0f} | "
            f"{r['mcu_model_flash_bytes']} | {r['mcu_model_ram_bytes']} | "
            f"{r['a72_instr_per_step_median']:.0f} | "
            f"{'yes' if r['mcu_bit_exact'] else 'NO'}, {'yes' if r['a72_bit_exact'] else 'NO'}"
            f" | {acc} |")
    lines += ["", f"Reproduce: `python -m snnc.bench.target_zoo --samples {res['samples']}`."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--out", default=str(RESULTS))
    a = ap.parse_args(argv)
    from snnc.compiler.errors import SnncError
    from snnc.compiler.ir.serialize import atomic_write

    rows = []
    with tempfile.TemporaryDirectory(prefix="snnc-zoo-") as td:
        for m in sorted((ROOT / "models").rglob("*.snn")):
            _log(f"{m.relative_to(ROOT)}")
            try:
                rows.append(measure(m, a.samples, Path(td)))
            except SnncError as e:  # report the model, keep going with the others
                rows.append({"model": str(m.relative_to(ROOT)), "error": str(e)[:300]})
    res = {"samples": a.samples, "rows": rows,
           "machine": {"host": platform.machine(), "python": platform.python_version()}}
    out = Path(a.out)
    atomic_write(out / "devices_zoo.json", lambda f: f.write(json.dumps(res, indent=1)),
                 mode="w")
    atomic_write(out / "devices_zoo.md", lambda f: f.write(to_markdown(res)), mode="w")
    print(to_markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
