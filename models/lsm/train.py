"""Train the zero-shot LSM's readout and export ``models/lsm/lsm.snn``.

    python -m snnc.models.lsm.train [--out models/lsm/lsm.snn] [--seed 0]

Draws the random reservoir (no training), runs the train split through it in the float
reference simulator, fits the linear readout on the spike counts (ridge regression,
NumPy), exports the whole LSM as one graph and reports train/test accuracy of that graph
in the same simulator. About 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from snnc.compiler.ir import save, simulate
from snnc.compiler.ir.graph import Graph
from snnc.models.lsm.data import load_digits_spikes
from snnc.models.lsm.model import (
    LSMConfig,
    build_graph,
    fit_readout,
    reservoir_graph,
    sample_reservoir,
)

HERE = Path(__file__).resolve().parent


def spike_counts(g: Graph, x: np.ndarray, batch: int = 512) -> np.ndarray:
    """Reservoir spike counts [n, n_res] of inputs [n, T, n_in] (float simulator)."""
    out = []
    for s in range(0, len(x), batch):
        r = simulate(g, x[s:s + batch].astype(np.float64), record=True, check=(s == 0))
        out.append(r.traces["res"].sum(axis=1))
    return np.concatenate(out)


def accuracy(g: Graph, x: np.ndarray, y: np.ndarray, batch: int = 512) -> float:
    """Accuracy of the exported graph (argmax of the summed readout at the last step)."""
    from snnc.compiler.ir import predict

    return float(np.mean(predict(g, x.astype(np.float64), batch_size=batch) == y))


def train(cfg: LSMConfig, log: bool = True) -> tuple[Graph, dict[str, float]]:
    """Reservoir + fitted readout as one graph, with its measured accuracies."""
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if log:
            print(f"lsm: {msg} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    xtr, ytr = load_digits_spikes("train", cfg.steps)
    xte, yte = load_digits_spikes("test", cfg.steps)
    w_in, w_rec, _, _ = sample_reservoir(cfg)
    res = reservoir_graph(cfg, w_in, w_rec)
    say(f"reservoir drawn; simulating {len(xtr)} train samples")
    ctr = spike_counts(res, xtr)
    w_out, b_out = fit_readout(ctr, ytr, cfg.n_classes, cfg.ridge)
    g = build_graph(cfg, w_in, w_rec, w_out, b_out)
    say("readout fitted; evaluating the exported graph")
    stats = {"train_accuracy": accuracy(g, xtr, ytr), "test_accuracy": accuracy(g, xte, yte),
             "train_samples": len(xtr), "test_samples": len(xte),
             "mean_rate": float(ctr.mean() / cfg.steps)}
    say(json.dumps(stats))
    return g, stats


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(HERE / "lsm.snn"))
    ap.add_argument("--seed", type=int, default=0, help="reservoir draw")
    a = ap.parse_args(argv)
    g, stats = train(replace(LSMConfig(), seed=a.seed))
    g = g.replace(metadata={**g.metadata, "float_accuracy": stats})
    save(g, a.out)
    print(json.dumps({"out": a.out, **stats}))


if __name__ == "__main__":
    main()
