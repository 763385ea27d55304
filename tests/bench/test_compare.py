"""The side-by-side benchmark: every backend runs, agrees with the reference, and a backend
that cannot express a model is reported, not a crash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from snnc.bench.compare import compare, run_all, to_markdown, write_report
from snnc.cli import main
from snnc.compiler.ir import (
    LI,
    Conv1d,
    Graph,
    Input,
    MembraneArgmax,
    Output,
    verify,
)

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "models" / "examples" / "tiny_recurrent.snn"
HAVE_GCC = shutil.which("gcc") is not None


def _rows(rep: dict) -> dict[tuple[str, str], dict]:
    return {(r["backend"], r["precision"]): r for r in rep["results"]}


def test_tiny_all_fast_backends_agree(tmp_path: Path) -> None:
    backends = ("onnxruntime", "onnxruntime-scan", "litert", "numpy-reference")
    backends = (("snnc-c",) if HAVE_GCC else ()) + backends
    rep = compare(TINY, samples=2, steps=15, repeats=2, backends=backends, memory=False,
                  floor=False)
    rows = _rows(rep)
    assert set(rows) == {(b, p) for b in backends for p in ("float", "int")}
    for (b, p), r in rows.items():
        assert r["status"] == "ok", (b, p, r.get("reason"))
        assert r["per_sample"]["n"] == 4  # 2 samples x 2 repeats
        assert r["per_step"]["median_us"] > 0
        if p == "int":
            assert r["agreement"]["bit_exact"], b
        else:
            assert r["agreement"]["max_abs_diff"] == 0.0, b  # spike counts: exact
            assert r["agreement"]["prediction_agreement"] == 1.0
    if HAVE_GCC:
        assert rep["ratios"]["native"]["speedup_vs_fastest"] > 0
    md = to_markdown(rep)
    assert "| onnxruntime | float |" in md and "bit-exact" in md
    jp, mp = write_report(rep, tmp_path)
    assert jp.name == "compare_tiny_recurrent.json"
    assert json.loads(jp.read_text())["model"] == "tiny_recurrent"
    assert mp.read_text() == md


def _grouped_conv_graph() -> Graph:
    r = np.random.default_rng(0)
    return verify(Graph(
        nodes={"x": Input((2, 6)),
               "conv": Conv1d(6, r.normal(0, 1, (2, 1, 3)), groups=2),
               "flat_li": LI((2, 4), tau=np.array(3e-3)),
               "acc": MembraneArgmax((2, 4), reduce="sum"),
               "y": Output((2, 4))},
        edges=[("x", "conv"), ("conv", "flat_li"), ("flat_li", "acc"), ("acc", "y")],
        name="grouped_conv"))


def test_unsupported_backend_is_reported_not_raised() -> None:
    """An engine that cannot express the model is a row with the reason, not a crash:
    integer TFLite has no 64-bit shift, which the default quantization's requant needs."""
    rep = compare(_grouped_conv_graph(), samples=1, steps=5, repeats=1,
                  backends=("litert", "onnxruntime", "numpy-reference"), memory=False,
                  quant="default", precisions=("int",))
    assert set(rep["call_floor_us"]) == {"litert", "onnxruntime"}
    rows = _rows(rep)
    lit = rows[("litert", "int")]
    assert lit["status"] == "unsupported" and "64-bit arithmetic shift" in lit["reason"]
    assert rows[("onnxruntime", "int")]["status"] == "ok"
    md = to_markdown(rep)
    assert "unsupported by litert" in md and "64-bit arithmetic shift" in md


def test_bad_backend_name() -> None:
    from snnc.compiler.errors import SnncError

    with pytest.raises(SnncError, match="unknown backend 'nope'"):
        compare(TINY, backends=("nope",))


def test_cli_bench_compare(tmp_path: Path) -> None:
    js = tmp_path / "r.json"
    res = CliRunner().invoke(main, [
        "bench", str(TINY), "--compare", "--samples", "1", "--repeats", "1",
        "--backends", "numpy-reference,onnxruntime", "--json", str(js)])
    assert res.exit_code == 0, res.output
    assert "| numpy-reference | float |" in res.output
    rep = json.loads(js.read_text())
    ref = _rows(rep)[("numpy-reference", "float")]
    assert ref["memory"]["peak_rss_mib"] > 0  # the --probe subprocess ran
    bad = CliRunner().invoke(main, ["bench", str(tmp_path / "x.txt"), "--compare"])
    assert bad.exit_code == 1 and "model file (.snn)" in bad.output


@pytest.mark.slow
def test_all_zoo_models(tmp_path: Path) -> None:
    reps = run_all(tmp_path, samples=2, repeats=1, steps=20, memory=False)
    assert reps and (tmp_path / "compare_summary.md").exists()
    for rep in reps:
        assert (tmp_path / f"compare_{rep['model']}.json").exists()
        assert any(r["status"] == "ok" for r in rep["results"])


# ------------------------------------------------------------------ the fair modes

