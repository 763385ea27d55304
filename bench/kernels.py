"""Kernel engine benchmark: instructions per SynOp / per dense MAC and whole networks on
the emulated Cortex-M4F (QEMU MPS2 AN386) and Cortex-A72 (qemu-aarch64).

``python -m snnc.bench.kernels [--steps N] [--out DIR]``

1. A 1000x1000 int8 layer over spikes into 1000 16-bit LIF neurons, at 0/50/90% weight
   sparsity (random mask), fed steps at 0, 1, 5, 10 and 100% input activity. The step
   costs of the activity-0 steps are the fixed part (neuron updates); instructions per
   SynOp = (step - fixed) / SynOps, SynOps = sum over the active inputs of their
   non-zero weights. "Per dense MAC" is the 0%-sparsity layer at 100% activity.
2. L2MU (models/l2mu/l2mu.snn, default pipeline, int8) and an N-MNIST-size recurrent
   network (2312 spike inputs -> 200 recurrent LIF -> 10 LIF, random int8 weights, ~5%
   input activity, dense and 90% sparse): instructions per step, model flash/RAM on the
   nRF52840 preset (ELF sections, model + runtime), whether it fits, bit-exactness
   against the integer golden model (compiler/ir/interpret_int.py) on both devices.

Instructions are exact guest instructions counted by the insncount QEMU plugin
(deterministic, load-independent), not cycles. Writes ``bench/results/kernels.json``,
``kernels.md`` and ``kernels.png``. Progress goes to stderr.

3. Compile time: emit + compile of 1M, 2M and 4M int8 synapses (graphs are capped at
   4M elements per tensor), and ``snnc compile``
   of L2MU for the smartwatch (wall seconds: not load-independent, see the table note).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ACTIVITY = (0.0, 0.01, 0.05, 0.10, 1.0)
SPARSITY = (0.0, 0.5, 0.9)
MIB = 1024 * 1024


def _log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def layer_graph(n_in: int, n_out: int, sparsity: float, seed: int = 0, shift: int = 36):
    """Spikes -> int8 QLinear [n_out, n_in] -> 16-bit QLIF -> spike counts (requantized
    by 2^30 / 2^shift: larger shifts, fewer spikes)."""
    from snnc.compiler.ir.graph import Graph
    from snnc.compiler.ir.nodes import Output, SpikeCountArgmax
    from snnc.compiler.ir.qnodes import QLIF, QInput, QLinear
    from snnc.compiler.ir.verify import verify

    r = np.random.default_rng(seed)
    w = r.integers(-127, 128, (n_out, n_in))
    w[r.random(w.shape) < sparsity] = 0
    return verify(Graph(
        nodes={
            "x": QInput((n_in,), dtype="spike", bits=1),
            "fc": QLinear(w.astype(np.int8), mult=np.array(1 << 30, np.int32),
                          shift=np.array(shift, np.int32)),
            "lif": QLIF((n_out,), beta_q=np.array(29491, np.int32),
                        thr_q=np.array(400, np.int32)),
            "count": SpikeCountArgmax((n_out,)),
            "y": Output((n_out,)),
        },
        edges=[("x", "fc"), ("fc", "lif"), ("lif", "count"), ("count", "y")],
        name=f"layer{n_in}x{n_out}_s{int(sparsity * 100)}"))


def nmnist_graph(sparsity: float, seed: int = 1):
    """2312 spike inputs -> 200 LIF (+ 200x200 recurrent) -> 10 LIF -> spike counts."""
    from snnc.compiler.ir.graph import Graph
    from snnc.compiler.ir.nodes import Output, SpikeCountArgmax
    from snnc.compiler.ir.qnodes import QLIF, QInput, QLinear
    from snnc.compiler.ir.verify import verify

    r = np.random.default_rng(seed)

    def w(shape: tuple[int, int]) -> np.ndarray:
        a = r.integers(-127, 128, shape)
        a[r.random(shape) < sparsity] = 0
        return a.astype(np.int8)

    sh = 33 if sparsity < 0.5 else 30  # keep the hidden layer firing at both densities
    return verify(Graph(
        nodes={
            "x": QInput((2312,), dtype="spike", bits=1),
            "fc1": QLinear(w((200, 2312)), mult=np.array(1 << 30, np.int32),
                           shift=np.array(sh, np.int32)),
            "rec": QLinear(w((200, 200)), mult=np.array(1 << 30, np.int32),
                           shift=np.array(sh, np.int32)),
            "h": QLIF((200,), beta_q=np.array(29491, np.int32), thr_q=np.array(120, np.int32)),
            "fc2": QLinear(w((10, 200)), mult=np.array(1 << 30, np.int32),
                           shift=np.array(31, np.int32)),
            "o": QLIF((10,), beta_q=np.array(29491, np.int32), thr_q=np.array(100, np.int32)),
            "count": SpikeCountArgmax((10,)),
            "y": Output((10,)),
        },
        edges=[("x", "fc1"), ("fc1", "h"), ("h", "rec"), ("rec", "h"), ("h", "fc2"),
               ("fc2", "o"), ("o", "count"), ("count", "y")],
        name=f"nmnist_rec_s{int(sparsity * 100)}"))


def storages(model_c: str) -> dict[str, str]:
    """Synapse layer -> the storage compiler/codegen/c_fused.py chose, read from the
    generated step function (the calls it emits per storage)."""
    import re

    found: dict[str, str] = {}
    for pat, kind in ((r"(\w+)_add_spikes\(s->acc_", "code"),
                      (r"snnc_ev_csc_\w+\(s->acc_(\w+?)[,.]", "csc"),
                      (r"snnc_ev_dense_i8x4(?:_wide)?\(s->acc_(\w+?)[,.]", "dense")):
        for m in re.finditer(pat, model_c):
            found[m.group(1)] = kind
    for k, v in found.items():  # the inputs beyond the flash budget stay CSC
        if v == "code" and f"{k}_csc_column(" in model_c:
            found[k] = "code+csc"
    return dict(sorted(found.items()))


def _run_both(graph, x: np.ndarray, work: Path, fit_profile: str | None = "nrf52840",
              time_cc: bool = False) -> dict[str, Any]:
    """Build for both emulated devices, run ``x`` [S, T, I]; counts, memory, exactness;
    with ``time_cc`` also the wall seconds of compiling model.c for the M4."""
    from snnc.compiler.errors import SnncError
    from snnc.targets.benchmark import compare, reference_outputs
    from snnc.targets.registry import write_build
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user
    from snnc.targets.smartwatch.build import build_firmware, check_fit
    from snnc.targets.smartwatch.profile import get_profile
    from snnc.targets.smartwatch.run import run_qemu

    ref, _ = reference_outputs(graph, x)
    bd = write_build("smartwatch", graph, work / graph.name)
    row: dict[str, Any] = {"storage": storages((bd / "model.c").read_text())}
    mem = None
    if fit_profile:
        try:
            mem = check_fit(bd, fit_profile, bd / "fit")
            row["fits"] = fit_profile
        except SnncError as e:
            if "does not fit" not in str(e):
                raise
            row["fits"] = f"no ({str(e).split(': ', 1)[-1].split('.')[0]})"
    if time_cc:  # the model's own compile, no object cache (code storage costs here)
        import subprocess

        from snnc.targets.smartwatch.build import CC, RUNTIME_DIR

        flags = [*get_profile().cflags(), "-O2", "-std=c99", f"-I{RUNTIME_DIR / 'include'}"]
        t0 = time.perf_counter()
        subprocess.run([CC, *flags, f"-I{bd}", "-c", str(bd / "model.c"), "-o",
                        str(bd / "model_timed.o")], check=True, cwd=bd)
        row["m4_cc_s"] = round(time.perf_counter() - t0, 2)
    big = replace(get_profile(), name="an386-4MiB", flash_bytes=4 * MIB, ram_bytes=4 * MIB)
    t0 = time.perf_counter()
    fw = build_firmware(bd, x, big, bd / "fw")
    row["m4_build_s"] = round(time.perf_counter() - t0, 2)
    mem = mem or fw.model_memory
    r = run_qemu(fw)
    rr = run_qemu_user(build_binary(bd, "pi4", bd / "rpi"), x)
    row.update(
        m4_steps=r.counts.intervals.reshape(x.shape[0], x.shape[1]),
        a72_steps=rr.counts.intervals.reshape(x.shape[0], x.shape[1]),
        flash_bytes=int(mem.flash_bytes), ram_bytes=int(mem.ram_bytes),
        m4_bit_exact=bool(compare(r.harness.outputs, ref, True)["match"]),
        a72_bit_exact=bool(compare(rr.harness.outputs, ref, True)["match"]),
        spiked=bool(np.asarray(ref)[:, -1].sum() > 0))
    return row


def layer_rows(steps: int, work: Path, n: int = 1000) -> list[dict[str, Any]]:
    """Instructions per SynOp for the n x n layer at every sparsity and activity."""
    from snnc.compiler.codegen import c_fused

    out = []
    # One input sequence for every configuration: the sparsities are compared on the same
    # spikes (like for like), so their SynOps differ only by the pruned weights.
    rng = np.random.default_rng(3)
    x = np.concatenate([(rng.random((1, steps, n)) < a).astype(np.uint8)
                        for a in ACTIVITY], axis=1)
    # The default flash budget for weights as code (c_fused.CODE_BUDGET, sized for a
    # 1 MiB part) holds nearly all of the 90%-sparse layer's 100k weights (the last
    # inputs stay CSC); extra runs: budget 0 (all CSC) and 2 MiB (all code).
    for sp, budget in [(sp, None) for sp in SPARSITY] + [(0.9, 0), (0.9, 2 * MIB)]:
        _log(f"{n}x{n} layer at {int(sp * 100)}% weight sparsity"
             + (f", code budget {budget // 1024} KiB" if budget is not None else ""))
        g = layer_graph(n, n, sp)
        w = np.asarray(g.nodes["fc"].weight)
        nnz_col = np.count_nonzero(w, axis=0)
        saved = c_fused.CODE_BUDGET
        try:
            if budget is not None:
                c_fused.CODE_BUDGET = budget
            res = _run_both(g, x, work / f"b{budget}", fit_profile=None)
        finally:
            c_fused.CODE_BUDGET = saved
        synops = (x[0].astype(np.int64) * nnz_col).sum(axis=1)
        for dev in ("m4", "a72"):
            per = res[f"{dev}_steps"][0].astype(np.float64)
            fixed = float(np.median(per[:steps]))
            for k, a in enumerate(ACTIVITY[1:], start=1):
                sl = slice(k * steps, (k + 1) * steps)
                ops = synops[sl]
                out.append({
                    "device": dev, "sparsity": sp, "activity": a,
                    "storage": res["storage"].get("fc", "?"),
                    "model_flash_bytes": res["flash_bytes"],
                    "synops_per_step": float(ops.mean()),
                    "instr_per_step": float(np.median(per[sl])),
                    "fixed_instr_per_step": fixed,
                    "instr_per_synop": float(np.median((per[sl] - fixed) / ops)),
                    "bit_exact": res[f"{dev}_bit_exact"]})
    return out


def network_rows(work: Path, samples: int, steps: int) -> list[dict[str, Any]]:
    """L2MU and the N-MNIST-size network on both devices."""
    from snnc.compiler.ir import load
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline
    from snnc.models.testsets import load_test_data
    from snnc.targets.benchmark import device_inputs

    rows = []
    _log("L2MU (models/l2mu/l2mu.snn, default pipeline)")
    g = load(ROOT / "models/l2mu/l2mu.snn")
    calib = load_test_data(g, 16)
    gq, _ = run_pipeline(g, PassContext(options=CompileOptions(calib_samples=16),
                                        calib=calib.x, progress=lambda m: None))
    x = device_inputs(gq, load_test_data(g, samples).x)
    rows.append({"network": "L2MU (int8, models/l2mu/l2mu.snn)",
                 **_run_both(gq, x, work, time_cc=True)})
    rng = np.random.default_rng(5)
    for sp in (0.0, 0.9):
        _log(f"N-MNIST-size recurrent network, {int(sp * 100)}% weight sparsity")
        gn = nmnist_graph(sp)
        xn = (rng.random((samples, steps, 2312)) < 0.05).astype(np.uint8)
        rows.append({"network": f"N-MNIST-size recurrent, {int(sp * 100)}% sparse",
                     **_run_both(gn, xn, work, time_cc=True)})
    for r in rows:
        for dev in ("m4", "a72"):
            a = r.pop(f"{dev}_steps")
            r[f"{dev}_instr_per_step_median"] = float(np.median(a))
            r[f"{dev}_instr_per_step_max"] = float(a.max())
    return rows


def compile_rows(work: Path, sizes: tuple[int, ...] = (1, 2, 4)) -> list[dict[str, Any]]:
    """Emit + compile time of one int8 layer of ``k`` million synapses (1000 outputs),
    and ``snnc compile`` of L2MU for the smartwatch (the CLI, a fresh process, warm disk
    caches). Wall seconds on this machine, and the C compiler's CPU seconds."""
    import resource
    import subprocess

    from snnc.compiler.codegen.c import emit_c
    from snnc.targets.smartwatch.build import CC, RUNTIME_DIR
    from snnc.targets.smartwatch.profile import get_profile

    rows = []
    flags = [*get_profile().cflags(), "-O2", "-std=c99", f"-I{RUNTIME_DIR / 'include'}"]
    for k in sizes:
        _log(f"compile time: {k}M synapses")
        g = layer_graph(k * 1000, 1000, 0.0, seed=k)
        t0 = time.perf_counter()
        m = emit_c(g)
        d = m.write(work / f"emit{k}")
        t1 = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        subprocess.run([CC, *flags, f"-I{d}", "-c", str(d / "model.c"), "-o",
                        str(d / "model.o")], check=True)
        t2 = time.perf_counter()
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before
        rows.append({"what": f"{k}M int8 synapses: emit + arm-none-eabi-gcc -O2 -c",
                     "emit_s": round(t1 - t0, 2), "cc_wall_s": round(t2 - t1, 2),
                     "cc_cpu_s": round(cpu, 2), "total_wall_s": round(t2 - t0, 2)})
    _log("compile time: snnc compile L2MU --target smartwatch")
    cmd = [sys.executable, "-m", "snnc.cli", "compile", str(ROOT / "models/l2mu/l2mu.snn"),
           "--target", "smartwatch", "-o", str(work / "l2mu_cli")]
    subprocess.run(cmd, check=True, capture_output=True)  # warm the disk caches
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    rows.append({"what": "snnc compile models/l2mu/l2mu.snn --target smartwatch (CLI)",
                 "total_wall_s": round(time.perf_counter() - t0, 2)})
    return rows


