"""The one place where model text (node/graph names, metadata) becomes C, C++ or Tcl.

Model files are untrusted (docs/security.md). Names are restricted on load and in
``verify`` (:mod:`snnc.compiler.ir.names`), but the emitters never rely on that alone:
every name that becomes an identifier goes through :func:`c_idents`/:func:`c_ident`,
and every piece of model text placed in a comment or string goes through
:func:`c_comment`, :func:`c_string` or :func:`tcl_string`. Each returns printable ASCII
only, so nothing can end a comment (``*/``), start a line (newline, ``#``), splice lines
(``\\`` + newline, the ``??/`` trigraph), hide text (bidi controls such as U+202E) or,
in Tcl, substitute a command (``[...]``, ``$``).
"""

from __future__ import annotations

from typing import Iterable

from snnc.compiler.codegen import cgen


def _escape_char(ch: str) -> str:
    """``\\uXXXX``/``\\UXXXXXXXX`` spelling of a character we do not emit raw."""
    o = ord(ch)
    return f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}"


def c_comment(text: object) -> str:
    """``text`` made safe for the inside of a C/C++ ``/* ... */`` or ``//`` comment and a
    Tcl ``#`` comment: one line of printable ASCII.

    Control, non-ASCII and bidi characters become ``\\uXXXX``; a backslash is doubled (no
    line splice, no Tcl continuation); ``*/`` and ``/*`` are broken up (``*\\/``,
    ``/\\*``); ``??`` becomes ``?\\?`` so no trigraph can form.
    """
    out: list[str] = []
    for ch in str(text):
        if ch == "\\":
            out.append("\\\\")
        elif 32 <= ord(ch) < 127:
            if ch == "/" and out and out[-1] == "*":
                out.append("\\/")
            elif ch == "*" and out and out[-1] == "/":
                out.append("\\*")
            elif ch == "?" and out and out[-1] == "?":
                out.append("\\?")
            else:
                out.append(ch)
        else:
            out.append(_escape_char(ch))
    return "".join(out)


def c_string(text: object) -> str:
    """The body of a C/C++ string literal spelling ``text`` exactly (UTF-8 bytes), also
    harmless where the same text is shown inside a comment.

    Printable ASCII stays except ``"``, ``\\`` and ``?`` (escaped: no trigraph), and ``/``
    or ``*`` next to each other (octal, so no ``*/`` or ``/*`` appears); everything else
    is written byte by byte as a 3-digit octal escape (which, unlike ``\\x``, cannot
    swallow a following digit).
    """
    out: list[str] = []
    s = str(text)
    for k, ch in enumerate(s):
        if ch in '"\\?':
            out.append("\\" + ch)
        elif ch in "*/" and ((k > 0 and s[k - 1] in "*/") or (k + 1 < len(s) and s[k + 1] in "*/")):
            out.append(f"\\{ord(ch):03o}")
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


def tcl_string(text: object) -> str:
    """The body of a Tcl double-quoted word spelling ``text``, with no substitution
    (``$``, ``[``, ``]``, ``\\``, ``"``, braces and ``;`` escaped), printable ASCII only;
    also safe inside a Tcl ``#`` comment line."""
    out: list[str] = []
    for ch in str(text):
        if ch in '$[]\\"{};':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append(_escape_char(ch))
    return "".join(out)


def c_ident(name: object) -> str:
    """A valid, non-reserved C identifier fragment derived from ``name`` (``'fc.1'`` ->
    ``'fc_1'``); SnncError if none can be made."""
    return cgen.identifier(cgen.mangle(str(name)))


def c_idents(names: Iterable[str]) -> dict[str, str]:
    """Distinct C identifier fragments for node names, deterministically (collisions after
    mangling get ``_2``, ``_3``...). Every result is checked to be a plain identifier."""
    ids = cgen.unique_names(names)
    for v in ids.values():
        cgen.identifier(v)
    return ids
