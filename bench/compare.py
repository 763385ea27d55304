"""Side-by-side benchmark: snnc C vs onnxruntime, TVM, LiteRT and the NumPy reference.

``python -m snnc.bench.compare MODEL.snn`` (or ``snnc bench MODEL.snn --compare``) runs the same
model on the same inputs through every backend, in float (float32 exports; the reference
in float64) and in integer (the quantized graph; every backend bit-exact with the integer
simulator where it can run it), and reports per backend:

- per-step latency at batch 1, streaming (median, p99), two ways: "native" = the
  backend's own execute call (snnc C's step through ctypes, onnxruntime's
  ``run_with_iobinding``, TVM's VM call, LiteRT's ``invoke``), and "Python-driven" = the
  whole step a Python streaming app makes (input in, execute, states back, outputs out);
  ``snnc-c-loop`` steps the same C in a native harness and times each step in C; for
  window-only backends (the Scan model, the reference) per-step = per-sample / T;
- per-sample latency (a whole window, reset included) and throughput (samples/s at
  batch 1, = 1 / median per-sample latency);
- peak memory: the peak RSS of a fresh Python process that runs only that backend
  (``--probe``), and its growth over the same process before the backend was loaded;
- output agreement with the reference simulator (float: max |diff| and the fraction of
  last-step argmax predictions that agree; integer: bit-exact or not).

Backends run interleaved: for every (repeat, sample) each backend processes the sample in
a rotating order, so machine noise hits all of them alike. A backend that cannot express
the model is reported as "unsupported by <backend>: <reason>", never a crash.

``python -m snnc.bench.compare --all`` runs the *fair* host comparison
(:mod:`bench.compare_fair`: whole sequence in one native call, one Python driver per step,
identity-model floor subtracted) on every zoo model and writes
``bench/results/compare_<model>.{json,md}`` and ``compare_summary.{md,json,png}``;
``--legacy`` gives this module's older table (:func:`compare`, also behind
``snnc bench MODEL.snn --compare``). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
BASELINES = ("onnxruntime", "tvm", "litert")
BACKENDS = ("snnc-c", "snnc-c-loop", "snnc-c-event", "onnxruntime", "onnxruntime-scan", "tvm", "litert", "numpy-reference")
PRECISIONS = ("float", "int")


def progress(msg: str) -> None:
    """One progress line on stderr."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ runners


