"""The smartwatch size check's disk cache: an unchanged model links nothing the second
time and reports the same footprint; a changed model is linked again."""

from __future__ import annotations

import subprocess
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
