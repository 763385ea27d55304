"""Synapse storage of the specialized C path (compiler/codegen/c_fused.py): weights
compiled into code ("code"), CSC and dense column-major, each against the integer golden
model (compiler/ir/interpret_int.py) on the host and, under ``cross``, on the emulated
Cortex-M4F (QEMU MPS2 AN386) and Cortex-A72 (qemu-aarch64)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.codegen import c_fused
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.interpret_int import simulate_int
from snnc.compiler.ir.nodes import Output, SpikeCountArgmax
from snnc.compiler.ir.qnodes import QLIF, QInput, QLinear
from snnc.compiler.ir.verify import verify


def _graph(w: np.ndarray, rec: np.ndarray | None = None, name: str = "g") -> Graph:
    """Spikes -> w -> 16-bit LIF (+ optional recurrent rec) -> spike counts."""
    n_out, n_in = w.shape
    nodes = {
        "x": QInput((n_in,), dtype="spike", bits=1),
        "fc": QLinear(w.astype(np.int8), mult=np.array(1 << 30, np.int32),
                      shift=np.array(27, np.int32)),
        "lif": QLIF((n_out,), beta_q=np.array(29491, np.int32), thr_q=np.array(300, np.int32)),
        "cnt": SpikeCountArgmax((n_out,)),
        "y": Output((n_out,)),
    }
    edges = [("x", "fc"), ("fc", "lif"), ("lif", "cnt"), ("cnt", "y")]
    if rec is not None:
        nodes["rec"] = QLinear(rec.astype(np.int8), mult=np.array(1 << 30, np.int32),
                               shift=np.array(27, np.int32))
        edges += [("lif", "rec"), ("rec", "lif")]
    return verify(Graph(nodes=nodes, edges=edges, name=name))


def _sparse(r: np.random.Generator, shape: tuple[int, int], density: float) -> np.ndarray:
    w = r.integers(-127, 128, shape)
    w[r.random(shape) >= density] = 0
    return w


def _inputs(r: np.random.Generator, n_in: int, steps: int = 12) -> np.ndarray:
    """Two samples: random 30% activity, with one silent and one all-active step."""
    x = (r.random((2, steps, n_in)) < 0.3).astype(np.uint8)
    x[:, 2] = 0
    x[:, 5] = 1  # 100% activity
    return x


def _cases() -> dict[str, tuple[Graph, int | None]]:
    """name -> (graph, code_budget): edge cases of every storage."""
    r = np.random.default_rng(21)
    w = _sparse(r, (40, 120), 0.08)
    w[:, 7] = 0  # inputs without weights
    w[:, 50:60] = 0
    w[3, :] = 0  # a row no input reaches
    # Row 255 (the last uint8 row index) and row 256 (the first that needs more).
    w256 = _sparse(r, (256, 60), 0.05)
    w256[255, ::3] = r.integers(1, 128, 20)
    w257 = _sparse(r, (257, 60), 0.05)
    w257[255, ::3] = 127
    w257[256, 1::3] = -127
    # Row 1023: the largest offset one Thumb-2 load/store immediate reaches (4092).
    w1024 = _sparse(r, (1024, 20), 0.01)
    w1024[1023, ::2] = 127
    w1024[1022, 1::2] = -128
    # A budget for the first 60 of 120 inputs as code: the rest stay CSC.
    wsplit = _sparse(r, (300, 120), 0.06)
    wsplit[299, 59:62] = [100, -100, 90]
    # Rows far past one Thumb-2 load offset, with gaps longer than one base move (4092 B).
    wfar = _sparse(r, (2200, 20), 0.01)
    wfar[0, ::2], wfar[2199, ::2], wfar[1100, 1::2] = 5, -7, 127
    return {
        "code_rows2200": (_graph(wfar, name="code_rows2200"), None),
        "code_split": (_graph(wsplit, name="code_split"),
                       int(c_fused._split_bytes(wsplit)[60])),
        "code": (_graph(w, _sparse(r, (40, 40), 0.1), "code"), None),
        "code_rows1024": (_graph(w1024, name="code_rows1024"), None),
        "code_rows256": (_graph(w256, name="code_rows256"), None),
        "code_rows257": (_graph(w257, name="code_rows257"), None),
        "code_all_zero": (_graph(np.zeros((16, 30), np.int64), name="code_all_zero"), None),
        "csc_rows256": (_graph(w256, name="csc_rows256"), 0),
        "csc_rows257": (_graph(w257, name="csc_rows257"), 0),
    }


CASES = _cases()


def _storage(name: str, src: str) -> str:
    if "fc_add_spikes" in src:
        return "code"
    return "csc" if "snnc_ev_csc" in src else "other"


def test_storage_for_prefers_code_only_when_it_saves() -> None:
    """Estimated instructions per active input decide; code needs a margin over the best
    table storage, and a dense column is never replaced by code of the same cost."""
    r = np.random.default_rng(0)
    assert c_fused.storage_for(_sparse(r, (200, 2312), 0.1), code=True) == "code"
    assert c_fused.storage_for(_sparse(r, (200, 2312), 0.1)) == "csc"
    assert c_fused.storage_for(_sparse(r, (1000, 100), 1.0), code=True) == "dense"
    assert c_fused.storage_for(_sparse(r, (3, 8), 1.0), code=True) == "dense"


def test_code_budget_bounds_the_flash_of_code() -> None:
    """Layers become code smallest first while the estimated flash fits the budget."""
    from snnc.compiler.codegen.c import emit_c

    r = np.random.default_rng(3)
    g = _graph(_sparse(r, (100, 500), 0.1), _sparse(r, (100, 100), 0.1))
    w_fc, w_rec = (np.asarray(g.nodes[n].weight) for n in ("fc", "rec"))
    big, small = c_fused.code_bytes(w_fc), c_fused.code_bytes(w_rec)
    assert "fc_add_spikes" in emit_c(g).source  # both fit the default budget
    both = emit_c(g, code_budget=big + small).source
    assert "fc_add_spikes" in both and "rec_add_spikes" in both
    # The budget covers the model's weights: fc's CSC tables + rec as code.
    one = emit_c(g, code_budget=c_fused._table_bytes(w_fc, "csc") + small).source
    assert "fc_add_spikes" not in one and "rec_add_spikes" in one
    none = emit_c(g, code_budget=0).source
    assert "_add_spikes" not in none and "snnc_ev_csc" in none


@pytest.mark.parametrize("portable", [False, True], ids=["native", "portable"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_storage_bit_exact_on_host(name: str, portable: bool, tmp_path: Path) -> None:
    """Native build (code storage as x86-64 assembly there) and -DSNNC_PORTABLE (C)."""
    from snnc.targets import host

    if portable and not name.startswith("code"):
        pytest.skip("the CSC cases have no separate portable code of their own here")
    g, budget = CASES[name]
    host.compile_model(g, tmp_path, code_budget=budget)
    src = (tmp_path / "model.c").read_text()
    assert _storage(name, src) == name.split("_")[0], src[:2000]
    if name == "code":
        assert "fc_none" in src and "rec_add_spikes" in src
    if name == "code_split":  # input 59 as code, 60 and 61 through the CSC function
        assert "SNNC_CODE_FN(fc_in59," in src and "SNNC_CODE_FN(fc_in60," not in src
        assert "fc_csc_column, fc_csc_column" in src
    x = _inputs(np.random.default_rng(5), g.nodes["x"].shape[0])
    prof = (host.HostProfile(extra=(*host.HostProfile().extra, "-DSNNC_PORTABLE"))
            if portable else None)
    got = host.build(tmp_path, prof).run(x.astype(np.int32))
    want = simulate_int(g, x.astype(np.int64)).output
    assert np.array_equal(got, want)
    if name != "code_all_zero":
        assert want[:, -1].sum() > 0  # the layer made its population spike


def test_code_steps_by_hand() -> None:
    """Rows near the base are addressed from it, farther ones move it with the load (up to
    252 bytes) or with ADDW first (up to 4092 bytes each)."""
    steps = c_fused.code_steps([0, 31, 32, 95, 96, 2000])
    assert steps == [("near", 0, 0), ("near", 31, 124), ("writeback", 32, 128),
                     ("writeback", 95, 252), ("near", 96, 4),
                     ("move", 2000, 4092), ("move", 2000, 3528), ("near", 2000, 0)]
    # 5 near x 6 + 2 writebacks x 8 + 2 moves x 4 bytes of Thumb-2
    w = np.zeros((2001, 2), np.int64)
    w[[0, 31, 32, 95, 96, 2000], 1] = 1
    assert c_fused.code_col_bytes(w).tolist() == [0, 48]
    assert c_fused.code_bytes(w) == 48 + 4 + 2 * 4  # + return, + two pointers


def test_wide_layer_becomes_code() -> None:
    """Rows past 1023 are reached by moving the base: wide sparse layers can be code."""
    from snnc.compiler.codegen.c import emit_c

    w = _sparse(np.random.default_rng(4), (1100, 50), 0.02)
    src = emit_c(_graph(w)).source
    assert "fc_add_spikes" in src and "SNNC_CODE_MOVE(" in src


def _require(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"missing tools: {', '.join(missing)} (run scripts/setup.sh)")


@pytest.mark.cross
@pytest.mark.parametrize("name", sorted(CASES))
def test_storage_bit_exact_on_emulated_m4_and_a72(name: str, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _require("arm-none-eabi-gcc", "arm-none-eabi-nm", "qemu-system-arm",
             "aarch64-linux-gnu-gcc", "qemu-aarch64")
    from snnc.targets.registry import write_build
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user
    from snnc.targets.smartwatch.build import build_firmware
    from snnc.targets.smartwatch.profile import get_profile
    from snnc.targets.smartwatch.run import run_qemu

    g, budget = CASES[name]
    if budget is not None:
        monkeypatch.setattr(c_fused, "CODE_BUDGET", budget)
    bd = write_build("smartwatch", g, tmp_path / "b")
    assert _storage(name, (bd / "model.c").read_text()) == name.split("_")[0]
    x = _inputs(np.random.default_rng(6), g.nodes["x"].shape[0])
    want = simulate_int(g, x.astype(np.int64)).output
    m4 = run_qemu(build_firmware(bd, x, get_profile(), tmp_path / "fw"), count=False)
    assert np.array_equal(m4.harness.outputs, want.reshape(m4.harness.outputs.shape))
    a72 = run_qemu_user(build_binary(bd, "pi4", tmp_path / "rpi"), x, count=False)
    assert np.array_equal(a72.harness.outputs, want.reshape(a72.harness.outputs.shape))


@pytest.mark.cross
@pytest.mark.parametrize("cc,flags", [
    ("arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                           "-mfpu=fpv4-sp-d16"]),
    ("aarch64-linux-gnu-gcc", []), ("cc", [])], ids=["m4", "a72", "host"])
def test_code_storage_is_assembly(cc: str, flags: list[str], tmp_path: Path) -> None:
    """On Thumb-2, A64 and x86-64 the code storage is assembled, not optimized by gcc (the
    tests above check its results); -DSNNC_PORTABLE keeps the C."""
    import platform
    import subprocess
    import sys

    from snnc.targets.common import RUNTIME_DIR

    _require(cc)
    if cc == "cc" and (sys.platform != "linux"
                       or platform.machine() not in ("x86_64", "aarch64")):
        pytest.skip("the host has no assembly variant (C is used)")
    src = tmp_path / "probe.c"
    src.write_text('#include "snnc/kernels.h"\n#ifndef SNNC_CODE_ASM\n#error no asm\n#endif\n'
                   "SNNC_CODE_FN(f_in0, SNNC_CODE_ADD(3, 12, 5) SNNC_CODE_SUBW(40, 160, 128) "
                   "SNNC_CODE_MOVE(4092) SNNC_CODE_ADD(1063, 0, 1))\n")
    base = [cc, *flags, "-O2", "-std=c99", f"-I{RUNTIME_DIR / 'include'}", "-c", str(src),
            "-o", str(tmp_path / "p.o")]
    r = subprocess.run(base, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*base, "-DSNNC_PORTABLE"], capture_output=True, text=True)
    assert r.returncode != 0 and "no asm" in r.stderr