def _fair():
    from snnc.bench import compare_fair

    return compare_fair


def test_scan_window_model_matches_float_simulator() -> None:
    """The whole-sequence baseline (the step emitter's body in one ONNX Scan, run in one
    onnxruntime call) computes what the float simulator computes."""
    import onnxruntime as ort

    from snnc.compiler.codegen.onnx import export_window
    from snnc.compiler.ir import load
    from snnc.compiler.ir.interpret import simulate

    g = load(TINY)
    x = np.random.default_rng(3).uniform(0, 2, (1, 25) + tuple(
        g.nodes[g.inputs[0]].shape_out()))
    win = export_window(g, dtype="float32", batch=1)
    sess = ort.InferenceSession(win.model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    feed = win.initial_state(1)
    feed[win.inputs[g.inputs[0]]] = x.astype(np.float32)
    got = dict(zip(win.outputs, sess.run(list(win.outputs.values()), feed)))
    want = simulate(g, {g.inputs[0]: x}, check=False).outputs
    for k, w in want.items():
        assert got[k].shape == w.shape
        np.testing.assert_allclose(got[k], w, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("engine", ["snnc-c", "onnxruntime", "litert"])
def test_identity_floor_model_returns_its_input(engine: str) -> None:
    if engine == "snnc-c" and not HAVE_GCC:
        pytest.skip("gcc not installed")
    fair = _fair()
    from snnc.compiler.ir import load

    ident = fair.identity_graph(load(TINY))
    e = fair.make_engine(engine, ident, "float")
    x = np.random.default_rng(1).normal(size=(7, 4)).astype(np.float32)
    steps = fair._flat_step_outputs(fair.drive_steps(e, x))
    np.testing.assert_array_equal(steps, x)  # identity: the output is the input, exactly
    if e.whole is not None:
        np.testing.assert_array_equal(fair._flat_whole_outputs(engine, e.whole(x[None])), x)
    else:
        assert "no whole-sequence call" in e.whole_reason


def test_fair_compare_tiny(tmp_path: Path) -> None:
    fair = _fair()
    engines = (("snnc-c",) if HAVE_GCC else ()) + ("onnxruntime", "litert")
    rep = fair.fair_compare(TINY, samples=2, steps=12, repeats=1, engines=engines,
                            int_engines=engines)
    rows = {(r["engine"], r["precision"]): r for r in rep["results"]}
    assert set(rows) == {(e, p) for e in engines for p in ("float", "int")}
    for (e, p), r in rows.items():
        assert r["status"] == "ok", (e, p, r.get("reason"))
        assert r["step"]["n"] == 2 and r["step"]["raw_us"] > 0
        assert r["headline"] == (p == "float")
        for mode, ag in r["agreement"].items():  # vs the golden model, every mode
            if p == "int":
                assert ag["bit_exact"], (e, mode)
            else:
                assert ag["max_abs_diff"] < 1e-4, (e, mode)
        if e == "litert":
            assert "unsupported" in r["whole"] and set(r["agreement"]) == {"step"}
        else:
            assert r["whole"]["raw_us"] > 0 and set(r["agreement"]) == {"step", "whole"}
            assert r["whole"]["corrected_us"] == pytest.approx(
                r["whole"]["raw_us"] - r["whole"]["floor_us"])
    if HAVE_GCC:
        rt = rep["ratios"]["float"]
        assert rt["whole"]["fastest_baseline"] == "onnxruntime"  # the only whole call
        assert rt["step"]["speedup"] > 0
    jp, mp = fair.write_report(rep, tmp_path)
    assert json.loads(jp.read_text())["model"] == "tiny_recurrent"
    md = mp.read_text()
    assert "| litert | float | n/a (no whole-sequence call)" in md
    assert "load average" in md


def test_fair_cli_writes_summary(tmp_path: Path) -> None:
    from snnc.bench.compare import main as bench_main

    rc = bench_main([str(TINY), "--samples", "1", "--steps", "6", "--repeats", "1",
                     "--precisions", "float", "-o", str(tmp_path)])
    assert rc == 0
    assert (tmp_path / "compare_tiny_recurrent.md").exists()
    assert "tiny_recurrent" in (tmp_path / "compare_summary.md").read_text()
    assert (tmp_path / "compare_summary.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_fair_all_zoo_models(tmp_path: Path) -> None:
    reps = _fair().run_all(tmp_path, samples=1, repeats=1, steps=10)
    assert reps and (tmp_path / "compare_summary.json").exists()
    for rep in reps:
        assert any(r["status"] == "ok" for r in rep["results"])


def test_fair_bad_engine_and_missing_model(tmp_path: Path) -> None:
    from snnc.compiler.errors import SnncError

    with pytest.raises(SnncError, match="unknown engine 'nope'"):
        _fair().fair_compare(TINY, engines=("nope",))
    with pytest.raises(SnncError, match="no such model file"):
        _fair().fair_compare(tmp_path / "missing.snn")
