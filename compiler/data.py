"""The data convention of the snnc command line: load, quantize, score.

Every command that takes data (``snnc compile --data/--calib``, ``snnc simulate/flash/bench
--data``, ``python -m snnc.models.l2mu.train --data/--test``) reads it through
:func:`load_data`, which accepts three formats:

``.npz`` (the native format)
    ``x``: float array ``[N, T, C]`` (or ``[N, T, *input_shape]``; spike inputs as 0/1,
    any real, integer or bool dtype, converted to float32), time-major per case;
    ``y`` (optional): integer class indices ``[N]``; ``classes`` (optional): the class
    names, ``y`` indexes them. ``.npy``: ``x`` alone (unlabelled).
UEA/UCR ``.ts``
    The archive's text format (:func:`read_ts`). Channels become the last axis; cases of
    unequal length are zero-padded at the end to the longest one (the ``_eq`` files of
    the archive are already equal length); the labels index the ``@classLabel`` list.
UCR ``.csv`` / ``.tsv``
    One univariate case per row: the class label first, then the T values, comma- or
    tab-separated; a first row that is not numeric is skipped as a header. Labels are
    sorted (numerically when they are all numbers) into the class list, so a train and a
    test file with the same label set map them identically.

When the model records its class names (``metadata["classes"]``), :func:`for_graph`
re-maps a dataset's labels onto the model's order by name, so a test file whose class
list is ordered differently still scores correctly.

A compiled (quantized) graph is fed integers: :func:`device_inputs` applies the graph's
input quantization (``quantize_inputs`` of the integer golden model), so users always
pass float data.

:func:`score` turns predictions into the accuracy report every command prints:
accuracy, a per-class table (support, recall, precision), the confusion matrix and the
agreement between any two predictors (e.g. the float model and the device); written as
Markdown, JSON and a PNG of the confusion matrix by :func:`write_scores`.

Anything malformed raises :class:`FormatError` naming the file (and the line for text
formats).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import FormatError, SnncError

DATA_SUFFIXES = (".npz", ".npy", ".ts", ".csv", ".tsv")

# ------------------------------------------------------------------ UEA/UCR .ts


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


# ------------------------------------------------------------------ the dataset


@dataclass(frozen=True)
class Dataset:
    """Float inputs ``x`` [N, T, ...] (float32), labels ``y`` int64 [N] or None, the class
    names ``y`` indexes (None if unknown) and where the data came from."""

    x: np.ndarray
    y: np.ndarray | None
    classes: list[str] | None
    source: str

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def steps(self) -> int:
        """Time steps per case (T)."""
        return int(self.x.shape[1])

    def take(self, n: int | None) -> Dataset:
        """``n`` evenly spaced cases (every class represented in class-sorted files), or all
        when ``n`` is None or >= N."""
        if n is None or n >= len(self):
            return self
        if n < 1:
            raise SnncError(f"--samples must be >= 1, got {n}")
        idx = np.unique(np.linspace(0, len(self) - 1, n).round().astype(int))
        return replace(self, x=self.x[idx], y=None if self.y is None else self.y[idx],
                       source=f"{self.source} ({len(idx)} of {len(self)} cases, evenly spaced)")


def _as_float(x: np.ndarray, path: Path) -> np.ndarray:
    if x.dtype.kind not in "fiub":
        raise FormatError(f"x must be numeric, got dtype {x.dtype}", path)
    x = x.astype(np.float32)
    if x.ndim < 2:
        raise FormatError(f"x must be [N, T, C], got shape {list(x.shape)}", path)
    if x.ndim == 2:  # [N, T]: univariate
        x = x[:, :, None]
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise FormatError(f"x holds no cases or no steps (shape {list(x.shape)})", path)
    if not np.all(np.isfinite(x)):
        raise FormatError("x has non-finite values (NaN/inf)", path)
    return np.ascontiguousarray(x)


def _labels(y: np.ndarray, n: int, path: Path) -> np.ndarray:
    if y.ndim != 1 or y.shape[0] != n:
        raise FormatError(f"y must be [N] = [{n}] class indices, got shape {list(y.shape)}",
                          path)
    if y.dtype.kind not in "iub":
        if y.dtype.kind == "f" and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise FormatError(f"y must hold integer class indices, got dtype {y.dtype}", path)
    y = y.astype(np.int64)
    if np.any(y < 0):
        raise FormatError("y has negative class indices", path)
    return y


def _read_npz(p: Path) -> Dataset:
    try:
        z = np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise FormatError(f"cannot read ({e})", p) from None
    if isinstance(z, np.ndarray):  # .npy: inputs only
        return Dataset(_as_float(z, p), None, None, f"{p}")
    with z:
        if "x" not in z.files:
            raise FormatError(f"no array 'x' (found: {', '.join(z.files) or 'none'}); the "
                              "convention is x [N, T, C] float, y [N] int", p)
        x = _as_float(z["x"], p)
        y = _labels(z["y"], len(x), p) if "y" in z.files else None
        classes = [str(c) for c in z["classes"].ravel()] if "classes" in z.files else None
    if y is not None and classes is not None and y.size and y.max() >= len(classes):
        raise FormatError(f"y has class index {int(y.max())} but 'classes' names "
                          f"{len(classes)}", p)
    return Dataset(x, y, classes, f"{p}")


def _numeric_key(labels: list[str]) -> list[str]:
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def read_csv(path: str | os.PathLike[str]) -> Dataset:
    """A UCR-style ``.csv``/``.tsv``: label first, then one value per step, one case a row."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise FormatError(f"cannot read file ({e.strerror or e})", p) from None
    except UnicodeDecodeError:
        raise FormatError("not a text (UTF-8) file", p) from None
    rows: list[list[float]] = []
    labels: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        toks = [t.strip() for t in (line.split("\t") if "\t" in line else line.split(","))]
        if len(toks) < 2:
            raise FormatError(f"line {lineno}: expected 'label,v1,...,vT'", p)
        try:
            vals = [float(t) for t in toks[1:]]
        except ValueError:
            if not rows:  # a header row
                continue
            raise FormatError(f"line {lineno}: a value is not a number", p) from None
        if not all(math.isfinite(v) for v in vals):
            raise FormatError(f"line {lineno}: non-finite or missing value", p)
        if rows and len(vals) != len(rows[0]):
            raise FormatError(f"line {lineno}: {len(vals)} values but the first case has "
                              f"{len(rows[0])} (unequal lengths: use .ts or .npz)", p)
        rows.append(vals)
        labels.append(toks[0])
    if not rows:
        raise FormatError("no cases", p)
    classes = _numeric_key(sorted(set(labels)))
    index = {c: i for i, c in enumerate(classes)}
    x = np.asarray(rows, dtype=np.float32)[:, :, None]
    return Dataset(x, np.array([index[c] for c in labels], dtype=np.int64), classes, f"{p}")


