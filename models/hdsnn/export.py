"""Express the HD-SNN kernel in the IR (numpy only).

The trained model is one convolutional layer over (polarity, delay, y, x): for class c
at window position (py, px) and step t,

    a[c, py, px, t] = b[c] + sum_{p, d, ky, kx} K[c, p, d, ky, kx] * e[p, py*s + ky, px*s + kx, t - d]

and the neuron spikes when a > 0 (the logistic unit's sigmoid(a) > 1/2). The IR is dense
vectors, so the crop's events are flattened to ``p*S*S + y*S + x`` and the kernel is
expanded over the positions. A DelayedLinear carries *one* delay per (out, in) pair
while the HD-SNN kernel has one weight per delay for the same pair, so the kernel
becomes one DelayedLinear per delay tap d (``tap<d>``, every synapse with delay d; the
zero entries of the expansion carry delay 0, the canonical inert form), all summed into
a memoryless spiking population:

    input (2*S*S spikes) -> tap0..tap{D-1} -> neurons Threshold(-b[c]) (C*P spikes)
    -> pool Linear (ones: sum over positions) -> readout MembraneArgmax('sum') -> output

The decision is the class whose neurons spike most over all positions and steps (ties:
lowest class index), exactly the rule the training code evaluates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnc.compiler.ir import (
    DelayedLinear,
    Graph,
    Input,
    Linear,
    MembraneArgmax,
    Output,
    Threshold,
    verify,
)


def n_positions(size: int, k: int, stride: int) -> int:
    """Window positions per axis of a valid convolution."""
    return (size - k) // stride + 1


def expand_tap(kernel: np.ndarray, d: int, size: int, stride: int) -> np.ndarray:
    """Dense weight [C*P*P, 2*S*S] of delay tap ``d`` of ``kernel`` [C, 2, D, k, k]."""
    n_cls, n_pol, _, k, _ = kernel.shape
    npos = n_positions(size, k, stride)
    w = np.zeros((n_cls, npos, npos, n_pol, size, size))
    for py in range(npos):
        for px in range(npos):
            y0, x0 = py * stride, px * stride
            w[:, py, px, :, y0:y0 + k, x0:x0 + k] = kernel[:, :, d]
    return w.reshape(n_cls * npos * npos, n_pol * size * size)


def build_graph(kernel: np.ndarray, bias: np.ndarray, size: int, stride: int,
                metadata: dict[str, Any], dt: float = 1e-3) -> Graph:
    """The verified HD-SNN graph for ``kernel`` [C, 2, D, k, k] and ``bias`` [C]."""
    kernel = np.asarray(kernel, np.float64)
    n_cls, n_pol, n_delay, k, _ = kernel.shape
    npos = n_positions(size, k, stride)
    n_neur = n_cls * npos * npos
    nodes: dict[str, Any] = {"input": Input((n_pol * size * size,), dtype="spike")}
    edges = []
    for d in range(n_delay):
        w = expand_tap(kernel, d, size, stride)
        nodes[f"tap{d}"] = DelayedLinear(w, np.where(w != 0, d, 0).astype(np.int64))
        edges += [("input", f"tap{d}"), (f"tap{d}", "neurons")]
    # neuron index = c * P*P + position, so the threshold is -b[c] repeated per position
    nodes["neurons"] = Threshold((n_neur,), np.repeat(-np.asarray(bias, np.float64), npos * npos))
    nodes["pool"] = Linear(np.kron(np.eye(n_cls), np.ones((1, npos * npos))))
    nodes["readout"] = MembraneArgmax((n_cls,), reduce="sum")
    nodes["output"] = Output((n_cls,))
    edges += [("neurons", "pool"), ("pool", "readout"), ("readout", "output")]
    return verify(Graph(nodes=nodes, edges=edges, dt=dt, name="hdsnn", metadata=dict(metadata)))
