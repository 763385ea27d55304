"""Fit-to-device search: the fastest/smallest build of a model that fits a device within
an accuracy budget (``snnc fit``).

Pieces: :mod:`.space` (dimensions; each target declares its own through a
``fit_space(graph, profile)`` hook in its module), :mod:`.evaluate` (one point: compile,
accuracy with the integer golden model, cost from the real build), :mod:`.measure` (cost
measurements by kind), :mod:`.engine` (local process pool or Ray), :mod:`.search`
(seeded successive halving, on-disk cache, Pareto front, choice) and :mod:`.report`
(JSON/Markdown/PNG and the chosen build). Method: ``docs/fit.md``.
"""

from snnc.targets.fit.search import FitConfig, FitResult, fit, load_data, pareto_front
from snnc.targets.fit.space import Dimension, SearchSpace

__all__ = ["FitConfig", "FitResult", "fit", "load_data", "pareto_front", "Dimension",
           "SearchSpace"]
