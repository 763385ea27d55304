"""Smartwatch target: profiles, linker script, firmware on QEMU MPS2 AN386, size check."""

from __future__ import annotations

import re

import numpy as np
import pytest
from target_helpers import ROOT, ZOO, alif_case, require, standin_reference, write_standin

from snnc.compiler.errors import SnncError
from snnc.targets.smartwatch.build import build_firmware, check_fit, render_linker_script
from snnc.targets.smartwatch.profile import KIB, MIB, PRESETS, get_profile

ARM = ("arm-none-eabi-gcc", "arm-none-eabi-size", "arm-none-eabi-nm")


# ------------------------------------------------------------------ pure Python


def test_presets_carry_datasheet_figures():
    nrf, apollo = get_profile("nrf52840"), get_profile("apollo3")
    assert (nrf.clock_hz, nrf.ram_bytes, nrf.flash_bytes) == (64_000_000, 256 * KIB, 1 * MIB)
    assert (apollo.clock_hz, apollo.burst_clock_hz) == (48_000_000, 96_000_000)
    assert (apollo.ram_bytes, apollo.flash_bytes) == (384 * KIB, 1 * MIB)
    for p in PRESETS.values():
        assert p.cpu == "cortex-m4" and p.fpu == "fpv4-sp-d16" and p.float_abi == "hard"
        # Every preset must run on the emulated board (4 MiB code, 4 MiB RAM).
        assert p.ram_bytes <= 4 * MIB and p.flash_bytes <= 4 * MIB
    assert get_profile() is nrf


def test_unknown_profile_names_the_presets():
    with pytest.raises(SnncError, match="nrf52840"):
        get_profile("esp32")


def test_linker_script_follows_profile():
    for p in PRESETS.values():
        ld = render_linker_script(p)
        assert re.search(rf"FLASH \(rx\)\s*: ORIGIN = 0x00000000, LENGTH = {p.flash_bytes}\b", ld)
        assert re.search(rf"RAM   \(rwx\) : ORIGIN = 0x20000000, LENGTH = {p.ram_bytes}\b", ld)
        assert f"__stack_size__ = {p.stack_bytes};" in ld


# ------------------------------------------------------------------ firmware under QEMU


@pytest.fixture(scope="session")
def firmware(standin_build, standin_inputs, tmp_path_factory):
    require(*ARM)
    return build_firmware(standin_build, standin_inputs, "nrf52840",
                          tmp_path_factory.mktemp("fw"))


@pytest.fixture(scope="session")
def qemu_run(firmware):
    require("qemu-system-arm", "cc")
    from snnc.targets.smartwatch.run import run_qemu

    return run_qemu(firmware)


@pytest.mark.cross
def test_firmware_outputs_match_reference(qemu_run, standin_inputs):
    out = qemu_run.harness.outputs
    assert out.dtype == np.int32 and out.shape == (3, 12, 4)
    np.testing.assert_array_equal(out, standin_reference(standin_inputs))
    assert out[:, -1].sum() > 0  # the inputs made neurons fire: not a vacuous comparison


@pytest.mark.cross
def test_instruction_counts_are_exact_and_deterministic(firmware, qemu_run):
    from snnc.targets.smartwatch.run import run_qemu

    c1 = qemu_run.counts
    c2 = run_qemu(firmware).counts
    assert c1.intervals.shape == (3 * 12,)
    np.testing.assert_array_equal(c1.intervals, c2.intervals)
    assert c1.total == c2.total
    # A 4x8 dense step is at least 32 multiply-accumulates; far below 10k instructions.
    assert np.all(c1.intervals > 32) and np.all(c1.intervals < 10_000)
    assert 0 < c1.overhead < 10


@pytest.mark.cross
def test_memory_from_elf_sections(firmware):
    m, fw = firmware.model_memory, firmware.memory
    # The stand-in's state struct (4 int16 + 4 int32 + 1 pad byte, padded) lives in .bss.
    assert m.sections[".bss"] >= 24
    assert 0 < m.flash_bytes < fw.flash_bytes <= fw.flash_avail
    assert fw.ram_bytes >= fw.sections[".stack"] + fw.sections[".heap"]
    assert fw.fits


@pytest.mark.cross
def test_model_flash_grows_with_its_tables(tmp_path):
    require(*ARM)
    small = check_fit(write_standin(tmp_path / "a"), "nrf52840")
    big = check_fit(write_standin(tmp_path / "b", extra_table_bytes=20_000), "nrf52840")
    grown = big.flash_bytes - small.flash_bytes
    assert 20_000 <= grown < 20_000 + 256


