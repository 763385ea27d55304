"""Train an L2MU on your own time-series data (CPU, seeded) and export it for snnc.

    python -m snnc.models.l2mu.train --data TRAIN --test TEST --out DIR

TRAIN and TEST are files in the CLI's data convention (:mod:`snnc.compiler.data`):
``.npz`` (x [N, T, C] float, y [N] int), UEA/UCR ``.ts`` or UCR ``.csv``. Without
``--data`` the vendored BasicMotions splits are used (the recipe of the shipped
``models/l2mu/l2mu.snn``).

DIR receives (never the shipped files; an existing file is only replaced with ``--force``):

- ``l2mu.snn``: the float model (input normalization folded in; takes raw values), its
  metadata naming the dataset it was trained on and its classes;
- ``l2mu_checkpoint.npz``: the torch-free checkpoint (``python -m snnc.models.l2mu.export``);
- ``l2mu.calib.npz``: a labelled calibration set (up to 64 training cases, evenly spaced),
  which ``snnc compile`` uses without ``--calib`` and scores float vs int8 on;
- ``l2mu.test.npz``: the test split, the default data of ``snnc simulate/flash/bench``;
- ``train_report.json``: hyperparameters, per-epoch curves, accuracies, 1-NN baseline.

Hyperparameters scale with the data (see :func:`config_for`): the memory window theta
follows the sequence length T (relative to the 100-step BasicMotions recipe),
the logit scale follows T, the channel and class counts come from the data, and the input normalization (per-channel
mean/std) from the training split only. A stratified validation split (``--val``) picks
the epoch (early stopping with ``--patience``); the final line compares the test
accuracy with a 1-nearest-neighbour Euclidean baseline on the same split.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from snnc.models.datasets import load_basicmotions
from snnc.models.l2mu.checkpoint import L2MUConfig
from snnc.models.l2mu.model import L2MU, save_checkpoint

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE.parent / "data"
# The recipe of the shipped model: BasicMotions, T = 100 (the hyperparameters'
# reference point for scaling with T).
REF_T = 100
REF_DT = 0.1
REF_THETA = 8.0
REF_LOGIT_SCALE = 0.2


def log(msg: str) -> None:
    """Progress line on stderr."""
    print(msg, file=sys.stderr, flush=True)


def load_data() -> dict[str, np.ndarray | list[str]]:
    """BasicMotions train/test plus the train split's per-channel mean and std."""
    xtr, ytr, classes = load_basicmotions("train")
    xte, yte, _ = load_basicmotions("test")
    mean, std = normalization(xtr)
    return dict(xtr=xtr, ytr=ytr, xte=xte, yte=yte, classes=classes, mean=mean, std=std)


def normalization(xtr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the training split (folded into the input synapses)."""
    flat = xtr.reshape(-1, xtr.shape[-1]).astype(np.float64)
    return flat.mean(0), flat.std(0) + 1e-6


def config_for(steps: int, channels: int, classes: int, **over: Any) -> L2MUConfig:
    """The L2MU configuration for data of ``steps`` x ``channels`` and ``classes`` classes.

    Scaling rules (reference: the shipped BasicMotions model, T = 100, dt = 0.1 s,
    theta = 8 steps):

    - ``dt = 0.1`` whatever T: the per-step membrane decays stay those tuned on
      BasicMotions. Scaling dt with T was tried and hurt both ways: leakier neurons
      (dt = 0.1 * 100 / 24) lost 25 pp on the 24-step ItalyPowerDemand (0.53 vs 0.79
      test accuracy), and slower ones (dt = 0.1 * 100 / 361) saturated the output layer
      on the 361-step PickupGestureWiimoteZ (train accuracy 0.05 after 6 epochs, vs 0.20
      with dt = 0.1);
    - ``theta = 8 * max(1, T / 100)`` steps: the Legendre memory window is a fixed fraction
      of a long sequence, and never shorter than the reference's 8 steps;
    - ``pop_per_channel = max(4, ceil(24 / C))`` encoding neurons per channel: the
      reference has 6 channels x 4 = 24 encoders; a univariate series with 4 would
      squeeze its whole input through 4 spiking neurons;
    - the channel and class counts come from the data.
    """
    if steps < 2:
        raise ValueError(f"need at least 2 steps per case, got {steps}")
    base = dict(n_channels=int(channels), n_classes=int(classes),
                pop_per_channel=max(4, -(-24 // int(channels))),
                dt=REF_DT,
                theta=REF_THETA * max(1.0, steps / REF_T))
    base.update({k: v for k, v in over.items() if v is not None})
    return replace(L2MUConfig(), **base)


def logit_scale_for(steps: int) -> float:
    """Spike counts grow with T; the cross-entropy sees counts * 0.2 * 100 / T for long
    sequences (and the reference 0.2 for T <= 100: a larger scale on the 24-step
    ItalyPowerDemand trained worse)."""
    return REF_LOGIT_SCALE * min(1.0, REF_T / steps)


def stratified_split(y: np.ndarray, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices): ``frac`` of each class (at least one case of
    every class with >= 2 cases) held out, seeded."""
    rng = np.random.default_rng(seed)
    tr, va = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(frac * len(idx)))
        k = min(max(k, 1 if len(idx) >= 2 and frac > 0 else 0), len(idx) - 1)
        va += idx[:k].tolist()
        tr += idx[k:].tolist()
    return np.sort(np.array(tr, dtype=np.int64)), np.sort(np.array(va, dtype=np.int64))


