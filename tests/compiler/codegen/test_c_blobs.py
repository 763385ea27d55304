"""Large tables as .incbin files (compiler/codegen/cgen.py blob_array): the C compiler
never parses them, the build computes the same as the integer golden model, the bytes in
the object are the table's, aligned, and a wrong file stops the build."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.codegen import cgen
from snnc.compiler.codegen.c import emit_c
from snnc.compiler.ir import Graph, Output, SpikeCountArgmax, verify
from snnc.compiler.ir.interpret_int import simulate_int
from snnc.compiler.ir.qnodes import QLIF, QInput, QLinear

CC = shutil.which("gcc") or shutil.which("cc")
pytestmark = pytest.mark.skipif(CC is None, reason="no host C compiler")


def three_layers(seed: int = 0) -> Graph:
    """Spikes -> three int8 layers (the last 75% pruned, stored CSC: uint16 row indices
    and int8 values) -> spike counts; each weight tensor is over 64 KiB."""
    r = np.random.default_rng(seed)

    def w(n_out: int, n_in: int, sparsity: float = 0.0) -> np.ndarray:
        a = r.integers(-127, 128, (n_out, n_in))
        a[r.random(a.shape) < sparsity] = 0
        return a.astype(np.int8)

    lif = dict(beta_q=np.array(29491, np.int32), thr_q=np.array(300, np.int32))
    q = dict(mult=np.array(1 << 30, np.int32), shift=np.array(31, np.int32))
    return verify(Graph(
        nodes={"x": QInput((400,), dtype="spike", bits=1),
               "fc1": QLinear(w(320, 400), **q), "lif1": QLIF((320,), **lif),
               "fc2": QLinear(w(300, 320), **q), "lif2": QLIF((300,), **lif),
               "fc3": QLinear(w(1000, 300, 0.75), storage="csc", **q),
               "lif3": QLIF((1000,), **lif),
               "count": SpikeCountArgmax((1000,)), "y": Output((1000,))},
        edges=[("x", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
               ("lif2", "fc3"), ("fc3", "lif3"), ("lif3", "count"), ("count", "y")],
        name="blobs3"))


def _spikes(g: Graph, seed: int = 1, samples: int = 3, steps: int = 6) -> np.ndarray:
    n = g.nodes["x"].shape[0]
    return (np.random.default_rng(seed).random((samples, steps, n)) < 0.3).astype(np.int32)


@pytest.fixture(scope="module")
def blob_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Graph, Path]:
    from snnc.targets import host

    g = three_layers()
    d = tmp_path_factory.mktemp("blobs3")
    host.compile_model(g, d, code_budget=0)  # tables only (no weights compiled into code)
    return g, d


def test_several_large_tensors_bit_exact_on_host(blob_build: tuple[Graph, Path]) -> None:
    from snnc.targets import host

    g, d = blob_build
    blobs = sorted(d.glob("*.bin"))
    # Every table >= 64 KiB left model.c: fc1's and fc2's weights, fc3's CSC rows and
    # weights (fc3 is CSC in the event-driven path: compiler/codegen/c_fused.py).
    assert len(blobs) == 4
    # model.c holds code only: the weights' 544,000 bytes are not parsed as C.
    assert (d / "model.c").stat().st_size < 20_000
    xq = _spikes(g)
    want = simulate_int(g, xq).output
    got = host.build(d).run(xq)
    assert np.array_equal(got, want)
    assert want.sum() > 0  # spikes reach the output: the tables are really read


def _section_bytes(objcopy: str, obj: Path, section: str, out: Path) -> bytes:
    subprocess.run([objcopy, "-O", "binary", f"--only-section={section}", str(obj),
                    str(out)], check=True)
    return out.read_bytes()


@pytest.mark.parametrize("cc", ["gcc", "arm-none-eabi-gcc", "aarch64-linux-gnu-gcc"])
def test_object_holds_the_file_bytes_aligned(blob_build: tuple[Graph, Path], cc: str,
                                             tmp_path: Path) -> None:
    from snnc.compiler.codegen.c import runtime_dir

    prefix = cc[:-3]
    tools = [shutil.which(cc), shutil.which(prefix + "readelf"), shutil.which(prefix + "objcopy")]
    if None in tools:
        pytest.skip(f"{cc} binutils not installed")
    _, d = blob_build
    obj = tmp_path / "model.o"
    extra = ["-mcpu=cortex-m4", "-mthumb"] if cc.startswith("arm") else []
    subprocess.run([cc, *extra, "-O2", "-std=c99", "-ffunction-sections", "-fdata-sections",
                    f"-I{runtime_dir() / 'include'}", f"-I{d}", "-c", str(d / "model.c"),
                    "-o", str(obj)], check=True, cwd=tmp_path)  # cwd: not the build dir
    secs = subprocess.run([tools[1], "-SW", str(obj)], capture_output=True, text=True,
                          check=True).stdout
    syms = subprocess.run([tools[1], "-sW", str(obj)], capture_output=True, text=True,
                          check=True).stdout
    for blob in sorted(d.glob("*.bin")):
        name = blob.name.split("-")[0]
        sec = f".rodata.snnc_blob.{name}"
        line = next(ln for ln in secs.splitlines() if sec in ln.split())
        assert int(line.split()[-1]) >= cgen.BLOB_ALIGN  # the section's Al column
        assert _section_bytes(tools[2], obj, sec, tmp_path / "s.bin") == blob.read_bytes()
        sym = next(ln.split() for ln in syms.splitlines() if ln.split()[-1:] == [name])
        assert int(sym[2], 0) == blob.stat().st_size and sym[3] == "OBJECT"


def test_wrong_file_length_stops_the_build(blob_build: tuple[Graph, Path],
                                           tmp_path: Path) -> None:
    from snnc.compiler.codegen.c import runtime_dir

    _, src = blob_build
    d = tmp_path / "b"
    shutil.copytree(src, d)
    blob = sorted(d.glob("*.bin"))[0]
    blob.write_bytes(blob.read_bytes()[:-1])
    r = subprocess.run([CC, "-O1", f"-I{runtime_dir() / 'include'}", f"-I{d}", "-c",
                        str(d / "model.c"), "-o", str(tmp_path / "m.o")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and f"{blob.name}: expected" in r.stderr


@pytest.mark.parametrize("ctype", sorted(cgen.BLOB_DTYPES))
def test_every_blob_type_reads_back_exactly(ctype: str, tmp_path: Path) -> None:
    # Independent reference: the numpy values, printed back by a C program that reads
    # the table through its declared type.
    dt = cgen.BLOB_DTYPES[ctype]
    info = np.iinfo(dt)
    n = cgen.BLOB_MIN // dt.itemsize + 3
    r = np.random.default_rng(7)
    v = r.integers(info.min, info.max, n, endpoint=True, dtype=np.int64 if dt.kind == "i"
                   else np.uint64)
    v[:2] = [info.min, info.max]
    blobs: dict[str, bytes] = {}
    text = cgen.array(ctype, "tab", v, strings=True, blobs=blobs)
    assert len(blobs) == 1 and "__asm__" in text
    for fname, data in blobs.items():
        (tmp_path / fname).write_bytes(data)
    fmt = "%lld" if dt.kind == "i" else "%llu"
    cast = "long long" if dt.kind == "i" else "unsigned long long"
    (tmp_path / "t.c").write_text(
        "#include <stdint.h>\n#include <stdio.h>\n" + cgen.BLOB_PRELUDE + text
        + "int main(void) { for (long i = 0; i < " + str(n) + "; ++i) printf(\""
        + fmt + "\\n\", (" + cast + ")tab[i]);\n"
        "  return ((uintptr_t)tab % " + str(cgen.BLOB_ALIGN) + ") != 0; }\n")
    exe = tmp_path / "t"
    subprocess.run([CC, "-O2", "-std=c99", f"-I{tmp_path}", str(tmp_path / "t.c"), "-o",
                    str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    assert out.returncode == 0  # aligned
    assert [int(x) for x in out.stdout.split()] == v.tolist()


def test_small_tables_stay_in_model_c() -> None:
    m = emit_c(three_layers().copy() if hasattr(Graph, "copy") else three_layers())
    assert all(int(cgen.BLOB_MIN) <= len(b) for b in m.blobs.values())
    blobs: dict[str, bytes] = {}
    text = cgen.array("int8_t", "small", np.zeros(cgen.BLOB_MIN - 1, np.int8), strings=True,
                      blobs=blobs)
    assert blobs == {} and "__asm__" not in text


@pytest.mark.cross
def test_several_large_tensors_bit_exact_on_m4_and_aarch64(
        blob_build: tuple[Graph, Path], tmp_path: Path) -> None:
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm", "aarch64-linux-gnu-gcc",
                 "qemu-aarch64"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user
    from snnc.targets.smartwatch.build import build_firmware
    from snnc.targets.smartwatch.run import run_qemu

    g, d = blob_build
    xq = _spikes(g, samples=2, steps=3)
    want = simulate_int(g, xq).output
    fw = build_firmware(d, xq.astype(np.uint8), "nrf52840", tmp_path / "m4")
    assert fw.model_memory.flash_bytes > sum(b.stat().st_size for b in d.glob("*.bin"))
    assert np.array_equal(run_qemu(fw, count=False).harness.outputs, want)
    b = build_binary(d, "pi4", tmp_path / "a72")
    assert np.array_equal(run_qemu_user(b, xq.astype(np.uint8), count=False).harness.outputs,
                          want)


@pytest.mark.slow
def test_ten_million_synapses_bit_exact_on_host(tmp_path: Path) -> None:
    # The compile-time benchmark's 10M-synapse model (three layers: the IR caps a tensor
    # at 2^22 elements) builds from its .incbin files and computes what the golden
    # model computes.
    from snnc.bench.compile_time import synapse_graph
    from snnc.compiler.codegen.c import write_c
    from snnc.targets import host

    g = synapse_graph(10)
    m = write_c(g, tmp_path)
    assert sum(len(b) for b in m.blobs.values()) == 10_000_000
    x = (np.random.default_rng(3).random((2, 4, 2000)) < 0.2).astype(np.int32)
    want = simulate_int(g, x).output
    assert want[:, -1].sum() > 0  # spikes cross all three layers
    assert np.array_equal(host.build(tmp_path).run(x), want)
