"""Regenerate the bundled example graphs: ``python -m snnc.models.examples.make_examples``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from snnc.compiler.ir import LIF, Graph, Input, Linear, Output, SpikeCountArgmax, save, verify


def tiny_recurrent() -> Graph:
    """4 inputs -> 8 recurrent LIF -> 3 LIF -> spike-count readout (seeded weights)."""
    rng = np.random.default_rng(0)
    g = Graph(
        nodes={
            "input": Input((4,)),
            "fc1": Linear(np.round(rng.normal(0, 0.8, (8, 4)), 3)),
            "lif1": LIF((8,), tau=np.array(5e-3), r=np.array(1.0), v_threshold=np.array(0.5)),
            "rec1": Linear(np.round(rng.normal(0, 0.3, (8, 8)), 3)),
            "fc2": Linear(np.round(rng.normal(0, 1.0, (3, 8)), 3)),
            "lif2": LIF((3,), tau=np.array(5e-3), v_threshold=np.array(0.5)),
            "readout": SpikeCountArgmax((3,)),
            "output": Output((3,)),
        },
        edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "rec1"), ("rec1", "lif1"),
               ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "readout"), ("readout", "output")],
        dt=1e-3,
        name="tiny_recurrent",
    )
    return verify(g)


if __name__ == "__main__":
    here = Path(__file__).parent
    save(tiny_recurrent(), here / "tiny_recurrent.snn")
    print(here / "tiny_recurrent.snn")
