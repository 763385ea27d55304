"""The one memory plan: hand-computed layouts, and the C compiler's own ``sizeof``/``offsetof``
of the generated state struct as the independent reference (the plan is what the emitter
lays out, so the figure ``snnc compile`` prints is the struct the firmware holds)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.codegen.c import emit_c, runtime_dir
from snnc.compiler.codegen.hls import emit_hls
from snnc.compiler.ir import LIF, Graph, Input, Linear, MembraneArgmax, Output, SpikeCountArgmax
from snnc.compiler.ir.qnodes import QLI, QDelayedLinear, QInput
from snnc.compiler.passes.plan import Buffer, Planner, acc_bound, place_arena, plan_memory
from snnc.compiler.passes.quantize import quantize

CC = shutil.which("cc") or shutil.which("gcc")


def _ff() -> Graph:
    return Graph(nodes={"in": Input((4,)), "fc": Linear(np.ones((3, 4))),
                        "n": LIF((3,)), "cnt": SpikeCountArgmax((3,)), "out": Output((3,))},
                 edges=[("in", "fc"), ("fc", "n"), ("n", "cnt"), ("cnt", "out")])


def _delayed(bits: int, w: np.ndarray = np.full((2, 3), 127, np.int8)) -> Graph:
    return Graph(nodes={"in": QInput(shape=(3,), dtype="real", bits=bits),
                        "d": QDelayedLinear(weight=w, delay=np.full((2, 3), 4, np.int32),
                                            weight_bits=8 * w.dtype.itemsize),
                        "li": QLI(shape=(2,)), "ro": MembraneArgmax((2,)),
                        "out": Output((2,))},
                 edges=[("in", "d"), ("d", "li"), ("li", "ro"), ("ro", "out")])


def test_struct_layout_by_hand():
    p = Planner("c")
    p.member("a", "uint8_t", 3)                  # [0, 3)
    p.member("b", "int32_t")                     # pad 1 -> [4, 8)
    p.member("c", "int16_t", 3, align=4)         # union with int32: [8, 16)
    p.member("d", "int64_t", 1)                  # [16, 24)
    p.member("e", "int16_t", 1)                  # [24, 26), struct padded to 8 -> 32
    plan = p.finish()
    assert [m.offset for m in plan.members] == [0, 4, 8, 16, 24]
    assert plan.ram_bytes == 32 and plan.padding_bytes == 32 - (3 + 4 + 8 + 8 + 2)
    hls = Planner("hls")  # separate static arrays: no struct padding
    hls.member("a", "uint8_t", 3)
    hls.member("b", "int32_t")
    assert hls.finish().ram_bytes == 7


def test_arena_reuses_dead_space():
    bufs = [Buffer("a", "x", "int32_t", 100, 0, 1), Buffer("b", "y", "int32_t", 100, 2, 3),
            Buffer("c", "z", "int32_t", 8, 1, 2)]
    assert place_arena(bufs, "arena") == 108
    assert bufs[0].offset == bufs[1].offset == 0 and bufs[2].offset == 100


def test_float_feedforward_plan_by_hand():
    p = plan_memory(_ff())
    b = {x.name: x for x in p.buffers}
    # schedule: in 0, fc 1, n 2, cnt 3; buffers live from producer to last reader
    assert (b["y_fc"].first, b["y_fc"].last) == (1, 2)
    assert (b["y_n"].first, b["y_n"].last) == (2, 3)
    for x in p.buffers:  # buffers alive at the same time never share elements
        for y in p.buffers:
            if x is not y and x.arena == y.arena and not (x.last < y.first or y.last < x.first):
                assert x.offset + x.n <= y.offset or y.offset + y.n <= x.offset
    assert p.state_by_node["n"] == 3 * 4  # float membrane
    assert p.state_by_node["cnt"] >= 3 * 4  # counts double as the output
    # flash: 12 float weights (+ the emitter's own tables) are counted per node
    assert p.flash_by_node["fc"] >= 12 * 4


def test_delay_ring_slots_widen_when_the_bound_needs_int64():
    assert acc_bound(_delayed(8), "d") == 3 * 127 * 256
    ring = {m.name: m for m in plan_memory(_delayed(8)).members}["ring_d"]
    assert (ring.ctype, ring.n) == ("int32_t", 5 * 2)  # (max_delay + 1) * out slots
    # int16 weights on 16-bit inputs: 3 * 32767 * 65536 >= 2**31 -> int64 slots
    wide = plan_memory(_delayed(16, np.full((2, 3), 32767, np.int16)))
    ring = {m.name: m for m in wide.members}["ring_d"]
    assert (ring.ctype, ring.n) == ("int64_t", 5 * 2)


def _graphs(tiny_graph, rng) -> dict[str, Graph]:
    q = quantize(tiny_graph, rng.random((4, 8, 4)))
    return {"tiny_int8": q, "tiny_float": tiny_graph, "feedforward_float": _ff(),
            "delay_int32": _delayed(8),
            "delay_int64": _delayed(16, np.full((2, 3), 32767, np.int16))}


@pytest.mark.skipif(CC is None, reason="needs a host C compiler (cc/gcc)")
def test_plan_is_the_compilers_sizeof_and_offsetof(tiny_graph, rng, tmp_path: Path):
    """For each graph: sizeof(state struct) == plan.ram_bytes and every member's offsetof
    == its planned offset, as the host C compiler lays the generated header out."""
    for label, g in _graphs(tiny_graph, rng).items():
        model = emit_c(g)
        d = tmp_path / label
        model.write(d)
        st = f"snnc_{model.c_name}_state_t"
        prints = [f'    printf("sizeof %zu\\n", sizeof({st}));']
        prints += [f'    printf("{m.name} %zu\\n", offsetof({st}, {m.name}));'
                   for m in model.plan.members]
        (d / "probe.c").write_text('#include <stddef.h>\n#include <stdio.h>\n'
                                   '#include "model.h"\nint main(void)\n{\n'
                                   + "\n".join(prints) + "\n    return 0;\n}\n")
        exe = d / "probe"
        subprocess.run([CC, "-std=c99", "-I", str(d), "-I", str(runtime_dir() / "include"),
                        str(d / "probe.c"), "-o", str(exe)], check=True, capture_output=True)
        out = dict(line.split() for line in subprocess.run(
            [str(exe)], check=True, capture_output=True, text=True).stdout.splitlines())
        assert int(out.pop("sizeof")) == model.plan.ram_bytes == model.ram_bytes, label
        assert {k: int(v) for k, v in out.items()} == {
            m.name: m.offset for m in model.plan.members}, label
        assert f"RAM {model.plan.ram_bytes} B" in model.header


def test_hls_statics_are_the_plan(tiny_graph, rng):
    """The HLS emitter declares exactly the plan's members as static arrays."""
    q = quantize(tiny_graph, rng.random((4, 8, 4)))
    hm = emit_hls(q)
    decls = re.findall(r"^static (\w+) (\w+)((?:\[\d+\])*);", hm.files["kernel.cpp"], re.M)
    sizes = {"uint8_t": 1, "int8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4,
             "int64_t": 8}
    declared = {n: sizes[t] * int(np.prod([int(x) for x in re.findall(r"\d+", dims)] or [1]))
                for t, n, dims in decls}
    assert declared == {m.name: m.nbytes for m in hm.plan.members}
    assert hm.state_bytes == hm.plan.ram_bytes == sum(declared.values())
    # every node's output is a static buffer owned by it
    assert {m.node for m in hm.plan.members if m.role == "buffer"} == set(q.nodes)


