"""Evaluate one point of the space: compile, accuracy with the golden model, build cost.

Runs inside a worker (a local process or a Ray task). The model(s) and data arrive once
per worker as a :class:`FitState` (initializer argument of the local pool, an object in
Ray's object store); a task is a small dict naming the point and what to measure::

    {"point": {...}, "n": 41 | None, "cost": bool}

``n``: accuracy on the first ``n`` samples of the (seeded, shuffled) data, with the
integer golden model :func:`~snnc.compiler.ir.interpret_int.predict_int` on the quantized
graph; ``cost``: the target's measurement step (:mod:`.measure`) on the first
``cost_samples`` samples. Errors a user can cause (the point does not fit the profile,
say) come back as ``{"error": "..."}``; they are deterministic and cached like results.
Any other exception (a compiler bug on one point) is reported as an internal error on that
point, not cached, and does not end the sweep.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph


@dataclass
class FitState:
    """What every worker needs once: the graphs, the data, and how to compile/measure."""

    graphs: dict[str, Graph]         # model variant name -> float graph ("base" first)
    x: np.ndarray                    # float inputs [N, T, ...], already shuffled (seeded)
    y: np.ndarray                    # int labels [N]
    target: str
    profile: str | None
    measure: str                     # key of measure.MEASURES
    calib_samples: int = 64
    cost_samples: int = 4
    sid: str = ""                    # identity (content hash) so workers reuse their copy
    _compiled: "OrderedDict[str, Any]" = field(default_factory=OrderedDict, repr=False)


_STATE: FitState | None = None


def init_worker(state: FitState) -> None:
    """Pool initializer: keep the state for the tasks this process runs."""
    global _STATE
    _STATE = state


def compile_point(state: FitState, point: dict[str, Any]) -> tuple[Graph, Any]:
    """Run the target's pipeline on the point's model variant (memoized per worker)."""
    from snnc.compiler.passes.pipeline import PassContext, run_pipeline
    from snnc.targets import registry  # noqa: F401  (registers the targets' pipelines)
    from snnc.targets.fit.space import compile_options, point_key

    key = point_key(point)
    if key in state._compiled:
        state._compiled.move_to_end(key)
        return state._compiled[key]
    name = point.get("model", "base")
    if name not in state.graphs:
        raise SnncError(f"fit: unknown model variant '{name}'")
    from snnc.targets.fit.measure import DEVICE_KEYS

    dev_keys = DEVICE_KEYS.get(state.measure, ())
    opts = compile_options({k: v for k, v in point.items() if k not in dev_keys},
                           state.target, state.profile)
    ctx = PassContext(options=opts, calib=state.x[:state.calib_samples],
                      progress=lambda msg: None)
    out = run_pipeline(state.graphs[name], ctx)
    state._compiled[key] = out
    while len(state._compiled) > 4:  # a worker sees a point at most once per rung
        state._compiled.popitem(last=False)
    return out


def accuracy(graph_q: Graph, x: np.ndarray, y: np.ndarray) -> float:
    """Share of samples the integer golden model classifies right (argmax, last step)."""
    from snnc.compiler.ir.interpret_int import predict_int
    from snnc.compiler.ir.qnodes import is_quantized

    if is_quantized(graph_q):
        pred = predict_int(graph_q, x)
    else:
        from snnc.compiler.ir import predict

        pred = predict(graph_q, {graph_q.inputs[0]: x})
    return float(np.mean(pred == y))


def run_task(task: dict[str, Any], state: FitState | None = None) -> dict[str, Any]:
    """Evaluate one task (see the module docstring); never raises for a bad point."""
    st = state if state is not None else _STATE
    if st is None:
        raise RuntimeError("fit worker has no state (init_worker not called)")
    t0 = time.perf_counter()
    out: dict[str, Any] = {"point": task["point"], "n": task.get("n"),
                           "cost": None, "accuracy": None, "error": None}
    try:
        # Passes and builds narrate on stderr; in a sweep only the progress line should.
        with contextlib.redirect_stderr(io.StringIO()):
            _evaluate(st, task, out)
    except SnncError as e:
        out["error"] = str(e).splitlines()[0][:300]
    except Exception as e:  # noqa: BLE001  a compiler bug on one point must not end a sweep
        out["error"] = f"internal error: {type(e).__name__}: {e}"[:300]
        out["transient"] = True  # not cached: a fixed snnc evaluates it again
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def _evaluate(st: FitState, task: dict[str, Any], out: dict[str, Any]) -> None:
    from snnc.targets.fit.measure import ACCURACY, MEASURES, NEEDS_POINT

    gq, plan = compile_point(st, task["point"])
    if task.get("n"):
        n = int(task["n"])
        if st.measure in ACCURACY:
            out["accuracy"] = ACCURACY[st.measure](gq, task["point"], st.x[:n], st.y[:n],
                                                   st.profile)
        else:
            out["accuracy"] = accuracy(gq, st.x[:n], st.y[:n])
    if task.get("cost"):
        kw = {"point": task["point"]} if st.measure in NEEDS_POINT else {}
        with tempfile.TemporaryDirectory(prefix="snnc-fit-") as td:
            out["cost"] = MEASURES[st.measure](st.target, gq, plan, st.x[:st.cost_samples],
                                               st.profile, Path(td), **kw)
