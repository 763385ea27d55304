"""Property: anything ``verify`` accepts, both simulators and the emitters accept.

Graphs are drawn with deliberately sloppy parameters (shapes that only broadcast *with*
the population, zero/negative/NaN values, mismatched weights, zero strides): verify may
refuse them (that is its job), but a graph it lets through must run in the float
simulator, in the integer simulator (after quantization for float graphs, directly for
quantized seeds with a field replaced) and through the C (and HLS) emitters, where only
:class:`UnsupportedError` (a documented gap, not a crash) is allowed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from snnc.compiler.codegen.c import emit_c
from snnc.compiler.errors import GraphError, SnncError, UnsupportedError
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
    load,
    verify,
)
from snnc.compiler.ir.interpret import simulate
from snnc.compiler.ir.interpret_int import quantize_inputs, simulate_int
from snnc.compiler.ir.qnodes import is_quantized

CORPUS = Path(__file__).resolve().parent / "corpus"
VALUES = st.sampled_from([0.0, 1.0, -1.0, 0.5, 2e-3, 5e-3, 1e-6, 1e6, np.nan, np.inf, -np.inf])


@st.composite
def sloppy_array(draw: st.DrawFn, n: int, positive: bool = False) -> np.ndarray:
    shape = draw(st.sampled_from([(), (1,), (n,), (1, 1), (n, 1), (1, n), (2,), (n, n)]))
    fill = draw(st.floats(1e-4, 1.0) if positive and draw(st.booleans()) else VALUES)
    a = np.full(shape, fill, np.float64)
    if a.size and draw(st.booleans()):
        a = a * np.linspace(0.5, 1.5, a.size).reshape(shape)
    return a


@st.composite
def population(draw: st.DrawFn, n: int) -> tuple[object, bool]:
    """(node, spikes?) for a population of n with sloppy parameters."""
    p = lambda pos=False: draw(sloppy_array(n, pos))  # noqa: E731
    kind = draw(st.sampled_from(["lif", "cuba", "li", "if", "scale", "thr"]))
    reset = draw(st.sampled_from(["subtract", "zero"]))
    if kind == "lif":
        return LIF((n,), tau=p(True), r=p(), v_leak=p(), v_threshold=p(True), v_reset=p(),
                   reset=reset), True
    if kind == "cuba":
        return CubaLIF((n,), tau_syn=p(True), tau_mem=p(True), r=p(), v_threshold=p(True),
                       w_in=p(), reset=reset), True
    if kind == "li":
        return LI((n,), tau=p(True), r=p(), v_leak=p()), False
    if kind == "if":
        return IF((n,), r=p(), v_threshold=p(True), reset=reset), True
    if kind == "scale":
        return Scale((n,), p()), False
    return Threshold((n,), p()), True


@st.composite
def sloppy_graphs(draw: st.DrawFn) -> Graph:
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n = draw(st.integers(1, 5))
    conv = draw(st.booleans())
    nodes: dict[str, object] = {}
    edges: list[tuple[str, str]] = []
    if conv:
        c_in, length = draw(st.integers(1, 2)), draw(st.integers(1, 6))
        nodes["in"] = Input((c_in, length))
        k = draw(st.integers(1, 4))
        w = rng.normal(0, 1, (draw(st.integers(1, 3)), c_in, k))
        cv = Conv1d(length, w, stride=draw(st.integers(0, 2)), padding=draw(st.integers(0, 2)),
                    dilation=draw(st.integers(0, 2)), groups=draw(st.integers(0, 2)))
        nodes["conv"] = cv
        try:
            out = tuple(cv.shape_out())
        except (ZeroDivisionError, IndexError, ValueError):
            out = (w.shape[0], 1)
        nodes["flat"] = Flatten(out)
        edges += [("in", "conv"), ("conv", "flat")]
        prev, n = "flat", int(np.prod([max(int(x), 1) for x in out]))
    else:
        nodes["in"] = Input((n,), dtype=draw(st.sampled_from(["real", "spike"])))
        prev = "in"
    spikes = False
    for k in range(draw(st.integers(1, 3))):
        m = draw(st.integers(1, 5))
        m_in = n if draw(st.integers(0, 9)) else n + 1  # sometimes a mismatch
        syn = draw(st.sampled_from(["linear", "affine", "delayed"]))
        w = rng.normal(0, 1, (m, m_in))
        if syn == "linear":
            s = Linear(w)
        elif syn == "affine":
            s = Affine(w, rng.normal(0, 1, draw(st.sampled_from([(m,), (m + 1,), (0,)]))))
        else:
            s = DelayedLinear(w, rng.integers(-1 if not draw(st.integers(0, 9)) else 0, 4,
                                              (m, m_in)))
        pop, spikes = draw(population(m))
        nodes[f"s{k}"], nodes[f"p{k}"] = s, pop
        edges += [(prev, f"s{k}"), (f"s{k}", f"p{k}")]
        if draw(st.integers(0, 3)) == 0:  # a recurrent synapse
            nodes[f"r{k}"] = Linear(rng.normal(0, 0.3, (m, m)))
            edges += [(f"p{k}", f"r{k}"), (f"r{k}", f"p{k}")]
        prev, n = f"p{k}", m
    nodes["ro"] = SpikeCountArgmax((n,)) if spikes and draw(st.booleans()) else \
        MembraneArgmax((n,), reduce=draw(st.sampled_from(["sum", "max", "last"])))
    nodes["out"] = Output((n,))
    edges += [(prev, "ro"), ("ro", "out")]
    return Graph(nodes=nodes, edges=edges, dt=draw(st.sampled_from([1e-3, 1e-4, 0.5])),
                 discretization=draw(st.sampled_from(["exact", "euler", "bitshift"])),
                 name="prop")


def _inputs(g: Graph, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for n in g.inputs:
        node = g.nodes[n]
        shape = (2, 4, *tuple(node.shape_out()))
        out[n] = ((rng.random(shape) < 0.4).astype(np.float64) if node.dtype == "spike"
                  else rng.normal(0, 1, shape))
    return out


def _emit_ok(g: Graph) -> None:
    try:
        emit_c(g)
    except UnsupportedError:
        pass
    if is_quantized(g):
        from snnc.compiler.codegen.hls import emit_hls

        try:
            emit_hls(g)
        except UnsupportedError:
            pass


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(g=sloppy_graphs())
def test_verified_float_graphs_run_everywhere(g: Graph) -> None:
    try:
        verify(g)
    except GraphError:
        assume(False)
    x = _inputs(g)
    res = simulate(g, x)  # must not raise: verify accepted the graph
    assert set(res.outputs) == set(g.outputs)
    _emit_ok(g)
    from snnc.compiler.passes.quantize import quantize

    try:
        gq = quantize(g, x)
    except SnncError:  # a float graph the integer pipeline cannot express: documented
        return
    simulate_int(gq, quantize_inputs(gq, x))
    _emit_ok(gq)


def _int_field_values(draw: st.DrawFn, n: int) -> np.ndarray:
    shape = draw(st.sampled_from([(), (1,), (n,), (1, 1), (n, 1), (2,), (n, n)]))
    dtype = draw(st.sampled_from(["int8", "int16", "int32", "int64", "uint8", "float32"]))
    lo, hi = draw(st.sampled_from([(0, 1), (-1, 1), (0, 1 << 15), (-(1 << 15), 1 << 15),
                                   (0, 62), (-(1 << 31), (1 << 31) - 1)]))
    info = np.iinfo(dtype) if dtype != "float32" else None
    if info is not None:
        lo, hi = max(lo, int(info.min)), min(hi, int(info.max))
    v = np.random.default_rng(draw(st.integers(0, 999))).integers(lo, hi + 1, shape)
    return v.astype(dtype)


@pytest.fixture(scope="module")
def quantized_seeds() -> list[Graph]:
    return [load(CORPUS / "seed_tiny_q.snn"), load(CORPUS / "seed_mixed_q.snn")]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_verified_quantized_graphs_run_everywhere(quantized_seeds: list[Graph],
                                                  data: st.DataObject) -> None:
    g = data.draw(st.sampled_from(quantized_seeds))
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(sorted(g.nodes)))
        node = g.nodes[name]
        try:
            n = int(np.prod(node.shape_out()))
        except (IndexError, ValueError, TypeError):  # already broken by an earlier edit
            continue
        fields = list(node.array_fields) + [f for f in ("state_bits", "out_bits", "weight_bits",
                                                        "bits", "cur_bits") if hasattr(node, f)]
        if not fields:
            continue
        f = data.draw(st.sampled_from(fields))
        if f in node.array_fields:
            new = data.draw(st.builds(lambda: None).flatmap(
                lambda _: st.composite(lambda d: _int_field_values(d, n))()))
        else:
            new = data.draw(st.sampled_from([0, 1, 4, 8, 16, 32, 64, -1]))
        try:
            g = g.replace(nodes={**g.nodes, name: node.replace(**{f: new})})
        except (TypeError, ValueError):
            continue
    try:
        verify(g)
    except GraphError:
        assume(False)
    x = {k: v if g.nodes[k].dtype == "spike" else v * 2.0 for k, v in _inputs(g, 1).items()}
    simulate_int(g, quantize_inputs(g, x))  # must not raise: verify accepted the graph
    _emit_ok(g)
