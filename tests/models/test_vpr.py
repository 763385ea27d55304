"""VPR ensemble: Nordland loader on a generated folder layout, bad input, the committed
model's Recall@1 in the reference simulator against the SAD baseline."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.errors import FormatError, SnncError
from snnc.compiler.ir import Input, load, predict, simulate, verify
from snnc.compiler.passes.hyperactive import remove_hyperactive
from snnc.models.vpr.data import (
    encode,
    load_nordland,
    load_route,
    patch_normalize,
    read_image,
    write_png,
)
from snnc.models.vpr.export import (
    as_current,
    assignments,
    build_graph,
    predict_places,
    recall_at_1,
    sad_predict,
)
from snnc.models.vpr.model import Module, TrainConfig, regions, train_ensemble
from snnc.models.vpr.train import TOLERANCE, train

HERE = Path(__file__).resolve().parents[2] / "models" / "vpr"


def _frames(n: int, h: int = 56, w: int = 56, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w), dtype=np.uint8)


def _write_traversal(folder: Path, frames: np.ndarray, rgb: bool = False) -> None:
    folder.mkdir(parents=True)
    for i, f in enumerate(frames):
        img = np.stack([f, f, f], axis=-1) if rgb else f
        write_png(folder / f"frame_{i}.png", img)  # frame_10 must sort after frame_9


def test_loader_reads_nordland_layout_in_frame_order(tmp_path):
    ref, qry = _frames(12, seed=1), _frames(12, seed=2)
    _write_traversal(tmp_path / "summer", ref)
    _write_traversal(tmp_path / "winter", qry, rgb=True)
    route = load_nordland(tmp_path, "summer", "winter")
    assert set(route.frames) == {"reference", "query"} and route.n_places == 12
    # Independent reference: 56 -> 28 area resize is the mean of 2x2 blocks.
    for got, src in ((route.frames["reference"], ref), (route.frames["query"], qry)):
        want = src.astype(np.float64).reshape(12, 28, 2, 28, 2).mean(axis=(2, 4))
        assert got.shape == (12, 28, 28) and got.dtype == np.uint8
        assert np.abs(got.astype(np.float64) - want).max() <= 0.5 + 1e-9


def test_builtin_png_decoder_handles_every_filter(tmp_path):
    """Decode a PNG whose rows use all five filter types (hand-filtered here)."""
    from snnc.models.vpr.data import _read_png

    img = _frames(1, 5, 7, seed=3)[0].astype(np.int64)
    raw = b""
    prev = np.zeros(7, np.int64)
    for r, ftype in enumerate([0, 1, 2, 3, 4]):
        row = img[r]
        left = np.concatenate([[0], row[:-1]])
        ul = np.concatenate([[0], prev[:-1]])
        if ftype == 0:
            f = row
        elif ftype == 1:
            f = row - left
        elif ftype == 2:
            f = row - prev
        elif ftype == 3:
            f = row - (left + prev) // 2
        else:
            p = left + prev - ul
            pa, pb, pc = abs(p - left), abs(p - prev), abs(p - ul)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, ul))
            f = row - pred
        raw += bytes([ftype]) + bytes((f & 0xFF).astype(np.uint8))
        prev = row
    import struct

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(
            ">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 7, 5, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    (tmp_path / "f.png").write_bytes(png)
    assert np.array_equal(_read_png(tmp_path / "f.png"), img.astype(np.uint8))
    assert np.array_equal(read_image(tmp_path / "f.png"), img.astype(np.float64))


def test_loader_bad_input_raises_clear_errors(tmp_path):
    (tmp_path / "summer").mkdir()
    _write_traversal(tmp_path / "winter", _frames(3))
    with pytest.raises(FormatError, match="no frames") as e:
        load_nordland(tmp_path, "summer", "winter")
    assert "summer" in str(e.value)
    with pytest.raises(FormatError, match="does not exist"):
        load_nordland(tmp_path, "autumn", "winter")
    # Mixed frame sizes within one traversal: the odd file is named.
    write_png(tmp_path / "summer" / "0.png", _frames(1)[0])
    write_png(tmp_path / "summer" / "1.png", _frames(1, 60, 56)[0])
    with pytest.raises(FormatError, match="1.png"):
        load_nordland(tmp_path, "summer", "winter")
    # Frames smaller than the model's input.
    (tmp_path / "tiny").mkdir()
    write_png(tmp_path / "tiny" / "0.png", _frames(1, 20, 20)[0])
    with pytest.raises(FormatError, match="smaller"):
        load_nordland(tmp_path, "tiny", "winter")
    # Traversals that are not frame-aligned.
    (tmp_path / "summer" / "1.png").unlink()
    with pytest.raises(FormatError, match="frame-aligned"):
        load_nordland(tmp_path, "summer", "winter")
    (tmp_path / "junk.png").write_bytes(b"not a png at all")
    with pytest.raises(FormatError, match="junk.png"):
        read_image(tmp_path / "junk.png")
    # Wrong image size handed to the model.
    with pytest.raises(SnncError, match="28, 28"):
        encode(np.zeros((2, 32, 32), np.uint8))


def test_patch_normalize_matches_direct_computation():
    f = _frames(1, 28, 28, seed=5)[0].astype(np.float64)
    got = patch_normalize(f[None])[0]
    fp = np.pad(f, 3, mode="edge")
    for y, x in ((0, 0), (10, 17), (27, 27)):
        win = fp[y:y + 7, x:x + 7]
        assert got[y, x] == pytest.approx((f[y, x] - win.mean()) / max(win.std(), 1.0))


def test_tiny_ensemble_ir_matches_prototype_argmax():
    """The IR graph's decisions agree with the float nearest-prototype rule it encodes."""
    route = load_route().subset(30)
    mods = train_ensemble(route.frames["reference"],
                          TrainConfig(places_per_module=10, neurons_per_place=2, augment=3,
                                      epochs=2), progress=False)
    g = verify(build_graph(mods, 30))
    assert len(g.metadata["ensemble"]["modules"]) == 3
    for m, (pop, a) in zip(mods, assignments(g).items()):
        assert np.array_equal(a, m.assignment), pop
    frames = route.frames["query"]
    pred = predict_places(g, frames)
    w = np.concatenate([m.weight for m in mods])
    a = np.concatenate([m.assignment for m in mods])
    float_pred = a[np.argmax(encode(frames) @ w.T, axis=1)]
    assert np.mean(pred == float_pred) >= 0.9
    # Lateral inhibition: within each module at most one neuron keeps spiking.
    res = simulate(g, as_current(encode(frames[:5]), 32), record=True)
    late = res.traces["m0_pop"][:, 16:].sum(axis=1)  # spikes in the second half
    assert ((late > 0).sum(axis=1) <= 1).all()


