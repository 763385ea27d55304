"""The Ray engine against the local pool: a local Ray head (127.0.0.1, 2 CPUs) started by
the test gives the same records, front and choice. Skipped when Ray is not installed (it
is the optional ``fit`` extra)."""

from __future__ import annotations

import pytest

from snnc.targets.fit import FitConfig, fit
from snnc.targets.fit.engine import LocalPool, RayEngine

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_head():
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _run(tiny, cfg, engine):
    g, x, y = tiny
    return fit({"base": g}, x, y, cfg, engine, progress=False)


def test_ray_round_trip_same_front_as_local_pool(tiny, small, ray_head):
    # Only the driver samples the (patched) space; workers compile the points they get.
    cfg = FitConfig(target="host", objective="flash", max_drop=10.0, max_points=6, seed=2)
    local = _run(tiny, cfg, lambda st: LocalPool(st, 2))
    engines = []

    def make(st):
        engines.append(RayEngine(st))
        return engines[-1]

    remote = _run(tiny, cfg, make)
    assert engines[0].workers == 2
    assert remote.engine == "ray"
    assert remote.records == local.records
    assert remote.front == local.front and remote.chosen == local.chosen


@pytest.mark.slow
def test_ray_larger_sweep_same_as_local(tiny, small, ray_head):
    cfg = FitConfig(target="host", objective="ram", max_drop=20.0, max_points=18, seed=5)
    local = _run(tiny, cfg, lambda st: LocalPool(st, 2))
    remote = _run(tiny, cfg, lambda st: RayEngine(st))
    assert remote.records == local.records and remote.front == local.front


@pytest.mark.slow
def test_cli_joins_running_cluster_via_ray_address(tiny, ray_head, tmp_path, snnc_cmd):
    """`snnc fit --ray auto` with RAY_ADDRESS set joins the test's head as a second driver
    and gives the same choice as the local pool."""
    import json
    import os
    import subprocess

    import numpy as np

    from snnc.compiler.ir import save

    g, x, y = tiny
    save(g, tmp_path / "m.snn")
    np.savez(tmp_path / "val.npz", x=x, y=y)
    base = [*snnc_cmd, "fit", str(tmp_path / "m.snn"), "--target", "host", "--data",
            str(tmp_path / "val.npz"), "--objective", "flash", "--max-accuracy-drop", "10",
            "--max-points", "6"]
    env = {**os.environ, "RAY_ADDRESS": ray.get_runtime_context().gcs_address}
    r1 = subprocess.run([*base, "--ray", "auto", "-o", str(tmp_path / "ray")], env=env,
                        capture_output=True, text=True, timeout=600)
    assert r1.returncode == 0, r1.stderr
    r2 = subprocess.run([*base, "--workers", "2", "-o", str(tmp_path / "local")],
                        capture_output=True, text=True, timeout=600)
    assert r2.returncode == 0, r2.stderr
    a = json.loads((tmp_path / "ray" / "fit.json").read_text())
    b = json.loads((tmp_path / "local" / "fit.json").read_text())
    assert a["engine"] == "ray" and b["engine"] == "local"
    assert a["points"] == b["points"] and a["chosen"] == b["chosen"]
