"""Post-training quantization: float graph + calibration inputs -> integer graph.

``quantize(graph, calib, QuantOptions(...))`` returns a graph of the integer kinds of
:mod:`compiler.ir.qnodes` whose arithmetic is defined by
:mod:`compiler.ir.interpret_int` (and ``docs/fixed_point.md``). Scales:

- State: one scale per population (``v_scale``), from the calibration run of the float
  simulator (``record=True``): the largest |v| seen before reset (post-reset |v| plus the
  threshold), |v_reset| and |v_leak|, times ``headroom``, maps to the top of the int16
  range (2**23 for int32 state: 256x finer, with room left for large multipliers).
  Thresholds, leaks and resets are then integers in state units. A shared scale keeps
  argmax over a membrane readout exact and the threshold comparison exact. A Threshold
  layer, and a readout fed directly by synapses, get a unit from their calibrated input
  range (exactly 1 for integer sums of spikes, e.g. a pooling layer of ones).
- Weights: symmetric, per output neuron (output channel for a convolution) or per layer
  (``granularity``); the scale of the synapse's input (per input channel for real inputs,
  1 for spikes, the source's state scale for membrane inputs) is folded into the weights
  first. Weights that are already small integers keep scale 1 (exact). Bias in
  accumulator units; a row whose weights are all zero keeps its bias at a fine scale.
- Requantization: real multiplier ``w_scale_i * gain_i / S_dest`` (gain = (1-beta)*r for
  LIF/LI, r for IF, 1 into a CubaLIF current) becomes ``mult * 2**-shift`` with ``mult``
  in [2**30, 2**31) (or a power of two when ``pow2`` is set: then the weight scale is
  chosen so that the multiplier is exactly a power of two and targets can shift).
- Decays: ``beta_q = round(beta * 2**15)`` (Q0.15).
- Real inputs: per channel asymmetric ``input_bits`` quantization covering the
  calibration range (and 0).

Preserves: the graph's structure (node names, edges, storage choices), except that an
edge feeding a neuron population directly from a non-synapse node gets an explicit
identity QLinear (the requantization needs a place to live). Approximates: the outputs
(measure agreement with :func:`compiler.ir.interpret_int.predict_int`).
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.interpret import simulate
from snnc.compiler.ir.nodes import (
    REAL,
    SPIKE,
    SYNAPSE_KINDS,
    Affine,
    Conv1d,
    Conv2d,
    DelayedLinear,
    Flatten,
    Input,
    Linear,
    MembraneArgmax,
    Node,
    Output,
    SpikeCountArgmax,
    SumPool2d,
    Threshold,
)
from snnc.compiler.ir.qnodes import (
    INPUT_BITS,
    STATE_BITS,
    WEIGHT_BITS,
    QConv,
    QDelayedLinear,
    QInput,
    QLinear,
    QThreshold,
    is_quantized,
    srange,
)
from snnc.compiler.ir.verify import verify
from snnc.compiler.ops import is_population, op_for

GRANULARITIES = ("neuron", "layer")
BIAS_ONLY_STEPS = float(1 << 24)  # resolution of a bias whose weight row is all zero


@dataclass(frozen=True)
class QuantOptions:
    """Options of the quantize pass (each one validated by :meth:`check`)."""

    weight_bits: int = 8          # 4 | 8 | 16
    state_bits: int = 16          # 16 | 32 (membrane and synaptic current)
    granularity: str = "neuron"   # weight scale per output neuron or per layer
    pow2: bool = False            # requantization multipliers exactly powers of two
    input_bits: int = 8           # real-valued inputs: 8 | 16
    headroom: float = 1.25        # state range = headroom x calibrated range

    def check(self) -> "QuantOptions":
        """Raise SnncError naming the offending option."""
        if self.weight_bits not in WEIGHT_BITS:
            raise SnncError(f"quantize: option 'weight_bits' must be one of {WEIGHT_BITS}, "
                            f"got {self.weight_bits!r}")
        if self.state_bits not in STATE_BITS:
            raise SnncError(f"quantize: option 'state_bits' must be one of {STATE_BITS}, "
                            f"got {self.state_bits!r}")
        if self.input_bits not in INPUT_BITS:
            raise SnncError(f"quantize: option 'input_bits' must be one of {INPUT_BITS}, "
                            f"got {self.input_bits!r}")
        if self.granularity not in GRANULARITIES:
            raise SnncError(f"quantize: option 'granularity' must be one of {GRANULARITIES}, "
                            f"got {self.granularity!r}")
        if not (isinstance(self.headroom, (int, float)) and 1.0 <= self.headroom <= 64.0):
            raise SnncError(f"quantize: option 'headroom' must be in [1, 64], "
                            f"got {self.headroom!r}")
        return self


# ------------------------------------------------------------------ small helpers


def quantize_multiplier(m: np.ndarray, pow2: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Real multipliers ``m >= 0`` -> (mult int32, shift int32) with m ~= mult * 2**-shift.

    Normal form: mult in [2**30, 2**31), shift in [0, 62] (tiny m lose bits; m = 0 gives
    mult 0). ``pow2``: m must be (close to) a power of two; mult = 2**max(e, 0),
    shift = max(-e, 0).
    """
    m = np.atleast_1d(np.asarray(m, dtype=np.float64))
    mult = np.zeros(m.shape, dtype=np.int64)
    shift = np.zeros(m.shape, dtype=np.int64)
    for k, x in enumerate(m):
        if not np.isfinite(x) or x < 0:
            raise SnncError(f"quantize: bad requantization multiplier {x!r}")
        if x == 0:
            continue
        if pow2:
            e = int(round(math.log2(x)))
            if e >= 31:
                raise SnncError(f"quantize: requantization multiplier 2**{e} does not fit "
                                "int32 (state scale too fine for these weights)")
            mult[k], shift[k] = (1 << e, 0) if e >= 0 else (1, -e)
            if shift[k] > 62:
                mult[k], shift[k] = 0, 0
            continue
        e = math.floor(math.log2(x))
        sh = 30 - e
        if sh < 0:
            raise SnncError(f"quantize: requantization multiplier {x:.3g} does not fit int32 "
                            "(state scale too fine for these weights)")
        if sh > 62:
            sh = 62
        q = int(round(x * 2.0 ** sh))
        if q >= 1 << 31:  # rounding reached 2**31: halve it
            q, sh = q >> 1, sh - 1
        mult[k], shift[k] = q, sh
    return mult.astype(np.int32), shift.astype(np.int32)


