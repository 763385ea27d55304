"""Fixtures for the fit tests: a tiny model, labelled data and a small search space."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.targets.fit.space import Dimension, SearchSpace


def tiny_data(graph, n: int = 96, steps: int = 20, seed: int = 1):
    """Seeded real-valued inputs labelled by the float model itself (float accuracy 100%)."""
    from snnc.compiler.ir import predict

    x = np.random.default_rng(seed).normal(0.6, 1.0, (n, steps, 4)).astype(np.float32)
    y = predict(graph, {graph.inputs[0]: x}).astype(np.int64)
    return x, y


# Small host space: 3 x 3 x 2 = 18 points (prune_scope fixed); cost from the planner.
SMALL_DIMS = (
    Dimension("quantize", ("int4", "int8", "int16"), "int8"),
    Dimension("prune", (0.0, 0.25, 0.5), 0.0),
    Dimension("storage", ("bytes", "event"), "bytes"),
)


def small_space(graph, profile=None) -> SearchSpace:
    return SearchSpace("host", SMALL_DIMS, costs=("ram", "flash"), measure="plan")


@pytest.fixture
def tiny():
    from snnc.models.examples.make_examples import tiny_recurrent

    g = tiny_recurrent()
    x, y = tiny_data(g)
    return g, x, y


@pytest.fixture
def small(monkeypatch):
    """Make fit use the small space for the host target (the local pool forks, so the
    workers see the patch too)."""
    import snnc.targets.fit.search as search

    monkeypatch.setattr(search, "target_space", lambda g, t, p: small_space(g, p))
    return SMALL_DIMS
