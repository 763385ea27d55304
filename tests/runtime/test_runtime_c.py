"""The C runtime: its unit tests (plain and under ASan + UBSan), its contract (no heap, no
stdio, no mutable globals or function-level statics), and builds for the device targets."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RT = ROOT / "runtime"
SOURCES = sorted((RT / "src").glob("*.c"))
TESTS = sorted((RT / "tests").glob("test_*.c"))
STRICT = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"]
M4 = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
ENV = {**os.environ, "LC_ALL": "C"}

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")


def _cc(cmd: list[str], cwd: Path | None = None) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=cwd)
    assert r.returncode == 0, f"$ {' '.join(cmd)}\n{r.stderr}"


SAN = ["-g", "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]


@pytest.fixture(scope="module")
def runtime_asan_objs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The runtime compiled once with ASan + UBSan (objects shared by the unit tests)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    d = tmp_path_factory.mktemp("rt_asan")
    _cc(["gcc", *STRICT, *SAN, f"-I{RT / 'include'}", "-c", *map(str, SOURCES)], cwd=d)
    return sorted(d.glob("*.o"))


@pytest.mark.parametrize("test", TESTS, ids=lambda p: p.stem)
def test_runtime_unit_tests_asan_ubsan(test: Path, runtime_asan_objs: list[Path],
                                       tmp_path: Path) -> None:
    exe = tmp_path / test.stem
    _cc(["gcc", *STRICT, *SAN, f"-I{RT / 'include'}", f"-I{RT / 'tests'}", str(test),
         *map(str, runtime_asan_objs), "-o", str(exe)])
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert " 0 failures" in r.stdout and "checks" in r.stdout, r.stdout
    assert "runtime error" not in r.stderr, r.stderr  # UBSan reports


def symbols(obj: Path, nm: str = "nm") -> list[tuple[str, str]]:
    """(type, name) of every symbol nm lists for an object file."""
    out = subprocess.run([nm, str(obj)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2:
            rows.append((parts[-2], parts[-1]))
    return rows


@needs_gcc
def test_runtime_uses_no_heap_no_stdio_no_mutable_globals(tmp_path: Path) -> None:
    """Every undefined symbol is at most a compiler-emitted mem* call; no .data/.bss
    symbols exist, so there are no mutable globals and no function-level statics."""
    for src in SOURCES:
        obj = tmp_path / (src.stem + ".o")
        _cc(["gcc", *STRICT, "-O2", f"-I{RT / 'include'}", "-c", str(src), "-o", str(obj)])
        syms = symbols(obj)
        undefined = {n for t, n in syms if t == "U"}
        assert undefined <= {"memset", "memcpy", "memmove"}, (src.name, undefined)
        writable = [(t, n) for t, n in syms if t in "bBdDcC"]
        assert not writable, (src.name, writable)


@pytest.mark.cross
def test_runtime_compiles_for_cortex_m4f(tmp_path: Path) -> None:
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    for src in SOURCES:
        _cc(["arm-none-eabi-gcc", *STRICT, "-O2", *M4, f"-I{RT / 'include'}", "-c", str(src),
             "-o", str(tmp_path / (src.stem + ".o"))])


@needs_gcc
def test_cmake_builds_runtime_and_ctest_passes(tmp_path: Path) -> None:
    """The top-level CMakeLists.txt (plain -O build; the tests above cover sanitizers)."""
    if shutil.which("cmake") is None or shutil.which("ctest") is None:
        pytest.skip("cmake not installed")
    b = tmp_path / "b"
    _cc(["cmake", "-S", str(ROOT), "-B", str(b), "-DCMAKE_BUILD_TYPE=Release"])
    _cc(["cmake", "--build", str(b), "-j", "2"])
    r = subprocess.run(["ctest", "--test-dir", str(b), "--output-on-failure"],
                       capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"0 tests failed out of {len(TESTS)}" in r.stdout, r.stdout


@pytest.mark.cross
@pytest.mark.parametrize("toolchain,prefix,arch", [
    ("arm-none-eabi.cmake", "arm-none-eabi", "armv7e-m"),
    ("aarch64-linux-gnu.cmake", "aarch64-linux-gnu", "aarch64")])
def test_cmake_cross_toolchains_build_runtime(toolchain: str, prefix: str, arch: str,
                                              tmp_path: Path) -> None:
    if shutil.which("cmake") is None or shutil.which(f"{prefix}-gcc") is None:
        pytest.skip(f"cmake or {prefix}-gcc not installed")
    b = tmp_path / "b"
    _cc(["cmake", "-S", str(ROOT), "-B", str(b),
         f"-DCMAKE_TOOLCHAIN_FILE={ROOT / 'cmake' / toolchain}"])
    _cc(["cmake", "--build", str(b), "--target", "snnc_runtime"])
    lib = b / "libsnnc_runtime.a"
    info = subprocess.run([f"{prefix}-objdump", "-f", str(lib)], capture_output=True,
                          text=True, check=True).stdout
    assert f"architecture: {arch}" in info, info
