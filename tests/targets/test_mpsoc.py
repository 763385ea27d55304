"""MPSoC target end to end: compile -> HLS build dir, csim (g++) and the A53 host program
(qemu-aarch64, ssh) bit-exact to the integer simulator, the TCL script, fit errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from target_helpers import ZOO, require

from snnc.compiler.errors import SnncError
from snnc.compiler.ir import LIF, Affine, Graph, Input, MembraneArgmax, Output, save, verify
from snnc.targets.flash import parse_device

AARCH64 = ("aarch64-linux-gnu-g++", "qemu-aarch64")


def _first_mismatch(out: np.ndarray, ref: np.ndarray) -> str:
    bad = np.argwhere(out != ref)
    return "" if bad.size == 0 else (f"first mismatch at {tuple(bad[0])}: kernel "
                                     f"{out[tuple(bad[0])]}, integer simulator "
                                     f"{ref[tuple(bad[0])]}")


@pytest.fixture(scope="session")
def mpsoc_zoo(zoo_case, tmp_path_factory):
    """mpsoc_zoo(path) -> (ZooCase, mpsoc build dir), built once per model."""
    from snnc.targets.registry import write_build

    cache: dict[Path, tuple] = {}

    def get(path: Path):
        if path not in cache:
            case = zoo_case(path)
            cache[path] = (case, write_build("mpsoc", case.graph,
                                             tmp_path_factory.mktemp(f"mpsoc_{path.stem}")))
        return cache[path]

    return get


@pytest.mark.parametrize("path", ZOO, ids=[p.stem for p in ZOO])
def test_zoo_csim_bit_exact(path, mpsoc_zoo):
    require("g++")
    from snnc.targets.mpsoc.build import build_csim
    from snnc.targets.mpsoc.run import run_csim

    case, bd = mpsoc_zoo(path)
    r = run_csim(build_csim(bd), bd, case.x_dev, golden=case.ref)
    assert r.harness.outputs.shape == case.ref.shape
    assert not _first_mismatch(r.harness.outputs, case.ref), _first_mismatch(
        r.harness.outputs, case.ref)
    assert r.mismatches == 0  # the testbench's own check agrees


@pytest.mark.cross
@pytest.mark.parametrize("path", ZOO, ids=[p.stem for p in ZOO])
def test_zoo_host_program_under_qemu_aarch64(path, mpsoc_zoo):
    require(*AARCH64)
    from snnc.targets.mpsoc.build import build_host
    from snnc.targets.mpsoc.run import run_qemu

    case, bd = mpsoc_zoo(path)
    b = build_host(bd)
    head = b.path.read_bytes()[:20]
    assert head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == 183  # aarch64
    out = run_qemu(b, case.x_dev).harness.outputs
    assert not _first_mismatch(out, case.ref), _first_mismatch(out, case.ref)


def test_build_dir_and_tcl(mpsoc_zoo):
    from snnc.targets.mpsoc.build import build_info, check_tcl

    _, bd = mpsoc_zoo(next(p for p in ZOO if p.stem == "l2mu"))
    info = build_info(bd)
    est = json.loads((bd / "hls" / "estimate.json").read_text())
    assert info["board"] == "zcu102" and est["fits"] and est["reuse"] == info["reuse"]
    cmds = check_tcl(bd)
    names = [c[0] for c in cmds]
    assert names[:2] == ["open_project", "set_top"] and cmds[1][1] == "snnc_kernel"
    assert ["set_part", "xczu9eg-ffvb1156-2-e"] in cmds
    assert names.index("csim_design") < names.index("csynth_design") < names.index(
        "cosim_design") < names.index("export_design")
    assert [c[0] for c in check_tcl(bd, ("csim",))].count("csynth_design") == 0
    bad = bd / "bad"
    bad.mkdir()
    (bad / "hls").mkdir()
    (bad / "hls" / "kernel.cpp").write_text("")
    (bad / "hls" / "run_hls.tcl").write_text("set_top snnc_kernel\nif {1 {\n")
    with pytest.raises(SnncError, match="Tcl error"):
        check_tcl(bad)


def test_cli_compile_bench_flash(snnc_cmd, tmp_path, rng):
    require("g++")
    model = Path(__file__).resolve().parents[2] / "models" / "examples" / "tiny_recurrent.snn"
    calib = tmp_path / "calib.npy"
    np.save(calib, rng.normal(0, 1, (8, 30, 4)))
    out = tmp_path / "build"
    r = subprocess.run([*snnc_cmd, "compile", str(model), "--target", "mpsoc", "--profile",
                        "kv260", "--reuse", "4", "--calib", str(calib), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "mpsoc_fit: KV260 reuse 4" in r.stderr
    assert "xck26-sfvc784-2LV-c" in (out / "hls" / "run_hls.tcl").read_text()
    # The example model ships no test data: bench on seeded float inputs (--data).
    np.savez(tmp_path / "test.npz", x=rng.normal(0, 1, (3, 30, 4)).astype(np.float32))
    r = subprocess.run([*snnc_cmd, "bench", str(out), "--device", "csim", "--data",
                        str(tmp_path / "test.npz"), "--format", "json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["target"] == "mpsoc" and rep["profile"] == "kv260"
    assert rep["agreement"]["match"] and rep["agreement"]["exact"]
    assert rep["memory"]["csim"]["mismatches"] == 0
    assert rep["memory"]["pl_estimate"]["reuse"] == 4
    r = subprocess.run([*snnc_cmd, "flash", str(out), "--device", "probe"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "expected qemu, csim, ssh://" in r.stderr


def test_model_too_large_for_board_fails_at_compile(snnc_cmd, tmp_path, rng):
    n = 1500
    g = verify(Graph(nodes={"x": Input((n,)), "fc": Affine(rng.normal(0, 0.1, (n, n)),
                                                           np.zeros(n)),
                            "lif": LIF((n,), tau=np.array(5e-3), v_threshold=np.array(0.5)),
                            "ro": MembraneArgmax((n,)), "y": Output((n,))},
                     edges=[("x", "fc"), ("fc", "lif"), ("lif", "ro"), ("ro", "y")],
                     dt=1e-3, name="too_big"))
    save(g, tmp_path / "big.snn")
    np.save(tmp_path / "calib.npy", rng.normal(0, 1, (2, 5, n)))
    out = tmp_path / "build"
    r = subprocess.run([*snnc_cmd, "compile", str(tmp_path / "big.snn"), "--target", "mpsoc",
                        "--profile", "ultra96", "--reuse", "1", "--calib",
                        str(tmp_path / "calib.npy"), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert "too_big" in r.stderr and "Ultra96" in r.stderr and "Traceback" not in r.stderr
    assert any(k in r.stderr for k in ("LUT", "DSP", "BRAM18", "FF"))
    assert not out.exists()


def test_device_parsing():
    assert parse_device("mpsoc", "csim") == ("csim", "")
    assert parse_device("mpsoc", "ssh://me@board:2222") == ("ssh", "ssh://me@board:2222")
    with pytest.raises(SnncError, match="expected qemu, csim"):
        parse_device("mpsoc", "sim")


def test_host_program_over_ssh(sshd, mpsoc_zoo):
    # No board here: the HOST_SIM host program built for this machine goes through the
    # exact ssh path a ZCU102's Linux gets (scp, run, collect, clean up).
    require("g++")
    from snnc.targets.mpsoc.build import build_host
    from snnc.targets.mpsoc.run import run_ssh

    case, bd = mpsoc_zoo(next(p for p in ZOO if p.stem == "l2mu"))
    b = build_host(bd, bd / "native", cross=False)
    r = run_ssh(b, case.x_dev, sshd.url, sshd.known_hosts, sshd.identity)
    assert not _first_mismatch(r.harness.outputs, case.ref)
    assert r.harness.step_ns is not None and np.all(r.harness.step_ns > 0)
