"""The host target: the development machine, built with gcc (or CMake) and run in-process.

``compile_model(graph, DIR)`` writes the generated sources (``model.h``/``model.c``) and
the graph they came from (``model.snn``) into a build directory; ``build(DIR)`` compiles
them with the C runtime and a small harness (``host_harness.c``) into a shared library and
returns a :class:`CompiledModel` whose ``.run(x[B, T, ...])`` feeds every sample through
``init/reset/step`` via ctypes and returns the per-step outputs ``[B, T, N_OUTPUTS]``.

Quantized models take the integers of :func:`compiler.ir.interpret_int.quantize_inputs`;
float models take floats. A float model can be built with ``real="double"``
(``-DSNNC_REAL_DOUBLE``) to compare with the float64 reference simulator to rounding.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from snnc.compiler.codegen.c import CModel, runtime_dir, write_c
from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.serialize import save
from snnc.targets.common import ModelInterface, check_inputs, read_interface, require_tool

ROOT = Path(__file__).resolve().parents[1]
HARNESS = Path(__file__).resolve().parent / "host_harness.c"
LIB_NAME = "libsnnc_model.so"


@dataclass(frozen=True)
class HostProfile:
    """How to build for the development machine."""

    name: str = "host"
    description: str = "the development machine (x86-64/aarch64 Linux), gcc, in-process runs"
    cc: str = "gcc"
    std: str = "c99"
    opt: str = "-O2"
    # The build runs where it is built, so it targets this CPU's vector unit (AVX2/AVX-512
    # on x86-64): what onnxruntime's MLAS and LiteRT's XNNPACK pick at run time here too.
    # "" for a portable build (baseline ISA: SSE2 on x86-64).
    arch: str = "-march=native"
    warnings: tuple[str, ...] = ("-Wall", "-Wextra", "-Werror")
    # Keep float results independent of the compiler's whim to fuse a*b+c.
    extra: tuple[str, ...] = ("-ffp-contract=off",)
    real: str = "float"   # float graphs: 'float' or 'double' (snnc_real_t)
    # Whole-sequence runs compute the layers that read only the input this many steps at
    # a time (model.c's snnc_<m>_run; SNNC_PRE_STEPS, 2..16); 1 = step by step.
    pre_steps: int = 8
    sanitize: bool = False  # -fsanitize=address,undefined (standalone executables only)

    def cflags(self) -> list[str]:
        """Compiler flags for a build with this profile."""
        if self.real not in ("float", "double"):
            raise SnncError(f"host profile: option 'real' must be float or double, "
                            f"got {self.real!r}")
        f = [f"-std={self.std}", self.opt, *([self.arch] if self.arch else []),
             *self.warnings, *self.extra]
        if self.pre_steps > 1:
            f.append(f"-DSNNC_PRE_STEPS={int(self.pre_steps)}")
        if self.real == "double":
            f.append("-DSNNC_REAL_DOUBLE")
        if self.sanitize:
            f += ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g"]
        return f


PROFILE = HostProfile()


def fit_space(graph: object, profile: str | None = None) -> object:
    """What ``snnc fit`` searches on the host: the C runtime's dimensions; cost is the
    memory planner's bytes (the host has no instruction counter)."""
    from snnc.targets.fit.space import SearchSpace, c_target_dims

    return SearchSpace("host", c_target_dims(), costs=("ram", "flash"), measure="plan")


def get_profile(name: str | None = None, **overrides: object) -> HostProfile:
    """The host profile (there is one), with field overrides (e.g. ``real='double'``)."""
    if name not in (None, "host"):
        raise SnncError(f"unknown host profile '{name}' (available: host)")
    return replace(PROFILE, **overrides)  # type: ignore[arg-type]


def compile_model(graph: Graph, out_dir: str | Path, **kw: object) -> CModel:
    """Generate the C sources for ``graph`` into ``out_dir`` and save the graph beside them."""
    model = write_c(graph, out_dir, **kw)
    save(graph, Path(out_dir) / "model.snn")
    return model


def _run(cmd: list[str], build_dir: Path, what: str, cwd: Path | None = None) -> None:
    print(f"snnc: {what}", file=sys.stderr)
    # C locale: plain ASCII quotes in compiler messages, whatever the user's locale.
    env = {**os.environ, "LC_ALL": "C"}
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    if r.returncode != 0:
        msg = (r.stderr or r.stdout).strip()
        raise SnncError(f"{what} failed (build dir {build_dir}):\n$ {' '.join(cmd)}\n{msg}")


