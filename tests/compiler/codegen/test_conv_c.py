"""Conv1d/Conv2d and SumPool2d lowered to C (runtime/src/conv.c): bit-exact with the
integer simulator on the host, for spike inputs (event-driven scatter) and real inputs
(gather), with stride, padding, dilation and groups (issue 17)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

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
    SumPool2d,
    Threshold,
)
from snnc.compiler.passes.quantize import quantize

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                                reason="no C compiler")


def _net2d(dtype: str) -> Graph:
    rng = np.random.default_rng(3)
    nodes = {
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
        "out": Output(shape=(5,)),
    }
    chain = list(nodes)
    return Graph(nodes=nodes, edges=tuple(zip(chain[:-1], chain[1:])), dt=1e-3)


def _net1d() -> Graph:
    rng = np.random.default_rng(4)
    nodes = {
        "in": Input(shape=(3, 20), dtype="spike"),
        "conv": Conv1d(input_shape=20, weight=rng.normal(0, 0.8, (4, 3, 5)), stride=2,
                       padding=2, dilation=1),
        "lif": LIF(shape=(4, 10), tau=np.array(0.01), r=np.array(30.0)),
        "out": Output(shape=(4, 10)),
    }
    chain = list(nodes)
    return Graph(nodes=nodes, edges=tuple(zip(chain[:-1], chain[1:])), dt=1e-3)


@pytest.mark.parametrize("which", ["2d-spike", "2d-real", "1d-spike"])
def test_conv_pool_c_bit_exact(which, tmp_path):
    from snnc.targets import host

    rng = np.random.default_rng(5)
    if which == "1d-spike":
        g = _net1d()
        x = (rng.random((3, 25, 3, 20)) < 0.3).astype(np.float64)
    else:
        g = _net2d("spike" if which == "2d-spike" else "real")
        x = rng.random((3, 25, 4, 9, 11))
        x = (x < 0.3).astype(np.float64) if which == "2d-spike" else 2.0 * x - 0.5
    q = quantize(g, x)
    xq = quantize_inputs(q, x) if which == "2d-real" else x.astype(np.int64)
    ref = simulate_int(q, xq).output
    host.compile_model(q, tmp_path)
    src = (tmp_path / "model.c").read_text()
    assert "snnc_qconv2d_i8_s(" in src  # spike inputs: event-driven scatter
    assert ("snnc_qconv2d_i8(" in src) == (which == "2d-real")  # real input: gather
    got = host.build(tmp_path).run(np.asarray(xq).reshape(xq.shape[0], xq.shape[1], -1))
    assert ref.sum() > 0
    np.testing.assert_array_equal(got.reshape(ref.shape), ref)
    # and the integer model tracks the float one (pool -> Threshold compares exactly)
    assert np.mean(simulate(g, x).output == ref) > 0.9
