"""Compile-time benchmark: ``snnc compile`` wall time and emit + build of large models.

    python -m snnc.bench.compile_time [--repeats 5] [--sizes 1,2,4,8,10] [--size-repeats 3]

Writes ``bench/results/compile_time.{json,md,png}``:

- L2MU (``models/l2mu/l2mu.snn``) compiled by the CLI in a fresh process for the
  smartwatch, host and rpi targets: median (and min/max) wall seconds and the CPU seconds
  (user + system, the process and its compilers) of ``--repeats`` runs with a cold cache
  (a new, empty ``XDG_CACHE_HOME`` per run: the runtime objects the model needs, the
  empty size probe and the fit footprint are rebuilt, as on a fresh machine) and with a
  warm one (one untimed run first). Python bytecode is allowed and written beforehand (pip
  compiles it at install time), so "cold" is snnc's caches, not CPython's.
- Int8 models of k million synapses (spikes -> int8 layers -> LIF): median seconds of
  ``--size-repeats`` runs to emit the build directory (model.c/model.h and the weight
  files, :func:`snnc.compiler.codegen.c.write_c`) and to build it with
  ``arm-none-eabi-gcc -O2 -c model.c`` (weights of >= 64 KiB are ``.incbin`` files the
  assembler copies, compiler/codegen/cgen.py), the seconds of a linked host build of the
  same directory (``snnc.targets.host.build``), and least-squares lines through them.
  The IR caps a tensor at ``MAX_ELEMENTS`` = 2^22 (~4.19M) elements, so models above 4M
  synapses have several layers of 2000 x 2000 (4M) and a smaller last one.

Wall times depend on the machine and its load: the 1-minute load average is recorded
before each group, CPU seconds beside wall seconds.
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


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["XDG_CACHE_HOME"] = str(cache)
    return env


def _cli_once(target: str, out: Path, cache: Path) -> tuple[float, float]:
    """Wall and CPU seconds (user + system of the process and its children) of one
    ``snnc compile`` in a fresh interpreter; RuntimeError on failure."""
    import resource

    cmd = [sys.executable, "-m", "snnc.cli", "compile", str(MODEL), "--target", target,
           "-o", str(out)]
    shutil.rmtree(out, ignore_errors=True)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=_env(cache))
    dt = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip()[-300:]}")
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return dt, cpu


def _stats(ts: list[float]) -> dict[str, Any]:
    return {"median_s": round(float(np.median(ts)), 3), "min_s": round(min(ts), 3),
            "max_s": round(max(ts), 3), "runs": len(ts)}


def _timed(runs: list[tuple[float, float]]) -> dict[str, Any]:
    return {**_stats([w for w, _ in runs]),
            "cpu_median_s": round(float(np.median([c for _, c in runs])), 3)}


def cli_rows(work: Path, repeats: int, targets: tuple[str, ...] = TARGETS
             ) -> list[dict[str, Any]]:
    """L2MU through the CLI per target, cold and warm cache."""
    rows = []
    _cli_once("smartwatch", work / "out-pyc", work / "cache-pyc")  # writes the bytecode
    for t in targets:
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
            row.update(cold=_timed(cold), warm=_timed(warm))
            if t == "smartwatch":  # the edit-compile loop: a model the cache has not seen
                _log(f"L2MU -> {t}: {repeats} runs with a warm cache minus the model")
                new = []
                for _ in range(repeats):
                    for p in [*(warm_cache / "snnc" / "fit").glob("*.json"),
                              *(warm_cache / "snnc" / "obj").glob("model-*.o")]:
                        p.unlink()
                    new.append(_cli_once(t, work / f"out-{t}", warm_cache))
                row["new_model"] = _timed(new)
            row["load_after"] = _load()
        except RuntimeError as e:
            row["error"] = str(e)
        rows.append(row)
    return rows


def synapse_graph(millions: int, seed: int = 0):  # type: ignore[no-untyped-def]
    """Spikes -> int8 layers of ``millions`` x 10^6 synapses in total -> LIF -> counts
    (about a sixth of the neurons spike at 20% input activity):
    2000 x 2000 layers (4M each) and a last one of 2000 x (remaining / 2000) outputs."""
    from snnc.compiler.ir.graph import Graph
    from snnc.compiler.ir.nodes import Output, SpikeCountArgmax
    from snnc.compiler.ir.qnodes import QLIF, QInput, QLinear
    from snnc.compiler.ir.verify import verify

    r = np.random.default_rng(seed)
    width, left, widths = 2000, millions * 10**6, [2000]
    while left > 0:
        n_out = min(width, left // width)
        widths.append(n_out)
        left -= n_out * width
    nodes: dict[str, Any] = {"x": QInput((widths[0],), dtype="spike", bits=1)}
    edges, prev = [], "x"
    for i, (n_in, n_out) in enumerate(zip(widths, widths[1:])):
        nodes[f"fc{i}"] = QLinear(r.integers(-127, 128, (n_out, n_in), dtype=np.int8),
                                  mult=np.array(1 << 30, np.int32),
                                  shift=np.array(32, np.int32))
        nodes[f"lif{i}"] = QLIF((n_out,), beta_q=np.array(29491, np.int32),
                                thr_q=np.array(400, np.int32))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    nodes["count"] = SpikeCountArgmax((widths[-1],))
    nodes["y"] = Output((widths[-1],))
    edges += [(prev, "count"), ("count", "y")]
    return verify(Graph(nodes=nodes, edges=edges, name=f"syn{millions}m"))


def dense_rows(work: Path, sizes: tuple[int, ...], repeats: int = 3) -> dict[str, Any]:
    """Emit (write_c) + ``arm-none-eabi-gcc -O2 -c model.c`` of k-million-synapse models."""
    import resource

    from snnc.compiler.codegen.c import write_c
    from snnc.compiler.ir.verify import MAX_ELEMENTS
    from snnc.targets import host
    from snnc.targets.smartwatch.build import CC, RUNTIME_DIR
    from snnc.targets.smartwatch.profile import get_profile

    flags = [*get_profile().cflags(), "-O2", "-std=c99", f"-I{RUNTIME_DIR / 'include'}"]
    rows = []
    for k in sizes:
        g = synapse_graph(k, seed=k)
        syn = sum(int(n.weight.size) for n in g.nodes.values() if hasattr(n, "weight"))
        layers = sum(1 for n in g.nodes.values() if hasattr(n, "weight"))
        _log(f"{syn:,} synapses in {layers} layer(s): {repeats} x emit + build")
        load = _load()
        emit, emit_cpu, cc, cpu, so = [], [], [], [], []
        for _ in range(repeats):
            d = work / f"syn{k}"
            shutil.rmtree(d, ignore_errors=True)
            c0 = time.process_time()
            t0 = time.perf_counter()
            m = write_c(g, d)
            t1 = time.perf_counter()
            emit_cpu.append(time.process_time() - c0)
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([CC, *flags, f"-I{d}", "-c", str(d / "model.c"), "-o",
                            str(d / "model.o")], check=True)
            t2 = time.perf_counter()
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            host.build(d)  # a linked artifact: model.c + harness -> shared library
            t3 = time.perf_counter()
            so.append(t3 - t2)
            emit.append(t1 - t0)
            cc.append(t2 - t1)
            cpu.append(ru1.ru_utime - ru0.ru_utime + ru1.ru_stime - ru0.ru_stime)
        e, c = float(np.median(emit)), float(np.median(cc))
        ec, cc_ = float(np.median(emit_cpu)), float(np.median(cpu))
        rows.append({"synapses": syn, "layers": layers, "emit_s": round(e, 3),
                     "emit_cpu_s": round(ec, 3), "cc_wall_s": round(c, 3),
                     "cc_cpu_s": round(cc_, 3), "total_s": round(e + c, 3),
                     "total_cpu_s": round(ec + cc_, 3),
                     "host_so_s": round(float(np.median(so)), 3), "runs": repeats,
                     "model_c_bytes": (d / "model.c").stat().st_size,
                     "blob_files": len(m.blobs),
                     "blob_bytes": sum(len(b) for b in m.blobs.values()),
                     "object_bytes": (d / "model.o").stat().st_size, "load_before": load})
        shutil.rmtree(d, ignore_errors=True)
    m_ = np.array([r["synapses"] / 1e6 for r in rows])
    fit = {}
    for key in ("emit_s", "cc_wall_s", "total_s", "total_cpu_s", "host_so_s"):
        y = np.array([r[key] for r in rows])
        if len(rows) >= 2:
            slope, icpt = np.polyfit(m_, y, 1)
            pred = slope * m_ + icpt
            ss = float(np.sum((y - y.mean()) ** 2))
            fit[key] = {"per_million_s": round(float(slope), 4),
                        "intercept_s": round(float(icpt), 3),
                        "r2": round(1 - float(np.sum((y - pred) ** 2)) / ss, 4) if ss else None}
    return {"rows": rows, "fit": fit, "max_elements": MAX_ELEMENTS}


def plot(res: dict[str, Any], path: Path) -> None:
    """Seconds vs millions of synapses (emit, build, total) with the fitted line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = res["dense"]["rows"]
    m = np.array([r["synapses"] / 1e6 for r in rows])
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("emit_s", "emit (write_c)"), ("cc_wall_s", "arm-none-eabi-gcc -O2 -c"),
                       ("total_s", "emit + build"), ("total_cpu_s", "emit + build, CPU"),
                       ("host_so_s", "host shared library (compile + link)")):
        ax.plot(m, [r[key] for r in rows], "o-", label=label)
    f = res["dense"]["fit"].get("total_s")
    if f:
        xs = np.linspace(0, m.max(), 50)
        ax.plot(xs, f["per_million_s"] * xs + f["intercept_s"], ":", color="gray",
                label=f"fit: {f['per_million_s']:.3f} s/M + {f['intercept_s']:.3f} s")
    ax.axhline(1.0, color="red", lw=0.8, ls="--", label="goal at 1M: 1 s")
    ax.set_xlabel("synapses (millions)")
    ax.set_ylabel("seconds (median)")
    ax.set_title(f"snnc emit + build, int8 ({res['date']}, load {rows[0]['load_before']})",
                 fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def to_markdown(res: dict[str, Any]) -> str:
    """The two tables."""
    lines = ["# Compile time", "",
             f"`{res['command']}` on {res['machine']} ({res['cpus']} CPUs), "
             f"{res['date']}. Wall seconds (median of the runs) and CPU seconds (user + "
             "system of snnc and the compilers it runs); the 1-minute load average is noted "
             "because the machine is shared. With a load above the 2 CPUs, wall time is "
             "mostly waiting for a CPU: the CPU seconds (and the minimum wall time) are the "
             "better estimate of an idle machine; the compile overlaps its compiler runs "
             "with its own Python work, so on 2 idle CPUs wall can be below CPU.", "",
             "## L2MU through the CLI (`snnc compile models/l2mu/l2mu.snn --target T -o DIR`)",
             "",
             "Fresh process per run, Python bytecode already written (as after `pip "
             "install`). Cold: an empty `XDG_CACHE_HOME` per run, as on a fresh machine: the "
             "runtime objects the model references, the empty size probe and the model's "
             "footprint are built (smartwatch: compile model.c, the runtime files it needs, "
             "link the size probe); warm: after one untimed run (objects and footprint "
             "reused; an unchanged model links nothing); new model (smartwatch): the warm "
             "cache without the model's object and footprint, i.e. a model this machine "
             "has not compiled before (model.c compiled and the size probe linked; the "
             "runtime, startup and empty-probe parts reused): also what the first compile "
             "costs after `scripts/setup.sh`'s warm-up (`python -m "
             "snnc.targets.smartwatch.build --warm-cache`).", "",
             "| target | cold median s (min-max) | cold CPU s | warm median s (min-max) | "
             "warm CPU s | new model median s (min-max) | new model CPU s | runs | "
             "load before/after |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in res["cli"]:
        if "error" in r:
            lines.append(f"| {r['target']} | error: {r['error'][:120]} | | | | | | | |")
            continue
        c, w, n = r["cold"], r["warm"], r.get("new_model")
        nm = (f"{n['median_s']} ({n['min_s']}-{n['max_s']}) | {n['cpu_median_s']}" if n
              else "- | -")
        lines.append(f"| {r['target']} | {c['median_s']} ({c['min_s']}-{c['max_s']}) | "
                     f"{c['cpu_median_s']} | {w['median_s']} ({w['min_s']}-{w['max_s']}) | "
                     f"{w['cpu_median_s']} | {nm} | {c['runs']} | "
                     f"{r['load_before']}/{r['load_after']} |")
    d = res["dense"]
    lines += ["", "## Int8 models: emit + `arm-none-eabi-gcc -O2 -c model.c`", "",
              f"Spikes -> int8 layers -> LIF -> counts. The IR caps a tensor at "
              f"{d['max_elements']:,} elements (2^22), so above 4M synapses the model has "
              "several layers (2000 x 2000 each, then a smaller one). Weight tables of >= 64 "
              "KiB are binary files the assembler includes (`.incbin`), so gcc parses only "
              "the code. Medians of the runs; gcc CPU is user + system. Host .so: "
              "`snnc.targets.host.build` of the same directory (model.c and the harness "
              "compiled with the host profile's flags and linked with the cached runtime "
              "into a shared library), a complete linked artifact.", "",
              "| synapses | layers | model.c bytes | weight files (bytes) | emit s | emit CPU s "
              "| gcc wall s | gcc CPU s | emit + build s | emit + build CPU s | host .so s | runs "
              "| load |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
              "| ---: | ---: |"]
    for r in d["rows"]:
        lines.append(f"| {r['synapses']:,} | {r['layers']} | {r['model_c_bytes']:,} | "
                     f"{r['blob_files']} ({r['blob_bytes']:,}) | {r['emit_s']} | "
                     f"{r['emit_cpu_s']} | {r['cc_wall_s']} | {r['cc_cpu_s']} | "
                     f"{r['total_s']} | {r['total_cpu_s']} | {r['host_so_s']} | {r['runs']} | "
                     f"{r['load_before']} |")
    if d["fit"]:
        lines += ["", "Least-squares line (seconds = slope x millions + intercept, R^2): "
                  + "; ".join(f"{k} {v['per_million_s']} s/M + {v['intercept_s']} s "
                              f"(R^2 {v['r2']})" for k, v in d["fit"].items()),
                  "", "![emit + build time vs synapses](compile_time.png)"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run both groups and write bench/results/compile_time.{json,md,png}."""
    import platform

    from snnc.compiler.ir.serialize import atomic_write

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes", default="1,2,4,8,10",
                    help="model sizes in millions of synapses")
    ap.add_argument("--size-repeats", type=int, default=3)
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    sizes = tuple(int(s) for s in a.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="snnc-ctime-") as td:
        work = Path(td)
        res = {"command": "python -m snnc.bench.compile_time "
                          + " ".join(argv if argv is not None else sys.argv[1:]),
               "machine": platform.machine(), "cpus": os.cpu_count(),
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "cli": cli_rows(work, a.repeats, tuple(a.targets.split(","))),
               "dense": dense_rows(work, sizes, a.size_repeats)}
    res["command"] = res["command"].strip()
    a.out.mkdir(parents=True, exist_ok=True)
    atomic_write(a.out / "compile_time.json", lambda f: f.write(json.dumps(res, indent=1)),
                 mode="w")
    atomic_write(a.out / "compile_time.md", lambda f: f.write(to_markdown(res)), mode="w")
    if len(res["dense"]["rows"]) >= 2:
        tmp = a.out / ".compile_time.tmp.png"
        plot(res, tmp)
        tmp.replace(a.out / "compile_time.png")
    print(to_markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
