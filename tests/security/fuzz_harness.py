"""Structure-aware mutation fuzzer over ``load``/NIR import + ``verify`` + both simulators
+ the C emitter.

Inputs are untrusted model files (docs/security.md). The oracle: for any input, the
pipeline either succeeds or raises a project error (:class:`SnncError`); any other
exception is a bug. The long run also checks resources: process peak RSS (monotonic, so
it bounds every input) under 256 MiB and each input under 10 s of CPU time.

Mutations start from the committed corpus (``corpus/``: valid .snn/.nir seeds and every
reproducer found so far) and work at four levels, so they reach past the zip and hash
checks: raw bytes; the zip container (duplicate members, compression, truncation); the
JSON document (values replaced by hostile ones, keys dropped, kinds swapped), re-hashed
so the file is otherwise valid; and the arrays (shapes, dtypes, NaN/inf, huge values).
NIR seeds are mutated as their HDF5 dict tree and rewritten with h5py.

    python tests/security/fuzz_harness.py --seconds 600          # the on-demand run
    python tests/security/fuzz_harness.py --make-corpus          # regenerate the seeds

The default test tier runs a ~20 s Hypothesis-driven slice (test_fuzz.py); the 10-minute
run is ``pytest -m slow tests/security/test_fuzz.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
MAX_RSS_MIB = 256
MAX_SECONDS = 10.0
MAX_INPUT = 10 << 20


# ------------------------------------------------------------------ the pipeline


def _inputs(graph: Any, rng: np.random.Generator, steps: int = 3) -> dict[str, np.ndarray]:
    out = {}
    for n in graph.inputs:
        node = graph.nodes[n]
        shape = (1, steps, *tuple(node.shape_out()))
        if node.dtype == "spike":
            out[n] = (rng.random(shape) < 0.3).astype(np.float64)
        else:
            out[n] = rng.normal(0, 1, shape)
    return out


def exercise(graph: Any) -> None:
    """verify, then both simulators (the integer one on quantized graphs) and the C
    emitter (plus HLS for quantized graphs) on a verified graph."""
    from snnc.compiler.codegen.c import emit_c
    from snnc.compiler.errors import UnsupportedError
    from snnc.compiler.ir.interpret import simulate
    from snnc.compiler.ir.qnodes import is_quantized
    from snnc.compiler.ir.verify import verify

    verify(graph)
    x = _inputs(graph, np.random.default_rng(0))
    if is_quantized(graph):
        from snnc.compiler.codegen.hls import emit_hls
        from snnc.compiler.ir.interpret_int import quantize_inputs, simulate_int

        simulate_int(graph, quantize_inputs(graph, x))
        emitters = [emit_hls, emit_c]
    else:
        simulate(graph, x)
        emitters = [emit_c]
    for emit in emitters:
        try:
            emit(graph)
        except UnsupportedError:  # a documented gap of that backend, not a crash
            pass


def run_one(data: bytes, suffix: str, tmp: Path) -> None:
    """Feed one file's bytes through load/import + :func:`exercise`."""
    from snnc.compiler.frontend.nir import import_nir
    from snnc.compiler.ir.serialize import load

    p = tmp / f"fuzz{suffix}"
    p.write_bytes(data)
    g = import_nir(p) if suffix == ".nir" else load(p)
    exercise(g)