class SnncCRunner:
    """snnc's generated C built by the host target, stepped through ctypes one call per step.

    This is the same driver as the baselines' (one foreign call per step from Python with
    the state kept on the native side), so per-step times compare like for like.
    """

    name = "snnc-c"
    has_step = True
    last_native_ns: int | None = None

    def __init__(self, graph: Graph, storage_threshold: float | None = None) -> None:
        import tempfile

        from snnc.compiler.passes.storage import choose_storage

        # Weight layout as snnc's compile pipeline picks it (bit-exact either way):
        # by default the smaller of dense/CSC in bytes; threshold 1.0 = CSC everywhere,
        # i.e. event-driven synapses (only the columns of inputs that spiked are read).
        graph = choose_storage(graph, storage_threshold)
        if len(graph.inputs) != 1:
            raise UnsupportedError("the host harness takes exactly one input node")

        from snnc.targets.registry import write_build
        from snnc.targets.run import open_build

        self._tmp = tempfile.TemporaryDirectory(prefix="snnc-bench-")
        bd = write_build("host", graph, Path(self._tmp.name))
        # The one run interface: the host build loaded in-process; its stream() steps it.
        self.model = open_build(bd, device="local")
        self.iface = self.model.iface
        self._stream = self.model.stream()
        self._outs = [(n, tuple(graph.nodes[n].shape_out())) for n in graph.outputs]
        self._in = graph.inputs[0]

    def reset(self, batch: int = 1) -> None:
        if batch != 1:
            raise SnncError("snnc-c steps one sample at a time (batch 1)")
        self._stream.reset()

    def step(self, xs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        y = self._stream.step(xs[self._in])
        self.last_native_ns = self._stream.last_native_ns
        out, off = {}, 0
        for n, shp in self._outs:
            k = int(np.prod(shp))
            out[n] = y[off:off + k].reshape((1,) + shp).copy()
            off += k
        return out


class SnncCLoopRunner(SnncCRunner):
    """The same generated C in a native program (the Linux harness of ``targets/rpi``,
    built for this host): the step loop runs in C and each step is timed in C with
    ``clock_gettime`` around the step call, so no Python or ctypes overhead is included.
    """

    name = "snnc-c-loop"
    has_step = False

    def __init__(self, graph: Graph, storage_threshold: float | None = None) -> None:
        super().__init__(graph, storage_threshold)
        try:
            from snnc.targets.rpi.build import build_binary
        except ImportError:
            raise UnsupportedError("the Linux harness (targets/rpi) is not available") \
                from None
        self.exe = build_binary(Path(self._tmp.name), out_dir=Path(self._tmp.name) / "loop",
                                host=True)
        self.last_step_ns: np.ndarray | None = None

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from snnc.targets.common import inputs_blob, parse_harness

        x = inputs[self._in]
        x = x.reshape(x.shape[0], x.shape[1], -1)
        inp = Path(self._tmp.name) / "inputs.bin"
        inp.write_bytes(inputs_blob(x, self.iface))
        r = subprocess.run([str(self.exe.path), str(inp)], capture_output=True, text=True,
                           timeout=600, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise SnncError(f"snnc C harness failed (exit {r.returncode}): "
                            f"{(r.stderr or r.stdout).strip()[-500:]}")
        h = parse_harness(r.stdout, self.iface)
        self.last_step_ns = h.step_ns
        y = h.outputs
        out, off = {}, 0
        for n, shp in self._outs:
            k = int(np.prod(shp))
            out[n] = y[:, :, off:off + k].reshape(y.shape[:2] + shp)
            off += k
        return out


def make_backend(name: str, graph: Graph, precision: str) -> Any:
    """A runner for ``name`` on ``graph`` (float32 exports, or 'int' for a quantized graph)."""
    from snnc.bench.baselines.runners import make_runner

    dtype = "int" if precision == "int" else "float32"
    if name == "snnc-c":
        return SnncCRunner(graph)
    if name == "snnc-c-loop":
        return SnncCLoopRunner(graph)
    if name == "snnc-c-event":
        return SnncCLoopRunner(graph, storage_threshold=1.0)
    if name == "numpy-reference":
        return make_runner("reference", graph, dtype=dtype)
    return make_runner(name, graph, dtype=dtype, batch=1)


# ------------------------------------------------------------------ measuring


@dataclass
class Measured:
    """Timings and outputs of one backend at one precision."""

    backend: str
    precision: str
    status: str = "ok"  # ok | unsupported | error
    reason: str = ""
    build_s: float = 0.0
    step_ns: list[int] = field(default_factory=list)
    native_ns: list[int] = field(default_factory=list)
    sample_ns: list[int] = field(default_factory=list)
    per_step_from_window: bool = False
    outputs: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)


def _time_sample(runner: Any, x: dict[str, np.ndarray], rec: Measured) -> dict[str, np.ndarray]:
    """Run one sample ([1, T, ...] per input); append its timings to ``rec``."""
    tsteps = next(iter(x.values())).shape[1]
    if getattr(runner, "has_step", False):
        slices = [{k: v[:, t] for k, v in x.items()} for t in range(tsteps)]
        outs: dict[str, list[np.ndarray]] = {}
        clock = time.perf_counter_ns
        t_start = clock()
        runner.reset(1)
        for xt in slices:
            t0 = clock()
            y = runner.step(xt)
            rec.step_ns.append(clock() - t0)
            if runner.last_native_ns is not None:
                rec.native_ns.append(runner.last_native_ns)
            for k, v in y.items():
                outs.setdefault(k, []).append(v)
        rec.sample_ns.append(clock() - t_start)
        return {k: np.stack(v, axis=1) for k, v in outs.items()}
    t0 = time.perf_counter_ns()
    res = runner.run(x)
    dt = time.perf_counter_ns() - t0
    c_ns = getattr(runner, "last_step_ns", None)
    if c_ns is not None and len(c_ns) == tsteps:  # timed inside C, per step
        rec.step_ns.extend(int(v) for v in c_ns)
        rec.native_ns.extend(int(v) for v in c_ns)
        rec.sample_ns.append(int(np.sum(c_ns)))
        return res
    rec.sample_ns.append(dt)
    rec.step_ns.append(dt // max(tsteps, 1))
    rec.native_ns.append(dt // max(tsteps, 1))
    rec.per_step_from_window = True
    return res


def _stats(ns: list[int]) -> dict[str, float]:
    a = np.asarray(ns, dtype=np.float64)
    if a.size == 0:
        return {}
    return {"median_us": float(np.median(a) / 1e3), "p99_us": float(np.percentile(a, 99) / 1e3),
            "mean_us": float(a.mean() / 1e3), "n": int(a.size)}


def _agreement(outs: dict[int, dict[str, np.ndarray]], ref: dict[int, dict[str, np.ndarray]],
               integer: bool) -> dict[str, Any]:
    """Compare a backend's outputs with the reference's, sample by sample."""
    maxdiff, same, total, agree, n = 0.0, 0, 0, 0, 0
    for s, r in ref.items():
        if s not in outs:
            continue
        for k, want in r.items():
            got = np.asarray(outs[s].get(k))
            if got.shape != want.shape:
                got = got.reshape(want.shape)
            d = np.abs(got.astype(np.float64) - want.astype(np.float64))
            maxdiff = max(maxdiff, float(d.max(initial=0.0)))
            same += int((d == 0).sum())
            total += d.size
            agree += int(np.argmax(got[:, -1].reshape(got.shape[0], -1), axis=1)[0]
                         == np.argmax(want[:, -1].reshape(want.shape[0], -1), axis=1)[0])
            n += 1
    rep: dict[str, Any] = {"max_abs_diff": maxdiff,
                           "equal_fraction": same / total if total else None,
                           "prediction_agreement": agree / n if n else None}
    if integer:
        rep["bit_exact"] = bool(total and same == total)
    return rep


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    vers = {}
    for mod in ("numpy", "onnxruntime", "onnx", "tvm", "ai_edge_litert"):
        try:
            m = __import__(mod)
            vers[mod] = getattr(m, "__version__", "?")
        except ImportError:
            vers[mod] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "versions": vers,
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


# ------------------------------------------------------------------ inputs and models


@dataclass
class Workload:
    """A model, its quantized twin and the benchmark inputs (float and integer)."""

    graph: Graph
    graph_q: Graph | None
    quant_error: str
    x: np.ndarray  # float [S, T, ...]
    xq: np.ndarray | None
    source: str
    path: Path | None


QUANT = {"pow2-16": {"pow2": True, "state_bits": 16}, "default": {}}


def workload(model: str | Path | Graph, samples: int, steps: int | None,
             quant: str = "pow2-16", quantize_model: bool = True) -> Workload:
    """Load the model, its test inputs (or seeded synthetic ones) and quantize it.

    Calibration uses the benchmark inputs themselves: this benchmark measures speed and
    agreement with the integer simulator, not accuracy.
    """
    from snnc.compiler.ir import load

    path = None
    if isinstance(model, Graph):
        graph = model
    else:
        path = Path(model)
        if not path.exists():
            raise SnncError(f"{path}: no such model file")
        graph = load(path)
    from snnc.models.testsets import load_test_data

    data = load_test_data(graph, samples, steps or 50, path=path)
    x = np.asarray(data.x, dtype=np.float64)
    if steps is not None and x.shape[1] > steps:
        x = x[:, :steps]
    gq, err, xq = None, "", None
    if not quantize_model:
        return Workload(graph, None, "not quantized", x, None, data.source, path)
    try:
        from snnc.compiler.ir.interpret_int import quantize_inputs
        from snnc.compiler.passes.quantize import QuantOptions, quantize

        if quant not in QUANT:
            raise SnncError(f"unknown --quant '{quant}' (expected one of {sorted(QUANT)})")
        gq = quantize(graph, x, QuantOptions(**QUANT[quant]))
        xq = np.asarray(quantize_inputs(gq, x))
    except UnsupportedError as e:
        err = f"quantize pass: {e}"
    return Workload(graph, gq, err, x, xq, data.source, path)


# ------------------------------------------------------------------ the comparison


def compare(model: str | Path | Graph, *, samples: int = 8, steps: int | None = None,
            repeats: int = 3, backends: tuple[str, ...] = BACKENDS,
            precisions: tuple[str, ...] = PRECISIONS, memory: bool = True,
            quant: str = "pow2-16", floor: bool = True) -> dict[str, Any]:
    """Benchmark ``model`` on every backend and precision; returns the JSON-able report."""
    for b in backends:
        if b not in BACKENDS:
            raise SnncError(f"unknown backend '{b}' (expected some of {', '.join(BACKENDS)})")
    for p in precisions:
        if p not in PRECISIONS:
            raise SnncError(f"unknown precision '{p}' (expected float or int)")
    if samples < 1 or repeats < 1:
        raise SnncError("--samples and --repeats must be >= 1")
    wl = workload(model, samples, steps, quant)
    name = wl.graph.name
    progress(f"{name}: {wl.x.shape[0]} samples x {wl.x.shape[1]} steps ({wl.source})")
    inp = wl.graph.inputs[0]
    results: list[Measured] = []
    for prec in precisions:
        g = wl.graph if prec == "float" else wl.graph_q
        xs = wl.x if prec == "float" else wl.xq
        runners: dict[str, Any] = {}
        recs: dict[str, Measured] = {}
        for b in backends:
            rec = Measured(b, prec)
            recs[b] = rec
            results.append(rec)
            if g is None:
                rec.status, rec.reason = "unsupported", wl.quant_error or "no quantized graph"
                continue
            progress(f"{name} [{prec}]: building {b}")
            t0 = time.perf_counter()
            try:
                runners[b] = make_backend(b, g, prec)
            except UnsupportedError as e:
                rec.status, rec.reason = "unsupported", str(e)
                progress(f"{name} [{prec}]: unsupported by {b}: {e}")
            except SnncError as e:
                rec.status, rec.reason = "error", str(e)
                progress(f"{name} [{prec}]: {b} failed: {e}")
            rec.build_s = time.perf_counter() - t0
        if not runners:
            continue
        assert xs is not None
        samples_x = [{inp: xs[s:s + 1]} for s in range(xs.shape[0])]
        # warm-up (first-call allocations, lazy initialization) outside the timings
        for b, r in list(runners.items()):
            try:
                _time_sample(r, samples_x[0], Measured(b, prec))
            except Exception as e:  # noqa: BLE001 - report, don't crash the comparison
                recs[b].status, recs[b].reason = "error", f"{type(e).__name__}: {e}"
                del runners[b]
        order = list(runners)
        total = repeats * len(samples_x)
        for rep in range(repeats):
            for s, xsmp in enumerate(samples_x):
                k = rep * len(samples_x) + s
                if k % max(1, total // 10) == 0:
                    progress(f"{name} [{prec}]: round {k + 1}/{total}")
                rot = order[k % len(order):] + order[:k % len(order)]
                for b in rot:
                    y = _time_sample(runners[b], xsmp, recs[b])
                    if rep == 0:
                        recs[b].outputs[s] = y
        del runners
    if floor:
        progress(f"{name}: call floor of each backend (1-value identity model)")
    floor_us = call_floor(backends) if floor else {}
    ref_out = {p: next((r.outputs for r in results if r.backend == "numpy-reference"
                        and r.precision == p and r.status == "ok"), None) for p in precisions}
    if memory and wl.path is not None:
        for r in results:
            if r.status == "ok":
                progress(f"{name} [{r.precision}]: peak memory of {r.backend}")
                r.memory = probe_memory(wl.path, r.backend, r.precision, samples, steps, quant)
    rep = _report(wl, results, ref_out, samples, repeats, quant)
    rep["call_floor_us"] = floor_us
    return rep


def call_floor(backends: tuple[str, ...], calls: int = 300) -> dict[str, float]:
    """Median execute-call time of each step backend on a 1-value identity model: the
    fixed cost a step pays whatever the model (binding, dispatch, bookkeeping)."""
    from snnc.compiler.ir.nodes import Input, Output

    g = Graph(nodes={"x": Input((1,)), "y": Output((1,))}, edges=[("x", "y")], name="floor")
    out: dict[str, float] = {}
    x = {"x": np.zeros((1, 1))}
    for b in backends:
        if b not in ("snnc-c",) + BASELINES:
            continue
        try:
            r = make_backend(b, g, "float")
            r.reset(1)
            ns = []
            for i in range(calls + 50):
                r.step(x)
                if i >= 50:
                    ns.append(r.last_native_ns)
        except SnncError as e:
            progress(f"call floor: {b} skipped ({e})")
            continue
        out[b] = float(np.median(ns) / 1e3)
    return out


def _report(wl: Workload, results: list[Measured], ref_out: dict[str, Any], samples: int,
            repeats: int, quant: str) -> dict[str, Any]:
    rows = []
    for r in results:
        row: dict[str, Any] = {"backend": r.backend, "precision": r.precision,
                               "status": r.status}
        if r.status != "ok":
            row["reason"] = r.reason
            rows.append(row)
            continue
        st, ss = _stats(r.step_ns), _stats(r.sample_ns)
        row.update({
            "build_s": round(r.build_s, 3),
            "per_step": st, "per_step_from_window": r.per_step_from_window,
            "per_step_native": _stats(r.native_ns),
            "per_sample": ss,
            "throughput_samples_per_s": 1e6 / ss["median_us"] if ss else None,
            "memory": r.memory,
        })
        ref = ref_out.get(r.precision)
        if ref is not None:
            row["agreement"] = _agreement(r.outputs, ref, r.precision == "int")
        rows.append(row)
    ratios = _ratios(rows)
    q = wl.graph_q
    return {
        "model": wl.graph.name, "path": str(wl.path.relative_to(ROOT)) if wl.path and
        wl.path.is_relative_to(ROOT) else (str(wl.path) if wl.path else None),
        "inputs": wl.source, "samples": int(wl.x.shape[0]), "steps": int(wl.x.shape[1]),
        "repeats": repeats, "quantization": quant if q is not None else None,
        "quantization_error": wl.quant_error or None,
        "machine": _machine(), "results": rows, "ratios": ratios,
        "method": ("batch 1, streaming; each backend single-threaded; interleaved rounds. "
                   "'native': the backend's own execute call per step (snnc C step via "
                   "ctypes, onnxruntime run_with_iobinding on preallocated ping-pong state "
                   "buffers, TVM Relax VM call with states kept as TVM tensors, LiteRT "
                   "invoke); 'Python-driven': the whole step as a Python streaming app "
                   "makes it (copy input in, execute, feed states back, copy outputs out). "
                   "snnc-c-loop: the generated C in a native harness, each step timed in C "
                   "(clock_gettime), sample = sum of its steps; snnc C's weight layout as "
                   "its compile pipeline picks it (smaller of dense/CSC in bytes); "
                   "snnc-c-event: the same with CSC (event-driven) on every layer. snnc-c "
                   "is built with the host profile (gcc -O2 -march=native), snnc-c-loop "
                   "with the Linux harness's -O2; the baselines use their "
                   "shipped SIMD kernels. Window-only backends "
                   "(onnxruntime-scan, the NumPy reference): per step = per sample / T. Peak RSS: a fresh "
                   "Python process running only that backend (high-water mark reset after "
                   "loading the model and data; growth = peak minus RSS before the backend "
                   "was loaded)"),
    }


def _ratios(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """snnc C's per-step speed-up over each baseline, and over the fastest one.

    ``native``: the backends' own execute calls (snnc C's step through ctypes, ORT's
    ``run_with_iobinding``, TVM's VM call, LiteRT's ``invoke``); ``python``: the whole
    per-step call a Python streaming application makes (feeding inputs and states,
    reading outputs). ``c_loop``: snnc C's loop inside C (window / T) vs the fastest
    baseline's native step.
    """
    ok = {(r["backend"], r["precision"]): r for r in rows if r["status"] == "ok"}
    out: dict[str, Any] = {}
    for kind, key in (("native", "per_step_native"), ("python", "per_step")):
        best_s: tuple[float, str] | None = None
        best_b: tuple[float, str] | None = None
        per: dict[str, float] = {}
        for prec in PRECISIONS:
            s = ok.get(("snnc-c", prec))
            sv = s[key].get("median_us") if s else None
            if sv and (best_s is None or sv < best_s[0]):
                best_s = (sv, prec)
            for b in BASELINES:
                r = ok.get((b, prec))
                if r is None or not r[key]:
                    continue
                v = r[key]["median_us"]
                if best_b is None or v < best_b[0]:
                    best_b = (v, f"{b} ({prec})")
                if sv:
                    per[f"{b}/{prec}"] = v / sv
        rec: dict[str, Any] = {"per_baseline": per}
        if best_s and best_b:
            rec.update({"fastest_baseline": best_b[1], "fastest_baseline_us": best_b[0],
                        "snnc_us": best_s[0], "snnc_precision": best_s[1],
                        "speedup_vs_fastest": best_b[0] / best_s[0]})
        out[kind] = rec
    fb = out["native"].get("fastest_baseline_us") or out["python"].get("fastest_baseline_us")
    if fb is None:  # no snnc-c row: take the fastest baseline's execute call directly
        cands = [(r["per_step_native"]["median_us"], f"{b} ({p})") for (b, p), r in ok.items()
                 if b in BASELINES and r.get("per_step_native")]
        if cands:
            fb, name = min(cands)
            out["native"].setdefault("fastest_baseline", name)
            out["native"]["fastest_baseline_us"] = fb
    for key, backend in (("c_loop", "snnc-c-loop"), ("c_event", "snnc-c-event")):
        loop = [(ok[(backend, p)]["per_step"]["median_us"], p) for p in PRECISIONS
                if (backend, p) in ok]
        if loop and fb:
            v, p = min(loop)
            out[key] = {"snnc_us": v, "precision": p, "speedup_vs_fastest": fb / v}
    return out


# ------------------------------------------------------------------ peak memory


def probe_memory(path: Path, backend: str, precision: str, samples: int,
                 steps: int | None, quant: str) -> dict[str, Any]:
    """Peak RSS of a fresh process that loads only ``backend`` and runs the samples."""
    cmd = [sys.executable, "-m", "snnc.bench.compare", "--probe", backend, "--precision", precision,
           "--samples", str(samples), "--quant", quant, str(path)]
    if steps is not None:
        cmd += ["--steps", str(steps)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": "probe timed out"}
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["probe failed"])[-1]}
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"error": "probe printed no result"}


def _probe(path: str, backend: str, precision: str, samples: int, steps: int | None,
           quant: str) -> dict[str, Any]:
    wl = workload(path, samples, steps, quant, quantize_model=(precision == "int"))
    before = _vm()["VmRSS"]
    try:  # reset the high-water mark so the peak is this backend's (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    g = wl.graph if precision == "float" else wl.graph_q
    xs = wl.x if precision == "float" else wl.xq
    if g is None or xs is None:
        raise UnsupportedError(wl.quant_error)
    r = make_backend(backend, g, precision)
    inp = g.inputs[0]
    for s in range(xs.shape[0]):
        _time_sample(r, {inp: xs[s:s + 1]}, Measured(backend, precision))
    peak = _vm()["VmHWM"]
    return {"peak_rss_mib": round(peak / 1024, 1),
            "growth_mib": round((peak - before) / 1024, 1)}


def _vm() -> dict[str, int]:
    """VmRSS and VmHWM (kB) of this process. ru_maxrss is useless here: a child started
    by fork+exec inherits its parent's high-water mark."""
    out = {"VmRSS": 0, "VmHWM": 0}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            k, _, v = line.partition(":")
            if k in out:
                out[k] = int(v.split()[0])
    except OSError:
        out["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


# ------------------------------------------------------------------ reports


def _short(reason: str, limit: int = 300) -> str:
    """A table-safe one-line reason: compiler errors keep their 'error:' line."""
    lines = [ln.strip() for ln in reason.splitlines() if ln.strip()]
    if not lines:
        return ""
    text = lines[0]
    err = next((ln for ln in lines[1:] if "error:" in ln), None)
    if err:
        text = f"{text.split(' (build dir')[0]}: {err[err.index('error:'):]}"
    text = text.replace("|", "/")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _fmt_us(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def to_markdown(rep: dict[str, Any]) -> str:
    """The report as a Markdown section (one table row per backend x precision)."""
    m = rep["machine"]
    lines = [
        f"## {rep['model']}", "",
        f"Inputs: {rep['inputs']}; {rep['samples']} samples x {rep['steps']} steps, "
        f"{rep['repeats']} interleaved repeats. Integer model: quantize pass "
        f"({rep['quantization'] or 'n/a'}).", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, shared with other jobs (load average "
        f"{', '.join(f'{x:.1f}' for x in (m.get('load_average') or []))}): absolute times "
        "are noise, compare ratios. Python {0}.".format(m["python"]), "",
        "| backend | precision | step, native median / p99 (us) | step, Python-driven median "
        "/ p99 (us) | sample median (ms) | throughput (samples/s) | peak RSS / growth (MiB) "
        "| agreement with reference | build (s) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rep["results"]:
        if r["status"] != "ok":
            what = "unsupported by" if r["status"] == "unsupported" else "failed on"
            lines.append(f"| {r['backend']} | {r['precision']} | {what} {r['backend']}: "
                         f"{_short(r.get('reason', ''))} | | | | | | |")
            continue
        st, nt, ss = r["per_step"], r.get("per_step_native") or {}, r["per_sample"]
        if r["per_step_from_window"]:
            native = f"{_fmt_us(st['median_us'])} (window / T)"
            pyd = "-"
        elif r["backend"] in ("snnc-c-loop", "snnc-c-event"):
            native = f"{_fmt_us(nt.get('median_us'))} / {_fmt_us(nt.get('p99_us'))} (C timer)"
            pyd = "-"
        else:
            native = f"{_fmt_us(nt.get('median_us'))} / {_fmt_us(nt.get('p99_us'))}"
            pyd = f"{_fmt_us(st['median_us'])} / {_fmt_us(st['p99_us'])}"
        mem = r.get("memory") or {}
        memtxt = (f"{mem['peak_rss_mib']} / {mem['growth_mib']}" if "peak_rss_mib" in mem
                  else mem.get("error", "-"))
        ag = r.get("agreement")
        if ag is None:
            agree = "-"
        elif "bit_exact" in ag:
            agree = "bit-exact" if ag["bit_exact"] else (
                f"NOT bit-exact (max diff {ag['max_abs_diff']:g})")
        else:
            agree = (f"max diff {ag['max_abs_diff']:.2g}, predictions "
                     f"{100 * (ag['prediction_agreement'] or 0):.0f}%")
        lines.append(
            f"| {r['backend']} | {r['precision']} | {native} | {pyd} | "
            f"{ss['median_us'] / 1e3:.3f} | {r['throughput_samples_per_s']:.0f} | {memtxt} | "
            f"{agree} | {r['build_s']:.2f} |")
    rt = rep["ratios"]
    lines.append("")
    nat, py, loop = rt.get("native", {}), rt.get("python", {}), rt.get("c_loop")
    if loop:
        lines.append(
            f"**snnc C per step (stepping in C, timed in C; {loop['precision']}): "
            f"{_fmt_us(loop['snnc_us'])} us vs the fastest baseline, "
            f"{nat['fastest_baseline']}: {_fmt_us(nat['fastest_baseline_us'])} us per "
            f"execute call = {loop['speedup_vs_fastest']:.1f}x.** (A baseline's call, made "
            "from Python, includes its binding's fixed cost; see the floor below.)")
    ev = rt.get("c_event")
    if ev:
        lines.append(
            f"With event-driven synapses everywhere (snnc-c-event: CSC storage on every "
            f"layer, {ev['precision']}): {_fmt_us(ev['snnc_us'])} us = "
            f"{ev['speedup_vs_fastest']:.1f}x.")
    if "speedup_vs_fastest" in nat:
        lines.append(
            f"Same driver for all (one foreign call per step from Python): snnc C through "
            f"ctypes ({nat['snnc_precision']}) {_fmt_us(nat['snnc_us'])} us vs "
            f"{nat['fastest_baseline']} {_fmt_us(nat['fastest_baseline_us'])} us = "
            f"{nat['speedup_vs_fastest']:.1f}x.")
        if "speedup_vs_fastest" in py:
            lines.append(f"Whole Python-driven steps (inputs, states and outputs moved "
                         f"through Python): snnc C {_fmt_us(py['snnc_us'])} us vs "
                         f"{py['fastest_baseline']} {_fmt_us(py['fastest_baseline_us'])} us "
                         f"= {py['speedup_vs_fastest']:.1f}x.")
        per = ", ".join(f"{k} {v:.1f}x" for k, v in nat["per_baseline"].items())
        lines.append(f"Per baseline at the same precision (ctypes step vs execute call): "
                     f"{per}.")
    if not loop and "speedup_vs_fastest" not in nat:
        lines.append("No snnc C vs baseline ratio: snnc C or every baseline was unavailable.")
    floor = rep.get("call_floor_us")
    if floor:
        lines.append("Call floor (median execute call of a 1-value identity model, i.e. the "
                     "fixed cost per step): " + ", ".join(
                         f"{k} {_fmt_us(v)} us" for k, v in floor.items()) + ".")
    lines += ["", f"Method: {rep['method']}.", ""]
    return "\n".join(lines)


def write_report(rep: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``compare_<model>.json`` and ``.md`` atomically into ``out_dir``."""
    from snnc.compiler.ir.serialize import atomic_write

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"compare_{rep['model']}"
    jp, mp = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    atomic_write(jp, lambda f: f.write(json.dumps(rep, indent=2) + "\n"), mode="w")
    atomic_write(mp, lambda f: f.write(to_markdown(rep)), mode="w")
    return jp, mp


def zoo_models() -> list[Path]:
    """Every zoo model (``models/**/*.snn`` outside ``models/examples``)."""
    return sorted(p for p in (ROOT / "models").rglob("*.snn") if "examples" not in p.parts)


def run_all(out_dir: Path = RESULTS, **kw: Any) -> list[dict[str, Any]]:
    """Benchmark every zoo model; write per-model reports and ``compare_summary.md``."""
    from snnc.compiler.ir.serialize import atomic_write

    reps = []
    models = zoo_models()
    if not models:
        raise SnncError("no zoo models found under models/")
    for i, p in enumerate(models):
        progress(f"model {i + 1}/{len(models)}: {p.relative_to(ROOT)}")
        rep = compare(p, **kw)
        write_report(rep, out_dir)
        reps.append(rep)
    text = ["# Side-by-side benchmark results", "",
            "Regenerate with `python -m snnc.bench.compare --all` (or `snnc bench MODEL.snn "
            "--compare` for one model). Each model's table is in its own file.", "",
            "| model | snnc C stepping in C vs fastest baseline (per step) | same, event-driven "
            "synapses | snnc C via ctypes vs fastest baseline | fastest baseline (execute call) "
            "|", "| --- | --- | --- | --- | --- |"]
    for r in reps:
        nat = r["ratios"].get("native", {})
        loop = r["ratios"].get("c_loop", {})
        ev = r["ratios"].get("c_event", {})
        text.append(f"| [{r['model']}](compare_{r['model']}.md) | "
                    f"{loop.get('speedup_vs_fastest', float('nan')):.1f}x | "
                    f"{ev.get('speedup_vs_fastest', float('nan')):.1f}x | "
                    f"{nat.get('speedup_vs_fastest', float('nan')):.1f}x | "
                    f"{nat.get('fastest_baseline', 'n/a')} |")
    text.append("")
    body = "\n".join(text) + "\n" + "\n".join(to_markdown(r) for r in reps)
    atomic_write(out_dir / "compare_summary.md", lambda f: f.write(body), mode="w")
    return reps


# ------------------------------------------------------------------ command line


def run_cli(model: str, *, samples: int = 8, repeats: int = 3, backends: str | None = None,
            json_path: str | None = None, md_path: str | None = None, fmt: str = "md",
            steps: int | None = None, memory: bool = True) -> str:
    """``snnc bench MODEL.snn --compare``: run the comparison, write the requested files,
    return the text for stdout (Markdown or JSON)."""
    from snnc.compiler.ir.serialize import atomic_write

    if not str(model).endswith(".snn"):
        raise SnncError(f"{model}: --compare takes a model file (.snn)")
    rep = compare(model, samples=samples, repeats=repeats, steps=steps, memory=memory,
                  backends=_split(backends) if backends else BACKENDS)
    md, js = to_markdown(rep), json.dumps(rep, indent=2) + "\n"
    if json_path:
        atomic_write(json_path, lambda f: f.write(js), mode="w")
    if md_path:
        atomic_write(md_path, lambda f: f.write(md), mode="w")
    return js if fmt == "json" else md


def _split(s: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in s.split(",") if x.strip())


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m snnc.bench.compare", description=__doc__.split(
        "\n\n")[0])
    ap.add_argument("models", nargs="*", help=".snn models (default with --all: the zoo)")
    ap.add_argument("--all", action="store_true", help="every zoo model -> bench/results/")
    ap.add_argument("--legacy", action="store_true",
                    help="the older side-by-side table (per-step native/Python-driven rows, "
                         "peak RSS) instead of the fair modes (bench/compare_fair.py)")
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--steps", type=int, default=None, help="cut windows to this many steps")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--backends", type=_split, default=BACKENDS, help="with --legacy")
    ap.add_argument("--engines", type=_split, default=None,
                    help="fair modes: some of snnc-c, snnc-c-event, onnxruntime, litert, tvm")
    ap.add_argument("--precisions", type=_split, default=PRECISIONS)
    ap.add_argument("--quant", default="pow2-16", choices=sorted(QUANT))
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-RSS probes")
    ap.add_argument("-o", "--out-dir", type=Path, default=None,
                    help="write <model>.json/.md here (default with --all: bench/results)")
    ap.add_argument("--format", choices=["md", "json"], default="md")
    ap.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="float", help=argparse.SUPPRESS)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    a = ap.parse_args(argv)
    try:
        if a.probe:
            print(json.dumps(_probe(a.models[0], a.probe, a.precision, a.samples, a.steps,
                                    a.quant)))
            return 0
        kw = dict(samples=a.samples, steps=a.steps, repeats=a.repeats, backends=a.backends,
                  precisions=a.precisions, memory=not a.no_memory, quant=a.quant)
        if not a.legacy:  # the fair modes: whole sequence, same driver, floor-corrected
            from snnc.bench import compare_fair as fair

            fkw = dict(samples=a.samples, steps=a.steps, repeats=a.repeats, quant=a.quant,
                       precisions=a.precisions)
            if a.engines:
                fkw["engines"] = a.engines
            if a.all or a.out_dir:
                fair.run_all(a.out_dir or RESULTS, [Path(m) for m in a.models] or None, **fkw)
                return 0
            if not a.models:
                ap.error("give a MODEL.snn or --all")
            for m in a.models:
                print(fair.to_markdown(fair.fair_compare(m, **fkw)))
            return 0
        if a.all:
            run_all(a.out_dir or RESULTS, **kw)
            return 0
        if not a.models:
            ap.error("give a MODEL.snn or --all")
        for m in a.models:
            rep = compare(m, **kw)
            if a.out_dir:
                write_report(rep, a.out_dir)
            print(json.dumps(rep, indent=2) if a.format == "json" else to_markdown(rep))
    except SnncError as e:
        print(f"snnc: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["compare", "to_markdown", "write_report", "run_all"]
