"""fit on the targets measured without a toolchain: the mpsoc estimator and the RRAM
simulator/energy model. The point's device knobs must reach the measurement."""

from __future__ import annotations

import numpy as np

from snnc.targets.fit import FitConfig, fit
from snnc.targets.fit.engine import InlineEngine


def _fit(tiny, target, objective, fixed):
    g, x, y = tiny
    return fit({"base": g}, x, y, FitConfig(target=target, objective=objective,
                                            max_drop=100.0, fixed=fixed),
               lambda st: InlineEngine(st), progress=False)


def test_mpsoc_reuse_trades_dsp_for_cycles(tiny):
    res = _fit(tiny, "mpsoc", "latency", {"quantize": "int8", "state_bits": 16, "prune": 0.0})
    by = {r["point"]["reuse"]: r["cost"] for r in res.records}
    assert set(by) == {None, 1, 2, 4, 8, 16} and not any(r["error"] for r in res.records)
    explicit = [by[r] for r in (1, 2, 4, 8, 16)]
    # Sharing each multiplier over more synapses: fewer DSPs, never fewer cycles.
    assert all(a["dsp"] > b["dsp"] for a, b in zip(explicit, explicit[1:]))
    assert all(a["cycles"] <= b["cycles"] for a, b in zip(explicit, explicit[1:]))
    assert [c["reuse"] for c in explicit] == [1, 2, 4, 8, 16]
    assert by[None]["reuse"] in (1, 2, 4, 8, 16)  # auto: the pass's own choice


def test_rram_accuracy_is_the_chips_and_adc_bits_cost_energy(tiny):
    from snnc.targets.fit.search import make_state
    from snnc.targets.rram.device import get_device
    from snnc.targets.rram.sim import flash_chip, predict_chip

    fixed = {"quantize": "int8", "prune": 0.0, "tile_rows": 256, "levels": 16}
    res = _fit(tiny, "rram", "energy", fixed)
    by = {r["point"]["adc_bits"]: r for r in res.records}
    assert set(by) == {4, 6, 8} and not any(r["error"] for r in res.records)
    # Independent path: program the chip directly and run the shuffled data through it.
    g, x, y = tiny
    st, _ = make_state({"base": g}, x, y, FitConfig(target="rram"), "rram_sim")
    from snnc.targets.fit.evaluate import compile_point

    for bits, rec in by.items():
        gq, _ = compile_point(st, {**fixed, "adc_bits": bits})
        chip = flash_chip(gq, get_device("neurram", levels=16, adc_bits=bits), seed=0)
        n = rec["n"]  # the samples of the last rung this point reached
        acc = float(np.mean(predict_chip(chip, st.x[:n].astype(np.float64)) == st.y[:n]))
        assert rec["accuracy"] == acc
    # Each conversion costs more with more ADC bits (same events otherwise).
    assert by[4]["cost"]["energy"] < by[6]["cost"]["energy"] < by[8]["cost"]["energy"]
