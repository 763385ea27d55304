"""Cross-build the Raspberry Pi harness: aarch64-linux-gnu-gcc -O2 -static (NEON).

A static binary runs unchanged on any aarch64 Linux (Raspberry Pi OS 64-bit, Ubuntu) and
under ``qemu-aarch64`` user mode, so the same file is emulated here and copied to a board.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from snnc.compiler.errors import SnncError
from snnc.targets.common import (
    RUNTIME_DIR,
    ModelInterface,
    cached_objects,
    read_interface,
    require_tool,
    runtime_sources,
)
from snnc.targets.rpi.profile import RpiProfile, get_profile

HERE = Path(__file__).resolve().parent
CC = "aarch64-linux-gnu-gcc"
NM = "aarch64-linux-gnu-nm"
TOOL_HINT = "install gcc-aarch64-linux-gnu (scripts/setup.sh)"


@dataclass
class Binary:
    """A linked aarch64 harness binary."""

    path: Path
    profile: RpiProfile
    iface: ModelInterface
    file_bytes: int


def build_binary(build_dir: str | Path, profile: RpiProfile | str | None = None,
                 out_dir: str | Path | None = None, host: bool = False) -> Binary:
    """Compile model.c + runtime + harness into ``OUT/snnc_harness`` (default BUILD/rpi).

    ``host``: build the same harness for this machine instead (host C compiler, no
    ``-mcpu``), e.g. to exercise the SSH path against a local sshd.
    """
    prof = profile if isinstance(profile, RpiProfile) else get_profile(profile)
    build_dir = Path(build_dir)
    iface = read_interface(build_dir)
    out = Path(out_dir) if out_dir else build_dir / "rpi"
    out.mkdir(parents=True, exist_ok=True)
    if host:
        cc, flags, exe = require_tool(os.environ.get("CC") or "cc"), [prof.opt], out / "snnc_harness_host"
    else:
        cc, flags, exe = require_tool(CC, TOOL_HINT), [*prof.cflags(), "-static"], out / "snnc_harness"
    tmp = exe.with_suffix(".tmp")
    print(f"snnc: building {'host' if host else prof.cpu} harness for '{iface.name}'",
          file=sys.stderr)
    cflags = [*[f for f in flags if f != "-static"], "-std=c99", "-Wall", "-Wextra",
              f"-I{RUNTIME_DIR / 'include'}"]
    objs = cached_objects(cc, cflags, runtime_sources())  # disk cache, misses in parallel
    # --kernels tvm: wrappers + FFI shim (C) and TVM's object for this ISA.
    from snnc.compiler.codegen.tvm_kernels import host_isa, link_inputs

    tvm_src, tvm_obj, tvm_inc = link_inputs(build_dir, host_isa() if host else "aarch64")
    cmd = [cc, *cflags, f"-I{build_dir}", *[f"-I{d}" for d in tvm_inc], str(HERE / "harness.c"),
           str(build_dir / "model.c"), *map(str, tvm_src), *map(str, objs), *map(str, tvm_obj),
           *(["-static"] if "-static" in flags else []), "-lm", "-o", str(tmp)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SnncError(f"compiling the {'host' if host else prof.cpu} harness failed:\n"
                        f"{r.stderr.strip()[-3000:]}")
    tmp.replace(exe)
    return Binary(path=exe, profile=prof, iface=iface, file_bytes=exe.stat().st_size)
