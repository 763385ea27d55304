"""Vitis-HLS-style C++ kernel generator: a quantized graph -> one kernel call per timestep.

Files of an HLS build (``emit_hls(graph, ...).write(DIR)``):

- ``kernel.h``: the kernel's interface: ``snnc_kernel(x, y, reset)`` plus the
  generated-code contract every snnc harness reads (``SNNC_MODEL_NAME``, ``SNNC_N_INPUTS``,
  ``SNNC_N_OUTPUTS``, ``snnc_input_t``, ``snnc_output_t``, ``SNNC_MODEL_STATE_T`` /
  ``_INIT`` / ``_RESET`` / ``_STEP``), so the C-simulation testbench and the A53 host use
  the same input files and output protocol as the other targets.
- ``kernel.cpp``: weights and parameters as named ``static const`` tables, the model
  state as named ``static`` arrays (HLS keeps them in BRAM/registers between calls), and
  the top function: AXI4-Lite interfaces, array partitioning sized by the parallelism,
  one library call per node in schedule order.
- ``snnc_hls.h``: the kernel library (templates per node kind, ``#pragma HLS``).
- ``tb.cpp``, ``host.cpp``, ``snnc_io.h``: the csim testbench (self-checking against
  golden outputs from the integer simulator) and the A53 host program (UIO register
  access on a board, the software kernel with ``-DHOST_SIM``).
- ``run_hls.tcl``: the Vitis HLS project script (csim, csynth, cosim, export).

Arithmetic is the integer contract (docs/fixed_point.md), bit-exact to
:mod:`compiler.ir.interpret_int`. Parallelism: a synapse layer with ``N_IN * N_OUT``
weights gets :func:`layer_units` MAC units for a reuse factor ``R`` (hls4ml's meaning).

State and recurrence: every node's output buffer is a ``static`` array; nodes run in
schedule order, so a node that reads a source later in the schedule (a recurrent edge)
reads that source's buffer before it is overwritten: the value of step t-1, as in the
simulators. ``reset`` clears every state and buffer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from snnc.compiler import __version__, ops
from snnc.compiler.codegen import cgen, cnames
from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import (
    SPIKE,
    Flatten,
    MembraneArgmax,
    Node,
    Output,
    SpikeCountArgmax,
    SumPool2d,
    emits_spikes,
)
from snnc.compiler.ir.qnodes import (
    QConv,
    QDelayedLinear,
    QInput,
    QLinear,
    QThreshold,
    is_quantized,
)
from snnc.compiler.ir.serialize import atomic_write, graph_hash
from snnc.compiler.ir.verify import verify
from snnc.compiler.passes.plan import MemoryPlan, Planner, check_state

TEMPLATES = Path(__file__).parent / "templates" / "hls"
STATIC_FILES = ("snnc_hls.h", "snnc_io.h", "tb.cpp", "host.cpp")
TOP = "snnc_kernel"
_BYTES = {"uint8_t": 1, "int8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "int64_t": 8}


def layer_units(n_in: int, n_out: int, reuse: int) -> int:
    """MAC units of an ``n_out x n_in`` synapse layer at reuse factor ``reuse``:
    ``clip(ceil(n_in * n_out / reuse), 1, n_in * n_out)``; each unit is used ``reuse``
    times per kernel call (the last round may be partial). The estimator
    (targets/mpsoc/estimate.py) sizes the hardware with this same function.
    """
    if isinstance(reuse, bool) or not isinstance(reuse, (int, np.integer)) or reuse < 1:
        raise SnncError(f"option 'reuse' must be a positive integer, got {reuse!r}")
    n = int(n_in) * int(n_out)
    if n < 1:
        return 1
    return max(1, min(n, -(-n // int(reuse))))


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape)) if len(shape) else 1


def _bits_type(bits: int) -> str:
    """The smallest standard signed type holding ``bits`` (int4 weights live in int8)."""
    return next(t for b, t in ((8, "int8_t"), (16, "int16_t"), (32, "int32_t"), (64, "int64_t"))
                if int(bits) <= b)


@dataclass
class HlsModel:
    """The generated HLS sources plus what the target needs to know about them."""

    name: str
    files: dict[str, str]          # file name -> text (generated files only)
    n_inputs: int
    n_outputs: int
    input_ctype: str
    output_ctype: str
    reuse: int
    units: dict[str, int]          # synapse node -> MAC units
    rom_bytes: int                 # const tables
    state_bytes: int               # static state and buffers (the memory plan's RAM)
    plan: MemoryPlan | None = None  # the one memory plan (compiler/passes/plan.py)

    def write(self, out_dir: str | Path) -> Path:
        """Write the generated and the static files into ``out_dir`` (atomically each)."""
        d = Path(out_dir)
        d.mkdir(parents=True, exist_ok=True)
        for name, text in self.files.items():
            atomic_write(d / name, lambda f, t=text: f.write(t), mode="w")
        for name in STATIC_FILES:
            src = (TEMPLATES / name).read_text()
            atomic_write(d / name, lambda f, t=src: f.write(t), mode="w")
        return d


@dataclass
class _Ctx:
    graph: Graph
    ids: dict[str, str]
    preds: dict[str, list[str]]
    btype: dict[str, str]
    reuse: int
    tables: list[str] = field(default_factory=list)
    statics: list[str] = field(default_factory=list)
    clears: list[str] = field(default_factory=list)
    pragmas: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    units: dict[str, int] = field(default_factory=dict)
    partition: dict[tuple[str, int], int] = field(default_factory=dict)  # (array, dim) -> factor
    rom: int = 0
    ram: int = 0
    # Every static is reserved through the memory plan (compiler/passes/plan.py).
    planner: Planner = field(default_factory=lambda: Planner("hls"))
    cur: str | None = None                                # node being lowered (owner)
    includes: list[str] = field(default_factory=list)  # templates/hls headers of registered ops

    def table(self, ctype: str, name: str, values: np.ndarray, comment: str = "") -> str:
        vals = np.asarray(values).ravel()
        self.tables.append(cgen.array(ctype, name, vals, comment=cnames.c_comment(comment)))
        self.rom += max(vals.size, 1) * _BYTES[ctype]
        return name

    def param(self, node: str, fld: str, value: np.ndarray, n: int, ctype: str = "int32_t"
              ) -> str:
        """A per-element parameter table (0-d values are expanded: one entry per element)."""
        a = np.asarray(value)  # 0-d or any 1-element shape: one value for every element
        v = np.broadcast_to(a.reshape(-1), (n,)) if a.size == 1 else a.reshape(-1)
        if v.size != n:
            raise SnncError(f"internal: {node}.{fld} has {v.size} values, expected {n}")
        return self.table(ctype, f"{self.ids[node]}_{fld}", v)

    def static(self, ctype: str, name: str, dims: tuple[int, ...], comment: str, *,
               role: str = "state", node: str | None = None) -> str:
        cgen.identifier(name)
        n_el = int(np.prod(dims)) if dims else None
        self.planner.member(name, ctype, n_el, role=role, node=node or self.cur,
                            comment=comment)
        shape = "".join(f"[{d}]" for d in dims)
        self.statics.append(f"static {ctype} {name}{shape}; /* {cnames.c_comment(comment)} */")
        n = int(np.prod(dims)) if dims else 1
        if dims:
            first = name + "[0]" * (len(dims) - 1)  # the first row of a 2-D array
            self.clears.append(f"    snnc::clear<{n}>(&{first}[0]);" if len(dims) > 1
                               else f"    snnc::clear<{n}>({name});")
        else:
            self.clears.append(f"    {name} = 0;")
        self.ram += n * _BYTES[ctype]
        return name

    def y(self, node: str) -> str:
        return f"y_{self.ids[node]}"

    def banks(self, array: str, factor: int, dim: int = 1) -> None:
        """Ask for ``array`` to be split into ``factor`` cyclic banks along ``dim`` so that
        ``factor`` MAC units can read it in one cycle (the largest request wins)."""
        if factor > 1:
            key = (array, dim)
            self.partition[key] = max(self.partition.get(key, 1), int(factor))

    def input_of(self, node: str, n: int, lines: list[str]) -> tuple[str, str]:
        """(array, C type) holding the node's input: its single source's buffer, or the
        exact int64 sum of its sources in a local array."""
        ps = self.preds[node]
        if not ps:
            raise SnncError(f"node '{node}' has no incoming edge")
        if len(ps) == 1:
            return self.y(ps[0]), self.btype[ps[0]]
        x = f"x_{self.ids[node]}"
        terms = " + ".join(f"(snnc::acc_t){self.y(p)}[i]" for p in ps)
        lines.append(f"    snnc::acc_t {x}[{n}];")
        lines.append(f"@PARTITION {x}@")  # resolved once every consumer has asked
        lines.append(f"SUM_{self.ids[node]}:\n    for (int i = 0; i < {n}; i++) {{\n"
                     f"#pragma HLS PIPELINE II=1\n        {x}[i] = {terms};\n    }}")
        return x, "snnc::acc_t"


def _buffer_types(graph: Graph, preds: dict[str, list[str]]) -> dict[str, str]:
    """One byte per spike (spiking nodes, spike inputs, single-source Flatten/Output of
    those), int32 for values, int64 for a Flatten/Output summing several sources."""
    t: dict[str, str] = {}
    for n, v in graph.items():
        spike = emits_spikes(v)
        t[n] = "uint8_t" if spike else "int32_t"
    changed = True
    while changed:
        changed = False
        for n, v in graph.items():
            if isinstance(v, (Flatten, Output)):
                want = t[preds[n][0]] if len(preds[n]) == 1 else "int64_t"
                if t[n] != want:
                    t[n], changed = want, True
    return t


# ------------------------------------------------------------------ lowering rules


def _lower_input(ctx: _Ctx, name: str, node: QInput, off: int, lines: list[str]) -> None:
    n = _size(tuple(node.shape_out()))
    y = ctx.y(name)
    if node.dtype == SPIKE:
        lines.append(f"    snnc::spikes_in<{n}>(&x[{off}], {y});")
    else:
        zp = ctx.param(name, "zero_point", np.broadcast_to(node.zero_point, node.shape_out()), n)
        lines.append(f"    snnc::qinput<{n}>(&x[{off}], {zp}, {y});")


def _synapse_tables(ctx: _Ctx, name: str, node: QLinear) -> tuple[str, str, str, str, int, int]:
    n_out, n_in = (int(s) for s in node.weight.shape)
    i = ctx.ids[name]
    w = ctx.table(_bits_type(node.weight_bits), f"{i}_weight", np.asarray(node.weight),
                  f"{name}: weight [{n_out}][{n_in}] row-major, int{node.weight_bits}")
    bias = node.bias if np.asarray(node.bias).size else np.zeros(n_out, np.int64)
    b = ctx.param(name, "bias", bias, n_out)
    m = ctx.param(name, "mult", node.mult, n_out)
    s = ctx.param(name, "shift", node.shift, n_out)
    return w, b, m, s, n_in, n_out


def _lower_linear(ctx: _Ctx, name: str, node: QLinear, lines: list[str]) -> None:
    w, b, m, s, n_in, n_out = _synapse_tables(ctx, name, node)
    u = ctx.units[name] = layer_units(n_in, n_out, ctx.reuse)
    x, _ = ctx.input_of(name, n_in, lines)
    ctx.banks(w, u)
    ctx.banks(x, min(n_in, u))
    lines.append(f"    snnc::dense<{n_in}, {n_out}, {u}>({x}, {w}, {b}, {m}, {s}, "
                 f"{int(node.out_bits)}, {ctx.y(name)});")


def _lower_delayed(ctx: _Ctx, name: str, node: QDelayedLinear, lines: list[str]) -> None:
    w, b, m, s, n_in, n_out = _synapse_tables(ctx, name, node)
    i = ctx.ids[name]
    dmax = node.max_delay
    dt = "uint8_t" if dmax < 256 else "uint16_t" if dmax < 65536 else "int32_t"
    d = ctx.table(dt, f"{i}_delay", np.asarray(node.delay),
                  f"{name}: delay in steps per synapse [{n_out}][{n_in}]")
    u = ctx.units[name] = layer_units(n_in, n_out, ctx.reuse)
    x, xt = ctx.input_of(name, n_in, lines)
    ht = "int32_t" if xt != "uint8_t" else "uint8_t"
    hist = ctx.static(ht, f"{i}_history", (dmax + 1, n_in),
                      f"{name}: inputs of the last {dmax + 1} steps (ring)")
    ptr = ctx.static("int32_t", f"{i}_ptr", (), f"{name}: ring slot of this step")
    ctx.banks(w, u)
    ctx.banks(d, u)
    ctx.banks(hist, min(n_in, u), dim=2)
    lines.append(f"    snnc::delayed<{n_in}, {n_out}, {u}, {dmax + 1}>({x}, {hist}, {ptr}, {w}, "
                 f"{d}, {b}, {m}, {s}, {int(node.out_bits)}, {ctx.y(name)});")


def _lower_conv(ctx: _Ctx, name: str, node: QConv, lines: list[str]) -> None:
    """QConv as ``snnc::conv``: Conv1d runs as a 2-D convolution over a height-1 image."""
    w = np.asarray(node.weight)
    c_out, cpg_in = int(w.shape[0]), int(w.shape[1])
    one_d = w.ndim == 3
    lift = (lambda v: (1, int(v[0]))) if one_d else (lambda v: (int(v[0]), int(v[1])))
    (h, wd), (kh, kw) = lift(node.input_shape), lift(w.shape[2:])
    (sh, sw), (dh, dw) = lift(node.stride), lift(node.dilation)
    (ph, pw) = (0, int(node.padding[0])) if one_d else lift(node.padding)
    oh, ow = lift(node.shape_out()[1:])
    c_in = cpg_in * int(node.groups)
    k = cpg_in * kh * kw
    i = ctx.ids[name]
    wt = ctx.table(_bits_type(node.weight_bits), f"{i}_weight", w,
                   f"{name}: weight [{c_out}][{cpg_in}][{kh}][{kw}] row-major, "
                   f"int{node.weight_bits}")
    bias = node.bias if np.asarray(node.bias).size else np.zeros(c_out, np.int64)
    b = ctx.param(name, "bias", bias, c_out)
    m = ctx.param(name, "mult", node.mult, c_out)
    s = ctx.param(name, "shift", node.shift, c_out)
    # The weights of one output pixel are a [c_out][k] matrix: the dense unit rule.
    u = ctx.units[name] = layer_units(k, c_out, ctx.reuse)
    x, _ = ctx.input_of(name, c_in * h * wd, lines)
    ctx.banks(wt, u)
    lines.append(f"    snnc::conv<{c_in}, {h}, {wd}, {c_out}, {int(node.groups)}, {kh}, {kw}, "
                 f"{sh}, {sw}, {ph}, {pw}, {dh}, {dw}, {oh}, {ow}, {u}>({x}, {wt}, {b}, {m}, "
                 f"{s}, {int(node.out_bits)}, {ctx.y(name)});")


def _lower_pool(ctx: _Ctx, name: str, node: SumPool2d, lines: list[str]) -> None:
    c, h, wd = (int(v) for v in node.input_shape)
    _, oh, ow = (int(v) for v in node.shape_out())
    (kh, kw), (sh, sw), (ph, pw) = node.kernel_size, node.stride, node.padding
    x, _ = ctx.input_of(name, c * h * wd, lines)
    lines.append(f"    snnc::sum_pool<{c}, {h}, {wd}, {int(kh)}, {int(kw)}, {int(sh)}, {int(sw)}, "
                 f"{int(ph)}, {int(pw)}, {oh}, {ow}>({x}, {ctx.y(name)});")


def _lower_threshold(ctx: _Ctx, name: str, node: QThreshold, lines: list[str]) -> None:
    n = _size(tuple(node.shape_out()))
    x, _ = ctx.input_of(name, n, lines)
    thr = ctx.param(name, "thr_q", np.broadcast_to(node.thr_q, node.shape_out()), n)
    lines.append(f"    snnc::threshold<{n}>({x}, {thr}, {ctx.y(name)});")


def _lower_readout(ctx: _Ctx, name: str, node: Node, lines: list[str]) -> None:
    n = _size(tuple(node.shape_out()))
    x, _ = ctx.input_of(name, n, lines)
    y = ctx.y(name)
    if isinstance(node, SpikeCountArgmax):
        lines.append(f"    snnc::spike_count<{n}>({x}, {y});")
        return
    assert isinstance(node, MembraneArgmax)
    started = ctx.static("uint8_t", f"{ctx.ids[name]}_started", (),
                         f"{name}: a step has run since reset")
    mode = {"sum": 0, "max": 1, "last": 2}[node.reduce]
    lines.append(f"    snnc::membrane_readout<{n}>({x}, {y}, {started}, {mode}); "
                 f"/* reduce {node.reduce} */")


def _lower_copy(ctx: _Ctx, name: str, node: Node, lines: list[str]) -> None:
    n = _size(tuple(node.shape_out()))
    x, _ = ctx.input_of(name, n, lines)
    lines.append(f"    snnc::copy<{n}>({x}, {ctx.y(name)});")


_RULES = {QLinear: _lower_linear, QDelayedLinear: _lower_delayed, QConv: _lower_conv,
          SumPool2d: _lower_pool, QThreshold: _lower_threshold, SpikeCountArgmax: _lower_readout,
          MembraneArgmax: _lower_readout, Flatten: _lower_copy, Output: _lower_copy}


def supported_ops() -> list[str]:
    """Node kinds the HLS backend lowers (quantized graphs only)."""
    kinds = [c.kind for c in _RULES] + [QInput.kind]
    kinds += [op.quant_cls.kind for op in ops.ops()  # registered ops (compiler/ops/)
              if op.quant_cls is not None and callable(op.lowerings.get("hls"))]
    return sorted(kinds)


# ------------------------------------------------------------------ entry point


def emit_hls(graph: Graph, *, reuse: int = 1, part: str = "xczu9eg-ffvb1156-2-e",
             clock_ns: float = 5.0, board: str = "zcu102") -> HlsModel:
    """Generate the HLS kernel, testbench, host program and TCL for a quantized graph.

    ``reuse`` is the reuse factor of every synapse layer (see :func:`layer_units`);
    ``part``/``clock_ns`` go into the TCL script. Raises UnsupportedError naming the node
    for a float graph or a node kind the kernel library does not implement.
    """
    verify(graph)
    if not is_quantized(graph):
        raise UnsupportedError(f"model '{graph.name}': the HLS kernel is integer-only "
                               "(compile with --quantize int8 or int16)")
    if int(reuse) < 1:
        raise SnncError(f"--reuse must be >= 1, got {reuse}")
    for name, node in graph.items():
        if (type(node) not in _RULES and type(node) is not QInput
                and ops.lowering("hls", name, node) is None):
            raise UnsupportedError(f"node '{name}': the HLS backend cannot lower op "
                                   f"'{node.kind}' (supported: {', '.join(supported_ops())})")
    order, back = graph.schedule()
    pos = {n: k for k, n in enumerate(order)}
    for a, b in graph.edges:  # static buffers give t-1 exactly on edges that run backwards
        if ((a, b) in back) != (pos[a] >= pos[b]):
            raise SnncError(f"internal: edge {a} -> {b} is not ordered as the schedule says")
    preds = {n: [a for a, b in graph.edges if b == n] for n in graph.nodes}
    ids = cnames.c_idents(graph.nodes)
    ctx = _Ctx(graph=graph, ids=ids, preds=preds, btype=_buffer_types(graph, preds),
               reuse=int(reuse))
    for n in order:
        ctx.static(ctx.btype[n], ctx.y(n), (_size(tuple(graph.nodes[n].shape_out())),),
                   f"{n}: output of this step", role="buffer", node=n)
    in_off, off = {}, 0
    for n in graph.inputs:
        in_off[n] = off
        off += _size(tuple(graph.nodes[n].shape_out()))
    n_inputs = off
    outs, off = [], 0
    for n in graph.outputs:
        k = _size(tuple(graph.nodes[n].shape_out()))
        outs.append((ctx.y(n), off, k, cnames.c_comment(n)))
        off += k
    n_outputs = off
    for name in order:
        node = graph.nodes[name]
        lines = ["    /* " + cnames.c_comment(
            f"{name}: {node.kind} {list(node.shape_in())} -> {list(node.shape_out())}"
            + "".join(f"; reads {a} from t-1" for a in preds[name] if (a, name) in back))
            + " */"]
        ctx.cur = name  # owner of the statics reserved while lowering it
        if isinstance(node, QInput):
            _lower_input(ctx, name, node, in_off[name], lines)
        else:
            (_RULES.get(type(node)) or ops.lowering("hls", name, node))(ctx, name, node, lines)
        ctx.steps.append("\n".join(lines))
    for k, text in enumerate(ctx.steps):  # partitions of local input sums, in their scope
        ctx.steps[k] = re.sub(r"@PARTITION (\w+)@", lambda m: "\n".join(
            f"#pragma HLS ARRAY_PARTITION variable={m.group(1)} cyclic factor={f} dim={d}"
            for (a, d), f in sorted(ctx.partition.items()) if a == m.group(1)) or "", text)
        ctx.steps[k] = re.sub(r"\n\n+", "\n", ctx.steps[k])
    local = {a for (a, _d) in ctx.partition if a.startswith("x_")}
    ctx.pragmas = [f"#pragma HLS ARRAY_PARTITION variable={a} cyclic factor={f} dim={d}"
                   for (a, d), f in sorted(ctx.partition.items()) if a not in local]
    plan = ctx.planner.finish(ctx.rom)
    check_state(graph, plan)  # every population holds its op's state spec
    if plan.ram_bytes != ctx.ram:
        raise SnncError(f"internal: HLS statics {ctx.ram} B != memory plan {plan.ram_bytes} B")
    spikes_in = all(graph.nodes[n].dtype == SPIKE for n in graph.inputs)
    input_ctype = "uint8_t" if spikes_in else "int16_t"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    shape_lines = [f"input  {n}: {list(graph.nodes[n].shape)} {graph.nodes[n].dtype}, "
                   f"x[{in_off[n]}..]" for n in graph.inputs]
    shape_lines += [f"output {n}: {list(graph.nodes[n].shape)}, y[{o}..]" for _, o, _, n in outs]
    unit_lines = [f"{n}: {u} MAC units, {math.ceil(_size(graph.nodes[n].weight.shape) / u)} "
                  f"rounds" + (" per output pixel" if isinstance(graph.nodes[n], QConv) else "")
                  for n, u in ctx.units.items()]
    shape_lines = [cnames.c_comment(t) for t in shape_lines]
    unit_lines = [cnames.c_comment(t) for t in unit_lines]
    common = dict(version=__version__, model_name=cnames.c_string(graph.name),
                  model_hash=graph_hash(graph), top=TOP, n_inputs=n_inputs,
                  n_outputs=n_outputs, input_ctype=input_ctype, output_ctype="int32_t",
                  reuse=int(reuse), shape_lines=shape_lines, unit_lines=unit_lines,
                  rom_bytes=ctx.rom, state_bytes=ctx.ram, part=part, clock_ns=clock_ns,
                  board=board)
    files = {
        "kernel.h": env.get_template("kernel.h.j2").render(**common),
        "kernel.cpp": env.get_template("kernel.cpp.j2").render(
            **common, tables=ctx.tables, statics=ctx.statics, clears=ctx.clears,
            pragmas=ctx.pragmas, steps=ctx.steps, outs=outs, includes=sorted(set(ctx.includes))),
        "run_hls.tcl": env.get_template("run_hls.tcl.j2").render(
            **{**common, "model_name": cnames.tcl_string(graph.name)}),
    }
    files.update({h: (TEMPLATES / h).read_text() for h in sorted(set(ctx.includes))})
    return HlsModel(name=graph.name, files=files, n_inputs=n_inputs, n_outputs=n_outputs,
                    input_ctype=input_ctype, output_ctype="int32_t", reuse=int(reuse),
                    units=dict(ctx.units), rom_bytes=ctx.rom, state_bytes=plan.ram_bytes,
                    plan=plan)

