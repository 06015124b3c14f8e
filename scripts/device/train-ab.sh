#!/usr/bin/env bash
# Training settings A/B in one GPU call (issue 13): `mla bench train` (the library's trainer, WebGPU, fp32) under each
# variant of $AB in turn, $ROUNDS rounds alternating, per preset of $PRESETS; then PyTorch's scripts/torch/bench_train.py
# (fp32, TF32 off, SDPA) on the same GPU, preset, batch and sequence, as the baseline the ratios are taken against.
# On the GPU machine, after `source .device/unpack.sh` and unpacking .device/experiment.tar.xz (carry .device/data):
#   AB="d8:MLA_WEBGPU_MATMUL_DEPTH=8 d16:MLA_WEBGPU_MATMUL_DEPTH=16" ROUNDS=2 bash scripts/device/train-ab.sh
# A variant is NAME:VAR=V[,VAR=V…] (NAME alone: the defaults). Records: $OUT/train-ab.tgz (rewritten after every
# stage, so a call cut short brings back what finished) with ours-PRESET-NAME-rR.json, torch-PRESET-sdpa.json, log.txt;
# `mla bench train-ab DIR` makes the table (NAME: no "-rN" suffix of its own).
# Settings: PRESETS (default 35m-mla-rope), SECS (training seconds a stage, default 25), ROUNDS (2), TORCH (on|off),
# BATCH (8), SEQ (1024), LR (1e-5, a speed run), TOKENS, MLA, PYTHON, BACKEND (webgpu), TORCH_DEVICE (cuda). Here:
#   MLA="node dist/cli/main.js" PYTHON=/usr/bin/python3 BACKEND=cpu TORCH_DEVICE=cpu PRESETS=tiny-mla-rope SEQ=64 SECS=3 \
#     TOKENS=data/tokens/….u16 AB="a b:MLA_NATIVE_THREADS=1" OUT=/tmp/ab bash scripts/device/train-ab.sh
set -uo pipefail
PRESETS=${PRESETS:-35m-mla-rope}
AB=${AB:?AB: the variants, e.g. AB=\"d8:MLA_WEBGPU_MATMUL_DEPTH=8 d16:MLA_WEBGPU_MATMUL_DEPTH=16\"}
SECS=${SECS:-25}
ROUNDS=${ROUNDS:-2}
TORCH=${TORCH:-on}
source "$(dirname "$0")/train-env.sh"
snap() { cp "$R/log.txt" "$OUT/log.txt" 2>/dev/null; tar -czf "$OUT/train-ab.tgz" -C "$R" .; }
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  mkdir -p "$R/configs"
  for p in $PRESETS; do
    $MLA info --preset "$p" --json > "$R/configs/$p.json" || { echo "train-ab: mla info --preset $p failed" >&2; exit 2; }
    for r in $(seq 1 "$ROUNDS"); do
      for v in $AB; do
        name=${v%%:*}
        vars=()
        [[ $v == *:* ]] && IFS=, read -r -a vars <<< "${v#*:}"
        env "${vars[@]}" bash -c 'source "$0"; stage "$@"' "$(dirname "$0")/stage.sh" "ours-$p-$name-r$r" $((SECS + 90)) $MLA bench train --backend "$BACKEND" \
          --preset "$p" --tokens-file "$TOKENS" --batch "$BATCH" --seq "$SEQ" --lr "$LR" --warmup 3 --steps 200 --max-seconds "$SECS" \
          --out "$R/ours-$p-$name-r$r.json" | tail -3
        snap
      done
    done
    if [ "$TORCH" = on ]; then
      stage "torch-$p-sdpa" 240 "$PYTHON" scripts/torch/bench_train.py --config-json "$R/configs/$p.json" --device "$TORCH_DEVICE" \
        --attn-impl sdpa --batch "$BATCH" --seq "$SEQ" --steps 20 --warmup 5 > "$R/torch-$p-sdpa.json"
      snap
    fi
  done
} 2>&1 | tee "$R/log.txt"
snap
