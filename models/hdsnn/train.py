"""Train the HD-SNN motion detector: ``python -m snnc.models.hdsnn.train``.

Generates event streams from moving natural images (:mod:`models.hdsnn.events`; needs
scikit-image), trains the kernel K[c, p, d, y, x] + bias of the time-invariant logistic
units ``sigmoid(a[c, pos, t])``, exports ``hdsnn.snn`` (:mod:`models.hdsnn.export`), writes
the compact ``kernel.npz`` and the bit-packed test set ``hdsnn_test.npz``, and measures
the test accuracy of the float model and of the exported graph in the reference
simulator. Seeded, CPU, progress on stderr.

Objective: the units are trained *through the readout*: ``q_c`` = mean over positions
and steps of ``sigmoid(a_c)`` (the expected spike count of class c, normalized), loss =
``-log(q_y / sum_c q_c)``. A plain per-position logistic regression (BCE of each unit
against the label) does not learn here: with mirror-symmetric image statistics the
expected event pattern is the same for opposite directions, so that convex loss has its
optimum at K = 0 (measured: chance accuracy after training); direction lives in the
coincidence of events along a trajectory, which only the sigmoid/threshold nonlinearity
before pooling can exploit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from snnc.compiler.ir import predict, save
from snnc.compiler.ir.serialize import atomic_write
from snnc.models.hdsnn.events import (
    TEST_IMAGES,
    TRAIN_IMAGES,
    EventConfig,
    flatten_events,
    generate,
    save_test_set,
)
from snnc.models.hdsnn.export import build_graph, n_positions

HERE = Path(__file__).resolve().parent


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def logits_torch(x, kernel, bias, stride: int):
    """a [B, C, T, P, P] for events x [B, T, 2, S, S] (torch); kernel indexed by delay."""
    import torch.nn.functional as F

    n_delay = kernel.shape[2]
    xx = x.permute(0, 2, 1, 3, 4)  # [B, 2, T, S, S]
    # conv3d correlates: with D-1 left time padding, tap k reads t + k - (D-1), i.e.
    # delay D-1-k, so the delay-indexed kernel is flipped along its time axis.
    xx = F.pad(xx, (0, 0, 0, 0, n_delay - 1, 0))
    return F.conv3d(xx, kernel.flip(2), bias, stride=(1, stride, stride))


def decide(a) -> np.ndarray:
    """Class per sample: most positive logits (spikes) over positions and steps."""
    counts = (a > 0).sum(dim=(2, 3, 4)).numpy()
    return np.argmax(counts, axis=1)  # ties -> lowest index, like MembraneArgmax


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-train", type=int, default=3000)
    p.add_argument("--n-test", type=int, default=800)
    p.add_argument("--kernel", type=int, default=7)
    p.add_argument("--delays", type=int, default=6)
    p.add_argument("--stride", type=int, default=3)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--l2", type=float, default=0.0)
    p.add_argument("--l1", type=float, default=3e-4, help="L1 penalty on the kernel (sparsity)")
    p.add_argument("--init-std", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)  # >1 thrashes on a shared box
    p.add_argument("--out", type=Path, default=HERE)
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    cfg = EventConfig()
    t0 = time.time()
    log(f"generating {args.n_train} training samples from {len(TRAIN_IMAGES)} images ...")
    Xtr, ytr = generate(TRAIN_IMAGES, args.n_train, cfg, args.seed,
                        progress=lambda i: log(f"  train {i}/{args.n_train}"))
    log(f"generating {args.n_test} test samples from {len(TEST_IMAGES)} unseen images ...")
    Xte, yte = generate(TEST_IMAGES, args.n_test, cfg, args.seed + 1000,
                        progress=lambda i: log(f"  test {i}/{args.n_test}"))
    log(f"data ready ({time.time() - t0:.0f}s); train event density {Xtr.mean():.3f}")

    n_cls, k, n_delay = cfg.n_directions, args.kernel, args.delays
    gen = torch.Generator().manual_seed(args.seed)
    kernel = torch.nn.Parameter(torch.randn(n_cls, 2, n_delay, k, k, generator=gen) * args.init_std)
    bias = torch.nn.Parameter(torch.full((n_cls,), -2.0))  # start with sparse spikes
    opt = torch.optim.Adam([kernel, bias], lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    xtr_u8 = torch.from_numpy(Xtr)
    ytr_t = torch.from_numpy(ytr)
    npos = n_positions(cfg.size, k, args.stride)
    for ep in range(args.epochs):
        perm = torch.randperm(len(ytr), generator=gen)
        tot, correct = 0.0, 0
        for s in range(0, len(ytr), args.batch):
            idx = perm[s:s + args.batch]
            a = logits_torch(xtr_u8[idx].float(), kernel, bias, args.stride)
            q = torch.sigmoid(a).mean(dim=(2, 3, 4))  # [B, C] soft spike counts
            loss = -(torch.log(q.gather(1, ytr_t[idx][:, None])[:, 0] + 1e-6)
                     - torch.log(q.sum(1) + 1e-6)).mean()
            loss = loss + args.l2 * (kernel ** 2).sum() + args.l1 * kernel.abs().sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(idx)
            correct += int((decide(a.detach()) == ytr[idx.numpy()]).sum())
        sched.step()
        log(f"epoch {ep + 1}/{args.epochs} loss {tot / len(ytr):.4f} "
            f"train acc {correct / len(ytr):.3f} ({time.time() - t0:.0f}s)")

    K = kernel.detach().double()
    b = bias.detach().double()
    with torch.no_grad():
        a32 = logits_torch(torch.from_numpy(Xte).float(), kernel.detach(), bias.detach(),
                           args.stride)
        a64 = logits_torch(torch.from_numpy(Xte).double(), K, b, args.stride)
    float_pred, pred64 = decide(a32), decide(a64)
    float_acc = float((float_pred == yte).mean())
    meta = {"task": "motion direction", "directions": n_cls, "event_config": asdict(cfg),
            "kernel_shape": list(K.shape), "stride": args.stride, "positions": npos * npos,
            "input_layout": "index p*S*S + y*S + x, p=0 ON, p=1 OFF; one step per event frame",
            "train_images": list(TRAIN_IMAGES), "test_images": list(TEST_IMAGES),
            "train_seed": args.seed, "float_test_acc": float_acc}
    g = build_graph(K.numpy(), b.numpy(), cfg.size, args.stride, meta)
    sim_pred = predict(g, flatten_events(Xte), batch_size=200)
    sim_acc = float((sim_pred == yte).mean())
    agree = float((sim_pred == pred64).mean())
    log(f"float test acc {float_acc:.4f}  simulator test acc {sim_acc:.4f}  "
        f"agreement with float64 decision {agree:.4f} ({time.time() - t0:.0f}s)")
    save(g, args.out / "hdsnn.snn")
    atomic_write(args.out / "kernel.npz",
                 lambda f: np.savez_compressed(f, kernel=K.numpy(), bias=b.numpy(),
                                               stride=np.array(args.stride)))
    save_test_set(args.out / "hdsnn_test.npz", Xte, yte, cfg)
    res = {"float_test_acc": float_acc, "sim_test_acc": sim_acc, "agreement_float64": agree,
           "n_train": args.n_train, "n_test": args.n_test, "train_seconds": round(time.time() - t0, 1),
           "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}}
    text = json.dumps(res, indent=2) + "\n"
    atomic_write(args.out / "results.json", lambda f: f.write(text), mode="w")


if __name__ == "__main__":
    main()
