"""tests/security: hostile inputs. The fuzz harness module is imported by the tests here;
make it importable however pytest runs (importlib mode)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
