"""L2MU hyperparameters and the torch-free checkpoint format (``.npz``).

A checkpoint holds ``__meta__`` (JSON: the :class:`L2MUConfig` and an ``extra`` dict
such as class names and the measured float accuracy) and one float64 array per
parameter/buffer of :class:`models.l2mu.model.L2MU` (state-dict names). Export and the
tests read it with NumPy only, no pickle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import FormatError


@dataclass(frozen=True)
class L2MUConfig:
    """Hyperparameters. Times are in seconds; ``theta`` is in steps (as the LMU's)."""

    n_channels: int = 6
    n_classes: int = 4
    pop_per_channel: int = 4  # P: encoding neurons per sensor channel
    memory_size: int = 4  # M: u neurons (LMU memory dimensions)
    order: int = 4  # Legendre coefficients per memory dimension
    theta: float = 8.0  # sliding window length, in steps
    hidden: int = 24  # H
    neuron: str = "lif"  # 'lif' | 'cuba' for u, m and h
    dt: float = 0.1  # BasicMotions is sampled at 10 Hz
    # Membrane time constants (s). With dt = 0.1 s these give per-step decays of about
    # 0.6 (enc), 0.65 (u), 0.35 (m), 0.5 (h), 0.5 (out); the authors' tuned L2MU uses
    # decays 0.65 / 0.35 / 0.15 / 0.15 for u / m / h / out on Braille.
    tau_enc: float = 0.2
    tau_u: float = 0.23
    tau_m: float = 0.095
    tau_h: float = 0.15
    tau_out: float = 0.15
    tau_syn: float = 0.1  # CuBa-LIF synaptic time constant (neuron='cuba')
    thr_enc: float = 1.0
    thr_u: float = 0.1
    thr_m: float = 0.4
    thr_h: float = 0.75
    thr_out: float = 0.1
    surrogate_slope: float = 2.0  # arctan surrogate (snnTorch's default form)


def beta_of(tau: float, dt: float) -> float:
    """Decay per step, the IR's 'exact' discretization (numpy, so export gets the same bits)."""
    return float(np.exp(-dt / np.float64(tau)))


def load_checkpoint(path: str | Path) -> tuple[L2MUConfig, dict[str, np.ndarray], dict[str, Any]]:
    """``(config, float64 arrays, extra)`` from a checkpoint written by :func:`models.l2mu.model.save_checkpoint`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            arrays = {k: np.asarray(z[k], dtype=np.float64) for k in z.files if k != "__meta__"}
    except (OSError, KeyError, ValueError) as e:
        raise FormatError(f"not an L2MU checkpoint ({e})", path) from None
    try:
        cfg = L2MUConfig(**meta["config"])
    except TypeError as e:
        raise FormatError(f"checkpoint config does not match L2MUConfig ({e})", path) from None
    return cfg, arrays, meta.get("extra", {})


