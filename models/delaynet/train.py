"""Train DelayNet on JapaneseVowels: ``python -m snnc.models.delaynet.train``.

Trains three variants on the same split with the same seed and schedule: ``learned``
delays (DCLS: Gaussian kernels whose width shrinks, then rounded), fixed ``random``
integer delays, and ``none`` (all delays 0). Each is exported to ``delaynet_<mode>.snn``
(``delaynet.snn`` is the learned one), its accuracy measured in the reference simulator
on the test split, and a summary written to ``results.json``. CPU, seeded, progress on
stderr; one to three minutes per variant on 2 shared cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from snnc.compiler.ir import predict, save
from snnc.compiler.ir.serialize import atomic_write
from snnc.models.datasets import load_japanese_vowels
from snnc.models.delaynet.data import MAX_FRAMES, N_CHANNELS, N_CLASSES, norm_stats, prepare
from snnc.models.delaynet.export import build_graph

HERE = Path(__file__).resolve().parent


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def train_variant(mode: str, args: argparse.Namespace, data: dict) -> dict:
    """Train one delay mode; return its graph and figures."""
    import torch

    from snnc.models.delaynet.model import DelayNet

    torch.manual_seed(args.seed)
    net = DelayNet(N_CHANNELS, args.hidden, N_CLASSES, args.max_delay, mode,
                   args.beta_hidden, args.beta_out, args.seed, args.dropout)
    params = [p for p in net.parameters() if p.requires_grad]
    pos = [m.pos for m in (net.fc1, net.fc2) if m.pos.requires_grad]
    others = [p for p in params if all(p is not q for q in pos)]
    groups = [{"params": others, "lr": args.lr, "weight_decay": args.wd}]
    if pos:  # positions move in steps, so they get a larger learning rate (as in DCLS)
        groups.append({"params": pos, "lr": args.lr_pos, "weight_decay": 0.0})
    opt = torch.optim.Adam(groups)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    xtr = torch.tensor(data["xtr"], dtype=torch.float32)
    ytr = torch.tensor(data["ytr"])
    gen = torch.Generator().manual_seed(args.seed + 1)
    soft_epochs = int(round(args.epochs * 0.8))
    sig0, sig1 = args.max_delay / 2.0, 0.5
    t0 = time.time()
    for ep in range(args.epochs):
        hard = ep >= soft_epochs
        frac = min(ep / max(soft_epochs - 1, 1), 1.0)
        sigma = sig0 * (sig1 / sig0) ** frac  # exponential shrink, as DCLS
        net.fc1.sigma = net.fc2.sigma = sigma
        if hard:
            for p in pos:
                p.requires_grad_(False)
        net.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot, correct = 0.0, 0
        for s in range(0, len(xtr), args.batch):
            idx = perm[s:s + args.batch]
            logits, rate = net(xtr[idx], hard=hard)
            loss = torch.nn.functional.cross_entropy(logits * args.logit_scale, ytr[idx])
            if args.l1:
                loss = loss + args.l1 * sum(w.abs().sum() for w in
                                            (net.fc1.weight, net.fc2.weight, net.fc3))
            opt.zero_grad()
            loss.backward()
            opt.step()
            net.fc1.clamp_()
            net.fc2.clamp_()
            tot += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == ytr[idx]).sum())
        sched.step()
        log(f"[{mode}] epoch {ep + 1}/{args.epochs} loss {tot / len(xtr):.3f} "
            f"train acc {correct / len(xtr):.3f} sigma {sigma:.2f} rate {float(rate.detach()):.3f} "
            f"{'hard' if hard else 'soft'} ({time.time() - t0:.0f}s)")
    net.eval()
    with torch.no_grad():
        logits, _ = net(torch.tensor(data["xte"], dtype=torch.float32), hard=True)
    float_acc = float((logits.argmax(1).numpy() == data["yte"]).mean())
    d1, d2 = net.fc1.delays().numpy(), net.fc2.delays().numpy()
    meta = {
        "dataset": "JapaneseVowels", "classes": data["classes"], "delay_mode": mode,
        "input_mean": data["mean"].tolist(), "input_std": data["std"].tolist(),
        "t_total": int(data["xtr"].shape[1]), "max_delay": args.max_delay,
        "input_contract": "z-score per channel with input_mean/input_std, zero-pad to t_total",
        "train_seed": args.seed, "float_test_acc": float_acc,
    }
    g = build_graph(net.fc1.weight.detach().double().numpy(), d1,
                    net.fc2.weight.detach().double().numpy(), d2,
                    net.fc3.detach().double().numpy(), args.beta_hidden, args.beta_out,
                    meta, name=f"delaynet_{mode}")
    sim_pred = predict(g, data["xte"])
    sim_acc = float((sim_pred == data["yte"]).mean())
    agree = float((sim_pred == logits.argmax(1).numpy()).mean())
    log(f"[{mode}] float test acc {float_acc:.4f}  simulator test acc {sim_acc:.4f}  "
        f"agreement {agree:.4f}  ({time.time() - t0:.0f}s)")
    return {"graph": g, "float_test_acc": float_acc, "sim_test_acc": sim_acc,
            "agreement": agree, "train_seconds": round(time.time() - t0, 1),
            "mean_delay_fc1": float(d1.mean()), "mean_delay_fc2": float(d2.mean())}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Training options (also used by ``models.delaynet.compare``)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--modes", default="learned,random,none")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--max-delay", type=int, default=10)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--lr-pos", type=float, default=5e-2)
    p.add_argument("--wd", type=float, default=1e-4)
    p.add_argument("--l1", type=float, default=0.0, help="L1 penalty on all weights (sparsity)")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--logit-scale", type=float, default=1.0)
    p.add_argument("--beta-hidden", type=float, default=0.9)
    p.add_argument("--beta-out", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)  # >1 thrashes on a shared box
    p.add_argument("--out", type=Path, default=HERE)
    return p.parse_args(argv)


def load_data(args: argparse.Namespace) -> dict:
    """Normalized, padded train/test arrays and the normalization constants."""
    import torch

    torch.set_num_threads(args.threads)
    mean, std = norm_stats()
    t_total = MAX_FRAMES + 2 * args.max_delay
    Xtr, ltr, ytr, classes = load_japanese_vowels("train")
    Xte, lte, yte, _ = load_japanese_vowels("test")
    return {"xtr": prepare(Xtr, ltr, mean, std, t_total), "ytr": ytr,
            "xte": prepare(Xte, lte, mean, std, t_total), "yte": yte,
            "mean": mean, "std": std, "classes": classes}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    data = load_data(args)
    # results.json is updated after each variant (a run of some --modes keeps the others)
    res_path = args.out / "results.json"
    results = json.loads(res_path.read_text()) if res_path.exists() else {}
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    for mode in args.modes.split(","):
        r = train_variant(mode, args, data)
        g = r.pop("graph")
        fname = "delaynet.snn" if mode == "learned" else f"delaynet_{mode}.snn"
        save(g, args.out / fname)
        results[mode] = {"file": fname, **r, "config": config}
        text = json.dumps(results, indent=2) + "\n"
        atomic_write(res_path, lambda f: f.write(text), mode="w")
    for mode in args.modes.split(","):
        r = results[mode]
        log(f"{mode:8s} float {r['float_test_acc']:.4f} sim {r['sim_test_acc']:.4f}")


if __name__ == "__main__":
    main()
