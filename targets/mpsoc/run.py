"""Run MPSoC builds: the csim testbench (g++, this machine), the A53 host program under
qemu-aarch64 (kernel linked in software), or on a board over ssh.

Under emulation there is no programmable logic, so time per step comes from the
estimator (:mod:`targets.mpsoc.estimate`), not from the run; on a board the host program
reports CLOCK_MONOTONIC nanoseconds per step.
"""

from __future__ import annotations

import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.serialize import atomic_write
from snnc.targets.common import HarnessOutput, inputs_blob, parse_harness, require_tool
from snnc.targets.mpsoc.build import HostBinary, hls_dir

QEMU = "qemu-aarch64"


@dataclass
class RunResult:
    """What one testbench or host run produced."""

    harness: HarnessOutput
    command: list[str]
    wall_s: float
    mismatches: int | None = None   # csim with golden outputs: values that differ


def golden_blob(ref: np.ndarray) -> bytes:
    """The testbench's golden-output file (``SNNO`` v1, int32 [S][T][O], little endian)."""
    ref = np.asarray(ref)
    if ref.ndim != 3:
        raise SnncError(f"golden outputs must be [samples, steps, outputs], got {ref.shape}")
    if np.any(ref != ref.astype(np.int32)):
        raise SnncError("golden outputs do not fit int32")
    return b"SNNO" + struct.pack("<4I", 1, *ref.shape) + ref.astype("<i4").tobytes()


def _run(cmd: list[str], binary: HostBinary, timeout: float, ok: tuple[int, ...] = (0,)
         ) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SnncError(f"{binary.path} did not finish within {timeout:.0f} s") from None
    if r.returncode not in ok:
        raise SnncError(f"{binary.kind} run failed (exit {r.returncode}):\n"
                        f"{(r.stderr or r.stdout).strip()[-2000:]}")
    return r, time.perf_counter() - t0


def run_csim(binary: HostBinary, build_dir: str | Path, inputs: np.ndarray,
             golden: np.ndarray | None = None, timeout: float = 600.0) -> RunResult:
    """Run the csim testbench on ``inputs`` [S, T, I]; with ``golden`` (the integer
    simulator's outputs) the testbench also compares every value itself.

    The files are written as ``hls/inputs.bin`` and ``hls/golden.bin``, where
    ``run_hls.tcl`` expects them for Vitis HLS's own csim/cosim.
    """
    d = hls_dir(build_dir)
    atomic_write(d / "inputs.bin", lambda f: f.write(inputs_blob(inputs, binary.iface)))
    cmd = [str(binary.path), str(d / "inputs.bin")]
    if golden is not None:
        atomic_write(d / "golden.bin", lambda f: f.write(golden_blob(golden)))
        cmd.append(str(d / "golden.bin"))
    r, wall = _run(cmd, binary, timeout, ok=(0, 1) if golden is not None else (0,))
    mism = None
    for line in r.stdout.splitlines():
        if line.startswith("snnc-csim "):
            mism = int(line.split("mismatches=")[1])
    if r.returncode == 1 and mism is None:
        raise SnncError(f"csim testbench failed:\n{r.stderr.strip()[-2000:]}")
    out = parse_harness(r.stdout, binary.iface)  # rc=1 only reports the mismatches counted above
    return RunResult(harness=out, command=cmd, wall_s=wall, mismatches=mism)


def run_qemu(binary: HostBinary, inputs: np.ndarray, timeout: float = 600.0) -> RunResult:
    """Run the aarch64 host program (HOST_SIM) under ``qemu-aarch64`` user mode."""
    import tempfile

    qemu = require_tool(QEMU, "install qemu-user (scripts/setup.sh)")
    with tempfile.TemporaryDirectory(prefix="snnc-mpsoc-") as td:
        inp = Path(td) / "inputs.bin"
        inp.write_bytes(inputs_blob(inputs, binary.iface))
        cmd = [qemu, str(binary.path), str(inp)]
        r, wall = _run(cmd, binary, timeout)
    return RunResult(harness=parse_harness(r.stdout, binary.iface), command=cmd[:2], wall_s=wall)


def run_ssh(binary: HostBinary, inputs: np.ndarray, dest: str, known_hosts: str | Path | None,
            identity: str | Path | None, timeout: float = 600.0) -> RunResult:
    """Copy the host program and inputs to a board (``ssh://user@host[:port]``) and run it.

    The binary given is what runs there: the HOST_SIM build runs the kernel on the A53; a
    board build (compiled against the exported IP's xsnnc_kernel_hw.h) drives the PL.
    """
    from snnc.targets.rpi.run import run_ssh as _ssh
    from snnc.targets.ssh import SshDevice

    dev = SshDevice.parse(dest, known_hosts=known_hosts, identity=identity)
    r = _ssh(binary, inputs, dev, timeout=timeout)  # type: ignore[arg-type]  # duck-typed
    return RunResult(harness=r.harness, command=r.command, wall_s=r.wall_s)
