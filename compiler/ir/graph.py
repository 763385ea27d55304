"""The graph: named nodes, directed edges, the time step and its discretization.

Execution order: the schedule is a depth-first walk from the inputs (in insertion
order). An edge that points back to a node still on the walk's stack is a *recurrent*
edge: its destination reads the source's output of step ``t-1``. Every cycle must pass
through a stateful node (``verify`` enforces it), so a recurrent edge is never a
same-step algebraic loop. All other edges deliver step ``t``. A node's input is the sum
of its incoming edges (NIR semantics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir.nodes import Input, Node, Output

DISCRETIZATIONS = ("exact", "euler", "bitshift")


def decay(tau: np.ndarray | float, dt: float, method: str) -> np.ndarray:
    """Per-step decay factor for a time constant ``tau`` (seconds).

    exact:    exp(-dt/tau)                (zero-order hold of the leak)
    euler:    1 - dt/tau                  (forward Euler; Norse, snnTorch exports)
    bitshift: 1 - 2**-round(log2(1/(1 - exp(-dt/tau))))   (Xylo-style shift leak)
    tau = inf means no leak (factor 1).
    """
    tau = np.asarray(tau, dtype=np.float64)
    with np.errstate(divide="ignore"):
        if method == "exact":
            return np.exp(-dt / tau)
        if method == "euler":
            return 1.0 - dt / tau
        if method == "bitshift":
            gain = 1.0 - np.exp(-dt / tau)
            dash = np.round(-np.log2(np.where(gain > 0, gain, 1.0)))
            return np.where(gain > 0, 1.0 - np.exp2(-dash), 1.0)
    raise GraphError(f"unknown discretization '{method}' (expected one of {DISCRETIZATIONS})")


@dataclass(frozen=True, eq=False)
class Graph:
    """An SNN as a graph of IR nodes. Immutable: passes build new graphs."""

    nodes: dict[str, Node]
    edges: tuple[tuple[str, str], ...]
    dt: float = 1e-3
    discretization: str = "exact"
    name: str = "model"
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "edges", tuple((str(a), str(b)) for a, b in self.edges))

    # ------------------------------------------------------------------ queries
    def replace(self, **changes: Any) -> "Graph":
        """A copy with some fields changed."""
        d = dict(nodes=self.nodes, edges=self.edges, dt=self.dt,
                 discretization=self.discretization, name=self.name,
                 metadata=self.metadata)
        d.update(changes)
        return Graph(**d)

    @property
    def inputs(self) -> list[str]:
        return [n for n, v in self.nodes.items() if isinstance(v, Input)]

    @property
    def outputs(self) -> list[str]:
        return [n for n, v in self.nodes.items() if isinstance(v, Output)]

    def predecessors(self, name: str) -> list[str]:
        return [a for a, b in self.edges if b == name]

    def successors(self, name: str) -> list[str]:
        return [b for a, b in self.edges if a == name]

    def items(self) -> Iterator[tuple[str, Node]]:
        return iter(self.nodes.items())

    def decay(self, tau: np.ndarray | float) -> np.ndarray:
        """Decay factor of ``tau`` under this graph's dt and discretization."""
        return decay(tau, self.dt, self.discretization)

    # ------------------------------------------------------------------ schedule
    def schedule(self) -> tuple[list[str], set[tuple[str, str]]]:
        """(execution order, recurrent edges). See the module docstring."""
        succ: dict[str, list[str]] = {n: [] for n in self.nodes}
        for a, b in self.edges:
            if a in succ:
                succ[a].append(b)
        state: dict[str, int] = {}  # 1 = on stack, 2 = done
        back: set[tuple[str, str]] = set()
        post: list[str] = []
        roots = self.inputs + [n for n in self.nodes if n not in self.inputs]
        for root in roots:
            if root in state:
                continue
            stack: list[tuple[str, Iterator[str]]] = [(root, iter(succ[root]))]
            state[root] = 1
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    stack.pop()
                    state[node] = 2
                    post.append(node)
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(succ[nxt])))
                elif state[nxt] == 1:
                    back.add((node, nxt))
        order = post[::-1]
        return order, back


def graphs_equal(a: Graph, b: Graph) -> bool:
    """Exact structural equality: same nodes (kind, every field bit-for-bit), edges, dt."""
    if (a.edges, a.dt, a.discretization, a.name) != (b.edges, b.dt, b.discretization, b.name):
        return False
    if list(a.nodes) != list(b.nodes):
        return False
    return all(nodes_equal(a.nodes[k], b.nodes[k]) for k in a.nodes) and _meta_eq(
        a.metadata, b.metadata
    )


def _meta_eq(x: Any, y: Any) -> bool:
    if isinstance(x, dict) and isinstance(y, dict):
        return x.keys() == y.keys() and all(_meta_eq(x[k], y[k]) for k in x)
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        return len(x) == len(y) and all(_meta_eq(i, j) for i, j in zip(x, y))
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return bool(x == y)


def nodes_equal(a: Node, b: Node) -> bool:
    """Exact equality of two nodes, arrays compared by dtype, shape and bits."""
    if type(a) is not type(b):
        return False
    pa, pb = a.params(), b.params()
    for k in pa:
        x, y = pa[k], pb[k]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            x, y = np.asarray(x), np.asarray(y)
            if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                return False
        else:
            xx = tuple(x) if isinstance(x, (list, tuple)) else x
            yy = tuple(y) if isinstance(y, (list, tuple)) else y
            if xx != yy:
                return False
    return True
