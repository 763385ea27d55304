"""The design space `snnc fit` searches: dimensions declared by each target.

A target declares its space with a hook in its own module, ``fit_space(graph, profile)``
returning a :class:`SearchSpace`: the dimensions (each a name, its choices and the value
the default ``snnc compile`` uses), the cost figures its measurement step reports and the
name of that measurement step (:data:`snnc.targets.fit.measure.MEASURES`). Nothing in
:mod:`snnc.targets.fit` branches on target names.

A *point* is one choice per dimension (a plain dict, JSON-ready). Its identity for the
on-disk cache is :func:`config_hash`: the SHA-256 of the model's content hash, the data's
hash, the target, profile, the point and what was measured, so a changed model, data set
or snnc version never reuses a stale result.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError

Point = dict[str, Any]


@dataclass(frozen=True)
class Dimension:
    """One axis of the space: its name, the values it can take and the default's value."""

    name: str
    choices: tuple[Any, ...]
    default: Any
    # Only meaningful when another dimension takes one of some values (prune_scope with
    # prune > 0); otherwise pinned to the default so equivalent points are not repeated.
    active_if: tuple[str, tuple[Any, ...]] | None = None

    def __post_init__(self) -> None:
        if self.default not in self.choices:
            raise SnncError(f"fit dimension '{self.name}': default {self.default!r} is not "
                            f"one of {self.choices}")


@dataclass(frozen=True)
class SearchSpace:
    """A target's dimensions, the cost figures its measurement reports, and how to measure."""

    target: str
    dims: tuple[Dimension, ...]
    costs: tuple[str, ...]              # objectives this target can minimize
    measure: str                        # key into measure.MEASURES
    constraints: dict[str, int] = field(default_factory=dict)  # cost name -> limit (profile)

    def canonical(self, p: Point) -> Point:
        """``p`` with inactive dimensions set to their default."""
        out = dict(p)
        for d in self.dims:
            if d.active_if is not None:
                other, values = d.active_if
                if out.get(other) not in values:
                    out[d.name] = d.default
        return out

    def default(self) -> Point:
        """The point ``snnc compile`` uses without options."""
        return {d.name: d.default for d in self.dims}

    def size(self) -> int:
        """Number of points in the full grid (before merging equivalent points)."""
        return int(np.prod([len(d.choices) for d in self.dims], dtype=np.int64))

    def grid(self) -> list[Point]:
        """Every point, in a fixed order (the default first)."""
        dflt = self.default()
        seen, out = {point_key(dflt)}, [dflt]
        for vals in itertools.product(*(d.choices for d in self.dims)):
            p = self.canonical(dict(zip([d.name for d in self.dims], vals)))
            if point_key(p) not in seen:
                seen.add(point_key(p))
                out.append(p)
        return out

    def sample(self, n: int, seed: int) -> list[Point]:
        """``n`` distinct points drawn with a seeded generator (the default always first);
        the whole grid when it has at most ``n`` points."""
        if self.size() <= 4 * n:  # small enough to list: sample the distinct points
            pts = self.grid()
            if len(pts) <= n:
                return pts
            rng = np.random.default_rng(seed)
            pick = rng.choice(np.arange(1, len(pts)), size=n - 1, replace=False)
            return [pts[0]] + [pts[int(i)] for i in sorted(pick)]
        rng = np.random.default_rng(seed)
        seen = {point_key(self.default())}
        out = [self.default()]
        # Draw index tuples, not the grid: the space may be far too large to list.
        while len(out) < n:
            p = self.canonical({d.name: d.choices[int(rng.integers(len(d.choices)))]
                                for d in self.dims})
            k = point_key(p)
            if k not in seen:
                seen.add(k)
                out.append(p)
        return out

    def restrict(self, fixed: dict[str, Any]) -> "SearchSpace":
        """The space with some dimensions pinned to one value (``--set name=value``)."""
        names = {d.name for d in self.dims}
        bad = sorted(set(fixed) - names)
        if bad:
            raise SnncError(f"fit: unknown dimension(s) {bad} for target '{self.target}' "
                            f"(known: {sorted(names)})")
        dims = []
        for d in self.dims:
            if d.name in fixed:
                v = fixed[d.name]
                if v not in d.choices:
                    raise SnncError(f"fit: dimension '{d.name}' takes {list(d.choices)}, "
                                    f"got {v!r}")
                dims.append(Dimension(d.name, (v,), v, d.active_if))
            else:
                dims.append(d)
        return SearchSpace(self.target, tuple(dims), self.costs, self.measure, self.constraints)


