"""NIR <-> snnc IR: ``import_nir``, ``export_nir``, ``write_nir``.

NIR (the Neuromorphic Intermediate Representation, ``nir`` package) describes neurons
in continuous time. The snnc IR keeps NIR's continuous parameters (``tau``, ``r``,
``v_leak`` ...) unchanged and records on the graph the step ``dt`` and the
discretization that turns them into per-step decays (:func:`compiler.ir.graph.decay`).
With ``beta = decay(tau)``, the IR LIF ``v[t] = beta v[t-1] + (1-beta)(v_leak + r x[t])``
is NIR's ``tau dv/dt = (v_leak - v) + r I`` under forward Euler (``beta = 1 - dt/tau``)
or under an exact zero-order hold of the input (``beta = exp(-dt/tau)``).

Node mapping (NIR -> IR; export is the inverse)
-----------------------------------------------
Input, Output, Affine, Linear, Conv1d, Conv2d, Flatten, Scale, Threshold, LIF, LI:
    same name, same parameters (arrays keep their dtype and shape).
IF:  NIR ``dv/dt = R I`` is read per step, ``v[t] = v[t-1] + r x[t]`` (no dt factor),
    as Norse, Sinabs and snnTorch read ``nir.IF``.
CubaLIF: the IR current is ``i[t] = alpha i[t-1] + x[t]`` without the synaptic gain that
    the discretized NIR current ``I[t] = alpha I[t-1] + (1-alpha) w_in x[t]`` has; the
    gain is folded into the IR's ``w_in``: ``w_in_ir = w_in_nir * (1 - alpha)`` with
    ``alpha = decay(tau_syn)`` under the chosen dt/discretization (export divides).
Conv ``padding='valid'`` -> 0; ``'same'`` -> symmetric padding (stride 1 only).
Nested NIRGraph nodes are flattened: node ``b`` of subgraph ``a`` becomes ``a.b``; the
subgraph's Input/Output nodes are removed and edges rewired through them. An edge may
name the subgraph itself (``a``: its only Input/Output) or a port (``a.input``).
Delay, SumPool2d, AvgPool2d, CubaLI, I (untagged) and unknown kinds raise one
:class:`UnsupportedError` that lists every offending node.

Reset: NIR resets to ``v_reset`` after a spike, so LIF/CubaLIF/IF import as
``reset='zero'`` with NIR's ``v_reset``; ``reset='subtract'`` overrides. snnTorch's
Leaky with reset_mechanism='zero' is reproduced exactly. Its 'subtract' is
``v = beta v + x - s[t-1] thr`` where the IR has ``v = beta (v - s[t-1] thr) + x``, and
its Synaptic 'zero' also clears the synaptic current; neither is expressible in NIR, so
such models import approximately (docs/nir.md has measured spike agreement).

Batch axis: nirtorch-based exporters (snnTorch) write the sample's batch axis into
Input types, e.g. (1, 784). A leading 1 is dropped from an Input's shape for snnTorch
graphs and wherever the consuming node expects exactly the remaining shape; Output
shapes follow their source node.

Time step and discretization (explicit ``dt=``/``discretization=`` always win):
    snnc-written file    the values recorded by ``export_nir`` (exact round trip)
    snnTorch             dt = 1e-4, euler. Detected from metadata naming snnTorch, or from
                         the parameter pattern its exporter writes: every LIF/CubaLIF has
                         r == tau/1e-4 and v_leak == 0 (CubaLIF also w_in == tau_syn/1e-4).
                         Its Leaky ``v = beta v + x`` is then reproduced exactly
                         (beta = 1 - dt/tau, (1-beta) r = 1).
    Norse                dt = 1e-3, euler (Norse's from_nir default; metadata only)
    Rockpool             exact; dt from metadata 'dt' if present, else 1e-3
    Sinabs               dt = 1 (Sinabs writes tau in time steps), exact
    anything else        dt from metadata 'dt' if it is a positive number, else 1e-3
                         (DESIGN.md §2); discretization from metadata
                         'discretization' if valid, else exact.
The graph's metadata records ``nir_framework`` (the detected source, or None).

Shapes: IR populations need an explicit shape. It comes from the parameter shapes
(arrays with more than one element), else the node's NIR input_type, else its
neighbours (types are propagated forwards and backwards through shape-preserving
nodes, Conv and Flatten), else parameters of one element. Missing input/output types
(snnTorch exports) are thus inferred; scalar parameters stay scalar (0-d).

snnc kinds NIR lacks, and exact round trip
------------------------------------------
DelayedLinear   -> ``nir.Linear(W)`` with metadata ``snnc.kind='DelayedLinear'`` and
                   ``delay`` (int array [out, in], in steps). A plain NIR consumer sees
                   the right weights without the delays.
SpikeCountArgmax-> ``nir.I(r=1)``: a per-step integrator, i.e. the spike count.
MembraneArgmax  -> reduce 'sum': ``nir.I(r=1)``; 'last'/'max': ``nir.Scale(1)`` (the
                   membrane trace; 'max' is lost on a plain consumer). Both carry
                   ``snnc.kind`` (and the reduce mode in ``snnc.attrs``).
NIR requires every neuron parameter to have the population's shape, so export
broadcasts scalars; the original shapes, the IR-only attributes (reset mode, storage,
Input dtype, empty biases, the exact CubaLIF ``w_in``) go into a JSON string
``snnc.attrs`` in the node's metadata, and the graph's name, dt, discretization,
metadata and node order into ``snnc.graph`` in the graph's metadata (``dt`` and
``discretization`` are also written as plain keys for other tools). Import restores
them, so ``import_nir(export_nir(g))`` is ``graphs_equal`` to ``g``, dtypes included.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nir
import numpy as np

from snnc.compiler.errors import FormatError, GraphError, SnncError, UnsupportedError
from snnc.compiler.ir.graph import DISCRETIZATIONS, Graph, decay
from snnc.compiler.ir.names import safe_graph_name
from snnc.compiler.ir.nodes import (
    LI,
    LIF,
    RESET_MODES,
    Affine,
    Conv1d,
    Conv2d,
    CubaLIF,
    DelayedLinear,
    Flatten,
    Input,
    Linear,
    MembraneArgmax,
    Node,
    Output,
    Scale,
    SpikeCountArgmax,
    SumPool2d,
    Threshold,
)
from snnc.compiler.ir.serialize import _jsonable, _unjson
from snnc.compiler.ir.verify import verify

__all__ = ["import_nir", "export_nir", "write_nir", "DEFAULT_DT", "FRAMEWORK_DEFAULTS",
           "FRAMEWORKS", "NirImportWarning"]

DEFAULT_DT = 1e-3
GRAPH_KEY = "snnc.graph"  # JSON: name, dt, discretization, metadata, node order
ATTRS_KEY = "snnc.attrs"  # JSON: per-node IR-only attributes
KIND_KEY = "snnc.kind"  # IR kind carried by a NIR node of another type
FORMAT_TAG = "snnc-nir"
FORMAT_VERSION = 1
SNNTORCH_DT = 1e-4

# framework -> (dt or None = from metadata/default, discretization)
FRAMEWORK_DEFAULTS: dict[str, tuple[float | None, str]] = {
    "snntorch": (SNNTORCH_DT, "euler"),
    "norse": (1e-3, "euler"),
    "rockpool": (None, "exact"),
    "sinabs": (1.0, "exact"),
}

# Values of the ``framework`` option ('nir': plain NIR semantics, no framework convention).
FRAMEWORKS = ("snntorch", "norse", "sinabs", "rockpool", "nir")


class NirImportWarning(UserWarning):
    """A semantic of the source model that the NIR file cannot carry (or that snnc guessed)."""


_SUPPORTED = (
    nir.Input, nir.Output, nir.Affine, nir.Linear, nir.Conv1d, nir.Conv2d, nir.Flatten,
    nir.Scale, nir.Threshold, nir.LIF, nir.CubaLIF, nir.LI, nir.IF, nir.SumPool2d,
    nir.AvgPool2d,
)
_POOLS = (nir.SumPool2d, nir.AvgPool2d)
# NIR carriers allowed for each tagged snnc kind.
_CARRIERS: dict[str, tuple[type, ...]] = {
    "DelayedLinear": (nir.Linear,),
    "SpikeCountArgmax": (nir.I,),
    "MembraneArgmax": (nir.I, nir.Scale),
}
# Nodes whose output shape equals their input shape.
_SAME_SHAPE = (nir.Output, nir.Scale, nir.Threshold, nir.LIF, nir.CubaLIF, nir.LI,
               nir.IF, nir.I)
_NEURON_PARAMS = {
    nir.LIF: ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    nir.CubaLIF: ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    nir.LI: ("tau", "r", "v_leak"),
    nir.IF: ("r", "v_threshold", "v_reset"),
    nir.I: ("r",),
    nir.Scale: ("scale",),
    nir.Threshold: ("threshold",),
}


class _Unknown:
    """Stand-in for a NIR node type the installed ``nir`` package does not know."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        self.metadata: dict[str, Any] = {}
        self.input_type = {"input": None}
        self.output_type = {"output": None}


