"""Conv1d/Conv2d (stride, padding, dilation, groups), SumPool2d and Flatten through the
baseline exporters (issue 17): ONNX float against the reference simulator, ONNX integer
bit-exact with the integer simulator (both run in onnxruntime), and TFLite either
bit-exact / within float tolerance or refusing with the node's name."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.codegen.baseline import OnnxRuntimeRunner
from snnc.compiler.codegen.onnx import export_step
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.interpret import simulate
from snnc.compiler.ir.interpret_int import quantize_inputs, simulate_int
from snnc.compiler.ir.nodes import (
    LIF,
    Conv1d,
    Conv2d,
    Flatten,
    Input,
    Linear,
    Output,
    SpikeCountArgmax,
    SumPool2d,
    Threshold,
)
from snnc.compiler.passes.quantize import quantize


def chain(nodes: dict, name: str) -> Graph:
    names = list(nodes)
    return Graph(nodes=nodes, edges=tuple(zip(names[:-1], names[1:])), dt=1e-3, name=name)


def net2d(dtype: str) -> Graph:
    """Strided, padded, dilated, grouped Conv2d -> LIF -> padded SumPool2d -> Threshold
    (MaxPool over spikes) -> Conv2d -> LIF -> Flatten -> Linear -> LIF -> counts."""
    rng = np.random.default_rng(3)
    return chain({
        "in": Input(shape=(4, 9, 11), dtype=dtype),
        "conv": Conv2d(input_shape=(9, 11), weight=rng.normal(0, 0.6, (6, 2, 3, 2)),
                       stride=(2, 1), padding=(1, 1), dilation=(1, 2), groups=2,
                       bias=rng.normal(0, 0.1, 6)),
        "lif1": LIF(shape=(6, 5, 11), tau=np.array(0.01), r=np.array(30.0)),
        "pool": SumPool2d(input_shape=(6, 5, 11), kernel_size=(2, 3), stride=(2, 2),
                          padding=(1, 0)),
        "any": Threshold(shape=(6, 3, 5), threshold=np.array(0.5)),
        "conv2": Conv2d(input_shape=(3, 5), weight=rng.normal(0, 0.8, (3, 6, 2, 2)),
                        padding=(1, 1)),
        "lif2": LIF(shape=(3, 4, 6), tau=np.array(0.01), r=np.array(30.0)),
        "flat": Flatten(input_shape=(3, 4, 6)),
        "fc": Linear(weight=rng.normal(0, 0.5, (5, 72))),
        "lif3": LIF(shape=(5,), tau=np.array(0.01), r=np.array(30.0)),
        "count": SpikeCountArgmax(shape=(5,)),
        "out": Output(shape=(5,)),
    }, f"convpool2d_{dtype}")


def net1d() -> Graph:
    """Strided, padded, dilated, grouped Conv1d over spikes -> LIF."""
    rng = np.random.default_rng(4)
    return chain({
        "in": Input(shape=(4, 20), dtype="spike"),
        "conv": Conv1d(input_shape=20, weight=rng.normal(0, 0.8, (6, 2, 3)), stride=2,
                       padding=2, dilation=2, groups=2, bias=rng.normal(0, 0.1, 6)),
        "lif": LIF(shape=(6, 10), tau=np.array(0.01), r=np.array(30.0)),
        "out": Output(shape=(6, 10)),
    }, "conv1d_sdg")


def pool_only() -> Graph:
    """Real input -> SumPool2d (no Conv: onnxruntime runs it in float64 too)."""
    return chain({
        "in": Input(shape=(2, 7, 6)),
        "pool": SumPool2d(input_shape=(2, 7, 6), kernel_size=(3, 2), stride=(2, 3),
                          padding=(1, 1)),
        "flat": Flatten(input_shape=(2, 4, 3)),
        "lif": LIF(shape=(24,), tau=np.array(0.01), r=np.array(4.0)),
        "out": Output(shape=(24,)),
    }, "pool_only")


GRAPHS = {"2d-spike": lambda: net2d("spike"), "2d-real": lambda: net2d("real"),
          "1d-spike": net1d, "pool": pool_only}


def data(g: Graph, seed: int = 5, batch: int = 3, steps: int = 20) -> np.ndarray:
    rng = np.random.default_rng(seed)
    node = g.nodes[g.inputs[0]]
    x = rng.random((batch, steps, *node.shape_out()))
    return (x < 0.3).astype(np.float64) if node.dtype == "spike" else 2.0 * x - 0.5


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


def test_pool_float64_onnx_matches_independent_oracle() -> None:
    g = pool_only()
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
def test_float32_onnx_within_tolerance(which: str) -> None:
    g = GRAPHS[which]()
    x = data(g)
    ref = simulate(g, {"in": x}, record=True)
    r = OnnxRuntimeRunner(export_step(g, dtype="float32", batch=3))
    got = r.run({"in": x})["out"]
    want = ref.outputs["out"]
    # float32 vs float64: a spike may flip only where a membrane lands within float32
    # rounding of the threshold; these inputs keep every membrane clear of it.
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert want.sum() > 0


@pytest.mark.parametrize("which", sorted(GRAPHS))
@pytest.mark.parametrize("opts", [{}, {"pow2": True, "state_bits": 16}])
def test_integer_onnx_bit_exact(which: str, opts: dict) -> None:
    from snnc.compiler.passes.quantize import QuantOptions

    g = GRAPHS[which]()
    x = data(g)
    gq = quantize(g, x, QuantOptions(**opts))
    xq = quantize_inputs(gq, {"in": x})
    ref = simulate_int(gq, xq, record=True)
    got = OnnxRuntimeRunner(export_step(gq, dtype="int")).run(xq)["out"]
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, ref.outputs["out"])
    assert np.abs(ref.outputs["out"]).sum() > 0
