#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the default test tier. Extra args go to pytest,
# e.g. `bash scripts/test.sh -m slow` for the slow tier.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
