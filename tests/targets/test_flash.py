"""Device dispatch, probe and ssh command construction, and the flash/bench CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from target_helpers import require, standin_reference

from snnc.compiler.errors import SnncError
from snnc.targets.flash import parse_device
from snnc.targets.smartwatch.profile import get_profile
from snnc.targets.smartwatch.run import probe_commands
from snnc.targets.ssh import SshDevice


@pytest.mark.parametrize("target,device,expected", [
    ("smartwatch", "qemu", ("qemu", "")),
    ("smartwatch", "probe", ("probe", "openocd")),
    ("smartwatch", "probe:pyocd", ("probe", "pyocd")),
    ("rpi", "qemu", ("qemu", "")),
    ("rpi", "ssh://pi@raspberrypi.local:2222", ("ssh", "ssh://pi@raspberrypi.local:2222")),
])
def test_parse_device(target, device, expected):
    assert parse_device(target, device) == expected


@pytest.mark.parametrize("target,device,match", [
    ("smartwatch", "ssh://pi@host", "unknown device 'ssh://pi@host' for target 'smartwatch'"),
    ("rpi", "probe", "unknown device 'probe' for target 'rpi'"),
    ("smartwatch", "probe:jlink", "unknown probe tool 'jlink'"),
    ("host", "qemu", r"unknown device .qemu. for target .host. \(expected local; it belongs to target smartwatch"),
    ("rram", "qemu", "unknown device .qemu. for target .rram."),
])
def test_parse_device_errors(target, device, match):
    with pytest.raises(SnncError, match=match):
        parse_device(target, device)


def test_openocd_command_for_nrf52840():
    elf = Path("/b/fw.elf")
    assert probe_commands(elf, get_profile("nrf52840")) == [[
        "openocd", "-f", "interface/cmsis-dap.cfg", "-f", "target/nrf52.cfg",
        "-c", "program /b/fw.elf verify", "-c", "arm semihosting enable", "-c", "reset run"]]


def test_pyocd_commands_for_apollo3():
    elf = Path("/b/fw.elf")
    assert probe_commands(elf, get_profile("apollo3"), "pyocd") == [
        ["pyocd", "load", "--target", "ama3b1kk_kbr", "--format", "elf", "/b/fw.elf"],
        ["pyocd", "reset", "--target", "ama3b1kk_kbr"]]
    with pytest.raises(SnncError, match="no OpenOCD target config"):
        probe_commands(elf, get_profile("apollo3"), "openocd")


def test_ssh_url_parsing():
    d = SshDevice.parse("ssh://pi@10.0.0.7:2200", known_hosts="/k", identity="/id")
    assert (d.user, d.host, d.port, d.dest) == ("pi", "10.0.0.7", 2200, "pi@10.0.0.7")
    d6 = SshDevice.parse("ssh://root@[fe80::1]")
    assert (d6.host, d6.port, d6.dest) == ("fe80::1", 22, "root@[fe80::1]")
    for bad in ("ssh://", "ssh://pi@host:0", "scp://pi@host", "ssh://pi@host/path:22"):
        with pytest.raises(SnncError, match="bad"):
            SshDevice.parse(bad)


def test_ssh_commands_check_host_keys():
    require("ssh", "scp")
    d = SshDevice.parse("ssh://pi@rpi:2222", known_hosts="/k/known", identity="/k/id")
    cmd = d.ssh_command(["/tmp/x/snnc_harness", "/tmp/x/in put.bin"])
    assert cmd[0] == shutil.which("ssh")
    # '--' ends ssh's options before the destination, so it can never be read as one.
    assert cmd[1:3] == ["-p", "2222"] and cmd[-3:] == [
        "--", "pi@rpi", "/tmp/x/snnc_harness '/tmp/x/in put.bin'"]
    for opt in ("BatchMode=yes", "StrictHostKeyChecking=yes", "UserKnownHostsFile=/k/known"):
        assert opt in cmd
    assert ["-i", "/k/id"] == cmd[cmd.index("-i"):cmd.index("-i") + 2]
    scp = d.scp_command([Path("/a/f1"), Path("/a/f2")], "/tmp/r")
    assert scp[:4] == [shutil.which("scp"), "-q", "-P", "2222"]
    assert scp[-4:] == ["--", "/a/f1", "/a/f2", "pi@rpi:/tmp/r/"]


# ------------------------------------------------------------------ CLI


def _cli(snnc_cmd, *args, cwd=None):
    return subprocess.run([*snnc_cmd, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.mark.cross
def test_cli_flash_and_bench_on_emulated_smartwatch(snnc_cmd, standin_build, standin_inputs,
                                                    tmp_path):
    require("arm-none-eabi-gcc", "qemu-system-arm", "cc")
    xp = tmp_path / "x.npy"
    np.save(xp, standin_inputs)
    out = tmp_path / "y.npz"
    r = _cli(snnc_cmd, "flash", str(standin_build), "--device", "qemu", "--inputs", str(xp),
             "-o", str(out))
    assert r.returncode == 0, r.stderr
    np.testing.assert_array_equal(np.load(out)["outputs"], standin_reference(standin_inputs))

    js, md = tmp_path / "b.json", tmp_path / "b.md"
    r = _cli(snnc_cmd, "bench", str(standin_build), "--inputs", str(xp), "--json", str(js),
             "--md", str(md))
    assert r.returncode == 0, r.stderr
    rep = json.loads(js.read_text())
    assert rep["latency"]["unit"] == "instructions"
    assert rep["samples"] == 3 and rep["steps"] == 12
    assert rep["latency"]["per_step"]["min"] > 0
    # per-sample = sum of its 12 steps, so it lies within [12*min, 12*max] of per-step.
    ps = rep["latency"]["per_sample"]
    assert 12 * rep["latency"]["per_step"]["min"] <= ps["min"] <= ps["max"] <= \
        12 * rep["latency"]["per_step"]["max"]
    assert rep["memory"]["model"]["flash_bytes"] > 0
    assert "instructions" in md.read_text() and md.read_text() in r.stdout


def test_cli_bad_device_is_one_line_error(snnc_cmd, standin_build, standin_inputs, tmp_path):
    xp = tmp_path / "x.npy"
    np.save(xp, standin_inputs)
    r = _cli(snnc_cmd, "flash", str(standin_build), "--target", "rpi", "--device", "probe",
             "--inputs", str(xp))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("snnc: error: unknown device 'probe'")
    assert "Traceback" not in r.stderr


def test_cli_missing_build_dir(snnc_cmd, tmp_path):
    r = _cli(snnc_cmd, "bench", str(tmp_path / "nope"))
    assert r.returncode == 1 and "no such build directory" in r.stderr


# ------------------------------------------------------------------ harness protocol


def _iface():
    from snnc.targets.common import ModelInterface

    return ModelInterface("m", 2, 2, "uint8_t", "int32_t")


def test_parse_harness_decodes_outputs_and_cycles():
    from snnc.targets.common import parse_harness

    text = ("semihosting noise\n"
            "snnc-harness v1 model=m samples=1 steps=2 inputs=2 outputs=2 out_bytes=8\n"
            "o 01000000feffffff 120\n"
            "o 0200000000000080 130\n"
            "snnc-done rc=0\n")
    h = parse_harness(text, _iface())
    np.testing.assert_array_equal(h.outputs, [[[1, -2], [2, -(2 ** 31)]]])
    np.testing.assert_array_equal(h.step_cycles, [120, 130])
    assert h.step_ns is None


@pytest.mark.parametrize("text,match", [
    ("snnc-harness v1 model=m samples=1 steps=2 inputs=2 outputs=2 out_bytes=8\n"
     "o 0100000002000000\nsnnc-done rc=0\n", "printed 1 output rows, expected 2"),
    ("snnc-harness v1 model=m samples=1 steps=1 inputs=2 outputs=2 out_bytes=8\n"
     "o 0100000002000000\n", "incomplete"),
    ("snnc-harness v1 model=m samples=1 steps=1 inputs=2 outputs=2 out_bytes=4\n"
     "o 01000000\nsnnc-done rc=0\n", "4 output bytes per step"),
    ("snnc-harness v1 model=m samples=1 steps=1 inputs=2 outputs=2 out_bytes=8\n"
     "snnc-error step rc=-2 sample=0 step=0\nsnnc-done rc=-2\n", "step failed"),
])
def test_parse_harness_rejects_bad_output(text, match):
    from snnc.targets.common import parse_harness

    with pytest.raises(SnncError, match=match):
        parse_harness(text, _iface())


def test_latency_prefers_exact_counts_then_cycles_then_wall_time():
    from snnc.targets.benchmark import latency
    from snnc.targets.flash import DeviceRun

    out = np.zeros((2, 3, 1))
    cyc = np.array([10, 20, 30, 40, 50, 60])
    r = DeviceRun("smartwatch", "nrf52840", "probe", out, None, None, Path("fw.elf"), [],
                  clock_hz=64_000_000, step_cycles=cyc)
    lat = latency(r)
    assert lat["unit"] == "cycles"
    assert lat["per_sample"]["min"] == 60 and lat["per_sample"]["max"] == 150
    assert lat["time"]["per_step_median_us"] == pytest.approx(35 / 64)
    r.step_instructions = cyc * 2
    assert latency(r)["unit"] == "instructions"
    assert latency(r)["per_step"]["median"] == 70
    r.step_instructions, r.step_cycles, r.step_ns = None, None, cyc
    assert latency(r)["unit"] == "ns"


@pytest.mark.slow
@pytest.mark.cross
def test_cli_compile_rejects_a_model_too_big_for_the_watch(snnc_cmd, tmp_path):
    """1.1 M int8 weights cannot fit 1 MiB of flash: `snnc compile --target smartwatch`
    fails at compile time with the numbers and the passes that would help."""
    require("arm-none-eabi-gcc", "arm-none-eabi-size")
    from snnc.compiler.ir import LIF, Graph, Input, Linear, Output, save

    rng = np.random.default_rng(0)
    g = Graph(nodes={"input": Input((1024,)),
                     "fc": Linear(rng.normal(0, 0.05, (1100, 1024))),
                     "lif": LIF((1100,), tau=np.array(5e-3), v_threshold=np.array(0.5)),
                     "output": Output((1100,))},
              edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")], name="huge")
    save(g, tmp_path / "huge.snn")
    np.save(tmp_path / "calib.npy", rng.standard_normal((2, 3, 1024)).astype(np.float32))
    r = _cli(snnc_cmd, "compile", str(tmp_path / "huge.snn"), "--target", "smartwatch",
             "--calib", str(tmp_path / "calib.npy"), "-o", str(tmp_path / "build"))
    assert r.returncode == 1
    err = r.stderr.strip().splitlines()[-1]
    m = re.search(r"flash (\d+) B needed > 1048576 B available", err)
    assert m and int(m.group(1)) > 1100 * 1024, err
    assert "quantize" in err and "prune" in err
    assert not (tmp_path / "build" / "model.c").exists()  # nothing half-written


@pytest.mark.cross
def test_cli_bench_a_compiled_snn_matches_integer_simulator(snnc_cmd, repo_root, tmp_path):
    """`snnc compile -o X.snn` then `snnc bench X.snn`: C generated into X_build/, run on
    the emulated Pi 4, bit-exact against the integer simulator, JSON report."""
    require("aarch64-linux-gnu-gcc", "qemu-aarch64", "cc")
    rng = np.random.default_rng(3)
    np.save(tmp_path / "calib.npy", rng.standard_normal((8, 20, 4)).astype(np.float32))
    q = tmp_path / "tiny_int8.snn"
    r = _cli(snnc_cmd, "compile", str(repo_root / "models/examples/tiny_recurrent.snn"),
             "--calib", str(tmp_path / "calib.npy"), "-o", str(q))
    assert r.returncode == 0, r.stderr
    # A model with no data of its own: bench says which data to pass, then runs --data.
    r = _cli(snnc_cmd, "bench", str(q), "--target", "rpi", "--samples", "3", "--format", "json")
    assert r.returncode == 1 and "pass --data" in r.stderr and "Traceback" not in r.stderr
    np.savez(tmp_path / "test.npz", x=rng.standard_normal((6, 20, 4)).astype(np.float32),
             y=np.array([0, 1, 0, 1, 0, 1]))
    r = _cli(snnc_cmd, "bench", str(q), "--target", "rpi", "--samples", "3", "--format", "json",
             "--data", str(tmp_path / "test.npz"))
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert (tmp_path / "tiny_int8_build" / "model.c").exists()
    assert rep["reference"] == "integer simulator"
    assert rep["agreement"] == {"match": True, "exact": True, "max_abs_diff": 0.0}
    assert rep["latency"]["unit"] == "instructions" and rep["samples"] == 3
