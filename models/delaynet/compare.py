"""Learned vs fixed random vs no delays, several seeds: ``python -m snnc.models.delaynet.compare``.

Same split (JapaneseVowels train/test), same architecture and schedule as
``models.delaynet.train``; only the delay mode and the seed change. Each run's accuracy
is measured on the exported graph in the reference simulator. Writes
``compare.json`` and ``compare.md`` (nothing else; the committed .snn files come from
``train``). Extra arguments are passed to the training parser (e.g. ``--hidden 16``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from snnc.compiler.ir.serialize import atomic_write
from snnc.models.delaynet import train as T

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--stem", default="compare")
    args, rest = p.parse_known_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for seed in seeds:
        targs = T.parse_args(rest + ["--seed", str(seed)])
        data = T.load_data(targs)
        for mode in targs.modes.split(","):
            r = T.train_variant(mode, targs, data)
            r.pop("graph")
            rows.append({"mode": mode, "seed": seed, **r})
    cfg = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(targs).items()
           if k not in ("seed", "out")}
    text = json.dumps({"config": cfg, "runs": rows}, indent=2) + "\n"
    atomic_write(HERE / f"{args.stem}.json", lambda f: f.write(text), mode="w")
    lines = [f"Config: hidden {cfg['hidden']}, max delay {cfg['max_delay']}, "
             f"{cfg['epochs']} epochs; seeds {seeds}. Accuracy of the exported graph in the "
             "reference simulator on the 370 test utterances.", "",
             "| delays | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | min..max |",
             "| --- | " + " | ".join("---:" for _ in seeds) + " | ---: | --- |"]
    for mode in targs.modes.split(","):
        accs = [r["sim_test_acc"] for r in rows if r["mode"] == mode]
        lines.append(f"| {mode} | " + " | ".join(f"{100 * a:.2f}%" for a in accs)
                     + f" | {100 * np.mean(accs):.2f}% | {100 * min(accs):.2f}..{100 * max(accs):.2f}% |")
    md = "\n".join(lines) + "\n"
    atomic_write(HERE / f"{args.stem}.md", lambda f: f.write(md), mode="w")
    print(md, file=sys.stderr)


if __name__ == "__main__":
    main()
