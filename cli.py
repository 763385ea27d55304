"""The ``snnc`` command line: a thin layer over the Python API.

Artifacts and results go to stdout or ``-o``; logs go to stderr (``-v`` for more).
User errors (:class:`compiler.errors.SnncError`) print one line and exit 1; click's
usage errors exit 2. No command leaves a partial output file behind.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
import numpy as np

from compiler import __version__
from compiler.errors import SnncError

log = logging.getLogger("snnc")


class SnncGroup(click.Group):
    """Turns SnncError into a one-line message and exit code 1 (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SnncError as e:
            click.echo(f"snnc: error: {e}", err=True)
            ctx.exit(1)


@click.group(cls=SnncGroup)
@click.version_option(__version__, prog_name="snnc")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv: debug).")
def main(verbose: int) -> None:
    """snnc: compile spiking neural networks for edge devices."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="snnc: %(message)s")


def load_model(path: str | Path) -> Any:
    """Load a model by extension: ``.snn`` (snnc) or ``.nir``/``.h5`` (NIR)."""
    from compiler.errors import FormatError
    from compiler.ir import load

    p = Path(path)
    if not p.exists():
        raise FormatError("no such file", p)
    if p.suffix in (".nir", ".h5", ".hdf5"):
        from compiler.frontend.nir import import_nir

        return import_nir(p)
    if p.suffix == ".snn":
        return load(p)
    raise FormatError(f"unknown model format '{p.suffix}' (expected .snn or .nir)", p)


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect(model: str, as_json: bool) -> None:
    """Show the nodes, shapes, parameter/synapse counts and a memory estimate of MODEL."""
    from compiler.ir.summary import summarize, format_summary

    g = load_model(model)
    from compiler.ir import verify

    verify(g)
    s = summarize(g)
    click.echo(json.dumps(s, indent=2) if as_json else format_summary(s))


@main.command()
@click.argument("src", type=click.Path(dir_okay=False))
@click.argument("dst", type=click.Path(dir_okay=False))
@click.option("--dt", type=float, default=None, help="Time step (s) for NIR import.")
@click.option("--discretization", type=click.Choice(["exact", "euler", "bitshift"]),
              default=None, help="How NIR's continuous time constants become decays.")
def convert(src: str, dst: str, dt: float | None, discretization: str | None) -> None:
    """Convert between NIR (.nir) and snnc (.snn) files."""
    from compiler.errors import FormatError
    from compiler.ir import save, verify

    s, d = Path(src), Path(dst)
    if not s.exists():
        raise FormatError("no such file", s)
    if s.suffix in (".nir", ".h5", ".hdf5"):
        from compiler.frontend.nir import import_nir

        kw = {k: v for k, v in (("dt", dt), ("discretization", discretization)) if v}
        g = import_nir(s, **kw)
    else:
        g = load_model(s)
    verify(g)
    if d.suffix == ".snn":
        save(g, d)
    elif d.suffix in (".nir", ".h5", ".hdf5"):
        from compiler.frontend.nir import write_nir

        write_nir(g, d)
    else:
        raise FormatError(f"unknown output format '{d.suffix}' (expected .snn or .nir)", d)
    log.info("wrote %s", d)
    click.echo(str(d))


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--input", "input_path", required=True, type=click.Path(dir_okay=False),
              help="Input array .npy, shape [batch, T, ...] (or .npz keyed by input node).")
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Write outputs to this .npz (default: print predictions).")
def simulate(model: str, input_path: str, out_path: str | None) -> None:
    """Run MODEL in the reference simulator on an input array."""
    from compiler.errors import FormatError
    from compiler.ir import simulate as sim
    from compiler.ir.serialize import atomic_write

    g = load_model(model)
    ip = Path(input_path)
    if not ip.exists():
        raise FormatError("no such file", ip)
    try:
        data = np.load(ip, allow_pickle=False)
        inputs = dict(data) if isinstance(data, np.lib.npyio.NpzFile) else data
    except (ValueError, OSError, EOFError) as e:
        raise FormatError(f"cannot read input array ({e})", ip) from None
    res = sim(g, inputs)
    if out_path:
        atomic_write(out_path, lambda f: np.savez(f, **res.outputs))
        click.echo(out_path)
    else:
        for name, y in res.outputs.items():
            pred = np.argmax(y[:, -1].reshape(y.shape[0], -1), axis=1)
            click.echo(json.dumps({"output": name, "shape": list(y.shape),
                                   "argmax_last_step": pred.tolist()}))


if __name__ == "__main__":
    main()
