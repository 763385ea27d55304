"""`python -m snnc.models.l2mu.train` as a product: options, outputs, safety, baseline.

Default tier: tiny synthetic data (two epochs). Slow tier: a real UCR dataset trained to
above chance and compiled without --calib.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from snnc.compiler.data import load_data  # noqa: E402
from snnc.compiler.ir import load, predict  # noqa: E402
from snnc.models.l2mu.train import (  # noqa: E402
    HERE,
    build_parser,
    config_for,
    main,
    one_nn_euclidean,
    stratified_split,
)

ROOT = Path(__file__).resolve().parents[2]


def _toy(path: Path, n: int, seed: int) -> None:
    """Two classes: a rising or a falling ramp on channel 0, noise on channel 1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    t = np.linspace(-1, 1, 12)
    x = np.stack([np.where(y[:, None] == 1, t, -t), 0.1 * rng.standard_normal((n, 12))], -1)
    np.savez(path, x=(x + 0.1 * rng.standard_normal(x.shape)).astype(np.float32), y=y,
             classes=np.array(["fall", "rise"]))


def test_help_describes_every_option_with_defaults() -> None:
    text = build_parser().format_help()
    for opt in ("--data", "--test", "--out", "--epochs", "--patience", "--val", "--theta"):
        assert opt in text
    assert text.count("(default:") >= 10


def test_refuses_the_shipped_directory_and_existing_outputs(tmp_path) -> None:
    with pytest.raises(SystemExit, match="shipped"):
        main(["--out", str(HERE), "--epochs", "1"])
    (tmp_path / "l2mu.snn").write_bytes(b"keep")
    with pytest.raises(SystemExit, match="--force"):
        main(["--out", str(tmp_path), "--epochs", "1"])
    assert (tmp_path / "l2mu.snn").read_bytes() == b"keep"


def test_hyperparameters_scale_with_length_and_channels() -> None:
    ref = config_for(100, 6, 4)
    assert (ref.dt, ref.theta, ref.pop_per_channel) == (0.1, 8.0, 4)  # the shipped recipe
    long = config_for(361, 1, 10)
    assert long.theta == pytest.approx(8 * 3.61) and long.dt == 0.1
    assert long.pop_per_channel == 24 and long.n_classes == 10 and long.n_channels == 1
    assert config_for(24, 1, 2).dt == 0.1


def test_stratified_split_holds_out_every_class() -> None:
    y = np.array([0] * 10 + [1] * 5 + [2] * 2)
    tr, va = stratified_split(y, 0.2, 0)
    assert sorted(set(y[va])) == [0, 1, 2] and len(set(tr) & set(va)) == 0
    assert len(tr) + len(va) == len(y)


def test_one_nn_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((7, 5, 2)), rng.standard_normal((4, 5, 2))
    ya = rng.integers(0, 3, 7)
    want = [ya[int(np.argmin([np.sum((q - r) ** 2) for r in a]))] for q in b]
    np.testing.assert_array_equal(one_nn_euclidean(a, ya, b), want)


def test_tiny_training_writes_model_and_its_data(tmp_path, capsys) -> None:
    _toy(tmp_path / "train.npz", 16, 0)
    _toy(tmp_path / "test.npz", 8, 1)
    out = tmp_path / "out"
    assert main(["--data", str(tmp_path / "train.npz"), "--test", str(tmp_path / "test.npz"),
                 "--out", str(out), "--epochs", "2", "--hidden", "8"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "1-NN Euclidean" in last and "same split" in last
    g = load(out / "l2mu.snn")
    assert g.metadata["dataset"] == "train" and g.metadata["classes"] == ["fall", "rise"]
    assert "BasicMotions" not in json.dumps(g.metadata)
    rep = json.loads((out / "train_report.json").read_text())
    test = load_data(out / "l2mu.test.npz")
    acc = float(np.mean(predict(g, test.x.astype(np.float64)) == test.y))
    assert rep["ir_test_acc"] == pytest.approx(acc)
    calib = load_data(out / "l2mu.calib.npz")
    assert calib.y is not None and len(calib) == 16


@pytest.mark.slow
def test_gunpoint_trains_above_chance_and_compiles_without_calib(tmp_path, snnc_cmd) -> None:
    d = ROOT / "models" / "data" / "GunPoint"
    out = tmp_path / "gp"
    main(["--data", str(d / "GunPoint_TRAIN.ts"), "--test", str(d / "GunPoint_TEST.ts"),
          "--out", str(out), "--epochs", "60"])
    rep = json.loads((out / "train_report.json").read_text())
    assert rep["float_test_acc"] > 0.6, rep["float_test_acc"]
    r = subprocess.run([*snnc_cmd, "compile", str(out / "l2mu.snn"), "-o",
                        str(tmp_path / "q.snn")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "accuracy on" in r.stderr and (tmp_path / "q.test.npz").exists()
