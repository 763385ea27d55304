"""Running a graph on the virtual RRAM chip.

A :class:`Chip` is a graph plus its programmed crossbars (:mod:`targets.rram.crossbar`).
:func:`run_chip` reuses the float reference simulator's scheduler
(:func:`compiler.ir.interpret.simulate`) with a step rule that replaces each mapped
synapse node by crossbar reads and delegates everything else (neurons, readouts, digital
synapse layers) to the simulator's own rule, so neurons keep exactly the reference
semantics. It also counts the events the energy model needs.

Quantized graphs (QLinear / QDelayedLinear, integer weights) run the same way on the
integer simulator's rules (:func:`compiler.ir.interpret_int.int_step`): a mapped layer's
crossbar read gives the accumulator in integer weight units, rounded to the nearest
integer (half up) after the digital sum of the row tiles' ADC outputs; then the integer
rules add the bias, saturate to int32 and requantize (docs/fixed_point.md). On an ideal
device with an exact level grid (:attr:`targets.rram.crossbar.LayerMap.exact`) this is
:func:`compiler.ir.interpret_int.simulate_int` bit for bit (tested).

Chips are saved as ``.npz`` (atomic write): the programmed conductances, stuck-at codes
and relaxation draws of every cell plus a JSON header with the device, the seed and the
graph's content hash. Loading checks the hash, so a chip is only ever re-read with the
graph it was programmed for.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import FormatError, SnncError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.interpret import SimResult, _step, simulate
from snnc.compiler.ir.interpret_int import int_step, quantize_inputs, requant, sat
from snnc.compiler.ir.nodes import SYNAPSE_KINDS, Affine, DelayedLinear, Node
from snnc.compiler.ir.qnodes import (
    QSYNAPSE_KINDS,
    QDelayedLinear,
    QLinear,
    is_quantized,
)
from snnc.compiler.ops import is_population
from snnc.targets.rram.crossbar import (
    ProgrammedLayer,
    ReadCounters,
    map_graph,
    program,
    read,
)
from snnc.targets.rram.device import DeviceModel, device_from_dict

CHIP_FORMAT = "snnc-rram-chip"
CHIP_VERSION = 1


def digital_nodes(graph: Graph) -> tuple[str, ...]:
    """Synapse nodes the graph asks to keep digital (``metadata["rram"]["digital"]``)."""
    meta = (graph.metadata or {}).get("rram", {}) or {}
    d = meta.get("digital", []) if isinstance(meta, dict) else []
    return tuple(str(n) for n in d)


@dataclass
class Chip:
    """A programmed virtual chip: the graph, the device and every layer's cells."""

    graph: Graph
    device: DeviceModel
    seed: int
    layers: list[ProgrammedLayer]
    digital: tuple[str, ...] = ()


def flash_chip(graph: Graph, device: DeviceModel, seed: int,
               digital: tuple[str, ...] | None = None, strict: bool = False) -> Chip:
    """Map ``graph`` and program a chip with ``seed`` (same seed, same conductances).

    ``strict`` (quantized graphs): raise :class:`SnncError` naming the node and the numbers
    if the device's level grid cannot hold a layer's integer weights exactly, instead of
    rounding them onto it."""
    dig = digital_nodes(graph) if digital is None else tuple(digital)
    layers = map_graph(graph, device, dig, strict=strict)
    return Chip(graph=graph, device=device, seed=int(seed), layers=program(layers, device, seed),
                digital=dig)


# ------------------------------------------------------------------ save / load


def save_chip(chip: Chip, path: str | Path) -> Path:
    """Write the programmed state to ``path`` (.npz, atomically)."""
    from snnc.compiler.ir.serialize import atomic_write, graph_hash

    arrays: dict[str, np.ndarray] = {}
    layers = []
    for i, pl in enumerate(chip.layers):
        lm = pl.layer
        layers.append({"node": lm.node, "kind": lm.kind, "n_in": lm.n_in, "n_out": lm.n_out,
                       "delays": lm.delays})
        for k in range(lm.n_matrices):
            for key, arr in (("g_pos", pl.g_pos), ("g_neg", pl.g_neg),
                             ("stuck_pos", pl.stuck_pos), ("stuck_neg", pl.stuck_neg),
                             ("relax_pos", pl.relax_pos), ("relax_neg", pl.relax_neg)):
                arrays[f"l{i}_m{k}_{key}"] = arr[k]
    header = {"format": CHIP_FORMAT, "version": CHIP_VERSION, "seed": chip.seed,
              "graph_hash": graph_hash(chip.graph), "model": chip.graph.name,
              "device": chip.device.to_dict(), "digital": list(chip.digital), "layers": layers}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    p = Path(path)
    atomic_write(p, lambda f: np.savez_compressed(f, **arrays))
    return p


