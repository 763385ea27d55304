"""Dead-neuron removal: Before/Expected on hand-built graphs, outputs unchanged."""

from __future__ import annotations

import numpy as np

from snnc.compiler.ir import LIF, Graph, Input, Linear, Output, SpikeCountArgmax, simulate, verify
from snnc.compiler.ir.interpret_int import run_int
from snnc.compiler.passes.dead_neurons import remove_dead_neurons
from snnc.compiler.passes.quantize import quantize


def _before() -> Graph:
    w1 = np.array([[1.0, 0.5], [0.0, 0.0], [0.3, 0.9], [0.7, 0.2]])  # neuron 1: no input
    w2 = np.array([[1.0, 2.0, 0.5, 0.0], [0.5, 1.0, 1.5, 0.0]])        # neuron 3: no output
    return Graph(nodes={"in": Input((2,), dtype="spike"), "fc1": Linear(w1),
                        "h": LIF((4,), tau=np.array(3e-3), v_threshold=np.array(0.2)),
                        "fc2": Linear(w2),
                        "o": LIF((2,), tau=np.array(3e-3), v_threshold=np.array(0.2)),
                        "cnt": SpikeCountArgmax((2,)), "out": Output((2,))},
                 edges=[("in", "fc1"), ("fc1", "h"), ("h", "fc2"), ("fc2", "o"),
                        ("o", "cnt"), ("cnt", "out")])


def test_removes_unfed_and_unread_neurons():
    before = _before()
    after = remove_dead_neurons(before)
    verify(after)
    assert after.nodes["h"].shape == (2,)
    np.testing.assert_array_equal(after.nodes["fc1"].weight, [[1.0, 0.5], [0.3, 0.9]])
    np.testing.assert_array_equal(after.nodes["fc2"].weight, [[1.0, 0.5], [0.5, 1.5]])
    assert after.nodes["o"].shape == (2,)  # feeds the readout: never touched
    assert after.metadata["dead_neurons"] == {"h": [1, 3]}
    x = (np.random.default_rng(0).random((5, 20, 2)) < 0.5).astype(float)
    np.testing.assert_array_equal(simulate(after, x).output, simulate(before, x).output)


def test_positive_leak_keeps_an_unfed_neuron():
    b = _before()
    h = b.nodes["h"].replace(v_leak=np.array([0.0, 0.5, 0.0, 0.0]))
    after = remove_dead_neurons(b.replace(nodes={**b.nodes, "h": h}))
    assert after.metadata["dead_neurons"] == {"h": [3]}


def test_quantized_graph_and_nothing_to_remove(tiny_graph, rng):
    q = quantize(_before(), (rng.random((4, 10, 2)) < 0.5).astype(float))
    after = remove_dead_neurons(q)
    assert after.nodes["h"].shape == (2,)
    x = (rng.random((5, 20, 2)) < 0.5).astype(float)
    np.testing.assert_array_equal(run_int(after, x).output, run_int(q, x).output)
    same = remove_dead_neurons(tiny_graph)
    assert "dead_neurons" not in same.metadata
