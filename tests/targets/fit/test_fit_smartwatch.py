"""fit for the smartwatch: cost from QEMU instruction counts and ELF sizes, then the chosen
build runs under `snnc flash`. Needs arm-none-eabi-gcc and qemu-system-arm (cross tier)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

from snnc.targets.fit import FitConfig, fit
from snnc.targets.fit.engine import LocalPool
from snnc.targets.fit.space import Dimension, SearchSpace

pytestmark = pytest.mark.cross


def _tools() -> None:
    for t in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if shutil.which(t) is None:
            pytest.skip(f"{t} not installed")


def test_smartwatch_fit_measures_qemu_and_flashes(tiny, monkeypatch, tmp_path, snnc_cmd):
    _tools()
    import snnc.targets.fit.search as search
    from snnc.targets.benchmark import device_inputs
    from snnc.targets.fit.report import write_outputs
    from snnc.targets.fit.search import make_state
    from snnc.targets.flash import run_on_device

    space = SearchSpace("smartwatch", (Dimension("quantize", ("int8", "int16"), "int8"),
                                       Dimension("storage", ("bytes", "event"), "bytes")),
                        costs=("instructions", "flash", "ram"), measure="qemu")
    monkeypatch.setattr(search, "target_space", lambda g, t, p: space)
    g, x, y = tiny
    cfg = FitConfig(target="smartwatch", objective="instructions", max_drop=100.0,
                    cost_samples=2)
    res = fit({"base": g}, x, y, cfg, lambda st: LocalPool(st, 2), progress=False)
    assert not any(r["error"] for r in res.records), res.records
    assert all(r["cost"]["instructions"] > 0 and r["cost"]["flash"] > 0 for r in res.records)
    # int16 tables are larger than int8 ones on the same (dense) layout.
    by = {(r["point"]["quantize"], r["point"]["storage"]): r["cost"] for r in res.records}
    assert by[("int16", "bytes")]["flash"] > by[("int8", "bytes")]["flash"]
    state, _ = make_state({"base": g}, x, y, cfg, "qemu")
    out = write_outputs(res, state, tmp_path / "fit")
    # The chosen build runs on the emulator and its instruction count is what fit recorded.
    xd = device_inputs(*_graph(out), state.x[:2])
    run = run_on_device("smartwatch", out, xd, device="qemu")
    steps = run.step_instructions.reshape(run.n_samples, run.n_steps)
    assert float(np.median(steps)) == res.chosen["cost"]["instructions"], (by, res.chosen)
    np.savez(tmp_path / "test.npz", x=x[:2], y=y[:2])
    r = subprocess.run([*snnc_cmd, "flash", str(out), "--device", "qemu", "--samples", "2",
                        "--data", str(tmp_path / "test.npz")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["target"] == "smartwatch"


def _graph(build):
    from snnc.compiler.ir import load

    return (load(build / "model.snn"),)
