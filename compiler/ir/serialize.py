"""The ``.snn`` file: a zip holding ``graph.json`` and ``weights.npz``.

``graph.json`` carries ``format`` ("snnc-graph"), ``format_version``, the graph's
name/dt/discretization/metadata, every node's kind and non-array fields, the edges, and
``content_hash``: SHA-256 over the canonical JSON (without the hash) and every array's
name, dtype, shape and bytes. Arrays live in ``weights.npz`` under ``<node>/<field>``.
Round trip is exact: floats in JSON are written with ``repr`` precision, arrays keep
their dtype. Files are written to a temporary path and renamed, so a failed save never
leaves a partial file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import FormatError
from snnc.compiler.ir import names
from snnc.compiler.ir.graph import DISCRETIZATIONS, Graph
from snnc.compiler.ir.nodes import NODE_KINDS, Node

FORMAT = "snnc-graph"
FORMAT_VERSION = 1


def atomic_write(path: str | os.PathLike[str], write: Callable[[Any], None],
                 mode: str = "wb") -> None:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then rename it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
        # mkstemp creates 0600; give the artifact the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return {"__tuple__": [_jsonable(x) for x in v]}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        return {"__ndarray__": v.tolist(), "dtype": str(v.dtype)}
    if isinstance(v, np.generic):
        return v.item()
    return v


def _split(graph: Graph) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    arrays: dict[str, np.ndarray] = {}
    nodes = {}
    for name, node in graph.items():
        attrs = {}
        for k, v in node.params().items():
            if k in node.array_fields:
                arrays[f"{name}/{k}"] = np.asarray(v)
            else:
                attrs[k] = _jsonable(v)
        nodes[name] = {"kind": node.kind, "attrs": attrs}
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": graph.name,
        "dt": graph.dt,
        "discretization": graph.discretization,
        "metadata": _jsonable(graph.metadata),
        "nodes": nodes,
        "edges": [list(e) for e in graph.edges],
    }
    return doc, arrays


def content_hash(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 of the canonical graph description and every array's bytes."""
    h = hashlib.sha256()
    body = {k: v for k, v in doc.items() if k != "content_hash"}
    h.update(json.dumps(body, sort_keys=True).encode())
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}|".encode())
        h.update(memoryview(a).cast("B") if a.size else b"")  # no copy
    return h.hexdigest()


def graph_hash(graph: Graph) -> str:
    """The content hash a graph would get in its ``.snn`` file."""
    return content_hash(*_split(graph))


def save(graph: Graph, path: str | os.PathLike[str]) -> str:
    """Write ``graph`` to ``path`` (.snn) atomically; return its content hash."""
    doc, arrays = _split(graph)
    doc["content_hash"] = content_hash(doc, arrays)
    buf = io.BytesIO()
    np.savez(buf, **arrays)

    def write(f: Any) -> None:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as z:
            # Fixed timestamps keep the file byte-identical for the same graph.
            for fname, data in (("graph.json", json.dumps(doc, indent=1).encode()),
                                ("weights.npz", buf.getvalue())):
                info = zipfile.ZipInfo(fname, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)

    atomic_write(path, write)
    return doc["content_hash"]


# ------------------------------------------------------------------ loading (untrusted)
#
# A .snn file is untrusted input (docs/security.md). The loader bounds every resource
# before spending it: sizes come from the zip directory and are checked before a byte is
# inflated, the JSON's nesting and every value's type are checked before any node is
# built, arrays must be plain numeric dtypes, and every failure is one FormatError that
# names the file. Limits (bytes): overridable for unusually large models through the
# environment variable SNNC_MAX_MODEL_MIB (weights cap in MiB).

MAX_FILE_BYTES = 1 << 30                # the .snn file itself (compressed)
MAX_JSON_BYTES = 8 << 20                # graph.json, uncompressed
MAX_JSON_DEPTH = 32                     # nesting of objects/arrays in graph.json
MAX_WEIGHTS_BYTES = 64 << 20            # weights.npz, uncompressed (default)
MAX_ARRAYS = 4096                       # members of weights.npz
MAX_META_ELEMENTS = 1 << 20             # elements of one __ndarray__ in metadata
MAX_NODES = 100_000
MAX_STR = 4096                          # length of a string attribute / metadata string
MEMBERS = ("graph.json", "weights.npz")
# numpy dtypes a stored array may have: plain booleans, integers and IEEE floats.
NUMERIC_DTYPES = frozenset(
    ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
     "float16", "float32", "float64"])
