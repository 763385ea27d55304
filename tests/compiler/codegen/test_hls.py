"""HLS kernel generator: g++ C simulation of the generated kernel against the integer
simulator (bit-exact), parallelism bookkeeping, determinism and bad input."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.codegen.hls import emit_hls, layer_units, supported_ops
from snnc.compiler.errors import SnncError, UnsupportedError
from snnc.compiler.ir import (
    LIF,
    Affine,
    CubaLIF,
    Flatten,
    Graph,
    Input,
    Linear,
    Output,
    SpikeCountArgmax,
    Threshold,
    verify,
)
from snnc.compiler.ir.interpret_int import simulate_int

GXX = shutil.which("g++")
needs_gxx = pytest.mark.skipif(GXX is None, reason="g++ not installed")
FLAGS = ["-std=c++14", "-O1", "-Wall", "-Wextra", "-Werror", "-Wno-unknown-pragmas",
         "-Wno-unused-label"]


def recurrent_graph() -> Graph:
    """Affine -> CubaLIF (zero reset) -> LIF with recurrent Linear (two incoming edges);
    Flatten between them; Linear -> Threshold -> spike counts: every kind the zoo does not cover."""
    r = np.random.default_rng(7)
    return verify(Graph(
        nodes={
            "x": Input((5,)),
            "fc": Affine(r.normal(0, 0.8, (6, 5)), r.normal(0, 0.2, 6)),
            "cuba": CubaLIF((6,), tau_syn=np.array(3e-3), tau_mem=np.array(5e-3),
                            r=np.array(2.0), w_in=np.array(1.5), v_threshold=np.array(0.25),
                            reset="zero", v_reset=np.array(-0.05)),
            "flat": Flatten((6,)),
            "ff": Linear(r.normal(0, 0.9, (4, 6))),
            "rec": Linear(r.normal(0, 0.6, (4, 4))),
            "lif": LIF((4,), tau=np.array(4e-3), v_threshold=np.array(0.3)),
            "out_fc": Linear(r.normal(0, 1.0, (3, 4))),
            "th": Threshold((3,), np.array(0.2)),
            "count": SpikeCountArgmax((3,)),
            "y": Output((3,)),
        },
        edges=[("x", "fc"), ("fc", "cuba"), ("cuba", "flat"), ("flat", "ff"), ("ff", "lif"), ("lif", "rec"),
               ("rec", "lif"), ("lif", "out_fc"), ("out_fc", "th"), ("th", "count"),
               ("count", "y")],
        dt=1e-3, name="hls_recurrent"))


def csim(graph_q: Graph, x: dict[str, np.ndarray], tmp: Path, reuse: int = 1) -> np.ndarray:
    """Generate, build with g++ and run the testbench; returns outputs [B, T, O]."""
    m = emit_hls(graph_q, reuse=reuse)
    m.write(tmp)
    flat = np.concatenate([np.asarray(x[n]).reshape(*np.asarray(x[n]).shape[:2], -1)
                           for n in graph_q.inputs], axis=2)
    dt = np.dtype(np.uint8 if m.input_ctype == "uint8_t" else np.int16).newbyteorder("<")
    b, t, n = flat.shape
    (tmp / "inputs.bin").write_bytes(b"SNNI" + struct.pack("<5I", 1, b, t, n, dt.itemsize)
                                     + flat.astype(dt).tobytes())
    r = subprocess.run([GXX, *FLAGS, f"-I{tmp}", str(tmp / "tb.cpp"), str(tmp / "kernel.cpp"),
                        "-o", str(tmp / "tb")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([str(tmp / "tb"), str(tmp / "inputs.bin")], capture_output=True,
                       text=True, check=True)
    rows = [bytes.fromhex(line.split()[1]) for line in r.stdout.splitlines()
            if line.startswith("o ")]
    return np.frombuffer(b"".join(rows), "<i4").reshape(b, t, m.n_outputs)


def reference(graph_q: Graph, x: dict[str, np.ndarray]) -> np.ndarray:
    res = simulate_int(graph_q, x)
    return np.concatenate([res.outputs[n].reshape(*res.outputs[n].shape[:2], -1)
                           for n in graph_q.outputs], axis=2)


def test_layer_units_hand_cases() -> None:
    assert layer_units(4, 8, 1) == 32          # fully parallel
    assert layer_units(4, 8, 32) == 1          # one MAC unit, 32 rounds
    assert layer_units(4, 8, 5) == 7           # ceil(32 / 5): the last round is partial
    assert layer_units(4, 8, 1000) == 1        # clipped
    assert layer_units(784, 100, 64) == 1225


@needs_gxx
@pytest.mark.parametrize("name", ["tiny", "delay", "recurrent"])
@pytest.mark.parametrize("opts", ["default", "pow2_16", "w4_layer_32"])
def test_csim_bit_exact_to_integer_simulator(name: str, opts: str, cg, tmp_path: Path) -> None:
    g = recurrent_graph() if name == "recurrent" else cg.FEATURE_GRAPHS[name]()
    gq = cg.quantized(g, cg.QUANT_OPTIONS[opts])
    x = cg.int_inputs(gq, batch=3, steps=30)
    ref = reference(gq, x)
    assert np.any(ref != 0), "the case must exercise the outputs"
    for reuse in (1, 7):
        out = csim(gq, x, tmp_path / f"r{reuse}", reuse=reuse)
        bad = np.argwhere(out != ref)
        assert bad.size == 0, f"reuse {reuse}: first mismatch at {tuple(bad[0])}"


def test_units_pragmas_and_header(cg) -> None:
    gq = cg.quantized(cg.tiny(), {})
    m = emit_hls(gq, reuse=5, part="xczu7ev-ffvc1156-2-e", clock_ns=4.0, board="zcu104")
    src = m.files["kernel.cpp"]
    for name, node in gq.items():
        if hasattr(node, "weight"):
            n_out, n_in = node.weight.shape
            assert m.units[name] == layer_units(n_in, n_out, 5)
            assert f"{name}: {m.units[name]} MAC units" in src
            assert re.search(rf"ARRAY_PARTITION variable={name}_weight cyclic "
                             rf"factor={m.units[name]}\b", src)
    assert "#pragma HLS INTERFACE mode=s_axilite port=return bundle=control" in src
    assert "reuse factor 5" in src and "xczu7ev-ffvc1156-2-e" in src
    assert "set_part {xczu7ev-ffvc1156-2-e}" in m.files["run_hls.tcl"]
    assert "create_clock -period 4.0" in m.files["run_hls.tcl"]
    assert f"#define SNNC_N_INPUTS {m.n_inputs}" in m.files["kernel.h"]


def test_same_graph_same_bytes(cg) -> None:
    gq = cg.quantized(cg.tiny(), {})
    assert emit_hls(gq, reuse=3).files == emit_hls(gq, reuse=3).files


def test_rejects_float_and_bad_reuse(cg) -> None:
    with pytest.raises(UnsupportedError, match="integer-only"):
        emit_hls(cg.tiny())
    with pytest.raises(SnncError, match="reuse must be >= 1"):
        emit_hls(cg.quantized(cg.tiny(), {}), reuse=0)
    assert {"QLinear", "QConv", "SumPool2d", "Flatten"} <= set(supported_ops())


@needs_gxx
@pytest.mark.parametrize("name", ["2d-spike", "2d-real", "1d-spike", "pool", "conv"])
def test_conv_pool_csim_bit_exact(name: str, cg, tmp_path: Path) -> None:
    """Conv2d/Conv1d with stride, padding, dilation and groups, SumPool2d, Flatten: the
    kernel's csim equals the integer simulator, fully parallel and at reuse 5 (the MAC
    schedule then wraps rows mid-round)."""
    from snnc.compiler.ir.interpret_int import quantize_inputs
    from snnc.compiler.passes.quantize import QuantOptions, quantize

    if name in cg.CONV_POOL_GRAPHS:
        g = cg.CONV_POOL_GRAPHS[name]()
        gq = quantize(g, cg.conv_pool_data(g), QuantOptions(pow2=(name == "pool")))
        x = {g.inputs[0]: quantize_inputs(gq, cg.conv_pool_data(g, seed=9))}
    else:
        gq = cg.quantized(cg.FEATURE_GRAPHS[name](), {})
        x = cg.int_inputs(gq, batch=3, steps=20)
    ref = reference(gq, x)
    assert np.any(ref != 0), "the case must exercise the outputs"
    for reuse in (1, 5):
        out = csim(gq, x, tmp_path / f"r{reuse}", reuse=reuse)
        bad = np.argwhere(out != ref)
        assert bad.size == 0, f"reuse {reuse}: first mismatch at {tuple(bad[0])}"
