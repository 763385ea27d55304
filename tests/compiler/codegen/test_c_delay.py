"""Specialized kernels of the C backend against the integer golden model
(compiler/ir/interpret_int.py): delay rings and unfused layers over spikes
(compiler/codegen/c_delay.py) and dense int8 layers over small inputs (snnc_mac_i8x16,
compiler/codegen/c_fused.py), on the host (native and -DSNNC_PORTABLE) and, under
``cross``, on the emulated Cortex-M4F (QEMU MPS2 AN386) and Cortex-A72 (qemu-aarch64)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.interpret_int import simulate_int
from snnc.compiler.ir.nodes import Output
from snnc.compiler.ir.qnodes import QIF, QDelayedLinear, QInput, QLinear
from snnc.compiler.ir.verify import verify

STEPS = 14


def _ring(w: np.ndarray, delay: np.ndarray, *, spikes: bool, bits: int = 8,
          out_bits: int = 16, shift: int = 20, bias: np.ndarray | None = None,
          wbits: int = 8, name: str = "g") -> Graph:
    """input -> QDelayedLinear -> Output: the layer's requantized values are the output."""
    n_out, n_in = w.shape
    x = (QInput((n_in,), dtype="spike", bits=1) if spikes
         else QInput((n_in,), bits=bits, zero_point=np.array(3 if bits == 8 else 0, np.int32)))
    r = np.random.default_rng(n_out * 7 + n_in)
    dl = QDelayedLinear(w.astype(np.int8 if wbits == 8 else np.int16), delay=delay.astype(np.int32),
                        bias=(np.zeros(0, np.int32) if bias is None else bias.astype(np.int32)),
                        mult=r.integers(1 << 29, 1 << 31, n_out).astype(np.int32),
                        shift=np.full(n_out, shift, np.int32), out_bits=out_bits,
                        weight_bits=wbits)
    return verify(Graph(nodes={"x": x, "dl": dl, "y": Output((n_out,))},
                        edges=[("x", "dl"), ("dl", "y")], name=name))


def _sparse(r: np.random.Generator, shape: tuple[int, int], density: float,
            lim: int = 127) -> np.ndarray:
    w = r.integers(-lim, lim + 1, shape)
    w[r.random(shape) >= density] = 0
    return w


def _cases() -> dict[str, tuple[Graph, str]]:
    """name -> (graph, a fragment its model.c must contain: the path under test)."""
    r = np.random.default_rng(16)
    w = _sparse(r, (37, 50), 0.9)
    mixed = r.integers(0, 7, w.shape)  # 7 slots: not a power of two
    mixed[0, :] = 0                    # delay 0 and the maximum delay both present
    mixed[1, :] = 6
    sparse = _sparse(r, (300, 40), 0.1)  # > 256 rows: uint16 row indices
    # int32/int64 boundary: int16 weights over 16-bit inputs (the generator's bound for
    # x_q - zero_point: 2^16). One synapse of 32767 per row: 32767 * 2^16 < 2^31 (int32
    # ring, specialized); two: int64 ring (the runtime kernel).
    w32 = np.zeros((4, 6), np.int64)
    w32[:, 0] = [32767, -32767, 32767, -32767]
    w64 = w32.copy()
    w64[:, 1] = [32767, -32767, -32767, 32767]
    zeros = np.zeros(w32.shape, np.int64)
    return {
        "delay0_dense": (_ring(w, np.zeros(w.shape), spikes=True, name="d0"), "acc_dl"),
        "delay3_csc": (_ring(sparse, np.full(sparse.shape, 3), spikes=True, name="d3"),
                       "dl_row"),
        "mixed_spikes": (_ring(w, mixed, spikes=True, name="mix"), "dl_wrap"),
        # 16-bit outputs saturate (shift 14); bias; real inputs multiply.
        "mixed_values_sat": (_ring(w, mixed, spikes=False, shift=14,
                                   bias=r.integers(-5000, 5000, 37), name="mixv"), "dl_wrap"),
        "int32_bound": (_ring(w32, zeros + 2, spikes=False, bits=16, wbits=16, shift=46,
                              name="b32"), "ring_dl"),
        "int64_bound": (_ring(w64, zeros + 2, spikes=False, bits=16, wbits=16, shift=46,
                              name="b64"), "snnc_qdelay_i16_r64("),
    }


CASES = _cases()


def _inputs(g: Graph, seed: int) -> np.ndarray:
    """Two samples: random values (30% spikes), a silent step, a step at the extremes."""
    r = np.random.default_rng(seed)
    x = g.nodes["x"]
    n = x.shape[0]
    if x.dtype == "spike":
        v = (r.random((2, STEPS, n)) < 0.3).astype(np.int64)
        v[:, 4] = 1
    else:
        lo, hi = -(1 << (int(x.bits) - 1)), (1 << (int(x.bits) - 1)) - 1
        v = r.integers(lo, hi + 1, (2, STEPS, n))
        v[:, 4] = lo
        v[:, 6] = hi
    v[:, 2] = np.asarray(x.zero_point)  # x_q - zero_point = 0: no input at all
    return v


