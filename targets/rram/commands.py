"""CLI glue for ``snnc flash BUILD --device sim`` and ``snnc bench BUILD --device sim``.

``cli.py`` calls these when the device is ``sim`` or the target ``rram``; ``profile`` is
the device preset (neurram | lsm | ideal; default: the build's or model's own).
"""

from __future__ import annotations

import json
from pathlib import Path

from snnc.compiler.errors import SnncError


def is_rram(device: str, target: str | None, build: str | None = None) -> bool:
    """Does this flash/bench invocation address the simulated RRAM chip? (``--device
    sim``, ``--target rram``, or a build directory whose manifest says rram.)"""
    if target is None and device == "qemu" and build is not None:
        man = Path(build) / "manifest.json"
        if man.is_file():
            try:
                target = json.loads(man.read_text()).get("target")
            except (ValueError, OSError, AttributeError):
                target = None
    if target == "rram" and device not in ("sim", "qemu"):
        raise SnncError(f"target 'rram' has one device, 'sim' (got --device {device})")
    return device == "sim" or target == "rram"


def flash_cli(build: str, profile: str | None, seed: int, out_path: str | None) -> str:
    """Program chip ``seed``; returns the JSON line to print."""
    from snnc.targets.rram.crossbar import plan_summary
    from snnc.targets.rram.flow import flash

    chip, path = flash(build, seed=seed, device=profile, out=out_path)
    s = plan_summary([pl.layer for pl in chip.layers], chip.device)
    return json.dumps({"target": "rram", "device": "sim", "profile": chip.device.name,
                       "seed": chip.seed, "chip": str(path), "tiles": s["tiles"],
                       "cells": s["cells"]})


def bench_cli(build: str, profile: str | None, seed: int, chips: int, samples: int | None,
              json_path: str | None, md_path: str | None, fmt: str, data: str | None = None,
              report_dir: str | None = None) -> str:
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
