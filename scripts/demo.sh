#!/usr/bin/env bash
# Main job: set up, compile the bundled L2MU for the smartwatch (Cortex-M4F), flash it to
# the emulated device (QEMU) and print the benchmark. Host target fallback without the
# cross toolchain. See scripts/demo_smartwatch.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
SNNC_SKIP_SETUP=1 exec bash scripts/demo_smartwatch.sh "$@"
