"""The one place where deployment targets are declared: profiles, options, pipeline,
emitter, build and devices.

A target is data (:class:`Target`):

- ``profile(name)`` / ``profiles()``: its presets (boards, MCUs, device models);
- ``options``: the compile options only it understands (:class:`TargetOption`, e.g. the
  mpsoc reuse factor); they reach its passes as ``ctx.options.target_options``;
- ``pipeline``: the pass names it compiles with (:data:`compiler.passes.pipeline.PASSES`);
- ``emit(graph, dir, memory) -> [files]``: writes the build directory and returns the
  files it wrote (relative paths), which is exactly what ``manifest.json`` lists;
- ``build``: turns a build directory into what its devices run;
- ``devices``: the ``--device`` strings it accepts (:class:`Device`), each with the
  function that flashes/runs the test inputs on it; ``flash``/``bench`` replace the generic
  ``snnc flash``/``snnc bench`` (run the inputs, compare with the golden model) for
  targets whose devices do something else (rram programs a simulated chip).

The CLI's ``--target`` choices, ``--device``/``--profile`` help, target options and the
flash/bench dispatch all derive from :data:`TARGETS`; no other module branches on a target
name. Adding a target is one :func:`register_target` call (see CONTRIBUTING.md).

Build directory written by :func:`write_build` (what ``snnc compile MODEL --target T
-o DIR`` produces): the emitter's files (C targets: ``model.h``, ``model.c``, the
generated-code contract of :mod:`compiler.codegen.c`, and ``model.snn``), then
``manifest.json`` (target, model name, content hash, snnc version, files) and, from the
CLI, the compile report ``report.json``/``report.md``.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from snnc.compiler import __version__
from snnc.compiler.errors import FormatError, SnncError
from snnc.compiler.ir.graph import Graph


def _lazy(module: str, attr: str) -> Callable[..., Any]:
    """``module.attr`` imported on first call (keeps ``snnc --help`` free of target code)."""

    def call(*args: Any, **kw: Any) -> Any:
        return getattr(importlib.import_module(module), attr)(*args, **kw)

    call.__qualname__ = call.__name__ = f"{module}.{attr}"
    return call


def emit_c_build(graph: Graph, out_dir: Path, memory: dict[str, int] | None = None) -> list[str]:
    """The C emitter shared by every C target: writes model.h, model.c and model.snn."""
    from snnc.compiler.codegen.c import write_c
    from snnc.compiler.ir.serialize import save

    m = write_c(graph, out_dir, memory=memory)
    save(graph, Path(out_dir) / "model.snn")
    return [*m.files, "model.snn"]


@dataclass(frozen=True)
class TargetOption:
    """A compile option only one target understands (``snnc compile --NAME``)."""

    name: str                                 # Python name; the flag is --name-with-dashes
    type: type
    help: str
    check: Callable[[Any], str | None] | None = None  # error message for a bad value

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Device:
    """One ``--device`` of a target.

    ``match(spec)`` returns the detail (``""`` when there is none) if the string addresses
    this device, else None; it raises SnncError for a malformed variant (``probe:jlink``).
    ``run(request) -> DeviceRun`` builds, flashes and runs the test inputs
    (:class:`targets.flash.DeviceRequest`); None when the target's own flash/bench
    commands handle the device. ``open(build_dir, profile)``, for a device in this
    process, returns the loaded model itself (``run(x) -> y``, :mod:`targets.run`).
    """

    name: str
    syntax: str
    help: str
    match: Callable[[str], str | None]
    run: Callable[[Any], Any] | None = None
    open: Callable[[Path, str | None], Any] | None = None


def exact(name: str) -> Callable[[str], str | None]:
    """A device addressed by exactly ``name``."""
    return lambda spec: "" if spec == name else None


def ssh_url(spec: str) -> str | None:
    """``ssh://user@host[:port]`` (parsed, with its errors, by :mod:`targets.ssh`)."""
    return spec if spec.startswith("ssh://") else None


def debug_probe(spec: str) -> str | None:
    """``probe`` (OpenOCD), ``probe:openocd`` or ``probe:pyocd``; the detail is the tool."""
    if spec != "probe" and not spec.startswith("probe:"):
        return None
    tool = spec.split(":", 1)[1] if ":" in spec else "openocd"
    if tool not in ("openocd", "pyocd"):
        raise SnncError(f"unknown probe tool '{tool}' in --device {spec} "
                        "(expected probe, probe:openocd or probe:pyocd)")
    return tool