def _progress(total: int, desc: str) -> Any:
    """A tqdm bar on stderr (one tick per epoch), or a plain counter without tqdm."""
    try:
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit="epoch", file=sys.stderr, leave=True)
    except ImportError:
        class _Counter:
            def __init__(self) -> None:
                self.n = 0

            def update(self, k: int = 1) -> None:
                self.n += k

            def set_postfix_str(self, s: str) -> None:
                log(f"{desc} epoch {self.n}/{total} {s}")

            def close(self) -> None:
                pass

        return _Counter()


def fit(model: nn.Module, xtr: np.ndarray, ytr: np.ndarray, *, epochs: int, lr: float,
        batch: int, seed: int, logit_scale: float = 1.0, tag: str = "",
        to_logits: Callable[[torch.Tensor], torch.Tensor] | None = None,
        xva: np.ndarray | None = None, yva: np.ndarray | None = None,
        patience: int | None = None) -> list[float]:
    """Adam + cross-entropy on ``model(x)`` outputs (spike counts) scaled by ``logit_scale``.

    Minibatches are shuffled with a generator seeded by ``seed``. With a validation split
    (``xva``, ``yva``) the weights of the epoch with the best validation accuracy (ties:
    lower loss) are restored at the end, and training stops after ``patience`` epochs
    without improvement. Returns per-epoch training loss.
    """
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    x = torch.from_numpy(np.asarray(xtr, np.float32))
    y = torch.from_numpy(np.asarray(ytr)).long()
    losses: list[float] = []
    best: tuple[float, float] = (-1.0, float("inf"))
    best_state: dict[str, torch.Tensor] | None = None
    since = 0
    bar = _progress(epochs, tag.strip() or "train")
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
            # Clipping keeps one large surrogate-gradient step from silencing the output
            # layer (on GunPoint at lr 1e-2 training collapsed to constant outputs).
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            tot += float(loss.detach()) * len(idx)
            correct += int((out.argmax(1) == y[idx]).sum())
        sched.step()
        losses.append(tot / len(x))
        post = f"loss {losses[-1]:.3f} train acc {correct / len(x):.3f}"
        if xva is not None and yva is not None and len(yva):
            va = float((predict_torch(model, xva) == yva).mean())
            post += f" val acc {va:.3f}"
            if (va, -losses[-1]) > (best[0], -best[1]):
                best, since = (va, losses[-1]), 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                since += 1
        bar.update(1)
        bar.set_postfix_str(post)
        if patience is not None and best_state is not None and since >= patience:
            log(f"{tag}early stop after epoch {ep + 1}: no validation gain in {patience} "
                f"epochs (best val acc {best[0]:.3f})")
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    log(f"{tag}trained {len(losses)} epochs in {time.time() - t0:.0f}s")
    return losses


@torch.no_grad()
def predict_torch(model: nn.Module, x: np.ndarray, dtype: torch.dtype = torch.float32
                  ) -> np.ndarray:
    """Class per case: argmax of the model output, ties to the lowest index (as the IR)."""
    model.eval()
    out = model(torch.from_numpy(np.asarray(x)).to(dtype)).double().numpy()
    return np.argmax(out, axis=1)


def one_nn_euclidean(xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray) -> np.ndarray:
    """The 1-nearest-neighbour Euclidean classifier (the UCR archive's baseline) on the
    series as given (flattened over time and channels)."""
    a = np.asarray(xtr, np.float64).reshape(len(xtr), -1)
    b = np.asarray(xte, np.float64).reshape(len(xte), -1)
    d = (b * b).sum(1)[:, None] - 2 * b @ a.T + (a * a).sum(1)[None, :]
    return np.asarray(ytr)[np.argmin(d, axis=1)]


def _dataset(path: str | None, split: str) -> Any:
    """A :class:`compiler.data.Dataset` from ``path``, or BasicMotions' ``split``."""
    from snnc.compiler.data import Dataset, load_data

    if path is not None:
        ds = load_data(path)
        if ds.y is None:
            raise SystemExit(f"{path}: no labels (y); training needs labelled data")
        return ds
    p = DATA_DIR / "BasicMotions" / f"BasicMotions_{split.upper()}.ts"
    x, y, classes = load_basicmotions(split)
    return Dataset(x=x, y=y, classes=list(classes), source=str(p))


