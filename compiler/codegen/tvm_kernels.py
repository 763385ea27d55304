"""TVM as a kernel generator: the synapse layers of an integer graph as TIR, compiled by
TVM's LLVM backend into objects for each CPU target and linked beside the snnc runtime.

``snnc compile MODEL --target T --kernels tvm -o DIR`` (or :func:`write_build`) writes the
usual build directory (``model.h``, ``model.c``: the generated-code contract of
:mod:`compiler.codegen.c`) plus

- ``tvm_kernels.h`` / ``tvm_kernels.c``: one wrapper per synapse layer with exactly the
  parameters of the runtime kernel it replaces (``snnc_qdense_*``, ``snnc_qcsc_*``,
  ``snnc_qdelay_*``), so ``model.c`` changes by a function name only; the wrapper packs
  the flat tables into DLTensors and calls the TVM kernel through
  ``runtime/tvm/snnc_tvm.c`` (the FFI shim and error hook; no TVM runtime, no heap);
- ``tvm_kernels.<isa>.o`` for every ISA of :data:`ISAS` (x86-64, Cortex-M4F,
  aarch64+NEON), so one build directory links into the in-process library, the MCU
  firmware and the aarch64 Linux binary (each target's build names its ISA);
- ``tvm_kernels.json``: TVM version, LLVM targets, kernels, object hashes.

Kernels (one PrimFunc per layer, shapes and parameters' sharing baked in, all tables
passed by pointer from ``model.c``): dense row-major mat-vec (event-driven over the
columns of the inputs that spiked when the inputs are spikes), event-driven CSC (a zero
input skips its column) and the delay ring (event form of docs/fixed_point.md). The
integer contract: products and sums in int32 when the same bound the C generator uses
proves ``|acc| < 2^31`` (else int64), then ``sat_32``, ``rq`` in int64 (``acc * mult``
needs 62 bits), ``sat_out_bits``. Schedules are written into the TIR by hand per ISA
(:data:`SCHEDULES`): the dense reduction over real-valued inputs vectorized over the
input axis into partial sums on x86/NEON, unrolled on the M4 (no SIMD for 32-bit lanes).

TVM is an optional extra: it is imported inside :func:`build_objects` only; without it
``--kernels tvm`` fails with the install hint.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.codegen import cnames
from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import Flatten, emits_spikes
from snnc.compiler.ir.qnodes import (
    QDelayedLinear,
    QLinear,
    is_quantized,
)
from snnc.compiler.ir.serialize import atomic_write

INSTALL_HINT = "pip install 'snnc[baselines]' (or: pip install apache-tvm)"
SHIM_DIR = Path(__file__).resolve().parents[2] / "runtime" / "tvm"


def host_isa() -> str:
    """The kernel ISA of this machine (a build running in-process here links this one)."""
    return "aarch64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


def _env_checks() -> bool:
    import os

    return os.environ.get("SNNC_TVM_CHECKS", "0") == "1"


# LLVM targets (TVM 0.27 target dicts). No -mcpu=native on the host: the same input must
# give the same bytes on every machine (the host build is then like-for-like with gcc
# -O2's generic x86-64).
ISAS: dict[str, dict[str, Any]] = {
    "x86_64": {"kind": "llvm", "mtriple": "x86_64-linux-gnu"},
    # hard-float ABI tags, as the smartwatch profiles (-mfloat-abi=hard -mfpu=fpv4-sp-d16):
    # ld refuses to mix objects that disagree, even without float arguments.
    "cortex-m4": {"kind": "llvm", "mtriple": "thumbv7em-none-eabihf", "mcpu": "cortex-m4",
                  "mfloat-abi": "hard"},
    "aarch64": {"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mattr": ["+neon"]},
}
# CHECKS: keep TVM's argument checks (type, ndim, dtype, shape, device of every DLTensor,
# reported through TVMFFIErrorSetRaisedFromCStrParts). The C wrappers pass tables whose
# shapes are fixed at generation, so the checks can only fail on a build mismatch; they
# cost flash and instructions per call (docs/codegen.md: L2MU on the M4F, ~4x the flash).
CHECKS = _env_checks()
# SCRATCH: elements of the caller's partial-sum array (>= every ISA's lanes).
SCRATCH = 8
# Dense schedule per ISA (real-valued inputs; spike inputs are event-driven): lanes of the
# partial-sum vector (int32 / int64 accumulators) and unroll of the lane loop. The M4 has
# no 32-bit SIMD: scalar, unrolled 4x.
SCHEDULES: dict[str, dict[str, int]] = {
    "x86_64": {"lanes32": 4, "lanes64": 2, "unroll": 2},
    "aarch64": {"lanes32": 4, "lanes64": 2, "unroll": 2},
    "cortex-m4": {"lanes32": 1, "lanes64": 1, "unroll": 4},
}


def object_name(isa: str) -> str:
    """File name of the kernels' object for ``isa`` inside a build directory."""
    return f"tvm_kernels.{isa}.o"


