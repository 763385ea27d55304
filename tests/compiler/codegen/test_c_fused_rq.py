"""rq_uniform's shortcut for rows that lose no multiplier bit (k = 0) returns exactly what
the exhaustive check returns, and the multiplier it returns is exact on every accumulator
value of the row (checked here independently, value by value)."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.codegen.c_fused import rq_uniform


def _exhaustive(mult: np.ndarray, shift: np.ndarray, bound: np.ndarray,
                max_bound: int = 1 << 20):
    """The check without the shortcut: every row's candidates tried on every value."""
    bmax = int(bound.max(initial=0))
    if bmax > max_bound or mult.size == 0:
        return None
    lsh = int(np.max(32 - shift))
    if lsh < 0 or lsh > 31 or (bmax << lsh) >= 1 << 31:
        return None
    out = np.empty_like(mult)
    for i, (m, sh, b) in enumerate(zip(mult.tolist(), shift.tolist(), bound.tolist())):
        a = np.arange(-b, b + 1, dtype=np.int64)
        want = (a * m + (1 << (sh - 1))) >> sh if sh > 0 else a * m
        k = sh + lsh - 32
        base = (m + (1 << (k - 1))) >> k if k > 0 else m
        for cand in (base, base - 1, base + 1):
            if 0 <= cand < 1 << 31 and np.array_equal(
                    ((a << lsh) * cand + (1 << 31)) >> 32, want):
                out[i] = cand
                break
        else:
            return None
    return lsh, out


@pytest.mark.parametrize("seed", range(6))
def test_shortcut_matches_the_exhaustive_check(seed: int) -> None:
    r = np.random.default_rng(seed)
    n = 40
    mult = r.integers(1 << 30, 1 << 31, n).astype(np.int64)
    base_shift = int(r.integers(20, 32))
    # Some rows share the smallest shift (k = 0: the shortcut), others lose bits (k > 0).
    shift = (base_shift + r.integers(0, 3, n) * (seed % 2)).astype(np.int64)
    bound = r.integers(0, 3000, n).astype(np.int64)
    got, want = rq_uniform(mult, shift, bound), _exhaustive(mult, shift, bound)
    assert (got is None) == (want is None)
    if got is not None:
        assert got[0] == want[0] and np.array_equal(got[1], want[1])
        lsh, m2 = got
        for m, sh, b, c in zip(mult.tolist(), shift.tolist(), bound.tolist(), m2.tolist()):
            for a in (-b, -b // 2, -1, 0, 1, b // 3, b):  # Python ints: no overflow
                assert ((a << lsh) * c + (1 << 31)) >> 32 == (a * m + (1 << (sh - 1))) >> sh