def to_markdown(res: dict[str, Any]) -> str:
    """The two tables."""
    lines = ["# Kernel engine: instructions per SynOp and per step", "",
             "Exact guest instructions under QEMU (insncount plugin), not cycles. Cortex-M4F: "
             "MPS2 AN386 (arm-none-eabi-gcc -O2, SXTB16/SADD16/SMLAD/SMMULR kernels); "
             "Cortex-A72: qemu-aarch64 (aarch64-linux-gnu-gcc -O2, NEON column adds).", "",
             f"## {res['layer_n']}x{res['layer_n']} int8 layer over spikes -> 16-bit LIF", "",
             "Instructions per SynOp = (median step - median step at 0% activity) / SynOps; "
             "SynOps = non-zero weights of the active inputs. Storage is chosen per layer "
             "(see *Storage* below); model flash = model + runtime bytes from the ELF.", "",
             "| device | weight sparsity | storage | model flash B | input activity | "
             "SynOps/step | instr/step | fixed (0% activity) | instr/SynOp | bit-exact |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in res["layer"]:
        lines.append(f"| {r['device'].upper()} | {r['sparsity']:.0%} | {r.get('storage', '')} | "
                     f"{r.get('model_flash_bytes', '')} | {r['activity']:.0%} | "
                     f"{r['synops_per_step']:.0f} | {r['instr_per_step']:.0f} | "
                     f"{r['fixed_instr_per_step']:.0f} | {r['instr_per_synop']:.2f} | "
                     f"{'yes' if r['bit_exact'] else 'NO'} |")
    lines += ["", "Per dense MAC: the 0%-sparsity rows at 100% activity (every weight of "
              "the layer touched once per step).", ""]
    lines += _ratio_lines(res["layer"], res["layer_n"])
    lines += ["", "## Storage", "",
              "compiler/codegen/c_fused.py stores each event-driven layer (spikes -> int8 "
              "weights) in the form with the fewest estimated M4 instructions per active input "
              "(`storage_for`): *dense* column-major int8 (no index; 4 rows per SXTB16/SADD16 "
              "pair, ~2.4 instructions per row), *csc* (uint8 row index when the layer has <= "
              "256 outputs, else uint16, + int8 weight: 2-3 bytes per weight, ~6 instructions "
              "per SynOp) or *code*: each input's non-zero weights compiled into a function "
              "of immediate adds (`SNNC_CODE_SUB(17, 68, 5)`, i.e. `acc[17] -= 5`, row 17 at "
              "byte 68 from a base that moves up the accumulators: one load, subtract and "
              "store on the M4, 3 instructions and 6-8 bytes of flash per weight, plus a "
              "pointer per input). "
              "Code is chosen only where its estimate is at least 20% below the best table "
              "and, smallest layer first, while the model's weights stay within "
              f"`CODE_BUDGET` = {res.get('code_budget', 0) // 1024} KiB (the generated C is "
              "the same for every target; the budget leaves room on the 1 MiB parts for the "
              "runtime and harness); a CSC layer too big for what is left "
              "gets its leading inputs as code and the rest as CSC behind the same dispatch "
              "(*code+csc*). The flash cost is the *model flash* "
              f"column{_flash_ratio(res['layer'])}. The column functions are macros of "
              "`snnc/kernels.h` that expand to assembly on Thumb-2, A64 and x86-64 (the same "
              "instructions; gcc would spend seconds optimizing tens of thousands of "
              "statements: *model.c cc s* below) and to C at -O1 elsewhere."]
    lines += ["", "## Networks", "",
              "Flash/RAM: model + runtime on the nRF52840 preset (1 MiB flash, 256 KiB RAM), "
              "from the ELF sections of the size-check link. N-MNIST-size networks have "
              "random int8 weights (the size and activity of the task, not a trained model).",
              "",
              "| network | M4 instr/step (median, max) | A72 instr/step (median, max) | "
              "flash B | RAM B | fits | storage | model.c cc s | bit-exact (M4, A72) |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in res["networks"]:
        st = ", ".join(f"{k}: {v}" for k, v in r.get("storage", {}).items()) or "generic"
        lines.append(
            f"| {r['network']} | {r['m4_instr_per_step_median']:.0f}, "
            f"{r['m4_instr_per_step_max']:.0f} | {r['a72_instr_per_step_median']:.0f}, "
            f"{r['a72_instr_per_step_max']:.0f} | {r['flash_bytes']} | {r['ram_bytes']} | "
            f"{r['fits']} | {st} | {r.get('m4_cc_s', '')} | "
            f"{'yes' if r['m4_bit_exact'] else 'NO'}, "
            f"{'yes' if r['a72_bit_exact'] else 'NO'} |")
    lines += ["", "model.c cc s: wall seconds of `arm-none-eabi-gcc -O2 -c model.c` for the "
              "M4 (no object cache; shared 2-core machine, an upper bound)."]
    lines += ["", "## Compile time", "",
              "Wall seconds on the benchmark machine (shared, 2 cores: other jobs ran "
              "meanwhile, so these are upper bounds), C compiler CPU seconds.", "",
              "| what | emit s | cc wall s | cc CPU s | total wall s |",
              "| --- | --- | --- | --- | --- |"]
    for r in res.get("compile", []):
        lines.append(f"| {r['what']} | {r.get('emit_s', '')} | {r.get('cc_wall_s', '')} | "
                     f"{r.get('cc_cpu_s', '')} | {r['total_wall_s']} |")
    lines += ["", f"Reproduce: `python -m snnc.bench.kernels --steps {res['steps']} "
              f"--samples {res['samples']}` ({res['seconds']:.0f} s)."]
    return "\n".join(lines) + "\n"


# Instructions per SynOp of an event-driven scatter on Thumb-2 at best: load the
# accumulator, add the weight, store it (no add-to-memory instruction).
SCATTER_FLOOR = 3.0


def fixed_budget(dense_synaptic: float, sparse_synaptic: float, goal: float = 0.15) -> float:
    """The largest fixed part F (work both builds do in full) with
    (sparse_synaptic + F) / (dense_synaptic + F) <= goal; negative when even F = 0 misses."""
    return (goal * dense_synaptic - sparse_synaptic) / (1.0 - goal)


def _ratio_lines(rows: list[dict[str, Any]], n: int) -> list[str]:
    """Each sparse build against the dense one on the same input spikes: whole step, and
    the synaptic part alone (step minus the 0%-activity step, which holds the neuron
    update, input scan and output copy that both builds do in full); then what the
    whole-step ratio needs of the fixed part."""
    dense = {(r["device"], r["activity"]): r for r in rows if r["sparsity"] == 0.0}
    out = ["### Against the dense layer (0% weight sparsity, same input spikes)", "",
           "*whole step* = instr/step over the dense instr/step; *synaptic* = (instr/step - "
           "fixed) over the dense (instr/step - fixed): the part the kernel engine does per "
           "event; *SynOps* = SynOps/step over the dense SynOps/step.", "",
           "| device | weight sparsity | storage | input activity | whole step | synaptic | "
           "SynOps |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        d = dense.get((r["device"], r["activity"]))
        if r["sparsity"] == 0.0 or d is None or r["activity"] >= 1.0:
            continue
        syn = ((r["instr_per_step"] - r["fixed_instr_per_step"])
               / (d["instr_per_step"] - d["fixed_instr_per_step"]))
        out.append(f"| {r['device'].upper()} | {r['sparsity']:.0%} | {r.get('storage', '')} | "
                   f"{r['activity']:.0%} | {r['instr_per_step'] / d['instr_per_step']:.1%} | "
                   f"{syn:.1%} | {r['synops_per_step'] / d['synops_per_step']:.1%} |")
    d = dense.get(("m4", 0.05))
    sp = [r for r in rows if r["device"] == "m4" and r["activity"] == 0.05
          and r["sparsity"] == 0.9]
    if d and sp:
        syn_d = d["instr_per_step"] - d["fixed_instr_per_step"]
        floor = SCATTER_FLOOR * min(r["synops_per_step"] for r in sp)
        need = fixed_budget(syn_d, floor)
        act = 0.05 * n  # active inputs per step
        out += ["", f"Whole step on the M4 at 5% activity: both builds update all {n} "
                f"LIF neurons, scan the input and copy the output (fixed = "
                f"{d['fixed_instr_per_step']:.0f} instructions). Every neuron gets input in "
                f"every step at this activity (~{0.1 * act:.0f} SynOps each at 90% sparsity; "
                f"P(none) = 0.9^{act:.0f} = {0.9 ** act:.1%}), so no update can be skipped. "
                "With the event loop at the "
                "Thumb-2 floor of 3 instructions per SynOp (load, add, store: there is no "
                f"add-to-memory) the sparse synaptic part is >= {floor:.0f}; a whole step of "
                f"<= 15% of dense (dense synaptic part {syn_d:.0f} + fixed) then needs "
                + (f"the fixed part <= {need:.0f} instructions, {need / n:.1f} per neuron "
                   if need > 0 else "a negative fixed part (out of reach even with none) ")
                + "for decay, input, threshold, reset, state store, accumulator clear, input "
                f"scan and output; this build's fixed part is {d['fixed_instr_per_step'] / n:.1f} per "
                "neuron (measured), and even a 2-lane SIMD update of 16-bit state with its "
                "input already in state units (no requantization; load state and "
                "accumulator, two multiply-accumulates for the decay, shift and pack, "
                "saturating add, threshold test, two stores: 12 per pair, counted, not built) "
                "would be 6 before scan and output. The synaptic column is the kernel "
                "engine's share."]
    return out


def _flash_ratio(rows: list[dict[str, Any]]) -> str:
    """': the 90%-sparse layer takes N x the flash as code as in CSC' (when both ran)."""
    f = {r.get("storage"): r.get("model_flash_bytes") for r in rows if r["sparsity"] == 0.9}
    if not (f.get("code") and f.get("csc")):
        return ""
    return (f": the 90%-sparse layer takes {f['code'] / f['csc']:.1f}x the flash as code "
            "as in CSC")


def plot(res: dict[str, Any], path: Path) -> None:
    """Instructions per SynOp against input activity, one line per weight sparsity."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, dev in zip(axes, ("m4", "a72")):
        kinds = sorted({(r["sparsity"], r.get("storage", "")) for r in res["layer"]})
        for sp, st in kinds:
            rs = [r for r in res["layer"] if r["device"] == dev and r["sparsity"] == sp
                  and r.get("storage", "") == st]
            ax.plot([100 * r["activity"] for r in rs], [r["instr_per_synop"] for r in rs],
                    marker="o", label=f"{sp:.0%} weight sparsity, {st}")
        ax.set_xscale("log")
        ax.set_xlabel("input activity (%)")
        ax.set_title({"m4": "Cortex-M4F", "a72": "Cortex-A72"}[dev])
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("instructions per SynOp")
    axes[0].legend()
    fig.suptitle(f"{res['layer_n']}x{res['layer_n']} int8 layer, event-driven (QEMU counts)")
    fig.tight_layout()
    from snnc.compiler.ir.serialize import atomic_write

    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4, help="steps per activity level")
    ap.add_argument("--samples", type=int, default=8, help="samples per network")
    ap.add_argument("--n", type=int, default=1000, help="layer size")
    ap.add_argument("--out", default=str(RESULTS))
    a = ap.parse_args(argv)
    from snnc.compiler.ir.serialize import atomic_write

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="snnc-kernels-") as td:
        work = Path(td)
        from snnc.compiler.codegen.c_fused import CODE_BUDGET

        res: dict[str, Any] = {"layer_n": a.n, "steps": a.steps, "samples": a.samples,
                               "code_budget": CODE_BUDGET,
                               "layer": layer_rows(a.steps, work, a.n),
                               "networks": network_rows(work, a.samples, 30),
                               "compile": compile_rows(work)}
    res["seconds"] = time.perf_counter() - t0
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "kernels.json", lambda f: f.write(json.dumps(res, indent=1)), mode="w")
    atomic_write(out / "kernels.md", lambda f: f.write(to_markdown(res)), mode="w")
    plot(res, out / "kernels.png")
    _log(f"wrote {out / 'kernels.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
