"""RRAM crossbar target: mapping, device statistics, ideal-device equivalence with the float
simulator, seeded/saved chips, the energy model and option errors.

References are independent of the code under test: the float reference simulator, NumPy
matrix products, binomial statistics and a hand-computed energy sum.
"""

from __future__ import annotations

import json
import math
import subprocess

import numpy as np
import pytest

from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir import (
    LI,
    LIF,
    Affine,
    Conv1d,
    DelayedLinear,
    Graph,
    Input,
    Linear,
    MembraneArgmax,
    Output,
    save,
    simulate,
    verify,
)
from snnc.compiler.ir.nodes import SPIKE
from snnc.targets.rram.crossbar import assemble_tiles, map_graph, map_node, read, split_tiles
from snnc.targets.rram.device import PRESETS, get_device
from snnc.targets.rram.energy import CATEGORIES, estimate
from snnc.targets.rram.flow import bench, flash, to_markdown, write_report
from snnc.targets.rram.sim import Activity, flash_chip, load_chip, run_chip, save_chip


def _spikes(rng: np.random.Generator, shape: tuple[int, ...], p: float = 0.2) -> np.ndarray:
    return (rng.random(shape) < p).astype(np.float64)


def mixed_graph(rng: np.random.Generator) -> Graph:
    """Input(40) -> Affine -> recurrent LIF(300) -> DelayedLinear -> LI(7) -> readout.

    300 LIF neurons make the recurrent matrix span 2 x 3 tiles (256 rows, 128 outputs)."""
    n = 300
    g = Graph(
        nodes={
            "input": Input((40,), dtype=SPIKE),
            "fc1": Affine(rng.normal(0, 0.6, (n, 40)), rng.normal(0, 0.05, n)),
            "lif": LIF((n,), tau=np.array(5e-3), r=np.array(1.0), v_threshold=np.array(0.4)),
            "rec": Linear(rng.normal(0, 0.05, (n, n))),
            "dl": DelayedLinear(rng.normal(0, 0.3, (7, n)), rng.integers(0, 3, (7, n))),
            "li": LI((7,), tau=np.array(1e-2)),
            "acc": MembraneArgmax((7,), reduce="sum"),
            "output": Output((7,)),
        },
        edges=[("input", "fc1"), ("fc1", "lif"), ("lif", "rec"), ("rec", "lif"),
               ("lif", "dl"), ("dl", "li"), ("li", "acc"), ("acc", "output")],
        dt=1e-3, name="mixed")
    return verify(g)


def dense_graph(w: np.ndarray) -> Graph:
    """Input -> Linear(w) -> LI -> Output (one synapse layer, no recurrence)."""
    return verify(Graph(
        nodes={"input": Input((w.shape[1],), dtype=SPIKE), "fc": Linear(w),
               "li": LI((w.shape[0],), tau=np.array(1e-2)), "output": Output((w.shape[0],))},
        edges=[("input", "fc"), ("fc", "li"), ("li", "output")], name="dense"))


# ------------------------------------------------------------------ mapping


def test_split_and_reassemble_300x500_exactly(rng):
    """W [300 out, 500 in] -> 2 row tiles x 3 column tiles of 256 x (256/2); the
    differential conductances reassemble W, and an ideal read computes W x."""
    dev = get_device("ideal", levels=16)
    w = rng.integers(-15, 16, (300, 500)).astype(np.float64)   # on the 16-level grid
    w[0, 0] = 15.0
    lm = map_node("fc", Linear(w), dev)
    assert lm.tiles(dev) == (2, 3)
    tiles = split_tiles(lm.g_pos[0] - lm.g_neg[0], dev)
    assert sorted(tiles) == [(i, j) for i in range(2) for j in range(3)]
    assert all(t.shape[0] <= 256 and t.shape[1] <= 128 for t in tiles.values())
    assert tiles[(1, 2)].shape == (500 - 256, 300 - 256)
    back = assemble_tiles(tiles, dev) * lm.weight_per_us(dev)
    np.testing.assert_allclose(back.T, w, rtol=0, atol=1e-12)
    # Conductances are on the level grid and inside the window.
    lv = dev.level_values()
    assert np.all(np.isin(np.round(lm.g_pos[0], 9), np.round(lv, 9)))
    assert lm.g_pos[0].min() >= dev.g_min_us and lm.g_neg[0].max() <= dev.g_max_us
    # An ideal chip's read (digital partial sums across the two row tiles) is W x.
    dev32 = get_device("ideal", levels=16)
    chip = flash_chip(dense_graph(w), dev32, seed=0)
    x = _spikes(rng, (6, 500), 0.3)
    y = read(chip.layers[0], 0, x, dev32, rng=None)
    np.testing.assert_allclose(y, x @ w.T, rtol=0, atol=1e-5)


