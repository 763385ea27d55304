"""The fair host comparison: snnc C vs onnxruntime, LiteRT and TVM, like for like.

Three modes, every engine pinned to one thread, the same inputs, interleaved rounds:

- **whole**: the whole sequence in native code, one call per sample. snnc C:
  :meth:`targets.host.CompiledModel.run` (the generated ``snnc_<model>_run`` loops the T
  steps inside C). onnxruntime: the ONNX ``Scan`` window model
  (:func:`compiler.codegen.onnx.export_window`, the step body of the step-model emitter
  inside one ``Scan``) in one ``session.run``. LiteRT and TVM cannot (reason recorded):
  our TFLite exporter translates the step graph only (TFLite's ``WHILE`` is not mapped)
  and TVM's Relax ONNX frontend has no ``Scan``/``Loop``.
- **step**: the same Python driver for every engine (:func:`drive_steps`: one loop over
  the time steps, one engine call per step, the outputs copied out the same way); each
  engine's adapter does the least its Python API allows (snnc: one ctypes call with the
  state in C; onnxruntime: ``run_with_iobinding`` over ping-pong state buffers; LiteRT:
  ``set_tensor``/``invoke``/``get_tensor`` with states copied back; TVM: the Relax VM call
  with states kept as TVM tensors).
- **corrected**: each mode minus the same engine's time on an *identity model* (the
  model's input shape passed straight to its output) run the same way: what remains is
  the work of the network (including each engine's own per-node dispatch and state
  handling, which is part of running a stateful network), not the fixed cost of a call.

Precision classes are compared within themselves: float (float32 everywhere) is the
headline; integer rows (snnc's int8/16/32 contract vs the baselines' int64 exports that
emulate it) are reported but are not headline figures.

``python -m snnc.bench.compare --all`` runs this on every zoo model and writes
``bench/results/compare_<model>.{json,md}``, ``compare_summary.{md,json,png}``.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir.graph import Graph

ENGINES = ("snnc-c", "snnc-c-event", "onnxruntime", "litert", "tvm")
BASELINES = ("onnxruntime", "litert", "tvm")
MODES = ("whole", "step")
WHOLE_UNSUPPORTED = {
    "litert": "no whole-sequence call: the TFLite exporter translates the step graph only "
              "(TFLite's WHILE control flow is not mapped), so LiteRT is stepped from Python",
    "tvm": "no whole-sequence call: TVM's Relax ONNX frontend has no Scan/Loop, so TVM is "
           "stepped from Python",
}
INT_NOTE = ("integer baselines run snnc's integer contract emulated in int64 ONNX/TFLite "
            "ops: reported, not a headline figure")


def progress(msg: str) -> None:
    """One progress line on stderr."""
    import sys

    print(f"[fair] {msg}", file=sys.stderr, flush=True)


def pin_one_thread() -> None:
    """One thread for every engine: TVM's and OpenMP's pools read these at import time
    (onnxruntime and LiteRT get ``intra_op_num_threads=1`` / ``num_threads=1``)."""
    for k in ("TVM_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[k] = "1"


# ------------------------------------------------------------------ engines


@dataclass
class Engine:
    """One engine on one graph: ``reset()``/``step(x_t)`` for the per-step driver and,
    where the engine has one, ``whole(x[1, T, ...])`` for one call per sample.

    ``step`` returns a list of arrays that may be views of the engine's buffers (the
    driver copies them); ``whole`` returns the engine's outputs however it gives them.
    """

    name: str
    reset: Callable[[], None]
    step: Callable[[np.ndarray], list[np.ndarray]]
    whole: Callable[[np.ndarray], Any] | None
    whole_reason: str = ""
    build_s: float = 0.0
    keep: list[Any] = field(default_factory=list)  # objects that must outlive the calls


def _snnc_engine(name: str, graph: Graph) -> Engine:
    from snnc.compiler.passes.storage import choose_storage
    from snnc.targets.registry import write_build
    from snnc.targets.run import open_build

    # Weight layout as `snnc compile` picks it (smaller of dense/CSC in bytes); the
    # event variant stores every layer CSC (event-driven: only spiking inputs' columns).
    g = choose_storage(graph, 1.0 if name == "snnc-c-event" else None)
    if len(g.inputs) != 1:
        raise UnsupportedError("the host build takes exactly one input node")
    tmp = tempfile.TemporaryDirectory(prefix="snnc-fair-")
    model = open_build(write_build("host", g, Path(tmp.name)), device="local")
    stream = model.stream()  # type: ignore[attr-defined]
    n_in = model.iface.n_inputs  # type: ignore[attr-defined]

    def step(x: np.ndarray) -> list[np.ndarray]:
        return [stream.step(x.reshape(n_in))]

    return Engine(name, stream.reset, step, model.run, keep=[tmp, model, stream])


def _ort_engine(graph: Graph, dtype: str) -> Engine:
    import onnxruntime as ort

    from snnc.bench.baselines.runners import OnnxRuntimeRunner
    from snnc.compiler.codegen.onnx import export_step, export_window

    r = OnnxRuntimeRunner(export_step(graph, dtype=dtype, batch=1), threads=1)
    x_ov = r.x_ov[r.spec.inputs[graph.inputs[0]]]
    # Output nodes in graph order (the order of the golden model's concatenation)
    outs = [r.out_ov[r.spec.outputs[n]] for n in graph.outputs]
    sess, binds = r.sess, r.bindings
    state = {"k": 0}

    def reset() -> None:
        r.reset(1)
        state["k"] = 0

    def step(x: np.ndarray) -> list[np.ndarray]:
        x_ov.update_inplace(x[None])
        k = state["k"]
        sess.run_with_iobinding(binds[k])
        state["k"] = k ^ 1
        return [o.numpy() for o in outs]

    win = export_window(graph, dtype=dtype, batch=1)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    try:
        wsess = ort.InferenceSession(win.model.SerializeToString(), so,
                                     providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - ORT raises its own exception types
        raise UnsupportedError(f"onnxruntime rejected the Scan model: {e}") from e
    feed = win.initial_state(1)
    in_name = win.inputs[graph.inputs[0]]
    names = [win.outputs[n] for n in graph.outputs]
    in_dt = np.dtype(win.input_dtype)

    def whole(x: np.ndarray) -> Any:
        feed[in_name] = x.astype(in_dt, copy=False)
        return wsess.run(names, feed)

    return Engine("onnxruntime", reset, step, whole, keep=[r, wsess])


def _litert_engine(graph: Graph, dtype: str) -> Engine:
    from snnc.bench.baselines.runners import LiteRTRunner
    from snnc.compiler.codegen.tflite import export_tflite

    r = LiteRTRunner(export_tflite(graph, dtype=dtype), threads=1)
    it = r.it
    xi = r.in_idx[r.spec.inputs[graph.inputs[0]]]
    oi = [r.out_idx[r.spec.outputs[n]] for n in graph.outputs]
    st = [(r.in_idx[s.name], r.out_idx[s.out_name]) for s in r.spec.states]
    set_t, get_t, invoke = it.set_tensor, it.get_tensor, it.invoke

    def step(x: np.ndarray) -> list[np.ndarray]:
        set_t(xi, x[None])
        invoke()
        for i, o in st:
            set_t(i, get_t(o))
        return [get_t(o) for o in oi]

    return Engine("litert", lambda: r.reset(1), step, None, WHOLE_UNSUPPORTED["litert"],
                  keep=[r])


def _tvm_engine(graph: Graph, dtype: str) -> Engine:
    from snnc.bench.baselines.runners import TvmRunner
    from snnc.compiler.codegen.onnx import export_step

    r = TvmRunner(export_step(graph, dtype=dtype, batch=1))
    fn, tensor = r.built.fn, r.built.tensor
    xp = r.pos[r.spec.inputs[graph.inputs[0]]]
    op = [r.opos[r.spec.outputs[n]] for n in graph.outputs]
    sp = [(r.pos[s.name], r.opos[s.out_name]) for s in r.spec.states]
    single = len(r.opos) == 1

    def step(x: np.ndarray) -> list[np.ndarray]:
        args = r.args
        args[xp] = tensor(x[None])
        res = fn(*args)
        if single:
            res = [res]
        for i, o in sp:
            args[i] = res[o]
        return [res[o].numpy() for o in op]

    return Engine("tvm", lambda: r.reset(1), step, None, WHOLE_UNSUPPORTED["tvm"], keep=[r])


def make_engine(name: str, graph: Graph, precision: str) -> Engine:
    """Build engine ``name`` on ``graph`` ('float': float32 exports; 'int': quantized)."""
    dtype = "int" if precision == "int" else "float32"
    t0 = time.perf_counter()
    if name in ("snnc-c", "snnc-c-event"):
        e = _snnc_engine(name, graph)
    elif name == "onnxruntime":
        e = _ort_engine(graph, dtype)
    elif name == "litert":
        e = _litert_engine(graph, dtype)
    elif name == "tvm":
        e = _tvm_engine(graph, dtype)
    else:
        raise SnncError(f"unknown engine '{name}' (expected some of {', '.join(ENGINES)})")
    e.build_s = time.perf_counter() - t0
    return e


def identity_graph(graph: Graph) -> Graph:
    """The floor model: the model's input shape passed straight to one output."""
    from snnc.compiler.ir.nodes import Input, Output

    shape = tuple(graph.nodes[graph.inputs[0]].shape_out())
    return Graph(nodes={"x": Input(shape), "y": Output(shape)}, edges=[("x", "y")],
                 name=f"{graph.name}_floor")


