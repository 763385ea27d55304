"""Analytical LUT / FF / BRAM18 / DSP and cycles-per-step estimate of the MPSoC HLS kernel.

This is an analytical estimate from rules of thumb, NOT calibrated against Vitis HLS or
Vivado synthesis reports (the vendor tools are not available here). Use it to choose the
reuse factor and to reject models that clearly do not fit; expect real reports to differ
by tens of percent (see "Caveats" in ``targets/mpsoc/README.md``).

Kernel model (the kernel library ``compiler/codegen/templates/hls/snnc_hls.h`` and
``compiler/codegen/hls.py``). One call = one timestep; nodes run one after another in
``Graph.schedule()`` order (no dataflow); AXI4-Lite for control and the in/out arrays.
Parameter tables hold one entry per neuron, even when 0-d in the graph.

Widths. Memories (ROM tables, states, buffers, the history ring) keep the kernel's
declared C element widths: synthesis allocates words as declared (int8/int16 weights,
uint8/uint16 delays, int32 parameter tables and value buffers, int16/int32 states).
Arithmetic and registers use the widths the values need: real input ``bits + 1``, spikes
1 bit (a ``uint8_t`` holding 0/1 keeps 7 constant-zero bits that synthesis removes),
state ``state_bits``, synapse accumulators the layer's static bound on ``|acc|``
(:func:`compiler.passes.plan.acc_bound`; 33-40 bits for the zoo). The kernel declares
``int64_t`` accumulators and ``int32_t`` value buffers for plain g++; unless synthesis
narrows them (``ap_int`` under ``__SYNTHESIS__``, or range analysis), a real-valued MAC
takes 2 DSP48E2 instead of 1 and the accumulators up to twice the LUT/FF counted here.

* Synapse (QLinear, QDelayedLinear), weight ``[n_out, n_in]``, reuse factor R (hls4ml:
  how often each multiplier is reused per call): ``units = layer_units(n_in, n_out, R)``
  MAC units, ``rounds = ceil(n_in*n_out / units)`` pipelined rounds at II=1. Flattened
  weights ``k = i*n_in + j`` ARRAY_PARTITION cyclic factor=units: ``units`` ROM banks of
  depth ``rounds``. One round's products go to ``ports = min(n_out, ceil(units/n_in))``
  outputs (regular index pattern, as in hls4ml's resource strategy): each port sums its
  products in an adder tree and adds them to its accumulator. Accumulators are registers
  (complete partition, ``n_out x acc_bits`` FF); a port reaches the ``ceil(n_out/ports)``
  it visits through a mux. The input vector is partitioned completely (registers, counted
  at its producer); a unit visiting ``ceil(n_in/units)`` inputs reads them through a mux.
  Then a loop over n_out at II=1 adds the bias, saturates to int32 and requantizes
  (32x31-bit multiply). Spike-valued inputs need no multiplier (w AND x into the tree);
  real-valued ones one DSP48E2 per unit (more for operands above 27x18 bits). Index
  arithmetic (``k / n_in``, ``k % n_in``) is assumed strength-reduced to counters.
  QDelayedLinear adds the delay tables (banked as the weights) and a history ring
  ``[(max_delay+1) x n_in]`` (uint8 for spike inputs, int32 otherwise; one per layer),
  split into ``min(n_in, units)`` banks, replicated when more than 2 units read one bank
  per cycle, plus a ring push loop over n_in.
* Population (QLIF, QCubaLIF, QLI, QIF), QThreshold, readouts: one loop over N at II=1;
  state and parameter arrays of depth N; spike outputs kept in registers (their consumers
  read them in parallel). A node with several sources first sums them into an int64
  local array (``SUM_*`` loop over N).
* QInput copies the AXI4-Lite array into its buffer; Output copies its source into its
  buffer, then into the AXI4-Lite output array; Flatten is a copy.

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
acc bits                    -       bit_length(acc_bound) + 1, at most 64
SPIKE_BITS                  1       a spike in a register or a datapath
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
layer's history); population ``N + POP_DEPTH``; copies and source sums ``N + COPY_DEPTH``
each; plus ``KERNEL_OVERHEAD``. The A53's AXI4-Lite transfers of the inputs and outputs are not
included (host side).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snnc.compiler import ops
from snnc.compiler.codegen.hls import layer_units  # the kernel generator's own rule
from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import (
    SPIKE,
    Flatten,
    Input,
    MembraneArgmax,
    Node,
    Output,
    SpikeCountArgmax,
)
from snnc.compiler.ir.qnodes import (
    QConv,
    QDelayedLinear,
    QInput,
    QLinear,
    QThreshold,
    is_quantized,
)
from snnc.targets.mpsoc.profile import LIMITS, RESOURCE_NAMES, Board, get_board

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
    """Width the values ``node`` emits need (registers and arithmetic)."""
    if _is_spike(node):
        return SPIKE_BITS
    if isinstance(node, QInput):
        return int(node.bits) + 1           # x_q - zero_point needs one more bit
    if isinstance(node, QLinear):
        return int(node.out_bits)
    if hasattr(node, "state_bits"):
        return int(node.state_bits)
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


def _acc_bits(graph: Graph, name: str, prod_bits: int) -> int:
    """Accumulator width the layer needs: the static bound on |acc| (weights, bias and the
    input range, compiler.passes.plan.acc_bound) plus a sign bit, at most 64."""
    from snnc.compiler.passes.plan import acc_bound

    return max(prod_bits, min(64, int(acc_bound(graph, name)).bit_length() + 1))


def _input_sum(c: _Cost, graph: Graph, name: str, n: int) -> int:
    """A node with several sources sums them first (``SUM_*`` loop into an int64 local
    array); returns its cycles (0 for a single source)."""
    edges = len(graph.predecessors(name))
    if edges <= 1:
        return 0
    _, in_bits = _source(graph, name)
    c.mem(n, 64)
    c.logic((edges - 1) * (in_bits + math.ceil(math.log2(edges))) * ADD_LUT_PER_BIT)
    c.loop(1)
    return n + COPY_DEPTH


def _synapse(graph: Graph, name: str, node: QLinear, reuse: int) -> NodeEstimate:
    n_out, n_in = (int(s) for s in np.shape(node.weight))
    units = layer_units(n_in, n_out, reuse)
    rounds = -(-(n_in * n_out) // units)
    spike_in, in_bits = _source(graph, name)
    w_bits = int(node.weight_bits)
    c = _Cost()
    sum_cycles = _input_sum(c, graph, name, n_in)
    if spike_in:
        mult_lut = units * w_bits                # x ? w : 0 into the tree
        prod_bits = w_bits
    else:
        mult_lut = 0
        c.dsp += units * dsp_mult(w_bits, in_bits)
        prod_bits = w_bits + in_bits
    acc_bits = _acc_bits(graph, name, prod_bits)
    ports = min(n_out, -(-units // n_in))
    per_port = -(-units // ports)
    tree_bits = min(acc_bits, prod_bits + math.ceil(math.log2(per_port))) if per_port > 1 else 0
    tree_lut = (units - ports) * tree_bits * ADD_LUT_PER_BIT
    acc_lut = ports * acc_bits * ADD_LUT_PER_BIT
    # Accumulators are registers (complete partition); each port reads the one it adds to
    # through a mux over the ceil(n_out/ports) it visits and enables its write.
    acc_mux = ports * acc_bits * mux_luts(-(-n_out // ports)) + (n_out if rounds > 1 else 0)
    # A unit visits ceil(n_in/units) inputs of the completely partitioned input vector
    # (a delayed layer reads its own history banks instead: no mux).
    x_mux = 0 if isinstance(node, QDelayedLinear) else \
        units * in_bits * mux_luts(-(-n_in // min(units, n_in)))
    c.logic(mult_lut + tree_lut + acc_lut + acc_mux + x_mux)
    c.ff += n_out * acc_bits                                # accumulator registers
    w_store = 8 if w_bits <= 8 else 16                      # int8_t / int16_t tables
    c.mem(rounds, w_store, banks=units)                     # weight ROM banks
    for _ in ("bias", "mult", "shift"):
        c.mem(n_out, 32)                                    # int32_t tables
    c.mem(n_out, 32)                                        # output buffer y (int32_t)
    c.logic(REQUANT_LUT, REQUANT_FF)
    c.dsp += REQUANT_DSP
    c.loop(3)                                               # MAC, requantize, clear y
    cycles = (sum_cycles + rounds + MAC_DEPTH + math.ceil(math.log2(units)) + n_out
              + REQUANT_DEPTH)
    if isinstance(node, QDelayedLinear):
        d = int(node.max_delay)
        c.mem(rounds, 8 if d < 256 else 16, banks=units)    # delay banks, as the weights
        banks = min(n_in, units)
        depth = (d + 1) * -(-n_in // banks)
        readers = -(-units // banks)
        h_store = 8 if spike_in else 32                     # uint8_t / int32_t ring
        c.mem(depth, h_store, banks=banks * -(-readers // 2))  # 2 read ports per copy
        addr_bits = max(1, math.ceil(math.log2(depth))) if depth > 1 else 0
        c.logic(units * 2 * addr_bits)                      # (ptr - delay) mod (D+1)
        c.loop(2)                                           # push, clear
        cycles += n_in + COPY_DEPTH                         # push this step's input
    return _done(name, node.kind, n_in, n_out, units, rounds, cycles, c)


def _population(graph: Graph, name: str, node: Node) -> NodeEstimate:
    """A neuron population from its op (compiler/ops/<kind>.py): one memory per state
    variable of the state spec, and the datapath the op's ``hls_cost`` declares."""
    op = ops.op_for(node)
    cost = op.hls_cost if op is not None else {}
    n = _size(node.shape)
    c = _Cost()
    cycles = _input_sum(c, graph, name, n)
    _, in_bits = _source(graph, name)
    bits = {sv.name: sv.bits(node) for sv in op.state}
    for b in bits.values():
        c.mem(n, c_bits(b))                                 # state: membrane, current, ..
    w = max(bits.values())
    for sv in cost.get("decayed", ()):
        c.dsp += dsp_mult(Q15_BITS, bits[sv])               # Q0.15 decay products
    if "mult" in cost:                                      # state * mult (CubaLIF's i->v)
        c.dsp += dsp_mult(bits[cost["mult"]], MULT_BITS)
        c.logic(BARREL_LUT)
    if cost.get("out_buffer"):
        c.mem(n, 32)                                        # output buffer y (int32_t)
    for _ in range(cost["params"]):
        c.mem(n, 32)                                        # int32_t tables
    c.logic(cost["ops"] * max(w, in_bits) * ADD_LUT_PER_BIT)
    if _is_spike(node):
        c.ff += n * SPIKE_BITS                              # spike outputs, registers
    c.loop(3)                                               # update, clear v, clear y
    depth = CUBA_DEPTH if cost.get("deep") else POP_DEPTH
    return _done(name, node.kind, n, n, 0, 0, cycles + n + depth, c)


