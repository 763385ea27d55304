"""``snnc fit``: the fastest (or smallest, lowest-energy) build of a model that fits a
device within an accuracy budget.

    snnc fit MODEL --target T [--profile P] --data VAL.npz --max-accuracy-drop 1.0
             --objective instructions|ram|flash|energy|latency -o DIR
             [--workers N | --ray auto|ADDRESS] [--max-points 64] [--seed 0]
             [--variant PRUNED.snn ...] [--set quantize=int8 ...]

Writes the chosen build into DIR (ready for ``snnc flash DIR``) with ``fit.json``,
``fit.md`` and ``front.png``; results are cached in ``DIR/.fit-cache`` (or ``--cache``)
so an interrupted sweep resumes. Method: docs/fit.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from snnc.compiler.errors import SnncError


def _parse_set(items: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items:
        if "=" not in it:
            raise SnncError(f"fit: --set expects name=value, got '{it}'")
        k, v = it.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except ValueError:
            out[k.strip()] = v  # a bare word (int8, global, ...)
    return out


@click.command("fit")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--target", required=True, help="Device target (smartwatch, rpi, mpsoc, host).")
@click.option("--profile", default=None, help="Board/MCU preset of the target (its limits "
              "are the constraints).")
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False),
              help="Validation data .npz: float x [N, T, C], int y [N].")
@click.option("--max-accuracy-drop", "max_drop", type=float, default=1.0, show_default=True,
              help="Accuracy points (%) the build may lose against the float model.")
@click.option("--objective", default="instructions", show_default=True,
              type=click.Choice(["instructions", "ram", "flash", "energy", "latency"]),
              help="Cost to minimize (the target must measure it).")
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False),
              help="Output directory: the chosen build + fit.json/fit.md/front.png.")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Local worker processes (0: one per CPU).")
@click.option("--ray", "ray", default=None,
              help="Run on Ray: 'auto' (RAY_ADDRESS, else a local head) or an address.")
@click.option("--max-points", type=int, default=64, show_default=True,
              help="Candidate points (the whole space when smaller).")
@click.option("--eta", type=int, default=3, show_default=True,
              help="Successive halving: keep 1/eta of the points per rung.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--cost-samples", type=int, default=4, show_default=True,
              help="Samples run on the device/emulator to measure cost.")
@click.option("--calib-samples", type=int, default=64, show_default=True,
              help="Calibration samples (the first of the shuffled data).")
@click.option("--variant", "variants", multiple=True, type=click.Path(dir_okay=False),
              help="Another float model to search over (e.g. a fine-tuned pruned one).")
@click.option("--set", "fixed", multiple=True, help="Pin a dimension: name=value.")
@click.option("--max-flash", default=None, help="Flash limit for the chosen build: bytes, or "
              "'default' (no more than the default int8 compile).")
@click.option("--max-ram", default=None, help="RAM limit for the chosen build: bytes, or "
              "'default'.")
@click.option("--cache", "cache", type=click.Path(file_okay=False), default=None,
              help="Result cache directory (default DIR/.fit-cache).")
def fit_cmd(model: str, target: str, profile: str | None, data: str, max_drop: float,
            objective: str, out: str, workers: int, ray: str | None, max_points: int,
            eta: int, seed: int, cost_samples: int, calib_samples: int,
            variants: tuple[str, ...], fixed: tuple[str, ...], cache: str | None,
            max_flash: str | None = None, max_ram: str | None = None) -> None:
    """Search bits, pruning, storage (per target) for the best build of MODEL on a device."""
    from snnc.compiler.frontend.load import load_model
    from snnc.compiler.ir import verify
    from snnc.targets.fit.engine import make_engine
    from snnc.targets.fit.report import summary_line, write_outputs
    from snnc.targets.fit.search import FitConfig, fit, load_data, make_state, target_space

    if max_points < 1 or cost_samples < 1 or calib_samples < 1:
        raise SnncError("fit: --max-points, --cost-samples and --calib-samples must be >= 1")
    if max_drop < 0:
        raise SnncError(f"fit: --max-accuracy-drop must be >= 0, got {max_drop}")
    graphs = {"base": verify(load_model(model))}
    for v in variants:
        name = Path(v).stem
        if name in graphs:
            raise SnncError(f"fit: two models named '{name}' (--variant {v})")
        graphs[name] = verify(load_model(v))
    limits: dict[str, Any] = {}
    for k, v in (("flash", max_flash), ("ram", max_ram)):
        if v is None:
            continue
        if v != "default" and not v.isdigit():
            raise SnncError(f"fit: --max-{k} takes a number of bytes or 'default', got '{v}'")
        limits[k] = v if v == "default" else int(v)
    x, y = load_data(data)
    cfg = FitConfig(target=target, profile=profile, objective=objective, max_drop=max_drop,
                    max_points=max_points, eta=eta, seed=seed, calib_samples=calib_samples,
                    cost_samples=cost_samples, fixed=_parse_set(fixed), limits=limits)
    outp = Path(out)
    if outp.exists() and not outp.is_dir():
        raise SnncError(f"{outp}: output must be a directory")
    res = fit(graphs, x, y, cfg, lambda st: make_engine(st, workers, ray),
              cache_dir=cache or outp / ".fit-cache")
    measure = target_space(graphs["base"], target, profile).measure
    state, _ = make_state(graphs, x, y, cfg, measure)
    write_outputs(res, state, outp)
    click.echo(summary_line(res), err=True)
    click.echo(str(outp))
