"""Checks on paths and arrays that come from the user or from a downloaded model.

The CLI calls these before it reads or writes anything (docs/security.md):

- :func:`output_path` / :func:`output_dir`: an artifact never overwrites an input, never
  lands on an existing directory (or a file where a directory is wanted), and never goes
  under ``/proc``, ``/sys`` or ``/dev``;
- :func:`input_file`: inputs are regular files (a FIFO or device would block or never
  end);
- :func:`load_array`: ``.npy``/``.npz`` inputs with numeric dtypes whose sizes are checked
  against the file before anything is allocated;
- :func:`check_finite`: NaN/inf inputs are refused, naming the first offending index,
  unless the user passed ``--allow-nonfinite``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from snnc.compiler.errors import FormatError, SnncError

# Writing under these would talk to the kernel or a device, not create a file.
FORBIDDEN_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
MAX_ARRAY_FILE = 1 << 30  # bytes of one .npy/.npz input


def _under(p: Path, root: Path) -> bool:
    return p == root or root in p.parents


def _resolved(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not str(path):
        raise SnncError("empty output path")
    try:
        return p.resolve()
    except (OSError, RuntimeError) as e:  # symlink loop, permission
        raise FormatError(f"cannot resolve path ({e.__class__.__name__}: {e})", p) from None


def _check_common(path: str | os.PathLike[str], inputs: Iterable[object]) -> Path:
    r = _resolved(path)
    for root in FORBIDDEN_ROOTS:
        if _under(r, root):
            raise SnncError(f"{path}: refusing to write under {root}")
    for parent in r.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SnncError(f"{path}: '{parent}' is not a directory")
            break
    for inp in inputs:
        if inp is None or not str(inp):
            continue
        q = Path(str(inp))
        if q.exists() and (_resolved(q) == r or (r.exists() and os.path.samefile(q, r))):
            raise SnncError(f"{path}: output would overwrite the input '{inp}'")
    return r


def output_path(path: str | os.PathLike[str], *inputs: object) -> Path:
    """``path`` as a file output, after the checks above; ``inputs`` are the command's
    input files (None entries are skipped). SnncError naming the path otherwise."""
    r = _check_common(path, inputs)
    if r.is_dir():
        raise SnncError(f"{path}: is a directory (expected an output file)")
    if r.exists() and not r.is_file():
        raise SnncError(f"{path}: exists and is not a regular file")
    return Path(path)


def output_dir(path: str | os.PathLike[str], *inputs: object) -> Path:
    """``path`` as an output directory: not an existing file, not holding an input file
    directly (the files written there could replace it)."""
    r = _check_common(path, inputs)
    if r.exists() and not r.is_dir():
        raise SnncError(f"{path}: exists and is not a directory")
    for inp in inputs:
        if inp is not None and str(inp) and Path(str(inp)).exists() \
                and _resolved(str(inp)).parent == r:
            raise SnncError(f"{path}: the output directory holds the input '{inp}', which "
                            "the files written there could replace; choose another")
    return Path(path)


def input_file(path: str | os.PathLike[str], what: str = "input") -> Path:
    """``path`` if it is an existing regular file, else FormatError naming it."""
    p = Path(path)
    if not p.exists():
        raise FormatError(f"{what}: no such file", p)
    if p.is_dir():
        raise FormatError(f"{what}: is a directory", p)
    if not p.is_file():
        raise FormatError(f"{what}: not a regular file (a FIFO, socket or device)", p)
    return p


def _npy_header(fp: Any, what: str, p: Path) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise FormatError(f"{what}: unsupported .npy version {version}", p)
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        raise FormatError(f"{what}: dtype {dtype} is not a plain numeric type", p)
    n = 1
    for d in shape:
        n *= int(d)
    return shape, fortran, dtype, n * dtype.itemsize


def load_array(path: str | os.PathLike[str], what: str = "input array"
               ) -> np.ndarray | dict[str, np.ndarray]:
    """Read a ``.npy`` (one array) or ``.npz`` (dict of arrays) safely: regular file, at
    most :data:`MAX_ARRAY_FILE` bytes, numeric dtypes, sizes consistent with the file;
    any problem is a FormatError naming the file."""
    from snnc.compiler.ir.serialize import _Bad, _read_npz

    p = input_file(path, what)
    size = p.stat().st_size
    if size > MAX_ARRAY_FILE:
        raise FormatError(f"{what}: {size} bytes exceed the limit of {MAX_ARRAY_FILE}", p)
    try:
        with open(p, "rb") as f:
            magic = f.read(6)
            f.seek(0)
            if magic == b"\x93NUMPY":
                _, _, _, nbytes = _npy_header(f, what, p)
                if nbytes > size - f.tell():
                    raise FormatError(f"{what}: the header declares {nbytes} bytes of data "
                                      "but the file is shorter", p)
                f.seek(0)
                return np.load(f, allow_pickle=False)
            if magic[:2] == b"PK":
                return _read_npz(f.read(), MAX_ARRAY_FILE)
    except FormatError:
        raise
    except _Bad as e:
        raise FormatError(f"{what}: {e}", p) from None
    except (ValueError, OSError, EOFError, TypeError, KeyError, MemoryError,
            OverflowError) as e:
        raise FormatError(f"{what}: cannot read ({type(e).__name__}: {e})", p) from None
    raise FormatError(f"{what}: not a .npy or .npz file", p)


def check_finite(x: Any, what: str, allow: bool = False) -> None:
    """SnncError naming the first NaN/inf element of ``x`` (an array or a dict of arrays),
    unless ``allow`` (the user's ``--allow-nonfinite``)."""
    if allow:
        return
    items = x.items() if isinstance(x, dict) else [(None, x)]
    for key, v in items:
        a = np.asarray(v)
        if a.dtype.kind not in "fc":
            continue
        bad = ~np.isfinite(a)
        if bad.any():
            idx = [int(i) for i in np.argwhere(bad)[0]]
            where = f"{what}" + (f" '{key}'" if key is not None else "")
            raise SnncError(f"{where}: non-finite value {a[tuple(idx)]} at index {idx} "
                            "(pass --allow-nonfinite to run anyway)")


@contextlib.contextmanager
def memory_budget(extra_bytes: int) -> Iterator[None]:
    """Cap this process's address space at its current size + ``extra_bytes`` for the
    duration (POSIX RLIMIT_AS; never raises an existing lower limit).

    For third-party parsers of untrusted files that size allocations from the file (the
    HDF5 library trusts a corrupt heap's object size: 4 GiB from a 53 KB file): the
    allocation fails at once (MemoryError/OSError, turned into FormatError by the
    caller) instead of exhausting RAM. Single-threaded use only, as the CLI is.
    """
    try:
        import resource

        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * resource.getpagesize()
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):  # not Linux: no cap, still correct
        yield
        return
    cap = vm + int(extra_bytes)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY
                                            else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
