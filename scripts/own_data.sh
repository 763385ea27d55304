#!/usr/bin/env bash
# Bring your own data, end to end, with the documented commands only (docs/own_data.md):
# train an L2MU on TRAIN, then for every target compile it (int8, float vs int8 accuracy
# on TEST) and bench it on its device with TEST (accuracy report per target).
#
#   scripts/own_data.sh TRAIN TEST OUT_DIR [train options...]
#
# OUT_DIR/<target>/build is the build; OUT_DIR/<target>/accuracy/ holds bench.json/.md and
# accuracy.{json,md} + accuracy_confusion.png;
# OUT_DIR/compile_<target>.log the compile's accuracy lines.
set -euo pipefail
train=$1 test=$2 out=$3
shift 3
snnc=${SNNC:-snnc}
python=${PYTHON:-python}

if [ ! -f "$out/l2mu.snn" ]; then
  "$python" -m snnc.models.l2mu.train --data "$train" --test "$test" --out "$out" "$@"
fi
for t in host smartwatch rpi mpsoc rram; do
  "$snnc" compile "$out/l2mu.snn" --target "$t" -o "$out/$t/build" --data "$test" \
    2> >(grep -v "^snnc: pass \|quantize: calibrating" > "$out/compile_$t.log")
  "$snnc" bench "$out/$t/build" --data "$test" --report "$out/$t/accuracy" \
    --json "$out/$t/accuracy/bench.json" --md "$out/$t/accuracy/bench.md" > /dev/null
  echo "$t: done ($out/$t/accuracy/bench.md)" >&2
done
