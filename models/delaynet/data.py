"""Input pipeline of the DelayNet graph (numpy only, no torch).

JapaneseVowels utterances (12 LPC channels, 7..29 frames) are z-scored per channel with
the *training* set's mean and standard deviation (stored in the graph metadata as
``input_mean`` / ``input_std``, so a deployed model carries its own contract), then
zero-padded at the end to ``t_total`` steps: the extra steps after the longest utterance
let the last frames travel through two delayed layers before the readout stops summing.
Padding frames are zero *after* normalization (silence = no input current).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.models.datasets import load_japanese_vowels

N_CHANNELS = 12
N_CLASSES = 9
MAX_FRAMES = 29


def norm_stats() -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std of the valid frames of the training split (float64 [12])."""
    X, lengths, _, _ = load_japanese_vowels("train")
    frames = np.concatenate([X[i, :n] for i, n in enumerate(lengths)]).astype(np.float64)
    return frames.mean(axis=0), frames.std(axis=0)


def prepare(X: np.ndarray, lengths: np.ndarray, mean: np.ndarray, std: np.ndarray,
            t_total: int) -> np.ndarray:
    """``[n, 29, 12]`` raw frames -> ``[n, t_total, 12]`` float64 normalized, zero-padded."""
    if t_total < X.shape[1]:
        raise SnncError(f"t_total={t_total} is shorter than the data ({X.shape[1]} frames)")
    out = np.zeros((X.shape[0], t_total, X.shape[2]))
    for i, n in enumerate(lengths):
        out[i, :n] = (X[i, :n] - mean) / std
    return out


def load_split(split: str, meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(x [n, t_total, 12], y [n])`` for ``split`` following a graph's metadata contract."""
    X, lengths, y, _ = load_japanese_vowels(split)
    x = prepare(X, lengths, np.asarray(meta["input_mean"]), np.asarray(meta["input_std"]),
                int(meta["t_total"]))
    return x, y
