"""Run smartwatch firmware: on the emulated board (QEMU MPS2 AN386) or a real one (probe).

``qemu``: ``qemu-system-arm -M mps2-an386 -nographic -semihosting -kernel fw.elf``; the
harness prints over semihosting and ends QEMU through semihosting SYS_EXIT. With
``count=True`` the insncount plugin records the exact instructions of every step.
``-icount shift=0,align=off,sleep=off`` ties virtual time to the instruction count, so a
whole run (SysTick readings included) is deterministic, not only the step counts.

``probe``: a real board over SWD. The default is OpenOCD, which flashes, runs with
semihosting enabled and, outside a debugger session, exits with the firmware's exit code
when it calls SYS_EXIT, so one non-interactive command captures the output. pyOCD can
flash (``pyocd load``) and reset; its semihosting console needs a gdbserver session, so
with pyOCD snnc flashes and starts the firmware but cannot collect outputs.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from snnc.compiler.errors import SnncError
from snnc.targets.common import HarnessOutput, parse_harness, require_tool
from snnc.targets.insncount import (
    InsnCounts,
    build_plugin,
    parse_log,
    plugin_args,
    symbol_addresses,
)
from snnc.targets.smartwatch.build import NM, Firmware
from snnc.targets.smartwatch.profile import McuProfile

QEMU = "qemu-system-arm"
MARKERS = ("snnc_mark_begin", "snnc_mark_end")


@dataclass
class RunResult:
    """What one firmware run produced."""

    harness: HarnessOutput
    counts: InsnCounts | None  # per-step instructions (emulator only)
    command: list[str]
    wall_s: float


def qemu_command(elf: Path, profile: McuProfile) -> list[str]:
    """The emulator command line for ``elf`` (without the plugin arguments)."""
    return [QEMU, "-M", profile.qemu_machine, "-nographic", "-monitor", "none",
            "-semihosting", "-icount", "shift=0,align=off,sleep=off", "-kernel", str(elf)]


def run_qemu(fw: Firmware, count: bool = True, timeout: float = 300.0) -> RunResult:
    """Run ``fw`` under QEMU; decode its outputs and (``count``) per-step instructions."""
    require_tool(QEMU, "install qemu-system-arm (scripts/setup.sh)")
    cmd = qemu_command(fw.elf, fw.profile)
    with tempfile.TemporaryDirectory(prefix="snnc-qemu-") as td:
        log = Path(td) / "plugin.log"
        full = list(cmd)
        if count:
            addr = symbol_addresses(fw.elf, MARKERS, nm=require_tool(NM))
            full += plugin_args(build_plugin(), addr[MARKERS[0]], addr[MARKERS[1]], log)
        # Semihosting output goes to a regular file, not a pipe: QEMU writes the console
        # non-blocking, and a full pipe on a busy machine would cost output lines.
        out_path = Path(td) / "stdout.txt"
        t0 = time.perf_counter()
        try:
            with open(out_path, "wb") as so:
                r = subprocess.run(full, stdout=so, stderr=subprocess.PIPE, text=True,
                                   timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SnncError(f"firmware {fw.elf} did not finish within {timeout:.0f} s under "
                            "QEMU (a fault loops in Default_Handler)") from None
        wall = time.perf_counter() - t0
        stdout = out_path.read_text(errors="replace")
        if r.returncode != 0:
            raise SnncError(f"QEMU run of {fw.elf} failed (exit {r.returncode}):\n"
                            f"{(r.stderr or stdout).strip()[-2000:]}")
        out = parse_harness(stdout, fw.iface)
        counts = parse_log(log.read_text()) if count else None
    if counts is not None and counts.intervals.size != fw.n_samples * fw.n_steps:
        raise SnncError(f"instruction counts for {counts.intervals.size} steps, expected "
                        f"{fw.n_samples * fw.n_steps}")
    return RunResult(harness=out, counts=counts, command=cmd, wall_s=wall)


def probe_commands(elf: Path, profile: McuProfile, tool: str = "openocd") -> list[list[str]]:
    """Commands that flash and run ``elf`` on a real board through a debug probe.

    ``openocd``: one command (flash, verify, enable semihosting, reset and run; OpenOCD
    exits with the firmware's exit code). ``pyocd``: flash then reset (no output capture).
    """
    if tool == "openocd":
        if not profile.openocd_target:
            raise SnncError(f"profile '{profile.name}' has no OpenOCD target config; use "
                            "--device probe:pyocd")
        return [["openocd", "-f", profile.openocd_interface, "-f", profile.openocd_target,
                 "-c", f"program {elf} verify", "-c", "arm semihosting enable",
                 "-c", "reset run"]]
    if tool == "pyocd":
        if not profile.pyocd_target:
            raise SnncError(f"profile '{profile.name}' has no pyOCD target name; use "
                            "--device probe:openocd")
        return [["pyocd", "load", "--target", profile.pyocd_target, "--format", "elf", str(elf)],
                ["pyocd", "reset", "--target", profile.pyocd_target]]
    raise SnncError(f"unknown probe tool '{tool}' (expected openocd or pyocd)")


def run_probe(fw: Firmware, tool: str = "openocd", timeout: float = 600.0) -> RunResult | None:
    """Flash and run on a real board; the decoded outputs with OpenOCD, None with pyOCD."""
    cmds = probe_commands(fw.elf, fw.profile, tool)
    require_tool(cmds[0][0], f"install {tool} and connect the board's debug probe")
    t0 = time.perf_counter()
    last = None
    for c in cmds:
        try:
            last = subprocess.run(c, capture_output=True, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise SnncError(f"{c[0]} did not finish within {timeout:.0f} s") from None
        if last.returncode != 0:
            raise SnncError(f"{' '.join(c[:2])} failed (exit {last.returncode}):\n"
                            f"{(last.stderr or last.stdout).strip()[-2000:]}")
    if tool != "openocd":
        return None
    assert last is not None
    # OpenOCD prints semihosting output on stdout, its own log on stderr.
    return RunResult(harness=parse_harness(last.stdout, fw.iface), counts=None,
                     command=cmds[0], wall_s=time.perf_counter() - t0)
