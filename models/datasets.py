"""Loaders for the vendored UEA/UCR ``.ts`` time-series datasets (``models/data/``).

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

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from snnc.compiler.errors import FormatError, SnncError

DATA_DIR = Path(__file__).resolve().parent / "data"
SPLITS = ("train", "test")


@dataclass(frozen=True)
class TsFile:
    """A parsed ``.ts`` file. ``X``: float32 ``[n, channels, max_len]`` (NaN-padded)."""

    problem_name: str
    class_names: list[str]
    X: np.ndarray
    lengths: np.ndarray  # int64 [n]
    labels: list[str]


_BOOL = {"true": True, "false": False}


def _bool(value: str, key: str, path: os.PathLike[str] | str, lineno: int) -> bool:
    if value.lower() not in _BOOL:
        raise FormatError(f"line {lineno}: {key} must be true or false, got '{value}'", path)
    return _BOOL[value.lower()]


def _int(value: str, key: str, path: os.PathLike[str] | str, lineno: int) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n <= 0:
        raise FormatError(f"line {lineno}: {key} must be a positive integer, got '{value}'",
                          path)
    return n


def read_ts(path: str | os.PathLike[str]) -> TsFile:
    """Parse a UEA ``.ts`` classification file (see the module docstring)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise FormatError(f"cannot read file ({e.strerror or e})", path) from None
    except UnicodeDecodeError:
        raise FormatError("not a text (UTF-8) file", path) from None

    header: dict[str, object] = {}
    class_names: list[str] | None = None
    in_data = False
    cases: list[np.ndarray] = []
    labels: list[str] = []
    n_dims: int | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise FormatError(
                    f"line {lineno}: expected a header line starting with '@' before @data", path)
            key, _, rest = line.partition(" ")
            key, rest = key.lower(), rest.strip()
            if key == "@data":
                if class_names is None:
                    raise FormatError(
                        f"line {lineno}: @data before @classLabel (only classification "
                        "files are supported)", path)
                in_data = True
                n_dims = header.get("dimensions")  # type: ignore[assignment]
                if n_dims is None and header.get("univariate") is True:
                    n_dims = 1
                continue
            if key == "@classlabel":
                parts = rest.split()
                if not parts or not _bool(parts[0], key, path, lineno):
                    raise FormatError(
                        f"line {lineno}: '@classLabel false' (regression/unlabelled) is not "
                        "supported", path)
                if len(parts) < 2:
                    raise FormatError(f"line {lineno}: @classLabel true lists no labels", path)
                if len(set(parts[1:])) != len(parts) - 1:
                    raise FormatError(f"line {lineno}: @classLabel lists a label twice", path)
                class_names = parts[1:]
            elif key == "@problemname":
                header["problemname"] = rest
            elif key in ("@timestamps", "@missing", "@univariate", "@equallength"):
                val = _bool(rest, key, path, lineno)
                if key == "@timestamps" and val:
                    raise FormatError(f"line {lineno}: '@timeStamps true' is not supported",
                                      path)
                header[key[1:]] = val
            elif key == "@dimensions":
                header["dimensions"] = _int(rest, key, path, lineno)
            elif key == "@serieslength":
                header["serieslength"] = _int(rest, key, path, lineno)
            else:
                raise FormatError(f"line {lineno}: unknown header '{key}'", path)
            continue
        cases_x, label = _parse_case(line, path, lineno, n_dims)
        if n_dims is None:  # no @dimensions: the first case decides
            n_dims = cases_x.shape[0]
        if label not in class_names:  # type: ignore[operator]
            raise FormatError(
                f"line {lineno}: unknown class label '{label}' (declared: "
                f"{' '.join(class_names or [])})", path)
        if header.get("equallength") is True:
            want = header.get("serieslength") or (cases[0].shape[1] if cases else None)
            if want is not None and cases_x.shape[1] != want:
                raise FormatError(
                    f"line {lineno}: series length {cases_x.shape[1]} but the header says "
                    f"equal lengths of {want}", path)
        cases.append(cases_x)
        labels.append(label)
    if not in_data:
        raise FormatError("no @data section", path)
    if not cases:
        raise FormatError("@data section holds no cases", path)
    lengths = np.array([c.shape[1] for c in cases], dtype=np.int64)
    X = np.full((len(cases), n_dims or 1, int(lengths.max())), np.nan, dtype=np.float32)
    for i, c in enumerate(cases):
        X[i, :, : c.shape[1]] = c
    return TsFile(problem_name=str(header.get("problemname", "")),
                  class_names=list(class_names or []), X=X, lengths=lengths, labels=labels)


def _parse_case(line: str, path: os.PathLike[str] | str, lineno: int,
                n_dims: int | None) -> tuple[np.ndarray, str]:
    """One data line -> (float32 [channels, length], label)."""
    parts = line.split(":")
    if len(parts) < 2:
        raise FormatError(f"line {lineno}: expected '<channel>:...:<label>', found no ':'", path)
    label = parts[-1].strip()
    chans = parts[:-1]
    if not label:
        raise FormatError(f"line {lineno}: empty class label", path)
    if n_dims is not None and len(chans) != n_dims:
        raise FormatError(
            f"line {lineno}: {len(chans)} channels but the header declares {n_dims}", path)
    rows: list[list[float]] = []
    for ci, chan in enumerate(chans):
        row = []
        for tok in chan.split(","):
            tok = tok.strip()
            if tok == "?":
                raise FormatError(
                    f"line {lineno}: channel {ci}: missing value '?' is not supported", path)
            try:
                val = float(tok)
            except ValueError:
                raise FormatError(
                    f"line {lineno}: channel {ci}: '{tok}' is not a number", path) from None
            if not math.isfinite(val):
                raise FormatError(f"line {lineno}: channel {ci}: non-finite value '{tok}'", path)
            row.append(val)
        if rows and len(row) != len(rows[0]):
            raise FormatError(
                f"line {lineno}: channel {ci} has {len(row)} values but channel 0 has "
                f"{len(rows[0])}", path)
        rows.append(row)
    return np.asarray(rows, dtype=np.float32), label


def load_ts(path: str | os.PathLike[str]) -> tuple[np.ndarray, list[str]]:
    """``(X float32 [n_cases, n_channels, max_len] NaN-padded, labels)`` of a ``.ts`` file."""
    f = read_ts(path)
    return f.X, f.labels


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
