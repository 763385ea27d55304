"""Build smartwatch firmware from a build directory and check that the model fits.

Flow: compile ``model.c``, the C runtime, the startup code and a harness with
arm-none-eabi-gcc for the profile's core; link with a linker script generated from the
profile (``link.ld.j2``); read the ELF section sizes with arm-none-eabi-size.

The size check links two probes (``probe.c``: with and without the model) so the figure
it reports is what the model and runtime add, separately from the harness and newlib.
The empty probe is the same for every model: its sections are cached on disk (per
toolchain version and profile), so a compile links one firmware.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from snnc.compiler.errors import SnncError
from snnc.targets.common import (
    RUNTIME_DIR,
    ModelInterface,
    cached_object,
    cached_objects,
    inputs_header,
    likely_runtime_sources,
    needed_runtime_objects,
    read_interface,
    require_tool,
    runtime_sources,
)
from snnc.targets.smartwatch.profile import McuProfile, get_profile

HERE = Path(__file__).resolve().parent
CC = "arm-none-eabi-gcc"
SIZE = "arm-none-eabi-size"
NM = "arm-none-eabi-nm"
READELF = "arm-none-eabi-readelf"
TOOL_HINT = "install gcc-arm-none-eabi and libnewlib-arm-none-eabi (scripts/setup.sh)"

# ELF sections that occupy flash (load image) and RAM (run time).
FLASH_SECTIONS = (".isr_vector", ".text", ".ARM.extab", ".ARM.exidx", ".data")
RAM_SECTIONS = (".data", ".bss", ".heap", ".stack")
# For measuring a model that does not fit: memory so large any model links.
_MEASURE_BYTES = 256 * 1024 * 1024


@dataclass
class MemoryUse:
    """Flash and RAM bytes from ELF sections, against what the profile has."""

    flash_bytes: int
    ram_bytes: int
    flash_avail: int
    ram_avail: int
    sections: dict[str, int] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        return self.flash_bytes <= self.flash_avail and self.ram_bytes <= self.ram_avail

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Firmware:
    """A linked firmware image plus what it was built from."""

    elf: Path
    profile: McuProfile
    iface: ModelInterface
    n_samples: int
    n_steps: int
    memory: MemoryUse           # whole firmware (harness, newlib, embedded inputs included)
    model_memory: MemoryUse     # model + runtime only (probe difference)


def render_linker_script(profile: McuProfile, measure: bool = False) -> str:
    """The linker script for ``profile`` (``measure``: huge regions, for sizing only)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    tpl = env.get_template("link.ld.j2")
    return tpl.render(profile=profile, flash_origin=profile.flash_origin,
                      ram_origin=profile.ram_origin,
                      flash_bytes=_MEASURE_BYTES if measure else profile.flash_bytes,
                      ram_bytes=_MEASURE_BYTES if measure else profile.ram_bytes)


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SnncError(f"{what} failed ({Path(cmd[0]).name} exit {r.returncode}):\n"
                        f"{(r.stderr or r.stdout).strip()[-3000:]}")
    return r


def section_sizes(elf: Path) -> dict[str, int]:
    """Section name -> bytes, from ``arm-none-eabi-size -A``."""
    r = _run([require_tool(SIZE, TOOL_HINT), "-A", "-d", str(elf)], "arm-none-eabi-size")
    out: dict[str, int] = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].startswith(".") and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def memory_use(sections: dict[str, int], profile: McuProfile) -> MemoryUse:
    """Flash = load image (vectors, code, const tables, .data initializers); RAM =
    .data + .bss + the heap and stack the linker script reserves."""
    flash = sum(sections.get(s, 0) for s in FLASH_SECTIONS)
    ram = sum(sections.get(s, 0) for s in RAM_SECTIONS)
    return MemoryUse(flash_bytes=flash, ram_bytes=ram, flash_avail=profile.flash_bytes,
                     ram_avail=profile.ram_bytes,
                     sections={k: v for k, v in sections.items()
                               if k in FLASH_SECTIONS or k in RAM_SECTIONS})


def _cc_version(cc: str) -> str:
    """The compiler's path and ``--version`` text, asked once per process (shared with
    the object cache's key, :func:`snnc.targets.common._cc_id`)."""
    from snnc.targets.common import _cc_id

    return _cc_id(cc)


