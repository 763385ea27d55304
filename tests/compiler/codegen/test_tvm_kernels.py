"""--kernels tvm: TVM-generated synapse kernels linked into the snnc builds, against the
integer golden model (compiler/ir/interpret_int.py) bit for bit.

Host builds run in the default tier (the zoo's larger models in the slow tier); the
emulated Cortex-M4F (qemu-system-arm) and Raspberry Pi (qemu-aarch64) runs are in the
``cross`` tier and skip with a reason when a toolchain or emulator is missing.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir import Graph, load
from snnc.compiler.ir.interpret_int import simulate_int
from snnc.compiler.passes.storage import choose_storage

tvm = pytest.importorskip("tvm", reason="TVM not installed (the [baselines] extra)")

from snnc.compiler.codegen import tvm_kernels as tk  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
ZOO = sorted((ROOT / "models").rglob("*.snn"))
FAST = {"examples/tiny_recurrent.snn", "l2mu/l2mu.snn", "delaynet/delaynet.snn"}
CROSS_FAST = {"examples/tiny_recurrent.snn"}  # (the feature graphs cover delays, int64)
# The C path's supported zoo: every model (no Conv in the zoo); the slow ones by size.
pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")

# (graph factory, storage threshold: None = the pass's choice, 1.0 = all CSC, quant options)
VARIANTS = {
    "tiny_dense": ("tiny", 0.0, {}),
    "tiny_csc": ("tiny", 1.0, {}),
    "delay_default": ("delay_graph", None, {}),
    "delay_csc_w16_s32": ("delay_graph", 1.0, {"weight_bits": 16, "state_bits": 32,
                                               "input_bits": 16}),
    "delay_dense_w16_s32": ("delay_graph", 0.0, {"weight_bits": 16, "state_bits": 32,
                                                 "input_bits": 16}),
    "delay_pow2": ("delay_graph", None, {"pow2": True}),
    "tiny_w4_layer": ("tiny", None, {"weight_bits": 4, "granularity": "layer"}),
}


def _variant(cg, key: str) -> Graph:
    factory, threshold, opts = VARIANTS[key]
    g = getattr(cg, factory)()
    gq = cg.quantized(g, opts)
    return choose_storage(gq, threshold=threshold) if threshold is not None else \
        choose_storage(gq)


def _build_host(gq: Graph, d: Path):
    from snnc.targets import host

    tk.write_build(gq, d, isas=(tk.host_isa(),))
    return host.build(d)


def _flat(x: dict[str, np.ndarray] | np.ndarray) -> np.ndarray:
    if isinstance(x, dict):
        (x,) = x.values()
    return x.reshape(x.shape[0], x.shape[1], -1)


def _assert_equal(got: np.ndarray, want: np.ndarray, what: str) -> None:
    want = want.reshape(got.shape)
    bad = np.argwhere(got != want)
    assert bad.size == 0, (f"{what}: {len(bad)} of {want.size} values differ; first at "
                           f"{tuple(bad[0])}: expected {want[tuple(bad[0])]}, got "
                           f"{got[tuple(bad[0])]}")


# ------------------------------------------------------------------ plan and kernels


def test_plan_covers_every_synapse_kind(cg) -> None:
    kinds = {(s.kind, s.acc, s.wt, s.xt) for k in ("tiny_dense", "tiny_csc", "delay_default",
                                                    "delay_csc_w16_s32", "delay_dense_w16_s32")
             for s in tk.plan(_variant(cg, k))}
    assert {k[0] for k in kinds} == {"dense", "csc", "delay"}
    assert {k[1] for k in kinds} == {"int32", "int64"}  # int64 only where unproven
    assert {k[2] for k in kinds} == {"int8", "int16"}
    assert {k[3] for k in kinds} == {"int32", "uint8"}


def test_int32_accumulators_only_when_proven(cg) -> None:
    """The bound |acc| <= sum_j |w_ij| * max|x| + |b_i| decides int32, as in the C path."""
    gq = _variant(cg, "delay_csc_w16_s32")
    for s in tk.plan(gq):
        node = gq.nodes[s.node]
        w = np.abs(np.asarray(node.weight, dtype=np.int64)).sum(axis=1)
        if s.acc == "int32":
            assert s.xt == "uint8" or int(w.max()) * (1 << 16) < 1 << 31


def test_float_graph_is_refused(cg) -> None:
    with pytest.raises(UnsupportedError, match="not quantized"):
        tk.plan(cg.tiny())


def test_tir_is_valid_for_every_isa(cg) -> None:
    from tvm.script import tirx  # noqa: F401

    for s in tk.plan(_variant(cg, "delay_default")) + tk.plan(_variant(cg, "tiny_dense")):
        for isa in tk.ISAS:
            f = tvm.script.from_source(tk.tvmscript(s, isa))
            assert f.attrs["global_symbol"] == s.symbol


# ------------------------------------------------------------------ host: bit-exact


@pytest.mark.parametrize("key", sorted(VARIANTS))
def test_feature_graphs_bit_exact_on_host(cg, key: str, tmp_path: Path) -> None:
    gq = _variant(cg, key)
    xq = cg.int_inputs(gq, batch=4, steps=30)
    cm = _build_host(gq, tmp_path / key)
    # model.c really calls the TVM wrappers instead of the runtime's synapse kernels
    src = (tmp_path / key / "model.c").read_text()
    for s in tk.plan(gq):
        assert f"{s.wrapper}(" in src
    assert "snnc_qdense_" not in src and "snnc_qcsc_" not in src and "snnc_qdelay_" not in src
    want = simulate_int(gq, xq).output
    _assert_equal(cm.run(_flat(xq)), want, key)
    assert np.any(want != 0)


def _zoo_params(cross: bool = False) -> list:
    out = []
    for p in ZOO:
        rel = p.relative_to(ROOT / "models").as_posix()
        marks = [] if rel in (CROSS_FAST if cross else FAST) else [pytest.mark.slow]
        if cross:
            marks.append(pytest.mark.cross)
        out.append(pytest.param(p, id=rel, marks=marks))
    return out


def _zoo_quantized(cg, path: Path) -> tuple[Graph, dict[str, np.ndarray]]:
    from snnc.compiler.codegen.c import emit_c

    g = load(path)
    gq = choose_storage(cg.quantized(g, {}))
    try:  # the scope: every zoo model the C path supports
        emit_c(gq)
    except UnsupportedError as e:
        pytest.skip(f"the C path does not support {path.name}: {e}")
    return gq, cg.int_inputs(gq, batch=4, steps=40, seed=3)


@pytest.mark.parametrize("model", _zoo_params())
def test_zoo_bit_exact_on_host(cg, model: Path, tmp_path: Path) -> None:
    gq, xq = _zoo_quantized(cg, model)
    cm = _build_host(gq, tmp_path / "b")
    sim = simulate_int(gq, xq, record=True)
    _assert_equal(cm.run(_flat(xq)), sim.output, model.name)
    # not vacuous: some population or output is active on these inputs
    assert any(np.any(v != 0) for n, v in sim.traces.items() if n not in gq.inputs)


# ------------------------------------------------------------------ emulated devices


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/setup.sh)")


def _run_m4(d: Path, xq: np.ndarray) -> np.ndarray:
    _need("arm-none-eabi-gcc", "qemu-system-arm")
    from dataclasses import replace

    from snnc.targets.smartwatch.build import build_firmware
    from snnc.targets.smartwatch.profile import MIB, get_profile
    from snnc.targets.smartwatch.run import run_qemu

    # the emulated board's whole memory: the embedded test inputs are not the model
    prof = replace(get_profile(), name="an386-max", flash_bytes=4 * MIB, ram_bytes=4 * MIB)
    fw = build_firmware(d, xq, prof, out_dir=d / "sw")
    return run_qemu(fw, count=False).harness.outputs


def _run_pi(d: Path, xq: np.ndarray) -> np.ndarray:
    _need("aarch64-linux-gnu-gcc", "qemu-aarch64")
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user

    b = build_binary(d, out_dir=d / "rpi")
    return run_qemu_user(b, xq, count=False).harness.outputs


@pytest.mark.cross
@pytest.mark.parametrize("key", ["delay_default", "delay_csc_w16_s32"])
@pytest.mark.parametrize("device", ["m4", "pi"])
def test_feature_graphs_bit_exact_on_emulators(cg, key: str, device: str,
                                               tmp_path: Path) -> None:
    gq = _variant(cg, key)
    xq = _flat(cg.int_inputs(gq, batch=3, steps=20))
    d = tmp_path / key
    tk.write_build(gq, d, isas=("cortex-m4" if device == "m4" else "aarch64",))
    got = (_run_m4 if device == "m4" else _run_pi)(d, xq)
    _assert_equal(got, simulate_int(gq, xq.reshape(xq.shape[:2] + (-1,))).output, key)


@pytest.mark.parametrize("model", _zoo_params(cross=True))
@pytest.mark.parametrize("device", ["m4", "pi"])
def test_zoo_bit_exact_on_emulators(cg, model: Path, device: str, tmp_path: Path) -> None:
    gq, xq = _zoo_quantized(cg, model)
    xq = {k: v[:2, :20] for k, v in xq.items()}  # emulation: 2 samples x 20 steps
    tk.write_build(gq, tmp_path / "b", isas=("cortex-m4" if device == "m4" else "aarch64",))
    got = (_run_m4 if device == "m4" else _run_pi)(tmp_path / "b", _flat(xq))
    _assert_equal(got, simulate_int(gq, xq).output, f"{model.name} on {device}")


# ------------------------------------------------------------------ build properties


def test_same_input_same_bytes(cg, tmp_path: Path) -> None:
    gq = _variant(cg, "delay_default")
    a, b = tmp_path / "a", tmp_path / "b"
    tk.write_build(gq, a)
    tk.write_build(gq, b)
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir())
    assert {tk.object_name(i) for i in tk.ISAS} <= set(files)
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_objects_need_no_tvm_runtime_and_no_heap(cg, tmp_path: Path) -> None:
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("needs binutils nm")
    gq = _variant(cg, "delay_default")
    tk.write_build(gq, tmp_path)
    for isa in tk.ISAS:
        r = subprocess.run([nm, "-u", str(tmp_path / tk.object_name(isa))],
                           capture_output=True, text=True, check=True)
        undefined = {ln.split()[-1] for ln in r.stdout.splitlines() if ln.strip()}
        # the error hook at most (only referenced when TVM's argument checks are kept)
        assert undefined <= {"TVMFFIErrorSetRaisedFromCStrParts"}, (isa, undefined)
        r = subprocess.run(["objdump", "-r", str(tmp_path / tk.object_name(isa))],
                           capture_output=True, text=True)
        if r.returncode == 0:  # no call through TVM's workspace allocator (its heap)
            assert "AllocWorkspace" not in r.stdout, isa


def test_manifest_records_tvm_version_and_targets(cg, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from snnc.cli import main

    x = cg.inputs_for(cg.tiny(), batch=8, steps=20)["in"] if "in" in cg.tiny().inputs else \
        next(iter(cg.inputs_for(cg.tiny(), batch=8, steps=20).values()))
    np.save(tmp_path / "calib.npy", x.astype(np.float32))
    out = tmp_path / "build"
    r = CliRunner().invoke(main, ["compile", str(ROOT / "models/examples/tiny_recurrent.snn"),
                                  "--target", "host", "--kernels", "tvm", "--calib",
                                  str(tmp_path / "calib.npy"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    man = json.loads((out / "manifest.json").read_text())
    assert man["kernels"] == "tvm" and man["tvm"]["version"] == tvm.__version__
    assert man["tvm"]["targets"]["cortex-m4"]["mcpu"] == "cortex-m4"
    for f in man["files"]:
        assert (out / f).is_file(), f
    from snnc.targets import host

    gq = load(out / "model.snn")
    xq = cg.int_inputs(gq, batch=2, steps=20)
    _assert_equal(host.build(out).run(_flat(xq)), simulate_int(gq, xq).output, "cli build")


def test_link_inputs_errors(cg, tmp_path: Path) -> None:
    assert tk.link_inputs(tmp_path, "x86_64") == ([], [], [])  # a --kernels snnc build
    (tmp_path / "tvm_kernels.json").write_text("{not json")
    with pytest.raises(SnncError, match="unreadable TVM kernel manifest"):
        tk.link_inputs(tmp_path, "x86_64")
    (tmp_path / "tvm_kernels.json").write_text(json.dumps({"targets": {"aarch64": {}}}))
    with pytest.raises(SnncError, match="not built for x86_64"):
        tk.link_inputs(tmp_path, "x86_64")
    with pytest.raises(SnncError, match="missing TVM kernel object"):
        tk.link_inputs(tmp_path, "aarch64")


def test_without_tvm_the_install_hint(monkeypatch: pytest.MonkeyPatch, cg) -> None:
    monkeypatch.setitem(sys.modules, "tvm", None)  # import tvm -> ImportError
    with pytest.raises(UnsupportedError, match=r"pip install"):
        tk.require_tvm()
    with pytest.raises(UnsupportedError, match=r"\[baselines\]"):
        tk.write_build(_variant(cg, "tiny_dense"), Path("/nonexistent/never-written"))


def test_core_imports_no_tvm() -> None:
    code = ("import sys, snnc.cli, snnc.compiler.codegen.tvm_kernels, snnc.targets.host, "
            "snnc.targets.registry, snnc.compiler.cli_compile; "
            "sys.exit(1 if 'tvm' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_checked_kernel_reports_a_mismatch_through_the_hook(cg, tmp_path: Path) -> None:
    """With TVM's argument checks kept, a wrong shape makes the kernel call the error hook
    and return non-zero; the shim turns that into SNNC_ERR_TVM (-16)."""
    s = tk.plan(_variant(cg, "tiny_dense"))[0]
    tk.build_objects([s], tmp_path, isas=(tk.host_isa(),), checks=True)
    nm = subprocess.run(["nm", "-u", str(tmp_path / tk.object_name(tk.host_isa()))],
                        capture_output=True, text=True).stdout
    assert "TVMFFIErrorSetRaisedFromCStrParts" in nm
    args = ", ".join(f"{{buf, {n + (1 if name == 'x' else 0)}, "
                     f"{'SNNC_TVM_UINT' if dt.startswith('u') else 'SNNC_TVM_INT'}, "
                     f"{8 * tk._BYTES[dt]}}}" for name, dt, n in tk._args(s))
    c = tmp_path / "probe.c"
    c.write_text(
        '#include "snnc_tvm.h"\n'
        f"int __tvm_ffi_{s.symbol}(void *, const void *, int32_t, void *);\n"
        "int probe(void) {\n    static int64_t buf[4096];\n"
        f"    const snnc_tvm_arg_t a[] = {{{args}}};\n"
        f"    return snnc_tvm_call((snnc_tvm_fn_t)__tvm_ffi_{s.symbol}, a, "
        f"{len(tk._args(s))});\n}}\n")
    so = tmp_path / "probe.so"
    subprocess.run(["gcc", "-shared", "-fPIC", f"-I{tk.SHIM_DIR}", str(c),
                    str(tk.SHIM_DIR / "snnc_tvm.c"),
                    str(tmp_path / tk.object_name(tk.host_isa())), "-o", str(so)],
                   check=True)
    lib = ctypes.CDLL(str(so))
    assert lib.probe() == -16  # x has one element too many


@pytest.mark.parametrize("shift", [
    pytest.param([0, 1, 62, 31, 20, 45], id="generic-64bit"),      # any shift in [0, 62]
    pytest.param([20, 27, 33, 21, 30, 24], id="narrow-32bit-tail"),  # span <= 14
    pytest.param([29], id="layer-wide"),                               # baked constant
])
@pytest.mark.parametrize("device", ["host", pytest.param("m4", marks=pytest.mark.cross)])
def test_requantization_extremes(shift: list[int], device: str, tmp_path: Path) -> None:
    """Accumulators beyond int32 (int16 weights x int16 inputs: the int64 path and the
    sat_32 clamp), bias at both int32 ends, mult 0..2^31-1 and every requantization form
    of the kernel, against the integer golden model (on the M4 too: a 32-bit core)."""
    from snnc.compiler.ir import verify
    from snnc.compiler.ir.nodes import Output
    from snnc.compiler.ir.qnodes import QInput, QLinear

    r = np.random.default_rng(0)
    n_in, n_out = 8, 6
    w = r.choice([-32768, 32767, -1, 0, 1, 12345], (n_out, n_in)).astype(np.int16)
    sh = np.array(shift, np.int32) if len(shift) > 1 else np.array(shift[0], np.int32)
    g = verify(Graph(nodes={
        "x": QInput((n_in,), bits=16),
        "fc": QLinear(weight=w, bias=np.array([2**31 - 1, -2**31, 0, 5, -5, 7], np.int32),
                      mult=np.array([0, 1, 2**31 - 1, 2**30, 12345, 2**31 - 2], np.int32),
                      shift=sh, weight_bits=16, out_bits=16),
        "y": Output((n_out,))}, edges=[("x", "fc"), ("fc", "y")], dt=1e-3, name="edge"))
    (s,) = tk.plan(g)
    assert s.acc == "int64"
    x = r.choice([-32768, 32767, 0, 1, -1, 77], (4, 6, n_in)).astype(np.int16)
    want = simulate_int(g, {"x": x}).output
    assert len(np.unique(want)) > 4  # saturated both ways and in range
    if device == "host":
        _assert_equal(_build_host(g, tmp_path).run(x), want, "edge")
    else:
        tk.write_build(g, tmp_path, isas=("cortex-m4",))
        _assert_equal(_run_m4(tmp_path, x), want, "edge on the M4")


def test_shim_needs_nothing_and_has_no_globals(tmp_path: Path) -> None:
    """runtime/tvm/snnc_tvm.c: strict C99, no undefined symbol (no heap, no stdio), no
    mutable global (nm: no data/bss symbols)."""
    o = tmp_path / "shim.o"
    subprocess.run(["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2", "-c",
                    str(tk.SHIM_DIR / "snnc_tvm.c"), "-o", str(o)], check=True)
    syms = subprocess.run(["nm", str(o)], capture_output=True, text=True, check=True).stdout
    kinds = {ln.split()[-2] for ln in syms.splitlines() if len(ln.split()) >= 2}
    assert "U" not in kinds, syms
    assert not kinds & set("DdBbCG"), syms
    assert "snnc_tvm_call" in syms and "TVMFFIErrorSetRaisedFromCStrParts" in syms
