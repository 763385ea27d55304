"""TVM (Relax via the ONNX frontend, llvm) builds against the reference simulators.

float32 builds: outputs agree with the float64 reference to 1e-4 relative (float32
rounding; TVM may reorder sums). Integer builds: bit-exact with the integer simulator.
TVM compiles take seconds, so each graph is built once per session.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

tvm = pytest.importorskip("tvm", reason="apache-tvm is not installed")

from snnc.bench.baselines.runners import TvmRunner  # noqa: E402
from snnc.compiler.codegen.onnx import export_step, export_window  # noqa: E402
from snnc.compiler.errors import SnncError, UnsupportedError  # noqa: E402
from snnc.compiler.ir import simulate  # noqa: E402

_CACHE: dict[str, TvmRunner] = {}


def _runner(key: str, make) -> TvmRunner:
    if key not in _CACHE:
        _CACHE[key] = TvmRunner(make())
    return _CACHE[key]


@pytest.mark.parametrize("name", ["tiny", "conv", "delay"])
def test_float32_matches_reference(name: str, cg) -> None:
    g = cg.FEATURE_GRAPHS[name]()
    x = cg.inputs_for(g, batch=1, steps=20, seed=2)
    ref = simulate(g, x).outputs
    r = _runner(f"f32-{name}", lambda: export_step(g, dtype="float32", batch=1))
    got = r.run(x)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-4, atol=1e-5, err_msg=k)
    # reset really restarts: a second run gives the same answer
    again = r.run(x)
    for k in ref:
        np.testing.assert_array_equal(again[k], got[k])


def _zoo_params() -> list:
    """L2MU runs in the default tier; other zoo models' TVM builds are slow-tier."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    paths = sorted(p for p in (root / "models").rglob("*.snn") if "examples" not in p.parts)
    return [pytest.param(p, id=p.relative_to(root).as_posix(),
                         marks=() if p.parent.name == "l2mu" else pytest.mark.slow)
            for p in paths]


@pytest.mark.parametrize("path", _zoo_params())
def test_zoo_float32(path, cg) -> None:
    from snnc.compiler.ir import load

    zoo_graph = load(path)
    x = cg.inputs_for(zoo_graph, batch=1, steps=20, scale=1.0)
    ref = simulate(zoo_graph, x).outputs
    r = _runner(f"zoo-{zoo_graph.name}",
                lambda: export_step(zoo_graph, dtype="float32", batch=1))
    got = r.run(x)
    for k in ref:
        np.testing.assert_allclose(got[k], ref[k], rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("name", ["tiny", "conv"])
def test_integer_bit_exact(name: str, cg) -> None:
    from snnc.compiler.ir.interpret_int import simulate_int

    gq = cg.quantized(cg.FEATURE_GRAPHS[name](), {})
    xq = cg.int_inputs(gq, batch=1, steps=40)
    ref = simulate_int(gq, xq).outputs
    got = _runner(f"int-{name}", lambda: export_step(gq, dtype="int", batch=1)).run(xq)
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)
    assert any(v.sum() > 0 for v in ref.values())


def test_needs_static_step_model(cg) -> None:
    from snnc.bench.baselines.tvm_relax import to_relax

    with pytest.raises(SnncError, match="static batch"):
        to_relax(export_step(cg.tiny()))
    with pytest.raises(UnsupportedError, match="Scan"):
        to_relax(export_window(cg.tiny(), batch=1))


@pytest.mark.cross
def test_aarch64_shared_library(tmp_path, cg) -> None:
    if shutil.which("aarch64-linux-gnu-gcc") is None:
        pytest.skip("aarch64-linux-gnu-gcc not installed")
    from snnc.bench.baselines.tvm_relax import export_aarch64

    path = export_aarch64(export_step(cg.tiny(), batch=1), tmp_path / "tiny_aarch64.so")
    head = path.read_bytes()[:20]
    assert head[:4] == b"\x7fELF"
    assert int.from_bytes(head[18:20], "little") == 183  # EM_AARCH64
    assert not list(tmp_path.glob(".*tmp*"))