@dataclass(frozen=True)
class Target:
    """A registered deployment target (see the module docstring)."""

    name: str
    description: str
    module: str                                  # e.g. "snnc.targets.host"
    profile: Callable[..., Any]                  # profile(name=None): a preset
    profiles: Callable[[], tuple[str, ...]]      # preset names, the default first
    pipeline: tuple[str, ...] | None = None      # None: the generic pass list
    options: tuple[TargetOption, ...] = ()
    emit: Callable[[Graph, Path, dict[str, int] | None], list[str]] = emit_c_build
    build: Callable[..., Any] | None = None
    devices: tuple[Device, ...] = ()
    flash: Callable[..., str] | None = None      # own `snnc flash` (else: generic run)
    bench: Callable[..., str] | None = None      # own `snnc bench` (else: generic bench)
    # prepare(profile): start model-independent build work in the background before a
    # compile (e.g. the smartwatch's empty size probe), to overlap it with the passes.
    prepare: Callable[[str | None], None] | None = None

    def load(self) -> ModuleType:
        """Import the target's module."""
        return importlib.import_module(self.module)

    def device(self, spec: str | None) -> tuple[Device, str]:
        """The device ``spec`` addresses (None: the first, the default) and its detail."""
        if not self.devices:
            raise SnncError(f"target '{self.name}' has no devices (device targets: "
                            f"{', '.join(n for n, t in TARGETS.items() if t.devices)})")
        if spec is None:
            return self.devices[0], ""
        for d in self.devices:
            detail = d.match(spec)
            if detail is not None:
                return d, detail
        owners = [t.name for t in TARGETS.values() if _matches(t, spec)]
        where = f"; it belongs to target {', '.join(owners)}" if owners else ""
        raise SnncError(f"unknown device '{spec}' for target '{self.name}' (expected "
                        f"{', '.join(d.syntax for d in self.devices)}{where})")


def _matches(t: Target, spec: str) -> bool:
    for d in t.devices:
        try:
            if d.match(spec) is not None:
                return True
        except SnncError:
            return True
    return False


TARGETS: dict[str, Target] = {}

# The device target of a bare compiled graph (``snnc flash MODEL.snn``) when neither
# --target nor --device says otherwise.
DEFAULT_DEVICE_TARGET = "smartwatch"


def register_target(t: Target) -> Target:
    """Add (or replace) a target and register its compile pipeline."""
    from snnc.compiler.passes.pipeline import PIPELINES, register_pipeline

    TARGETS[t.name] = t
    register_pipeline(t.name, t.pipeline or PIPELINES["generic"])
    return t


def get_target(name: str) -> Target:
    """The target called ``name``, or SnncError listing the known ones."""
    if name not in TARGETS:
        raise SnncError(f"unknown target '{name}' (available: {', '.join(sorted(TARGETS))})")
    return TARGETS[name]


def list_targets() -> list[str]:
    """Names of the registered targets, sorted."""
    return sorted(TARGETS)


def target_options() -> list[tuple[str, TargetOption]]:
    """Every target's own compile options as (target name, option)."""
    return [(t.name, o) for t in TARGETS.values() for o in t.options]


def profile_help() -> str:
    """``--profile`` help: each target's presets, its default first."""
    return "; ".join(f"{t.name}: {' | '.join(t.profiles())}" for t in TARGETS.values())


def device_help() -> str:
    """``--device`` help: each device target's devices, its default first."""
    return "; ".join(f"{t.name}: {' | '.join(d.syntax for d in t.devices)}"
                     for t in TARGETS.values() if t.devices)


def check_target_options(target: str, values: dict[str, Any]) -> dict[str, Any]:
    """Validate ``values`` (None = not given) for ``target``; returns the given ones.

    An option of another target is an error naming the target it belongs to.
    """
    t = TARGETS.get(target)
    own = {o.name: o for o in t.options} if t else {}
    out: dict[str, Any] = {}
    for name, v in values.items():
        if v is None:
            continue
        if name not in own:
            owners = [tn for tn, o in target_options() if o.name == name]
            raise SnncError(f"option --{name.replace('_', '-')} applies to target "
                            f"{' | '.join(owners) or '(none)'}, not '{target}'")
        msg = own[name].check(v) if own[name].check else None
        if msg:
            raise SnncError(f"option --{name.replace('_', '-')}: {msg}")
        out[name] = v
    return out


def manifest_target(build: str | Path) -> str | None:
    """The target a build directory's ``manifest.json`` names (None: no manifest)."""
    man = Path(build) / "manifest.json"
    if not man.is_file():
        return None
    try:
        t = json.loads(man.read_text()).get("target")
    except (ValueError, OSError, AttributeError):
        raise FormatError("unreadable build manifest", man) from None
    if t not in TARGETS:
        raise FormatError(f"build manifest names unknown target {t!r} (available: "
                          f"{', '.join(list_targets())})", man)
    return str(t)