def _one_line(e: BaseException) -> str:
    return " ".join(f"{type(e).__name__}: {e}".split())


def _kind_name(node: Any) -> str:
    return node.type_name if isinstance(node, _Unknown) else type(node).__name__


# ============================================================================ reading


# A .nir file is untrusted (docs/security.md): its HDF5 tree is walked and bounded before
# nir's hdf2dict reads a byte of data (compressed datasets can inflate enormously, links
# and external storage can point at other files).
MAX_NIR_FILE = 1 << 30      # bytes on disk
MAX_NIR_DATA = 64 << 20     # declared bytes of all datasets (uncompressed)
MAX_NIR_OBJECTS = 100_000   # groups + datasets + attributes
MAX_NIR_DEPTH = 32          # group nesting (nested NIRGraphs)


def _check_hdf5(root: Any, path: Path) -> None:
    """Bound an open HDF5 group before it is read: object count, nesting, dataset sizes
    and kinds; no soft/external links, external or virtual storage."""
    import h5py

    total, count = 0, 0
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        g, depth = stack.pop()
        if depth > MAX_NIR_DEPTH:
            raise FormatError(f"groups nested deeper than {MAX_NIR_DEPTH}", path)
        count += 1 + len(g.attrs)
        for key in g:
            link = g.get(key, getlink=True)
            if not isinstance(link, h5py.HardLink):
                raise FormatError(f"'{g.name}/{key}' is a {type(link).__name__} (only plain "
                                  "groups and datasets are read)", path)
            obj = g[key]
            count += 1
            if count > MAX_NIR_OBJECTS:
                raise FormatError(f"more than {MAX_NIR_OBJECTS} HDF5 objects", path)
            if isinstance(obj, h5py.Group):
                stack.append((obj, depth + 1))
                continue
            if obj.external or obj.is_virtual:
                raise FormatError(f"dataset '{obj.name}' keeps its data outside the file",
                                  path)
            kind = obj.dtype.kind
            if kind not in "biufSO" or (kind == "O" and h5py.check_string_dtype(obj.dtype)
                                        is None):
                raise FormatError(f"dataset '{obj.name}' has unsupported dtype {obj.dtype}",
                                  path)
            # Variable-length strings: count a generous 256 bytes per element.
            total += int(obj.size or 0) * (256 if kind == "O" else obj.dtype.itemsize)
            if total > MAX_NIR_DATA:
                raise FormatError(f"datasets declare more than {MAX_NIR_DATA} bytes", path)


def _read_file(path: Path) -> nir.NIRGraph:
    """Read a .nir (HDF5) file without NIR's type check (types are inferred later).

    Untrusted input: regular file, size and structure bounded (:func:`_check_hdf5`)
    before anything is read; every h5py/nir failure becomes a FormatError naming the file.
    """
    import h5py
    from nir.serialization import hdf2dict

    if not path.exists():
        raise FormatError("no such file", path)
    if path.is_dir():
        raise FormatError("is a directory, not a NIR file", path)
    if not path.is_file():
        raise FormatError("not a regular file (a FIFO, socket or device)", path)
    if path.stat().st_size > MAX_NIR_FILE:
        raise FormatError(f"larger than the limit of {MAX_NIR_FILE} bytes", path)
    from snnc.compiler.untrusted import memory_budget

    try:
        # The HDF5 library sizes some allocations from the file itself (a corrupt heap
        # asked for 4 GiB from 53 KB): cap the address space while it reads.
        with memory_budget(MAX_NIR_DATA * 4), h5py.File(path, "r") as f:
            if "node" not in f or not isinstance(f.get("node", getlink=True), h5py.HardLink) \
                    or not isinstance(f["node"], h5py.Group):
                raise FormatError("not a NIR file (HDF5 without a 'node' group)", path)
            _check_hdf5(f["node"], path)
            data = hdf2dict(f["node"])
    except FormatError:
        raise
    except Exception as e:  # h5py raises OSError/KeyError/ValueError... for bad files
        raise FormatError(f"not a readable NIR (HDF5) file: truncated or corrupt "
                          f"({_one_line(e)})", path) from None
    top = data.get("type") if isinstance(data, dict) else None
    if not isinstance(top, str) or top != "NIRGraph":
        raise FormatError(f"not a NIR graph (top node type {str(top)[:40]!r})", path)
    return _build(data, path, "")


def _build(d: dict[str, Any], path: Path, name: str) -> Any:
    """Rebuild NIR objects from the file's dict, leniently (no type check)."""
    t = d.get("type")
    try:
        if t == "NIRGraph":
            nodes = {str(k): _build(v, path, f"{name}{k}.") for k, v in d["nodes"].items()}
            edges = [(nir.ir.utils.ensure_str(a), nir.ir.utils.ensure_str(b))
                     for a, b in np.asarray(d["edges"]).reshape(-1, 2)]
            return nir.NIRGraph(nodes=nodes, edges=edges, metadata=dict(d.get("metadata", {})),
                                type_check=False)
        if t not in _known_types():
            u = _Unknown(str(t))
            u.metadata = dict(d.get("metadata", {}))
            return u
        try:
            return nir.dict2NIRNode(dict(d))
        except AssertionError:  # NIR's own shape checks: (1,) next to (n,) parameters
            return _lenient_node(d)
    except FormatError:
        raise
    except Exception as e:
        where = f"node '{name.rstrip('.')}'" if name else "graph"
        raise FormatError(f"malformed NIR {where} ({_one_line(e)})", path) from None


def _lenient_node(d: dict[str, Any]) -> Any:
    """A NIR node built without NIR's ``__post_init__`` checks (which reject one-element
    parameters beside per-neuron ones, what exporters write for scalars); snnc
    broadcasts them and checks shapes itself."""
    import dataclasses

    cls = getattr(nir, str(d["type"]))
    node = cls.__new__(cls)
    for f in dataclasses.fields(cls):
        if f.name in d:
            v = d[f.name]
        elif f.default is not dataclasses.MISSING:
            v = f.default
        elif f.default_factory is not dataclasses.MISSING:
            v = f.default_factory()
        else:
            v = None
        setattr(node, f.name, v)
    node.metadata = dict(d.get("metadata", {}) or {})
    node.input_type = {"input": None}
    node.output_type = {"output": None}
    return node


def _known_types() -> set[str]:
    return {c.__name__ for c in (*_SUPPORTED, nir.NIRGraph, nir.Delay, nir.CubaLI, nir.I)}


# ============================================================================ flatten


def _resolve(g: nir.NIRGraph, prefix: str, end: str, as_src: bool,
             ports: dict[str, tuple[list[str], list[str]]], flat: dict[str, Any]) -> str:
    """Full flattened name of an edge endpoint ``end`` of graph ``g``."""
    if end in ports:  # the subgraph itself: its only Output (as source) / Input (as dest)
        ins, outs = ports[end]
        lst = outs if as_src else ins
        if len(lst) != 1:
            raise UnsupportedError(
                f"edge endpoint '{prefix}{end}' is a subgraph with {len(lst)} "
                f"{'outputs' if as_src else 'inputs'}; name the port ('{end}.<port>')")
        return lst[0]
    if end in g.nodes or (prefix + end) in flat:
        return prefix + end
    raise GraphError(f"an edge refers to node '{prefix}{end}', which does not exist")


