"""L2MU in PyTorch: a fully spiking Legendre Memory Unit (training and export only).

Structure (names are the IR population names used by :mod:`models.l2mu.export`)::

    x[t] (raw sensor values, 6 ch) --enc_syn (per-channel Linear(1->P) + bias,
        input normalization folded in)--> input_enc  (LIF, 6P)            "encoding-free"
    u[t]  = pop_u( x_u S_enc[t] + m_u S_m[t-1] + h_u S_h[t-1] )          (M neurons)
    m[t]  = pop_m( u_m S_u[t]   + m_m S_m[t-1] )                         (M x order neurons)
    h[t]  = pop_h( m_h S_m[t]   + h_h S_h[t-1] + x_h S_enc[t] )          (H neurons)
    out[t]= LIF( h_out S_h[t] );  prediction = argmax_c sum_t out_c[t]

``m_m = kron(I_M, A_bar)`` and ``u_m = kron(I_M, B_bar)`` are the fixed Legendre
matrices (zero-order hold, theta in steps) of the original LMU; every other synapse is
trained. Populations are LIF or CuBa-LIF (``neuron``) using EXACTLY the IR equations of
:mod:`compiler.ir.nodes` with ``beta = exp(-dt/tau)`` (graph discretization 'exact'):

    LIF:     v = beta v + (1 - beta)(v_leak + r x);  s = v > thr;  v -= s thr
    CubaLIF: i = alpha i + x;  v = beta v + (1 - beta)(v_leak + r w_in i);  same spike/reset

``r = 1/(1 - beta)`` so the membrane integrates like snnTorch's ``v = beta v + x`` (the
authors' neurons) while staying in the IR's form. Recurrent inputs read the source's
spikes of step t-1, which is what ``Graph.schedule()`` gives the exported back edges
(``m_m->m``, ``m_u->u``, ``h_u->u``, ``h_h->h``). Summation order of each population's
inputs follows the exported edge order so the float64 forward pass reproduces the IR
simulator to the last bit, barring matmul rounding.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from snnc.models.l2mu.checkpoint import L2MUConfig, beta_of, load_checkpoint


def legendre_ab(order: int, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """ZOH-discretized LMU matrices (dt = 1 step): ``A_bar [order, order]``, ``B_bar [order]``.

    Continuous: A[i,j] = (2i+1)/theta * (-1 if i < j else (-1)^(i-j+1)),
    B[i] = (2i+1)(-1)^i / theta. ZOH: exp([[A, B], [0, 0]]) = [[A_bar, B_bar], [0, 1]].
    """
    q = np.arange(order, dtype=np.float64)
    i, j = np.meshgrid(q, q, indexing="ij")
    r = (2 * q + 1)[:, None]
    a = np.where(i < j, -1.0, (-1.0) ** (i - j + 1)) * r / theta
    b = ((-1.0) ** q * (2 * q + 1)) / theta
    em = np.zeros((order + 1, order + 1))
    em[:order, :order] = a
    em[:order, order] = b
    ms = torch.linalg.matrix_exp(torch.from_numpy(em)).numpy()
    return ms[:order, :order].copy(), ms[:order, order].copy()


class _Spike(torch.autograd.Function):
    """Heaviside forward (v > thr strictly, as the IR), arctan surrogate backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, slope: float) -> torch.Tensor:  # x = v - thr
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        a = ctx.slope
        return g * (a / 2) / (1 + (math.pi / 2 * a * x) ** 2), None


