"""Compile-time benchmark: ``snnc compile`` wall time and emit + build of large layers.

    python -m snnc.bench.compile_time [--repeats 5] [--sizes 1,2,4]

Writes ``bench/results/compile_time.{json,md}``:

- L2MU (``models/l2mu/l2mu.snn``) compiled by the CLI in a fresh process for the
  smartwatch, host and rpi targets: median (and min/max) wall seconds of ``--repeats``
  runs with a cold cache (a new, empty ``XDG_CACHE_HOME`` per run: runtime objects and the
  fit footprint are rebuilt) and with a warm one (one untimed run first).
- One int8 dense layer of k million synapses (k x 1000 inputs -> 1000 LIF): seconds to
  emit model.c/model.h and to compile model.c with ``arm-none-eabi-gcc -O2 -c``, and the
  per-million slope of a least-squares line through them. The IR caps a tensor at
  ``MAX_ELEMENTS`` = 2^22 (~4.19M) elements, so 4M synapses in one layer is the largest
  measurable; 10M would need several layers.

Wall times depend on the machine and its load: the 1-minute load average is recorded
before each group.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
MODEL = ROOT / "models" / "l2mu" / "l2mu.snn"
TARGETS = ("smartwatch", "host", "rpi")


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _cli_once(target: str, out: Path, cache: Path) -> float:
    """Wall seconds of one ``snnc compile`` in a fresh interpreter; SystemExit on failure."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    cmd = [sys.executable, "-m", "snnc.cli", "compile", str(MODEL), "--target", target,
           "-o", str(out)]
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()[-300:]}")
    return dt


def _stats(ts: list[float]) -> dict[str, Any]:
    return {"median_s": round(float(np.median(ts)), 3), "min_s": round(min(ts), 3),
            "max_s": round(max(ts), 3), "runs": len(ts)}


def cli_rows(work: Path, repeats: int) -> list[dict[str, Any]]:
    """L2MU through the CLI per target, cold and warm cache."""
    rows = []
    for t in TARGETS:
        row: dict[str, Any] = {"target": t}
        try:
            _log(f"L2MU -> {t}: {repeats} cold-cache runs")
            row["load_before"] = _load()
            cold = []
            for i in range(repeats):
                cache = work / f"cache-{t}-{i}"
                cold.append(_cli_once(t, work / f"out-{t}", cache))
                shutil.rmtree(cache, ignore_errors=True)
            _log(f"L2MU -> {t}: {repeats} warm-cache runs")
            warm_cache = work / f"cache-{t}-warm"
            _cli_once(t, work / f"out-{t}", warm_cache)  # fill the cache, untimed
            warm = [_cli_once(t, work / f"out-{t}", warm_cache) for _ in range(repeats)]
            row.update(cold=_stats(cold), warm=_stats(warm), load_after=_load())
        except RuntimeError as e:
            row["error"] = str(e)
        rows.append(row)
    return rows


def dense_rows(work: Path, sizes: tuple[int, ...]) -> dict[str, Any]:
    """Emit + ``arm-none-eabi-gcc -O2 -c`` of one k-million-synapse int8 layer."""
    import resource

    from snnc.bench.kernels import layer_graph
    from snnc.compiler.codegen.c import emit_c
    from snnc.compiler.ir.verify import MAX_ELEMENTS
    from snnc.targets.smartwatch.build import CC, RUNTIME_DIR
    from snnc.targets.smartwatch.profile import get_profile

    flags = [*get_profile().cflags(), "-O2", "-std=c99", f"-I{RUNTIME_DIR / 'include'}"]
    rows = []
    for k in sizes:
        n_in = k * 1000 if k * 1000 * 1000 <= MAX_ELEMENTS else MAX_ELEMENTS // 1000
        _log(f"dense layer {n_in}x1000 ({n_in * 1000:,} synapses)")
        g = layer_graph(n_in, 1000, 0.0, seed=k)
        load = _load()
        t0 = time.perf_counter()
        d = emit_c(g).write(work / f"dense{k}")
        t1 = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        subprocess.run([CC, *flags, f"-I{d}", "-c", str(d / "model.c"), "-o",
                        str(d / "model.o")], check=True)
        t2 = time.perf_counter()
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before
        rows.append({"synapses": n_in * 1000, "emit_s": round(t1 - t0, 3),
                     "cc_wall_s": round(t2 - t1, 3), "cc_cpu_s": round(cpu, 3),
                     "total_s": round(t2 - t0, 3),
                     "model_c_bytes": (d / "model.c").stat().st_size, "load_before": load})
        shutil.rmtree(d, ignore_errors=True)
    m = np.array([r["synapses"] / 1e6 for r in rows])
    fit = {}
    for key in ("emit_s", "cc_wall_s", "total_s"):
        y = np.array([r[key] for r in rows])
        if len(rows) >= 2:
            slope, icpt = np.polyfit(m, y, 1)
            fit[key] = {"per_million_s": round(float(slope), 3),
                        "intercept_s": round(float(icpt), 3)}
    return {"rows": rows, "fit": fit, "max_elements": MAX_ELEMENTS}


