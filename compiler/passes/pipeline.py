"""The explicit, ordered pass pipeline and its context object.

A pipeline is data: an ordered tuple of pass names per target (:data:`PIPELINES`), each
name bound to a function ``(graph, ctx) -> graph`` in :data:`PASSES`. Targets register
their own list with :func:`register_pipeline` (no ``if target == ...`` anywhere); options,
calibration data, the dump directory and the progress callback travel in a
:class:`PassContext`, never in globals. ``verify`` runs after every pass. With
``ctx.dump_dir`` set, the graph after each pass is written as ``NN_<pass>.snn`` plus a
text summary ``NN_<pass>.txt`` (``00_input`` is the graph as given). After the last pass
the memory planner runs: :func:`~compiler.passes.plan.plan_memory` lays the graph out as
the C emitter will (the one plan the emitters and the report share), or the planner a
target registered with :func:`register_planner` (the HLS emitter's for a kernel); its
:class:`~compiler.passes.plan.MemoryPlan` is returned with the per-pass log. A graph the C
backend cannot lower gets an empty plan (``backend="none"``) and a progress note.

A pass whose option turns it off (``prune`` at 0, ``quantize`` = ``float``) is recorded as
skipped and leaves the graph untouched.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import READOUTS, SYNAPSE_KINDS, _Population
from snnc.compiler.ir.qnodes import QSYNAPSE_KINDS, is_quantized
from snnc.compiler.ir.verify import verify
from snnc.compiler.passes.plan import MemoryPlan, plan_memory
from snnc.compiler.passes.storage import SNNC_RUNTIME, Layout

QUANTIZE_CHOICES = {"float": None, "int4": 4, "int8": 8, "int16": 16}


@dataclass(frozen=True)
class CompileOptions:
    """Every option of ``snnc compile`` (validated by :meth:`check`)."""

    quantize: str = "int8"            # float | int4 | int8 | int16 (weights)
    state_bits: int = 16              # 16 | 32
    granularity: str = "neuron"       # weight scale per neuron | layer
    pow2: bool = False                # power-of-two requantization (shift-only targets)
    input_bits: int = 8               # 8 | 16 (real-valued inputs)
    prune: float = 0.0                # fraction of non-zero weights removed (0 = off)
    prune_scope: str = "global"       # global | layer
    storage_threshold: float | None = None  # None: pick the smaller layout in bytes
    calib_samples: int = 64           # calibration samples used (first N)
    target: str = "generic"
    profile: str | None = None        # the target's board/MCU preset (None: its default)
    # Options only the target understands (declared by the target's registry entry and
    # validated there), e.g. a reuse factor; passes read them by name.
    target_options: dict[str, Any] = field(default_factory=dict)

    def check(self) -> "CompileOptions":
        """Raise SnncError naming the bad option."""
        if self.quantize not in QUANTIZE_CHOICES:
            raise SnncError(f"option 'quantize' must be one of {sorted(QUANTIZE_CHOICES)}, "
                            f"got {self.quantize!r}")
        if self.target not in PIPELINES:
            raise SnncError(f"option 'target' must be one of {sorted(PIPELINES)}, "
                            f"got {self.target!r}")
        if not (0.0 <= float(self.prune) < 1.0):
            raise SnncError(f"option 'prune' must be in [0, 1), got {self.prune!r}")
        if not (isinstance(self.calib_samples, int) and self.calib_samples >= 1):
            raise SnncError(f"option 'calib_samples' must be a positive integer, "
                            f"got {self.calib_samples!r}")
        return self

    def quant_options(self) -> Any:
        """The quantize pass's options (None when compiling in float)."""
        from snnc.compiler.passes.quantize import QuantOptions

        bits = QUANTIZE_CHOICES[self.quantize]
        if bits is None:
            return None
        return QuantOptions(weight_bits=bits, state_bits=self.state_bits,
                            granularity=self.granularity, pow2=self.pow2,
                            input_bits=self.input_bits).check()


def _stderr(msg: str) -> None:
    print(f"snnc: {msg}", file=sys.stderr, flush=True)


@dataclass
class PassContext:
    """What passes may read: options, calibration inputs, dump dir, progress callback."""

    options: CompileOptions = field(default_factory=CompileOptions)
    calib: dict[str, np.ndarray] | np.ndarray | None = None
    dump_dir: Path | None = None
    progress: Callable[[str], None] = _stderr
    log: list[dict[str, Any]] = field(default_factory=list)
    # The float graph the quantize pass received (to measure float/int agreement on).
    float_reference: Graph | None = None
    # How the target's runtime lays out matrices and activations (storage + planner);
    # None: the layout registered with the target's pipeline (default: the snnc runtime).
    layout: Layout | None = None
    # A list: check passes may finish their work in the background (e.g. the smartwatch
    # size check's compile and link, beside the float/int agreement) and append a call
    # here that waits for it and raises what the check raises; the caller runs them all
    # before using the result. None: every pass finishes before it returns.
    background: list[Callable[[], None]] | None = None


PassFn = Callable[[Graph, PassContext], Graph]


# ------------------------------------------------------------------ the passes


def _prune(g: Graph, ctx: PassContext) -> Graph | None:
    if not ctx.options.prune:
        return None
    from snnc.compiler.passes.prune import prune_magnitude

    if is_quantized(g):
        raise SnncError("option 'prune': prune before quantize (the pipeline lists them in "
                        "the wrong order)")
    return prune_magnitude(g, ctx.options.prune, ctx.options.prune_scope)


def _inert(g: Graph, ctx: PassContext) -> Graph | None:
    if is_quantized(g):
        return None
    from snnc.compiler.passes.inert import remove_inert_synapses

    return remove_inert_synapses(g)


