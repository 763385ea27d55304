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

import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import FormatError
from snnc.compiler.ir.graph import Graph
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


def _unjson(v: Any) -> Any:
    if isinstance(v, dict):
        if "__tuple__" in v:
            return tuple(_unjson(x) for x in v["__tuple__"])
        if "__ndarray__" in v:
            return np.asarray(v["__ndarray__"], dtype=v["dtype"])
        return {k: _unjson(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unjson(x) for x in v]
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
        h.update(a.tobytes())
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


def load(path: str | os.PathLike[str]) -> Graph:
    """Read a ``.snn`` file; any damage raises :class:`FormatError` naming the file."""
    path = Path(path)
    if not path.exists():
        raise FormatError("no such file", path)
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if not {"graph.json", "weights.npz"} <= names:
                raise FormatError("not an .snn file (graph.json/weights.npz missing)", path)
            doc = json.loads(z.read("graph.json"))
            with np.load(io.BytesIO(z.read("weights.npz")), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
    except FormatError:
        raise
    except (zipfile.BadZipFile, json.JSONDecodeError, ValueError, OSError, EOFError,
            KeyError, zipfile.LargeZipFile) as e:
        raise FormatError(f"truncated or corrupt .snn file ({type(e).__name__}: {e})",
                          path) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise FormatError("not an snnc graph (format tag missing)", path)
    ver = doc.get("format_version")
    if ver != FORMAT_VERSION:
        raise FormatError(f"format version {ver} is not supported (this snnc reads "
                          f"version {FORMAT_VERSION})", path)
    if content_hash(doc, arrays) != doc.get("content_hash"):
        raise FormatError("content hash mismatch: the file is corrupt or was edited", path)
    nodes: dict[str, Node] = {}
    for name, nd in doc["nodes"].items():
        cls = NODE_KINDS.get(nd.get("kind"))
        if cls is None:
            raise FormatError(f"node '{name}' has unknown kind '{nd.get('kind')}'", path)
        kw = {k: _unjson(v) for k, v in nd["attrs"].items()}
        for f in cls.array_fields:
            key = f"{name}/{f}"
            if key in arrays:
                kw[f] = arrays[key]
        try:
            nodes[name] = cls(**kw)
        except TypeError as e:
            raise FormatError(f"node '{name}' ({cls.kind}): {e}", path) from None
    return Graph(
        nodes=nodes,
        edges=tuple(tuple(e) for e in doc["edges"]),
        dt=doc["dt"],
        discretization=doc["discretization"],
        name=doc["name"],
        metadata=_unjson(doc["metadata"]),
    )
