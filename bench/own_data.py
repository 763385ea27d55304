"""Collect the bring-your-own-data runs (``scripts/own_data.sh``) into one table.

    python -m snnc.bench.own_data RUN_DIR [RUN_DIR ...] [--json OUT.json] [--md OUT.md]

Each RUN_DIR is the OUT_DIR of one ``scripts/own_data.sh TRAIN TEST OUT_DIR`` run:
``train_report.json`` (L2MU float accuracy, 1-NN Euclidean baseline), each target's
compile report (float vs int8 accuracy on TEST) and its ``accuracy/`` bench reports
(accuracy on the device). Nothing is recomputed here: every figure is read from the
files those commands wrote.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

TARGETS = ("host", "smartwatch", "rpi", "mpsoc", "rram")


def collect(run: Path) -> dict[str, Any]:
    """One dataset's row: accuracies from the files in ``run``."""
    tr = json.loads((run / "train_report.json").read_text())
    row: dict[str, Any] = {
        "dataset": Path(tr["train_data"]).stem.removesuffix("_TRAIN"),
        "train_cases": tr["train_cases"] + tr["val_cases"], "test_cases": tr["test_cases"],
        "steps": tr["steps"], "channels": tr["channels"], "classes": len(tr["classes"]),
        "epochs": tr["epochs_run"], "train_seconds": tr["train_seconds"],
        "float": tr["float_test_acc"], "ir": tr["ir_test_acc"],
        "one_nn_ed": tr["one_nn_ed_test_acc"], "devices": {}}
    for t in TARGETS:
        d = run / t
        try:
            comp = json.loads((d / "build" / "report.json").read_text())["accuracy"]
            bench = json.loads((d / "accuracy" / "bench.json").read_text())
        except (OSError, KeyError, ValueError):
            continue
        row.setdefault("int8", comp["compiled"])
        rec: dict[str, Any] = {"compiled": comp["compiled"]}
        if t == "rram":
            a = bench["accuracy"]
            rec.update(device=a["chip_mean"], device_std=a["chip_std"], chips=a["chips"])
        else:
            s = bench["scores"]
            rec.update(device=s["accuracy"],
                       agreement_with_golden=s["others"]["integer simulator"]["agreement"],
                       bit_exact=bool(bench["agreement"]["match"]))
        row["devices"][t] = rec
    return row


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """The per-dataset table of docs/own_data.md."""
    head = ("| dataset (T x C, classes; train/test) | 1-NN ED | L2MU float | L2MU int8 | "
            + " | ".join(TARGETS) + " | L2MU - 1-NN |")
    lines = [head, "| --- |" + " ---: |" * (4 + len(TARGETS))]
    for r in rows:
        cells = []
        for t in TARGETS:
            d = r["devices"].get(t)
            if d is None:
                cells.append("n/a")
            elif t == "rram":
                cells.append(f"{d['device']:.3f} ± {d['device_std']:.3f}")
            else:
                cells.append(f"{d['device']:.3f}" + ("" if d["bit_exact"] else " (MISMATCH)"))
        gap = 100 * (r["float"] - r["one_nn_ed"])
        lines.append(f"| {r['dataset']} ({r['steps']} x {r['channels']}, {r['classes']}; "
                     f"{r['train_cases']}/{r['test_cases']}) | {r['one_nn_ed']:.3f} | "
                     f"{r['float']:.3f} | {r.get('int8', float('nan')):.3f} | "
                     + " | ".join(cells) + f" | {gap:+.1f} pp |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the table (and write JSON/Markdown if asked)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="OUT_DIRs of scripts/own_data.sh")
    ap.add_argument("--json", default=None, help="write the rows here")
    ap.add_argument("--md", default=None, help="write the table here")
    a = ap.parse_args(argv)
    rows = [collect(Path(r)) for r in a.runs]
    md = to_markdown(rows)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1) + "\n")
    if a.md:
        Path(a.md).write_text(md)
    print(md, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
