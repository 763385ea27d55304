"""Torch training model of DelayNet (DCLS-style learned delays). Training only.

Each synapse (i, j) has a weight ``w`` and a position ``p`` in ``[0, max_delay]``. While
training, its temporal kernel is a normalized Gaussian centred on ``p`` (width ``sigma``,
shrunk over training), so the delay gets a gradient; ``hard=True`` uses the rounded
integer delay instead (a one-hot kernel), which is exactly what the IR's DelayedLinear
computes: ``y_i[t] = sum_j w_ij x_j[t - round(p_ij)]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

DELAY_MODES = ("learned", "random", "none")


class SpikeFn(torch.autograd.Function):
    """Heaviside forward (v > 0), fast-sigmoid surrogate gradient backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return g / (1.0 + 5.0 * x.abs()) ** 2


class DelayedDense(nn.Module):
    """Dense synapses with one (learned, random or zero) delay each; input [B, in, T]."""

    def __init__(self, n_in: int, n_out: int, max_delay: int, mode: str, gain: float,
                 gen: torch.Generator) -> None:
        super().__init__()
        self.max_delay, self.mode = max_delay, mode
        self.weight = nn.Parameter(torch.randn(n_out, n_in, generator=gen) * gain / math.sqrt(n_in))
        if mode == "none":
            pos = torch.zeros(n_out, n_in)
        elif mode == "random":
            pos = torch.randint(0, max_delay + 1, (n_out, n_in), generator=gen).float()
        else:
            pos = torch.rand(n_out, n_in, generator=gen) * max_delay
        self.pos = nn.Parameter(pos, requires_grad=(mode == "learned"))
        self.sigma = max_delay / 2.0

    def delays(self) -> torch.Tensor:
        """Integer delays used at inference: round(position) clamped to [0, max_delay]."""
        return torch.round(self.pos.detach()).clamp(0, self.max_delay).long()

    def kernel(self, hard: bool) -> torch.Tensor:
        taps = torch.arange(self.max_delay + 1, dtype=self.weight.dtype)
        if hard or self.mode != "learned":
            g = F.one_hot(self.delays(), self.max_delay + 1).to(self.weight.dtype)
        else:
            g = torch.exp(-0.5 * ((taps - self.pos[..., None]) / self.sigma) ** 2)
            g = g / g.sum(-1, keepdim=True)
        return self.weight[..., None] * g  # [out, in, D+1], index = delay

    def forward(self, x: torch.Tensor, hard: bool) -> torch.Tensor:
        # conv1d is a correlation: with D left-padding, tap k reads x[t + k - D], i.e. delay
        # D - k, so the delay-indexed kernel is flipped.
        k = self.kernel(hard).flip(-1)
        return F.conv1d(F.pad(x, (self.max_delay, 0)), k)

    def clamp_(self) -> None:
        with torch.no_grad():
            self.pos.clamp_(0, self.max_delay)


def lif_run(cur: torch.Tensor, beta: float) -> torch.Tensor:
    """LIF over time: v = beta v + x; s = v > 1; v -= s. cur [B, N, T] -> spikes [B, N, T]."""
    v = torch.zeros_like(cur[..., 0])
    out = []
    for t in range(cur.shape[-1]):
        v = beta * v + cur[..., t]
        s = SpikeFn.apply(v - 1.0)
        v = v - s
        out.append(s)
    return torch.stack(out, -1)


def li_sum(cur: torch.Tensor, beta: float) -> torch.Tensor:
    """LI over time (v = beta v + x), summed over steps: [B, N, T] -> [B, N]."""
    v = torch.zeros_like(cur[..., 0])
    acc = torch.zeros_like(v)
    for t in range(cur.shape[-1]):
        v = beta * v + cur[..., t]
        acc = acc + v
    return acc


class DelayNet(nn.Module):
    """12 -> H (LIF, delayed) -> H (LIF, delayed) -> 9 (LI readout, no delay)."""

    def __init__(self, n_in: int, hidden: int, n_out: int, max_delay: int, mode: str,
                 beta_hidden: float, beta_out: float, seed: int, dropout: float) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.fc1 = DelayedDense(n_in, hidden, max_delay, mode, 2.0, gen)
        self.fc2 = DelayedDense(hidden, hidden, max_delay, mode, 3.0, gen)
        self.fc3 = nn.Parameter(torch.randn(n_out, hidden, generator=gen) / math.sqrt(hidden))
        self.beta_hidden, self.beta_out = beta_hidden, beta_out
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, hard: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, T, in] -> (logits [B, out] = summed LI membrane / T, mean hidden rate)."""
        x = x.transpose(1, 2)
        s1 = self.drop(lif_run(self.fc1(x, hard), self.beta_hidden))
        s2 = self.drop(lif_run(self.fc2(s1, hard), self.beta_hidden))
        cur = torch.einsum("oh,bht->bot", self.fc3, s2)
        rate = 0.5 * (s1.mean() + s2.mean())
        return li_sum(cur, self.beta_out) / x.shape[-1], rate