def _dead(g: Graph, ctx: PassContext) -> Graph:
    from snnc.compiler.passes.dead_neurons import remove_dead_neurons

    return remove_dead_neurons(g)


def _quantize(g: Graph, ctx: PassContext) -> Graph | None:
    qo = ctx.options.quant_options()
    if qo is None:
        return None
    from snnc.compiler.passes.quantize import check_calibration, quantize

    if ctx.calib is None:
        raise SnncError("option 'calib': quantization needs calibration data "
                        "(pass --calib DATA.npy)")
    data = check_calibration(g, ctx.calib)
    n = ctx.options.calib_samples
    data = {k: v[:n] for k, v in data.items()}
    ctx.float_reference = g
    return quantize(g, data, qo)


def _storage(g: Graph, ctx: PassContext) -> Graph:
    from snnc.compiler.passes.storage import choose_storage

    return choose_storage(g, ctx.options.storage_threshold, ctx.layout or SNNC_RUNTIME)


PASSES: dict[str, Callable[[Graph, PassContext], Graph | None]] = {
    "prune": _prune,
    "inert": _inert,
    "dead_neurons": _dead,
    "quantize": _quantize,
    "storage": _storage,
}

# Per-target ordered pass lists. Dead-neuron removal runs again after quantization because
# weights that round to zero can starve neurons.
PIPELINES: dict[str, tuple[str, ...]] = {
    "generic": ("prune", "inert", "dead_neurons", "quantize", "dead_neurons", "storage"),
}


def register_pass(name: str, fn: Callable[[Graph, PassContext], Graph | None]) -> None:
    """Make a pass available to pipelines (a target's own pass, say)."""
    PASSES[name] = fn


# Per-target runtime layouts (storage byte model and buffer element sizes).
LAYOUTS: dict[str, Layout] = {}


def register_pipeline(target: str, passes: tuple[str, ...] | list[str],
                      layout: Layout | None = None) -> None:
    """Declare ``target``'s ordered pass list (names from :data:`PASSES`) and, optionally,
    how its runtime lays out tables and activations (default: the snnc C runtime)."""
    unknown = [p for p in passes if p not in PASSES]
    if unknown:
        raise SnncError(f"pipeline for target '{target}': unknown pass(es) {unknown}")
    PIPELINES[target] = tuple(passes)
    if layout is not None:
        LAYOUTS[target] = layout


# Per-target memory planners (default: the C emitter's layout, plan_memory).
PLANNERS: dict[str, Callable[[Graph], MemoryPlan]] = {}


def register_planner(target: str, planner: Callable[[Graph], MemoryPlan]) -> None:
    """Make ``planner(graph) -> MemoryPlan`` (the layout ``target``'s emitter produces)
    the plan ``snnc compile --target TARGET`` reports."""
    PLANNERS[target] = planner


# ------------------------------------------------------------------ running


def _stats(g: Graph) -> dict[str, int]:
    syn = [v for v in g.nodes.values() if isinstance(v, (*SYNAPSE_KINDS, *QSYNAPSE_KINDS))]
    return {"nodes": len(g.nodes),
            "weights": int(sum(np.asarray(v.weight).size for v in syn)),
            "nonzero_weights": int(sum(np.count_nonzero(v.weight) for v in syn)),
            "neurons": int(sum(v.size for v in g.nodes.values()
                               if isinstance(v, _Population) and not isinstance(v, READOUTS)))}


def _dump(g: Graph, ctx: PassContext, idx: int, name: str) -> None:
    from snnc.compiler.ir.serialize import atomic_write, save
    from snnc.compiler.ir.summary import format_summary, summarize

    assert ctx.dump_dir is not None
    stem = ctx.dump_dir / f"{idx:02d}_{name}"
    save(g, stem.with_suffix(".snn"))
    text = format_summary(summarize(g))
    storage = {n: v.storage for n, v in g.items() if hasattr(v, "storage")}
    if storage:
        text += "\nstorage: " + ", ".join(f"{k}={v}" for k, v in storage.items())
    atomic_write(stem.with_suffix(".txt"), lambda f: f.write(text + "\n"), mode="w")


def run_pipeline(graph: Graph, ctx: PassContext,
                 passes: tuple[str, ...] | None = None) -> tuple[Graph, MemoryPlan]:
    """Run the target's passes (or ``passes``) in order; return (graph, memory plan)."""
    ctx.options.check()
    names = passes if passes is not None else PIPELINES[ctx.options.target]
    if ctx.layout is None:
        ctx.layout = LAYOUTS.get(ctx.options.target, SNNC_RUNTIME)
    verify(graph)
    if ctx.dump_dir is not None:
        ctx.dump_dir = Path(ctx.dump_dir)
        _dump(graph, ctx, 0, "input")
    for i, name in enumerate(names, start=1):
        if name not in PASSES:
            raise SnncError(f"unknown pass '{name}'")
        ctx.progress(f"pass {i}/{len(names)}: {name}")
        t0 = time.perf_counter()
        out = PASSES[name](graph, ctx)
        dt = time.perf_counter() - t0
        entry = {"pass": name, "seconds": round(dt, 4), "skipped": out is None}
        if out is not None:
            graph = verify(out)
            entry.update(_stats(graph))
            if ctx.dump_dir is not None:
                _dump(graph, ctx, i, name)
        ctx.log.append(entry)
    try:
        plan = PLANNERS.get(ctx.options.target, plan_memory)(graph)
    except UnsupportedError as e:  # e.g. a float graph for an integer-only emitter
        ctx.progress(f"memory plan: none ({e})")
        plan = MemoryPlan(backend="none", members=[], buffers=[], ram_bytes=0,
                          flash_bytes=0)
    return graph, plan


def options_dict(opt: CompileOptions) -> dict[str, Any]:
    """JSON-ready options."""
    return asdict(opt)
