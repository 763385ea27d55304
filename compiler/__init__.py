"""snnc: an edge deployment compiler for spiking neural networks.

The pipeline reads as the package tree: ``frontend`` (NIR, zoo exporters) -> ``ir``
(graph, verifier, reference simulator, ``.snn`` files) -> ``passes`` -> ``codegen``.
"""

__version__ = "0.1.0"
