"""``snnc compile``: run the pass pipeline on a model and write the graph plus a report.

    snnc compile MODEL [--quantize int8] [--prune 0.8] [--calib DATA.npy] [--dump-ir DIR]
                 -o OUT.snn

Writes ``OUT.snn`` (the optimized graph), ``OUT.report.json`` and ``OUT.report.md``
(options, per-pass log, RAM/flash from the memory planner, and, for a quantized graph,
how often the integer and float simulators agree on the calibration samples). Without
``--calib``, the calibration data named by the model's ``metadata["calibration_data"]`` (a
``.npy``/``.npz`` path relative to the model file) is used. Every file is written
atomically, so a failure leaves no partial output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Protocol

import click
import numpy as np

from snnc.compiler.errors import FormatError, SnncError


def load_calibration(path: str | Path) -> dict[str, np.ndarray] | np.ndarray:
    """Read calibration inputs: a dataset of the CLI's data convention (``.npz`` with
    ``x``, ``.ts``, ``.csv``: its ``x``), a ``.npy`` (one input) or an ``.npz`` keyed by
    input node."""
    from snnc.compiler.untrusted import check_finite, input_file, load_array

    p = input_file(path, "calibration data")  # a FIFO or device would block forever
    if p.suffix.lower() in (".ts", ".csv", ".tsv") or _is_dataset_npz(p):
        from snnc.compiler.data import load_data

        return load_data(p).x
    data = load_array(p, "calibration data")
    check_finite(data, f"calibration data {p}")
    return data


def _is_dataset_npz(p: Path) -> bool:
    """An ``.npz`` in the data convention (an ``x`` array), not keyed by input node."""
    if p.suffix.lower() != ".npz":
        return False
    try:
        with np.load(p, allow_pickle=False) as z:
            return "x" in z.files and set(z.files) <= {"x", "y", "classes", "source"}
    except (ValueError, OSError, EOFError):
        return False


def bundled_calibration(graph: Any, model_path: Path) -> Path | None:
    """The model's own calibration file: the one its metadata names (relative to the
    model), else ``STEM.calib.npz`` beside it; None if it has none."""
    name = graph.metadata.get("calibration_data")
    if isinstance(name, str) and name:
        # The model file is untrusted: it may name a file beside it, nothing elsewhere.
        p = (model_path.parent / name).resolve()
        if Path(name).is_absolute() or model_path.parent.resolve() not in p.parents:
            raise SnncError(f"{model_path}: metadata 'calibration_data' must name a file in "
                            f"the model's directory, got {name[:80]!r}")
        return p
    from snnc.compiler.data import model_data_file

    return model_data_file(model_path, "calib")


def labelled_data(data: str | None, calib: str | None, model_path: Path, graph: Any) -> Any:
    """The labelled data compile scores float vs quantized accuracy on: ``--data``, else
    the calibration set when it carries labels (``--calib`` or the model's own); None
    when there is none."""
    from snnc.compiler.data import for_graph, load_data

    if data is not None:
        return for_graph(load_data(data), graph)
    p = Path(calib) if calib is not None else bundled_calibration(graph, model_path)
    if p is None or not p.is_file() or not (p.suffix.lower() in (".ts", ".csv", ".tsv")
                                            or _is_dataset_npz(p)):
        return None
    ds = load_data(p)
    return for_graph(ds, graph) if ds.y is not None else None


# Predictions of one graph on one input array, so that the float/int agreement and the
# accuracy check (often both on the calibration set, and the float graph before quantize
# often identical to the source) simulate each graph once. Keyed by the graph's content
# hash (that of its .snn file) and the input bytes.
_PRED_CACHE: dict[tuple[str, str], np.ndarray] = {}


def _predictions(graph: Any, x: np.ndarray) -> np.ndarray:
    """``golden_predictions(graph, x)`` memoized on (graph content, float64 ``x``)."""
    import hashlib

    from snnc.compiler.data import golden_predictions
    from snnc.compiler.ir.serialize import graph_hash

    x = np.ascontiguousarray(x, np.float64)
    key = (graph_hash(graph), hashlib.sha1(repr(x.shape).encode() + x.tobytes()).hexdigest())
    if key not in _PRED_CACHE:
        if len(_PRED_CACHE) > 16:
            _PRED_CACHE.clear()
        _PRED_CACHE[key] = golden_predictions(graph, x)
    return _PRED_CACHE[key]


def accuracy_check(g0: Any, g: Any, ds: Any, max_drop: float) -> dict[str, Any]:
    """Float (source model) vs compiled accuracy on labelled ``ds``; ``drop_pp`` in
    percentage points and whether it exceeds ``max_drop``."""
    x = np.asarray(ds.x, np.float64)
    acc_f = float(np.mean(_predictions(g0, x) == ds.y))
    acc_q = float(np.mean(_predictions(g, x) == ds.y))
    drop = 100.0 * (acc_f - acc_q)
    return {"data": ds.source, "samples": len(ds), "float": acc_f, "compiled": acc_q,
            "drop_pp": drop, "max_drop_pp": max_drop, "exceeds": drop > max_drop}


# What may cost accuracy in a compile and the option that removes it, in the order tried.
_FIXES = (("input quantization", "input_bits", 16, "--input-bits 16"),
          ("membrane/state precision", "state_bits", 32, "--state-bits 32"),
          ("weight precision", "quantize", "int16", "--quantize int16"),
          ("pruning", "prune", 0.0, "--prune 0"))


def diagnose(model: str | Path, options: Any, calib: Any, g0: Any, ds: Any,
             acc: dict[str, Any]) -> list[dict[str, Any]]:
    """Recompile with each precision raised in turn (:data:`_FIXES`) and report what each
    recovers: the cause is the first whose fix brings the drop within the limit."""
    from dataclasses import replace as dc_replace

    out = []
    for cause, field, value, flag in _FIXES:
        if getattr(options, field) == value or (field == "prune" and not options.prune):
            continue
        if field == "quantize" and options.quantize == "float":
            continue
        try:
            g2, _, _ = compile_model(model, dc_replace(options, **{field: value}), calib)
        except SnncError:
            continue
        a2 = accuracy_check(g0, g2, ds, acc["max_drop_pp"])
        out.append({"cause": cause, "fix": flag, "compiled": a2["compiled"],
                    "drop_pp": a2["drop_pp"], "fixes": not a2["exceeds"]})
        if not a2["exceeds"]:
            break
    return out


def agreement(graph_f: Any, graph_q: Any, calib: Any, n: int = 64) -> dict[str, Any]:
    """Share of samples on which the float and the integer model predict the same class."""
    from snnc.compiler.ir import predict
    from snnc.compiler.ir.interpret_int import predict_int

    if not isinstance(calib, dict):
        calib = {graph_f.inputs[0]: calib}
    sub = {k: np.asarray(v)[:n] for k, v in calib.items()}
    if len(sub) == 1 and len(graph_q.inputs) == 1:
        # float64 is exact for the float32 (or integer) calibration data and the integer
        # model quantizes float32(x): the same predictions, shared with accuracy_check.
        x = np.asarray(next(iter(sub.values())), np.float64)
        pf, pq = _predictions(graph_f, x), _predictions(graph_q, x)
    else:
        pf, pq = predict(graph_f, sub), predict_int(graph_q, sub)
    return {"samples": int(pf.size), "agreement": float(np.mean(pf == pq))}


def compile_model(model: str | Path, options: Any, calib: Any = None,
                  dump_dir: str | Path | None = None,
                  background: list[Callable[[], None]] | None = None
                  ) -> tuple[Any, Any, dict[str, Any]]:
    """Load, run the pipeline, and build the report: (graph, plan, report dict).

    Checks a pass runs in the background (``PassContext.background``, e.g. the smartwatch
    size check) are waited for before returning, or, given ``background``, appended to
    it for the caller to wait for (raising what the check raises) before it uses or
    writes the result."""
    from snnc.compiler.frontend.load import load_model
    from snnc.compiler.ir.serialize import graph_hash
    from snnc.compiler.passes.pipeline import PassContext, options_dict, run_pipeline

    options.check()
    src = Path(model)
    g0 = load_model(src)
    if isinstance(calib, (str, Path)):
        calib = load_calibration(calib)
    elif calib is None and options.quantize != "float":
        bundled = bundled_calibration(g0, src)
        if bundled is None:
            raise SnncError(f"{src}: no calibration data: pass --calib DATA.npy (the model's "
                            "metadata names no 'calibration_data' file)")
        calib = load_calibration(bundled)
    ctx = PassContext(options=options, calib=calib,
                      dump_dir=Path(dump_dir) if dump_dir else None, background=[])
    g, plan = run_pipeline(g0, ctx)
    report: dict[str, Any] = {
        "model": str(src), "model_path": str(src.resolve()), "name": g.name,
        "input_hash": graph_hash(g0),
        "output_hash": graph_hash(g), "options": options_dict(options),
        "passes": ctx.log, "memory": plan.to_dict(),
        "storage": {n: v.storage for n, v in g.items() if hasattr(v, "storage")},
        "dead_neurons": g.metadata.get("dead_neurons", {}),
    }
    if options.quantize != "float":
        from snnc.compiler.passes.quantize import check_calibration

        data = check_calibration(g0, calib)
        # Quantization error alone: the float graph right before the quantize pass.
        ref = ctx.float_reference if ctx.float_reference is not None else g0
        report["float_vs_int"] = agreement(ref, g, data)
    if background is not None:
        background.extend(ctx.background)
    else:
        for wait in ctx.background:  # e.g. the size check, run beside the agreement above
            wait()
    return g, plan, report


def _ram_text(plan: Any) -> str:
    """The RAM figure ``snnc compile`` prints: the memory plan's, which for the C backend
    is ``sizeof`` the model's state struct (the model's .bss in a firmware)."""
    if plan.backend == "none":
        return "RAM n/a (no C memory plan for this graph)"
    return f"RAM {plan.ram_bytes} B"


def report_markdown(r: dict[str, Any]) -> str:
    """Render a compile report as Markdown."""
    m = r["memory"]
    lines = [f"# snnc compile report: {r['name']}", "",
             f"- model: `{r['model']}` (hash {r['input_hash'][:12]})",
             f"- output hash: {r['output_hash'][:12]}",
             "- options: " + ", ".join(f"{k}={v}" for k, v in r["options"].items()),
             f"- RAM: **{m['ram_bytes']} B** (the {m['backend']} memory plan: state "
             f"{m['state_bytes']}, persistent buffers {m['persistent_bytes']}, arena "
             f"{m['arena_bytes']}, padding {m['padding_bytes']}); flash: "
             f"**{m['flash_bytes']} B**"]
    if "float_vs_int" in r:
        a = r["float_vs_int"]
        lines.append(f"- float vs integer simulator: same class on "
                     f"{100 * a['agreement']:.1f}% of {a['samples']} calibration samples")
    lines += ["", "| # | pass | seconds | nodes | non-zero weights | neurons |",
              "| ---: | --- | ---: | ---: | ---: | ---: |"]
    for i, e in enumerate(r["passes"], 1):
        if e["skipped"]:
            lines.append(f"| {i} | {e['pass']} | {e['seconds']} | (skipped) | | |")
        else:
            lines.append(f"| {i} | {e['pass']} | {e['seconds']} | {e['nodes']} | "
                         f"{e['nonzero_weights']}/{e['weights']} | {e['neurons']} |")
    lines += ["", "| member | role | node | type | elements | offset B |",
              "| --- | --- | --- | --- | ---: | ---: |"]
    for mb in m["members"]:
        lines.append(f"| {mb['name']} | {mb['role']} | {mb['node'] or ''} | {mb['ctype']} | "
                     f"{mb['n'] if mb['n'] is not None else 1} | {mb['offset']} |")
    lines += ["", "| arena buffer | node | arena | elements | live (schedule positions) | "
              "offset (elements) |", "| --- | --- | --- | ---: | --- | ---: |"]
    for b in m["buffers"]:
        lines.append(f"| {b['name']} | {b['node']} | {b['arena']} | {b['n']} | "
                     f"{b['first']}..{b['last']} | {b['offset']} |")
    lines += ["", "| node | state B | flash B | storage |", "| --- | ---: | ---: | --- |"]
    names = sorted(set(m["state_by_node"]) | set(m["flash_by_node"]))
    for n in names:
        lines.append(f"| {n} | {m['state_by_node'].get(n, 0)} | {m['flash_by_node'].get(n, 0)}"
                     f" | {r['storage'].get(n, '')} |")
    return "\n".join(lines) + "\n"


class TargetRegistry(Protocol):
    """What ``snnc compile`` needs from the target registry (:mod:`targets.registry`),
    passed in by ``cli.py`` so that the compiler never imports the targets."""

    def list_targets(self) -> list[str]: ...

    def target_options(self) -> list[tuple[str, Any]]: ...

    def check_target_options(self, target: str, values: dict[str, Any]) -> dict[str, Any]: ...

    def profile_help(self) -> str: ...

    def write_build(self, target: str, graph: Any, out_dir: str | Path,
                    memory: dict[str, int] | None = None) -> Path: ...

    def prepare(self, target: str, profile: str | None = None) -> None: ...


def _reusing_emits(fn: Callable[..., None]) -> Callable[..., None]:
    """Run ``fn`` inside :func:`snnc.compiler.codegen.c.reuse_emits`: the memory plan,
    the size check and the build directory emit the same graph once."""
    import functools

    @functools.wraps(fn)
    def run(*args: Any, **kw: Any) -> None:
        from snnc.compiler.codegen.c import reuse_emits

        with reuse_emits():
            return fn(*args, **kw)

    return run


def make_compile_command(registry: TargetRegistry) -> click.Command:
    """The ``snnc compile`` command for the targets ``registry`` knows: ``--target``
    choices, ``--profile`` help and each target's own options come from it."""
    targets = registry.list_targets()
    own = registry.target_options()
    names = sorted({o.name for _, o in own})

    @click.command("compile")
    @click.argument("model", type=click.Path(dir_okay=False))
    @click.option("-o", "--output", "out", required=True, type=click.Path(),
                  help="Optimized graph (.snn); the report goes beside it (.report.json/.md). "
                       "With a --target other than generic: a build directory (the "
                       "target's files, model.snn, manifest.json, report.json/.md).")
    @click.option("--quantize", type=click.Choice(["float", "int4", "int8", "int16"]),
                  default="int8", show_default=True,
                  help="Weight precision (float: no quantize).")
    @click.option("--state-bits", type=click.Choice(["16", "32"]), default="16",
                  show_default=True)
    @click.option("--granularity", type=click.Choice(["neuron", "layer"]), default="neuron",
                  show_default=True, help="Weight scale per output neuron or per layer.")
    @click.option("--pow2", is_flag=True,
                  help="Power-of-two requantization (shift-only targets).")
    @click.option("--input-bits", type=click.Choice(["8", "16"]), default=None,
                  help="Input quantization width (default: 8, or 16 when labelled data "
                       "shows 8-bit inputs cost more than --max-accuracy-drop).")
    @click.option("--prune", type=float, default=0.0, show_default=True,
                  help="Fraction of non-zero weights to remove by magnitude.")
    @click.option("--prune-scope", type=click.Choice(["global", "layer"]), default="global",
                  show_default=True)
    @click.option("--calib", type=click.Path(dir_okay=False), default=None,
                  help="Calibration inputs .npy [batch, T, ...] (or .npz keyed by input node).")
    @click.option("--calib-samples", type=int, default=64, show_default=True)
    @click.option("--data", "data", type=click.Path(dir_okay=False), default=None,
                  help="Labelled validation data (.npz x/y, .ts, .csv): report float vs "
                       "compiled accuracy (default: the calibration set when labelled).")
    @click.option("--max-accuracy-drop", "max_drop", type=float, default=1.0,
                  show_default=True,
                  help="Accuracy points (pp) the compiled model may lose vs the float one "
                       "before snnc names the cause and the fix.")
    @click.option("--strict", is_flag=True,
                  help="Fail (exit 1, nothing written) when the drop exceeds "
                       "--max-accuracy-drop.")
    @click.option("--dump-ir", "dump_ir", type=click.Path(file_okay=False), default=None,
                  help="Write the graph after each pass (NN_<pass>.snn + .txt) here.")
    @click.option("--target", type=click.Choice(["generic", *targets]), default="generic",
                  show_default=True,
                  help="Pipeline to run and, with -o DIR, the build to write.")
    @click.option("--profile", default=None,
                  help="Device preset the target's fit check uses: "
                       + registry.profile_help() + ".")
    @_reusing_emits
    def compile_cmd(model: str, out: str, quantize: str, state_bits: str, granularity: str,
                    pow2: bool, input_bits: str | None, prune: float, prune_scope: str,
                    calib: str | None, calib_samples: int, dump_ir: str | None,
                    target: str, profile: str | None = None, data: str | None = None,
                    max_drop: float = 1.0, strict: bool = False,
                    **target_values: Any) -> None:
        """Optimize MODEL (prune, quantize, sparsify, plan memory) and write OUT.snn
        or a build directory for --target."""
        from snnc.compiler.ir.serialize import atomic_write, save
        from snnc.compiler.passes.pipeline import CompileOptions

        topts = registry.check_target_options(target, target_values)
        opt = CompileOptions(quantize=quantize, state_bits=int(state_bits),
                             granularity=granularity, pow2=pow2,
                             input_bits=int(input_bits or 8),
                             prune=prune, prune_scope=prune_scope,
                             calib_samples=calib_samples, target=target, profile=profile,
                             target_options=topts)
        outp = Path(out)
        build_dir = target in targets and outp.suffix != ".snn"
        if not build_dir and outp.suffix != ".snn":
            raise FormatError("output must be a .snn file (or a build directory with --target "
                              f"{'|'.join(targets)})", outp)
        from snnc.compiler import untrusted

        ins = (model, calib, data)
        if build_dir:
            untrusted.output_dir(outp, *ins)
        else:  # the graph and the report beside it
            for o in (outp, outp.with_suffix(".report.json"), outp.with_suffix(".report.md")):
                untrusted.output_path(o, *ins)
        if topts.get("kernels") == "tvm":  # fail with the install hint before any work
            from snnc.compiler.codegen import tvm_kernels

            tvm_kernels.require_tvm()
        # Model-independent build work (the smartwatch's empty size probe) beside the passes.
        registry.prepare(target, profile)
        checks: list[Callable[[], None]] = []  # e.g. the size check, beside the scoring
        g, plan, report = compile_model(model, opt, calib, dump_ir, background=checks)
        if opt.quantize != "float" or opt.prune:
            g, plan, report = _accuracy_gate(model, opt, calib, dump_ir, g, plan, report,
                                             data, max_drop, strict, input_bits is None)
        for wait in checks:  # before anything is written
            wait()
        if build_dir:
            # The target's files + the graph + manifest, then the report inside the directory.
            registry.write_build(target, g, outp, {"flash_bytes": plan.flash_bytes,
                                                   "ram_bytes": plan.ram_bytes})
            if topts.get("kernels") == "tvm":
                tvm_kernels.add_to_build(g, outp, {"flash_bytes": plan.flash_bytes,
                                                   "ram_bytes": plan.ram_bytes})
            from snnc.compiler.data import copy_model_data

            copy_model_data(model, outp)  # the model's own test/calib data travel along
            atomic_write(outp / "report.json",
                         lambda f: f.write(json.dumps(report, indent=1)), mode="w")
            atomic_write(outp / "report.md", lambda f: f.write(report_markdown(report)),
                         mode="w")
            files = json.loads((outp / "manifest.json").read_text())["files"]
            click.echo(f"snnc: {_ram_text(plan)}, flash {plan.flash_bytes} B (memory "
                       f"plan); wrote {outp}/ ({', '.join(files)})", err=True)
            click.echo(str(outp))
            return
        stem = outp.with_suffix("")
        atomic_write(f"{stem}.report.json", lambda f: f.write(json.dumps(report, indent=1)),
                     mode="w")
        atomic_write(f"{stem}.report.md", lambda f: f.write(report_markdown(report)),
                     mode="w")
        save(g, outp)
        from snnc.compiler.data import copy_model_data

        copy_model_data(model, outp)
        click.echo(f"snnc: {_ram_text(plan)}, flash {plan.flash_bytes} B"
                   + (f", float/int agreement {100 * report['float_vs_int']['agreement']:.1f}%"
                      if "float_vs_int" in report else ""), err=True)
        click.echo(str(outp))

    # Each target's own options, named after the target in their help; given for another
    # target they are an error (check_target_options).
    for name in names:
        opts = [(t, o) for t, o in own if o.name == name]
        help_ = "; ".join(f"{t}: {o.help}" for t, o in opts)
        compile_cmd.params.append(click.Option([opts[0][1].flag, name], type=opts[0][1].type,
                                               default=None, help=help_))
    return compile_cmd


