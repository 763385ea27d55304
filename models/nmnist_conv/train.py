"""A small snnTorch conv SNN on N-MNIST-shaped events, captured into snnc (issue 17).

``python -m snnc.models.nmnist_conv.train`` (needs the ``frameworks`` extra: torch,
snntorch) generates N-MNIST-shaped event data (2 polarities x 34 x 34, ``T`` steps;
N-MNIST itself cannot be downloaded here), trains
``Conv2d(2,8,5) -> Leaky -> MaxPool2d(2) -> Conv2d(8,16,3) -> Leaky -> MaxPool2d(2) ->
Flatten -> Linear(576,10) -> Leaky`` briefly with snnTorch (BPTT, surrogate gradient,
spike-count loss), captures it with :func:`snnc.compiler.frontend.torch.from_snntorch`
(snnTorch's own exporter cannot write conv nets, docs/nir.md), checks that snnc's float
simulator gives snnTorch's spikes, and writes ``nmnist_conv.snn`` with its test split
``nmnist_conv.test.npz`` beside it. ``bench.py`` compiles it for the smartwatch.

Data: each class is an oriented bar (angle 18 deg x class) sweeping across the sensor,
emitting ON events at its leading edge and OFF events at its trailing edge (what a DVS
sees of a moving edge), plus 1% background noise, random start offset and speed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
T, H, W, CLASSES = 16, 34, 34, 10


def make_events(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples ``x [n, T, 2, 34, 34]`` (0/1 events) and labels ``y [n]``."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % CLASSES
    rng.shuffle(y)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64) - (H - 1) / 2
    x = np.zeros((n, T, 2, H, W), dtype=np.float32)
    for i, c in enumerate(y):
        ang = np.deg2rad(18.0 * c + rng.normal(0, 3))
        d = xx * np.cos(ang) + yy * np.sin(ang)  # signed distance along the sweep
        speed = rng.uniform(1.6, 2.4)
        start = -18 + rng.uniform(-3, 3)
        for t in range(T):
            front = start + speed * t
            x[i, t, 0] = (d > front - 1.5) & (d <= front)          # ON: leading edge
            x[i, t, 1] = (d > front - 5.0) & (d <= front - 3.5)    # OFF: trailing edge
        x[i] = np.maximum(x[i], rng.random((T, 2, H, W)) < 0.01)
    return x, y


def build_net():  # type: ignore[no-untyped-def]
    import snntorch as snn
    import torch
    from snntorch import surrogate

    nn = torch.nn
    sg = surrogate.fast_sigmoid(slope=25)
    return nn.Sequential(
        nn.Conv2d(2, 8, 5), snn.Leaky(beta=0.8, spike_grad=sg, init_hidden=True),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), snn.Leaky(beta=0.8, spike_grad=sg, init_hidden=True),
        nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 6 * 6, CLASSES),
        snn.Leaky(beta=0.8, spike_grad=sg, init_hidden=True))


def run_snntorch(net, x):  # type: ignore[no-untyped-def]
    """snnTorch's own simulation: output spikes [B, T, 10]."""
    import torch
    from snntorch import utils

    utils.reset(net)
    out = [net(x[:, t]) for t in range(x.shape[1])]
    utils.reset(net)
    return torch.stack(out, dim=1)


def main() -> int:
    import torch

    from snnc.compiler.frontend.nir import write_nir
    from snnc.compiler.frontend.torch import from_snntorch
    from snnc.compiler.ir.interpret import simulate
    from snnc.compiler.ir.serialize import atomic_write

    torch.manual_seed(0)
    t0 = time.time()
    xtr, ytr = make_events(600, seed=1)
    xte, yte = make_events(100, seed=2)
    net = build_net()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    epochs, bs = 4, 50
    for ep in range(epochs):
        perm = torch.randperm(len(xt))
        tot = 0.0
        for k in range(0, len(xt), bs):
            idx = perm[k:k + bs]
            counts = run_snntorch(net, xt[idx]).sum(dim=1)
            loss = torch.nn.functional.cross_entropy(counts, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(idx)
        print(f"train: epoch {ep + 1}/{epochs} loss {tot / len(xt):.3f} "
              f"({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    with torch.no_grad():
        ref = run_snntorch(net, torch.from_numpy(xte)).numpy()
    acc_torch = float(np.mean(ref.sum(1).argmax(1) == yte))

    g = from_snntorch(net, torch.from_numpy(xte[:1, 0]), spike_input=True)  # DVS events
    g = g.replace(name="nmnist_conv", metadata={
        **g.metadata, "task": "synthetic N-MNIST-shaped moving bars, 10 classes",
        "source": "models/nmnist_conv/train.py (snnTorch, captured with from_snntorch)"})
    out = simulate(g, xte.astype(np.float64)).output
    agree = float(np.mean(out == ref))
    acc_snnc = float(np.mean(out.sum(1).argmax(1) == yte))
    write_nir(g, HERE / "nmnist_conv.nir")
    np.savez_compressed(HERE / "nmnist_conv.test.npz", x=xte.astype(np.uint8), y=yte)
    res = {"train_samples": len(xtr), "test_samples": len(xte), "steps": T,
           "epochs": epochs, "train_seconds": round(time.time() - t0, 1),
           "accuracy_snntorch": acc_torch, "accuracy_snnc_float": acc_snnc,
           "spike_agreement_snnc_vs_snntorch": agree,
           "output_spikes_snntorch": int(ref.sum()), "output_spikes_snnc": int(out.sum())}
    atomic_write(HERE / "train_results.json",
                 lambda f: f.write(json.dumps(res, indent=1) + "\n"), mode="w")
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
