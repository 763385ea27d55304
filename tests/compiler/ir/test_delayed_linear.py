"""DelayedLinear in the reference simulator vs a direct dense computation.

Reference: y_i[t] = sum_j W[i,j] * x_j[t - D[i,j]] (x_j[t'] = 0 for t' < 0), computed
term by term with explicit loops. Weights and inputs are small integers held in float64,
so every sum is exact whatever the order and the comparison can be bit-exact.
"""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.ir import DelayedLinear, Graph, Input, Output, simulate


def direct(w: np.ndarray, d: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Loop reference. x: [B, T, in] -> [B, T, out]."""
    bsz, tsteps, _ = x.shape
    n_out, n_in = w.shape
    y = np.zeros((bsz, tsteps, n_out))
    for b in range(bsz):
        for t in range(tsteps):
            for i in range(n_out):
                acc = 0.0
                for j in range(n_in):
                    src = t - int(d[i, j])
                    if src >= 0:
                        acc += w[i, j] * x[b, src, j]
                y[b, t, i] = acc
    return y


def one_layer(w: np.ndarray, d: np.ndarray) -> Graph:
    return Graph(
        nodes={"in": Input((w.shape[1],)), "dl": DelayedLinear(w, d), "out": Output((w.shape[0],))},
        edges=[("in", "dl"), ("dl", "out")],
    )


def test_hand_case():
    # out0 = x0[t] + 2 x1[t-2];  out1 = -x0[t-3] (max delay 3) + 0 * x1 (delay 1)
    w = np.array([[1.0, 2.0], [-1.0, 0.0]])
    d = np.array([[0, 2], [3, 1]])
    x = np.zeros((1, 6, 2))
    x[0, 0, 0] = 1.0  # spike of input 0 at t=0
    x[0, 1, 1] = 1.0  # spike of input 1 at t=1
    y = simulate(one_layer(w, d), x).output
    want = np.zeros((1, 6, 2))
    want[0, 0, 0] = 1.0   # delay 0: same step
    want[0, 3, 0] = 2.0   # t=1 + 2
    want[0, 3, 1] = -1.0  # t=0 + 3 (max delay)
    np.testing.assert_array_equal(y, want)
    np.testing.assert_array_equal(direct(w, d, x), want)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_matches_direct(seed: int):
    rng = np.random.default_rng(seed)
    n_in, n_out, bsz, tsteps, dmax = 7, 5, 3, 17, 6
    w = rng.integers(-4, 5, (n_out, n_in)).astype(np.float64)
    d = rng.integers(0, dmax + 1, (n_out, n_in))
    d[0, 0], d[-1, -1] = 0, dmax  # both ends of the delay range present
    x = rng.integers(-3, 4, (bsz, tsteps, n_in)).astype(np.float64)
    y = simulate(one_layer(w, d), x).output
    np.testing.assert_array_equal(y, direct(w, d, x))
    # batch rows are independent: each sample alone gives the same trace
    for b in range(bsz):
        np.testing.assert_array_equal(simulate(one_layer(w, d), x[b:b + 1]).output[0], y[b])


def test_delay_beyond_run_never_arrives():
    w = np.array([[1.0, 1.0]])
    d = np.array([[0, 5]])
    x = np.ones((2, 5, 2))
    y = simulate(one_layer(w, d), x).output
    np.testing.assert_array_equal(y, np.ones((2, 5, 1)))


def test_all_zero_delays_is_linear():
    rng = np.random.default_rng(3)
    w = rng.integers(-3, 4, (4, 6)).astype(np.float64)
    x = rng.integers(0, 2, (2, 9, 6)).astype(np.float64)
    y = simulate(one_layer(w, np.zeros((4, 6), np.int64)), x).output
    np.testing.assert_array_equal(y, x @ w.T)
