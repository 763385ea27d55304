"""On-device benchmark of a compiled model (``snnc bench BUILD --device DEV``).

Runs the model's test inputs on the device and reports, as JSON and Markdown:

- latency per step and per sample (median, p99, min, max). Emulated devices give exact
  guest **instructions** (QEMU TCG plugin, deterministic); a time estimate divides them
  by the profile's clock, i.e. assumes one instruction per cycle, and is labelled so.
  Real Linux boards give wall-clock nanoseconds.
- flash and RAM from the ELF sections (MCU): the whole firmware and the model + runtime
  share measured by the size probes;
- SynOps per sample (NeuroBench definition, :mod:`compiler.ir.metrics`) when the float
  graph is available;
- agreement with the integer simulator (bit-exact check) and accuracy on the labels.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snnc.compiler.errors import FormatError, SnncError
from snnc.compiler.ir.graph import Graph
from snnc.targets.flash import DeviceRun

# ------------------------------------------------------------------ model + test data


def find_graph(build_dir: str | Path, model: str | Path | None = None) -> tuple[Graph, Path]:
    """The graph a build was generated from: ``model`` if given, else the build's .snn."""
    from snnc.compiler.ir import load

    if model is not None:
        p = Path(model)
        if not p.exists():
            raise FormatError("no such file", p)
        return load(p), p
    bd = Path(build_dir)
    cands = [bd / "model.snn"] if (bd / "model.snn").exists() else sorted(bd.glob("*.snn"))
    if len(cands) != 1:
        raise FormatError("cannot tell which graph this build came from (expected one .snn "
                          "in the build directory); pass --model MODEL.snn", bd)
    return load(cands[0]), cands[0]


@dataclass
class EvalData:
    """Float inputs [S, T, ...] with labels (None for synthetic inputs) and their origin."""

    x: np.ndarray
    y: np.ndarray | None
    source: str
    classes: list[str] | None = None


def synthetic_inputs(graph: Graph, n: int, steps: int, seed: int = 0) -> np.ndarray:
    """Seeded inputs for graphs without a test set: Bernoulli(0.2) spikes or N(0, 1)."""
    from snnc.compiler.ir.nodes import SPIKE

    node = graph.nodes[graph.inputs[0]]
    shape = (n, steps, *node.shape_out())
    rng = np.random.default_rng(seed)
    if node.dtype == SPIKE:
        return (rng.random(shape) < 0.2).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def load_test_data(graph: Graph, n: int, steps: int = 50, seed: int = 0,
                   path: str | Path | None = None) -> EvalData:
    """``n`` evenly spaced samples of the model's test data: the ``STEM.test.npz`` file
    next to the model at ``path`` (or a build directory's ``test.npz``) when there is one,
    else seeded synthetic inputs (no labels). Nothing is guessed from the model's name;
    the repository's zoo splits are :func:`snnc.models.testsets.load_test_data`. The CLI
    does not use the synthetic fallback: :func:`prepare` takes the user's --data or the
    model's own data file."""
    if path is not None:
        from snnc.compiler.data import for_graph, load_data, model_data_file

        f = model_data_file(path, "test")
        if f is not None:
            ds = for_graph(load_data(f), graph).take(n)
            return EvalData(x=ds.x, y=ds.y, source=ds.source, classes=ds.classes)
    return EvalData(x=synthetic_inputs(graph, n, steps, seed), y=None,
                    source=f"synthetic inputs (seed {seed}, no labels)")


def device_inputs(graph: Graph, x: np.ndarray) -> np.ndarray:
    """What the device is fed: integers from quantize_inputs for a quantized graph,
    float32 otherwise; flattened to [S, T, n_inputs] (:func:`compiler.data.device_inputs`)."""
    from snnc.compiler.data import device_inputs as _device_inputs

    return _device_inputs(graph, x)


