"""verify(): each rule fires on a minimal bad graph and names the node at fault."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import GraphError
from snnc.compiler.ir import (
    LIF,
    DelayedLinear,
    Graph,
    Input,
    Linear,
    Output,
    Scale,
    SpikeCountArgmax,
    verify,
)


def g_of(nodes, edges, **kw):
    return Graph(nodes=nodes, edges=edges, **kw)


def test_valid_example_passes(tiny_graph):
    assert verify(tiny_graph) is tiny_graph


def test_shape_mismatch_names_node():
    g = g_of({"in": Input((3,)), "fc": Linear(np.ones((2, 4))), "out": Output((2,))},
             [("in", "fc"), ("fc", "out")])
    with pytest.raises(GraphError, match=r"node 'fc': shape mismatch.*'in' has shape \(3,\)"):
        verify(g)


def test_cycle_without_state():
    g = g_of({"in": Input((1,)), "a": Linear(np.ones((1, 1))), "b": Linear(np.ones((1, 1))),
              "out": Output((1,))}, [("in", "a"), ("a", "b"), ("b", "a"), ("b", "out")])
    with pytest.raises(GraphError, match="a -> b -> a"):
        verify(g)


def test_cycle_through_neuron_is_fine():
    g = g_of({"in": Input((1,)), "lif": LIF((1,)), "rec": Linear(np.ones((1, 1))),
              "out": Output((1,))}, [("in", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")])
    verify(g)


@pytest.mark.parametrize("node,msg", [
    (LIF((2,), tau=np.array(-1.0)), "'tau' must be > 0"),
    (LIF((2,), v_threshold=np.array([1.0, 0.0])), "v_threshold must be > 0"),
    (LIF((2,), reset="hard"), "reset must be one of"),
    (LIF((2,), tau=np.ones(3)), "does not fit population"),
    (Scale((2,), scale=np.array([np.nan, 1.0])), "non-finite"),
])
def test_parameter_ranges(node, msg):
    g = g_of({"in": Input((2,)), "n": node, "out": Output((2,))}, [("in", "n"), ("n", "out")])
    with pytest.raises(GraphError, match=f"node 'n': .*{msg}"):
        verify(g)


def test_negative_delay():
    dl = DelayedLinear(np.ones((1, 1)), np.array([[-1]]))
    g = g_of({"in": Input((1,)), "d": dl, "out": Output((1,))}, [("in", "d"), ("d", "out")])
    with pytest.raises(GraphError, match="node 'd': delays must be non-negative"):
        verify(g)


def test_spike_count_needs_spikes():
    g = g_of({"in": Input((2,)), "ro": SpikeCountArgmax((2,)), "out": Output((2,))},
             [("in", "ro"), ("ro", "out")])
    with pytest.raises(GraphError, match="node 'ro': SpikeCountArgmax needs spikes"):
        verify(g)


def test_dangling_edge_and_no_output():
    with pytest.raises(GraphError, match="'ghost'"):
        verify(g_of({"in": Input((1,)), "out": Output((1,))}, [("in", "out"), ("in", "ghost")]))
    with pytest.raises(GraphError, match="no Output"):
        verify(g_of({"in": Input((1,)), "s": Scale((1,), np.array(1.0))}, [("in", "s")]))
    with pytest.raises(GraphError, match="dt must be"):
        verify(g_of({"in": Input((1,)), "out": Output((1,))}, [("in", "out")], dt=0.0))
