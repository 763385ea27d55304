"""The RRAM device and macro model: one frozen dataclass of parameters, plus presets.

Every field has a default and its source. "DESIGN.md §5" means the RRAM defaults table of
snnc's design notes (NeuRRAM-like filamentary 1T1R cells, Wan et al., Nature 2022; the
zero-shot LSM of Lin et al., Nature Computational Science 2025). Fields marked
*assumption* have no figure there; they are our estimates and are labelled as such in
every report.

Conductances are in microsiemens (uS), voltages in volts, times in seconds, energies in
picojoules (pJ) unless the name says otherwise.

The stochastic parts (:meth:`DeviceModel.program`, :meth:`DeviceModel.relax`) draw from
a caller-supplied ``numpy.random.Generator`` so a seed fixes a whole virtual chip.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError


@dataclass(frozen=True)
class DeviceModel:
    """Parameters of an RRAM crossbar macro (cells, array, ADC, energy, timing).

    Cells and conductances
        g_min_us, g_max_us: programmable conductance window, 1-40 uS (DESIGN.md §5,
            which also quotes an on/off ratio of about 10 for NeuRRAM-like cells).
        levels: conductance levels a cell is programmed to between g_min and g_max
            (inclusive); *assumption* 16 (4 bits per cell).
        prog_sigma_us: programming (write-verify) error sigma, about 1.5 uS
            (DESIGN.md §5, Wan et al. 2022 fit). State dependent: the sigma is
            ``prog_sigma_us`` at mid-window and ``prog_floor`` times it at the window
            edges, a parabola in between (intermediate filament states are the least
            stable; the parabola's shape is an *assumption*).
        prog_floor: see prog_sigma_us (*assumption* 0.5).
        read_noise_rel: read-to-read noise, Gaussian with sigma = read_noise_rel * g
            per read, about 1% (DESIGN.md §5).
        relax_us_per_ln_t: conductance relaxation after programming, mean shift
            ``-relax_us_per_ln_t * ln(t / 1 s)`` uS at age t, 0.089 (DESIGN.md §5).
        relax_sigma_us_per_ln_t: spread of that relaxation per cell (sigma grows as
            ln t); *assumption* 0.05.
        age_s: age of the programmed chip when it is read (seconds after programming);
            *assumption* 3600 (one hour).
        d2d_sigma: device-to-device variation: each cell's conductance response is
            scaled by (1 + d2d_sigma * z), z ~ N(0, 1) fixed per cell; *assumption* 0.03
            (what remains after write-verify, which absorbs most of it).
        p_stuck_low, p_stuck_high: stuck-at fault probabilities per cell, stuck at
            g_min / g_max, 1% / 0.5% (DESIGN.md §5).
        switch_mean_us, switch_sigma_us: conductance of a cell after one un-verified
            stochastic switching (breakdown) pulse, N(mean, sigma) clipped to the window:
            the random weights of the zero-shot LSM. A G+/G- pair then differs by about
            N(0, sqrt(2) * sigma) = N(0, 6.6 uS) (DESIGN.md §5), so sigma = 6.6 / sqrt(2)
            = 4.67 uS; the mean (mid-window, 20.5 uS) is an *assumption* (it cancels in
            the pair).

    Array, periphery
        tile_rows, tile_cols: crossbar tile size, 256 x 256 (DESIGN.md §5). Rows are
            presynaptic inputs; a weight uses two adjacent columns (G+, G-), so a tile
            holds ``tile_cols // 2`` outputs.
        adc_bits: SAR ADC resolution, 8 (DESIGN.md §5).
        cols_per_adc: weight columns (G+/G- pairs) sharing one ADC, 8 (DESIGN.md §5).
        adc_range_rows: ADC full scale = the largest column current that any
            ``adc_range_rows`` active rows of the tile can produce (sum of the K largest
            |G+ - G-| of a column at v_read, max over the tile's columns), set at flash
            time; *assumption* 32. Calibrated ranges in published macros sit well below
            the all-rows worst case, which sparse spiking inputs never approach; a tile
            with at most K rows is never clipped.
        v_read: read voltage applied by a spike on a row, 0.1 V (DESIGN.md §5). Spikes
            drive rows directly, so there is no DAC.
        t_read_s: read pulse width, 10 ns (DESIGN.md §5).

    Energy and timing (per event)
        adc_pj: energy per ADC conversion, 0.2-0.35 pJ (DESIGN.md §5); default 0.3.
        t_adc_s: time of one SAR conversion; *assumption* 10 ns (8 cycles at ~1 GHz).
        neuron_pj: one digital neuron update (multiply-add, compare, state read/write);
            *assumption* 1.0 pJ (Horowitz, ISSCC 2014, 45 nm: 16-bit multiply + add +
            a small SRAM access are each a fraction of a pJ to about 1 pJ).
        add_pj: one digital partial-sum addition (tile outputs of a split matrix, bias);
            0.03 pJ (Horowitz 2014: 8-bit add 0.03 pJ, 32-bit add 0.1 pJ).
        move_pj_per_bit: on-chip data movement (spike addresses to the arrays, ADC
            codes to the digital neurons); *assumption* 0.1 pJ per bit.
        t_neuron_s, neuron_lanes: digital neuron update time and parallel lanes;
            *assumption* 1 ns and 32 lanes.
    """

    name: str = "neurram"
    g_min_us: float = 1.0
    g_max_us: float = 40.0
    levels: int = 16
    prog_sigma_us: float = 1.5
    prog_floor: float = 0.5
    read_noise_rel: float = 0.01
    relax_us_per_ln_t: float = 0.089
    relax_sigma_us_per_ln_t: float = 0.05
    age_s: float = 3600.0
    d2d_sigma: float = 0.03
    p_stuck_low: float = 0.01
    p_stuck_high: float = 0.005
    switch_mean_us: float = 20.5
    switch_sigma_us: float = 6.6 / math.sqrt(2.0)
    tile_rows: int = 256
    tile_cols: int = 256
    adc_bits: int = 8
    cols_per_adc: int = 8
    adc_range_rows: int = 32
    v_read: float = 0.1
    t_read_s: float = 10e-9
    adc_pj: float = 0.3
    t_adc_s: float = 10e-9
    neuron_pj: float = 1.0
    add_pj: float = 0.03
    move_pj_per_bit: float = 0.1
    t_neuron_s: float = 1e-9
    neuron_lanes: int = 32

    def __post_init__(self) -> None:
        self.check()

    # ------------------------------------------------------------------ validation
    def check(self) -> "DeviceModel":
        """Raise :class:`SnncError` naming the first bad option."""
        def bad(opt: str, why: str) -> SnncError:
            return SnncError(f"rram device option '{opt}' {why}, got {getattr(self, opt)!r}")

        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "name":
                continue
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise bad(f.name, "must be a finite number")
        if self.g_min_us < 0:
            raise bad("g_min_us", "must be a non-negative conductance")
        if self.g_max_us <= self.g_min_us:
            raise bad("g_max_us", f"must exceed g_min_us ({self.g_min_us})")
        if int(self.levels) != self.levels or self.levels < 2:
            raise bad("levels", "must be an integer >= 2")
        for opt in ("prog_sigma_us", "read_noise_rel", "relax_us_per_ln_t",
                    "relax_sigma_us_per_ln_t", "d2d_sigma", "switch_sigma_us", "adc_pj", "neuron_pj", "add_pj",
                    "move_pj_per_bit", "t_adc_s", "t_neuron_s"):
            if getattr(self, opt) < 0:
                raise bad(opt, "must be >= 0")
        if not 0 <= self.prog_floor <= 1:
            raise bad("prog_floor", "must be in [0, 1]")
        if self.age_s < 1:
            raise bad("age_s", "must be >= 1 s (relaxation is log-time from 1 s)")
        for opt in ("p_stuck_low", "p_stuck_high"):
            if not 0 <= getattr(self, opt) <= 1:
                raise bad(opt, "must be a probability in [0, 1]")
        if self.p_stuck_low + self.p_stuck_high > 1:
            raise bad("p_stuck_high", "plus p_stuck_low must not exceed 1")
        if int(self.tile_rows) != self.tile_rows or self.tile_rows < 1:
            raise bad("tile_rows", "must be a positive integer")
        if int(self.tile_cols) != self.tile_cols or self.tile_cols < 2 or self.tile_cols % 2:
            raise bad("tile_cols", "must be an even integer >= 2 (G+/G- column pairs)")
        if int(self.adc_bits) != self.adc_bits or not 2 <= self.adc_bits <= 32:
            raise bad("adc_bits", "must be an integer in [2, 32]")
        for opt in ("cols_per_adc", "neuron_lanes", "adc_range_rows"):
            if int(getattr(self, opt)) != getattr(self, opt) or getattr(self, opt) < 1:
                raise bad(opt, "must be a positive integer")
        for opt in ("v_read", "t_read_s"):
            if getattr(self, opt) <= 0:
                raise bad(opt, "must be > 0")
        return self

    # ------------------------------------------------------------------ helpers
    @property
    def outputs_per_tile(self) -> int:
        """Weight columns (G+/G- pairs) per tile."""
        return int(self.tile_cols) // 2

    @property
    def g_range_us(self) -> float:
        return float(self.g_max_us - self.g_min_us)

    def level_values(self) -> np.ndarray:
        """The programmable conductance levels (uS), g_min .. g_max."""
        return np.linspace(self.g_min_us, self.g_max_us, int(self.levels))

    def quantize_g(self, g_us: np.ndarray) -> np.ndarray:
        """Round target conductances to the nearest programmable level (clipped to the window)."""
        step = self.g_range_us / (int(self.levels) - 1)
        k = np.clip(np.round((np.asarray(g_us) - self.g_min_us) / step), 0, int(self.levels) - 1)
        return self.g_min_us + k * step

    def prog_sigma(self, g_us: np.ndarray) -> np.ndarray:
        """State-dependent programming sigma (uS) at target conductance ``g_us``."""
        u = np.clip((np.asarray(g_us) - self.g_min_us) / self.g_range_us, 0.0, 1.0)
        return self.prog_sigma_us * (self.prog_floor + (1.0 - self.prog_floor) * 4.0 * u * (1 - u))

    def program(self, target_us: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Program cells to ``target_us`` (already on the level grid): what the chip holds.

        Returns ``g`` (uS, clipped to [0, g_max * (1 + 4 d2d)]), the stuck-at masks
        ``stuck_low``/``stuck_high`` and the per-cell relaxation draw ``relax_z`` (so a
        saved chip relaxes the same way when it is read again).
        """
        t = np.asarray(target_us, dtype=np.float64)
        d2d = 1.0 + self.d2d_sigma * rng.standard_normal(t.shape)
        g = t * d2d + self.prog_sigma(t) * rng.standard_normal(t.shape)
        u = rng.random(t.shape)
        low = u < self.p_stuck_low
        high = (u >= self.p_stuck_low) & (u < self.p_stuck_low + self.p_stuck_high)
        g = np.where(low, self.g_min_us, np.where(high, self.g_max_us, g))
        g = np.clip(g, 0.0, None)
        return {"g": g, "stuck_low": low, "stuck_high": high,
                "relax_z": rng.standard_normal(t.shape)}

    def sample_switching(self, shape: tuple[int, ...],
                         rng: np.random.Generator) -> np.ndarray:
        """Differential conductances G+ - G- (uS) of cell pairs after one stochastic
        switching pulse each: the zero-shot LSM's random weights (about N(0, 6.6 uS)).
        Cells stuck low/high (``p_stuck_low``/``p_stuck_high``) sit at g_min/g_max."""
        def cell() -> np.ndarray:
            g = self.switch_mean_us + self.switch_sigma_us * rng.standard_normal(shape)
            g = np.clip(g, self.g_min_us, self.g_max_us)
            u = rng.random(shape)
            g = np.where(u < self.p_stuck_low, self.g_min_us, g)
            return np.where((u >= self.p_stuck_low)
                            & (u < self.p_stuck_low + self.p_stuck_high), self.g_max_us, g)

        return cell() - cell()

    def relax(self, g_us: np.ndarray, relax_z: np.ndarray, stuck: np.ndarray) -> np.ndarray:
        """Conductance at age ``age_s`` after programming (stuck cells do not move)."""
        lt = math.log(max(float(self.age_s), 1.0))
        shift = -self.relax_us_per_ln_t * lt + self.relax_sigma_us_per_ln_t * lt * relax_z
        return np.where(stuck, g_us, np.clip(g_us + shift, 0.0, None))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return asdict(self)


# ------------------------------------------------------------------ presets

PRESETS: dict[str, DeviceModel] = {
    # NeuRRAM-like filamentary 1T1R RRAM: every default above.
    "neurram": DeviceModel(),
    # The zero-shot LSM chip (Lin et al. 2025): the reservoir weights ARE the cells'
    # random post-switching conductances (drawn with sample_switching, stuck cells
    # included), read out once and used as the software model; the chip is not
    # write-verified to targets. So flashing adds no programming error, no
    # device-to-device gain and no new faults, and the conductances are continuous (a
    # fine level grid stands for "whatever the cell holds"). What remains: read noise,
    # relaxation, the 8-bit ADC.
    "lsm": DeviceModel(name="lsm", levels=4096, prog_sigma_us=0.0, d2d_sigma=0.0,
                       p_stuck_low=0.0, p_stuck_high=0.0),
    # Ideal device: no noise, no faults, no relaxation, fine levels and ADC. Reproduces
    # the float simulator up to ~1e-6 relative error (tested).
    "ideal": DeviceModel(name="ideal", levels=1 << 20, prog_sigma_us=0.0, read_noise_rel=0.0,
                         relax_us_per_ln_t=0.0, relax_sigma_us_per_ln_t=0.0, d2d_sigma=0.0,
                         p_stuck_low=0.0, p_stuck_high=0.0, adc_bits=32, adc_range_rows=1 << 30),
}


def get_device(preset: str | DeviceModel = "neurram", **overrides: Any) -> DeviceModel:
    """A device model: a preset by name (or a model) with some fields overridden.

    Unknown presets or option names raise :class:`SnncError` naming them.
    """
    if isinstance(preset, DeviceModel):
        base = preset
    elif preset in PRESETS:
        base = PRESETS[preset]
    else:
        raise SnncError(f"unknown rram device preset '{preset}' "
                        f"(available: {', '.join(sorted(PRESETS))})")
    names = {f.name for f in fields(DeviceModel)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise SnncError(f"unknown rram device option(s) {unknown} "
                        f"(known: {', '.join(sorted(names))})")
    return replace(base, **overrides) if overrides else base


def device_from_dict(d: dict[str, Any]) -> DeviceModel:
    """Inverse of :meth:`DeviceModel.to_dict` (validates every field)."""
    names = {f.name for f in fields(DeviceModel)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise SnncError(f"unknown rram device option(s) {unknown}")
    return DeviceModel(**d)
