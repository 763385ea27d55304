"""The rram target's user flow: build directory, ``flash`` (program a seeded chip) and
``bench`` (accuracy under non-idealities over several chips, energy and latency).

Build directory (``snnc compile MODEL --target rram [--quantize float] -o DIR``, or made
on the fly from a ``.snn``): ``model.snn`` (the float or quantized graph), ``plan.json``
(tiles and cells per layer, the device, for integer layers whether the level grid holds
their weights exactly), ``manifest.json``. Chips live in ``DIR/chips/<preset>_seed<N>.npz``.

The device is, in order: the ``device`` argument, the build's ``plan.json``, the graph's
``metadata["rram"]["device"]``, else the ``neurram`` preset.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import FormatError, SnncError
from snnc.compiler.ir.graph import Graph
from snnc.targets.rram.crossbar import map_graph, plan_summary
from snnc.targets.rram.device import DeviceModel, get_device
from snnc.targets.rram.sim import (
    Activity,
    Chip,
    digital_nodes,
    flash_chip,
    load_chip,
    predict_chip,
    save_chip,
)


def _say(msg: str) -> None:
    print(f"snnc: rram: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ build directory


def emit_build(graph: Graph, out_dir: Path, memory: dict[str, int] | None = None,
               device: str | DeviceModel | None = None) -> dict[str, Any]:
    """Write ``model.snn`` and ``plan.json`` (the conductance programming plan) to
    ``out_dir``; the registry's emitter for target ``rram``."""
    from snnc.compiler.ir.serialize import atomic_write, save

    dev = resolve_device(graph, None, device)
    plan = plan_summary(map_graph(graph, dev, digital_nodes(graph)), dev)
    plan.update({"format": "snnc-rram-plan", "version": 1, "device": dev.to_dict(),
                 "digital": list(digital_nodes(graph))})
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    save(graph, d / "model.snn")
    atomic_write(d / "plan.json", lambda f: f.write(json.dumps(plan, indent=1) + "\n"),
                 mode="w")
    return plan


def resolve_device(graph: Graph, build_dir: Path | None,
                   device: str | DeviceModel | None) -> DeviceModel:
    """The device model for a run (see the module docstring for the order)."""
    if device is not None:
        return get_device(device)
    if build_dir is not None and (build_dir / "plan.json").exists():
        from snnc.targets.rram.device import device_from_dict

        try:
            return device_from_dict(json.loads((build_dir / "plan.json").read_text())["device"])
        except (ValueError, KeyError, TypeError) as e:
            raise FormatError(f"unreadable rram plan ({e})", build_dir / "plan.json") from None
    meta = (graph.metadata or {}).get("rram", {})
    if isinstance(meta, dict) and meta.get("device"):
        return get_device(str(meta["device"]))
    return get_device("neurram")


def open_build(build: str | Path) -> tuple[Path, Graph]:
    """(build directory, graph) for a build directory or a ``.snn`` (whose build goes to
    ``STEM_rram/``, made on first use)."""
    from snnc.compiler.ir import load

    p = Path(build)
    if p.is_dir():
        if not (p / "model.snn").exists():
            raise FormatError("not an rram build directory (model.snn missing; run `snnc "
                              "compile MODEL --target rram -o DIR`)", p)
        return p, load(p / "model.snn")
    if not p.exists():
        raise FormatError("no such build directory or model", p)
    if p.suffix != ".snn":
        raise FormatError("expected an rram build directory or a .snn graph", p)
    g = load(p)
    d = p.with_name(f"{p.stem}_rram")
    if not (d / "model.snn").exists():
        emit_build(g, d)
    return d, load(d / "model.snn")


def chip_path(build_dir: Path, dev: DeviceModel, seed: int) -> Path:
    """Where the chip programmed with ``seed`` is saved."""
    return build_dir / "chips" / f"{dev.name}_seed{int(seed)}.npz"


# ------------------------------------------------------------------ flash


