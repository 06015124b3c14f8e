#!/usr/bin/env bash
# Where the host time of a WebGPU training step goes: the per-dispatch cost (dispatch-bench.js), a V8 CPU
# profile of fused-attention training steps, and training with and without the bind group layout memo
# (MLA_WEBGPU_LAYOUT_MEMO), alternating. Results in $OUT/results.tgz and $OUT/log.txt.
set -uo pipefail
OUT=${OUT:-$PWD/device-out}
R=$(mktemp -d)
D=.device/data
source "$(dirname "$0")/stage.sh"
train() { # NAME PRESET SECONDS [extra flags]
  local name=$1 preset=$2 secs=$3
  shift 3
  stage "$name" $((secs + 60)) node scripts/device/train-bench.js --preset "$preset" --tokens-file $D/train-v10000.u16 \
    --batch 8 --seq 1024 --steps 40 --warmup 3 --max-seconds "$secs" --out "$R/$name.json" "$@"
}
{
  source .device/unpack.sh
  stage dispatch-bench 90 node scripts/device/dispatch-bench.js --ops 3000 --out "$R/dispatch-bench.json"
  train train-35m-mla-rope-cpuprofile 35m-mla-rope 15 --cpu-profile "$R/train.cpuprofile"
  node scripts/device/cpuprofile-summary.js "$R/train.cpuprofile" --top 40 --out "$R/cpuprofile-train.json"
  rm -f "$R/train.cpuprofile"
  for round in 1 2; do
    MLA_WEBGPU_LAYOUT_MEMO=on train train-35m-mla-rope-memo-$round 35m-mla-rope 15
    MLA_WEBGPU_LAYOUT_MEMO=off train train-35m-mla-rope-nomemo-$round 35m-mla-rope 15
  done
} 2>&1 | tee "$R/log.txt"
mkdir -p "$OUT"
cp "$R/log.txt" "$OUT/log.txt"
tar -czf "$OUT/results.tgz" -C "$R" .