def _threshold(graph: Graph, name: str, node: QThreshold) -> NodeEstimate:
    n = _size(node.shape)
    c = _Cost()
    cycles = _input_sum(c, graph, name, n)
    c.mem(n, 32)                                            # thr_q
    c.logic(64 * ADD_LUT_PER_BIT)                           # int64 compare
    c.ff += n * SPIKE_BITS
    c.loop(2)
    return _done(name, node.kind, n, n, 0, 0, cycles + n + THRESH_DEPTH, c)


def _readout(graph: Graph, name: str, node: Node) -> NodeEstimate:
    n = _size(node.shape)
    c = _Cost()
    cycles = _input_sum(c, graph, name, n)
    c.mem(n, 32)                                            # int32 count / membrane
    c.logic(3 * 32 * ADD_LUT_PER_BIT)                       # saturate, add or max, select
    c.loop(2)
    return _done(name, node.kind, n, n, 0, 0, cycles + n + READOUT_DEPTH, c)


def _input(name: str, node: QInput) -> NodeEstimate:
    n = _size(node.shape)
    c = _Cost()
    spike = node.dtype == SPIKE
    c.mem(n, 8 if spike else c_bits(int(node.bits)))        # AXI4-Lite input array
    if not spike:
        c.mem(n, 32)                                        # zero_point (int32_t)
        c.logic(_value_bits(node) * ADD_LUT_PER_BIT)        # x_q - zero_point
    c.ff += n * _value_bits(node)                           # partitioned input vector
    c.loop(2)
    return _done(name, node.kind, n, n, 0, 0, n + COPY_DEPTH, c)


