"""The vectorized integer simulator against a scalar, pure-Python reading of docs/fixed_point.md.

The reference below uses Python's unbounded ints, ``>>`` (floor) and explicit clamps, one
neuron at a time, written from the contract's text; the simulator must agree bit for bit
on random parameters chosen to hit saturation, negative rounding and both reset modes.
"""

from __future__ import annotations

import numpy as np
import pytest

from snnc.compiler.ir import Graph, Output, SpikeCountArgmax
from snnc.compiler.ir.interpret_int import simulate_int
from snnc.compiler.ir.qnodes import QLIF, QCubaLIF, QInput, QLinear


def _sat(x: int, b: int) -> int:
    return max(-(1 << (b - 1)), min((1 << (b - 1)) - 1, x))


def _rsr(x: int, n: int) -> int:
    return (x + (1 << (n - 1))) >> n if n > 0 else x


def _reference(w, bias, mult, shift, out_bits, pop, x_seq, kind):
    """Scalar reference: one QLinear feeding one population; returns spikes per step."""
    n_out = len(w)
    v = [0] * n_out
    cur = [0] * n_out
    spikes = []
    for x in x_seq:
        s_t = []
        for i in range(n_out):
            acc = _sat(sum(int(w[i][j]) * int(x[j]) for j in range(len(x))) + int(bias[i]), 32)
            y = _sat(_rsr(acc * int(mult[i]), int(shift[i])), out_bits)
            sb = pop["state_bits"]
            if kind == "lif":
                v[i] = _sat(_rsr(pop["beta_q"] * v[i], 15) + y + pop["leak_q"], sb)
            else:
                cur[i] = _sat(_rsr(pop["alpha_q"] * cur[i], 15) + y, pop["cur_bits"])
                v[i] = _sat(_rsr(pop["beta_q"] * v[i], 15)
                            + _rsr(cur[i] * pop["mult_v"], pop["shift_v"]) + pop["leak_q"], sb)
            s = 1 if v[i] > pop["thr_q"] else 0
            if s:
                v[i] = v[i] - pop["thr_q"] if pop["reset"] == "subtract" else pop["reset_q"]
            s_t.append(s)
        spikes.append(s_t)
    return np.array(spikes)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", ["lif", "cuba"])
def test_random_layers_match_the_scalar_reference(seed, kind):
    rng = np.random.default_rng(seed)
    n_in, n_out, steps = 5, 4, 12
    sb = 16 if seed % 2 == 0 else 32
    w = rng.integers(-128, 128, (n_out, n_in)).astype(np.int8)
    bias = rng.integers(-5000, 5000, n_out).astype(np.int32)
    mult = rng.integers(1 << 30, 1 << 31, n_out).astype(np.int32)
    shift = rng.integers(18, 30, n_out).astype(np.int32)
    pop = dict(beta_q=int(rng.integers(0, 32769)), leak_q=int(rng.integers(-300, 300)),
               thr_q=int(rng.integers(1, 3000)), reset_q=int(rng.integers(-100, 100)),
               reset=str(rng.choice(["subtract", "zero"])), state_bits=sb,
               alpha_q=int(rng.integers(0, 32769)), mult_v=int(rng.integers(1, 1 << 31)),
               shift_v=int(rng.integers(20, 34)), cur_bits=sb)
    x = rng.integers(-128, 128, (1, steps, n_in)).astype(np.int32)
    common = dict(shape=(n_out,), beta_q=np.array(pop["beta_q"], np.int32),
                  leak_q=np.array(pop["leak_q"], np.int32),
                  thr_q=np.array(pop["thr_q"], np.int32),
                  reset_q=np.array(pop["reset_q"], np.int32), reset=pop["reset"],
                  state_bits=sb)
    if kind == "lif":
        node = QLIF(**common)
    else:
        node = QCubaLIF(alpha_q=np.array(pop["alpha_q"], np.int32),
                        mult_v=np.array(pop["mult_v"], np.int32),
                        shift_v=np.array(pop["shift_v"], np.int32), cur_bits=sb, **common)
    g = Graph(nodes={"in": QInput(shape=(n_in,), dtype="real", bits=8,
                                  zero_point=np.array(0, np.int32)),
                     "fc": QLinear(weight=w, bias=bias, mult=mult, shift=shift, out_bits=sb),
                     "pop": node, "cnt": SpikeCountArgmax((n_out,)), "out": Output((n_out,))},
              edges=[("in", "fc"), ("fc", "pop"), ("pop", "cnt"), ("cnt", "out")])
    got = simulate_int(g, x, record=True).traces["pop"][0]
    want = _reference(w, bias, mult, shift, sb, pop, x[0], kind)
    np.testing.assert_array_equal(got, want)