# ------------------------------------------------------------------ what to build


@dataclass(frozen=True)
class KernelSpec:
    """One synapse layer's kernel: everything its TIR and its C wrapper depend on."""

    node: str
    nid: str          # the node's C identifier fragment in model.c
    kind: str         # dense | csc | delay
    wt: str           # int8 | int16
    xt: str           # int32 | uint8 (spikes)
    n_out: int
    n_in: int
    nnz: int          # stored synapses (csc, delay)
    max_delay: int
    acc: str          # int32 | int64 (accumulator / ring slot)
    bias: bool
    mult_per: bool
    shift_per: bool
    out_bits: int
    mult_const: int | None = None   # shared by the layer: baked into the kernel
    shift_const: int | None = None
    shift_min: int = 0              # the layer's shift range (a narrow one: a 32-bit
    shift_max: int = 0              # requantization tail on the M4, see _finish)

    @property
    def symbol(self) -> str:
        """The PrimFunc's global symbol (the object exports ``__tvm_ffi_<symbol>``)."""
        return f"snnc_tvmk_{self.nid}"

    @property
    def wrapper(self) -> str:
        """The C wrapper model.c calls instead of the runtime kernel."""
        return f"snnc_tvm_{self.nid}"


def _bounds(graph: Graph, preds: dict[str, list[str]]) -> dict[str, int]:
    """max |output| of every node from its kind alone: the C generator's own proof, so
    both pick int32 accumulators for the same layers (one analysis, not two copies)."""
    from snnc.compiler.codegen.c import _value_bounds

    return _value_bounds(graph, preds)


def _is_spike_source(graph: Graph, preds: dict[str, list[str]], n: str) -> bool:
    v = graph.nodes[n]
    if emits_spikes(v):
        return True
    return isinstance(v, Flatten) and len(preds[n]) == 1 and _is_spike_source(
        graph, preds, preds[n][0])


