"""Fit outputs: the Pareto front as JSON + Markdown + PNG, and the chosen build.

``write_outputs(result, state, out_dir)`` writes into ``out_dir``: the chosen point's
build (what ``snnc compile --target T -o DIR`` writes: ``model.h``, ``model.c``,
``model.snn``, ``manifest.json``, ``report.json``/``.md``; ready for ``snnc flash DIR``),
``fit.json`` (every point measured, the front, the chosen and the default point),
``fit.md`` and ``front.png`` (accuracy vs the objective; needs matplotlib, else skipped
with a note). Every file is written atomically.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from snnc.targets.fit.evaluate import FitState, compile_point
from snnc.targets.fit.search import FitResult, describe
from snnc.targets.fit.space import point_key

UNITS = {"instructions": "instructions per step (median, QEMU)",
         "latency": "us per inference", "flash": "flash bytes", "ram": "RAM bytes",
         "energy": "pJ per inference", "lut": "LUTs", "dsp": "DSPs", "bram18": "BRAM18"}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def to_markdown(res: FitResult) -> str:
    """The front and the choice as a Markdown report."""
    d, c = res.to_dict(), res.config
    obj = c.objective
    costs = [k for k in ("instructions", "latency", "flash", "ram", "energy", "lut", "dsp",
                         "bram18") if res.front and k in res.front[0]["cost"]]
    lines = [f"# snnc fit: {c.target} ({c.profile or 'default profile'}), objective {obj}", "",
             f"- float model accuracy on the data: {100 * res.reference_accuracy:.2f}%; budget: "
             f"at most {c.max_drop:g} pp less (>= {100 * res.threshold():.2f}%)",
             f"- space: {res.space.size()} points over "
             + ", ".join(f"{k} {v}" for k, v in d["dimensions"].items() if len(v) > 1),
             f"- search: seeded successive halving (seed {c.seed}, eta {c.eta}); rungs "
             + ", ".join(f"{r['points']} points x {r['samples']} samples" for r in res.rungs),
             f"- {res.evaluated} evaluations run, {res.cached} from the cache; "
             f"{res.seconds:.1f} s on {res.engine} ({res.workers} workers)", ""]
    ch, df = res.chosen, res.default

    def row(tag: str, r: dict[str, Any]) -> str:
        return (f"| {tag} | {describe(r['point'])} | {100 * r['accuracy']:.2f}% | "
                + " | ".join(_fmt(r["cost"][k]) for k in costs) + " |")

    lines += ["| | point | accuracy | " + " | ".join(costs) + " |",
              "| --- | --- | ---: | " + " | ".join("---:" for _ in costs) + " |"]
    lines.append(row("**chosen**", ch))
    if df is not None and df.get("error") is None and df["n"] == ch["n"]:
        lines.append(row("default int8", df))
        gain = df["cost"][obj] / ch["cost"][obj] if ch["cost"][obj] else float("inf")
        lines += ["", f"Chosen vs default compile: {obj} x{gain:.3f} lower "
                      f"({_fmt(df['cost'][obj])} -> {_fmt(ch['cost'][obj])}), accuracy "
                      f"{100 * df['accuracy']:.2f}% -> {100 * ch['accuracy']:.2f}%."]
    lines += ["", f"## Pareto front (accuracy vs {obj})", "",
              "| point | accuracy | " + " | ".join(costs) + " |",
              "| --- | ---: | " + " | ".join("---:" for _ in costs) + " |"]
    for r in res.front:
        lines.append(f"| {describe(r['point'])} | {100 * r['accuracy']:.2f}% | "
                     + " | ".join(_fmt(r["cost"][k]) for k in costs) + " |")
    errs = [r for r in res.records if r.get("error")]
    if errs:
        lines += ["", f"{len(errs)} point(s) failed to compile or run, e.g. "
                      f"`{describe(errs[0]['point'])}`: {errs[0]['error']}"]
    return "\n".join(lines) + "\n"


def plot_front(res: FitResult, path: str | Path, title: str | None = None) -> Path | None:
    """PNG: every fully measured point, the front, the default and the chosen point."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("snnc fit: matplotlib missing (pip install 'snnc[bench]'): front.png skipped",
              file=sys.stderr)
        return None
    from snnc.compiler.ir.serialize import atomic_write

    obj = res.config.objective
    final = [r for r in res.records if r.get("error") is None and r["n"] == res.chosen["n"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.scatter([r["cost"][obj] for r in final], [100 * r["accuracy"] for r in final],
               s=14, c="0.6", label="measured points (all data)")
    fr = res.front
    ax.step([r["cost"][obj] for r in fr], [100 * r["accuracy"] for r in fr], where="post",
            c="C0", lw=1.5, marker="o", ms=4, label="Pareto front")
    ax.axhline(100 * res.threshold(), c="C3", ls="--", lw=1,
               label=f"budget (float {100 * res.reference_accuracy:.1f}% - "
                     f"{res.config.max_drop:g} pp)")
    if res.default is not None and res.default.get("error") is None \
            and res.default["n"] == res.chosen["n"]:
        ax.scatter([res.default["cost"][obj]], [100 * res.default["accuracy"]], marker="x",
                   s=70, c="k", label="default int8 compile", zorder=5)
    ax.scatter([res.chosen["cost"][obj]], [100 * res.chosen["accuracy"]], marker="*", s=180,
               c="C1", label="chosen", zorder=6)
    ax.set_xlabel(UNITS.get(obj, obj))
    ax.set_ylabel("accuracy (%), integer golden model")
    ax.set_title(title or f"snnc fit: {res.config.target}, {obj}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=120))
    plt.close(fig)
    return Path(path)


def write_outputs(res: FitResult, state: FitState, out_dir: str | Path) -> Path:
    """The chosen build plus fit.json / fit.md / front.png in ``out_dir``."""
    from snnc.compiler.cli_compile import report_markdown
    from snnc.compiler.ir.serialize import atomic_write, graph_hash
    from snnc.compiler.passes.pipeline import options_dict
    from snnc.targets import registry
    from snnc.targets.fit.space import compile_options

    out = Path(out_dir)
    gq, plan = compile_point(state, res.chosen["point"])
    registry.write_build(res.config.target, gq, out, {"flash_bytes": plan.flash_bytes,
                                                      "ram_bytes": plan.ram_bytes})
    opts = compile_options(res.chosen["point"], res.config.target, res.config.profile)
    name = res.chosen["point"].get("model", "base")
    rep = {"model": f"snnc fit ({name})", "name": gq.name,
           "input_hash": graph_hash(state.graphs[name]), "output_hash": graph_hash(gq),
           "options": options_dict(opts), "passes": [], "memory": plan.to_dict(),
           "storage": {n: v.storage for n, v in gq.items() if hasattr(v, "storage")},
           "fit_point": res.chosen["point"]}
    atomic_write(out / "report.json", lambda f: f.write(json.dumps(rep, indent=1)), mode="w")
    atomic_write(out / "report.md", lambda f: f.write(report_markdown(rep)), mode="w")
    d = res.to_dict()
    atomic_write(out / "fit.json", lambda f: f.write(json.dumps(d, indent=1) + "\n"), mode="w")
    atomic_write(out / "fit.md", lambda f: f.write(to_markdown(res)), mode="w")
    plot_front(res, out / "front.png")
    return out


def summary_line(res: FitResult) -> str:
    """One line for stderr: the chosen point and its figures."""
    ch, obj = res.chosen, res.config.objective
    s = (f"snnc fit: chosen {describe(ch['point'])}: accuracy {100 * ch['accuracy']:.2f}% "
         f"(float {100 * res.reference_accuracy:.2f}%), {obj} {_fmt(ch['cost'][obj])}")
    if res.default is not None and res.default.get("error") is None:
        s += f" (default int8: {_fmt(res.default['cost'][obj])})"
    return s


__all__ = ["to_markdown", "plot_front", "write_outputs", "summary_line", "point_key"]
