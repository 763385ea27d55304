"""The CLI as a user runs it: real subprocesses, exit codes, one-line errors, no debris."""

from __future__ import annotations

import json
import subprocess
import zipfile

import numpy as np
import pytest

from snnc.compiler import __version__
from snnc.compiler.ir import Graph, Input, Linear, Output, save
from snnc.compiler.ir.serialize import content_hash


def run(cmd, *args, cwd=None):
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, cwd=cwd)


def assert_clean_error(p, *needles):
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.strip().splitlines() if ln]
    assert len(lines) == 1, p.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_version(snnc_cmd):
    p = run(snnc_cmd, "--version")
    assert p.returncode == 0 and __version__ in p.stdout


def test_inspect_table_and_json(snnc_cmd, repo_root):
    model = repo_root / "models/examples/tiny_recurrent.snn"
    p = run(snnc_cmd, "inspect", model)
    assert p.returncode == 0, p.stderr
    assert "lif1" in p.stdout and "120 synapses" in p.stdout and "rec1->lif1" in p.stdout
    s = json.loads(run(snnc_cmd, "inspect", model, "--json").stdout)
    assert s["totals"]["synapses"] == 8 * 4 + 8 * 8 + 3 * 8
    assert s["totals"]["neurons"] == 8 + 3 + 3


def test_simulate_matches_api(snnc_cmd, repo_root, tmp_path, tiny_graph):
    from snnc.compiler.ir import simulate

    x = np.random.default_rng(0).uniform(0, 2, (3, 12, 4))
    np.save(tmp_path / "x.npy", x)
    p = run(snnc_cmd, "simulate", repo_root / "models/examples/tiny_recurrent.snn",
            "--input", tmp_path / "x.npy", "-o", tmp_path / "y.npz")
    assert p.returncode == 0, p.stderr
    got = np.load(tmp_path / "y.npz")["output"]
    np.testing.assert_array_equal(got, simulate(tiny_graph, x).output)


@pytest.fixture
def bad_files(tmp_path, tiny_graph):
    good = tmp_path / "good.snn"
    save(tiny_graph, good)
    data = good.read_bytes()
    (tmp_path / "trunc.snn").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.snn").write_bytes(b"not a zip at all")
    mism = Graph(nodes={"in": Input((3,)), "fc": Linear(np.ones((2, 5))), "out": Output((2,))},
                 edges=[("in", "fc"), ("fc", "out")], name="mism")
    save(mism, tmp_path / "mismatch.snn")
    cyc = Graph(nodes={"in": Input((1,)), "a": Linear(np.ones((1, 1))),
                       "b": Linear(np.ones((1, 1))), "out": Output((1,))},
                edges=[("in", "a"), ("a", "b"), ("b", "a"), ("b", "out")])
    save(cyc, tmp_path / "cycle.snn")
    with zipfile.ZipFile(good) as z:
        doc = json.loads(z.read("graph.json"))
        npz = z.read("weights.npz")
    import io
    with np.load(io.BytesIO(npz)) as f:
        arrays = {k: f[k] for k in f.files}
    doc["nodes"]["fc2"]["kind"] = "Izhikevich"
    doc["content_hash"] = content_hash(doc, arrays)
    with zipfile.ZipFile(tmp_path / "unknown.snn", "w") as z:
        z.writestr("graph.json", json.dumps(doc))
        z.writestr("weights.npz", npz)
    return tmp_path


@pytest.mark.parametrize("fname,needles", [
    ("trunc.snn", ["trunc.snn", "truncated or corrupt"]),
    ("garbage.snn", ["garbage.snn", "truncated or corrupt"]),
    ("mismatch.snn", ["node 'fc'", "shape mismatch"]),
    ("cycle.snn", ["cycle without a stateful node"]),
    ("unknown.snn", ["unknown.snn", "node 'fc2'", "Izhikevich"]),
    ("missing.snn", ["missing.snn", "no such file"]),
])
def test_bad_model_inputs(snnc_cmd, bad_files, fname, needles):
    assert_clean_error(run(snnc_cmd, "inspect", bad_files / fname), *needles)
    out = bad_files / f"out_{fname}.snn"
    assert_clean_error(run(snnc_cmd, "convert", bad_files / fname, out), *needles[:1])
    assert not out.exists()


def test_simulate_bad_inputs_leave_no_output(snnc_cmd, repo_root, tmp_path):
    model = repo_root / "models/examples/tiny_recurrent.snn"
    out = tmp_path / "y.npz"
    assert_clean_error(run(snnc_cmd, "simulate", model, "--input", tmp_path / "nope.npy",
                           "-o", out), "nope.npy", "no such file")
    np.save(tmp_path / "wrong.npy", np.zeros((2, 5, 3)))
    assert_clean_error(run(snnc_cmd, "simulate", model, "--input", tmp_path / "wrong.npy",
                           "-o", out), "input 'input'", "expected shape")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    assert_clean_error(run(snnc_cmd, "simulate", model, "--input", tmp_path / "bad.npy",
                           "-o", out), "bad.npy")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
