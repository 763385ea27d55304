"""Host target: the generated C, built with gcc, against the simulators.

Integer builds must equal the integer simulator (compiler/ir/interpret_int.py) bit for bit
on every output of every step, on the full test set of every zoo model
(``models/**/*.snn``) at int8 dense and int8 pruned 80%. Float builds are compared with the
float reference simulator: a double build (``-DSNNC_REAL_DOUBLE``) to rounding, a float32
build (the on-device type) to float32 rounding.

One shared-library build per model and variant per session (module-scoped cache).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir import (
    IF,
    LI,
    Affine,
    Conv1d,
    CubaLIF,
    DelayedLinear,
    Graph,
    Input,
    Linear,
    MembraneArgmax,
    Output,
    SpikeCountArgmax,
    Threshold,
    load,
    simulate,
    verify,
)
from snnc.compiler.ir.interpret_int import quantize_inputs, simulate_int
from snnc.compiler.passes.prune import prune_magnitude
from snnc.compiler.passes.quantize import QuantOptions, quantize
from snnc.compiler.passes.storage import choose_storage

ROOT = Path(__file__).resolve().parents[2]
ZOO = sorted((ROOT / "models").rglob("*.snn"))
# Calibration subset for models whose float simulation is slow (quantization only needs
# ranges; bit-exactness is checked on the full test set regardless).
CALIB_SMALL = 16
FLOAT_SAMPLES = 64

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")


# ------------------------------------------------------------------ test data per model


def model_data(g: Graph) -> tuple[np.ndarray, np.ndarray, str]:
    """(test inputs, calibration inputs, origin) for a zoo graph.

    Models whose metadata names a bundled dataset use its full test split (calibration:
    the train split); others get seeded synthetic inputs of the right shape.
    """
    meta = json.dumps(g.metadata, default=str).lower().replace(" ", "")
    if "basicmotions" in meta:
        from snnc.models.datasets import load_basicmotions

        return load_basicmotions("test")[0], load_basicmotions("train")[0], "BasicMotions test"
    if "japanesevowels" in meta:
        from snnc.models.datasets import load_japanese_vowels

        return (load_japanese_vowels("test")[0], load_japanese_vowels("train")[0][:64],
                "JapaneseVowels test")
    if "motiondirection" in meta:  # models/hdsnn: committed event test set
        from snnc.models.hdsnn.events import flatten_events, load_test_set

        x = flatten_events(load_test_set()[0]).astype(np.float32)
        return x, x[:CALIB_SMALL], "HD-SNN event test set"
    if "vpr" in g.metadata:  # models/vpr: the cached route's query traversals
        from snnc.models.vpr.data import encode, load_route
        from snnc.models.vpr.export import as_current, steps_of

        frames = load_route().frames
        t = steps_of(g)
        q = np.concatenate([v for k, v in sorted(frames.items()) if k != "reference"])
        x = np.ascontiguousarray(as_current(encode(q), t), dtype=np.float32)
        ref = as_current(encode(frames["reference"][:4]), t).astype(np.float32)
        return x, ref, "VPR route queries"
    if "sklearn-digits" in meta:  # models/lsm: rate-coded digits
        from snnc.models.lsm.data import load_digits_spikes

        return (load_digits_spikes("test")[0], load_digits_spikes("train", n=64)[0],
                "digits spikes test")
    (name,) = g.inputs
    node = g.nodes[name]
    r = np.random.default_rng(11)
    shape = (48, 40, *node.shape)
    if node.dtype == "spike":
        x = (r.random(shape) < 0.3).astype(np.float32)
    else:
        x = r.normal(0, 1, shape).astype(np.float32)
    return x, x[:32], "synthetic (seeded)"


def _mismatch(expected: np.ndarray, actual: np.ndarray) -> str:
    bad = np.argwhere(expected != actual)
    i = tuple(bad[0])
    return (f"{len(bad)} of {expected.size} values differ; first at index {i}: expected "
            f"{expected[i]}, actual {actual[i]}; max |diff| "
            f"{np.abs(expected.astype(np.float64) - actual).max()}")


# ------------------------------------------------------------------ one build per variant


class Builds:
    """Compiles each (model, variant) once and keeps the graph, build and inputs."""

    def __init__(self, root: Path):
        self.root = root
        self.cache: dict[tuple[str, str], tuple] = {}

    def graph(self, key: str) -> Graph:
        return load(key)

    def get(self, model: str, variant: str, graph: Graph | None = None,
            data: tuple[np.ndarray, np.ndarray] | None = None):
        k = (model, variant)
        if k in self.cache:
            return self.cache[k]
        from snnc.targets import host

        g = graph if graph is not None else load(model)
        x_test, x_cal, origin = (data[0], data[1], "given") if data else model_data(g)
        profile = host.PROFILE
        if variant == "float":
            gv, profile = g, host.get_profile(real="double")
        elif variant == "float32":
            gv = g
        elif variant == "int8":
            gv = choose_storage(quantize(g, x_cal))
        elif variant == "int8_pruned80":
            gv = choose_storage(quantize(prune_magnitude(g, 0.8, "global"), x_cal))
        elif variant == "int8_csc":
            gv = choose_storage(quantize(g, x_cal), threshold=1.0)
        elif variant == "int16_s32_csc":
            opt = QuantOptions(weight_bits=16, state_bits=32, input_bits=16)
            gv = choose_storage(quantize(g, x_cal, opt), threshold=1.0)
        else:
            raise ValueError(variant)
        d = self.root / f"{Path(model).stem}_{variant}"
        host.compile_model(gv, d)
        cm = host.build(d, profile)
        self.cache[k] = (gv, cm, x_test, origin)
        return self.cache[k]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    return Builds(tmp_path_factory.mktemp("host_builds"))


def _ids(p: Path) -> str:
    return str(p.relative_to(ROOT / "models"))


# ------------------------------------------------------------------ zoo: bit-exact


# The default tier checks int8 on every zoo model's full test set; the pruned and float
# variants of the models whose reference simulation takes many seconds (delays, large
# inputs) run in the slow tier (`pytest -m slow tests/targets/test_host.py`).
FAST = {"examples/tiny_recurrent.snn", "l2mu/l2mu.snn"}


def _zoo(always: bool = False) -> list:
    return [pytest.param(p, id=_ids(p), marks=() if always or _ids(p) in FAST
                         else pytest.mark.slow) for p in ZOO]


# Models whose quantization, build and full-test-set simulation cost about a CPU minute
# (vpr: 16 modules x 784 inputs, 792 queries x 32 steps) run int8 in the slow tier only.
HEAVY = {"vpr/vpr_ensemble.snn"}


@pytest.mark.parametrize("model", [
    pytest.param(p, id=_ids(p), marks=pytest.mark.slow if _ids(p) in HEAVY else ())
    for p in ZOO])
def test_zoo_bit_exact_int8(model: Path, builds: Builds) -> None:
    _check_bit_exact(model, "int8", builds)


@pytest.mark.parametrize("model", _zoo())
def test_zoo_bit_exact_int8_pruned80(model: Path, builds: Builds) -> None:
    _check_bit_exact(model, "int8_pruned80", builds)


def _check_bit_exact(model: Path, variant: str, builds: Builds) -> None:
    gq, cm, x, origin = builds.get(str(model), variant)
    xq = quantize_inputs(gq, x)
    want = simulate_int(gq, xq).output
    got = cm.run(xq)
    want = want.reshape(got.shape)
    assert np.array_equal(got, want), f"{model.name} {variant} on {origin}: " + _mismatch(want, got)
    # Not a vacuous comparison: the model does something on this data. (80% pruning can
    # silence a model as small as tiny_recurrent's readout; then its hidden layer must
    # still be active, and the dense variant covers the outputs.)
    if variant == "int8":
        assert np.any(want != 0), f"{model.name} {variant}: all outputs are zero"
    else:
        traces = simulate_int(gq, xq[:8], record=True).traces
        assert any(np.any(v != 0) for n, v in traces.items() if n not in gq.inputs)


@pytest.mark.parametrize("model", _zoo())
def test_zoo_float_double_matches_reference(model: Path, builds: Builds) -> None:
    g, cm, x, origin = builds.get(str(model), "float")
    x = x[:FLOAT_SAMPLES]  # the float simulator is the slow part; bit-exact tests use all
    got = cm.run(x)  # float32 inputs (the contract's type); double arithmetic inside
    want = simulate(g, x.astype(np.float32).astype(np.float64)).output.reshape(got.shape)
    # Only the summation order of matrix products differs from NumPy's.
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6,
                               err_msg=f"{model.name} float (double build) on {origin}")


def test_float32_build_close_to_reference(builds: Builds) -> None:
    """The on-device float type (one model: the double builds above carry the zoo)."""
    model = ROOT / "models/examples/tiny_recurrent.snn"
    g, cm, x, origin = builds.get(str(model), "float32")
    got = cm.run(x).astype(np.float64)
    want = simulate(g, x.astype(np.float32).astype(np.float64)).output.reshape(got.shape)
    # float32 state can put a membrane on the other side of its threshold; spike-count
    # outputs then differ by a spike or two. Require agreement on nearly all samples.
    close = np.all(np.isclose(got, want, rtol=1e-3, atol=1e-3).reshape(len(x), -1), axis=1)
    assert close.mean() >= 0.9, (f"{model.name} float32 on {origin}: only "
                                 f"{close.mean():.1%} of samples agree")


# ------------------------------------------------------------------ kernels coverage


@pytest.mark.parametrize("model", [
    pytest.param(p, id=_ids(p), marks=pytest.mark.slow if _ids(p) in HEAVY else ())
    for p in ZOO])
def test_zoo_device_encoder_matches_quantize_inputs(model: Path, builds: Builds) -> None:
    """snnc_<model>_encode (float32 on the device) == interpret_int.quantize_inputs."""
    gq, cm, x, origin = builds.get(str(model), "int8")
    if not cm.has_encoder:
        pytest.skip("model has no real-valued inputs")
    assert np.array_equal(cm.encode(x), quantize_inputs(gq, x)), origin
    # Ties and saturation: values exactly halfway between levels, and far out of range.
    (name,) = gq.inputs
    node = gq.nodes[name]
    scale = np.broadcast_to(np.asarray(node.scale, np.float32), node.shape)
    k = np.arange(-140, 141, dtype=np.float32)[:, None]
    edge = np.concatenate([(k + 0.5) * scale, (k - 0.5) * scale, k * 1e4 * scale])
    edge = edge.astype(np.float32)[None]  # [1, rows, channels]
    assert np.array_equal(cm.encode(edge), quantize_inputs(gq, edge))


def test_tiny_all_csc_and_int16_wide_accumulators(builds: Builds) -> None:
    """CSC for every layer (int8), and int16 weights/inputs with 32-bit state, whose
    accumulator bound exceeds int32 so the CSC kernels use their int64 scratch."""
    model = str(ROOT / "models/examples/tiny_recurrent.snn")
    for variant in ("int8_csc", "int16_s32_csc"):
        gq, cm, x, _ = builds.get(model, variant)
        xq = quantize_inputs(gq, x)
        want = simulate_int(gq, xq).output
        got = cm.run(xq)
        assert np.array_equal(got, want.reshape(got.shape)), variant + ": " + _mismatch(
            want.reshape(got.shape), got)
    src = (builds.root / "tiny_recurrent_int16_s32_csc" / "model.c").read_text()
    assert "snnc_qcsc_i16" in src and "s->wide_" in src


def kitchen_sink(spike_input: bool = False) -> Graph:
    """Every kind the C backend lowers: Affine, CubaLIF (zero reset), DelayedLinear, IF,
    Linear, LI, MembraneArgmax (max), Threshold, SpikeCountArgmax, three outputs, a
    recurrent edge."""
    r = np.random.default_rng(5)
    n_in = 5
    d = r.integers(0, 4, (6, 7))
    return verify(Graph(
        nodes={
            "x": Input((n_in,), dtype="spike" if spike_input else "real"),
            "fc": Affine(r.normal(0, 0.8, (7, n_in)), r.normal(0, 0.1, 7)),
            "cuba": CubaLIF((7,), tau_syn=np.array(3e-3), tau_mem=np.full(7, 6e-3),
                            r=np.array(2.0), w_in=np.array(1.5), v_leak=np.array(0.02),
                            v_threshold=np.array(0.2), reset="zero", v_reset=np.array(-0.05)),
            "dl": DelayedLinear(r.normal(0.3, 0.6, (6, 7)), d),
            "if": IF((6,), r=np.array(1.0), v_threshold=np.linspace(0.3, 0.6, 6)),
            "rec": Linear(r.normal(0, 0.4, (6, 6))),
            "fc2": Linear(r.normal(0, 0.7, (3, 6))),
            "li": LI((3,), tau=np.array(5e-3)),
            "mem": MembraneArgmax((3,), reduce="max"),
            "count": SpikeCountArgmax((6,)),
            "fc3": Linear(r.normal(0.2, 0.7, (4, 6))),
            "thr": Threshold((4,), threshold=np.array([0.1, 0.3, -0.2, 0.5])),
            "count3": SpikeCountArgmax((4,)),
            "y_mem": Output((3,)),
            "y_count": Output((6,)),
            "y_thr": Output((4,)),
        },
        edges=[("x", "fc"), ("fc", "cuba"), ("cuba", "dl"), ("dl", "if"), ("if", "rec"),
               ("rec", "if"), ("if", "fc2"), ("fc2", "li"), ("li", "mem"), ("mem", "y_mem"),
               ("if", "count"), ("count", "y_count"), ("if", "fc3"), ("fc3", "thr"),
               ("thr", "count3"), ("count3", "y_thr")],
        dt=1e-3, name="kitchen sink",
    ))


@pytest.mark.parametrize("spike_input", [False, True], ids=["real_in", "spike_in"])
def test_kitchen_sink_int_and_float(spike_input: bool, builds: Builds) -> None:
    g = kitchen_sink(spike_input)
    r = np.random.default_rng(2)
    shape = (24, 30, 5)
    x = ((r.random(shape) < 0.4).astype(np.float32) if spike_input
         else r.normal(0.5, 1, shape).astype(np.float32))
    key = f"kitchen_{spike_input}"
    gq, cm, _, _ = builds.get(key, "int8", graph=g, data=(x, x))
    assert cm.iface.input_ctype == ("uint8_t" if spike_input else "int16_t")
    xq = quantize_inputs(gq, x)
    res = simulate_int(gq, xq)
    want = np.concatenate([res.outputs[n].reshape(len(x), 30, -1) for n in gq.outputs], -1)
    got = cm.run(xq)
    assert np.array_equal(got, want), _mismatch(want, got)
    for n, y in cm.split_outputs(got).items():
        assert np.array_equal(y, res.outputs[n]), n
    for n in gq.outputs:
        assert np.any(res.outputs[n] != 0), f"output {n} is all zeros"
    src = (cm.lib_path.parent / "model.c").read_text()
    # "ring_": the delay ring lowered as specialized C (compiler/codegen/c_delay.py), as
    # are unfused layers over spikes (event-driven over the source's active list)
    for kernel in ("snnc_ev_dense_i8(" if spike_input else "snnc_qdense_i8",
                   "snnc_cubalif_q16", "ring_", "snnc_ev_dense_i8x4",
                   "snnc_li_q", "snnc_threshold_q", "snnc_membrane_q",
                   "!= INT32_MAX"):  # spike counts: specialized increments (c_fused, c.py)
        assert kernel in src, kernel
    gf, cmf, _, _ = builds.get(key, "float", graph=g, data=(x, x))
    resf = simulate(gf, x.astype(np.float64))
    wantf = np.concatenate([resf.outputs[n].reshape(len(x), 30, -1) for n in gf.outputs], -1)
    np.testing.assert_allclose(cmf.run(x), wantf, rtol=1e-6, atol=1e-6)


def test_hand_built_int_graph_recurrent_synapse_input(tmp_path: Path) -> None:
    """A synapse summing a spike input and a population's spikes of step t-1 (its input
    edge is the recurrent one), and a readout fed by two populations: the int32 scratch
    sums of spike vectors, written without the quantize pass."""
    from snnc.compiler.ir.qnodes import QLIF, QInput, QLinear
    from snnc.targets import host

    r = np.random.default_rng(4)
    i8 = lambda shape: r.integers(-90, 120, shape).astype(np.int8)  # noqa: E731
    g = verify(Graph(
        nodes={
            "x": QInput((5,), dtype="spike", bits=1),
            "fc": QLinear(i8((5, 5)), mult=np.array(3, np.int32), shift=np.array(1, np.int32)),
            "lif": QLIF((5,), beta_q=np.array(26000, np.int32), thr_q=np.array(200, np.int32),
                        leak_q=np.array(-3, np.int32)),
            "fc2": QLinear(i8((5, 5)), bias=r.integers(-50, 50, 5).astype(np.int32)),
            "lif2": QLIF((5,), beta_q=np.array(30000, np.int32), thr_q=np.array(150, np.int32),
                         reset="zero", reset_q=np.array(-20, np.int32)),
            "cnt": SpikeCountArgmax((5,)),
            "y": Output((5,)),
        },
        edges=[("x", "fc"), ("fc", "lif"), ("lif", "fc"), ("lif", "fc2"), ("fc2", "lif2"),
               ("lif", "cnt"), ("lif2", "cnt"), ("cnt", "y")],
        name="hand"))
    assert ("lif", "fc") in g.schedule()[1]
    xq = (r.random((10, 40, 5)) < 0.5).astype(np.int32)
    host.compile_model(g, tmp_path)
    got = host.build(tmp_path).run(xq)
    want = simulate_int(g, xq).output
    assert np.array_equal(got, want), _mismatch(want, got)
    assert want[:, -1].sum() > 0


def test_fused_event_paths_bit_exact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The specialized paths of compiler/codegen/c_fused.py against the golden model:
    int16 SIMD accumulators flushed into int32 ones (600 inputs of weight +-127 at 60%
    activity: more than 258 active inputs in one step), a sparse layer stored CSC with
    uint8 rows (no flash for weights as code), a recurrent layer with a bias (must stay on
    the generic path: at t = 0 it delivers 0, not rq(bias)), zero reset and spike counters
    counted in the spike branch."""
    from snnc.compiler.codegen import c_fused
    from snnc.compiler.ir.qnodes import QLIF, QInput, QLinear
    from snnc.targets import host

    monkeypatch.setattr(c_fused, "CODE_BUDGET", 0)

    r = np.random.default_rng(11)
    big = np.where(r.random((40, 600)) < 0.5, 127, -127).astype(np.int8)
    sparse = (r.integers(-100, 100, (30, 40)) * (r.random((30, 40)) < 0.05)).astype(np.int8)
    g = verify(Graph(
        nodes={
            "x": QInput((600,), dtype="spike", bits=1),
            "wide": QLinear(big, mult=np.full(40, 1 << 30, np.int32),
                            shift=np.arange(38, 78).astype(np.int32) // 2),
            "a": QLIF((40,), beta_q=np.array(30000, np.int32), thr_q=np.array(900, np.int32),
                      reset="zero", reset_q=np.array(-40, np.int32)),
            "sp": QLinear(sparse, mult=np.array(1 << 30, np.int32),
                          shift=np.array(24, np.int32)),
            "rec": QLinear(r.integers(-60, 60, (30, 30)).astype(np.int8),
                           bias=r.integers(-900, 900, 30).astype(np.int32),
                           mult=np.array(1 << 30, np.int32), shift=np.array(25, np.int32)),
            "b": QLIF((30,), beta_q=np.array(28000, np.int32), thr_q=np.array(40, np.int32)),
            "cnt": SpikeCountArgmax((30,)),
            "y": Output((30,)),
        },
        edges=[("x", "wide"), ("wide", "a"), ("a", "sp"), ("sp", "b"), ("b", "rec"),
               ("rec", "b"), ("b", "cnt"), ("cnt", "y")],
        name="fused paths"))
    xq = (r.random((4, 30, 600)) < 0.6).astype(np.int32)
    host.compile_model(g, tmp_path)
    src = (tmp_path / "model.c").read_text()
    # rec (biased, t-1: not fused) is event-driven dense (compiler/codegen/c_delay.py)
    for k in ("snnc_ev_dense_i8x4_wide", "snnc_ev_csc_p16_r8", "snnc_ev_dense_i8(acc, rec_w",
              "!= INT32_MAX"):
        assert k in src, k
    got = host.build(tmp_path).run(xq)
    want = simulate_int(g, xq).output
    assert np.array_equal(got, want), _mismatch(want, got)
    assert want[:, -1].sum() > 0


def test_whole_sequence_entry_point_equals_steps(builds: Builds) -> None:
    """``snnc_<model>_run`` (T steps inside C, what CompiledModel.run calls through the
    harness) gives the golden model's outputs, as do the per-step calls it wraps."""
    model = str(ROOT / "models/examples/tiny_recurrent.snn")
    gq, cm, x, _ = builds.get(model, "int8")
    xq = quantize_inputs(gq, x)[:3]
    src = (cm.lib_path.parent / "model.c").read_text()
    assert "SNNC_MODEL_RUN" in (cm.lib_path.parent / "model.h").read_text()
    assert "_run(snnc_" in src
    want = simulate_int(gq, xq).output.reshape(xq.shape[0], xq.shape[1], -1)
    got = cm.run(xq)
    assert np.array_equal(got, want), _mismatch(want, got)
    st = cm.stream()
    for b in range(xq.shape[0]):
        st.reset()
        for t in range(xq.shape[1]):
            assert np.array_equal(st.step(xq[b, t].reshape(-1)), want[b, t]), (b, t)


# ------------------------------------------------------------------ CLI and errors


def test_cli_compile_target_host_builds_bit_exact(tmp_path: Path, snnc_cmd: list[str]) -> None:
    """`snnc compile MODEL --target host -o DIR` (the full pipeline) -> a bit-exact build."""
    from snnc.targets import host

    x = np.random.default_rng(0).normal(0, 1, (16, 25, 4)).astype(np.float32)
    np.save(tmp_path / "calib.npy", x)
    out = tmp_path / "build"
    r = subprocess.run([*snnc_cmd, "compile", str(ROOT / "models/examples/tiny_recurrent.snn"),
                        "--target", "host", "--calib", str(tmp_path / "calib.npy"),
                        "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for f in ("model.h", "model.c", "model.snn", "manifest.json", "report.json"):
        assert (out / f).exists(), f
    assert json.loads((out / "manifest.json").read_text())["target"] == "host"
    gq = load(out / "model.snn")
    cm = host.build(out)
    xq = quantize_inputs(gq, x)
    assert np.array_equal(cm.run(xq), simulate_int(gq, xq).output)


def test_unsupported_op_names_node_and_op(tmp_path: Path) -> None:
    from snnc.compiler.codegen.c import emit_c

    g = verify(Graph(nodes={"x": Input((2, 8)), "conv": Conv1d(8, np.ones((3, 2, 3))),
                            "y": Output((3, 6))},
                     edges=[("x", "conv"), ("conv", "y")], name="convy"))
    with pytest.raises(UnsupportedError, match=r"node 'conv'.*'Conv1d'"):
        emit_c(g)


def test_cli_unsupported_op_is_one_line_error(tmp_path: Path, snnc_cmd: list[str]) -> None:
    from snnc.compiler.ir import save

    g = verify(Graph(nodes={"x": Input((2, 8)), "conv": Conv1d(8, np.ones((3, 2, 3))),
                            "y": Output((3, 6))},
                     edges=[("x", "conv"), ("conv", "y")], name="convy"))
    save(g, tmp_path / "conv.snn")
    out = tmp_path / "b"
    r = subprocess.run([*snnc_cmd, "compile", str(tmp_path / "conv.snn"), "--quantize", "float",
                        "--target", "host", "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 1
    assert "node 'conv'" in r.stderr and "Conv1d" in r.stderr and "Traceback" not in r.stderr
    assert not (out / "model.c").exists() and not (out / "model.h").exists()


def test_build_failure_shows_compiler_message_and_dir(tmp_path: Path, builds: Builds) -> None:
    from snnc.targets import host

    src = builds.root / "tiny_recurrent_int8"
    builds.get(str(ROOT / "models/examples/tiny_recurrent.snn"), "int8")
    d = tmp_path / "broken"
    d.mkdir()
    for f in ("model.h", "model.c"):
        shutil.copy(src / f, d / f)
    (d / "model.c").write_text((d / "model.c").read_text() + "\nint broken(void) { return x; }\n")
    with pytest.raises(SnncError) as e:
        host.build(d)
    msg = str(e.value)
    assert str(d) in msg and "error" in msg and "'x' undeclared" in msg
    assert not (d / host.LIB_NAME).exists()


def test_run_rejects_out_of_range_inputs(builds: Builds) -> None:
    gq, cm, x, _ = builds.get(str(ROOT / "models/examples/tiny_recurrent.snn"), "int8")
    bad = np.full((1, 3, 4), 40000)
    with pytest.raises(SnncError, match="does not fit int16_t"):
        cm.run(bad)


def test_cmake_host_build_matches_gcc_build(tmp_path: Path, builds: Builds) -> None:
    """The CMake path (top-level CMakeLists.txt) builds the same model, same outputs."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake not installed")
    from snnc.targets import host

    gq, cm, x, _ = builds.get(str(ROOT / "models/examples/tiny_recurrent.snn"), "int8")
    d = tmp_path / "cm"
    host.compile_model(gq, d)
    cmk = host.build(d, use_cmake=True)
    xq = quantize_inputs(gq, x)
    assert np.array_equal(cmk.run(xq), cm.run(xq))
