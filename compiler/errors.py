"""Errors users see: one line that names the file, node or option at fault.

Everything raised on purpose by snnc derives from :class:`SnncError`; the CLI prints
``snnc: error: <message>`` and exits non-zero for these, and never shows a traceback.
"""

from __future__ import annotations


class SnncError(Exception):
    """Base class for user-facing errors (bad input, unsupported feature, tool failure)."""


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
