"""Cost measurement of one compiled point, by kind (named by a target's search space).

Every figure is measured on the build, not guessed from the IR:

- ``qemu`` (smartwatch, rpi): the build directory the target writes, the firmware or
  binary built by the target's own build step and run under QEMU on a few of the user's
  samples (:func:`snnc.targets.flash.run_on_device`): exact instructions per step (TCG
  plugin), flash/RAM from the ELF sections (model + runtime, probe difference) on the MCU,
  the binary's size on Linux boards; the device outputs are checked bit-exact against the
  integer golden model, and a mismatch makes the point an error;
- ``mpsoc_estimate``: the analytical LUT/FF/BRAM/DSP + cycles estimator of the mpsoc
  target (its compile pass already refuses points that exceed the board);
- ``rram_sim``: the RRAM target's simulated chip (seed 0) built with the point's device
  parameters (conductance levels, ADC bits, tile rows): accuracy is the chip's (not the
  integer golden model's: noise and level/ADC rounding are the point), energy and latency
  per inference from the target's energy model on the chip's counted events;
- ``plan`` (host): the memory planner's RAM/flash bytes.

A measurement returns a dict of cost name -> number (lower is better). A measurement
kind may also replace the accuracy step (:data:`ACCURACY`) and own some point keys that
configure the device rather than the compiler (:data:`DEVICE_KEYS`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph


def qemu_cost(target: str, graph_q: Graph, plan: Any, x: np.ndarray, profile: str | None,
              workdir: Path) -> dict[str, Any]:
    """Build for ``target``, run ``x`` (float [S, T, ...]) under QEMU, read the ELF sizes."""
    from snnc.targets import registry
    from snnc.targets.benchmark import compare, device_inputs, reference_outputs
    from snnc.targets.flash import run_on_device

    bdir = workdir / "build"
    registry.write_build(target, graph_q, bdir, {"flash_bytes": plan.flash_bytes,
                                                 "ram_bytes": plan.ram_bytes})
    xd = device_inputs(graph_q, x)
    run = run_on_device(target, bdir, xd, device="qemu", profile=profile,
                        out_dir=workdir / "dev")
    ref, _ = reference_outputs(graph_q, xd)
    agree = compare(run.outputs, ref, exact=True)
    if not agree["match"]:
        raise SnncError(f"device outputs differ from the integer golden model ({agree})")
    if run.step_instructions is None:
        raise SnncError("QEMU reported no instruction counts")
    per = run.step_instructions.reshape(run.n_samples, run.n_steps)
    out: dict[str, Any] = {
        "instructions": float(np.median(per)),             # per step, median (as snnc bench)
        "instructions_per_sample": float(per.sum(axis=1).mean()),
    }
    model_mem = run.memory.get("model")
    if model_mem:  # MCU: model + runtime share of the ELF
        out["flash"] = int(model_mem["flash_bytes"])
        out["ram"] = int(model_mem["ram_bytes"])
    else:          # Linux board: the static binary's file size; RAM from the planner
        out["flash"] = int(run.memory.get("binary_file_bytes", 0))
        out["ram"] = int(plan.ram_bytes)
        out["ram_source"] = "memory planner"
    if run.clock_hz:
        out["latency"] = out["instructions_per_sample"] / run.clock_hz * 1e6  # us, 1 IPC
    return out


def mpsoc_cost(target: str, graph_q: Graph, plan: Any, x: np.ndarray, profile: str | None,
               workdir: Path) -> dict[str, Any]:
    """The mpsoc estimator's figures for the reuse factor the compile pass chose."""
    est = (graph_q.metadata.get("mpsoc") or {}).get("estimate")
    if not est:
        raise SnncError("mpsoc: the compile pass recorded no estimate (float graph?)")
    return {"latency": float(est["latency_us_per_step"]), "cycles": int(est["cycles_per_step"]),
            "lut": int(est["lut"]), "ff": int(est["ff"]), "bram18": int(est["bram18"]),
            "dsp": int(est["dsp"]), "reuse": int(est["reuse"]),
            "flash": int(plan.flash_bytes), "ram": int(plan.ram_bytes)}


def plan_cost(target: str, graph_q: Graph, plan: Any, x: np.ndarray, profile: str | None,
              workdir: Path) -> dict[str, Any]:
    """Memory-planner bytes only (the host target has no instruction counter)."""
    return {"flash": int(plan.flash_bytes), "ram": int(plan.ram_bytes)}


RRAM_KEYS = ("levels", "adc_bits", "tile_rows")


def _rram_chip(graph_q: Graph, point: dict[str, Any], profile: str | None) -> Any:
    from snnc.targets.rram.device import get_device
    from snnc.targets.rram.sim import flash_chip

    dev = get_device(profile or "neurram", **{k: int(point[k]) for k in RRAM_KEYS
                                               if point.get(k) is not None})
    return flash_chip(graph_q, dev, seed=0)


def rram_accuracy(graph_q: Graph, point: dict[str, Any], x: np.ndarray, y: np.ndarray,
                  profile: str | None) -> float:
    """Accuracy of the simulated chip (seed 0) programmed with the point's device."""
    from snnc.targets.rram.sim import predict_chip

    chip = _rram_chip(graph_q, point, profile)
    return float(np.mean(predict_chip(chip, x.astype(np.float64)) == y))


def rram_cost(target: str, graph_q: Graph, plan: Any, x: np.ndarray, profile: str | None,
              workdir: Path, point: dict[str, Any] | None = None) -> dict[str, Any]:
    """Energy (pJ) and latency (us) per inference from the chip's counted events."""
    from snnc.targets.rram.energy import estimate
    from snnc.targets.rram.sim import Activity, predict_chip

    chip = _rram_chip(graph_q, point or {}, profile)
    act = Activity()
    predict_chip(chip, x.astype(np.float64), activity=act)
    e = estimate(act, chip.device)
    return {"energy": float(e["energy_pj"]["total"]),
            "latency": float(e["latency_s"]["total"]) * 1e6,
            # crossbar tiles used: row tiles x column tiles per matrix, per delay
            "tiles": int(sum(math.prod(pl.layer.tiles(chip.device)) * pl.layer.n_matrices
                             for pl in chip.layers))}


MeasureFn = Callable[[str, Graph, Any, np.ndarray, "str | None", Path], dict[str, Any]]
MEASURES: dict[str, MeasureFn] = {
    "qemu": qemu_cost,
    "mpsoc_estimate": mpsoc_cost,
    "plan": plan_cost,
    "rram_sim": rram_cost,
}
# Measurements whose accuracy is not the integer golden model's (graph_q, point, x, y,
# profile) -> accuracy, and the point keys they read (not compile options).
ACCURACY: dict[str, Callable[..., float]] = {"rram_sim": rram_accuracy}
DEVICE_KEYS: dict[str, tuple[str, ...]] = {"rram_sim": RRAM_KEYS}
# Measurements that take the point (device parameters) as a keyword.
NEEDS_POINT = ("rram_sim",)
