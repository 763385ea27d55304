"""Gradual magnitude pruning with fine-tuning of DelayNet:
``python -m snnc.models.delaynet.gradual_prune`` (training extra: torch).

One-shot magnitude pruning collapses DelayNet (sparsity_curve.md). This recipe prunes
gradually and fine-tunes between steps (Zhu & Gupta 2017, "To prune, or not to prune"):

- start from the committed ``delaynet.snn`` (learned, rounded delays); fine-tune with the
  same model and loss as ``train.py`` in its final, hard-delay phase (integer delays, the
  exact DelayedLinear semantics; positions frozen);
- ``steps`` pruning steps; the sparsity after step ``k`` follows the polynomial schedule
  ``s_k = s_f (1 - (1 - k/steps)^3)`` (fast at first, gentle near the target); each step
  ranks the still-kept weights by magnitude per layer (fc1, fc2, fc3), zeroes the
  smallest to reach ``s_k`` (the mask is permanent, re-applied after every optimizer
  step) and fine-tunes ``epochs_per_step`` epochs; after the last step, ``final_epochs``
  more at the target sparsity with the learning rate decaying on a cosine to zero;
- delays: a pruned synapse loses its delay with its weight; ``remove_inert_synapses``
  (run by the compile pipeline) then resets dead delays and shrinks ``max_delay``.
  Dead neurons (no input or no output left) go in the pipeline's ``dead_neurons`` pass.
  (Hyperactive-neuron removal is the VPR ensembles' pass; DelayNet has no ensemble.)

At each step, the fine-tuned float graph and a one-shot pruned copy of the original at
the same sparsity are compiled to int8 (the generic pipeline, calibration on training
samples) and scored with the integer golden model on the JapaneseVowels test split.
Writes ``gradual_prune.{json,md,png}`` and ``delaynet_pruned<NN>.snn`` (the fine-tuned
float graph at the target sparsity; ``snnc fit --variant`` searches over it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.ir import Graph, load, save
from snnc.compiler.ir.serialize import atomic_write
from snnc.compiler.passes.prune import count_weights, prune_magnitude

HERE = Path(__file__).resolve().parent
LAYERS = ("fc1", "fc2", "fc3")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def poly_schedule(final: float, steps: int) -> list[float]:
    """Sparsity after each of ``steps`` steps: ``final * (1 - (1 - k/steps)^3)``."""
    return [final * (1.0 - (1.0 - k / steps) ** 3) for k in range(1, steps + 1)]


def int8_accuracy(g: Graph, calib: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Compile ``g`` with the default int8 pipeline and score the integer golden model."""
    from snnc.compiler.ir.interpret_int import predict_int
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline

    gq, plan = run_pipeline(g, PassContext(options=CompileOptions(quantize="int8"),
                                           calib=calib, progress=lambda m: None))
    nz, tot = count_weights(g)  # the float graph's synapses (before dead-neuron removal)
    return {"accuracy": float(np.mean(predict_int(gq, x) == y)), "nonzero_weights": nz,
            "weights": tot, "flash_bytes": int(plan.flash_bytes)}


def _net_from_graph(g: Graph, args: argparse.Namespace) -> Any:
    import torch

    from snnc.models.delaynet.model import DelayNet

    n = g.nodes
    net = DelayNet(n["fc1"].weight.shape[1], n["fc1"].weight.shape[0], n["fc3"].weight.shape[0],
                   int(g.metadata["max_delay"]), "learned", args.beta, args.beta, args.seed,
                   args.dropout)
    with torch.no_grad():
        for name in ("fc1", "fc2"):
            layer = getattr(net, name)
            layer.weight.copy_(torch.tensor(n[name].weight, dtype=torch.float32))
            layer.pos.copy_(torch.tensor(n[name].delay, dtype=torch.float32))
            layer.pos.requires_grad_(False)
        net.fc3.copy_(torch.tensor(n["fc3"].weight, dtype=torch.float32))
    return net


