"""Exact instruction counts from QEMU: build and parse the ``insncount`` TCG plugin.

The plugin (``insncount.c``) counts the guest instructions executed between the harness's
``snnc_mark_begin`` and ``snnc_mark_end`` markers, one count per interval. It works in
``qemu-system-arm`` (firmware) and in ``qemu-aarch64`` / ``qemu-arm`` user mode. Counts
are instructions, not cycles: deterministic, and the same on every run.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.serialize import atomic_write
from snnc.targets.common import require_tool

SOURCE = Path(__file__).with_name("insncount.c")


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "snnc"


def build_plugin(cache_dir: str | Path | None = None) -> Path:
    """Compile the plugin with the host C compiler once (cached by source hash)."""
    src = SOURCE.read_bytes()
    digest = hashlib.sha256(src).hexdigest()[:16]
    out_dir = Path(cache_dir) if cache_dir else _cache_dir()
    so = out_dir / f"libinsncount-{digest}.so"
    if so.exists():
        return so
    cc = os.environ.get("CC") or "cc"
    require_tool(cc, "a host C compiler builds the QEMU instruction-count plugin")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = so.with_suffix(f".{os.getpid()}.tmp")
    r = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-o", str(tmp),
                        str(SOURCE)], capture_output=True, text=True)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SnncError(f"building the insncount plugin failed:\n{r.stderr.strip()}")
    os.replace(tmp, so)  # atomic: concurrent builders never see a half-written .so
    return so


def plugin_args(so: Path, start: int, stop: int, log: Path) -> list[str]:
    """QEMU arguments that load the plugin between markers and log to ``log``."""
    return ["-plugin", f"{so},start={start:#x},stop={stop:#x}", "-d", "plugin", "-D", str(log)]


@dataclass
class InsnCounts:
    """Instructions per marker interval; ``overhead`` is the calibration interval."""

    total: int
    overhead: int
    intervals: np.ndarray  # instructions per step, marker overhead subtracted

    def save(self, path: Path) -> None:
        atomic_write(path, lambda f: np.save(f, self.intervals))


def parse_log(text: str, calibrated: bool = True) -> InsnCounts:
    """Read the plugin's lines; with ``calibrated`` the first interval (empty markers) is
    the overhead, subtracted from every following interval."""
    total = None
    counts: list[int] = []
    for line in text.splitlines():
        if line.startswith("insncount total="):
            total = int(line.split()[1].split("=")[1])
        elif line.startswith("insncount counts"):
            counts.extend(int(v) for v in line.split()[2:])
    if total is None:
        raise SnncError("no instruction counts in the QEMU plugin log (was the plugin "
                        "loaded and did the program exit normally?)")
    arr = np.asarray(counts, dtype=np.int64)
    if not calibrated:
        return InsnCounts(total=total, overhead=0, intervals=arr)
    if arr.size == 0:
        raise SnncError("the plugin saw no marker intervals (markers not reached?)")
    return InsnCounts(total=total, overhead=int(arr[0]), intervals=arr[1:] - arr[0])


def symbol_addresses(elf: Path, names: tuple[str, ...], nm: str = "nm") -> dict[str, int]:
    """Addresses of ``names`` in ``elf`` via ``nm`` (Thumb bit cleared)."""
    r = subprocess.run([nm, str(elf)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SnncError(f"{nm} failed on {elf}: {r.stderr.strip()}")
    found: dict[str, int] = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in names:
            found[parts[2]] = int(parts[0], 16) & ~1
    missing = [n for n in names if n not in found]
    if missing:
        raise SnncError(f"{elf}: symbols {missing} not found (not an snnc harness binary?)")
    return found