def _read_ts_dataset(p: Path) -> Dataset:
    f = read_ts(p)
    x = np.nan_to_num(f.X.transpose(0, 2, 1), nan=0.0)  # NaN = padding of shorter cases
    index = {c: i for i, c in enumerate(f.class_names)}
    y = np.array([index[lab] for lab in f.labels], dtype=np.int64)
    return Dataset(np.ascontiguousarray(x, dtype=np.float32), y, list(f.class_names), f"{p}")


def load_data(path: str | os.PathLike[str]) -> Dataset:
    """Read a dataset in any of the formats of the module docstring (by extension)."""
    p = Path(path)
    if not p.is_file():
        raise FormatError("no such data file", p)
    suffix = p.suffix.lower()
    if suffix in (".npz", ".npy"):
        return _read_npz(p)
    if suffix == ".ts":
        return _read_ts_dataset(p)
    if suffix in (".csv", ".tsv"):
        return read_csv(p)
    raise FormatError(f"unknown data format '{p.suffix}' (expected "
                      f"{', '.join(DATA_SUFFIXES)})", p)


def save_data(path: str | os.PathLike[str], ds: Dataset) -> None:
    """Write ``ds`` in the native ``.npz`` convention (atomically)."""
    from snnc.compiler.ir.serialize import atomic_write

    arrays: dict[str, np.ndarray] = {"x": np.asarray(ds.x, dtype=np.float32)}
    if ds.y is not None:
        arrays["y"] = np.asarray(ds.y, dtype=np.int64)
    if ds.classes is not None:
        arrays["classes"] = np.array(ds.classes, dtype=str)
    atomic_write(path, lambda f: np.savez_compressed(f, **arrays))


