"""The quantize pass: hand-derived integers, agreement with the float simulator, errors."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir import (
    IF,
    LI,
    LIF,
    Affine,
    CubaLIF,
    DelayedLinear,
    Graph,
    Input,
    Linear,
    MembraneArgmax,
    Output,
    SpikeCountArgmax,
    load,
    predict,
    save,
    simulate,
    verify,
)
from snnc.compiler.ir.graph import graphs_equal
from snnc.compiler.ir.interpret_int import predict_int, run_int
from snnc.compiler.ir.qnodes import QIF, QLIF, QDelayedLinear, QInput, QLinear
from snnc.compiler.passes.quantize import QuantOptions, quantize, quantize_multiplier


def _if_graph(w: float = 2.5) -> Graph:
    return Graph(nodes={"in": Input((1,), dtype="spike"), "fc": Linear(np.array([[w]])),
                        "n": IF((1,), v_threshold=np.array(1.0)),
                        "cnt": SpikeCountArgmax((1,)), "out": Output((1,))},
                 edges=[("in", "fc"), ("fc", "n"), ("n", "cnt"), ("cnt", "out")])


def test_if_graph_expected_integers():
    """Before: W = 2.5, thr = 1; calibration (3 steps of spikes) gives v_post = 1.5, 3, 4.5.

    Expected: S = (4.5 + 1) * 1.25 / 32767; thr_q = round(1 / S) = 4766; w_q = 127
    (w_scale = 2.5/127); multiplier (2.5/127) / S = 93.82... = mult * 2**-24.
    """
    g = _if_graph()
    q = quantize(g, np.ones((1, 3, 1)), QuantOptions())
    s = 6.875 / 32767
    assert isinstance(q.nodes["in"], QInput) and q.nodes["in"].bits == 1
    fc, n = q.nodes["fc"], q.nodes["n"]
    assert isinstance(fc, QLinear) and isinstance(n, QIF)
    np.testing.assert_array_equal(fc.weight, [[127]])
    assert fc.weight.dtype == np.int8
    assert int(n.thr_q) == 4766 and n.thr_q.dtype == np.int32
    assert int(fc.shift) == 24
    assert int(fc.mult) == round(2.5 / 127 / s * 2**24)
    assert 2**30 <= int(fc.mult) < 2**31
    # and it runs: 2.5 / S = 11915.3 -> 11915 per spike, a spike on every step
    r = run_int(q, np.ones((1, 3, 1)), record=True)
    np.testing.assert_array_equal(r.traces["fc"][0, :, 0], [11915] * 3)
    np.testing.assert_array_equal(r.output[0, :, 0], [1, 2, 3])


def test_integer_weights_are_kept_exact():
    q = quantize(_if_graph(2.0), np.ones((1, 3, 1)), QuantOptions())
    np.testing.assert_array_equal(q.nodes["fc"].weight, [[2]])
    np.testing.assert_allclose(float(q.nodes["fc"].w_scale), 1.0)


def test_quantize_multiplier_normal_and_pow2():
    m, sh = quantize_multiplier(np.array([0.75, 3.0, 0.0]))
    np.testing.assert_array_equal(m, [3 << 29, 3 << 29, 0])
    np.testing.assert_array_equal(sh, [31, 29, 0])
    m, sh = quantize_multiplier(np.array([0.25, 8.0]), pow2=True)
    np.testing.assert_array_equal(m, [1, 8])
    np.testing.assert_array_equal(sh, [2, 0])


def test_tiny_recurrent_agrees_with_float(tiny_graph, rng):
    x = rng.random((48, 30, 4))
    pf = predict(tiny_graph, x)
    for bits in (16, 8):
        q = quantize(tiny_graph, x[:24], QuantOptions(weight_bits=bits))
        assert np.mean(predict_int(q, x) == pf) >= 0.9
    # the membrane of lif1 tracks the float one closely at int16 weights
    q = quantize(tiny_graph, x[:24], QuantOptions(weight_bits=16))
    rf, rq = simulate(tiny_graph, x[:4], record=True), run_int(q, x[:4], record=True)
    vf = rf.states["lif1"]["v"][:, :3]
    vq = rq.states["lif1"]["v"][:, :3] * q.nodes["lif1"].v_scale
    assert np.max(np.abs(vf - vq)) < 0.01


def _li_graph(rng) -> Graph:
    return Graph(
        nodes={"in": Input((5,)), "fc": Linear(rng.normal(0, 1, (3, 5))),
               "li": LI((3,), tau=np.array(4e-3), r=np.array(2.0)),
               "ro": MembraneArgmax((3,), reduce="sum"), "out": Output((3,))},
        edges=[("in", "fc"), ("fc", "li"), ("li", "ro"), ("ro", "out")])


def test_error_shrinks_with_more_weight_bits(rng):
    g = _li_graph(rng)
    x = rng.normal(0, 1, (16, 20, 5))
    vf = simulate(g, x, record=True).states["li"]["v"]
    errs = []
    for bits in (4, 8, 16):
        q = quantize(g, x, QuantOptions(weight_bits=bits, input_bits=16))
        vq = run_int(q, x, record=True).states["li"]["v"] * q.nodes["li"].v_scale
        errs.append(np.max(np.abs(vf - vq)) / np.max(np.abs(vf)))
    assert errs[0] > errs[1] > errs[2]
    assert errs[1] < 0.03 and errs[2] < 0.002


def test_pow2_and_layer_granularity(tiny_graph, rng):
    x = rng.random((32, 30, 4))
    q = quantize(tiny_graph, x, QuantOptions(pow2=True, granularity="layer"))
    for name in ("fc1", "rec1", "fc2"):
        m = int(q.nodes[name].mult)  # one value per layer
        assert m > 0 and m & (m - 1) == 0
    assert np.mean(predict_int(q, x) == predict(tiny_graph, x)) >= 0.9


def test_real_input_per_channel_scale_and_round_trip(tiny_graph, rng, tmp_path):
    x = rng.random((16, 10, 4)) * np.array([1.0, 10.0, 100.0, 0.1])
    q = quantize(tiny_graph, x)
    sc = q.nodes["input"].scale
    assert sc.dtype == np.float32 and sc.shape == (4,)
    np.testing.assert_allclose(sc, x.max(axis=(0, 1)) / 255, rtol=1e-6)
    save(q, tmp_path / "q.snn")
    q2 = load(tmp_path / "q.snn")
    assert graphs_equal(q, q2)
    np.testing.assert_array_equal(run_int(q2, x).output, run_int(q, x).output)
    assert q.metadata["quantization"]["options"]["weight_bits"] == 8


def test_delayed_cuba_affine_graph(rng):
    g = Graph(
        nodes={"in": Input((4,)),
               "d": DelayedLinear(rng.normal(0, 1, (6, 4)), rng.integers(0, 4, (6, 4))),
               "c": CubaLIF((6,), tau_syn=np.array(5e-3), tau_mem=np.array(1e-2),
                            r=np.array(3.0), v_threshold=np.array(0.3)),
               "a": Affine(rng.normal(0, 1, (3, 6)), np.array([0.2, 0.0, -0.1])),
               "li": LI((3,), tau=np.array(5e-3)),
               "ro": MembraneArgmax((3,), reduce="sum"), "out": Output((3,))},
        edges=[("in", "d"), ("d", "c"), ("c", "a"), ("a", "li"), ("li", "ro"), ("ro", "out")])
    x = rng.normal(0, 1, (40, 25, 4))
    for pow2 in (False, True):
        q = quantize(g, x[:20], QuantOptions(pow2=pow2))
        assert isinstance(q.nodes["d"], QDelayedLinear)
        np.testing.assert_array_equal(q.nodes["d"].delay, g.nodes["d"].delay)
        assert np.mean(predict_int(q, x) == predict(g, x)) >= 0.85


def test_bias_of_an_all_zero_row_is_kept(rng):
    """A pruned-away row still carries its bias (regression: it used to round to 0)."""
    g = Graph(nodes={"in": Input((2,)), "a": Affine(np.array([[0.0, 0.0], [1.0, -1.0]]),
                                                     np.array([0.3, 0.0])),
                     "li": LI((2,), tau=np.array(1e-3)),
                     "ro": MembraneArgmax((2,), reduce="last"), "out": Output((2,))},
              edges=[("in", "a"), ("a", "li"), ("li", "ro"), ("ro", "out")])
    x = rng.normal(0, 0.1, (4, 5, 2))
    q = quantize(g, x)
    vf = simulate(g, x, record=True).states["li"]["v"][..., 0]
    vq = run_int(q, x, record=True).states["li"]["v"][..., 0] * q.nodes["li"].v_scale
    np.testing.assert_allclose(vq, vf, rtol=1e-3)


def test_direct_edge_into_a_population_gets_an_identity_synapse():
    g = Graph(nodes={"in": Input((2,), dtype="spike"),
                     "n": LIF((2,), tau=np.array(2e-3), r=np.array(4.0)),
                     "cnt": SpikeCountArgmax((2,)), "out": Output((2,))},
              edges=[("in", "n"), ("n", "cnt"), ("cnt", "out")])
    x = (np.random.default_rng(0).random((8, 12, 2)) < 0.5).astype(float)
    q = quantize(g, x)
    assert isinstance(q.nodes["in__to__n"], QLinear) and isinstance(q.nodes["n"], QLIF)
    verify(q)
    np.testing.assert_array_equal(run_int(q, x).output, simulate(g, x).output)


@pytest.mark.parametrize("opt,match", [
    (QuantOptions(weight_bits=3), "weight_bits"),
    (QuantOptions(state_bits=8), "state_bits"),
    (QuantOptions(input_bits=4), "input_bits"),
    (QuantOptions(granularity="tensor"), "granularity"),
    (QuantOptions(headroom=0.5), "headroom"),
])
def test_bad_options_name_the_option(tiny_graph, opt, match):
    with pytest.raises(SnncError, match=match):
        quantize(tiny_graph, np.zeros((2, 3, 4)), opt)


def test_bad_calibration_data(tiny_graph):
    with pytest.raises(SnncError, match="calibration data.*input"):
        quantize(tiny_graph, np.zeros((2, 3, 5)))
    with pytest.raises(SnncError, match="calibration data"):
        quantize(tiny_graph, np.zeros((3, 4)))
    with pytest.raises(SnncError, match="non-finite"):
        quantize(tiny_graph, np.full((2, 3, 4), np.nan))
    with pytest.raises(SnncError, match="calibration data is required"):
        quantize(tiny_graph, None)
    with pytest.raises(SnncError, match="no array for input"):
        quantize(tiny_graph, {"other": np.zeros((2, 3, 4))})


def test_already_quantized_and_unsupported(tiny_graph, rng):
    q = quantize(tiny_graph, rng.random((2, 3, 4)))
    with pytest.raises(SnncError, match="already quantized"):
        quantize(q, rng.random((2, 3, 4)))
    from snnc.compiler.ir import Conv1d, Flatten
    g = Graph(nodes={"in": Input((1, 6)), "c": Conv1d(6, np.ones((2, 1, 3))),
                     "f": Flatten((2, 4)), "fc": Linear(np.ones((2, 8))),
                     "n": LIF((2,)), "cnt": SpikeCountArgmax((2,)), "out": Output((2,))},
              edges=[("in", "c"), ("c", "f"), ("f", "fc"), ("fc", "n"), ("n", "cnt"),
                     ("cnt", "out")])
    with pytest.raises(UnsupportedError, match="'c'"):
        quantize(g, rng.random((2, 3, 1, 6)))


def test_threshold_population_and_exact_pooling_readout(rng):
    """HD-SNN topology: delay taps -> Threshold -> pooling ones -> membrane-sum readout."""
    from snnc.compiler.ir import Threshold
    from snnc.compiler.ir.qnodes import QThreshold
    w0, w1 = rng.normal(0, 1, (4, 6)), rng.normal(0, 1, (4, 6))
    g = Graph(
        nodes={"in": Input((6,), dtype="spike"),
               "tap0": DelayedLinear(w0, np.zeros((4, 6), np.int64)),
               "tap1": DelayedLinear(w1, np.ones((4, 6), np.int64)),
               "th": Threshold((4,), np.array([0.1, -0.2, 0.0, 0.3])),
               "pool": Linear(np.kron(np.eye(2), np.ones((1, 2)))),
               "ro": MembraneArgmax((2,), reduce="sum"), "out": Output((2,))},
        edges=[("in", "tap0"), ("in", "tap1"), ("tap0", "th"), ("tap1", "th"),
               ("th", "pool"), ("pool", "ro"), ("ro", "out")])
    x = (rng.random((60, 15, 6)) < 0.3).astype(float)
    q = quantize(g, x[:30])
    assert isinstance(q.nodes["th"], QThreshold)
    # the pooling layer of ones is kept exact: weight 1, unit output scale
    np.testing.assert_array_equal(q.nodes["pool"].weight, [[1, 1, 0, 0], [0, 0, 1, 1]])
    assert q.metadata["quantization"]["nodes"]["ro"]["exact"]
    rf, rq = simulate(g, x, record=True), run_int(q, x, record=True)
    agree_spikes = np.mean(rf.traces["th"] == rq.traces["th"])
    assert agree_spikes > 0.97
    # where the threshold spikes agree, the readout counts are identical
    same = np.all(rf.traces["th"] == rq.traces["th"], axis=(1, 2))
    np.testing.assert_array_equal(rq.output[same], rf.output[same])


def test_ensemble_of_if_modules_summed_into_one_readout(rng):
    """VPR topology: Affine -> IF with recurrent inhibition -> one-hot maps -> summed readout."""
    nodes, edges = {"in": Input((5,)), "places": MembraneArgmax((2,), reduce="sum"),
                    "out": Output((2,))}, [("places", "out")]
    for k in range(2):
        nodes[f"m{k}_fc"] = Affine(rng.normal(0.5, 0.3, (3, 5)), np.full(3, -0.1))
        nodes[f"m{k}_pop"] = IF((3,), v_threshold=np.array(1.0))
        nodes[f"m{k}_inh"] = Linear(-0.5 * (1 - np.eye(3)))
        nodes[f"m{k}_map"] = Linear(np.array([[1.0, 0, 1], [0, 1, 0]]))
        edges += [("in", f"m{k}_fc"), (f"m{k}_fc", f"m{k}_pop"), (f"m{k}_pop", f"m{k}_inh"),
                  (f"m{k}_inh", f"m{k}_pop"), (f"m{k}_pop", f"m{k}_map"),
                  (f"m{k}_map", "places")]
    g = Graph(nodes=nodes, edges=edges)
    x = np.repeat(rng.random((40, 1, 5)), 12, axis=1)
    q = quantize(g, x[:20])
    assert np.mean(predict_int(q, x) == predict(g, x)) >= 0.9


def test_convolutions_quantize_per_channel(rng):
    from snnc.compiler.ir import Conv1d, Conv2d, Flatten
    from snnc.compiler.ir.qnodes import QConv
    g = Graph(
        nodes={"in": Input((2, 6, 6)),
               "c1": Conv2d((6, 6), rng.normal(0, 1, (4, 1, 3, 3)), stride=(1, 1),
                            padding=(1, 1), groups=2, bias=rng.normal(0, 0.1, 4)),
               "n1": LIF((4, 6, 6), tau=np.array(3e-3), v_threshold=np.array(0.5)),
               "f": Flatten((4, 6, 6)), "fc": Linear(rng.normal(0, 0.3, (3, 144))),
               "li": LI((3,), tau=np.array(5e-3)),
               "ro": MembraneArgmax((3,)), "out": Output((3,))},
        edges=[("in", "c1"), ("c1", "n1"), ("n1", "f"), ("f", "fc"), ("fc", "li"),
               ("li", "ro"), ("ro", "out")])
    x = rng.normal(0, 1, (24, 8, 2, 6, 6)) * np.array([1.0, 5.0]).reshape(1, 1, 2, 1, 1)
    q = quantize(g, x[:12])
    c1 = q.nodes["c1"]
    assert isinstance(c1, QConv) and c1.weight.shape == (4, 1, 3, 3)
    assert c1.mult.shape == (4,) and q.nodes["in"].scale.shape == (2, 1, 1)
    rf, rq = simulate(g, x, record=True), run_int(q, x, record=True)
    assert np.mean(rf.traces["n1"] == rq.traces["n1"]) > 0.97
    assert np.mean(predict_int(q, x) == predict(g, x)) >= 0.9
    # 1-D, spike input, stride 2, dilation 2
    g1 = Graph(nodes={"in": Input((3, 11), dtype="spike"),
                      "c": Conv1d(11, rng.normal(0, 1, (2, 3, 3)), stride=2, dilation=2),
                      "n": IF((2, 4), v_threshold=np.array(1.0)),
                      "f": Flatten((2, 4)), "fc": Linear(np.ones((2, 8))),
                      "ro": MembraneArgmax((2,)), "out": Output((2,))},
               edges=[("in", "c"), ("c", "n"), ("n", "f"), ("f", "fc"), ("fc", "ro"),
                      ("ro", "out")])
    xs = (rng.random((16, 10, 3, 11)) < 0.4).astype(float)
    q1 = quantize(g1, xs)
    rf, rq = simulate(g1, xs, record=True), run_int(q1, xs, record=True)
    # error bound: 9 taps of at most half a weight step each, plus the output rounding
    s = q1.nodes["n"].v_scale
    tol = 9 * float(np.max(q1.nodes["c"].w_scale)) / 2 + s
    np.testing.assert_allclose(rq.traces["c"] * s, rf.traces["c"], rtol=0, atol=tol)
    assert np.mean(rf.traces["n"] == rq.traces["n"]) > 0.97
