"""Device dispatch: build a target's binary from a build directory, put it on a device, run
the test inputs through it and bring the outputs back.

Devices (``--device``):

=================  ============================================================
smartwatch
``qemu``           qemu-system-arm MPS2 AN386 + semihosting, exact instruction counts
``probe``          real board via OpenOCD (flash, run with semihosting, collect)
``probe:pyocd``    real board via pyOCD (flash and start; no output capture)
rpi
``qemu``           qemu-aarch64 user mode, exact instruction counts
``ssh://u@h[:p]``  scp + run on the board; wall time per step
mpsoc
``qemu``           the A53 host program (kernel linked in software) under qemu-aarch64
``csim``           the HLS C-simulation testbench built with g++ on this machine
``ssh://u@h[:p]``  scp + run the host program on the board; wall time per step
=================  ============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError

DEVICE_TARGETS = ("smartwatch", "rpi", "mpsoc")


@dataclass
class DeviceRun:
    """Outputs of the test inputs on one device, plus what the device measured."""

    target: str
    profile: str
    device: str
    outputs: np.ndarray                    # [samples, steps, n_outputs] as the device computed
    step_instructions: np.ndarray | None   # [samples*steps] exact counts (emulators)
    step_ns: np.ndarray | None             # [samples*steps] wall time (Linux boards)
    binary: Path
    command: list[str]
    memory: dict[str, Any] = field(default_factory=dict)
    step_cycles: np.ndarray | None = None  # [samples*steps] SysTick cycles (real MCUs)
    clock_hz: int | None = None
    burst_clock_hz: int | None = None

    @property
    def n_samples(self) -> int:
        return int(self.outputs.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.outputs.shape[1])


def parse_device(target: str, device: str) -> tuple[str, str]:
    """Validate ``device`` for ``target``; returns (kind, detail)."""
    if target not in DEVICE_TARGETS:
        raise SnncError(f"target '{target}' has no devices to flash (device targets: "
                        f"{', '.join(DEVICE_TARGETS)})")
    if device == "qemu":
        return "qemu", ""
    if target == "smartwatch" and (device == "probe" or device.startswith("probe:")):
        tool = device.split(":", 1)[1] if ":" in device else "openocd"
        if tool not in ("openocd", "pyocd"):
            raise SnncError(f"unknown probe tool '{tool}' in --device {device} "
                            "(expected probe, probe:openocd or probe:pyocd)")
        return "probe", tool
    if target in ("rpi", "mpsoc") and device.startswith("ssh://"):
        return "ssh", device
    if target == "mpsoc" and device == "csim":
        return "csim", ""
    allowed = {"smartwatch": "qemu, probe, probe:pyocd", "rpi": "qemu, ssh://user@host[:port]",
               "mpsoc": "qemu, csim, ssh://user@host[:port]"}[target]
    raise SnncError(f"unknown device '{device}' for target '{target}' (expected {allowed})")


def run_on_device(target: str, build_dir: str | Path, inputs: np.ndarray,
                  device: str = "qemu", profile: str | None = None, count: bool = True,
                  known_hosts: str | Path | None = None, identity: str | Path | None = None,
                  out_dir: str | Path | None = None, timeout: float = 600.0) -> DeviceRun:
    """Build for ``target`` from ``build_dir`` and run ``inputs`` [S, T, I] on ``device``."""
    kind, detail = parse_device(target, device)
    if target == "smartwatch":
        from snnc.targets.smartwatch.build import build_firmware
        from snnc.targets.smartwatch.run import run_probe, run_qemu

        fw = build_firmware(build_dir, inputs, profile, out_dir)
        mem = {"firmware": fw.memory.to_dict(), "model": fw.model_memory.to_dict()}
        if kind == "qemu":
            r = run_qemu(fw, count=count, timeout=timeout)
        else:
            r = run_probe(fw, detail, timeout=timeout)
            if r is None:
                raise SnncError("firmware flashed and started with pyOCD; its outputs are "
                                "only visible in a semihosting session (use --device probe "
                                "for OpenOCD, which collects them)")
        return DeviceRun(target=target, profile=fw.profile.name, device=device,
                         outputs=r.harness.outputs,
                         step_instructions=r.counts.intervals if r.counts else None,
                         step_ns=None,
                         # QEMU does not model cycles: SysTick only counts on a board.
                         step_cycles=r.harness.step_cycles if kind == "probe" else None,
                         binary=fw.elf, command=r.command, memory=mem,
                         clock_hz=fw.profile.clock_hz,
                         burst_clock_hz=fw.profile.burst_clock_hz)
    if target == "mpsoc":
        return _run_mpsoc(kind, detail, build_dir, inputs, device, known_hosts, identity,
                          out_dir, timeout)
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user, run_ssh
    from snnc.targets.ssh import SshDevice

    b = build_binary(build_dir, profile, out_dir)
    if kind == "qemu":
        r2 = run_qemu_user(b, inputs, count=count, timeout=timeout)
    else:
        dev = SshDevice.parse(detail, known_hosts=known_hosts, identity=identity)
        r2 = run_ssh(b, inputs, dev, timeout=timeout)
    return DeviceRun(target=target, profile=b.profile.name, device=device,
                     outputs=r2.harness.outputs,
                     step_instructions=r2.counts.intervals if r2.counts else None,
                     step_ns=r2.harness.step_ns if kind == "ssh" else None,
                     binary=b.path, command=r2.command,
                     memory={"binary_file_bytes": b.file_bytes},
                     # No time estimate from instructions: these cores are superscalar.
                     clock_hz=None)


def _run_mpsoc(kind: str, detail: str, build_dir: str | Path, inputs: np.ndarray, device: str,
               known_hosts: str | Path | None, identity: str | Path | None,
               out_dir: str | Path | None, timeout: float) -> DeviceRun:
    """mpsoc: csim testbench, host program under qemu-aarch64, or on a board over ssh."""
    from snnc.targets.mpsoc.build import build_csim, build_host, build_info
    from snnc.targets.mpsoc.run import run_csim, run_qemu, run_ssh

    info = build_info(build_dir)
    extra: dict[str, Any] = {}
    if kind == "csim":
        from snnc.compiler.ir import load
        from snnc.targets.benchmark import reference_outputs

        # The testbench checks itself against the integer simulator (golden.bin), and the
        # files stay beside run_hls.tcl for Vitis HLS's own csim/cosim.
        golden, _ = reference_outputs(load(Path(build_dir) / "model.snn"), inputs)
        b = build_csim(build_dir, out_dir)
        r = run_csim(b, build_dir, inputs, golden=golden, timeout=timeout)
        extra["csim"] = {"compared": int(golden.size), "mismatches": r.mismatches}
    else:
        b = build_host(build_dir, out_dir)
        r = (run_qemu(b, inputs, timeout=timeout) if kind == "qemu" else
             run_ssh(b, inputs, detail, known_hosts, identity, timeout=timeout))
    return DeviceRun(target="mpsoc", profile=info["board"], device=device,
                     outputs=r.harness.outputs, step_instructions=None,
                     step_ns=r.harness.step_ns if kind == "ssh" else None,
                     binary=b.path, command=r.command,
                     memory={"binary_file_bytes": b.file_bytes, "pl_estimate": info["estimate"],
                             **extra},
                     clock_hz=None)