def load_chip(path: str | Path, graph: Graph) -> Chip:
    """Read a chip saved by :func:`save_chip` for ``graph`` (FormatError if it is not one,
    or was programmed for another graph)."""
    from snnc.compiler.ir.serialize import graph_hash

    p = Path(path)
    if not p.exists():
        raise FormatError("no such chip file (run `snnc flash BUILD --device sim` first)", p)
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        header = json.loads(bytes(data.pop("header")).decode())
    except (OSError, ValueError, KeyError, EOFError) as e:
        raise FormatError(f"not a readable rram chip file ({e})", p) from None
    if header.get("format") != CHIP_FORMAT or header.get("version") != CHIP_VERSION:
        raise FormatError(f"not an {CHIP_FORMAT} v{CHIP_VERSION} file", p)
    if header["graph_hash"] != graph_hash(graph):
        raise FormatError("chip was programmed for another graph (content hash differs); "
                          "flash it again", p)
    dev = device_from_dict(header["device"])
    dig = tuple(header["digital"])
    maps = map_graph(graph, dev, dig)
    if [m.node for m in maps] != [d["node"] for d in header["layers"]]:
        raise FormatError("chip layers do not match the graph's synapse nodes", p)
    layers = []
    for i, lm in enumerate(maps):
        try:
            parts = {key: [data[f"l{i}_m{k}_{key}"] for k in range(lm.n_matrices)]
                     for key in ("g_pos", "g_neg", "stuck_pos", "stuck_neg", "relax_pos",
                                 "relax_neg")}
        except KeyError as e:
            raise FormatError(f"chip file lacks array {e}", p) from None
        for key, arrs in parts.items():
            if any(a.shape != (lm.n_in, lm.n_out) for a in arrs):
                raise FormatError(f"layer '{lm.node}': {key} has the wrong shape", p)
        layers.append(ProgrammedLayer(lm, **parts).settle(dev))
    return Chip(graph=graph, device=dev, seed=int(header["seed"]), layers=layers, digital=dig)


# ------------------------------------------------------------------ running


@dataclass
class Activity:
    """Events of a chip run, summed over samples (inputs of :mod:`targets.rram.energy`)."""

    samples: int = 0
    steps: int = 0
    reads: ReadCounters = field(default_factory=ReadCounters)
    neuron_updates: float = 0.0       # digital neuron state updates
    neuron_layer_steps: float = 0.0   # (sample, population, step) triples
    neuron_serial_cycles: float = 0.0  # sum over (sample, step) of ceil(n / lanes) per population
    digital_synops: float = 0.0       # synaptic events of layers kept digital
    bias_adds: float = 0.0
    xbar_layers: int = 0
    per_layer_steps: dict[str, float] = field(default_factory=dict)

    def add(self, o: "Activity") -> None:
        self.samples += o.samples
        self.steps = max(self.steps, o.steps)
        self.reads.add(o.reads)
        for k in ("neuron_updates", "neuron_layer_steps", "neuron_serial_cycles",
                  "digital_synops", "bias_adds"):
            setattr(self, k, getattr(self, k) + getattr(o, k))
        self.xbar_layers = max(self.xbar_layers, o.xbar_layers)


def _int_synapse_out(node: QLinear, y: np.ndarray) -> np.ndarray:
    """Crossbar result in integer weight units -> the node's output by the integer rules:
    round to the accumulator, + bias, sat32, requantize (compiler.ir.interpret_int)."""
    # Bounded first: a clipped ADC keeps y finite, but never let a cast wrap around.
    acc = np.floor(np.clip(y, -2.0 ** 62, 2.0 ** 62) + 0.5).astype(np.int64)
    if np.asarray(node.bias).size:
        acc = acc + np.asarray(node.bias, dtype=np.int64)
    return requant(sat(acc, 32), node.mult, node.shift, node.out_bits)