def test_a_target_registers_its_emitters_planner(tiny_graph, rng):
    """The pipeline reports the plan of the target's own emitter (here the HLS one)."""
    from snnc.compiler.passes.pipeline import (
        PIPELINES,
        PLANNERS,
        CompileOptions,
        PassContext,
        register_pipeline,
        register_planner,
        run_pipeline,
    )

    register_pipeline("test-hls", PIPELINES["generic"])
    register_planner("test-hls", lambda g: emit_hls(g).plan)
    try:
        ctx = PassContext(options=CompileOptions(target="test-hls"),
                          calib=rng.random((8, 8, 4)), progress=lambda m: None)
        g, plan = run_pipeline(tiny_graph, ctx)
        assert plan.backend == "hls" and plan.ram_bytes == emit_hls(g).state_bytes
        ctx = PassContext(options=CompileOptions(target="test-hls", quantize="float"),
                          progress=lambda m: None)
        _, plan = run_pipeline(tiny_graph, ctx)  # HLS is integer-only: no plan, no crash
        assert plan.backend == "none" and plan.ram_bytes == 0
    finally:
        del PIPELINES["test-hls"], PLANNERS["test-hls"]


def test_plan_holds_the_state_spec_and_refuses_less():
    """A 16-bit LIF of 3 neurons needs 3 x int16 by its state spec (hand count: 6 B); the
    C and HLS plans reserve it, and a plan missing the membrane is refused naming the node."""
    from dataclasses import replace

    from snnc.compiler.errors import SnncError
    from snnc.compiler.passes.plan import check_state, spec_state_bytes
    from snnc.compiler.passes.quantize import QuantOptions

    x = np.random.default_rng(0).normal(0.5, 1, (4, 6, 4))
    gq = quantize(_ff(), x, QuantOptions(state_bits=16))
    assert spec_state_bytes(gq) == {"n": 6}
    for plan in (emit_c(gq).plan, emit_hls(gq).plan):
        assert sum(m.nbytes for m in plan.members if m.node == "n") >= 6
        short = replace(plan, members=[m for m in plan.members if m.node != "n"])
        with pytest.raises(SnncError, match=r"state of node 'n'.*needs 6 B"):
            check_state(gq, short)
