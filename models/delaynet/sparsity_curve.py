"""Accuracy and SynOps vs fraction of weights kept: ``python -m snnc.models.delaynet.sparsity_curve``.

Prunes the committed ``delaynet.snn`` by magnitude (global and per-layer scope) to each
fraction of weights kept, removes inert synapses (horizon = the run length), and
measures in the reference simulator, on the JapaneseVowels test split: accuracy,
SynOps per sample (NeuroBench Effective MACs + ACs), and the largest live delay.
Writes ``sparsity_curve.json``, ``sparsity_curve.md`` and ``sparsity_curve.png``.
:func:`curve` and :func:`write_outputs` are reused by the HD-SNN script.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnc.compiler.ir import DelayedLinear, Graph, load
from snnc.compiler.ir.metrics import workload
from snnc.compiler.ir.nodes import SYNAPSE_KINDS
from snnc.compiler.ir.serialize import atomic_write
from snnc.compiler.passes.inert import remove_inert_synapses
from snnc.compiler.passes.prune import count_weights, prune_magnitude

HERE = Path(__file__).resolve().parent
KEPT = (1.0, 0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01)


def evaluate(g: Graph, x: np.ndarray, y: np.ndarray, batch: int = 200) -> dict[str, float]:
    """Accuracy and mean per-sample SynOps of ``g`` on (x, y), batch by batch."""
    correct, ops = 0, 0.0
    for s in range(0, len(y), batch):
        w = workload(g, x[s:s + batch])
        out = next(iter(w["outputs"].values()))
        pred = np.argmax(out[:, -1].reshape(out.shape[0], -1), axis=1)
        correct += int((pred == y[s:s + batch]).sum())
        ops += float(w["synops"].sum())
    return {"accuracy": correct / len(y), "synops_per_sample": ops / len(y)}


Pruner = Callable[[Graph, float], Graph]


def curve(g: Graph, x: np.ndarray, y: np.ndarray, scopes: tuple[str, ...] = ("global",),
          kept: tuple[float, ...] = KEPT, nodes: list[str] | None = None,
          extra: dict[str, Pruner] | None = None) -> list[dict[str, Any]]:
    """One row per (scope, fraction kept), pruning ``nodes`` (default: every synapse node).

    ``extra`` adds other pruning rules by name: ``fn(graph, fraction_kept) -> graph``.
    """
    horizon = int(x.shape[1])
    nz0, _ = count_weights(g, nodes)
    rules: dict[str, Pruner] = {
        sc: (lambda gr, k, sc=sc: prune_magnitude(gr, 1.0 - k, sc, nodes)) for sc in scopes}
    rules.update(extra or {})
    rows = []
    for scope, rule in rules.items():
        for k in kept:
            t0 = time.time()
            pg = remove_inert_synapses(rule(g, k), horizon=horizon)
            nz, _ = count_weights(pg, None if nodes is None else [n for n in nodes if n in pg.nodes])
            m = evaluate(pg, x, y)
            dls = [n.max_delay for _, n in pg.items() if isinstance(n, DelayedLinear)]
            rows.append({"scope": scope, "kept_requested": k, "weights_kept": nz,
                         "kept_fraction": nz / nz0, "synapse_nodes": sum(
                             1 for _, n in pg.items() if isinstance(n, SYNAPSE_KINDS)),
                         "max_delay": max(dls) if dls else 0, **m})
            print(f"  {scope:6s} kept {k:5.2f}: {nz:7d} weights, acc {m['accuracy']:.4f}, "
                  f"SynOps/sample {m['synops_per_sample']:.0f} ({time.time() - t0:.0f}s)",
                  file=sys.stderr, flush=True)
    return rows


def write_outputs(rows: list[dict[str, Any]], out: Path, stem: str, title: str) -> None:
    """``<stem>.json``, a Markdown table ``<stem>.md`` and a plot ``<stem>.png``."""
    text = json.dumps(rows, indent=2) + "\n"
    atomic_write(out / f"{stem}.json", lambda f: f.write(text), mode="w")
    lines = ["| scope | weights kept | fraction kept | test acc | SynOps / sample | max delay "
             "| synapse nodes |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['scope']} | {r['weights_kept']} | {100 * r['kept_fraction']:.1f}% | "
                     f"{100 * r['accuracy']:.2f}% | {r['synops_per_sample']:.0f} | "
                     f"{r['max_delay']} | {r['synapse_nodes']} |")
    md = "\n".join(lines) + "\n"
    atomic_write(out / f"{stem}.md", lambda f: f.write(md), mode="w")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing (pip install -e '.[bench]'): no PNG", file=sys.stderr)
        return
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for scope in sorted({r["scope"] for r in rows}):
        rs = [r for r in rows if r["scope"] == scope]
        kf = [100 * r["kept_fraction"] for r in rs]
        ax[0].plot(kf, [100 * r["accuracy"] for r in rs], "o-", label=scope)
        ax[1].plot(kf, [r["synops_per_sample"] for r in rs], "o-", label=scope)
    for a, lab in zip(ax, ("test accuracy (%)", "SynOps per sample")):
        a.set_xscale("log")
        a.set_xlabel("weights kept (%)")
        a.set_ylabel(lab)
        a.grid(True, which="both", alpha=0.3)
        a.legend()
    ax[1].set_yscale("log")
    fig.suptitle(title)
    fig.tight_layout()
    atomic_write(out / f"{stem}.png", lambda f: fig.savefig(f, format="png", dpi=90))
    plt.close(fig)


def main() -> None:
    from snnc.models.delaynet.data import load_split

    g = load(HERE / "delaynet.snn")
    x, y = load_split("test", g.metadata)
    print(f"delaynet: {len(y)} test samples, {x.shape[1]} steps", file=sys.stderr)
    rows = curve(g, x, y, scopes=("global", "layer"))
    write_outputs(rows, HERE, "sparsity_curve",
                  "DelayNet (JapaneseVowels): magnitude pruning + inert-synapse removal")


if __name__ == "__main__":
    main()
