"""remove_inert_synapses: before/expected graphs, exact output preservation, options."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import (
    IF,
    Affine,
    DelayedLinear,
    Graph,
    Input,
    Output,
    SpikeCountArgmax,
    graphs_equal,
    simulate,
    verify,
)
from snnc.compiler.passes.inert import remove_inert_synapses


def parallel(w_a: np.ndarray, d_a: np.ndarray, w_b: np.ndarray, d_b: np.ndarray) -> Graph:
    """in -> {a, b} (two DelayedLinear in parallel) -> if1 -> readout."""
    n_out = w_a.shape[0]
    return Graph(
        nodes={"in": Input((w_a.shape[1],), dtype="spike"), "a": DelayedLinear(w_a, d_a),
               "b": DelayedLinear(w_b, d_b), "if1": IF((n_out,), v_threshold=np.array(0.5)),
               "ro": SpikeCountArgmax((n_out,)), "out": Output((n_out,))},
        edges=[("in", "a"), ("in", "b"), ("a", "if1"), ("b", "if1"), ("if1", "ro"),
               ("ro", "out")],
    )


def test_zero_weight_delays_reset_and_max_delay_shrinks():
    w = np.array([[1.0, 0.0], [0.0, 2.0]])
    d = np.array([[1, 7], [9, 2]])
    g = parallel(w, d, np.ones((2, 2)), np.zeros((2, 2), np.int64))
    got = remove_inert_synapses(g)
    want = parallel(w, np.array([[1, 0], [0, 2]]), np.ones((2, 2)), np.zeros((2, 2), np.int64))
    assert graphs_equal(got, want)
    assert g.nodes["a"].max_delay == 9 and got.nodes["a"].max_delay == 2


def test_beyond_horizon_removed_and_empty_node_dropped():
    w_a = np.array([[1.0, 1.0], [1.0, 1.0]])
    d_a = np.array([[5, 6], [8, 5]])  # every delay >= horizon 5: the node becomes empty
    w_b = np.array([[1.0, -1.0], [0.5, 1.0]])
    d_b = np.array([[0, 4], [1, 5]])  # only the delay-5 synapse is beyond the horizon
    g = parallel(w_a, d_a, w_b, d_b)
    got = remove_inert_synapses(g, horizon=5)
    want = Graph(
        nodes={"in": Input((2,), dtype="spike"),
               "b": DelayedLinear(np.array([[1.0, -1.0], [0.5, 0.0]]), np.array([[0, 4], [1, 0]])),
               "if1": IF((2,), v_threshold=np.array(0.5)), "ro": SpikeCountArgmax((2,)),
               "out": Output((2,))},
        edges=[("in", "b"), ("b", "if1"), ("if1", "ro"), ("ro", "out")],
    )
    assert graphs_equal(got, want)
    x = np.random.default_rng(0).integers(0, 2, (4, 5, 2)).astype(np.float64)
    np.testing.assert_array_equal(simulate(got, x).output, simulate(g, x).output)


def test_sole_input_kept_even_if_empty():
    z = np.zeros((2, 2))
    g = parallel(z, np.ones((2, 2), np.int64), z, np.ones((2, 2), np.int64))
    got = verify(remove_inert_synapses(g))
    # one of the two empty nodes must remain so if1 still has an input
    assert ("a" in got.nodes) != ("b" in got.nodes)
    assert got.nodes[[n for n in ("a", "b") if n in got.nodes][0]].max_delay == 0


def test_affine_with_bias_is_not_empty():
    g = Graph(
        nodes={"in": Input((2,)), "fc": Affine(np.zeros((2, 2)), np.array([1.0, 0.0])),
               "fc2": Affine(np.zeros((2, 2)), np.zeros(2)), "out": Output((2,))},
        edges=[("in", "fc"), ("in", "fc2"), ("fc", "out"), ("fc2", "out")],
    )
    got = remove_inert_synapses(g)
    assert "fc" in got.nodes and "fc2" not in got.nodes


def test_outputs_bit_identical_on_random_graph():
    rng = np.random.default_rng(7)
    w_a = rng.normal(size=(6, 8)) * (rng.random((6, 8)) < 0.4)
    w_b = rng.normal(size=(6, 8)) * (rng.random((6, 8)) < 0.4)
    g = parallel(w_a, rng.integers(0, 12, (6, 8)), w_b, rng.integers(0, 12, (6, 8)))
    x = rng.integers(0, 2, (3, 10, 8)).astype(np.float64)
    got = remove_inert_synapses(g, horizon=10)
    assert got.nodes["a"].max_delay <= 9
    np.testing.assert_array_equal(simulate(got, x).output, simulate(g, x).output)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_bad_horizon_rejected(bad):
    g = parallel(np.ones((1, 1)), np.zeros((1, 1), np.int64), np.ones((1, 1)),
                 np.zeros((1, 1), np.int64))
    with pytest.raises(SnncError, match="horizon"):
        remove_inert_synapses(g, horizon=bad)
