"""Storage choice by density: Before/Expected graphs with hand-computed byte counts."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import (
    LIF,
    DelayedLinear,
    Graph,
    Input,
    Linear,
    Output,
    SpikeCountArgmax,
    simulate,
)
from snnc.compiler.passes.quantize import quantize
from snnc.compiler.passes.storage import Layout, choose_storage, density, weight_bytes


def _graph(w: np.ndarray, delays: np.ndarray | None = None) -> Graph:
    syn = Linear(w) if delays is None else DelayedLinear(w, delays)
    n_out, n_in = w.shape
    return Graph(nodes={"in": Input((n_in,), dtype="spike"), "fc": syn,
                        "n": LIF((n_out,)), "cnt": SpikeCountArgmax((n_out,)),
                        "out": Output((n_out,))},
                 edges=[("in", "fc"), ("fc", "n"), ("n", "cnt"), ("cnt", "out")])


def test_dense_matrix_stays_dense():
    g = choose_storage(_graph(np.ones((4, 4))))
    assert g.nodes["fc"].storage == "dense"
    assert weight_bytes(g.nodes["fc"]) == 4 * 4 * 4


def test_sparse_matrix_becomes_csc_with_hand_counted_bytes():
    w = np.zeros((4, 100))
    w[0, 3], w[2, 50] = 1.0, -2.0
    before = _graph(w)
    after = choose_storage(before)
    assert after.nodes["fc"].storage == "csc"
    # dense: 4*100 float32 = 1600;  csc: int32 col_ptr 101 * 4 + 2 nnz * (uint16 row 2
    # + value 4) = 416
    assert weight_bytes(after.nodes["fc"], "dense") == 1600
    assert weight_bytes(after.nodes["fc"]) == 416
    packed = Layout(col_ptr_bytes=2)
    assert weight_bytes(after.nodes["fc"], layout=packed) == 101 * 2 + 2 * 6
    assert density(after.nodes["fc"]) == pytest.approx(2 / 400)
    x = (np.random.default_rng(0).random((3, 5, 100)) < 0.3).astype(float)
    np.testing.assert_array_equal(simulate(after, x).output, simulate(before, x).output)


def test_quantized_and_delayed_byte_counts():
    rng = np.random.default_rng(0)
    w = np.where(rng.random((8, 40)) < 0.1, rng.normal(0, 1, (8, 40)), 0.0)
    d = rng.integers(0, 5, (8, 40))
    g = _graph(w, d)
    q = quantize(g, (rng.random((4, 6, 40)) < 0.5).astype(float))
    node = q.nodes["fc"]
    nnz = int(np.count_nonzero(node.weight))
    # int8 weight + uint16 delay per synapse
    assert weight_bytes(node, "dense") == 8 * 40 * 3
    assert weight_bytes(node, "csc") == 41 * 4 + nnz * (2 + 1 + 2)
    assert choose_storage(q).nodes["fc"].storage == "csc"
    # the runtime's delay kernels are CSC only: even a dense delayed layer gets csc
    full = _graph(np.ones((2, 2)), np.ones((2, 2), np.int64))
    assert choose_storage(full).nodes["fc"].storage == "csc"
    assert choose_storage(full, layout=Layout(delayed_csc_only=False)).nodes["fc"].storage \
        == "dense"


def test_threshold_option_and_errors():
    w = np.ones((4, 4))
    w[0] = 0  # density 0.75
    assert choose_storage(_graph(w), threshold=0.8).nodes["fc"].storage == "csc"
    assert choose_storage(_graph(w), threshold=0.5).nodes["fc"].storage == "dense"
    with pytest.raises(SnncError, match="threshold"):
        choose_storage(_graph(w), threshold=1.5)