def _weights(net: Any) -> dict[str, Any]:
    return {"fc1": net.fc1.weight, "fc2": net.fc2.weight, "fc3": net.fc3}


def _graph_from_net(net: Any, base: Graph, name: str, sparsity: float) -> Graph:
    from snnc.models.delaynet.export import build_graph

    w = {k: v.detach().double().numpy() for k, v in _weights(net).items()}
    meta = dict(base.metadata)
    meta["gradual_prune"] = {"sparsity": sparsity, "recipe": "snnc.models.delaynet.gradual_prune"}
    return build_graph(w["fc1"], net.fc1.delays().numpy(), w["fc2"], net.fc2.delays().numpy(),
                       w["fc3"], _beta(base), _beta(base, "li"),
                       meta, name=name)


def _beta(g: Graph, node: str = "lif1") -> float:
    tau = float(np.asarray(g.nodes[node].tau))
    return float(np.exp(-g.dt / tau))


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from snnc.models.delaynet.train import load_data

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    base = load(args.model)
    args.beta = _beta(base)
    data = load_data(argparse.Namespace(threads=args.threads,
                                        max_delay=int(base.metadata["max_delay"])))
    xtr, ytr, xte, yte = data["xtr"], data["ytr"], data["xte"], data["yte"]
    calib = xtr[:64]
    net = _net_from_graph(base, args)
    masks = {k: torch.ones_like(v) for k, v in _weights(net).items()}
    opt = torch.optim.Adam(list(_weights(net).values()), lr=args.lr, weight_decay=args.wd)
    xt, yt = torch.tensor(xtr, dtype=torch.float32), torch.tensor(ytr)
    gen = torch.Generator().manual_seed(args.seed + 1)

    def epoch() -> float:
        net.train()
        perm = torch.randperm(len(xt), generator=gen)
        tot = 0.0
        for s in range(0, len(xt), args.batch):
            idx = perm[s:s + args.batch]
            logits, _ = net(xt[idx], hard=True)
            loss = torch.nn.functional.cross_entropy(logits, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                for k, w in _weights(net).items():
                    w.mul_(masks[k])  # pruned weights stay zero
            tot += float(loss.detach()) * len(idx)
        return tot / len(xt)

    t0 = time.time()
    ref = int8_accuracy(base, calib, xte, yte)
    log(f"unpruned int8: {100 * ref['accuracy']:.2f}%")
    rows = [{"sparsity": 0.0, "kept": 1.0, "finetuned": ref, "oneshot": ref}]
    sched = poly_schedule(args.sparsity, args.steps)
    for k, s in enumerate(sched, 1):
        with torch.no_grad():  # per-layer magnitude threshold over the kept weights
            for name, w in _weights(net).items():
                n_prune = int(round(s * w.numel()))
                mags = w.detach().abs().flatten()
                if n_prune > 0:
                    thr = torch.kthvalue(mags, n_prune).values
                    masks[name] = (w.detach().abs() > thr).float() * masks[name]
                w.mul_(masks[name])
        for _ in range(args.epochs_per_step):
            loss = epoch()
        if k == len(sched):  # recovery at the target sparsity, learning rate on a cosine
            for e in range(args.final_epochs):
                for grp in opt.param_groups:
                    grp["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * e / args.final_epochs))
                loss = epoch()
        g_ft = _graph_from_net(net, base, f"delaynet_pruned{round(100 * s):02d}", s)
        ft = int8_accuracy(g_ft, calib, xte, yte)
        one = int8_accuracy(prune_magnitude(base, s, "layer"), calib, xte, yte)
        kept = ft["nonzero_weights"] / ft["weights"]
        rows.append({"sparsity": s, "kept": kept, "finetuned": ft, "oneshot": one})
        log(f"step {k}/{len(sched)}: sparsity {100 * s:.1f}% (kept {100 * kept:.1f}%), "
            f"loss {loss:.3f}; int8 test acc fine-tuned {100 * ft['accuracy']:.2f}%, "
            f"one-shot {100 * one['accuracy']:.2f}% ({time.time() - t0:.0f} s)")
    out = args.out / f"delaynet_pruned{round(100 * args.sparsity):02d}.snn"
    save(g_ft, out)
    return {"model": str(args.model.name), "unpruned_int8": ref, "rows": rows,
            "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "variant": out.name, "seconds": round(time.time() - t0, 1)}


def to_markdown(r: dict[str, Any]) -> str:
    """The curve as a Markdown table."""
    c = r["config"]
    lines = ["# DelayNet: gradual pruning with fine-tuning vs one-shot pruning", "",
             f"`python -m snnc.models.delaynet.gradual_prune` ({c['steps']} steps on the "
             f"polynomial schedule to {100 * c['sparsity']:.0f}% per layer, "
             f"{c['epochs_per_step']} epochs per step + {c['final_epochs']} final (cosine), lr "
             f"{c['lr']}, seed {c['seed']}; {r['seconds']:.0f} s). Accuracy: int8 (default "
             "pipeline), integer golden model, JapaneseVowels test split (370).", "",
             "| weights removed | weights kept | int8 acc, fine-tuned | int8 acc, one-shot |",
             "| ---: | ---: | ---: | ---: |"]
    for row in r["rows"]:
        lines.append(f"| {100 * row['sparsity']:.1f}% | {100 * row['kept']:.1f}% | "
                     f"{100 * row['finetuned']['accuracy']:.2f}% | "
                     f"{100 * row['oneshot']['accuracy']:.2f}% |")
    last, ref = r["rows"][-1], r["unpruned_int8"]["accuracy"]
    lines += ["", f"At {100 * last['sparsity']:.0f}% removed: fine-tuned "
                  f"{100 * last['finetuned']['accuracy']:.2f}% vs unpruned int8 "
                  f"{100 * ref:.2f}% ({100 * (last['finetuned']['accuracy'] - ref):+.2f} pp); "
                  f"one-shot {100 * last['oneshot']['accuracy']:.2f}%. Variant: "
                  f"`{r['variant']}`."]
    return "\n".join(lines) + "\n"


def plot(r: dict[str, Any], path: Path) -> None:
    """Accuracy vs weights kept, with and without fine-tuning."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = [100 * row["kept"] for row in r["rows"]]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(kept, [100 * row["finetuned"]["accuracy"] for row in r["rows"]], "o-",
            label="gradual pruning + fine-tuning")
    ax.plot(kept, [100 * row["oneshot"]["accuracy"] for row in r["rows"]], "s--",
            label="one-shot magnitude pruning (no fine-tuning)")
    ref = 100 * r["unpruned_int8"]["accuracy"]
    ax.axhline(ref, c="k", lw=0.8, label=f"unpruned int8 ({ref:.1f}%)")
    ax.axhline(ref - 2, c="C3", lw=0.8, ls=":", label="unpruned - 2 pp")
    ax.invert_xaxis()
    ax.set_xlabel("weights kept (%)")
    ax.set_ylabel("test accuracy (%), int8 golden model")
    ax.set_title("DelayNet (JapaneseVowels): pruning per layer")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=HERE / "delaynet.snn")
    p.add_argument("--sparsity", type=float, default=0.8)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--epochs-per-step", type=int, default=6)
    p.add_argument("--final-epochs", type=int, default=40)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--wd", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=HERE)
    args = p.parse_args(argv)
    r = run(args)
    atomic_write(args.out / "gradual_prune.json",
                 lambda f: f.write(json.dumps(r, indent=1) + "\n"), mode="w")
    atomic_write(args.out / "gradual_prune.md", lambda f: f.write(to_markdown(r)), mode="w")
    plot(r, args.out / "gradual_prune.png")
    print(to_markdown(r))


if __name__ == "__main__":
    main()
