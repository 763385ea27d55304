"""Float layers of the C backend: the inline kernels of runtime/include/snnc/kernels.h
(``snnc_dense_fk``, ``snnc_ev_dense_fk``, ``snnc_delay_fk``) and the inline LIF/IF loop of compiler/codegen/c.py.

References are independent of the generated C: a NumPy float32 re-implementation that
performs the same IEEE operations in the same order (so the float32 build must equal it
bit for bit: event-driven layers and neuron loops keep the runtime's order), NumPy float64
for the dense layer (its partial-sum order depends on the vector width, so float32 is
checked against an error bound) and the float64 reference simulator
(compiler/ir/interpret.py) for the double build.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.ir import (
    IF,
    LIF,
    Affine,
    DelayedLinear,
    Graph,
    Input,
    Linear,
    Output,
    simulate,
    verify,
)
from snnc.targets import host

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")

F32 = np.float32


def _build(g: Graph, d: Path, **profile: object) -> host.CompiledModel:
    host.compile_model(g, d)
    return host.build(d, host.get_profile(**profile))


def _reservoir(reset: str) -> Graph:
    """Spike input -> Linear -> LIF (per-neuron tau/threshold) with a recurrent Linear,
    an Affine readout with bias. 45 = 32 + 8 + 5 outputs: the event kernel's 4-vector
    blocks, a single vector and scalar rows all run (11: vector and scalar only)."""
    r = np.random.default_rng(3)
    n_in, n, n_out = 37, 45, 11
    return verify(Graph(
        nodes={
            "x": Input((n_in,), dtype="spike"),
            "w_in": Linear(r.normal(0.2, 0.6, (n, n_in))),
            "res": LIF((n,), tau=r.uniform(2e-3, 9e-3, n), r=np.array(1.3),
                       v_leak=np.array(0.05), v_threshold=r.uniform(0.4, 0.9, n),
                       v_reset=np.array(-0.1), reset=reset),
            "w_rec": Linear(r.normal(0, 0.5, (n, n))),
            "readout": Affine(r.normal(0, 0.7, (n_out, n)), r.normal(0, 0.3, n_out)),
            "y": Output((n_out,)),
            "s": Output((n,)),
        },
        edges=[("x", "w_in"), ("w_in", "res"), ("res", "w_rec"), ("w_rec", "res"),
               ("res", "readout"), ("readout", "y"), ("res", "s")],
        dt=1e-3, name="float reservoir",
    ))


def _reservoir_f32(g: Graph, x: np.ndarray) -> np.ndarray:
    """The reservoir in NumPy float32, operation for operation as the C build: event
    layers start at the bias (or 0) and add W[:, j] * x[j] for each non-zero x[j] in
    ascending j; LIF: v = beta * v + (1 - beta) * (v_leak + r * (a + rec))."""
    nd = g.nodes
    w_in, w_rec = F32(nd["w_in"].weight), F32(nd["w_rec"].weight)
    w_ro, b_ro = F32(nd["readout"].weight), F32(nd["readout"].bias)
    p = nd["res"]
    beta = F32(g.decay(p.tau))
    one_m = F32(1) - beta
    vl, rr, thr, vr = F32(p.v_leak), F32(p.r), F32(p.v_threshold), F32(p.v_reset)

    def ev(w: np.ndarray, xv: np.ndarray, y0: np.ndarray) -> np.ndarray:
        y = y0.copy()
        for j in np.flatnonzero(xv):
            y = y + w[:, j] * xv[j]
        return y

    outs = []
    n = w_rec.shape[0]
    for xs in x.astype(F32):
        v, rec = np.zeros(n, F32), np.zeros(n, F32)
        steps = []
        for xt in xs:
            a = ev(w_in, xt, np.zeros(n, F32))
            vi = beta * v + one_m * (vl + rr * (a + rec))
            s = vi > thr
            v = np.where(s, vr, vi) if p.reset == "zero" else np.where(s, vi - thr, vi)
            sf = s.astype(F32)
            y = ev(w_ro, sf, b_ro)
            rec = ev(w_rec, sf, np.zeros(n, F32))
            steps.append(np.concatenate([y, sf]))
        outs.append(steps)
    return np.asarray(outs, dtype=F32)


@pytest.mark.parametrize("reset,arch", [("zero", "-march=native"), ("subtract", ""),
                                        ("subtract", "-march=native")])
def test_event_layers_and_lif_loop_bit_identical_to_numpy_float32(reset: str, arch: str,
                                                                  tmp_path: Path) -> None:
    g = _reservoir(reset)
    r = np.random.default_rng(4)
    x = (r.random((6, 40, 37)) < 0.3).astype(np.float32)
    x[0, :5] = 0  # silent steps: outputs are the bias, membranes only decay
    x[1, :3] = 1  # every input active
    cm = _build(g, tmp_path / "f32", arch=arch)
    src = (tmp_path / "f32" / "model.c").read_text()
    assert "snnc_ev_dense_fk(" in src and "snnc_lif_f(" not in src  # the inline paths
    got = cm.run(x)
    want = _reservoir_f32(g, x)
    assert want[..., 11:].any() and not want[..., 11:].all()  # some spikes, not all
    np.testing.assert_array_equal(got, want)
    # The double build agrees with the float64 reference simulator to rounding.
    cmd = _build(g, tmp_path / "f64", real="double", arch=arch)
    res = simulate(g, x.astype(np.float64))
    want64 = np.concatenate([res.outputs["y"], res.outputs["s"]], axis=-1)
    np.testing.assert_allclose(cmd.run(x), want64, rtol=1e-6, atol=1e-6)  # outputs are float32


@pytest.mark.parametrize("n_in", [1, 7, 16, 37, 64])
@pytest.mark.parametrize("arch", ["-march=native", ""], ids=["native", "portable"])
def test_dense_kernel_against_numpy(n_in: int, arch: str, tmp_path: Path) -> None:
    """Real-valued input -> Affine -> IF: the dense kernel's partial sums and tails (n_in
    below, at and between multiples of 8 and 16), with and without -march=native, in the
    whole-sequence entry point (blocks of steps) and step by step."""
    r = np.random.default_rng(n_in)
    n_out = 9
    w, b = r.normal(0, 1, (n_out, n_in)), r.normal(0, 0.5, n_out)
    g = verify(Graph(
        nodes={"x": Input((n_in,)), "fc": Affine(w, b),
               "pop": IF((n_out,), r=np.array(0.5), v_threshold=np.array(1.0)),
               "y": Output((n_out,)), "s": Output((n_out,))},
        edges=[("x", "fc"), ("fc", "pop"), ("fc", "y"), ("pop", "s")],
        dt=1e-3, name="dense"))
    x = r.normal(0, 1, (3, 12, n_in)).astype(np.float32)
    x[0, 0] = 0.0
    x[0, 1, : n_in // 2] = -0.0
    cm = _build(g, tmp_path / "f32", arch=arch)
    src = (tmp_path / "f32" / "model.c").read_text()
    assert "snnc_dense_fk(" in src and "snnc_dense_fk_steps(" in src
    got = cm.run(x)
    w32, b32 = F32(w).astype(np.float64), F32(b).astype(np.float64)
    exact = x.astype(np.float64) @ w32.T + b32
    # float32 sums in any order: |error| <= (n_in + 1) * eps * (sum |w x| + |b|)
    bound = (n_in + 1) * np.finfo(F32).eps * (np.abs(x) @ np.abs(w32).T + np.abs(b32))
    assert np.all(np.abs(got[..., :n_out] - exact) <= bound + 1e-30)
    # run() computes the input-only layer 8 steps at a time (12 = 8 + 4 here); stepping
    # one call per step computes it per step: the same values, bit for bit.
    st = cm.stream()
    for b in range(len(x)):
        st.reset()
        for t in range(x.shape[1]):
            np.testing.assert_array_equal(st.step(x[b, t]), got[b, t])
    cmd = _build(g, tmp_path / "f64", real="double", arch=arch)
    res = simulate(g, x.astype(np.float64))
    want64 = np.concatenate([res.outputs["y"], res.outputs["s"]], axis=-1)
    np.testing.assert_allclose(cmd.run(x), want64, rtol=1e-6, atol=1e-6)  # outputs are float32


def test_host_profile_targets_this_cpu() -> None:
    """Host builds are for the machine they run on (as the baselines' run-time dispatch
    is); the portable variant drops the flag."""
    assert "-march=native" in host.get_profile().cflags()
    assert not any(f.startswith("-march") for f in host.get_profile(arch="").cflags())
    assert "-ffp-contract=off" in host.get_profile().cflags()  # no fused a*b+c
    assert "-DSNNC_PRE_STEPS=8" in host.get_profile().cflags()
    assert not any("PRE_STEPS" in f for f in host.get_profile(pre_steps=1).cflags())


@pytest.mark.parametrize("dmax", [0, 3])
def test_delayed_layer_bit_identical_to_numpy_float32(dmax: int, tmp_path: Path) -> None:
    """DelayedLinear: the ring kernel (delays up to 3) and, with every delay 0, the plain
    event layer. Step t's output is the sum over the steps t' = t - d in ascending order
    (earliest arrival first), and within a step over inputs j ascending, of
    w[i, j] * x[t'][j] for the synapses with delay d; zero inputs and weights skipped."""
    r = np.random.default_rng(7 + dmax)
    n_in, n_out = 6, 37
    w = r.normal(0, 1, (n_out, n_in)) * (r.random((n_out, n_in)) < 0.7)
    d = r.integers(0, dmax + 1, (n_out, n_in))
    g = verify(Graph(nodes={"x": Input((n_in,)), "dl": DelayedLinear(w, d),
                            "y": Output((n_out,))},
                     edges=[("x", "dl"), ("dl", "y")], dt=1e-3, name="delays"))
    x = r.normal(0, 1, (3, 20, n_in)).astype(np.float32)
    x[..., 2] = 0.0  # a silent input
    x[0, 4:9] = 0.0  # silent steps
    cm = _build(g, tmp_path / "f32")
    src = (tmp_path / "f32" / "model.c").read_text()
    assert ("snnc_delay_fk(" in src) == (dmax > 0) and "snnc_delay_f(" not in src
    w32 = F32(w)
    want = np.zeros((3, 20, n_out), F32)
    for b in range(3):
        for t in range(20):
            acc = np.zeros(n_out, F32)
            for tp in range(max(0, t - dmax), t + 1):
                for j in np.flatnonzero(x[b, tp]):
                    hit = (d[:, j] == t - tp) & (w32[:, j] != 0)
                    acc = np.where(hit, acc + w32[:, j] * x[b, tp, j], acc)
            want[b, t] = acc
    np.testing.assert_array_equal(cm.run(x), want)