def flash(build: str | Path | Graph, seed: int = 0, device: str | DeviceModel | None = None,
          out: str | Path | None = None) -> tuple[Chip, Path | None]:
    """Program a virtual chip (seeded) and save it (``out`` or the build's chips/ folder).

    ``build``: a build directory, a ``.snn`` file or a Graph (then nothing is saved
    unless ``out`` is given). Returns the chip and where it was written.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SnncError(f"rram option 'seed' must be a non-negative integer, got {seed!r}")
    if isinstance(build, Graph):
        bdir, graph = None, build
    else:
        bdir, graph = open_build(build)
    dev = resolve_device(graph, bdir, device)
    chip = flash_chip(graph, dev, int(seed))
    note_rounding(chip)
    path = Path(out) if out is not None else (chip_path(bdir, dev, seed) if bdir else None)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_chip(chip, path)
    return chip, path


def note_rounding(chip: Chip) -> None:
    """Say on stderr (one line) which integer layers the level grid cannot hold exactly."""
    from snnc.targets.rram.crossbar import levels_needed

    bad = [pl.layer for pl in chip.layers if pl.layer.integer and not pl.layer.exact]
    if bad:
        need = max(levels_needed(int(lm.w_abs_max)) for lm in bad)
        _say(f"{len(bad)} integer layer(s) ({', '.join(lm.node for lm in bad)}) need up to "
             f"{need} conductance levels per cell for an exact integer grid; device "
             f"'{chip.device.name}' has levels = {int(chip.device.levels)}: weights rounded "
             "onto the grid")


def get_chip(bdir: Path, graph: Graph, dev: DeviceModel, seed: int) -> tuple[Chip, str]:
    """The saved chip for ``seed`` if there is one (and it is for this device), else a
    freshly flashed and saved one."""
    p = chip_path(bdir, dev, seed)
    if p.exists():
        chip = load_chip(p, graph)
        if chip.device == dev:
            return chip, f"read {p}"
    chip, _ = flash(bdir, seed, dev)
    return chip, f"flashed {p}"


# ------------------------------------------------------------------ bench


def test_data(graph: Graph, samples: int | None,
              path: Path | None = None) -> tuple[np.ndarray, np.ndarray | None, str]:
    """The model's own test data file (beside ``path``, the build or model), else seeded
    synthetic inputs; zoo splits are passed in as ``data`` (:mod:`snnc.models.testsets`)."""
    from snnc.targets.benchmark import load_test_data

    d = load_test_data(graph, samples if samples else 64, path=path)
    return np.asarray(d.x), d.y, d.source


def _dense_macs(graph: Graph, chip: Chip, steps: int) -> float:
    return float(sum(pl.layer.n_in * pl.layer.n_out * pl.layer.n_matrices
                     for pl in chip.layers) * steps)


def bench(build: str | Path, seeds: list[int] | tuple[int, ...] = (0, 1, 2, 3, 4),
          device: str | DeviceModel | None = None, samples: int | None = None,
          batch_size: int = 256, data: Any = None) -> dict[str, Any]:
    """Accuracy on the chip (per chip, mean and spread over ``seeds``) vs the graph's own
    simulator (float, or the integer simulator for a quantized graph), and the
    energy/latency estimate per inference with its breakdown."""
    from snnc.compiler.ir import predict
    from snnc.compiler.ir.interpret_int import predict_int
    from snnc.compiler.ir.qnodes import is_quantized
    from snnc.targets.rram.energy import estimate

    if not seeds:
        raise SnncError("rram option 'seeds' must name at least one chip")
    if samples is not None and samples < 1:
        raise SnncError(f"rram option 'samples' must be >= 1, got {samples}")
    bdir, graph = open_build(build)
    dev = resolve_device(graph, bdir, device)
    # ``data``: the user's dataset (compiler.data.Dataset, already fitted to the graph).
    x, y, source = (test_data(graph, samples, bdir) if data is None
                    else (np.asarray(data.x), data.y, data.source))
    t0 = time.perf_counter()
    quantized = is_quantized(graph)
    kind = "int" if quantized else "float"
    # The software reference is the graph's own simulator: integer for a quantized graph.
    ref = (predict_int(graph, x.astype(np.float64), batch_size=batch_size) if quantized
           else predict(graph, x.astype(np.float64), batch_size=batch_size))
    chips, act = [], Activity()
    first_pred = ref
    for s in seeds:
        chip, how = get_chip(bdir, graph, dev, int(s))
        _say(f"chip seed {s}: {how}; running {len(x)} samples")
        pred = predict_chip(chip, x.astype(np.float64), batch_size=batch_size, activity=act)
        if not chips:  # the first chip's predictions make the accuracy report
            first_pred = pred
        rec: dict[str, Any] = {"seed": int(s),
                               f"agreement_with_{kind}": float(np.mean(pred == ref))}
        if y is not None:
            rec["accuracy"] = float(np.mean(pred == y))
        chips.append(rec)
    steps = int(x.shape[1])
    rep: dict[str, Any] = {
        "model": graph.name, "target": "rram", "device": dev.name, "build": str(bdir),
        "reference": f"{kind} simulator",
        "inputs": source, "samples": int(len(x)), "steps": steps,
        "device_params": dev.to_dict(),
        "mapping": plan_summary([pl.layer for pl in chip.layers], dev),
        "digital_nodes": list(chip.digital),
        "chips": chips,
        "energy": estimate(act, dev, _dense_macs(graph, chip, steps)),
        "seconds": round(time.perf_counter() - t0, 1),
        "host": {"machine": platform.machine(), "python": platform.python_version()},
    }
    from snnc.compiler.data import score

    rep["scores"] = score(first_pred, y, getattr(data, "classes", None),
                          others={f"{kind} simulator": ref})
    if y is not None:
        accs = np.array([c["accuracy"] for c in chips])
        rep["accuracy"] = {f"{kind}_simulator": float(np.mean(ref == y)),
                           "chip_mean": float(accs.mean()), "chip_std": float(accs.std(ddof=1))
                           if len(accs) > 1 else 0.0,
                           "chip_min": float(accs.min()), "chip_max": float(accs.max()),
                           "chips": len(accs)}
    return rep


def to_markdown(r: dict[str, Any]) -> str:
    """Human-readable bench report."""
    e = r["energy"]
    kind = "int" if r.get("reference", "").startswith("int") else "float"
    lines = [f"# snnc bench: {r['model']} on rram ({r['device']} device, simulated chip)", "",
             f"{r['samples']} samples x {r['steps']} steps; inputs: {r['inputs']}.",
             f"Mapping: {r['mapping']['tiles']} tiles of {r['mapping']['tile'][0]}x"
             f"{r['mapping']['tile'][1]}, {r['mapping']['cells']} cells; digital synapse "
             f"layers: {', '.join(r['digital_nodes']) or 'none'}.", ""]
    if "accuracy" in r:
        a = r["accuracy"]
        lines += ["| accuracy | value |", "| --- | --- |",
                  f"| {kind} simulator | {a[kind + '_simulator']:.4f} |",
                  f"| chip (mean ± std over {a['chips']} chips) | {a['chip_mean']:.4f} ± "
                  f"{a['chip_std']:.4f} (min {a['chip_min']:.4f}, max {a['chip_max']:.4f}) |",
                  ""]
    lines += [f"| chip seed | accuracy | agreement with {kind} |", "| --- | --- | --- |"]
    for c in r["chips"]:
        acc = f"{c['accuracy']:.4f}" if "accuracy" in c else "n/a"
        lines.append(f"| {c['seed']} | {acc} | {c['agreement_with_' + kind]:.4f} |")
    lines += ["", f"Energy per inference (estimate): {e['energy_pj']['total'] / 1e3:.2f} nJ",
              "", "| component | pJ / inference | share |", "| --- | --- | --- |"]
    for k, v in e["energy_pj"]["breakdown"].items():
        lines.append(f"| {k} | {v:.1f} | {100 * e['energy_pj']['fraction'][k]:.1f}% |")
    lat = e["latency_s"]
    lines += ["", f"Latency per inference (estimate): {lat['total'] * 1e6:.2f} us "
              f"({lat['per_step'] * 1e9:.0f} ns per step)", "",
              "| component | us / inference |", "| --- | --- |"]
    for k, v in lat["breakdown"].items():
        lines.append(f"| {k} | {v * 1e6:.3f} |")
    if "array_fj_per_dense_mac" in e:
        lines += ["", f"Array energy (cell reads + ADC + partial sums) per dense MAC: "
                  f"{e['array_fj_per_dense_mac']:.1f} fJ (published macros: 10-170 fJ/MAC, "
                  "DESIGN.md §5)."]
    lines += ["", "Energy and latency are analytical estimates from the device model's "
              "figures (DESIGN.md §5 and labelled assumptions), not measurements."]
    return "\n".join(lines) + "\n"


def write_report(r: dict[str, Any], json_path: str | Path | None,
                 md_path: str | Path | None) -> None:
    """Write the JSON and/or Markdown report atomically."""
    from snnc.compiler.ir.serialize import atomic_write

    if json_path:
        atomic_write(json_path, lambda f: f.write(json.dumps(r, indent=2) + "\n"), mode="w")
    if md_path:
        atomic_write(md_path, lambda f: f.write(to_markdown(r)), mode="w")