class Pop(nn.Module):
    """A LIF or CuBa-LIF population with fixed constants, stepping the IR equations."""

    def __init__(self, kind: str, tau: float, dt: float, threshold: float, slope: float,
                 tau_syn: float | None = None) -> None:
        super().__init__()
        if kind not in ("lif", "cuba"):
            raise ValueError(f"neuron kind must be 'lif' or 'cuba', got {kind!r}")
        self.kind = kind
        self.tau, self.tau_syn = tau, tau_syn
        self.beta = beta_of(tau, dt)
        self.one_minus_beta = 1.0 - self.beta
        self.r = 1.0 / (1.0 - self.beta)
        self.alpha = beta_of(tau_syn, dt) if kind == "cuba" else 0.0
        self.w_in = 1.0
        self.threshold = threshold
        self.slope = slope

    def step(self, x: torch.Tensor, st: dict[str, torch.Tensor]) -> torch.Tensor:
        """One step; ``st`` holds 'v' (and 'i') and is updated in place."""
        if self.kind == "cuba":
            i = self.alpha * st["i"] + x if "i" in st else x
            st["i"] = i
            drive = (self.r * self.w_in) * i
        else:
            drive = self.r * x
        # Same operations as the IR rule beta*v + (1-beta)*(v_leak + r*x) with v_leak = 0;
        # at t = 0 the state is 0 and beta*0 + a == a, so skipping it changes no bits.
        v_prev = st.get("v")
        v = self.one_minus_beta * (0.0 + drive)
        if v_prev is not None:
            v = self.beta * v_prev + v
        s = _Spike.apply(v - self.threshold, self.slope)
        # Reset is detached (as snnTorch): gradients flow through the spike, not the reset.
        st["v"] = v - s.detach() * self.threshold
        return s