def plan(graph: Graph) -> list[KernelSpec]:
    """The kernels of ``graph``'s synapse layers (schedule order). Pure Python: no TVM."""
    if not is_quantized(graph):
        raise UnsupportedError(f"--kernels tvm: graph '{graph.name}' is not quantized; the "
                               "TVM kernels implement the integer contract (quantize it)")
    ids = cnames.c_idents(graph.nodes)
    preds = {n: [a for a, b in graph.edges if b == n] for n in graph.nodes}
    bounds = _bounds(graph, preds)
    order, _ = graph.schedule()
    specs = []
    for name in order:
        node = graph.nodes[name]
        if type(node) not in (QLinear, QDelayedLinear):
            continue
        w = np.asarray(node.weight)
        n_out, n_in = w.shape
        spikes = len(preds[name]) == 1 and _is_spike_source(graph, preds, preds[name][0])
        xb = sum(bounds[p] for p in preds[name])
        b = np.abs(np.asarray(node.bias, dtype=np.int64))
        tot = np.abs(w.astype(np.int64)).sum(axis=1) * xb + (b if b.size else 0)
        acc = "int32" if (int(tot.max()) if tot.size else 0) < 1 << 31 else "int64"
        delayed = type(node) is QDelayedLinear
        kind = "delay" if delayed else ("dense" if node.storage == "dense" else "csc")
        specs.append(KernelSpec(
            node=name, nid=ids[name], kind=kind,
            wt="int8" if int(node.weight_bits) <= 8 else "int16",
            xt="uint8" if spikes else "int32", n_out=int(n_out), n_in=int(n_in),
            nnz=int(np.count_nonzero(w)), max_delay=int(node.max_delay) if delayed else 0,
            acc=acc, bias=bool(np.asarray(node.bias).size),
            mult_per=np.asarray(node.mult).size != 1,
            shift_per=np.asarray(node.shift).size != 1, out_bits=int(node.out_bits),
            mult_const=(int(np.asarray(node.mult).ravel()[0])
                        if np.asarray(node.mult).size == 1 else None),
            shift_const=(int(np.asarray(node.shift).ravel()[0])
                         if np.asarray(node.shift).size == 1 else None),
            shift_min=int(np.min(node.shift)) if np.asarray(node.shift).size else 0,
            shift_max=int(np.max(node.shift)) if np.asarray(node.shift).size else 0))
    return specs


# ------------------------------------------------------------------ TIR (TVMScript)


def _args(s: KernelSpec) -> list[tuple[str, str, int]]:
    """(name, dtype, length) of the kernel's buffer arguments, in call order."""
    nnz = max(s.nnz, 1)  # an empty layer still has its one-element tables
    a: list[tuple[str, str, int]] = []
    if s.kind == "dense":
        a.append(("w", s.wt, s.n_out * s.n_in))
    else:
        a += [("col_ptr", "int32", s.n_in + 1), ("row", "uint16", nnz), ("w", s.wt, nnz)]
    if s.kind == "delay":
        a.append(("delay", "uint16", nnz))
    a.append(("x", s.xt, s.n_in))
    if s.bias:
        a.append(("bias", "int32", s.n_out))
    # A layer-wide mult/shift is a constant in the kernel (a constant 64-bit shift is a
    # few instructions on the M4; a variable one is a dozen).
    a += [(n, "int32", s.n_out) for n, per in (("mult", s.mult_per), ("shift", s.shift_per))
          if per]
    if s.kind == "csc" and s.acc == "int64":
        a.append(("wide", "int64", s.n_out))
    if s.kind == "delay":
        a += [("ring", s.acc, (s.max_delay + 1) * s.n_out), ("head", "int32", 1)]
    if s.kind == "dense":
        # Partial sums live in the caller's stack frame: a TIR allocation would go through
        # TVMBackendAllocWorkspace (the TVM runtime's heap), which the MCU does not have.
        a.append(("acc", s.acc, SCRATCH))
    a.append(("y", "int32", s.n_out))
    return a


