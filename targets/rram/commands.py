"""The rram target's own ``snnc flash`` and ``snnc bench`` (its registry entry's ``flash``
and ``bench``): the device is a simulated chip, so flashing programs one (seeded
conductances, saved) and benching runs the test set over several chips.

Both take the CLI's options as keywords and ignore the ones they do not use; ``profile``
is the device preset (neurram | lsm | ideal; default: the build's or model's own).
"""

from __future__ import annotations

import json
from typing import Any

from snnc.compiler.errors import SnncError


def flash_cli(build: str, profile: str | None = None, seed: int = 0,
              out_path: str | None = None, data: str | None = None, **_: Any) -> str:
    """Program chip ``seed``; returns the JSON line to print."""
    from snnc.targets.rram.crossbar import plan_summary
    from snnc.targets.rram.flow import flash

    if data is not None:
        raise SnncError("--data: flashing programs a chip and runs nothing; use "
                        "`snnc bench --device sim --data ...` to score data on it")
    chip, path = flash(build, seed=seed, device=profile, out=out_path)
    s = plan_summary([pl.layer for pl in chip.layers], chip.device)
    return json.dumps({"target": "rram", "device": "sim", "profile": chip.device.name,
                       "seed": chip.seed, "chip": str(path), "tiles": s["tiles"],
                       "cells": s["cells"]})


def bench_cli(build: str, profile: str | None = None, seed: int = 0, chips: int = 5,
              samples: int | None = None, json_path: str | None = None,
              md_path: str | None = None, fmt: str = "md", data: str | None = None,
              report_dir: str | None = None, **_: Any) -> str:
    """Bench chips ``seed .. seed+chips-1`` on ``samples`` test cases (<= 0: all; None:
    all of ``data``, else 8 of the model's test split) of ``data`` (the user's float
    dataset, :mod:`compiler.data`) or the model's own test data; writes the reports
    (``report_dir``: the accuracy report of the first chip) and returns what to print."""
    from snnc.targets.rram.flow import bench, to_markdown, write_report

    if chips < 1:
        raise SnncError(f"option '--chips' must be >= 1, got {chips}")
    if seed < 0:
        raise SnncError(f"option '--seed' must be >= 0, got {seed}")
    if samples is None:
        samples = 0 if data is not None else 8
    ds = None
    if data is not None:
        from snnc.compiler.data import for_graph, load_data
        from snnc.targets.rram.flow import open_build

        _, graph = open_build(build)
        ds = for_graph(load_data(data), graph).take(samples if samples > 0 else None)
    rep = bench(build, seeds=tuple(range(seed, seed + chips)), device=profile,
                samples=samples if samples > 0 else None, data=ds)
    write_report(rep, json_path, md_path)
    if report_dir is not None and rep.get("scores"):
        from snnc.compiler.data import write_scores

        write_scores(rep["scores"], report_dir, title=f"rram (sim, chip seed {seed})")
    return json.dumps(rep, indent=2) if fmt == "json" else to_markdown(rep)