def _copy(graph: Graph, name: str, node: Node) -> NodeEstimate:
    """Flatten and Output copy their (summed) input into their own buffer; Output then
    copies that into the AXI4-Lite output array."""
    n = _size(node.shape_out())
    c = _Cost()
    cycles = _input_sum(c, graph, name, n) + n + COPY_DEPTH
    src = [_producer(graph, p) for p in graph.predecessors(name)]
    if len(src) == 1 and _is_spike(src[0]):
        c.ff += n * SPIKE_BITS
    else:
        c.mem(n, 32)
    c.loop(2)
    if isinstance(node, Output):
        c.mem(n, 32)                                        # AXI4-Lite output array
        c.loop(1)
        cycles += n + COPY_DEPTH
    return _done(name, node.kind, n, n, 0, 0, cycles, c)


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
        op = ops.op_for(node)
        if not (isinstance(node, (QInput, QLinear, QThreshold, SpikeCountArgmax,
                                  MembraneArgmax, Output, Flatten))
                or (op is not None and op.hls_cost and type(node) is op.quant_cls)):
            raise UnsupportedError(f"node '{name}': kind {node.kind} is not supported by "
                                   "the MPSoC kernel (expected a quantized graph)")


def _node_estimate(graph: Graph, name: str, node: Node, reuse: int) -> NodeEstimate:
    if isinstance(node, QLinear):
        return _synapse(graph, name, node, reuse)
    if ops.is_population(node):
        return _population(graph, name, node)
    if isinstance(node, QThreshold):
        return _threshold(graph, name, node)
    if isinstance(node, (SpikeCountArgmax, MembraneArgmax)):
        return _readout(graph, name, node)
    if isinstance(node, QInput):
        return _input(name, node)
    return _copy(graph, name, node)                         # Flatten, Output


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
