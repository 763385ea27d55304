"""The object disk cache (targets.common.cached_object): hits across processes and build
directories, misses whenever an input the object depends on changes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from snnc.targets import common

CC = shutil.which("cc") or shutil.which("gcc")
pytestmark = pytest.mark.skipif(CC is None, reason="no host C compiler")


def _fresh_process(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """Forget the per-process cache, as a new process would."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    monkeypatch.setattr(common, "_OBJ_CACHE", {})


def _build(d: Path, value: int) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "model.h").write_text(f"#define VALUE {value}\n")
    (d / "model.c").write_text('#include "model.h"\nint value(void) { return VALUE; }\n')
    return d


def test_disk_cache_hits_across_build_dirs_and_misses_on_header_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    a = _build(tmp_path / "a", 1)
    _fresh_process(monkeypatch, cache)
    o1 = common.cached_object(CC, ["-O1", f"-I{a}"], a / "model.c")
    assert o1.is_relative_to(cache)  # stored in the disk cache, not the temp folder

    # Same sources in another (random) build directory, new process: the same object.
    b = _build(tmp_path / "b", 1)
    _fresh_process(monkeypatch, cache)
    calls: list[list[str]] = []
    import subprocess

    orig = subprocess.run

    def spy(cmd, *args, **kw):  # type: ignore[no-untyped-def]
        if "-c" in cmd:
            calls.append(cmd)
        return orig(cmd, *args, **kw)

    monkeypatch.setattr(subprocess, "run", spy)
    assert common.cached_object(CC, ["-O1", f"-I{b}"], b / "model.c") == o1
    assert calls == []  # nothing compiled

    # model.h changes (not a declared dep, found through -I): recompiled, new object.
    (b / "model.h").write_text("#define VALUE 2\n")
    _fresh_process(monkeypatch, cache)
    o2 = common.cached_object(CC, ["-O1", f"-I{b}"], b / "model.c")
    assert o2 != o1 and len(calls) == 1
    assert o1.read_bytes() != o2.read_bytes()

    # Other flags: another object.
    _fresh_process(monkeypatch, cache)
    assert common.cached_object(CC, ["-O2", f"-I{b}"], b / "model.c") not in (o1, o2)
    assert len(calls) == 2


