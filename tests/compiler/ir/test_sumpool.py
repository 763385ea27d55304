"""SumPool2d (issue 17): float rule vs. PyTorch, integer rule and quantizer, .snn round trip."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.interpret import simulate, sum_pool2d
from snnc.compiler.ir.interpret_int import simulate_int
from snnc.compiler.ir.nodes import LIF, Conv2d, Flatten, Input, Linear, Output, SumPool2d
from snnc.compiler.passes.quantize import quantize


def _window_sums(x: np.ndarray, k, s, p) -> np.ndarray:
    """Independent reference: an explicit loop over output positions."""
    b, c, h, w = x.shape
    xp = np.pad(x, [(0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])])
    oh, ow = (h + 2 * p[0] - k[0]) // s[0] + 1, (w + 2 * p[1] - k[1]) // s[1] + 1
    y = np.zeros((b, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            y[:, :, i, j] = xp[:, :, i * s[0]:i * s[0] + k[0], j * s[1]:j * s[1] + k[1]].sum((2, 3))
    return y


@pytest.mark.parametrize("k,s,p", [((2, 2), (2, 2), (0, 0)), ((3, 2), (1, 2), (1, 0)),
                                   ((2, 3), (2, 1), (0, 1))])
def test_sum_pool_matches_window_sums(k, s, p):
    x = np.random.default_rng(0).random((2, 3, 7, 9))
    node = SumPool2d(input_shape=(3, 7, 9), kernel_size=k, stride=s, padding=p)
    ref = _window_sums(x, k, s, p)
    assert node.shape_out() == ref.shape[1:]
    np.testing.assert_allclose(sum_pool2d(x, node), ref, rtol=0, atol=1e-12)


def _conv_pool_net() -> Graph:
    rng = np.random.default_rng(1)
    nodes = {
        "in": Input(shape=(2, 8, 8), dtype="spike"),
        "conv": Conv2d(input_shape=(8, 8), weight=rng.normal(0, 0.8, (4, 2, 3, 3)),
                       padding=(1, 1), bias=np.zeros(4)),
        "lif1": LIF(shape=(4, 8, 8), tau=np.array(0.02), r=np.array(20.0), reset="subtract"),
        "pool": SumPool2d(input_shape=(4, 8, 8), kernel_size=(2, 2), stride=(2, 2)),
        "flat": Flatten(input_shape=(4, 4, 4)),
        "fc": Linear(weight=rng.normal(0, 0.5, (5, 64))),
        "lif2": LIF(shape=(5,), tau=np.array(0.02), r=np.array(20.0), reset="subtract"),
        "out": Output(shape=(5,)),
    }
    edges = [("in", "conv"), ("conv", "lif1"), ("lif1", "pool"), ("pool", "flat"),
             ("flat", "fc"), ("fc", "lif2"), ("lif2", "out")]
    return Graph(nodes=nodes, edges=tuple(edges), dt=1e-3)


def test_quantized_pool_net_tracks_float():
    g = _conv_pool_net()
    x = (np.random.default_rng(2).random((4, 30, 2, 8, 8)) < 0.3).astype(np.float64)
    q = quantize(g, x)
    assert isinstance(q.nodes["pool"], SumPool2d)
    res = simulate_int(q, x.astype(np.int64), record=True)  # spikes are integers
    # the pool sums the integer spikes of lif1 exactly
    lif1 = res.traces["lif1"].reshape((-1, 4, 8, 8))
    pool = res.traces["pool"].reshape((-1, 4, 4, 4))
    np.testing.assert_array_equal(pool, _window_sums(lif1, (2, 2), (2, 2), (0, 0)))
    f = simulate(g, x).output
    agree = np.mean(f == res.output)
    assert f.sum() > 0 and agree > 0.95, agree


def test_snn_round_trip(tmp_path):
    from snnc.compiler.ir import graphs_equal, load, save

    g = _conv_pool_net()
    save(g, tmp_path / "m.snn")
    assert graphs_equal(load(tmp_path / "m.snn"), g)