class _Builder:
    """Compiles the objects once per output directory and links firmware variants."""

    def __init__(self, build_dir: Path, out_dir: Path, profile: McuProfile):
        self.cc = require_tool(CC, TOOL_HINT)
        self.build_dir, self.out_dir, self.profile = build_dir, out_dir, profile
        self.obj_dir = out_dir / "obj"
        self.obj_dir.mkdir(parents=True, exist_ok=True)
        # Flags without include paths (shared by cached objects) and the full set.
        self.base_flags = [*profile.cflags(), profile.opt, "-std=c99", "-Wall", "-Wextra",
                           "-ffunction-sections", "-fdata-sections",
                           f"-I{RUNTIME_DIR / 'include'}"]
        self.cflags = [*self.base_flags, f"-I{build_dir}", f"-I{out_dir}"]
        self._objs: dict[str, Path] = {}
        self._scripts: set[Path] = set()
        self._obj_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        # Set once model.c's compiler has started (or its object was cached).
        self.model_started = threading.Event()

    def obj(self, src: Path, key: str, extra: tuple[str, ...] = ()) -> Path:
        with self._lock:  # one compile per key even when two links run at once
            lock = self._obj_locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._objs:
                o = self.obj_dir / f"{key}.o"
                _run([self.cc, *self.cflags, *extra, "-c", str(src), "-o", str(o)],
                     f"compiling {src.name} for {self.profile.cpu}")
                self._objs[key] = o
        return self._objs[key]

    def startup(self) -> Path:
        """startup.c's object: the same for every model, so from the disk cache."""
        return cached_object(self.cc, self.base_flags, HERE / "startup.c")

    def model_objs(self) -> list[Path]:
        # The generated code only includes model.h and the runtime's headers.
        bd = self.build_dir
        # --kernels tvm: wrappers + FFI shim (C) and TVM's Cortex-M4F object.
        from snnc.compiler.codegen.tvm_kernels import link_inputs

        tvm_src, tvm_obj, tvm_inc = link_inputs(bd, "cortex-m4")
        flags = [*self.base_flags, f"-I{bd}", *[f"-I{d}" for d in tvm_inc]]
        # The .incbin tables too: their names carry a hash, but a file edited in place
        # must not be served from the cache.
        deps = (*(p for p in (bd / "model.h", bd / "tvm_kernels.h") if p.exists()),
                *sorted(bd.glob("*.bin")))
        # Runtime objects do not depend on the model: compiled once per toolchain and
        # flags (disk cache), and only those the model's symbols need (a cold compile of
        # L2MU builds one small runtime file, not the whole runtime).
        srcs = [bd / "model.c", *tvm_src]
        with ThreadPoolExecutor(max_workers=1) as ex:
            model = ex.submit(cached_objects, self.cc, flags, srcs, deps,
                              self.model_started.set)
            # On a cold cache the runtime objects would wait for model.o (the slowest
            # compile): start those model.c's text names beside it. Only a head start:
            # the link takes what needed_runtime_objects chooses (from the cache this
            # fills), and it reports a runtime source that does not compile.
            try:
                cached_objects(self.cc, self.base_flags, likely_runtime_sources(srcs))
            except SnncError:
                pass
            objs = model.result()
        rt = needed_runtime_objects(self.cc, require_tool(READELF, TOOL_HINT), self.base_flags,
                                    [*objs, *tvm_obj])
        return objs + rt + tvm_obj

    def link(self, objs: list[Path], elf: Path, measure: bool = False) -> subprocess.CompletedProcess:
        ld = self.out_dir / ("link_measure.ld" if measure else "link.ld")
        with self._lock:  # written once: concurrent links (empty probe) read it
            if ld not in self._scripts:
                ld.write_text(render_linker_script(self.profile, measure=measure))
                self._scripts.add(ld)
        cmd = [self.cc, *self.profile.cflags(), "--specs=rdimon.specs", "-nostartfiles",
               "-Wl,--gc-sections", f"-T{ld}", *map(str, objs),
               self.startup(), "-lm", "-o", str(elf)]
        return subprocess.run([str(c) for c in cmd], capture_output=True, text=True)


_SHRINK_HINT = ("Passes that shrink it: quantize (int8 weights are 4x smaller than float32, "
                "int4 8x; 16-bit state halves RAM) and prune (magnitude pruning with sparse "
                "CSR storage stores only the non-zero weights); or pick a larger profile.")