def point_key(p: Point) -> str:
    """Canonical text of a point (sorted keys), used for ordering and hashing."""
    return json.dumps(p, sort_keys=True, separators=(",", ":"))


def array_hash(*arrays: np.ndarray) -> str:
    """SHA-256 of arrays' dtypes, shapes and bytes."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def config_hash(context: dict[str, Any], point: Point, what: str) -> str:
    """Cache key of one measurement (``what``: 'acc@N' or 'cost') of ``point``."""
    text = json.dumps({"ctx": context, "point": point, "what": what}, sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


# ------------------------------------------------------------------ shared dimension sets

# Fractions of weights removed by magnitude (one-shot; fine-tuned variants come as models).
PRUNE_LEVELS = (0.0, 0.1, 0.25, 0.5)
# storage: 'bytes' = smaller layout in bytes (the default), 'dense' or 'event' (CSC,
# event-driven) forced on every matrix.
STORAGE = ("bytes", "dense", "event")


def c_target_dims(prune_levels: tuple[float, ...] = PRUNE_LEVELS) -> tuple[Dimension, ...]:
    """Dimensions of targets that run the snnc C runtime (smartwatch, rpi, host)."""
    return (
        Dimension("quantize", ("int4", "int8", "int16"), "int8"),
        Dimension("state_bits", (16, 32), 16),
        Dimension("input_bits", (8, 16), 8),
        Dimension("granularity", ("neuron", "layer"), "neuron"),
        Dimension("pow2", (False, True), False),
        Dimension("prune", prune_levels, 0.0),
        Dimension("prune_scope", ("global", "layer"), "global",
                  active_if=("prune", tuple(p for p in prune_levels if p > 0))),
        Dimension("storage", STORAGE, "bytes"),
    )


# Point keys that are not compile options (read by fit itself).
_FIT_ONLY = ("model", "storage")
_STANDARD = ("quantize", "state_bits", "granularity", "pow2", "input_bits", "prune",
             "prune_scope")


def compile_options(point: Point, target: str, profile: str | None) -> Any:
    """The :class:`CompileOptions` a point stands for; dimensions that are not generic
    options (the mpsoc reuse factor, say) become the target's own options."""
    from dataclasses import fields

    from snnc.compiler.passes.pipeline import CompileOptions
    from snnc.targets import registry  # noqa: F401  (registers the targets' pipelines)

    st = point.get("storage", "bytes")
    if st not in ("bytes", "dense", "event"):
        raise SnncError(f"fit: storage must be bytes|dense|event, got {st!r}")
    kw: dict[str, Any] = {k: point[k] for k in _STANDARD if k in point}
    for k in ("state_bits", "input_bits"):
        if k in kw:
            kw[k] = int(kw[k])
    if "prune" in kw:
        kw["prune"] = float(kw["prune"])
    extra = {k: v for k, v in point.items()
             if k not in _STANDARD and k not in _FIT_ONLY and v is not None}
    names = {f.name for f in fields(CompileOptions)}
    if "target_options" in names:
        kw["target_options"] = extra
    else:
        unknown = sorted(set(extra) - names)
        if unknown:
            raise SnncError(f"fit: dimension(s) {unknown} are not compile options")
        kw.update(extra)
    return CompileOptions(storage_threshold={"bytes": None, "dense": 0.0, "event": 1.0}[st],
                          target=target, profile=profile, **kw).check()
