"""Fixtures for the baseline exporters: small graphs covering every node kind, zoo models,
quantized graphs and their inputs. Each export is checked against the reference simulator."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from snnc.compiler.ir import (
    IF,
    LI,
    LIF,
    Affine,
    Conv1d,
    Conv2d,
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
    load,
    verify,
)
from snnc.compiler.ir.nodes import SumPool2d

ROOT = Path(__file__).resolve().parents[3]
ZOO = sorted(p for p in (ROOT / "models").rglob("*.snn") if "examples" not in p.parts)


def conv_graph() -> Graph:
    """Conv2d -> LIF (zero reset) -> Flatten -> Affine -> CubaLIF -> spike counts."""
    r = np.random.default_rng(3)
    return verify(Graph(
        nodes={
            "x": Input((2, 5, 5)),
            "conv": Conv2d((5, 5), r.normal(0, 0.6, (3, 2, 3, 3)), stride=(1, 1),
                           padding=(1, 1), bias=r.normal(0, 0.1, 3)),
            "lif": LIF((3, 5, 5), tau=np.array(4e-3), v_threshold=np.array(0.3), reset="zero",
                       v_reset=np.array(-0.1)),
            "flat": Flatten((3, 5, 5)),
            "fc": Affine(r.normal(0, 0.5, (5, 75)), r.normal(0, 0.1, 5)),
            "cuba": CubaLIF((5,), tau_syn=np.array(3e-3), tau_mem=np.array(6e-3),
                            r=np.array(2.0), w_in=np.array(1.5), v_leak=np.array(0.05),
                            v_threshold=np.array(0.2)),
            "count": SpikeCountArgmax((5,)),
            "y": Output((5,)),
        },
        edges=[("x", "conv"), ("conv", "lif"), ("lif", "flat"), ("flat", "fc"), ("fc", "cuba"),
               ("cuba", "count"), ("count", "y")],
        dt=1e-3, name="conv_test"))


def delay_graph() -> Graph:
    """DelayedLinear -> IF; Linear -> LI -> max readout; a second output with a sum readout."""
    r = np.random.default_rng(4)
    w = r.normal(0, 0.8, (6, 4))
    d = r.integers(0, 4, (6, 4))
    return verify(Graph(
        nodes={
            "x": Input((4,)),
            "dl": DelayedLinear(w, d),
            "if": IF((6,), r=np.array(0.9), v_threshold=np.array(0.6)),
            "fc": Linear(r.normal(0, 0.7, (3, 6))),
            "li": LI((3,), tau=np.array(5e-3), r=np.array(1.2), v_leak=np.array(0.01)),
            "mx": MembraneArgmax((3,), reduce="max"),
            "y": Output((3,)),
            "sm": MembraneArgmax((3,), reduce="sum"),
            "y2": Output((3,)),
        },
        edges=[("x", "dl"), ("dl", "if"), ("if", "fc"), ("fc", "li"), ("li", "mx"), ("mx", "y"),
               ("li", "sm"), ("sm", "y2")],
        dt=1e-3, name="delay_test"))


def conv1d_graph() -> Graph:
    """Grouped dilated Conv1d -> Threshold -> Scale -> LI -> 'last' readout."""
    r = np.random.default_rng(5)
    return verify(Graph(
        nodes={
            "x": Input((2, 8)),
            "conv": Conv1d(8, r.normal(0, 0.7, (4, 1, 3)), padding=1, dilation=2, groups=2),
            "th": Threshold((4, 6), np.array(0.1)),
            "sc": Scale((4, 6), np.array(0.5)),
            "flat": Flatten((4, 6)),
            "li": LI((24,), tau=np.array(2e-3)),
            "last": MembraneArgmax((24,), reduce="last"),
            "y": Output((24,)),
        },
        edges=[("x", "conv"), ("conv", "th"), ("th", "sc"), ("sc", "flat"), ("flat", "li"),
               ("li", "last"), ("last", "y")],
        dt=1e-3, name="conv1d_test"))


# --- conv/pool graphs (issue 17): stride, padding, dilation, groups, SumPool2d, Conv1d


def chain(nodes: dict, name: str) -> Graph:
    names = list(nodes)
    return Graph(nodes=nodes, edges=tuple(zip(names[:-1], names[1:])), dt=1e-3, name=name)


def net2d(dtype: str) -> Graph:
    """Strided, padded, dilated, grouped Conv2d -> LIF -> padded SumPool2d -> Threshold
    (MaxPool over spikes) -> Conv2d -> LIF -> Flatten -> Linear -> LIF -> counts."""
    rng = np.random.default_rng(3)
    return chain({
        "in": Input(shape=(4, 9, 11), dtype=dtype),
        "conv": Conv2d(input_shape=(9, 11), weight=rng.normal(0, 0.6, (6, 2, 3, 2)),
                       stride=(2, 1), padding=(1, 1), dilation=(2, 2), groups=2,
                       bias=rng.normal(0, 0.1, 6)),
        "lif1": LIF(shape=(6, 4, 11), tau=np.array(0.01), r=np.array(30.0)),
        "pool": SumPool2d(input_shape=(6, 4, 11), kernel_size=(2, 3), stride=(2, 2),
                          padding=(1, 0)),
        "any": Threshold(shape=(6, 3, 5), threshold=np.array(0.5)),
        "conv2": Conv2d(input_shape=(3, 5), weight=rng.normal(0, 0.8, (3, 6, 2, 2)),
                        padding=(1, 1)),
        "lif2": LIF(shape=(3, 4, 6), tau=np.array(0.01), r=np.array(30.0)),
        "flat": Flatten(input_shape=(3, 4, 6)),
        "fc": Linear(weight=rng.normal(0, 0.5, (5, 72))),
        "lif3": LIF(shape=(5,), tau=np.array(0.01), r=np.array(30.0)),
        "count": SpikeCountArgmax(shape=(5,)),
        "out": Output(shape=(5,)),
    }, f"convpool2d_{dtype}")


def net1d() -> Graph:
    """Strided, padded, dilated, grouped Conv1d over spikes -> LIF."""
    rng = np.random.default_rng(4)
    return chain({
        "in": Input(shape=(4, 20), dtype="spike"),
        "conv": Conv1d(input_shape=20, weight=rng.normal(0, 0.8, (6, 2, 3)), stride=2,
                       padding=2, dilation=2, groups=2, bias=rng.normal(0, 0.1, 6)),
        "lif": LIF(shape=(6, 10), tau=np.array(0.01), r=np.array(30.0)),
        "out": Output(shape=(6, 10)),
    }, "conv1d_sdg")


def pool_only() -> Graph:
    """Real input -> SumPool2d (no Conv: onnxruntime runs it in float64 too)."""
    return chain({
        "in": Input(shape=(2, 7, 6)),
        "pool": SumPool2d(input_shape=(2, 7, 6), kernel_size=(3, 2), stride=(2, 3),
                          padding=(1, 1)),
        "flat": Flatten(input_shape=(2, 4, 3)),
        "lif": LIF(shape=(24,), tau=np.array(0.01), r=np.array(4.0)),
        "out": Output(shape=(24,)),
    }, "pool_only")


CONV_POOL_GRAPHS = {"2d-spike": lambda: net2d("spike"), "2d-real": lambda: net2d("real"),
                    "1d-spike": net1d, "pool": pool_only}


def conv_pool_data(g: Graph, seed: int = 5, batch: int = 3, steps: int = 20) -> np.ndarray:
    """Inputs for the conv/pool graphs: 30% spikes, or reals in [-0.5, 1.5)."""
    rng = np.random.default_rng(seed)
    node = g.nodes[g.inputs[0]]
    x = rng.random((batch, steps, *node.shape_out()))
    return (x < 0.3).astype(np.float64) if node.dtype == "spike" else 2.0 * x - 0.5


def tiny() -> Graph:
    return load(ROOT / "models" / "examples" / "tiny_recurrent.snn")


FEATURE_GRAPHS = {"tiny": tiny, "conv": conv_graph, "delay": delay_graph,
                  "conv1d": conv1d_graph}


def inputs_for(graph: Graph, batch: int = 2, steps: int = 25, seed: int = 0,
               scale: float = 2.0) -> dict[str, np.ndarray]:
    """Random real inputs (spike inputs get 0/1) for every Input node."""
    r = np.random.default_rng(seed)
    out = {}
    for n in graph.inputs:
        node = graph.nodes[n]
        shp = (batch, steps) + tuple(node.shape_out())
        if node.dtype == "spike":
            out[n] = (r.random(shp) < 0.3).astype(np.float64)
        else:
            out[n] = r.normal(0, scale, shp)
    return out


@pytest.fixture(params=sorted(FEATURE_GRAPHS))
def feature_graph(request: pytest.FixtureRequest) -> Graph:
    return FEATURE_GRAPHS[request.param]()


@pytest.fixture(params=[p.relative_to(ROOT).as_posix() for p in ZOO] or ["(no zoo models)"])
def zoo_graph(request: pytest.FixtureRequest) -> Graph:
    if not ZOO:
        pytest.skip("no zoo model (models/**/*.snn) present")
    return load(ROOT / request.param)


QUANT_OPTIONS = {
    "default": {},
    "pow2_16": {"pow2": True, "state_bits": 16},
    "w4_layer_32": {"weight_bits": 4, "granularity": "layer", "state_bits": 32},
}


def quantized(graph: Graph, opts: dict, seed: int = 0) -> Graph:
    from snnc.compiler.passes.quantize import QuantOptions, quantize

    return quantize(graph, inputs_for(graph, batch=8, steps=30, seed=seed),
                    QuantOptions(**opts))


def int_inputs(graph_q: Graph, batch: int = 2, steps: int = 30, seed: int = 1
               ) -> dict[str, np.ndarray]:
    from snnc.compiler.ir.interpret_int import quantize_inputs

    return quantize_inputs(graph_q, inputs_for(graph_q, batch, steps, seed))


@pytest.fixture(scope="session")
def cg() -> SimpleNamespace:
    """The helpers above, for tests (conftest modules are not importable by name)."""
    return SimpleNamespace(
        FEATURE_GRAPHS=FEATURE_GRAPHS, QUANT_OPTIONS=QUANT_OPTIONS, ZOO=ZOO, ROOT=ROOT,
        inputs_for=inputs_for, int_inputs=int_inputs, quantized=quantized, tiny=tiny,
        conv_graph=conv_graph, delay_graph=delay_graph, conv1d_graph=conv1d_graph,
        CONV_POOL_GRAPHS=CONV_POOL_GRAPHS, conv_pool_data=conv_pool_data)
