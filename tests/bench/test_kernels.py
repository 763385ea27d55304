"""snnc.bench.kernels' ratio table and fixed-part budget against hand-computed cases."""

from __future__ import annotations

import pytest

from snnc.bench.kernels import _ratio_lines, fixed_budget


def _row(sp: float, act: float, instr: float, fixed: float, synops: float,
         storage: str = "dense") -> dict:
    return {"device": "m4", "sparsity": sp, "activity": act, "storage": storage,
            "instr_per_step": instr, "fixed_instr_per_step": fixed, "synops_per_step": synops}


def test_fixed_budget_solves_the_ratio():
    # (1500 + F) / (10000 + F) = 0.15  <=>  F = (1500 - 1500) / 0.85 = 0
    assert fixed_budget(10000, 1500) == pytest.approx(0.0)
    # 0.15 * 132957 = 19943.55; (19943.55 - 16087.2) / 0.85 = 4536.88
    assert fixed_budget(132957, 16087.2) == pytest.approx(4536.88, abs=0.01)
    f = fixed_budget(20000, 1000)
    assert (1000 + f) / (20000 + f) == pytest.approx(0.15)
    assert fixed_budget(900, 150) < 0  # 15% of 900 is below the sparse part alone


def test_ratio_table_by_hand():
    rows = [_row(0.0, 0.05, 1000, 100, 500), _row(0.9, 0.05, 190, 100, 50, "code")]
    lines = _ratio_lines(rows, n=10)
    # whole 190/1000; synaptic (190-100)/(1000-100); SynOps 50/500
    assert "| M4 | 90% | code | 5% | 19.0% | 10.0% | 10.0% |" in lines
    text = " ".join(lines)
    # floor 3 * 50 = 150 > 0.15 * 900 = 135: no fixed part is small enough
    assert "sparse synaptic part is >= 150" in text
    assert "out of reach even with none" in text


def test_ratio_table_states_the_budget():
    rows = [_row(0.0, 0.05, 20100, 100, 6000), _row(0.9, 0.05, 1900, 100, 600, "code")]
    text = " ".join(_ratio_lines(rows, n=100))
    # 0.15 * 20000 = 3000; floor 1800; (3000 - 1800) / 0.85 = 1412 -> 14.1 per neuron
    assert "fixed part <= 1412 instructions, 14.1 per neuron" in text
