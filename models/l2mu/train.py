"""Train the L2MU on BasicMotions (CPU, seeded), then export ``models/l2mu/l2mu.snn``.

``python -m snnc.models.l2mu.train [--epochs N] [--seed S] [--neuron lif|cuba] [--no-export]``

Inputs are normalized with the training split's per-channel mean/std, folded into the
input synapses so the exported graph takes raw sensor values. Progress goes to stderr.
Writes ``l2mu_checkpoint.npz`` (torch-free) and ``l2mu.snn`` beside this file, then
reports the float (torch) test accuracy and the exported IR's test accuracy in the
reference simulator.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from snnc.models.datasets import load_basicmotions
from snnc.models.l2mu.checkpoint import L2MUConfig
from snnc.models.l2mu.model import L2MU, save_checkpoint

HERE = Path(__file__).resolve().parent


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(msg, file=sys.stderr, flush=True)


def load_data() -> dict[str, np.ndarray | list[str]]:
    """BasicMotions train/test plus the train split's per-channel mean and std."""
    xtr, ytr, classes = load_basicmotions("train")
    xte, yte, _ = load_basicmotions("test")
    mean = xtr.reshape(-1, xtr.shape[-1]).mean(0)
    std = xtr.reshape(-1, xtr.shape[-1]).std(0) + 1e-6
    return dict(xtr=xtr, ytr=ytr, xte=xte, yte=yte, classes=classes, mean=mean, std=std)


def fit(model: nn.Module, xtr: np.ndarray, ytr: np.ndarray, *, epochs: int, lr: float,
        batch: int, seed: int, logit_scale: float = 1.0, tag: str = "",
        to_logits: Callable[[torch.Tensor], torch.Tensor] | None = None) -> list[float]:
    """Adam + cross-entropy on ``model(x)`` outputs (spike counts) scaled by ``logit_scale``.

    Minibatches are shuffled with a generator seeded by ``seed``. Returns per-epoch loss.
    """
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    x = torch.from_numpy(xtr).float()
    y = torch.from_numpy(ytr).long()
    losses = []
    t0 = time.time()
    for ep in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        tot, correct = 0.0, 0
        model.train()
        for s in range(0, len(x), batch):
            idx = perm[s:s + batch]
            out = model(x[idx])
            logits = to_logits(out) if to_logits else out * logit_scale
            loss = nn.functional.cross_entropy(logits, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(idx)
            correct += int((out.argmax(1) == y[idx]).sum())
        sched.step()
        losses.append(tot / len(x))
        if ep % 10 == 0 or ep == epochs - 1:
            log(f"{tag}epoch {ep + 1}/{epochs}  loss {losses[-1]:.4f}  "
                f"train acc {correct / len(x):.3f}  ({time.time() - t0:.0f}s)")
    return losses


@torch.no_grad()
def predict_torch(model: nn.Module, x: np.ndarray, dtype: torch.dtype = torch.float32
                  ) -> np.ndarray:
    """Class per case: argmax of the model output, ties to the lowest index (as the IR)."""
    model.eval()
    out = model(torch.from_numpy(x).to(dtype)).double().numpy()
    return np.argmax(out, axis=1)


def main(argv: list[str] | None = None) -> int:
    """Train, save the checkpoint, export the .snn, report float and IR test accuracy."""
    ap = argparse.ArgumentParser(description="Train the L2MU on BasicMotions.")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--logit-scale", type=float, default=0.2)
    ap.add_argument("--neuron", choices=("lif", "cuba"), default="lif")
    ap.add_argument("--hidden", type=int, default=L2MUConfig.hidden)
    ap.add_argument("--checkpoint", default=str(HERE / "l2mu_checkpoint.npz"))
    ap.add_argument("--output", default=str(HERE / "l2mu.snn"))
    ap.add_argument("--no-export", action="store_true")
    a = ap.parse_args(argv)

    torch.set_num_threads(2)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    d = load_data()
    cfg = replace(L2MUConfig(), neuron=a.neuron, hidden=a.hidden)
    model = L2MU(cfg, d["mean"], d["std"])
    log(f"L2MU: {model.n_trainable()} trainable parameters, config {cfg}")
    t0 = time.time()
    fit(model, d["xtr"], d["ytr"], epochs=a.epochs, lr=a.lr, batch=a.batch, seed=a.seed,
        logit_scale=a.logit_scale)
    acc = float((predict_torch(model, d["xte"]) == d["yte"]).mean())
    log(f"trained in {time.time() - t0:.0f}s; float32 torch test accuracy {acc:.4f}")
    extra = {"class_names": list(d["classes"]), "float_test_acc": acc, "train_seed": a.seed,
             "epochs": a.epochs,
             "command": " ".join(["python -m snnc.models.l2mu.train", *(argv or sys.argv[1:])])}
    save_checkpoint(model, a.checkpoint, extra)
    log(f"wrote {a.checkpoint}")
    if a.no_export:
        return 0
    from snnc.compiler.ir import predict
    from snnc.models.l2mu.export import export

    g = export(a.checkpoint, a.output)
    ir_pred = predict(g, d["xte"].astype(np.float64))
    ir_acc = float((ir_pred == d["yte"]).mean())
    log(f"wrote {a.output}; IR reference-simulator test accuracy {ir_acc:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
