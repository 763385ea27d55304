"""Shared fixtures: the repo root, the venv's snnc CLI, small hand-built graphs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def snnc_cmd() -> list[str]:
    """Command prefix that runs the installed snnc CLI (falls back to `python cli.py`)."""
    exe = Path(sys.executable).parent / "snnc"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("snnc")
    return [found] if found else [sys.executable, str(ROOT / "cli.py")]


@pytest.fixture
def tiny_graph():
    """The bundled 4->8(recurrent)->3 LIF example graph."""
    from snnc.models.examples.make_examples import tiny_recurrent

    return tiny_recurrent()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
