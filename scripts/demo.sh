#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the main job on a bundled model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/snnc inspect models/examples/tiny_recurrent.snn
