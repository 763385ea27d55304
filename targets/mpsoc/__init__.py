"""The MPSoC target: Zynq UltraScale+ (ZCU102, ZCU104, KV260, Ultra96), A53 host + PL kernel.

Pieces: :mod:`.profile` (board presets and utilization limits), :mod:`.estimate` (the
analytical LUT/FF/BRAM18/DSP and cycles-per-step model), :mod:`.build` (the build
directory: C code, the HLS kernel sources, csim and A53 host builds, the TCL check),
:mod:`.run` (csim with g++, the host program under qemu-aarch64 or on a board over ssh).
The kernel sources come from :mod:`compiler.codegen.hls`.

Its devices, presets and the ``reuse`` option are declared in :mod:`targets.registry`.
Importing this package registers the ``mpsoc_fit`` pass; :data:`PIPELINE` is the generic
passes followed by it. The pass picks the reuse factor (``--reuse``, or the smallest that
fits the board ``--profile``), checks the estimate against the board's limits (a model too
large fails at compile time with the numbers) and records board, reuse and estimate in
``graph.metadata["mpsoc"]`` for the emitter.
"""

from __future__ import annotations

from typing import Any

from snnc.compiler.ir.graph import Graph
from snnc.compiler.passes.pipeline import (
    PIPELINES,
    PassContext,
    register_pass,
    register_planner,
)
from snnc.targets.mpsoc.profile import DEFAULT_BOARD, PRESETS, Board, get_board

NAME = "mpsoc"


def fit_pass(graph: Graph, ctx: PassContext) -> Graph | None:
    """Choose the reuse factor and check the estimate against the board; records them in
    ``metadata["mpsoc"]``. Changes no node (weights, parameters and schedule preserved).

    Float graphs pass through untouched (the emitter then refuses them with a clear error).
    """
    from snnc.compiler.ir.qnodes import is_quantized
    from snnc.targets.mpsoc.estimate import check_fit, choose_reuse, estimate

    if not is_quantized(graph):
        return None
    board = get_board(getattr(ctx.options, "profile", None))
    reuse = ctx.options.target_options.get("reuse")  # registry: TargetOption "reuse"
    est = estimate(graph, board, reuse=int(reuse)) if reuse else choose_reuse(graph, board)
    check_fit(est)
    t = est.totals()
    ctx.progress(f"mpsoc_fit: {board.board} reuse {est.reuse}: LUT {t['lut']:,}, FF {t['ff']:,}, "
                 f"BRAM18 {t['bram18']:,}, DSP {t['dsp']:,}; {est.cycles_per_step:,} cycles/step "
                 f"({est.latency_us_per_step:.2f} us at {board.pl_clock_hz / 1e6:.0f} MHz)")
    meta = dict(graph.metadata)
    meta["mpsoc"] = {"board": board.name, "part": board.part, "reuse": int(est.reuse),
                     "clock_ns": board.clock_ns, "estimate": summary(est)}
    return graph.replace(metadata=meta)


def summary(est: Any) -> dict[str, Any]:
    """The headline figures of an estimate (what the build manifest and bench report)."""
    return {"board": est.board.name, "reuse": int(est.reuse), **{k: int(v) for k, v in
            est.totals().items()}, "utilization": {k: round(float(v), 4)
                                                 for k, v in est.utilization.items()},
            "cycles_per_step": int(est.cycles_per_step),
            "latency_us_per_step": float(est.latency_us_per_step), "fits": bool(est.fits)}


def fit_space(graph: Graph, profile: str | None = None) -> Any:
    """What ``snnc fit`` searches on this target: weight/state bits, pruning and the reuse
    factor (None: the smallest that fits); cost from the estimator (LUT/BRAM/DSP, cycles)."""
    from snnc.targets.fit.space import Dimension, SearchSpace, c_target_dims

    dims = tuple(d for d in c_target_dims() if d.name in ("quantize", "state_bits",
                                                           "prune", "prune_scope"))
    return SearchSpace(NAME, (*dims, Dimension("reuse", (None, 1, 2, 4, 8, 16), None)),
                       costs=("latency", "lut", "dsp", "bram18"), measure="mpsoc_estimate")


register_pass("mpsoc_fit", fit_pass)


def plan_memory(graph: Graph):  # type: ignore[no-untyped-def]
    """The memory plan of the HLS kernel's statics (the same at every reuse factor)."""
    from snnc.compiler.codegen.hls import emit_hls

    return emit_hls(graph).plan


register_planner(NAME, plan_memory)
PIPELINE: tuple[str, ...] = (*PIPELINES["generic"], "mpsoc_fit")

__all__ = ["NAME", "PIPELINE", "PRESETS", "Board", "get_board", "DEFAULT_BOARD",
           "fit_pass", "summary"]
