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
    rep = compare(_grouped_conv_graph(), samples=1, steps=5, repeats=1,
                  backends=("litert", "onnxruntime", "numpy-reference"), memory=False)
    assert set(rep["call_floor_us"]) == {"litert", "onnxruntime"}
    rows = _rows(rep)
    lit = rows[("litert", "float")]
    assert lit["status"] == "unsupported" and "grouped convolution" in lit["reason"]
    assert rows[("onnxruntime", "float")]["status"] == "ok"
    assert rows[("onnxruntime", "float")]["agreement"]["max_abs_diff"] < 1e-4
    md = to_markdown(rep)
    assert "unsupported by litert: TFLite export: grouped convolution" in md


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