def _check_out(out: Path, force: bool) -> None:
    """Refuse the shipped directory and, without --force, existing outputs."""
    if out.resolve() == HERE.resolve():
        raise SystemExit(f"--out {out}: that is the shipped model's directory; train into a "
                         "new directory (copy the files over deliberately if you mean to "
                         "replace the shipped model)")
    if out.exists() and not out.is_dir():
        raise SystemExit(f"--out {out}: exists and is not a directory")
    clash = [n for n in ("l2mu.snn", "l2mu_checkpoint.npz") if (out / n).exists()]
    if clash and not force:
        raise SystemExit(f"--out {out}: {', '.join(clash)} already there; pass --force to "
                         "replace them")


def build_parser() -> argparse.ArgumentParser:
    """The command line (every option has a description and shows its default)."""
    ap = argparse.ArgumentParser(
        prog="python -m snnc.models.l2mu.train",
        description="Train an L2MU (spiking Legendre Memory Unit) on labelled time series "
                    "and export it for snnc (see docs/own_data.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--data", default=None,
                    help="training data: .npz (x [N, T, C] float, y [N] int), UEA/UCR .ts or "
                         ".csv; default: the vendored BasicMotions train split")
    ap.add_argument("--test", default=None,
                    help="test data (same format); default: BasicMotions test with the default "
                         "--data, else none (no test accuracy, no baseline)")
    ap.add_argument("--out", required=True,
                    help="output directory (l2mu.snn, checkpoint, calibration and test data, "
                         "train_report.json); never the shipped models/l2mu")
    ap.add_argument("--force", action="store_true", help="replace existing files in --out")
    ap.add_argument("--epochs", type=int, default=100, help="maximum training epochs")
    ap.add_argument("--patience", type=int, default=30,
                    help="early stopping: epochs without validation gain")
    ap.add_argument("--val", type=float, default=0.2,
                    help="fraction of each class held out of --data for validation (0: none, "
                         "train for all --epochs)")
    ap.add_argument("--seed", type=int, default=0, help="seed of init, batches and split")
    ap.add_argument("--lr", type=float, default=5e-3, help="Adam learning rate (cosine decay)")
    ap.add_argument("--batch", type=int, default=8, help="minibatch size")
    ap.add_argument("--logit-scale", type=float, default=None,
                    help="spike count -> logit factor (default: 0.2 * min(1, 100 / T))")
    ap.add_argument("--theta", type=float, default=None,
                    help="Legendre memory window in steps (default: 8 * max(1, T / 100))")
    ap.add_argument("--dt", type=float, default=None,
                    help="seconds per step (default: 0.1, the per-step decays of the "
                         "BasicMotions recipe; neuron time constants are in seconds)")
    ap.add_argument("--neuron", choices=("lif", "cuba"), default="lif",
                    help="neuron kind of the u, m and h populations")
    ap.add_argument("--hidden", type=int, default=L2MUConfig.hidden, help="hidden neurons (H)")
    ap.add_argument("--pop-per-channel", type=int, default=None,
                    help="encoding neurons per input channel (default: max(4, ceil(24 / C)))")
    ap.add_argument("--calib-samples", type=int, default=64,
                    help="training cases saved as the calibration set (l2mu.calib.npz)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Train, export and score; the last line compares with the 1-NN Euclidean baseline."""
    a = build_parser().parse_args(argv)
    from snnc.compiler.data import Dataset, save_data
    from snnc.compiler.errors import SnncError
    from snnc.compiler.ir import predict
    from snnc.compiler.ir.serialize import atomic_write
    from snnc.models.l2mu.export import export

    out = Path(a.out)
    _check_out(out, a.force)
    torch.set_num_threads(max(1, a.threads))
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    try:
        tr = _dataset(a.data, "train")
        te = _dataset(a.test, "test") if (a.test or a.data is None) else None
    except SnncError as e:
        raise SystemExit(f"error: {e}") from None
    classes = tr.classes or [str(i) for i in range(int(tr.y.max()) + 1)]
    if te is not None:
        if te.x.shape[1:] != tr.x.shape[1:]:
            raise SystemExit(f"--test cases are {list(te.x.shape[1:])} but --data cases are "
                             f"{list(tr.x.shape[1:])} ([T, C] must match)")
        if te.classes and tr.classes and te.classes != tr.classes:
            unknown = [c for c in te.classes if c not in tr.classes]
            if unknown:
                raise SystemExit(f"--test has classes {unknown} absent from --data")
            te = replace(te, y=np.array([tr.classes.index(te.classes[i]) for i in te.y]),
                         classes=tr.classes)
    steps, channels = int(tr.x.shape[1]), int(np.prod(tr.x.shape[2:]))
    xtr_all = tr.x.reshape(len(tr), steps, channels)
    ytr_all = tr.y
    itr, iva = stratified_split(ytr_all, a.val, a.seed)
    xtr, ytr = xtr_all[itr], ytr_all[itr]
    xva, yva = xtr_all[iva], ytr_all[iva]
    mean, std = normalization(xtr)
    cfg = config_for(steps, channels, len(classes), theta=a.theta, dt=a.dt, neuron=a.neuron,
                     hidden=a.hidden, pop_per_channel=a.pop_per_channel)
    scale = a.logit_scale if a.logit_scale is not None else logit_scale_for(steps)
    model = L2MU(cfg, mean, std)
    log(f"L2MU on {tr.source}: {len(xtr)} train / {len(xva)} validation cases, T = {steps}, "
        f"C = {channels}, {len(classes)} classes; {model.n_trainable()} trainable parameters; "
        f"theta {cfg.theta:.1f} steps, dt {cfg.dt:.4g} s, logit scale {scale:.4g}")
    t0 = time.time()
    losses = fit(model, xtr, ytr, epochs=a.epochs, lr=a.lr, batch=a.batch, seed=a.seed,
                 logit_scale=scale, xva=xva if len(iva) else None,
                 yva=yva if len(iva) else None, patience=a.patience if len(iva) else None)
    train_s = time.time() - t0
    res: dict[str, Any] = {"train_data": tr.source, "test_data": te.source if te else None,
                           "steps": steps, "channels": channels, "classes": classes,
                           "config": asdict(cfg), "logit_scale": scale, "epochs_run": len(losses),
                           "train_loss": losses, "train_seconds": round(train_s, 1),
                           "train_cases": len(xtr), "val_cases": len(xva)}
    if len(iva):
        res["val_acc"] = float((predict_torch(model, xva) == yva).mean())
    dataset = Path(tr.source).stem.removesuffix("_TRAIN").removesuffix("_train")
    extra = {"class_names": list(classes), "train_seed": a.seed, "epochs": len(losses),
             "dataset": dataset, "train_data": tr.source, "test_data": te.source if te else None,
             "command": " ".join(["python -m snnc.models.l2mu.train",
                                  *(argv if argv is not None else sys.argv[1:])])}
    if te is not None:
        xte = te.x.reshape(len(te), steps, channels)
        res["float_test_acc"] = extra["float_test_acc"] = float(
            (predict_torch(model, xte) == te.y).mean())
    out.mkdir(parents=True, exist_ok=True)
    ckpt, snn = out / "l2mu_checkpoint.npz", out / "l2mu.snn"
    save_checkpoint(model, ckpt, extra)
    g = export(ckpt, snn)
    # The model's own data travel with it: a labelled calibration subset of the training
    # split (compile scores float vs quantized on it) and the test split (the default data
    # of simulate/flash/bench).
    k = min(a.calib_samples, len(xtr_all))
    ci = np.unique(np.linspace(0, len(xtr_all) - 1, k).round().astype(int))
    save_data(out / "l2mu.calib.npz", Dataset(xtr_all[ci], ytr_all[ci], list(classes),
                                              f"{tr.source} (calibration subset)"))
    written = [snn, ckpt, out / "l2mu.calib.npz"]
    if te is not None:
        save_data(out / "l2mu.test.npz", replace(te, x=xte, classes=list(classes)))
        written.append(out / "l2mu.test.npz")
        ir_acc = float((predict(g, xte.astype(np.float64)) == te.y).mean())
        nn_acc = float((one_nn_euclidean(xtr_all, ytr_all, xte) == te.y).mean())
        res.update({"ir_test_acc": ir_acc, "one_nn_ed_test_acc": nn_acc,
                    "test_cases": len(te)})
    atomic_write(out / "train_report.json", lambda f: f.write(json.dumps(res, indent=1)),
                 mode="w")
    written.append(out / "train_report.json")
    log("wrote " + ", ".join(str(p) for p in written))
    if te is None:
        print(f"L2MU validation accuracy {res.get('val_acc', float('nan')):.4f} (no --test: no "
              "test accuracy or 1-NN baseline)")
        return 0
    verdict = ("at or above" if res["float_test_acc"] >= res["one_nn_ed_test_acc"] else
               f"{100 * (res['one_nn_ed_test_acc'] - res['float_test_acc']):.1f} pp below")
    print(f"test accuracy on {len(te)} cases: L2MU {res['float_test_acc']:.4f} (float torch; "
          f"exported IR {res['ir_test_acc']:.4f}) vs 1-NN Euclidean {res['one_nn_ed_test_acc']:.4f}"
          f" on the same split: {verdict} the baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
