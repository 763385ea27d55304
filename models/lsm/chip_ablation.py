"""Which non-ideality costs the LSM its accuracy on a programmed (``neurram``) chip?

    python -m snnc.models.lsm.chip_ablation [--samples 200] [--seeds 0,1]

Runs ``models/lsm/lsm.snn`` on the first N test samples on chips of the ``neurram``
preset with one non-ideality removed at a time (and all but one), prints a Markdown table
of mean accuracy over the seeds. A few seconds per row and seed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from snnc.compiler.ir import load, predict
from snnc.models.lsm.data import load_digits_spikes
from snnc.targets.rram.device import get_device
from snnc.targets.rram.sim import flash_chip, predict_chip

HERE = Path(__file__).resolve().parent

NO_STUCK = {"p_stuck_low": 0.0, "p_stuck_high": 0.0}
ROWS: list[tuple[str, dict]] = [
    ("neurram (all non-idealities)", {}),
    ("- stuck-at faults", NO_STUCK),
    ("- programming error and d2d", {"prog_sigma_us": 0.0, "d2d_sigma": 0.0}),
    ("- read noise", {"read_noise_rel": 0.0}),
    ("- relaxation", {"relax_us_per_ln_t": 0.0, "relax_sigma_us_per_ln_t": 0.0}),
    ("- ADC limits (16 bit, full range)", {"adc_bits": 16, "adc_range_rows": 256}),
    ("- 16-level grid (4096 levels)", {"levels": 4096}),
    ("only stuck-at faults", {"prog_sigma_us": 0.0, "d2d_sigma": 0.0, "read_noise_rel": 0.0,
                              "relax_us_per_ln_t": 0.0, "relax_sigma_us_per_ln_t": 0.0,
                              "adc_bits": 16, "adc_range_rows": 256, "levels": 4096}),
]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--seeds", default="0,1")
    a = ap.parse_args(argv)
    g = load(HERE / "lsm.snn")
    x, y = load_digits_spikes("test", n=a.samples)
    x = x.astype(np.float64)
    seeds = [int(s) for s in a.seeds.split(",")]
    print(f"float simulator: {np.mean(predict(g, x) == y):.4f} ({len(y)} test samples)\n")
    print("| chip | mean accuracy | per seed |\n| --- | --- | --- |")
    for name, ov in ROWS:
        dev = get_device("neurram", **ov)
        accs = [float(np.mean(predict_chip(flash_chip(g, dev, s), x) == y)) for s in seeds]
        print(f"| {name} | {np.mean(accs):.4f} | {', '.join(f'{v:.4f}' for v in accs)} |",
              flush=True)


if __name__ == "__main__":
    main()