def _accuracy_gate(model: str, opt: Any, calib: Any, dump_ir: str | None, g: Any, plan: Any,
                   report: dict[str, Any], data: str | None, max_drop: float, strict: bool,
                   auto_input_bits: bool) -> tuple[Any, Any, dict[str, Any]]:
    """Score float vs compiled accuracy on labelled data (stderr + report["accuracy"]);
    past ``max_drop``: name the cause and the fix, switch to 16-bit inputs when they are
    the cause and --input-bits was not given, and with ``strict`` fail."""
    from dataclasses import replace as dc_replace

    from snnc.compiler.frontend.load import load_model

    if max_drop < 0:
        raise SnncError(f"--max-accuracy-drop must be >= 0, got {max_drop}")
    src = Path(model)
    g0 = load_model(src)
    ds = labelled_data(data, calib, src, g0)
    if ds is None:
        if data is None:
            click.echo("snnc: no labelled data to score accuracy on (pass --data VAL.npz or a "
                       "labelled --calib)", err=True)
        return g, plan, report
    acc = accuracy_check(g0, g, ds, max_drop)
    bits = f"{opt.quantize}, {opt.input_bits}-bit inputs"
    click.echo(f"snnc: accuracy on {len(ds)} cases of {ds.source}: float {acc['float']:.4f}, "
               f"compiled ({bits}) {acc['compiled']:.4f} "
               f"({100 * (acc['compiled'] - acc['float']):+.1f} pp)"
               + ("" if data is not None else "; the calibration set, pass --data VAL for a "
                  "held-out estimate"), err=True)
    if acc["exceeds"]:
        tried = diagnose(model, opt, calib, g0, ds, acc)
        acc["diagnosis"] = tried
        cause = next((t for t in tried if t["fixes"]), None)
        if cause is not None and cause["fix"] == "--input-bits 16" and auto_input_bits:
            drop8, opt16 = acc["drop_pp"], dc_replace(opt, input_bits=16)
            g, plan, report = compile_model(model, opt16, calib, dump_ir)
            acc = {**accuracy_check(g0, g, ds, max_drop), "diagnosis": tried,
                   "auto": "input_bits=16"}
            click.echo(f"snnc: 8-bit inputs cost {drop8:.1f} pp (> --max-accuracy-drop "
                       f"{max_drop:g}): compiled with --input-bits 16 instead "
                       f"(accuracy {acc['compiled']:.4f}; pass --input-bits 8 to keep 8)",
                       err=True)
        elif cause is not None:
            click.echo(f"snnc: warning: the compiled model loses {acc['drop_pp']:.1f} pp "
                       f"(> --max-accuracy-drop {max_drop:g}); cause: {cause['cause']}; fix: "
                       f"{cause['fix']} (accuracy {cause['compiled']:.4f})", err=True)
        else:
            steps = "; ".join(f"{t['fix']}: {t['compiled']:.4f}" for t in tried) or "none"
            click.echo(f"snnc: warning: the compiled model loses {acc['drop_pp']:.1f} pp "
                       f"(> --max-accuracy-drop {max_drop:g}) and no single precision option "
                       f"recovers it (tried {steps}); calibrate on more representative data "
                       "(--calib) or retrain with quantization in mind", err=True)
    report["accuracy"] = acc
    if strict and acc["drop_pp"] > max_drop:
        raise SnncError(f"compiled accuracy {acc['compiled']:.4f} is {acc['drop_pp']:.1f} pp "
                        f"below float {acc['float']:.4f} (> --max-accuracy-drop {max_drop:g}, "
                        "--strict): nothing written")
    return g, plan, report
