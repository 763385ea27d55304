"""The one place where deployment targets are registered: name -> profile, pipeline, emitter.

A target is data (:class:`Target`): a description, the module holding its code, a
function returning its default profile, the compile pipeline it runs (pass names from
:data:`compiler.passes.pipeline.PASSES`; the generic list unless it needs its own) and
the emitter that turns the optimized graph into a build directory. Adding a target is
one :func:`register_target` call below (or from the target's own module); nothing else
in snnc branches on target names.

Build directory written by :func:`write_build` (what ``snnc compile MODEL --target T
-o DIR`` produces): ``model.h`` and ``model.c`` (the generated-code contract, see
:mod:`compiler.codegen.c`), ``model.snn`` (the graph they came from), ``manifest.json``
(target, model name, content hash, snnc version, files) and, from the CLI, the compile
report ``report.json``/``report.md``.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from snnc.compiler import __version__
from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph


def emit_c_build(graph: Graph, out_dir: Path, memory: dict[str, int] | None = None) -> Any:
    """The C emitter shared by every C target: model.h, model.c and model.snn."""
    from snnc.compiler.codegen.c import write_c
    from snnc.compiler.ir.serialize import save

    model = write_c(graph, out_dir, memory=memory)
    save(graph, Path(out_dir) / "model.snn")
    return model


@dataclass(frozen=True)
class Target:
    """A registered deployment target."""

    name: str
    description: str
    module: str                                  # e.g. "snnc.targets.host"
    profile: Callable[[], Any]                   # the default profile (a dataclass)
    pipeline: tuple[str, ...] | None = None      # None: the generic pass list
    emit: Callable[[Graph, Path, dict[str, int] | None], Any] = emit_c_build

    def load(self) -> ModuleType:
        """Import the target's module."""
        return importlib.import_module(self.module)


TARGETS: dict[str, Target] = {}


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


def write_build(target: str, graph: Graph, out_dir: str | Path,
                memory: dict[str, int] | None = None) -> Path:
    """Emit ``graph`` for ``target`` into the build directory ``out_dir``.

    ``memory`` (``{"flash_bytes", "ram_bytes"}`` from the memory planner) goes into the
    generated header's comment. Files are written atomically, the manifest last.
    """
    from snnc.compiler.ir.serialize import atomic_write, graph_hash

    t = get_target(target)
    d = Path(out_dir)
    if d.exists() and not d.is_dir():
        raise SnncError(f"{d}: output for --target {target} must be a directory")
    t.emit(graph, d, memory)  # generates everything before creating files
    man = {"format": "snnc-build", "version": 1, "target": t.name, "model": graph.name,
           "hash": graph_hash(graph), "snnc_version": __version__,
           "files": ["model.h", "model.c", "model.snn"]}
    atomic_write(d / "manifest.json", lambda f: f.write(json.dumps(man, indent=1) + "\n"),
                 mode="w")
    return d


# ------------------------------------------------------------------ the targets


def _host_profile() -> Any:
    from snnc.targets.host import PROFILE

    return PROFILE


register_target(Target(
    name="host", module="snnc.targets.host", profile=_host_profile,
    description="the development machine: gcc/cmake, shared library run in-process"))


def _smartwatch_profile() -> Any:
    from snnc.targets.smartwatch.profile import get_profile

    return get_profile()


def _rpi_profile() -> Any:
    from snnc.targets.rpi.profile import get_profile

    return get_profile()


def _smartwatch_pipeline() -> tuple[str, ...]:
    from snnc.targets import smartwatch  # registers its smartwatch_fit pass

    return smartwatch.PIPELINE


register_target(Target(
    name="smartwatch", module="snnc.targets.smartwatch", profile=_smartwatch_profile,
    pipeline=_smartwatch_pipeline(),
    description="Cortex-M4F smartwatch MCU (nRF52840 / Apollo3 / STM32L4R9 presets): "
                "arm-none-eabi-gcc; QEMU MPS2 AN386 or a debug probe"))
register_target(Target(
    name="rpi", module="snnc.targets.rpi", profile=_rpi_profile,
    description="Raspberry Pi 3B+/4/5 (aarch64 Linux, NEON): static aarch64-linux-gnu-gcc "
                "build; qemu-aarch64 or ssh://"))


def _mpsoc_profile() -> Any:
    from snnc.targets.mpsoc.profile import get_board

    return get_board()


def _mpsoc_pipeline() -> tuple[str, ...]:
    from snnc.targets import mpsoc  # registers its mpsoc_fit pass

    return mpsoc.PIPELINE


def _mpsoc_emit(graph: Graph, out_dir: Path, memory: dict[str, int] | None = None) -> Any:
    from snnc.targets.mpsoc.build import emit_build

    return emit_build(graph, out_dir, memory)


register_target(Target(
    name="mpsoc", module="snnc.targets.mpsoc", profile=_mpsoc_profile,
    pipeline=_mpsoc_pipeline(), emit=_mpsoc_emit,
    description="Zynq UltraScale+ MPSoC (ZCU102 / ZCU104 / KV260 / Ultra96): Vitis-HLS C++ "
                "kernel + A53 host; csim with g++, host under qemu-aarch64 or ssh://"))


def _rram_profile() -> Any:
    from snnc.targets.rram.device import get_device

    return get_device("neurram")


def _rram_emit(graph: Graph, out_dir: Path, memory: dict[str, int] | None = None) -> Any:
    from snnc.targets.rram.flow import emit_build

    return emit_build(graph, out_dir, memory)


register_target(Target(
    name="rram", module="snnc.targets.rram", profile=_rram_profile,
    # quantize is skipped with --quantize float (float weights -> conductances).
    pipeline=("prune", "inert", "dead_neurons", "quantize", "dead_neurons"), emit=_rram_emit,
    description="RRAM crossbar in-memory computing (256x256 tiles, G+/G- pairs, 8-bit ADC, "
                "device noise): float or integer weights -> conductance plan; --device sim"))
