"""Zero-shot LSM: the committed graph's structure, that its reservoir is the untrained
device draw, its measured accuracy, the readout fit and the chip run."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.ir import LIF, Affine, Linear, load, predict

pytest.importorskip("sklearn", reason="the LSM's digits data ships with scikit-learn "
                                      "(pip install 'snnc[lsm]')")

from snnc.models.lsm.data import encode, load_digits_spikes, split_indices  # noqa: E402
from snnc.models.lsm.model import LSMConfig, fit_readout, sample_reservoir  # noqa: E402

SNN = Path(__file__).resolve().parents[2] / "models" / "lsm" / "lsm.snn"


@pytest.fixture(scope="module")
def lsm():
    return load(SNN)


def test_structure_matches_the_paper(lsm):
    cfg = LSMConfig(**lsm.metadata["lsm_config"])
    assert (cfg.n_in, cfg.n_res, cfg.n_classes, cfg.steps) == (256, 200, 10, 50)
    res = lsm.nodes["res"]
    assert isinstance(res, LIF) and res.shape == (200,) and res.reset == "zero"
    assert math.isclose(float(lsm.decay(res.tau)), 0.9, rel_tol=1e-12)
    assert float(res.v_threshold) == 5.0
    # v = 0.9 v + x: the IR's (1 - beta) r gain is 1.
    assert math.isclose((1 - float(lsm.decay(res.tau))) * float(res.r), 1.0, rel_tol=1e-12)
    assert isinstance(lsm.nodes["w_in"], Linear) and lsm.nodes["w_in"].weight.shape == (200, 256)
    assert lsm.nodes["w_rec"].weight.shape == (200, 200)
    assert isinstance(lsm.nodes["readout"], Affine)
    assert ("w_rec", "res") in lsm.schedule()[1]            # recurrent edge reads t-1
    assert lsm.metadata["rram"] == {"device": "lsm", "digital": ["readout"]}


def test_reservoir_is_the_untrained_device_draw(lsm):
    cfg = LSMConfig(**lsm.metadata["lsm_config"])
    w_in, w_rec, dg_in, dg_rec = sample_reservoir(cfg)
    np.testing.assert_array_equal(lsm.nodes["w_in"].weight, w_in)
    np.testing.assert_array_equal(lsm.nodes["w_rec"].weight, w_rec)
    dg = np.concatenate([dg_in.ravel(), dg_rec.ravel()])
    # About N(0, 6.6 uS) for healthy pairs (robust sigma from the MAD); the 1.5% stuck
    # cells widen the plain standard deviation.
    robust = 1.4826 * np.median(np.abs(dg - np.median(dg)))
    assert abs(dg.mean()) < 0.1 and 6.3 < robust < 7.1 and 6.0 < dg.std() < 8.0
    # Stuck cells are part of the draw: pairs at the window's extremes occur.
    assert np.mean(np.abs(dg) > 35.0) > 1e-4
    other = sample_reservoir(replace(cfg, seed=cfg.seed + 1))[0]
    assert not np.array_equal(other, w_in)


def test_committed_accuracy_is_reproduced(lsm):
    x, y = load_digits_spikes("test")
    acc = float(np.mean(predict(lsm, x.astype(np.float64), batch_size=512) == y))
    assert acc == lsm.metadata["float_accuracy"]["test_accuracy"]
    assert acc > 0.9


def test_data_split_and_encoding():
    tr, te = split_indices(1797)
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 1797
    img = np.zeros((1, 8, 8))
    img[0, 0, 0] = 16.0
    s = encode(img, steps=2000, p_max=0.5, seed=0)
    assert s.shape == (1, 2000, 256)
    on = s[0, :, [0, 1, 16, 17]]            # the 2x2 block of pixel (0, 0)
    assert abs(on.mean() - 0.5) < 0.03 and s[0, :, 2:16].sum() == 0


def test_fit_readout_separates_a_linear_problem():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    centers = rng.normal(0, 5, (3, 12))
    counts = np.abs(centers[y] + rng.normal(0, 1, (300, 12)))
    w, b = fit_readout(counts, y, 3, ridge=1.0)
    assert w.shape == (3, 12) and b.shape == (3,)
    assert np.mean(np.argmax(counts @ w.T + b, axis=1) == y) > 0.95


def test_on_chip_accuracy_close_to_software(lsm, tmp_path):
    """Two zero-shot chips on 30 test samples: agreement with the float graph stays high
    (the full 5-chip figure is in models/lsm/README.md, from models.lsm.evaluate)."""
    from snnc.compiler.ir import save
    from snnc.models.testsets import zoo_dataset
    from snnc.targets.rram.flow import bench

    save(lsm, tmp_path / "lsm.snn")
    rep = bench(tmp_path / "lsm.snn", seeds=(0, 1), data=zoo_dataset(lsm, 30))
    assert rep["device"] == "lsm" and rep["digital_nodes"] == ["readout"]
    assert all(c["agreement_with_float"] > 0.85 for c in rep["chips"])


@pytest.mark.slow
def test_training_reproduces_the_committed_graph(lsm):
    from snnc.compiler.ir.graph import graphs_equal
    from snnc.models.lsm.train import train

    g, stats = train(LSMConfig(**lsm.metadata["lsm_config"]), log=False)
    assert stats["test_accuracy"] == lsm.metadata["float_accuracy"]["test_accuracy"]
    assert graphs_equal(g.replace(metadata=lsm.metadata), lsm)
