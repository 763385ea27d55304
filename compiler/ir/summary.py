"""``summarize(graph)``: per-node shapes, parameter/synapse/neuron counts, memory estimate.

The memory estimate assumes float32 parameters and state (what a float build on the
device holds); the quantization pass's planner gives exact integer figures later.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import (
    SYNAPSE_KINDS,
    DelayedLinear,
    Node,
    _Population,
)


def _n_params(node: Node) -> int:
    return int(sum(np.asarray(getattr(node, f)).size for f in node.array_fields))


def _n_synapses(node: Node) -> int:
    if isinstance(node, SYNAPSE_KINDS) or hasattr(node, "weight"):  # also integer kinds
        return int(np.count_nonzero(node.weight))
    return 0


def _state_values(node: Node) -> int:
    if isinstance(node, DelayedLinear):
        return (node.max_delay + 1) * int(node.weight.shape[0])
    from snnc.compiler.ops import op_for

    op = op_for(node)
    if op is not None:  # one value per state variable of the op's spec
        return len(op.state) * node.size
    if isinstance(node, _Population):  # readouts: one accumulator
        return node.size
    return 0


def summarize(graph: Graph) -> dict[str, Any]:
    """A JSON-ready description of the graph (what ``snnc inspect`` prints)."""
    order, back = graph.schedule()
    rows = []
    for name in order:
        node = graph.nodes[name]
        rows.append({
            "name": name,
            "kind": node.kind,
            "in": list(node.shape_in()),
            "out": list(node.shape_out()),
            "params": _n_params(node),
            "synapses": _n_synapses(node),
            "neurons": node.size if isinstance(node, _Population) else 0,
            "state": _state_values(node),
            "inputs_from": graph.predecessors(name),
        })
    params = sum(r["params"] for r in rows)
    state = sum(r["state"] for r in rows)
    buffers = sum(int(np.prod(r["out"])) for r in rows)
    return {
        "name": graph.name,
        "dt": graph.dt,
        "discretization": graph.discretization,
        "nodes": rows,
        "recurrent_edges": sorted([list(e) for e in back]),
        "totals": {
            "nodes": len(rows),
            "params": params,
            "synapses": sum(r["synapses"] for r in rows),
            "neurons": sum(r["neurons"] for r in rows),
            "flash_bytes_f32": 4 * params,
            "ram_bytes_f32": 4 * (state + buffers),
        },
    }


def format_summary(s: dict[str, Any]) -> str:
    """Render a summary as a fixed-width table."""
    head = ("node", "kind", "in", "out", "params", "synapses", "neurons")
    rows = [(r["name"], r["kind"], "x".join(map(str, r["in"])), "x".join(map(str, r["out"])),
             str(r["params"]), str(r["synapses"]), str(r["neurons"])) for r in s["nodes"]]
    w = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    fmt = "  ".join(f"{{:{'<' if i < 4 else '>'}{w[i]}}}" for i in range(len(head)))
    t = s["totals"]
    lines = [f"model {s['name']}  dt={s['dt']}  discretization={s['discretization']}",
             fmt.format(*head), fmt.format(*("-" * x for x in w))]
    lines += [fmt.format(*r) for r in rows]
    if s["recurrent_edges"]:
        lines.append("recurrent edges (read t-1): "
                     + ", ".join(f"{a}->{b}" for a, b in s["recurrent_edges"]))
    lines.append(f"total: {t['nodes']} nodes, {t['params']} params, {t['synapses']} synapses, "
                 f"{t['neurons']} neurons; memory estimate (float32): "
                 f"flash {t['flash_bytes_f32']} B, RAM {t['ram_bytes_f32']} B")
    return "\n".join(lines)