def reference_outputs(graph: Graph, x_dev: np.ndarray) -> tuple[np.ndarray, str]:
    """Outputs [S, T, n_out] of the golden model on the device's own inputs."""
    from snnc.compiler.ir.qnodes import is_quantized

    node = graph.nodes[graph.inputs[0]]
    x = x_dev.reshape(x_dev.shape[0], x_dev.shape[1], *node.shape_out())
    if is_quantized(graph):
        from snnc.compiler.ir.interpret_int import simulate_int

        res, kind = simulate_int(graph, x.astype(np.int64)), "integer simulator"
    else:
        from snnc.compiler.ir.interpret import simulate

        res, kind = simulate(graph, x.astype(np.float64)), "float simulator"
    # Concatenated in graph order, as the generated code's SNNC_N_OUTPUTS contract says.
    outs = [res.outputs[n].reshape(x.shape[0], x.shape[1], -1) for n in graph.outputs]
    return np.concatenate(outs, axis=2), kind


# ------------------------------------------------------------------ statistics


def _stats(a: np.ndarray) -> dict[str, float]:
    a = np.asarray(a, dtype=np.float64)
    return {"median": float(np.median(a)), "p99": float(np.percentile(a, 99)),
            "min": float(a.min()), "max": float(a.max()), "mean": float(a.mean())}


def latency(run: DeviceRun) -> dict[str, Any]:
    """Per-step and per-sample latency from the run's instruction counts or wall times."""
    if run.step_instructions is not None:
        per = run.step_instructions.reshape(run.n_samples, run.n_steps)
        out: dict[str, Any] = {"unit": "instructions", "source": "QEMU TCG plugin (exact, "
                               "deterministic)", "per_step": _stats(per.ravel()),
                               "per_sample": _stats(per.sum(axis=1))}
        if run.clock_hz:
            est = {"assumption": "1 instruction per cycle (a lower bound; not measured)",
                   "clock_hz": run.clock_hz,
                   "per_step_median_us": out["per_step"]["median"] / run.clock_hz * 1e6,
                   "per_sample_median_us": out["per_sample"]["median"] / run.clock_hz * 1e6}
            if run.burst_clock_hz:
                est["burst_clock_hz"] = run.burst_clock_hz
                est["per_sample_median_us_burst"] = (out["per_sample"]["median"]
                                                     / run.burst_clock_hz * 1e6)
            out["time_estimate"] = est
        return out
    if run.step_cycles is not None:
        per = run.step_cycles.reshape(run.n_samples, run.n_steps)
        out = {"unit": "cycles", "source": "SysTick (core clock) on the board",
               "per_step": _stats(per.ravel()), "per_sample": _stats(per.sum(axis=1))}
        if run.clock_hz:
            out["time"] = {"clock_hz": run.clock_hz,
                           "per_step_median_us": out["per_step"]["median"] / run.clock_hz * 1e6}
        return out
    if run.step_ns is not None:
        per = run.step_ns.reshape(run.n_samples, run.n_steps)
        return {"unit": "ns", "source": "CLOCK_MONOTONIC on the device",
                "per_step": _stats(per.ravel()), "per_sample": _stats(per.sum(axis=1))}
    return {"unit": None, "source": "not measured on this device"}


def compare(device: np.ndarray, ref: np.ndarray, exact: bool) -> dict[str, Any]:
    """Agreement of device outputs with the reference; the first mismatch if any."""
    if device.shape != ref.shape:
        return {"match": False, "reason": f"shape {device.shape} vs reference {ref.shape}"}
    d, r = device.astype(np.float64), ref.astype(np.float64)
    diff = np.abs(d - r)
    ok = bool(np.all(diff == 0)) if exact else bool(np.allclose(d, r, rtol=1e-4, atol=1e-4))
    out: dict[str, Any] = {"match": ok, "exact": exact, "max_abs_diff": float(diff.max(initial=0))}
    if not ok:
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
        out["first_mismatch"] = {"index": idx, "device": float(d[idx]), "reference": float(r[idx])}
    return out


