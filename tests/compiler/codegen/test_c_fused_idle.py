"""The idle-neuron skip and compile-time rows of compiler/codegen/c_fused.py against the
integer golden model (compiler/ir/interpret_int.py): host gcc, and (cross) the emulated
Cortex-M4 and Cortex-A72.

A neuron with no input event whose membrane is at rest (a value its update keeps without
a spike) is skipped; a dot-path row without weights gets rq(bias) computed at compile
time. Both must leave every spike of every step as the golden model computes it, so the
graphs mix the edge cases: neurons that leak back to exactly 0, ones that decay rounding
keeps at +-1, no decay at all, nonzero leak and bias (rest away from 0), zero reset to a
nonzero value, saturation at the bottom of the range as a rest value, spike outputs in
the shared arena (a skipped neuron must still write its 0).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.codegen.c_fused import rest_range
from snnc.compiler.ir import Graph, Output, SpikeCountArgmax, verify
from snnc.compiler.ir.interpret_int import simulate_int
from snnc.compiler.ir.qnodes import QIF, QLIF, QInput, QLinear

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "targets"))
from target_helpers import require  # noqa: E402

I32 = np.int32


# ------------------------------------------------------------------ rest ranges by hand


@pytest.mark.parametrize("lif,beta,c,thr,want", [
    # beta < 1/2: (beta * +-1 + 2^14) >> 15 == 0, so only 0 stays (leaks back to 0).
    (True, 11437, 0, 100, (0, 0)),
    # beta = 19875: v = 1 -> (19875 + 16384) >> 15 = 1 and v = -1 -> -1; v = 2 -> 1.
    (True, 19875, 0, 100, (-1, 1)),
    # No decay (beta = 1.0): every value up to the threshold stays.
    (True, 32768, 0, 500, (-32768, 500)),
    # Leak -3, beta 26000 (>> floors): v = -16 -> (-416000 + 16384) >> 15 = -13, -13 - 3
    # = -16; -15 -> -12 - 3; -14 -> -11 - 3; -13 -> -10 - 3: all stay. v = -17 -> -13 - 3
    # = -16 and v = -12 -> -10 - 3 = -13 move.
    (True, 26000, -3, 100, (-16, -13)),
    # A rest value above the threshold would spike: none.
    (True, 19875, 0, 0, (-1, 0)),
    # No decay, constant +50: only the saturated 32767 stays, and it is above thr.
    (True, 32768, 50, 100, (1, 0)),
    # IF: v + 0 always stays (up to thr); a negative constant only where it saturates.
    (False, 0, 0, 200, (-32768, 200)),
    (False, 0, -5000, 200, (-32768, -32768)),
    (False, 0, 7, 200, (1, 0)),
])
def test_rest_range_hand_cases(lif: bool, beta: int, c: int, thr: int,
                               want: tuple[int, int]) -> None:
    assert rest_range(lif, beta, c, thr, 16) == want


# ------------------------------------------------------------------ graphs


def _sparse(r: np.random.Generator, shape: tuple[int, int], density: float,
            amp: int = 127) -> np.ndarray:
    w = r.integers(-amp, amp + 1, shape) * (r.random(shape) < density)
    return w.astype(np.int8)


def spike_graph() -> Graph:
    """Spikes at ~5% activity through sparse layers into four kinds of population."""
    r = np.random.default_rng(3)
    n = 32
    betas = np.array([11437, 19875, 32768, 26000], I32)[np.arange(n) % 4]
    leak = np.select([np.arange(n) % 5 == 4, np.arange(n) % 7 == 6], [-3, 2], 0).astype(I32)
    bias2 = np.where(np.arange(20) % 3 == 0, r.integers(-40, 40, 20), 0).astype(I32)
    bias3 = np.where(np.arange(16) % 2 == 0, -300, 0).astype(I32)  # rq: -300 * 2^4
    return verify(Graph(
        nodes={
            "x": QInput((64,), dtype="spike", bits=1),
            "l1": QLinear(_sparse(r, (n, 64), 0.1), mult=np.array(1 << 30, I32),
                          shift=np.array(27, I32)),  # rq(acc) = 8 acc
            "a": QLIF((n,), beta_q=betas, leak_q=leak,
                      thr_q=r.integers(300, 3000, n).astype(I32)),
            "l2": QLinear(_sparse(r, (20, n), 0.15), bias=bias2,
                          mult=np.array(1 << 30, I32), shift=np.array(26, I32)),
            "b": QLIF((20,), beta_q=np.array(30000, I32), thr_q=np.array(500, I32),
                      reset="zero", reset_q=np.array(-40, I32)),
            "l3": QLinear(_sparse(r, (16, n), 0.15), bias=bias3,
                          mult=np.array(1 << 30, I32), shift=np.array(26, I32)),
            "c": QIF((16,), thr_q=np.array(200, I32)),
            "l4": QLinear(_sparse(r, (20, n), 0.2), mult=np.array(1 << 30, I32),
                          shift=np.array(25, I32)),
            "d": QLIF((20,), beta_q=np.array(19875, I32), thr_q=np.array(800, I32)),
            "cnt_a": SpikeCountArgmax((n,)),
            "cnt_bd": SpikeCountArgmax((20,)),  # two populations: their spikes in buffers
            "cnt_c": SpikeCountArgmax((16,)),
            "y_a": Output((n,)), "y_bd": Output((20,)), "y_c": Output((16,)),
        },
        edges=[("x", "l1"), ("l1", "a"), ("a", "l2"), ("l2", "b"), ("a", "l3"), ("l3", "c"),
               ("a", "l4"), ("l4", "d"), ("a", "cnt_a"), ("b", "cnt_bd"), ("d", "cnt_bd"),
               ("c", "cnt_c"), ("cnt_a", "y_a"), ("cnt_bd", "y_bd"), ("cnt_c", "y_c")],
        name="idle spikes"))


def sensor_graph() -> Graph:
    """A quantized sensor read by per-neuron dot products: most rows without weights
    (constant input rq(bias), some biases beyond int16), one layer with no weights."""
    r = np.random.default_rng(5)
    w = np.zeros((24, 6), np.int8)
    w[[2, 9, 15, 20]] = r.integers(-127, 128, (4, 6))
    return verify(Graph(
        nodes={
            "x": QInput((6,), scale=np.full(6, 0.05, np.float32),
                        zero_point=np.array([3, -2, 0, 1, 5, -4], I32)),
            "enc": QLinear(w, bias=r.integers(-60000, 60000, 24).astype(I32),
                           mult=r.integers(1 << 29, 1 << 30, 24).astype(I32),
                           shift=r.integers(35, 38, 24).astype(I32)),
            "e": QLIF((24,), beta_q=np.array(19875, I32), thr_q=np.array(1080, I32)),
            "const": QLinear(np.zeros((4, 6), np.int8), bias=np.array([9000, 0, -9000, 40], I32),
                             mult=np.array(1 << 30, I32), shift=np.array(33, I32)),
            "g": QLIF((4,), beta_q=np.array(11437, I32), thr_q=np.array(1000, I32)),
            "l": QLinear(_sparse(r, (10, 24), 0.2), mult=np.array(1 << 30, I32),
                         shift=np.array(24, I32)),
            "f": QLIF((10,), beta_q=np.array(26000, I32), leak_q=np.array(-3, I32),
                      thr_q=np.array(900, I32)),
            "cnt_e": SpikeCountArgmax((24,)), "cnt_g": SpikeCountArgmax((4,)),
            "cnt_f": SpikeCountArgmax((10,)),
            "y_e": Output((24,)), "y_g": Output((4,)), "y_f": Output((10,)),
        },
        edges=[("x", "enc"), ("enc", "e"), ("x", "const"), ("const", "g"), ("e", "l"),
               ("l", "f"), ("e", "cnt_e"), ("g", "cnt_g"), ("f", "cnt_f"),
               ("cnt_e", "y_e"), ("cnt_g", "y_g"), ("cnt_f", "y_f")],
        name="idle sensor"))


def inputs(g: Graph, samples: int = 3, steps: int = 60) -> np.ndarray:
    """~5% spike activity, or a slowly varying int8 sensor."""
    r = np.random.default_rng(9)
    node = g.nodes[g.inputs[0]]
    if node.dtype == "spike":
        return (r.random((samples, steps, *node.shape)) < 0.05).astype(np.int32)
    t = np.arange(steps)[None, :, None]
    return np.clip(np.round(60 * np.sin(t / 7 + r.random((samples, 1, 6)) * 6)), -128,
                   127).astype(np.int32)


def want_of(g: Graph, x: np.ndarray) -> np.ndarray:
    res = simulate_int(g, x.astype(np.int64))
    return np.concatenate([res.outputs[o].reshape(len(x), x.shape[1], -1) for o in g.outputs],
                          axis=-1)


GRAPHS = {"spikes": spike_graph, "sensor": sensor_graph}
# The two forms of the skip: a test per neuron (populations with a spike buffer) and the
# bit mask of the neurons to update (up to 32 neurons).
SKIPS = {"spikes": ("v at rest", "snnc_ctz32(todo)"), "sensor": ("snnc_ctz32(todo)",)}


@pytest.mark.parametrize("portable", [False, True], ids=["native", "portable"])
@pytest.mark.parametrize("which", sorted(GRAPHS))
def test_idle_skip_bit_exact_on_host(which: str, portable: bool, tmp_path: Path) -> None:
    """Native build and -DSNNC_PORTABLE (the kernels' portable C fallbacks)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    from snnc.targets import host

    g = GRAPHS[which]()
    x = inputs(g)
    host.compile_model(g, tmp_path)
    prof = host.HostProfile(extra=(*host.HostProfile().extra, "-DSNNC_PORTABLE")) \
        if portable else None
    src = (tmp_path / "model.c").read_text()
    for k in SKIPS[which]:
        assert k in src, k
    if which == "sensor":
        assert "enc_rq_bias[i] != INT32_MIN" in src and "snnc_dot_i16x2" in src
    got = host.build(tmp_path, prof).run(x)
    want = want_of(g, x)
    assert np.array_equal(got.reshape(want.shape), want)
    assert want[:, -1].sum() > 0
    # The skip is exercised: many neuron-steps have no input and keep their membrane.
    res = simulate_int(g, x.astype(np.int64), record=True)
    pop = "a" if which == "spikes" else "e"
    layer = "l1" if which == "spikes" else "enc"
    v = res.states[pop]["v"]
    still = (res.traces[layer][:, 1:] == res.traces[layer][:, :-1]) & (v[:, 1:] == v[:, :-1])
    assert still.mean() > 0.1, still.mean()


@pytest.mark.cross
@pytest.mark.parametrize("which", sorted(GRAPHS))
def test_idle_skip_bit_exact_on_emulated_m4(which: str, tmp_path: Path) -> None:
    require("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm", "cc")
    from snnc.targets.registry import write_build
    from snnc.targets.smartwatch.build import build_firmware
    from snnc.targets.smartwatch.profile import get_profile
    from snnc.targets.smartwatch.run import run_qemu

    g = GRAPHS[which]()
    x = inputs(g)
    bd = write_build("smartwatch", g, tmp_path / "b")
    for k in SKIPS[which]:
        assert k in (bd / "model.c").read_text(), k
    out = run_qemu(build_firmware(bd, x, get_profile(), tmp_path / "fw"), count=False)
    want = want_of(g, x)
    assert np.array_equal(out.harness.outputs.reshape(want.shape), want)


@pytest.mark.cross
@pytest.mark.parametrize("which", sorted(GRAPHS))
def test_idle_skip_bit_exact_under_qemu_aarch64(which: str, tmp_path: Path) -> None:
    require("aarch64-linux-gnu-gcc", "qemu-aarch64", "cc")
    from snnc.targets.registry import write_build
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user

    g = GRAPHS[which]()
    x = inputs(g)
    bd = write_build("rpi", g, tmp_path / "b")
    out = run_qemu_user(build_binary(bd, "pi4", tmp_path / "bin"), x, count=False)
    want = want_of(g, x)
    assert np.array_equal(out.harness.outputs.reshape(want.shape), want)


# ------------------------------------------------------------------ planning


def _float_layer() -> Graph:
    """Spikes -> Linear -> 16 LIF neurons (the quantize pass sees its activity)."""
    from snnc.compiler.ir import LIF, Input, Linear

    r = np.random.default_rng(2)
    w = r.normal(0, 0.5, (16, 40)) * (r.random((16, 40)) < 0.3)
    return verify(Graph(
        nodes={"x": Input((40,), dtype="spike"), "fc": Linear(w),
               "lif": LIF((16,), tau=np.array(5e-3), v_threshold=np.array(0.5)),
               "cnt": SpikeCountArgmax((16,)), "y": Output((16,))},
        edges=[("x", "fc"), ("fc", "lif"), ("lif", "cnt"), ("cnt", "y")],
        dt=1e-3, name="planned"))


@pytest.mark.parametrize("activity,skips", [(0.02, True), (0.6, False)])
def test_skip_planned_from_calibration_spike_rates(activity: float, skips: bool) -> None:
    """The quantize pass records each spiking node's calibration spike rate (checked
    against the input itself); the idle skip is planned only where few rows get events:
    ~12 weights per row at 2% activity leave ~78% of rows without one, at 60% none."""
    from snnc.compiler.codegen.c import emit_c
    from snnc.compiler.passes.quantize import quantize

    g = _float_layer()
    x = (np.random.default_rng(4).random((16, 50, 40)) < activity).astype(np.float32)
    gq = quantize(g, x)
    rate = gq.metadata["quantization"]["nodes"]["x"]["spike_rate"]
    assert rate == pytest.approx(float(np.mean(x != 0)))
    assert 0 <= gq.metadata["quantization"]["nodes"]["lif"]["spike_rate"] <= 1
    src = emit_c(gq).source
    assert ("snnc_ctz32(todo)" in src) is skips
