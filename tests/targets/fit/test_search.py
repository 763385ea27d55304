"""Search pieces against hand-computed cases: Pareto ranks/front, rung sizes."""

from __future__ import annotations

from snnc.targets.fit.search import pareto_front, pareto_ranks, rung_sizes


def test_pareto_ranks_hand_computed():
    # (acc, cost): A(0.9, 10) B(0.8, 5) C(0.8, 12) D(0.95, 20) E(0.7, 5)
    acc = [0.9, 0.8, 0.8, 0.95, 0.7]
    cost = [10, 5, 12, 20, 5]
    # front: A, B, D; then C (dominated by A only), E (dominated by B only)
    assert pareto_ranks(acc, cost) == [0, 0, 1, 0, 1]


def test_pareto_front_sorted_by_cost_and_skips_errors():
    recs = [{"point": {"i": i}, "accuracy": a, "cost": {"ram": c}, "error": None}
            for i, (a, c) in enumerate([(0.9, 10), (0.8, 5), (0.8, 12), (0.95, 20)])]
    recs.append({"point": {"i": 9}, "accuracy": None, "cost": None, "error": "too big"})
    assert [r["point"]["i"] for r in pareto_front(recs, "ram")] == [1, 0, 3]


def test_rung_sizes():
    assert rung_sizes(40, 64, 3, 16) == [40]            # too few samples to halve
    assert rung_sizes(370, 64, 3, 16) == [42, 124, 370]  # 370/9, 370/3, 370
    assert rung_sizes(370, 3, 3, 16) == [124, 370]       # no more rungs than points allow
