#!/usr/bin/env bash
# Issue 13's training measurement in one GPU call: `mla bench train` (the library's trainer, WebGPU, fp32) and
# PyTorch's scripts/torch/bench_train.py (fp32, TF32 off, SDPA and the manual softmax) on the same GPU, same
# preset, batch and sequence, for each preset of PRESETS; then one `--profile` run of the first preset (GPU time
# per kernel from Dawn's timestamps, unquantized by default: MLA_WEBGPU_TIMESTAMPS). On the GPU machine, after
# `source .device/unpack.sh` and unpacking .device/experiment.tar.xz (carry .device/data too):
#   bash scripts/device/train-speed.sh     (into $OUT: train-speed.tgz, log.txt)
# Settings (environment): PRESETS (default "35m-mla-rope 300m-mla-norope"), SECS (training seconds per stage of
# ours, default 45), BATCH (8), SEQ (1024), LR (1e-5: a speed run, far below the ~300M models' divergence at
# 6e-4 and 1e-4, so no run ends early on the trainer's divergence check), TOKENS (the packed token file), MLA, PYTHON, BACKEND
# (webgpu), TORCH_DEVICE (cuda). Here, to check the flags:
#   MLA="node dist/cli/main.js" PYTHON=/usr/bin/python3 BACKEND=cpu TORCH_DEVICE=cpu PRESETS=tiny-mla-rope SEQ=64 SECS=5 \
#     OUT=/tmp/ts bash scripts/device/train-speed.sh
set -uo pipefail
PRESETS=${PRESETS:-"35m-mla-rope 300m-mla-norope"}
SECS=${SECS:-45}
source "$(dirname "$0")/train-env.sh"
ours() {
  local name=$1 preset=$2
  shift 2
  stage "$name" $((SECS + 90)) $MLA bench train --backend "$BACKEND" --preset "$preset" --tokens-file "$TOKENS" --batch "$BATCH" \
    --seq "$SEQ" --lr "$LR" --warmup 3 --steps 60 --max-seconds "$SECS" --out "$R/$name.json" "$@"
}
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  mkdir -p "$R/configs"
  for p in $PRESETS; do
    $MLA info --preset "$p" --json > "$R/configs/$p.json" || { echo "train-speed: mla info --preset $p failed" >&2; exit 2; }
  done
  for p in $PRESETS; do
    ours "ours-$p" "$p"
    for impl in sdpa manual; do
      stage "torch-$p-$impl" 240 "$PYTHON" scripts/torch/bench_train.py --config-json "$R/configs/$p.json" --device "$TORCH_DEVICE" \
        --attn-impl "$impl" --batch "$BATCH" --seq "$SEQ" --steps 20 --warmup 5 > "$R/torch-$p-$impl.json"
    done
  done
  first=${PRESETS%% *}
  ours "ours-$first-profile" "$first" --profile
} 2>&1 | tee "$R/log.txt"
cp "$R/log.txt" "$OUT/log.txt"
tar -czf "$OUT/train-speed.tgz" -C "$R" .
