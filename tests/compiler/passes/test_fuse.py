"""Fusion groups recorded on the graph: Before/Expected on the tiny recurrent example."""

from __future__ import annotations

import numpy as np

from snnc.compiler.ir import simulate, verify
from snnc.compiler.ir.graph import nodes_equal
from snnc.compiler.passes.fuse import fuse, fused_synapses, fusion_groups


def test_tiny_recurrent_groups(tiny_graph, rng):
    before = tiny_graph
    after = fuse(before)
    verify(after)
    assert after.metadata["fusion"] == [
        {"neuron": "lif1", "synapses": ["fc1", "rec1"]},
        {"neuron": "lif2", "synapses": ["fc2"]},
    ]
    # only metadata changed
    assert after.edges == before.edges
    assert all(nodes_equal(after.nodes[k], before.nodes[k]) for k in before.nodes)
    x = rng.random((2, 6, 4))
    np.testing.assert_array_equal(simulate(after, x).output, simulate(before, x).output)
    assert fused_synapses(after) == {"fc1": "lif1", "rec1": "lif1", "fc2": "lif2"}


def test_synapse_with_two_consumers_is_not_fused(tiny_graph):
    from snnc.compiler.ir import LIF
    g = tiny_graph.replace(
        nodes={**tiny_graph.nodes, "lif3": LIF((3,))},
        edges=tiny_graph.edges + (("fc2", "lif3"),))
    groups = fusion_groups(g)
    assert all("fc2" not in grp["synapses"] for grp in groups)


def test_stale_groups_are_ignored(tiny_graph):
    g = tiny_graph.replace(metadata={"fusion": [{"neuron": "gone", "synapses": ["fc1"]},
                                                {"neuron": "lif2", "synapses": ["rec1"]}]})
    assert fused_synapses(g) == {}
