"""Pieces every device target shares: the generated-code contract, test-input files, the
harness output protocol and tool lookup.

The generated-code contract (emitted by :mod:`compiler.codegen` into a build directory):
``model.h`` defines ``SNNC_MODEL_NAME``, ``SNNC_N_INPUTS``, ``SNNC_N_OUTPUTS``, the
typedefs ``snnc_input_t`` / ``snnc_output_t`` and the macros ``SNNC_MODEL_STATE_T``,
``SNNC_MODEL_INIT``, ``SNNC_MODEL_RESET`` and ``SNNC_MODEL_STEP``; ``model.c`` holds the
tables and glue, integer tables of >= 64 KiB as ``NAME-HASH.bin`` files beside it that the
assembler includes (``.incbin``, found through ``-I BUILD_DIR``; GCC or Clang); the
algorithms live in ``runtime/src/*.c`` (headers ``runtime/include``).

The harness protocol (both the MCU firmware and the Linux harness print it)::

    snnc-harness v1 model=NAME samples=S steps=T inputs=I outputs=O out_bytes=B
    o HEX [CYC]    (S*T lines: the raw bytes of snnc_output_t[O] after each step; the MCU
                   firmware adds the step's SysTick cycles)
    [t NS NS ...]  (Linux harness only: wall-clock nanoseconds per step)
    snnc-done rc=RC
"""

from __future__ import annotations

import re
import shutil
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from snnc.compiler.errors import FormatError, SnncError

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_DIR = ROOT / "runtime"

# C scalar types the contract may use for snnc_input_t / snnc_output_t.
C_TYPES: dict[str, np.dtype] = {
    "int8_t": np.dtype("<i1"), "uint8_t": np.dtype("<u1"),
    "int16_t": np.dtype("<i2"), "uint16_t": np.dtype("<u2"),
    "int32_t": np.dtype("<i4"), "uint32_t": np.dtype("<u4"),
    "int64_t": np.dtype("<i8"), "float": np.dtype("<f4"), "double": np.dtype("<f8"),
    "snnc_real_t": np.dtype("<f4"),
}


class ToolMissing(SnncError):
    """A required external tool (compiler, emulator, ssh) is not installed."""


def require_tool(name: str, hint: str = "") -> str:
    """Absolute path of executable ``name``, or :class:`ToolMissing` naming it."""
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"'{name}' not found on PATH" + (f" ({hint})" if hint else ""))
    return path


@dataclass(frozen=True)
class ModelInterface:
    """What a build directory's ``model.h`` declares about the step function."""

    name: str
    n_inputs: int
    n_outputs: int
    input_ctype: str
    output_ctype: str
    # The C functions SNNC_MODEL_INIT / _RESET / _STEP name (empty if not read from model.h).
    entry_points: tuple[str, ...] = ()

    @property
    def input_dtype(self) -> np.dtype:
        return C_TYPES[self.input_ctype]

    @property
    def output_dtype(self) -> np.dtype:
        return C_TYPES[self.output_ctype]


_MACROS = ("SNNC_MODEL_STATE_T", "SNNC_MODEL_INIT", "SNNC_MODEL_RESET", "SNNC_MODEL_STEP")


def read_interface(build_dir: str | Path) -> ModelInterface:
    """Parse ``model.h`` in ``build_dir`` (the generated-code contract) or raise FormatError."""
    h = Path(build_dir) / "model.h"
    if not (h.exists() and (Path(build_dir) / "model.c").exists()):
        raise FormatError("not a build directory: model.h and model.c expected "
                          "(run `snnc compile MODEL -o DIR` first)", Path(build_dir))
    text = h.read_text()

    def define(name: str) -> str:
        m = re.search(rf"^\s*#\s*define\s+{name}\s+(.+?)\s*(?://.*|/\*.*)?$", text, re.M)
        if m is None:
            raise FormatError(f"model.h does not define {name}", h)
        return m.group(1).strip()

    def typedef(name: str) -> str:
        m = re.search(rf"typedef\s+([A-Za-z_][A-Za-z0-9_ ]*?)\s+{name}\s*;", text)
        if m is None or m.group(1) not in C_TYPES:
            raise FormatError(f"model.h: typedef of {name} missing or not one of "
                              f"{sorted(C_TYPES)}", h)
        return m.group(1)

    for mac in _MACROS:
        define(mac)

    def int_define(name: str) -> int:
        v = define(name).strip("()").rstrip("uUlL")
        try:
            return int(v, 0)
        except ValueError:
            raise FormatError(f"model.h: {name} is not an integer literal ({v!r})", h) from None

    name = define("SNNC_MODEL_NAME").strip('"')
    return ModelInterface(name=name, n_inputs=int_define("SNNC_N_INPUTS"),
                          n_outputs=int_define("SNNC_N_OUTPUTS"),
                          input_ctype=typedef("snnc_input_t"),
                          output_ctype=typedef("snnc_output_t"),
                          entry_points=tuple(define(m) for m in _MACROS[1:]))


