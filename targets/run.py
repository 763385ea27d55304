"""One run interface for every backend and device: ``model.run(x) -> y``.

``x`` is ``[B, T, ...]`` as the build takes it (the integers of
:func:`compiler.ir.interpret_int.quantize_inputs` for a quantized graph, floats
otherwise); ``y`` is ``[B, T, N_OUTPUTS]``: the Output nodes concatenated in graph order,
as the generated code's ``SNNC_N_OUTPUTS`` contract and the golden model have them. Every
sample starts from reset.

- :func:`open_build`: a build directory (or compiled ``.snn``) on a device of its target.
  Devices that run in this process (the host's ``local``) return the loaded model itself
  (:class:`targets.host.CompiledModel`); every other device returns a
  :class:`DeviceModel` whose ``run`` builds, flashes and runs the inputs there (QEMU
  Cortex-M4, qemu-aarch64, the mpsoc csim testbench or A53 host, the simulated RRAM chip,
  boards over ssh) and keeps the last :class:`targets.flash.DeviceRun` (timings, memory).
- :func:`golden`: the golden model (the integer simulator for a quantized graph, else
  the float simulator), the reference every other one is compared with.

The CLI (``snnc flash/bench``), ``bench/compare.py`` and the differential matrix test
(``tests/targets/test_run.py``) all go through these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph


class RunnableModel(Protocol):
    """Anything with ``run(x [B, T, ...]) -> y [B, T, N_OUTPUTS]``."""

    def run(self, x: np.ndarray) -> np.ndarray: ...


def _flat(graph: Graph, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2:
        raise SnncError(f"inputs must be [samples, steps, ...], got shape {x.shape}")
    return x.reshape(x.shape[0], x.shape[1], -1)


def concat_outputs(graph: Graph, outs: dict[str, np.ndarray], b: int, t: int) -> np.ndarray:
    """Per-Output-node arrays ``[B, T, *shape]`` -> ``[B, T, N_OUTPUTS]`` in graph order."""
    return np.concatenate([np.asarray(outs[n]).reshape(b, t, -1) for n in graph.outputs],
                          axis=2)


@dataclass
class DeviceModel:
    """A build on a device of its target; ``run`` builds, flashes and runs there."""

    target: str
    build_dir: Path
    device: str
    options: dict[str, Any] = field(default_factory=dict)  # profile, seed, known_hosts, ...
    last: Any = None  # the last DeviceRun (outputs, instruction counts, memory)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run every sample of ``x`` on the device; returns ``[B, T, N_OUTPUTS]``."""
        from snnc.targets.flash import run_on_device

        x = np.asarray(x)
        self.last = run_on_device(self.target, self.build_dir, x.reshape(
            x.shape[0], x.shape[1], -1), device=self.device, **self.options)
        return self.last.outputs


def open_build(build: str | Path, device: str | None = None, target: str | None = None,
               profile: str | None = None, in_process: bool = True,
               **options: Any) -> RunnableModel:
    """``build`` (a build directory, or a compiled ``.snn`` whose build is emitted beside
    it) on ``device`` of its target (None: the target's default device). ``options`` go
    to the device run (``seed``, ``known_hosts``, ``identity``, ``count``, ``timeout``).
    ``in_process=False`` gives a :class:`DeviceModel` for every device (its ``.last``
    DeviceRun is what ``snnc flash/bench`` report)."""
    from snnc.targets import registry
    from snnc.targets.benchmark import ensure_build

    t, dev, _ = registry.resolve(build, target, device)
    bd = ensure_build(build, t.name)
    if dev.open is not None and in_process:
        return dev.open(bd, profile)
    return DeviceModel(t.name, bd, device or dev.name, {"profile": profile, **options})


@dataclass
class GoldenModel:
    """The reference: the integer simulator (quantized graph) or the float simulator."""

    graph: Graph

    def run(self, x: np.ndarray) -> np.ndarray:
        from snnc.targets.benchmark import reference_outputs

        return reference_outputs(self.graph, _flat(self.graph, x))[0]


def golden(graph: Graph) -> GoldenModel:
    """The golden model of ``graph`` behind ``run``."""
    return GoldenModel(graph)