def bench_run(run: DeviceRun, graph: Graph | None, data: EvalData, x_dev: np.ndarray,
              float_graph: Graph | None = None) -> dict[str, Any]:
    """Assemble the benchmark record for one device run (``graph`` None: no reference)."""
    from snnc.compiler.ir.qnodes import is_quantized

    res: dict[str, Any] = {
        "model": graph.name if graph is not None else Path(run.binary).parent.parent.name,
        "target": run.target, "profile": run.profile,
        "device": run.device, "samples": run.n_samples, "steps": run.n_steps,
        "inputs": data.source, "latency": latency(run), "memory": run.memory,
        "binary": str(run.binary), "command": run.command,
        "host": {"machine": platform.machine(), "system": platform.system(),
                 "python": platform.python_version()},
    }
    if graph is None:
        res["reference"], res["agreement"] = None, None
        return res
    ref, kind = reference_outputs(graph, x_dev)
    exact = is_quantized(graph)
    res["reference"], res["agreement"] = kind, compare(run.outputs, ref, exact)
    if data.y is not None:
        pred = np.argmax(run.outputs[:, -1], axis=1)
        res["accuracy"] = {"device": float(np.mean(pred == data.y[:run.n_samples])),
                           "reference": float(np.mean(np.argmax(ref[:, -1], axis=1)
                                                      == data.y[:run.n_samples])),
                           "rule": "argmax of the last step's outputs"}
    fg = float_graph if float_graph is not None else (None if exact else graph)
    res["scores"] = device_scores(run, ref, kind, data, fg)
    if fg is not None:
        try:
            from snnc.compiler.ir.metrics import workload

            w = workload(fg, np.asarray(data.x[:run.n_samples], dtype=np.float64))
            res["synops_per_sample"] = {"mean": float(np.mean(w["synops"])),
                                        "dense_macs": float(w["dense"]),
                                        "activation_sparsity": float(w["activation_sparsity"]),
                                        "connection_sparsity": float(w["connection_sparsity"]),
                                        "graph": ("the deployed graph" if fg is graph else
                                                  "the float source model (pre-quantize; "
                                                  "pre-prune if pruned)")}
        except (SnncError, ImportError) as e:  # metrics are optional extras of the report
            res["synops_per_sample"] = {"error": str(e)}
    return res


def device_scores(run: DeviceRun, ref: np.ndarray, kind: str, data: EvalData,
                  float_graph: Graph | None) -> dict[str, Any]:
    """Accuracy report of the device's predictions (:func:`compiler.data.score`), with the
    golden model's and the float model's predictions on the same cases beside them."""
    from snnc.compiler.data import predictions, score

    pred = predictions(run.outputs)
    others = {kind: predictions(ref)}
    if float_graph is not None:
        from snnc.compiler.ir import predict

        try:
            others["float model"] = predict(float_graph, np.asarray(data.x[:run.n_samples],
                                                                   dtype=np.float64))
        except SnncError:  # a float source that no longer fits the data: report without it
            pass
    y = None if data.y is None else data.y[:run.n_samples]
    return score(pred, y, data.classes, others=others, n_classes=int(run.outputs.shape[2]))