def _random_modules(n_places: int, per: int = 5, npp: int = 2, d: int = 784,
                    seed: int = 0) -> list[Module]:
    rng = np.random.default_rng(seed)
    mods = []
    for places in regions(n_places, per):
        w = rng.normal(size=(npp * len(places), d))
        mods.append(Module(w / np.linalg.norm(w, axis=1, keepdims=True), places,
                           np.repeat(places, npp)))
    return mods


def _array_sizes(g) -> int:
    return sum(np.asarray(getattr(n, f)).size for _, n in g.items() for f in n.array_fields)


def test_graph_grows_linearly_with_modules():
    """Twice the places -> exactly twice the nodes and stored values, and no node whose
    size depends on the route length (the old shared P x N place map)."""
    g1, g2 = build_graph(_random_modules(20), 20), build_graph(_random_modules(40), 40)
    assert len(g2.nodes) - 1 == 2 * (len(g1.nodes) - 1)  # the Input is shared
    assert _array_sizes(g2) == 2 * _array_sizes(g1)
    for _, n in g2.items():
        if not isinstance(n, Input):
            dims = [*n.shape_out(), *(d for f in n.array_fields
                                      for d in np.shape(getattr(n, f)))]
            assert 40 not in dims, n
    assert g2.outputs == [f"m{k}_out" for k in range(8)]
    # A neuron assigned outside its module's region cannot be expressed per module.
    bad = _random_modules(20)
    bad[1].assignment[0] = 0
    with pytest.raises(SnncError, match="outside its region"):
        build_graph(bad, 20)
    with pytest.raises(SnncError, match="consecutive"):
        build_graph(_random_modules(20)[::-1], 20)