_BYTES = {"int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "int64": 8}
_I64 = 'T.Cast("int64", {})'


def _finish(s: KernelSpec, acc64: str, i: str, ind: str) -> list[str]:
    """TVMScript lines: y[i] = rq(sat_32(acc + bias_i), mult_i, shift_i, out_bits)."""
    hi, lo = (1 << (s.out_bits - 1)) - 1, -(1 << (s.out_bits - 1))
    b = f" + {_I64.format(f'bias[{i}]')}" if s.bias else ""
    m = _I64.format(f"mult[{i}]") if s.mult_per else f"T.int64({s.mult_const})"
    clamp = f"T.Cast(\"int32\", T.max(T.min(r, T.int64({hi})), T.int64({lo})))"
    head = [
        f"{ind}a = T.bind(T.max(T.min({acc64}{b}, T.int64(2147483647)), T.int64(-2147483648)))",
        f"{ind}p = T.bind(a * {m})"]
    if not s.shift_per:
        k = int(s.shift_const or 0)
        r = f"T.shift_right(p + T.int64({1 << (k - 1)}), T.int64({k}))" if k > 0 else "p"
        return head + [f"{ind}r = T.bind({r})", f"{ind}y[{i}] = {clamp}"]
    if 1 <= s.shift_min and s.shift_max - s.shift_min <= 14 and s.out_bits <= 16:
        # A variable 64-bit shift is a dozen instructions on a 32-bit core. Exact rewrite:
        # rshift_round(p, sh) = ((p >> (sh-1)) + 1) >> 1, and p >> (sh-1) = t >> d with
        # t = p >> c (c = shift_min - 1, a constant shift) and d = sh - 1 - c in [0, 14];
        # clamping t to [(2lo-1) << d, ((2hi+1) << d) - 1] first leaves the saturated
        # result unchanged and makes t fit int32, so the rest is 32-bit arithmetic.
        c = s.shift_min - 1
        return head + [
            f"{ind}d = T.bind(shift[{i}] - {c + 1})",
            f"{ind}t = T.bind(T.shift_right(p, T.int64({c})))",
            f"{ind}tlo = T.bind(T.Cast(\"int64\", T.shift_left(T.int32({2 * lo - 1}), d)))",
            f"{ind}thi = T.bind(T.Cast(\"int64\", T.shift_left(T.int32({2 * hi + 1}), d)"
            " - 1))",
            f"{ind}u = T.bind(T.Cast(\"int32\", T.max(T.min(t, thi), tlo)))",
            f"{ind}y[{i}] = T.shift_right(T.shift_right(u, d) + 1, 1)"]
    sh = _I64.format(f"shift[{i}]")
    return head + [
        f"{ind}sh = T.bind({sh})",
        # round half up; the max() keeps the shift amount legal on the untaken side
        f"{ind}r = T.bind(T.if_then_else(sh > T.int64(0), T.shift_right(p + T.shift_left("
        f"T.int64(1), T.max(sh - T.int64(1), T.int64(0))), sh), p))",
        f"{ind}y[{i}] = T.Cast(\"int32\", T.max(T.min(r, T.int64({hi})), T.int64({lo})))",
    ]


def _dense_events_body(s: KernelSpec) -> list[str]:
    """Dense weights, spike inputs: only the columns of inputs that spiked are read (the
    accumulators are the int32 outputs, proven not to overflow)."""
    L = [f"    for i in range({s.n_out}):", "        y[i] = T.int32(0)",
         f"    for j in range({s.n_in}):",
         "        if T.Cast(\"int32\", x[j]) != 0:  # event-driven: no spike, no work",
         "            xj = T.bind(T.Cast(\"int32\", x[j]))",
         f"            for i in range({s.n_out}):",
         f"                y[i] = y[i] + T.Cast(\"int32\", w[i * {s.n_in} + j]) * xj",
         f"    for i in range({s.n_out}):"]
    return L + _finish(s, _I64.format("y[i]"), "i", "        ")


def _dense_body(s: KernelSpec, isa: str) -> list[str]:
    if s.xt == "uint8" and s.acc == "int32":
        return _dense_events_body(s)
    sch = SCHEDULES[isa]
    lanes = sch["lanes32"] if s.acc == "int32" else sch["lanes64"]
    unroll = sch["unroll"]
    a = s.acc
    step = lanes * unroll
    main = s.n_in // step * step
    lane_loop = "T.vectorized" if lanes > 1 else "T.serial"
    L = [f"    for i in range({s.n_out}):",
         f"        for l in {lane_loop}({lanes}):",
         f"            acc[l] = T.{a}(0)"]
    if main:
        j = f"(jo * {unroll} + u) * {lanes} + l"
        L += [f"        for jo in range({main // step}):",
              f"            for u in T.unroll({unroll}):",
              f"                for l in {lane_loop}({lanes}):",
              f"                    acc[l] = acc[l] + T.Cast(\"{a}\", w[i * {s.n_in} + {j}])"
              f" * T.Cast(\"{a}\", x[{j}])"]
    if main < s.n_in:
        L += [f"        for j in range({main}, {s.n_in}):",
              f"            acc[0] = acc[0] + T.Cast(\"{a}\", w[i * {s.n_in} + j])"
              f" * T.Cast(\"{a}\", x[j])"]
    total = " + ".join(_I64.format(f"acc[{k}]") for k in range(lanes))
    L.append(f"        s = T.bind({total})")
    return L + _finish(s, "s", "i", "        ")


def _scatter(s: KernelSpec, target: str) -> list[str]:
    a = s.acc
    return [f"    for j in range({s.n_in}):",
            "        if T.Cast(\"int32\", x[j]) != 0:  # event-driven: no input, no work",
            f"            xj = T.bind(T.Cast(\"{a}\", x[j]))",
            "            for k in T.serial(col_ptr[j], col_ptr[j + 1]):",
            f"                {target} = {target} + T.Cast(\"{a}\", w[k]) * xj"]


def _csc_body(s: KernelSpec) -> list[str]:
    acc = "y" if s.acc == "int32" else "wide"  # int32 proven: y is the accumulator (as C)
    L = [f"    for i in range({s.n_out}):", f"        {acc}[i] = T.{s.acc}(0)"]
    L += _scatter(s, f"{acc}[T.Cast(\"int32\", row[k])]")
    L += [f"    for i in range({s.n_out}):"]
    return L + _finish(s, _I64.format(f"{acc}[i]"), "i", "        ")


def _delay_body(s: KernelSpec) -> list[str]:
    slots = s.max_delay + 1
    slot = f"T.truncmod(h + T.Cast(\"int32\", delay[k]), {slots})"
    L = ["    h = T.bind(head[0])"]
    L += _scatter(s, f"ring[{slot} * {s.n_out} + T.Cast(\"int32\", row[k])]")
    L += [f"    for i in range({s.n_out}):"]
    L += _finish(s, _I64.format(f"ring[h * {s.n_out} + i]"), "i", "        ")
    L += [f"        ring[h * {s.n_out} + i] = T.{s.acc}(0)",
          f"    head[0] = T.truncmod(h + 1, {slots})"]
    return L


def tvmscript(s: KernelSpec, isa: str) -> str:
    """The kernel of ``s`` for ``isa`` as TVMScript (a TIR PrimFunc)."""
    if isa not in SCHEDULES:
        raise SnncError(f"unknown TVM kernel ISA '{isa}' (available: {', '.join(ISAS)})")
    args = _args(s)
    sig = ", ".join(f"{n}_h: T.handle" for n, _, _ in args)
    lines = ["# from tvm.script import tirx as T", "@T.prim_func",
             f"def {s.symbol}({sig}):",
             f"    T.func_attr({{\"global_symbol\": \"{s.symbol}\", \"tirx.noalias\": True}})"]
    # align = element size: the tables are plain C arrays (TVM assumes 64 B otherwise).
    for n, dt, length in args:
        align = _BYTES[dt]
        lines.append(f"    {n} = T.match_buffer({n}_h, ({length},), \"{dt}\", align={align})")
    body = {"dense": lambda: _dense_body(s, isa), "csc": lambda: _csc_body(s),
            "delay": lambda: _delay_body(s)}[s.kind]()
    return "\n".join(lines + body) + "\n"


# ------------------------------------------------------------------ TVM build


def _tvm() -> Any:
    try:
        import tvm
        from tvm.script import tirx  # noqa: F401  (registers the TVMScript dialect)
    except ImportError as e:
        raise UnsupportedError(f"--kernels tvm needs TVM ({e}); {INSTALL_HINT}") from None
    return tvm


def tvm_version() -> str:
    """The installed TVM's version (imports TVM)."""
    return str(_tvm().__version__)


def build_objects(specs: list[KernelSpec], out_dir: str | Path,
                  isas: tuple[str, ...] = tuple(ISAS), checks: bool = CHECKS
                  ) -> dict[str, dict[str, Any]]:
    """Compile every kernel for each ISA into ``out_dir/tvm_kernels.<isa>.o`` (one
    object per ISA, one IRModule of all the model's kernels); returns per ISA the LLVM
    target, object name and SHA-256."""
    tvm = _tvm()
    funcs = {}
    out: dict[str, dict[str, Any]] = {}
    d = Path(out_dir)
    for isa in isas:
        if isa not in ISAS:
            raise SnncError(f"unknown TVM kernel ISA '{isa}' (available: {', '.join(ISAS)})")
        for s in specs:
            funcs[s.symbol] = tvm.script.from_source(tvmscript(s, isa))
        mod = tvm.IRModule(funcs)
        print(f"snnc: TVM {tvm.__version__}: {len(specs)} kernels -> {object_name(isa)}",
              file=sys.stderr)
        try:
            with tvm.transform.PassContext(config={"tirx.disable_assert": not checks}):
                lib = tvm.compile(mod, target=tvm.target.Target(ISAS[isa]))
        except Exception as e:  # TVM raises its own error types; keep one line
            raise SnncError(f"TVM could not compile the kernels for {isa}: "
                            f"{str(e).strip().splitlines()[-1]}") from None
        obj = d / object_name(isa)
        tmp = d / f".{object_name(isa)}.tmp.o"
        lib.mod.write_to_file(str(tmp))
        tmp.replace(obj)
        out[isa] = {"llvm_target": ISAS[isa], "object": obj.name,
                    "sha256": hashlib.sha256(obj.read_bytes()).hexdigest()}
    return out


# ------------------------------------------------------------------ C wrappers


_CT = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
       "uint8": "snnc_spike_t", "uint16": "uint16_t"}


