"""Ablation on BasicMotions: L2MU vs a plain recurrent LIF SNN vs a non-spiking LMU.

``python -m snnc.models.l2mu.ablation [--seeds 0 1 2] [--epochs 40] [--no-readme]``

Every model sees the same split (40 train / 40 test), the same train-statistics input
normalization, optimizer (Adam + cosine schedule), epochs, batch size and seeds, and is
scored once on the test split after the last epoch (no model selection on test data).
The table (mean and min..max over seeds) is printed and written into ``models/README.md``
between the ``l2mu-ablation`` markers. It takes a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from snnc.models.l2mu.checkpoint import L2MUConfig
from snnc.models.l2mu.model import L2MU, Pop, _lecun, _xavier, legendre_ab
from snnc.models.l2mu.train import fit, load_data, log, predict_torch

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- l2mu-ablation:begin -->", "<!-- l2mu-ablation:end -->"


class RecurrentLIF(nn.Module):
    """Baseline SNN: the same spiking input module, one recurrent LIF layer, LIF output.

    h[t] = LIF(W_x S_enc[t] + W_h S_h[t-1]);  out[t] = LIF(W_o S_h[t]); spike counts.
    """

    def __init__(self, cfg: L2MUConfig, mean: np.ndarray, std: np.ndarray, hidden: int) -> None:
        super().__init__()
        c, p = cfg.n_channels, cfg.pop_per_channel
        self.cfg, self.hidden = cfg, hidden
        self.register_buffer("mean", torch.as_tensor(mean).float())
        self.register_buffer("std", torch.as_tensor(std).float())
        self.enc_w = nn.Parameter(torch.randn(c, p))
        self.enc_b = nn.Parameter(torch.randn(c, p) * 0.5)
        self.x_h = nn.Parameter(_xavier(hidden, c * p))
        self.h_h = nn.Parameter(_xavier(hidden, hidden))
        self.h_out = nn.Parameter(_xavier(cfg.n_classes, hidden))
        mk = dict(dt=cfg.dt, slope=cfg.surrogate_slope)
        self.pop_enc = Pop("lif", cfg.tau_enc, threshold=cfg.thr_enc, **mk)
        self.pop_h = Pop("lif", cfg.tau_h, threshold=cfg.thr_h, **mk)
        self.pop_out = Pop("lif", cfg.tau_out, threshold=cfg.thr_out, **mk)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xn = (x - self.mean) / self.std
        s_h = x.new_zeros(x.shape[0], self.hidden)
        st: dict[str, dict[str, torch.Tensor]] = {"enc": {}, "h": {}, "out": {}}
        counts = x.new_zeros(x.shape[0], self.cfg.n_classes)
        for t in range(x.shape[1]):
            cur = xn[:, t, :, None] * self.enc_w + self.enc_b
            s_enc = self.pop_enc.step(cur.reshape(x.shape[0], -1), st["enc"])
            s_h = self.pop_h.step(s_enc @ self.x_h.T + s_h @ self.h_h.T, st["h"])
            counts = counts + self.pop_out.step(s_h @ self.h_out.T, st["out"])
        return counts


class LMU(nn.Module):
    """The original non-spiking LMU (Voelker et al. 2019) with a linear readout.

    u = e_x x + e_h h[t-1] + e_m m[t-1];  m = A_bar m[t-1] + B_bar u;
    h = tanh(W_x x + W_h h[t-1] + W_m m);
    readout 'last': logits = W_o h[T-1] + b_o (the LMU paper's classifier);
    readout 'mean': logits = mean_t (W_o h[t] + b_o) (aggregates over time like spike counts).
    """

    def __init__(self, cfg: L2MUConfig, mean: np.ndarray, std: np.ndarray, hidden: int,
                 readout: str = "last") -> None:
        super().__init__()
        self.readout = readout
        c, m, o = cfg.n_channels, cfg.memory_size, cfg.order
        self.cfg, self.hidden = cfg, hidden
        self.register_buffer("mean", torch.as_tensor(mean).float())
        self.register_buffer("std", torch.as_tensor(std).float())
        self.e_x = nn.Parameter(_lecun(m, c))
        self.e_h = nn.Parameter(_lecun(m, hidden))
        self.e_m = nn.Parameter(torch.zeros(m, m * o))
        self.W_x = nn.Parameter(_xavier(hidden, c))
        self.W_h = nn.Parameter(_xavier(hidden, hidden))
        self.W_m = nn.Parameter(_xavier(hidden, m * o))
        self.out = nn.Linear(hidden, cfg.n_classes)
        a_bar, b_bar = legendre_ab(o, cfg.theta)
        self.register_buffer("A", torch.from_numpy(np.kron(np.eye(m), a_bar)).float())
        self.register_buffer("B", torch.from_numpy(np.kron(np.eye(m), b_bar[:, None])).float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xn = (x - self.mean) / self.std
        bsz = x.shape[0]
        h = x.new_zeros(bsz, self.hidden)
        m = x.new_zeros(bsz, self.A.shape[0])
        acc = x.new_zeros(bsz, self.hidden)
        for t in range(x.shape[1]):
            xt = xn[:, t]
            u = xt @ self.e_x.T + h @ self.e_h.T + m @ self.e_m.T
            m = m @ self.A.T + u @ self.B.T
            h = torch.tanh(xt @ self.W_x.T + h @ self.W_h.T + m @ self.W_m.T)
            acc = acc + h
        # The readout is linear, so the mean of W_o h[t] + b_o is W_o mean(h) + b_o.
        return self.out(h if self.readout == "last" else acc / x.shape[1])


def n_params(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def variants(cfg: L2MUConfig) -> dict[str, tuple[Callable[..., nn.Module], float, str]]:
    """name -> (constructor(mean, std), logit scale, description)."""
    return {
        "L2MU (LIF)": (lambda mu, sd: L2MU(cfg, mu, sd), 0.2,
                       "input_enc 24 / u 4 / m 16 / h 24 / out 4 LIF"),
        "L2MU (CuBa-LIF u, m, h)": (lambda mu, sd: L2MU(replace(cfg, neuron="cuba"), mu, sd),
                                    0.2, "as above, CubaLIF u, m, h"),
        "recurrent LIF SNN": (lambda mu, sd: RecurrentLIF(cfg, mu, sd, hidden=32), 0.2,
                              "input_enc 24 / h 32 recurrent / out 4 LIF"),
        "LMU (non-spiking), last-step readout": (
            lambda mu, sd: LMU(cfg, mu, sd, hidden=30, readout="last"), 1.0,
            "u 4 / m 16 linear, h 30 tanh, linear readout of h[T-1]"),
        "LMU (non-spiking), mean-over-time readout": (
            lambda mu, sd: LMU(cfg, mu, sd, hidden=30, readout="mean"), 1.0,
            "as above, linear readout of mean_t h[t]"),
    }


def run(seeds: list[int], epochs: int, lr: float, batch: int,
        only: str | None = None) -> list[dict[str, Any]]:
    """Train every variant (or those whose name contains ``only``) with every seed."""
    d = load_data()
    cfg = L2MUConfig()
    rows = []
    for name, (make, scale, desc) in variants(cfg).items():
        if only and only.lower() not in name.lower():
            continue
        accs, params, secs = [], 0, []
        for seed in seeds:
            torch.manual_seed(seed)
            model = make(d["mean"], d["std"])
            params = n_params(model)
            t0 = time.time()
            fit(model, d["xtr"], d["ytr"], epochs=epochs, lr=lr, batch=batch, seed=seed,
                logit_scale=scale, tag=f"[{name} seed {seed}] ")
            secs.append(time.time() - t0)
            accs.append(float((predict_torch(model, d["xte"]) == d["yte"]).mean()))
            log(f"[{name} seed {seed}] test accuracy {accs[-1]:.4f}")
        rows.append(dict(name=name, desc=desc, params=params, accs=accs,
                         secs=float(np.mean(secs))))
    return rows


def table(rows: list[dict[str, Any]], seeds: list[int], epochs: int) -> str:
    """Markdown table of the ablation rows."""
    out = [f"Seeds {', '.join(map(str, seeds))}; {epochs} epochs each; float (PyTorch) test "
           "accuracy on the 40 BasicMotions test cases after the last epoch.",
           "",
           "| model | structure | trainable params | test acc mean | min..max | train s/run (wall clock, shared 2-core machine) |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        a = np.array(r["accs"])
        out.append(f"| {r['name']} | {r['desc']} | {r['params']} | {a.mean():.3f} | "
                   f"{a.min():.3f}..{a.max():.3f} | {r['secs']:.0f} |")
    return "\n".join(out)


def write_readme(text: str, path: Path = README) -> None:
    """Replace the text between the ablation markers (re-reading the shared file first)."""
    from snnc.compiler.ir.serialize import atomic_write

    cur = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in cur and END in cur:
        new = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, cur,
                     flags=re.S)
    else:
        new = cur.rstrip() + "\n\n## L2MU ablation (BasicMotions)\n\n" + block + "\n"
    atomic_write(path, lambda f: f.write(new), mode="w")


def main(argv: list[str] | None = None) -> int:
    """Run the ablation, print the table, update models/README.md."""
    ap = argparse.ArgumentParser(description="L2MU ablation on BasicMotions.")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--only", default=None, help="run only variants whose name contains this")
    ap.add_argument("--no-readme", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    rows = run(a.seeds, a.epochs, a.lr, a.batch, a.only)
    text = table(rows, a.seeds, a.epochs)
    print(text)
    if not a.no_readme and not a.only:
        write_readme(text)
        log(f"updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