class L2MU(nn.Module):
    """The spiking LMU classifier; ``forward(x [B, T, C]) -> spike counts [B, classes]``."""

    def __init__(self, cfg: L2MUConfig, mean: np.ndarray, std: np.ndarray) -> None:
        super().__init__()
        self.cfg = cfg
        c, p, m, o, h = cfg.n_channels, cfg.pop_per_channel, cfg.memory_size, cfg.order, cfg.hidden
        n_enc, n_m = c * p, m * o
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, np.float64)).float())
        self.register_buffer("std", torch.as_tensor(np.asarray(std, np.float64)).float())
        self.enc_w = nn.Parameter(torch.randn(c, p) * 1.0)
        self.enc_b = nn.Parameter(torch.randn(c, p) * 0.5)
        self.x_u = nn.Parameter(_lecun(m, n_enc))
        self.m_u = nn.Parameter(torch.zeros(m, n_m))  # the LMU initializes e_m to 0
        self.h_u = nn.Parameter(_lecun(m, h))
        self.m_h = nn.Parameter(_xavier(h, n_m))
        self.h_h = nn.Parameter(_xavier(h, h))
        self.x_h = nn.Parameter(_xavier(h, n_enc))
        self.h_out = nn.Parameter(_xavier(cfg.n_classes, h))
        a_bar, b_bar = legendre_ab(o, cfg.theta)
        self.register_buffer("m_m", torch.from_numpy(np.kron(np.eye(m), a_bar)).float())
        self.register_buffer("u_m", torch.from_numpy(np.kron(np.eye(m), b_bar[:, None])).float())
        kind = cfg.neuron
        mk = dict(dt=cfg.dt, slope=cfg.surrogate_slope, tau_syn=cfg.tau_syn)
        self.pop_enc = Pop("lif", cfg.tau_enc, threshold=cfg.thr_enc, **mk)
        self.pop_u = Pop(kind, cfg.tau_u, threshold=cfg.thr_u, **mk)
        self.pop_m = Pop(kind, cfg.tau_m, threshold=cfg.thr_m, **mk)
        self.pop_h = Pop(kind, cfg.tau_h, threshold=cfg.thr_h, **mk)
        self.pop_out = Pop("lif", cfg.tau_out, threshold=cfg.thr_out, **mk)

    def folded_encoder(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Input synapses with normalization folded in: ``(w [C, P], b [C, P])`` on raw x.

        current[c, p] = enc_w[c,p] * (x_c - mean_c)/std_c + enc_b[c,p] = w x_c + b.
        """
        w = self.enc_w / self.std[:, None]
        b = self.enc_b - w * self.mean[:, None]
        return w, b

    def forward(self, x: torch.Tensor, record: bool = False) -> Any:
        """``x``: raw sensor values ``[B, T, C]``; returns spike counts ``[B, classes]``.

        With ``record=True`` also returns each population's spike train ``[B, T, n]``.
        """
        bsz, steps, _ = x.shape
        w, b = self.folded_encoder()
        w, b = w.reshape(-1), b.reshape(-1)
        cfg = self.cfg
        dtype = x.dtype
        s_m = x.new_zeros(bsz, cfg.memory_size * cfg.order)
        s_h = x.new_zeros(bsz, cfg.hidden)
        states: dict[str, dict[str, torch.Tensor]] = {k: {} for k in ("enc", "u", "m", "h", "out")}
        counts = x.new_zeros(bsz, cfg.n_classes)
        rec: dict[str, list[torch.Tensor]] = {k: [] for k in states}
        mats = {k: getattr(self, k).to(dtype) for k in
                ("x_u", "m_u", "h_u", "m_h", "h_h", "x_h", "h_out", "m_m", "u_m")}
        for t in range(steps):
            # enc_syn: x repeated P times per channel (index c*P + p), as the block-diagonal Affine
            xt = x[:, t].repeat_interleave(cfg.pop_per_channel, dim=1)
            s_enc = self.pop_enc.step(xt * w + b, states["enc"])
            # Sum order = the export's edge order into each population.
            cur_u = s_enc @ mats["x_u"].T + s_m @ mats["m_u"].T + s_h @ mats["h_u"].T
            s_u = self.pop_u.step(cur_u, states["u"])
            cur_m = s_u @ mats["u_m"].T + s_m @ mats["m_m"].T
            s_m = self.pop_m.step(cur_m, states["m"])
            cur_h = s_m @ mats["m_h"].T + s_h @ mats["h_h"].T + s_enc @ mats["x_h"].T
            s_h = self.pop_h.step(cur_h, states["h"])
            s_out = self.pop_out.step(s_h @ mats["h_out"].T, states["out"])
            counts = counts + s_out
            if record:
                for k, s in (("enc", s_enc), ("u", s_u), ("m", s_m), ("h", s_h), ("out", s_out)):
                    rec[k].append(s)
        if record:
            return counts, {k: torch.stack(v, dim=1) for k, v in rec.items()}
        return counts

    def n_trainable(self) -> int:
        """Trainable parameter count (A_bar/B_bar are fixed buffers)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def _lecun(out: int, inp: int) -> torch.Tensor:
    bound = math.sqrt(3.0 / inp)
    return (torch.rand(out, inp) * 2 - 1) * bound


def _xavier(out: int, inp: int) -> torch.Tensor:
    return torch.randn(out, inp) * math.sqrt(2.0 / (out + inp))


# ------------------------------------------------------------------ checkpoint (.npz)
# A torch-free format so export and tests can read it without pickle or torch.

def save_checkpoint(model: L2MU, path: str | Path, extra: dict[str, Any] | None = None) -> None:
    """Write the model's config, parameters and buffers to ``path`` (.npz), atomically."""
    from snnc.compiler.ir.serialize import atomic_write

    arrays = {k: v.detach().cpu().double().numpy() for k, v in model.state_dict().items()}
    meta = {"config": asdict(model.cfg), "extra": extra or {}}

    def write(f: Any) -> None:
        np.savez_compressed(f, __meta__=np.array(json.dumps(meta, sort_keys=True)), **arrays)

    atomic_write(path, write)


def model_from_checkpoint(path: str | Path, dtype: torch.dtype = torch.float64) -> L2MU:
    """Rebuild the torch model from a checkpoint, in ``dtype`` (float64 for IR comparisons)."""
    cfg, arrays, _ = load_checkpoint(path)
    model = L2MU(cfg, arrays["mean"], arrays["std"])
    model.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
    return model.to(dtype)