def runtime_kernel(s: KernelSpec) -> str:
    """The runtime kernel the C generator calls for this layer (same parameters)."""
    suf = "i8" if s.wt == "int8" else "i16"
    sp = "_s" if s.xt == "uint8" else ""
    if s.kind == "dense":
        return f"snnc_qdense_{suf}{sp}"
    if s.kind == "csc":
        return f"snnc_qcsc_{suf}{sp}"
    return f"snnc_qdelay_{suf}_{'r32' if s.acc == 'int32' else 'r64'}{sp}"


def _prototype(s: KernelSpec) -> str:
    w, x = _CT[s.wt], _CT[s.xt]
    head = f"int {s.wrapper}(const snnc_qsyn_t *p, "
    if s.kind == "dense":
        params = f"const {w} *w, const {x} *x, int32_t *y"
    elif s.kind == "csc":
        params = (f"const int32_t *col_ptr, const uint16_t *row, const {w} *w, "
                  f"const {x} *x, int64_t *wide, int32_t *y")
    else:
        params = (f"const int32_t *col_ptr, const uint16_t *row, const {w} *w, "
                  f"const uint16_t *delay, int32_t max_delay, const {x} *x, "
                  f"{_CT[s.acc]} *ring, int32_t *head, int32_t *y")
    return head + params + ")"


