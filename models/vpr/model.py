"""Region-specific modules trained by competitive (winner-take-all) learning, in NumPy.

One module learns only the places of its region of the route (``places_per_module``
consecutive places). Its ``neurons_per_place * n_region_places`` excitatory neurons have
unit-norm weight rows over the encoded input (:func:`models.vpr.data.encode`), so a
neuron's drive is the cosine similarity of the frame with its prototype. Training is the
Diehl & Cook recipe reduced to its rate-free core, cheap on a CPU:

* each reference frame is shown ``augment`` times with a random appearance jitter
  (sub-pixel shift, gamma, contrast, blur, noise), as VPRSNN's repeated Poisson
  presentations show each frame many times with different spike trains;
* the neuron with the largest drive minus its adaptive threshold ``theta`` wins (lateral
  inhibition), moves its weights towards the frame and renormalizes; its ``theta`` rises
  and every ``theta`` decays (homeostasis, so all neurons get to win);
* afterwards each neuron is assigned the place it wins most often on the training frames
  (never-winning neurons: the place of highest mean drive).

Unsupervised within a module: labels are used only for the assignment, as in VPRSNN.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.models.vpr.data import encode


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters (defaults are the committed model's)."""

    places_per_module: int = 25
    neurons_per_place: int = 4
    augment: int = 16
    epochs: int = 6
    lr: float = 0.1
    theta_plus: float = 0.02
    theta_decay: float = 0.995
    max_shift: float = 1.2  # pixels of the 28x28 frame
    seed: int = 0


@dataclass
class Module:
    """A trained module: weights ``[N, D]`` (unit rows), its region, neuron assignments."""

    weight: np.ndarray
    places: np.ndarray  # global place indices of the region
    assignment: np.ndarray  # [N] global place index per neuron
    theta: np.ndarray | None = None  # [N] adaptive thresholds at the end of training


def shift_bilinear(img: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """``img`` moved by (dy, dx) pixels with bilinear interpolation, edges clamped."""
    h, w = img.shape
    ys = np.clip(np.arange(h) - dy, 0, h - 1)
    xs = np.clip(np.arange(w) - dx, 0, w - 1)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bot = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return top * (1 - fy) + bot * fy


def augment_frames(frames: np.ndarray, copies: int, rng: np.random.Generator,
                   max_shift: float) -> tuple[np.ndarray, np.ndarray]:
    """``copies`` jittered versions of each frame: ``(float [P*copies, H, W], index [P*copies])``."""
    out, idx = [], []
    for i, f in enumerate(np.asarray(frames, dtype=np.float64) / 255.0):
        for c in range(copies):
            x = f
            if c:  # copy 0 is the clean frame
                x = shift_bilinear(x, *rng.uniform(-max_shift, max_shift, 2))
                x = np.clip(x, 0, 1) ** np.exp(rng.normal(0, 0.35))
                x = (x - 0.5) * np.exp(rng.normal(0, 0.15)) + 0.5
                if rng.random() < 0.5:
                    x = (x + np.roll(x, 1, 0) + np.roll(x, -1, 0) + np.roll(x, 1, 1)
                         + np.roll(x, -1, 1)) / 5
                x = x + rng.normal(0, 0.04, x.shape)
            out.append(np.clip(x, 0, 1) * 255.0)
            idx.append(i)
    return np.stack(out), np.asarray(idx)


def regions(n_places: int, places_per_module: int) -> list[np.ndarray]:
    """Consecutive place ranges, one per module (the last may be shorter)."""
    if places_per_module <= 0:
        raise SnncError(f"places_per_module must be positive, got {places_per_module}")
    return [np.arange(s, min(s + places_per_module, n_places))
            for s in range(0, n_places, places_per_module)]


def train_module(x: np.ndarray, labels: np.ndarray, places: np.ndarray, cfg: TrainConfig,
                 rng: np.random.Generator) -> Module:
    """Competitive learning on encoded frames ``x [M, D]`` whose place is ``labels``."""
    n = cfg.neurons_per_place * len(places)
    w = x[rng.choice(len(x), n, replace=len(x) < n)].copy()
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    theta = np.zeros(n)
    for epoch in range(cfg.epochs):
        lr = cfg.lr * (1.0 - epoch / cfg.epochs)
        for i in rng.permutation(len(x)):
            k = int(np.argmax(w @ x[i] - theta))
            w[k] += lr * (x[i] - w[k])
            w[k] /= np.linalg.norm(w[k])
            theta[k] += cfg.theta_plus
            theta *= cfg.theta_decay
    # Assignment: the place each neuron wins most often (plain WTA, no theta).
    win = np.argmax(x @ w.T, axis=1)
    counts = np.zeros((n, len(places)))
    pos = np.searchsorted(places, labels)
    np.add.at(counts, (win, pos), 1)
    mean_drive = np.stack([(x[pos == j] @ w.T).mean(0) for j in range(len(places))], axis=1)
    best = np.where(counts.sum(1) > 0, counts.argmax(1), mean_drive.argmax(1))
    return Module(weight=w, places=places.copy(), assignment=places[best], theta=theta)


def train_ensemble(reference: np.ndarray, cfg: TrainConfig = TrainConfig(),
                   progress: bool = True) -> list[Module]:
    """Train one module per region of the route on the reference frames ``uint8 [P,H,W]``."""
    rng = np.random.default_rng(cfg.seed)
    mods = []
    regs = regions(len(reference), cfg.places_per_module)
    for m, places in enumerate(regs):
        frames, idx = augment_frames(reference[places], cfg.augment, rng, cfg.max_shift)
        mods.append(train_module(encode(frames), places[idx], places, cfg, rng))
        if progress:
            print(f"vpr: trained module {m + 1}/{len(regs)} (places {places[0]}..{places[-1]})",
                  file=sys.stderr)
    return mods
