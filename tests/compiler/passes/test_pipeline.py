"""The ordered pass pipeline: order as data, context, dumps, skipped passes, errors."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import load, predict
from snnc.compiler.ir.interpret_int import predict_int
from snnc.compiler.ir.qnodes import is_quantized
from snnc.compiler.passes.pipeline import (
    PIPELINES,
    CompileOptions,
    PassContext,
    register_pipeline,
    run_pipeline,
)


def test_generic_pipeline_quantizes_and_plans(tiny_graph, rng, tmp_path):
    x = rng.random((32, 20, 4))
    msgs: list[str] = []
    ctx = PassContext(options=CompileOptions(), calib=x, dump_dir=tmp_path / "ir",
                      progress=msgs.append)
    g, plan = run_pipeline(tiny_graph, ctx)
    assert is_quantized(g)
    assert [e["pass"] for e in ctx.log] == list(PIPELINES["generic"])
    assert [e["skipped"] for e in ctx.log][:2] == [True, False]  # prune off, inert on
    assert len(msgs) == len(PIPELINES["generic"])
    assert plan.ram_bytes > 0 and plan.flash_bytes > 0
    names = sorted(p.name for p in (tmp_path / "ir").iterdir())
    assert names[0] == "00_input.snn" and "04_quantize.snn" in names
    assert "04_quantize.txt" in names and "01_prune.snn" not in names  # skipped: no dump
    assert is_quantized(load(tmp_path / "ir" / "04_quantize.snn"))
    assert np.mean(predict_int(g, x) == predict(tiny_graph, x)) >= 0.9


def test_float_pipeline_and_prune(tiny_graph, rng):
    ctx = PassContext(options=CompileOptions(quantize="float", prune=0.5),
                      progress=lambda m: None)
    g, _ = run_pipeline(tiny_graph, ctx)
    assert not is_quantized(g)
    nz = sum(np.count_nonzero(g.nodes[n].weight) for n in ("fc1", "rec1", "fc2"))
    assert nz == pytest.approx(0.5 * (32 + 64 + 24), abs=2)


def test_register_pipeline_is_data(tiny_graph):
    from snnc.compiler.passes.pipeline import LAYOUTS
    from snnc.compiler.passes.storage import Layout
    register_pipeline("test-target", ("storage", "dead_neurons"), layout=Layout(spike_bytes=1))
    try:
        ctx = PassContext(options=CompileOptions(target="test-target", quantize="float"),
                          progress=lambda m: None)
        g, _ = run_pipeline(tiny_graph, ctx)
        assert [e["pass"] for e in ctx.log] == ["storage", "dead_neurons"]
        assert ctx.layout == Layout(spike_bytes=1)
    finally:
        del PIPELINES["test-target"]
        del LAYOUTS["test-target"]
    with pytest.raises(SnncError, match="unknown pass"):
        register_pipeline("x", ("storage", "no-such-pass"))


@pytest.mark.parametrize("opt,match", [
    (CompileOptions(quantize="int3"), "quantize"),
    (CompileOptions(target="nowhere"), "target"),
    (CompileOptions(prune=1.5), "prune"),
    (CompileOptions(calib_samples=0), "calib_samples"),
])
def test_bad_options(tiny_graph, opt, match):
    with pytest.raises(SnncError, match=match):
        run_pipeline(tiny_graph, PassContext(options=opt, progress=lambda m: None))


def test_quantize_without_calibration_names_the_option(tiny_graph):
    with pytest.raises(SnncError, match="calib"):
        run_pipeline(tiny_graph, PassContext(progress=lambda m: None))


def test_pipeline_output_is_deterministic(tiny_graph, rng):
    from snnc.compiler.ir.serialize import graph_hash
    x = rng.random((8, 10, 4))
    hashes = set()
    for _ in range(2):
        g, _ = run_pipeline(tiny_graph, PassContext(options=CompileOptions(prune=0.3), calib=x,
                                                    progress=lambda m: None))
        hashes.add(graph_hash(g))
    assert len(hashes) == 1