def _overflow_error(b: _Builder, objs: list[Path], what: str, stderr: str,
                    hint: str = _SHRINK_HINT) -> SnncError:
    """Re-link with huge regions to measure, then explain the overflow with numbers."""
    probe = b.out_dir / "measure.elf"
    r = b.link(objs, probe, measure=True)
    if r.returncode != 0:
        return SnncError(f"linking {what} failed:\n{stderr.strip()[-2000:]}")
    mu = memory_use(section_sizes(probe), b.profile)
    probe.unlink(missing_ok=True)
    p = b.profile
    parts = []
    if mu.flash_bytes > p.flash_bytes:
        parts.append(f"flash {mu.flash_bytes} B needed > {p.flash_bytes} B available")
    if mu.ram_bytes > p.ram_bytes:
        parts.append(f"RAM {mu.ram_bytes} B needed > {p.ram_bytes} B available "
                     f"(incl. {p.stack_bytes} B stack, {p.heap_bytes} B heap)")
    return SnncError(f"{what} does not fit the {p.name} profile ({p.part}): "
                     f"{'; '.join(parts)}. {hint}")


def _link_checked(b: _Builder, objs: list[Path], elf: Path, what: str,
                  hint: str = _SHRINK_HINT) -> MemoryUse:
    r = b.link(objs, elf)
    if r.returncode != 0:
        if "overflow" in r.stderr:
            raise _overflow_error(b, objs, what, r.stderr, hint)
        raise SnncError(f"linking {what} failed:\n{r.stderr.strip()[-3000:]}")
    return memory_use(section_sizes(elf), b.profile)


_EMPTY_PROBE: dict[tuple[str, McuProfile], MemoryUse] = {}


def _empty_probe_key(b: _Builder) -> Path:
    """Disk cache entry of the empty probe's sections: keyed by the compiler (path and
    version), the profile, and the probe, startup and linker-script sources."""
    import hashlib
    import os

    ver = _cc_version(b.cc)
    h = hashlib.sha256(repr((b.cc, ver, b.profile, b.base_flags)).encode())
    for f in ("probe.c", "startup.c", "link.ld.j2"):
        h.update((HERE / f).read_bytes())
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "snnc" / f"probe-empty-{h.hexdigest()[:20]}.json"


def _empty_probe_cached(b: _Builder) -> MemoryUse | None:
    import json

    try:
        d = json.loads(_empty_probe_key(b).read_text())
        return MemoryUse(**d)
    except (OSError, ValueError, TypeError):
        return None  # no cache yet (or unreadable): link it


def _empty_probe_store(b: _Builder, mu: MemoryUse) -> None:
    import json

    from snnc.compiler.ir.serialize import atomic_write

    path = _empty_probe_key(b)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: f.write(json.dumps(mu.to_dict())), mode="w")
    except OSError:
        pass  # a read-only cache only costs the link next time


def _fit_key(b: _Builder) -> Path | None:
    """Disk cache entry of a model's footprint: keyed by the compiler (path and version),
    the profile and flags, the generated model.c/model.h and table files, the probe, startup and
    linker-script sources and every runtime source and header. None (no caching) for
    builds with extra link inputs (--kernels tvm)."""
    import hashlib
    import os

    bd = b.build_dir
    if (bd / "tvm_kernels.h").exists():
        return None
    h = hashlib.sha256(repr((b.cc, _cc_version(b.cc), b.profile, b.base_flags)).encode())
    files = [bd / "model.c", bd / "model.h", *sorted(bd.glob("*.bin")), *(HERE / f for f in
             ("probe.c", "startup.c", "link.ld.j2")), *runtime_sources(),
             *sorted((RUNTIME_DIR / "include").rglob("*.h")),
             *sorted((RUNTIME_DIR / "src").glob("*.h"))]
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "snnc" / "fit" / f"{h.hexdigest()[:24]}.json"


def _model_memory(b: _Builder, iface: ModelInterface, cache: bool = True) -> MemoryUse:
    """Model + runtime footprint: probe with the model minus probe without it.

    Cached on disk (:func:`_fit_key`): recompiling an unchanged model links nothing; only
    models that fit are cached, so an overflow is always reported from a real link."""
    import json

    key = _fit_key(b) if cache else None
    if key is not None:
        try:
            return MemoryUse(**json.loads(key.read_text()))
        except (OSError, ValueError, TypeError):
            pass  # no entry yet (or unreadable): link
    mu = _model_memory_linked(b, iface)
    if key is not None:
        from snnc.compiler.ir.serialize import atomic_write

        try:
            key.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(key, lambda f: f.write(json.dumps(mu.to_dict())), mode="w")
        except OSError:
            pass  # a read-only cache only costs the link next time
    return mu


