"""Crossbar mapping, programming and reading.

Mapping (deterministic, :func:`map_graph`): every synapse matrix W [out, in] of a float
IR graph (Linear, Affine, DelayedLinear; one matrix per distinct delay for the latter,
since a row can carry only one input vector per read) or of a quantized graph (QLinear,
QDelayedLinear: integer weights, see "Integer layers" below) becomes a conductance plan
``[in, out]``: rows are presynaptic inputs, columns outputs. Weights are scaled per layer
so the largest |w| uses the whole window, ``dG = W / w_max * (g_max - g_min)``, and
written as a differential pair ``G+ = g_min + max(dG, 0)``, ``G- = g_min + max(-dG, 0)``,
each rounded to the device's conductance levels. Matrices larger than a tile are split
into ``tile_rows`` x ``tile_cols/2`` blocks (a weight takes two adjacent columns); the
partial sums of row blocks are added digitally.

Programming (seeded, :func:`program`): each target conductance goes through
:meth:`DeviceModel.program` (device-to-device gain, state-dependent write error,
stuck-at faults) and relaxes to the read age (:meth:`DeviceModel.relax`).

Reading (:func:`read`): spikes drive rows at ``v_read`` (no DAC). A real-valued input
vector is scaled per row tile and read into [-1, 1] by its largest magnitude, applied as
ideal analog row voltages ``x / s * v_read`` (an ideal DAC, not costed) and the result
multiplied back by ``s`` digitally. A column pair's currents are
subtracted before its ADC, so each read converts one value per output and row tile.
Read noise (sigma = read_noise_rel * g per cell and read) is summed per column exactly
in distribution: ``N(0, (v rel)^2 sum_j x_j^2 (G+_ij^2 + G-_ij^2))``. The ADC is a
signed ``adc_bits`` quantizer whose full scale is the largest current any
``adc_range_rows`` active rows can drive into a column of the tile (calibrated on the
target conductances at flash time); it saturates beyond. A row tile with no active input
is not read at all (event-driven).

Integer layers (quantized graphs): an integer weight w becomes ``w * u`` level steps of
differential conductance, ``u = (levels - 1) // max|w|`` steps per unit (the largest
whole number that keeps max|w| inside the window), so the grid holds every weight
exactly when ``levels - 1 >= max|w|`` (int8: up to 129 levels). With fewer levels the
layer is mapped like a float one (max|w| = full window, rounded to the grid) and
:attr:`LayerMap.exact` is False; ``map_graph(..., strict=True)`` raises instead. A read
then returns the accumulator in integer weight units (current / (u * step * v_read)),
which :mod:`targets.rram.sim` rounds to the nearest integer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import SYNAPSE_KINDS, Affine, DelayedLinear, Linear
from snnc.compiler.ir.qnodes import QSYNAPSE_KINDS, QDelayedLinear, QLinear, is_quantized
from snnc.targets.rram.device import DeviceModel

MAPPABLE = (Linear, Affine, DelayedLinear, QLinear)   # QLinear includes QDelayedLinear


@dataclass
class LayerMap:
    """One synapse node on the crossbars: its matrices (one per delay) as target pairs."""

    node: str
    kind: str
    n_in: int
    n_out: int
    w_max: float                      # weight units of a full-window dG
    delays: list[int]                 # [0] for Linear/Affine
    g_pos: list[np.ndarray]           # target G+ per delay, [n_in, n_out] uS
    g_neg: list[np.ndarray]           # target G- per delay
    adc_fs: list[np.ndarray] = field(default_factory=list)  # per delay, [row_tiles, n_out] uA
    integer: bool = False             # integer weights (QLinear / QDelayedLinear)
    w_abs_max: float = 0.0            # max |w| of the layer (integer layers: an integer)
    unit_steps: int = 0               # integer layers: level steps per weight unit (0: rounded)

    @property
    def exact(self) -> bool:
        """Does the level grid hold every (integer) weight exactly? (float layers: False)"""
        return self.integer and (self.unit_steps > 0 or self.w_abs_max == 0)

    def weight_per_us(self, dev: DeviceModel) -> float:
        """Weight units per uS of differential conductance."""
        return self.w_max / dev.g_range_us if self.w_max > 0 else 0.0

    def tiles(self, dev: DeviceModel) -> tuple[int, int]:
        """(row tiles, column tiles) of one matrix."""
        return (math.ceil(self.n_in / dev.tile_rows),
                math.ceil(self.n_out / dev.outputs_per_tile))

    @property
    def n_matrices(self) -> int:
        return len(self.delays)


# ------------------------------------------------------------------ tiles


def split_tiles(m: np.ndarray, dev: DeviceModel) -> dict[tuple[int, int], np.ndarray]:
    """Blocks of a layer matrix ``m`` [in, out] keyed by (row tile, column tile)."""
    r, c = dev.tile_rows, dev.outputs_per_tile
    return {(i, j): m[i * r:(i + 1) * r, j * c:(j + 1) * c]
            for i in range(math.ceil(m.shape[0] / r)) for j in range(math.ceil(m.shape[1] / c))}


def assemble_tiles(tiles: dict[tuple[int, int], np.ndarray], dev: DeviceModel) -> np.ndarray:
    """Inverse of :func:`split_tiles`."""
    ni = max(i for i, _ in tiles) + 1
    nj = max(j for _, j in tiles) + 1
    return np.concatenate([np.concatenate([tiles[(i, j)] for j in range(nj)], axis=1)
                           for i in range(ni)], axis=0)


def tile_fullscale(g_pos: np.ndarray, g_neg: np.ndarray, dev: DeviceModel) -> np.ndarray:
    """ADC full scale per (row tile, output) in uA: the largest differential current any
    ``adc_range_rows`` active rows of the tile can drive into a column (max over the
    tile's columns, which share the range setting)."""
    r, k = dev.tile_rows, int(dev.adc_range_rows)
    nt = math.ceil(g_pos.shape[0] / r)
    rows = []
    for i in range(nt):
        d = np.abs(g_pos[i * r:(i + 1) * r] - g_neg[i * r:(i + 1) * r])
        if k < d.shape[0]:
            d = -np.partition(-d, k - 1, axis=0)[:k]   # the K largest per column
        rows.append(d.sum(axis=0))
    worst = np.stack(rows)
    c = dev.outputs_per_tile
    for j in range(0, worst.shape[1], c):
        worst[:, j:j + c] = worst[:, j:j + c].max(axis=1, keepdims=True)
    fs = dev.v_read * worst
    # An all-zero tile still needs a finite range (it only ever reads noise).
    return np.where(fs > 0, fs, dev.v_read * dev.g_range_us)


# ------------------------------------------------------------------ mapping


def conductance_pair(w: np.ndarray, w_max: float,
                     dev: DeviceModel) -> tuple[np.ndarray, np.ndarray]:
    """Target (G+, G-) [in, out] on the level grid for weights ``w`` [out, in]."""
    dg = (w.T / w_max) * dev.g_range_us if w_max > 0 else np.zeros(w.T.shape)
    gp = dev.quantize_g(dev.g_min_us + np.maximum(dg, 0.0))
    gn = dev.quantize_g(dev.g_min_us + np.maximum(-dg, 0.0))
    return gp, gn


def levels_needed(w_abs_max: int) -> int:
    """Conductance levels per cell for an exact grid of integer weights up to ``w_abs_max``."""
    return int(w_abs_max) + 1


def grid_error(lm: LayerMap, dev: DeviceModel, bits: int | None = None) -> str:
    """Why integer layer ``lm`` is not exact on ``dev`` (for errors and notes)."""
    b = f"int{bits} " if bits else "integer "
    return (f"node '{lm.node}': {b}weights up to |w| = {int(lm.w_abs_max)} need >= "
            f"{levels_needed(int(lm.w_abs_max))} conductance levels per cell for an exact "
            f"integer grid; device '{dev.name}' has levels = {int(dev.levels)}")


def map_node(name: str, node: Any, dev: DeviceModel, strict: bool = False) -> LayerMap:
    """Map one Linear/Affine/DelayedLinear (or QLinear/QDelayedLinear) node (see the module
    docstring). ``strict``: an integer layer the level grid cannot hold exactly raises
    :class:`SnncError` with the numbers instead of being rounded."""
    w = np.asarray(node.weight, dtype=np.float64)
    if w.ndim != 2:
        raise SnncError(f"node '{name}': weight must be 2-D [out, in], got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise SnncError(f"node '{name}': weights must be finite to map onto conductances")
    w_abs = float(np.abs(w).max(initial=0.0))
    w_max, unit = w_abs, 0
    integer = isinstance(node, QLinear)
    if integer and w_abs > 0:
        steps = int(dev.levels) - 1
        if steps >= w_abs:
            # A whole number of level steps per integer unit: every weight lands on the grid.
            unit = steps // int(w_abs)
            w_max = steps / unit
        elif strict:
            lm = LayerMap(node=name, kind=node.kind, n_in=0, n_out=0, w_max=0.0, delays=[],
                          g_pos=[], g_neg=[], integer=True, w_abs_max=w_abs)
            raise SnncError(grid_error(lm, dev, int(node.weight_bits)))
    if isinstance(node, (DelayedLinear, QDelayedLinear)):
        delays = sorted(int(d) for d in np.unique(node.delay))
        mats = [np.where(node.delay == d, w, 0.0) for d in delays]
    else:
        delays, mats = [0], [w]
    pairs = [conductance_pair(m, w_max, dev) for m in mats]
    lm = LayerMap(node=name, kind=node.kind, n_in=int(w.shape[1]), n_out=int(w.shape[0]),
                  w_max=w_max, delays=delays, g_pos=[p for p, _ in pairs],
                  g_neg=[n for _, n in pairs], integer=integer, w_abs_max=w_abs,
                  unit_steps=unit)
    lm.adc_fs = [tile_fullscale(p, n, dev) for p, n in pairs]
    return lm


def map_graph(graph: Graph, dev: DeviceModel,
              digital: tuple[str, ...] | list[str] = (), strict: bool = False) -> list[LayerMap]:
    """Map every synapse node of ``graph`` (float or quantized) except those named in
    ``digital``.

    Convolutions are not unrolled onto crossbars: UnsupportedError names the node
    (list it in ``digital`` to keep it in the digital periphery). ``strict``: see
    :func:`map_node`.
    """
    quantized = is_quantized(graph)
    unknown = sorted(set(digital) - set(graph.nodes))
    if unknown:
        raise SnncError(f"rram option 'digital' names unknown node(s) {unknown}")
    out = []
    for name, node in graph.items():
        if name in digital or not isinstance(node, SYNAPSE_KINDS + QSYNAPSE_KINDS):
            continue
        if not isinstance(node, MAPPABLE):
            raise UnsupportedError(f"node '{name}': {node.kind} is not mapped onto crossbars "
                                   "(unroll it to Linear, or keep it digital)")
        if quantized and not isinstance(node, QLinear):
            raise UnsupportedError(f"node '{name}': float {node.kind} in a quantized graph "
                                   "(quantize the whole graph, or compile with --quantize "
                                   "float)")
        out.append(map_node(name, node, dev, strict=strict))
    return out


def plan_summary(layers: list[LayerMap], dev: DeviceModel) -> dict[str, Any]:
    """Tiles and cells used per layer (what a build's plan.json records)."""
    rows = []
    for lm in layers:
        rt, ct = lm.tiles(dev)
        rows.append({"node": lm.node, "kind": lm.kind, "shape_out_in": [lm.n_out, lm.n_in],
                     "delays": lm.delays, "matrices": lm.n_matrices,
                     "row_tiles": rt, "col_tiles": ct, "tiles": rt * ct * lm.n_matrices,
                     "cells": 2 * lm.n_in * lm.n_out * lm.n_matrices,
                     "w_max": lm.w_max})
        if lm.integer:
            rows[-1].update({"integer_grid": "exact" if lm.exact else "rounded",
                             "w_abs_max": int(lm.w_abs_max), "unit_steps": lm.unit_steps,
                             "levels_needed": levels_needed(int(lm.w_abs_max))})
    return {"tile": [dev.tile_rows, dev.tile_cols], "layers": rows,
            "tiles": sum(r["tiles"] for r in rows), "cells": sum(r["cells"] for r in rows)}


# ------------------------------------------------------------------ programming


@dataclass
class ProgrammedLayer:
    """What one layer's cells hold after programming, and what they read at ``age_s``."""

    layer: LayerMap
    g_pos: list[np.ndarray]           # programmed (as written), per delay
    g_neg: list[np.ndarray]
    stuck_pos: list[np.ndarray]       # int8: 0 ok, 1 stuck low, 2 stuck high
    stuck_neg: list[np.ndarray]
    relax_pos: list[np.ndarray]       # per-cell relaxation draws
    relax_neg: list[np.ndarray]
    eff_pos: list[np.ndarray] = field(default_factory=list)   # read-time conductances
    eff_neg: list[np.ndarray] = field(default_factory=list)

    def settle(self, dev: DeviceModel) -> "ProgrammedLayer":
        """Compute the read-time conductances (relaxation to ``dev.age_s``)."""
        self.eff_pos = [dev.relax(g, z, s > 0) for g, z, s in
                        zip(self.g_pos, self.relax_pos, self.stuck_pos)]
        self.eff_neg = [dev.relax(g, z, s > 0) for g, z, s in
                        zip(self.g_neg, self.relax_neg, self.stuck_neg)]
        return self


def _stuck_code(p: dict[str, np.ndarray]) -> np.ndarray:
    return (p["stuck_low"].astype(np.int8) + 2 * p["stuck_high"].astype(np.int8))


def program(layers: list[LayerMap], dev: DeviceModel, seed: int) -> list[ProgrammedLayer]:
    """Program every layer's cells; the same seed gives the same chip."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5AA5]))
    out = []
    for lm in layers:
        gp, gn, sp, sn, zp, zn = [], [], [], [], [], []
        for tp, tn in zip(lm.g_pos, lm.g_neg):
            a, b = dev.program(tp, rng), dev.program(tn, rng)
            gp.append(a["g"]), gn.append(b["g"])
            sp.append(_stuck_code(a)), sn.append(_stuck_code(b))
            zp.append(a["relax_z"]), zn.append(b["relax_z"])
        out.append(ProgrammedLayer(lm, gp, gn, sp, sn, zp, zn).settle(dev))
    return out


# ------------------------------------------------------------------ reading


@dataclass
class ReadCounters:
    """Events of crossbar reads, summed over the batch (the energy model's inputs)."""

    row_activations: float = 0.0   # active (non-zero) input rows, over tiles' row blocks
    cell_g_us: float = 0.0         # sum over read cells of x^2 * G (uS), for V^2 G t
    adc_conversions: float = 0.0   # one per output and active row tile
    partial_adds: float = 0.0      # digital adds of tile partial sums (and biases)
    tile_reads: float = 0.0        # active (sample, row tile, column tile) reads
    spike_bits: float = 0.0        # input addresses sent to the arrays
    layer_steps_active: float = 0.0  # (sample, layer, step) with any array read

    def add(self, other: "ReadCounters") -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))


def read(pl: ProgrammedLayer, k: int, x: np.ndarray, dev: DeviceModel,
         rng: np.random.Generator | None, counters: ReadCounters | None = None) -> np.ndarray:
    """One crossbar read of matrix ``k`` of a layer: ``x`` [B, n_in] -> y [B, n_out] in
    weight units (``W x`` plus the chip's errors)."""
    lm = pl.layer
    gp, gn = pl.eff_pos[k], pl.eff_neg[k]
    fs = lm.adc_fs[k]
    half = float(2 ** (int(dev.adc_bits) - 1))
    r = dev.tile_rows
    bsz = x.shape[0]
    y = np.zeros((bsz, lm.n_out))
    n_ct = math.ceil(lm.n_out / dev.outputs_per_tile)
    addr_bits = max(1, math.ceil(math.log2(max(lm.n_in, 2))))
    any_read = np.zeros(bsz, dtype=bool)
    for i in range(math.ceil(lm.n_in / r)):
        xr = x[:, i * r:(i + 1) * r]
        active = np.any(xr != 0, axis=1)          # [B] row tile read at all?
        if not active.any():
            continue
        any_read |= active
        # Real-valued inputs: the periphery scales each row tile's input vector into the
        # DAC range [-1, 1] and multiplies the converted result back (spikes: scale 1).
        scale = np.max(np.abs(xr), axis=1, keepdims=True)
        scale = np.where(scale > 0, scale, 1.0)
        xr = xr / scale
        gpi, gni = gp[i * r:(i + 1) * r], gn[i * r:(i + 1) * r]
        cur = dev.v_read * (xr @ (gpi - gni))     # uA, [B, n_out]
        if dev.read_noise_rel > 0 and rng is not None:
            var = (dev.v_read * dev.read_noise_rel) ** 2 * ((xr * xr) @ (gpi ** 2 + gni ** 2))
            cur = cur + np.sqrt(var) * rng.standard_normal(cur.shape)
        lsb = fs[i] / half                        # [n_out]
        code = np.clip(np.round(cur / lsb), -half, half - 1)
        y += np.where(active[:, None], code * lsb * scale, 0.0)
        if counters is not None:
            na = float(active.sum())
            nz = xr != 0
            counters.row_activations += float(nz.sum())
            counters.cell_g_us += float(((xr * xr) @ (gpi + gni)).sum())
            counters.adc_conversions += na * lm.n_out
            counters.partial_adds += na * lm.n_out
            counters.tile_reads += na * n_ct
            counters.spike_bits += float(nz.sum()) * addr_bits
    if counters is not None:
        counters.layer_steps_active += float(any_read.sum())
    return y / dev.v_read * lm.weight_per_us(dev)