def resolve(build: str | Path, target: str | None = None,
            device: str | None = None) -> tuple[Target, Device, str]:
    """(target, device, detail) of a ``snnc flash/bench BUILD`` invocation.

    The target is ``--target``, else the build's manifest, else the first registered
    target that has ``device`` (in registration order), else
    :data:`DEFAULT_DEVICE_TARGET`. A device the target does not have, or a ``--target``
    that contradicts the manifest, is an error.
    """
    declared = manifest_target(build)
    if target is not None and declared is not None and target != declared:
        raise SnncError(f"{build} is a build for target '{declared}', not '{target}' "
                        f"(drop --target or recompile with --target {target})")
    name = target or declared
    if name is None and device is not None:
        name = next((t.name for t in TARGETS.values() if _matches(t, device)), None)
        if name is None:
            raise SnncError(f"unknown device '{device}' (devices: " + "; ".join(
                f"{t.name}: {', '.join(d.syntax for d in t.devices)}"
                for t in TARGETS.values() if t.devices) + ")")
    t = get_target(name or DEFAULT_DEVICE_TARGET)
    dev, detail = t.device(device)
    return t, dev, detail


def prepare(target: str, profile: str | None = None) -> None:
    """Let ``target`` start what a compile for it will need whatever the model (see
    :attr:`Target.prepare`); nothing for targets without such work or unknown names."""
    t = TARGETS.get(target)
    if t is not None and t.prepare is not None:
        t.prepare(profile)


def write_build(target: str, graph: Graph, out_dir: str | Path,
                memory: dict[str, int] | None = None, source: str | Path | None = None) -> Path:
    """Emit ``graph`` for ``target`` into the build directory ``out_dir``.

    ``memory`` (``{"flash_bytes", "ram_bytes"}`` from the memory planner) goes into the
    generated header's comment. Files are written atomically, the manifest last; it lists
    the files the emitter reports having written (and ``source``, the graph file the
    build came from, when given).
    """
    from snnc.compiler.ir.serialize import atomic_write, graph_hash

    t = get_target(target)
    d = Path(out_dir)
    if d.exists() and not d.is_dir():
        raise SnncError(f"{d}: output for --target {target} must be a directory")
    files = list(t.emit(graph, d, memory))  # generates everything before creating files
    missing = [f for f in files if not (d / f).is_file()]
    if missing:  # an emitter bug, not a user error: never write a manifest that lies
        raise SnncError(f"target '{target}' emitter reported files it did not write: {missing}")
    man = {"format": "snnc-build", "version": 1, "target": t.name, "model": graph.name,
           "hash": graph_hash(graph), "snnc_version": __version__, "files": files}
    if source is not None:
        man["source"] = str(source)
    atomic_write(d / "manifest.json", lambda f: f.write(json.dumps(man, indent=1) + "\n"),
                 mode="w")
    return d


# ------------------------------------------------------------------ the targets

_FLASH = "snnc.targets.flash"
# --kernels (host, smartwatch, rpi): who generates the synapse layers' kernels.
_KERNELS = TargetOption(
    "kernels", str, "synapse kernels: snnc (the C runtime, default) or tvm (TIR compiled by "
    "TVM's LLVM backend and linked in; needs the [baselines] extra)",
    check=lambda v: None if v in ("snnc", "tvm") else f"must be snnc or tvm, got {v!r}")

register_target(Target(
    name="host", module="snnc.targets.host",
    description="the development machine: gcc/cmake, shared library run in-process",
    profile=_lazy("snnc.targets.host", "get_profile"), profiles=lambda: ("host",),
    build=_lazy("snnc.targets.host", "build"),
    options=(_KERNELS,),
    devices=(Device("local", "local", "this machine, in-process through ctypes",
                    exact("local"), _lazy(_FLASH, "run_host"), _lazy(_FLASH, "open_host")),)))


def _smartwatch_pipeline() -> tuple[str, ...]:
    from snnc.targets import smartwatch  # registers its smartwatch_fit pass

    return smartwatch.PIPELINE


def _smartwatch_profiles() -> tuple[str, ...]:
    from snnc.targets.smartwatch.profile import DEFAULT_PRESET, PRESETS

    return (DEFAULT_PRESET, *(p for p in PRESETS if p != DEFAULT_PRESET))


register_target(Target(
    name="smartwatch", module="snnc.targets.smartwatch",
    description="Cortex-M4F smartwatch MCU (nRF52840 / Apollo3 / STM32L4R9 presets): "
                "arm-none-eabi-gcc; QEMU MPS2 AN386 or a debug probe",
    profile=_lazy("snnc.targets.smartwatch.profile", "get_profile"),
    profiles=_smartwatch_profiles, pipeline=_smartwatch_pipeline(),
    build=_lazy("snnc.targets.smartwatch.build", "build_firmware"),
    prepare=_lazy("snnc.targets.smartwatch.build", "start_early"),
    options=(_KERNELS,),
    devices=(Device("qemu", "qemu", "qemu-system-arm MPS2 AN386, exact instruction counts",
                    exact("qemu"), _lazy(_FLASH, "run_smartwatch")),
             Device("probe", "probe[:openocd|:pyocd]", "a real board via a debug probe",
                    debug_probe, _lazy(_FLASH, "run_smartwatch")))))


