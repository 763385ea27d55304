"""No model text reaches generated C/C++/Tcl unescaped (issue 14).

Two layers are tested independently: the name policy refuses hostile names on load and
in verify, and, with that policy bypassed, the emitters still produce code in which the
hostile text is inert. The reference for "inert" is the compiler itself: gcc builds the
file with trigraphs on and the injected function never becomes a symbol; and gcc reading
the escaped string literal gives back exactly the original UTF-8 bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from snnc.compiler.codegen import c as c_emitter
from snnc.compiler.codegen import cnames, hls
from snnc.compiler.codegen.c import runtime_dir
from snnc.compiler.errors import GraphError
from snnc.compiler.ir import LIF, Graph, Input, Linear, Output, SpikeCountArgmax, save, verify
from snnc.compiler.passes.quantize import quantize

GCC = shutil.which("gcc")
ENV = {**os.environ, "LC_ALL": "C"}

# Each tries to end a comment or string, start a preprocessor line, splice lines, hide
# text (bidi), or run a Tcl command.
HOSTILE = [
    "a */ int evil(void) { return 1; } /* b",
    "x\n#include </etc/passwd>\nint evil;",
    "q\" ; int evil; char *s = \"",
    "tri??/\nint evil;",
    "back\\\nint evil;",
    "bidi\u202e/* evil */\u202c",
    "nul\x00byte",
    "tcl [exec rm -rf /] $env(HOME) {x}",
    "line\u2028sep",
    "é漢字🙂",
    "// evil\nint evil;",
    "*/ #define SNNC_OK 1 /*",
]


def _graph(names: list[str], graph_name: str) -> Graph:
    """input -> fc -> lif -> readout -> output with the given five node names."""
    i, fc, lif, ro, out = names
    rng = np.random.default_rng(0)
    return Graph(nodes={i: Input((3,)), fc: Linear(rng.normal(0, 1, (4, 3))),
                        lif: LIF((4,), tau=np.array(5e-3), v_threshold=np.array(0.3)),
                        ro: SpikeCountArgmax((4,)), out: Output((4,))},
                 edges=[(i, fc), (fc, lif), (lif, ro), (ro, out)], name=graph_name)


def _printable_ascii(text: str) -> bool:
    return all(ch == "\n" or 32 <= ord(ch) < 127 for ch in text)


@pytest.mark.parametrize("bad", HOSTILE)
def test_verify_refuses_hostile_names(bad: str, tmp_path: Path) -> None:
    g = _graph([bad, "fc", "lif", "ro", "out"], "ok")
    with pytest.raises(GraphError) as e:
        verify(g)
    assert "\n" not in str(e.value) and _printable_ascii(str(e.value))
    with pytest.raises(GraphError):
        verify(_graph(["in", "fc", "lif", "ro", "out"], bad))


def test_policy_bypassed_c_output_is_inert(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    """Every hostile string as node names, graph name and in one edge: the C is printable
    ASCII, builds strict with trigraphs, and defines no symbol the names tried to add."""
    monkeypatch.setattr(c_emitter, "verify", lambda g: g)  # the policy is bypassed
    for k in range(0, len(HOSTILE), 5):
        names = (HOSTILE[k:k + 5] + HOSTILE[:5])[:5]
        names = [f"{n}#{j}" for j, n in enumerate(names)]  # distinct
        g = _graph(names, HOSTILE[(k + 2) % len(HOSTILE)])
        m = c_emitter.emit_c(g)
        for text in (m.header, m.source):
            assert _printable_ascii(text)
            assert "\u202e" not in text
        if GCC is None:
            continue
        d = tmp_path / f"m{k}"
        d.mkdir()
        m.write(d)
        obj = d / "model.o"
        r = subprocess.run([GCC, "-std=c99", "-trigraphs", "-pedantic", "-Wall", "-Werror",
                            "-Wno-trigraphs", f"-I{runtime_dir() / 'include'}", f"-I{d}",
                            "-c", str(d / "model.c"), "-o", str(obj)],
                           capture_output=True, text=True, env=ENV)
        assert r.returncode == 0, r.stderr
        nm = subprocess.run(["nm", str(obj)], capture_output=True, text=True).stdout
        syms = {line.split()[-1] for line in nm.splitlines() if line.split()}
        assert "evil" not in syms and "SNNC_OK" not in syms  # mangled fragments are fine


@pytest.mark.skipif(GCC is None, reason="gcc not installed")
@pytest.mark.parametrize("text", HOSTILE + ["", "??=??(??)??<", "*/*/", "\\"])
def test_c_string_reads_back_exactly_under_gcc(text: str, tmp_path: Path) -> None:
    """gcc (trigraphs on) decodes cnames.c_string(text) to text's exact UTF-8 bytes."""
    src = tmp_path / "s.c"
    src.write_text('#include <stdio.h>\nstatic const char s[] = "' + cnames.c_string(text)
                   + '";\n/* ' + cnames.c_string(text) + " */\n"
                   "int main(void) { fwrite(s, 1, sizeof s - 1, stdout); return 0; }\n")
    exe = tmp_path / "s"
    r = subprocess.run([GCC, "-std=c99", "-trigraphs", "-Wall", "-Werror", "-Wno-trigraphs",
                        str(src), "-o", str(exe)], capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    out = subprocess.run([str(exe)], capture_output=True).stdout
    assert out == text.encode("utf-8")


@pytest.mark.parametrize("text", HOSTILE)
def test_comment_and_tcl_escapes_stay_one_inert_line(text: str) -> None:
    c = cnames.c_comment(text)
    assert _printable_ascii(c) and "\n" not in c
    assert "*/" not in c and "/*" not in c and "??" not in c.replace("?\\?", "")
    t = cnames.tcl_string(text)
    assert _printable_ascii(t) and "\n" not in t
    # every Tcl-special character is escaped
    for k, ch in enumerate(t):
        if ch in "$[]{}\";":
            assert t[k - 1] == "\\"


def test_policy_bypassed_hls_output_is_inert(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    g0 = _graph(["in", "fc", "lif", "ro", "out"], "ok")
    gq = quantize(verify(g0), rng.normal(0, 1, (4, 6, 3)))
    ren = {"in": HOSTILE[0], "fc": HOSTILE[2], "lif": HOSTILE[5], "ro": HOSTILE[7]}
    nodes = {ren.get(k, k): v for k, v in gq.nodes.items()}
    edges = [(ren.get(a, a), ren.get(b, b)) for a, b in gq.edges]
    bad = gq.replace(nodes=nodes, edges=edges, name=HOSTILE[7])
    monkeypatch.setattr(hls, "verify", lambda g: g)
    m = hls.emit_hls(bad)
    for name, text in m.files.items():
        assert _printable_ascii(text), name
    tcl = m.files["run_hls.tcl"]
    assert "\\[exec rm -rf /\\]" in tcl and not re.search(r"(?<!\\)[\[$]", tcl.split(
        "set steps")[0])  # the header (where the name appears) has no live [ or $
    desc = next(line for line in tcl.splitlines() if "-description" in line)
    assert not re.search(r"(?<!\\)[\[$]", desc.split("-description", 1)[1])


def test_load_refuses_hostile_names(tmp_path: Path) -> None:
    """A file carrying a hostile node name (saved without verify) does not load."""
    g = _graph([HOSTILE[0], "fc", "lif", "ro", "out"], "ok")
    save(g, tmp_path / "bad.snn")
    from snnc.compiler.errors import FormatError
    from snnc.compiler.ir import load

    with pytest.raises(FormatError, match="not allowed") as e:
        load(tmp_path / "bad.snn")
    assert "\n" not in str(e.value)


def test_policy_bypassed_quantized_c_output_is_inert(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    """The integer emitter path (tables, accumulators, layout comments) as well."""
    rng = np.random.default_rng(0)
    gq = quantize(verify(_graph(["in", "fc", "lif", "ro", "out"], "ok")),
                  rng.normal(0, 1, (4, 6, 3)))
    ren = {"in": HOSTILE[3], "fc": HOSTILE[0], "lif": HOSTILE[1], "ro": HOSTILE[5]}
    bad = gq.replace(nodes={ren.get(k, k): v for k, v in gq.nodes.items()},
                     edges=[(ren.get(a, a), ren.get(b, b)) for a, b in gq.edges],
                     name=HOSTILE[2])
    monkeypatch.setattr(c_emitter, "verify", lambda g: g)
    m = c_emitter.emit_c(bad)
    for text in (m.header, m.source):
        assert _printable_ascii(text)
    if GCC is None:
        return
    m.write(tmp_path)
    obj = tmp_path / "model.o"
    r = subprocess.run([GCC, "-std=c99", "-trigraphs", "-pedantic", "-Wall", "-Werror",
                        "-Wno-trigraphs", f"-I{runtime_dir() / 'include'}", f"-I{tmp_path}",
                        "-c", str(tmp_path / "model.c"), "-o", str(obj)],
                       capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    nm = subprocess.run(["nm", str(obj)], capture_output=True, text=True).stdout
    assert "evil" not in {line.split()[-1] for line in nm.splitlines() if line.split()}
