"""Loaders for the vendored UEA/UCR ``.ts`` time-series datasets (``models/data/``).

The parser itself (:func:`read_ts`) lives in :mod:`snnc.compiler.data`, the data
convention of the command line; this module adds the per-dataset loaders.

The UEA ``.ts`` format: comment lines start with ``#``; header lines start with ``@``
(``@problemName``, ``@timeStamps``, ``@missing``, ``@univariate``, ``@dimensions``,
``@equalLength``, ``@seriesLength``, ``@classLabel true <labels...>``), then ``@data``;
after it, one case per line: each channel's comma-separated values, channels joined by
``:``, the class label last.

:func:`load_ts` returns the raw arrays channel-major (as the file stores them);
:func:`load_basicmotions` and :func:`load_japanese_vowels` return time-major cases
(``[n, T, channels]``), which is what the simulator and the models consume.

Choice for unequal lengths: :func:`load_ts` always returns one float32 array
``[n_cases, n_channels, max_len]``; a case shorter than ``max_len`` is padded at the end
with NaN (a value the format itself cannot contain here, because missing values are
rejected), so a case's length is the count of its non-NaN steps. :func:`read_ts` also
gives the lengths explicitly.

Anything the loader does not accept (malformed header, a value that is not a number,
missing values ``?``, timestamps, a wrong channel count, an unknown label) raises
:class:`compiler.errors.FormatError` naming the file and the line number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# The .ts parser is part of the CLI's data convention (compiler/data.py); re-exported here.
from snnc.compiler.data import TsFile, load_ts, read_ts  # noqa: F401
from snnc.compiler.errors import FormatError, SnncError

DATA_DIR = Path(__file__).resolve().parent / "data"
SPLITS = ("train", "test")


def _split_file(name: str, split: str) -> Path:
    if split not in SPLITS:
        raise SnncError(f"split must be one of {SPLITS}, got '{split}'")
    return DATA_DIR / name / f"{name}_{split.upper()}.ts"


def _encode(f: TsFile) -> np.ndarray:
    index = {c: i for i, c in enumerate(f.class_names)}
    return np.array([index[lab] for lab in f.labels], dtype=np.int64)


def load_basicmotions(split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """BasicMotions ``split`` ('train'|'test'): ``(X float32 [n, 100, 6], y int64 [n], classes)``.

    X is time-major per case (``X[i, t]`` is the 6-channel sample at step t: accelerometer
    x, y, z then gyroscope x, y, z, raw units). ``y`` indexes ``classes`` (the order of
    the file's ``@classLabel`` line).
    """
    path = _split_file("BasicMotions", split)
    f = read_ts(path)
    if f.X.shape[1:] != (6, 100) or np.any(f.lengths != 100):
        raise FormatError(f"expected 6 channels x 100 steps per case, got {f.X.shape[1:]}", path)
    return np.ascontiguousarray(f.X.transpose(0, 2, 1)), _encode(f), f.class_names


def load_japanese_vowels(split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """JapaneseVowels ``split``: ``(X float32 [n, 29, 12], lengths int64 [n], y int64 [n], classes)``.

    Utterances have 7..29 frames; each is zero-padded at the end to 29 steps (zeros, not
    NaN, so it can be fed to a network directly); ``lengths`` gives the true frame count.
    """
    path = _split_file("JapaneseVowels", split)
    f = read_ts(path)
    if f.X.shape[1] != 12 or f.X.shape[2] > 29:
        raise FormatError(f"expected 12 channels and at most 29 frames, got {f.X.shape[1:]}",
                          path)
    X = np.zeros((f.X.shape[0], 29, 12), dtype=np.float32)
    for i, n in enumerate(f.lengths):
        X[i, :n] = f.X[i, :, :n].T
    return X, f.lengths.copy(), _encode(f), f.class_names
