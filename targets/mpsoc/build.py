"""MPSoC builds: the build directory, the csim testbench, the A53 host program, the TCL check.

A build directory for ``--target mpsoc`` holds the portable C build (``model.h``,
``model.c``: the same contract as every C target) and ``hls/``: the kernel sources from
:mod:`compiler.codegen.hls`, ``run_hls.tcl`` and the resource estimate
(``estimate.json``/``estimate.md``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snnc.compiler.errors import FormatError, SnncError
from snnc.compiler.ir.graph import Graph
from snnc.compiler.ir.serialize import atomic_write
from snnc.targets.common import ModelInterface, read_interface, require_tool
from snnc.targets.mpsoc.profile import Board, get_board

CXX = "g++"
CROSS_CXX = "aarch64-linux-gnu-g++"
CXXFLAGS = ["-std=c++14", "-O2", "-Wall", "-Wextra", "-Wno-unknown-pragmas",
            "-Wno-unused-label"]
VITIS_COMMANDS = ("open_project", "set_top", "add_files", "open_solution", "set_part",
                  "create_clock", "csim_design", "csynth_design", "cosim_design",
                  "export_design")


def emit_build(graph: Graph, out_dir: Path, memory: dict[str, int] | None = None) -> list[str]:
    """The target's emitter: C build + ``hls/`` (kernel, testbench, host, TCL, estimate);
    returns the files written (relative to ``out_dir``), which the manifest lists.

    Board and reuse come from ``metadata["mpsoc"]`` (set by the ``mpsoc_fit`` pass); a
    graph compiled without it gets the default board and the smallest reuse that fits.
    """
    from snnc.compiler.codegen.hls import STATIC_FILES, emit_hls
    from snnc.targets.mpsoc import summary
    from snnc.targets.mpsoc.estimate import check_fit, choose_reuse, estimate
    from snnc.targets.registry import emit_c_build

    meta = graph.metadata.get("mpsoc") or {}
    board = get_board(meta.get("board"))
    est = estimate(graph, board, reuse=int(meta["reuse"])) if meta.get("reuse") else \
        choose_reuse(graph, board)
    check_fit(est)
    model = emit_hls(graph, reuse=est.reuse, part=board.part, clock_ns=board.clock_ns,
                     board=board.name)  # generated before anything is written
    files = emit_c_build(graph, out_dir, memory)
    hls = model.write(Path(out_dir) / "hls")
    atomic_write(hls / "estimate.json",
                 lambda f: f.write(json.dumps(est.to_dict(), indent=1) + "\n"), mode="w")
    atomic_write(hls / "estimate.md", lambda f: f.write(est.to_markdown()), mode="w")
    atomic_write(hls / "build.json", lambda f: f.write(json.dumps(
        {"board": board.name, "part": board.part, "clock_ns": board.clock_ns,
         "reuse": est.reuse, "units": model.units, "estimate": summary(est)}, indent=1) + "\n"),
        mode="w")
    written = [*model.files, *STATIC_FILES, "estimate.json", "estimate.md", "build.json"]
    return files + [f"hls/{f}" for f in written]


def hls_dir(build_dir: str | Path) -> Path:
    """``BUILD/hls``, or FormatError telling how to make one."""
    d = Path(build_dir) / "hls"
    if not (d / "kernel.cpp").exists():
        raise FormatError("no HLS kernel here (compile with `snnc compile MODEL --target "
                          "mpsoc -o DIR`)", Path(build_dir))
    return d


def build_info(build_dir: str | Path) -> dict[str, Any]:
    """``hls/build.json``: board, part, reuse, MAC units and the estimate summary."""
    return json.loads((hls_dir(build_dir) / "build.json").read_text())


@dataclass
class HostBinary:
    """A linked testbench or host program."""

    path: Path
    iface: ModelInterface
    board: Board
    kind: str           # "csim" | "host-sim" (aarch64, HOST_SIM) | "host" (native HOST_SIM)
    file_bytes: int


def _compile(cxx: str, flags: list[str], srcs: list[Path], inc: Path, exe: Path,
             what: str) -> None:
    tmp = exe.with_suffix(".tmp")
    r = subprocess.run([cxx, *flags, f"-I{inc}", *map(str, srcs), "-o", str(tmp)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise SnncError(f"compiling the {what} failed:\n{r.stderr.strip()[-3000:]}")
    tmp.replace(exe)


def build_csim(build_dir: str | Path, out_dir: str | Path | None = None) -> HostBinary:
    """C simulation: ``g++`` builds ``tb.cpp`` + ``kernel.cpp`` for this machine."""
    d = hls_dir(build_dir)
    out = Path(out_dir) if out_dir else d / "csim"
    out.mkdir(parents=True, exist_ok=True)
    exe = out / "tb"
    print(f"snnc: building the csim testbench ({CXX})", file=sys.stderr)
    _compile(require_tool(CXX, "install g++"), CXXFLAGS, [d / "tb.cpp", d / "kernel.cpp"], d,
             exe, "csim testbench")
    return HostBinary(exe, read_interface(build_dir), get_board(build_info(build_dir)["board"]),
                      "csim", exe.stat().st_size)


def build_host(build_dir: str | Path, out_dir: str | Path | None = None,
               cross: bool = True) -> HostBinary:
    """The A53 host program with the kernel linked in software (``-DHOST_SIM``).

    ``cross``: a static aarch64 binary (``aarch64-linux-gnu-g++ -mcpu=cortex-a53``) that
    runs under qemu-aarch64 or on the board's Linux; else built for this machine.
    """
    d = hls_dir(build_dir)
    out = Path(out_dir) if out_dir else d / "host"
    out.mkdir(parents=True, exist_ok=True)
    if cross:
        cxx = require_tool(CROSS_CXX, "install g++-aarch64-linux-gnu (scripts/setup.sh)")
        flags, exe = [*CXXFLAGS, "-mcpu=cortex-a53", "-static", "-DHOST_SIM"], out / "snnc_host"
    else:
        cxx, flags, exe = require_tool(CXX, "install g++"), [*CXXFLAGS, "-DHOST_SIM"], \
            out / "snnc_host_native"
    print(f"snnc: building the A53 host program ({Path(cxx).name}, HOST_SIM)", file=sys.stderr)
    _compile(cxx, flags, [d / "host.cpp", d / "kernel.cpp"], d, exe, "A53 host program")
    return HostBinary(exe, read_interface(build_dir), get_board(build_info(build_dir)["board"]),
                      "host-sim" if cross else "host", exe.stat().st_size)


_TCL_STUBS = "\n".join(
    f"proc {c} {{args}} {{ puts \"SNNC-TCL {c} $args\" }}" for c in VITIS_COMMANDS
) + ("\nif {[info commands exit] ne \"\"} { rename exit snnc_real_exit }\n"
     "proc exit {args} { puts \"SNNC-TCL exit\" }\n")


def check_tcl(build_dir: str | Path, steps: tuple[str, ...] = ()) -> list[list[str]]:
    """Run ``hls/run_hls.tcl`` in a plain Tcl interpreter with the Vitis HLS commands
    stubbed: checks its syntax and returns the Vitis commands it issues, in order
    (``steps``: the script's ``-tclargs``). Uses ``tclsh`` (Debian package ``tcl``),
    else Python's tkinter Tcl; ToolMissing if neither exists."""
    script = hls_dir(build_dir) / "run_hls.tcl"
    argv = " ".join(steps)
    prog = (_TCL_STUBS + f"set argv {{{argv}}}\nset argc {len(steps)}\n"
            f"cd {{{script.parent}}}\nsource {{{script.name}}}\n")
    tclsh = shutil.which("tclsh")
    if tclsh:
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".tcl", prefix="snnc-check-",
                                         delete=False) as f:
            f.write(prog + "snnc_real_exit 0\n")
        try:  # a script file (not stdin): any Tcl error aborts with a non-zero exit
            r = subprocess.run([tclsh, f.name], capture_output=True, text=True)
        finally:
            Path(f.name).unlink(missing_ok=True)
        if r.returncode != 0:
            raise SnncError(f"{script}: Tcl error: {r.stderr.strip()[-1000:]}")
        out = r.stdout
    else:
        try:
            import tkinter
        except ImportError:
            from snnc.targets.common import ToolMissing

            raise ToolMissing("'tclsh' not found on PATH (install tcl)") from None
        import io
        from contextlib import redirect_stdout

        interp = tkinter.Tcl()
        lines: list[str] = []
        interp.createcommand("snnc_puts", lambda *a: lines.append(" ".join(a)))
        try:
            with redirect_stdout(io.StringIO()):
                interp.eval("rename puts snnc_real_puts\nproc puts {args} "
                            "{ snnc_puts [lindex $args end] }\n" + prog)
        except tkinter.TclError as e:
            raise SnncError(f"{script}: Tcl error: {e}") from None
        out = "\n".join(lines)
    return [line.split()[1:] for line in out.splitlines() if line.startswith("SNNC-TCL ")]
