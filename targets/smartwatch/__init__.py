"""The smartwatch target: a Cortex-M4F microcontroller (nRF52840-class) under a profile.

Pieces: :mod:`.profile` (presets), :mod:`.build` (firmware + size check), :mod:`.run`
(QEMU MPS2 AN386 and debug probes), ``startup.c``, ``harness.c``, ``link.ld.j2``.

Importing this package registers the ``smartwatch_fit`` pass; :data:`PIPELINE` (what
:mod:`targets.registry` registers for the target) is the generic passes followed by it.
The pass emits the C code and links it into the chosen profile's memory map, so a model
that does not fit fails at compile time with the bytes needed vs available (from ELF
sections) and the passes that would shrink it.
"""

from __future__ import annotations

import tempfile
import threading
import time

from snnc.compiler.passes.pipeline import PIPELINES, PassContext, register_pass
from snnc.targets.smartwatch.profile import DEFAULT_PRESET, PRESETS, McuProfile, get_profile

NAME = "smartwatch"
DEVICES = ("qemu", "probe", "probe:openocd", "probe:pyocd")


def fit_pass(graph, ctx: PassContext):  # type: ignore[no-untyped-def]
    """Check pass: link the generated code for the ``--profile`` MCU (default nRF52840);
    never changes the graph.

    Skipped (with a note) when the ARM toolchain is missing.
    """
    import shutil

    from snnc.compiler.codegen.c import write_c
    from snnc.targets.smartwatch.build import check_fit

    if shutil.which("arm-none-eabi-gcc") is None:
        ctx.progress("smartwatch_fit: arm-none-eabi-gcc missing, size check skipped")
        return None
    prof = get_profile(getattr(ctx.options, "profile", None) or DEFAULT_PRESET)
    td = tempfile.TemporaryDirectory(prefix="snnc-fit-")
    try:
        write_c(graph, td.name)
    except BaseException:
        td.cleanup()
        raise

    started = threading.Event()

    def check() -> tuple[object, float]:
        t0 = time.perf_counter()
        try:
            return check_fit(td.name, prof, started=started), time.perf_counter() - t0
        finally:
            td.cleanup()

    def check_beside() -> tuple[object, float]:
        # The caller's Python (the agreement simulation) holds the GIL; this thread needs
        # it briefly after every file read and compiler run, so it asks sooner than the
        # default 5 ms (else each of its ~50 steps waits a full interval).
        import sys

        old = sys.getswitchinterval()
        sys.setswitchinterval(2e-4)
        try:
            return check()
        finally:
            sys.setswitchinterval(old)

    def report(mem, seconds: float) -> None:  # type: ignore[no-untyped-def]
        ctx.progress(f"smartwatch_fit: model + runtime need flash {mem.flash_bytes} B of "
                     f"{prof.flash_bytes}, RAM {mem.ram_bytes} B of {prof.ram_bytes} "
                     f"({prof.name})")
        for e in reversed(ctx.log):  # the pass's time includes the compile and link
            if e["pass"] == "smartwatch_fit":
                e["seconds"] = round(e["seconds"] + seconds, 4)
                break

    if ctx.background is None:
        mem, _ = check()
        report(mem, 0.0)
        return None
    # Compile and link in a thread (mostly waiting for gcc) while the caller goes on,
    # e.g. simulating the float/int agreement; the caller waits before using the result.
    from concurrent.futures import ThreadPoolExecutor

    ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snnc-fit")
    fut = ex.submit(check_beside)
    ex.shutdown(wait=False)
    # Let the check reach model.c's compile (the slowest step) before this thread's
    # Python competes with its Python for the GIL; bounded, the check never depends on it.
    started.wait(timeout=0.1)
    ctx.background.append(lambda: report(*fut.result()))
    return None


def fit_space(graph, profile=None):  # type: ignore[no-untyped-def]
    """What ``snnc fit`` searches on this target: bits, pruning, storage (the C runtime's
    dimensions); cost measured under QEMU (instructions) and from the ELF (flash/RAM)."""
    from snnc.targets.fit.space import SearchSpace, c_target_dims

    prof = get_profile(profile or DEFAULT_PRESET)
    return SearchSpace(NAME, c_target_dims(), costs=("instructions", "latency", "flash", "ram"),
                       measure="qemu", constraints={"flash": prof.flash_bytes,
                                                    "ram": prof.ram_bytes})


register_pass("smartwatch_fit", fit_pass)
PIPELINE: tuple[str, ...] = (*PIPELINES["generic"], "smartwatch_fit")

__all__ = ["NAME", "DEVICES", "PIPELINE", "PRESETS", "McuProfile", "get_profile", "fit_pass"]
