"""The op registry (compiler/ops): coverage of every registered op, and the dispatchers'
fallback to it, proven with a toy op registered only for these tests."""

from __future__ import annotations

from dataclasses import dataclass
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