def test_ideal_device_reproduces_float_simulator(rng):
    g = mixed_graph(rng)
    x = _spikes(rng, (8, 30, 40), 0.25)
    ref = simulate(g, x, record=True)
    chip = flash_chip(g, get_device("ideal"), seed=3)
    got = run_chip(chip, x, record=True)
    for n in ("fc1", "rec", "dl", "li"):
        scale = np.abs(ref.traces[n]).max()
        np.testing.assert_allclose(got.traces[n], ref.traces[n], rtol=0, atol=1e-5 * scale,
                                   err_msg=n)
    # Spikes: identical except where the membrane sits within rounding of the threshold.
    assert np.mean(got.traces["lif"] == ref.traces["lif"]) > 0.999
    assert ref.traces["lif"].mean() > 0.02    # the network is active
    np.testing.assert_allclose(got.output, ref.output, rtol=1e-4, atol=1e-4)


def test_ideal_device_real_valued_inputs(rng):
    """Real-valued inputs beyond the DAC range are scaled in and back out exactly."""
    g = verify(Graph(
        nodes={"input": Input((30,)), "fc": Affine(rng.normal(0, 1, (9, 30)), rng.normal(0, 1, 9)),
               "li": LI((9,), tau=np.array(1e-2)), "output": Output((9,))},
        edges=[("input", "fc"), ("fc", "li"), ("li", "output")]))
    x = rng.normal(0, 10.0, (4, 12, 30))
    x[0, 0] = 0.0
    ref = simulate(g, x, record=True)
    got = run_chip(flash_chip(g, get_device("ideal"), seed=0), x, record=True)
    np.testing.assert_allclose(got.traces["fc"], ref.traces["fc"], rtol=0,
                               atol=1e-5 * np.abs(ref.traces["fc"]).max())


def test_realistic_device_differs_from_float(rng):
    """The non-idealities are actually applied (guards the ideal test from passing
    vacuously)."""
    g = mixed_graph(rng)
    x = _spikes(rng, (4, 20, 40), 0.25)
    ref = simulate(g, x, record=True)
    got = run_chip(flash_chip(g, get_device("neurram"), seed=0), x, record=True)
    err = np.abs(got.traces["fc1"] - ref.traces["fc1"]).mean()
    assert err > 1e-3 * np.abs(ref.traces["fc1"]).mean()


def test_unmappable_nodes_are_named():
    conv = Graph(nodes={"input": Input((2, 8)),
                        "conv": Conv1d(8, np.ones((3, 2, 3))),
                        "output": Output((3, 6))},
                 edges=[("input", "conv"), ("conv", "output")])
    with pytest.raises(UnsupportedError, match="'conv'"):
        map_graph(conv, get_device())
    assert map_graph(conv, get_device(), digital=["conv"]) == []
    with pytest.raises(SnncError, match="nope"):
        map_graph(conv, get_device(), digital=["nope"])


# ------------------------------------------------------------------ device statistics


def test_stuck_at_rates_match_configuration():
    dev = get_device("neurram")
    n = 400_000
    target = np.full(n, 20.0)
    p = dev.program(target, np.random.default_rng(7))
    for mask, prob, g in ((p["stuck_low"], dev.p_stuck_low, dev.g_min_us),
                          (p["stuck_high"], dev.p_stuck_high, dev.g_max_us)):
        k = int(mask.sum())
        sd = math.sqrt(n * prob * (1 - prob))
        assert abs(k - n * prob) < 5 * sd, (k, n * prob)
        assert np.all(p["g"][mask] == g)
    assert not np.any(p["stuck_low"] & p["stuck_high"])
    # Programming error of healthy cells: sigma at mid-window close to prog_sigma_us
    # (plus the d2d gain at 20 uS), mean on target.
    ok = ~(p["stuck_low"] | p["stuck_high"])
    err = p["g"][ok] - 20.0
    expect = math.hypot(float(dev.prog_sigma(np.array(20.0))), dev.d2d_sigma * 20.0)
    assert abs(err.mean()) < 0.02 and abs(err.std() - expect) < 0.02 * expect


