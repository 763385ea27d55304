"""remove_hyperactive: hand-built Before/Expected ensemble graphs, counts, errors."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.errors import GraphError, SnncError, UnsupportedError
from snnc.compiler.ir import (
    IF,
    Affine,
    Graph,
    Input,
    Linear,
    MembraneArgmax,
    Output,
    graphs_equal,
    nodes_equal,
    predict,
    simulate,
    verify,
)
from snnc.compiler.passes.hyperactive import (
    hyperactive_counts,
    remove_hyperactive,
    remove_neurons,
)

# Two modules over 4 places (one-hot inputs). Module 0 covers places 0-1 with neurons
# n0 (place 0), n1 (place 1) and n2, which is driven by every place: hyperactive.
# Module 1 covers places 2-3 with one neuron each.
W0 = np.array([[2.0, 0, 0, 0], [0, 2.0, 0, 0], [2.0, 2.0, 2.0, 2.0]])
B0 = np.array([0.0, -0.1, -0.2])
THR0 = np.array([1.0, 1.1, 1.2])
INH0 = np.array([[0.0, -0.01, -0.02], [-0.03, 0.0, -0.04], [-0.05, -0.06, 0.0]])
MAP0 = np.array([[1.0, 0, 1.0], [0, 1.0, 0], [0, 0, 0], [0, 0, 0]])
W1 = np.array([[0, 0, 2.0, 0], [0, 0, 0, 2.0]])
MAP1 = np.array([[0, 0.0], [0, 0], [1.0, 0], [0, 1.0]])
INH1 = np.array([[0.0, -0.01], [-0.01, 0.0]])


def ensemble(w0, b0, thr0, inh0, map0, meta_extra=None) -> Graph:
    nodes = {
        "in": Input((4,)),
        "m0_fc": Affine(w0, b0), "m0_pop": IF((w0.shape[0],), v_threshold=thr0),
        "m0_inh": Linear(inh0), "m0_map": Linear(map0),
        "m1_fc": Affine(W1, np.zeros(2)), "m1_pop": IF((2,), v_threshold=np.array(1.0)),
        "m1_inh": Linear(INH1), "m1_map": Linear(MAP1),
        "places": MembraneArgmax((4,), reduce="sum"), "out": Output((4,)),
    }
    edges = []
    for p in ("m0", "m1"):
        edges += [("in", f"{p}_fc"), (f"{p}_fc", f"{p}_pop"), (f"{p}_pop", f"{p}_map"),
                  (f"{p}_pop", f"{p}_inh"), (f"{p}_inh", f"{p}_pop"), (f"{p}_map", "places")]
    edges.append(("places", "out"))
    meta = {"ensemble": {"n_places": 4, "modules": [
        {"population": "m0_pop", "places": [0, 1]}, {"population": "m1_pop", "places": [2, 3]}]}}
    meta.update(meta_extra or {})
    return verify(Graph(nodes=nodes, edges=edges, name="ens", metadata=meta))


def calib(steps: int = 4) -> np.ndarray:
    return np.repeat(np.eye(4)[:, None, :], steps, axis=1)  # [4 places, T, 4]


def test_counts_flag_only_the_neuron_driven_by_foreign_places():
    c = hyperactive_counts(ensemble(W0, B0, THR0, INH0, MAP0), calib(), np.arange(4))
    assert c["m0_pop"].tolist() == [0, 0, 2]  # n2 fires for places 2 and 3
    assert c["m1_pop"].tolist() == [0, 0]
    # Without labels every calibration sample counts (the paper's count).
    c_all = hyperactive_counts(ensemble(W0, B0, THR0, INH0, MAP0), calib())
    assert c_all["m0_pop"].tolist() == [1, 1, 4]


def test_removes_known_hyperactive_neuron_and_nothing_else():
    before = ensemble(W0, B0, THR0, INH0, MAP0)
    got = remove_hyperactive(before, calib(), 2, calibration_places=np.arange(4))
    keep = np.array([True, True, False])
    want = ensemble(W0[keep], B0[keep], THR0[keep], INH0[keep][:, keep], MAP0[:, keep],
                    meta_extra={"hyperactive": {"threshold": 2, "min_spikes": 1,
                                                "region_margin": 0,
                                                "removed": {"m0_pop": [2]}}})
    assert graphs_equal(got, want)
    verify(got)
    for k in ("m1_fc", "m1_pop", "m1_inh", "m1_map", "places", "out", "in"):
        assert nodes_equal(got.nodes[k], before.nodes[k])
    # Behaviour: place 2 no longer leaks a vote to place 0 through n2.
    s_before = simulate(before, calib()).output[:, -1]
    s_after = simulate(got, calib()).output[:, -1]
    assert s_before[2, 0] > 0 and s_after[2, 0] == 0
    assert np.array_equal(np.argmax(s_after, axis=1), np.arange(4))
    assert graphs_equal(before, ensemble(W0, B0, THR0, INH0, MAP0))  # input untouched


def test_threshold_above_every_count_removes_nothing():
    before = ensemble(W0, B0, THR0, INH0, MAP0)
    got = remove_hyperactive(before, calib(), 3, calibration_places=np.arange(4))
    assert got.metadata["hyperactive"]["removed"] == {}
    assert all(nodes_equal(got.nodes[k], before.nodes[k]) for k in before.nodes)


def test_region_margin_spares_neighbouring_places():
    # n2 fires for places 2 and 3; with margin 1 place 2 counts as in-region.
    c = hyperactive_counts(ensemble(W0, B0, THR0, INH0, MAP0), calib(), np.arange(4),
                           region_margin=1)
    assert c["m0_pop"].tolist() == [0, 0, 1]


def test_whole_module_removed_when_every_neuron_goes():
    before = ensemble(W0, B0, THR0, INH0, MAP0)
    got, removed = remove_neurons(before, {"m1_pop": np.zeros(2, dtype=bool)})
    assert removed == {"m1_pop": [0, 1]}
    assert not any(k.startswith("m1_") for k in got.nodes)
    assert [m["population"] for m in got.metadata["ensemble"]["modules"]] == ["m0_pop"]
    verify(got)
    assert simulate(got, calib()).output.shape == (4, 4, 4)


def test_bad_inputs_raise_clear_errors():
    g = ensemble(W0, B0, THR0, INH0, MAP0)
    with pytest.raises(SnncError, match="threshold"):
        remove_hyperactive(g, calib(), 0)
    with pytest.raises(SnncError, match="calibration_places"):
        remove_hyperactive(g, calib(), 2, calibration_places=np.arange(3))
    with pytest.raises(GraphError, match="ensemble"):
        remove_hyperactive(g.replace(metadata={}), calib(), 2)
    with pytest.raises(GraphError, match="nope"):
        remove_hyperactive(g.replace(metadata={"ensemble": {"modules": [
            {"population": "nope", "places": [0]}]}}), calib(), 2)
    # A population read by something other than a dense synapse node.
    bad = g.replace(nodes={**g.nodes, "spy": Output((3,))},
                    edges=g.edges + (("m0_pop", "spy"),))
    with pytest.raises(UnsupportedError, match="spy"):
        remove_hyperactive(bad, calib(), 2, calibration_places=np.arange(4))


# The same two modules, each with its own place readout and Output (the structure
# models/vpr/export.py emits): module k's Output scores only its region's places, and
# the Outputs concatenated in graph order are the route's place scores.
LMAP0, LMAP1 = MAP0[:2], MAP1[2:]


def per_module_ensemble(w0, b0, thr0, inh0, lmap0, meta_extra=None) -> Graph:
    nodes = {"in": Input((4,))}
    edges = []
    for p, (w, b, thr, inh, lmap) in {
            "m0": (w0, b0, thr0, inh0, lmap0),
            "m1": (W1, np.zeros(2), np.array(1.0), INH1, LMAP1)}.items():
        nodes.update({f"{p}_fc": Affine(w, b), f"{p}_pop": IF((w.shape[0],), v_threshold=thr),
                      f"{p}_inh": Linear(inh), f"{p}_map": Linear(lmap),
                      f"{p}_places": MembraneArgmax((2,), reduce="sum"),
                      f"{p}_out": Output((2,))})
        edges += [("in", f"{p}_fc"), (f"{p}_fc", f"{p}_pop"), (f"{p}_pop", f"{p}_map"),
                  (f"{p}_pop", f"{p}_inh"), (f"{p}_inh", f"{p}_pop"),
                  (f"{p}_map", f"{p}_places"), (f"{p}_places", f"{p}_out")]
    meta = {"ensemble": {"n_places": 4, "readout": "outputs", "merge": "concat", "modules": [
        {"population": "m0_pop", "output": "m0_out", "places": [0, 1]},
        {"population": "m1_pop", "output": "m1_out", "places": [2, 3]}]}}
    meta.update(meta_extra or {})
    return verify(Graph(nodes=nodes, edges=edges, name="ens", metadata=meta))


def test_per_module_outputs_same_counts_and_scores_as_shared_readout():
    shared, per = ensemble(W0, B0, THR0, INH0, MAP0), per_module_ensemble(W0, B0, THR0, INH0,
                                                                          LMAP0)
    assert {k: v.tolist() for k, v in hyperactive_counts(per, calib(), np.arange(4)).items()} \
        == {"m0_pop": [0, 0, 2], "m1_pop": [0, 0]}
    np.testing.assert_array_equal(simulate(per, calib()).output, simulate(shared, calib()).output)


def test_per_module_outputs_removal_keeps_outputs_and_untouched_modules():
    before = per_module_ensemble(W0, B0, THR0, INH0, LMAP0)
    got = remove_hyperactive(before, calib(), 2, calibration_places=np.arange(4))
    keep = np.array([True, True, False])
    want = per_module_ensemble(W0[keep], B0[keep], THR0[keep], INH0[keep][:, keep],
                               LMAP0[:, keep],
                               meta_extra={"hyperactive": {"threshold": 2, "min_spikes": 1,
                                                           "region_margin": 0,
                                                           "removed": {"m0_pop": [2]}}})
    assert graphs_equal(got, want)
    assert got.outputs == before.outputs == ["m0_out", "m1_out"]
    r_before, r_after = simulate(before, calib()), simulate(got, calib())
    # Module 1 lost nothing: its Output is bit for bit the same.
    np.testing.assert_array_equal(r_after.outputs["m1_out"], r_before.outputs["m1_out"])
    # Place 2 no longer leaks a vote to place 0; every place is now recognized.
    assert r_before.output[2, -1, 0] > 0 and r_after.output[2, -1, 0] == 0
    assert np.array_equal(predict(got, calib()), np.arange(4))


def test_per_module_outputs_whole_module_removal_is_refused():
    """A module that owns its readout cannot go whole: its places would leave the
    concatenated scores (and shift every later place index)."""
    g = per_module_ensemble(W0, B0, THR0, INH0, LMAP0)
    with pytest.raises(SnncError, match="m1_places"):
        remove_neurons(g, {"m1_pop": np.zeros(2, dtype=bool)})
