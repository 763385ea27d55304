"""The differential matrix: every backend and device behind ``run(x) -> y`` (targets/run.py)
x precision x small graphs, against the golden model (integer simulator: bit-exact;
float simulator: float32 rounding).

Cross devices skip with a reason when their toolchain or emulator is missing; the slower
engines (TVM, LiteRT builds) are in the slow tier.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from snnc.bench.baselines import open_baseline
from snnc.compiler.ir import LI, Affine, CubaLIF, Graph, Input, Output, verify
from snnc.compiler.ir.interpret_int import quantize_inputs
from snnc.compiler.ir.serialize import load
from snnc.compiler.passes.quantize import QuantOptions, quantize
from snnc.targets import registry
from snnc.targets.run import open_build

ROOT = Path(__file__).resolve().parents[2]


def _cuba_li() -> Graph:
    """6 -> 5 CubaLIF (biased) -> 3 LI membrane readout: a stateful non-spiking output."""
    rng = np.random.default_rng(7)
    return verify(Graph(
        nodes={"x": Input((6,)),
               "fc1": Affine(np.round(rng.normal(0, 0.9, (5, 6)), 3), np.full(5, 0.05)),
               "cuba": CubaLIF((5,), tau_syn=np.array(4e-3), tau_mem=np.array(8e-3),
                               v_threshold=np.array(0.3)),
               "fc2": Affine(np.round(rng.normal(0, 0.7, (3, 5)), 3), np.zeros(3)),
               "li": LI((3,), tau=np.array(6e-3)),
               "y": Output((3,))},
        edges=[("x", "fc1"), ("fc1", "cuba"), ("cuba", "fc2"), ("fc2", "li"), ("li", "y")],
        dt=1e-3, name="cuba_li"))


def _alif() -> Graph:
    """6 -> 5 recurrent ALIF (compiler/ops/alif.py) -> spike counts."""
    from snnc.compiler.ir import Linear, SpikeCountArgmax
    from snnc.compiler.ops.alif import ALIF

    rng = np.random.default_rng(11)
    return verify(Graph(
        nodes={"x": Input((6,)),
               "fc": Affine(np.round(rng.normal(0, 0.9, (5, 6)), 3), np.full(5, 0.05)),
               "alif": ALIF((5,), tau_mem=np.array(5e-3), tau_adp=np.array(20e-3),
                            v_threshold=np.array(0.3), beta_a=np.array(0.4)),
               "rec": Linear(np.round(rng.normal(0, 0.5, (5, 5)), 3)),
               "count": SpikeCountArgmax((5,)), "y": Output((5,))},
        edges=[("x", "fc"), ("fc", "alif"), ("alif", "rec"), ("rec", "alif"),
               ("alif", "count"), ("count", "y")],
        dt=1e-3, name="alif"))


GRAPHS = {"tiny_recurrent": lambda: load(ROOT / "models/examples/tiny_recurrent.snn"),
          "cuba_li": _cuba_li, "alif": _alif}


@pytest.fixture(scope="module")
def cases() -> dict[tuple[str, str], tuple[Graph, np.ndarray, np.ndarray]]:
    """(graph, precision) -> (graph, device inputs, golden outputs); int: quantized on
    seeded calibration data, golden = the integer simulator."""
    from snnc.targets.run import golden

    out = {}
    for name, make in GRAPHS.items():
        g = make()
        n_in = g.nodes[g.inputs[0]].shape_out()
        x = np.random.default_rng(3).normal(0.4, 1.0, (3, 16, *n_in)).astype(np.float32)
        gq = quantize(g, x.astype(np.float64), QuantOptions())
        xq = np.asarray(quantize_inputs(gq, x))
        out[name, "int"] = (gq, xq, golden(gq).run(xq))
        out[name, "float"] = (g, x, golden(g).run(x))
    return out


def _require(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


# (target, device, precisions, tools, marks). rram: the ideal device preset (no noise, a
# level grid that holds the integer weights), the one whose outputs are exact. Emulated
# devices run the second graph in the slow tier only (each run builds and boots a binary).
DEVICES = [
    ("host", "local", ("int", "float"), ("cc",), ()),
    ("smartwatch", "qemu", ("int", "float"), ("arm-none-eabi-gcc", "qemu-system-arm"),
     (pytest.mark.cross,)),
    ("rpi", "qemu", ("int",), ("aarch64-linux-gnu-gcc", "qemu-aarch64"), (pytest.mark.cross,)),
    ("mpsoc", "csim", ("int",), ("g++",), ()),
    ("mpsoc", "qemu", ("int",), ("aarch64-linux-gnu-g++", "qemu-aarch64"),
     (pytest.mark.cross,)),
    ("rram", "sim", ("int",), (), ()),
]


def _device_params():
    for target, device, precs, tools, marks in DEVICES:
        for i, g in enumerate(GRAPHS):
            for p in precs:
                slow = (pytest.mark.slow,) if i and pytest.mark.cross in marks else ()
                yield pytest.param(target, device, g, p, tools, marks=(*marks, *slow),
                                   id=f"{target}-{device}-{g}-{p}")


@pytest.mark.parametrize("target,device,graph,prec,tools", list(_device_params()))
def test_device_run_matches_golden(cases, tmp_path, target, device, graph, prec, tools):
    _require(*tools)
    g, x, want = cases[graph, prec]
    bd = registry.write_build(target, g, tmp_path / "b")
    model = open_build(bd, device=device, profile="ideal" if target == "rram" else None)
    got = model.run(x)
    assert got.shape == want.shape
    if prec == "int":
        np.testing.assert_array_equal(got, want)
    else:  # float32 C vs the float64 simulator
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


BASELINES = [("reference", ()), ("onnxruntime", ("onnxruntime",)),
             ("onnxruntime-scan", ("onnxruntime",)),
             ("tvm", ("tvm",)), ("litert", ("ai_edge_litert",))]


def _baseline_params():
    for name, mods in BASELINES:
        marks = (pytest.mark.slow,) if name in ("tvm", "litert") else ()
        for g in GRAPHS:
            for p in ("int", "float"):
                yield pytest.param(name, mods, g, p, marks=marks, id=f"{name}-{g}-{p}")


@pytest.mark.parametrize("name,mods,graph,prec", list(_baseline_params()))
def test_baseline_run_matches_golden(cases, name, mods, graph, prec):
    from snnc.compiler.errors import UnsupportedError

    for m in mods:
        pytest.importorskip(m)
    g, x, want = cases[graph, prec]
    try:
        model = open_baseline(name, g)
    except UnsupportedError as e:
        pytest.skip(f"unsupported by {name}: {e}")
    got = model.run(x)
    assert got.shape == want.shape
    if prec == "int":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_every_registered_device_is_in_the_matrix():
    """A new target or device must join the matrix (or this test says which is missing)."""
    covered = {(t, d) for t, d, *_ in DEVICES}
    missing = [(t.name, d.name) for t in registry.TARGETS.values() for d in t.devices
               if d.run is not None and (t.name, d.name) not in covered
               and d.name not in ("ssh", "probe")]  # boards: no board in CI
    assert not missing, missing
