"""snnc: an edge deployment compiler and runtime for spiking neural networks.

The installed package maps the repository's top-level folders: ``snnc.compiler`` (IR,
frontends, passes, codegen), ``snnc.targets`` (devices), ``snnc.models`` (the zoo),
``snnc.bench`` (benchmarks) and ``snnc.cli`` (the ``snnc`` command).
"""

__version__ = "0.2.0"
