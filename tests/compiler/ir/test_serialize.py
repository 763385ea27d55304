"""`.snn` files: exact round trip (property test), determinism, damage detection."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from snnc.compiler.errors import FormatError
from snnc.compiler.ir import (
    IF,
    LI,
    LIF,
    Affine,
    CubaLIF,
    DelayedLinear,
    Graph,
    Input,
    Linear,
    MembraneArgmax,
    Output,
    Scale,
    SpikeCountArgmax,
    Threshold,
    graphs_equal,
    load,
    save,
)
from snnc.compiler.ir.names import GRAPH_NAME
from snnc.compiler.ir.serialize import graph_hash

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
dtypes = st.sampled_from([np.float64, np.float32, np.int8, np.int16, np.int32])


def arrays(shape):
    def elems(dt):
        if np.dtype(dt).kind != "f":
            return None
        return st.floats(allow_nan=True, allow_infinity=True, width=8 * np.dtype(dt).itemsize)

    return dtypes.flatmap(lambda dt: hnp.arrays(dt, shape, elements=elems(dt)))


@st.composite
def random_graphs(draw):
    """A chain Input -> (synapse -> population)* -> readout -> Output with random params."""
    n = draw(st.integers(1, 5))
    nodes = {"input": Input((n,), dtype=draw(st.sampled_from(["real", "spike"])))}
    edges = []
    prev = "input"
    for k in range(draw(st.integers(1, 3))):
        m = draw(st.integers(1, 5))
        kind = draw(st.sampled_from(["linear", "affine", "delayed"]))
        w = draw(arrays((m, n)))
        if kind == "linear":
            syn = Linear(w, storage=draw(st.sampled_from(["dense", "csc"])))
        elif kind == "affine":
            syn = Affine(w, draw(arrays((m,))))
        else:
            syn = DelayedLinear(w, draw(hnp.arrays(np.int32, (m, n), elements=st.integers(0, 9))))
        pshape = st.sampled_from([(), (m,)])
        pop_kind = draw(st.sampled_from(["lif", "cuba", "li", "if", "scale", "thr"]))
        p = lambda: draw(arrays(draw(pshape)))  # noqa: E731
        pop = {
            "lif": lambda: LIF((m,), tau=p(), r=p(), v_leak=p(), v_threshold=p(), v_reset=p(),
                               reset=draw(st.sampled_from(["subtract", "zero"]))),
            "cuba": lambda: CubaLIF((m,), tau_syn=p(), tau_mem=p(), r=p(), v_leak=p(),
                                    v_threshold=p(), v_reset=p(), w_in=p()),
            "li": lambda: LI((m,), tau=p(), r=p(), v_leak=p()),
            "if": lambda: IF((m,), r=p(), v_threshold=p()),
            "scale": lambda: Scale((m,), scale=p()),
            "thr": lambda: Threshold((m,), threshold=p()),
        }[pop_kind]()
        nodes[f"syn{k}"], nodes[f"pop{k}"] = syn, pop
        edges += [(prev, f"syn{k}"), (f"syn{k}", f"pop{k}")]
        prev, n = f"pop{k}", m
    ro = draw(st.sampled_from([SpikeCountArgmax((n,)), MembraneArgmax((n,), reduce="max")]))
    nodes["readout"], nodes["output"] = ro, Output((n,))
    edges += [(prev, "readout"), ("readout", "output")]
    meta = draw(st.dictionaries(st.text(max_size=5), st.one_of(
        st.integers(), floats, st.text(max_size=5), st.lists(st.integers(), max_size=3)),
        max_size=3))
    return Graph(nodes=nodes, edges=edges, dt=draw(st.floats(1e-6, 1.0)),
                 discretization=draw(st.sampled_from(["exact", "euler", "bitshift"])),
                 name=draw(st.from_regex(GRAPH_NAME, fullmatch=True).filter(lambda s: len(s) <= 16)),
                 metadata=meta)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(g=random_graphs())
def test_roundtrip_exact(g, tmp_path):
    p = tmp_path / "g.snn"
    save(g, p)
    g2 = load(p)
    assert graphs_equal(g, g2)
    assert graph_hash(g2) == graph_hash(g)


def test_save_is_deterministic(tiny_graph, tmp_path):
    save(tiny_graph, tmp_path / "a.snn")
    save(tiny_graph, tmp_path / "b.snn")
    assert (tmp_path / "a.snn").read_bytes() == (tmp_path / "b.snn").read_bytes()


def test_truncated_file(tiny_graph, tmp_path):
    p = tmp_path / "g.snn"
    save(tiny_graph, p)
    data = p.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 5):
        (tmp_path / "t.snn").write_bytes(data[:cut])
        with pytest.raises(FormatError, match="t.snn"):
            load(tmp_path / "t.snn")


def _rewrite(src, dst, edit):
    with zipfile.ZipFile(src) as z:
        doc = json.loads(z.read("graph.json"))
        npz = z.read("weights.npz")
    edit(doc)
    with zipfile.ZipFile(dst, "w") as z:
        z.writestr("graph.json", json.dumps(doc))
        z.writestr("weights.npz", npz)


def test_edited_file_fails_hash(tiny_graph, tmp_path):
    save(tiny_graph, tmp_path / "g.snn")
    _rewrite(tmp_path / "g.snn", tmp_path / "e.snn", lambda d: d.update(dt=2e-3))
    with pytest.raises(FormatError, match="hash mismatch"):
        load(tmp_path / "e.snn")


def test_unknown_kind_and_version(tiny_graph, tmp_path):
    from snnc.compiler.ir.serialize import content_hash

    save(tiny_graph, tmp_path / "g.snn")
    with zipfile.ZipFile(tmp_path / "g.snn") as z:
        with np.load(__import__("io").BytesIO(z.read("weights.npz"))) as f:
            arrays_ = {k: f[k] for k in f.files}

    def unknown(d):
        d["nodes"]["lif1"]["kind"] = "Izhikevich"
        d["content_hash"] = content_hash(d, arrays_)

    _rewrite(tmp_path / "g.snn", tmp_path / "u.snn", unknown)
    with pytest.raises(FormatError, match="node 'lif1' has unknown kind 'Izhikevich'"):
        load(tmp_path / "u.snn")
    _rewrite(tmp_path / "g.snn", tmp_path / "v.snn", lambda d: d.update(format_version=99))
    with pytest.raises(FormatError, match="format version 99"):
        load(tmp_path / "v.snn")


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    import snnc.compiler.ir.serialize as ser

    g = Graph(nodes={"in": Input((1,)), "out": Output((1,))}, edges=[("in", "out")])

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ser.np, "savez", boom)
    with pytest.raises(RuntimeError):
        save(g, tmp_path / "x.snn")
    assert list(tmp_path.iterdir()) == []
