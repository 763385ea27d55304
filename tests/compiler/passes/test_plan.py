"""Static memory planner: hand-computed sizes, lifetimes, offsets, RAM and flash."""

from __future__ import annotations

import numpy as np

from snnc.compiler.ir import LIF, Graph, Input, Linear, Output, SpikeCountArgmax
from snnc.compiler.passes.fuse import fuse
from snnc.compiler.passes.plan import Buffer, _greedy, plan_memory
from snnc.compiler.passes.quantize import quantize
from snnc.compiler.passes.storage import Layout


def _ff() -> Graph:
    return Graph(nodes={"in": Input((4,)), "fc": Linear(np.ones((3, 4))),
                        "n": LIF((3,)), "cnt": SpikeCountArgmax((3,)), "out": Output((3,))},
                 edges=[("in", "fc"), ("fc", "n"), ("n", "cnt"), ("cnt", "out")])


def test_feedforward_float_plan_by_hand():
    p = plan_memory(_ff())
    b = {x.name: x for x in p.buffers}
    # schedule: in 0, fc 1, n 2, cnt 3, out 4 (end = 5)
    assert (b["in"].nbytes, b["in"].first, b["in"].last) == (16, -1, 1)
    assert (b["fc"].nbytes, b["fc"].first, b["fc"].last) == (12, 1, 2)
    assert (b["n"].nbytes, b["n"].first, b["n"].last) == (12, 2, 3)  # float32 spikes
    assert (b["cnt"].nbytes, b["cnt"].first, b["cnt"].last) == (12, 3, 5)
    assert "out" not in b                                           # alias
    # greedy: in [0,16); fc (overlaps in) [16,28); n reuses [0,12); cnt [12,24)
    assert p.arena_bytes == 28
    assert p.state_bytes == 3 * 4 + 3 * 4                           # v + counts
    # flash: 12 float32 weights + 5 scalar LIF params
    assert p.flash_bytes == 12 * 4 + 5 * 4
    assert p.ram_bytes == p.arena_bytes + p.state_bytes + p.persistent_bytes


def test_greedy_reuses_dead_space():
    bufs = [Buffer("a", 100, 0, 1), Buffer("b", 100, 2, 3), Buffer("c", 8, 1, 2)]
    assert _greedy(bufs) == 108
    assert bufs[0].offset == bufs[1].offset == 0 and bufs[2].offset == 100


def test_recurrent_output_is_persistent_and_fusion_removes_buffers(tiny_graph, rng):
    q = quantize(tiny_graph, rng.random((4, 8, 4)))
    p = plan_memory(q)
    b = {x.name: x for x in p.buffers}
    assert b["rec1"].persistent  # read by lif1 at t+1
    assert b["rec1"].nbytes == 8 * 4  # int32 activations in the snnc runtime
    assert b["input"].nbytes == 4 * 4 and b["lif2"].nbytes == 3 * 4
    assert p.state_bytes == 8 * 2 + 3 * 2 + 3 * 4  # int16 v of lif1, lif2; int32 counts
    pf = plan_memory(fuse(q))
    bf = {x.name: x for x in pf.buffers}
    assert "fc1" not in bf and "rec1" not in bf and bf["lif1"].persistent
    assert bf["lif1.acc"].nbytes == 32
    assert pf.persistent_bytes == 8 * 4  # lif1's spikes persist instead of rec1's output
    assert pf.arena_bytes < p.arena_bytes
    packed = plan_memory(fuse(q), Layout(spike_bytes=1, activation_bytes=2))
    assert packed.persistent_bytes == 8
    # flash: int8 weights plus int32 mult/shift tables and LIF parameters
    assert p.flash_by_node["rec1"] == 64 + 4 * (q.nodes["rec1"].mult.size
                                                + q.nodes["rec1"].shift.size)
    assert p.flash_by_node["lif1"] == 4 * 4  # beta_q, leak_q, thr_q, reset_q (0-d int32)


def test_delay_ring_slots_widen_when_the_bound_needs_int64():
    from snnc.compiler.ir import MembraneArgmax
    from snnc.compiler.ir.qnodes import QLI, QDelayedLinear, QInput
    from snnc.compiler.passes.plan import acc_bound

    def g(bits: int, w: np.ndarray = np.full((2, 3), 127, np.int8)) -> Graph:
        return Graph(nodes={"in": QInput(shape=(3,), dtype="real", bits=bits),
                            "d": QDelayedLinear(weight=w, delay=np.full((2, 3), 4, np.int32),
                                                weight_bits=8 * w.dtype.itemsize),
                            "li": QLI(shape=(2,)), "ro": MembraneArgmax((2,)),
                            "out": Output((2,))},
                     edges=[("in", "d"), ("d", "li"), ("li", "ro"), ("ro", "out")])
    assert acc_bound(g(8), "d") == 3 * 127 * 256
    assert plan_memory(g(8)).state_by_node["d"] == 4 * 5 * 2
    # 16-bit inputs: 3 * 127 * 65536 < 2**31 still
    assert plan_memory(g(16)).state_by_node["d"] == 4 * 5 * 2
    # int16 weights on 16-bit inputs: 3 * 32767 * 65536 >= 2**31 -> int64 slots
    wide = g(16, np.full((2, 3), 32767, np.int16))
    assert plan_memory(wide).state_by_node["d"] == 8 * 5 * 2
