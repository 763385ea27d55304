"""The Raspberry Pi target: aarch64 Linux boards (Pi 3B+ A53, Pi 4 A72, Pi 5 A76), NEON.

Pieces: :mod:`.profile` (presets), :mod:`.build` (static cross build), :mod:`.run`
(qemu-aarch64 user mode and ssh:// boards), ``harness.c``. It compiles with the generic
pass pipeline (the cores have fast multipliers and plenty of memory, so no
target-specific pass is needed).
"""

from __future__ import annotations

from snnc.targets.rpi.profile import DEFAULT_PRESET, PRESETS, RpiProfile, get_profile

NAME = "rpi"
DEVICES = ("qemu", "ssh://user@host[:port]")


def fit_space(graph, profile=None):  # type: ignore[no-untyped-def]
    """What ``snnc fit`` searches on this target (the C runtime's dimensions); cost from
    qemu-aarch64 instruction counts and the static binary's size."""
    from snnc.targets.fit.space import SearchSpace, c_target_dims

    return SearchSpace(NAME, c_target_dims(), costs=("instructions", "flash", "ram"),
                       measure="qemu")

__all__ = ["NAME", "DEVICES", "PRESETS", "RpiProfile", "get_profile", "DEFAULT_PRESET"]