def _rpi_profiles() -> tuple[str, ...]:
    from snnc.targets.rpi.profile import DEFAULT_PRESET, PRESETS

    return (DEFAULT_PRESET, *(p for p in PRESETS if p != DEFAULT_PRESET))


register_target(Target(
    name="rpi", module="snnc.targets.rpi",
    description="Raspberry Pi 3B+/4/5 (aarch64 Linux, NEON): static aarch64-linux-gnu-gcc "
                "build; qemu-aarch64 or ssh://",
    profile=_lazy("snnc.targets.rpi.profile", "get_profile"), profiles=_rpi_profiles,
    build=_lazy("snnc.targets.rpi.build", "build_binary"),
    options=(_KERNELS,),
    devices=(Device("qemu", "qemu", "qemu-aarch64 user mode, exact instruction counts",
                    exact("qemu"), _lazy(_FLASH, "run_rpi")),
             Device("ssh", "ssh://user@host[:port]", "scp + run on the board, wall time",
                    ssh_url, _lazy(_FLASH, "run_rpi")))))


def _mpsoc_pipeline() -> tuple[str, ...]:
    from snnc.targets import mpsoc  # registers its mpsoc_fit pass

    return mpsoc.PIPELINE


def _mpsoc_profiles() -> tuple[str, ...]:
    from snnc.targets.mpsoc.profile import DEFAULT_BOARD, PRESETS

    return (DEFAULT_BOARD, *(p for p in PRESETS if p != DEFAULT_BOARD))


def _positive(v: Any) -> str | None:
    return None if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else \
        f"must be a positive integer, got {v!r}"


register_target(Target(
    name="mpsoc", module="snnc.targets.mpsoc",
    description="Zynq UltraScale+ MPSoC (ZCU102 / ZCU104 / KV260 / Ultra96): Vitis-HLS C++ "
                "kernel + A53 host; csim with g++, host under qemu-aarch64 or ssh://",
    profile=_lazy("snnc.targets.mpsoc.profile", "get_board"), profiles=_mpsoc_profiles,
    pipeline=_mpsoc_pipeline(), emit=_lazy("snnc.targets.mpsoc.build", "emit_build"),
    options=(TargetOption("reuse", int, "reuse factor of every synapse layer (default: the "
                          "smallest that fits the board)", _positive),),
    build=_lazy("snnc.targets.mpsoc.build", "build_host"),
    devices=(Device("qemu", "qemu", "the A53 host program (kernel in software) under "
                    "qemu-aarch64", exact("qemu"), _lazy(_FLASH, "run_mpsoc")),
             Device("csim", "csim", "the HLS C-simulation testbench built with g++",
                    exact("csim"), _lazy(_FLASH, "run_mpsoc")),
             Device("ssh", "ssh://user@host[:port]", "scp + run the host program on the "
                    "board, wall time", ssh_url, _lazy(_FLASH, "run_mpsoc")))))


def _rram_profiles() -> tuple[str, ...]:
    from snnc.targets.rram.device import PRESETS

    return ("neurram", *(p for p in PRESETS if p != "neurram"))


def _rram_emit(graph: Graph, out_dir: Path, memory: dict[str, int] | None = None) -> list[str]:
    from snnc.targets.rram.flow import emit_build

    emit_build(graph, out_dir, memory)
    return ["model.snn", "plan.json"]


register_target(Target(
    name="rram", module="snnc.targets.rram",
    description="RRAM crossbar in-memory computing (256x256 tiles, G+/G- pairs, 8-bit ADC, "
                "device noise): float or integer weights -> conductance plan; --device sim",
    profile=lambda name=None: _lazy("snnc.targets.rram.device", "get_device")(
        name or "neurram"),
    profiles=_rram_profiles,
    # quantize is skipped with --quantize float (float weights -> conductances).
    pipeline=("prune", "inert", "dead_neurons", "quantize", "dead_neurons"), emit=_rram_emit,
    devices=(Device("sim", "sim", "the simulated chip (seeded device variation)", exact("sim"),
                    _lazy(_FLASH, "run_rram")),),
    flash=_lazy("snnc.targets.rram.commands", "flash_cli"),
    bench=_lazy("snnc.targets.rram.commands", "bench_cli")))
