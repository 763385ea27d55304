"""Build the DelayNet IR graph from trained arrays (numpy only).

Graph: input (12, real) -> fc1 DelayedLinear -> lif1 LIF -> fc2 DelayedLinear -> lif2 LIF
-> fc3 Linear -> li LI -> readout MembraneArgmax('sum') -> output.

Neuron convention (matches the torch training code exactly): ``beta = exp(-dt/tau)`` and
``r = 1/(1-beta)``, so the IR's ``v = beta v + (1-beta) r x`` is ``v = beta v + x``;
threshold 1, subtract reset. The readout sums the LI membrane over all steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from snnc.compiler.ir import (
    LI,
    LIF,
    DelayedLinear,
    Graph,
    Input,
    Linear,
    MembraneArgmax,
    Output,
    verify,
)

DT = 1e-3


def tau_for(beta: float, dt: float = DT) -> float:
    """Time constant (s) whose exact decay over ``dt`` is ``beta``."""
    return -dt / math.log(beta)


def build_graph(w1: np.ndarray, d1: np.ndarray, w2: np.ndarray, d2: np.ndarray,
                w3: np.ndarray, beta_hidden: float, beta_out: float,
                metadata: dict[str, Any], name: str = "delaynet") -> Graph:
    """The verified DelayNet graph (weights float64, delays int64)."""
    h1, h2, n_out = w1.shape[0], w2.shape[0], w3.shape[0]
    bh, bo = float(beta_hidden), float(beta_out)

    def lif(n: int) -> LIF:
        return LIF((n,), tau=np.array(tau_for(bh)), r=np.array(1.0 / (1.0 - bh)),
                   v_threshold=np.array(1.0), reset="subtract")

    g = Graph(
        nodes={
            "input": Input((int(w1.shape[1]),)),
            "fc1": DelayedLinear(np.asarray(w1, np.float64), np.asarray(d1, np.int64)),
            "lif1": lif(h1),
            "fc2": DelayedLinear(np.asarray(w2, np.float64), np.asarray(d2, np.int64)),
            "lif2": lif(h2),
            "fc3": Linear(np.asarray(w3, np.float64)),
            "li": LI((n_out,), tau=np.array(tau_for(bo)), r=np.array(1.0 / (1.0 - bo))),
            "readout": MembraneArgmax((n_out,), reduce="sum"),
            "output": Output((n_out,)),
        },
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
               ("lif2", "fc3"), ("fc3", "li"), ("li", "readout"), ("readout", "output")],
        dt=DT, discretization="exact", name=name, metadata=dict(metadata),
    )
    return verify(g)
