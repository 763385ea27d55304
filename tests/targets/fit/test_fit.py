"""fit end to end on a tiny model: the known best point, budget errors, resume, a killed
worker, and the CLI. The reference is an exhaustive evaluation written out here with the
compiler's public API (no search, cache or engine involved)."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess

import numpy as np
import pytest

from snnc.compiler.errors import SnncError
from snnc.targets.fit import FitConfig, fit
from snnc.targets.fit.engine import InlineEngine, LocalPool
from snnc.targets.fit.space import point_key

from .conftest import small_space


def exhaustive(graph, x, y, objective: str) -> list[dict]:
    """Every point of the small space on all data: accuracy (integer golden model) and
    memory-planner bytes."""
    from snnc.compiler.ir.interpret_int import predict_int
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline
    from snnc.targets import registry  # noqa: F401

    perm = np.random.default_rng(0).permutation(len(x))  # fit's calibration = shuffled head
    out = []
    for p in small_space(graph).grid():
        thr = {"bytes": None, "event": 1.0}[p["storage"]]
        opt = CompileOptions(quantize=p["quantize"], prune=p["prune"], storage_threshold=thr,
                             target="host")
        gq, plan = run_pipeline(graph, PassContext(options=opt, calib=x[perm][:64],
                                                   progress=lambda m: None))
        acc = float(np.mean(predict_int(gq, x) == y))
        out.append({"point": p, "accuracy": acc,
                    "cost": {"flash": plan.flash_bytes, "ram": plan.ram_bytes}})
    return out


def _fit(tiny, cfg, engine=None, cache=None, **kw):
    g, x, y = tiny
    return fit({"base": g}, x, y, cfg, engine or (lambda st: InlineEngine(st)),
               cache_dir=cache, progress=False, **kw)


def test_finds_known_best_point(tiny, small):
    g, x, y = tiny
    ref = exhaustive(g, x, y, "flash")
    # Labels are the float model's own predictions (100%); a 10 pp budget leaves >= 90%.
    within = [r for r in ref if r["accuracy"] >= 0.9]
    best = min(r["cost"]["flash"] for r in within)
    dflt = next(r for r in ref if r["point"] == small_space(g).default())
    assert best < dflt["cost"]["flash"], "the space must hold something better than default"
    # A unique answer up to `storage`: the C emitter's event path (c_fused) picks the
    # storage of the layers it fuses itself, so int4/int8 points tie across it in flash.
    assert len({(r["point"]["quantize"], r["point"]["prune"])
                for r in within if r["cost"]["flash"] == best}) == 1
    res = _fit(tiny, FitConfig(target="host", objective="flash", max_drop=10.0, min_samples=16))
    assert len(res.rungs) >= 2  # successive halving, not a plain grid
    assert res.reference_accuracy == 1.0
    assert res.chosen["cost"]["flash"] == best
    assert res.chosen["accuracy"] >= 0.9
    assert any(r["point"] == res.chosen["point"] for r in within)
    # The front holds only non-dominated points of the exhaustive table.
    for f in res.front:
        assert not any(r["accuracy"] >= f["accuracy"] and r["cost"]["flash"] < f["cost"]["flash"]
                       for r in ref)


def test_no_point_meets_budget_names_the_closest(tiny, small):
    cfg = FitConfig(target="host", objective="flash", max_drop=0.0,
                    fixed={"prune": 0.5, "quantize": "int4"})
    with pytest.raises(SnncError) as e:
        _fit(tiny, cfg)
    msg = str(e.value)
    assert "\n" not in msg and "closest: quantize=int4 prune=0.5" in msg


def test_resume_reevaluates_nothing_cached(tiny, small, tmp_path, monkeypatch):
    import snnc.targets.fit.search as search

    # The cache key includes a fingerprint of the compiler/runtime sources; pin it so a
    # checkout edited while the test runs does not count as a code change.
    monkeypatch.setattr(search, "code_fingerprint", lambda: "pinned")
    cfg = FitConfig(target="host", objective="flash", max_drop=10.0)
    r1 = _fit(tiny, cfg, cache=tmp_path)
    assert r1.evaluated > 0 and r1.cached == 0
    seen = []
    r2 = _fit(tiny, cfg, cache=tmp_path, on_result=seen.append)
    assert r2.evaluated == 0 and seen == []
    assert r2.cached == r1.evaluated
    assert r2.front == r1.front and r2.chosen == r1.chosen
    # Drop two cached results (an interrupted sweep): exactly those run again.
    files = sorted(tmp_path.glob("*.json"))
    for f in files[:2]:
        f.unlink()
    r3 = _fit(tiny, cfg, cache=tmp_path)
    assert 1 <= r3.evaluated <= 2 and r3.front == r1.front


def test_killed_worker_same_front(tiny, small):
    cfg = FitConfig(target="host", objective="flash", max_drop=10.0)
    ref = _fit(tiny, cfg)
    pools: list[LocalPool] = []

    def engine(st):
        pools.append(LocalPool(st, 2))
        return pools[-1]

    killed = []

    def kill_one(rec):
        if not killed:  # mid-sweep: after the first result, kill a worker process
            pid = pools[0].worker_pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    res = _fit(tiny, cfg, engine=engine, on_result=kill_one)
    assert killed and pools[0].restarts >= 1
    assert [point_key(r["point"]) for r in res.front] == [point_key(r["point"]) for r in ref.front]
    assert res.front == ref.front and res.chosen == ref.chosen
    assert not any(r.get("error") for r in res.records)
    assert not [p for p in mp.active_children() if p.pid in killed]


def test_pool_matches_inline(tiny, small):
    cfg = FitConfig(target="host", objective="ram", max_drop=5.0, seed=7)
    a = _fit(tiny, cfg)
    b = _fit(tiny, cfg, engine=lambda st: LocalPool(st, 2))
    assert a.records == b.records and a.front == b.front and a.chosen == b.chosen


def test_cli_fit_writes_build_and_front(tiny, tmp_path, snnc_cmd):
    from snnc.compiler.ir import save

    g, x, y = tiny
    save(g, tmp_path / "m.snn")
    np.savez(tmp_path / "val.npz", x=x, y=y)
    out = tmp_path / "fit"
    cmd = [*snnc_cmd, "fit", str(tmp_path / "m.snn"), "--target", "host", "--data",
           str(tmp_path / "val.npz"), "--objective", "flash", "--max-accuracy-drop", "10",
           "--max-points", "8", "--workers", "1", "--set", "state_bits=16",
           "--set", "input_bits=8", "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for f in ("model.h", "model.c", "model.snn", "manifest.json", "fit.json", "fit.md"):
        assert (out / f).exists(), f
    d = json.loads((out / "fit.json").read_text())
    assert d["chosen"]["accuracy"] >= d["accuracy_threshold"]
    assert json.loads((out / "manifest.json").read_text())["target"] == "host"
    # A second run resumes from DIR/.fit-cache.
    r2 = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0 and json.loads((out / "fit.json").read_text())["evaluated"] == 0


def test_cli_bad_data_is_one_line_error(tiny, tmp_path, snnc_cmd):
    from snnc.compiler.ir import save

    save(tiny[0], tmp_path / "m.snn")
    np.savez(tmp_path / "bad.npz", x=np.zeros((3, 4, 4), np.float32))  # no labels
    r = subprocess.run([*snnc_cmd, "fit", str(tmp_path / "m.snn"), "--target", "host",
                        "--data", str(tmp_path / "bad.npz"), "-o", str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr.strip().count("\n") == 0 and "'y'" in r.stderr
    assert not (tmp_path / "o").exists()


def test_code_fingerprint_tracks_sources(tmp_path, monkeypatch):
    """A changed runtime/compiler/target source changes the fingerprint (stale cache
    entries are never served); fit's own files do not."""
    import snnc.targets.fit.search as search

    root = tmp_path / "snnc"
    for f in ("targets/fit/search.py", "targets/fit/cli.py", "compiler/ir/graph.py",
              "runtime/src/lif.c", "targets/smartwatch/link.ld.j2"):
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        (root / f).write_text("x")
    monkeypatch.setattr(search, "__file__", str(root / "targets" / "fit" / "search.py"))
    a = search.code_fingerprint()
    (root / "targets" / "fit" / "cli.py").write_text("changed")
    assert search.code_fingerprint() == a
    (root / "runtime" / "src" / "lif.c").write_text("changed")
    b = search.code_fingerprint()
    assert b != a
    (root / "targets" / "smartwatch" / "link.ld.j2").write_text("changed")
    assert search.code_fingerprint() != b
