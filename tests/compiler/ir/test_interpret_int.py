"""The integer golden model: hand-computed rounding/saturation cases and whole-graph checks."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import GraphError, SnncError
from snnc.compiler.ir import Graph, MembraneArgmax, Output, SpikeCountArgmax, load, save
from snnc.compiler.ir.graph import graphs_equal
from snnc.compiler.ir.interpret_int import (
    decay,
    predict_int,
    quantize_inputs,
    requant,
    round_half_away,
    rshift_round,
    sat,
    simulate_int,
)
from snnc.compiler.ir.qnodes import QIF, QLI, QLIF, QCubaLIF, QDelayedLinear, QInput, QLinear

# ------------------------------------------------------------------ primitives


def test_decay_rounds_half_up_hand_cases():
    assert decay(-3, 16384) == -1      # (-49152 + 16384) >> 15 = -32768 >> 15
    assert decay(3, 16384) == 2        # (49152 + 16384) >> 15 = 2
    assert decay(1, 29491) == 1        # magnitude 1 never decays under round half up
    assert decay(-1, 29491) == -1
    assert decay(100, 32768) == 100    # beta_q = 1.0 is the identity
    assert decay(12345, 0) == 0


def test_rshift_round_hand_cases():
    assert rshift_round(-5, 1) == -2   # -2.5 -> -2 (half up)
    assert rshift_round(5, 1) == 3     # 2.5 -> 3
    assert rshift_round(-6, 2) == -1   # -1.5 -> -1
    assert rshift_round(7, 0) == 7     # shift 0 is the identity
    np.testing.assert_array_equal(rshift_round(np.array([10, 10, 10]), np.array([0, 1, 2])),
                                  [10, 5, 3])


def test_saturation_at_int16_and_int32_edges():
    np.testing.assert_array_equal(sat(np.array([40000, -40000, 32767, -32768]), 16),
                                  [32767, -32768, 32767, -32768])
    assert sat(2**31, 32) == 2**31 - 1 and sat(-(2**31) - 5, 32) == -(2**31)
    # requant: 1000 * 2**30 >> 20 = 1024000 saturates at int16
    assert requant(1000, 2**30, 20, 16) == 32767
    assert requant(-3, 3, 1, 16) == -4  # -9/2 = -4.5 -> -4


def test_shift_form_of_the_leak_is_bit_identical():
    v = np.arange(-70000, 70000, 7, dtype=np.int64)
    for dash in range(1, 16):
        beta_q = 32768 - 2 ** (15 - dash)
        shifted = v + ((-v + (1 << (dash - 1))) >> dash)
        np.testing.assert_array_equal(decay(v, beta_q), shifted)


def test_round_half_away_matches_c_roundf():
    x = np.array([0.5, -0.5, 1.5, -2.5, 0.49999997, 2.4999998], dtype=np.float32)
    np.testing.assert_array_equal(round_half_away(x), [1, -1, 2, -3, 0, 2])


# ------------------------------------------------------------------ hand-built graphs


def _one_lif(**kw) -> Graph:
    return Graph(
        nodes={"in": QInput(shape=(2,), dtype="spike", bits=1),
               "fc": QLinear(weight=np.array([[3, -2]], np.int8), mult=np.array(1 << 30, np.int32),
                             shift=np.array(28, np.int32)),  # x4
               "lif": QLIF(shape=(1,), beta_q=np.array(16384, np.int32),
                           thr_q=np.array(20, np.int32), **kw),
               "cnt": SpikeCountArgmax((1,)), "out": Output((1,))},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "cnt"), ("cnt", "out")])


def test_lif_trace_hand_computed():
    g = _one_lif()
    x = np.array([[[1, 0], [1, 0], [1, 1], [1, 0], [0, 0]]], np.int32)
    r = simulate_int(g, x, record=True)
    # fc: [12, 12, 4, 12, 0];  v: 12 -> 6+12=18 -> 9+4=13 -> 7+12=19 -> 10 (half up)
    np.testing.assert_array_equal(r.traces["fc"][0, :, 0], [12, 12, 4, 12, 0])
    np.testing.assert_array_equal(r.states["lif"]["v"][0, :, 0], [12, 18, 13, 19, 10])
    np.testing.assert_array_equal(r.output[0, :, 0], [0, 0, 0, 0, 0])
    x2 = np.array([[[1, 0]] * 4], np.int32)
    # v: 12, 18, 21 -> spike, 21-20 = 1, then 1 -> (16384+16384)>>15 = 1 + 12 = 13
    r2 = simulate_int(g, x2, record=True)
    np.testing.assert_array_equal(r2.states["lif"]["v"][0, :, 0], [12, 18, 1, 13])
    np.testing.assert_array_equal(r2.output[0, :, 0], [0, 0, 1, 1])


def test_lif_zero_reset_and_saturation():
    g = _one_lif(reset="zero", reset_q=np.array(-5, np.int32))
    x = np.array([[[1, 0]] * 3], np.int32)
    r = simulate_int(g, x, record=True)
    # 12, 18, 21 > 20 -> reset to -5
    np.testing.assert_array_equal(r.states["lif"]["v"][0, :, 0], [12, 18, -5])
    big = g.replace(nodes={**g.nodes, "fc": QLinear(
        weight=np.array([[127, 127]], np.int8), mult=np.array(1 << 30, np.int32),
        shift=np.array(16, np.int32)),
        "lif": QLIF(shape=(1,), thr_q=np.array(32767, np.int32))})
    r = simulate_int(big, np.array([[[1, 1]] * 3], np.int32), record=True)
    # 254 * 2**14 = 4161536 saturates to 32767 in the synapse already; v stays at the edge
    np.testing.assert_array_equal(r.traces["fc"][0, :, 0], [32767] * 3)
    np.testing.assert_array_equal(r.states["lif"]["v"][0, :, 0], [32767] * 3)


def test_cubalif_if_li_and_membrane_readout():
    g = Graph(
        nodes={"in": QInput(shape=(1,), dtype="spike", bits=1),
               "fc": QLinear(weight=np.array([[10]], np.int8)),
               "cuba": QCubaLIF(shape=(1,), alpha_q=np.array(16384, np.int32),
                                beta_q=np.array(32768, np.int32),
                                mult_v=np.array(3, np.int32), shift_v=np.array(1, np.int32),
                                thr_q=np.array(40, np.int32)),
               "fc2": QLinear(weight=np.array([[7]], np.int8)),
               "iff": QIF(shape=(1,), thr_q=np.array(10, np.int32)),
               "fc3": QLinear(weight=np.array([[-4]], np.int8)),
               "li": QLI(shape=(1,), beta_q=np.array(16384, np.int32),
                         leak_q=np.array(1, np.int32)),
               "ro": MembraneArgmax((1,), reduce="sum"), "out": Output((1,))},
        edges=[("in", "fc"), ("fc", "cuba"), ("cuba", "fc2"), ("fc2", "iff"),
               ("iff", "fc3"), ("fc3", "li"), ("li", "ro"), ("ro", "out")])
    r = simulate_int(g, np.array([[[1], [0], [0], [1]]], np.int32), record=True)
    # i: 10, 5, 3 (2.5 up), 2+10=12 (1.5 -> 2);  drive = rshift_round(3i, 1): 15, 8, 5, 18
    np.testing.assert_array_equal(r.states["cuba"]["i"][0, :, 0], [10, 5, 3, 12])
    # v (beta 1): 15, 23, 28, 46 > 40 -> spike, 6
    np.testing.assert_array_equal(r.states["cuba"]["v"][0, :, 0], [15, 23, 28, 6])
    np.testing.assert_array_equal(r.traces["cuba"][0, :, 0], [0, 0, 0, 1])
    # IF gets 7 at t=3: v = 7;  no spike
    np.testing.assert_array_equal(r.states["iff"]["v"][0, :, 0], [0, 0, 0, 7])
    # LI: decay(v) + 1: 0+1 = 1, 1+1 = 2, decay(2)=1 +1 = 2, ...
    np.testing.assert_array_equal(r.states["li"]["v"][0, :, 0], [1, 2, 2, 2])
    np.testing.assert_array_equal(r.output[0, :, 0], [1, 3, 5, 7])


def test_delayed_linear_hand_computed():
    g = Graph(
        nodes={"in": QInput(shape=(2,), dtype="spike", bits=1),
               "d": QDelayedLinear(weight=np.array([[5, 7]], np.int8),
                                   delay=np.array([[0, 2]], np.int32),
                                   bias=np.array([1], np.int32)),
               "li": QLI(shape=(1,), beta_q=np.array(0, np.int32)),
               "ro": MembraneArgmax((1,), reduce="last"), "out": Output((1,))},
        edges=[("in", "d"), ("d", "li"), ("li", "ro"), ("ro", "out")])
    x = np.array([[[1, 1], [0, 0], [0, 0], [1, 0]]], np.int32)
    r = simulate_int(g, x, record=True)
    np.testing.assert_array_equal(r.traces["d"][0, :, 0], [6, 1, 8, 6])


def test_recurrent_graph_runs_and_serializes(tmp_path):
    g = Graph(
        nodes={"in": QInput(shape=(1,), dtype="spike", bits=1),
               "fc": QLinear(weight=np.array([[9], [0]], np.int8)),
               "lif": QLIF(shape=(2,), beta_q=np.array(32768, np.int32),
                           thr_q=np.array(8, np.int32)),
               "rec": QLinear(weight=np.array([[0, 0], [5, 0]], np.int8)),
               "cnt": SpikeCountArgmax((2,)), "out": Output((2,))},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "cnt"),
               ("cnt", "out")])
    r = simulate_int(g, np.array([[[1], [0], [0]]], np.int32), record=True)
    # neuron 0 spikes at t=0; neuron 1 gets 5 at t=1 (recurrent, t-1) and 0 after
    np.testing.assert_array_equal(r.states["lif"]["v"][0, :, 1], [0, 5, 5])
    np.testing.assert_array_equal(r.output[0, -1], [1, 0])
    save(g, tmp_path / "q.snn")
    g2 = load(tmp_path / "q.snn")
    assert graphs_equal(g, g2)
    np.testing.assert_array_equal(simulate_int(g2, np.array([[[1], [0], [0]]])).output,
                                  r.output)


# ------------------------------------------------------------------ inputs


def test_quantize_inputs_per_channel():
    node = QInput(shape=(2,), dtype="real", scale=np.array([0.5, 0.25], np.float32),
                  zero_point=np.array([0, -10], np.int32), bits=8)
    g = Graph(nodes={"x": node, "o": Output((2,))}, edges=[("x", "o")])
    x = np.array([[[0.25, 0.125], [100.0, -100.0], [-0.75, 1.0]]])
    q = quantize_inputs(g, x)
    assert q.dtype == np.int32
    # 0.5 -> 1 (ties away), 0.5 -> 1 - 10;  200 -> 127 sat, -400 - 10 -> -128;  -1.5 -> -2
    np.testing.assert_array_equal(q[0], [[1, -9], [127, -128], [-2, -6]])
    out = simulate_int(g, q).output
    np.testing.assert_array_equal(out[0], [[1, 1], [127, -118], [-2, 4]])


def test_bad_inputs_raise_clear_errors():
    g = _one_lif()
    with pytest.raises(SnncError, match="integer arrays"):
        simulate_int(g, np.zeros((1, 2, 2), np.float64))
    with pytest.raises(SnncError, match="expected shape"):
        quantize_inputs(g, np.zeros((1, 2, 3)))
    with pytest.raises(SnncError, match="0 and 1"):
        quantize_inputs(g, np.full((1, 2, 2), 0.5))
    from snnc.models.examples.make_examples import tiny_recurrent
    with pytest.raises(SnncError, match="not quantized"):
        simulate_int(tiny_recurrent(), np.zeros((1, 2, 4), np.int32))


def test_verify_rejects_bad_integer_parameters():
    from snnc.compiler.ir import verify
    g = _one_lif()
    with pytest.raises(GraphError, match="beta_q"):
        verify(g.replace(nodes={**g.nodes, "lif": QLIF(shape=(1,),
                                                       beta_q=np.array(40000, np.int32))}))
    with pytest.raises(GraphError, match="integer dtype"):
        verify(g.replace(nodes={**g.nodes, "fc": QLinear(weight=np.array([[1.0, 2.0]]))}))
    with pytest.raises(GraphError, match="weight"):
        verify(g.replace(nodes={**g.nodes, "fc": QLinear(weight=np.array([[200, 2]], np.int16),
                                                         weight_bits=8)}))


def test_predict_int_matches_argmax_of_output():
    g = _one_lif()
    x = np.array([[[1, 0]] * 4, [[0, 1]] * 4], np.int32)
    assert predict_int(g, x).tolist() == [0, 0]


def test_qthreshold_compares_the_exact_sum():
    from snnc.compiler.ir.qnodes import QThreshold
    g = Graph(
        nodes={"in": QInput(shape=(2,), dtype="spike", bits=1),
               "a": QLinear(weight=np.array([[3, 0], [0, -2]], np.int8)),
               "b": QLinear(weight=np.array([[-3, 0], [0, 1]], np.int8)),
               "th": QThreshold(shape=(2,), thr_q=np.array([-1, 0], np.int32)),
               "cnt": SpikeCountArgmax((2,)), "out": Output((2,))},
        edges=[("in", "a"), ("in", "b"), ("a", "th"), ("b", "th"), ("th", "cnt"),
               ("cnt", "out")])
    # sums: [0, -1] -> [0 > -1, -1 > 0] = [1, 0];  with no input [0, 0] -> [1, 0]
    r = simulate_int(g, np.array([[[1, 1], [0, 0]]], np.int32), record=True)
    np.testing.assert_array_equal(r.traces["th"][0], [[1, 0], [1, 0]])


def test_fast_matmul_path_is_exact_and_wide_values_use_int64():
    from snnc.compiler.ir.interpret_int import _acc
    rng = np.random.default_rng(3)
    w = rng.integers(-128, 128, (7, 300)).astype(np.int8)
    x = rng.integers(-2**15, 2**15, (5, 300)).astype(np.int64)
    exact = np.array([[sum(int(a) * int(b) for a, b in zip(xr, wr)) for wr in w] for xr in x])
    np.testing.assert_array_equal(_acc(w, x), exact)
    # beyond 2**53 the float path would round: the int64 path must be taken
    xw = np.full((1, 300), 2**45, dtype=np.int64)
    ww = np.full((1, 300), 127, dtype=np.int8)
    assert _acc(ww, xw)[0, 0] == 300 * 127 * 2**45
