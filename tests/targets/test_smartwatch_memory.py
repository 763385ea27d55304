"""The RAM ``snnc compile`` prints is the RAM the model takes in the linked smartwatch ELF.

Reference, read with the GNU tools and not with snnc's sizing code: the size of the
state struct the size probe allocates (symbol ``probe_state`` in ``probe_model.elf``,
``arm-none-eabi-nm -S``) plus every ``.bss``/``.data`` symbol the generated ``model.c``
defines itself (``nm -S`` of model.c compiled for the profile's core). Runtime, newlib and
harness symbols (``probe_in``, ``probe_out``, ``impure_data``...) are not the model's.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from target_helpers import ROOT, require

from snnc.cli import main
from snnc.targets.common import RUNTIME_DIR
from snnc.targets.smartwatch.build import check_fit
from snnc.targets.smartwatch.profile import get_profile

ARM = ("arm-none-eabi-gcc", "arm-none-eabi-nm")
MODELS = ("l2mu/l2mu.snn", "delaynet/delaynet.snn", "hdsnn/hdsnn.snn")


def _ram_symbols(path: Path) -> dict[str, int]:
    """Defined .bss/.data symbols (nm types b B d D) and their sizes."""
    out = subprocess.run(["arm-none-eabi-nm", "-S", str(path)], check=True,
                         capture_output=True, text=True).stdout
    syms: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "bBdD":
            syms[parts[3]] = int(parts[1], 16)
    return syms


@pytest.mark.cross
@pytest.mark.parametrize("model", MODELS)
def test_printed_ram_is_the_models_bss_and_data_in_the_elf(model: str, tmp_path: Path):
    require(*ARM)
    out = tmp_path / "build"
    r = CliRunner().invoke(main, ["compile", str(ROOT / "models" / model),
                                  "--target", "smartwatch", "-o", str(out)])
    assert r.exit_code == 0, r.output
    printed = int(re.search(r"snnc: RAM (\d+) B", r.stderr).group(1))

    check_fit(out, cache=False)  # links probe.c with the model: <out>/smartwatch/probe_model.elf
    elf = _ram_symbols(out / "smartwatch" / "probe_model.elf")
    obj = tmp_path / "model.o"
    subprocess.run(["arm-none-eabi-gcc", *get_profile().cflags(), "-O2", "-std=c99",
                    "-fdata-sections", f"-I{RUNTIME_DIR / 'include'}", f"-I{out}", "-c",
                    str(out / "model.c"), "-o", str(obj)], check=True, capture_output=True)
    own = _ram_symbols(obj)  # the generated code's own statics (none expected)
    assert set(own) <= set(elf)
    model_ram = elf["probe_state"] + sum(elf[s] for s in own)
    assert printed == model_ram, (model, printed, elf["probe_state"], own)
    report = (out / "report.json").read_text()
    assert f'"ram_bytes": {printed}' in report