def to_markdown(res: dict[str, Any]) -> str:
    """The two tables."""
    lines = ["# Compile time", "",
             f"`python -m snnc.bench.compile_time` on {res['machine']} ({res['cpus']} CPUs), "
             f"{res['date']}. Wall seconds; the 1-minute load average is noted because the "
             "machine is shared.", "",
             "## L2MU through the CLI (`snnc compile models/l2mu/l2mu.snn --target T -o DIR`)",
             "",
             "Fresh process per run. Cold: empty `XDG_CACHE_HOME` (runtime objects and the "
             "fit footprint rebuilt); warm: after one untimed run.", "",
             "| target | cold median s (min-max) | warm median s (min-max) | runs | load "
             "before/after |", "| --- | ---: | ---: | ---: | --- |"]
    for r in res["cli"]:
        if "error" in r:
            lines.append(f"| {r['target']} | error: {r['error'][:120]} | | | |")
            continue
        c, w = r["cold"], r["warm"]
        lines.append(f"| {r['target']} | {c['median_s']} ({c['min_s']}-{c['max_s']}) | "
                     f"{w['median_s']} ({w['min_s']}-{w['max_s']}) | {c['runs']} | "
                     f"{r['load_before']}/{r['load_after']} |")
    d = res["dense"]
    lines += ["", "## One int8 dense layer: emit + `arm-none-eabi-gcc -O2 -c model.c`", "",
              f"The IR caps a tensor at {d['max_elements']:,} elements (2^22), so one layer "
              "tops out at ~4.19M synapses; the 4M row is that layer. 10M was not measured "
              "(it needs several layers); the slope below is the extrapolation basis. One "
              "run per size (not a median).", "",
              "| synapses | model.c bytes | emit s | gcc wall s | gcc CPU s | total s | load |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in d["rows"]:
        lines.append(f"| {r['synapses']:,} | {r['model_c_bytes']:,} | {r['emit_s']} | "
                     f"{r['cc_wall_s']} | {r['cc_cpu_s']} | {r['total_s']} | "
                     f"{r['load_before']} |")
    if d["fit"]:
        lines += ["", "Least-squares line (seconds = slope x millions + intercept): " + "; ".join(
            f"{k} {v['per_million_s']} s/M + {v['intercept_s']} s" for k, v in d["fit"].items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run both groups and write bench/results/compile_time.{json,md}."""
    import platform

    from snnc.compiler.ir.serialize import atomic_write

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", default="1,2,4", help="layer sizes in millions of synapses")
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    sizes = tuple(int(s) for s in a.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="snnc-ctime-") as td:
        work = Path(td)
        res = {"machine": platform.machine(), "cpus": os.cpu_count(),
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "cli": cli_rows(work, a.repeats), "dense": dense_rows(work, sizes)}
    a.out.mkdir(parents=True, exist_ok=True)
    atomic_write(a.out / "compile_time.json", lambda f: f.write(json.dumps(res, indent=1)),
                 mode="w")
    atomic_write(a.out / "compile_time.md", lambda f: f.write(to_markdown(res)), mode="w")
    print(to_markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
