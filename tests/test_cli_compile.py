"""``snnc compile``: artifacts, report, errors without partial files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from snnc.cli import main
from snnc.compiler.ir import load, save
from snnc.compiler.ir.qnodes import is_quantized

ROOT = Path(__file__).resolve().parents[1]


def _setup(tmp_path, tiny_graph):
    save(tiny_graph, tmp_path / "m.snn")
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).random((16, 12, 4)))
    return tmp_path / "m.snn", tmp_path / "calib.npy"


def test_compile_writes_graph_report_and_dumps(tmp_path, tiny_graph):
    model, calib = _setup(tmp_path, tiny_graph)
    out = tmp_path / "o" / "m_q.snn"
    r = CliRunner().invoke(main, ["compile", str(model), "--quantize", "int8", "--prune", "0.5",
                                  "--calib", str(calib), "--dump-ir", str(tmp_path / "ir"),
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert is_quantized(load(out))
    rep = json.loads((tmp_path / "o" / "m_q.report.json").read_text())
    assert rep["memory"]["ram_bytes"] > 0 and rep["memory"]["flash_bytes"] > 0
    assert 0.0 <= rep["float_vs_int"]["agreement"] <= 1.0
    assert rep["options"]["prune"] == 0.5
    md = (tmp_path / "o" / "m_q.report.md").read_text()
    assert f"**{rep['memory']['ram_bytes']} B**" in md
    assert (tmp_path / "ir" / "01_prune.snn").exists()
    assert (tmp_path / "ir" / "06_storage.txt").exists()


def test_bundled_calibration_from_metadata(tmp_path, tiny_graph):
    np.save(tmp_path / "cal.npy", np.random.default_rng(0).random((4, 6, 4)))
    save(tiny_graph.replace(metadata={"calibration_data": "cal.npy"}), tmp_path / "m.snn")
    r = CliRunner().invoke(main, ["compile", str(tmp_path / "m.snn"), "-o",
                                  str(tmp_path / "q.snn")])
    assert r.exit_code == 0, r.output
    assert is_quantized(load(tmp_path / "q.snn"))


def test_errors_leave_no_files(tmp_path, tiny_graph):
    model, _ = _setup(tmp_path, tiny_graph)
    out = tmp_path / "q.snn"
    r = CliRunner().invoke(main, ["compile", str(model), "-o", str(out)])
    assert r.exit_code == 1 and "no calibration data" in r.output
    np.save(tmp_path / "bad.npy", np.zeros((2, 3, 7)))
    r = CliRunner().invoke(main, ["compile", str(model), "--calib", str(tmp_path / "bad.npy"),
                                  "-o", str(out)])
    assert r.exit_code == 1 and "calibration data" in r.output and "input" in r.output
    r = CliRunner().invoke(main, ["compile", str(model), "--quantize", "int8", "--calib",
                                  str(tmp_path / "missing.npy"), "-o", str(out)])
    assert r.exit_code == 1 and "missing.npy" in r.output
    r = CliRunner().invoke(main, ["compile", str(model), "--quantize", "int3", "-o", str(out)])
    assert r.exit_code == 2
    assert not out.exists() and not (tmp_path / "q.report.json").exists()


def test_float_compile_needs_no_calibration(tmp_path, tiny_graph):
    model, _ = _setup(tmp_path, tiny_graph)
    r = CliRunner().invoke(main, ["compile", str(model), "--quantize", "float", "-o",
                                  str(tmp_path / "f.snn")])
    assert r.exit_code == 0, r.output
    assert not is_quantized(load(tmp_path / "f.snn"))


def test_metadata_calibration_of_another_meaning_is_ignored(tmp_path, tiny_graph):
    """A model may use metadata['calibration'] for something else (VPR does): no crash."""
    save(tiny_graph.replace(metadata={"calibration": {"candidates": []},
                                      "calibration_data": {"not": "a path"}}),
         tmp_path / "m.snn")
    r = CliRunner().invoke(main, ["compile", str(tmp_path / "m.snn"), "-o",
                                  str(tmp_path / "q.snn")])
    assert r.exit_code == 1 and "no calibration data" in r.output
    save(tiny_graph.replace(metadata={"calibration_data": "gone.npy"}), tmp_path / "m2.snn")
    r = CliRunner().invoke(main, ["compile", str(tmp_path / "m2.snn"), "-o",
                                  str(tmp_path / "q.snn")])
    assert r.exit_code == 1 and "gone.npy" in r.output


@pytest.mark.parametrize("model", sorted(str(p.relative_to(ROOT)) for p in
                                         (ROOT / "models").glob("*/*.snn")))
def test_every_zoo_model_compiles_without_calib(model, tmp_path):
    """Issue 15: `snnc compile <zoo model> --target host -o DIR` works as typed: each
    bundled model carries its calibration set (STEM.calib.npz, models/make_data_files.py)."""
    r = CliRunner().invoke(main, ["compile", str(ROOT / model), "--target", "host",
                                  "-o", str(tmp_path / "b")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "b" / "model.c").is_file()
