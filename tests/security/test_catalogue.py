"""Catalogue of hostile inputs to the CLI (issue 14): model files, NIR, CLI options, data
files, device strings and output paths.

Every case asserts: a non-zero exit code; exactly one ``snnc: error:`` line (printable,
naming the culprit) or, for click's own usage errors (exit 2), an ``Error:`` line naming
it; no traceback and no stray exception; every file the case protects unchanged and no
output or temporary file left behind; and a bounded time. Most cases run in-process
(click's CliRunner); the resource bombs run as subprocesses whose peak RSS is measured
(:func:`run_measured`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from click.testing import CliRunner

from snnc.cli import main
from snnc.compiler.ir.serialize import content_hash

HERE = Path(__file__).resolve().parent
SEED = HERE / "corpus" / "seed_tiny.snn"
SEED_CONV = HERE / "corpus" / "seed_conv.snn"
SEED_NIR = HERE / "corpus" / "seed_tiny.nir"
HDF5_HEAP_BOMB = HERE / "corpus" / "repro_453a418b968b.nir"
MAX_SECONDS = 10.0
MAX_RSS_MIB = 256


@dataclass
class Case:
    """argv (with {d} for the case directory), the culprit the message must name, files
    (relative to {d}) that must be unchanged and files that must not exist afterwards."""

    id: str
    build: Callable[[Path], None]
    argv: list[str]
    culprit: str
    keep: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    usage: bool = False  # click's usage error (exit 2) rather than an SnncError


CASES: list[Case] = []


def case(id: str, argv: list[str], culprit: str, keep: list[str] | None = None,
         absent: list[str] | None = None, usage: bool = False
         ) -> Callable[[Callable[[Path], None]], Callable[[Path], None]]:
    def deco(fn: Callable[[Path], None]) -> Callable[[Path], None]:
        CASES.append(Case(id, fn, argv, culprit, keep or [], absent or [], usage))
        return fn
    return deco


def nothing(d: Path) -> None:
    return None


# ------------------------------------------------------------------ .snn builders


def _read(p: Path = SEED) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with zipfile.ZipFile(p) as z:
        doc = json.loads(z.read("graph.json"))
        with np.load(io.BytesIO(z.read("weights.npz")), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return doc, arrays


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    b = io.BytesIO()
    np.savez(b, **arrays)
    return b.getvalue()


def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return out.getvalue()


def snn(doc: dict[str, Any], arrays: dict[str, np.ndarray], rehash: bool = True) -> bytes:
    """An .snn with this document and arrays, re-hashed so only the edit is wrong."""
    if rehash:
        doc["content_hash"] = content_hash(doc, arrays)
    return _zip([("graph.json", json.dumps(doc).encode()), ("weights.npz", _npz(arrays))])


def doc_edit(edit: Callable[[dict[str, Any], dict[str, np.ndarray]], None],
             src: Path = SEED, rehash: bool = True) -> Callable[[Path], None]:
    def build(d: Path) -> None:
        doc, arrays = _read(src)
        edit(doc, arrays)
        (d / "m.snn").write_bytes(snn(doc, arrays, rehash))
    return build


def raw(data: bytes | Callable[[], bytes], name: str = "m.snn") -> Callable[[Path], None]:
    def build(d: Path) -> None:
        (d / name).write_bytes(data() if callable(data) else data)
    return build


def _npy_bytes(header: dict[str, Any], body: bytes) -> bytes:
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(b, header)
    return b.getvalue() + body


def _with_npy(key: str, npy: bytes) -> bytes:
    doc, arrays = _read()
    arrays.pop(key, None)
    npz = io.BytesIO()
    with zipfile.ZipFile(npz, "w") as z:
        for k, v in arrays.items():
            b = io.BytesIO()
            np.save(b, v)
            z.writestr(f"{k}.npy", b.getvalue())
        z.writestr(f"{key}.npy", npy)
    return _zip([("graph.json", json.dumps(doc).encode()), ("weights.npz", npz.getvalue())])


def _bomb(nbytes: int, inner: bool) -> bytes:
    """weights inflating to ``nbytes`` zeros, streamed (the test never holds them)."""
    doc, _ = _read()
    out = io.BytesIO()
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("graph.json", json.dumps(doc))
        with z.open("weights.npz", "w", force_zip64=True) as w:
            if inner:
                with zipfile.ZipFile(w, "w", compression=zipfile.ZIP_DEFLATED) as npz, \
                        npz.open("fc1/weight.npy", "w", force_zip64=True) as m:
                    np.lib.format.write_array_header_1_0(
                        m, {"descr": "<f8", "fortran_order": False, "shape": (nbytes // 8,)})
                    for _ in range(nbytes // len(chunk)):
                        m.write(chunk)
            else:
                for _ in range(nbytes // len(chunk)):
                    w.write(chunk)
    return out.getvalue()


def _set_attr(node: str, key: str, value: Any) -> Callable[..., None]:
    return lambda doc, arrays: doc["nodes"][node]["attrs"].__setitem__(key, value)


def _set_top(key: str, value: Any) -> Callable[..., None]:
    return lambda doc, arrays: doc.__setitem__(key, value)


def _set_array(key: str, value: np.ndarray) -> Callable[..., None]:
    return lambda doc, arrays: arrays.__setitem__(key, value)


def _rename(old: str, new: str) -> Callable[..., None]:
    def edit(doc: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        doc["nodes"] = {(new if k == old else k): v for k, v in doc["nodes"].items()}
        doc["edges"] = [[new if x == old else x for x in e] for e in doc["edges"]]
        for k in [k for k in arrays if k.startswith(old + "/")]:
            arrays[new + k[len(old):]] = arrays.pop(k)
    return edit


INSPECT = ["inspect", "{d}/m.snn"]
K = ["m.snn"]

# -- the container
case("snn-not-a-zip", INSPECT, "m.snn", K)(raw(b"hello, not a zip\n"))
case("snn-empty", INSPECT, "m.snn", K)(raw(b""))
for cut in (30, 200, 600):
    case(f"snn-truncated-{cut}", INSPECT, "m.snn", K)(raw(lambda c=cut: SEED.read_bytes()[:c]))
case("snn-no-graph-json", INSPECT, "graph.json", K)(
    raw(lambda: _zip([("weights.npz", _npz(_read()[1]))])))
case("snn-no-weights", INSPECT, "weights.npz", K)(
    raw(lambda: _zip([("graph.json", json.dumps(_read()[0]).encode())])))
case("snn-duplicate-graph-json", INSPECT, "duplicate zip member", K)(raw(lambda: _zip(
    [("graph.json", json.dumps(_read()[0]).encode()), ("graph.json", b"{}"),
     ("weights.npz", _npz(_read()[1]))])))
case("snn-duplicate-weights", INSPECT, "duplicate zip member", K)(raw(lambda: _zip(
    [("graph.json", json.dumps(_read()[0]).encode()), ("weights.npz", _npz(_read()[1])),
     ("weights.npz", b"x")])))


def _flag_encrypted() -> bytes:
    b = bytearray(SEED.read_bytes())
    i = b.find(b"PK\x01\x02")  # central directory entry of the first member
    b[i + 8] |= 1
    j = b.find(b"PK\x03\x04")
    b[j + 6] |= 1
    return bytes(b)


case("snn-encrypted-member", INSPECT, "encrypted", K)(raw(_flag_encrypted))
case("snn-bzip2-member", INSPECT, "compression", K)(raw(lambda: _zip(
    [("graph.json", json.dumps(_read()[0]).encode()), ("weights.npz", _npz(_read()[1]))],
    zipfile.ZIP_BZIP2)))


def _corrupt_deflate() -> bytes:
    b = bytearray(SEED.read_bytes())
    j = b.find(b"PK\x03\x04")
    start = j + 30 + int.from_bytes(b[j + 26:j + 28], "little")
    for k in range(start + 2, start + 40):
        b[k] ^= 0x5A
    return bytes(b)


case("snn-corrupt-deflate", INSPECT, "m.snn", K)(raw(_corrupt_deflate))
case("snn-json-nested-100k", INSPECT, "m.snn", K)(raw(lambda: _zip(
    [("graph.json", b"[" * 100_000 + b"]" * 100_000), ("weights.npz", _npz(_read()[1]))])))
case("snn-json-duplicate-keys", INSPECT, "duplicate JSON key", K)(raw(lambda: _zip(
    [("graph.json", b'{"format": "snnc-graph", "format": "x"}'),
     ("weights.npz", _npz(_read()[1]))])))
case("snn-json-bad-utf8", INSPECT, "m.snn", K)(raw(lambda: _zip(
    [("graph.json", b'{"format": "\xff\xfe"}'), ("weights.npz", _npz(_read()[1]))])))
case("snn-json-list", INSPECT, "format tag", K)(raw(lambda: _zip(
    [("graph.json", b"[1, 2]"), ("weights.npz", _npz(_read()[1]))])))

# -- the document (re-hashed: only the edit is wrong)
case("snn-format-tag", INSPECT, "format tag", K)(doc_edit(_set_top("format", "other")))
case("snn-version-2", INSPECT, "format version", K)(doc_edit(_set_top("format_version", 2)))
case("snn-version-string", INSPECT, "format version", K)(
    doc_edit(_set_top("format_version", "1")))
for tag, v in (("string", "1e-3"), ("nan", float("nan")), ("negative", -1e-3),
               ("zero", 0), ("bool", True), ("list", [1e-3])):
    case(f"snn-dt-{tag}", INSPECT, "dt", K)(doc_edit(_set_top("dt", v)))
case("snn-discretization", INSPECT, "discretization", K)(
    doc_edit(_set_top("discretization", "rk4")))
case("snn-metadata-list", INSPECT, "metadata", K)(doc_edit(_set_top("metadata", [])))
case("snn-nodes-list", INSPECT, "nodes", K)(doc_edit(_set_top("nodes", [])))
case("snn-extra-top-key", INSPECT, "unknown", K)(doc_edit(_set_top("evil", 1)))
case("snn-node-no-attrs", INSPECT, "fc1", K)(
    doc_edit(lambda doc, a: doc["nodes"]["fc1"].pop("attrs")))
case("snn-node-extra-key", INSPECT, "fc1", K)(
    doc_edit(lambda doc, a: doc["nodes"]["fc1"].__setitem__("code", "x")))
case("snn-unknown-kind", INSPECT, "Evil", K)(
    doc_edit(lambda doc, a: doc["nodes"]["fc1"].__setitem__("kind", "Evil")))
case("snn-kind-not-string", INSPECT, "unknown kind", K)(
    doc_edit(lambda doc, a: doc["nodes"]["fc1"].__setitem__("kind", [1])))
case("snn-attrs-list", INSPECT, "attrs", K)(
    doc_edit(lambda doc, a: doc["nodes"]["fc1"].__setitem__("attrs", [])))
case("snn-shape-string", INSPECT, "shape", K)(doc_edit(_set_attr("lif1", "shape", "8")))
case("snn-shape-floats", INSPECT, "shape", K)(doc_edit(_set_attr("lif1", "shape", [8.5])))
case("snn-shape-negative", INSPECT, "shape", K)(doc_edit(_set_attr("lif1", "shape", [-8])))
case("snn-unknown-attr", INSPECT, "bogus", K)(doc_edit(_set_attr("lif1", "bogus", 1)))
case("snn-reset-number", INSPECT, "reset", K)(doc_edit(_set_attr("lif1", "reset", 3)))
case("snn-reset-unknown", INSPECT, "reset", K)(doc_edit(_set_attr("lif1", "reset", "explode")))
case("snn-edge-3", INSPECT, "edge", K)(
    doc_edit(lambda doc, a: doc["edges"].append(["input", "fc1", "lif1"])))
case("snn-edge-missing-node", INSPECT, "ghost", K)(
    doc_edit(lambda doc, a: doc["edges"].append(["input", "ghost"])))
case("snn-edges-dict", INSPECT, "edges", K)(doc_edit(_set_top("edges", {})))
case("snn-hash-mismatch", INSPECT, "hash mismatch", K)(
    doc_edit(_set_top("dt", 2e-3), rehash=False))
for tag, v in (("unicode", {"__ndarray__": [1], "dtype": "U200000000"}),
               ("object", {"__ndarray__": [1], "dtype": "object"}),
               ("ragged", {"__ndarray__": [[1], [2, 3]], "dtype": "float64"}),
               ("overflow", {"__ndarray__": [300], "dtype": "int8"}),
               ("strings", {"__ndarray__": ["a"], "dtype": "float64"}),
               ("tuple", {"__tuple__": "x"})):
    case(f"snn-metadata-{tag}", INSPECT, "m.snn", K)(
        doc_edit(lambda doc, a, v=v: doc["metadata"].__setitem__("x", v)))
# -- names
for tag, bad in (("comment", "fc*/\nint x;/*"), ("bidi", "fc\u202e1"), ("space", "fc 1"),
                 ("dash", "-fc"), ("long", "f" * 200), ("quote", 'fc"1'), ("hash", "#fc")):
    case(f"snn-node-name-{tag}", INSPECT, "not allowed" if tag != "long" else "longer", K)(
        doc_edit(_rename("fc1", bad)))
for tag, bad in (("quote", 'm"x'), ("newline", "m\nx"), ("slash", "m*/x"), ("empty", "")):
    case(f"snn-graph-name-{tag}", INSPECT, "graph name", K)(doc_edit(_set_top("name", bad)))
# -- the arrays
case("snn-array-object", INSPECT, "dtype", K)(raw(lambda: _with_npy("fc1/weight", _npy_bytes(
    {"descr": "|O", "fortran_order": False, "shape": (2,)}, b"\x00" * 16))))
case("snn-array-complex", INSPECT, "dtype", K)(
    doc_edit(_set_array("fc1/weight", np.ones((8, 4), np.complex128))))
case("snn-array-structured", INSPECT, "dtype", K)(raw(lambda: _with_npy("fc1/weight", _npy_bytes(
    {"descr": [("a", "<f8")], "fortran_order": False, "shape": (2,)}, b"\x00" * 16))))
case("snn-array-huge-header", INSPECT, "fc1/weight", K)(raw(lambda: _with_npy(
    "fc1/weight", _npy_bytes({"descr": "<f8", "fortran_order": False,
                              "shape": (1 << 20, 1 << 20)}, b"\x00" * 64))))
case("snn-array-truncated", INSPECT, "truncated", K)(raw(lambda: _with_npy(
    "fc1/weight", _npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (8, 4)},
                             b"\x00" * 100))))
case("snn-array-stray", INSPECT, "no node field", K)(
    doc_edit(_set_array("fc1/bogus", np.ones(3))))
case("snn-array-missing", INSPECT, "fc1", K)(doc_edit(lambda doc, a: a.pop("fc1/weight")))
# -- verify
case("snn-param-8x4-on-8", INSPECT, "lif1", K)(
    doc_edit(_set_array("lif1/v_threshold", np.ones((8, 4)))))
case("snn-param-3-on-8", INSPECT, "lif1", K)(doc_edit(_set_array("lif1/tau", np.ones(3))))
case("snn-weight-nan", INSPECT, "fc1", K)(
    doc_edit(_set_array("fc1/weight", np.full((8, 4), np.nan))))
case("snn-tau-negative", INSPECT, "tau", K)(doc_edit(_set_array("lif1/tau", np.array(-1.0))))
case("snn-threshold-zero", INSPECT, "v_threshold", K)(
    doc_edit(_set_array("lif1/v_threshold", np.array(0.0))))
case("snn-weight-1d", INSPECT, "fc1", K)(doc_edit(_set_array("fc1/weight", np.ones(4))))
case("snn-weight-bool-shape-mismatch", INSPECT, "shape mismatch", K)(
    doc_edit(_set_array("fc1/weight", np.ones((8, 5)))))
case("snn-population-zero", INSPECT, "shape", K)(doc_edit(_set_attr("lif2", "shape", [0])))
case("snn-population-huge", INSPECT, "elements", K)(
    doc_edit(_set_attr("lif2", "shape", [1 << 30])))
case("snn-no-input", INSPECT, "Input", K)(
    doc_edit(lambda doc, a: doc["nodes"]["input"].__setitem__("kind", "Output")))
for tag, attr, v in (("dilation-0", "dilation", 0), ("stride-0", "stride", 0),
                     ("groups-0", "groups", 0), ("groups-2", "groups", 2),
                     ("padding-negative", "padding", -1)):
    case(f"snn-conv-{tag}", INSPECT, "conv", ["m.snn"])(
        doc_edit(_set_attr("conv", attr, v), src=SEED_CONV))
case("snn-conv-kernel-too-big", INSPECT, "conv", K)(doc_edit(
    _set_array("conv/weight", np.ones((3, 2, 9))), src=SEED_CONV))
case("snn-flatten-axis", INSPECT, "flat", K)(
    doc_edit(_set_attr("flat", "start_dim", 5), src=SEED_CONV))

# -- compile-specific model content
COMPILE = ["compile", "{d}/m.snn", "-o", "{d}/out.snn"]
CA = ["out.snn", "out.report.json", "out.report.md"]


def _fifo_calib(d: Path) -> None:
    doc_edit(lambda doc, a: doc["metadata"].__setitem__("calibration_data", "c.npy"))(d)
    os.mkfifo(d / "c.npy")


case("compile-metadata-calib-fifo", COMPILE, "c.npy", K, CA)(_fifo_calib)
case("compile-metadata-calib-absolute", COMPILE, "calibration_data", K, CA)(
    doc_edit(lambda doc, a: doc["metadata"].__setitem__("calibration_data", "/etc/passwd")))
case("compile-metadata-calib-escape", COMPILE, "calibration_data", K, CA)(
    doc_edit(lambda doc, a: doc["metadata"].__setitem__("calibration_data", "../../x.npy")))

# ------------------------------------------------------------------ NIR


def _h5(build: Callable[[Any], None]) -> Callable[[Path], None]:
    def b(d: Path) -> None:
        import h5py

        with h5py.File(d / "m.nir", "w") as f:
            build(f)
    return b


def _nir_node_group(f: Any) -> None:
    import h5py

    with h5py.File(SEED_NIR, "r") as src:
        src.copy(src["node"], f, "node")


def _nir_edit(edit: Callable[[Any], None]) -> Callable[[Path], None]:
    def build(f: Any) -> None:
        _nir_node_group(f)
        edit(f)
    return _h5(build)


NIR = ["convert", "{d}/m.nir", "{d}/out.snn"]
NK, NA = ["m.nir"], ["out.snn"]
case("nir-not-hdf5", NIR, "m.nir", NK, NA)(raw(b"not hdf5", "m.nir"))
case("nir-truncated", NIR, "m.nir", NK, NA)(raw(lambda: SEED_NIR.read_bytes()[:3000], "m.nir"))
case("nir-no-node", NIR, "node", NK, NA)(_h5(lambda f: f.create_group("other")))
case("nir-node-dataset", NIR, "node", NK, NA)(_h5(lambda f: f.create_dataset("node", data=1)))
case("nir-external-link", NIR, "ExternalLink", NK, NA)(_nir_edit(
    lambda f: f["node"].__setitem__("evil", __import__("h5py").ExternalLink("/etc/x", "/"))))
case("nir-soft-link", NIR, "SoftLink", NK, NA)(_nir_edit(
    lambda f: f["node"].__setitem__("evil", __import__("h5py").SoftLink("/node"))))
case("nir-huge-dataset", NIR, "bytes", NK, NA)(_nir_edit(lambda f: f["node"].create_dataset(
    "big", shape=(200 << 20,), dtype="u1", chunks=(1 << 20,), compression="gzip")))


def _deep(f: Any) -> None:
    _nir_node_group(f)
    g = f["node"]
    for k in range(40):
        g = g.create_group(f"g{k}")


case("nir-deep-groups", NIR, "nested", NK, NA)(_h5(_deep))
case("nir-top-type", NIR, "not a NIR graph", NK, NA)(_nir_edit(
    lambda f: (f["node"].__delitem__("type"), f["node"].create_dataset("type", data=b"LIF"))))


def _nir_graph(d: Path, mutate: Callable[[Any], Any]) -> None:
    import nir

    from snnc.compiler.frontend.nir import export_nir
    from snnc.compiler.ir import LIF, Conv1d, Flatten, Graph, Input, Output, SpikeCountArgmax

    rng = np.random.default_rng(0)
    g = Graph(nodes={"in": Input((2, 6)), "conv": Conv1d(6, rng.normal(0, 1, (3, 2, 3))),
                     "flat": Flatten((3, 4)), "lif": LIF((12,), tau=np.array(4e-3)),
                     "ro": SpikeCountArgmax((12,)), "out": Output((12,))},
              edges=[("in", "conv"), ("conv", "flat"), ("flat", "lif"), ("lif", "ro"),
                     ("ro", "out")], name="c")
    ng = mutate(export_nir(g))
    nir.write(str(d / "m.nir"), ng)


def _conv_dilation0(ng: Any) -> Any:
    ng.nodes["conv"].dilation = np.array([0])
    return ng


def _bad_node_name(ng: Any) -> Any:
    import nir

    nodes = {("a *\u202eb" if k == "lif" else k): v for k, v in ng.nodes.items()}
    edges = [tuple("a *\u202eb" if x == "lif" else x for x in e) for e in ng.edges]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={}, type_check=False)


case("nir-conv-dilation-0", NIR, "m.nir", NK, NA)(lambda d: _nir_graph(d, _conv_dilation0))
case("nir-node-name", NIR, "a *\\u202eb' is not allowed", NK, NA)(lambda d: _nir_graph(d, _bad_node_name))

# ------------------------------------------------------------------ CLI options


def _seed(d: Path) -> None:
    (d / "m.snn").write_bytes(SEED.read_bytes())


def _seed_and(extra: Callable[[Path], None]) -> Callable[[Path], None]:
    def b(d: Path) -> None:
        _seed(d)
        extra(d)
    return b


def _save(name: str, a: Any) -> Callable[[Path], None]:
    def b(d: Path) -> None:
        if isinstance(a, dict):
            np.savez(d / name, **a)
        else:
            np.save(d / name, a)
    return b


X = np.zeros((2, 5, 4))
SIM = ["simulate", "{d}/m.snn", "--input", "{d}/x.npy"]
case("opt-prune-2", ["compile", "{d}/m.snn", "--prune", "2", "-o", "{d}/out.snn"], "prune",
     K, CA)(_seed)
case("opt-prune-negative", ["compile", "{d}/m.snn", "--prune", "-1", "-o", "{d}/out.snn"],
     "prune", K, CA)(_seed)
case("opt-max-drop-negative", ["compile", "{d}/m.snn", "--max-accuracy-drop", "-1", "--calib",
                               "{d}/x.npy", "-o", "{d}/out.snn"], "max-accuracy-drop", K, CA)(
    _seed_and(_save("x.npy", np.random.default_rng(0).normal(0, 1, (4, 5, 4)))))
case("opt-quantize-unknown", ["compile", "{d}/m.snn", "--quantize", "int3", "-o",
                              "{d}/out.snn"], "int3", K, CA, usage=True)(_seed)
case("opt-output-suffix", ["compile", "{d}/m.snn", "-o", "{d}/out.txt"], "out.txt", K,
     ["out.txt"])(_seed)
case("opt-simulate-both", SIM + ["--data", "{d}/x.npy"], "--input", K)(
    _seed_and(_save("x.npy", X)))
case("opt-simulate-neither", ["simulate", "{d}/m.snn"], "--input", K)(_seed)
case("opt-convert-suffix", ["convert", "{d}/m.snn", "{d}/out.exe"], "out.exe", K,
     ["out.exe"])(_seed)
case("opt-convert-reset-snn", ["convert", "{d}/m.snn", "{d}/o.snn", "--reset", "zero"],
     "--reset", K, ["o.snn"])(_seed)
case("opt-model-unknown-suffix", ["inspect", "{d}/m.txt"], "m.txt", ["m.txt"])(
    raw(b"x", "m.txt"))
case("opt-model-missing", ["inspect", "{d}/nope.snn"], "nope.snn", absent=["nope.snn"])(nothing)
case("opt-model-directory", ["inspect", "{d}/dir.snn"], "dir.snn", usage=True)(
    lambda d: (d / "dir.snn").mkdir())
case("opt-model-fifo", ["inspect", "{d}/f.snn"], "f.snn")(lambda d: os.mkfifo(d / "f.snn"))
case("opt-target-unknown", ["flash", "{d}/m.snn", "--target", "toaster"], "toaster", K,
     usage=True)(_seed)

# ------------------------------------------------------------------ data files
XK = ["m.snn", "x.npy"]
case("data-input-fifo", SIM, "x.npy", K)(_seed_and(lambda d: os.mkfifo(d / "x.npy")))
case("data-input-directory", SIM, "x.npy", K, usage=True)(_seed_and(lambda d: (d / "x.npy").mkdir()))
case("data-input-dev-zero", ["simulate", "{d}/m.snn", "--input", "/dev/zero"], "/dev/zero",
     K)(_seed)
case("data-input-missing", SIM, "x.npy", K, ["x.npy"])(_seed)
case("data-input-nan", SIM, "[1, 3, 2]", XK)(_seed_and(_save("x.npy", np.where(
    np.arange(40).reshape(2, 5, 4) == 34, np.nan, 0.0))))
case("data-input-inf-npz", ["simulate", "{d}/m.snn", "--input", "{d}/x.npz"], "input",
     ["m.snn", "x.npz"])(_seed_and(_save("x.npz", {"input": np.full((1, 3, 4), np.inf)})))
case("data-input-all-nan", SIM, "[0, 0, 0]", XK)(_seed_and(_save("x.npy", X + np.nan)))
case("data-input-object", SIM, "dtype", K)(_seed_and(raw(_npy_bytes(
    {"descr": "|O", "fortran_order": False, "shape": (2,)}, b"\x00" * 16), "x.npy")))
case("data-input-huge-header", SIM, "x.npy", K)(_seed_and(raw(_npy_bytes(
    {"descr": "<f8", "fortran_order": False, "shape": (1 << 40,)}, b"\x00" * 64), "x.npy")))
case("data-input-truncated", SIM, "x.npy", K)(
    _seed_and(raw(lambda: _npy_bytes({"descr": "<f8", "fortran_order": False,
                                      "shape": (2, 5, 4)}, b"\x00" * 50), "x.npy")))
case("data-input-text", SIM, "x.npy", K)(_seed_and(raw(b"1,2,3\n", "x.npy")))
case("data-input-complex", SIM, "dtype", K)(_seed_and(_save("x.npy", X.astype(complex))))
case("data-input-wrong-shape", SIM, "input", XK)(_seed_and(_save("x.npy", np.zeros((2, 5, 3)))))
case("data-csv-nan", ["simulate", "{d}/m.snn", "--data", "{d}/d.csv"], "d.csv",
     ["m.snn", "d.csv"])(_seed_and(raw(b"label,t,c0,c1,c2,c3\n0,0,nan,1,1,1\n", "d.csv")))
case("data-calib-fifo", ["compile", "{d}/m.snn", "--calib", "{d}/c.npy", "-o", "{d}/out.snn"],
     "c.npy", K, CA)(_seed_and(lambda d: os.mkfifo(d / "c.npy")))
case("data-calib-nan", ["compile", "{d}/m.snn", "--calib", "{d}/c.npy", "-o", "{d}/out.snn"],
     "c.npy", ["m.snn", "c.npy"], CA)(_seed_and(_save("c.npy", X + np.nan)))

# ------------------------------------------------------------------ device strings
for tag, dev in (("dash-host", "ssh://-V"), ("proxycommand", "ssh://-oProxyCommand=x"),
                 ("user-at-dash-host", "ssh://u@-oProxyCommand=x"), ("dash-user", "ssh://-u@h"),
                 ("port-0", "ssh://u@h:0"), ("port-big", "ssh://u@h:70000"),
                 ("port-text", "ssh://u@h:22x"), ("shell", "ssh://u@h;id"),
                 ("path", "ssh://u@h/tmp"), ("newline", "ssh://u@h\nx"),
                 ("zone-id", "ssh://u@[fe80::1%eth0]"), ("bad-ipv4", "ssh://u@999.1.1.1"),
                 ("bidi", "ssh://u@h\u202e"), ("empty-user", "ssh://@h"),
                 ("space", "ssh://u@h x")):
    case(f"device-{tag}", ["flash", "{d}/m.snn", "--target", "rpi", "--device", dev],
         "device", K)(_seed)
case("device-known-hosts-space", ["flash", "{d}/m.snn", "--target", "rpi", "--device",
                                  "ssh://u@h", "--known-hosts", "{d}/k h"], "known_hosts",
     K)(_seed_and(raw(b"", "k h")))

# ------------------------------------------------------------------ output paths
case("out-compile-onto-input", ["compile", "{d}/m.snn", "-o", "{d}/m.snn"], "overwrite", K)(
    _seed)
case("out-compile-onto-input-via-dotdot", ["compile", "{d}/m.snn", "-o", "{d}/sub/../m.snn"],
     "overwrite", K)(_seed_and(lambda d: (d / "sub").mkdir()))
case("out-compile-onto-symlink", ["compile", "{d}/m.snn", "-o", "{d}/link.snn"], "overwrite",
     K)(_seed_and(lambda d: (d / "link.snn").symlink_to(d / "m.snn")))
case("out-compile-directory", ["compile", "{d}/m.snn", "-o", "{d}/o.snn"], "directory", K)(
    _seed_and(lambda d: (d / "o.snn").mkdir()))
case("out-compile-proc", ["compile", "{d}/m.snn", "-o", "/proc/x.snn"], "/proc", K)(_seed)
case("out-compile-sys", ["compile", "{d}/m.snn", "-o", "/sys/x.snn"], "/sys", K)(_seed)
case("out-compile-dev", ["compile", "{d}/m.snn", "-o", "/dev/x.snn"], "/dev", K)(_seed)
case("out-compile-under-file", ["compile", "{d}/m.snn", "-o", "{d}/m.snn/x.snn"],
     "not a directory", K)(_seed)
case("out-compile-build-holds-input", ["compile", "{d}/m.snn", "--target", "host", "-o",
                                       "{d}"], "holds the input", K)(_seed)
case("out-convert-onto-input", ["convert", "{d}/m.snn", "{d}/m.snn"], "overwrite", K)(_seed)
case("out-simulate-onto-model", SIM + ["-o", "{d}/m.snn"], "overwrite", XK)(
    _seed_and(_save("x.npy", X)))
case("out-simulate-onto-input", SIM + ["-o", "{d}/x.npy"], "overwrite", XK)(
    _seed_and(_save("x.npy", X)))
case("out-simulate-directory", SIM + ["-o", "{d}/o.npz"], "directory", XK, usage=True)(
    _seed_and(lambda d: (_save("x.npy", X)(d), (d / "o.npz").mkdir())))
case("out-simulate-report-is-file", ["simulate", "{d}/m.snn", "--data", "{d}/d.npz",
                                     "--report", "{d}/r"], "is a file",
     ["m.snn", "r"], usage=True)(_seed_and(lambda d: (d / "r").write_text("keep")))
case("out-flash-proc", ["flash", "{d}/m.snn", "-o", "/proc/self/x.npz"], "/proc", K)(_seed)
case("out-bench-json-onto-model", ["bench", "{d}/m.snn", "--json", "{d}/m.snn"], "overwrite",
     K)(_seed)


# ------------------------------------------------------------------ the checks


def _digest(p: Path) -> str | None:
    if p.is_symlink() and not p.exists():
        return "dangling"
    if p.is_file():
        return hashlib.sha256(p.read_bytes()).hexdigest()
    return "dir" if p.is_dir() else None


def check_result(c: Case, d: Path, code: int, stderr: str, before: dict[str, Any],
                 seconds: float) -> None:
    assert code != 0, f"{c.id}: exit 0\n{stderr}"
    assert "Traceback" not in stderr, stderr
    if c.usage:
        assert code == 2, (code, stderr)
        err = [line for line in stderr.splitlines() if line.startswith("Error:")]
    else:
        assert code == 1, (code, stderr)
        err = [line for line in stderr.splitlines() if line.startswith("snnc: error:")]
    assert len(err) == 1, f"{c.id}: expected one error line, got\n{stderr}"
    assert all(ch.isprintable() for ch in err[0]), repr(err[0])
    assert c.culprit.lower() in err[0].lower(), f"{c.id}: {c.culprit!r} not in {err[0]!r}"
    for k, v in before.items():
        assert _digest(d / k) == v, f"{c.id}: {k} changed"
    for k in c.absent:
        assert not (d / k).exists(), f"{c.id}: {k} was written"
    leftovers = [p.name for p in d.rglob("*.tmp")]
    assert not leftovers, leftovers
    assert seconds < MAX_SECONDS, f"{c.id}: {seconds:.1f} s"


def _argv(c: Case, d: Path) -> list[str]:
    return [a.replace("{d}", str(d)) for a in c.argv]


def test_catalogue_has_100_cases() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 100, len(CASES)


@pytest.mark.parametrize("c", CASES, ids=lambda c: c.id)
def test_bad_input(c: Case, tmp_path: Path) -> None:
    d = tmp_path / "case"
    d.mkdir()
    c.build(d)
    before = {k: _digest(d / k) for k in c.keep}
    assert all(v is not None for v in before.values()), before
    t = time.perf_counter()
    r = CliRunner().invoke(main, _argv(c, d), catch_exceptions=True)
    seconds = time.perf_counter() - t
    assert r.exception is None or isinstance(r.exception, SystemExit), (
        f"{c.id}: {type(r.exception).__name__}: {r.exception}")
    check_result(c, d, r.exit_code, r.stderr, before, seconds)


# ------------------------------------------------------------------ bombs, in subprocesses

_RUNNER = """
import resource, sys
from snnc.cli import main
try:
    main(sys.argv[2:], prog_name="snnc")
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else 1
else:
    code = 0
