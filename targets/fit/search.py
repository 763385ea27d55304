"""The search: seeded successive halving over the target's space, Pareto front, choice.

Method (docs/fit.md):

1. Candidates: the whole grid when it has at most ``max_points`` points, else
   ``max_points`` points drawn with a seeded generator; the default compile is always one.
2. Successive halving on the data (budget = validation samples): the data are shuffled
   once with the seed; rung ``r`` measures accuracy on the first ``n_r`` samples
   (``n_r = N / eta^(R-1-r)``, the last rung all ``N``), and build cost once per point
   (cost does not depend on the sample count). The best ``1/eta`` of a rung go on,
   ranked by Pareto rank on (accuracy, objective); points clearly below the accuracy
   budget (by more than two standard errors of their subset accuracy) rank last. The
   default point always goes on, as the comparison baseline.
3. The Pareto front (accuracy up, objective down) of the points measured on all data;
   the chosen point is the one with the lowest objective among those within the accuracy
   budget (then smaller flash, RAM, higher accuracy), the budget being the float model's
   accuracy on the same data minus ``max_drop`` points. Points that do not fit the
   profile fail to compile and never qualify.

Every measurement is cached on disk by configuration hash (:func:`.space.config_hash`):
a re-run (after Ctrl-C or a lost machine) evaluates only what is missing. Results come
back in task order from the engine, so the outcome does not depend on the number of
workers, the engine or the order tasks finish.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnc.compiler import __version__
from snnc.compiler.errors import FormatError, SnncError
from snnc.compiler.ir.graph import Graph
from snnc.targets.fit.evaluate import FitState
from snnc.targets.fit.space import SearchSpace, array_hash, config_hash, point_key


def load_data(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Validation data from an ``.npz`` with float ``x`` [N, T, C...] and int ``y`` [N].

    (Kept small and local so it can give way to the project's data convention module.)
    """
    p = Path(path)
    if not p.exists():
        raise FormatError("fit data: no such file", p)
    try:
        with np.load(p, allow_pickle=False) as z:
            if "x" not in z.files or "y" not in z.files:
                raise FormatError(f"fit data: expected arrays 'x' and 'y', found {z.files}", p)
            x, y = np.asarray(z["x"]), np.asarray(z["y"])
    except (ValueError, OSError, EOFError) as e:
        raise FormatError(f"fit data: cannot read ({e})", p) from None
    if x.ndim < 3 or x.dtype.kind != "f":
        raise FormatError(f"fit data: 'x' must be float [N, T, C], got {x.dtype} {x.shape}", p)
    if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(x):
        raise FormatError(f"fit data: 'y' must be int [N] with N = {len(x)}, got "
                          f"{y.dtype} {y.shape}", p)
    if len(x) == 0 or not np.all(np.isfinite(x)):
        raise FormatError("fit data: 'x' is empty or has NaN/inf", p)
    return x.astype(np.float32), y.astype(np.int64)


@dataclass
class FitConfig:
    """Options of one fit run (``snnc fit``)."""

    target: str
    profile: str | None = None
    objective: str = "instructions"
    max_drop: float = 1.0            # accuracy points (percent) below the float model
    max_points: int = 64
    eta: int = 3
    min_samples: int = 16            # smallest rung
    seed: int = 0
    calib_samples: int = 64
    cost_samples: int = 4
    fixed: dict[str, Any] = field(default_factory=dict)
    # Cost limits on the chosen point: cost name -> number, or "default" (no worse than
    # the default compile), e.g. {"flash": "default", "ram": "default"}.
    limits: dict[str, Any] = field(default_factory=dict)