def runtime_objects(cc: str, profile: HostProfile, build_dir: Path) -> list[Path]:
    """The runtime compiled (-fPIC) with ``profile``'s flags, cached by content.

    The cache lives in the system temp dir under a key hashing the compiler, the flags and
    every runtime source and header, so a changed runtime is always recompiled; a cache
    entry appears atomically (built beside it, then renamed).
    """
    rt = runtime_dir()
    flags = [*profile.cflags(), "-fPIC"]
    h = hashlib.sha256(json.dumps([str(Path(cc).resolve()), flags]).encode())
    for f in sorted((rt / "src").glob("*.[ch]")) + sorted((rt / "include").rglob("*.h")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    cache = Path(tempfile.gettempdir()) / f"snnc-runtime-{os.getuid()}" / h.hexdigest()[:24]
    srcs = sorted((rt / "src").glob("*.c"))
    want = [cache / (p.stem + ".o") for p in srcs]
    if all(o.exists() for o in want):
        return want
    cache.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=cache.parent))
    try:
        _run([cc, *flags, f"-I{rt / 'include'}", "-c", *map(str, srcs)], build_dir,
             "compiling the snnc runtime", cwd=work)
        try:
            os.replace(work, cache)
        except OSError:  # another process won the race; its objects are identical
            pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return want


def build(build_dir: str | Path, profile: HostProfile | None = None, *,
          use_cmake: bool = False) -> "CompiledModel":
    """Compile a build directory (from :func:`compile_model`) into a shared library.

    A compiler error becomes SnncError carrying the compiler's message and the build dir.
    """
    profile = profile or PROFILE
    bd = Path(build_dir).resolve()
    iface = read_interface(bd)
    lib = bd / LIB_NAME
    tmp = bd / f".{LIB_NAME}.tmp"
    if use_cmake:
        cmake = require_tool("cmake", "apt-get install cmake")
        cb = bd / "cmake-build"
        defs = [f"-DSNNC_MODEL_DIR={bd}", "-DSNNC_BUILD_TESTS=OFF",
                f"-DSNNC_REAL_DOUBLE={'ON' if profile.real == 'double' else 'OFF'}",
                f"-DCMAKE_C_COMPILER={profile.cc}", "-DCMAKE_BUILD_TYPE=Release"]
        _run([cmake, "-S", str(ROOT), "-B", str(cb), *defs], bd, "cmake configure")
        _run([cmake, "--build", str(cb), "--target", "snnc_model_host"], bd, "cmake build")
        shutil.copyfile(cb / LIB_NAME, tmp)
    else:
        cc = require_tool(profile.cc, "install gcc")
        rt = runtime_dir()
        objs = runtime_objects(cc, profile, bd)
        # --kernels tvm: the wrappers, the FFI shim and TVM's object for this machine.
        from snnc.compiler.codegen.tvm_kernels import host_isa, link_inputs

        tvm_src, tvm_obj, tvm_inc = link_inputs(bd, host_isa())
        cmd = [cc, *profile.cflags(), "-fPIC", "-shared", f"-I{rt / 'include'}", f"-I{bd}",
               *[f"-I{d}" for d in tvm_inc], str(bd / "model.c"), *map(str, tvm_src),
               str(HARNESS), *map(str, objs), *map(str, tvm_obj), "-o", str(tmp)]
        _run(cmd, bd, f"compiling {bd.name} for the host")
    tmp.replace(lib)
    return CompiledModel(lib_path=lib, iface=iface, profile=profile)