def _flatten(g: nir.NIRGraph, prefix: str = "") -> tuple[dict[str, Any], list[tuple[str, str]],
                                                      list[str]]:
    """(nodes, edges, pass-through names) with subgraphs inlined under 'name.'."""
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    through: list[str] = []
    ports: dict[str, tuple[list[str], list[str]]] = {}
    for name, node in g.nodes.items():
        full = prefix + str(name)
        if isinstance(node, nir.NIRGraph):
            n2, e2, t2 = _flatten(node, full + ".")
            ins = [f"{full}.{k}" for k, v in node.nodes.items() if isinstance(v, nir.Input)]
            outs = [f"{full}.{k}" for k, v in node.nodes.items() if isinstance(v, nir.Output)]
            ports[str(name)] = (ins, outs)
            clash = sorted(set(n2) & (set(nodes) | {prefix + str(k) for k in g.nodes}))
            if clash:
                raise GraphError(f"flattening subgraph '{full}' gives names that already "
                                 f"exist: {', '.join(clash)}")
            nodes.update(n2)
            edges.extend(e2)
            through.extend(t2 + ins + outs)
        else:
            nodes[full] = node
    for a, b in g.edges:
        edges.append((_resolve(g, prefix, str(a), True, ports, nodes),
                      _resolve(g, prefix, str(b), False, ports, nodes)))
    return nodes, edges, through


