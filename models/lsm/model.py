"""The zero-shot LSM as an snnc graph (Lin et al., Nat. Comput. Sci. 2025; MODELS.md).

    spikes [256] -> w_in (Linear 200x256) -> res (LIF 200, decay 0.9, threshold 5)
                    res -> w_rec (Linear 200x200) -> res      (recurrent, reads t-1)
                    res -> readout (Affine 10x200) -> acc (MembraneArgmax, sum) -> output

Reservoir weights are not trained: they are differential conductances G+ - G- drawn from
the RRAM cells' stochastic switching distribution
(:meth:`targets.rram.device.DeviceModel.sample_switching`, about N(0, 6.6 uS), stuck
cells included), times a
fixed gain per layer that converts microsiemens to membrane units. The neuron follows the
paper's ``v = 0.9 v + x``: in the IR's LIF form that is beta = 0.9 (tau = -dt / ln 0.9)
with r = 1 / (1 - beta); reset to zero after a spike (our choice; the paper gives decay and
threshold only). The readout is the only trained part: a linear map of the reservoir's
spike counts, kept digital on the chip (``metadata["rram"]["digital"]``), as in the
paper. Its bias is spread over the T steps so the summed readout equals
``W_out counts + b``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from snnc.compiler.ir import LIF, Affine, Graph, Input, Linear, MembraneArgmax, Output, verify
from snnc.compiler.ir.nodes import SPIKE


@dataclass(frozen=True)
class LSMConfig:
    """Hyper-parameters (defaults: the paper's sizes; gains chosen on the train split)."""

    n_in: int = 256
    n_res: int = 200
    n_classes: int = 10
    steps: int = 50
    decay: float = 0.9
    threshold: float = 5.0
    gain_in: float = 0.25       # membrane units per uS, input synapses
    gain_rec: float = 0.05      # membrane units per uS, recurrent synapses
    seed: int = 0               # the reservoir draw (the chip's random cells)
    ridge: float = 1.0          # readout L2 penalty (on standardized counts)
    dt: float = 1e-3


def sample_reservoir(cfg: LSMConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(w_in [n_res, n_in], w_rec [n_res, n_res]) in membrane units and the same as
    differential conductances (uS), drawn from the stochastic switching of NeuRRAM-like
    cells (stuck-at faults included: they are part of the random weights)."""
    from snnc.targets.rram.device import get_device

    dev = get_device("neurram")
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 0x15A]))
    dg_in = dev.sample_switching((cfg.n_res, cfg.n_in), rng)
    dg_rec = dev.sample_switching((cfg.n_res, cfg.n_res), rng)
    return cfg.gain_in * dg_in, cfg.gain_rec * dg_rec, dg_in, dg_rec


def build_graph(cfg: LSMConfig, w_in: np.ndarray, w_rec: np.ndarray, w_out: np.ndarray,
                b_out: np.ndarray, name: str = "lsm_digits",
                metadata: dict | None = None) -> Graph:
    """The LSM graph (reservoir + readout); see the module docstring."""
    tau = -cfg.dt / math.log(cfg.decay)
    lif = LIF((cfg.n_res,), tau=np.array(tau), r=np.array(1.0 / (1.0 - cfg.decay)),
              v_leak=np.array(0.0), v_threshold=np.array(cfg.threshold),
              v_reset=np.array(0.0), reset="zero")
    meta = {"task": "digits", "dataset": "sklearn-digits (16x16 rate-coded spikes, 50 steps)",
            "rram": {"device": "lsm", "digital": ["readout"]},
            "lsm_config": asdict(cfg)}
    meta.update(metadata or {})
    g = Graph(
        nodes={
            "input": Input((cfg.n_in,), dtype=SPIKE),
            "w_in": Linear(np.asarray(w_in, dtype=np.float64)),
            "res": lif,
            "w_rec": Linear(np.asarray(w_rec, dtype=np.float64)),
            "readout": Affine(np.asarray(w_out, dtype=np.float64),
                              np.asarray(b_out, dtype=np.float64) / cfg.steps),
            "acc": MembraneArgmax((cfg.n_classes,), reduce="sum"),
            "output": Output((cfg.n_classes,)),
        },
        edges=[("input", "w_in"), ("w_in", "res"), ("res", "w_rec"), ("w_rec", "res"),
               ("res", "readout"), ("readout", "acc"), ("acc", "output")],
        dt=cfg.dt, name=name, metadata=meta)
    return verify(g)


def reservoir_graph(cfg: LSMConfig, w_in: np.ndarray, w_rec: np.ndarray) -> Graph:
    """The reservoir alone, with a zero readout (to collect spike counts)."""
    return build_graph(cfg, w_in, w_rec, np.zeros((cfg.n_classes, cfg.n_res)),
                       np.zeros(cfg.n_classes), name="lsm_reservoir")


def fit_readout(counts: np.ndarray, y: np.ndarray, n_classes: int,
                ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regression of one-hot labels on standardized spike counts [n, n_res]; the
    standardization is folded into (W [classes, n_res], b [classes])."""
    mu = counts.mean(axis=0)
    sd = counts.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    z = (counts - mu) / sd
    t = np.eye(n_classes)[y] * 2.0 - 1.0
    a = z.T @ z + ridge * np.eye(z.shape[1])
    wz = np.linalg.solve(a, z.T @ (t - t.mean(axis=0)))   # [n_res, classes]
    bz = t.mean(axis=0)
    w = (wz / sd[:, None]).T
    b = bz - (mu / sd) @ wz
    return w, b
