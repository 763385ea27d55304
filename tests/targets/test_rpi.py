"""Raspberry Pi target: profiles, static aarch64 build, qemu-aarch64 user-mode runs."""

from __future__ import annotations

import numpy as np
import pytest
from target_helpers import ZOO, alif_case, require, standin_reference

from snnc.compiler.errors import SnncError
from snnc.targets.rpi.profile import PRESETS, get_profile

AARCH64 = ("aarch64-linux-gnu-gcc", "aarch64-linux-gnu-nm", "qemu-aarch64")


def test_presets():
    assert {p: PRESETS[p].cpu for p in PRESETS} == {
        "pi3b+": "cortex-a53", "pi4": "cortex-a72", "pi5": "cortex-a76"}
    assert get_profile().name == "pi4"
    with pytest.raises(SnncError, match="pi3b\\+, pi4, pi5"):
        get_profile("pi2")


@pytest.fixture(scope="session")
def binaries(standin_build, tmp_path_factory):
    require(*AARCH64)
    from snnc.targets.rpi.build import build_binary

    return {p: build_binary(standin_build, p, tmp_path_factory.mktemp(p.replace("+", "p")))
            for p in PRESETS}


@pytest.mark.cross
def test_static_aarch64_binaries(binaries):
    for b in binaries.values():
        head = b.path.read_bytes()[:20]
        assert head[:4] == b"\x7fELF" and head[4] == 2           # ELF64
        assert int.from_bytes(head[18:20], "little") == 183       # EM_AARCH64


@pytest.mark.cross
def test_outputs_match_reference_on_every_core(binaries, standin_inputs):
    from snnc.targets.rpi.run import run_qemu_user

    ref = standin_reference(standin_inputs)
    for name, b in binaries.items():
        r = run_qemu_user(b, standin_inputs, count=(name == "pi4"))
        np.testing.assert_array_equal(r.harness.outputs, ref, err_msg=name)


@pytest.mark.cross
def test_instruction_counts_deterministic(binaries, standin_inputs):
    from snnc.targets.rpi.run import run_qemu_user

    a = run_qemu_user(binaries["pi4"], standin_inputs).counts
    b = run_qemu_user(binaries["pi4"], standin_inputs).counts
    assert a.intervals.shape == (3 * 12,)
    np.testing.assert_array_equal(a.intervals, b.intervals)
    assert np.all(a.intervals > 0)


@pytest.mark.cross
def test_harness_rejects_mismatched_inputs(binaries, standin_inputs):
    from snnc.targets.common import ModelInterface
    from snnc.targets.rpi.run import run_qemu_user

    b = binaries["pi4"]
    # Lie about the input width: the harness must refuse the file, not read garbage.
    wrong = ModelInterface("standin", 4, 4, "uint8_t", "int32_t")
    b2 = type(b)(path=b.path, profile=b.profile, iface=wrong, file_bytes=b.file_bytes)
    with pytest.raises(SnncError, match="exit 2"):
        run_qemu_user(b2, standin_inputs[:, :, :4], count=False)


@pytest.mark.cross
@pytest.mark.parametrize("path", ZOO, ids=[p.stem for p in ZOO])
def test_zoo_model_bit_exact_under_qemu_aarch64(path, zoo_case, tmp_path):
    require(*AARCH64, "cc")
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user

    case = zoo_case(path)
    out = run_qemu_user(build_binary(case.build_dir, "pi4", tmp_path), case.x_dev,
                        count=False).harness.outputs
    assert out.shape == case.ref.shape
    bad = np.argwhere(out != case.ref)
    assert bad.size == 0, (f"{path.name}: first mismatch at {tuple(bad[0])}: device "
                           f"{out[tuple(bad[0])]}, integer simulator {case.ref[tuple(bad[0])]}")


@pytest.mark.cross
@pytest.mark.parametrize("n_in,sparsity", [(600, 0.0), (300, 0.95)], ids=["wide", "csc"])
def test_event_kernels_bit_exact_under_qemu_aarch64(n_in, sparsity, tmp_path):
    """NEON column adds (with the int16 -> int32 flush) and the NEON neuron loop, and the
    CSC scatter, against the integer golden model under qemu-aarch64."""
    require(*AARCH64, "cc")
    from snnc.bench.kernels import layer_graph
    from snnc.compiler.ir.interpret_int import simulate_int
    from snnc.targets.registry import write_build
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user

    g = layer_graph(n_in, 40, sparsity, seed=7, shift=30)
    x = (np.random.default_rng(8).random((2, 12, n_in)) < 0.6).astype(np.uint8)
    bd = write_build("rpi", g, tmp_path / "b")
    out = run_qemu_user(build_binary(bd, "pi4", tmp_path / "bin"), x, count=False)
    want = simulate_int(g, x.astype(np.int64)).output.reshape(out.harness.outputs.shape)
    assert np.array_equal(out.harness.outputs, want)
    assert want[:, -1].sum() > 0


@pytest.mark.cross
@pytest.mark.parametrize("precision", ["int8", "int16_s32"])
def test_alif_bit_exact_under_qemu_aarch64(precision, tmp_path):
    """ALIF (compiler/ops/alif.py, runtime/src/alif.c) under qemu-aarch64 against the
    integer golden model."""
    require(*AARCH64, "cc")
    from snnc.targets.registry import write_build
    from snnc.targets.rpi.build import build_binary
    from snnc.targets.rpi.run import run_qemu_user

    gq, x, want = alif_case(precision)
    bd = write_build("rpi", gq, tmp_path / "b")
    assert "snnc_alif_q" in (bd / "model.c").read_text()
    out = run_qemu_user(build_binary(bd, "pi4", tmp_path / "bin"), x, count=False)
    assert np.array_equal(out.harness.outputs, want.reshape(out.harness.outputs.shape))
    assert want[:, -1].sum() > 0
