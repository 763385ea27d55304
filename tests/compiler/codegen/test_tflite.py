"""TFLite flatbuffers (written without TensorFlow) run in LiteRT, against the simulators.

float32: outputs agree with the float64 reference to 1e-4 relative (TFLite is float32
only; its FULLY_CONNECTED kernels may reorder sums). Integer: bit-exact with the integer
simulator where LiteRT's op set allows (32-bit shifts: pow2 multipliers, 16-bit state);
otherwise the export refuses with the reason.
"""

from __future__ import annotations

import numpy as np
import pytest

from snnc.bench.baselines.runners import LiteRTRunner, litert_interpreter_class
from snnc.compiler.codegen.tflite import export_tflite
from snnc.compiler.errors import UnsupportedError
from snnc.compiler.ir import simulate

try:
    litert_interpreter_class()
    HAVE_LITERT = True
except UnsupportedError:
    HAVE_LITERT = False

needs_litert = pytest.mark.skipif(not HAVE_LITERT, reason="ai-edge-litert not installed")


@needs_litert
@pytest.mark.parametrize("name", ["tiny", "conv", "delay", "conv1d"])
def test_float32_matches_reference(name: str, cg) -> None:
    g = cg.FEATURE_GRAPHS[name]()
    x = cg.inputs_for(g, batch=1, steps=20, seed=5)
    ref = simulate(g, x).outputs
    got = LiteRTRunner(export_tflite(g)).run(x)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-4, atol=1e-5, err_msg=k)
    assert any(np.abs(v).sum() > 0 for v in ref.values())


@needs_litert
def test_zoo_float32(zoo_graph, cg) -> None:
    x = cg.inputs_for(zoo_graph, batch=1, steps=20, scale=1.0)
    ref = simulate(zoo_graph, x).outputs
    got = LiteRTRunner(export_tflite(zoo_graph)).run(x)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-4, atol=1e-5, err_msg=k)


@needs_litert
@pytest.mark.parametrize("name", ["tiny", "delay", "conv"])
def test_integer_pow2_bit_exact(name: str, cg) -> None:
    from snnc.compiler.ir.interpret_int import simulate_int

    try:
        gq = cg.quantized(cg.FEATURE_GRAPHS[name](), {"pow2": True, "state_bits": 16})
    except UnsupportedError as e:  # a gap of the quantize pass, not of the export
        pytest.skip(str(e))
    xq = cg.int_inputs(gq, batch=1, steps=40)
    ref = simulate_int(gq, xq).outputs
    got = LiteRTRunner(export_tflite(gq, dtype="int")).run(xq)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)
    assert any(np.abs(v).sum() > 0 for v in ref.values())


def test_integer_needing_64bit_shift_is_refused(cg) -> None:
    gq = cg.quantized(cg.tiny(), {})  # multipliers in [2**30, 2**31): 64-bit products
    with pytest.raises(UnsupportedError, match="64-bit arithmetic shift"):
        export_tflite(gq, dtype="int")


def test_unsupported_features_name_the_reason(cg) -> None:
    with pytest.raises(UnsupportedError, match="float64"):
        export_tflite(cg.tiny(), dtype="float64")


def test_flatbuffer_file(tmp_path, cg) -> None:
    m = export_tflite(cg.tiny())
    assert m.data[4:8] == b"TFL3"
    p = m.save(tmp_path / "tiny.tflite")
    assert p.read_bytes() == m.data
    from ai_edge_litert import schema_py_generated as S

    model = S.Model.GetRootAs(m.data, 0)
    sg = model.Subgraphs(0)
    names = {sg.Tensors(sg.Inputs(i)).Name().decode() for i in range(sg.InputsLength())}
    assert "in_input" in names and any(n.startswith("state_lif1__v") for n in names)