def to_markdown(r: dict[str, Any]) -> str:
    """A human-readable report of :func:`bench_run`'s record."""
    lat = r["latency"]
    lines = [f"# snnc bench: {r['model']} on {r['target']} ({r['profile']}, device {r['device']})",
             "", f"{r['samples']} samples x {r['steps']} steps; inputs: {r['inputs']}.", "",
             "| metric | value |", "| --- | --- |"]
    unit = lat.get("unit")
    if unit:
        for k in ("per_step", "per_sample"):
            s = lat[k]
            lines.append(f"| {k.replace('_', ' ')} ({unit}) | median {s['median']:.0f}, "
                         f"p99 {s['p99']:.0f}, min {s['min']:.0f}, max {s['max']:.0f} |")
    est = lat.get("time_estimate")
    if est:
        lines.append(f"| time estimate at {est['clock_hz'] / 1e6:.0f} MHz, 1 instr/cycle | "
                     f"{est['per_step_median_us']:.1f} us/step, "
                     f"{est['per_sample_median_us']:.1f} us/sample (estimate, not measured) |")
    mem = r.get("memory", {})
    for k in ("model", "firmware"):
        if k in mem:
            m = mem[k]
            lines.append(f"| {k} flash / RAM (ELF sections) | {m['flash_bytes']} B / "
                         f"{m['ram_bytes']} B (of {m['flash_avail']} / {m['ram_avail']}) |")
    if "binary_file_bytes" in mem:
        lines.append(f"| static binary | {mem['binary_file_bytes']} B |")
    if "csim" in mem:
        c = mem["csim"]
        lines.append(f"| csim testbench self-check (golden.bin) | {c['compared']:,} values, "
                     f"{c['mismatches']} mismatches |")
    pl = mem.get("pl_estimate")
    if pl:
        u = pl["utilization"]
        lines.append(f"| PL kernel on {pl['board']}, reuse {pl['reuse']} (analytical estimate) | "
                     f"{pl['cycles_per_step']:,} cycles/step = {pl['latency_us_per_step']:.2f} "
                     f"us/step; LUT {pl['lut']:,} ({100 * u['lut']:.1f}%), FF {pl['ff']:,} "
                     f"({100 * u['ff']:.1f}%), BRAM18 {pl['bram18']:,} ({100 * u['bram18']:.1f}%), "
                     f"DSP {pl['dsp']:,} ({100 * u['dsp']:.1f}%) |")
    so = r.get("synops_per_sample")
    if so and "mean" in so:
        lines.append(f"| SynOps per sample | {so['mean']:.0f} (dense MACs {so['dense_macs']:.0f}) |")
    ag = r.get("agreement")
    if ag:
        verdict = ("bit-exact" if ag["match"] and ag.get("exact")
                   else "match (float tolerance)" if ag["match"] else "MISMATCH")
        lines.append(f"| outputs vs {r['reference']} | {verdict} |")
    if "accuracy" in r:
        a = r["accuracy"]
        lines.append(f"| accuracy (device / reference) | {a['device']:.4f} / {a['reference']:.4f} |")
    lines.append("")
    if unit == "instructions":
        lines.append("Latency is counted in guest instructions under QEMU, not cycles"
                     + ("; the time estimate assumes one instruction per cycle at the "
                        "profile's clock." if est else "."))
    if r.get("scores"):
        from snnc.compiler.data import score_markdown

        lines += ["", score_markdown(r["scores"], f"accuracy on {r['device']}").rstrip()]
    return "\n".join(lines) + "\n"


def write_report(r: dict[str, Any], json_path: str | Path | None,
                 md_path: str | Path | None) -> None:
    """Write the JSON and/or Markdown report atomically."""
    from snnc.compiler.ir.serialize import atomic_write

    if json_path:
        atomic_write(json_path, lambda f: f.write(json.dumps(r, indent=2, default=_jsonable)),
                     mode="w")
    if md_path:
        atomic_write(md_path, lambda f: f.write(to_markdown(r)), mode="w")


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Path):
        return str(v)
    raise TypeError(f"not JSON serializable: {type(v)}")


# ------------------------------------------------------------------ CLI glue


@dataclass
class Prepared:
    """Everything a device run needs besides the build: graph, data, device inputs, and
    the float model the build was compiled from (for SynOps), when known."""

    graph: Graph | None
    data: EvalData | None
    x_dev: np.ndarray
    float_graph: Graph | None = None


def source_float_graph(build_dir: str | Path) -> Graph | None:
    """The float model named by the build's compile report (``report.json`` "model")."""
    from snnc.compiler.ir import load
    from snnc.compiler.ir.qnodes import is_quantized

    rep = Path(build_dir) / "report.json"
    try:
        r = json.loads(rep.read_text())
        # model_path: absolute (runs from another directory); "model" as typed.
        src = Path(r.get("model_path") or r["model"])
        g = load(src) if src.suffix == ".snn" and src.exists() else None
    except (OSError, ValueError, KeyError, TypeError, SnncError):
        return None
    return g if g is not None and not is_quantized(g) else None


def source_model_path(build_dir: str | Path) -> Path | None:
    """The model a build was compiled from (compile report "model", else manifest
    "source"), if that file still exists."""
    bd = Path(build_dir)
    for name, key in (("report.json", "model_path"), ("report.json", "model"),
                      ("manifest.json", "source")):
        try:
            src = Path(json.loads((bd / name).read_text())[key])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if src.is_file():
            return src
    return None


