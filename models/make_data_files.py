"""Write the data files that ship next to each zoo model (``STEM.test.npz``, ``STEM.calib.npz``).

    python -m snnc.models.make_data_files [--test-cases 128] [--calib-cases 32]

``snnc compile MODEL`` calibrates on ``STEM.calib.npz`` when no ``--calib`` is given (and
scores float vs compiled accuracy on it when it is labelled); ``snnc simulate/flash/bench``
default to ``STEM.test.npz``. Both are small subsets in the CLI's data convention
(:mod:`snnc.compiler.data`): evenly spaced cases of the zoo test split the model was
evaluated on (:mod:`snnc.models.testsets`), spike inputs stored as uint8 0/1. The
calibration sets are test cases too, as the repository's benchmarks calibrate
(quantization ranges only). L2MU's files come from its own training script (its
calibration set is training data). Models without a labelled split (vpr_ensemble,
examples/tiny_recurrent) get a seeded synthetic calibration set and no test file, so
their flash/bench runs ask for ``--data``; vpr_ensemble calibrates on reference frames of
its cached route.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# Every bundled model but L2MU, whose training run writes its own files (calibration from
# the train split). Found, not listed, so a new zoo model cannot be forgotten.
ZOO = tuple(str(p.relative_to(HERE)) for p in sorted(HERE.glob("*/*.snn"))
            if p.parent.name != "l2mu")


def _save(path: Path, x: np.ndarray, y: np.ndarray | None, source: str) -> None:
    from snnc.compiler.ir.serialize import atomic_write

    spikes = bool(np.all((x == 0) | (x == 1)))
    arrays = {"x": x.astype(np.uint8 if spikes else np.float32),
              "source": np.array(source)}
    if y is not None:
        arrays["y"] = np.asarray(y, dtype=np.int64)
    atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


def _even(n_total: int, k: int) -> np.ndarray:
    return np.unique(np.linspace(0, n_total - 1, min(k, n_total)).round().astype(int))


def main(argv: list[str] | None = None) -> int:
    """Write the files for every model of :data:`ZOO`."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--test-cases", type=int, default=128, help="cases per test file")
    ap.add_argument("--calib-cases", type=int, default=32, help="cases per calibration file")
    ap.add_argument("models", nargs="*", default=list(ZOO),
                    help="models (relative to models/) to write files for")
    a = ap.parse_args(argv)
    from snnc.compiler.ir import load
    from snnc.models.testsets import load_test_data
    from snnc.targets.benchmark import synthetic_inputs

    for rel in a.models:
        p = HERE / rel
        g = load(p)
        d = load_test_data(g, 4096, steps=2)  # (synthetic fallback: shape probe only)
        x = np.asarray(d.x, dtype=np.float32)
        if rel.startswith("vpr/"):  # reference frames of the cached route, as it calibrates
            from snnc.models.vpr.data import load_route
            from snnc.models.vpr.export import as_current, encode_queries

            ref = load_route().frames["reference"]
            steps = int(g.metadata.get("vpr", {}).get("steps", 20))
            xc = np.ascontiguousarray(as_current(encode_queries(g, ref[_even(len(ref),
                                                                       a.calib_cases)]), steps))
            _save(p.with_name(f"{p.stem}.calib.npz"), xc, None,
                  f"route.npz reference frames ({len(xc)} of {len(ref)}, evenly spaced; "
                  "unlabelled: place recognition is scored by models/vpr/evaluate.py)")
            print(f"{rel}: calib {xc.shape} (route reference frames)", file=sys.stderr)
            continue
        if d.y is None:  # no labelled split: seeded synthetic calibration only
            xc = synthetic_inputs(g, a.calib_cases, 20, seed=0)
            _save(p.with_name(f"{p.stem}.calib.npz"), xc, None,
                  "seeded synthetic inputs (seed 0, no labels): this model has no labelled "
                  "split in the repository")
            print(f"{rel}: calib {xc.shape} (synthetic)", file=sys.stderr)
            continue
        it = _even(len(x), a.test_cases)
        ic = _even(len(x), a.calib_cases)
        _save(p.with_name(f"{p.stem}.test.npz"), x[it], d.y[it],
              f"{d.source.split(' (')[0]} ({len(it)} of {len(x)} cases, evenly spaced)")
        _save(p.with_name(f"{p.stem}.calib.npz"), x[ic], d.y[ic],
              f"{d.source.split(' (')[0]} ({len(ic)} of {len(x)} cases, evenly spaced)")
        print(f"{rel}: test {x[it].shape}, calib {x[ic].shape}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
