"""The snnc IR: node kinds, the graph, its verifier, the reference simulator, .snn files."""

from snnc.compiler.ir import qnodes as _qnodes  # noqa: F401  (registers the integer kinds)
from snnc.compiler.ir.graph import Graph, decay, graphs_equal, nodes_equal
from snnc.compiler.ir.interpret import SimResult, predict, simulate
from snnc.compiler.ir.nodes import (
    NODE_KINDS,
    Affine,
    Conv1d,
    Conv2d,
    DelayedLinear,
    Flatten,
    Input,
    Linear,
    MembraneArgmax,
    Node,
    Output,
    Scale,
    SpikeCountArgmax,
    Threshold,
)
from snnc.compiler.ir.serialize import load, save
from snnc.compiler.ir.verify import verify

# isort: split
# Registered ops (compiler/ops/<kind>.py) add their kinds to NODE_KINDS on import,
# after the IR modules they build on.
from snnc.compiler import ops as _ops  # noqa: E402,F401
from snnc.compiler.ops.cubalif import CubaLIF  # noqa: E402
from snnc.compiler.ops.if_ import IF  # noqa: E402
from snnc.compiler.ops.li import LI  # noqa: E402
from snnc.compiler.ops.lif import LIF  # noqa: E402

__all__ = [
    "Graph", "decay", "graphs_equal", "nodes_equal", "SimResult", "predict", "simulate",
    "IF", "LI", "LIF", "NODE_KINDS", "Affine", "Conv1d", "Conv2d", "CubaLIF",
    "DelayedLinear", "Flatten", "Input", "Linear", "MembraneArgmax", "Node", "Output",
    "Scale", "SpikeCountArgmax", "Threshold", "load", "save", "verify",
]
