"""Zynq UltraScale+ MPSoC board profiles: the programmable logic's resources and clocks.

Resource totals are the devices' full fabric (DESIGN.md section 5; Xilinx DS891,
"Zynq UltraScale+ MPSoC Product Selection Guide", and the Kria K26 SOM data sheet DS987).
The kernel clock is the HLS clock target the generated TCL asks for, not a measured
fmax. The A53 clock is the speed grade's maximum (Xilinx DS925); it only matters for the
host program's share of the time.

:data:`LIMITS` are the utilization ceilings an estimate must stay under to count as
fitting (DESIGN.md section 5): routing congestion and timing closure degrade well before
100% LUT, and the FF ceiling leaves room for the platform shell (AXI interconnect, DMA).
"""

from __future__ import annotations

from dataclasses import dataclass

from snnc.compiler.errors import SnncError


@dataclass(frozen=True)
class Board:
    """One board: its PL resources (BRAM counted as 18 Kb halves), clocks and part."""

    name: str               # preset key, e.g. "zcu102"
    board: str              # human name, e.g. "ZCU102"
    part: str               # full Vivado part string
    lut: int
    ff: int
    bram18: int             # RAMB18 count (two per RAMB36)
    uram: int               # UltraRAM blocks (288 Kb); the estimator does not map to them
    dsp: int                # DSP48E2 slices
    pl_clock_hz: int        # kernel clock (HLS target)
    a53_cores: int
    a53_clock_hz: int
    source: str = ""

    @property
    def clock_ns(self) -> float:
        """Kernel clock period in ns (the HLS ``create_clock -period``)."""
        return 1e9 / self.pl_clock_hz

    def resources(self) -> dict[str, int]:
        """The limited resources by key (the keys of :data:`LIMITS`)."""
        return {"lut": self.lut, "ff": self.ff, "bram18": self.bram18, "dsp": self.dsp}


LIMITS: dict[str, float] = {"lut": 0.70, "ff": 0.50, "bram18": 0.80, "dsp": 0.80}
RESOURCE_NAMES: dict[str, str] = {"lut": "LUT", "ff": "FF", "bram18": "BRAM18", "dsp": "DSP"}

MHZ = 1_000_000
PRESETS: dict[str, Board] = {
    b.name: b
    for b in (
        Board("zcu102", "ZCU102", "xczu9eg-ffvb1156-2-e", lut=274_080, ff=548_160,
              bram18=1824, uram=0, dsp=2520, pl_clock_hz=200 * MHZ, a53_cores=4,
              a53_clock_hz=1333 * MHZ,
              source="DESIGN.md s5 / DS891: XCZU9EG 274,080 LUT, 548,160 FF, 912 RAMB36 "
                     "(1,824 RAMB18), no URAM, 2,520 DSP48E2; A53 max 1.333 GHz at -2 "
                     "(DS925)"),
        Board("zcu104", "ZCU104", "xczu7ev-ffvc1156-2-e", lut=230_400, ff=460_800,
              bram18=610, uram=92, dsp=1728, pl_clock_hz=200 * MHZ, a53_cores=4,
              a53_clock_hz=1333 * MHZ,
              source="DESIGN.md s5: XCZU7EV 230,400 LUT, 460,800 FF, 610 RAMB18, 92 URAM, "
                     "1,728 DSP48E2 (DS891 lists 312 RAMB36 = 624 RAMB18 and 96 URAM; the "
                     "lower DESIGN.md figures are kept: conservative); A53 max 1.333 GHz at "
                     "-2 (DS925)"),
        Board("kv260", "KV260", "xck26-sfvc784-2LV-c", lut=117_120, ff=234_240,
              bram18=288, uram=64, dsp=1248, pl_clock_hz=200 * MHZ, a53_cores=4,
              a53_clock_hz=1333 * MHZ,
              source="Kria K26 SOM (DS987): 117,120 LUT, 234,240 FF, 144 RAMB36 "
                     "(288 RAMB18), 64 URAM, 1,248 DSP48E2; A53 up to 1.333 GHz"),
        Board("ultra96", "Ultra96", "xczu3eg-sbva484-1-e", lut=70_560, ff=141_120,
              bram18=412, uram=0, dsp=360, pl_clock_hz=150 * MHZ, a53_cores=4,
              a53_clock_hz=1200 * MHZ,
              source="DESIGN.md s5: XCZU3EG 70,560 LUT, 141,120 FF, 412 RAMB18, 360 DSP48E2 "
                     "(DS891 lists 216 RAMB36 = 432 RAMB18; the lower DESIGN.md figure is "
                     "kept); -1 speed grade: 150 MHz kernel target, A53 max 1.2 GHz "
                     "(DS925)"),
    )
}
DEFAULT_BOARD = "zcu102"


def get_board(name: str | None = None) -> Board:
    """A preset by name (case-insensitive; default ZCU102); SnncError listing the presets."""
    key = (name or DEFAULT_BOARD).strip().lower()
    if key not in PRESETS:
        raise SnncError(f"unknown mpsoc board '{name}' (presets: {', '.join(PRESETS)})")
    return PRESETS[key]