def _wrapper(s: KernelSpec) -> str:
    args = _args(s)
    src = {"bias": "p->bias", "mult": "p->mult.v", "shift": "p->shift.v"}
    rows = []
    for n, dt, length in args:
        code = "SNNC_TVM_UINT" if dt.startswith("u") else "SNNC_TVM_INT"
        bits = 8 * _BYTES[dt]
        rows.append(f"            {{{src.get(n, n)}, {length}, {code}, {bits}}},")
    checks = ["    if (!p || p->n_out != %d || p->n_in != %d) return SNNC_ERR_ARG;"
              % (s.n_out, s.n_in)]
    decl = (f"        {_CT[s.acc]} acc[{SCRATCH}]; /* partial sums (the kernel's lanes) */\n"
            if s.kind == "dense" else "")
    unused = ["wide"] if s.kind == "csc" and s.acc == "int32" else []
    if s.kind == "delay":
        checks.append(f"    if (max_delay != {s.max_delay} || *head < 0 || *head > "
                      f"{s.max_delay}) return SNNC_ERR_ARG;")
    if s.kind == "csc" and s.acc == "int64":
        checks.append("    if (!wide) return SNNC_ERR_NULL;")
    return ("/* " + cnames.c_comment(f"{s.node}:") + f" {s.kind} {s.wt} x {s.xt}, {s.n_out}x{s.n_in}"
            + (f", {s.nnz} synapses" if s.kind != "dense" else "")
            + (f", max delay {s.max_delay}" if s.kind == "delay" else "")
            + f", {s.acc} accumulators; replaces {runtime_kernel(s)} */\n"
            + f"{_prototype(s)}\n{{\n"
            + "".join(f"    (void){u};\n" for u in unused)
            + "\n".join(checks) + "\n"
            + f"    {{\n{decl}        const snnc_tvm_arg_t a[{len(args)}] = {{\n"
            + "\n".join(rows) + "\n        };\n"
            + f"        return snnc_tvm_call((snnc_tvm_fn_t)__tvm_ffi_{s.symbol}, a, "
            + f"{len(args)});\n    }}\n}}\n")


