"""The ``snnc`` command line: a thin layer over the Python API.

Artifacts and results go to stdout or ``-o``; logs go to stderr (``-v`` for more).
User errors (:class:`compiler.errors.SnncError`) print one line and exit 1; click's
usage errors exit 2. No command leaves a partial output file behind.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

# OpenBLAS (numpy's BLAS) starts a thread per CPU when numpy is imported, and its threads
# busy-wait for work (~2^28 cycles) after starting and after every call: ~0.1 s of CPU in
# a compile that goes to spinning beside the compilers it runs. A short wait (2^4 cycles,
# then sleep) keeps the threads for large products; set before numpy is first imported,
# and a user's own setting wins.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

import click  # noqa: E402
import numpy as np  # noqa: E402

from snnc.compiler import __version__
from snnc.compiler.errors import SnncError

log = logging.getLogger("snnc")


class SnncGroup(click.Group):
    """Turns SnncError into a one-line message and exit code 1 (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SnncError as e:
            click.echo(f"snnc: error: {e}", err=True)
            ctx.exit(1)
        except OSError as e:  # the OS refused a path (permissions, full disk...): name it
            from snnc.compiler.errors import one_line

            where = f"{e.filename}: " if e.filename else ""
            click.echo(f"snnc: error: {one_line(where + (e.strerror or str(e)))}", err=True)
            ctx.exit(1)


@click.group(cls=SnncGroup)
@click.version_option(__version__, prog_name="snnc")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv: debug).")
def main(verbose: int) -> None:
    """snnc: compile spiking neural networks for edge devices."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="snnc: %(message)s")


# The model loader lives in the compiler (snnc compile uses it too); re-exported here.
from snnc.compiler.frontend.load import load_model  # noqa: E402


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect(model: str, as_json: bool) -> None:
    """Show the nodes, shapes, parameter/synapse counts and a memory estimate of MODEL."""
    from snnc.compiler.ir.summary import format_summary, summarize

    g = load_model(model)
    from snnc.compiler.ir import verify

    verify(g)
    s = summarize(g)
    click.echo(json.dumps(s, indent=2) if as_json else format_summary(s))


@main.command()
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("dst", type=click.Path(dir_okay=False))
@click.option("--dt", type=float, default=None,
              help="Time step (s); overrides what the model records (NIR: its framework default).")
@click.option("--discretization", type=click.Choice(["exact", "euler", "bitshift"]),
              default=None, help="How NIR's continuous time constants become decays.")
@click.option("--reset", type=click.Choice(["zero", "subtract"]), default=None,
              help="NIR import only: reset mode of spiking neurons (default: NIR's 'zero').")
@click.option("--framework", type=click.Choice(["snntorch", "norse", "sinabs", "rockpool",
                                                 "nir"]), default=None,
              help="NIR import only: the exporting framework, whose conventions apply "
                   "(default: detected from metadata or parameters; 'nir': none).")
def convert(src: str, dst: str, dt: float | None, discretization: str | None,
            reset: str | None, framework: str | None = None) -> None:
    """Convert between NIR (.nir) and snnc (.snn) files (either direction)."""
    from snnc.compiler.errors import FormatError, SnncError
    from snnc.compiler.ir import save, verify

    s, d = Path(src), Path(dst)
    nir_ext = (".nir", ".h5", ".hdf5")
    if d.suffix not in nir_ext + (".snn",):
        raise FormatError(f"unknown output format '{d.suffix}' (expected .snn or .nir)", d)
    if not s.exists():
        raise FormatError("no such file", s)
    if s.suffix in nir_ext:
        import warnings

        from snnc.compiler.frontend.nir import import_nir

        with warnings.catch_warnings(record=True) as caught:  # one line each, no source
            warnings.simplefilter("always")
            g = import_nir(s, dt=dt, discretization=discretization, reset=reset,
                           framework=framework)
        for w in caught:
            click.echo(f"warning: {w.message}", err=True)
    else:
        if reset is not None or framework is not None:
            raise SnncError("--reset and --framework apply to NIR input only")
        g = load_model(s)
        # The IR keeps continuous time constants, so a new dt/discretization is a
        # re-discretization of the same model, as on NIR import.
        if dt is not None or discretization is not None:
            g = g.replace(dt=g.dt if dt is None else dt,
                          discretization=discretization or g.discretization)
    verify(g)
    if d.suffix == ".snn":
        save(g, d)
    else:
        from snnc.compiler.frontend.nir import write_nir

        write_nir(g, d)
    log.info("wrote %s", d)
    click.echo(str(d))


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--input", "input_path", default=None, type=click.Path(dir_okay=False),
              help="Input array .npy, shape [batch, T, ...] (or .npz keyed by input node); "
                   "float (quantized for a compiled model) or, for a compiled model, the "
                   "integers it is fed.")
@click.option("--data", "data", type=click.Path(dir_okay=False), default=None,
              help="Labelled float data: .npz (x [N, T, C] float, y [N] int), UEA/UCR .ts or "
                   ".csv; prints the accuracy report (see docs/own_data.md).")
@click.option("--samples", type=int, default=None,
              help="--data: evenly spaced cases to run (default: all).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="--data: write accuracy.json, accuracy.md and accuracy_confusion.png here.")
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write outputs to this .npz (default: print predictions).")
def simulate(model: str, input_path: str | None, out_path: str | None, data: str | None = None,
             samples: int | None = None, report_dir: str | None = None) -> None:
    """Run MODEL in the reference simulator on an input array or a labelled dataset.

    A compiled (quantized) model runs in the integer golden model (the arithmetic every
    backend matches bit for bit); float inputs are quantized by the model's own input
    quantization first.
    """
    from snnc.compiler.errors import FormatError
    from snnc.compiler.ir import simulate as sim
    from snnc.compiler.ir.qnodes import is_quantized
    from snnc.compiler.ir.serialize import atomic_write

    if (input_path is None) == (data is None):
        raise SnncError("pass exactly one of --input ARRAY and --data DATASET")
    g = load_model(model)
    quantized = is_quantized(g)
    ds = None
    if data is not None:
        from snnc.compiler.data import for_graph, load_data

        ds = for_graph(load_data(data), g).take(samples)
        inputs: Any = ds.x
    else:
        ip = Path(str(input_path))
        if not ip.exists():
            raise FormatError("no such file", ip)
        try:
            arr = np.load(ip, allow_pickle=False)
            inputs = dict(arr) if isinstance(arr, np.lib.npyio.NpzFile) else arr
        except (ValueError, OSError, EOFError) as e:
            raise FormatError(f"cannot read input array ({e})", ip) from None
    if quantized:
        from snnc.compiler.ir.interpret_int import quantize_inputs, simulate_int

        as_dict = inputs if isinstance(inputs, dict) else {g.inputs[0]: inputs}
        if all(np.asarray(v).dtype.kind in "iub" for v in as_dict.values()) and ds is None:
            q = as_dict  # already the integers the compiled model is fed
        else:
            q = quantize_inputs(g, {k: np.asarray(v, np.float64) for k, v in as_dict.items()})
        res = simulate_int(g, q)
    else:
        res = sim(g, inputs if isinstance(inputs, dict) else np.asarray(inputs, np.float64))
    if out_path:
        atomic_write(out_path, lambda f: np.savez(f, **res.outputs))
        click.echo(out_path)
    if ds is not None:
        from snnc.compiler.data import predictions, score, score_markdown

        out = np.concatenate([res.outputs[n].reshape(len(ds), ds.steps, -1)
                              for n in g.outputs], axis=2)
        sim_kind = "integer golden model" if quantized else "float simulator"
        sc = score(predictions(out), ds.y, ds.classes, n_classes=out.shape[2])
        sc["simulator"], sc["data"] = sim_kind, ds.source
        _write_scores(sc, report_dir, f"{g.name} ({sim_kind})")
        if not out_path:
            click.echo(score_markdown(sc, f"{g.name} on {ds.source} ({sim_kind})"))
        return
    if not out_path:
        for name, y in res.outputs.items():
            pred = np.argmax(y[:, -1].reshape(y.shape[0], -1), axis=1)
            click.echo(json.dumps({"output": name, "shape": list(y.shape),
                                   "argmax_last_step": pred.tolist()}))


from snnc.compiler.cli_compile import make_compile_command  # noqa: E402
from snnc.targets import registry  # noqa: E402  (the targets: compile choices, devices)

main.add_command(make_compile_command(registry))

from snnc.targets.fit.cli import fit_cmd  # noqa: E402  (snnc fit)

main.add_command(fit_cmd)


# ------------------------------------------------------------ device targets (flash, bench)


def _device_options(f: Any) -> Any:
    """Options shared by `snnc flash` and `snnc bench`."""
    opts = [
        click.option("--device", default=None,
                     help="Where to run (default: the target's first device): "
                          + registry.device_help() + "."),
        click.option("--target", "target", type=click.Choice(registry.list_targets()),
                     default=None,
                     help="Device target (default: the build's manifest, else the first "
                          "target that has --device)."),
        click.option("--profile", default=None,
                     help="Preset (default: the build's, else the target's first): "
                          + registry.profile_help() + "."),
        click.option("--model", "model", type=click.Path(dir_okay=False), default=None,
                     help="The .snn the build came from (default: the build's own .snn)."),
        click.option("--inputs", "inputs", type=click.Path(dir_okay=False), default=None,
                     help="Device inputs .npy [samples, steps, ...] (default: the model's test data)."),
        click.option("--samples", type=int, default=None,
                     help="Test cases to run, evenly spaced (default: all of --data; 8 of the "
                          "model's own test file)."),
        click.option("--known-hosts", type=click.Path(dir_okay=False), default=None,
                     help="ssh devices: known_hosts file to check the board's host key against."),
        click.option("--identity", type=click.Path(dir_okay=False), default=None,
                     help="ssh devices: private key file."),
    ]
    for o in reversed(opts):
        f = o(f)
    f = _data_options(f)
    return click.argument("build", type=click.Path())(f)


def _data_options(f: Any) -> Any:
    """--data / --report: the user's labelled float data and where the accuracy report goes
    (snnc.compiler.data is the convention)."""
    f = click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
                     help="Write accuracy.json, accuracy.md and accuracy_confusion.png "
                          "(predictions, per-class table, confusion matrix) here.")(f)
    return click.option("--data", "data", type=click.Path(dir_okay=False), default=None,
                        help="Float test data: .npz (x [N, T, C] float, y [N] int), UEA/UCR "
                             ".ts or .csv; quantized for a compiled model (default: the "
                             "model's own test file; see docs/own_data.md).")(f)


def _write_scores(scores: dict[str, Any] | None, report_dir: str | None, title: str) -> None:
    """Write the accuracy report files and say where (stderr)."""
    if report_dir is None or not scores:
        return
    from snnc.compiler.data import write_scores

    for p in write_scores(scores, report_dir, title=title):
        log.warning("wrote %s", p)


def _device_run(build: str, device: str, target: str | None, profile: str | None,
                model: str | None, inputs: str | None, samples: int | None,
                known_hosts: str | None, identity: str | None,
                data: str | None = None) -> tuple[Any, Any]:
    from snnc.targets.benchmark import prepare
    from snnc.targets.run import open_build

    # The run interface (targets/run.py); its DeviceRun carries the device's measurements.
    m = open_build(build, device, target, profile, in_process=False,
                   known_hosts=known_hosts, identity=identity)
    prep = prepare(m.build_dir, model=model, inputs=inputs, samples=samples, data=data)
    m.run(prep.x_dev)
    return prep, m.last


@main.command()
@_device_options
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write the device outputs [samples, steps, n_outputs] to this .npz.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Simulated chips: which chip (bench: the first of --chips seeds).")
def flash(build: str, device: str, target: str | None, profile: str | None, model: str | None,
          inputs: str | None, samples: int | None, known_hosts: str | None,
          identity: str | None, out_path: str | None, seed: int = 0, data: str | None = None,
          report_dir: str | None = None) -> None:
    """Build BUILD for a device target, flash it to DEVICE and run the test inputs.

    BUILD is a build directory (model.h, model.c, model.snn) or a compiled graph (.snn
    from `snnc compile`), whose C code is then generated into STEM_build/.
    """
    t, _, _ = registry.resolve(build, target, device)
    if t.flash is not None:  # the target's own flash (a simulated chip: program it)
        click.echo(t.flash(build=build, device=device, profile=profile, seed=seed,
                           out_path=out_path, samples=samples, data=data,
                           report_dir=report_dir))
        return
    from snnc.compiler.ir.serialize import atomic_write

    prep, run = _device_run(build, device, target, profile, model, inputs, samples,
                            known_hosts, identity, data)
    log.warning("ran %d samples x %d steps on %s (%s, %s)", run.n_samples, run.n_steps,
                run.device, run.target, run.profile)
    scores = _flash_scores(prep, run)
    _write_scores(scores, report_dir, f"{run.target} ({run.device})")
    if out_path:
        atomic_write(out_path, lambda f: np.savez(f, outputs=run.outputs))
        click.echo(out_path)
        return
    pred = np.argmax(run.outputs[:, -1], axis=1)
    rec = {"target": run.target, "profile": run.profile, "device": run.device,
           "binary": str(run.binary), "shape": list(run.outputs.shape),
           "argmax_last_step": pred.tolist()}
    if run.step_instructions is not None:
        rec["instructions_per_step_median"] = float(np.median(run.step_instructions))
    if scores is not None:
        if "accuracy" in scores:
            rec["accuracy"] = scores["accuracy"]
        rec.update({f"agreement_with_{k.replace(' ', '_')}": v["agreement"]
                    for k, v in scores.get("others", {}).items()})
    click.echo(json.dumps(rec))


def _flash_scores(prep: Any, run: Any) -> dict[str, Any] | None:
    """The device's accuracy report against the data's labels and the golden model."""
    if prep.graph is None or prep.data is None:
        return None
    from snnc.targets.benchmark import device_scores, reference_outputs

    ref, kind = reference_outputs(prep.graph, prep.x_dev)
    return device_scores(run, ref, kind, prep.data, prep.float_graph)


@main.command()
@_device_options
@click.option("--compare", is_flag=True,
              help="BUILD is a MODEL.snn: compare snnc C with onnxruntime, TVM, LiteRT and "
                   "the NumPy reference on this host (bench/compare.py).")
@click.option("--repeats", type=int, default=3, show_default=True,
              help="--compare: interleaved repeats over the samples.")
@click.option("--backends", default=None,
              help="--compare: comma-separated subset of snnc-c, snnc-c-loop, snnc-c-event, "
                   "onnxruntime, onnxruntime-scan, tvm, litert, numpy-reference.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the JSON report here.")
@click.option("--md", "md_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the Markdown report here.")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md",
              show_default=True, help="What to print on stdout.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Simulated chips: the first chip seed.")
@click.option("--chips", type=int, default=5, show_default=True,
              help="Simulated chips: chips (seeds) to average over; --samples 0 = the "
                   "whole test split.")
def bench(build: str, device: str, target: str | None, profile: str | None, model: str | None,
          inputs: str | None, samples: int | None, known_hosts: str | None,
          identity: str | None, json_path: str | None, md_path: str | None, fmt: str,
          compare: bool = False, repeats: int = 3, backends: str | None = None, seed: int = 0,
          chips: int = 5, data: str | None = None, report_dir: str | None = None) -> None:
    """Benchmark BUILD on DEVICE: latency, RAM/flash, SynOps, agreement and accuracy.

    With --compare, BUILD is a model (.snn) run side by side on this host through snnc C,
    onnxruntime, TVM, LiteRT and the NumPy reference (--device is not used).

    BUILD is a build directory or a compiled .snn (see `snnc flash`). Emulated devices
    count exact instructions (not cycles); boards report wall time.
    """
    if compare:
        from snnc.bench.compare import run_cli

        click.echo(run_cli(build, samples=8 if samples is None else samples,
                           repeats=repeats, backends=backends,
                           json_path=json_path, md_path=md_path, fmt=fmt))
        return
    t, _, _ = registry.resolve(build, target, device)
    if t.bench is not None:  # the target's own bench (simulated chips: accuracy over chips)
        click.echo(t.bench(build=build, device=device, profile=profile, seed=seed,
                           chips=chips, samples=samples, json_path=json_path,
                           md_path=md_path, fmt=fmt, data=data, report_dir=report_dir))
        return
    from snnc.targets.benchmark import _jsonable, bench_run, to_markdown, write_report

    prep, run = _device_run(build, device, target, profile, model, inputs, samples,
                            known_hosts, identity, data)
    rep = bench_run(run, prep.graph, prep.data, prep.x_dev, prep.float_graph)
    write_report(rep, json_path, md_path)
    _write_scores(rep.get("scores"), report_dir, f"{run.target} ({run.device})")
    click.echo(json.dumps(rep, indent=2, default=_jsonable) if fmt == "json" else to_markdown(rep))


# ------------------------------------------------------------ untrusted paths and inputs
# Every command's path options are checked here, in one place, before the command runs
# (snnc.compiler.untrusted, docs/security.md): input files must be regular files (a FIFO
# would hang), input arrays numeric with sizes consistent with the file and finite
# (unless --allow-nonfinite), and no output may overwrite an input, be a directory or
# go under /proc, /sys or /dev.
_IN_FILES = ("model", "src", "input_path", "inputs", "data", "calib", "known_hosts",
             "identity")
_IN_ARRAYS = ("input_path", "inputs")
_OUT_FILES = ("out_path", "dst", "json_path", "md_path")
_OUT_DIRS = ("report_dir", "dump_ir")
_NONFINITE_COMMANDS = ("simulate", "flash", "bench")


def _guard_paths(cmd: click.Command) -> None:
    import functools

    flag = {p.name: (p.opts[0] if p.opts and p.param_type_name == "option"
                     else (p.name or "").upper()) for p in cmd.params}
    inner = cmd.callback
    if inner is None:
        return

    @functools.wraps(inner)
    def checked(*args: Any, **kw: Any) -> Any:
        from snnc.compiler import untrusted as u

        ins = [kw.get(k) for k in _IN_FILES + ("build",) if isinstance(kw.get(k), str)]
        for k in _IN_FILES:
            if isinstance(kw.get(k), str):
                u.input_file(kw[k], flag.get(k, k))
        b = kw.get("build")
        if isinstance(b, str) and Path(b).exists() and not Path(b).is_dir():
            u.input_file(b, "BUILD")
        for k in _IN_ARRAYS:
            if isinstance(kw.get(k), str):
                allow = click.get_current_context().meta.get("snnc.allow_nonfinite", False)
                u.check_finite(u.load_array(kw[k], flag.get(k, k)), f"{flag.get(k, k)} "
                               f"{kw[k]}", allow)
        for k in _OUT_FILES:
            if isinstance(kw.get(k), str):
                u.output_path(kw[k], *ins)
        for k in _OUT_DIRS:
            if isinstance(kw.get(k), str):
                u.output_dir(kw[k], *ins)
        dev = kw.get("device")
        if isinstance(dev, str) and dev.startswith("ssh://"):  # strict parse, before any work
            from snnc.targets.ssh import SshDevice

            SshDevice.parse(dev, kw.get("known_hosts"), kw.get("identity"))
        return inner(*args, **kw)

    cmd.callback = checked
    if cmd.name in _NONFINITE_COMMANDS:
        cmd.params.append(click.Option(
            ["--allow-nonfinite"], is_flag=True, expose_value=False,
            callback=lambda ctx, _p, v: ctx.meta.__setitem__("snnc.allow_nonfinite", v),
            help="Run on inputs holding NaN/inf (default: refused, naming the first)."))


for _cmd in main.commands.values():
    _guard_paths(_cmd)


if __name__ == "__main__":
    main()
