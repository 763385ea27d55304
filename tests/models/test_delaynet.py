"""DelayNet: committed graphs' simulator accuracy, export fidelity against torch, data contract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.ir import DelayedLinear, load, predict, verify

HERE = Path(__file__).resolve().parents[2] / "models" / "delaynet"
# Thresholds: the test accuracy measured in the reference simulator when the committed
# files were produced (models/delaynet/results.json) minus a 1-point margin.
MIN_ACC = {"delaynet.snn": 0.955, "delaynet_random.snn": 0.945, "delaynet_none.snn": 0.935}


@pytest.fixture(scope="module")
def test_split():
    from snnc.models.delaynet.data import load_split

    g = load(HERE / "delaynet.snn")
    return load_split("test", g.metadata)


@pytest.mark.parametrize("fname", sorted(MIN_ACC))
def test_committed_model_accuracy(fname, test_split):
    g = verify(load(HERE / fname))
    x, y = test_split
    assert x.shape == (370, g.metadata["t_total"], 12)
    acc = float((predict(g, x) == y).mean())
    assert acc >= MIN_ACC[fname], f"{fname}: simulator test accuracy {acc:.4f}"
    # the recorded float (torch, rounded delays) accuracy is what the simulator reproduces
    assert abs(acc - g.metadata["float_test_acc"]) <= 1 / 370 + 1e-9


def test_delay_modes_are_what_they_say():
    learned, rnd, none = (load(HERE / f) for f in
                          ("delaynet.snn", "delaynet_random.snn", "delaynet_none.snn"))
    for name in ("fc1", "fc2"):
        assert isinstance(learned.nodes[name], DelayedLinear)
        assert none.nodes[name].max_delay == 0
        assert 0 < rnd.nodes[name].max_delay <= rnd.metadata["max_delay"]
        assert learned.nodes[name].max_delay <= learned.metadata["max_delay"]
        # learned delays are not all equal (they moved away from a single value)
        assert len(np.unique(learned.nodes[name].delay)) > 2


def test_prepare_normalizes_and_pads():
    from snnc.models.delaynet.data import prepare

    X = np.zeros((2, 29, 12), np.float32)
    X[0, :3] = 2.0
    X[1, :29] = 4.0
    out = prepare(X, np.array([3, 29]), np.full(12, 1.0), np.full(12, 2.0), 35)
    assert out.shape == (2, 35, 12)
    np.testing.assert_array_equal(out[0, :3], 0.5)
    np.testing.assert_array_equal(out[0, 3:], 0.0)  # padding stays silent
    np.testing.assert_array_equal(out[1, :29], 1.5)
    from snnc.compiler.errors import SnncError
    with pytest.raises(SnncError, match="t_total"):
        prepare(X, np.array([3, 29]), np.zeros(12), np.ones(12), 20)


@pytest.mark.parametrize("mode", ["learned", "random"])
def test_export_matches_torch_hard_forward(mode):
    """The IR graph computes exactly the torch model's inference (rounded delays)."""
    torch = pytest.importorskip("torch")
    from snnc.compiler.ir import simulate
    from snnc.models.delaynet.export import build_graph
    from snnc.models.delaynet.model import DelayNet

    net = DelayNet(12, 16, 9, 4, mode, 0.9, 0.85, seed=3, dropout=0.0).double().eval()
    x = np.random.default_rng(0).normal(size=(5, 20, 12))
    with torch.no_grad():
        logits, _ = net(torch.tensor(x), hard=True)
    g = build_graph(net.fc1.weight.detach().numpy(), net.fc1.delays().numpy(),
                    net.fc2.weight.detach().numpy(), net.fc2.delays().numpy(),
                    net.fc3.detach().numpy(), 0.9, 0.85, {})
    out = simulate(g, x).output[:, -1] / x.shape[1]
    np.testing.assert_allclose(out, logits.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.slow
def test_train_script_end_to_end(tmp_path):
    """A tiny training run writes a graph whose simulator accuracy equals torch's."""
    pytest.importorskip("torch")
    import json

    from snnc.models.delaynet.train import main

    main(["--modes", "learned", "--epochs", "3", "--hidden", "8", "--out", str(tmp_path)])
    res = json.loads((tmp_path / "results.json").read_text())["learned"]
    g = verify(load(tmp_path / "delaynet.snn"))
    assert g.metadata["delay_mode"] == "learned"
    assert res["agreement"] == 1.0 and res["sim_test_acc"] == res["float_test_acc"]
