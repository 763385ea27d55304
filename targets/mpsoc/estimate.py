"""Analytical LUT / FF / BRAM18 / DSP and cycles-per-step estimate of the MPSoC HLS kernel.

This is an analytical estimate from rules of thumb, NOT calibrated against Vitis HLS or
Vivado synthesis reports (the vendor tools are not available here). Use it to choose the
reuse factor and to reject models that clearly do not fit; expect real reports to differ
by tens of percent (see "Caveats" in ``targets/mpsoc/README.md``).

Kernel model (what ``compiler/codegen/hls.py`` generates). One call = one timestep;
nodes run one after another in ``Graph.schedule()`` order (no dataflow); AXI4-Lite for
control and the in/out arrays. Every parameter array is stored with one entry per neuron,
even when 0-d in the graph. C storage types are plain-g++ types (``int8_t`` .. ``int64_t``;
spikes ``bool``, 1 bit), so an array element is its value width rounded up to 8/16/32/64.

* Synapse (QLinear, QDelayedLinear), weight ``[n_out, n_in]``, reuse factor R (hls4ml:
  how often each multiplier is reused per call): ``units = layer_units(n_in, n_out, R)``
  MAC units, ``rounds = ceil(n_in*n_out / units)`` pipelined rounds at II=1. Flattened
  weights ``k = i*n_in + j`` ARRAY_PARTITION cyclic factor=units: ``units`` ROM banks of
  depth ``rounds``. One round's products go to ``ports = min(n_out, ceil(units/n_in))``
  outputs (regular index pattern, as hls4ml's resource strategy); each port sums its
  products in an adder tree and adds them to a 64-bit accumulator; accumulators are
  partitioned cyclic by ``ports`` (banks of depth ``ceil(n_out/ports)``: registers when
  the depth is 1). The input vector is partitioned completely (registers, counted at its
  producer); a unit that visits several inputs reads them through a mux. Then a loop over
  n_out at II=1 adds the bias, saturates to int32 and requantizes (32x31-bit multiply).
  Spike-valued inputs need no multiplier (w AND x into the tree); real-valued ones one
  DSP48E2 per unit (more for operands above 27x18 bits).
  QDelayedLinear adds the delay array (banked as the weights) and a history ring
  ``[(max_delay+1) x n_in]`` of int32 inputs, split into ``min(n_in, units)`` banks
  (replicated when more than 2 units read one bank per cycle); the multiply uses the
  source's value width (the kernel casts the int32 entry back), one history per layer.
* Population (QLIF, QCubaLIF, QLI, QIF), QThreshold, readouts: one loop over N at II=1;
  state and parameter arrays of depth N; spike outputs kept in registers (their consumers
  read them in parallel).

Memory mapping rule (one bank of depth d, width w bits):

=================  ======================================================================
d == 1             registers: w FF
d*w <= 1024 bits   LUTRAM/LUT-ROM: ceil(d/64)*w LUT (one LUT6 = 64x1) + a w-bit
                   ceil(d/64):1 output mux
otherwise          BRAM18, best aspect ratio of 16Kx1, 8Kx2, 4Kx4, 2Kx9, 1Kx18, 512x36:
                   min over (cd, cw) of ceil(w/cw) * ceil(d/cd)
=================  ======================================================================

Rules of thumb (constants below):

==========================  ======  =====================================================
constant                    value   meaning
==========================  ======  =====================================================
ADD_LUT_PER_BIT             1       a w-bit adder/subtractor/comparator = w LUT6 (CARRY8
                                    is free)
mux_luts(t) per bit         -       a t:1 mux = ceil((t-1)/3) LUT6 per bit (LUT6 = 4:1)
DATAPATH_FF_PER_LUT         1.0     pipelined datapath at II=1: one register per LUT
                                    output (DSP48E2 internal registers are not fabric FF)
ACC_BITS                    64      synapse accumulators are int64 (exact sum)
HIST_BITS                   32      history ring entries are int32
SPIKE_BITS                  1       spikes are ``bool``
dsp_mult(a, b)              -       DSP48E2 per signed a x b multiply: 1 if it fits
                                    27x18, else ceil((a-1)/26) * ceil((b-1)/17)
REQUANT_LUT / _FF           350     bias add (64), sat32, rounding add and variable
                                    right shift of the 63-bit product (barrel, 6 stages),
                                    sat to out_bits
REQUANT_DSP                 4       the 32x31-bit acc * mult product
BARREL_LUT                  192     CubaLIF's 64-bit variable shift (i*mult_v >> shift_v)
LOOP_LUT / LOOP_FF          30      per pipelined loop: counter, exit test, FSM state
AXI_LUT / AXI_FF            150/200 AXI4-Lite slave adapter and ap_ctrl block
MAC_DEPTH                   3       MAC loop depth before the tree: + ceil(log2(units))
REQUANT_DEPTH               5       requantize loop pipeline depth
POP_DEPTH / CUBA_DEPTH      5 / 8   population loop depth (decay multiply + adds)
THRESH_DEPTH                3       QThreshold loop depth
READOUT_DEPTH / COPY_DEPTH  5 / 2   readout loop, input/output copy loop depths
KERNEL_OVERHEAD             5       ap_start -> ap_done handshake
==========================  ======  =====================================================

Cycles per step are the sum over nodes (sequential): synapse ``rounds + MAC_DEPTH +
ceil(log2(units)) + n_out + REQUANT_DEPTH`` (+ ``n_in + COPY_DEPTH`` to push the delayed
layer's history); population ``N + POP_DEPTH``; input/output copies ``N + COPY_DEPTH``;
plus ``KERNEL_OVERHEAD``. The A53's AXI4-Lite transfers of the inputs and outputs are not
included (host side).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compiler.errors import SnncError, UnsupportedError
from compiler.ir.graph import Graph
from compiler.ir.nodes import (
    SPIKE,
    Flatten,
    Input,
    MembraneArgmax,
    Node,
    Output,
    SpikeCountArgmax,
)
from compiler.ir.qnodes import (
    QIF,
    QLI,
    QLIF,
    QConv,
    QCubaLIF,
    QDelayedLinear,
    QInput,
    QLinear,
    QThreshold,
    is_quantized,
)
from targets.mpsoc.profile import LIMITS, RESOURCE_NAMES, Board, get_board

ACC_BITS = 64
HIST_BITS = 32
SPIKE_BITS = 1
LUTRAM_MAX_BITS = 1024
LUTRAM_DEPTH = 64
BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
ADD_LUT_PER_BIT = 1
DATAPATH_FF_PER_LUT = 1.0
REQUANT_LUT = 350
REQUANT_FF = 350
REQUANT_DSP = 4
BARREL_LUT = 192
LOOP_LUT = 30
LOOP_FF = 30
AXI_LUT = 150
AXI_FF = 200
MAC_DEPTH = 3
REQUANT_DEPTH = 5
POP_DEPTH = 5
CUBA_DEPTH = 8
THRESH_DEPTH = 3
READOUT_DEPTH = 5
COPY_DEPTH = 2
KERNEL_OVERHEAD = 5
Q15_BITS = 17        # beta_q / alpha_q in [0, 2**15]: 17-bit signed operand
MULT_BITS = 31       # requantize multiplier, int32 >= 0


# --------------------------------------------------------------------------- primitives


def layer_units(n_in: int, n_out: int, reuse: int) -> int:
    """MAC units of an ``n_out x n_in`` synapse at reuse factor ``reuse``:
    ``clip(ceil(n_in*n_out / reuse), 1, n_in*n_out)``."""
    if isinstance(reuse, bool) or not isinstance(reuse, (int, np.integer)) or reuse < 1:
        raise SnncError(f"option 'reuse' must be a positive integer, got {reuse!r}")
    n = int(n_in) * int(n_out)
    if n < 1:
        return 1
    return max(1, min(n, -(-n // int(reuse))))


def c_bits(bits: int) -> int:
    """Width of the plain C integer type that holds ``bits`` (8, 16, 32 or 64)."""
    for w in (8, 16, 32, 64):
        if bits <= w:
            return w
    raise SnncError(f"no C integer type holds {bits} bits")


def mux_luts(t: int) -> int:
    """LUT6 per bit of a t:1 multiplexer (a LUT6 is a 4:1 mux; a tree of them)."""
    return 0 if t <= 1 else -(-(t - 1) // 3)


def dsp_mult(a: int, b: int) -> int:
    """DSP48E2 slices for a signed a x b multiply (27x18 signed per slice)."""
    hi, lo = max(a, b), min(a, b)
    if hi <= 27 and lo <= 18:
        return 1
    return -(-(hi - 1) // 26) * -(-(lo - 1) // 17)


def bram18_count(depth: int, width: int) -> int:
    """RAMB18 for one depth x width memory, best aspect ratio."""
    return min(-(-width // cw) * -(-depth // cd) for cd, cw in BRAM18_SHAPES)


@dataclass
class _Cost:
    lut: float = 0.0
    ff: float = 0.0
    bram18: int = 0
    dsp: int = 0

    def mem(self, depth: int, width: int, banks: int = 1) -> None:
        """Add ``banks`` memories of depth x width bits (mapping rule in the docstring)."""
        depth, width, banks = int(depth), int(width), int(banks)
        if depth <= 0 or width <= 0 or banks <= 0:
            return
        if depth == 1:
            self.ff += width * banks
        elif depth * width <= LUTRAM_MAX_BITS:
            rams = -(-depth // LUTRAM_DEPTH)
            self.lut += (rams * width + width * mux_luts(rams)) * banks
        else:
            self.bram18 += bram18_count(depth, width) * banks

    def logic(self, lut: float, ff: float | None = None) -> None:
        """Datapath logic: ``lut`` LUT and (by default) one register per LUT."""
        self.lut += lut
        self.ff += lut * DATAPATH_FF_PER_LUT if ff is None else ff

    def loop(self, n: int = 1) -> None:
        self.lut += LOOP_LUT * n
        self.ff += LOOP_FF * n


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class NodeEstimate:
    """One node's share: sizes, parallelism, cycles per step and resources."""

    node: str
    kind: str
    n_in: int
    n_out: int
    units: int
    rounds: int
    cycles: int
    lut: int
    ff: int
    bram18: int
    dsp: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Estimate:
    """The whole kernel on one board at one reuse factor."""

    model: str
    board: Board
    reuse: int
    nodes: tuple[NodeEstimate, ...]
    lut: int
    ff: int
    bram18: int
    dsp: int
    cycles_per_step: int
    latency_us_per_step: float
    utilization: dict[str, float]
    fits: bool
    violations: tuple[str, ...]
    reuse_searched: tuple[int, ...] = field(default=())

    def node(self, name: str) -> NodeEstimate:
        """The estimate of one node (its ``units`` / ``rounds`` size the HLS pragmas)."""
        for n in self.nodes:
            if n.node == name:
                return n
        raise SnncError(f"no node '{name}' in the estimate of '{self.model}'")

    def totals(self) -> dict[str, int]:
        return {"lut": self.lut, "ff": self.ff, "bram18": self.bram18, "dsp": self.dsp}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the board by name and part)."""
        return {
            "model": self.model, "board": self.board.name, "board_name": self.board.board,
            "part": self.board.part, "pl_clock_hz": self.board.pl_clock_hz,
            "reuse": self.reuse, "totals": self.totals(),
            "available": self.board.resources(), "limits": dict(LIMITS),
            "utilization": dict(self.utilization),
            "cycles_per_step": self.cycles_per_step,
            "latency_us_per_step": self.latency_us_per_step,
            "fits": self.fits, "violations": list(self.violations),
            "reuse_searched": list(self.reuse_searched),
            "nodes": [n.to_dict() for n in self.nodes],
            "note": "analytical estimate, not calibrated against Vitis HLS reports",
        }

    def to_markdown(self) -> str:
        """A per-node table, totals, utilization against the limits and the verdict."""
        b = self.board
        lines = [f"## MPSoC estimate: '{self.model}' on {b.board} ({b.part}), reuse "
                 f"{self.reuse}", "",
                 "Analytical estimate (rules of thumb), not a Vitis HLS synthesis report.", "",
                 "| node | kind | n_in | n_out | units | rounds | cycles | LUT | FF | BRAM18 "
                 "| DSP |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
                 "| ---: | ---: |"]
        for n in self.nodes:
            lines.append(f"| {n.node} | {n.kind} | {n.n_in} | {n.n_out} | {n.units} | "
                         f"{n.rounds} | {n.cycles:,} | {n.lut:,} | {n.ff:,} | {n.bram18:,} | "
                         f"{n.dsp:,} |")
        lines.append(f"| **total** | | | | | | {self.cycles_per_step:,} | {self.lut:,} | "
                     f"{self.ff:,} | {self.bram18:,} | {self.dsp:,} |")
        u = self.utilization
        lines.append("| **utilization (limit)** | | | | | | | " + " | ".join(
            f"{100 * u[k]:.1f}% ({100 * LIMITS[k]:.0f}%)" for k in LIMITS) + " |")
        lines += ["", f"Cycles per step: {self.cycles_per_step:,}; "
                      f"{self.latency_us_per_step:.2f} us per step at "
                      f"{b.pl_clock_hz / 1e6:g} MHz.",
                  "Fits: " + ("yes" if self.fits else "no (" + "; ".join(self.violations)
                                                        + ")")]
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- graph helpers


def _producer(graph: Graph, name: str) -> Node:
    """The node whose values arrive through ``name`` (Flatten is a pure rename)."""
    node = graph.nodes[name]
    seen = {name}
    while isinstance(node, Flatten):
        preds = graph.predecessors(name)
        if len(preds) != 1 or preds[0] in seen:
            break
        name = preds[0]
        seen.add(name)
        node = graph.nodes[name]
    return node


def _is_spike(node: Node) -> bool:
    if isinstance(node, Input):
        return node.dtype == SPIKE
    return type(node).out_dtype == SPIKE


def _value_bits(node: Node) -> int:
    """C storage width of the values ``node`` emits."""
    if _is_spike(node):
        return SPIKE_BITS
    if isinstance(node, QInput):
        return c_bits(int(node.bits) + 1)  # x_q - zero_point needs one more bit
    if isinstance(node, QLinear):
        return c_bits(int(node.out_bits))
    if hasattr(node, "state_bits"):
        return c_bits(int(node.state_bits))
    return 32


def _source(graph: Graph, name: str) -> tuple[bool, int]:
    """(all inputs are spikes, widest input value in bits) of a node's incoming edges."""
    srcs = [_producer(graph, p) for p in graph.predecessors(name)]
    if not srcs:
        return False, 32
    return all(_is_spike(s) for s in srcs), max(_value_bits(s) for s in srcs)


