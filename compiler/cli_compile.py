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
from typing import Any, Protocol

import click
import numpy as np

from snnc.compiler.errors import FormatError, SnncError


def load_calibration(path: str | Path) -> dict[str, np.ndarray] | np.ndarray:
    """Read calibration inputs from ``.npy`` (one input) or ``.npz`` (keyed by input node)."""
    p = Path(path)
    if not p.exists():
        raise FormatError("calibration data: no such file", p)
    try:
        data = np.load(p, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                return {k: data[k] for k in data.files}
        return data
    except (ValueError, OSError, EOFError) as e:
        raise FormatError(f"calibration data: cannot read ({e})", p) from None


def bundled_calibration(graph: Any, model_path: Path) -> Path | None:
    """The calibration file named by the model's metadata (relative to the model), if any."""
    name = graph.metadata.get("calibration_data")
    if not isinstance(name, str) or not name:
        return None
    p = Path(name)
    return p if p.is_absolute() else model_path.parent / p


def agreement(graph_f: Any, graph_q: Any, calib: Any, n: int = 64) -> dict[str, Any]:
    """Share of samples on which the float and the integer model predict the same class."""
    from snnc.compiler.ir import predict
    from snnc.compiler.ir.interpret_int import predict_int

    if not isinstance(calib, dict):
        calib = {graph_f.inputs[0]: calib}
    sub = {k: np.asarray(v)[:n] for k, v in calib.items()}
    pf, pq = predict(graph_f, sub), predict_int(graph_q, sub)
    return {"samples": int(pf.size), "agreement": float(np.mean(pf == pq))}


def compile_model(model: str | Path, options: Any, calib: Any = None,
                  dump_dir: str | Path | None = None) -> tuple[Any, Any, dict[str, Any]]:
    """Load, run the pipeline, and build the report: (graph, plan, report dict)."""
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
                      dump_dir=Path(dump_dir) if dump_dir else None)
    g, plan = run_pipeline(g0, ctx)
    report: dict[str, Any] = {
        "model": str(src), "name": g.name, "input_hash": graph_hash(g0),
        "output_hash": graph_hash(g), "options": options_dict(options),
        "passes": ctx.log, "memory": plan.to_dict(),
        "storage": {n: v.storage for n, v in g.items() if hasattr(v, "storage")},
        "fusion": g.metadata.get("fusion", []),
        "dead_neurons": g.metadata.get("dead_neurons", {}),
    }
    if options.quantize != "float":
        from snnc.compiler.passes.quantize import check_calibration

        data = check_calibration(g0, calib)
        # Quantization error alone: the float graph right before the quantize pass.
        ref = ctx.float_reference if ctx.float_reference is not None else g0
        report["float_vs_int"] = agreement(ref, g, data)
    return g, plan, report


def report_markdown(r: dict[str, Any]) -> str:
    """Render a compile report as Markdown."""
    m = r["memory"]
    lines = [f"# snnc compile report: {r['name']}", "",
             f"- model: `{r['model']}` (hash {r['input_hash'][:12]})",
             f"- output hash: {r['output_hash'][:12]}",
             "- options: " + ", ".join(f"{k}={v}" for k, v in r["options"].items()),
             f"- RAM: **{m['ram_bytes']} B** (state {m['state_bytes']}, persistent buffers "
             f"{m['persistent_bytes']}, arena {m['arena_bytes']}); flash: "
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
    lines += ["", "| buffer | bytes | live (schedule positions) | offset |",
              "| --- | ---: | --- | ---: |"]
    for b in m["buffers"]:
        off = "persistent" if b["persistent"] else b["offset"]
        lines.append(f"| {b['name']} | {b['nbytes']} | {b['first']}..{b['last']} | {off} |")
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
    @click.option("--input-bits", type=click.Choice(["8", "16"]), default="8",
                  show_default=True)
    @click.option("--prune", type=float, default=0.0, show_default=True,
                  help="Fraction of non-zero weights to remove by magnitude.")
    @click.option("--prune-scope", type=click.Choice(["global", "layer"]), default="global",
                  show_default=True)
    @click.option("--calib", type=click.Path(dir_okay=False), default=None,
                  help="Calibration inputs .npy [batch, T, ...] (or .npz keyed by input node).")
    @click.option("--calib-samples", type=int, default=64, show_default=True)
    @click.option("--dump-ir", "dump_ir", type=click.Path(file_okay=False), default=None,
                  help="Write the graph after each pass (NN_<pass>.snn + .txt) here.")
    @click.option("--target", type=click.Choice(["generic", *targets]), default="generic",
                  show_default=True,
                  help="Pipeline to run and, with -o DIR, the build to write.")
    @click.option("--profile", default=None,
                  help="Device preset the target's fit check uses: "
                       + registry.profile_help() + ".")
    def compile_cmd(model: str, out: str, quantize: str, state_bits: str, granularity: str,
                    pow2: bool, input_bits: str, prune: float, prune_scope: str,
                    calib: str | None, calib_samples: int, dump_ir: str | None,
                    target: str, profile: str | None = None, **target_values: Any) -> None:
        """Optimize MODEL (prune, quantize, sparsify, fuse, plan memory) and write OUT.snn
        or a build directory for --target."""
        from snnc.compiler.ir.serialize import atomic_write, save
        from snnc.compiler.passes.pipeline import CompileOptions

        topts = registry.check_target_options(target, target_values)
        opt = CompileOptions(quantize=quantize, state_bits=int(state_bits),
                             granularity=granularity, pow2=pow2, input_bits=int(input_bits),
                             prune=prune, prune_scope=prune_scope,
                             calib_samples=calib_samples, target=target, profile=profile,
                             target_options=topts)
        outp = Path(out)
        build_dir = target in targets and outp.suffix != ".snn"
        if not build_dir and outp.suffix != ".snn":
            raise FormatError("output must be a .snn file (or a build directory with --target "
                              f"{'|'.join(targets)})", outp)
        if topts.get("kernels") == "tvm":  # fail with the install hint before any work
            from snnc.compiler.codegen import tvm_kernels

            tvm_kernels.require_tvm()
        g, plan, report = compile_model(model, opt, calib, dump_ir)
        if build_dir:
            # The target's files + the graph + manifest, then the report inside the directory.
            registry.write_build(target, g, outp, {"flash_bytes": plan.flash_bytes,
                                                   "ram_bytes": plan.ram_bytes})
            if topts.get("kernels") == "tvm":
                tvm_kernels.add_to_build(g, outp, {"flash_bytes": plan.flash_bytes,
                                                   "ram_bytes": plan.ram_bytes})
            atomic_write(outp / "report.json",
                         lambda f: f.write(json.dumps(report, indent=1)), mode="w")
            atomic_write(outp / "report.md", lambda f: f.write(report_markdown(report)),
                         mode="w")
            files = json.loads((outp / "manifest.json").read_text())["files"]
            click.echo(f"snnc: RAM {plan.ram_bytes} B, flash {plan.flash_bytes} B (memory "
                       f"plan); wrote {outp}/ ({', '.join(files)})", err=True)
            click.echo(str(outp))
            return
        stem = outp.with_suffix("")
        atomic_write(f"{stem}.report.json", lambda f: f.write(json.dumps(report, indent=1)),
                     mode="w")
        atomic_write(f"{stem}.report.md", lambda f: f.write(report_markdown(report)),
                     mode="w")
        save(g, outp)
        click.echo(f"snnc: RAM {plan.ram_bytes} B, flash {plan.flash_bytes} B"
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
