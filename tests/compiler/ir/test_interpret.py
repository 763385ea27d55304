"""The float reference simulator against traces computed by hand.

Forward-Euler with tau = 2 dt gives beta = 1/2 exactly, so every value below is an exact
binary fraction and the comparisons are exact (no tolerance).
"""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import GraphError, SnncError
from snnc.compiler.ir import (
    IF,
    LI,
    LIF,
    CubaLIF,
    DelayedLinear,
    Graph,
    Input,
    Linear,
    MembraneArgmax,
    Output,
    Scale,
    SpikeCountArgmax,
    Threshold,
    decay,
    predict,
    simulate,
)

DT = 1e-3
TAU_HALF = 2e-3  # Euler: beta = 1 - dt/tau = 0.5


def chain(*nodes, dt=DT, disc="euler", extra_edges=()):
    """Input -> nodes... -> Output as a graph; nodes given as (name, node)."""
    names = [n for n, _ in nodes]
    shape_in = nodes[0][1].shape_in()
    shape_out = nodes[-1][1].shape_out()
    d = {"in": Input(shape_in), **dict(nodes), "out": Output(shape_out)}
    path = ["in", *names, "out"]
    edges = list(zip(path[:-1], path[1:])) + list(extra_edges)
    return Graph(nodes=d, edges=edges, dt=dt, discretization=disc, name="t")


def run1(g, xs):
    """Simulate a 1-input 1-neuron graph on a scalar sequence; return the output trace."""
    x = np.asarray(xs, dtype=float).reshape(1, -1, 1)
    res = simulate(g, x, record=True)
    return res


@pytest.mark.parametrize("reset,spikes,vs", [
    ("subtract", [1, 0, 0, 1, 1], [1, 0.5, 0.25, 0.125, 0.0625]),
    ("zero", [1, 0, 0, 0, 1], [0, 0, 0, 1, 0]),
])
def test_lif_hand_trace(reset, spikes, vs):
    # v = v/2 + x/2; x = [4,0,0,2,2]; threshold 1 (strict >).
    g = chain(("lif", LIF((1,), tau=np.array(TAU_HALF), v_threshold=np.array(1.0), reset=reset)))
    res = run1(g, [4, 0, 0, 2, 2])
    assert res.output[0, :, 0].tolist() == spikes
    assert res.states["lif"]["v"][0, :, 0].tolist() == vs


def test_lif_leak_and_gain():
    # v_leak = 1, r = 2: v = v/2 + (1 + 2x)/2 with x = 0 -> 0.5, 0.75, 0.875
    g = chain(("lif", LIF((1,), tau=np.array(TAU_HALF), r=np.array(2.0), v_leak=np.array(1.0),
                          v_threshold=np.array(10.0))))
    assert run1(g, [0, 0, 0]).states["lif"]["v"][0, :, 0].tolist() == [0.5, 0.75, 0.875]


@pytest.mark.parametrize("reset,spikes,vs", [
    ("subtract", [0, 1, 1, 0, 1], [0.75, 0.5, 0.25, 1.0, 0.75]),
    ("zero", [0, 1, 0, 1, 0], [0.75, 0, 0.75, 0, 0.75]),
])
def test_if_hand_trace(reset, spikes, vs):
    g = chain(("if", IF((1,), v_threshold=np.array(1.0), reset=reset)))
    res = run1(g, [0.75] * 5)
    assert res.output[0, :, 0].tolist() == spikes
    assert res.states["if"]["v"][0, :, 0].tolist() == vs


def test_if_v_reset_value():
    g = chain(("if", IF((1,), v_threshold=np.array(1.0), v_reset=np.array(-0.5), reset="zero")))
    assert run1(g, [1.5, 0.5]).states["if"]["v"][0, :, 0].tolist() == [-0.5, 0.0]


@pytest.mark.parametrize("reset,spikes,vs", [
    ("subtract", [1, 1, 0, 0], [1.0, 0.5, 0.75, 0.625]),
    ("zero", [1, 0, 0, 0], [0.0, 1.0, 1.0, 0.75]),
])
def test_cubalif_hand_trace(reset, spikes, vs):
    # i = i/2 + x: 4, 2, 1, 0.5;  v = v/2 + i/2
    g = chain(("c", CubaLIF((1,), tau_syn=np.array(TAU_HALF), tau_mem=np.array(TAU_HALF),
                            v_threshold=np.array(1.0), reset=reset)))
    res = run1(g, [4, 0, 0, 0])
    assert res.states["c"]["i"][0, :, 0].tolist() == [4, 2, 1, 0.5]
    assert res.output[0, :, 0].tolist() == spikes
    assert res.states["c"]["v"][0, :, 0].tolist() == vs