def test_switching_distribution_is_about_6_6_uS():
    dev = get_device("neurram", p_stuck_low=0.0, p_stuck_high=0.0)
    d = dev.sample_switching((200_000,), np.random.default_rng(0))
    assert abs(d.mean()) < 0.05
    assert 6.2 < d.std() < 6.7     # 6.6 before clipping to the 1-40 uS window


def test_relaxation_mean_is_log_time():
    dev = get_device("neurram", relax_sigma_us_per_ln_t=0.0, age_s=86400.0)
    g = np.full(10, 20.0)
    out = dev.relax(g, np.zeros(10), np.zeros(10, dtype=bool))
    np.testing.assert_allclose(out, 20.0 - 0.089 * math.log(86400.0))
    stuck = dev.relax(g, np.zeros(10), np.ones(10, dtype=bool))
    np.testing.assert_array_equal(stuck, g)


# ------------------------------------------------------------------ chips


def test_seeded_flash_gives_identical_conductances(rng):
    g = mixed_graph(rng)
    a = flash_chip(g, get_device("neurram"), seed=11)
    b = flash_chip(g, get_device("neurram"), seed=11)
    c = flash_chip(g, get_device("neurram"), seed=12)
    for la, lb, lc in zip(a.layers, b.layers, c.layers):
        for k in range(la.layer.n_matrices):
            np.testing.assert_array_equal(la.g_pos[k], lb.g_pos[k])
            np.testing.assert_array_equal(la.eff_neg[k], lb.eff_neg[k])
            assert not np.array_equal(la.g_pos[k], lc.g_pos[k])


def test_saved_chip_reads_back_identically(rng, tmp_path):
    g = mixed_graph(rng)
    chip = flash_chip(g, get_device("neurram"), seed=5)
    p = save_chip(chip, tmp_path / "chip.npz")
    back = load_chip(p, g)
    assert back.seed == 5 and back.device == chip.device
    for la, lb in zip(chip.layers, back.layers):
        for k in range(la.layer.n_matrices):
            for key in ("g_pos", "g_neg", "stuck_pos", "relax_neg", "eff_pos", "eff_neg"):
                np.testing.assert_array_equal(getattr(la, key)[k], getattr(lb, key)[k])
    x = _spikes(rng, (3, 15, 40))
    np.testing.assert_array_equal(run_chip(chip, x, read_seed=9).output,
                                  run_chip(back, x, read_seed=9).output)
    # A chip is tied to its graph.
    other = g.replace(name="other")
    with pytest.raises(SnncError, match="another graph"):
        load_chip(p, other)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(SnncError, match="junk.npz"):
        load_chip(tmp_path / "junk.npz", g)


def test_flash_and_bench_flow(tmp_path, tiny_graph):
    src = tmp_path / "tiny.snn"
    save(tiny_graph, src)
    chip, path = flash(src, seed=2)
    assert path == tmp_path / "tiny_rram" / "chips" / "neurram_seed2.npz" and path.exists()
    plan = json.loads((tmp_path / "tiny_rram" / "plan.json").read_text())
    assert plan["tiles"] == 3 and plan["cells"] == 2 * (4 * 8 + 8 * 8 + 8 * 3)
    before = path.read_bytes()
    rep = bench(tmp_path / "tiny_rram", seeds=(2, 3), samples=4)
    assert path.read_bytes() == before           # seed 2 was read, not re-flashed
    assert (tmp_path / "tiny_rram" / "chips" / "neurram_seed3.npz").exists()
    assert [c["seed"] for c in rep["chips"]] == [2, 3]
    assert all(0.0 <= c["agreement_with_float"] <= 1.0 for c in rep["chips"])
    e = rep["energy"]["energy_pj"]
    assert e["total"] > 0 and set(e["breakdown"]) == set(CATEGORIES)
    write_report(rep, tmp_path / "r.json", tmp_path / "r.md")
    assert json.loads((tmp_path / "r.json").read_text())["device"] == "neurram"
    assert "Energy per inference" in (tmp_path / "r.md").read_text() == to_markdown(rep)
    with pytest.raises(SnncError, match="seed"):
        flash(src, seed=-1)
    with pytest.raises(SnncError, match="no such"):
        flash(tmp_path / "missing.snn")


