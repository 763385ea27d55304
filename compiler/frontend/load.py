"""Load a model file by its extension: ``.snn`` (snnc) or ``.nir``/``.h5`` (NIR)."""

from __future__ import annotations

from pathlib import Path

from snnc.compiler.errors import FormatError
from snnc.compiler.ir.graph import Graph


def load_model(path: str | Path) -> Graph:
    """Load a model by extension: ``.snn`` (snnc) or ``.nir``/``.h5`` (NIR)."""
    from snnc.compiler.ir import load

    p = Path(path)
    if not p.exists():
        raise FormatError("no such file", p)
    if p.suffix in (".nir", ".h5", ".hdf5"):
        from snnc.compiler.frontend.nir import import_nir

        return import_nir(p)
    if p.suffix == ".snn":
        return load(p)
    raise FormatError(f"unknown model format '{p.suffix}' (expected .snn or .nir)", p)
