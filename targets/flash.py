"""Device dispatch: build a target's binary from a build directory, put it on a device, run
the test inputs through it and bring the outputs back.

Which devices a target has, and which function below runs each, is declared in
:mod:`targets.registry` (``snnc flash/bench --help`` lists them); :func:`run_on_device`
resolves a ``--device`` string through it, so nothing here branches on a target name.
One function per target turns a :class:`DeviceRequest` into a :class:`DeviceRun`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError


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


@dataclass(frozen=True)
class DeviceRequest:
    """One run of test inputs ``[S, T, n_inputs]`` on a device (what a Device's run takes)."""

    target: str
    build_dir: Path
    inputs: np.ndarray
    device: str                  # as typed, e.g. "ssh://pi@board"
    kind: str                    # the registry's device name, e.g. "ssh"
    detail: str                  # what the device's match returned (probe tool, ssh URL)
    profile: str | None = None
    count: bool = True
    known_hosts: str | Path | None = None
    identity: str | Path | None = None
    out_dir: str | Path | None = None
    timeout: float = 600.0
    seed: int = 0                # simulated chips: which chip


def parse_device(target: str, device: str | None) -> tuple[str, str]:
    """Validate ``device`` for ``target``; returns (device name, detail)."""
    from snnc.targets.registry import get_target

    dev, detail = get_target(target).device(device)
    return dev.name, detail


def run_on_device(target: str, build_dir: str | Path, inputs: np.ndarray,
                  device: str | None = None, profile: str | None = None, count: bool = True,
                  known_hosts: str | Path | None = None, identity: str | Path | None = None,
                  out_dir: str | Path | None = None, timeout: float = 600.0,
                  seed: int = 0) -> DeviceRun:
    """Build for ``target`` from ``build_dir`` and run ``inputs`` [S, T, I] on ``device``
    (None: the target's default device)."""
    from snnc.targets.registry import get_target

    dev, detail = get_target(target).device(device)
    if dev.run is None:
        raise SnncError(f"device '{dev.name}' of target '{target}' runs no test inputs")
    return dev.run(DeviceRequest(target=target, build_dir=Path(build_dir),
                                 inputs=np.asarray(inputs), device=device or dev.name,
                                 kind=dev.name, detail=detail, profile=profile, count=count,
                                 known_hosts=known_hosts, identity=identity, out_dir=out_dir,
                                 timeout=timeout, seed=seed))


def open_host(build_dir: Path, profile: str | None = None) -> Any:
    """host: the build compiled into a shared library and loaded (``run(x) -> y``)."""
    from snnc.targets.host import build, get_profile

    return build(build_dir, get_profile(profile))


def run_host(req: DeviceRequest) -> DeviceRun:
    """host: build the shared library and step it in-process (ctypes), timing each step's
    foreign call (ctypes overhead included) with the monotonic clock."""
    from snnc.targets.common import check_inputs

    model = open_host(req.build_dir, req.profile)
    x = check_inputs(req.inputs, model.iface)
    stream = model.stream()
    y = np.zeros((x.shape[0], x.shape[1], model.iface.n_outputs), model.iface.output_dtype)
    ns = np.zeros(x.shape[0] * x.shape[1], dtype=np.int64)
    for b in range(x.shape[0]):
        stream.reset()
        for t in range(x.shape[1]):
            y[b, t] = stream.step(x[b, t])
            ns[b * x.shape[1] + t] = stream.last_native_ns
    return DeviceRun(target=req.target, profile=model.profile.name, device=req.device,
                     outputs=y, step_instructions=None, step_ns=ns,
                     binary=model.lib_path, command=[],
                     memory={"state_bytes": int(model.state_bytes)}, clock_hz=None)


def run_smartwatch(req: DeviceRequest) -> DeviceRun:
    """smartwatch: firmware with the inputs embedded; QEMU MPS2 AN386 or a debug probe."""
    from snnc.targets.smartwatch.build import build_firmware
    from snnc.targets.smartwatch.run import run_probe, run_qemu

    fw = build_firmware(req.build_dir, req.inputs, req.profile, req.out_dir)
    mem = {"firmware": fw.memory.to_dict(), "model": fw.model_memory.to_dict()}
    if req.kind == "qemu":
        r = run_qemu(fw, count=req.count, timeout=req.timeout)
    else:
        r = run_probe(fw, req.detail, timeout=req.timeout)
        if r is None:
            raise SnncError("firmware flashed and started with pyOCD; its outputs are "
                            "only visible in a semihosting session (use --device probe "
                            "for OpenOCD, which collects them)")
    return DeviceRun(target=req.target, profile=fw.profile.name, device=req.device,
                     outputs=r.harness.outputs,
                     step_instructions=r.counts.intervals if r.counts else None,
                     step_ns=None,
                     # QEMU does not model cycles: SysTick only counts on a board.
                     step_cycles=r.harness.step_cycles if req.kind == "probe" else None,
                     binary=fw.elf, command=r.command, memory=mem,
                     clock_hz=fw.profile.clock_hz,
                     burst_clock_hz=fw.profile.burst_clock_hz)


def run_rpi(req: DeviceRequest) -> DeviceRun:
    """rpi: static aarch64 binary under qemu-aarch64 user mode or on a board over ssh."""
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user, run_ssh
    from snnc.targets.ssh import SshDevice

    b = build_binary(req.build_dir, req.profile, req.out_dir)
    if req.kind == "qemu":
        r2 = run_qemu_user(b, req.inputs, count=req.count, timeout=req.timeout)
    else:
        dev = SshDevice.parse(req.detail, known_hosts=req.known_hosts, identity=req.identity)
        r2 = run_ssh(b, req.inputs, dev, timeout=req.timeout)
    return DeviceRun(target=req.target, profile=b.profile.name, device=req.device,
                     outputs=r2.harness.outputs,
                     step_instructions=r2.counts.intervals if r2.counts else None,
                     step_ns=r2.harness.step_ns if req.kind == "ssh" else None,
                     binary=b.path, command=r2.command,
                     memory={"binary_file_bytes": b.file_bytes},
                     # No time estimate from instructions: these cores are superscalar.
                     clock_hz=None)


def run_rram(req: DeviceRequest) -> DeviceRun:
    """rram: program simulated chip ``seed`` (device preset ``--profile``, else the
    build's) and run the inputs through it (float inputs, or the integers of a quantized
    graph); outputs as the chip reads them out, per step."""
    from snnc.targets.rram.flow import open_build, resolve_device
    from snnc.targets.rram.sim import flash_chip, run_chip

    bd, graph = open_build(req.build_dir)
    chip = flash_chip(graph, resolve_device(graph, bd, req.profile), seed=req.seed)
    node = graph.nodes[graph.inputs[0]]
    x = req.inputs.reshape(req.inputs.shape[0], req.inputs.shape[1], *node.shape_out())
    res = run_chip(chip, x)
    y = np.concatenate([np.asarray(res.outputs[n]).reshape(x.shape[0], x.shape[1], -1)
                        for n in graph.outputs], axis=2)
    return DeviceRun(target=req.target, profile=chip.device.name, device=req.device,
                     outputs=y, step_instructions=None, step_ns=None,
                     binary=bd / "plan.json", command=[], clock_hz=None)


def run_mpsoc(req: DeviceRequest) -> DeviceRun:
    """mpsoc: csim testbench, host program under qemu-aarch64, or on a board over ssh."""
    from snnc.targets.mpsoc.build import build_csim, build_host, build_info
    from snnc.targets.mpsoc.run import run_csim, run_qemu, run_ssh

    info = build_info(req.build_dir)
    extra: dict[str, Any] = {}
    if req.kind == "csim":
        from snnc.compiler.ir import load
        from snnc.targets.benchmark import reference_outputs

        # The testbench checks itself against the integer simulator (golden.bin), and the
        # files stay beside run_hls.tcl for Vitis HLS's own csim/cosim.
        golden, _ = reference_outputs(load(req.build_dir / "model.snn"), req.inputs)
        b = build_csim(req.build_dir, req.out_dir)
        r = run_csim(b, req.build_dir, req.inputs, golden=golden, timeout=req.timeout)
        extra["csim"] = {"compared": int(golden.size), "mismatches": r.mismatches}
    else:
        b = build_host(req.build_dir, req.out_dir)
        r = (run_qemu(b, req.inputs, timeout=req.timeout) if req.kind == "qemu" else
             run_ssh(b, req.inputs, req.detail, req.known_hosts, req.identity,
                     timeout=req.timeout))
    return DeviceRun(target=req.target, profile=info["board"], device=req.device,
                     outputs=r.harness.outputs, step_instructions=None,
                     step_ns=r.harness.step_ns if req.kind == "ssh" else None,
                     binary=b.path, command=r.command,
                     memory={"binary_file_bytes": b.file_bytes, "pl_estimate": info["estimate"],
                             **extra},
                     clock_hz=None)