def _tiny_route_and_config():
    return (load_route().subset(40),
            TrainConfig(places_per_module=10, neurons_per_place=2, augment=3, epochs=2))


def test_predict_over_concatenated_outputs_is_the_ensemble_decision():
    """snnc.compiler.ir.predict (argmax over the Outputs concatenated in graph order, as the
    C code's output vector) equals the decision over the merged place scores, and the
    per-module Outputs are the old single place vector's slices."""
    route, cfg = _tiny_route_and_config()
    g = build_graph(train_ensemble(route.frames["reference"], cfg, progress=False), 40)
    frames = route.frames["query"]
    x = as_current(encode(frames), 32)
    res = simulate(g, x, record=True)
    assert res.output.shape == (40, 32, 40)
    # Independent merge: each neuron's spike count credited to its assigned place.
    want = np.zeros((40, 40))
    for pop, a in assignments(g).items():
        np.add.at(want.T, a, res.traces[pop].sum(axis=1).T)
    np.testing.assert_array_equal(res.output[:, -1], want)
    assert np.array_equal(predict(g, x), predict_places(g, frames))
    assert np.array_equal(predict(g, x), np.argmax(want, axis=1))


def test_calibration_reuses_untouched_modules_exactly():
    """train.calibrate re-simulates only the modules that lost neurons; every
    candidate's recall equals a whole-graph simulation of the pruned graph."""
    route, cfg = _tiny_route_and_config()
    _, full, records, counts = train(route, cfg, percentiles=(50.0, 80.0, 99.0), log=False)
    x = as_current(encode(route.frames["calibration"]), 32)
    truth = np.arange(40)
    assert records[0]["recall_calibration"] == recall_at_1(predict(full, x), truth, TOLERANCE)
    touched = []
    for rec in records[1:]:
        g2 = remove_hyperactive(full, None, rec["threshold"], counts=counts,
                                region_margin=TOLERANCE)
        assert rec["removed"] == sum(map(len, g2.metadata["hyperactive"]["removed"].values()))
        assert g2.outputs == full.outputs
        assert rec["recall_calibration"] == recall_at_1(predict(g2, x), truth, TOLERANCE)
        touched.append(len(g2.metadata["hyperactive"]["removed"]))
    # Both paths exercised: some candidate leaves modules untouched, some removes neurons.
    assert min(touched) < 4 and max(touched) > 0


def _committed():
    g = verify(load(HERE / "vpr_ensemble.snn"))
    return g, json.loads((HERE / "results.json").read_text()), load_route()


def test_committed_model_recall_in_simulator_beats_sad_quick():
    """Every 4th query of the cached test traversal, against the figure evaluate.py
    measured on the same queries (``results.json["quick"]``)."""
    from snnc.models.vpr.evaluate import quick_figures

    g, results, route = _committed()
    got = quick_figures(g, route, results["tolerance"])
    want = results["quick"]
    assert got["queries"] == want["queries"]
    assert got["recall"] >= want["recall"] - 0.01
    assert got["sad"] == pytest.approx(want["sad"])
    assert got["recall"] > got["sad"]


@pytest.mark.slow
def test_committed_model_recall_in_simulator_beats_sad_full():
    g, results, route = _committed()
    truth = np.arange(route.n_places)
    tol = results["tolerance"]
    recall = recall_at_1(predict_places(g, route.frames["query"], batch_size=132), truth, tol)
    sad = recall_at_1(sad_predict(route.frames["reference"], route.frames["query"]), truth, tol)
    assert recall >= results["committed_recall_query"] - 0.01
    assert sad == pytest.approx(results["sad"]["query"])
    assert recall > sad