# ------------------------------------------------------------------ the driver


def drive_steps(eng: Engine, x: np.ndarray) -> list[list[np.ndarray]]:
    """The one per-step driver every engine goes through: reset, then for each time step
    one engine call on ``x[t]`` and a copy of its outputs. ``x`` is ``[T, ...]``."""
    eng.reset()
    out = []
    for xt in x:
        out.append([a.copy() for a in eng.step(xt)])
    return out


def _flat_step_outputs(out: list[list[np.ndarray]]) -> np.ndarray:
    """Driver outputs -> ``[T, N_OUTPUTS]`` (Output nodes concatenated in graph order)."""
    return np.stack([np.concatenate([a.reshape(-1) for a in o]) for o in out])


def _flat_whole_outputs(name: str, y: Any) -> np.ndarray:
    """A whole call's outputs -> ``[T, N_OUTPUTS]``."""
    if name.startswith("snnc"):
        return np.asarray(y)[0]
    return np.concatenate([np.asarray(a)[0].reshape(np.asarray(a).shape[1], -1) for a in y],
                          axis=1)


def _agreement(got: np.ndarray, want: np.ndarray, integer: bool) -> dict[str, Any]:
    d = np.abs(got.astype(np.float64) - want.astype(np.float64))
    rep: dict[str, Any] = {"max_abs_diff": float(d.max(initial=0.0))}
    if integer:
        rep["bit_exact"] = bool((d == 0).all())
    return rep


