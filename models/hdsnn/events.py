"""Synthetic event-camera data: natural images moving in one of N directions.

A sample: a random crop window over a grayscale natural image (scikit-image's bundled
``skimage.data`` pictures) that translates at ``speed`` pixels per step in direction
``theta = 2 pi c / n_directions`` (c = the class; image x to the right, y downwards, so
class 0 moves right and class n/4 moves down). The frames are sampled with bilinear
interpolation (sub-pixel motion for oblique directions), converted to log intensity and
fed to an ideal DVS pixel: each pixel keeps a reference log intensity; when the current
value exceeds it by more than ``contrast`` it emits an ON event, below it by more than
``contrast`` an OFF event, and the reference jumps to the current value. At most one
event per pixel and polarity per step (binary spikes). Frame 0 only sets the reference.

Output per sample: uint8 ``[T, 2, size, size]`` (polarity 0 = ON, 1 = OFF).
Train and test use *disjoint images*, so the test measures generalization to unseen
scenes. scikit-image is needed only to generate data (the ``train`` extra); the
committed test set ``hdsnn_test.npz`` lets everything else run without it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import SnncError

TRAIN_IMAGES = ("camera", "astronaut", "coffee", "rocket", "coins", "grass", "brick",
                "hubble_deep_field", "immunohistochemistry", "text", "page", "moon")
TEST_IMAGES = ("gravel", "chelsea", "clock")
HERE = Path(__file__).resolve().parent
TEST_SET = HERE / "hdsnn_test.npz"


@dataclass(frozen=True)
class EventConfig:
    """What the generator draws; stored in the graph metadata and the test set."""

    size: int = 16            # crop side (pixels)
    steps: int = 20           # T (steps after the reference frame)
    n_directions: int = 8
    speed: float = 1.0        # pixels per step
    contrast: float = 0.2     # DVS log-intensity threshold
    blur: float = 0.7         # Gaussian sigma (pixels) against aliasing
    min_events: int = 60      # redraw crops with fewer events (blank sky, flat walls)


def load_image(name: str) -> np.ndarray:
    """Grayscale float64 [H, W] in [0, 1] from scikit-image's bundled pictures."""
    try:
        import skimage.data
    except ImportError:  # pragma: no cover - depends on the environment
        raise SnncError("generating HD-SNN data needs scikit-image: pip install -e '.[train]'"
                        ) from None
    img = np.asarray(getattr(skimage.data, name)(), dtype=np.float64)
    if img.ndim == 3:
        img = img[..., :3] @ np.array([0.2125, 0.7154, 0.0721])  # skimage's rgb2gray weights
    return img / max(float(img.max()), 1e-9)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return img
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    out = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 0, img)
    return np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 1, out)


def _bilinear(img: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = ys - y0, xs - x0
    a = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    b = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return a * (1 - fy) + b * fy


def events_from_motion(img: np.ndarray, y0: float, x0: float, direction: int,
                       cfg: EventConfig) -> np.ndarray:
    """Event tensor uint8 [T, 2, size, size] for the window at (y0, x0) moving in ``direction``."""
    theta = 2 * np.pi * direction / cfg.n_directions
    vy, vx = cfg.speed * np.sin(theta), cfg.speed * np.cos(theta)
    grid = np.arange(cfg.size, dtype=np.float64)
    ev = np.zeros((cfg.steps, 2, cfg.size, cfg.size), np.uint8)
    ref = None
    for t in range(cfg.steps + 1):
        # the scene moves by +v per step: pixel p shows the scene point p - v t
        ys = y0 + grid[:, None] - vy * t
        xs = x0 + grid[None, :] - vx * t
        level = np.log(_bilinear(img, np.broadcast_to(ys, (cfg.size, cfg.size)),
                                 np.broadcast_to(xs, (cfg.size, cfg.size))) + 0.05)
        if ref is None:
            ref = level
            continue
        on, off = level - ref > cfg.contrast, ref - level > cfg.contrast
        ev[t - 1, 0], ev[t - 1, 1] = on, off
        ref = np.where(on | off, level, ref)
    return ev


def generate(images: tuple[str, ...], n: int, cfg: EventConfig, seed: int,
             progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples, classes balanced and shuffled: (events uint8 [n, T, 2, S, S], y [n])."""
    rng = np.random.default_rng(seed)
    pics = [_blur(load_image(name), cfg.blur) for name in images]
    margin = int(np.ceil(cfg.speed * cfg.steps)) + 2
    y = rng.permutation(np.arange(n) % cfg.n_directions)
    X = np.zeros((n, cfg.steps, 2, cfg.size, cfg.size), np.uint8)
    for i in range(n):
        while True:
            img = pics[rng.integers(len(pics))]
            h, w = img.shape
            y0 = rng.uniform(margin, h - cfg.size - margin)
            x0 = rng.uniform(margin, w - cfg.size - margin)
            ev = events_from_motion(img, y0, x0, int(y[i]), cfg)
            if int(ev.sum()) >= cfg.min_events:
                break
        X[i] = ev
        if progress and (i + 1) % 500 == 0:
            progress(i + 1)
    return X, y.astype(np.int64)


def save_test_set(path: Path, X: np.ndarray, y: np.ndarray, cfg: EventConfig) -> None:
    """Bit-packed events + labels + the generator config, written atomically."""
    from snnc.compiler.ir.serialize import atomic_write

    packed = np.packbits(X.reshape(X.shape[0], -1), axis=1)
    atomic_write(path, lambda f: np.savez_compressed(
        f, events=packed, labels=y, shape=np.array(X.shape[1:]),
        config=np.array(json.dumps(asdict(cfg)))))


def load_test_set(path: Path = TEST_SET) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(events uint8 [n, T, 2, S, S], labels [n], config dict) of the committed test set."""
    from snnc.compiler.errors import FormatError

    try:
        with np.load(path) as z:
            shape = tuple(int(s) for s in z["shape"])
            bits = np.unpackbits(z["events"], axis=1, count=int(np.prod(shape)))
            X = bits.reshape((-1,) + shape)
            cfg = json.loads(str(z["config"]))
            return X, z["labels"].astype(np.int64), cfg
    except (OSError, KeyError, ValueError) as e:
        raise FormatError(f"not an HD-SNN test set ({e})", path) from None


def flatten_events(X: np.ndarray) -> np.ndarray:
    """[n, T, 2, S, S] -> [n, T, 2*S*S] float64: the graph's input (index p*S*S + y*S + x)."""
    return X.reshape(X.shape[0], X.shape[1], -1).astype(np.float64)