def _chip_rule(chip: Chip, rng: np.random.Generator | None, act: Activity) -> Any:
    by_id = {id(chip.graph.nodes[pl.layer.node]): pl for pl in chip.layers}
    dev = chip.device
    lanes = int(dev.neuron_lanes)
    quantized = is_quantized(chip.graph)
    # Everything that is not a crossbar read follows the graph's own simulator.
    base_step = int_step if quantized else _step
    synapse_kinds = SYNAPSE_KINDS + QSYNAPSE_KINDS

    def rule(node: Node, x: np.ndarray, st: dict[str, np.ndarray], g: Graph) -> np.ndarray:
        pl = by_id.get(id(node))
        bsz = x.shape[0]
        if pl is None:
            if is_population(node):  # a neuron op (compiler/ops/)
                n = int(np.prod(node.shape_out()))
                act.neuron_updates += bsz * n
                act.neuron_layer_steps += bsz
                act.neuron_serial_cycles += bsz * math.ceil(n / lanes)
            elif isinstance(node, synapse_kinds) and getattr(node, "weight", None) is not None:
                w = np.asarray(node.weight)
                if w.ndim == 2:
                    fan = np.count_nonzero(w, axis=0)           # per input
                    act.digital_synops += float(((x.reshape(bsz, -1) != 0) @ fan).sum())
            return base_step(node, x, st, g)
        xf = x.reshape(bsz, -1).astype(np.float64)
        if isinstance(node, (DelayedLinear, QDelayedLinear)):
            dmax = max(pl.layer.delays)
            hist = st.setdefault("history", np.zeros((dmax + 1, bsz, xf.shape[1])))
            ptr = int(st.get("ptr", 0))
            hist[ptr] = xf
            y = np.zeros((bsz, pl.layer.n_out))
            for k, d in enumerate(pl.layer.delays):
                y += read(pl, k, hist[(ptr - d) % (dmax + 1)], dev, rng, act.reads)
            st["ptr"] = np.asarray((ptr + 1) % (dmax + 1))
            return _int_synapse_out(node, y) if quantized else y
        y = read(pl, 0, xf, dev, rng, act.reads)
        if quantized:
            if np.asarray(node.bias).size:
                act.bias_adds += bsz * pl.layer.n_out
            return _int_synapse_out(node, y)
        if isinstance(node, Affine):
            act.bias_adds += bsz * pl.layer.n_out
            y = y + node.bias
        return y

    return rule


def chip_inputs(chip: Chip, x: np.ndarray | dict[str, np.ndarray]
                ) -> np.ndarray | dict[str, np.ndarray]:
    """What the chip's graph is fed: for a quantized graph, float inputs are quantized
    (:func:`compiler.ir.interpret_int.quantize_inputs`) and integer arrays are taken as
    already quantized; a float graph takes ``x`` as it is."""
    if not is_quantized(chip.graph):
        return x
    arrs = x.values() if isinstance(x, dict) else [x]
    if all(np.asarray(a).dtype.kind in "iub" for a in arrs):
        return x
    return quantize_inputs(chip.graph, x)


def run_chip(chip: Chip, x: np.ndarray | dict[str, np.ndarray], read_seed: int | None = None,
             record: bool = False, activity: Activity | None = None) -> SimResult:
    """Simulate ``x`` [B, T, ...] on ``chip``. Read noise is drawn from ``read_seed``
    (default: derived from the chip's seed); pass ``activity`` to collect event counts.
    Quantized graphs: see :func:`chip_inputs` (traces are then int64, as
    :func:`compiler.ir.interpret_int.simulate_int`'s)."""
    x = chip_inputs(chip, x)
    seed = chip.seed if read_seed is None else read_seed
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xBEEF]))
    act = activity if activity is not None else Activity()
    arr = next(iter(x.values())) if isinstance(x, dict) else x
    act.samples += int(np.asarray(arr).shape[0])
    act.steps = int(np.asarray(arr).shape[1])
    act.xbar_layers = len(chip.layers)
    with _one_blas_thread():
        return simulate(chip.graph, x, record=record, step_rule=_chip_rule(chip, rng, act))


def _one_blas_thread() -> Any:
    """Tile reads are small matrix products (<= 256 rows); multi-threaded BLAS makes them
    up to 100x slower on a loaded machine, so run them on one thread when threadpoolctl
    (a scikit-learn dependency) is installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def predict_chip(chip: Chip, x: np.ndarray, batch_size: int = 256, read_seed: int | None = None,
                 activity: Activity | None = None) -> np.ndarray:
    """Class per sample on the chip: argmax of the Output at the last step."""
    if x.shape[0] == 0:
        raise SnncError("no samples to run")
    seed = chip.seed if read_seed is None else read_seed
    preds = []
    for i, s in enumerate(range(0, x.shape[0], batch_size)):
        out = run_chip(chip, x[s:s + batch_size], read_seed=seed * 100003 + i,
                       activity=activity).output
        preds.append(np.argmax(out[:, -1].reshape(out.shape[0], -1), axis=1))
    return np.concatenate(preds)