# ------------------------------------------------------------------ data for a graph


def model_data_file(model_path: str | os.PathLike[str], kind: str) -> Path | None:
    """The data file shipped next to a model: ``STEM.test.npz`` or ``STEM.calib.npz``
    beside ``STEM.snn`` (``kind`` 'test' | 'calib'), or a build directory's ``test.npz``
    / ``calib.npz``; None when there is none."""
    if kind not in ("test", "calib"):
        raise SnncError(f"data kind must be 'test' or 'calib', got '{kind}'")
    p = Path(model_path)
    cand = p / f"{kind}.npz" if p.is_dir() else p.with_name(f"{p.stem}.{kind}.npz")
    return cand if cand.is_file() else None


def for_graph(ds: Dataset, graph: Any) -> Dataset:
    """Check ``ds`` fits ``graph``'s input and map its labels onto the model's classes.

    Raises SnncError naming the data when the per-step shape differs from the input
    node's, or when a class of the data is not one the model knows.
    """
    if len(graph.inputs) != 1:
        raise SnncError(f"graph '{graph.name}' has {len(graph.inputs)} inputs; --data "
                        "feeds one")
    want = tuple(int(d) for d in graph.nodes[graph.inputs[0]].shape_out())
    got = tuple(ds.x.shape[2:])
    if got != want:
        if int(np.prod(got)) == int(np.prod(want)):
            ds = replace(ds, x=ds.x.reshape(ds.x.shape[0], ds.x.shape[1], *want))
        else:
            raise SnncError(f"{ds.source}: cases are [T, {', '.join(map(str, got))}] but model "
                            f"'{graph.name}' takes [T, {', '.join(map(str, want))}] per step "
                            "(wrong dataset for this model?)")
    names = (graph.metadata or {}).get("classes")
    if ds.y is not None and ds.classes and isinstance(names, list) and names:
        names = [str(c) for c in names]
        missing = [c for c in ds.classes if c not in names]
        if missing:
            raise SnncError(f"{ds.source}: class(es) {', '.join(missing)} unknown to model "
                            f"'{graph.name}' (its classes: {', '.join(names)})")
        remap = np.array([names.index(c) for c in ds.classes], dtype=np.int64)
        ds = replace(ds, y=remap[ds.y], classes=names)
    n_out = _n_classes(graph)
    if ds.y is not None and n_out is not None and ds.y.size and int(ds.y.max()) >= n_out:
        raise SnncError(f"{ds.source}: label {int(ds.y.max())} but model '{graph.name}' has "
                        f"{n_out} outputs")
    return ds


def _n_classes(graph: Any) -> int | None:
    try:
        return int(sum(int(np.prod(graph.nodes[o].shape_out())) for o in graph.outputs))
    except (AttributeError, KeyError, TypeError):
        return None


