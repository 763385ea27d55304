"""Conv1d/Conv2d (stride, padding, dilation, groups), SumPool2d and Flatten through the
baseline exporters (issue 17): ONNX float against the reference simulator, ONNX integer
bit-exact with the integer simulator (both run in onnxruntime), LiteRT and TVM on the
same graphs (integer bit-exact, float32 within tolerance), and the nmnist_conv example.
The HLS kernel's csim of these graphs is in test_hls.py."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.bench.baselines.runners import OnnxRuntimeRunner
from snnc.compiler.codegen.onnx import export_step
from snnc.compiler.ir.interpret import simulate
from snnc.compiler.ir.interpret_int import quantize_inputs, simulate_int
from snnc.compiler.ir.nodes import SumPool2d
from snnc.compiler.passes.quantize import quantize


@pytest.fixture(scope="module")
def graphs(cg) -> dict:
    return cg.CONV_POOL_GRAPHS


@pytest.fixture(scope="module")
def data(cg):
    return cg.conv_pool_data


def reduce_window_oracle(x: np.ndarray, node: SumPool2d) -> np.ndarray:
    """An independent SumPool2d: explicit loops over output pixels (not the simulator's
    strided slices)."""
    (kh, kw), (sh, sw), (ph, pw) = node.kernel_size, node.stride, node.padding
    c, oh, ow = node.shape_out()
    h, w = node.input_shape[1:]
    y = np.zeros(x.shape[:-3] + (c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - ph, j * sw - pw
            rs = slice(max(r0, 0), min(r0 + kh, h))
            cs = slice(max(c0, 0), min(c0 + kw, w))
            y[..., i, j] = x[..., rs, cs].sum(axis=(-2, -1))
    return y


def test_pool_float64_onnx_matches_independent_oracle(graphs, data) -> None:
    g = graphs["pool"]()
    x = data(g)
    got = OnnxRuntimeRunner(export_step(g, dtype="float64")).run({"in": x})["out"]
    # the reference simulator, and an oracle that does not share its code
    np.testing.assert_allclose(got, simulate(g, {"in": x}).outputs["out"], atol=1e-12, rtol=0)
    pooled = reduce_window_oracle(x, g.nodes["pool"]).reshape(3, 20, 24)
    v, spikes = np.zeros((3, 24)), []
    beta = g.decay(np.array(0.01))
    for t in range(20):
        v = beta * v + (1 - beta) * 4.0 * pooled[:, t]
        s = (v > 1.0).astype(np.float64)
        v -= s
        spikes.append(s)
    np.testing.assert_array_equal(got, np.stack(spikes, 1))
    assert got.sum() > 0


@pytest.mark.parametrize("which", ["2d-spike", "2d-real", "1d-spike"])
def test_float32_onnx_within_tolerance(which: str, graphs, data) -> None:
    g = graphs[which]()
    x = data(g)
    ref = simulate(g, {"in": x}, record=True)
    r = OnnxRuntimeRunner(export_step(g, dtype="float32", batch=3))
    got = r.run({"in": x})["out"]
    want = ref.outputs["out"]
    # float32 vs float64: a spike may flip only where a membrane lands within float32
    # rounding of the threshold; these inputs keep every membrane clear of it.
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert want.sum() > 0


@pytest.mark.parametrize("which", ["1d-spike", "2d-real", "2d-spike", "pool"])
@pytest.mark.parametrize("opts", [{}, {"pow2": True, "state_bits": 16}])
def test_integer_onnx_bit_exact(which: str, opts: dict, graphs, data) -> None:
    from snnc.compiler.passes.quantize import QuantOptions

    g = graphs[which]()
    x = data(g)
    gq = quantize(g, x, QuantOptions(**opts))
    xq = quantize_inputs(gq, {"in": x})
    ref = simulate_int(gq, xq, record=True)
    got = OnnxRuntimeRunner(export_step(gq, dtype="int")).run(xq)["out"]
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, ref.outputs["out"])
    assert np.abs(ref.outputs["out"]).sum() > 0


@pytest.mark.parametrize("which", ["1d-spike", "2d-real", "2d-spike", "pool"])
def test_tflite_float32_and_integer(which: str, graphs, data) -> None:
    """LiteRT runs the same graphs: float32 within float32 tolerance of the reference,
    integer (pow2 multipliers, 16-bit state: LiteRT's 32-bit shifts) bit-exact."""
    from snnc.bench.baselines.runners import LiteRTRunner, litert_interpreter_class
    from snnc.compiler.codegen.tflite import export_tflite
    from snnc.compiler.errors import UnsupportedError
    from snnc.compiler.passes.quantize import QuantOptions

    try:
        litert_interpreter_class()
    except UnsupportedError as e:
        pytest.skip(str(e))
    g = graphs[which]()
    x = data(g, batch=1)
    got = LiteRTRunner(export_tflite(g)).run({"in": x})["out"]
    want = simulate(g, {"in": x}).outputs["out"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    gq = quantize(g, data(g), QuantOptions(pow2=True, state_bits=16))
    xq = quantize_inputs(gq, {"in": x})
    got = LiteRTRunner(export_tflite(gq, dtype="int")).run(xq)["out"]
    want = simulate_int(gq, xq).outputs["out"]
    np.testing.assert_array_equal(got, want)
    assert np.abs(want).sum() > 0


def test_nmnist_conv_example_onnx_and_hls_bit_exact(cg, tmp_path) -> None:
    """The issue's example (models/nmnist_conv, snnTorch conv SNN with recurrent reset
    convolutions): float32 ONNX gives the float simulator's spikes; integer ONNX and the
    HLS kernel's g++ csim equal the integer simulator."""
    import shutil
    import struct
    import subprocess

    from snnc.compiler.codegen.hls import emit_hls
    from snnc.compiler.frontend.load import load_model
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline

    path = cg.ROOT / "models" / "nmnist_conv" / "nmnist_conv.nir"
    if not path.exists():
        pytest.skip("models/nmnist_conv/nmnist_conv.nir not present")
    g = load_model(path)
    x = np.load(path.with_suffix(".test.npz"))["x"][:2].astype(np.float64)
    fref = simulate(g, {g.inputs[0]: x})
    fgot = OnnxRuntimeRunner(export_step(g, dtype="float32", batch=2)).run({g.inputs[0]: x})
    for n in g.outputs:  # float32 vs float64: the same spikes on these samples
        np.testing.assert_array_equal(fgot[n], fref.outputs[n], err_msg=n)
    gq, _ = run_pipeline(g, PassContext(options=CompileOptions(), calib=x,
                                        progress=lambda m: None))
    xq = quantize_inputs(gq, {g.inputs[0]: x})
    res = simulate_int(gq, xq)
    ref = np.concatenate([res.outputs[n].reshape(*x.shape[:2], -1) for n in gq.outputs], 2)
    assert np.abs(ref).sum() > 0, "the example must spike on these samples"
    got = OnnxRuntimeRunner(export_step(gq, dtype="int")).run(xq)
    np.testing.assert_array_equal(
        np.concatenate([got[n].reshape(*x.shape[:2], -1) for n in gq.outputs], 2), ref)
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("g++ not installed (ONNX part passed)")
    m = emit_hls(gq, reuse=16)
    m.write(tmp_path)
    flat = xq[g.inputs[0]].reshape(*x.shape[:2], -1).astype(np.uint8)
    (tmp_path / "inputs.bin").write_bytes(b"SNNI" + struct.pack("<5I", 1, *flat.shape, 1)
                                          + flat.tobytes())
    subprocess.run([gxx, "-std=c++14", "-O1", f"-I{tmp_path}", str(tmp_path / "tb.cpp"),
                    str(tmp_path / "kernel.cpp"), "-o", str(tmp_path / "tb")], check=True)
    out = subprocess.run([str(tmp_path / "tb"), str(tmp_path / "inputs.bin")],
                         capture_output=True, text=True, check=True).stdout
    rows = [bytes.fromhex(line.split()[1]) for line in out.splitlines() if line.startswith("o ")]
    np.testing.assert_array_equal(
        np.frombuffer(b"".join(rows), "<i4").reshape(ref.shape), ref)


@pytest.mark.parametrize("which", ["2d-real", "pool"])
def test_tvm_float32_and_integer(which: str, graphs, data) -> None:
    """TVM (Relax, llvm) through the same ONNX step model: float32 within tolerance,
    integer bit-exact (grouped strided dilated Conv2d, padded SumPool2d)."""
    pytest.importorskip("tvm", reason="apache-tvm is not installed")
    from snnc.bench.baselines.runners import TvmRunner

    g = graphs[which]()
    x = data(g, batch=1)
    got = TvmRunner(export_step(g, dtype="float32", batch=1)).run({"in": x})["out"]
    np.testing.assert_allclose(got, simulate(g, {"in": x}).outputs["out"], rtol=1e-4,
                               atol=1e-4)
    gq = quantize(g, data(g))
    xq = quantize_inputs(gq, {"in": x})
    want = simulate_int(gq, xq).outputs["out"]
    got = TvmRunner(export_step(gq, dtype="int", batch=1)).run(xq)["out"]
    np.testing.assert_array_equal(got, want)
    assert np.abs(want).sum() > 0
