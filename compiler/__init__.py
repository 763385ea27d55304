"""snnc: an edge deployment compiler for spiking neural networks.

The pipeline reads as the package tree: ``frontend`` (NIR, zoo exporters) -> ``ir``
(graph, verifier, reference simulator, ``.snn`` files) -> ``passes`` -> ``codegen``.
"""

from snnc import __version__  # one version for the package (the repository root)

__all__ = ["__version__"]