def device_inputs(graph: Any, x: np.ndarray) -> np.ndarray:
    """What a compiled model is fed, ``[S, T, n_inputs]``: the graph's input quantization
    applied to float ``x`` for a quantized graph (int32), float32 otherwise."""
    from snnc.compiler.ir.qnodes import is_quantized

    if len(graph.inputs) != 1:
        raise SnncError(f"graph '{graph.name}' has {len(graph.inputs)} inputs; device "
                        "harnesses take one")
    if is_quantized(graph):
        from snnc.compiler.ir.interpret_int import quantize_inputs

        xq = np.asarray(quantize_inputs(graph, x))
    else:
        xq = np.asarray(x, dtype=np.float32)
    return xq.reshape(xq.shape[0], xq.shape[1], -1)


def golden_predictions(graph: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Classes from the reference simulator on float ``x``: the integer golden model for a
    quantized graph (inputs quantized by it), the float simulator otherwise."""
    from snnc.compiler.ir import predict
    from snnc.compiler.ir.qnodes import is_quantized

    if is_quantized(graph):
        from snnc.compiler.ir.interpret_int import predict_int

        return predict_int(graph, np.asarray(x, np.float64), batch_size=batch_size)
    return predict(graph, np.asarray(x, np.float64), batch_size=batch_size)


def predictions(outputs: np.ndarray) -> np.ndarray:
    """Class per case from outputs ``[S, T, K]``: argmax of the last step (ties -> lowest
    index), the rule of the simulators' ``predict``."""
    out = np.asarray(outputs)
    return np.argmax(out[:, -1].reshape(out.shape[0], -1), axis=1)


# ------------------------------------------------------------------ scoring


def score(pred: np.ndarray, y: np.ndarray | None, classes: list[str] | None = None,
          others: dict[str, np.ndarray] | None = None, n_classes: int | None = None
          ) -> dict[str, Any]:
    """Accuracy report of predictions ``pred`` [N] against labels ``y``.

    ``others`` maps a name (e.g. 'float model', 'integer simulator') to that predictor's
    classes on the same cases: the report gives each one's accuracy and its agreement
    (share of equal predictions) with ``pred``. Without labels only the agreements are
    given.
    """
    pred = np.asarray(pred, dtype=np.int64)
    k = max([int(pred.max(initial=-1)) + 1, n_classes or 0, len(classes or []),
             int(np.max(y, initial=-1)) + 1 if y is not None else 0])
    names = list(classes or []) + [str(i) for i in range(len(classes or []), k)]
    rep: dict[str, Any] = {"samples": int(pred.size), "classes": names,
                           "predictions": pred.tolist(), "rule": "argmax of the last step's "
                           "outputs"}
    if y is not None:
        y = np.asarray(y, dtype=np.int64)[:pred.size]
        conf = np.zeros((k, k), dtype=np.int64)
        np.add.at(conf, (y, pred), 1)
        rep["labels"] = y.tolist()
        rep["accuracy"] = float(np.mean(pred == y)) if pred.size else 0.0
        rep["correct"] = int(np.sum(pred == y))
        per = []
        for c in range(k):
            sup, tp, npred = int(conf[c].sum()), int(conf[c, c]), int(conf[:, c].sum())
            per.append({"class": names[c], "support": sup, "correct": tp,
                        "recall": tp / sup if sup else None,
                        "precision": tp / npred if npred else None})
        rep["per_class"] = per
        rep["confusion"] = conf.tolist()
        counts = np.bincount(y, minlength=k)
        rep["majority_baseline"] = float(counts.max() / max(1, y.size))
    if others:
        rep["others"] = {}
        for name, p in others.items():
            p = np.asarray(p, dtype=np.int64)[:pred.size]
            o: dict[str, Any] = {"agreement": float(np.mean(p == pred)) if pred.size else 0.0}
            if y is not None:
                o["accuracy"] = float(np.mean(p == y))
            rep["others"][name] = o
    return rep


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def score_markdown(s: dict[str, Any], title: str = "accuracy") -> str:
    """The report of :func:`score` as Markdown (summary, per-class table, confusion)."""
    lines = [f"## {title}", ""]
    if "accuracy" in s:
        lines.append(f"- accuracy: **{s['accuracy']:.4f}** ({s['correct']}/{s['samples']}; "
                     f"majority-class baseline {s['majority_baseline']:.4f})")
    else:
        lines.append(f"- {s['samples']} cases, no labels: accuracy not computed")
    for name, o in s.get("others", {}).items():
        acc = f"accuracy {o['accuracy']:.4f}, " if "accuracy" in o else ""
        lines.append(f"- {name}: {acc}same class as this run on {_pct(o['agreement'])}")
    lines.append(f"- prediction rule: {s['rule']}")
    if "per_class" in s:
        lines += ["", "| class | support | correct | recall | precision |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for r in s["per_class"]:
            lines.append(f"| {r['class']} | {r['support']} | {r['correct']} | "
                         f"{_pct(r['recall'])} | {_pct(r['precision'])} |")
        names = s["classes"]
        lines += ["", "Confusion matrix (rows: true class, columns: predicted):", "",
                  "| true \\ pred | " + " | ".join(names) + " |",
                  "| --- |" + " ---: |" * len(names)]
        for c, row in zip(names, s["confusion"]):
            lines.append(f"| {c} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def confusion_png(s: dict[str, Any], path: str | os.PathLike[str], title: str) -> bool:
    """Plot the confusion matrix to ``path``; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    from snnc.compiler.ir.serialize import atomic_write

    conf = np.asarray(s["confusion"])
    k = conf.shape[0]
    fig, ax = plt.subplots(figsize=(2 + 0.45 * k, 1.6 + 0.45 * k), dpi=110)
    ax.imshow(conf, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(conf[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if conf[i, j] > conf.max() / 2 else "black")
    ax.set_xticks(range(k), s["classes"], fontsize=8, rotation=90 if k > 6 else 0)
    ax.set_yticks(range(k), s["classes"], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}: accuracy {s['accuracy']:.3f}", fontsize=9)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)
    return True


def write_scores(s: dict[str, Any], out_dir: str | os.PathLike[str], title: str = "accuracy",
                 stem: str = "accuracy") -> list[Path]:
    """Write ``STEM.json``, ``STEM.md`` and (labelled data, matplotlib installed)
    ``STEM_confusion.png`` into ``out_dir``; returns the paths written."""
    from snnc.compiler.ir.serialize import atomic_write

    d = Path(out_dir)
    if d.exists() and not d.is_dir():
        raise SnncError(f"{d}: not a directory (--report takes a directory)")
    d.mkdir(parents=True, exist_ok=True)
    out = [d / f"{stem}.json", d / f"{stem}.md"]
    atomic_write(out[0], lambda f: f.write(json.dumps(s, indent=1) + "\n"), mode="w")
    atomic_write(out[1], lambda f: f.write(f"# {title}\n\n" + score_markdown(s, title)),
                 mode="w")
    if "confusion" in s and confusion_png(s, d / f"{stem}_confusion.png", title):
        out.append(d / f"{stem}_confusion.png")
    return out


def copy_model_data(model_path: str | os.PathLike[str], dest: str | os.PathLike[str]
                    ) -> list[Path]:
    """Copy the data files shipped with a model (``STEM.test.npz``, ``STEM.calib.npz``)
    to where :func:`model_data_file` finds them for ``dest``: ``test.npz``/``calib.npz``
    in a build directory, or ``OUT.test.npz``/``OUT.calib.npz`` beside an ``OUT.snn``;
    so a compiled model carries its own default data. Returns the files written."""
    from snnc.compiler.ir.serialize import atomic_write

    d = Path(dest)
    out = []
    for kind in ("test", "calib"):
        src = model_data_file(model_path, kind)
        if src is None or not Path(model_path).is_file():
            continue
        dst = d.with_name(f"{d.stem}.{kind}.npz") if d.suffix == ".snn" else d / f"{kind}.npz"
        if dst.resolve() == src.resolve():
            continue
        blob = src.read_bytes()
        atomic_write(dst, lambda f, b=blob: f.write(b))
        out.append(dst)
    return out