@dataclass
class CompiledModel:
    """A built model loaded with ctypes; ``run`` is the differential-test entry point."""

    lib_path: Path
    iface: ModelInterface
    profile: HostProfile = field(default_factory=HostProfile)

    def __post_init__(self) -> None:
        self._lib = ctypes.CDLL(str(self.lib_path))
        lib = self._lib
        for f in ("snnc_host_state_bytes", "snnc_host_n_inputs", "snnc_host_n_outputs",
                  "snnc_host_input_bytes", "snnc_host_output_bytes", "snnc_host_real_bytes"):
            getattr(lib, f).restype = ctypes.c_int32
        lib.snnc_host_run.restype = ctypes.c_int
        lib.snnc_host_run.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32,
                                      ctypes.c_int32, ctypes.c_void_p]
        self.state_bytes = int(lib.snnc_host_state_bytes())
        if (lib.snnc_host_n_inputs() != self.iface.n_inputs
                or lib.snnc_host_output_bytes() != self.iface.output_dtype.itemsize
                or lib.snnc_host_input_bytes() != self.iface.input_dtype.itemsize):
            raise SnncError(f"{self.lib_path}: library and model.h disagree (stale build?)")

    @property
    def has_encoder(self) -> bool:
        """True if the model quantizes real inputs on the device (``snnc_<model>_encode``)."""
        return hasattr(self._lib, "snnc_host_encode")

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Quantize float sensor samples ``[..., N_INPUTS]`` with the model's C encoder."""
        if not self.has_encoder:
            raise SnncError(f"model '{self.iface.name}' has no input encoder (spike or float "
                            "inputs)")
        xf = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
        if xf.shape[-1] != self.iface.n_inputs:
            raise SnncError(f"encode: last axis must have {self.iface.n_inputs} values, "
                            f"got shape {xf.shape}")
        q = np.zeros(xf.shape, dtype=self.iface.input_dtype)
        f = self._lib.snnc_host_encode
        f.restype = ctypes.c_int
        f.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p]
        rc = f(xf.ctypes.data_as(ctypes.c_void_p), int(xf.size // self.iface.n_inputs),
               q.ctypes.data_as(ctypes.c_void_p))
        if rc != 0:
            raise SnncError(f"model '{self.iface.name}' encode returned status {rc}")
        return q

    def split_outputs(self, y: np.ndarray, graph: Graph | None = None) -> dict[str, np.ndarray]:
        """``run``'s ``[B, T, N_OUTPUTS]`` split per Output node ``[B, T, *shape]`` (graph
        order, as the generator concatenates them); the graph defaults to the build's
        ``model.snn``."""
        if graph is None:
            from snnc.compiler.ir import load

            graph = load(self.lib_path.parent / "model.snn")
        out, off = {}, 0
        for name in graph.outputs:
            shape = tuple(graph.nodes[name].shape_out())
            n = int(np.prod(shape)) if shape else 1
            out[name] = y[:, :, off:off + n].reshape(y.shape[:2] + shape)
            off += n
        if off != y.shape[2]:
            raise SnncError(f"outputs of graph '{graph.name}' ({off} values) do not match the "
                            f"build ({y.shape[2]} values per step)")
        return out

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run every sample of ``x`` ``[B, T, ...]`` from reset; returns ``[B, T, N_OUTPUTS]``.

        One foreign call for the whole batch: the harness resets each sample and runs its
        T steps inside C through the generated ``snnc_<model>_run`` (``SNNC_MODEL_RUN``),
        so no per-step Python overhead (the fair whole-sequence mode of a benchmark).

        Integer models need integer inputs in ``snnc_input_t``'s range; float models
        take any real values (converted to float32, the contract's input type).
        """
        xi = check_inputs(np.asarray(x), self.iface)
        b, t = xi.shape[:2]
        xi = np.ascontiguousarray(xi)
        y = np.zeros((b, t, self.iface.n_outputs), dtype=self.iface.output_dtype)
        state = ctypes.create_string_buffer(max(self.state_bytes, 1))
        rc = self._lib.snnc_host_run(state, xi.ctypes.data_as(ctypes.c_void_p), b, t,
                                     y.ctypes.data_as(ctypes.c_void_p))
        if rc != 0:
            raise SnncError(f"model '{self.iface.name}' step returned status {rc}")
        return y

    def stream(self) -> "HostStream":
        """Step one sample at a time from Python (one foreign call per step, the state kept
        on the native side): what a streaming application does."""
        return HostStream(self)


class HostStream:
    """Streaming use of a :class:`CompiledModel`: ``reset()``, then ``step(x)`` per time step.

    The entry points are the ones ``model.h`` names (``SNNC_MODEL_INIT/RESET/STEP``).
    ``last_native_ns`` is the time of the last step's foreign call alone (what a
    benchmark compares with other engines' execute calls).
    """

    def __init__(self, model: CompiledModel) -> None:
        import time

        if len(model.iface.entry_points) != 3:
            raise SnncError(f"{model.lib_path}: model.h names no init/reset/step functions")
        self.model = model
        lib = model._lib
        self._init, self._reset, self._step = (getattr(lib, n) for n in model.iface.entry_points)
        for f in (self._init, self._reset):
            f.argtypes, f.restype = [ctypes.c_void_p], ctypes.c_int
        self._step.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        self._step.restype = ctypes.c_int
        self._state = ctypes.create_string_buffer(max(model.state_bytes, 1))
        self.y = np.zeros(model.iface.n_outputs, dtype=model.iface.output_dtype)
        self._yp = self.y.ctypes.data
        # The input goes through a fixed buffer: the step call's three pointers are made
        # once (a per-call ndarray.ctypes and argument conversion cost ~1 us per step).
        self._x = np.zeros(model.iface.n_inputs, dtype=model.iface.input_dtype)
        self._args = (ctypes.c_void_p(ctypes.addressof(self._state)),
                      ctypes.c_void_p(self._x.ctypes.data), ctypes.c_void_p(self._yp))
        self._clock = time.perf_counter_ns
        self.last_native_ns: int | None = None
        if self._init(self._state) != 0:
            raise SnncError(f"model '{model.iface.name}' init failed")

    def reset(self) -> None:
        """Start a new sample (state back to its initial values)."""
        rc = self._reset(self._state)
        if rc != 0:
            raise SnncError(f"model '{self.model.iface.name}' reset returned status {rc}")

    def step(self, x: np.ndarray) -> np.ndarray:
        """One time step on ``x`` [N_INPUTS] (``snnc_input_t`` values); returns the outputs
        [N_OUTPUTS] in a buffer the next step overwrites (copy to keep)."""
        try:  # (as the input type, like a C cast)
            np.copyto(self._x, x if np.shape(x) == self._x.shape else np.reshape(x, -1),
                      casting="unsafe")
        except ValueError as e:
            raise SnncError(f"model '{self.model.iface.name}' step: input must be "
                            f"{self._x.size} values, got {np.shape(x)}") from e
        t0 = self._clock()
        rc = self._step(*self._args)
        self.last_native_ns = self._clock() - t0
        if rc != 0:
            raise SnncError(f"model '{self.model.iface.name}' step returned status {rc}")
        return self.y
