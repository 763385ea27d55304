"""SynOps / dense MACs / sparsity on hand-built graphs with hand-counted answers."""

from __future__ import annotations

import numpy as np

from snnc.compiler.ir import IF, Conv1d, DelayedLinear, Graph, Input, Linear, Output, simulate
from snnc.compiler.ir.metrics import (
    connection_sparsity,
    dense_macs_per_step,
    neurobench_metrics,
    synops,
    workload,
)


def spiking_chain() -> Graph:
    # in(3, spikes) -> fc1 (2x3, fan-outs 2, 1, 0) -> if1 -> fc2 (real? no: spikes) -> out
    return Graph(
        nodes={"in": Input((3,), dtype="spike"),
               "fc1": DelayedLinear(np.array([[1.0, 0.0, 0.0], [1.0, 2.0, 0.0]]),
                                    np.array([[0, 0, 0], [2, 1, 0]])),
               "if1": IF((2,), v_threshold=np.array(0.5)),
               "fc2": Linear(np.array([[1.0, 1.0]])),
               "out": Output((1,))},
        edges=[("in", "fc1"), ("fc1", "if1"), ("if1", "fc2"), ("fc2", "out")],
    )


def test_synops_hand_count():
    g = spiking_chain()
    x = np.zeros((2, 4, 3))
    x[0, 0] = [1, 1, 1]  # sample 0, t=0: inputs 0,1,2 fire -> fc1 ops 2 + 1 + 0 = 3
    x[0, 2] = [0, 1, 0]  # t=2: input 1 -> 1 op
    # sample 0 if1: t0 gets 1 (neuron0) -> spikes n0; neuron1 gets 2 at t1 (input1, delay1)
    # -> spikes at t1; at t2 input0 delay2 arrives (+1) -> spike t2; t3 input1 from t2 -> spike
    # fc2 fan-out of each if1 neuron = 1 -> ops = number of if1 spikes
    w = workload(g, x)

    trace = simulate(g, x, record=True).traces["if1"]
    n_spikes = trace.reshape(2, -1).sum(axis=1)
    np.testing.assert_array_equal(w["synops"], np.array([3 + 1, 0]) + n_spikes)
    np.testing.assert_array_equal(w["effective_acs"], w["synops"])
    np.testing.assert_array_equal(w["effective_macs"], [0, 0])
    np.testing.assert_array_equal(synops(g, x), w["synops"])
    assert w["dense"] == (6 + 2) * 4
    assert w["activation_sparsity"] == 1.0 - n_spikes.sum() / (2 * 4 * 2)


def test_real_input_counts_as_macs_and_connection_sparsity():
    g = Graph(nodes={"in": Input((2,)), "fc": Linear(np.array([[0.5, 0.0], [0.0, 0.0]])),
                     "out": Output((2,))},
              edges=[("in", "fc"), ("fc", "out")])
    x = np.array([[[0.3, 0.7], [0.0, 2.0]]])
    m = neurobench_metrics(g, x)
    assert m["SynapticOperations"] == {"Effective_MACs": 1.0, "Effective_ACs": 0.0, "Dense": 8.0}
    assert connection_sparsity(g) == 0.75
    assert np.isnan(m["ActivationSparsity"])  # no spiking population


def test_conv_fanout_counts_taps():
    # 1 channel, length 4, kernel [1, 0, 2] (2 non-zero taps), no padding -> 2 outputs.
    g = Graph(nodes={"in": Input((1, 4), dtype="spike"),
                     "cv": Conv1d(4, np.array([[[1.0, 0.0, 2.0]]])),
                     "out": Output((1, 2))},
              edges=[("in", "cv"), ("cv", "out")])
    x = np.zeros((1, 1, 1, 4))
    x[0, 0, 0, 0] = 1  # read by output 0 via tap 0 only -> 1 op
    x[0, 0, 0, 2] = 1  # read by out0 tap2 (w=2) and out1 tap1 (w=0) -> 1 op
    assert synops(g, x)[0] == 2.0
    assert dense_macs_per_step(g) == 3 * 2