@pytest.mark.cross
def test_model_too_big_for_ram_fails_with_numbers(tmp_path):
    require(*ARM)
    d = write_standin(tmp_path / "ram", extra_state_bytes=300 * KIB)
    with pytest.raises(SnncError) as e:
        check_fit(d, "nrf52840")
    msg = str(e.value)
    m = re.search(r"RAM (\d+) B needed > 262144 B available", msg)
    assert m and int(m.group(1)) > 300 * KIB
    assert "quantize" in msg and "prune" in msg
    # The same model fits the larger Apollo3 (384 KiB RAM).
    assert check_fit(d, "apollo3", tmp_path / "apollo").fits


@pytest.mark.cross
def test_model_too_big_for_flash_fails_with_numbers(tmp_path):
    require(*ARM)
    d = write_standin(tmp_path / "flash", extra_table_bytes=1100 * KIB)
    with pytest.raises(SnncError, match=r"flash \d+ B needed > 1048576 B available"):
        check_fit(d, "nrf52840")


def test_not_a_build_directory(tmp_path):
    with pytest.raises(SnncError, match="model.h and model.c expected"):
        check_fit(tmp_path, "nrf52840")


# ------------------------------------------------------------------ the model zoo


def smallest_fitting_profile(build_dir):
    """The smallest preset the model fits; else the emulated board's whole 4 MiB / 4 MiB
    (a model too big for every preset still has to run bit-exact on the emulator)."""
    from dataclasses import replace

    for p in sorted(PRESETS.values(), key=lambda p: (p.flash_bytes, p.ram_bytes)):
        try:
            check_fit(build_dir, p, build_dir / f"fit_{p.name}")
            return p
        except SnncError as e:
            if "does not fit" not in str(e):
                raise
    return replace(get_profile(), name="an386-max", flash_bytes=4 * MIB, ram_bytes=4 * MIB)


@pytest.mark.cross
@pytest.mark.parametrize("path", ZOO, ids=[p.stem for p in ZOO])
def test_zoo_model_bit_exact_on_emulated_mcu(path, zoo_case, tmp_path):
    require(*ARM, "qemu-system-arm", "cc")
    from snnc.targets.smartwatch.run import run_qemu

    case = zoo_case(path)
    fw = build_firmware(case.build_dir, case.x_dev, smallest_fitting_profile(case.build_dir),
                        tmp_path)
    out = run_qemu(fw).harness.outputs
    assert out.shape == case.ref.shape
    bad = np.argwhere(out != case.ref)
    assert bad.size == 0, (f"{path.name}: first mismatch at {tuple(bad[0])}: device "
                           f"{out[tuple(bad[0])]}, integer simulator {case.ref[tuple(bad[0])]}")


@pytest.mark.cross
def test_too_many_embedded_inputs_says_so(standin_build, tmp_path):
    require(*ARM)
    from dataclasses import replace

    small = replace(get_profile("nrf52840"), flash_bytes=96 * KIB)  # harness+newlib ~35 KiB
    x = np.zeros((100, 128, 8), dtype=np.uint8)  # 100 KiB of embedded inputs
    with pytest.raises(SnncError, match=r"the embedded test inputs take 102400 B .*--samples"):
        build_firmware(standin_build, x, small, tmp_path)
    assert build_firmware(standin_build, x[:10], small, tmp_path).memory.fits


def _nop_step_build(d, n_nops: int):
    """A stand-in whose step is exactly ``n_nops`` nops + 2 instructions (naked asm)."""
    write_standin(d)
    c = (d / "model.c").read_text()
    c = c.replace("int standin_step(", "int standin_step_unused(")
    c += ("__attribute__((naked)) int standin_step(standin_state_t *s, const snnc_input_t *in,"
          " snnc_output_t *out) {\n"
          f'  __asm volatile(".rept {n_nops}\\n nop\\n .endr\\n movs r0, #0\\n bx lr\\n");\n}}\n')
    (d / "model.c").write_text(c)
    return d