def _size(shape: Any) -> int:
    return int(np.prod(shape)) if len(tuple(shape)) else 1


def _done(name: str, kind: str, n_in: int, n_out: int, units: int, rounds: int,
          cycles: int, c: _Cost) -> NodeEstimate:
    return NodeEstimate(name, kind, int(n_in), int(n_out), int(units), int(rounds),
                        int(cycles), int(math.ceil(c.lut)), int(math.ceil(c.ff)),
                        int(c.bram18), int(c.dsp))


# --------------------------------------------------------------------------- per node


def _synapse(graph: Graph, name: str, node: QLinear, reuse: int) -> NodeEstimate:
    n_out, n_in = (int(s) for s in np.shape(node.weight))
    units = layer_units(n_in, n_out, reuse)
    rounds = -(-(n_in * n_out) // units)
    spike_in, in_bits = _source(graph, name)
    w_bits = c_bits(int(node.weight_bits))      # int4 weights live in int8_t
    c = _Cost()
    if spike_in:
        mult_lut = units * w_bits                # x ? w : 0 into the tree
        prod_bits = w_bits
    else:
        mult_lut = 0
        c.dsp += units * dsp_mult(w_bits, in_bits)
        prod_bits = w_bits + in_bits
    ports = min(n_out, -(-units // n_in))
    per_port = -(-units // ports)
    tree_bits = (prod_bits + math.ceil(math.log2(per_port))) if per_port > 1 else 0
    tree_lut = (units - ports) * tree_bits * ADD_LUT_PER_BIT
    acc_lut = ports * ACC_BITS * ADD_LUT_PER_BIT
    # A unit visits ceil(n_in/units) inputs of the completely partitioned input vector
    # (a delayed layer reads its own history banks instead: no mux).
    x_mux = 0 if isinstance(node, QDelayedLinear) else \
        units * in_bits * mux_luts(-(-n_in // min(units, n_in)))
    c.logic(mult_lut + tree_lut + acc_lut + x_mux)
    c.mem(rounds, w_bits, banks=units)                      # weight ROM banks
    c.mem(-(-n_out // ports), ACC_BITS, banks=ports)        # accumulators
    c.mem(n_out, 32)                                        # bias
    c.mem(n_out, 32)                                        # mult
    c.mem(n_out, 8)                                         # shift
    c.mem(n_out, c_bits(int(node.out_bits)))                # requantized output y
    c.logic(REQUANT_LUT, REQUANT_FF)
    c.dsp += REQUANT_DSP
    c.loop(2)
    cycles = (rounds + MAC_DEPTH + math.ceil(math.log2(units)) + n_out + REQUANT_DEPTH)
    if isinstance(node, QDelayedLinear):
        d = int(node.max_delay)
        c.mem(rounds, 8 if d < 256 else 16, banks=units)    # delay banks, as the weights
        banks = min(n_in, units)
        depth = (d + 1) * -(-n_in // banks)
        readers = -(-units // banks)
        c.mem(depth, HIST_BITS, banks=banks * -(-readers // 2))  # 2 read ports per copy
        addr_bits = max(1, math.ceil(math.log2(depth))) if depth > 1 else 0
        c.logic(units * 2 * addr_bits)                      # (t - delay) mod (D+1) per unit
        c.loop(1)
        cycles += n_in + COPY_DEPTH                         # push this step's input
    return _done(name, node.kind, n_in, n_out, units, rounds, cycles, c)


def _population(graph: Graph, name: str, node: Node) -> NodeEstimate:
    n = _size(node.shape)
    edges = max(1, len(graph.predecessors(name)))
    w = c_bits(int(node.state_bits))
    c = _Cost()
    c.mem(n, w)                                             # membrane v
    depth = POP_DEPTH
    if isinstance(node, QLIF):
        ops = 5 + edges      # decay rounding, input sum, leak, saturate, compare, reset
        c.dsp += dsp_mult(Q15_BITS, w)
        params = [32, w, w, w]                              # beta, leak, thr, reset
    elif isinstance(node, QCubaLIF):
        wc = c_bits(int(node.cur_bits))
        c.mem(n, wc)                                        # current i
        ops = 9 + edges
        c.logic(BARREL_LUT)
        c.dsp += dsp_mult(Q15_BITS, wc) + dsp_mult(Q15_BITS, w) + dsp_mult(wc, MULT_BITS)
        params = [32, 32, 32, 8, w, w, w]                   # alpha, beta, mult_v, shift_v..
        depth = CUBA_DEPTH
        w = max(w, wc)
    elif isinstance(node, QLI):
        ops = 3 + edges
        c.dsp += dsp_mult(Q15_BITS, w)
        params = [32, w]
    else:  # QIF
        ops = 3 + edges
        params = [w, w]
    for p in params:
        c.mem(n, p)
    c.logic(ops * w * ADD_LUT_PER_BIT)
    if _is_spike(node):
        c.ff += n * SPIKE_BITS                              # spike outputs, registers
    c.loop(1)
    return _done(name, node.kind, n, n, 0, 0, n + depth, c)


def _threshold(graph: Graph, name: str, node: QThreshold) -> NodeEstimate:
    n = _size(node.shape)
    edges = max(1, len(graph.predecessors(name)))
    _, in_bits = _source(graph, name)
    w = c_bits(in_bits + (math.ceil(math.log2(edges)) if edges > 1 else 0))
    c = _Cost()
    c.mem(n, 32)                                            # thr_q
    c.logic((edges - 1 + 1) * w * ADD_LUT_PER_BIT)          # input sum, compare
    c.ff += n * SPIKE_BITS
    c.loop(1)
    return _done(name, node.kind, n, n, 0, 0, n + THRESH_DEPTH, c)


def _readout(graph: Graph, name: str, node: Node) -> NodeEstimate:
    n = _size(node.shape)
    edges = max(1, len(graph.predecessors(name)))
    c = _Cost()
    c.mem(n, 32)                                            # int32 count / membrane sum
    c.logic((edges + 1) * 32 * ADD_LUT_PER_BIT)             # input sum + accumulate/max
    c.loop(1)
    return _done(name, node.kind, n, n, 0, 0, n + READOUT_DEPTH, c)


def _input(name: str, node: QInput) -> NodeEstimate:
    n = _size(node.shape)
    c = _Cost()
    spike = node.dtype == SPIKE
    elem = 8 if spike else c_bits(int(node.bits))
    c.mem(n, elem)                                          # AXI4-Lite input array
    vb = _value_bits(node)
    if not spike:
        c.mem(n, elem)                                      # zero_point
        c.logic(vb * ADD_LUT_PER_BIT)                       # x_q - zero_point
    c.ff += n * vb                                          # partitioned input vector
    c.loop(1)
    return _done(name, node.kind, n, n, 0, 0, n + COPY_DEPTH, c)


def _output(name: str, node: Output) -> NodeEstimate:
    n = _size(node.shape)
    c = _Cost()
    c.mem(n, 32)                                            # AXI4-Lite output array
    c.loop(1)
    return _done(name, node.kind, n, n, 0, 0, n + COPY_DEPTH, c)


def _control() -> NodeEstimate:
    c = _Cost(lut=AXI_LUT, ff=AXI_FF)
    return _done("(control)", "AXI4-Lite+FSM", 0, 0, 0, 0, KERNEL_OVERHEAD, c)


# --------------------------------------------------------------------------- estimate


def _check_graph(graph_q: Graph) -> None:
    if not is_quantized(graph_q):
        raise SnncError(f"model '{graph_q.name}' is a float graph; the MPSoC kernel is "
                        "integer-only: compile with --quantize int8")
    for name, node in graph_q.nodes.items():
        if isinstance(node, QConv):
            raise UnsupportedError(f"node '{name}': QConv is not supported by the MPSoC "
                                   "kernel (fully connected synapses only)")
        if not isinstance(node, (QInput, QLinear, QLIF, QCubaLIF, QLI, QIF, QThreshold,
                                 SpikeCountArgmax, MembraneArgmax, Output, Flatten)):
            raise UnsupportedError(f"node '{name}': kind {node.kind} is not supported by "
                                   "the MPSoC kernel (expected a quantized graph)")


def _node_estimate(graph: Graph, name: str, node: Node, reuse: int) -> NodeEstimate:
    if isinstance(node, QLinear):
        return _synapse(graph, name, node, reuse)
    if isinstance(node, (QLIF, QCubaLIF, QLI, QIF)):
        return _population(graph, name, node)
    if isinstance(node, QThreshold):
        return _threshold(graph, name, node)
    if isinstance(node, (SpikeCountArgmax, MembraneArgmax)):
        return _readout(graph, name, node)
    if isinstance(node, QInput):
        return _input(name, node)
    if isinstance(node, Output):
        return _output(name, node)
    n = _size(node.shape_out())                             # Flatten: a rename, free
    return _done(name, node.kind, n, n, 0, 0, 0, _Cost())


def _limit(k: str, board: Board) -> int:
    return int(LIMITS[k] * board.resources()[k])


def _board(board: Board | str | None) -> Board:
    return board if isinstance(board, Board) else get_board(board)


def estimate(graph_q: Graph, board: Board | str | None = None, reuse: int = 1) -> Estimate:
    """Resources and cycles per step of the kernel for ``graph_q`` on ``board`` (a Board
    or a preset name; default ZCU102).

    ``reuse`` applies to every synapse layer. Raises SnncError for a float graph, a bad
    reuse or board, UnsupportedError for node kinds the kernel does not implement.
    """
    board = _board(board)
    _check_graph(graph_q)
    layer_units(1, 1, reuse)                                # validates reuse
    order, _ = graph_q.schedule()
    nodes = [_node_estimate(graph_q, n, graph_q.nodes[n], int(reuse)) for n in order]
    nodes.append(_control())
    tot = {k: sum(getattr(n, k) for n in nodes) for k in LIMITS}
    avail = board.resources()
    util = {k: tot[k] / avail[k] if avail[k] else math.inf for k in LIMITS}
    violations = tuple(
        f"{RESOURCE_NAMES[k]} {tot[k]:,} > {100 * LIMITS[k]:.0f}% of {avail[k]:,} = "
        f"{_limit(k, board):,}"
        for k in LIMITS if tot[k] > _limit(k, board))
    cycles = sum(n.cycles for n in nodes)
    return Estimate(
        model=graph_q.name, board=board, reuse=int(reuse), nodes=tuple(nodes),
        lut=tot["lut"], ff=tot["ff"], bram18=tot["bram18"], dsp=tot["dsp"],
        cycles_per_step=cycles, latency_us_per_step=cycles / board.pl_clock_hz * 1e6,
        utilization=util, fits=not violations, violations=violations)


def reuse_candidates(graph_q: Graph) -> list[int]:
    """1, 2, 4, ... up to the first power of two >= the largest layer's n_in*n_out."""
    sizes = [int(np.size(n.weight)) for n in graph_q.nodes.values() if isinstance(n, QLinear)]
    top = max(sizes, default=1)
    out = [1]
    while out[-1] < top:
        out.append(out[-1] * 2)
    return out


def choose_reuse(graph_q: Graph, board: Board | str | None = None) -> Estimate:
    """The fitting reuse factor with the fewest cycles per step (ties: fewer LUT).

    If none fits, the estimate closest to fitting (smallest worst ratio of use to limit)
    is returned with ``fits`` False, so :func:`check_fit` can report its numbers.
    """
    board = _board(board)
    _check_graph(graph_q)
    cands = reuse_candidates(graph_q)
    ests = [estimate(graph_q, board, r) for r in cands]
    fitting = [e for e in ests if e.fits]
    if fitting:
        best = min(fitting, key=lambda e: (e.cycles_per_step, e.lut, e.reuse))
    else:
        best = min(ests, key=lambda e: (max(e.utilization[k] / LIMITS[k] for k in LIMITS),
                                        e.reuse))
    return _with_search(best, tuple(cands))


def _with_search(e: Estimate, cands: tuple[int, ...]) -> Estimate:
    return dataclasses.replace(e, reuse_searched=cands)


def check_fit(est: Estimate) -> Estimate:
    """``est`` if it fits its board, else SnncError naming the model, board and numbers."""
    if est.fits:
        return est
    b = est.board
    msg = (f"model '{est.model}' does not fit {b.board} ({b.part}) at reuse {est.reuse}: "
           + "; ".join(est.violations))
    if est.reuse_searched:
        msg += (f" (no reuse factor from {est.reuse_searched[0]} to "
                f"{est.reuse_searched[-1]} fits; this is the closest)")
    else:
        msg += " (try a larger reuse factor or a bigger board)"
    raise SnncError(msg)