_TOP_KEYS = {"format", "format_version", "name", "dt", "discretization", "metadata",
             "nodes", "edges", "content_hash"}


def max_weights_bytes() -> int:
    """The uncompressed weights cap: SNNC_MAX_MODEL_MIB (MiB) if set, else 64 MiB."""
    env = os.environ.get("SNNC_MAX_MODEL_MIB")
    if env:
        try:
            return max(1, int(env)) << 20
        except ValueError:
            raise FormatError(f"SNNC_MAX_MODEL_MIB must be an integer, got {env!r}") from None
    return MAX_WEIGHTS_BYTES


class _Bad(Exception):
    """A problem found while validating; becomes FormatError(path) at the top."""


def _unjson(v: Any, depth: int = 0) -> Any:
    """Rebuild tuples and numeric arrays from validated JSON (see :func:`_check_json`).

    Only ``{"__tuple__": [...]}`` and ``{"__ndarray__": nested numbers, "dtype":
    <numeric dtype>}`` are special; anything malformed raises FormatError.
    """
    try:
        return _rebuild(v, depth)
    except _Bad as e:
        raise FormatError(str(e)) from None


def _rebuild(v: Any, depth: int) -> Any:
    if depth > MAX_JSON_DEPTH:
        raise _Bad(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(v, dict):
        if "__tuple__" in v:
            if set(v) != {"__tuple__"} or not isinstance(v["__tuple__"], list):
                raise _Bad("malformed __tuple__ (expected {\"__tuple__\": [...]})")
            return tuple(_rebuild(x, depth + 1) for x in v["__tuple__"])
        if "__ndarray__" in v:
            return _ndarray(v)
        return {str(k): _rebuild(x, depth + 1) for k, x in v.items()}
    if isinstance(v, list):
        return [_rebuild(x, depth + 1) for x in v]
    if isinstance(v, str) and len(v) > MAX_STR * 16:
        raise _Bad(f"a string of {len(v)} characters exceeds the limit of {MAX_STR * 16}")
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise _Bad(f"unexpected JSON value of type {type(v).__name__}")


def _ndarray(v: dict[str, Any]) -> np.ndarray:
    if set(v) != {"__ndarray__", "dtype"}:
        raise _Bad("malformed __ndarray__ (expected the keys __ndarray__ and dtype)")
    dt = v["dtype"]
    if not isinstance(dt, str) or dt not in NUMERIC_DTYPES:
        raise _Bad(f"__ndarray__ dtype {str(dt)[:40]!r} is not allowed (numeric dtypes "
                   f"only: {', '.join(sorted(NUMERIC_DTYPES))})")
    data, n, stack = v["__ndarray__"], 0, [(v["__ndarray__"], 0)]
    while stack:  # count elements and check they are numbers, without recursion
        x, d = stack.pop()
        if isinstance(x, list):
            if d > MAX_JSON_DEPTH:
                raise _Bad("__ndarray__ nested too deeply")
            stack.extend((y, d + 1) for y in x)
        elif isinstance(x, (bool, int, float)):
            n += 1
            if n > MAX_META_ELEMENTS:
                raise _Bad(f"__ndarray__ has more than {MAX_META_ELEMENTS} elements")
        else:
            raise _Bad(f"__ndarray__ holds a {type(x).__name__}, not a number")
    try:
        return np.asarray(data, dtype=dt)
    except (ValueError, TypeError, OverflowError) as e:
        raise _Bad(f"bad __ndarray__ ({type(e).__name__}: {e})") from None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {}
    for k, v in pairs:
        if k in d:
            raise _Bad(f"duplicate JSON key {names.shown(k)}")
        d[k] = v
    return d


def _depth(v: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: no recursion on hostile input)."""
    best, stack = 0, [(v, 1)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, (dict, list)):
            best = max(best, d)
            if best > MAX_JSON_DEPTH:
                return best
            stack.extend((y, d + 1) for y in (x.values() if isinstance(x, dict) else x))
    return best


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _attr(kind: str, node: str, key: str, ann: str, v: Any) -> Any:
    """Check one non-array node attribute against its field's annotation; return it."""
    where = f"node {names.shown(node)} ({kind}) attribute '{key}'"
    if ann in ("Shape", "tuple[int, ...]", "tuple[int, int]"):
        items = v["__tuple__"] if isinstance(v, dict) and set(v) == {"__tuple__"} else v
        if not isinstance(items, list) or not all(_is_int(x) for x in items):
            raise _Bad(f"{where} must be a list of integers")
        if len(items) > 8 or (ann == "tuple[int, int]" and len(items) != 2):
            raise _Bad(f"{where} has {len(items)} entries")
        if any(not 0 <= x < 1 << 31 for x in items):
            raise _Bad(f"{where} entries must lie in [0, 2^31)")
        return tuple(items)
    if ann == "int":
        if not _is_int(v) or not -(1 << 31) <= v < 1 << 31:
            raise _Bad(f"{where} must be a 32-bit integer")
        return v
    if ann == "float":
        if not _is_real(v) or not np.isfinite(float(v)):
            raise _Bad(f"{where} must be a finite number")
        return v
    if ann == "str":
        if not isinstance(v, str) or len(v) > MAX_STR:
            raise _Bad(f"{where} must be a string of at most {MAX_STR} characters")
        return v
    raise _Bad(f"{where}: unsupported field type {ann}")  # a node kind the loader lacks


def _check_doc(doc: Any) -> None:
    """Validate the whole document's structure and types before anything is built."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _Bad("not an snnc graph (format tag missing)")
    ver = doc.get("format_version")
    if ver != FORMAT_VERSION or isinstance(ver, bool):
        raise _Bad(f"format version {str(ver)[:20]} is not supported (this snnc reads "
                   f"version {FORMAT_VERSION})")
    missing = sorted(_TOP_KEYS - set(doc))
    extra = sorted(set(doc) - _TOP_KEYS)
    if missing or extra:
        raise _Bad(f"graph.json keys: missing {missing}, unknown "
                   f"{[names.shown(k) for k in extra][:5]}")
    if _depth(doc) > MAX_JSON_DEPTH:
        raise _Bad(f"graph.json is nested deeper than {MAX_JSON_DEPTH} levels")
    problem = names.graph_name_problem(doc["name"])
    if problem:
        raise _Bad(problem)
    dt = doc["dt"]
    if not _is_real(dt) or not np.isfinite(float(dt)) or dt <= 0:
        raise _Bad(f"dt must be a finite positive number, got {str(dt)[:40]}")
    if not isinstance(doc["discretization"], str) or doc["discretization"] not in \
            DISCRETIZATIONS:
        raise _Bad(f"discretization must be one of {DISCRETIZATIONS}, got "
                   f"{names.shown(doc['discretization'])}")
    if not isinstance(doc["metadata"], dict):
        raise _Bad("metadata must be a JSON object")
    if not isinstance(doc["content_hash"], str) or len(doc["content_hash"]) != 64:
        raise _Bad("content_hash must be a 64-digit hex string")
    nodes = doc["nodes"]
    if not isinstance(nodes, dict) or not nodes:
        raise _Bad("nodes must be a non-empty JSON object {name: {kind, attrs}}")
    if len(nodes) > MAX_NODES:
        raise _Bad(f"{len(nodes)} nodes exceed the limit of {MAX_NODES}")
    for name, nd in nodes.items():
        problem = names.node_name_problem(name)
        if problem:
            raise _Bad(problem)
        if not isinstance(nd, dict) or set(nd) != {"kind", "attrs"}:
            raise _Bad(f"node {names.shown(name)} must be an object with exactly 'kind' "
                       "and 'attrs'")
        cls = NODE_KINDS.get(nd["kind"]) if isinstance(nd["kind"], str) else None
        if cls is None:
            raise _Bad(f"node {names.shown(name)} has unknown kind {names.shown(nd['kind'])}")
        if not isinstance(nd["attrs"], dict):
            raise _Bad(f"node {names.shown(name)}: attrs must be a JSON object")
        anns = {f.name: f.type for f in dataclasses.fields(cls)
                if f.name not in cls.array_fields}
        for k, v in nd["attrs"].items():
            if k not in anns:
                raise _Bad(f"node {names.shown(name)} ({cls.kind}) has no attribute "
                           f"{names.shown(k)}")
            _attr(cls.kind, name, k, str(anns[k]), v)
    edges = doc["edges"]
    if not isinstance(edges, list):
        raise _Bad("edges must be a list of [source, destination] pairs")
    for e in edges:
        if (not isinstance(e, list) or len(e) != 2 or not all(isinstance(x, str) for x in e)):
            raise _Bad(f"edge {str(e)[:60]} is not a [source, destination] pair of names")
        for x in e:
            if x not in nodes:
                raise _Bad(f"edge {names.shown(e[0])} -> {names.shown(e[1])} refers to a "
                           "node that does not exist")


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not path.exists():
        raise FormatError("no such file", path)
    if path.is_dir():
        raise FormatError("is a directory, not an .snn file", path)
    if not path.is_file():  # FIFO, socket, device: reading could block or never end
        raise FormatError("not a regular file", path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FormatError(f"{size} bytes exceed the .snn limit of {MAX_FILE_BYTES}", path)
    return zipfile.ZipFile(path)


def _check_members(z: zipfile.ZipFile, cap: int) -> dict[str, zipfile.ZipInfo]:
    """The two members' directory entries, after every size/kind check."""
    infos = z.infolist()
    if len(infos) > 16:
        raise _Bad(f"{len(infos)} zip members (an .snn file has 2)")
    seen: dict[str, zipfile.ZipInfo] = {}
    for i in infos:
        if i.filename in seen:
            raise _Bad(f"duplicate zip member {names.shown(i.filename)}")
        seen[i.filename] = i
    if not set(MEMBERS) <= set(seen):
        raise _Bad("not an .snn file (graph.json/weights.npz missing)")
    limits = {"graph.json": MAX_JSON_BYTES, "weights.npz": cap}
    for m in MEMBERS:
        i = seen[m]
        if i.flag_bits & 0x1:
            raise _Bad(f"member {m} is encrypted")
        if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Bad(f"member {m} uses unsupported compression method {i.compress_type}")
        if i.file_size > limits[m]:
            raise _Bad(f"member {m} inflates to {i.file_size} bytes, over the limit of "
                       f"{limits[m]} (SNNC_MAX_MODEL_MIB raises the weights limit)")
    return seen


def _read_member(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read a member, never more than its declared (already checked) size."""
    with z.open(info) as f:
        data = f.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise _Bad(f"member {info.filename} does not match its declared size")
    return data


def _read_npz(data: bytes, budget: int) -> dict[str, np.ndarray]:
    """Arrays of an uncompressed-in-memory .npz: numeric dtypes only, sizes checked from
    each .npy header before allocation, total within ``budget`` bytes."""
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        infos = inner.infolist()
        if len(infos) > MAX_ARRAYS:
            raise _Bad(f"weights.npz has {len(infos)} arrays (limit {MAX_ARRAYS})")
        for i in infos:
            if not i.filename.endswith(".npy"):
                raise _Bad(f"weights.npz member {names.shown(i.filename)} is not a .npy")
            key = i.filename[:-4]
            if key in arrays:
                raise _Bad(f"duplicate array {names.shown(key)} in weights.npz")
            if i.flag_bits & 0x1 or i.compress_type not in (zipfile.ZIP_STORED,
                                                            zipfile.ZIP_DEFLATED):
                raise _Bad(f"array {names.shown(key)}: encrypted or unsupported compression")
            if i.file_size > budget:
                raise _Bad(f"array {names.shown(key)} ({i.file_size} bytes) exceeds the "
                           "weights limit")
            with inner.open(i) as fp:
                version = np.lib.format.read_magic(fp)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
                else:
                    raise _Bad(f"array {names.shown(key)}: .npy version {version}")
                if (dtype.fields is not None or dtype.subdtype is not None
                        or dtype.kind not in "biuf" or dtype.name not in NUMERIC_DTYPES):
                    raise _Bad(f"array {names.shown(key)} has dtype {dtype} (numeric only)")
                count = 1
                for d in shape:
                    count *= int(d)
                nbytes = count * dtype.itemsize
                if nbytes > budget:
                    raise _Bad(f"array {names.shown(key)} of shape {shape} exceeds the "
                               "weights limit")
                budget -= nbytes
                a = np.empty(count, dtype=dtype)
                view = memoryview(a).cast("B") if nbytes else memoryview(b"")
                got = 0
                while got < nbytes:
                    k = fp.readinto(view[got:])
                    if not k:
                        raise _Bad(f"array {names.shown(key)} is truncated")
                    got += k
                if fp.read(1):
                    raise _Bad(f"array {names.shown(key)} has trailing bytes")
            arrays[key] = a.reshape(shape, order="F" if fortran else "C")
    return arrays


_LOAD_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, json.JSONDecodeError, ValueError,
                TypeError, OSError, EOFError, KeyError, IndexError, OverflowError,
                RecursionError, NotImplementedError, RuntimeError, zlib.error,
                UnicodeDecodeError, MemoryError)


def load(path: str | os.PathLike[str]) -> Graph:
    """Read a ``.snn`` file; any damage raises :class:`FormatError` naming the file.

    The file is untrusted: member sizes, JSON depth, every value's type, node and graph
    names (:mod:`snnc.compiler.ir.names`) and array dtypes are checked before nodes are
    built (limits at the top of this section). The result is not ``verify``-ed.
    """
    path = Path(path)
    try:
        with _open_zip(path) as z:
            cap = max_weights_bytes()
            infos = _check_members(z, cap)
            raw = _read_member(z, infos["graph.json"])
            try:
                doc = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
            except RecursionError:
                raise _Bad("graph.json is nested too deeply") from None
            _check_doc(doc)
            arrays = _read_npz(_read_member(z, infos["weights.npz"]), cap)
    except FormatError:
        raise
    except _Bad as e:
        raise FormatError(str(e), path) from None
    except _LOAD_ERRORS as e:
        raise FormatError(f"truncated or corrupt .snn file ({type(e).__name__}: {e})",
                          path) from None
    try:
        if content_hash(doc, arrays) != doc["content_hash"]:
            raise _Bad("content hash mismatch: the file is corrupt or was edited")
        return _build_graph(doc, arrays)
    except _Bad as e:
        raise FormatError(str(e), path) from None
    except FormatError as e:
        raise FormatError(str(e), path) from None
    except (ValueError, TypeError, OverflowError, IndexError, KeyError) as e:
        raise FormatError(f"invalid graph ({type(e).__name__}: {e})", path) from None


def _build_graph(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> Graph:
    used: set[str] = set()
    nodes: dict[str, Node] = {}
    for name, nd in doc["nodes"].items():
        cls = NODE_KINDS[nd["kind"]]
        anns = {f.name: str(f.type) for f in dataclasses.fields(cls)}
        kw = {k: _attr(cls.kind, name, k, anns[k], v) for k, v in nd["attrs"].items()}
        for f in cls.array_fields:
            key = f"{name}/{f}"
            if key in arrays:
                kw[f] = arrays[key]
                used.add(key)
        try:
            nodes[name] = cls(**kw)
        except (TypeError, ValueError) as e:
            raise _Bad(f"node {names.shown(name)} ({cls.kind}): {e}") from None
    unused = sorted(set(arrays) - used)
    if unused:
        raise _Bad(f"weights.npz holds arrays of no node field: "
                   f"{', '.join(names.shown(k) for k in unused[:3])}")
    return Graph(nodes=nodes, edges=tuple((a, b) for a, b in doc["edges"]), dt=float(doc["dt"]),
                 discretization=doc["discretization"], name=doc["name"],
                 metadata=_rebuild(doc["metadata"], 0))
