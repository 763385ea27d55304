"""Errors users see: one line that names the file, node or option at fault.

Everything raised on purpose by snnc derives from :class:`SnncError`; the CLI prints
``snnc: error: <message>`` and exits non-zero for these, and never shows a traceback.
Messages often quote untrusted text (a node name, a path, a device string), so every
message is made one printable line here: newlines, control, bidi and other invisible
characters are shown escaped (``\\n``, ``\\u202e``), never emitted raw to a terminal.
"""

from __future__ import annotations

import unicodedata

# Unicode categories never printed raw: controls, format (bidi overrides, zero-width),
# line/paragraph separators, surrogates, private use and unassigned code points.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
MAX_MESSAGE = 2000


def one_line(text: object) -> str:
    """``text`` as one line of printable characters (hidden ones escaped), at most
    :data:`MAX_MESSAGE` characters."""
    out = []
    for ch in str(text):
        if ch == "\n":
            out.append("\\n")
        elif ch in "\r\t" or unicodedata.category(ch) in _HIDDEN:
            o = ord(ch)
            out.append(f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000
                       else f"\\U{o:08x}")
        else:
            out.append(ch)
    s = "".join(out)
    return s if len(s) <= MAX_MESSAGE else s[:MAX_MESSAGE] + "..."


class SnncError(Exception):
    """Base class for user-facing errors (bad input, unsupported feature, tool failure)."""

    def __init__(self, *args: object) -> None:
        if len(args) == 1:
            args = (one_line(args[0]),)
        super().__init__(*args)


class GraphError(SnncError):
    """The graph is malformed; ``node`` names the node at fault (if one is)."""

    def __init__(self, message: str, node: str | None = None) -> None:
        self.node = node
        super().__init__(f"node '{node}': {message}" if node else message)


class FormatError(SnncError):
    """A file could not be read: truncated, corrupt, wrong version or wrong kind."""

    def __init__(self, message: str, path: object | None = None) -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path is not None else message)


class UnsupportedError(SnncError):
    """A valid model uses something this frontend/backend cannot express."""