# ------------------------------------------------------------------ energy


def test_energy_breakdown_sums_and_scales_with_spikes(rng):
    w = rng.normal(0, 1.0, (20, 64))
    g = dense_graph(w)
    dev = get_device("neurram")
    chip = flash_chip(g, dev, seed=0)
    rows = chip.layers[0].eff_pos[0] + chip.layers[0].eff_neg[0]   # [64, 20]: G per cell
    x = _spikes(rng, (5, 12, 64), 0.1)
    results = []
    for k in (1, 2):
        xk = np.minimum(1.0, x + (_spikes(rng, x.shape, 0.1) if k == 2 else 0.0))
        act = Activity()
        run_chip(chip, xk, activity=act)
        est = estimate(act, dev)
        e = est["energy_pj"]
        assert math.isclose(sum(e["breakdown"].values()), e["total"], rel_tol=1e-12)
        # Hand-computed cell-read energy: V^2 t sum over spikes of the row's conductances.
        hand = (xk.sum(axis=(0, 1)) @ rows.sum(axis=1)) * 1e-6 * dev.v_read ** 2 \
            * dev.t_read_s * 1e12 / xk.shape[0]
        assert math.isclose(e["breakdown"]["cell_reads"], hand, rel_tol=1e-9)
        active_steps = np.any(xk != 0, axis=2).sum() / xk.shape[0]
        assert math.isclose(e["breakdown"]["adc"], active_steps * 20 * dev.adc_pj, rel_tol=1e-12)
        results.append((xk.sum(), e))
    (n1, e1), (n2, e2) = results
    assert n2 > 1.5 * n1
    assert e2["breakdown"]["cell_reads"] > 1.5 * e1["breakdown"]["cell_reads"]
    assert e2["breakdown"]["data_movement"] > e1["breakdown"]["data_movement"]
    # No spikes: no array reads at all, only the neurons' updates.
    act = Activity()
    run_chip(chip, np.zeros((2, 12, 64)), activity=act)
    e0 = estimate(act, dev)["energy_pj"]["breakdown"]
    assert e0["cell_reads"] == e0["adc"] == e0["data_movement"] == 0.0
    assert math.isclose(e0["digital_neurons"], 12 * 20 * dev.neuron_pj)


# ------------------------------------------------------------------ options


