"""The target protocol: manifests list exactly the emitted files, devices belong to their
target, `--device local` runs a host build, target options stay with their target."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.interpret_int import quantize_inputs, simulate_int
from snnc.compiler.ir.serialize import load, save
from snnc.compiler.passes.pipeline import CompileOptions
from snnc.targets import registry

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "models/examples/tiny_recurrent.snn"


def _cli(cmd: list[str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def host_build(tmp_path_factory, snnc_cmd) -> tuple[Path, np.ndarray]:
    """`snnc compile tiny_recurrent --target host -o DIR` with seeded calibration inputs."""
    d = tmp_path_factory.mktemp("hostbuild")
    x = np.random.default_rng(0).normal(0, 1, (6, 20, 4)).astype(np.float32)
    np.save(d / "calib.npy", x)
    r = _cli(snnc_cmd, "compile", str(TINY), "--target", "host", "--calib",
             str(d / "calib.npy"), "-o", str(d / "b"))
    assert r.returncode == 0, r.stderr
    return d / "b", x


def test_manifest_lists_exactly_the_files_each_target_wrote(tmp_path, rng):
    from snnc.compiler.passes.quantize import quantize

    g = load(TINY)
    gq = quantize(g, rng.normal(0, 1, (8, 20, 4)))
    for name in registry.list_targets():
        d = tmp_path / name
        registry.write_build(name, gq, d)
        man = json.loads((d / "manifest.json").read_text())
        on_disk = sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file())
        assert sorted(man["files"]) == [f for f in on_disk if f != "manifest.json"], name
        assert man["target"] == name
    # The targets that do not generate C do not claim it.
    assert "model.c" not in json.loads((tmp_path / "rram/manifest.json").read_text())["files"]


def test_every_device_belongs_to_one_target_and_resolves(tmp_path):
    for t in registry.TARGETS.values():
        for dev in t.devices:
            spec = {"ssh": "ssh://u@h", "probe": "probe"}.get(dev.name, dev.name)
            got, _ = t.device(spec)
            assert got is dev
    # Inferred from the device alone (a bare .snn has no manifest).
    assert registry.resolve(tmp_path / "m.snn", None, "local")[0].name == "host"
    assert registry.resolve(tmp_path / "m.snn", None, "csim")[0].name == "mpsoc"
    assert registry.resolve(tmp_path / "m.snn", None, "sim")[0].name == "rram"
    with pytest.raises(SnncError, match="unknown device 'tpu'"):
        registry.resolve(tmp_path / "m.snn", None, "tpu")


def test_target_options_stay_with_their_target():
    assert "reuse" not in CompileOptions.__dataclass_fields__
    assert registry.check_target_options("mpsoc", {"reuse": 4}) == {"reuse": 4}
    assert registry.check_target_options("host", {"reuse": None}) == {}
    with pytest.raises(SnncError, match="--reuse applies to target mpsoc, not 'host'"):
        registry.check_target_options("host", {"reuse": 4})
    with pytest.raises(SnncError, match="--reuse: must be a positive integer"):
        registry.check_target_options("mpsoc", {"reuse": 0})


def test_cli_reuse_for_another_target_is_one_line_error(snnc_cmd, tmp_path):
    r = _cli(snnc_cmd, "compile", str(TINY), "--target", "host", "--quantize", "float",
             "--reuse", "2", "-o", str(tmp_path / "b"))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip() == "snnc: error: option --reuse applies to target mpsoc, not 'host'"
    assert not (tmp_path / "b").exists()


def test_cli_device_local_runs_a_host_build(snnc_cmd, host_build, tmp_path):
    build, x = host_build
    gq = load(build / "model.snn")
    xq = np.asarray(quantize_inputs(gq, x))
    np.save(tmp_path / "xq.npy", xq)
    want = simulate_int(gq, xq).output.reshape(xq.shape[0], xq.shape[1], -1)
    for extra in ((), ("--device", "local")):  # the host build's default device is local
        r = _cli(snnc_cmd, "flash", str(build), *extra, "--inputs", str(tmp_path / "xq.npy"),
                 "-o", str(tmp_path / "y.npz"))
        assert r.returncode == 0, r.stderr
        np.testing.assert_array_equal(np.load(tmp_path / "y.npz")["outputs"], want)
    r = _cli(snnc_cmd, "bench", str(build), "--device", "local", "--inputs",
             str(tmp_path / "xq.npy"), "--format", "json")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert (rep["target"], rep["device"]) == ("host", "local")
    assert rep["agreement"]["match"] and rep["agreement"]["exact"]
    lat = rep["latency"]  # each step's call timed; a sample's sum lies within T x [min, max]
    t = xq.shape[1]
    assert lat["unit"] == "ns" and lat["per_step"]["min"] > 0
    assert t * lat["per_step"]["min"] <= lat["per_sample"]["min"] <= \
        lat["per_sample"]["max"] <= t * lat["per_step"]["max"]


@pytest.mark.parametrize("args,msg", [
    (("--device", "qemu"), "unknown device 'qemu' for target 'host' (expected local; it "
                           "belongs to target smartwatch, rpi, mpsoc)"),
    (("--target", "rpi"), "is a build for target 'host', not 'rpi'"),
])
def test_cli_device_of_another_target_is_one_line_error(snnc_cmd, host_build, args, msg):
    build, _ = host_build
    r = _cli(snnc_cmd, "flash", str(build), *args)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("snnc: error: ") and msg in lines[0]


def test_cli_choices_and_help_derive_from_the_registry(snnc_cmd):
    r = _cli(snnc_cmd, "flash", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "[" + "|".join(registry.list_targets()) + "]" in text
    for t in registry.TARGETS.values():
        for d in t.devices:
            assert d.syntax in text, d.syntax


def test_manifest_naming_an_unknown_target_is_a_format_error(tmp_path):
    save(load(TINY), tmp_path / "model.snn")
    (tmp_path / "manifest.json").write_text(json.dumps({"target": "toaster"}))
    with pytest.raises(SnncError, match="unknown target 'toaster'"):
        registry.resolve(tmp_path)