def _empty_probe_linked(b: _Builder) -> MemoryUse:
    empty = _link_checked(b, [b.obj(HERE / "probe.c", "probe_empty")],
                          b.out_dir / "probe_empty.elf", "the empty firmware")
    _empty_probe_store(b, empty)
    return empty


# Empty probes started by start_early(), by (compiler, profile): a compile waits for its
# own instead of linking the probe again.
_EARLY: dict[tuple[str, McuProfile], Future[MemoryUse | None]] = {}
_EARLY_POOL: list[ThreadPoolExecutor] = []


def _early_empty_probe(prof: McuProfile) -> MemoryUse | None:
    import tempfile

    try:
        with tempfile.TemporaryDirectory(prefix="snnc-early-") as td:
            b = _Builder(Path(td), Path(td) / "out", prof)
            b.startup()  # the model's link needs it too
            if _empty_probe_cached(b) is not None:
                return None
            return _empty_probe_linked(b)
    except (SnncError, OSError):
        return None  # the size check links it again and reports what fails


def start_early(profile: McuProfile | str | None = None) -> None:
    """Start the model-independent part of a cold size check in a background thread:
    startup.o and the empty probe's sections (both disk-cached), so that ``snnc compile``
    overlaps them with loading and optimizing the model (one CPU is idle meanwhile)
    instead of with model.c. A no-op without the toolchain or when already started."""
    if shutil.which(CC) is None:
        return
    try:
        prof = profile if isinstance(profile, McuProfile) else get_profile(profile)
    except SnncError:
        return  # the size check names the unknown profile, in its usual place
    key = (require_tool(CC, TOOL_HINT), prof)
    if key in _EARLY or key in _EMPTY_PROBE:
        return
    if not _EARLY_POOL:
        _EARLY_POOL.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="snnc-early"))
    _EARLY[key] = _EARLY_POOL[0].submit(_early_empty_probe, prof)


def _model_memory_linked(b: _Builder, iface: ModelInterface) -> MemoryUse:
    key = (b.cc, b.profile)
    early = _EARLY.pop(key, None)
    empty = _EMPTY_PROBE.get(key)
    if empty is None and early is not None and early.done():
        empty = early.result()
    if empty is None:
        empty = _empty_probe_cached(b)
    with ThreadPoolExecutor(max_workers=4) as ex:
        model = ex.submit(b.model_objs)  # first: model.c is the slowest compile
        # Both links need startup.o (from the disk cache once compiled).
        ex.submit(b.startup)
        probe = ex.submit(b.obj, HERE / "probe.c", "probe_model", ("-DSNNC_PROBE_MODEL",))
        # The empty probe is the same for every model: linked once per profile and
        # toolchain (disk cache), on a cold cache beside the model's compile and link
        # (usually already started by start_early, beside the passes).
        pending = None
        if empty is None and early is not None:
            pending = early  # still linking: waited for after the model's link
        elif empty is None:
            pending = ex.submit(_empty_probe_linked, b)
        objs = model.result()
        with_model = _link_checked(b, [probe.result(), *objs],
                                   b.out_dir / "probe_model.elf", f"model '{iface.name}'")
        if pending is not None:
            empty = pending.result()
    if empty is None:  # the early probe failed (or found it cached): from the cache or linked
        empty = _empty_probe_cached(b) or _empty_probe_linked(b)
    assert empty is not None
    _EMPTY_PROBE[key] = empty
    secs = {k: with_model.sections.get(k, 0) - empty.sections.get(k, 0)
            for k in sorted(set(with_model.sections) | set(empty.sections))
            if k in FLASH_SECTIONS or k in RAM_SECTIONS}
    secs = {k: v for k, v in secs.items() if v}
    return MemoryUse(flash_bytes=with_model.flash_bytes - empty.flash_bytes,
                     ram_bytes=with_model.ram_bytes - empty.ram_bytes,
                     flash_avail=b.profile.flash_bytes, ram_avail=b.profile.ram_bytes,
                     sections=secs)


