"""HD-SNN: event generation by hand, committed graph vs an independent numpy reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.ir import DelayedLinear, Threshold, load, predict, verify
from snnc.models.hdsnn.events import EventConfig, events_from_motion, flatten_events, load_test_set

HERE = Path(__file__).resolve().parents[2] / "models" / "hdsnn"
# Simulator accuracy measured on the first 400 committed test samples when hdsnn.snn was
# produced (78.25%; all 800: 77.375%, results.json) minus a 1.75-point margin. Chance: 12.5%.
N_ACC = 400
MIN_ACC = 0.765


@pytest.fixture(scope="module")
def test_set():
    return load_test_set(HERE / "hdsnn_test.npz")


def reference_decision(X: np.ndarray, kernel: np.ndarray, bias: np.ndarray,
                       stride: int) -> np.ndarray:
    """Direct evaluation of the HD-SNN rule, written independently of the export:
    a[c,py,px,t] = b[c] + sum K[c,p,d,ky,kx] e[t-d,p,py*s+ky,px*s+kx]; spike if a > 0;
    class = most spikes (lowest index on ties)."""
    n, tsteps, _, size, _ = X.shape
    n_cls, _, n_delay, k, _ = kernel.shape
    npos = (size - k) // stride + 1
    counts = np.zeros((n, n_cls))
    Xf = X.astype(np.float64)
    for py in range(npos):
        for px in range(npos):
            win = Xf[:, :, :, py * stride:py * stride + k, px * stride:px * stride + k]
            for t in range(tsteps):
                a = np.tile(bias, (n, 1))
                for d in range(min(n_delay, t + 1)):
                    a += np.einsum("npyx,cpyx->nc", win[:, t - d], kernel[:, :, d])
                counts += a > 0
    return np.argmax(counts, axis=1)


def test_edge_moving_right_gives_on_events_along_its_path():
    img = np.full((40, 80), 0.1)
    img[:, :30] = 1.0  # bright left half; moving right, bright invades dark -> ON
    cfg = EventConfig(size=8, steps=5, speed=1.0, contrast=0.2)
    ev = events_from_motion(img, y0=10.0, x0=28.0, direction=0, cfg=cfg)
    assert ev.shape == (5, 2, 8, 8)
    assert ev[:, 1].sum() == 0  # no OFF events
    for t in range(5):
        cols = np.nonzero(ev[t, 0].any(axis=0))[0]
        # pixel x shows scene point 28 + x - (t+1); it turns bright when that is < 30
        assert cols.tolist() == [30 - 28 + t], (t, cols)
        assert ev[t, 0, :, cols[0]].all()  # the whole column, every row


def test_edge_moving_left_gives_off_events():
    img = np.full((40, 80), 0.1)
    img[:, :30] = 1.0
    cfg = EventConfig(size=8, steps=4, n_directions=8, speed=1.0)
    ev = events_from_motion(img, y0=10.0, x0=26.0, direction=4, cfg=cfg)  # theta = pi
    assert ev[:, 0].sum() == 0 and ev[:, 1].sum() > 0


def test_committed_test_set(test_set):
    X, y, cfg = test_set
    assert X.shape[1:] == (cfg["steps"], 2, cfg["size"], cfg["size"])
    assert X.dtype == np.uint8 and set(np.unique(X)) <= {0, 1}
    assert np.bincount(y).min() == np.bincount(y).max()  # balanced directions
    assert (X.reshape(len(X), -1).sum(axis=1) >= cfg["min_events"]).all()


def test_graph_structure():
    g = verify(load(HERE / "hdsnn.snn"))
    taps = [n for n, v in g.items() if isinstance(v, DelayedLinear)]
    assert len(taps) == g.metadata["kernel_shape"][2]
    for i, n in enumerate(taps):
        d = g.nodes[n].delay
        assert set(np.unique(d[g.nodes[n].weight != 0])) == {i}
    assert isinstance(g.nodes["neurons"], Threshold)


def test_committed_model_accuracy(test_set):
    g = load(HERE / "hdsnn.snn")
    X, y, _ = test_set
    pred = predict(g, flatten_events(X[:N_ACC]), batch_size=N_ACC)
    acc = float((pred == y[:N_ACC]).mean())
    assert acc >= MIN_ACC, f"simulator test accuracy {acc:.4f}"


def test_graph_reproduces_reference_decision(test_set):
    g = load(HERE / "hdsnn.snn")
    X, _, _ = test_set
    X = X[:120]
    with np.load(HERE / "kernel.npz") as z:
        ref = reference_decision(X, z["kernel"], z["bias"], int(z["stride"]))
    np.testing.assert_array_equal(predict(g, flatten_events(X)), ref)


def test_bad_test_set_file_is_a_format_error(tmp_path):
    from snnc.compiler.errors import FormatError

    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(FormatError, match="x.npz"):
        load_test_set(bad)


@pytest.mark.slow
def test_train_script_end_to_end(tmp_path):
    """A tiny run (needs torch and scikit-image) exports a graph matching torch's decision."""
    pytest.importorskip("torch")
    pytest.importorskip("skimage")
    import json

    from snnc.models.hdsnn.train import main

    main(["--n-train", "64", "--n-test", "32", "--epochs", "1", "--out", str(tmp_path)])
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["agreement_float64"] == 1.0
    X, y, _ = load_test_set(tmp_path / "hdsnn_test.npz")
    assert X.shape[0] == 32
    verify(load(tmp_path / "hdsnn.snn"))


def test_keep_shortest_delays_prefers_short_then_large():
    from snnc.compiler.ir import DelayedLinear, Graph, Input, Output
    from snnc.models.hdsnn.sparsity_curve import keep_shortest_delays

    t0 = DelayedLinear(np.array([[0.1, -0.5]]), np.array([[0, 0]]))
    t1 = DelayedLinear(np.array([[0.9, 0.2]]), np.array([[1, 1]]))
    g = Graph(nodes={"input": Input((2,)), "tap0": t0, "tap1": t1, "output": Output((1,))},
              edges=[("input", "tap0"), ("input", "tap1"), ("tap0", "output"),
                     ("tap1", "output")])
    got = keep_shortest_delays(g, 0.75, ["tap0", "tap1"])  # keep 3 of 4
    np.testing.assert_array_equal(got.nodes["tap0"].weight, [[0.1, -0.5]])
    np.testing.assert_array_equal(got.nodes["tap1"].weight, [[0.9, 0.0]])
    got = keep_shortest_delays(g, 0.25, ["tap0", "tap1"])  # keep 1: delay 0, largest |w|
    np.testing.assert_array_equal(got.nodes["tap0"].weight, [[0.0, -0.5]])
    assert not got.nodes["tap1"].weight.any()
