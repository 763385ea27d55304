"""Run the Raspberry Pi harness: under qemu-aarch64 user mode or on a board over SSH.

Under emulation the wall time means nothing; the insncount plugin gives the exact
instructions per step instead. On a board the harness's CLOCK_MONOTONIC per-step times
are the measurement.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.targets.common import HarnessOutput, inputs_blob, parse_harness, require_tool
from snnc.targets.insncount import (
    InsnCounts,
    build_plugin,
    parse_log,
    plugin_args,
    symbol_addresses,
)
from snnc.targets.rpi.build import NM, Binary
from snnc.targets.ssh import SshDevice

QEMU = "qemu-aarch64"
MARKERS = ("snnc_mark_begin", "snnc_mark_end")


@dataclass
class RunResult:
    """What one harness run produced."""

    harness: HarnessOutput
    counts: InsnCounts | None
    command: list[str]
    wall_s: float


def run_qemu_user(binary: Binary, inputs: np.ndarray, count: bool = True,
                  timeout: float = 600.0) -> RunResult:
    """Run the harness under ``qemu-aarch64`` user mode on ``inputs`` [S, T, I]."""
    require_tool(QEMU, "install qemu-user (scripts/setup.sh)")
    with tempfile.TemporaryDirectory(prefix="snnc-qemu-") as td:
        inp = Path(td) / "inputs.bin"
        inp.write_bytes(inputs_blob(inputs, binary.iface))
        log = Path(td) / "plugin.log"
        cmd = [QEMU, str(binary.path), str(inp)]
        full = [QEMU]
        if count:
            addr = symbol_addresses(binary.path, MARKERS, nm=require_tool(NM))
            full += plugin_args(build_plugin(), addr[MARKERS[0]], addr[MARKERS[1]], log)
        full += cmd[1:]
        t0 = time.perf_counter()
        try:
            r = subprocess.run(full, capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SnncError(f"{binary.path} did not finish within {timeout:.0f} s") from None
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            raise SnncError(f"qemu-aarch64 run failed (exit {r.returncode}):\n"
                            f"{(r.stderr or r.stdout).strip()[-2000:]}")
        out = parse_harness(r.stdout, binary.iface)
        counts = parse_log(log.read_text()) if count else None
    return RunResult(harness=out, counts=counts, command=cmd, wall_s=wall)


def run_ssh(binary: Binary, inputs: np.ndarray, device: SshDevice,
            timeout: float = 600.0) -> RunResult:
    """Copy the harness and inputs to ``device``, run there, decode outputs and times."""
    with tempfile.TemporaryDirectory(prefix="snnc-ssh-") as td:
        inp = Path(td) / "inputs.bin"
        inp.write_bytes(inputs_blob(inputs, binary.iface))
        argv = [binary.path.name, inp.name]
        t0 = time.perf_counter()
        r = device.run_files([binary.path, inp], argv, timeout=timeout)
        wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SnncError(f"harness on {device.dest} exited {r.returncode}: "
                        f"{r.stderr.strip()[-1000:]}")
    return RunResult(harness=parse_harness(r.stdout, binary.iface), counts=None,
                     command=device.ssh_command(argv), wall_s=wall)