def emit_wrappers(graph: Graph, specs: list[KernelSpec]) -> tuple[str, str]:
    """``tvm_kernels.h`` and ``tvm_kernels.c`` for ``specs`` (deterministic text)."""
    guard = "SNNC_TVM_KERNELS_H"
    h = ["/* " + cnames.c_comment(f"TVM kernels of model {graph.name} (--kernels tvm).")
         + " Generated by snnc: compiler/codegen/tvm_kernels.py. Each wrapper takes the"
         " parameters of the runtime kernel it replaces. */",
         f"#ifndef {guard}", f"#define {guard}", "", "#include <stdint.h>", "",
         '#include "snnc/synapse.h"', ""]
    h += [f"{_prototype(s)};" for s in specs]
    h += ["", f"#endif /* {guard} */", ""]
    c = ["/* Wrappers: flat tables -> DLTensor arguments of the TVM kernels (see",
         " * runtime/tvm/snnc_tvm.h). Generated by snnc: compiler/codegen/tvm_kernels.py. */",
         '#include "tvm_kernels.h"', "", '#include "snnc/types.h"', '#include "snnc_tvm.h"',
         "", "/* Exported by tvm_kernels.<isa>.o (the tvm-ffi safe-call convention). */"]
    c += [f"int __tvm_ffi_{s.symbol}(void *self, const void *args, int32_t n_args, "
          "void *result);" for s in specs]
    c.append("")
    c += [_wrapper(s) for s in specs]
    return "\n".join(h), "\n".join(c).replace(" \n", "\n")


# ------------------------------------------------------------------ build directory


def write_kernels(graph: Graph, out_dir: str | Path,
                  isas: tuple[str, ...] = tuple(ISAS)) -> dict[str, str]:
    """Write the wrappers, the objects and ``tvm_kernels.json`` into ``out_dir``; returns
    node -> wrapper name (what the C generator's external-kernel hook takes)."""
    specs = plan(graph)
    _tvm()  # fail with the install hint before writing anything
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    objs = build_objects(specs, d, isas)
    header, source = emit_wrappers(graph, specs)
    atomic_write(d / "tvm_kernels.h", lambda f: f.write(header), mode="w")
    atomic_write(d / "tvm_kernels.c", lambda f: f.write(source), mode="w")
    man = {"format": "snnc-tvm-kernels", "version": 1, "tvm_version": tvm_version(),
           "targets": objs, "schedules": {k: SCHEDULES[k] for k in isas},
           "argument_checks": CHECKS,
           "kernels": [asdict(s) for s in specs]}
    atomic_write(d / "tvm_kernels.json",
                 lambda f: f.write(json.dumps(man, indent=1, sort_keys=True) + "\n"), mode="w")
    return {s.node: s.wrapper for s in specs}


