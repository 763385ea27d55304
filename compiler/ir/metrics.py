"""Workload metrics with NeuroBench's names and definitions.

- **SynOps** (NeuroBench ``SynapticOperations``: ``Effective_ACs`` for binary spike
  inputs, ``Effective_MACs`` for real-valued ones): synaptic events actually processed.
  At every step, every non-zero presynaptic activation x_j[t] costs one operation per
  non-zero synapse in its fan-out (column j of W; for a convolution, every non-zero
  kernel tap that reads it). For a DelayedLinear the operation is counted when the spike
  is emitted (the ring-buffer runtime adds W[i,j] into slot t + D[i,j] then), so a
  synapse's delay does not change its cost.
- **Dense** (NeuroBench ``SynapticOperations['Dense']``): the MACs of the same layers
  run densely, every weight (zero or not) once per step.
- **ActivationSparsity**: 1 - (non-zero outputs / all outputs) over every spiking
  population (nodes whose out_dtype is spike: LIF, CubaLIF, IF, ALIF, Threshold), all steps.
- **ConnectionSparsity**: zero weights / all weights over every synapse node (biases
  excluded).

Numbers are per sample (averaged over the batch) unless a function says otherwise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.interpret import _conv, _step, simulate
from snnc.compiler.ir.nodes import (
    SPIKE,
    SYNAPSE_KINDS,
    Affine,
    Conv1d,
    Conv2d,
    DelayedLinear,
    Input,
    Linear,
    Node,
)


def _conv_args(node: Node) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    if isinstance(node, Conv1d):
        return (node.stride,), (node.padding,), (node.dilation,)
    return tuple(node.stride), tuple(node.padding), tuple(node.dilation)  # type: ignore[attr-defined]


def _event_ops(node: Node, active: np.ndarray) -> np.ndarray:
    """Per-sample count of (non-zero input, non-zero synapse) pairs. active: [B, *in] 0/1."""
    w = np.asarray(node.weight)  # type: ignore[attr-defined]
    if isinstance(node, (Linear, Affine, DelayedLinear)):
        fanout = (w != 0).sum(axis=0).astype(np.float64)  # [in]
        return active.reshape(active.shape[0], -1) @ fanout
    if isinstance(node, (Conv1d, Conv2d)):
        s, p, d = _conv_args(node)
        nz = (w != 0).astype(np.float64)
        out = _conv(active, nz, np.zeros(0), s, p, d, node.groups)
        return out.reshape(out.shape[0], -1).sum(axis=1)
    raise SnncError(f"no SynOps rule for node kind '{node.kind}'")


def dense_macs_per_step(graph: Graph) -> int:
    """MACs of one step with every synapse node run densely (zeros included)."""
    total = 0
    for _, node in graph.items():
        if not isinstance(node, SYNAPSE_KINDS):
            continue
        w = np.asarray(node.weight)
        if isinstance(node, (Conv1d, Conv2d)):
            # every kernel tap at every output position (padding taps included, as dense)
            n_out_pos = int(np.prod(node.shape_out()[1:]))
            total += int(w.size) * n_out_pos  # w is [C_out, C_in/groups, *k]
        else:
            total += int(w.size)
    return total


def _source_dtype(graph: Graph, name: str) -> str:
    """'spike' if every predecessor of ``name`` emits spikes, else 'real'."""
    kinds = []
    for p in graph.predecessors(name):
        src = graph.nodes[p]
        kinds.append(src.dtype if isinstance(src, Input) else src.out_dtype)
    return SPIKE if kinds and all(k == SPIKE for k in kinds) else "real"


def workload(graph: Graph, inputs: dict[str, np.ndarray] | np.ndarray) -> dict[str, Any]:
    """Simulate once and count everything: see the module docstring.

    Returns per-sample arrays ``synops``, ``effective_acs``, ``effective_macs`` ([B]) and
    scalars ``dense`` (per sample), ``activation_sparsity``, ``connection_sparsity``,
    plus ``per_node`` SynOps (per-sample mean) for each synapse node and ``outputs``
    (the simulation's Output traces, so callers can score accuracy from the same run).
    """
    # fresh node objects (arrays shared) so a node object reused under two names in a
    # user's graph still gets its own counter: the step rule only sees the node
    graph = graph.replace(nodes={k: n.replace() for k, n in graph.items()})
    names = {id(n): k for k, n in graph.items()}
    syn_dtype = {k: _source_dtype(graph, k) for k, n in graph.items()
                 if isinstance(n, SYNAPSE_KINDS)}
    counts: dict[str, np.ndarray] = {}
    spikes = [0.0, 0.0]  # non-zero, total
    steps = [0]

    def rule(node: Node, x: np.ndarray, st: dict[str, np.ndarray], g: Graph) -> np.ndarray:
        name = names[id(node)]
        if isinstance(node, SYNAPSE_KINDS):
            ops = _event_ops(node, (x != 0).astype(np.float64))
            counts[name] = counts.get(name, 0.0) + ops
        y = _step(node, x, st, g)
        if not isinstance(node, Input) and node.out_dtype == SPIKE:
            spikes[0] += float(np.count_nonzero(y))
            spikes[1] += float(y.size)
        if name == graph.inputs[0]:
            steps[0] += 1
        return y

    res = simulate(graph, inputs, step_rule=rule)
    bsz = next(iter(res.outputs.values())).shape[0]
    zero = np.zeros(bsz)
    acs = sum((c for k, c in counts.items() if syn_dtype[k] == SPIKE), zero.copy())
    macs = sum((c for k, c in counts.items() if syn_dtype[k] != SPIKE), zero.copy())
    return {
        "synops": acs + macs,
        "effective_acs": acs,
        "effective_macs": macs,
        "dense": float(dense_macs_per_step(graph) * steps[0]),
        "activation_sparsity": (1.0 - spikes[0] / spikes[1]) if spikes[1] else float("nan"),
        "connection_sparsity": connection_sparsity(graph),
        "per_node": {k: float(np.mean(c)) for k, c in counts.items()},
        "outputs": res.outputs,
    }


def synops(graph: Graph, inputs: dict[str, np.ndarray] | np.ndarray) -> np.ndarray:
    """Per-sample SynOps ([B]): synaptic events actually processed (module docstring)."""
    return workload(graph, inputs)["synops"]


def activation_sparsity(graph: Graph, inputs: dict[str, np.ndarray] | np.ndarray) -> float:
    """NeuroBench ActivationSparsity over all spiking populations and steps."""
    return float(workload(graph, inputs)["activation_sparsity"])


def connection_sparsity(graph: Graph) -> float:
    """NeuroBench ConnectionSparsity: zero weights / all weights of the synapse nodes."""
    zeros = total = 0
    for _, node in graph.items():
        if isinstance(node, SYNAPSE_KINDS):
            w = np.asarray(node.weight)
            zeros += int(np.count_nonzero(w == 0))
            total += int(w.size)
    return zeros / total if total else 0.0


def neurobench_metrics(graph: Graph, inputs: dict[str, np.ndarray] | np.ndarray) -> dict[str, Any]:
    """The NeuroBench-named dict: SynapticOperations{Effective_MACs, Effective_ACs, Dense},
    ActivationSparsity, ConnectionSparsity (per-sample means)."""
    w = workload(graph, inputs)
    return {
        "SynapticOperations": {
            "Effective_MACs": float(np.mean(w["effective_macs"])),
            "Effective_ACs": float(np.mean(w["effective_acs"])),
            "Dense": w["dense"],
        },
        "ActivationSparsity": w["activation_sparsity"],
        "ConnectionSparsity": w["connection_sparsity"],
    }
