"""The op registry (compiler/ops): coverage of every registered op, and the dispatchers'
fallback to it, proven with a toy op registered only for these tests."""

from __future__ import annotations

import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from snnc.compiler import ops
from snnc.compiler.codegen.c import emit_c
from snnc.compiler.codegen.onnx import export_step
from snnc.compiler.errors import UnsupportedError
from snnc.compiler.ir import Graph, Input, Linear, Output, load, save, simulate
from snnc.compiler.ir.nodes import NODE_KINDS, _Population


@pytest.mark.parametrize("op", ops.ops(), ids=lambda o: o.kind)
def test_every_registered_op_answers_every_backend(op: ops.OpDef) -> None:
    assert ops.coverage_gaps(op) == []


@dataclass(frozen=True, eq=False)
class Twice(_Population):
    """Toy population: y[t] = 2 x[t]."""

    kind: ClassVar[str] = "TestTwice"
    stateful: ClassVar[bool] = False


@pytest.fixture
def twice():
    op = ops.register(ops.OpDef(kind="TestTwice", float_cls=Twice, stateful=False,
                                float_step=lambda node, x, st, g: 2.0 * x,
                                nir_unsupported="toy op"))
    try:
        yield op
    finally:
        ops.unregister("TestTwice")
    assert "TestTwice" not in NODE_KINDS


def _graph() -> Graph:
    return Graph(nodes={"in": Input(shape=(2,)), "fc": Linear(np.array([[1.0, 2.0],
                                                                          [3.0, 0.5]])),
                        "tw": Twice(shape=(2,)), "out": Output(shape=(2,))},
                 edges=(("in", "fc"), ("fc", "tw"), ("tw", "out")), name="toy")


def test_coverage_check_finds_an_incomplete_op(twice: ops.OpDef) -> None:
    gaps = ops.coverage_gaps(twice)
    assert any("'c'" in g for g in gaps) and any("'tflite'" in g for g in gaps)
    for b in ops.BACKENDS:
        ops.unsupported(b, "TestTwice", "toy op")
    assert ops.coverage_gaps(twice) == []


def test_simulator_and_serializer_fall_back_to_the_registry(twice: ops.OpDef,
                                                            tmp_path) -> None:
    g = _graph()
    x = np.array([[[1.0, -1.0], [0.5, 2.0]]])  # [B=1, T=2, 2]
    y = simulate(g, x).output
    np.testing.assert_array_equal(y[0], [[-2.0, 5.0], [9.0, 5.0]])  # 2 * (W x), by hand
    save(g, tmp_path / "toy.snn")
    assert isinstance(load(tmp_path / "toy.snn").nodes["tw"], Twice)


def test_backends_name_the_node_of_an_unsupported_op(twice: ops.OpDef) -> None:
    ops.unsupported("c", "TestTwice", "toy op")
    with pytest.raises(UnsupportedError, match=r"node 'tw'.*c backend.*TestTwice.*toy op"):
        emit_c(_graph())
    with pytest.raises(UnsupportedError, match=r"node 'tw'.*onnx.*no lowering registered"):
        export_step(_graph())


# ------------------------------------------------------------------ the registry is the only place

NEURON_OPS = {"LIF", "LI", "IF", "CubaLIF", "ALIF"}
ROOT = Path(__file__).resolve().parents[3]
# Modules that dispatch on node kinds: they must ask the registry about neuron kinds.
DISPATCHERS = sorted(
    [ROOT / "compiler" / "ir" / f for f in ("interpret.py", "interpret_int.py", "verify.py",
                                            "summary.py", "metrics.py", "graph.py",
                                            "serialize.py")]
    + list((ROOT / "compiler" / "passes").glob("*.py"))
    # Every emitter, the fused population kernel (c_fused.py) included: it takes an op's
    # form from its FusedNeuron declaration, not from its kind.
    + list((ROOT / "compiler" / "codegen").glob("*.py")))


def _kind_names() -> set[str]:
    return {cls.kind for o in ops.ops() if o.kind in NEURON_OPS
            for cls in (o.float_cls, o.quant_cls) if cls is not None}


def test_every_neuron_population_kind_is_a_registered_op() -> None:
    from snnc.compiler.ir.nodes import READOUTS

    assert NEURON_OPS <= {o.kind for o in ops.ops()}
    pops = {k for k, c in NODE_KINDS.items() if issubclass(c, _Population)
            and not issubclass(c, READOUTS) and not k.startswith("Test")}
    registered = {cls.kind for o in ops.ops() for cls in (o.float_cls, o.quant_cls) if cls}
    assert pops <= registered, pops - registered
    assert {"QLIF", "QLI", "QIF", "QCubaLIF", "QALIF"} <= registered


