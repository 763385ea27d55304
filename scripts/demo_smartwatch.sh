#!/usr/bin/env bash
# Main job: compile the bundled L2MU (BasicMotions activity recognition) for the
# smartwatch target (nRF52840-class Cortex-M4F), flash it to the emulated device (QEMU
# MPS2 AN386) and print the on-device benchmark: instructions per step and per sample,
# flash/RAM from the ELF sections, SynOps, bit-exactness against the integer simulator and
# accuracy on the BasicMotions test split. Without the ARM toolchain/QEMU it falls back to
# the host target (gcc) and says so.
# Usage: bash scripts/demo_smartwatch.sh [OUT_DIR]   (default out/demo_smartwatch)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SNNC_SKIP_SETUP:-}" ] || bash scripts/setup.sh
PY=.venv/bin/python
SNNC=.venv/bin/snnc
if [ ! -x "$SNNC" ]; then PY=python; SNNC=snnc; fi  # e.g. an activated venv
OUT=${1:-out/demo_smartwatch}
mkdir -p "$OUT"

# Calibration inputs for int8 quantization: the BasicMotions training split.
"$PY" -c "
import numpy as np, sys
from snnc.models.datasets import load_basicmotions
x, _, _ = load_basicmotions('train')
np.save(sys.argv[1], x)
" "$OUT/calib.npy"

have_cross=1
for tool in arm-none-eabi-gcc qemu-system-arm; do
  command -v "$tool" >/dev/null 2>&1 || have_cross=0
done

if [ "$have_cross" = 1 ]; then
  # int8 weights, 16-bit state; the smartwatch pipeline ends with the size check.
  "$SNNC" compile models/l2mu/l2mu.snn --target smartwatch --calib "$OUT/calib.npy" \
    -o "$OUT/l2mu_smartwatch" >/dev/null
  "$SNNC" bench "$OUT/l2mu_smartwatch" --device qemu --profile nrf52840 --samples 40 \
    --json "$OUT/bench.json" --md "$OUT/bench.md"
else
  echo "demo: arm-none-eabi-gcc or qemu-system-arm missing: running on the host target instead" >&2
  "$SNNC" compile models/l2mu/l2mu.snn --target generic --calib "$OUT/calib.npy" \
    -o "$OUT/l2mu_host.snn" >/dev/null
  "$PY" - "$OUT/l2mu_host.snn" <<'PYEOF'
import sys
import numpy as np
from snnc.compiler.ir import load
from snnc.compiler.ir.interpret_int import simulate_int
from snnc.models.testsets import load_test_data
from snnc.targets.benchmark import device_inputs
from snnc.targets.host import build, compile_model

g = load(sys.argv[1])
d = load_test_data(g, 40)
x = device_inputs(g, d.x)
bd = sys.argv[1].replace(".snn", "_hostbuild")
compile_model(g, bd)
y = build(bd).run(x)
ref = simulate_int(g, x).output.reshape(y.shape)
print(f"host target: {len(x)} samples, bit-exact vs integer simulator: {np.array_equal(y, ref)}, "
      f"accuracy {np.mean(np.argmax(y[:, -1], 1) == d.y):.4f}")
PYEOF
fi
