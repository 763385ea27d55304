"""L2MU checkpoint (.npz) -> snnc IR graph (``models/l2mu/l2mu.snn``). NumPy only.

``python -m snnc.models.l2mu.export [--checkpoint PATH] [-o PATH]``

Populations: ``input_enc`` (LIF, 6P), ``u`` (M), ``m`` (M x order), ``h`` (H), ``out``
(LIF, classes), then a ``readout`` (SpikeCountArgmax) and the ``output``. Synapse nodes
are named after the (source, target) pair of the LMU equations: ``enc_syn`` (Affine,
raw sensor values -> input current, normalization folded in), ``x_u``, ``m_u``,
``h_u``, ``u_m`` (B_bar, fixed), ``m_m`` (A_bar, fixed), ``m_h``, ``h_h``, ``x_h``,
``h_out`` (Linear).

Edge order is chosen so that the schedule's depth-first walk from the input reaches
``input_enc -> x_u -> u -> u_m -> m`` first: then exactly the edges the model reads at
t-1 (``m_m->m``, ``m_u->u``, ``h_u->u``, ``h_h->h``) are the back edges
(:data:`RECURRENT_EDGES`; :func:`export` asserts it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import GraphError
from snnc.compiler.ir import (
    LIF,
    Affine,
    CubaLIF,
    Graph,
    Input,
    Linear,
    Output,
    SpikeCountArgmax,
    save,
    verify,
)
from snnc.compiler.ir.graph import decay

HERE = Path(__file__).resolve().parent
CHECKPOINT = HERE / "l2mu_checkpoint.npz"
SNN = HERE / "l2mu.snn"

RECURRENT_EDGES = frozenset({("m_m", "m"), ("m_u", "u"), ("h_u", "u"), ("h_h", "h")})

# (src, dst) in the order that fixes the schedule and each population's input sum order
# (u: x_u + m_u + h_u;  m: u_m + m_m;  h: m_h + h_h + x_h — the same order as the torch
# forward pass in models/l2mu/model.py).
EDGES = (
    ("input", "enc_syn"), ("enc_syn", "input_enc"),
    ("input_enc", "x_u"), ("x_u", "u"),
    ("u", "u_m"), ("u_m", "m"),
    ("m", "m_m"), ("m_m", "m"),
    ("m", "m_u"), ("m_u", "u"),
    ("m", "m_h"), ("m_h", "h"),
    ("h", "h_u"), ("h_u", "u"),
    ("h", "h_h"), ("h_h", "h"),
    ("h", "h_out"), ("h_out", "out"), ("out", "readout"), ("readout", "output"),
    ("input_enc", "x_h"), ("x_h", "h"),
)


def _pop(kind: str, size: int, tau: float, thr: float, cfg: Any) -> LIF | CubaLIF:
    """The IR population matching ``model.Pop``: r = 1/(1 - beta), v_leak 0, subtract reset."""
    beta = float(decay(np.float64(tau), cfg.dt, "exact"))
    common = dict(r=np.array(1.0 / (1.0 - beta)), v_leak=np.array(0.0),
                  v_threshold=np.array(float(thr)), v_reset=np.array(0.0),
                  reset="subtract")
    if kind == "lif":
        return LIF((size,), tau=np.array(float(tau)), **common)
    return CubaLIF((size,), tau_syn=np.array(float(cfg.tau_syn)), tau_mem=np.array(float(tau)),
                   w_in=np.array(1.0), **common)


def build_graph(cfg: Any, arrays: dict[str, np.ndarray], extra: dict[str, Any]) -> Graph:
    """The IR graph of an L2MU with config ``cfg`` and float64 parameter ``arrays``."""
    c, p = cfg.n_channels, cfg.pop_per_channel
    mean, std = arrays["mean"], arrays["std"]
    # Same arithmetic as L2MU.folded_encoder, in float64.
    w = arrays["enc_w"] / std[:, None]
    b = arrays["enc_b"] - w * mean[:, None]
    enc_w = np.zeros((c * p, c))
    for ch in range(c):
        enc_w[ch * p:(ch + 1) * p, ch] = w[ch]
    n_m = cfg.memory_size * cfg.order
    nodes = {
        "input": Input((c,)),
        "enc_syn": Affine(enc_w, b.reshape(-1).copy()),
        "input_enc": _pop("lif", c * p, cfg.tau_enc, cfg.thr_enc, cfg),
        "x_u": Linear(arrays["x_u"]),
        "u": _pop(cfg.neuron, cfg.memory_size, cfg.tau_u, cfg.thr_u, cfg),
        "u_m": Linear(arrays["u_m"]),
        "m": _pop(cfg.neuron, n_m, cfg.tau_m, cfg.thr_m, cfg),
        "m_m": Linear(arrays["m_m"]),
        "m_u": Linear(arrays["m_u"]),
        "m_h": Linear(arrays["m_h"]),
        "h": _pop(cfg.neuron, cfg.hidden, cfg.tau_h, cfg.thr_h, cfg),
        "h_u": Linear(arrays["h_u"]),
        "h_h": Linear(arrays["h_h"]),
        "x_h": Linear(arrays["x_h"]),
        "h_out": Linear(arrays["h_out"]),
        "out": _pop("lif", cfg.n_classes, cfg.tau_out, cfg.thr_out, cfg),
        "readout": SpikeCountArgmax((cfg.n_classes,)),
        "output": Output((cfg.n_classes,)),
    }
    # The dataset the checkpoint was trained on, as recorded by train.py; the shipped
    # checkpoint predates the record and is the BasicMotions recipe.
    dataset = str(extra.get("dataset", "BasicMotions"))
    if dataset == "BasicMotions":
        task = "BasicMotions activity recognition (smartwatch accelerometer + gyroscope)"
        what = "raw sensor values, 6 channels (acc x,y,z, gyro x,y,z), one sample per step"
    else:
        task = f"{dataset} time-series classification ({cfg.n_classes} classes)"
        what = f"raw values, {c} channel(s), one sample per step"
    meta = {
        "model": "L2MU (spiking Legendre Memory Unit)",
        "dataset": dataset,
        "task": task,
        "input": what,
        "classes": list(extra.get("class_names", [])),
        "input_mean": [float(v) for v in mean],
        "input_std": [float(v) for v in std],
        "normalization": "folded into enc_syn (input_mean/input_std are informational)",
        "theta_steps": float(cfg.theta),
        "order": int(cfg.order),
        "memory_size": int(cfg.memory_size),
        "neuron": cfg.neuron,
    }
    for k in ("float_test_acc", "train_seed", "epochs", "train_data", "test_data"):
        if k in extra:
            meta[k] = extra[k]
    g = Graph(nodes=nodes, edges=EDGES, dt=float(cfg.dt), discretization="exact",
              name=f"l2mu_{''.join(ch if ch.isalnum() else '_' for ch in dataset.lower())}",
              metadata=meta)
    verify(g)
    _, back = g.schedule()
    if set(back) != RECURRENT_EDGES:
        raise GraphError(f"schedule back edges {sorted(back)} differ from the model's t-1 "
                         f"reads {sorted(RECURRENT_EDGES)}")
    return g


def export(checkpoint: str | Path = CHECKPOINT, out: str | Path | None = SNN) -> Graph:
    """Build the graph from ``checkpoint`` and (if ``out``) save it as a .snn file."""
    from snnc.models.l2mu.checkpoint import load_checkpoint

    cfg, arrays, extra = load_checkpoint(checkpoint)
    g = build_graph(cfg, arrays, extra)
    if out is not None:
        save(g, out)
    return g


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(CHECKPOINT))
    ap.add_argument("-o", "--output", default=str(SNN))
    a = ap.parse_args(argv)
    export(a.checkpoint, a.output)
    print(a.output, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