def _named_kinds(path: Path, kinds: set[str]) -> list[str]:
    """Kind names used as code in ``path``: identifiers (not attributes such as ``nir.LIF``)
    and string literals equal to a kind; comments and docstrings may mention them."""
    hits, prev = [], None
    with tokenize.open(path) as f:
        for tok in tokenize.generate_tokens(f.readline):
            if tok.type == tokenize.NAME and tok.string in kinds and not (
                    prev is not None and prev.string == "."):
                hits.append(f"{path.name}:{tok.start[0]}: {tok.string}")
            elif tok.type == tokenize.STRING and tok.string.strip("\"'") in kinds:
                hits.append(f"{path.name}:{tok.start[0]}: {tok.string}")
            if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
                prev = tok
    return hits


def test_dispatchers_do_not_name_neuron_kinds() -> None:
    kinds = _kind_names()
    assert {"LIF", "QCubaLIF", "ALIF"} <= kinds and len(DISPATCHERS) > 15
    hits = [h for p in DISPATCHERS for h in _named_kinds(p, kinds)]
    assert hits == [], "neuron kinds named outside compiler/ops/:\n" + "\n".join(hits)


def test_the_name_check_finds_a_named_kind(tmp_path) -> None:
    p = tmp_path / "d.py"
    p.write_text('"""LIF in a docstring is fine."""\nimport nir\n'
                 'x = nir.LIF  # LIF in a comment is fine\n'
                 'if isinstance(n, QCubaLIF) or n.kind == "CubaLIF":\n    pass\n')
    assert _named_kinds(p, _kind_names()) == ["d.py:4: QCubaLIF", "d.py:4: \"CubaLIF\""]


def test_spiking_trait_must_match_out_dtype() -> None:
    @dataclass(frozen=True, eq=False)
    class Liar(_Population):
        kind: ClassVar[str] = "TestLiar"  # out_dtype REAL, but claims to spike

    with pytest.raises(ValueError, match="spiking=True.*out_dtype"):
        ops.register(ops.OpDef(kind="TestLiar", float_cls=Liar, spiking=True))
    assert "TestLiar" not in NODE_KINDS


def test_planner_refuses_a_stateful_op_without_state_spec() -> None:
    from snnc.compiler.errors import SnncError
    from snnc.compiler.passes.plan import spec_state_bytes

    @dataclass(frozen=True, eq=False)
    class Mem(_Population):
        kind: ClassVar[str] = "TestMem"

    ops.register(ops.OpDef(kind="TestMem", float_cls=Mem, stateful=True,
                           float_step=lambda node, x, st, g: x, nir_unsupported="toy"))
    try:
        g = _graph().replace(nodes={**_graph().nodes, "tw": Mem(shape=(2,))})
        with pytest.raises(SnncError, match=r"node 'tw'.*TestMem.*no state spec"):
            spec_state_bytes(g)
    finally:
        ops.unregister("TestMem")


def test_state_spec_bytes_of_the_builtin_neurons() -> None:
    """Hand-counted: 2 bytes per 16-bit state, 4 per 32-bit one, per neuron."""
    from snnc.compiler.ops.cubalif import QCubaLIF
    from snnc.compiler.ops.li import QLI
    from snnc.compiler.ops.lif import QLIF

    assert ops.op_for(QLIF((10,), state_bits=16)).state_bytes(QLIF((10,), state_bits=16)) == 20
    assert ops.op_for(QLI((3,))).state_bytes(QLI((3,), state_bits=32)) == 12
    q = QCubaLIF((5,), state_bits=32, cur_bits=16)
    assert ops.op_for(q).state_bytes(q) == 5 * (2 + 4)


def test_fused_kernel_form_is_declared_by_the_op() -> None:
    """LIF and IF declare their form in the fused C kernel (decay/leak fields of their
    quantized node); an op that declares none is not fused, and a float node never is."""
    from snnc.compiler.ir.nodes import LIF
    from snnc.compiler.ir.qnodes import QIF, QLI, QLIF

    assert ops.fused_neuron(QLIF((3,))) == ops.FusedNeuron(decay="beta_q", leak="leak_q")
    assert ops.fused_neuron(QIF((3,))) == ops.FusedNeuron()
    assert ops.fused_neuron(QLI((3,))) is None
    assert ops.fused_neuron(LIF((3,))) is None
    for f in ("beta_q", "leak_q"):  # the fields it names exist on the node
        assert hasattr(QLIF((3,)), f)
