"""Baselines snnc is measured against: onnxruntime, TVM (Relax VM), LiteRT and the NumPy
reference, each running the graph's ONNX/TFLite step export (``runners.py``;
``tvm_relax.py`` builds the Relax module). They are bench tools, not snnc emitters.

:func:`open_baseline` puts any of them behind the same ``run(x) -> y`` as
:func:`snnc.targets.run.open_build` and :func:`snnc.targets.run.golden`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph
from snnc.targets.run import concat_outputs


@dataclass
class BaselineModel:
    """A baseline engine's runner (:mod:`snnc.bench.baselines.runners`) behind ``run``."""

    runner: Any
    graph: Graph

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run every sample from reset (one at a time: the step exports are batch 1)."""
        x = np.asarray(x)
        shape = tuple(self.graph.nodes[self.graph.inputs[0]].shape_out())
        xs = x.reshape(x.shape[0], x.shape[1], *shape)
        ys = [concat_outputs(self.graph, self.runner.run({self.graph.inputs[0]: xs[i:i + 1]}),
                             1, x.shape[1]) for i in range(x.shape[0])]
        return np.concatenate(ys, axis=0)


def open_baseline(name: str, graph: Graph) -> BaselineModel:
    """``name`` (onnxruntime, onnxruntime-scan, tvm, litert, reference) on ``graph``, in
    integer arithmetic for a quantized graph; UnsupportedError if it cannot express it."""
    from snnc.bench.baselines.runners import make_runner
    from snnc.compiler.ir.qnodes import is_quantized

    if len(graph.inputs) != 1:
        raise SnncError(f"graph '{graph.name}' has {len(graph.inputs)} inputs; run takes one")
    dtype = "int" if is_quantized(graph) else "float32"
    runner = (make_runner(name, graph, dtype=dtype) if name == "reference" else
              make_runner(name, graph, dtype=dtype, batch=1))
    return BaselineModel(runner, graph)
