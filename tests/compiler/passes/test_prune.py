"""prune_magnitude: hand-built before/expected graphs, option validation."""

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
    graphs_equal,
    verify,
)
from snnc.compiler.passes.prune import count_weights, prune_magnitude


def two_layer(w1: np.ndarray, w2: np.ndarray, d2: np.ndarray | None = None) -> Graph:
    fc2 = Linear(w2) if d2 is None else DelayedLinear(w2, d2)
    return Graph(
        nodes={"in": Input((w1.shape[1],), dtype="spike"), "fc1": Linear(w1),
               "lif1": LIF((w1.shape[0],)), "fc2": fc2, "lif2": LIF((w2.shape[0],)),
               "ro": SpikeCountArgmax((w2.shape[0],)), "out": Output((w2.shape[0],))},
        edges=[("in", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
               ("lif2", "ro"), ("ro", "out")],
    )


W1 = np.array([[0.1, -0.9], [0.5, -0.05]])
W2 = np.array([[0.3, -0.2], [2.0, 0.0]])  # one weight already zero
D2 = np.array([[1, 2], [0, 3]])


def test_global_removes_smallest_across_layers():
    g = two_layer(W1, W2, D2)
    # 7 non-zero weights; remove round(0.43*7) = 3 smallest: 0.05, 0.1, 0.2
    got = prune_magnitude(g, 0.43, "global")
    want = two_layer(np.array([[0.0, -0.9], [0.5, 0.0]]), np.array([[0.3, 0.0], [2.0, 0.0]]), D2)
    assert graphs_equal(got, want)
    assert count_weights(got) == (4, 8)
    assert graphs_equal(g, two_layer(W1, W2, D2))  # the input graph is untouched


def test_layer_scope_prunes_each_node_by_its_own_ranking():
    g = two_layer(W1, W2)
    # fc1: 4 non-zero, remove 2 (0.05, 0.1); fc2: 3 non-zero, remove round(1.5)=2 (0.2, 0.3)
    got = prune_magnitude(g, 0.5, "layer")
    want = two_layer(np.array([[0.0, -0.9], [0.5, 0.0]]), np.array([[0.0, 0.0], [2.0, 0.0]]))
    assert graphs_equal(got, want)


def test_zero_fraction_is_identity_and_ties_go_together():
    g = two_layer(W1, W2)
    assert graphs_equal(prune_magnitude(g, 0.0), g)
    tied = two_layer(np.array([[0.5, -0.5], [0.5, 1.0]]), np.array([[1.0, 1.0], [1.0, 1.0]]))
    # 8 weights, k = 1: the smallest magnitude 0.5 appears 3 times -> all three go
    got = prune_magnitude(tied, 0.125)
    np.testing.assert_array_equal(got.nodes["fc1"].weight, [[0.0, 0.0], [0.0, 1.0]])


def test_result_verifies_and_keeps_dtype():
    rng = np.random.default_rng(0)
    g = two_layer(rng.normal(size=(6, 5)).astype(np.float32), rng.normal(size=(3, 6)))
    got = verify(prune_magnitude(g, 0.9))
    assert got.nodes["fc1"].weight.dtype == np.float32
    nz, tot = count_weights(got)
    assert nz == tot - int(round(0.9 * tot))


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5, "0.5", True, float("nan")])
def test_bad_fraction_rejected(bad):
    with pytest.raises(SnncError, match="fraction_removed"):
        prune_magnitude(two_layer(W1, W2), bad)


def test_bad_scope_rejected():
    with pytest.raises(SnncError, match="scope"):
        prune_magnitude(two_layer(W1, W2), 0.5, scope="neuron")


def test_nodes_option_restricts_pruning():
    g = two_layer(W1, W2)
    got = prune_magnitude(g, 0.5, "global", nodes=["fc2"])
    np.testing.assert_array_equal(got.nodes["fc1"].weight, W1)
    # fc2 alone: 3 non-zero, remove round(1.5) = 2 -> only 2.0 stays
    np.testing.assert_array_equal(got.nodes["fc2"].weight, [[0.0, 0.0], [2.0, 0.0]])
    assert count_weights(got, ["fc2"]) == (1, 4)
    with pytest.raises(SnncError, match="nodes"):
        prune_magnitude(g, 0.5, nodes=["lif1"])
