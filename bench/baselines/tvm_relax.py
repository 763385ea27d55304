"""TVM (Relax) builds of an snnc graph's step function.

Path: the ONNX step model of :mod:`compiler.codegen.onnx` -> ``tvm.relax.frontend.onnx``
-> ``tvm.compile``. The Relax ONNX frontend has no ``Scan``/``Loop``, so TVM runs the
step model and the caller loops over time (the streaming form snnc targets anyway).

Targets (TVM 0.27 takes targets as JSON dicts):

- ``x86``: ``{"kind": "llvm"}`` for this host (``-mcpu`` from the host), run in-process
  through the Relax VM; states stay as TVM tensors between steps (no host copies).
- ``aarch64``: ``{"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mattr": ["+neon"]}``,
  exported as a shared library with ``aarch64-linux-gnu-gcc`` (needs TVM's runtime on
  the device to load; not run here).

Schedules: the default CPU pipeline leaves reductions unscheduled, so after legalization
we apply dlight's CPU ``GEMV`` and ``Reduction`` rules (batch-1 matrix-vector products
are GEMVs). ``schedule="none"`` keeps TVM's default pipeline for comparison.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.codegen.onnx import OnnxStep
from snnc.compiler.errors import SnncError, UnsupportedError

TARGETS: dict[str, dict[str, Any]] = {
    "x86": {"kind": "llvm"},
    "aarch64": {"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mattr": ["+neon"]},
}
AARCH64_CC = "aarch64-linux-gnu-gcc"


def _tvm() -> Any:
    try:
        import tvm  # noqa: F401  (heavy import: ~2 s, only when TVM is used)
        from tvm import relax  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UnsupportedError(f"TVM is not installed ({e}); pip install apache-tvm") from None
    return tvm


def _pipeline(tvm: Any, target: Any, schedule: str) -> Any:
    """CPU default pipeline with dlight GEMV/Reduction schedules after legalization."""
    from tvm import relax
    from tvm.relax.backend.cpu_generic import pipeline as cpu

    if schedule == "none":
        return "default"
    if schedule != "dlight":
        raise SnncError(f"unknown TVM schedule '{schedule}' (expected dlight or none)")
    from tvm.s_tir import dlight

    @tvm.transform.module_pass(opt_level=0)
    def _p(mod: Any, _ctx: Any) -> Any:
        with target:
            seq = tvm.transform.Sequential(
                cpu.library_dispatch_passes(target)
                + cpu.legalize_passes(target)
                + [dlight.ApplyDefaultSchedule(dlight.cpu.GEMV(), dlight.cpu.Reduction())]
                + cpu.dataflow_lower_passes(target)
                + cpu.finalize_passes(target))
            return seq(mod)

    del relax
    return _p


def to_relax(step: OnnxStep) -> Any:
    """Import the ONNX step model into a Relax IRModule (static shapes required)."""
    _tvm()
    from tvm.relax.frontend.onnx import from_onnx

    if step.window:
        raise UnsupportedError("TVM: the Relax ONNX frontend has no Scan; export the step model")
    if step.batch is None:
        raise SnncError("TVM build needs a static batch: export_step(..., batch=1)")
    shapes, dtypes = {}, {}
    for vi in step.model.graph.input:
        dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
        from onnx import helper

        dtypes[vi.name] = str(np.dtype(helper.tensor_dtype_to_np_dtype(
            vi.type.tensor_type.elem_type)))
    try:
        return from_onnx(step.model, shape_dict=shapes, dtype_dict=dtypes,
                         sanitize_input_names=False)
    except Exception as e:  # the frontend raises many kinds; name the op if we can
        raise UnsupportedError(f"TVM's ONNX frontend rejected the step model: {e}") from e


def compile_step(step: OnnxStep, target: str = "x86", schedule: str = "dlight") -> Any:
    """``tvm.compile`` the step model for ``target`` ('x86' or 'aarch64')."""
    tvm = _tvm()
    if target not in TARGETS:
        raise SnncError(f"unknown TVM target '{target}' (expected one of {sorted(TARGETS)})")
    mod = to_relax(step)
    tgt = tvm.target.Target(TARGETS[target])
    return tvm.compile(mod, target=tgt, relax_pipeline=_pipeline(tvm, tgt, schedule))


def export_aarch64(step: OnnxStep, path: str | Path, schedule: str = "dlight") -> Path:
    """Cross-compile the step model for aarch64 Linux into a shared library at ``path``."""
    if shutil.which(AARCH64_CC) is None:
        raise UnsupportedError(f"{AARCH64_CC} not found; install gcc-aarch64-linux-gnu")
    _tvm()
    from tvm.support import cc

    ex = compile_step(step, "aarch64", schedule)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.so")
    try:
        ex.export_library(str(tmp), fcompile=cc.cross_compiler(AARCH64_CC))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


@dataclass
class TvmStep:
    """An in-process x86 build: ``step(x)`` advances the states held as TVM tensors."""

    step_model: OnnxStep
    executable: Any
    vm: Any
    fn: Any
    dev: Any

    @classmethod
    def build(cls, step: OnnxStep, schedule: str = "dlight") -> "TvmStep":
        """Compile ``step`` for this host and load it into a Relax VM."""
        tvm = _tvm()
        from tvm import relax

        ex = compile_step(step, "x86", schedule)
        dev = tvm.cpu()
        vm = relax.VirtualMachine(ex, dev)
        return cls(step, ex, vm, vm["main"], dev)

    def tensor(self, a: np.ndarray) -> Any:
        import tvm

        return tvm.runtime.tensor(np.ascontiguousarray(a), self.dev)

    def input_names(self) -> list[str]:
        return [vi.name for vi in self.step_model.model.graph.input]

    def output_names(self) -> list[str]:
        return [vi.name for vi in self.step_model.model.graph.output]
