"""The committed L2MU (models/l2mu/l2mu.snn + l2mu_checkpoint.npz).

Checks: the graph's populations and recurrent edges, the exported IR's BasicMotions test
accuracy in the reference simulator, that the .snn is exactly what export makes of the
committed checkpoint, the fixed Legendre matrices against SciPy's ZOH, and (with torch)
that the PyTorch model and the IR agree — on the committed model and on random
untrained models of both neuron kinds.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from snnc.compiler.errors import FormatError
from snnc.compiler.ir import LIF, CubaLIF, SpikeCountArgmax, graphs_equal, load, simulate
from snnc.models.datasets import load_basicmotions
from snnc.models.l2mu.checkpoint import load_checkpoint
from snnc.models.l2mu.export import CHECKPOINT, SNN, export

POPULATIONS = {"input_enc": 24, "u": 4, "m": 16, "h": 24, "out": 4}
# The reads at t-1 in the LMU equations: u[t] <- m[t-1], h[t-1]; m[t] <- m[t-1]; h[t] <- h[t-1].
T_MINUS_1 = {("m_m", "m"), ("m_u", "u"), ("h_u", "u"), ("h_h", "h")}


@pytest.fixture(scope="module")
def graph():
    return load(SNN)


@pytest.fixture(scope="module")
def test_split():
    X, y, classes = load_basicmotions("test")
    return X.astype(np.float64), y, classes


@pytest.fixture(scope="module")
def ir_run(graph, test_split):
    """One recorded simulation of the 40 test cases (the expensive part; shared)."""
    return simulate(graph, test_split[0], record=True)


def test_populations_and_readout(graph) -> None:
    for name, size in POPULATIONS.items():
        node = graph.nodes[name]
        assert isinstance(node, (LIF, CubaLIF)) and node.size == size
    assert isinstance(graph.nodes["readout"], SpikeCountArgmax)
    assert graph.inputs == ["input"] and graph.nodes["input"].shape == (6,)
    assert graph.nodes["input"].dtype == "real"  # raw sensor values, no encoder
    assert graph.metadata["classes"] == ["Standing", "Running", "Walking", "Badminton"]


def test_back_edges_are_the_t_minus_1_reads(graph) -> None:
    _, back = graph.schedule()
    assert back == T_MINUS_1


def test_ir_test_accuracy_at_least_90_percent(ir_run, test_split) -> None:
    _, y, _ = test_split
    pred = np.argmax(ir_run.output[:, -1], axis=1)
    acc = float((pred == y).mean())
    assert acc >= 0.90, f"IR test accuracy {acc:.3f}"


def test_snn_is_the_export_of_the_checkpoint() -> None:
    assert graphs_equal(export(CHECKPOINT, out=None), load(SNN))


def test_legendre_matrices_match_scipy_zoh() -> None:
    signal = pytest.importorskip("scipy.signal", reason="scipy is needed for the ZOH reference")
    cfg, arrays, _ = load_checkpoint(CHECKPOINT)
    q = np.arange(cfg.order)
    a = np.array([[(2 * i + 1) / cfg.theta * (-1.0 if i < j else (-1.0) ** (i - j + 1))
                   for j in q] for i in q])
    b = np.array([(2 * i + 1) * (-1.0) ** i / cfg.theta for i in q])[:, None]
    ad, bd, *_ = signal.cont2discrete((a, b, np.eye(cfg.order), 0), dt=1.0, method="zoh")
    eye = np.eye(cfg.memory_size)
    # Stored as float32 in the trained model (buffers), hence the tolerance.
    np.testing.assert_allclose(arrays["m_m"], np.kron(eye, ad), atol=1e-6)
    np.testing.assert_allclose(arrays["u_m"], np.kron(eye, bd), atol=1e-6)


def test_inspect_lists_populations(graph) -> None:
    from snnc.cli import main

    res = CliRunner().invoke(main, ["inspect", str(SNN)])
    assert res.exit_code == 0, res.output
    rows = {ln.split()[0]: ln.split() for ln in res.output.splitlines() if ln.strip()}
    for name, size in POPULATIONS.items():
        assert rows[name][1] in ("LIF", "CubaLIF") and rows[name][-1] == str(size)
    total = sum(POPULATIONS.values()) + graph.nodes["readout"].size
    assert f"{total} neurons" in res.output


def test_bad_checkpoint_is_a_format_error(tmp_path) -> None:
    p = tmp_path / "bad.npz"
    p.write_bytes(b"not a zip")
    with pytest.raises(FormatError, match="not an L2MU checkpoint"):
        load_checkpoint(p)


# ------------------------------------------------------------------ torch agreement

def test_torch_and_ir_agree_on_committed_model(ir_run, test_split) -> None:
    torch = pytest.importorskip("torch", reason="torch is needed for the PyTorch comparison")
    from snnc.models.l2mu.model import model_from_checkpoint

    X, y, _ = test_split
    model = model_from_checkpoint(CHECKPOINT, dtype=torch.float64)  # float64: no tie flips
    with torch.no_grad():
        counts, rec = model(torch.from_numpy(X), record=True)
    torch_pred = np.argmax(counts.numpy(), axis=1)
    ir_pred = np.argmax(ir_run.output[:, -1], axis=1)
    agree = float((torch_pred == ir_pred).mean())
    assert agree >= 0.99, f"torch/IR prediction agreement {agree:.3f}"
    for k, name in (("enc", "input_enc"), ("u", "u"), ("m", "m"), ("h", "h"), ("out", "out")):
        same = float((rec[k].numpy() == ir_run.traces[name]).mean())
        assert same >= 0.99, f"{name}: spikes agree on {same:.4f} of (case, step, neuron)"


@pytest.mark.parametrize("neuron", ["lif", "cuba"])
def test_random_untrained_model_matches_ir_spike_for_spike(tmp_path, neuron: str) -> None:
    torch = pytest.importorskip("torch", reason="torch is needed for the PyTorch comparison")
    from dataclasses import replace

    from snnc.models.l2mu.checkpoint import L2MUConfig
    from snnc.models.l2mu.model import L2MU, model_from_checkpoint, save_checkpoint

    torch.manual_seed(7)
    rng = np.random.default_rng(7)
    cfg = replace(L2MUConfig(), neuron=neuron, hidden=8, memory_size=2, order=3)
    model = L2MU(cfg, mean=rng.normal(size=6), std=rng.uniform(0.5, 2, size=6))
    with torch.no_grad():  # e_m starts at zero in the LMU; make every coupling count here
        model.m_u.normal_(0, 0.5)
    ckpt = tmp_path / "c.npz"
    save_checkpoint(model, ckpt, {"class_names": ["a", "b", "c", "d"]})
    g = export(ckpt, out=None)
    x = rng.normal(0, 2, size=(5, 30, 6))
    ir = simulate(g, x, record=True)
    m64 = model_from_checkpoint(ckpt)
    with torch.no_grad():
        counts, rec = m64(torch.from_numpy(x), record=True)
    active = 0.0
    for k, name in (("enc", "input_enc"), ("u", "u"), ("m", "m"), ("h", "h"), ("out", "out")):
        np.testing.assert_array_equal(rec[k].numpy(), ir.traces[name], err_msg=name)
        active += float(ir.traces[name].mean())
    assert active > 0  # the comparison saw spikes, not just silence
    np.testing.assert_array_equal(counts.numpy(), ir.output[:, -1])
