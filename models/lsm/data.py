"""Spike-train digits for the zero-shot LSM (a local stand-in for N-MNIST).

N-MNIST cannot be downloaded here, so the LSM uses scikit-learn's bundled 8x8 handwritten
digits (``sklearn.datasets.load_digits``: 1797 images, 10 classes, UCI "Optical
Recognition of Handwritten Digits", shipped inside the scikit-learn wheel; install the
``lsm`` extra). Each image is upsampled to 16x16 (nearest neighbour, so the input layer
has the paper's 256 rows) and rate coded: pixel value v in [0, 16] fires with probability
``p_max * v / 16`` per step, for ``steps`` steps (Bernoulli, seeded). The train/test split
is a fixed seeded permutation (75% / 25%).
"""

from __future__ import annotations

import numpy as np

from snnc.compiler.errors import SnncError

STEPS = 50          # the paper's 50 time steps
P_MAX = 0.5         # firing probability of a full-intensity pixel per step
SPLIT_SEED = 0
TEST_FRACTION = 0.25


def _digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SnncError("the LSM's digits data ships with scikit-learn: "
                        "pip install 'snnc[lsm]' (or scikit-learn)") from None
    d = load_digits()
    return np.asarray(d.images, dtype=np.float64), np.asarray(d.target, dtype=np.int64)


def split_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices of the fixed split."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_test = int(round(n * TEST_FRACTION))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def encode(images: np.ndarray, steps: int = STEPS, p_max: float = P_MAX,
           seed: int = 0) -> np.ndarray:
    """Rate-code 8x8 images [n, 8, 8] (values 0..16) as spikes float32 [n, steps, 256]."""
    up = np.repeat(np.repeat(images, 2, axis=1), 2, axis=2).reshape(len(images), 256)
    p = np.clip(up / 16.0, 0.0, 1.0) * p_max
    rng = np.random.default_rng(seed)
    return (rng.random((len(images), steps, 256)) < p[:, None, :]).astype(np.float32)


def load_digits_spikes(split: str, steps: int = STEPS,
                       n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(x float32 [n, steps, 256] spikes, y int64 [n])`` of split 'train' or 'test'."""
    if split not in ("train", "test"):
        raise SnncError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = _digits()
    tr, te = split_indices(len(labels))
    idx = tr if split == "train" else te
    if n is not None:
        idx = idx[:n]
    # Separate, fixed spike seeds per split: the test spikes never change between runs.
    return encode(images[idx], steps, seed=1 if split == "train" else 2), labels[idx]