def check_fit(build_dir: str | Path, profile: McuProfile | str | None = None,
              out_dir: str | Path | None = None, cache: bool = True,
              started: threading.Event | None = None) -> MemoryUse:
    """Size check at compile time: link the model into the profile's memory map.

    Returns the model + runtime footprint; raises SnncError with the bytes needed vs
    available (from ELF sections) and the passes that would shrink it if it does not fit.
    ``cache=False`` always links (``OUT/probe_model.elf`` is then left for inspection);
    otherwise an unchanged model's footprint comes from the disk cache.

    ``started`` (for a caller running the check in a thread) is set once model.c's
    compiler has started, or when nothing needs compiling, or on failure.
    """
    try:
        prof = profile if isinstance(profile, McuProfile) else get_profile(profile)
        build_dir = Path(build_dir)
        iface = read_interface(build_dir)
        out = Path(out_dir) if out_dir else build_dir / "smartwatch"
        b = _Builder(build_dir, out, prof)
        if started is not None:
            b.model_started = started
        return _model_memory(b, iface, cache)
    finally:
        if started is not None:
            started.set()


def build_firmware(build_dir: str | Path, inputs: np.ndarray,
                   profile: McuProfile | str | None = None,
                   out_dir: str | Path | None = None) -> Firmware:
    """Firmware running ``inputs`` [samples, steps, n_inputs] through the model.

    Writes ``inputs.h``, ``link.ld`` and ``fw.elf`` into ``out_dir`` (default
    ``BUILD/smartwatch``). Raises SnncError if the model or the firmware does not fit.
    """
    prof = profile if isinstance(profile, McuProfile) else get_profile(profile)
    build_dir = Path(build_dir)
    iface = read_interface(build_dir)
    out = Path(out_dir) if out_dir else build_dir / "smartwatch"
    out.mkdir(parents=True, exist_ok=True)
    b = _Builder(build_dir, out, prof)
    print(f"snnc: building {prof.name} firmware for '{iface.name}'", file=sys.stderr)
    model_mem = _model_memory(b, iface)
    x = np.asarray(inputs)
    (out / "inputs.h").write_text(inputs_header(x, iface))
    elf = out / "fw.elf"
    tmp_elf = out / "fw.elf.tmp"
    objs = [b.obj(HERE / "harness.c", "harness"), *b.model_objs()]
    x_bytes = int(x.size) * iface.input_dtype.itemsize
    mem = _link_checked(b, objs, tmp_elf,
                        f"the firmware with {x.shape[0]} embedded test samples",
                        f"The model itself fits ({model_mem.flash_bytes} B flash, "
                        f"{model_mem.ram_bytes} B RAM); the embedded test inputs take "
                        f"{x_bytes} B of flash: run fewer samples (--samples).")
    tmp_elf.replace(elf)  # never leave a half-linked fw.elf behind
    return Firmware(elf=elf, profile=prof, iface=iface, n_samples=int(x.shape[0]),
                    n_steps=int(x.shape[1]), memory=mem, model_memory=model_mem)


def warm_cache(profile: McuProfile | str | None = None) -> dict[str, int]:
    """Fill the disk caches a first ``snnc compile --target smartwatch`` would fill: every
    runtime object, startup.o and the empty size probe for ``profile``'s flags, the
    compiler id and the C emitter's compiled templates (all under ``$XDG_CACHE_HOME/snnc``).

    For setup time (scripts/setup.sh): afterwards a compile builds only what depends on
    the model (model.c, the size probe's link). Returns how many runtime objects it has."""
    import tempfile

    from snnc.compiler.codegen.c import _template_env

    prof = profile if isinstance(profile, McuProfile) else get_profile(profile)
    env = _template_env()
    for t in ("model.c.j2", "model.h.j2"):
        env.get_template(t)  # compiled once, kept in the bytecode cache
    with tempfile.TemporaryDirectory(prefix="snnc-warm-") as td:
        b = _Builder(Path(td), Path(td) / "out", prof)
        objs = cached_objects(b.cc, b.base_flags, runtime_sources())
        b.startup()
        if _EMPTY_PROBE.get((b.cc, prof)) is None and _empty_probe_cached(b) is None:
            _EMPTY_PROBE[(b.cc, prof)] = _empty_probe_linked(b)
    return {"runtime_objects": len(objs)}


def main(argv: list[str] | None = None) -> int:
    """``python -m snnc.targets.smartwatch.build --warm-cache [--profile P]``."""
    import argparse

    ap = argparse.ArgumentParser(description="smartwatch build helpers")
    ap.add_argument("--warm-cache", action="store_true", help=warm_cache.__doc__.split("\n")[0])
    ap.add_argument("--profile", default=None)
    a = ap.parse_args(argv)
    if not a.warm_cache:
        ap.print_help()
        return 2
    try:
        n = warm_cache(a.profile)
    except SnncError as e:
        print(f"snnc: {e}", file=sys.stderr)
        return 1
    print(f"snnc: smartwatch caches warm ({n['runtime_objects']} runtime objects)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