@dataclass
class FitResult:
    """Everything measured, the front and the choice."""

    config: FitConfig
    space: SearchSpace
    reference_accuracy: float
    records: list[dict[str, Any]]          # one per candidate: last rung reached
    front: list[dict[str, Any]]
    chosen: dict[str, Any]
    default: dict[str, Any] | None
    rungs: list[dict[str, Any]]
    evaluated: int                          # tasks run now (not from the cache)
    cached: int                             # tasks answered by the cache
    seconds: float
    engine: str
    workers: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        c = self.config
        return {"format": "snnc-fit", "version": 1, "snnc_version": __version__,
                "target": c.target, "profile": c.profile, "objective": c.objective,
                "max_accuracy_drop_pp": c.max_drop, "limits": self.limits(),
                "seed": c.seed, "eta": c.eta,
                "max_points": c.max_points, "space_size": self.space.size(),
                "dimensions": {d.name: list(d.choices) for d in self.space.dims},
                "reference_accuracy_float": self.reference_accuracy,
                "accuracy_threshold": self.threshold(),
                "rungs": self.rungs, "evaluated": self.evaluated, "cached": self.cached,
                "seconds": round(self.seconds, 2), "engine": self.engine,
                "workers": self.workers, "default": self.default, "chosen": self.chosen,
                "front": self.front, "points": self.records}

    def threshold(self) -> float:
        return self.reference_accuracy - self.config.max_drop / 100.0

    def limits(self) -> dict[str, float]:
        """The cost limits with 'default' resolved to the default compile's figures."""
        return resolve_limits(self.config.limits, self.default)


def resolve_limits(limits: dict[str, Any], default: dict[str, Any] | None) -> dict[str, float]:
    """Cost limits as numbers ('default': the default point's measured cost)."""
    out: dict[str, float] = {}
    for k, v in limits.items():
        if v == "default":
            if default is None or default.get("error") or k not in (default.get("cost") or {}):
                raise SnncError(f"fit: limit {k}=default needs the default compile, which "
                                f"was not measured ({(default or {}).get('error')})")
            out[k] = float(default["cost"][k])
        else:
            out[k] = float(v)
    return out


class Progress:
    """A one-line stderr progress counter: points done / total and the best so far."""

    def __init__(self, total: int, objective: str, enabled: bool = True):
        self.total, self.done, self.objective = total, 0, objective
        self.best: str = "-"
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def step(self, label: str) -> None:
        self.done += 1
        if self.enabled:
            el = time.perf_counter() - self.t0
            sys.stderr.write(f"\rsnnc fit: {label} {self.done}/{self.total} evaluations, "
                             f"best {self.best} [{el:.0f} s]   ")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def rung_sizes(n_data: int, n_points: int, eta: int, min_samples: int) -> list[int]:
    """Sample counts per rung: ..., N/eta^2, N/eta, N (the smallest >= min_samples)."""
    r = 1
    while n_data / eta ** r >= min_samples and eta ** r <= n_points:
        r += 1
    return [int(math.ceil(n_data / eta ** (r - 1 - i))) for i in range(r)]


def pareto_ranks(acc: list[float], cost: list[float]) -> list[int]:
    """Non-dominated sorting rank (0 = front) for accuracy up, cost down."""
    n = len(acc)
    rank = [-1] * n
    left = set(range(n))
    k = 0
    while left:
        front = [i for i in left if not any(
            acc[j] >= acc[i] and cost[j] <= cost[i] and (acc[j] > acc[i] or cost[j] < cost[i])
            for j in left)]
        for i in front:
            rank[i] = k
        left -= set(front)
        k += 1
    return rank


def pareto_front(records: list[dict[str, Any]], objective: str) -> list[dict[str, Any]]:
    """Records not dominated in (accuracy up, objective down), cheapest first; equal
    (accuracy, cost) pairs keep the first by point key only."""
    ok = [r for r in records if r.get("error") is None]
    ranks = pareto_ranks([r["accuracy"] for r in ok], [r["cost"][objective] for r in ok])
    front = sorted((r for r, k in zip(ok, ranks) if k == 0),
                   key=lambda r: (r["cost"][objective], -r["accuracy"], point_key(r["point"])))
    out, seen = [], set()
    for r in front:
        sig = (r["accuracy"], r["cost"][objective])
        if sig not in seen:
            seen.add(sig)
            out.append(r)
    return out


