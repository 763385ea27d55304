"""Measure the zero-shot LSM in software and on the virtual RRAM chip.

    python -m snnc.models.lsm.evaluate [--chips 5] [--samples N] [--out models/lsm/results]

Runs :func:`targets.rram.flow.bench` on ``models/lsm/lsm.snn`` (all 449 test samples by
default) with the ``lsm`` device preset (the zero-shot setting: the random weights are
the cells' own conductances, so only read noise, relaxation and the ADC differ from
software) and, for contrast, the ``neurram`` preset (the same weights written to a fresh
chip with write-verify: programming error, device-to-device variation and new stuck-at
faults). Chips are seeds 0..chips-1, flashed into a temporary build directory. Writes
``OUT.json`` and ``OUT.md``. About 20 s per preset and 5 chips on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from snnc.compiler.ir import load
from snnc.models.testsets import zoo_dataset
from snnc.targets.rram.flow import bench, to_markdown

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(HERE / "lsm.snn"))
    ap.add_argument("--chips", type=int, default=5)
    ap.add_argument("--samples", type=int, default=None)
    ap.add_argument("--presets", default="lsm,neurram")
    ap.add_argument("--out", default=str(HERE / "results"))
    a = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="snnc_lsm_"))
    try:
        src = tmp / "lsm.snn"
        shutil.copyfile(a.model, src)
        # The digits test split is the model's own (snnc.models.testsets), passed in.
        data = zoo_dataset(load(src), a.samples)
        reps = {p: bench(src, seeds=tuple(range(a.chips)), device=p, data=data)
                for p in a.presets.split(",")}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for r in reps.values():
        r["build"] = "(temporary)"
    out = Path(a.out)
    from snnc.compiler.ir.serialize import atomic_write

    atomic_write(out.with_suffix(".json"), lambda f: f.write(json.dumps(reps, indent=2) + "\n"),
                 mode="w")
    md = "\n".join(f"<!-- preset {p} -->\n" + to_markdown(r) for p, r in reps.items())
    atomic_write(out.with_suffix(".md"), lambda f: f.write(md), mode="w")
    for p, r in reps.items():
        acc = r.get("accuracy", {})
        print(json.dumps({"preset": p, **acc,
                          "energy_nj": r["energy"]["energy_pj"]["total"] / 1e3,
                          "latency_us": r["energy"]["latency_s"]["total"] * 1e6}))


if __name__ == "__main__":
    main()
