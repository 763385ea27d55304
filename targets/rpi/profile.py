"""Raspberry Pi profiles: aarch64 Linux boards with NEON (Advanced SIMD).

Clock figures are the boards' nominal maximum (Raspberry Pi product briefs); on a device
snnc reports measured wall time, under emulation instruction counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from snnc.compiler.errors import SnncError


@dataclass(frozen=True)
class RpiProfile:
    """One board: the core GCC tunes for, its clock and memory (bytes)."""

    name: str
    board: str
    cpu: str            # -mcpu value
    clock_hz: int
    cores: int
    ram_bytes: int
    opt: str = "-O2"
    source: str = ""

    def cflags(self) -> list[str]:
        # -mcpu implies +simd (NEON) on all three cores; GCC vectorizes at -O2 (cheap model).
        return [f"-mcpu={self.cpu}", self.opt]


GIB = 1024 ** 3
PRESETS: dict[str, RpiProfile] = {
    p.name: p
    for p in (
        RpiProfile("pi3b+", "Raspberry Pi 3 Model B+", "cortex-a53", 1_400_000_000, 4, 1 * GIB,
                   source="Raspberry Pi 3B+ product brief: BCM2837B0, 4x Cortex-A53 @ 1.4 GHz, "
                          "1 GB LPDDR2"),
        RpiProfile("pi4", "Raspberry Pi 4 Model B", "cortex-a72", 1_800_000_000, 4, 4 * GIB,
                   source="Raspberry Pi 4 product brief: BCM2711, 4x Cortex-A72 @ 1.8 GHz "
                          "(1.5 GHz before rev 1.4), 1-8 GB LPDDR4"),
        RpiProfile("pi5", "Raspberry Pi 5", "cortex-a76", 2_400_000_000, 4, 8 * GIB,
                   source="Raspberry Pi 5 product brief: BCM2712, 4x Cortex-A76 @ 2.4 GHz, "
                          "2-16 GB LPDDR4X"),
    )
}
DEFAULT_PRESET = "pi4"


def get_profile(name: str | None = None) -> RpiProfile:
    """A preset by name (default Pi 4); SnncError listing the presets otherwise."""
    key = (name or DEFAULT_PRESET).lower()
    if key not in PRESETS:
        raise SnncError(f"unknown rpi profile '{name}' (presets: {', '.join(PRESETS)})")
    return PRESETS[key]