def resolve_test_data(build_dir: str | Path, graph: Graph, graph_path: Path | None,
                      data: str | Path | None) -> Any:
    """The dataset a run scores on (:class:`compiler.data.Dataset`, labels mapped onto
    the model's classes): ``data`` (the user's --data) if given, else the test file that
    ships with the build or with the model it came from (``test.npz`` in the build,
    ``STEM.test.npz`` next to the .snn). Nothing is guessed from the model's name: a
    model without its own data file is an error saying what to pass."""
    from snnc.compiler.data import for_graph, load_data, model_data_file

    if data is not None:
        return for_graph(load_data(data), graph)
    cands = [Path(build_dir), graph_path, source_model_path(build_dir)]
    for c in cands:
        f = model_data_file(c, "test") if c is not None and c.exists() else None
        if f is not None:
            return for_graph(load_data(f), graph)
    raise SnncError(f"model '{graph.name}' ships no test data (no test.npz in the build, no "
                    "STEM.test.npz beside its .snn): pass --data TEST.npz (x [N, T, C] float, "
                    "y [N] int) or a UEA/UCR .ts/.csv file; see docs/own_data.md")


def prepare(build_dir: str | Path, model: str | Path | None = None,
            inputs: str | Path | None = None, samples: int | None = None, steps: int = 50,
            data: str | Path | None = None) -> Prepared:
    """Device inputs from ``data`` (the user's float dataset, any format of
    :mod:`compiler.data`), from ``--inputs`` (an .npy already in the device's types,
    [S, T, ...]) or from the model's own test data file; float data is quantized like the
    integer simulator. ``samples``: evenly spaced cases (None: all of ``data``, 8 of the
    model's own test file)."""
    graph, gpath = None, None
    try:
        graph, gpath = find_graph(build_dir, model)
    except FormatError:
        if model is not None or inputs is None:
            raise
    if inputs is not None and data is not None:
        raise SnncError("pass either --data (float data, quantized for you) or --inputs "
                        "(device-typed inputs), not both")
    if inputs is not None:
        samples = 8 if samples is None else samples
        p = Path(inputs)
        if not p.exists():
            raise FormatError("no such file", p)
        try:
            x = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise FormatError(f"cannot read inputs ({e})", p) from None
        if not isinstance(x, np.ndarray) or x.ndim < 2:
            raise FormatError("inputs must be one array [samples, steps, ...]", p)
        x = x[:samples]
        return Prepared(graph=graph, data=EvalData(x=x, y=None, source=f"inputs from {p}"),
                        x_dev=x.reshape(x.shape[0], x.shape[1], -1))
    assert graph is not None
    if samples is not None and samples < 1:
        raise SnncError(f"--samples must be >= 1, got {samples}")
    ds = resolve_test_data(build_dir, graph, gpath, data)
    ds = ds.take(samples if samples is not None or data is not None else 8)
    ev = EvalData(x=ds.x, y=ds.y, source=ds.source, classes=ds.classes)
    return Prepared(graph=graph, data=ev, x_dev=device_inputs(graph, ev.x),
                    float_graph=source_float_graph(build_dir))


def ensure_build(build: str | Path, target: str) -> Path:
    """A build directory for ``build``: itself if it is one, or, for a compiled graph
    (``.snn``, e.g. from ``snnc compile``), ``target``'s build emitted into
    ``STEM_build/`` (:func:`targets.registry.write_build`)."""
    p = Path(build)
    if p.is_dir():
        return p
    if not p.exists():
        raise FormatError("no such build directory or model", p)
    if p.suffix != ".snn":
        raise FormatError("expected a build directory (model.h, model.c) or a .snn graph", p)
    from snnc.compiler.data import copy_model_data
    from snnc.compiler.ir import load
    from snnc.targets.registry import write_build

    out = write_build(target, load(p), p.with_name(f"{p.stem}_build"), source=p)
    copy_model_data(p, out)  # the model's own test/calibration data travel with the build
    return out
