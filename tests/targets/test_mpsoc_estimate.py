"""MPSoC board profiles and the analytical resource / cycle estimator.

The expected figures below are derived by hand from the kernel model documented in
targets/mpsoc/estimate.py (units, rounds, bank shapes, DSP tiles, loop cycles), not by
re-running the estimator's own code.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import Output, SpikeCountArgmax
from snnc.compiler.ir.qnodes import QLIF, QConv, QDelayedLinear, QInput, QLinear
from snnc.targets.mpsoc.estimate import (
    bram18_count,
    check_fit,
    choose_reuse,
    dsp_mult,
    estimate,
    layer_units,
    reuse_candidates,
)
from snnc.targets.mpsoc.profile import LIMITS, PRESETS, get_board


def _input(n: int, spike: bool) -> QInput:
    if spike:
        return QInput(shape=(n,), dtype="spike", scale=np.array(1.0, np.float32),
                      zero_point=np.array(0, np.int32), bits=1)
    return QInput(shape=(n,), dtype="real", scale=np.full(n, 0.1, np.float32),
                  zero_point=np.zeros(n, np.int32), bits=8)


def _linear(n_out: int, n_in: int, cls=QLinear, **kw) -> QLinear:
    w = (np.arange(n_out * n_in) % 7 - 3).astype(np.int8).reshape(n_out, n_in)
    return cls(weight=w, mult=np.full(n_out, 1 << 20, np.int32),
               shift=np.full(n_out, 24, np.int32), **kw)


def _lif(n: int) -> QLIF:
    return QLIF(shape=(n,), beta_q=np.array(29491, np.int32), thr_q=np.array(100, np.int32))


def _chain(n_in: int, n_out: int, spike: bool, syn=None, name: str = "t") -> Graph:
    """input -> fc -> lif -> spike count -> output."""
    nodes = {"input": _input(n_in, spike), "fc": syn or _linear(n_out, n_in),
             "lif": _lif(n_out), "readout": SpikeCountArgmax(shape=(n_out,)),
             "output": Output(shape=(n_out,))}
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "readout"), ("readout", "output")]
    return Graph(nodes, tuple(edges), name=name)


def _two_layer(name: str = "two") -> Graph:
    """real 64 -> fc1 64x64 (DSP MACs) -> lif1 -> fc2 32x64 (spike MACs) -> lif2 -> count."""
    nodes = {"input": _input(64, False), "fc1": _linear(64, 64), "lif1": _lif(64),
             "fc2": _linear(32, 64), "lif2": _lif(32),
             "readout": SpikeCountArgmax(shape=(32,)), "output": Output(shape=(32,))}
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
             ("lif2", "readout"), ("readout", "output")]
    return Graph(nodes, tuple(edges), name=name)


def _node(est, name):
    return next(n for n in est.nodes if n.node == name)


# ------------------------------------------------------------------ profiles


def test_boards():
    assert set(PRESETS) == {"zcu102", "zcu104", "kv260", "ultra96"}
    assert get_board().name == "zcu102" and get_board(None).part == "xczu9eg-ffvb1156-2-e"
    k = get_board("KV260")
    assert (k.part, k.bram18, k.uram, k.dsp) == ("xck26-sfvc784-2LV-c", 2 * 144, 64, 1248)
    assert get_board("zcu104").part == "xczu7ev-ffvc1156-2-e"
    assert get_board("zcu102").clock_ns == pytest.approx(5.0)
    assert LIMITS == {"lut": 0.70, "ff": 0.50, "bram18": 0.80, "dsp": 0.80}
    with pytest.raises(SnncError, match="zcu102, zcu104, kv260, ultra96"):
        get_board("zedboard")


# ------------------------------------------------------------------ primitives


def test_layer_units():
    assert layer_units(4, 3, 1) == 12
    assert layer_units(4, 3, 5) == 3          # ceil(12/5)
    assert layer_units(4, 3, 12) == 1
    assert layer_units(4, 3, 1000) == 1       # clipped
    for bad in (0, -2, 2.5, True):
        with pytest.raises(SnncError, match="reuse"):
            layer_units(4, 3, bad)


def test_bram_and_dsp_tiles():
    # 3000 x 8: 4Kx4 -> 2 x 1, 2Kx9 -> 1 x 2; nothing packs it into one RAMB18.
    assert bram18_count(3000, 8) == 2
    assert bram18_count(2048, 8) == 1         # 2Kx9
    assert bram18_count(512, 72) == 2         # 512x36, twice as wide
    assert bram18_count(16384, 1) == 1
    assert dsp_mult(8, 8) == 1 and dsp_mult(16, 16) == 1 and dsp_mult(27, 18) == 1
    assert dsp_mult(32, 31) == 4              # the requantize product
    assert dsp_mult(17, 32) == 2              # Q0.15 decay of a 32-bit state
    assert dsp_mult(27, 19) == 2


# ------------------------------------------------------------------ hand-computed layers


def test_hand_computed_real_layer():
    """4 real inputs -> 3 outputs at reuse 1: 12 units in 1 round, all in registers."""
    est = estimate(_chain(4, 3, spike=False), get_board("zcu102"), reuse=1)
    fc = _node(est, "fc")
    assert (fc.n_in, fc.n_out, fc.units, fc.rounds) == (4, 3, 12, 1)
    # 12 multipliers (int8 weight x 9-bit input: one DSP48E2 each) + 4 for requantize.
    assert fc.dsp == 16
    assert fc.bram18 == 0
    # rounds 1 + depth 3 + ceil(log2 12) = 4 + requantize loop 3 + 5.
    assert fc.cycles == 16
    # LIF: Q0.15 x int16 decay in one DSP; 3 neurons + 5 pipeline stages.
    lif = _node(est, "lif")
    assert (lif.dsp, lif.cycles, lif.bram18) == (1, 8, 0)
    # Steps: input copy 4+2, fc 16, lif 8, readout 3+5, output copied into its buffer and
    # then into the AXI4-Lite array 2 x (3+2), handshake 5.
    assert est.cycles_per_step == 6 + 16 + 8 + 8 + 10 + 5
    assert est.latency_us_per_step == pytest.approx(est.cycles_per_step / 200.0)
    assert est.fits and est.violations == ()


def test_hand_computed_bram_layer():
    """256 real inputs -> 64 outputs at reuse 256: 64 units, 256 rounds."""
    est = estimate(_chain(256, 64, spike=False), get_board("zcu102"), reuse=256)
    fc = _node(est, "fc")
    assert (fc.units, fc.rounds) == (64, 256)
    # 64 weight banks of 256 x 8 bit = 2048 bit (> 1024: BRAM, 2Kx9 -> 1 each) = 64;
    # the int32 bias, mult, shift tables and the int32 output buffer, 64 x 32 = 2048 bit
    # each -> 1 each (512x36); accumulators are registers.
    assert fc.bram18 == 64 + 4
    assert fc.dsp == 64 + 4
    assert fc.cycles == 256 + 3 + 6 + 64 + 5


@pytest.mark.parametrize("spike", [True, False])
def test_hand_computed_delayed_layer(spike):
    """64 inputs -> 4 outputs, delays up to 15, reuse 256: one unit."""
    delay = (np.arange(4 * 64) % 16).astype(np.int32).reshape(4, 64)
    syn = _linear(4, 64, QDelayedLinear, delay=delay)
    est = estimate(_chain(64, 4, spike=spike, syn=syn), get_board("zcu102"), reuse=256)
    fc = _node(est, "fc")
    assert (fc.units, fc.rounds, fc.kind) == (1, 256, "QDelayedLinear")
    # weights 256x8 -> 1 (2Kx9), delays 256 x uint8 -> 1; the history ring is 16 x 64
    # entries: uint8 spikes, 8192 bit -> 1 (1Kx18); int32 values 32768 bit -> 2 (512x36);
    # accumulators, bias, mult, shift and y (4 entries each): registers / LUTRAM.
    assert fc.bram18 == 1 + 1 + (1 if spike else 2)
    assert fc.dsp == (4 if spike else 1 + 4)  # the MAC unit (real input) + requantize
    # 256 rounds + depth 3 + log2(1) + requantize 4 + 5 + history push 64 + 2.
    assert fc.cycles == 256 + 3 + 0 + 4 + 5 + 64 + 2


def test_recurrent_population_sums_its_sources_first():
    g = _chain(4, 3, spike=False)
    nodes = dict(g.nodes, rec=_linear(3, 3))
    g = Graph(nodes, (*g.edges, ("lif", "rec"), ("rec", "lif")), name="rec")
    est = estimate(g, "ZCU102", reuse=1)                     # a preset name works too
    assert est.board.name == "zcu102"
    lif, rec = est.node("lif"), est.node("rec")
    assert lif.cycles == (3 + 2) + (3 + 5)                   # SUM loop, then the update
    assert (rec.units, rec.dsp) == (9, 4)                    # spikes in: requantize only
    with pytest.raises(SnncError, match="no node 'nope'"):
        est.node("nope")


def test_spike_inputs_use_no_mac_dsp():
    board = get_board("zcu102")
    for r in (1, 4, 64):
        spk = _node(estimate(_chain(32, 16, spike=True), board, r), "fc")
        real = _node(estimate(_chain(32, 16, spike=False), board, r), "fc")
        assert spk.units == real.units == layer_units(32, 16, r)
        assert spk.dsp == 4                   # requantize only
        assert real.dsp == real.units + 4


def test_monotone_in_reuse():
    g = _two_layer()
    board = get_board("zcu102")
    ests = [estimate(g, board, r) for r in reuse_candidates(g)]
    assert [e.reuse for e in ests] == [2 ** i for i in range(13)]   # 64*64 = 4096
    for a, b in zip(ests, ests[1:]):
        assert b.dsp <= a.dsp
        assert b.cycles_per_step >= a.cycles_per_step
        for name in ("fc1", "fc2"):
            assert _node(b, name).units <= _node(a, name).units
    assert ests[0].dsp > ests[4].dsp > ests[-1].dsp
    assert ests[0].lut > ests[2].lut > ests[6].lut > ests[-1].lut
    assert ests[0].cycles_per_step < ests[6].cycles_per_step < ests[-1].cycles_per_step


def test_choose_reuse_is_fastest_fit():
    g = _two_layer()
    board = get_board("ultra96")
    best = choose_reuse(g, board)
    assert best.fits and best.reuse_searched == tuple(reuse_candidates(g))
    for r in best.reuse_searched:
        e = estimate(g, board, r)
        if e.cycles_per_step < best.cycles_per_step:
            assert not e.fits
    assert check_fit(best) is best


# ------------------------------------------------------------------ errors and reports


def test_too_large_for_board_names_the_numbers():
    g = _chain(1024, 512, spike=False, name="big")
    est = estimate(g, get_board("kv260"), reuse=1)
    assert est.dsp == 1024 * 512 + 4 + 1      # MACs, requantize, LIF decay
    with pytest.raises(SnncError) as e:
        check_fit(est)
    msg = str(e.value)
    assert "model 'big' does not fit KV260 (xck26-sfvc784-2LV-c) at reuse 1" in msg
    assert f"DSP {est.dsp:,} > 80% of 1,248 = 998" in msg
    assert "LUT" in msg and "FF" in msg


def test_nothing_fits_reports_closest():
    # 8 Mbit of int8 weights against 288 x 18 Kbit = 5.2 Mbit of BRAM on the KV260.
    g = _chain(1024, 1024, spike=True, name="huge")
    best = choose_reuse(g, get_board("kv260"))
    assert not best.fits
    with pytest.raises(SnncError, match=r"model 'huge' does not fit KV260 .*BRAM18 [\d,]+ > "
                                        r"80% of 288 = 230.*no reuse factor from 1 to 1048576"):
        check_fit(best)


def test_float_and_unsupported_graphs(tiny_graph):
    with pytest.raises(SnncError, match="compile with --quantize int8"):
        estimate(tiny_graph, get_board())
    conv = QConv(input_shape=(8,), weight=np.ones((2, 1, 3), np.int8))
    g = Graph({"input": _input(8, False), "conv": conv, "output": Output(shape=(2, 6))},
              (("input", "conv"), ("conv", "output")), name="c")
    with pytest.raises(UnsupportedError, match="node 'conv'.*QConv"):
        estimate(g, get_board())


def test_reports():
    est = choose_reuse(_two_layer(), get_board("kv260"))
    d = est.to_dict()
    json.dumps(d)
    assert d["board"] == "kv260" and d["totals"]["dsp"] == est.dsp
    assert [n["node"] for n in d["nodes"]][:3] == ["input", "fc1", "lif1"]
    md = est.to_markdown()
    assert "| fc2 | QLinear |" in md and "not a Vitis HLS synthesis report" in md
    assert f"{est.cycles_per_step:,}" in md


def test_quantized_example_fits(tiny_graph):
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline

    rng = np.random.default_rng(0)
    calib = rng.normal(size=(4, 10, 4)).astype(np.float32)
    gq, _ = run_pipeline(tiny_graph, PassContext(options=CompileOptions(calib_samples=4),
                                                 calib=calib, progress=lambda m: None))
    est = check_fit(choose_reuse(gq, get_board("ultra96")))
    # Every synapse of the example reads a real input or spikes; all three are there.
    assert {n.node for n in est.nodes} >= {"fc1", "rec1", "fc2", "lif1"}
    assert est.reuse in est.reuse_searched
