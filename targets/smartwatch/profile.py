"""Smartwatch-class microcontroller profiles (Cortex-M4F) and their presets.

A profile is data: the core and FPU flags, the clock used to turn instruction counts into
a time estimate, the RAM and flash the linker script and size check enforce, and the
memory map of the QEMU machine that emulates it (MPS2 AN386: a Cortex-M4 with 4 MiB code
memory at 0x00000000 and 4 MiB RAM at 0x20000000, so any preset up to 4 MiB runs there).
"""

from __future__ import annotations

from dataclasses import dataclass

from snnc.compiler.errors import SnncError

KIB = 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class McuProfile:
    """A Cortex-M4F-class part. Sizes in bytes, clocks in Hz."""

    name: str
    part: str
    clock_hz: int
    ram_bytes: int
    flash_bytes: int
    burst_clock_hz: int | None = None
    cpu: str = "cortex-m4"
    fpu: str = "fpv4-sp-d16"
    float_abi: str = "hard"
    flash_origin: int = 0x00000000
    ram_origin: int = 0x20000000
    stack_bytes: int = 8 * KIB
    heap_bytes: int = 4 * KIB  # newlib stdio buffers of the harness; the model uses none
    opt: str = "-O2"
    qemu_machine: str = "mps2-an386"
    # Real boards: OpenOCD target config (with the probe interface) and pyOCD target name.
    openocd_target: str | None = None
    openocd_interface: str = "interface/cmsis-dap.cfg"
    pyocd_target: str | None = None
    source: str = ""

    def cflags(self) -> list[str]:
        """Code-generation flags for arm-none-eabi-gcc."""
        return [f"-mcpu={self.cpu}", "-mthumb", f"-mfloat-abi={self.float_abi}",
                f"-mfpu={self.fpu}"]

    def seconds(self, instructions: float, burst: bool = False) -> float:
        """Time estimate at one instruction per clock (a lower bound on a real M4)."""
        hz = self.burst_clock_hz if burst and self.burst_clock_hz else self.clock_hz
        return instructions / hz


PRESETS: dict[str, McuProfile] = {
    p.name: p
    for p in (
        McuProfile(
            name="nrf52840", part="Nordic nRF52840 (Cortex-M4F)", clock_hz=64_000_000,
            ram_bytes=256 * KIB, flash_bytes=1 * MIB,
            openocd_target="target/nrf52.cfg", pyocd_target="nrf52840",
            source="nRF52840 Product Specification v1.7: 64 MHz Arm Cortex-M4 with FPU, "
                   "1 MB flash, 256 KB RAM"),
        McuProfile(
            name="apollo3", part="Ambiq Apollo3 Blue (Cortex-M4F)", clock_hz=48_000_000,
            burst_clock_hz=96_000_000, ram_bytes=384 * KIB, flash_bytes=1 * MIB,
            pyocd_target="ama3b1kk_kbr",
            source="Apollo3 Blue SoC datasheet: Cortex-M4F up to 48 MHz, TurboSPOT burst "
                   "96 MHz, 1 MB flash, 384 KB SRAM"),
        McuProfile(
            name="stm32l4r9", part="ST STM32L4R9 (Cortex-M4F)", clock_hz=120_000_000,
            ram_bytes=640 * KIB, flash_bytes=2 * MIB,
            openocd_target="target/stm32l4x.cfg",
            source="STM32L4R9xx datasheet DS12099: Cortex-M4F up to 120 MHz, 2 MB flash, "
                   "640 KB SRAM"),
    )
}
DEFAULT_PRESET = "nrf52840"


def get_profile(name: str | None = None) -> McuProfile:
    """A preset by name (default nRF52840); SnncError listing the presets otherwise."""
    key = (name or DEFAULT_PRESET).lower()
    if key not in PRESETS:
        raise SnncError(f"unknown smartwatch profile '{name}' (presets: {', '.join(PRESETS)})")
    return PRESETS[key]
