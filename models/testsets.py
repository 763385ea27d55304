"""The zoo's test splits, found from a model's metadata, for repository benchmarks and tests.

The deployment side never guesses data from a model (``snnc.targets`` does not import
``snnc.models``): :func:`snnc.targets.benchmark.load_test_data` reads the data file that
ships beside a model (``STEM.test.npz``) and otherwise falls back to seeded synthetic
inputs. This module is the repository's own shortcut for the zoo graphs, whose test splits
are computed from the bundled datasets: :func:`load_test_data` tries the data file, then
the split named by a word of the model's ``metadata["dataset"]``/``["task"]``, then
synthetic inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import SnncError
from snnc.compiler.ir.graph import Graph
from snnc.targets.benchmark import EvalData, synthetic_inputs


def _basicmotions(meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    from snnc.models.datasets import load_basicmotions

    x, y, _ = load_basicmotions("test")
    return x, y


def _japanese_vowels(meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    if "input_mean" in meta and "t_total" in meta:  # the DelayNet input contract
        from snnc.models.delaynet.data import load_split

        return load_split("test", meta)
    from snnc.models.datasets import load_japanese_vowels

    x, _, y, _ = load_japanese_vowels("test")
    return x, y


def _motion_events(meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    from snnc.models.hdsnn.events import flatten_events, load_test_set

    x, y, _ = load_test_set()
    return flatten_events(x), y


def _digits_spikes(meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    from snnc.models.lsm.data import load_digits_spikes

    # The LSM records its encoding's step count; the spikes are seeded per split.
    steps = (meta.get("lsm_config") or {}).get("steps")
    return load_digits_spikes("test", int(steps)) if steps else load_digits_spikes("test")


# Test sets, matched by a word of the model's metadata ("dataset" or "task"), lowercased
# with spaces removed; each loader returns the whole test split as the model expects it.
TEST_SETS: dict[str, Callable[[dict[str, Any]], tuple[np.ndarray, np.ndarray]]] = {
    "basicmotions": _basicmotions,
    "japanesevowels": _japanese_vowels,
    "motiondirection": _motion_events,
    "sklearn-digits": _digits_spikes,
}


def load_test_data(graph: Graph, n: int, steps: int = 50, seed: int = 0,
                   path: str | Path | None = None) -> EvalData:
    """``n`` evenly spaced samples (every class represented in order-sorted splits) of the
    model's data file beside ``path``, else of the zoo test split its metadata names,
    else seeded synthetic inputs."""
    from snnc.compiler.data import model_data_file
    from snnc.targets.benchmark import load_test_data as from_file

    if path is not None and model_data_file(path, "test") is not None:
        return from_file(graph, n, steps, seed, path)
    meta = graph.metadata or {}
    text = " ".join(str(meta.get(k, "")) for k in ("dataset", "task")).lower().replace(" ", "")
    for key, loader in TEST_SETS.items():
        if key in text:
            try:
                x, y = loader(meta)
            except (SnncError, ImportError, OSError) as e:
                return EvalData(x=synthetic_inputs(graph, n, steps, seed), y=None,
                                source=f"synthetic inputs (seed {seed}; {key} test set "
                                       f"unavailable: {e})")
            idx = np.unique(np.linspace(0, len(x) - 1, min(n, len(x))).round().astype(int))
            return EvalData(x=np.asarray(x)[idx], y=np.asarray(y)[idx],
                            source=f"{key} test split ({len(idx)} of {len(x)} samples, "
                                   "evenly spaced)")
    return EvalData(x=synthetic_inputs(graph, n, steps, seed), y=None,
                    source=f"synthetic inputs (seed {seed}, no labels)")


def zoo_dataset(graph: Graph, n: int | None = None) -> Any:
    """The zoo test split as a :class:`compiler.data.Dataset` (what ``flow.bench(data=)``
    and the ``--data`` paths take): the first ``n`` samples (None: all)."""
    from snnc.compiler.data import Dataset

    d = load_test_data(graph, 1 << 30)
    if d.y is None:
        raise SnncError(f"model '{graph.name}': no zoo test split ({d.source})")
    k = len(d.x) if n is None else min(int(n), len(d.x))
    return Dataset(x=np.asarray(d.x[:k], dtype=np.float32), y=np.asarray(d.y[:k]),
                   classes=None, source=d.source)
