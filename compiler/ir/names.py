"""What a node or graph name may be: the one definition, enforced on load, NIR import
(through ``verify``) and ``verify``.

Names travel into generated C, file names, log lines and error messages, and model files
are untrusted (docs/security.md), so they are restricted to a small portable alphabet:

- node name: 1-128 characters from ``A-Z a-z 0-9 _ . : -``, not starting with ``-`` or
  ``.`` (so a name is never read as an option or a hidden/relative path component);
- graph name: the same alphabet plus ``+`` and inner spaces (file stems such as
  ``"my model"``), 1-128 characters, not starting with ``-``, ``.`` or a space and not
  ending with a space.

Anything else (quotes, ``*/``, ``#``, newlines, control or bidi characters such as
U+202E, non-ASCII letters) is refused with a one-line error that shows the name escaped.
"""

from __future__ import annotations

import re

from snnc.compiler.errors import GraphError

MAX_NAME_LEN = 128

NODE_NAME = re.compile(r"[A-Za-z0-9_:][A-Za-z0-9_.:\-]{0,127}")
GRAPH_NAME = re.compile(r"[A-Za-z0-9_:+]([A-Za-z0-9_.:+ \-]{0,126}[A-Za-z0-9_.:+\-])?")


def shown(name: object, limit: int = 60) -> str:
    """``name`` quoted for an error message: ASCII only (``ascii()`` escapes newlines,
    control and bidi characters), cut to ``limit`` characters."""
    s = ascii(name) if isinstance(name, str) else f"<{type(name).__name__}>"
    return s if len(s) <= limit else s[:limit] + "...'"


def node_name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid node name, or None if it is."""
    if not isinstance(name, str):
        return f"node names are strings, got {type(name).__name__}"
    if len(name) > MAX_NAME_LEN:
        return f"node name {shown(name)} is longer than {MAX_NAME_LEN} characters"
    if not NODE_NAME.fullmatch(name):
        return (f"node name {shown(name)} is not allowed (use 1-{MAX_NAME_LEN} of "
                "A-Z a-z 0-9 _ . : -, not starting with '-' or '.')")
    return None


def graph_name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid graph name, or None if it is."""
    if not isinstance(name, str):
        return f"the graph name is a string, got {type(name).__name__}"
    if len(name) > MAX_NAME_LEN:
        return f"graph name {shown(name)} is longer than {MAX_NAME_LEN} characters"
    if not GRAPH_NAME.fullmatch(name):
        return (f"graph name {shown(name)} is not allowed (use 1-{MAX_NAME_LEN} of "
                "A-Z a-z 0-9 _ . : + - and inner spaces)")
    return None


def check_node_name(name: object) -> str:
    """``name`` if it is a valid node name, else :class:`GraphError` saying why."""
    problem = node_name_problem(name)
    if problem:
        raise GraphError(problem)
    return name  # type: ignore[return-value]


def check_graph_name(name: object) -> str:
    """``name`` if it is a valid graph name, else :class:`GraphError` saying why."""
    problem = graph_name_problem(name)
    if problem:
        raise GraphError(problem)
    return name  # type: ignore[return-value]


def safe_graph_name(text: str, default: str = "model") -> str:
    """A valid graph name derived from arbitrary text (e.g. a file stem): characters
    outside the alphabet become ``_``, leading/trailing junk is dropped."""
    s = re.sub(r"[^A-Za-z0-9_.:+ \-]", "_", str(text))[:MAX_NAME_LEN].strip(" ")
    s = s.lstrip("-.").strip(" ")
    return s if GRAPH_NAME.fullmatch(s) else default