def test_cubalif_w_in_scales_current():
    g = chain(("c", CubaLIF((1,), tau_syn=np.array(TAU_HALF), tau_mem=np.array(TAU_HALF),
                            w_in=np.array(0.5), v_threshold=np.array(100.0))))
    assert run1(g, [4, 0]).states["c"]["v"][0, :, 0].tolist() == [1.0, 1.0]


def test_li_hand_trace():
    g = chain(("li", LI((1,), tau=np.array(TAU_HALF))))
    assert run1(g, [2, 2, 0]).output[0, :, 0].tolist() == [1, 1.5, 0.75]


def test_exact_discretization_decay():
    tau = DT / np.log(2.0)  # exp(-dt/tau) = 1/2
    g = chain(("li", LI((1,), tau=np.array(tau))), disc="exact")
    out = run1(g, [2, 0]).output[0, :, 0]
    np.testing.assert_allclose(out, [1.0, 0.5], rtol=1e-12)
    assert decay(2e-3, 1e-3, "euler") == 0.5
    assert decay(2e-3, 1e-3, "exact") == pytest.approx(np.exp(-0.5))
    # bitshift: 1 - exp(-0.5) = 0.393 -> shift round(log2(1/0.393)) = 1 -> 1 - 1/2
    assert decay(2e-3, 1e-3, "bitshift") == 0.5


def test_recurrent_edge_reads_previous_step():
    # in -> IF <-> rec(0.125). t0: v=.75 -> spike, v=.25; t1: .25 + .125*s[0] = .375;
    # t2: .375 + .125*s[1](=0) = .375. Same-step reading would add .125 at t0.
    nodes = {
        "in": Input((1,)),
        "if": IF((1,), v_threshold=np.array(0.5)),
        "rec": Linear(np.array([[0.125]])),
        "out": Output((1,)),
    }
    g = Graph(nodes=nodes, edges=[("in", "if"), ("if", "rec"), ("rec", "if"), ("if", "out")],
              dt=DT, discretization="euler")
    order, back = g.schedule()
    assert back == {("rec", "if")}
    res = simulate(g, np.array([0.75, 0, 0]).reshape(1, 3, 1), record=True)
    assert res.output[0, :, 0].tolist() == [1, 0, 0]
    assert res.states["if"]["v"][0, :, 0].tolist() == [0.25, 0.375, 0.375]


def test_delayed_linear_hand_trace():
    # y0[t] = x0[t] + 2 x1[t-2];  y1[t] = 3 x0[t-1]
    w = np.array([[1.0, 2.0], [3.0, 0.0]])
    d = np.array([[0, 2], [1, 0]])
    g = chain(("dl", DelayedLinear(w, d)))
    x = np.array([[1, 0], [0, 1], [0, 0], [1, 1]], dtype=float)[None]
    y = simulate(g, x).output[0]
    assert y.tolist() == [[1, 0], [0, 3], [0, 0], [3, 0]]


def test_readouts_and_predict():
    g = chain(("thr", Threshold((3,), threshold=np.array(0.5))), ("ro", SpikeCountArgmax((3,))))
    x = np.array([[[1, 0, 1], [0, 0, 1], [1, 0, 1]]], dtype=float)
    assert simulate(g, x).output[0, -1].tolist() == [2, 0, 3]
    assert predict(g, x).tolist() == [2]
    for reduce, want in (("sum", [3, 0, 3.5]), ("max", [2, 0, 2.5]), ("last", [1, 0, 1])):
        gm = chain(("s", Scale((3,), scale=np.array(1.0))), ("ro", MembraneArgmax((3,), reduce=reduce)))
        xm = np.array([[[2, 0, 2.5], [1, 0, 1]]], dtype=float)
        assert simulate(gm, xm).output[0, -1].tolist() == want


def test_batch_is_independent(tiny_graph, rng):
    x = rng.uniform(0, 2, (5, 20, 4))
    full = simulate(tiny_graph, x).output
    for b in range(5):
        np.testing.assert_array_equal(simulate(tiny_graph, x[b:b + 1]).output[0], full[b])


def test_input_shape_error_names_input(tiny_graph):
    with pytest.raises(SnncError, match="input 'input'"):
        simulate(tiny_graph, np.zeros((1, 5, 3)))


def test_stateless_cycle_rejected():
    nodes = {"in": Input((1,)), "a": Linear(np.ones((1, 1))), "b": Scale((1,), np.array(1.0)),
             "out": Output((1,))}
    g = Graph(nodes=nodes, edges=[("in", "a"), ("a", "b"), ("b", "a"), ("b", "out")])
    with pytest.raises(GraphError, match="cycle without a stateful node"):
        simulate(g, np.zeros((1, 2, 1)))
