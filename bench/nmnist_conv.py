"""The snnTorch conv SNN (models/nmnist_conv) compiled for the smartwatch, run under QEMU.

``python -m snnc.bench.nmnist_conv [--samples N]`` compiles ``models/nmnist_conv/nmnist_conv.nir`` with
the default pipeline (int8 weights, 16-bit state, calibrated on 16 test samples),
builds the firmware for the smallest smartwatch preset it fits (Cortex-M4F, QEMU MPS2
AN386), runs N test samples and records: exact guest
instructions per step (insncount plugin), model + runtime flash/RAM (ELF sections),
bit-exactness with the integer simulator, and accuracy (float, device). Writes
``bench/results/nmnist_conv.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "nmnist_conv"
RESULTS = ROOT / "bench" / "results"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10)
    a = ap.parse_args(argv)
    from snnc.bench.target_zoo import _fitting_profile
    from snnc.compiler.frontend.nir import import_nir
    from snnc.compiler.ir.interpret import simulate
    from snnc.compiler.ir.serialize import atomic_write
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline
    from snnc.targets.benchmark import compare, device_inputs, reference_outputs
    from snnc.targets.registry import write_build
    from snnc.targets.smartwatch.build import build_firmware
    from snnc.targets.smartwatch.run import run_qemu

    g = import_nir(MODEL / "nmnist_conv.nir")
    d = np.load(MODEL / "nmnist_conv.test.npz")
    x_all, y_all = d["x"].astype(np.float64), d["y"]
    gq, _ = run_pipeline(g, PassContext(options=CompileOptions(calib_samples=16),
                                        calib=x_all[:16], progress=lambda m: None))
    idx = np.unique(np.linspace(0, len(x_all) - 1, a.samples).round().astype(int))
    x, y = x_all[idx], y_all[idx]
    xd = device_inputs(gq, x)
    ref, _ = reference_outputs(gq, xd)
    with tempfile.TemporaryDirectory(prefix="snnc-nmnist-") as td:
        bd = write_build("smartwatch", gq, Path(td) / "nmnist_conv")
        prof, fits = _fitting_profile(bd)
        run_prof = replace(prof, name=f"{prof.name}+inputs", flash_bytes=4 * 1024 * 1024,
                           ram_bytes=4 * 1024 * 1024)
        fw = build_firmware(bd, xd, run_prof, bd / "fw")
        print("bench: running on QEMU (mps2-an386)", file=sys.stderr, flush=True)
        r = run_qemu(fw)
        per = r.counts.intervals.reshape(xd.shape[0], xd.shape[1])
        src = (bd / "model.c").read_text()
    out = r.harness.outputs
    res = {
        "samples": int(len(idx)), "steps": int(x.shape[1]), "smallest_preset": fits,
        "mcu_instr_per_step_median": float(np.median(per)),
        "mcu_instr_per_step_max": float(np.max(per)),
        "mcu_model_flash_bytes": fw.model_memory.flash_bytes,
        "mcu_model_ram_bytes": fw.model_memory.ram_bytes,
        "mcu_bit_exact": bool(compare(out, ref, True)["match"]),
        "event_driven_conv_calls": src.count("snnc_qconv2d_i8_s("),
        "accuracy_float": float(np.mean(
            simulate(g, x).output.sum(1).argmax(1) == y)),
        "accuracy_device": float(np.mean(out.reshape(len(idx), x.shape[1], -1).sum(1)
                                         .argmax(1) == y)),
    }
    md = ["# snnTorch conv SNN (N-MNIST-shaped) on the emulated smartwatch", "",
          "`python -m snnc.bench.nmnist_conv --samples "
          f"{res['samples']}` (model from `python -m snnc.models.nmnist_conv.train`).", "",
          "| metric | value |", "| --- | --- |"]
    md += [f"| {k} | {v} |" for k, v in res.items()]
    atomic_write(RESULTS / "nmnist_conv.json",
                 lambda f: f.write(json.dumps(res, indent=1) + "\n"), mode="w")
    atomic_write(RESULTS / "nmnist_conv.md", lambda f: f.write("\n".join(md) + "\n"), mode="w")
    print(json.dumps(res, indent=1))
    return 0 if res["mcu_bit_exact"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