# VmHWM is the peak RSS of this process's own address space. getrusage's ru_maxrss would
# also count the parent's address space that the child shared before exec (vfork), i.e.
# the whole pytest process once torch/TVM are loaded by other tests.
hwm = [ln.split()[1] for ln in open("/proc/self/status") if ln.startswith("VmHWM:")]
open(sys.argv[1], "w").write(hwm[0] if hwm else str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(code)
"""


def run_measured(argv: list[str], d: Path) -> tuple[int, str, float, float]:
    """(exit code, stderr, seconds, peak RSS MiB) of ``snnc argv`` in a fresh process."""
    rss = d / "rss.txt"
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _RUNNER, str(rss), *argv], capture_output=True,
                       text=True, timeout=120)
    seconds = time.perf_counter() - t
    return r.returncode, r.stderr, seconds, int(rss.read_text()) / 1024


BOMBS = [
    Case("bomb-outer-90MiB", raw(lambda: _bomb(90 << 20, inner=False)), INSPECT,
         "weights.npz", K),
    Case("bomb-inner-npy-90MiB", raw(lambda: _bomb(90 << 20, inner=True)), INSPECT,
         "exceeds", K),
    Case("bomb-json-nesting", raw(lambda: _zip([("graph.json", b"[" * 1_000_000 +
                                                 b"]" * 1_000_000),
                                                ("weights.npz", _npz(_read()[1]))])),
         INSPECT, "m.snn", K),
    Case("bomb-hdf5-heap", raw(HDF5_HEAP_BOMB.read_bytes(), "m.nir"),
         ["inspect", "{d}/m.nir"], "m.nir", ["m.nir"]),
]


@pytest.mark.parametrize("c", BOMBS, ids=lambda c: c.id)
def test_resource_bomb(c: Case, tmp_path: Path) -> None:
    d = tmp_path / "case"
    d.mkdir()
    c.build(d)
    assert max(p.stat().st_size for p in d.iterdir()) <= 10 << 20  # a small file...
    before = {k: _digest(d / k) for k in c.keep}
    code, err, seconds, rss = run_measured(_argv(c, d), d)
    (d / "rss.txt").unlink()
    check_result(c, d, code, err, before, seconds)
    assert rss < MAX_RSS_MIB, f"{c.id}: peak RSS {rss:.0f} MiB"  # ...stays small


def test_os_error_on_output_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An OSError the checks cannot foresee (full disk, EACCES for a non-root user) is one
    line naming the path, exit 1, and leaves nothing behind."""
    import snnc.compiler.ir.serialize as ser

    (tmp_path / "m.snn").write_bytes(SEED.read_bytes())
    np.save(tmp_path / "x.npy", X)

    def refuse(path: Any, write: Any, mode: str = "wb") -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(ser, "atomic_write", refuse)
    r = CliRunner().invoke(main, ["simulate", str(tmp_path / "m.snn"), "--input",
                                  str(tmp_path / "x.npy"), "-o", str(tmp_path / "o.npz")])
    assert r.exit_code == 1
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    lines = [line for line in r.stderr.splitlines() if line.startswith("snnc: error:")]
    assert lines == [f"snnc: error: {tmp_path / 'o.npz'}: Permission denied"], r.stderr
    assert not (tmp_path / "o.npz").exists()