def _compact(a: np.ndarray) -> np.ndarray:
    """One value per layer when all entries agree (keeps tables small), else the array."""
    a = np.asarray(a)
    if a.size and np.all(a == a.reshape(-1)[0]):
        return np.asarray(a.reshape(-1)[0], dtype=a.dtype)
    return a


def _iround(x: np.ndarray, lo: int, hi: int, dtype: Any = np.int32) -> np.ndarray:
    return np.clip(np.round(np.asarray(x, dtype=np.float64)), lo, hi).astype(dtype)


def _vec(x: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A parameter broadcast to a population's shape, flattened (one value per neuron)."""
    return np.broadcast_to(np.asarray(x, dtype=np.float64), shape).reshape(-1).copy()


def _top(state_bits: int) -> int:
    """State value the calibrated range maps to. int16: the top of the range; int32: 2**23,
    which is already 256x finer than int16 and leaves 8 bits so that requantization
    multipliers of large weights still fit int32 and unseen peaks do not saturate."""
    return srange(state_bits)[1] if state_bits <= 16 else 1 << 23


def _dest_scale(s: float, gain: np.ndarray) -> np.ndarray:
    """Scale an input must arrive in so that gain * x lands in state units (inf: no effect)."""
    with np.errstate(divide="ignore"):
        return np.where(gain > 0, s / np.where(gain > 0, gain, 1.0), np.inf)


def _progress(msg: str) -> None:
    print(f"snnc: quantize: {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ calibration input


def check_calibration(graph: Graph, calib: Any) -> dict[str, np.ndarray]:
    """Validate calibration data against the graph's inputs; return it as a dict."""
    if calib is None:
        raise SnncError("quantize: calibration data is required (option 'calib')")
    if not isinstance(calib, dict):
        if len(graph.inputs) != 1:
            raise SnncError(f"calibration data: graph has inputs {graph.inputs}; "
                            "pass a dict keyed by input node")
        calib = {graph.inputs[0]: calib}
    out = {}
    for name in graph.inputs:
        if name not in calib:
            raise SnncError(f"calibration data: no array for input node '{name}'")
        arr = np.asarray(calib[name])
        want = tuple(graph.nodes[name].shape_out())
        if arr.dtype.kind not in "biuf" or arr.ndim != 2 + len(want) \
                or tuple(arr.shape[2:]) != want or arr.shape[0] == 0 or arr.shape[1] == 0:
            raise SnncError(
                f"calibration data for input '{name}': expected a numeric array of shape "
                f"[batch, T, {', '.join(map(str, want))}], got {arr.dtype} "
                f"{list(arr.shape)}")
        if not np.all(np.isfinite(arr)):
            raise SnncError(f"calibration data for input '{name}' has non-finite values")
        out[name] = arr.astype(np.float64)
    return out


# ------------------------------------------------------------------ canonical form


def insert_identity_synapses(graph: Graph) -> Graph:
    """Give every edge into a neuron population from a non-synapse node an identity Linear.

    Preserves the float semantics exactly (``x @ I == x``); the new node is named
    ``<src>__to__<dst>``.
    """
    nodes = dict(graph.nodes)
    edges: list[tuple[str, str]] = []
    changed = False
    for a, b in graph.edges:
        if is_population(graph.nodes[b]) \
                and not isinstance(graph.nodes[a], SYNAPSE_KINDS):
            n = int(np.prod(graph.nodes[b].shape_in()))
            new = f"{a}__to__{b}"
            nodes[new] = Linear(np.eye(n), storage="csc")
            edges += [(a, new), (new, b)]
            changed = True
        else:
            edges.append((a, b))
    return graph.replace(nodes=nodes, edges=tuple(edges)) if changed else graph


# ------------------------------------------------------------------ the pass


class _Quantizer:
    def __init__(self, graph: Graph, calib: dict[str, np.ndarray], opt: QuantOptions) -> None:
        self.g, self.opt = graph, opt
        self.calib = calib
        _progress(f"calibrating '{graph.name}' on {next(iter(calib.values())).shape[0]} "
                  "samples (float simulator)")
        self.res = simulate(graph, calib, record=True)
        self.scale_of: dict[str, np.ndarray] = {}   # node -> scale of its output values
        self.pop_scale: dict[str, np.ndarray] = {}  # population -> scale of x (input units)
        self.new: dict[str, Node] = {}
        self.info: dict[str, Any] = {}

    # state scales ---------------------------------------------------------
    def _absmax(self, name: str, key: str) -> float:
        st = self.res.states.get(name, {})
        return float(np.max(np.abs(st[key]))) if key in st and st[key].size else 0.0

    def _v_scale(self, name: str, node: Node) -> float:
        # Spiking populations: pre-reset values reach the post-reset maximum + threshold.
        bound = self._absmax(name, "v")
        if hasattr(node, "v_threshold"):
            bound += float(np.max(np.abs(node.v_threshold)))
        for f in ("v_reset", "v_leak"):
            if hasattr(node, f):
                bound = max(bound, float(np.max(np.abs(getattr(node, f)))))
        if bound <= 0:
            bound = 1.0
        return bound * self.opt.headroom / _top(self.opt.state_bits)

    def populations(self) -> None:
        """Quantize every neuron population (its op's quantize rule, compiler/ops/<kind>.py);
        record the scale its input must arrive in."""
        for name, node in self.g.items():
            op = op_for(node)
            if op is None or op.quantize is None:
                continue
            q_op, self.pop_scale[name], self.info[name] = op.quantize(self, name, node)
            self.new[name] = q_op
            self.scale_of[name] = np.asarray(1.0 if op.spiking else q_op.v_scale)

    def _input_absmax(self, name: str) -> float:
        """Largest |sum of incoming edges| of ``name`` seen during calibration."""
        tot = None
        for p in self.g.predecessors(name):
            t = self.res.traces[p]
            t = t.reshape(t.shape[:2] + (-1,))
            tot = t if tot is None else tot + t
        return float(np.max(np.abs(tot))) if tot is not None and tot.size else 0.0

    def _exact_ints(self, name: str) -> bool:
        """Every input of ``name`` is a synapse with integer weights (and bias) over spikes.

        Then a unit scale represents the sum exactly (e.g. a pooling or place-assignment
        layer of ones feeding a readout)."""
        qmax = srange(self.opt.weight_bits)[1]
        for p in self.g.predecessors(name):
            node = self.g.nodes[p]
            if not isinstance(node, SYNAPSE_KINDS) or isinstance(node, (Conv1d, Conv2d)):
                return False
            w = np.asarray(node.weight)
            b = np.asarray(getattr(node, "bias", np.zeros(0)))
            if not (np.all(w == np.round(w)) and np.all(b == np.round(b))
                    and (not w.size or np.max(np.abs(w)) <= qmax)):
                return False
            for src in self.g.predecessors(p):
                sn = self.g.nodes[src]
                if (sn.dtype if isinstance(sn, Input) else sn.out_dtype) != SPIKE:
                    return False
        return True

    def stateless_targets(self) -> None:
        """Threshold nodes, and readouts/outputs fed straight by synapses: pick their units."""
        opt = self.opt
        lo, hi = srange(opt.state_bits)
        top = _top(opt.state_bits)
        for name, node in self.g.items():
            if isinstance(node, Threshold):
                thr = np.asarray(node.threshold, dtype=np.float64)
                bound = max(self._input_absmax(name), float(np.max(np.abs(thr))))
                s = (bound if bound > 0 else 1.0) * opt.headroom / top
                preds = self.g.predecessors(name)
                if len(preds) == 1 and isinstance(self.g.nodes[preds[0]], (SumPool2d, Flatten)):
                    # issue 17: fed by a pooling/reshape of integers (a spike MaxPool),
                    # not by a synapse that requantizes: compare in the source's units,
                    # x_int * s > thr <=> x_int > floor(thr / s), exactly.
                    src = np.asarray(self.out_scale(preds[0]), dtype=np.float64)
                    if src.size and np.all(src == src.reshape(-1)[0]):
                        s = float(src.reshape(-1)[0])
                        self.new[name] = QThreshold(
                            shape=tuple(node.shape), state_bits=opt.state_bits, v_scale=s,
                            thr_q=_compact(np.clip(np.floor(thr / s), lo, hi).astype(np.int32)))
                        self.pop_scale[name] = np.asarray(s)
                        self.scale_of[name] = np.asarray(1.0)
                        self.info[name] = {"v_scale": s, "exact": True}
                        continue
                self.new[name] = QThreshold(shape=tuple(node.shape),
                                            thr_q=_compact(_iround(thr / s, lo, hi)),
                                            state_bits=opt.state_bits, v_scale=s)
                self.pop_scale[name] = np.asarray(s)
                self.scale_of[name] = np.asarray(1.0)
                self.info[name] = {"v_scale": s}
            elif isinstance(node, (MembraneArgmax, Output)) and any(
                    isinstance(self.g.nodes[p], SYNAPSE_KINDS)
                    for p in self.g.predecessors(name)):
                if not all(isinstance(self.g.nodes[p], SYNAPSE_KINDS)
                           for p in self.g.predecessors(name)):
                    raise UnsupportedError(f"quantize: node '{name}' sums synapse outputs "
                                           "with other values")
                bound = self._input_absmax(name)
                exact = self._exact_ints(name) and bound <= top
                s = 1.0 if exact else (bound if bound > 0 else 1.0) * opt.headroom / top
                self.pop_scale[name] = np.asarray(s)
                self.scale_of[name] = np.asarray(s)
                self.info[name] = {"v_scale": s, "exact": bool(exact)}

    # inputs -------------------------------------------------------------
    def inputs(self) -> None:
        bits = self.opt.input_bits
        qlo, qhi = srange(bits)
        for name in self.g.inputs:
            node = self.g.nodes[name]
            if node.dtype == SPIKE:
                self.new[name] = QInput(shape=tuple(node.shape), dtype=SPIKE,
                                        scale=np.array(1.0, np.float32),
                                        zero_point=np.array(0, np.int32), bits=1)
                self.scale_of[name] = np.asarray(1.0)
                continue
            x = self.calib[name]
            shape = tuple(node.shape)
            # One (scale, zero point) per channel: the last axis of a 1-D input, else axis 0.
            red = (0, 1) if len(shape) == 1 else (0, 1, *range(3, 2 + len(shape)))
            lo = np.minimum(x.min(axis=red), 0.0)
            hi = np.maximum(x.max(axis=red), 0.0)
            scale = ((hi - lo) / float((1 << bits) - 1)).astype(np.float32)
            scale = np.where(scale > 0, scale, np.float32(1.0)).astype(np.float32)
            zp = np.clip(np.round(qlo - lo / scale.astype(np.float64)), qlo, qhi).astype(np.int32)
            if len(shape) > 1:
                scale = scale.reshape((-1,) + (1,) * (len(shape) - 1))
                zp = zp.reshape(scale.shape)
            self.new[name] = QInput(shape=shape, dtype=REAL, scale=_compact(scale),
                                    zero_point=_compact(zp), bits=bits)
            self.scale_of[name] = scale.astype(np.float64)
            self.info[name] = {"input_bits": bits}

    # value scales ---------------------------------------------------------
    def out_scale(self, name: str) -> np.ndarray:
        """Scale of the integer values node ``name`` emits (broadcast to its output shape)."""
        if name in self.scale_of:
            return self.scale_of[name]
        node = self.g.nodes[name]
        if isinstance(node, SpikeCountArgmax):
            s = np.asarray(1.0)
        elif isinstance(node, (Output, MembraneArgmax, Flatten, SumPool2d)):
            preds = self.g.predecessors(name)
            s = np.asarray(self.out_scale(preds[0]))
            if isinstance(node, Flatten):
                s = np.broadcast_to(s, node.shape_in()).reshape(node.shape_out())
            if isinstance(node, SumPool2d):  # sums integers: needs one scale per channel
                ch = np.broadcast_to(s, node.shape_in()).reshape(node.shape_in()[0], -1)
                if len(preds) != 1 or not np.all(ch == ch[:, :1]):
                    raise UnsupportedError(f"quantize: pooling '{name}' needs a single "
                                           "source with one scale per channel")
                s = np.broadcast_to(ch[:, :1, None], node.shape_out())
        else:
            raise UnsupportedError(f"quantize: node '{name}' ({node.kind}) is not supported "
                                   "by the integer pipeline yet")
        self.scale_of[name] = s
        return s

    # synapses -------------------------------------------------------------
    def synapse(self, name: str, node: Node) -> None:
        opt = self.opt
        succ = self.g.successors(name)
        if len(succ) != 1 or succ[0] not in self.pop_scale:
            raise UnsupportedError(
                f"quantize: synapse node '{name}' must feed exactly one neuron population, "
                f"Threshold or readout (it feeds {succ})")
        dst = succ[0]
        dst_node = self.new.get(dst)
        conv = isinstance(node, (Conv1d, Conv2d))
        wf = np.asarray(node.weight, dtype=np.float64)
        n_out = int(wf.shape[0])
        # Scale of the input values: per input index, all predecessors must agree.
        ins = [np.broadcast_to(self.out_scale(p), self.g.nodes[p].shape_out()).reshape(-1)
               for p in self.g.predecessors(name)]
        if any(not np.allclose(ins[0], s, rtol=0, atol=0) for s in ins[1:]):
            raise UnsupportedError(f"quantize: node '{name}' sums inputs of different scales")
        s_in = ins[0]
        n_dest = int(np.prod(node.shape_out()))
        dest = np.broadcast_to(self.pop_scale[dst], (n_dest,)).astype(np.float64)
        if conv:
            # One scale per input channel and per output channel (constant over positions).
            cin = int(node.shape_in()[0])
            ch = s_in.reshape(cin, -1)
            dch = dest.reshape(n_out, -1)
            if not (np.all(ch == ch[:, :1]) and np.all(dch == dch[:, :1])):
                raise UnsupportedError(f"quantize: convolution '{name}': scales vary within a "
                                       "channel")
            cpg_in, cpg_out = int(wf.shape[1]), n_out // int(node.groups)
            idx = (np.arange(n_out)[:, None] // cpg_out) * cpg_in + np.arange(cpg_in)[None, :]
            wf = wf * ch[:, 0][idx].reshape(idx.shape + (1,) * (wf.ndim - 2))
            w = wf.reshape(n_out, -1)
            s_dest = dch[:, 0]
        else:
            if s_in.size != wf.shape[1]:
                raise UnsupportedError(f"quantize: node '{name}': input scale size mismatch")
            w = wf * s_in[None, :]
            s_dest = dest
        n_in = int(w.shape[1])
        qmax = srange(opt.weight_bits)[1]
        rowmax = np.max(np.abs(w), axis=1) if n_in else np.zeros(n_out)
        need = rowmax / qmax  # smallest weight scale that fits
        b = np.asarray(getattr(node, "bias", np.zeros(0)), dtype=np.float64)
        if b.size:  # a row of zero weights still carries its bias: give it a fine scale
            need = np.where(need > 0, need, np.abs(b) / BIAS_ONLY_STEPS)
        if opt.granularity == "layer":
            need = np.full(n_out, float(np.max(need)) if need.size else 0.0)
        need = np.where(need > 0, need, 1.0)
        live = np.isfinite(s_dest)  # rows whose target ignores its input (gain 0)
        s_fin = np.where(live, s_dest, 1.0)
        if opt.pow2:
            e = np.ceil(np.log2(need / s_fin) - 1e-12)
            if opt.granularity == "layer" and live.any():
                e = np.where(live, np.max(e[live]), e)
            w_scale = np.where(live, np.exp2(e) * s_fin, need)
        else:
            w_scale = need
        b_all = np.asarray(getattr(node, "bias", np.zeros(0)), dtype=np.float64)
        if (n_in and np.all(w == np.round(w)) and np.max(np.abs(w)) <= qmax
                and np.all(b_all == np.round(b_all))
                and (not opt.pow2 or np.all(s_fin == 1.0))):
            w_scale = np.ones(n_out)  # integer weights (e.g. a layer of ones): keep exact
        wlo, whi = srange(opt.weight_bits)
        wdt = np.int8 if opt.weight_bits <= 8 else np.int16
        w_q = _iround(w / w_scale[:, None], wlo, whi, wdt)
        mult, shift = quantize_multiplier(np.where(live, w_scale / s_fin, 0.0), pow2=opt.pow2)
        bias = np.zeros(0, np.int32)
        if isinstance(node, (Affine, Conv1d, Conv2d)) and np.asarray(node.bias).size:
            bias = _iround(np.asarray(node.bias, np.float64) / w_scale, *srange(32))
        # A population integrates its input into the first state of its spec (e.g. the
        # CubaLIF current): the synapse saturates to that state's width.
        dst_op = op_for(dst_node)
        out_bits = (dst_op.state[0].bits(dst_node) if dst_op is not None and dst_op.state
                    else getattr(dst_node, "state_bits", opt.state_bits))
        common = dict(weight=w_q, bias=bias, mult=_compact(mult), shift=_compact(shift),
                      weight_bits=opt.weight_bits, out_bits=out_bits,
                      w_scale=_compact(w_scale))
        if conv:
            one = isinstance(node, Conv1d)

            def tup(v: Any) -> tuple[int, ...]:
                return (int(v),) if one else tuple(int(i) for i in v)

            common["weight"] = w_q.reshape(np.shape(node.weight))
            self.new[name] = QConv(input_shape=tup(node.input_shape), stride=tup(node.stride),
                                   padding=tup(node.padding), dilation=tup(node.dilation),
                                   groups=int(node.groups), **common)
        elif isinstance(node, DelayedLinear):
            self.new[name] = QDelayedLinear(delay=np.asarray(node.delay, dtype=np.int32),
                                            storage=node.storage, **common)
        else:
            self.new[name] = QLinear(storage=node.storage, **common)
        self.info[name] = {"w_scale_min": float(np.min(w_scale)),
                           "w_scale_max": float(np.max(w_scale)),
                           "nonzero": int(np.count_nonzero(w_q)),
                           "nonzero_float": int(np.count_nonzero(node.weight))}

    def run(self) -> Graph:
        self.inputs()
        self.populations()
        self.stateless_targets()
        for name, node in self.g.items():
            if isinstance(node, SYNAPSE_KINDS):
                self.synapse(name, node)
        for name, node in self.g.items():
            if name in self.new:
                continue
            if isinstance(node, (Output, SpikeCountArgmax, MembraneArgmax, Flatten, SumPool2d)):
                self.out_scale(name)  # also rejects readouts of unsupported sources
                self.new[name] = node
            elif isinstance(node, Input):  # pragma: no cover - handled in inputs()
                continue
            else:
                raise UnsupportedError(f"quantize: node '{name}' ({node.kind}) is not "
                                       "supported by the integer pipeline yet")
        for name, node in self.g.items():
            if isinstance(node, MembraneArgmax) and np.asarray(self.out_scale(name)).size > 1:
                raise UnsupportedError(f"quantize: readout '{name}' would compare values of "
                                       "different scales")
        for name, node in self.g.items():  # the C backend plans event-driven work by them
            if (node.dtype if isinstance(node, Input) else getattr(node, "out_dtype", None)) \
                    == SPIKE and name in self.res.traces:
                self.info.setdefault(name, {})["spike_rate"] = float(
                    np.mean(self.res.traces[name] != 0))
        meta = dict(self.g.metadata)
        meta["quantization"] = {"options": asdict(self.opt), "nodes": self.info,
                                "calibration_samples":
                                    int(next(iter(self.calib.values())).shape[0])}
        return self.g.replace(nodes={k: self.new[k] for k in self.g.nodes}, metadata=meta)


def quantize(graph: Graph, calib: dict[str, np.ndarray] | np.ndarray,
             options: QuantOptions | None = None) -> Graph:
    """Quantize ``graph`` using float calibration inputs ``calib`` (``[B, T, ...]``).

    Raises SnncError naming the option or input at fault; the result passes ``verify``.
    """
    opt = (options or QuantOptions()).check()
    if is_quantized(graph):
        raise SnncError(f"quantize: graph '{graph.name}' is already quantized")
    verify(graph)
    data = check_calibration(graph, calib)
    graph = insert_identity_synapses(graph)
    return verify(_Quantizer(graph, data, opt).run())
