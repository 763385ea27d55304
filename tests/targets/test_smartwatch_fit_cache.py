"""The smartwatch size check's disk cache: an unchanged model links nothing the second
time and reports the same footprint; a changed model is linked again."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
from target_helpers import require, write_standin

from snnc.targets.smartwatch.build import check_fit

pytestmark = pytest.mark.cross


def test_fit_cache_reuses_footprint_and_misses_on_model_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require("arm-none-eabi-gcc", "arm-none-eabi-size")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = check_fit(write_standin(tmp_path / "a"), "nrf52840")

    tools: list[str] = []
    orig = subprocess.run

    def spy(cmd, *args, **kw):  # type: ignore[no-untyped-def]
        if "--version" not in cmd:
            tools.append(Path(str(cmd[0])).name)
        return orig(cmd, *args, **kw)

    monkeypatch.setattr(subprocess, "run", spy)
    again = check_fit(write_standin(tmp_path / "b"), "nrf52840")  # same model, other dir
    assert again == first and tools == []

    bigger = check_fit(write_standin(tmp_path / "c", extra_table_bytes=4000), "nrf52840")
    assert "arm-none-eabi-gcc" in tools  # compiled and linked again
    assert bigger.flash_bytes >= first.flash_bytes + 4000


def test_empty_probe_started_early_gives_the_same_footprint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `snnc compile` starts the empty size probe before the passes (start_early); the
    # size check then waits for it instead of linking its own: same footprint as a
    # check that links everything itself on a cold cache.
    require("arm-none-eabi-gcc", "arm-none-eabi-size")
    from snnc.targets.smartwatch import build

    monkeypatch.setattr(build, "_EMPTY_PROBE", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cold"))
    ref = check_fit(write_standin(tmp_path / "a"), "nrf52840", cache=False)

    monkeypatch.setattr(build, "_EMPTY_PROBE", {})
    monkeypatch.setattr(build, "_EARLY", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cold2"))
    build.start_early("nrf52840")
    assert len(build._EARLY) == 1
    started = threading.Event()  # what the fit pass waits for before it goes on
    assert check_fit(write_standin(tmp_path / "b"), "nrf52840", cache=False,
                     started=started) == ref
    assert started.is_set()
    assert build._EARLY == {}  # taken by the size check
    assert list((tmp_path / "cold2" / "snnc").glob("probe-empty-*.json"))


def test_cli_compile_of_a_model_too_big_fails_and_writes_nothing(tmp_path: Path) -> None:
    # The size check finishes in the background while the CLI simulates the float/int
    # agreement (compiler/cli_compile.py waits for it): a model that does not fit must
    # still fail the compile with the numbers and leave no build directory.
    require("arm-none-eabi-gcc", "arm-none-eabi-size")
    import numpy as np
    from click.testing import CliRunner

    from snnc.cli import main
    from snnc.compiler.ir import LIF, Graph, Input, Linear, Output, SpikeCountArgmax, save

    r = np.random.default_rng(0)
    g = Graph(nodes={"x": Input((1200,)),
                     "fc": Linear(r.normal(0, 0.05, (1000, 1200)).astype(np.float32)),
                     "lif": LIF((1000,)), "n": SpikeCountArgmax((1000,)), "y": Output((1000,))},
              edges=[("x", "fc"), ("fc", "lif"), ("lif", "n"), ("n", "y")], name="big")
    save(g, tmp_path / "big.snn")
    np.save(tmp_path / "calib.npy", r.random((4, 3, 1200)).astype(np.float32))
    out = tmp_path / "build"
    res = CliRunner().invoke(main, ["compile", str(tmp_path / "big.snn"), "--calib",
                                    str(tmp_path / "calib.npy"), "--target", "smartwatch",
                                    "-o", str(out)])
    assert res.exit_code == 1, res.output
    assert "does not fit the nrf52840 profile" in res.output and "flash" in res.output
    assert not out.exists()


def test_table_file_edited_in_place_is_not_served_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # .incbin tables carry a hash of their bytes in their name (so model.c changes with
    # them), but a file changed under the same name must still miss the object cache.
    require("arm-none-eabi-gcc", "arm-none-eabi-readelf")
    import numpy as np

    from snnc.compiler.codegen import cgen
    from snnc.targets.smartwatch.build import _Builder
    from snnc.targets.smartwatch.profile import get_profile

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    d = write_standin(tmp_path / "a")
    blobs: dict[str, bytes] = {}
    text = cgen.array("int8_t", "big", np.arange(cgen.BLOB_MIN) % 251 - 125, strings=True,
                      blobs=blobs)
    (d / "model.c").write_text((d / "model.c").read_text() + cgen.BLOB_PRELUDE + text
                               + "const int8_t *big_table(void) { return big; }\n")
    (name, data), = blobs.items()
    (d / name).write_bytes(data)
    first = _Builder(d, tmp_path / "o1", get_profile("nrf52840")).model_objs()[0]
    (d / name).write_bytes(bytes([data[0] ^ 1]) + data[1:])
    second = _Builder(d, tmp_path / "o2", get_profile("nrf52840")).model_objs()[0]
    assert first != second and first.read_bytes() != second.read_bytes()


def test_warm_cache_leaves_only_the_model_to_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # After the setup-time warm-up, a first size check compiles model.c and the probe
    # that includes model.h, links once, and builds no runtime, startup or empty probe.
    require("arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-readelf")
    from snnc.targets import common
    from snnc.targets.smartwatch import build

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("_OBJ_CACHE", "_CC_ID"):
        monkeypatch.setattr(common, name, {})
    monkeypatch.setattr(build, "_EMPTY_PROBE", {})
    assert build.warm_cache("nrf52840")["runtime_objects"] == len(common.runtime_sources())
    monkeypatch.setattr(common, "_OBJ_CACHE", {})  # a new process: disk cache only
    monkeypatch.setattr(build, "_EMPTY_PROBE", {})
    compiled: list[str] = []
    orig = subprocess.run

    def spy(cmd, *args, **kw):  # type: ignore[no-untyped-def]
        if "-c" in cmd:
            compiled.append(Path(str(cmd[cmd.index("-c") + 1])).name)
        return orig(cmd, *args, **kw)

    monkeypatch.setattr(subprocess, "run", spy)
    check_fit(write_standin(tmp_path / "m"), "nrf52840", out_dir=tmp_path / "o")
    assert sorted(compiled) == ["model.c", "probe.c"]