def write_build(graph: Graph, out_dir: str | Path, memory: dict[str, int] | None = None,
                isas: tuple[str, ...] = tuple(ISAS)) -> Any:
    """The ``--kernels tvm`` emitter: model.h/model.c calling the TVM kernels, the kernel
    objects for ``isas`` (default: every ISA), and model.snn. Returns the CModel."""
    from snnc.compiler.codegen.c import emit_c
    from snnc.compiler.ir.serialize import save

    # Generate the C first: an unsupported graph fails before any file is written.
    model = emit_c(graph, memory=memory, kernels={s.node: s.wrapper for s in plan(graph)})
    write_kernels(graph, out_dir, isas)
    model.write(out_dir)
    save(graph, Path(out_dir) / "model.snn")
    return model


def require_tvm() -> None:
    """Raise UnsupportedError with the install hint if TVM cannot be imported."""
    _tvm()


def add_to_build(graph: Graph, out_dir: str | Path,
                 memory: dict[str, int] | None = None) -> list[str]:
    """Turn a build directory written by a C target's emitter into a ``--kernels tvm``
    build: regenerate model.c with the TVM kernel calls, write the kernels, and record
    them (TVM version, LLVM targets, object hashes) in ``manifest.json``. Returns the
    files added."""
    d = Path(out_dir)
    write_build(graph, d, memory)
    added = ["tvm_kernels.h", "tvm_kernels.c", "tvm_kernels.json",
             *(object_name(i) for i in ISAS)]
    mp = d / "manifest.json"
    if mp.exists():
        man = json.loads(mp.read_text())
        tk = json.loads((d / "tvm_kernels.json").read_text())
        man["files"] = list(man.get("files", [])) + [f for f in added
                                                       if f not in man.get("files", [])]
        man["kernels"] = "tvm"
        man["tvm"] = {"version": tk["tvm_version"],
                      "targets": {k: v["llvm_target"] for k, v in tk["targets"].items()}}
        atomic_write(mp, lambda f: f.write(json.dumps(man, indent=1) + "\n"), mode="w")
    return added


def manifest(build_dir: str | Path) -> dict[str, Any] | None:
    """``tvm_kernels.json`` of a build directory, or None for a ``--kernels snnc`` build."""
    p = Path(build_dir) / "tvm_kernels.json"
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except ValueError as e:
        raise SnncError(f"{p}: unreadable TVM kernel manifest ({e})") from None


def link_inputs(build_dir: str | Path, isa: str) -> tuple[list[Path], list[Path], list[Path]]:
    """What a build of ``build_dir`` for ``isa`` adds: (C sources, objects, include dirs);
    empty lists for a ``--kernels snnc`` build. Raises SnncError if the build directory
    has no object for ``isa``."""
    bd = Path(build_dir)
    man = manifest(bd)
    if man is None:
        return [], [], []
    if isa not in man.get("targets", {}):
        raise SnncError(f"{bd}: the TVM kernels were not built for {isa} (have: "
                        f"{', '.join(sorted(man.get('targets', {})))}); recompile with "
                        "--kernels tvm")
    obj = bd / object_name(isa)
    if not obj.exists():
        raise SnncError(f"{obj}: missing TVM kernel object; recompile with --kernels tvm")
    return [bd / "tvm_kernels.c", SHIM_DIR / "snnc_tvm.c"], [obj], [SHIM_DIR]