@pytest.mark.cross
def test_instruction_count_is_exact_on_a_hand_counted_step(tmp_path):
    """Two steps of known length (100 vs 350 nops): the counts differ by exactly 250 and
    each is the step's own 102 or 352 instructions plus a small fixed call overhead."""
    require(*ARM, "qemu-system-arm", "cc")
    from snnc.targets.smartwatch.run import run_qemu

    x = np.zeros((2, 3, 8), dtype=np.uint8)
    counts = {}
    for n in (100, 350):
        fw = build_firmware(_nop_step_build(tmp_path / f"n{n}", n), x, "nrf52840",
                            tmp_path / f"fw{n}")
        c = run_qemu(fw).counts.intervals
        assert len(set(c.tolist())) == 1  # every step identical
        counts[n] = int(c[0])
    assert counts[350] - counts[100] == 250
    assert 102 <= counts[100] <= 102 + 8


@pytest.mark.cross
def test_smartwatch_pipeline_ends_with_the_size_check():
    require(*ARM)
    from snnc.compiler.ir import load
    from snnc.compiler.passes.pipeline import CompileOptions, PassContext, run_pipeline
    from snnc.models.testsets import load_test_data
    from snnc.targets.registry import get_target

    assert get_target("smartwatch").pipeline[-1] == "smartwatch_fit"
    g = load(ROOT / "models" / "examples" / "tiny_recurrent.snn")
    msgs: list[str] = []
    ctx = PassContext(options=CompileOptions(target="smartwatch", calib_samples=4),
                      calib=load_test_data(g, 4, steps=10).x, progress=msgs.append)
    run_pipeline(g, ctx)
    fit = [m for m in msgs if m.startswith("smartwatch_fit:")]
    assert fit and re.search(r"flash \d+ B of 1048576, RAM \d+ B of 262144 \(nrf52840\)", fit[0])
    assert ctx.log[-1]["pass"] == "smartwatch_fit" and ctx.log[-1]["skipped"]


@pytest.mark.cross
@pytest.mark.parametrize("n_in,sparsity", [(600, 0.0), (300, 0.95)], ids=["wide", "csc"])
def test_event_kernels_bit_exact_on_emulated_mcu(n_in, sparsity, tmp_path, monkeypatch):
    """The SIMD paths of runtime/include/snnc/kernels.h (SXTB16/SADD16 column adds with
    the int16 -> int32 flush: > 258 active inputs of weight up to 127 in one step; the
    CSC scatter with uint8 rows, no flash for weights as code) against the integer golden
    model, under QEMU."""
    require(*ARM, "qemu-system-arm", "cc")
    from snnc.compiler.codegen import c_fused

    monkeypatch.setattr(c_fused, "CODE_BUDGET", 0)
    from snnc.bench.kernels import layer_graph
    from snnc.compiler.ir.interpret_int import simulate_int
    from snnc.targets.registry import write_build
    from snnc.targets.smartwatch.run import run_qemu

    g = layer_graph(n_in, 40, sparsity, seed=7, shift=30)
    x = (np.random.default_rng(8).random((2, 12, n_in)) < 0.6).astype(np.uint8)
    bd = write_build("smartwatch", g, tmp_path / "b")
    src = (bd / "model.c").read_text()
    assert ("snnc_ev_dense_i8x4_wide" if sparsity == 0 else "snnc_ev_csc_p16_r8") in src
    out = run_qemu(build_firmware(bd, x, get_profile(), tmp_path / "fw"), count=False)
    want = simulate_int(g, x.astype(np.int64)).output.reshape(out.harness.outputs.shape)
    assert np.array_equal(out.harness.outputs, want)
    assert want[:, -1].sum() > 0


@pytest.mark.cross
@pytest.mark.parametrize("precision", ["int8", "int16_s32"])
def test_alif_bit_exact_on_emulated_mcu(precision, tmp_path):
    """ALIF (the registry's op file, runtime/src/alif.c; int16_t and int32_t states) on
    the emulated Cortex-M4 against the integer golden model."""
    require(*ARM, "qemu-system-arm", "cc")
    from snnc.targets.registry import write_build
    from snnc.targets.smartwatch.run import run_qemu

    gq, x, want = alif_case(precision)
    bd = write_build("smartwatch", gq, tmp_path / "b")
    assert "snnc_alif_q" in (bd / "model.c").read_text()
    out = run_qemu(build_firmware(bd, x, get_profile(), tmp_path / "fw"), count=False)
    assert np.array_equal(out.harness.outputs, want.reshape(out.harness.outputs.shape))
    assert want[:, -1].sum() > 0  # neurons fired: not a vacuous comparison
