"""``snnc convert`` between NIR and .snn as a user runs it (real subprocesses)."""

from __future__ import annotations

import subprocess

import nir
import numpy as np
import pytest

from snnc.compiler.frontend.nir import import_nir
from snnc.compiler.ir import graphs_equal, load, simulate


def run(cmd, *args):
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True)


def assert_clean_error(p, *needles):
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.strip().splitlines() if ln]
    assert len(lines) == 1, p.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def foreign_nir(path):
    """A NIR file as another tool writes it: no snnc metadata."""
    g = nir.NIRGraph(
        nodes={"input": nir.Input(np.array([3])),
               "fc": nir.Affine(weight=np.arange(12.0).reshape(4, 3) / 10, bias=np.zeros(4)),
               "lif": nir.LIF(tau=np.full(4, 4e-3), r=np.ones(4), v_leak=np.zeros(4),
                              v_threshold=np.full(4, 0.5)),
               "output": nir.Output(np.array([4]))},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")], metadata={})
    nir.write(path, g)
    return path


def test_convert_round_trip_nir_snn_nir(snnc_cmd, tmp_path):
    src = foreign_nir(tmp_path / "a.nir")
    snn, back = tmp_path / "b.snn", tmp_path / "c.nir"
    p = run(snnc_cmd, "convert", src, snn, "--dt", "5e-4", "--discretization", "euler")
    assert p.returncode == 0, p.stderr
    g = load(snn)
    assert (g.dt, g.discretization) == (5e-4, "euler")
    assert g.nodes["lif"].reset == "zero"
    # The CLI import equals the API import with the same options.
    assert graphs_equal(g.replace(name="a"), import_nir(src, dt=5e-4, discretization="euler"))
    p = run(snnc_cmd, "convert", snn, back)
    assert p.returncode == 0, p.stderr
    assert graphs_equal(import_nir(back), g)
    x = np.random.default_rng(0).uniform(0, 2, size=(2, 12, 3))
    np.testing.assert_array_equal(simulate(import_nir(back), x).output, simulate(g, x).output)


def test_convert_options_reset_and_snn_override(snnc_cmd, tmp_path):
    src = foreign_nir(tmp_path / "a.nir")
    p = run(snnc_cmd, "convert", src, tmp_path / "s.snn", "--reset", "subtract")
    assert p.returncode == 0, p.stderr
    g = load(tmp_path / "s.snn")
    assert g.nodes["lif"].reset == "subtract" and (g.dt, g.discretization) == (1e-3, "exact")
    # .snn -> .nir with --dt re-discretizes; the value survives into the NIR file.
    p = run(snnc_cmd, "convert", tmp_path / "s.snn", tmp_path / "t.nir", "--dt", "2e-3")
    assert p.returncode == 0, p.stderr
    assert import_nir(tmp_path / "t.nir").dt == 2e-3


@pytest.mark.parametrize("case", ["missing", "truncated", "garbage", "unsupported"])
def test_convert_bad_nir_one_line_error_no_output(snnc_cmd, tmp_path, case):
    src = tmp_path / f"{case}.nir"
    needles = [src.name]
    if case == "truncated":
        data = foreign_nir(tmp_path / "ok.nir").read_bytes()
        src.write_bytes(data[: len(data) // 3])
    elif case == "garbage":
        src.write_text("definitely not hdf5\n")
    elif case == "unsupported":
        nir.write(src, nir.NIRGraph(
            nodes={"input": nir.Input(np.array([2])), "d": nir.Delay(delay=np.ones(2)),
                   "i": nir.I(r=np.ones(2)), "output": nir.Output(np.array([2]))},
            edges=[("input", "d"), ("d", "i"), ("i", "output")]))
        needles += ["'d' (Delay)", "'i' (I)"]
    else:
        needles.append("no such file")
    for out in (tmp_path / "out.snn", tmp_path / "out.nir"):
        assert_clean_error(run(snnc_cmd, "convert", src, out), *needles)
        assert not out.exists()
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".out")]  # no temp debris


def test_convert_bad_option_value(snnc_cmd, tmp_path):
    src = foreign_nir(tmp_path / "a.nir")
    out = tmp_path / "o.snn"
    assert_clean_error(run(snnc_cmd, "convert", src, out, "--dt", "-1"), "dt")
    assert not out.exists()
    assert_clean_error(run(snnc_cmd, "convert", src, tmp_path / "o.txt"), "o.txt",
                       "unknown output format")
