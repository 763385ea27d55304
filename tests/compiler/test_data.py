"""The CLI's data convention (compiler/data.py) and the commands that take --data.

Readers are checked against hand-written files, scoring against hand-counted confusion
matrices, and the CLI's accuracy figures against the simulators' own ``predict`` /
``predict_int`` run directly (the independent reference). Tiny synthetic data only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from snnc.cli import main
from snnc.compiler.data import (
    Dataset,
    for_graph,
    load_data,
    model_data_file,
    save_data,
    score,
    score_markdown,
    write_scores,
)
from snnc.compiler.errors import FormatError, SnncError
from snnc.compiler.ir import load, predict
from snnc.compiler.ir.interpret_int import predict_int

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "models" / "examples" / "tiny_recurrent.snn"  # 4 inputs -> 3 outputs


def _tiny_data(n: int = 12, steps: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, steps, 4)).astype(np.float32), rng.integers(0, 3, n)


# ------------------------------------------------------------------ readers


def test_npz_round_trip_and_class_names(tmp_path) -> None:
    x, y = _tiny_data()
    save_data(tmp_path / "d.npz", Dataset(x, y, ["a", "b", "c"], "mem"))
    ds = load_data(tmp_path / "d.npz")
    np.testing.assert_array_equal(ds.x, x)
    np.testing.assert_array_equal(ds.y, y)
    assert ds.classes == ["a", "b", "c"] and ds.steps == 16 and len(ds) == 12


def test_ts_file_is_time_major_and_labels_follow_the_header(tmp_path) -> None:
    p = tmp_path / "t.ts"
    p.write_text("@problemName t\n@univariate false\n@dimensions 2\n@equalLength false\n"
                 "@classLabel true up down\n@data\n1,2,3:4,5,6:down\n7,8:9,10:up\n")
    ds = load_data(p)
    assert ds.x.shape == (2, 3, 2) and ds.classes == ["up", "down"]
    np.testing.assert_array_equal(ds.x[0], [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(ds.x[1], [[7, 9], [8, 10], [0, 0]])  # zero-padded
    np.testing.assert_array_equal(ds.y, [1, 0])


def test_ucr_csv_with_header_numeric_labels_sorted(tmp_path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("label,t0,t1\n10,0.5,1.5\n2,-1,2\n10,3,4\n")
    ds = load_data(p)
    assert ds.classes == ["2", "10"]  # numeric order, not string order
    np.testing.assert_array_equal(ds.y, [1, 0, 1])
    assert ds.x.shape == (3, 2, 1) and ds.x[1, 0, 0] == -1


@pytest.mark.parametrize("arrays, needle", [
    ({"inputs": np.zeros((2, 3, 1))}, "no array 'x'"),
    ({"x": np.full((2, 3, 1), np.nan)}, "non-finite"),
    ({"x": np.zeros((2, 3, 1)), "y": np.zeros(3)}, "y must be [N]"),
    ({"x": np.zeros((2, 3, 1)), "y": np.array([0.5, 1])}, "integer class"),
    ({"x": np.zeros((2, 3, 1)), "y": np.array([-1, 0])}, "negative"),
])
def test_bad_npz_is_one_line_format_error(tmp_path, arrays, needle) -> None:
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    with pytest.raises(FormatError, match=needle.replace("[", r"\[")) as e:
        load_data(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def test_csv_unequal_rows_and_unknown_suffix(tmp_path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("1,0,1\n2,0\n")
    with pytest.raises(FormatError, match="line 2"):
        load_data(p)
    q = tmp_path / "d.parquet"
    q.write_bytes(b"x")
    with pytest.raises(FormatError, match="unknown data format"):
        load_data(q)


# ------------------------------------------------------------------ data for a graph


def test_for_graph_maps_classes_by_name_and_rejects_wrong_shapes() -> None:
    g = load(TINY)
    g = g.replace(metadata={**g.metadata, "classes": ["a", "b", "c"]})
    x, _ = _tiny_data(3)
    ds = for_graph(Dataset(x, np.array([0, 1, 0]), ["c", "a"], "d"), g)
    np.testing.assert_array_equal(ds.y, [2, 0, 2])  # c -> 2, a -> 0
    with pytest.raises(SnncError, match="unknown to model"):
        for_graph(Dataset(x, np.array([0, 0, 0]), ["zebra"], "d"), g)
    with pytest.raises(SnncError, match=r"takes \[T, 4\]"):
        for_graph(Dataset(np.zeros((2, 5, 3), np.float32), None, None, "d"), g)


def test_model_data_file_beside_snn_and_in_build(tmp_path) -> None:
    (tmp_path / "m.snn").write_bytes(b"")
    assert model_data_file(tmp_path / "m.snn", "test") is None
    (tmp_path / "m.test.npz").write_bytes(b"")
    assert model_data_file(tmp_path / "m.snn", "test") == tmp_path / "m.test.npz"
    (tmp_path / "calib.npz").write_bytes(b"")
    assert model_data_file(tmp_path, "calib") == tmp_path / "calib.npz"


# ------------------------------------------------------------------ scoring


def test_score_against_hand_counts(tmp_path) -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 0, 2])
    s = score(pred, y, ["a", "b", "c"], others={"float model": np.array([0, 0, 1, 1, 2, 0])})
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    b = s["per_class"][1]
    assert (b["support"], b["correct"], b["recall"], b["precision"]) == (2, 2, 1.0, 2 / 3)
    assert s["others"]["float model"] == {"agreement": pytest.approx(3 / 6),
                                          "accuracy": pytest.approx(5 / 6)}
    md = score_markdown(s)
    assert "| b | 2 | 2 | 100.0% | 66.7% |" in md
    files = write_scores(s, tmp_path / "rep")
    assert {p.name for p in files} >= {"accuracy.json", "accuracy.md"}
    assert json.loads((tmp_path / "rep" / "accuracy.json").read_text())["correct"] == 4


# ------------------------------------------------------------------ CLI


def test_simulate_data_float_and_compiled_match_the_simulators(tmp_path) -> None:
    x, y = _tiny_data(10)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    r = CliRunner().invoke(main, ["simulate", str(TINY), "--data", str(tmp_path / "d.npz"),
                                  "--report", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    want = float(np.mean(predict(load(TINY), x.astype(np.float64)) == y))
    rep = json.loads((tmp_path / "rep" / "accuracy.json").read_text())
    assert rep["accuracy"] == pytest.approx(want)
    assert rep["simulator"] == "float simulator"
    # A compiled model runs in the integer golden model, fed the float data quantized.
    np.save(tmp_path / "calib.npy", x)
    q = tmp_path / "q.snn"
    r = CliRunner().invoke(main, ["compile", str(TINY), "--calib", str(tmp_path / "calib.npy"),
                                  "-o", str(q)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["simulate", str(q), "--data", str(tmp_path / "d.npz"),
                                  "--report", str(tmp_path / "rq")])
    assert r.exit_code == 0, r.output
    rep = json.loads((tmp_path / "rq" / "accuracy.json").read_text())
    assert rep["simulator"] == "integer golden model"
    assert rep["predictions"] == predict_int(load(q), x.astype(np.float64)).tolist()


def test_compile_data_reports_float_vs_compiled_accuracy(tmp_path) -> None:
    x, y = _tiny_data(16)
    np.savez(tmp_path / "val.npz", x=x, y=y)
    np.save(tmp_path / "calib.npy", x)
    q = tmp_path / "q.snn"
    args = ["compile", str(TINY), "--calib", str(tmp_path / "calib.npy"), "-o", str(q),
            "--data", str(tmp_path / "val.npz"), "--input-bits", "8"]
    r = CliRunner().invoke(main, args + ["--max-accuracy-drop", "100", "--strict"])
    assert r.exit_code == 0, r.output
    acc = json.loads((tmp_path / "q.report.json").read_text())["accuracy"]
    assert acc["float"] == pytest.approx(float(np.mean(predict(load(TINY), x.astype(float)) == y)))
    assert acc["compiled"] == pytest.approx(
        float(np.mean(predict_int(load(q), x.astype(float)) == y)))
    assert "accuracy on 16 cases" in r.output
    r = CliRunner().invoke(main, args + ["--max-accuracy-drop", "-1"])
    assert r.exit_code == 1 and "max-accuracy-drop" in r.output


def test_strict_fails_and_writes_nothing_when_the_drop_exceeds(tmp_path) -> None:
    """Labels = the float model's own predictions (float accuracy 1.0); int4 weights on
    the tiny model then disagree somewhere, and --max-accuracy-drop 0 --strict fails."""
    x, _ = _tiny_data(32, seed=5)
    y = predict(load(TINY), x.astype(np.float64))
    np.savez(tmp_path / "val.npz", x=x, y=y)
    np.save(tmp_path / "calib.npy", x)
    q = tmp_path / "q.snn"
    r = CliRunner().invoke(main, ["compile", str(TINY), "--calib", str(tmp_path / "calib.npy"),
                                  "-o", str(q), "--quantize", "int4", "--input-bits", "8",
                                  "--data", str(tmp_path / "val.npz"),
                                  "--max-accuracy-drop", "0", "--strict"])
    drop = 1.0 - float(np.mean(predict_int(_compiled_int4(tmp_path, x), x.astype(float)) == y))
    if drop == 0:
        pytest.skip("int4 happens to be lossless on this data")
    assert r.exit_code == 1 and "--strict" in r.output
    assert not q.exists()


def _compiled_int4(tmp_path: Path, x: np.ndarray):
    q = tmp_path / "ref4.snn"
    r = CliRunner().invoke(main, ["compile", str(TINY), "--calib", str(tmp_path / "calib.npy"),
                                  "-o", str(q), "--quantize", "int4", "--input-bits", "8"])
    assert r.exit_code == 0, r.output
    return load(q)


def test_flash_without_data_for_a_user_model_says_what_to_pass(tmp_path) -> None:
    np.save(tmp_path / "calib.npy", _tiny_data()[0])
    q = tmp_path / "q.snn"
    assert CliRunner().invoke(main, ["compile", str(TINY), "--calib",
                                     str(tmp_path / "calib.npy"), "-o", str(q)]).exit_code == 0
    from snnc.targets.benchmark import prepare

    with pytest.raises(SnncError, match="pass --data"):
        prepare(q.parent, model=q)
    x, y = _tiny_data(5)
    np.savez(tmp_path / "t.npz", x=x, y=y)
    prep = prepare(q.parent, model=q, data=tmp_path / "t.npz")
    assert prep.x_dev.dtype.kind == "i" and prep.x_dev.shape == (5, 16, 4)
    np.testing.assert_array_equal(prep.data.y, y)


def test_rram_bench_scores_the_users_data(tmp_path) -> None:
    """`snnc bench --device sim --data`: on the ideal chip preset (bit-exact to the integer
    simulator) the chip's accuracy on the user's labels equals predict_int's."""
    x, y = _tiny_data(12, seed=2)
    np.save(tmp_path / "calib.npy", x)
    np.savez(tmp_path / "t.npz", x=x, y=y)
    build = tmp_path / "rram"
    r = CliRunner().invoke(main, ["compile", str(TINY), "--calib", str(tmp_path / "calib.npy"),
                                  "--target", "rram", "-o", str(build)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["bench", str(build), "--device", "sim", "--profile", "ideal",
                                  "--chips", "1", "--data", str(tmp_path / "t.npz"),
                                  "--format", "json", "--report", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    want = float(np.mean(predict_int(load(build / "model.snn"), x.astype(np.float64)) == y))
    rep = json.loads((tmp_path / "rep" / "accuracy.json").read_text())
    assert rep["samples"] == 12 and rep["accuracy"] == pytest.approx(want)