@pytest.mark.parametrize("opts, name", [
    ({"levels": 1}, "levels"),
    ({"g_min_us": -1.0}, "g_min_us"),
    ({"g_max_us": 0.5}, "g_max_us"),
    ({"p_stuck_low": 1.5}, "p_stuck_low"),
    ({"adc_bits": 0}, "adc_bits"),
    ({"tile_cols": 255}, "tile_cols"),
    ({"read_noise_rel": -0.1}, "read_noise_rel"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_device_options_name_the_option(opts, name):
    with pytest.raises(SnncError, match=name):
        get_device("neurram", **opts)


def test_unknown_preset_is_named():
    with pytest.raises(SnncError, match="'memristor9000'.*ideal"):
        get_device("memristor9000")
    assert {"neurram", "lsm", "ideal"} <= set(PRESETS)


# ------------------------------------------------------------------ integer graphs


def _quantized(g: Graph, calib: np.ndarray, **opts) -> Graph:
    from snnc.compiler.passes.quantize import QuantOptions, quantize

    return quantize(g, {g.inputs[0]: calib}, QuantOptions(**opts))


def _exact_levels(gq: Graph) -> int:
    """The fewest conductance levels that hold every integer weight of ``gq`` exactly."""
    return max(int(np.abs(np.asarray(n.weight)).max()) for n in gq.nodes.values()
               if hasattr(n, "weight")) + 1


def _assert_bit_exact(gq: Graph, chip, xq: np.ndarray) -> dict[str, np.ndarray]:
    """Every node's trace and state on the chip equals the integer simulator's."""
    from snnc.compiler.ir.interpret_int import simulate_int

    ref = simulate_int(gq, xq, record=True)
    got = run_chip(chip, xq, record=True)
    for n, tr in ref.traces.items():
        assert got.traces[n].dtype == np.int64, n
        np.testing.assert_array_equal(got.traces[n], tr, err_msg=n)
    for n, sts in ref.states.items():
        for k, v in sts.items():
            np.testing.assert_array_equal(got.states[n][k], v, err_msg=f"{n}.{k}")
    np.testing.assert_array_equal(got.output, ref.output)
    return ref.traces


def test_ideal_chip_reproduces_integer_simulator_on_l2mu(repo_root):
    """int8 L2MU (real-valued inputs through the DAC, 10 recurrent layers) on the whole
    BasicMotions test split: bit for bit the integer simulator, with the default ideal
    grid and with exactly as many levels as the weights need (one level step per unit)."""
    from snnc.compiler.ir import load
    from snnc.compiler.ir.interpret_int import quantize_inputs
    from snnc.models.testsets import load_test_data

    g = load(repo_root / "models" / "l2mu" / "l2mu.snn")
    data = load_test_data(g, 1000)
    if data.y is None:
        pytest.skip(f"BasicMotions test split unavailable ({data.source})")
    gq = _quantized(g, data.x[:16])
    xq = quantize_inputs(gq, data.x)
    need = _exact_levels(gq)
    for dev in (get_device("ideal"), get_device("ideal", levels=need)):
        chip = flash_chip(gq, dev, seed=1, strict=True)
        assert all(pl.layer.exact for pl in chip.layers) and len(chip.layers) == 10
        traces = _assert_bit_exact(gq, chip, xq)
    assert traces["h"].mean() > 0.01            # the recurrent layer is actually spiking
    # Float inputs are quantized the same way as predict_int does.
    from snnc.compiler.ir.interpret_int import predict_int
    from snnc.targets.rram.sim import predict_chip

    np.testing.assert_array_equal(predict_chip(chip, data.x), predict_int(gq, data.x))


def test_ideal_chip_reproduces_integer_simulator_on_delayed_tiled_graph(rng, tmp_path):
    """A hand-built graph with a QDelayedLinear (3 delays), an Affine bias, a recurrent
    300x300 matrix spread over 2 x 3 tiles and a membrane readout: bit for bit (also after
    saving and reloading the chip)."""
    from snnc.compiler.ir.interpret_int import quantize_inputs
    from snnc.compiler.ir.qnodes import QDelayedLinear

    g = mixed_graph(rng)
    gq = _quantized(g, _spikes(rng, (8, 30, 40), 0.25))
    assert isinstance(gq.nodes["dl"], QDelayedLinear)
    assert np.asarray(gq.nodes["fc1"].bias).size == 300
    xq = quantize_inputs(gq, _spikes(rng, (6, 30, 40), 0.25))
    chip = flash_chip(gq, get_device("ideal"), seed=0, strict=True)
    by = {pl.layer.node: pl.layer for pl in chip.layers}
    assert by["rec"].tiles(chip.device) == (2, 3) and by["dl"].delays == [0, 1, 2]
    traces = _assert_bit_exact(gq, chip, xq)
    assert 0.02 < traces["lif"].mean() < 0.9
    _assert_bit_exact(gq, load_chip(save_chip(chip, tmp_path / "q.npz"), gq), xq)
    # int4 weights need only 9 levels: 9 is exact, bit for bit again.
    g4 = _quantized(g, _spikes(rng, (8, 30, 40), 0.25), weight_bits=4)
    assert _exact_levels(g4) <= 9
    _assert_bit_exact(g4, flash_chip(g4, get_device("ideal", levels=9), 0, strict=True), xq)


def test_integer_graph_on_real_or_coarse_chip_differs(rng):
    """Guards the bit-exact tests: the neurram chip, or an ideal chip one level short of
    an exact grid, does change the integer results; strict mapping names the numbers."""
    from snnc.compiler.ir.interpret_int import quantize_inputs, simulate_int

    gq = _quantized(mixed_graph(rng), _spikes(rng, (8, 30, 40), 0.25))
    xq = quantize_inputs(gq, _spikes(rng, (6, 30, 40), 0.25))
    ref = simulate_int(gq, xq, record=True)
    need = _exact_levels(gq)
    for dev in (get_device("neurram"), get_device("ideal", levels=need - 1)):
        got = run_chip(flash_chip(gq, dev, seed=0), xq, record=True)
        diff = np.mean(got.traces["fc1"] != ref.traces["fc1"])
        assert diff > 0.05, (dev.name, diff)
    with pytest.raises(SnncError, match=rf"'fc1'.*\|w\| = {need - 1}.*>= {need} "
                                        rf"conductance levels.*levels = 16"):
        flash_chip(gq, get_device("neurram"), seed=0, strict=True)
    plan = map_graph(gq, get_device("neurram"))
    assert not any(lm.exact for lm in plan)


def test_float_layer_in_quantized_graph_or_conv_is_named(tiny_graph):
    rng = np.random.default_rng(0)
    gq = _quantized(tiny_graph, _spikes(rng, (8, 10, 4)))
    assert all(lm.integer for lm in map_graph(gq, get_device()))
    name = next(n for n, v in gq.items() if v.kind == "QLinear")
    nodes = dict(gq.nodes)
    w = np.asarray(nodes[name].weight, dtype=np.float64)
    nodes[name] = Linear(w)
    mixed = Graph(nodes=nodes, edges=list(gq.edges), dt=gq.dt, name="mixed")
    with pytest.raises(UnsupportedError, match=f"'{name}'.*float Linear"):
        map_graph(mixed, get_device())


# ------------------------------------------------------------------ CLI


def test_cli_flash_and_bench_sim(tmp_path, tiny_graph, snnc_cmd):
    src = tmp_path / "tiny.snn"
    save(tiny_graph, src)
    r = subprocess.run(snnc_cmd + ["flash", str(src), "--device", "sim", "--seed", "4"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["seed"] == 4 and (tmp_path / "tiny_rram" / "chips" / "neurram_seed4.npz").exists()
    r = subprocess.run(snnc_cmd + ["bench", str(src), "--device", "sim", "--samples", "3",
                                   "--chips", "2", "--json", str(tmp_path / "b.json"),
                                   "--md", str(tmp_path / "b.md")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Energy per inference" in r.stdout
    assert len(json.loads((tmp_path / "b.json").read_text())["chips"]) == 2
    r = subprocess.run(snnc_cmd + ["flash", str(src), "--device", "sim", "--profile", "nope"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "nope" in r.stderr and "Traceback" not in r.stderr


def test_cli_compile_int8_and_bench_ideal_chip(tmp_path, tiny_graph, snnc_cmd):
    """`snnc compile --target rram` (int8 by default) builds an integer plan; an ideal chip
    then agrees with the integer simulator on every sample, a neurram chip is rounded."""
    src = tmp_path / "tiny.snn"
    save(tiny_graph, src)
    np.save(tmp_path / "calib.npy", _spikes(np.random.default_rng(1), (8, 20, 4), 0.3))
    r = subprocess.run(snnc_cmd + ["compile", str(src), "--target", "rram", "--calib",
                                   str(tmp_path / "calib.npy"), "-o", str(tmp_path / "b")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    plan = json.loads((tmp_path / "b" / "plan.json").read_text())
    assert {row["integer_grid"] for row in plan["layers"]} == {"rounded"}   # 16 levels
    r = subprocess.run(snnc_cmd + ["bench", str(tmp_path / "b"), "--device", "sim",
                                   "--profile", "ideal", "--samples", "6", "--chips", "1",
                                   "--json", str(tmp_path / "r.json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["reference"] == "int simulator" and rep["samples"] == 6
    assert rep["chips"][0]["agreement_with_int"] == 1.0
    assert {row["integer_grid"] for row in rep["mapping"]["layers"]} == {"exact"}


def test_sweep_script_smoke(tmp_path):
    """snnc.bench.rram_sweeps on 4 samples x 1 chip: every point is present, the preset point
    recurs identically in every sweep (same chip), and the README is left alone."""
    from snnc.bench import rram_sweeps

    before = rram_sweeps.README.read_text()
    assert rram_sweeps.main(["--chips", "1", "--samples", "4", "--models", "l2mu",
                             "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "rram_sweeps.json").read_text())
    m = res["models"]["l2mu"]
    assert m["samples"] == 4 and set(m["configs"]) == {"faults", "no_faults"}
    for cfg in m["configs"].values():
        pre = cfg["preset_point"]["per_chip"]
        for param, values in rram_sweeps.SWEEPS.items():
            rows = cfg["sweeps"][param]
            assert [r["value"] for r in rows] == list(values)
            assert all(0.0 <= r["mean"] <= 1.0 for r in rows)
            i = list(values).index(res["preset"][param])
            assert rows[i]["per_chip"] == pre
    assert "| conductance levels per cell |" in (tmp_path / "rram_sweeps.md").read_text()
    assert rram_sweeps.README.read_text() == before