class Hang(Exception):
    """Raised by the CPU-time alarm: the input kept Python busy past the hang limit."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


HANG_CPU_SECONDS = 30.0


def classify(data: bytes, suffix: str, tmp: Path) -> tuple[str, str]:
    """('ok'|'rejected'|'BUG', detail) for one input. A CPU-time alarm turns a hang in
    Python code into a finding instead of a stuck fuzzer."""
    from snnc.compiler.errors import SnncError

    old = signal.signal(signal.SIGVTALRM, _alarm)
    signal.setitimer(signal.ITIMER_VIRTUAL, HANG_CPU_SECONDS)
    try:
        run_one(data, suffix, tmp)
        return "ok", ""
    except Hang:
        return "BUG", f"Hang: over {HANG_CPU_SECONDS:.0f} s CPU"
    except SnncError as e:
        msg = str(e)
        if "\n" in msg:
            return "BUG", f"multi-line error message: {msg!r}"
        return "rejected", msg
    except Exception as e:  # noqa: BLE001 - the point of the oracle
        tb = traceback.extract_tb(e.__traceback__)
        site = next((f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb)
                     if "/site-packages/" not in f.filename), "?")
        return "BUG", f"{type(e).__name__} at {site}: {str(e)[:200]}"
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, old)


# ------------------------------------------------------------------ .snn mutations

HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2, 3, 7, 2**31, -(2**31) - 1, 2**63, 10**30, 1e308, -1e-308,
    float("nan"), float("inf"), -float("inf"), 0.5, "", "x", "-V", "a*/\nint x;/*",
    "a\u202eb", "../../etc/passwd", "\x00", "é", "subtract", "zero", "sum", "max", "last",
    "real", "spike", "dense", "csc", "csr", "exact", "euler", "bitshift", [], [0], [1, 2],
    [[1, 2], [3]], [-1], [0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1], {}, {"__tuple__": [1, 2]},
    {"__tuple__": "x"}, {"__ndarray__": [1, 2], "dtype": "float64"},
    {"__ndarray__": [1], "dtype": "U200000000"}, {"__ndarray__": [[1], [2, 3]], "dtype": "int8"},
    {"__ndarray__": [300], "dtype": "int8"}, {"__ndarray__": [], "dtype": "object"},
    "LIF", "QLIF", "Conv2d", "QConv", "Flatten", "Output", "Input",
]


def _rand_value(r: random.Random, depth: int = 0) -> Any:
    k = r.random()
    if k < 0.7 or depth > 3:
        return r.choice(HOSTILE_VALUES)
    if k < 0.85:
        return [_rand_value(r, depth + 1) for _ in range(r.randint(0, 4))]
    if k < 0.95:
        return {r.choice(["kind", "attrs", "shape", "__tuple__", "a"]): _rand_value(r, depth + 1)
                for _ in range(r.randint(0, 3))}
    nest: Any = 0
    for _ in range(r.choice([40, 200, 5000])):
        nest = [nest]
    return nest


def _paths(v: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(v, dict):
        for k, x in v.items():
            out += _paths(x, prefix + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += _paths(x, prefix + (i,))
    return out


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    cur = doc
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return doc


def _delete(doc: Any, path: tuple) -> None:
    if not path:
        return
    cur = doc
    for k in path[:-1]:
        cur = cur[k]
    del cur[path[-1]]


def read_snn(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        doc = json.loads(z.read("graph.json"))
        with np.load(io.BytesIO(z.read("weights.npz")), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return doc, arrays


def write_snn(doc: dict[str, Any], arrays: dict[str, np.ndarray], rehash: bool = True,
              members: list[tuple[str, bytes, int]] | None = None) -> bytes:
    from snnc.compiler.ir.serialize import content_hash

    if rehash:
        try:
            doc["content_hash"] = content_hash(doc, arrays)
        except Exception:  # noqa: BLE001 - unhashable mutant: keep the old hash
            pass
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    try:
        text = json.dumps(doc).encode()
    except (ValueError, RecursionError):
        text = b"{}"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data, method in members or [("graph.json", text, zipfile.ZIP_DEFLATED),
                                              ("weights.npz", buf.getvalue(),
                                               zipfile.ZIP_DEFLATED)]:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return out.getvalue()


def zip_bomb(graph_json: bytes, key: str, nbytes: int, inner: bool) -> bytes:
    """An .snn whose weights inflate to ``nbytes`` of zeros, streamed (never held in
    memory here): ``inner`` puts the bomb in the .npz's own member (a valid .npy of
    float64 zeros) instead of the outer weights.npz member."""
    out = io.BytesIO()
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("graph.json", graph_json)
        with z.open("weights.npz", "w", force_zip64=True) as w:
            if inner:
                with zipfile.ZipFile(w, "w", compression=zipfile.ZIP_DEFLATED) as npz, \
                        npz.open(f"{key}.npy", "w", force_zip64=True) as m:
                    np.lib.format.write_array_header_1_0(
                        m, {"descr": "<f8", "fortran_order": False, "shape": (nbytes // 8,)})
                    for _ in range(nbytes // len(chunk)):
                        m.write(chunk)
            else:
                for _ in range(nbytes // len(chunk)):
                    w.write(chunk)
    return out.getvalue()


def _mutate_array(r: random.Random, a: np.ndarray) -> np.ndarray:
    k = r.randrange(7)
    if k == 0 and a.size:
        return a.reshape(-1)[: r.randint(0, a.size)]
    if k == 1:
        return np.zeros(r.choice([(2, 2), (8, 4), (1, 1), (0,), (3, 1, 1), (1,)]), a.dtype)
    if k == 2:
        return a.astype(r.choice(["int8", "int16", "int32", "int64", "uint8", "float16",
                                  "float32", "float64", "bool"]))
    if k == 3 and a.size and a.dtype.kind == "f":
        b = a.copy()
        b.reshape(-1)[r.randrange(a.size)] = r.choice([np.nan, np.inf, -np.inf, 1e300])
        return b
    if k == 4 and a.size and a.dtype.kind in "iu":
        b = a.copy()
        info = np.iinfo(a.dtype)
        b.reshape(-1)[r.randrange(a.size)] = r.choice([info.min, info.max, 0, -1 % info.max])
        return b
    if k == 5:
        return np.asarray(r.choice([0, 1, -1, 0.0, 2.5]), a.dtype if a.dtype.kind != "b" else None)
    return np.transpose(a) if a.ndim > 1 else a.reshape(1, -1)


def mutate_snn(data: bytes, r: random.Random) -> bytes:
    """One structure-aware mutant of a valid .snn file."""
    level = r.random()
    if level < 0.12:  # raw bytes
        b = bytearray(data)
        for _ in range(r.randint(1, 8)):
            op = r.randrange(3)
            if op == 0 and b:
                b[r.randrange(len(b))] = r.randrange(256)
            elif op == 1:
                del b[r.randrange(len(b) + 1):][: r.randint(1, 64)]
            else:
                b[r.randrange(len(b) + 1):r.randrange(len(b) + 1)] = bytes(
                    r.randrange(256) for _ in range(r.randint(1, 16)))
        return bytes(b[: r.randint(0, len(b))] if r.random() < 0.2 else b)
    doc, arrays = read_snn(data)
    if level < 0.22:  # the zip container
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        text, npz = json.dumps(doc).encode(), buf.getvalue()
        k = r.randrange(5)
        if k == 0:
            members = [("graph.json", text, 8), ("graph.json", b"{}", 8), ("weights.npz", npz, 8)]
        elif k == 1:
            members = [("graph.json", text, r.choice([0, 8, 12, 14])), ("weights.npz", npz, 0)]
        elif k == 2:  # a bomb: zeros that inflate far beyond their compressed size
            return zip_bomb(text, next(iter(arrays), "x/weight"),
                            r.choice([1 << 20, 40 << 20, 90 << 20]), inner=r.random() < 0.5)
        elif k == 3:
            members = [("graph.json", b"[" * 100000 + b"]" * 100000, 8), ("weights.npz", npz, 8)]
        else:
            members = [("weights.npz", npz, 8)]
        try:
            return write_snn(doc, arrays, rehash=False, members=members)
        except (RuntimeError, NotImplementedError):  # compression unavailable here
            return data
    for _ in range(r.randint(1, 3)):
        if r.random() < 0.65 or not arrays:  # the JSON document
            paths = _paths(doc)
            p = r.choice(paths)
            op = r.random()
            try:
                if op < 0.7:
                    doc = _set(doc, p, _rand_value(r))
                elif op < 0.85:
                    _delete(doc, p)
                else:  # swap a node's kind for another
                    nodes = doc.get("nodes") if isinstance(doc, dict) else None
                    if isinstance(nodes, dict) and nodes:
                        nd = nodes[r.choice(list(nodes))]
                        if isinstance(nd, dict):
                            from snnc.compiler.ir.nodes import NODE_KINDS

                            nd["kind"] = r.choice(sorted(NODE_KINDS))
            except (KeyError, IndexError, TypeError):
                pass
        else:  # the arrays
            key = r.choice(sorted(arrays))
            op = r.random()
            if op < 0.8:
                arrays[key] = _mutate_array(r, arrays[key])
            elif op < 0.9:
                del arrays[key]
            else:
                arrays[key.split("/")[0] + "/" + r.choice(["bogus", "weight", "tau", "delay",
                                                           "bias"])] = np.ones(3)
    return write_snn(doc, arrays, rehash=r.random() < 0.95)


# ------------------------------------------------------------------ .nir mutations


def _read_tree(g: Any) -> dict[str, Any]:
    import h5py

    out: dict[str, Any] = {}
    for k, v in g.items():
        out[k] = _read_tree(v) if isinstance(v, h5py.Group) else v[()]
    return out


def _write_tree(g: Any, d: dict[str, Any]) -> None:
    for k, v in d.items():
        if isinstance(v, dict):
            _write_tree(g.create_group(str(k)), v)
        else:
            try:
                g.create_dataset(str(k), data=v)
            except (TypeError, ValueError):
                g.create_dataset(str(k), data=str(v))


def mutate_nir(data: bytes, r: random.Random, tmp: Path) -> bytes:
    """One mutant of a valid .nir file: raw bytes, or its HDF5 tree edited."""
    import h5py

    if r.random() < 0.2:
        b = bytearray(data)
        for _ in range(r.randint(1, 8)):
            if b:
                b[r.randrange(len(b))] = r.randrange(256)
        return bytes(b)
    src = tmp / "seed.nir"
    src.write_bytes(data)
    with h5py.File(src, "r") as f:
        tree = _read_tree(f)
    for _ in range(r.randint(1, 3)):
        paths = [p for p in _paths(tree) if p]
        p = r.choice(paths)
        cur = tree
        for k in p[:-1]:
            cur = cur[k]
        v = cur[p[-1]]
        op = r.random()
        if op < 0.5 and isinstance(v, np.ndarray) and v.dtype.kind in "biuf":
            cur[p[-1]] = _mutate_array(r, v)
        elif op < 0.75:
            val = r.choice(HOSTILE_VALUES)
            cur[p[-1]] = (np.asarray(val) if isinstance(val, (int, float, list))
                          and not isinstance(val, bool) else str(val).encode())
        elif op < 0.85:
            del cur[p[-1]]
        else:
            cur[p[-1]] = r.choice([b"LIF", b"Conv1d", b"Conv2d", b"NIRGraph", b"Delay",
                                   b"Flatten", b"Affine", b"CubaLIF", b"SumPool2d"])
    out = tmp / "mut.nir"
    with h5py.File(out, "w") as f:
        _write_tree(f, tree)
    return out.read_bytes()


# ------------------------------------------------------------------ corpus


def seed_graphs() -> dict[str, Any]:
    """Small valid graphs covering every node kind the simulators and emitters run."""
    from snnc.compiler.ir import (
        IF,
        LI,
        LIF,
        Affine,
        Conv1d,
        CubaLIF,
        DelayedLinear,
        Flatten,
        Graph,
        Input,
        Linear,
        MembraneArgmax,
        Output,
        Scale,
        SpikeCountArgmax,
        Threshold,
        verify,
    )
    from snnc.compiler.passes.quantize import quantize
    from snnc.models.examples.make_examples import tiny_recurrent

    rng = np.random.default_rng(1)
    tiny = tiny_recurrent()
    conv = verify(Graph(
        nodes={"in": Input((2, 6)), "conv": Conv1d(6, rng.normal(0, 1, (3, 2, 3)), stride=1,
                                                   padding=1, dilation=1),
               "flat": Flatten((3, 6)), "lif": LIF((18,), tau=np.array(4e-3)),
               "ro": SpikeCountArgmax((18,)), "out": Output((18,))},
        edges=[("in", "conv"), ("conv", "flat"), ("flat", "lif"), ("lif", "ro"),
               ("ro", "out")], name="conv_seed"))
    mixed = verify(Graph(
        nodes={"in": Input((3,), dtype="spike"),
               "d": DelayedLinear(rng.normal(0, 1, (4, 3)), rng.integers(0, 3, (4, 3))),
               "cuba": CubaLIF((4,), tau_syn=np.array(3e-3), tau_mem=np.full(4, 5e-3)),
               "a": Affine(rng.normal(0, 1, (4, 4)), rng.normal(0, 1, 4)),
               "if": IF((4,), v_threshold=np.array(0.7), reset="zero"),
               "s": Scale((4,), np.array(0.5)), "li": LI((4,), tau=np.array(6e-3)),
               "thr": Threshold((4,), np.array(0.1)), "fc": Linear(rng.normal(0, 1, (2, 4))),
               "li2": LI((2,), tau=np.array(6e-3)),
               "ro": MembraneArgmax((2,), reduce="max"), "out": Output((2,))},
        edges=[("in", "d"), ("d", "cuba"), ("cuba", "a"), ("a", "if"), ("if", "s"),
               ("s", "li"), ("li", "thr"), ("thr", "fc"), ("fc", "li2"), ("li2", "ro"),
               ("ro", "out")], dt=1e-3, discretization="euler", name="mixed_seed"))
    calib = rng.normal(0, 1, (8, 10, 4))
    tiny_q = quantize(tiny, calib)
    qable = verify(Graph(
        nodes={"in": Input((3,), dtype="spike"),
               "d": DelayedLinear(rng.normal(0, 1, (4, 3)), rng.integers(0, 3, (4, 3))),
               "cuba": CubaLIF((4,), tau_syn=np.array(3e-3), tau_mem=np.full(4, 5e-3)),
               "fc": Linear(rng.normal(0, 1, (4, 4))),
               "if": IF((4,), v_threshold=np.array(0.7), reset="zero"),
               "fc2": Linear(rng.normal(0, 1, (2, 4))), "li": LI((2,), tau=np.array(6e-3)),
               "ro": MembraneArgmax((2,), reduce="max"), "out": Output((2,))},
        edges=[("in", "d"), ("d", "cuba"), ("cuba", "fc"), ("fc", "if"), ("if", "fc2"),
               ("fc2", "li"), ("li", "ro"), ("ro", "out")], name="mixed_q_seed"))
    mixed_q = quantize(qable, (rng.random((8, 10, 3)) < 0.3).astype(np.float64))
    return {"tiny": tiny, "conv": conv, "mixed": mixed, "tiny_q": tiny_q, "mixed_q": mixed_q}


def make_corpus() -> list[Path]:
    """Write the seed files into corpus/ (deterministic)."""
    from snnc.compiler.frontend.nir import write_nir
    from snnc.compiler.ir import save

    CORPUS.mkdir(exist_ok=True)
    out = []
    for name, g in seed_graphs().items():
        save(g, CORPUS / f"seed_{name}.snn")
        out.append(CORPUS / f"seed_{name}.snn")
        if not name.endswith("_q"):
            write_nir(g, CORPUS / f"seed_{name}.nir")
            out.append(CORPUS / f"seed_{name}.nir")
    return out


def corpus() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if p.suffix in (".snn", ".nir"))


# ------------------------------------------------------------------ driver


def fuzz_once(r: random.Random, seeds: list[Path], tmp: Path) -> tuple[str, str, bytes, str]:
    """Mutate one seed and classify it: (outcome, detail, mutant bytes, suffix)."""
    seed = r.choice(seeds)
    data = seed.read_bytes()
    if seed.name.startswith("repro_"):  # past findings run as they are (regressions)
        mutant = data
    else:
        try:
            mutant = mutate_nir(data, r, tmp) if seed.suffix == ".nir" else mutate_snn(data, r)
        except Exception:  # noqa: BLE001 - a mutant the writer cannot express: the seed
            mutant = data
    if len(mutant) > MAX_INPUT:
        return "skipped", "over 10 MB", b"", seed.suffix
    # CPU time, not wall time: the input controls the former; on a machine shared with
    # other jobs the wall clock also counts time spent descheduled.
    t = time.process_time()
    outcome, detail = classify(mutant, seed.suffix, tmp)
    dt = time.process_time() - t
    if dt > MAX_SECONDS:
        outcome, detail = "BUG", f"took {dt:.1f} s CPU (> {MAX_SECONDS} s): {detail}"
    return outcome, detail, mutant, seed.suffix


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fuzz(seconds: float, seed: int = 0, save_dir: Path | None = None,
         log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> dict[str, Any]:
    """Run for ``seconds``; returns counts, distinct bug sites and the peak RSS."""
    import warnings

    warnings.simplefilter("ignore")  # import warnings of mutants are noise here
    seeds = corpus()
    r = random.Random(seed)
    counts: dict[str, int] = {}
    bugs: dict[str, str] = {}
    start = time.monotonic()
    last = start
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        while time.monotonic() - start < seconds:
            outcome, detail, mutant, suffix = fuzz_once(r, seeds, tmp)
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome == "BUG":
                site = "too slow" if detail.startswith("took") else detail.split(": ")[0]
                if site not in bugs:
                    bugs[site] = detail
                    log(f"BUG {detail}")
                    if save_dir is not None:
                        save_dir.mkdir(parents=True, exist_ok=True)
                        h = hashlib.sha256(mutant).hexdigest()[:12]
                        (save_dir / f"crash_{h}{suffix}").write_bytes(mutant)
            if time.monotonic() - last > 30:
                last = time.monotonic()
                log(f"fuzz: {time.monotonic() - start:.0f}/{seconds:.0f} s, {counts}, "
                    f"peak RSS {peak_rss_mib():.0f} MiB")
    rss = peak_rss_mib()
    return {"seconds": seconds, "seed": seed, "counts": counts, "bugs": bugs,
            "peak_rss_mib": rss, "rss_ok": rss <= MAX_RSS_MIB,
            "executions": sum(counts.values())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--make-corpus", action="store_true")
    ap.add_argument("--save", type=Path, default=None, help="write new crash inputs here")
    a = ap.parse_args()
    if a.make_corpus:
        for p in make_corpus():
            print(p)
        return 0
    res = fuzz(a.seconds, a.seed, a.save)
    print(json.dumps(res, indent=1))
    return 0 if not res["bugs"] and res["rss_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