# ------------------------------------------------------------------ one model


@dataclass
class _Rec:
    engine: str
    precision: str
    status: str = "ok"
    reason: str = ""
    build_s: float = 0.0
    times: dict[str, list[int]] = field(default_factory=lambda: {
        "whole": [], "step": [], "floor_whole": [], "floor_step": []})
    agree: dict[str, dict[str, Any]] = field(default_factory=dict)


def _median_us(ns: list[int], div: int = 1) -> float | None:
    return float(np.median(np.asarray(ns, np.float64)) / 1e3 / div) if ns else None


def fair_compare(model: str | Path | Graph, *, samples: int = 8, steps: int | None = None,
                 repeats: int = 5, engines: tuple[str, ...] = ENGINES,
                 precisions: tuple[str, ...] = ("float", "int"),
                 int_engines: tuple[str, ...] = ("snnc-c", "onnxruntime", "litert"),
                 quant: str = "pow2-16") -> dict[str, Any]:
    """Run the three fair modes on ``model``; returns the JSON-able report."""
    from snnc.bench.compare import _machine, workload
    from snnc.targets.run import golden

    pin_one_thread()
    for e in engines:
        if e not in ENGINES:
            raise SnncError(f"unknown engine '{e}' (expected some of {', '.join(ENGINES)})")
    if samples < 1 or repeats < 1:
        raise SnncError("--samples and --repeats must be >= 1")
    load_start = list(os.getloadavg())
    wl = workload(model, samples, steps, quant, quantize_model="int" in precisions)
    name = wl.graph.name
    tsteps = int(wl.x.shape[1])
    progress(f"{name}: {wl.x.shape[0]} samples x {tsteps} steps ({wl.source}), "
             f"load {load_start[0]:.1f}")
    recs: list[_Rec] = []
    for prec in precisions:
        g = wl.graph if prec == "float" else wl.graph_q
        xs = wl.x if prec == "float" else wl.xq
        names = engines if prec == "float" else tuple(e for e in engines if e in int_engines)
        if g is None or xs is None:
            recs += [_Rec(e, prec, "unsupported", wl.quant_error) for e in names]
            continue
        shape = tuple(g.nodes[g.inputs[0]].shape_out())
        floor_g = identity_graph(g)
        if prec == "int":
            from snnc.compiler.passes.quantize import QuantOptions, quantize

            floor_g = quantize(floor_g, wl.x, QuantOptions(pow2=True, state_bits=16))
        live: dict[str, tuple[Engine, Engine, _Rec]] = {}
        for e in names:
            rec = _Rec(e, prec)
            recs.append(rec)
            progress(f"{name} [{prec}]: building {e}")
            try:
                eng = make_engine(e, g, prec)
                flo = make_engine(e, floor_g, prec)
            except UnsupportedError as err:
                rec.status, rec.reason = "unsupported", str(err)
                continue
            except SnncError as err:
                rec.status, rec.reason = "error", str(err)
                continue
            rec.build_s = eng.build_s
            live[e] = (eng, flo, rec)
        if not live:
            continue
        in_dt = np.float32 if prec == "float" else np.int32
        xsm = [np.ascontiguousarray(xs[s].reshape((tsteps,) + shape), dtype=in_dt)
               for s in range(xs.shape[0])]
        ref = golden(g).run(xs)  # [S, T, N_OUTPUTS]
        # correctness first (and warm-up): every mode's outputs vs the golden model
        for e, (eng, flo, rec) in list(live.items()):
            try:
                for s, x in enumerate(xsm):
                    got = _flat_step_outputs(drive_steps(eng, x))
                    a = _agreement(got, ref[s], prec == "int")
                    rec.agree["step"] = _worse(rec.agree.get("step"), a)
                    if eng.whole is not None:
                        got = _flat_whole_outputs(e, eng.whole(x[None]))
                        a = _agreement(got, ref[s], prec == "int")
                        rec.agree["whole"] = _worse(rec.agree.get("whole"), a)
                drive_steps(flo, xsm[0])
                if flo.whole is not None:
                    flo.whole(xsm[0][None])
            except Exception as err:  # noqa: BLE001 - report, don't crash the comparison
                rec.status, rec.reason = "error", f"{type(err).__name__}: {err}"
                del live[e]
        order = list(live)
        clock = time.perf_counter_ns
        total = repeats * len(xsm)
        for k in range(total):
            if k % max(1, total // 4) == 0:
                progress(f"{name} [{prec}]: round {k + 1}/{total}")
            x = xsm[k % len(xsm)]
            xw = x[None]
            for e in order[k % len(order):] + order[:k % len(order)]:
                eng, flo, rec = live[e]
                for tag, en in (("", eng), ("floor_", flo)):
                    t0 = clock()
                    drive_steps(en, x)
                    rec.times[tag + "step"].append(clock() - t0)
                    if en.whole is not None:
                        t0 = clock()
                        en.whole(xw)
                        rec.times[tag + "whole"].append(clock() - t0)
        live.clear()
    load_end = list(os.getloadavg())
    progress(f"{name}: done, load {load_end[0]:.1f}")
    return _report(wl, recs, samples, repeats, tsteps, quant, load_start, load_end, _machine())


def _worse(a: dict[str, Any] | None, b: dict[str, Any]) -> dict[str, Any]:
    if a is None:
        return b
    out = {"max_abs_diff": max(a["max_abs_diff"], b["max_abs_diff"])}
    if "bit_exact" in a:
        out["bit_exact"] = a["bit_exact"] and b["bit_exact"]
    return out


def _report(wl: Any, recs: list[_Rec], samples: int, repeats: int, tsteps: int, quant: str,
            load_start: list[float], load_end: list[float], machine: dict[str, Any]
            ) -> dict[str, Any]:
    rows = []
    for r in recs:
        row: dict[str, Any] = {"engine": r.engine, "precision": r.precision,
                               "status": r.status,
                               "headline": r.precision == "float"}
        if r.status != "ok":
            row["reason"] = r.reason
            rows.append(row)
            continue
        tm = r.times
        step = _median_us(tm["step"], tsteps)
        fstep = _median_us(tm["floor_step"], tsteps)
        row["build_s"] = round(r.build_s, 3)
        row["step"] = {"raw_us": step, "floor_us": fstep, "corrected_us": step - fstep,
                       "n": len(tm["step"])}
        if tm["whole"]:
            w, fw = _median_us(tm["whole"]), _median_us(tm["floor_whole"])
            row["whole"] = {"raw_us": w, "floor_us": fw, "corrected_us": w - fw,
                            "per_step_us": w / tsteps, "n": len(tm["whole"])}
        else:
            row["whole"] = {"unsupported": WHOLE_UNSUPPORTED.get(r.engine, "no whole call")}
        row["agreement"] = r.agree
        if r.precision == "int" and r.engine in BASELINES:
            row["note"] = INT_NOTE
        rows.append(row)
    return {
        "model": wl.graph.name,
        "inputs": wl.source, "samples": int(wl.x.shape[0]), "steps": tsteps,
        "repeats": repeats, "quantization": quant if wl.graph_q is not None else None,
        "threads": 1, "load_average_start": load_start, "load_average_end": load_end,
        "machine": machine, "results": rows, "ratios": ratios(rows, tsteps),
        "method": METHOD,
    }


METHOD = (
    "batch 1; every engine pinned to 1 thread (onnxruntime intra/inter_op_num_threads=1, "
    "LiteRT num_threads=1, TVM_NUM_THREADS=OMP_NUM_THREADS=1; snnc C is single-threaded); "
    "rounds interleaved (each round runs every engine on the same sample, in rotating "
    "order); medians over samples x repeats. whole: one call per sample for the whole "
    "sequence (snnc CompiledModel.run = snnc_<model>_run looping in C; onnxruntime "
    "session.run on the Scan window model), reported per sample; step: the same Python "
    "loop for every engine, one engine call per step, outputs copied out, per step = "
    "sample / T; corrected: minus the same engine's median on an identity model (the "
    "model's input shape passed to its output) run the same way. snnc C: the host "
    "profile, gcc -O2 -march=native -ffp-contract=off (this CPU's vector unit, which the "
    "baselines' kernels also pick at run time; no fused multiply-add); baselines: their "
    "shipped kernels (MLAS, XNNPACK, TVM llvm)")


def ratios(rows: list[dict[str, Any]], tsteps: int) -> dict[str, Any]:
    """Speed-up of snnc C (its fastest build) over the fastest baseline, per precision
    and mode: ``speedup = baseline time / snnc time`` (> 1: snnc faster).

    ``whole``: one call per sample, against the baselines that have one (onnxruntime's
    Scan); ``whole_any``: against the fastest way any baseline runs the sequence (its
    whole call, else its per-step loop x T); ``step``: the same Python driver;
    ``*_corrected``: the same with each engine's identity-model floor subtracted.
    """
    out: dict[str, Any] = {}
    for prec in ("float", "int"):
        ok = [r for r in rows if r["status"] == "ok" and r["precision"] == prec]
        snnc = [r for r in ok if r["engine"].startswith("snnc")]
        base = [r for r in ok if r["engine"] in BASELINES]
        if not snnc or not base:
            continue
        rec: dict[str, Any] = {}
        for mode, key in (("whole", "raw_us"), ("whole_corrected", "corrected_us"),
                          ("step", "raw_us"), ("step_corrected", "corrected_us")):
            m = mode.split("_")[0]
            s = [(r[m][key], r["engine"]) for r in snnc if key in r[m]]
            b = [(r[m][key], r["engine"]) for r in base if key in r[m]]
            rec[mode] = _ratio(s, b)
        for mode, key in (("whole_any", "raw_us"), ("whole_any_corrected", "corrected_us")):
            s = [(r["whole"][key], r["engine"]) for r in snnc if key in r["whole"]]
            b = [(r["whole"][key], r["engine"]) if key in r["whole"] else
                 (r["step"][key] * tsteps, f"{r['engine']} (step x T)") for r in base]
            rec[mode] = _ratio(s, b)
        out[prec] = rec
    return out


def _ratio(s: list[tuple[float, str]], b: list[tuple[float, str]]) -> dict[str, Any]:
    if not s or not b:
        return {}
    sv, se = min(s)
    bv, be = min(b)
    rec: dict[str, Any] = {"snnc_us": sv, "snnc": se, "fastest_baseline_us": bv,
                           "fastest_baseline": be}
    if sv > 0 and bv > 0:
        rec["speedup"] = bv / sv
    else:  # a corrected time at or below the floor's noise: no meaningful ratio
        rec["speedup"] = None
    return rec


# ------------------------------------------------------------------ reports


def _us(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def _x(r: dict[str, Any]) -> str:
    sp = r.get("speedup")
    return "-" if sp is None else f"{sp:.1f}x"


def to_markdown(rep: dict[str, Any]) -> str:
    """One model's report as Markdown: a table per precision, then the ratios."""
    ls, le = rep["load_average_start"], rep["load_average_end"]
    lines = [
        f"## {rep['model']} (fair host comparison)", "",
        f"Inputs: {rep['inputs']}; {rep['samples']} samples x {rep['steps']} steps, "
        f"{rep['repeats']} interleaved repeats, 1 thread per engine. Machine: "
        f"{rep['machine']['cpu']}, {rep['machine']['cores']} cores, shared (load average "
        f"1/5/15 min at start {', '.join(f'{v:.1f}' for v in ls)}, at end "
        f"{', '.join(f'{v:.1f}' for v in le)}): compare ratios, not absolute times.", "",
        "| engine | precision | whole sequence, one call: raw / floor / corrected (us per "
        "sample) | per step, same Python driver: raw / floor / corrected (us) | agreement "
        "with the golden model | build (s) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rep["results"]:
        if r["status"] != "ok":
            lines.append(f"| {r['engine']} | {r['precision']} | {r['status']}: "
                         f"{r.get('reason', '').splitlines()[0][:200] if r.get('reason') else ''}"
                         " | | | |")
            continue
        w, s = r["whole"], r["step"]
        wtxt = (f"{_us(w['raw_us'])} / {_us(w['floor_us'])} / **{_us(w['corrected_us'])}**"
                if "raw_us" in w else f"n/a ({w['unsupported'].split(':')[0]})")
        stxt = f"{_us(s['raw_us'])} / {_us(s['floor_us'])} / **{_us(s['corrected_us'])}**"
        ag = []
        for mode, a in r["agreement"].items():
            if "bit_exact" in a:
                ag.append(f"{mode}: " + ("bit-exact" if a["bit_exact"] else
                                         f"NOT bit-exact (max diff {a['max_abs_diff']:g})"))
            else:
                ag.append(f"{mode}: max diff {a['max_abs_diff']:.2g}")
        prec = r["precision"] + ("" if r["headline"] or r["engine"].startswith("snnc")
                                 else " (int64 emulation)")
        lines.append(f"| {r['engine']} | {prec} | {wtxt} | {stxt} | {'; '.join(ag)} | "
                     f"{r['build_s']:.2f} |")
    lines += ["", "Speed-up of snnc C over the fastest baseline (baseline time / snnc time; "
              "> 1 = snnc faster):", "",
              "| precision | whole (one call) | whole, corrected | whole vs any baseline way "
              "| per step | per step, corrected |", "| --- | --- | --- | --- | --- | --- |"]
    for prec, rt in rep["ratios"].items():
        def cell(k: str) -> str:
            r = rt.get(k) or {}
            if not r:
                return "-"
            return f"{_x(r)} ({r['snnc']} vs {r['fastest_baseline']})"
        lines.append(f"| {prec}{'' if prec == 'float' else ' (not headline)'} | "
                     f"{cell('whole')} | {cell('whole_corrected')} | {cell('whole_any')} | "
                     f"{cell('step')} | {cell('step_corrected')} |")
    no_whole = sorted({r["engine"] for r in rep["results"] if r["status"] == "ok"
                       and "unsupported" in r["whole"]})
    if no_whole:
        lines += ["", "No whole-sequence call: " + "; ".join(
            f"{e}: {WHOLE_UNSUPPORTED.get(e, 'none')}" for e in no_whole) + ". 'whole vs any "
            "baseline way' takes their per-step loop x T instead."]
    if any(r.get("note") for r in rep["results"]):
        lines += ["", f"Integer rows: {INT_NOTE}."]
    lines += ["", f"Method: {rep['method']}.", ""]
    return "\n".join(lines)


def write_report(rep: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    """Write ``compare_<model>.json`` and ``.md`` atomically into ``out_dir``."""
    import json

    from snnc.compiler.ir.serialize import atomic_write

    out_dir.mkdir(parents=True, exist_ok=True)
    jp, mp = out_dir / f"compare_{rep['model']}.json", out_dir / f"compare_{rep['model']}.md"
    atomic_write(jp, lambda f: f.write(json.dumps(rep, indent=2) + "\n"), mode="w")
    atomic_write(mp, lambda f: f.write(to_markdown(rep)), mode="w")
    return jp, mp


SUMMARY_MODES = (("whole", "whole (one call)"), ("whole_corrected", "whole, corrected"),
                 ("step", "per step"), ("step_corrected", "per step, corrected"))


def summary(reps: list[dict[str, Any]], command: str) -> tuple[str, dict[str, Any]]:
    """The float (headline) speed-ups of every model per mode, as Markdown and JSON."""
    lines = ["# Fair host comparison: snnc C vs the fastest baseline", "",
             f"Regenerate with `{command}`. Speed-up = fastest baseline time / snnc C time "
             "(> 1: snnc faster), float32 vs float32, 1 thread each; integer rows are in "
             "the per-model files (the integer baselines emulate int64, not headline). "
             "Method: docs/baselines.md.", "",
             "| model | " + " | ".join(t for _, t in SUMMARY_MODES) +
             " | whole vs any baseline way | load avg start -> end |",
             "| --- " * (len(SUMMARY_MODES) + 3) + "|"]
    data: dict[str, Any] = {}
    for r in reps:
        rt = r["ratios"].get("float", {})
        data[r["model"]] = {k: rt.get(k, {}) for k, _ in SUMMARY_MODES + (("whole_any", ""),)}
        cells = []
        for k, _ in SUMMARY_MODES + (("whole_any", ""),):
            v = rt.get(k) or {}
            cells.append(f"{_x(v)} vs {v['fastest_baseline']}" if v else "-")
        lines.append(f"| [{r['model']}](compare_{r['model']}.md) | " + " | ".join(cells) +
                     f" | {r['load_average_start'][0]:.1f} -> {r['load_average_end'][0]:.1f} |")
    whole = {m: (d.get("whole") or {}).get("speedup") for m, d in data.items()}
    l2mu = next((v for m, v in whole.items() if m.startswith("l2mu")), None)
    below = [m for m, v in whole.items() if v is None or v < 2.0]
    lines += ["", "Goal (issue 16, whole sequence, float): L2MU >= 10x the fastest baseline: "
              + ("not measured" if l2mu is None else
                 f"{l2mu:.1f}x, {'met' if l2mu >= 10 else 'NOT met'}")
              + "; >= 2x on every zoo model: "
              + ("met" if not below else "NOT met on " + ", ".join(
                  f"{m} ({'-' if whole[m] is None else f'{whole[m]:.1f}x'})" for m in below))
              + ". Below 2x in the other modes: " + "; ".join(
                  f"{label}: " + (", ".join(
                      f"{m} {(d.get(k) or {}).get('speedup') or 0:.1f}x"
                      for m, d in data.items()
                      if ((d.get(k) or {}).get("speedup") or 0) < 2.0) or "none")
                  for k, label in SUMMARY_MODES[1:]) + ".", ""]
    return "\n".join(lines), data


def plot(data: dict[str, Any], path: Path) -> Path | None:
    """Bar plot of the float speed-ups per model and mode (log scale; 1x line)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        progress("matplotlib not installed: no plot")
        return None
    from snnc.compiler.ir.serialize import atomic_write

    models = list(data)
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(models)), 4))
    wdt = 0.8 / len(SUMMARY_MODES)
    for i, (k, label) in enumerate(SUMMARY_MODES):
        vals = [(data[m].get(k) or {}).get("speedup") or np.nan for m in models]
        ax.bar(np.arange(len(models)) + (i - (len(SUMMARY_MODES) - 1) / 2) * wdt, vals, wdt,
               label=label)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.axhline(2.0, color="k", lw=0.8, ls="--")  # the goal for every zoo model
    ax.axhline(10.0, color="k", lw=0.8, ls=":")  # ... and for L2MU, whole sequence
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(models)), models, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("snnc C speed-up over fastest baseline\n(-- 2x, ... 10x: goals)")
    ax.set_title("Fair host comparison (float32, 1 thread, batch 1)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110), mode="wb")
    plt.close(fig)
    return path


def run_all(out_dir: Path, models: list[Path] | None = None, **kw: Any
            ) -> list[dict[str, Any]]:
    """Every zoo model through :func:`fair_compare`; per-model reports and the summary."""
    import json

    from snnc.bench.compare import zoo_models
    from snnc.compiler.ir.serialize import atomic_write

    models = models if models is not None else zoo_models()
    if not models:
        raise SnncError("no zoo models found under models/")
    reps = []
    t0 = time.perf_counter()
    for i, p in enumerate(models):
        progress(f"model {i + 1}/{len(models)}: {p.name} ({time.perf_counter() - t0:.0f} s "
                 "so far)")
        rep = fair_compare(p, **kw)
        write_report(rep, out_dir)
        reps.append(rep)
    args = " ".join(f"--{k} {v}" for k, v in kw.items()
                    if k in ("samples", "repeats", "steps") and v is not None)
    md, data = summary(reps, f"python -m snnc.bench.compare --all {args}".strip())
    atomic_write(out_dir / "compare_summary.md", lambda f: f.write(md), mode="w")
    atomic_write(out_dir / "compare_summary.json",
                 lambda f: f.write(json.dumps(data, indent=2) + "\n"), mode="w")
    plot(data, out_dir / "compare_summary.png")
    return reps
