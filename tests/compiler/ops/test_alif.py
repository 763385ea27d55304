"""ALIF (compiler/ops/alif.py): hand-computed float and integer traces, quantize round
trip, and the integer golden model against the C runtime on the host, the HLS csim,
ONNX (onnxruntime) and TFLite (LiteRT); float ONNX/TFLite against the float simulator."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.codegen.hls import emit_hls
from snnc.compiler.codegen.onnx import export_step
from snnc.compiler.errors import UnsupportedError
from snnc.compiler.frontend.nir import export_nir
from snnc.compiler.ir import (
    Affine,
    Graph,
    Input,
    Linear,
    Output,
    SpikeCountArgmax,
    graphs_equal,
    load,
    save,
    simulate,
    verify,
)
from snnc.compiler.ir.interpret_int import quantize_inputs, simulate_int
from snnc.compiler.ops.alif import ALIF, QALIF
from snnc.compiler.passes.quantize import QuantOptions, quantize

GXX = shutil.which("g++")
DT = 1e-3
TAU_HALF = DT / np.log(2.0)  # exact discretization: decay = 0.5


def _single(node: ALIF | QALIF) -> Graph:
    return Graph(nodes={"x": Input((1,)), "n": node, "y": Output((1,))},
                 edges=(("x", "n"), ("n", "y")), dt=DT, name="alif1")


def test_float_trace_by_hand() -> None:
    # v = 0.5 v + x (r = 2), theta = 1 + 0.6 a, a = 0.5 a + s; x = 0.8 every step:
    # t0 v .8 | t1 v 1.2 > 1: s, v .2, a 1 | t2 v .9 < 1.6, a .5 | t3 v 1.25 < 1.3 (a LIF
    # fires here), a .25 | t4 v 1.425 > 1.15: s, v .275, a 1.125 | t5 v .9375 < 1.675
    g = _single(ALIF((1,), tau_mem=np.array(TAU_HALF), tau_adp=np.array(TAU_HALF),
                     r=np.array(2.0), beta_a=np.array(0.6)))
    res = simulate(g, np.full((1, 6, 1), 0.8), record=True)
    np.testing.assert_array_equal(res.output[0, :, 0], [0, 1, 0, 0, 1, 0])
    np.testing.assert_allclose(res.states["n"]["v"][0, :, 0],
                               [0.8, 0.2, 0.9, 1.25, 0.275, 0.9375], atol=1e-12)
    np.testing.assert_allclose(res.states["n"]["a"][0, :, 0],
                               [0, 1, 0.5, 0.25, 1.125, 0.5625], atol=1e-12)


def test_integer_trace_by_hand() -> None:
    # The runtime's hand case (runtime/tests/test_alif.c): beta_q = rho_q = 0.5, thr 100,
    # jump 60, x = 80: decay(125) = (125*16384 + 16384) >> 15 = 63 at t4.
    from snnc.compiler.ir.qnodes import QInput

    q = QALIF((1,), beta_q=np.array(16384), rho_q=np.array(16384), thr_q=np.array(100),
              jump_q=np.array(60), state_bits=16)
    g = Graph(nodes={"x": QInput((1,), bits=16), "n": q, "y": Output((1,))},
              edges=(("x", "n"), ("n", "y")), dt=DT, name="alif1")
    res = simulate_int(g, np.full((1, 6, 1), 80, np.int64), record=True)
    np.testing.assert_array_equal(res.output[0, :, 0], [0, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(res.states["n"]["v"][0, :, 0], [80, 20, 90, 125, 28, 94])
    np.testing.assert_array_equal(res.states["n"]["b"][0, :, 0], [0, 60, 30, 15, 68, 34])


def test_verify_rejects_a_falling_threshold() -> None:
    with pytest.raises(Exception, match="beta_a"):
        verify(_single(ALIF((1,), beta_a=np.array(-1.0))))


def alif_net() -> Graph:
    """Affine -> recurrent ALIF (subtract) -> spike counts."""
    r = np.random.default_rng(3)
    return verify(Graph(
        nodes={"x": Input((5,)), "fc": Affine(r.normal(0, 0.9, (6, 5)), r.normal(0, 0.2, 6)),
               "alif": ALIF((6,), tau_mem=np.array(5e-3), tau_adp=np.array(20e-3),
                            v_threshold=np.array(0.3), beta_a=np.array(0.4)),
               "rec": Linear(r.normal(0, 0.5, (6, 6))),
               "count": SpikeCountArgmax((6,)), "y": Output((6,))},
        edges=(("x", "fc"), ("fc", "alif"), ("alif", "rec"), ("rec", "alif"),
               ("alif", "count"), ("count", "y")),
        dt=DT, name="alif_net"))


@pytest.fixture(scope="module", params=["int8", "int16_s32"])
def net_q(request) -> tuple[Graph, np.ndarray, np.ndarray]:
    g = alif_net()
    r = np.random.default_rng(5)
    calib = r.normal(0, 1.5, (32, 25, 5))
    opt = QuantOptions() if request.param == "int8" else QuantOptions(
        weight_bits=16, state_bits=32, input_bits=16)
    gq = quantize(g, calib, opt)
    x = r.normal(0, 1.5, (8, 25, 5))
    return gq, quantize_inputs(gq, x), simulate_int(gq, quantize_inputs(gq, x)).output


def test_quantize_round_trip(net_q, tmp_path: Path) -> None:
    gq, xq, want = net_q
    assert isinstance(gq.nodes["alif"], QALIF)
    save(gq, tmp_path / "q.snn")
    back = load(tmp_path / "q.snn")
    assert graphs_equal(back, gq)
    np.testing.assert_array_equal(simulate_int(back, xq).output, want)
    # adaptation does something on this data: the threshold state is not all zero
    b = simulate_int(gq, xq, record=True).states["alif"]["b"]
    assert np.any(b > 0) and np.any(want != 0)


def test_quantized_follows_float() -> None:
    g = alif_net()
    r = np.random.default_rng(5)
    x = r.normal(0, 1.5, (32, 25, 5))
    gq = quantize(g, x, QuantOptions(weight_bits=16, state_bits=32, input_bits=16))
    f = simulate(g, x, record=True).traces["alif"]
    i = simulate_int(gq, quantize_inputs(gq, x), record=True).traces["alif"]
    assert np.mean(f == i) > 0.97, np.mean(f == i)


def test_c_host_bit_exact(net_q, tmp_path: Path) -> None:
    from snnc.targets import host

    gq, xq, want = net_q
    host.compile_model(gq, tmp_path)
    assert '#include "snnc/alif.h"' in (tmp_path / "model.c").read_text()
    cm = host.build(tmp_path, host.get_profile())
    got = cm.run(xq)
    assert np.array_equal(got, want.reshape(got.shape))


def test_c_and_hls_state_follow_the_state_spec(net_q) -> None:
    from snnc.compiler.codegen.c import emit_c
    from snnc.compiler.ops.alif import OP

    gq = net_q[0]
    want = OP.state_bytes(gq.nodes["alif"])  # v and b, 2 or 4 bytes each by state_bits
    assert want == 6 * 2 * (2 if gq.nodes["alif"].state_bits <= 16 else 4)
    # The spec's variables by name (C: v_alif, b_alif; HLS: alif_v, alif_b). The node may
    # own more state than its spec: the C engine keeps the active-index list of a spiking
    # source read one step later by a recurrent layer (act_alif/nact_alif).
    names = {f"{sv.name}_alif" for sv in OP.state} | {f"alif_{sv.name}" for sv in OP.state}
    for plan in (emit_c(gq).plan, emit_hls(gq).plan):
        spec = [m for m in plan.members if m.node == "alif" and m.name in names]
        assert len(spec) == len(OP.state)
        assert all(m.role == "state" for m in spec)
        assert sum(m.nbytes for m in spec) == want


@pytest.mark.skipif(GXX is None, reason="g++ not installed")
def test_hls_csim_bit_exact(net_q, tmp_path: Path) -> None:
    gq, xq, want = net_q
    m = emit_hls(gq)
    m.write(tmp_path)
    assert (tmp_path / "alif.h").exists()
    b, t, n = xq.shape
    (tmp_path / "inputs.bin").write_bytes(b"SNNI" + struct.pack("<5I", 1, b, t, n, 2)
                                          + xq.astype("<i2").tobytes())
    flags = ["-std=c++14", "-O1", "-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas",
             "-Wno-unused-label"]
    r = subprocess.run([GXX, *flags, f"-I{tmp_path}", str(tmp_path / "tb.cpp"),
                        str(tmp_path / "kernel.cpp"), "-o", str(tmp_path / "tb")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([str(tmp_path / "tb"), str(tmp_path / "inputs.bin")],
                       capture_output=True, text=True, check=True)
    rows = [bytes.fromhex(line.split()[1]) for line in r.stdout.splitlines()
            if line.startswith("o ")]
    got = np.frombuffer(b"".join(rows), "<i4").reshape(b, t, m.n_outputs)
    assert np.array_equal(got, want.reshape(got.shape))


def test_nir_is_refused_naming_the_node() -> None:
    with pytest.raises(UnsupportedError, match="'alif'.*no NIR mapping"):
        export_nir(alif_net())


def test_c_host_float_double_matches_simulator(tmp_path: Path) -> None:
    from snnc.targets import host

    g = alif_net()
    x = np.random.default_rng(9).normal(0, 1.5, (4, 25, 5)).astype(np.float32)
    host.compile_model(g, tmp_path)
    got = host.build(tmp_path, host.get_profile(real="double")).run(x)
    want = simulate(g, x.astype(np.float64)).output.reshape(got.shape)
    # only the summation order of the matrix products differs from NumPy's
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert np.any(want > 0)


def test_onnx_float64_matches_simulator() -> None:
    pytest.importorskip("onnxruntime")
    from snnc.bench.baselines.runners import OnnxRuntimeRunner

    g = alif_net()
    x = {"x": np.random.default_rng(9).normal(0, 1.5, (4, 25, 5))}
    ref = simulate(g, x).outputs["y"]
    got = OnnxRuntimeRunner(export_step(g, dtype="float64")).run(x)["y"]
    np.testing.assert_allclose(got, ref, atol=1e-9, rtol=0)
    assert np.any(ref > 0)


def test_onnx_integer_bit_exact(net_q) -> None:
    pytest.importorskip("onnxruntime")
    from snnc.bench.baselines.runners import OnnxRuntimeRunner

    gq, xq, want = net_q
    r = OnnxRuntimeRunner(export_step(gq, dtype="int"))
    got = r.run({"x": xq})["y"]
    np.testing.assert_array_equal(got, want)
    b = [s for s in r.spec.states if s.node == "alif" and s.field == "b"]
    assert b and np.any(r.states_now[b[0].name] > 0)


def test_tflite_integer_bit_exact() -> None:
    pytest.importorskip("ai_edge_litert")
    from snnc.bench.baselines.runners import LiteRTRunner
    from snnc.compiler.codegen.tflite import export_tflite

    r = np.random.default_rng(5)
    gq = quantize(alif_net(), r.normal(0, 1.5, (32, 25, 5)),
                  QuantOptions(pow2=True, state_bits=16))
    xq = quantize_inputs(gq, r.normal(0, 1.5, (1, 40, 5)))
    want = simulate_int(gq, xq).output
    got = LiteRTRunner(export_tflite(gq, dtype="int")).run({"x": xq})["y"]
    np.testing.assert_array_equal(got, want)
    assert np.any(want > 0)


def test_tflite_float32_close_to_simulator() -> None:
    pytest.importorskip("ai_edge_litert")
    from snnc.bench.baselines.runners import LiteRTRunner
    from snnc.compiler.codegen.tflite import export_tflite

    g = alif_net()
    x = {"x": np.random.default_rng(9).normal(0, 1.5, (1, 25, 5)).astype(np.float32)}
    ref = simulate(g, x).outputs["y"]
    got = LiteRTRunner(export_tflite(g)).run(x)["y"]
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)  # as tests/compiler/codegen
    assert np.any(ref > 0)