def _check_src(name: str, src: str) -> None:
    assert CASES[name][1] in src, name
    if name != "int64_bound":
        assert "snnc_qdelay_" not in src


@pytest.mark.parametrize("portable", [False, True], ids=["native", "portable"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_delay_ring_bit_exact_on_host(name: str, portable: bool, tmp_path: Path) -> None:
    from snnc.targets import host

    g = CASES[name][0]
    host.compile_model(g, tmp_path)
    _check_src(name, (tmp_path / "model.c").read_text())
    x = _inputs(g, 3)
    prof = (host.HostProfile(extra=(*host.HostProfile().extra, "-DSNNC_PORTABLE"))
            if portable else None)
    got = host.build(tmp_path, prof).run(x.astype(np.int32))
    want = simulate_int(g, x).output
    assert np.array_equal(got, want)
    assert np.any(want != 0)
    if name == "mixed_values_sat":  # the 16-bit clamp is reached both ways
        assert want.max() == 32767 and want.min() == -32768
    if name == "int32_bound":  # |acc| reaches 32767 * 32768 ~ 2^30 at the extreme steps
        assert np.abs(want).max() > 1 << 13


def _mac_graph() -> Graph:
    """One int8 input, two large layers over it (one packed int16 copy), an IF each."""
    r = np.random.default_rng(8)
    n_in = 260  # > 256 (not the int16-weight dot path); 260 % 8 = 4: NEON's scalar tail
    x = QInput((n_in,), bits=8, zero_point=r.integers(-20, 20, n_in).astype(np.int32))
    nodes: dict[str, object] = {"x": x}
    edges = []
    for k, n_out in enumerate((24, 9)):
        w = r.integers(-128, 128, (n_out, n_in))
        w[0, :] = -128  # the extreme row: |acc| up to 128 * 255 * 260
        nodes[f"fc{k}"] = QLinear(w.astype(np.int8), mult=np.array(1 << 30, np.int32),
                                  shift=np.array(38, np.int32))
        nodes[f"if{k}"] = QIF((n_out,), thr_q=np.array(200, np.int32))
        nodes[f"y{k}"] = Output((n_out,))
        edges += [("x", f"fc{k}"), (f"fc{k}", f"if{k}"), (f"if{k}", f"y{k}")]
    return verify(Graph(nodes=nodes, edges=edges, name="mac"))


@pytest.mark.parametrize("portable", [False, True], ids=["native", "portable"])
def test_mac_i8x16_bit_exact_on_host(portable: bool, tmp_path: Path) -> None:
    from snnc.targets import host

    g = _mac_graph()
    host.compile_model(g, tmp_path)
    src = (tmp_path / "model.c").read_text()
    assert src.count("snnc_mac_i8x16(") == 2 and src.count("snnc_pack_x16(") == 1
    x = _inputs(g, 4)
    prof = (host.HostProfile(extra=(*host.HostProfile().extra, "-DSNNC_PORTABLE"))
            if portable else None)
    got = host.build(tmp_path, prof).run(x.astype(np.int32))
    want = simulate_int(g, x).output
    assert np.array_equal(got, want)
    assert want.sum() > 0


def _require(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing tools: {', '.join(missing)} (run scripts/setup.sh)")


@pytest.mark.cross
@pytest.mark.parametrize("name", [*sorted(CASES), "mac_i8x16"])
def test_bit_exact_on_emulated_m4_and_a72(name: str, tmp_path: Path) -> None:
    _require("arm-none-eabi-gcc", "qemu-system-arm", "aarch64-linux-gnu-gcc", "qemu-aarch64")
    from snnc.targets.registry import write_build
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user
    from snnc.targets.smartwatch.build import build_firmware
    from snnc.targets.smartwatch.profile import get_profile
    from snnc.targets.smartwatch.run import run_qemu

    g = _mac_graph() if name == "mac_i8x16" else CASES[name][0]
    bd = write_build("smartwatch", g, tmp_path / "b")
    if name != "mac_i8x16":
        _check_src(name, (bd / "model.c").read_text())
    x = _inputs(g, 5)
    want = simulate_int(g, x).output
    m4 = run_qemu(build_firmware(bd, x, get_profile(), tmp_path / "fw"), count=False)
    assert np.array_equal(m4.harness.outputs, want.reshape(m4.harness.outputs.shape))
    a72 = run_qemu_user(build_binary(bd, "pi4", tmp_path / "rpi"), x, count=False)
    assert np.array_equal(a72.harness.outputs, want.reshape(a72.harness.outputs.shape))