class Cache:
    """Results on disk, one JSON file per configuration hash (atomic writes)."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root is not None else None
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> dict[str, Any] | None:
        if self.root is None:
            return None
        p = self.root / f"{key}.json"
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError):
            return None  # a damaged entry is re-evaluated

    def put(self, key: str, value: dict[str, Any]) -> None:
        if self.root is None or value.get("transient"):
            return
        from snnc.compiler.ir.serialize import atomic_write

        atomic_write(self.root / f"{key}.json", lambda f: f.write(json.dumps(value)), mode="w")


def code_fingerprint() -> str:
    """SHA-256 of the sources a measurement depends on (compiler, runtime, targets), so a
    cache never serves results of other code (a development checkout changes under it)."""
    import hashlib

    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for sub, pats in (("compiler", ("*.py",)), ("runtime", ("*.c", "*.h")),
                      ("targets", ("*.py", "*.c", "*.j2", "*.ld"))):
        for pat in pats:
            for f in sorted((root / sub).rglob(pat)):
                if "fit" in f.relative_to(root).parts[:2] or "__pycache__" in f.parts:
                    continue  # the search itself does not change a point's figures
                h.update(str(f.relative_to(root)).encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def make_state(graphs: dict[str, Graph], x: np.ndarray, y: np.ndarray, cfg: FitConfig,
               measure: str) -> tuple[FitState, dict[str, Any]]:
    """Shuffle the data with the seed and build the worker state and the cache context."""
    from snnc.compiler.ir.serialize import graph_hash

    perm = np.random.default_rng(cfg.seed).permutation(len(x))
    xs, ys = np.ascontiguousarray(x[perm]), np.ascontiguousarray(y[perm])
    ctx = {"models": {k: graph_hash(g) for k, g in graphs.items()},
           "data": array_hash(xs, ys), "target": cfg.target, "profile": cfg.profile,
           "calib_samples": cfg.calib_samples, "cost_samples": cfg.cost_samples,
           "snnc": __version__, "code": code_fingerprint()}
    sid = config_hash(ctx, {}, "state")
    return FitState(graphs=graphs, x=xs, y=ys, target=cfg.target, profile=cfg.profile,
                    measure=measure, calib_samples=cfg.calib_samples,
                    cost_samples=cfg.cost_samples, sid=sid), ctx


def target_space(graph: Graph, target: str, profile: str | None) -> SearchSpace:
    """The space the target declares (its module's ``fit_space(graph, profile)`` hook)."""
    from snnc.targets import registry

    mod = registry.get_target(target).load()
    hook = getattr(mod, "fit_space", None)
    if hook is None:
        raise SnncError(f"fit: target '{target}' declares no search space (fit_space hook)")
    return hook(graph, profile)


def fit(graphs: dict[str, Graph], x: np.ndarray, y: np.ndarray, cfg: FitConfig,
        engine_factory: Callable[[FitState], Any], cache_dir: str | Path | None = None,
        progress: bool = True, on_result: Callable[[dict[str, Any]], None] | None = None,
        ) -> FitResult:
    """Search the target's space for ``graphs`` (``{"base": g, variant: g', ...}``) on the
    data ``x``/``y``; see the module docstring. ``engine_factory(state)`` makes the
    engine (local pool or Ray). Raises SnncError when no point meets the budget."""
    from snnc.compiler.ir import predict
    from snnc.targets.fit.space import Dimension

    t0 = time.perf_counter()
    base = graphs["base"]
    space = target_space(base, cfg.target, cfg.profile)
    if len(graphs) > 1:  # pre-pruned (e.g. fine-tuned) variants are one more dimension
        space = SearchSpace(space.target, (Dimension("model", tuple(graphs), "base"),
                                           *space.dims), space.costs, space.measure,
                            space.constraints)
    space = space.restrict(cfg.fixed)
    for k in cfg.limits:
        if k not in space.costs:
            raise SnncError(f"fit: limit on '{k}', which target '{cfg.target}' does not "
                            f"measure (it measures {', '.join(space.costs)})")
    if cfg.objective not in space.costs:
        raise SnncError(f"fit: objective '{cfg.objective}' is not measured for target "
                        f"'{cfg.target}' (choose from {', '.join(space.costs)})")
    if cfg.eta < 2:
        raise SnncError(f"fit: eta must be >= 2, got {cfg.eta}")
    state, ctx = make_state(graphs, x, y, cfg, space.measure)
    ref = float(np.mean(predict(base, {base.inputs[0]: state.x}) == state.y))
    thr = ref - cfg.max_drop / 100.0
    cands = space.sample(cfg.max_points, cfg.seed)
    sizes = rung_sizes(len(state.x), len(cands), cfg.eta, cfg.min_samples)
    keeps = [len(cands)]
    for _ in sizes[1:]:
        keeps.append(int(math.ceil(keeps[-1] / cfg.eta)))
    cache = Cache(cache_dir)
    prog = Progress(sum(keeps), cfg.objective, progress)
    engine = engine_factory(state)
    obj = cfg.objective
    best: tuple[float, float] | None = None
    last: dict[str, dict[str, Any]] = {}
    costs: dict[str, dict[str, Any]] = {}
    rungs: list[dict[str, Any]] = []
    evaluated = cached = 0
    survivors = cands
    fixed_limits = {k: float(v) for k, v in cfg.limits.items() if v != "default"}

    def note_best(rec: dict[str, Any]) -> None:
        """Progress line: the cheapest point so far within budget and numeric limits."""
        nonlocal best
        if rec["error"] is None and rec["accuracy"] >= thr and all(
                rec["cost"][k] <= v for k, v in fixed_limits.items()):
            cand = (rec["cost"][obj], -rec["accuracy"])
            if best is None or cand < best:
                best = cand
                prog.best = f"{obj} {cand[0]:g} at {100 * rec['accuracy']:.1f}%"

    try:
        for r, n in enumerate(sizes):
            label = f"rung {r + 1}/{len(sizes)} ({n} samples):"
            tasks, keys, recs = [], [], {}
            for p in survivors:
                pk = point_key(p)
                ka, kc = config_hash(ctx, p, f"acc@{n}"), config_hash(ctx, p, "cost")
                a = cache.get(ka)
                c = costs.get(pk) or cache.get(kc)
                if a is not None and c is not None:
                    recs[pk] = _merge(p, n, a, c)
                    cached += 1
                    note_best(recs[pk])
                    prog.step(label)
                    continue
                tasks.append({"point": p, "n": None if a is not None else n,
                              "cost": c is None})
                keys.append((pk, ka, kc, a, c))

            def done(i: int, res: dict[str, Any], keys=keys, recs=recs, n=n,
                     label=label) -> None:
                pk, ka, kc, a, c = keys[i]
                if a is None:
                    a = {"accuracy": res["accuracy"], "error": res["error"],
                         "seconds": res["seconds"], "transient": res.get("transient")}
                    cache.put(ka, a)
                if c is None:
                    c = {"cost": res["cost"], "error": res["error"],
                         "seconds": res["seconds"], "transient": res.get("transient")}
                    cache.put(kc, c)
                rec = _merge(res["point"], n, a, c)
                recs[pk] = rec
                note_best(rec)
                if on_result is not None:
                    on_result(rec)
                prog.step(label)

            if tasks:
                engine.run(tasks, done)
                evaluated += len(tasks)
            rung_recs = [recs[point_key(p)] for p in survivors]
            for rec in rung_recs:
                last[point_key(rec["point"])] = rec
                if rec["cost"] is not None:
                    costs[point_key(rec["point"])] = {"cost": rec["cost"], "error": None}
            rungs.append({"samples": n, "points": len(rung_recs),
                          "errors": sum(rec["error"] is not None for rec in rung_recs)})
            if r + 1 < len(sizes):
                survivors = _promote(rung_recs, keeps[r + 1], obj, thr, space.default())
    finally:
        prog.close()
        engine.close()
    bugs = [rec for rec in last.values() if (rec["error"] or "").startswith("internal error")]
    if bugs:
        sys.stderr.write(f"snnc fit: warning: {len(bugs)} point(s) hit an internal error "
                         f"(not cached), e.g. {describe(bugs[0]['point'])}: "
                         f"{bugs[0]['error']}\n")
    final = [rec for rec in last.values() if rec["n"] == sizes[-1]]
    records = sorted(last.values(), key=lambda rec: (-rec["n"], point_key(rec["point"])))
    front = pareto_front(final, obj)
    dflt = last.get(point_key(space.default()))
    chosen = choose(final, obj, thr, ref, cfg, resolve_limits(cfg.limits, dflt))
    return FitResult(config=cfg, space=space, reference_accuracy=ref, records=records,
                     front=front, chosen=chosen, default=dflt, rungs=rungs,
                     evaluated=evaluated, cached=cached, seconds=time.perf_counter() - t0,
                     engine=getattr(engine, "name", "?"),
                     workers=int(getattr(engine, "workers", 1)))


def _merge(point: dict[str, Any], n: int, a: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
    err = a.get("error") or c.get("error")
    return {"point": point, "n": n, "accuracy": None if err else a["accuracy"],
            "cost": None if err else c["cost"], "error": err}


def _promote(recs: list[dict[str, Any]], k: int, obj: str, thr: float,
             default: dict[str, Any]) -> list[dict[str, Any]]:
    ok = [r for r in recs if r["error"] is None]
    ranks = pareto_ranks([r["accuracy"] for r in ok], [r["cost"][obj] for r in ok])

    def hopeless(r: dict[str, Any]) -> bool:  # below budget beyond sampling noise
        p, n = r["accuracy"], r["n"]
        return p + 2 * math.sqrt(max(p * (1 - p), 1.0 / n) / n) < thr

    order = sorted(range(len(ok)), key=lambda i: (hopeless(ok[i]), ranks[i], -ok[i]["accuracy"],
                                                   ok[i]["cost"][obj], point_key(ok[i]["point"])))
    keep = [ok[i]["point"] for i in order[:k]]
    if default not in keep and any(r["point"] == default for r in ok):
        keep.append(default)
    return keep


def choose(final: list[dict[str, Any]], obj: str, thr: float, ref: float,
           cfg: FitConfig, limits: dict[str, float] | None = None) -> dict[str, Any]:
    """The cheapest point within the accuracy budget and the cost limits, or SnncError
    naming the closest point (the most accurate one within the limits, if any)."""
    limits = limits or {}
    ok = [r for r in final if r["error"] is None]
    in_limits = [r for r in ok if all(r["cost"][k] <= v for k, v in limits.items())]
    within = [r for r in in_limits if r["accuracy"] >= thr - 1e-12]
    if within:
        return min(within, key=lambda r: (r["cost"][obj], r["cost"].get("flash", 0),
                                          r["cost"].get("ram", 0), -r["accuracy"],
                                          point_key(r["point"])))
    if not ok:
        errs = sorted({r["error"] for r in final})
        raise SnncError(f"fit: no point of the space compiles for target '{cfg.target}' "
                        f"(profile {cfg.profile or 'default'}): {errs[0] if errs else 'none'}")
    close = max(in_limits or ok, key=lambda r: (r["accuracy"], -r["cost"][obj]))
    lim = "".join(f", {k} <= {v:g}" for k, v in limits.items())
    raise SnncError(
        f"fit: no point is within {cfg.max_drop:g} pp of the float model's "
        f"{100 * ref:.2f}%{lim}; closest: {describe(close['point'])} at "
        f"{100 * close['accuracy']:.2f}% ({obj} {close['cost'][obj]:g}"
        + "".join(f", {k} {close['cost'][k]:g}" for k in limits) + ")")


def describe(p: dict[str, Any]) -> str:
    """A point as ``key=value`` text."""
    return " ".join(f"{k}={v}" for k, v in p.items())