def test_cached_objects_keeps_order_and_reports_errors(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fresh_process(monkeypatch, tmp_path / "cache")
    srcs = []
    for i in range(3):
        p = tmp_path / f"s{i}.c"
        p.write_text(f"int f{i}(void) {{ return {i}; }}\n")
        srcs.append(p)
    objs = common.cached_objects(CC, ["-O1"], srcs)
    assert [o.name.split("-")[0] for o in objs] == ["s0", "s1", "s2"]
    bad = tmp_path / "bad.c"
    bad.write_text("int f(void) { return ; }\n")
    with pytest.raises(common.SnncError, match="compiling bad.c failed"):
        common.cached_objects(CC, ["-O1", "-Werror"], [*srcs, bad])


def test_unhashed_include_folder_bypasses_disk_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Headers in a foreign -I folder are not part of the key, so such objects must not be
    # shared across processes (a changed header there would go unnoticed).
    cache = tmp_path / "cache"
    a = _build(tmp_path / "a", 1)
    (tmp_path / "inc").mkdir()
    _fresh_process(monkeypatch, cache)
    o = common.cached_object(CC, ["-O1", f"-I{a}", f"-I{tmp_path / 'inc'}"], a / "model.c")
    assert o.exists() and not o.is_relative_to(cache)


READELF = shutil.which("readelf")


def _runtime_definitions() -> list[tuple[Path, set[str]]]:
    """Each runtime source and the global symbols its compiled object defines, read with
    readelf (the independent reference for what a source provides)."""
    import subprocess

    flags = ["-O2", "-std=c99", f"-I{common.RUNTIME_DIR / 'include'}"]
    srcs = common.runtime_sources()
    out = []
    for src, obj in zip(srcs, common.cached_objects(CC, flags, srcs)):
        sym = subprocess.run([READELF, "-sW", str(obj)], capture_output=True, text=True,
                             check=True).stdout
        out.append((src, {p[7] for p in (ln.split() for ln in sym.splitlines())
                          if len(p) == 8 and p[6] != "UND" and p[4] == "GLOBAL"}))
    return out


@pytest.mark.skipif(READELF is None, reason="no readelf")
def test_every_runtime_definition_is_spelled_in_its_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # needed_runtime_objects picks a source when it spells an undefined symbol; that is
    # only safe if every global symbol a runtime object defines (read from the compiled
    # object, the independent reference) appears by name in its source.
    _fresh_process(monkeypatch, tmp_path / "cache")
    for src, defined in _runtime_definitions():
        assert defined, f"{src.name} defines nothing?"
        assert defined <= common._identifiers(src), src.name


@pytest.mark.skipif(READELF is None, reason="no readelf")
def test_needed_runtime_objects_are_the_referenced_sources(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A model calling one encoder and one readout function needs exactly encoder.c and
    # readout.c (hand-checked in runtime/src), and links with nothing else.
    import subprocess

    _fresh_process(monkeypatch, tmp_path / "cache")
    inc = common.RUNTIME_DIR / "include"
    flags = ["-O2", "-std=c99", f"-I{inc}"]
    m = tmp_path / "main.c"
    m.write_text('#include "snnc/encoder.h"\n#include "snnc/readout.h"\n'
                 "int main(void) { int32_t y[2] = {1, 3}, z = 0; float s = 0.5f, x = 1.0f;\n"
                 "  int16_t q = 0;\n"
                 "  if (snnc_encode_f32(1, &s, 0, &z, 0, -128, 127, &x, &q) || q != 2)\n"
                 "    return 2;\n"
                 "  return (int)snnc_argmax_i32(y, 2) - 1; }\n")
    mo = common.cached_object(CC, flags, m)
    objs = common.needed_runtime_objects(CC, READELF, flags, [mo])
    assert [o.name.split("-")[0] for o in objs] == ["encoder", "readout"]
    exe = tmp_path / "a.out"
    subprocess.run([CC, str(mo), *map(str, objs), "-lm", "-o", str(exe)], check=True)
    assert subprocess.run([str(exe)]).returncode == 0
    # Nothing referenced: nothing compiled.
    empty = tmp_path / "e.c"
    empty.write_text("int main(void) { return 0; }\n")
    assert common.needed_runtime_objects(CC, READELF, flags,
                                         [common.cached_object(CC, flags, empty)]) == []


@pytest.mark.skipif(READELF is None, reason="no readelf")
def test_likely_runtime_sources_guess_only_real_definitions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The guess compiled beside model.c: every name it takes for a definition is a global
    # symbol the compiled object defines (readelf, the independent reference), and a file
    # calling one encoder and one readout function guesses exactly their two sources.
    _fresh_process(monkeypatch, tmp_path / "cache")
    for src, defined in _runtime_definitions():
        assert set(common._DEFINITION.findall(src.read_text())) <= defined, src.name
    m = tmp_path / "model.c"
    m.write_text('#include "snnc/encoder.h"\n#include "snnc/readout.h"\n'
                 "int f(float *x, int16_t *q, int32_t *y) {\n"
                 "  static const float s = 0.5f; static const int32_t z = 0;\n"
                 "  snnc_encode_f32(1, &s, 0, &z, 0, -128, 127, x, q);\n"
                 "  return (int)snnc_argmax_i32(y, 2); }\n")
    assert [s.name for s in common.likely_runtime_sources([m])] == ["encoder.c", "readout.c"]
    empty = tmp_path / "e.c"
    empty.write_text("int main(void) { return 0; }\n")
    assert common.likely_runtime_sources([empty]) == []


def test_compiler_id_is_remembered_until_the_binary_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stand-in compiler that counts how often it is asked for its version.
    calls = tmp_path / "calls"
    cc = tmp_path / "fakecc"
    cc.write_text(f"#!/bin/sh\necho x >> {calls}\necho 'fakecc 1.0'\n")
    cc.chmod(0o755)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def ident() -> str:
        monkeypatch.setattr(common, "_CC_ID", {})  # a new process
        return common._cc_id(str(cc))

    first = ident()
    assert "fakecc 1.0" in first and calls.read_text().count("x") == 1
    assert ident() == first and calls.read_text().count("x") == 1  # remembered on disk
    cc.write_text(f"#!/bin/sh\necho x >> {calls}\necho 'fakecc 2.0 (upgraded)'\n")
    assert "fakecc 2.0" in ident() and calls.read_text().count("x") == 2  # asked again
