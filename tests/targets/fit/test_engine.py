"""The engine as a generic map (what the bench sweeps use): same results, in task order,
whichever engine runs them."""

from __future__ import annotations

from pathlib import Path

from snnc.targets.fit.engine import map_tasks


def _square_plus(task: int, shared: int) -> dict:
    return {"v": task * task + shared}


def test_map_tasks_order_and_values():
    tasks = list(range(7))
    want = [{"v": t * t + 3} for t in tasks]
    seen = []
    assert map_tasks(_square_plus, 3, tasks, workers=1) == want
    assert map_tasks(_square_plus, 3, tasks, workers=2,
                     on_result=lambda i, r: seen.append(i)) == want
    assert sorted(seen) == tasks


def test_quantization_bench_same_rows_on_pool(repo_root: Path):
    from snnc.bench.quantization import bench_model

    def rows(r):  # timing aside
        return {k: {f: v for f, v in row.items() if f != "seconds"}
                for k, row in r["configs"].items()}

    m = repo_root / "models" / "examples" / "tiny_recurrent.snn"
    a, b = bench_model(m, 16, 32, workers=1), bench_model(m, 16, 32, workers=2)
    assert rows(a) == rows(b) and len(a["configs"]) == 11