def runtime_sources() -> list[Path]:
    """The C runtime's sources (sorted, so builds are deterministic)."""
    return sorted((RUNTIME_DIR / "src").glob("*.c"))


def check_inputs(x: np.ndarray, iface: ModelInterface) -> np.ndarray:
    """Validate test inputs ``[samples, steps, n_inputs]`` (extra axes are flattened)."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise SnncError(f"test inputs must be [samples, steps, ...], got shape {x.shape}")
    x = x.reshape(x.shape[0], x.shape[1], -1)
    if x.shape[2] != iface.n_inputs:
        raise SnncError(f"test inputs have {x.shape[2]} values per step but model "
                        f"'{iface.name}' takes SNNC_N_INPUTS = {iface.n_inputs}")
    dt = iface.input_dtype
    if dt.kind in "iu":
        if x.dtype.kind == "f" and not np.all(np.equal(np.round(x), x)):
            raise SnncError(f"model '{iface.name}' takes integer inputs ({iface.input_ctype});"
                            " quantize the test inputs first")
        info = np.iinfo(dt)
        if x.size and (x.min() < info.min or x.max() > info.max):
            raise SnncError(f"test inputs range [{x.min()}, {x.max()}] does not fit "
                            f"{iface.input_ctype}")
    return x.astype(dt)


def c_literal(v: np.generic) -> str:
    """Exact C99 literal of a scalar (hex floats for float types)."""
    if isinstance(v, np.floating):
        if v.dtype == np.float32:
            return float(v).hex() + "f"
        return float(v).hex()
    return str(int(v))


def inputs_header(x: np.ndarray, iface: ModelInterface) -> str:
    """C header embedding test inputs ``[S, T, I]`` for the firmware harness."""
    x = check_inputs(x, iface)
    s, t, n = x.shape
    rows = []
    for si in range(s):
        steps = []
        for ti in range(t):
            steps.append("    {" + ", ".join(c_literal(v) for v in x[si, ti]) + "}")
        rows.append("  {\n" + ",\n".join(steps) + "\n  }")
    return (
        "/* Generated by snnc: test inputs embedded in the firmware. Do not edit. */\n"
        "#ifndef SNNC_TEST_INPUTS_H\n#define SNNC_TEST_INPUTS_H\n"
        f"#define SNNC_TEST_N_SAMPLES {s}\n#define SNNC_TEST_N_STEPS {t}\n"
        f"static const snnc_input_t snnc_test_inputs[{s}][{t}][{n}] = {{\n"
        + ",\n".join(rows) + "\n};\n#endif\n"
    )


INPUT_MAGIC = b"SNNI"
INPUT_VERSION = 1


def inputs_blob(x: np.ndarray, iface: ModelInterface) -> bytes:
    """Binary test-input file for the Linux harness.

    Layout (little endian): magic ``SNNI``, u32 version, u32 samples, u32 steps,
    u32 inputs, u32 element bytes, then the raw ``snnc_input_t`` values [S][T][I].
    """
    x = check_inputs(x, iface)
    s, t, n = x.shape
    head = INPUT_MAGIC + struct.pack("<5I", INPUT_VERSION, s, t, n, x.dtype.itemsize)
    return head + np.ascontiguousarray(x).tobytes()


@dataclass
class HarnessOutput:
    """Decoded harness output: per-step outputs ``[S, T, O]`` plus timings if any."""

    outputs: np.ndarray
    model: str
    rc: int
    step_ns: np.ndarray | None = None
    step_cycles: np.ndarray | None = None  # SysTick cycles (meaningful on real MCUs only)
    log: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def parse_harness(text: str, iface: ModelInterface) -> HarnessOutput:
    """Decode the harness protocol (see the module docstring); SnncError if malformed."""
    head = None
    rows: list[bytes] = []
    cycles: list[int] = []
    times: list[int] = []
    rc = None
    for line in text.splitlines():
        if line.startswith("snnc-harness "):
            head = dict(kv.split("=", 1) for kv in line.split()[2:] if "=" in kv)
        elif line.startswith("o "):
            parts = line.split()
            rows.append(bytes.fromhex(parts[1]) if len(parts) > 1 else b"")
            if len(parts) > 2:
                cycles.append(int(parts[2]))
        elif line.startswith("t "):
            times.extend(int(v) for v in line.split()[1:])
        elif line.startswith("snnc-error"):
            raise SnncError(f"model step failed on the device: {line}")
        elif line.startswith("snnc-done"):
            rc = int(line.split("rc=")[1])
    if head is None or rc is None:
        tail = "\n".join(text.splitlines()[-5:])
        raise SnncError(f"harness output incomplete (no header or no end marker); last lines:\n"
                        f"{tail}")
    s, t = int(head["samples"]), int(head["steps"])
    ob = int(head["out_bytes"])
    if ob != iface.n_outputs * iface.output_dtype.itemsize:
        raise SnncError(f"harness reports {ob} output bytes per step, model.h implies "
                        f"{iface.n_outputs} x {iface.output_ctype}")
    if len(rows) != s * t or any(len(r) != ob for r in rows):
        raise SnncError(f"harness printed {len(rows)} output rows, expected {s * t}")
    y = np.frombuffer(b"".join(rows), dtype=iface.output_dtype).reshape(s, t, iface.n_outputs)
    ns = np.asarray(times, dtype=np.int64) if times else None
    cyc = np.asarray(cycles, dtype=np.int64) if len(cycles) == len(rows) and cycles else None
    return HarnessOutput(outputs=y.copy(), model=head.get("model", ""), rc=rc, step_ns=ns,
                         step_cycles=cyc, log=text)


# ------------------------------------------------------------------ object cache

_OBJ_CACHE: dict[tuple[str, ...], Path] = {}
_OBJ_DIR: list[Path] = []
_CC_ID: dict[str, str] = {}
_LOCK = threading.Lock()
_KEY_LOCKS: dict[tuple[str, ...], threading.Lock] = {}  # one compile per object at once
_CC_LOCK = threading.Lock()


def _cc_id(cc: str) -> str:
    """The compiler's resolved path and ``--version`` text (part of every disk-cache key:
    an upgraded toolchain never reuses old objects).

    Asked once per process, and remembered on disk under the driver binary's identity
    (path, size, mtime, inode, as ccache's ``compiler_check = mtime``): an installed or
    upgraded compiler is a different file, so it is asked again; an unchanged one costs no
    process start per compile."""
    import hashlib
    import os
    import subprocess

    from snnc.compiler.ir.serialize import atomic_write

    with _CC_LOCK:  # one `--version` per compiler even when build threads ask at once
        if cc in _CC_ID:
            return _CC_ID[cc]
        path = shutil.which(cc) or cc
        memo = None
        try:
            st = os.stat(path)
            ident = f"{os.path.realpath(path)}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"
            base = Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"))
            memo = (base / "snnc" / "cc"
                    / f"{hashlib.sha256(ident.encode()).hexdigest()[:24]}.txt")
            _CC_ID[cc] = memo.read_text()
            return _CC_ID[cc]
        except OSError:
            pass  # not remembered yet (or no cache folder): ask the compiler
        r = subprocess.run([cc, "--version"], capture_output=True, text=True)
        _CC_ID[cc] = f"{path}\n{r.stdout}"
        if memo is not None and r.returncode == 0:
            try:
                memo.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(memo, lambda f: f.write(_CC_ID[cc]), mode="w")
            except OSError:
                pass  # a read-only cache only costs the `--version` next time
    return _CC_ID[cc]


def _disk_object(cc: str, flags: list[str], src: Path, deps: tuple[Path, ...]) -> Path | None:
    """Where the disk cache (``$XDG_CACHE_HOME/snnc/obj``) keeps this object, or None if
    the cache folder cannot be created.

    The key hashes the compiler (:func:`_cc_id`), the flags with each ``-IDIR`` replaced by
    the headers in it (the runtime's include tree recursively, ``src``'s own folder, e.g. a
    build directory, by its ``*.h``), the headers beside ``src``, and the content of
    ``src`` and ``deps``: a random build-directory path does not defeat the cache, a
    changed header or model does. Any other include folder (e.g. TVM's) disables the disk
    cache for that object (None)."""
    import hashlib
    import os

    rt_inc = (RUNTIME_DIR / "include").resolve()
    h = hashlib.sha256(_cc_id(cc).encode())
    for f in flags:
        if f.startswith("-I"):
            d = Path(f[2:])
            if d.resolve() == rt_inc:
                hs = sorted(d.rglob("*.h"))
            elif d.resolve() == src.parent.resolve():  # a build dir: model.h beside model.c
                hs = sorted(d.glob("*.h"))
            else:  # e.g. TVM's include tree: not hashed, so not cached on disk
                return None
            h.update(b"-I\0" + b"".join(x.relative_to(d).as_posix().encode() + b"\0"
                                        + x.read_bytes() for x in hs))
        else:
            h.update(f.encode() + b"\0")
    for f in (*sorted(src.parent.glob("*.h")), src, *deps):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"))
    d = base / "snnc" / "obj"
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return d / f"{src.stem}-{h.hexdigest()[:24]}.o"


def cached_object(cc: str, flags: list[str], src: Path, deps: tuple[Path, ...] = (),
                  on_start: Callable[[], None] | None = None) -> Path:
    """Compile ``src`` once for each compiler + flags + content of ``src`` and of ``deps``
    (the headers it includes that may change, e.g. a build's model.h) and of the headers
    in its include folders; later builds, in this process or another, reuse the object
    (:func:`_disk_object`; a per-process temp folder when the disk cache is not
    writable). Thread-safe, see :func:`cached_objects`. ``on_start`` is called when the
    compiler starts, or when the object is found cached."""
    import hashlib

    key = (cc, *flags, str(src),
           *(hashlib.sha256(f.read_bytes()).hexdigest() for f in (src, *deps)))
    with _LOCK:
        key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with key_lock:  # a second thread asking for the same object waits for the first's
        return _cached_object(cc, flags, src, deps, key, on_start or (lambda: None))


def _cached_object(cc: str, flags: list[str], src: Path, deps: tuple[Path, ...],
                   key: tuple[str, ...], on_start: Callable[[], None]) -> Path:
    import atexit
    import hashlib
    import os
    import subprocess
    import tempfile

    o = _OBJ_CACHE.get(key)
    if o is not None and o.exists():
        on_start()
        return o
    disk = _disk_object(cc, flags, src, deps)
    if disk is not None and disk.exists():
        _OBJ_CACHE[key] = disk
        on_start()
        return disk
    with _LOCK:
        if not _OBJ_DIR:
            d = Path(tempfile.mkdtemp(prefix="snnc-obj-"))
            atexit.register(shutil.rmtree, d, True)  # removed when the process exits
            _OBJ_DIR.append(d)
    o = _OBJ_DIR[0] / f"{hashlib.sha256(repr(key).encode()).hexdigest()[:24]}.o"
    on_start()
    r = subprocess.run([cc, *flags, "-c", str(src), "-o", str(o)], capture_output=True,
                       text=True)
    if r.returncode != 0:
        o.unlink(missing_ok=True)
        raise SnncError(f"compiling {src.name} failed:\n{r.stderr.strip()[-3000:]}")
    if disk is not None:
        try:
            tmp = disk.with_suffix(f".{os.getpid()}.{id(r)}.tmp")
            shutil.copyfile(o, tmp)
            os.replace(tmp, disk)  # atomic: a concurrent build never reads half an object
            o = disk
        except OSError:
            pass  # read-only cache: the per-process object serves
    _OBJ_CACHE[key] = o
    return o


def cached_objects(cc: str, flags: list[str], srcs: list[Path],
                   deps: tuple[Path, ...] = (),
                   on_start: Callable[[], None] | None = None) -> list[Path]:
    """:func:`cached_object` for several sources, the misses compiled in parallel (one
    compiler per CPU), in the order given."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    if len(srcs) <= 1:
        return [cached_object(cc, flags, s, deps, on_start) for s in srcs]
    with ThreadPoolExecutor(max_workers=min(len(srcs), os.cpu_count() or 1)) as ex:
        return list(ex.map(lambda s: cached_object(cc, flags, s, deps, on_start), srcs))


# ------------------------------------------------------------------ runtime objects a link needs

def _undefined_symbols(readelf: str, objs: list[Path]) -> set[str]:
    """Global symbols the objects reference but do not define (``readelf -sW``: a few
    milliseconds, where ``nm`` first loads the LTO plugin)."""
    import subprocess

    if not objs:
        return set()
    r = subprocess.run([readelf, "-sW", *map(str, objs)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SnncError(f"{Path(readelf).name} -sW failed: {r.stderr.strip()[-500:]}")
    out = set()
    for line in r.stdout.splitlines():
        # "  12: 00000000     0 NOTYPE  GLOBAL DEFAULT  UND snnc_encode_f32"
        parts = line.split()
        if len(parts) == 8 and parts[6] == "UND" and parts[4] in ("GLOBAL", "WEAK"):
            out.add(parts[7])
    return out


def _identifiers(src: Path) -> frozenset[str]:
    """Every C identifier spelled in ``src`` (a superset of what it defines: a definition
    made through a macro, e.g. ``SNNC_QCONV2D(snnc_qconv2d_i8, int8_t)``, still spells
    the name; tests/targets/test_common.py checks this against ``nm`` for every source)."""
    return frozenset(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", src.read_text()))


# A function definition at the start of a line: a type, then the snnc_ name and "(".
# Macro-made definitions (``SNNC_QCONV2D(snnc_qconv2d_i8, int8_t)``) are not matched: a
# guess (below) may miss them, the exact choice (``needed_runtime_objects``) does not.
_DEFINITION = re.compile(r"^(?!static\b)[A-Za-z_][\w \t*]*?\b(snnc_\w+)\s*\(", re.M)


def likely_runtime_sources(c_files: list[Path]) -> list[Path]:
    """The runtime sources that define a function ``c_files`` (e.g. a build's model.c)
    spell: a guess, made from the text before anything is compiled, of what
    :func:`needed_runtime_objects` will choose from the compiled objects, so that a cold
    build can compile them beside model.c instead of after it. Only a head start: the
    objects linked are still those ``needed_runtime_objects`` chooses (a guess too large
    compiles an object nothing links; one too small is compiled after all)."""
    used = frozenset().union(*(_identifiers(f) for f in c_files)) if c_files else frozenset()
    return [s for s in runtime_sources()
            if used & frozenset(_DEFINITION.findall(s.read_text()))]


def needed_runtime_objects(cc: str, readelf: str, flags: list[str],
                           objs: list[Path]) -> list[Path]:
    """The cached runtime objects (:func:`cached_objects`) that a link of ``objs`` needs:
    the sources that spell a symbol ``objs`` leave undefined, then, transitively, those
    the chosen runtime objects leave undefined.

    Compiling only these instead of the whole runtime is what makes a cold compile fast
    (e.g. L2MU calls one runtime function; everything else is inline in kernels.h). A
    source is chosen if it merely spells the name, so the choice can only be too large,
    never too small; symbols no source spells (libc, libgcc) are left to the linker.
    Returned in source order, so links are deterministic."""
    srcs = runtime_sources()
    names = {s: _identifiers(s) for s in srcs}
    chosen: dict[Path, Path] = {}
    pending = list(objs)
    while pending:
        undef = _undefined_symbols(readelf, pending)
        new = [s for s in srcs if s not in chosen and names[s] & undef]
        new_objs = cached_objects(cc, flags, new)
        chosen.update(zip(new, new_objs))
        pending = new_objs
    return [chosen[s] for s in srcs if s in chosen]
