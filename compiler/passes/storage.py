"""Choose each synapse layer's weight storage by density: dense row-major or CSC.

CSC is by presynaptic neuron (column), so a spike of input ``j`` touches only column
``j``'s non-zeros (DESIGN.md section 4). For every fully connected synapse node (float
``Linear``/``Affine``/``DelayedLinear`` and integer ``QLinear``/``QDelayedLinear``) the
pass computes the bytes of both layouts (:func:`weight_bytes`) and records the smaller
one on the node's ``storage`` field (dense wins ties: it has no indirection).
Convolutions keep ``dense`` (their kernels are shared, not per synapse).

Byte model (:class:`Layout`, defaults = the snnc C runtime, ``runtime/include/snnc``):

- dense: ``out * in`` weights, row-major;
- csc: ``col_ptr[in + 1]`` (int32), ``row_idx[nnz]`` (uint16; uint32 when out > 65535),
  ``values[nnz]``, plus ``delays[nnz]`` (uint16) for a delayed layer. The runtime's delay
  kernels are event-driven CSC, so delayed layers always get ``csc``.

Weights are 4 bytes in a float graph and their integer dtype's size in a quantized one
(int4 weights are stored one per int8: the byte model does not pack them).

Preserves: every parameter and the simulator's outputs bit for bit (``storage`` only
says how a backend lays the matrix out). ``threshold`` forces the choice instead:
csc iff density <= threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.nodes import Affine, DelayedLinear, Linear, Node
from snnc.compiler.ir.qnodes import QDelayedLinear, QLinear
from snnc.compiler.ir.verify import verify

MATRIX_KINDS = (Linear, Affine, DelayedLinear, QLinear)
DELAYED_KINDS = (DelayedLinear, QDelayedLinear)


@dataclass(frozen=True)
class Layout:
    """How a runtime lays out matrices and activations, in bytes (defaults: snnc C runtime)."""

    col_ptr_bytes: int = 4       # int32_t col_ptr[in + 1]
    row_idx_bytes: int = 2       # uint16_t row[nnz] (4 when out > 65535)
    delay_bytes: int = 2         # uint16_t delay[nnz]
    spike_bytes: int = 4         # spikes travel as int32 activations
    activation_bytes: int = 4    # integer activations (inputs, synapse outputs) are int32
    delayed_csc_only: bool = True  # delay kernels exist in CSC form only


SNNC_RUNTIME = Layout()


def _wbytes(node: Node) -> int:
    w = np.asarray(node.weight)
    return 4 if w.dtype.kind == "f" else w.dtype.itemsize


def weight_bytes(node: Node, storage: str | None = None, layout: Layout = SNNC_RUNTIME) -> int:
    """Bytes of ``node``'s weight matrix (and delays) in ``storage`` (default: its own)."""
    storage = storage or node.storage
    w = np.asarray(node.weight)
    n_out, n_in = w.shape
    per = _wbytes(node) + (layout.delay_bytes if isinstance(node, DELAYED_KINDS) else 0)
    if storage == "dense":
        return int(n_out * n_in * per)
    nnz = int(np.count_nonzero(w))
    idx = layout.row_idx_bytes if n_out <= 65536 else 4
    if storage in ("csc", "csr"):  # csr: row_ptr[out + 1], col_idx[nnz]
        n_ptr = n_in + 1 if storage == "csc" else n_out + 1
        return int(n_ptr * layout.col_ptr_bytes + nnz * (idx + per))
    raise SnncError(f"storage: unknown layout '{storage}'")


def density(node: Node) -> float:
    """Fraction of non-zero weights."""
    w = np.asarray(node.weight)
    return float(np.count_nonzero(w)) / w.size if w.size else 1.0


def choose_storage(graph: Graph, threshold: float | None = None,
                   layout: Layout = SNNC_RUNTIME) -> Graph:
    """Set ``storage`` to 'dense' or 'csc' on every matrix synapse node (see module doc)."""
    if threshold is not None and not (0.0 <= float(threshold) <= 1.0):
        raise SnncError(f"storage: option 'threshold' must be in [0, 1], got {threshold!r}")
    nodes = dict(graph.nodes)
    for name, node in graph.items():
        if not isinstance(node, MATRIX_KINDS):
            continue
        if isinstance(node, DELAYED_KINDS) and layout.delayed_csc_only:
            best = "csc"
        elif threshold is not None:
            best = "csc" if density(node) <= float(threshold) else "dense"
        else:
            best = ("csc" if weight_bytes(node, "csc", layout) < weight_bytes(node, "dense", layout)
                    else "dense")
        if best != node.storage:
            nodes[name] = node.replace(storage=best)
    return verify(graph.replace(nodes=nodes))