def _inline(nodes: dict[str, Any], edges: list[tuple[str, str]],
            through: list[str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Remove subgraph Input/Output nodes, connecting their sources to their targets."""
    for p in through:
        succ = [b for a, b in edges if a == p]
        new: list[tuple[str, str]] = []
        for a, b in edges:
            if b == p:
                new.extend((a, s) for s in succ)
            elif a != p:
                new.append((a, b))
        edges = new
        nodes.pop(p, None)
    return nodes, edges


# ============================================================================ options


def _f64(v: Any) -> np.ndarray:
    return np.asarray(0.0 if v is None else v, dtype=np.float64)


def _neuron_tau(n: Any) -> np.ndarray:
    return _f64(n.tau_mem if isinstance(n, nir.CubaLIF) else n.tau)


def rockpool_dt(tau: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The step Rockpool's exporter used, from its ``r = tau * exp(-dt/tau) / dt``.

    With u = dt/tau this is ``u * exp(u) = 1/r`` (Lambert W); solved by Newton on
    ``ln u + u + ln r = 0`` (monotone), elementwise. NaN where r <= 0.
    """
    tau, r = np.broadcast_arrays(_f64(tau), _f64(r))
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(np.where(r > 0, r, np.nan))
        u = np.where(lr > 0, np.exp(-lr), 1.0)  # u ~ 1/r for large r
        for _ in range(60):
            u = np.clip(u - (np.log(u) + u + lr) / (1.0 / u + 1.0), 1e-300, None)
    return u * tau


def _detect_framework(meta: dict[str, Any], nodes: dict[str, Any]) -> tuple[str | None, str]:
    """(exporting framework, how it was found): metadata text, else parameter patterns.

    Patterns (module docstring): snnTorch r = tau/1e-4; Rockpool r = tau exp(-dt/tau)/dt
    for one dt; Norse r = 1 with every tau below Norse's dt (its exporter writes dt*tau);
    Sinabs r = 1, v_leak = 0 with every tau of at least one step (it writes steps).
    """
    parts = [str(k) for k in meta] + [v.decode(errors="replace") if isinstance(v, bytes)
                                      else v for v in meta.values() if isinstance(v, (str, bytes))]
    text = " ".join(parts).lower()
    for fw in FRAMEWORK_DEFAULTS:
        if fw in text:
            return fw, "metadata"
    neurons = [n for n in nodes.values() if isinstance(n, (nir.LIF, nir.CubaLIF, nir.LI))]
    if not neurons:
        return None, "no neuron with a time constant"

    def all_(pred: Any) -> bool:
        return all(bool(pred(n)) for n in neurons)

    def snntorch(n: Any) -> bool:
        ok = (np.all(_f64(n.v_leak) == 0)
              and np.allclose(_f64(n.r) * SNNTORCH_DT, _neuron_tau(n), rtol=1e-5, atol=0))
        if isinstance(n, nir.CubaLIF):
            ok = ok and np.allclose(_f64(n.w_in) * SNNTORCH_DT, _f64(n.tau_syn), rtol=1e-5,
                                    atol=0)
        return ok and not isinstance(n, nir.LI)

    if all_(snntorch):
        return "snntorch", "parameters (r = tau/1e-4)"
    ones = all_(lambda n: np.all(_f64(n.r) == 1.0))
    taus = [t for n in neurons for t in (_neuron_tau(n).reshape(-1),
                                         *((_f64(n.tau_syn).reshape(-1),)
                                           if isinstance(n, nir.CubaLIF) else ()))]
    tau_all = np.concatenate(taus) if taus else np.zeros(0)
    if not ones:
        dts = np.concatenate([rockpool_dt(_neuron_tau(n), n.r).reshape(-1) for n in neurons])
        # Rockpool steps are round numbers (1e-3, 5e-4 ...): a one-digit mantissa
        # keeps arbitrary r values from matching by accident.
        mant = dts[0] / 10.0 ** np.floor(np.log10(dts[0])) if np.isfinite(dts[0]) and \
            dts[0] > 0 else np.nan
        if np.all(np.isfinite(dts)) and np.allclose(dts, dts[0], rtol=1e-6, atol=0) \
                and abs(mant - round(mant)) < 1e-5 and np.all(_f64(
                    [np.all(_f64(n.v_leak) == 0) for n in neurons])):
            return "rockpool", f"parameters (r = tau exp(-dt/tau)/dt with dt = {dts[0]:.6g} s)"
        return None, "parameters match no framework"
    if tau_all.size and np.all(tau_all > 0) and np.all(tau_all < FRAMEWORK_DEFAULTS["norse"][0]):
        return "norse", "parameters (r = 1, every tau below Norse's dt = 1e-3 s)"
    if (tau_all.size and np.all(tau_all >= 1.0)
            and all_(lambda n: np.all(_f64(n.v_leak) == 0))):
        return "sinabs", "parameters (r = 1, v_leak = 0, tau >= 1: time steps)"
    return None, "parameters match no framework"


def _meta_number(meta: dict[str, Any], key: str) -> float | None:
    v = meta.get(key)
    try:
        f = float(np.asarray(v).reshape(()))
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) and f > 0 else None


def _check_options(dt: float | None, discretization: str | None, reset: str | None,
                   framework: str | None = None) -> None:
    if framework is not None and framework not in FRAMEWORKS:
        raise SnncError(f"option framework must be one of {FRAMEWORKS}, got {framework!r}")
    if dt is not None and not (isinstance(dt, (int, float)) and np.isfinite(dt) and dt > 0):
        raise SnncError(f"option dt must be a positive number of seconds, got {dt!r}")
    if discretization is not None and discretization not in DISCRETIZATIONS:
        raise SnncError(f"option discretization must be one of {DISCRETIZATIONS}, "
                        f"got {discretization!r}")
    if reset is not None and reset not in RESET_MODES:
        raise SnncError(f"option reset must be one of {RESET_MODES}, got {reset!r}")


# ============================================================================ shapes


def _valid_shape(s: Any) -> tuple[int, ...] | None:
    if s is None:
        return None
    a = np.asarray(s).reshape(-1)
    if a.size == 0:
        return None
    return tuple(int(x) for x in a)


def _params_shape(node: Any, big_only: bool) -> tuple[int, ...] | None:
    arrs = [np.asarray(getattr(node, f)) for f in _NEURON_PARAMS.get(type(node), ())
            if getattr(node, f, None) is not None]
    arrs = [a for a in arrs if a.ndim > 0 and (a.size > 1 or not big_only)]
    if not arrs:
        return None
    try:
        return tuple(int(x) for x in np.broadcast_shapes(*(a.shape for a in arrs)))
    except ValueError:
        return None


def _conv_pad(node: Any, name: str) -> tuple[int, ...]:
    """NIR padding (int, tuple, 'valid', 'same') as per-axis ints."""
    nd = np.asarray(node.weight).ndim - 2
    p = node.padding
    if isinstance(p, bytes):
        p = p.decode()
    if isinstance(p, str):
        if p == "valid":
            return (0,) * nd
        k = np.asarray(node.weight).shape[2:]
        dil = np.broadcast_to(np.asarray(node.dilation), (nd,))
        st = np.broadcast_to(np.asarray(node.stride), (nd,))
        tot = [int(d) * (int(kk) - 1) for d, kk in zip(dil, k)]
        if any(int(s) != 1 for s in st) or any(t % 2 for t in tot):
            raise UnsupportedError(f"node '{name}': padding='same' needs stride 1 and "
                                   "symmetric padding (odd effective kernel)")
        return tuple(t // 2 for t in tot)
    return tuple(int(x) for x in np.broadcast_to(np.asarray(p), (nd,)))


def _conv_out(node: Any, name: str, in_shape: tuple[int, ...]) -> tuple[int, ...]:
    w = np.asarray(node.weight)
    nd = w.ndim - 2
    pad = _conv_pad(node, name)
    st = np.broadcast_to(np.asarray(node.stride), (nd,))
    dil = np.broadcast_to(np.asarray(node.dilation), (nd,))
    sp = [(in_shape[1 + i] + 2 * pad[i] - int(dil[i]) * (w.shape[2 + i] - 1) - 1)
          // int(st[i]) + 1 for i in range(nd)]
    return (int(w.shape[0]), *sp)


def _pool_out(node: Any, in_shape: tuple[int, ...]) -> tuple[int, ...]:
    k, st, pad = _pool_geom(node)
    return (in_shape[0], *[(in_shape[1 + i] + 2 * pad[i] - k[i]) // st[i] + 1 for i in range(2)])


def _pool_geom(node: Any) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    k = _ints(node.kernel_size, 2)
    st = _ints(k if node.stride is None else node.stride, 2)
    pad = _ints(0 if node.padding is None else node.padding, 2)
    return k, st, pad  # type: ignore[return-value]


def _flatten_out(s: tuple[int, ...], start: int, end: int) -> tuple[int, ...]:
    a, b = start % len(s), end % len(s)
    return tuple(s[:a]) + (int(np.prod(s[a:b + 1])),) + tuple(s[b + 1:])


def _fixed_in_shape(node: Any) -> tuple[int, ...] | None:
    """The input shape a node's parameters alone fix (weights), if any."""
    if isinstance(node, (nir.Affine, nir.Linear)) and np.asarray(node.weight).ndim == 2:
        return (int(np.asarray(node.weight).shape[1]),)
    if isinstance(node, (nir.Conv1d, nir.Conv2d)) and node.input_shape is not None:
        w = np.asarray(node.weight)
        sp = tuple(int(x) for x in np.asarray(node.input_shape).reshape(-1))
        return (int(w.shape[1]) * int(node.groups), *sp)
    return _params_shape(node, big_only=True) if isinstance(node, _SAME_SHAPE) else None


def _batch_free_inputs(nodes: dict[str, Any], edges: list[tuple[str, str]],
                       framework: str | None) -> dict[str, tuple[int, ...]]:
    """Input shapes with the batch axis of 1 that nirtorch-based exporters leave in.

    snnTorch (via nirtorch) writes the sample's batch axis into Input types, e.g.
    (1, 784); NIR types are batch-free. A leading 1 is dropped for snnTorch graphs,
    and for any graph whose consumer of that Input expects exactly the rest.
    """
    out: dict[str, tuple[int, ...]] = {}
    for n, node in nodes.items():
        if not isinstance(node, nir.Input):
            continue
        s = _valid_shape(node.input_type.get("input"))
        if s is None or len(s) < 2:
            continue
        succ = [_fixed_in_shape(nodes[b]) for a, b in edges if a == n]
        # Exporters that trace a sample write its batch (and time) axes, e.g. Sinabs
        # (T, 10), Rockpool (1, T, 10): keep the trailing shape the consumer expects.
        fits = [x for x in succ if x is not None and len(x) < len(s) and s[-len(x):] == x]
        if fits:
            out[n] = fits[0]
        elif framework == "snntorch" and s[0] == 1:
            out[n] = s[1:]
    return out


def _infer_shapes(nodes: dict[str, Any], edges: list[tuple[str, str]],
                  input_shapes: dict[str, tuple[int, ...]] | None = None,
                  trust_outputs: bool = False) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """(input shape, output shape) of every node; see the module docstring."""
    input_shapes = input_shapes or {}
    ins: dict[str, tuple[int, ...] | None] = {}
    outs: dict[str, tuple[int, ...] | None] = {}

    def set_in(n: str, s: tuple[int, ...]) -> None:
        node = nodes[n]
        ins[n] = s
        if isinstance(node, _SAME_SHAPE):
            outs[n] = s
        elif isinstance(node, (nir.Conv1d, nir.Conv2d)) and len(s) == np.asarray(node.weight).ndim - 1:
            outs[n] = _conv_out(node, n, s)
        elif isinstance(node, nir.Flatten) and len(s) > 0:
            outs[n] = _flatten_out(s, int(node.start_dim), int(node.end_dim))
        elif isinstance(node, _POOLS) and len(s) == 3:
            outs[n] = _pool_out(node, s)

    for n, node in nodes.items():
        ins[n] = outs[n] = None
        if isinstance(node, nir.Input):
            ins[n] = outs[n] = input_shapes.get(n) or _valid_shape(node.input_type.get("input"))
        elif isinstance(node, nir.Output):
            # An Output records its input, so its shape normally comes from its source
            # (below); snnc's own files state it exactly.
            s = _valid_shape(node.output_type.get("output"))
            if trust_outputs and s is not None:
                set_in(n, s)
        elif isinstance(node, (nir.Affine, nir.Linear)):
            w = np.asarray(node.weight)
            if w.ndim != 2:
                raise UnsupportedError(f"node '{n}': weight must be 2-D [out, in], got "
                                       f"shape {w.shape}")
            ins[n], outs[n] = (int(w.shape[1]),), (int(w.shape[0]),)
        elif isinstance(node, (nir.Conv1d, nir.Conv2d)):
            if node.input_shape is not None:
                w = np.asarray(node.weight)
                sp = tuple(int(x) for x in np.asarray(node.input_shape).reshape(-1))
                set_in(n, (int(w.shape[1]) * int(node.groups), *sp))
        elif isinstance(node, nir.Flatten):
            s = _valid_shape(node.input_type.get("input"))
            if s is not None:
                set_in(n, s)
        elif isinstance(node, _SAME_SHAPE):
            s = _params_shape(node, big_only=True)
            if s is None:
                s = _valid_shape((getattr(node, "input_type", None) or {}).get("input"))
                # A one-element type is what exporters derive from (1,)-shaped scalar
                # parameters: the neighbours decide (it is a last resort below).
                if s is not None and int(np.prod(s)) == 1:
                    s = None
            if s is not None:
                set_in(n, s)

    def propagate() -> bool:
        changed = False
        for a, b in edges:
            if outs[a] is not None and ins[b] is None:
                set_in(b, outs[a])  # type: ignore[arg-type]
                changed = True
            if ins[b] is not None and outs[a] is None and isinstance(
                    nodes[a], (*_SAME_SHAPE, nir.Input)):
                set_in(a, ins[b])  # type: ignore[arg-type]
                # Progress only if a shape became known (set_in leaves an Input's output
                # unset): otherwise a file could keep this loop spinning forever.
                changed = changed or outs[a] is not None
        return changed

    while propagate():
        pass
    # Last resorts: an Output's declared type (it may carry a batch axis, so it comes
    # after its source's shape), then one-element parameters.
    for n, node in nodes.items():
        if ins[n] is None and isinstance(node, nir.Output):
            s = _valid_shape(node.output_type.get("output"))
            if s is not None:
                set_in(n, s)
                while propagate():
                    pass
    for n, node in nodes.items():
        if ins[n] is None and isinstance(node, _SAME_SHAPE):
            s = _params_shape(node, big_only=False)
            if s is not None:
                set_in(n, s)
                while propagate():
                    pass
    missing = [n for n in nodes if ins[n] is None or outs[n] is None]
    if missing:
        raise GraphError(
            f"cannot infer the shape of node(s) {', '.join(repr(m) for m in missing)}: no "
            "input_type, no parameter shape and no neighbour with a known shape")
    return {n: (ins[n], outs[n]) for n in nodes}  # type: ignore[misc]


# ============================================================================ nodes in


def _attrs(node: Any, name: str) -> dict[str, Any]:
    raw = (getattr(node, "metadata", None) or {}).get(ATTRS_KEY)
    if raw is None:
        return {}
    try:
        out = _unjson(json.loads(raw))
    except (TypeError, ValueError) as e:
        raise GraphError(f"metadata '{ATTRS_KEY}' is not valid JSON ({_one_line(e)})",
                         name) from None
    if not isinstance(out, dict):
        raise GraphError(f"metadata '{ATTRS_KEY}' must be a JSON object", name)
    return out


def _restore(v: Any, field: str, attrs: dict[str, Any]) -> np.ndarray:
    """The IR array of ``field``: NIR's array, sliced back to its pre-export shape."""
    a = np.asarray(v)
    shape = attrs.get("shapes", {}).get(field)
    if shape is None:
        return a
    shape = tuple(int(s) for s in shape)
    core = shape[max(0, len(shape) - a.ndim):]  # leading 1-axes were squeezed on export
    idx = (0,) * (a.ndim - len(core)) + tuple(slice(0, s) for s in core)
    return np.ascontiguousarray(a[idx]).reshape(shape)


def _ints(v: Any, n: int) -> tuple[int, ...]:
    return tuple(int(x) for x in np.broadcast_to(np.asarray(v), (n,)))


def _to_ir(name: str, node: Any, shp: tuple[tuple[int, ...], tuple[int, ...]],
           ctx: dict[str, Any]) -> Node:
    """One NIR node -> one IR node."""
    attrs = _attrs(node, name)
    kind = (getattr(node, "metadata", None) or {}).get(KIND_KEY)
    s_in, s_out = shp
    reset = ctx["reset"] or attrs.get("reset", "zero")

    def p(field: str) -> np.ndarray:
        return _restore(getattr(node, field), field, attrs)

    if kind is not None:
        if kind not in _CARRIERS or not isinstance(node, _CARRIERS[kind]):
            raise UnsupportedError(f"node '{name}': snnc.kind '{kind}' on a NIR "
                                   f"{_kind_name(node)} is not understood")
        if kind == "DelayedLinear":
            delay = node.metadata.get("delay")
            if delay is None:
                raise GraphError("DelayedLinear carrier has no 'delay' metadata", name)
            return DelayedLinear(weight=np.asarray(node.weight), delay=np.asarray(delay),
                                 storage=attrs.get("storage", "dense"))
        if kind == "SpikeCountArgmax":
            return SpikeCountArgmax(shape=s_in)
        return MembraneArgmax(shape=s_in, reduce=attrs.get("reduce", "sum"))
    if isinstance(node, nir.Input):
        return Input(shape=s_out, dtype=attrs.get("dtype", "real"))
    if isinstance(node, nir.Output):
        return Output(shape=s_in)
    if isinstance(node, nir.Affine):
        return Affine(weight=np.asarray(node.weight), bias=p("bias"),
                      storage=attrs.get("storage", "dense"))
    if isinstance(node, nir.Linear):
        return Linear(weight=np.asarray(node.weight), storage=attrs.get("storage", "dense"))
    if isinstance(node, (nir.Conv1d, nir.Conv2d)):
        nd = 1 if isinstance(node, nir.Conv1d) else 2
        pad = _conv_pad(node, name)
        common = dict(weight=np.asarray(node.weight), groups=int(node.groups), bias=p("bias"))
        if nd == 1:
            return Conv1d(input_shape=int(s_in[1]), stride=_ints(node.stride, 1)[0],
                          padding=pad[0], dilation=_ints(node.dilation, 1)[0], **common)
        return Conv2d(input_shape=(int(s_in[1]), int(s_in[2])), stride=_ints(node.stride, 2),
                      padding=pad, dilation=_ints(node.dilation, 2), **common)
    if isinstance(node, nir.Flatten):
        return Flatten(input_shape=s_in, start_dim=int(node.start_dim),
                       end_dim=int(node.end_dim))
    if isinstance(node, _POOLS):
        if len(s_in) != 3:
            raise GraphError(f"pooling needs a (C, H, W) input, got {s_in}", name)
        k, st, pad = _pool_geom(node)
        if isinstance(node, nir.AvgPool2d):  # 1/(KH*KW) is folded in after import
            ctx["avg_pools"][name] = 1.0 / (k[0] * k[1])
        return SumPool2d(input_shape=s_in, kernel_size=k, stride=st, padding=pad)
    if isinstance(node, nir.Scale):
        return Scale(shape=s_in, scale=p("scale"))
    if isinstance(node, nir.Threshold):
        return Threshold(shape=s_in, threshold=p("threshold"))

    fw, dt, disc = ctx["framework"], ctx["dt"], ctx["discretization"]

    def q(field: str) -> np.ndarray:
        """A neuron parameter: one-element arrays become scalars (they broadcast), a
        missing optional one (Norse/Sinabs write no v_reset) is 0."""
        a = p(field) if getattr(node, field, None) is not None else np.zeros(())
        if ctx["snnc_record"]:  # snnc's own file: shapes as recorded
            return a
        return a.reshape(()) if a.ndim and a.size == 1 else a

    def tau(field: str) -> np.ndarray:
        return q(field) / ctx["tau_div"]  # Norse 1.1 writes dt*tau (module docstring)

    def levels() -> dict[str, np.ndarray]:
        """v_leak, v_threshold, v_reset; Norse starts membranes at v_leak (snnc at 0), so
        its LIFs are read relative to v_leak (u = v - v_leak), which is exact."""
        lk, th, rs = q("v_leak"), q("v_threshold"), q("v_reset")
        if fw == "norse":
            return dict(v_leak=np.zeros(()), v_threshold=th - lk, v_reset=rs - lk)
        return dict(v_leak=lk, v_threshold=th, v_reset=rs)

    from snnc.compiler import ops  # the neuron ops map their own NIR primitive
    nc = SimpleNamespace(q=q, tau=tau, levels=levels, reset=reset, framework=fw, attrs=attrs,
                         timing_as_recorded=ctx["timing_as_recorded"],
                         decay=lambda t: decay(t, dt, disc))
    for op in ops.ops():
        if op.nir_type is not None and op.nir_import is not None and isinstance(
                node, getattr(nir, op.nir_type)):
            return op.nir_import(node, s_in, nc)
    raise UnsupportedError(f"node '{name}': NIR {_kind_name(node)} is not supported")


def _is_supported(node: Any) -> bool:
    kind = (getattr(node, "metadata", None) or {}).get(KIND_KEY)
    if kind is not None:
        return kind in _CARRIERS and isinstance(node, _CARRIERS[kind])
    return isinstance(node, _SUPPORTED)


# ============================================================================ import


def import_nir(src: str | os.PathLike[str] | nir.NIRGraph, *, dt: float | None = None,
               discretization: str | None = None, reset: str | None = None,
               framework: str | None = None) -> Graph:
    """Read a NIR graph (a ``.nir`` file or an in-memory ``nir.NIRGraph``) as an IR Graph.

    ``dt`` (seconds), ``discretization`` ('exact' | 'euler' | 'bitshift') and ``reset``
    ('zero' | 'subtract') override what the file or its source framework implies;
    ``framework`` ('snntorch' | 'norse' | 'sinabs' | 'rockpool' | 'nir') overrides the
    detected source (see the module docstring for the conventions). Semantics the file
    cannot carry are reported as :class:`NirImportWarning` (and listed in the graph's
    metadata ``nir_warnings``). Raises :class:`FormatError` for unreadable files,
    :class:`UnsupportedError` listing every NIR node snnc cannot express, and
    :class:`GraphError` (naming the node) for inconsistent graphs or time constants that
    give per-step decays outside [0, 1]. The result is verified.
    """
    _check_options(dt, discretization, reset, framework)
    path: Path | None = None
    if isinstance(src, nir.NIRGraph):
        g = src
    elif isinstance(src, (str, os.PathLike)):
        path = Path(src)
        g = _read_file(path)
    else:
        raise SnncError(f"import_nir expects a path or a nir.NIRGraph, got {type(src).__name__}")
    try:
        graph = _import_graph(g, path, dt, discretization, reset, framework)
    except FormatError:
        raise
    except SnncError as e:
        if path is None:
            raise
        raise type(e)(f"{path}: {e}") from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError) as e:
        if path is None:  # an in-memory graph: the caller's bug, keep the traceback
            raise
        # A file is untrusted: content no check anticipated is still the file's fault.
        raise FormatError(f"malformed NIR content ({_one_line(e)})", path) from None
    for w in graph.metadata.get("nir_warnings", []):
        warnings.warn(w, NirImportWarning, stacklevel=2)
    return graph


# Semantics each framework's neurons have and NIR cannot carry (warned on import).
_LOST = {
    "sinabs": "Sinabs neurons fire at v >= threshold and, with the default MultiSpike, "
              "emit several spikes per step (floor(v/threshold)); NIR carries neither, so "
              "snnc fires at most one spike per step at v > threshold: models trained with "
              "SingleSpike agree (docs/nir.md); min_v_mem, norm_input and Sinabs LIF's "
              "tau_syn are not exported (ExpLeak is read with its default "
              "norm_input=False, LIF with its default norm_input=True)",
    "rockpool": "Rockpool neurons fire at v >= threshold and emit several spikes per step "
                "(max_spikes_per_dt); NIR carries neither, so snnc fires at most one spike "
                "per step at v > threshold; Rockpool's exporter also drops the neuron "
                "bias, recurrent weights and noise",
    "norse": "Norse's exporter writes no v_reset (read as 0): a model with another "
             "v_reset differs; Norse starts an LI readout at v_leak, snnc at 0 (the "
             "difference decays as beta**t)",
}


def _import_graph(g: nir.NIRGraph, path: Path | None, dt: float | None,
                  discretization: str | None, reset: str | None,
                  framework: str | None = None) -> Graph:
    meta = dict(g.metadata or {})
    nodes, edges, through = _flatten(g)
    bad = [(n, _kind_name(v)) for n, v in nodes.items()
           if n not in through and not _is_supported(v)]
    if bad:
        raise UnsupportedError(
            f"{len(bad)} unsupported NIR node(s): "
            + ", ".join(f"'{n}' ({k})" for n, k in bad)
            + "; snnc imports " + ", ".join(c.__name__ for c in _SUPPORTED)
            + " and nested NIRGraphs")
    nodes, edges = _inline(nodes, edges, through)

    notes: list[str] = []
    eff_reset = reset
    rec = _graph_record(meta)
    tau_div = 1.0
    if rec is not None:
        fw = None
        eff_dt = float(rec["dt"]) if dt is None else float(dt)
        eff_disc = rec["discretization"] if discretization is None else discretization
        name, gmeta = str(rec["name"]), _unjson(rec["metadata"])
        timing_as_recorded = (eff_dt == rec["dt"] and eff_disc == rec["discretization"])
        order = [n for n in rec.get("node_order", []) if n in nodes]
        if len(order) == len(nodes):
            nodes = {n: nodes[n] for n in order}
    else:
        if framework is not None:
            fw, how = (None if framework == "nir" else framework), "option"
        else:
            fw, how = _detect_framework(meta, nodes)
            if fw is not None and how != "metadata":
                notes.append(f"source framework '{fw}' detected from the {how}; pass "
                             "framework= (--framework) to override")
            elif fw is None and reset is None and any(
                    isinstance(v, (nir.IF, nir.LIF, nir.CubaLIF)) for v in nodes.values()):
                notes.append("source framework unknown (no metadata, no telling "
                             f"parameters: {how}): plain NIR semantics (reset to "
                             "v_reset); pass framework= (--framework snntorch|norse|"
                             "sinabs|rockpool) if the file comes from one")
        fw_dt, fw_disc = FRAMEWORK_DEFAULTS.get(fw, (None, None))
        if fw == "rockpool" and fw_dt is None and dt is None and _meta_number(meta, "dt") is None:
            fw_dt = _rockpool_graph_dt(nodes)
        meta_disc = meta.get("discretization")
        if isinstance(meta_disc, bytes):
            meta_disc = meta_disc.decode()
        eff_dt = float(dt if dt is not None else fw_dt if fw_dt is not None
                       else _meta_number(meta, "dt") or DEFAULT_DT)
        eff_disc = (discretization or fw_disc
                    or (meta_disc if meta_disc in DISCRETIZATIONS else "exact"))
        if fw == "norse":
            tau_div = _norse_tau_div(nodes, eff_dt, eff_disc, notes)
        if fw in _LOST and not (fw == "norse" and "snnc.capture" in meta):
            notes.append(_LOST[fw])
        if fw == "sinabs" and reset is None:
            eff_reset = "subtract"  # Sinabs' default MembraneSubtract (not in the file)
            notes.append("Sinabs' exporter does not record reset_fn: imported with Sinabs' "
                         "default MembraneSubtract (reset='subtract'); pass reset='zero' "
                         "(--reset zero) for MembraneReset")
        if fw == "rockpool" and reset is None:
            eff_reset = "subtract"  # Rockpool LIF always subtracts the threshold
        if fw == "snntorch" and reset is None:
            notes.append("snnTorch's exporter does not record reset_mechanism: imported "
                         "with NIR's reset to v_reset (snnTorch 'zero'); a model trained "
                         "with snnTorch's default 'subtract' needs reset='subtract' "
                         "(--reset subtract), which snnc reproduces exactly")
        if fw == "snntorch" and (reset or "zero") == "zero" and any(
                isinstance(v, nir.CubaLIF) for v in nodes.values()):
            notes.append("snnTorch's Synaptic/RSynaptic reset 'zero' also discards the "
                         "step after a spike (mem = 0); NIR cannot carry it, snnc resets "
                         "to v_reset and keeps integrating")
        # A file stem is user text, not a name: map it onto the graph-name policy rather
        # than refuse a file called e.g. "net (copy).nir".
        name = safe_graph_name(path.stem) if path is not None else "model"
        gmeta = {"imported_from": "nir", "nir_framework": fw}
        timing_as_recorded = False
    ctx: dict[str, Any] = {"dt": eff_dt, "discretization": eff_disc, "reset": eff_reset,
                           "timing_as_recorded": timing_as_recorded, "framework": fw,
                           "tau_div": tau_div, "avg_pools": {}, "snnc_record": rec is not None}

    shapes = _infer_shapes(nodes, edges, _batch_free_inputs(nodes, edges, fw),
                           trust_outputs=rec is not None)
    ir_nodes: dict[str, Node] = {}
    for n, node in nodes.items():
        try:
            ir_nodes[n] = _to_ir(n, node, shapes[n], ctx)
        except SnncError:
            raise
        except (TypeError, ValueError, IndexError) as e:
            raise GraphError(f"cannot convert NIR {_kind_name(node)} ({_one_line(e)})",
                             n) from None
    _check_decays(ir_nodes, eff_dt, eff_disc)
    graph = Graph(nodes=ir_nodes, edges=tuple(edges), dt=eff_dt, discretization=eff_disc,
                  name=name, metadata=gmeta)
    if rec is None:
        graph = _fold_avg_pools(graph, ctx["avg_pools"])
        graph = _recurrent_bias_forward(graph, notes)
        if fw == "snntorch" and reset == "subtract":
            graph = snntorch_subtract(graph)
        if notes:
            graph = graph.replace(metadata={**graph.metadata, "nir_warnings": notes})
    return verify(graph)


def _rockpool_graph_dt(nodes: dict[str, Any]) -> float | None:
    for n in nodes.values():
        if isinstance(n, (nir.LIF, nir.CubaLIF, nir.LI)):
            d = rockpool_dt(_neuron_tau(n), n.r).reshape(-1)
            if d.size and np.isfinite(d[0]) and d[0] > 0:
                return float(d[0])
    return None


def _norse_tau_div(nodes: dict[str, Any], dt: float, disc: str, notes: list[str]) -> float:
    """Norse 1.1 writes ``dt / tau_inv = dt*tau``: read tau/dt when that is what it did."""
    taus = [t for n in nodes.values() if isinstance(n, (nir.LIF, nir.CubaLIF, nir.LI))
            for t in ((_f64(n.tau_mem), _f64(n.tau_syn)) if isinstance(n, nir.CubaLIF)
                      else (_f64(n.tau),))]
    if not taus:
        return 1.0
    as_written = [decay(t, dt, disc) for t in taus]
    fixed = [decay(t / dt, dt, disc) for t in taus]
    bad = any(np.any((d < 0) | (d > 1)) for d in as_written)
    if bad and all(np.all((d >= 0) & (d <= 1)) for d in fixed):
        notes.append(f"Norse 1.1's exporter writes tau as dt*tau: read tau = tau_file/dt "
                     f"(dt = {dt:g} s)")
        return dt
    return 1.0


def _check_decays(nodes: dict[str, Node], dt: float, disc: str) -> None:
    """Refuse time constants whose per-step decay is outside [0, 1] (the state would
    oscillate or explode), naming the fix."""
    for n, node in nodes.items():
        fields = tuple(f for f in node.array_fields if f.startswith("tau"))  # neurons
        for f in fields:
            t = np.asarray(getattr(node, f), dtype=np.float64)
            d = decay(t, dt, disc)
            # tau < dt: the step cannot resolve the time constant (and is what a wrong
            # unit looks like, e.g. Norse's dt*tau) even where the decay stays in [0, 1]
            badm = ~((d >= 0) & (d <= 1) & (t >= dt))
            if np.any(badm):
                tb = float(np.min(t[badm])) if t.ndim else float(t)
                db = float(np.min(d[badm])) if d.ndim else float(d)
                raise GraphError(
                    f"{f} = {tb:g} s with dt = {dt:g} s ({disc}) gives a per-step decay "
                    f"of {db:g}: tau < dt or a decay outside [0, 1]; pass the model's "
                    "time step (dt=, --dt) or its source framework (framework=, "
                    "--framework: Norse 1.1 writes dt*tau, Sinabs writes tau in steps)", n)


def _fold_avg_pools(graph: Graph, avg: dict[str, float]) -> Graph:
    """AvgPool2d = SumPool2d x 1/(KH*KW): the factor goes into the weights of the synapse
    the pool feeds (through Flattens) when nothing else feeds or reads that path, else
    into a Scale node after the pool."""
    nodes, edges = dict(graph.nodes), list(graph.edges)
    for pool, f in avg.items():
        cur, target = pool, None
        while target is None:
            succ = graph.successors(cur)
            if len(succ) != 1 or len(graph.predecessors(succ[0])) != 1:
                break
            nxt = graph.nodes[succ[0]]
            if isinstance(nxt, Flatten):
                cur = succ[0]
            elif isinstance(nxt, (Affine, Linear, Conv1d, Conv2d)):
                target = succ[0]
            else:
                break
        if target is not None:
            nodes[target] = nodes[target].replace(weight=np.asarray(nodes[target].weight) * f)
            continue
        sc = f"{pool}.avg"
        new_nodes: dict[str, Node] = {}
        for k, v in nodes.items():
            new_nodes[k] = v
            if k == pool:
                new_nodes[sc] = Scale(shape=tuple(v.shape_out()), scale=np.asarray(f))
        nodes = new_nodes
        edges = [(sc, b) if a == pool else (a, b) for a, b in edges] + [(pool, sc)]
    return graph.replace(nodes=nodes, edges=tuple(edges))


def _recurrent_bias_forward(graph: Graph, notes: list[str]) -> Graph:
    """A recurrent Affine's bias reaches its target from t = 0 in every framework (NIR is
    continuous), but snnc's recurrent edges deliver 0 before the source's first step: the
    bias moves to the target's forward Affine (an RLeaky's input layer)."""
    _, back = graph.schedule()
    nodes = dict(graph.nodes)
    for a, b in back:
        src = nodes[a]
        if not isinstance(src, Affine) or not np.any(np.asarray(src.bias)):
            continue
        fwd = [p for p in graph.predecessors(b) if (p, b) not in back]
        syn = [p for p in fwd if isinstance(nodes[p], (Affine, Linear))
               and graph.successors(p) == [b]]
        if len(syn) != 1:
            notes.append(f"the bias of recurrent '{a}' reaches '{b}' from step 1 only "
                         "(no single forward Affine/Linear to carry it)")
            continue
        f = nodes[syn[0]]
        old = np.asarray(getattr(f, "bias", np.zeros(0)))
        bias = (old if old.size else 0.0) + np.broadcast_to(src.bias, f.shape_out())
        nodes[syn[0]] = Affine(weight=f.weight, bias=np.asarray(bias, dtype=np.float64),
                               storage=f.storage)
        nodes[a] = Linear(weight=src.weight, storage=src.storage)
    return graph.replace(nodes=nodes)


def snntorch_subtract(graph: Graph) -> Graph:
    """Make ``reset='subtract'`` populations follow snnTorch's timing exactly.

    snnTorch: ``m[t] = beta m[t-1] + x[t] - s[t-1] thr`` (the subtracted threshold is not
    decayed); the IR: ``v[t] = beta (v[t-1] - s[t-1] thr) + (1-beta) r x[t]``. A
    recurrent diagonal Linear ``-thr/r`` from each LIF to itself adds the missing
    ``-(1-beta) thr s[t-1]``. A subtract CubaLIF (Synaptic) becomes an LI synaptic
    current (``'<name>.syn'``, unit gain) feeding a LIF (``'<name>'``) with that loop,
    since the loop must bypass the synaptic filter.
    """
    nodes: dict[str, Node] = {}
    edges = list(graph.edges)
    for n, node in graph.items():
        if isinstance(node, CubaLIF) and node.reset == "subtract":
            syn = f"{n}.syn"
            alpha = graph.decay(node.tau_syn)
            nodes[syn] = LI(shape=node.shape, tau=node.tau_syn, r=1.0 / (1.0 - alpha),
                            v_leak=np.zeros(()))
            node = LIF(shape=node.shape, tau=node.tau_mem, r=node.r * node.w_in,
                       v_leak=node.v_leak, v_threshold=node.v_threshold,
                       v_reset=node.v_reset, reset="subtract")
            edges = [(a, syn) if b == n else (a, b) for a, b in edges] + [(syn, n)]
        nodes[n] = node
        if isinstance(node, LIF) and node.reset == "subtract":
            size = int(np.prod(node.shape))
            gain = np.broadcast_to(-np.asarray(node.v_threshold, dtype=np.float64)
                                   / np.asarray(node.r, dtype=np.float64),
                                   tuple(node.shape)).reshape(-1)
            if np.all(graph.decay(node.tau) == 1.0):
                continue  # no leak: both timings agree
            loop = f"{n}.reset"
            shape = tuple(int(v) for v in node.shape)
            per_ch = gain.reshape(shape[0], -1)
            if len(shape) == 1:
                nodes[loop] = Linear(weight=np.diag(gain).reshape(size, size), storage="csc")
            elif len(shape) == 3 and np.all(per_ch == per_ch[:, :1]):
                # a conv population: depthwise 1x1 convolution (a quantizable synapse)
                nodes[loop] = Conv2d(input_shape=shape[1:], groups=shape[0],
                                     weight=per_ch[:, :1].reshape(shape[0], 1, 1, 1))
            else:
                nodes[loop] = Scale(shape=shape, scale=gain.reshape(shape))
            edges += [(n, loop), (loop, n)]
    return graph.replace(nodes=nodes, edges=tuple(edges))


def _graph_record(meta: dict[str, Any]) -> dict[str, Any] | None:
    raw = meta.get(GRAPH_KEY)
    if raw is None:
        return None
    try:
        rec = json.loads(raw)
    except (TypeError, ValueError) as e:
        raise GraphError(f"graph metadata '{GRAPH_KEY}' is not valid JSON ({_one_line(e)})")
    if not isinstance(rec, dict) or rec.get("format") != FORMAT_TAG:
        raise GraphError(f"graph metadata '{GRAPH_KEY}' is not an snnc record")
    if rec.get("version") != FORMAT_VERSION:
        raise GraphError(f"snnc NIR record version {rec.get('version')} is not supported "
                         f"(this snnc reads version {FORMAT_VERSION})")
    return rec


# ============================================================================ export


def _full(v: Any, shape: tuple[int, ...], field: str, attrs: dict[str, Any],
          name: str) -> np.ndarray:
    """``v`` broadcast to ``shape``; its original shape goes into ``attrs`` if different."""
    a = np.asarray(v)
    if a.shape == tuple(shape):
        return a
    b = a
    while b.ndim > len(shape) and b.shape[0] == 1:  # e.g. (1, n) for a population (n,)
        b = b[0]
    try:
        out = np.array(np.broadcast_to(b, shape)) if a.size else np.zeros(shape, a.dtype)
    except ValueError:
        raise GraphError(f"parameter '{field}' of shape {a.shape} does not fit {shape}",
                         name) from None
    attrs.setdefault("shapes", {})[field] = list(a.shape)
    return out


def _meta(attrs: dict[str, Any], **plain: Any) -> dict[str, Any]:
    m = dict(plain)
    if attrs:
        m[ATTRS_KEY] = json.dumps(_jsonable(attrs), sort_keys=True)
    return m


def _export_node(name: str, node: Node, graph: Graph) -> Any:
    attrs: dict[str, Any] = {}
    if "/" in name:
        raise UnsupportedError(f"node '{name}': NIR (HDF5) node names cannot contain '/'")
    if getattr(node, "storage", "dense") != "dense":
        attrs["storage"] = node.storage
    if hasattr(node, "reset") and node.reset != "zero":
        attrs["reset"] = node.reset
    shape = tuple(int(s) for s in getattr(node, "shape", ()) or ())

    def full(field: str) -> np.ndarray:
        return _full(getattr(node, field), shape, field, attrs, name)

    if isinstance(node, Input):
        if node.dtype != "real":
            attrs["dtype"] = node.dtype
        return nir.Input(input_type=np.array(shape, dtype=np.int64), metadata=_meta(attrs))
    if isinstance(node, Output):
        return nir.Output(output_type=np.array(shape, dtype=np.int64), metadata=_meta(attrs))
    if isinstance(node, DelayedLinear):
        return nir.Linear(weight=np.asarray(node.weight), metadata=_meta(
            attrs, **{KIND_KEY: "DelayedLinear", "delay": np.asarray(node.delay)}))
    if isinstance(node, Affine):
        bias = _full(node.bias, (int(node.weight.shape[0]),), "bias", attrs, name)
        return nir.Affine(weight=np.asarray(node.weight), bias=bias, metadata=_meta(attrs))
    if isinstance(node, Linear):
        return nir.Linear(weight=np.asarray(node.weight), metadata=_meta(attrs))
    if isinstance(node, (Conv1d, Conv2d)):
        bias = _full(node.bias, (int(node.weight.shape[0]),), "bias", attrs, name)
        cls = nir.Conv1d if isinstance(node, Conv1d) else nir.Conv2d
        conv = (lambda v: int(v)) if isinstance(node, Conv1d) else (
            lambda v: tuple(int(x) for x in v))
        return cls(input_shape=conv(node.input_shape), weight=np.asarray(node.weight),
                   stride=conv(node.stride), padding=conv(node.padding),
                   dilation=conv(node.dilation), groups=int(node.groups), bias=bias,
                   metadata=_meta(attrs))
    if isinstance(node, Flatten):
        return nir.Flatten(input_type={"input": np.array(node.input_shape, dtype=np.int64)},
                           start_dim=int(node.start_dim), end_dim=int(node.end_dim),
                           metadata=_meta(attrs))
    if isinstance(node, SumPool2d):
        return nir.SumPool2d(kernel_size=np.array(node.kernel_size, dtype=np.int64),
                             stride=np.array(node.stride, dtype=np.int64),
                             padding=np.array(node.padding, dtype=np.int64),
                             metadata=_meta(attrs))
    if isinstance(node, Scale):
        return nir.Scale(scale=full("scale"), metadata=_meta(attrs))
    if isinstance(node, Threshold):
        return nir.Threshold(threshold=full("threshold"), metadata=_meta(attrs))
    if isinstance(node, SpikeCountArgmax):
        return nir.I(r=np.ones(shape), metadata=_meta(attrs, **{KIND_KEY: node.kind}))
    if isinstance(node, MembraneArgmax):
        if node.reduce != "sum":
            attrs["reduce"] = node.reduce
        carrier = (nir.I(r=np.ones(shape)) if node.reduce == "sum"
                   else nir.Scale(scale=np.ones(shape)))
        carrier.metadata = _meta(attrs, **{KIND_KEY: node.kind})
        return carrier
    from snnc.compiler import ops  # the neuron ops map themselves (compiler/ops/<kind>.py)
    op = ops.op_for(node)
    if op is not None and op.nir_export is not None:
        return op.nir_export(node, SimpleNamespace(
            full=full, meta=lambda: _meta(attrs), attrs=attrs, graph=graph, name=name,
            shape=shape))
    raise UnsupportedError(f"node '{name}': IR kind {node.kind} has no NIR mapping")


def export_nir(graph: Graph) -> nir.NIRGraph:
    """The IR graph as a ``nir.NIRGraph`` (see the module docstring for the mapping).

    Raises :class:`UnsupportedError` listing every node kind NIR cannot carry.
    """
    verify(graph)
    out: dict[str, Any] = {}
    errors: list[str] = []
    for name, node in graph.items():
        try:
            out[name] = _export_node(name, node, graph)
        except UnsupportedError as e:
            errors.append(str(e))
    if errors:
        raise UnsupportedError(f"cannot export to NIR: {'; '.join(errors)}")
    record = {
        "format": FORMAT_TAG, "version": FORMAT_VERSION, "name": graph.name,
        "dt": float(graph.dt), "discretization": graph.discretization,
        "metadata": _jsonable(graph.metadata), "node_order": list(graph.nodes),
    }
    try:
        text = json.dumps(record, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise UnsupportedError(f"graph metadata cannot be written to NIR ({_one_line(e)})")
    meta = {GRAPH_KEY: text, "dt": float(graph.dt), "discretization": graph.discretization}
    return nir.NIRGraph(nodes=out, edges=[tuple(e) for e in graph.edges], metadata=meta,
                        type_check=False)


def write_nir(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Export ``graph`` and write it as a ``.nir`` file, atomically (temp file + rename)."""
    path = Path(path)
    ng = export_nir(graph)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        nir.write(tmp, ng)
        umask = os.umask(0)  # mkstemp makes 0600; an exported model gets normal permissions
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except (TypeError, ValueError, OSError) as e:
        Path(tmp).unlink(missing_ok=True)
        raise FormatError(f"cannot write NIR file ({_one_line(e)})", path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
