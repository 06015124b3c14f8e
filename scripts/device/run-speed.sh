#!/usr/bin/env bash
# The WebGPU speed work's measurements in one call: the tiled matmul and dropout-mask shaders against tfjs and
# the host (correctness and GFLOP/s), kernel coverage against the cpu backend, 35M training throughput by
# kernels per submit and with and without the tiled matmul, decoding, and PyTorch fp32 on the same GPU.
# Prepare with scripts/device/pack.sh; on the GPU machine: bash scripts/device/run-speed.sh (results in
# $OUT/results.tgz and $OUT/log.txt).
set -uo pipefail
OUT=${OUT:-$PWD/device-out}
R=$(mktemp -d)
export PYTHONUNBUFFERED=1
D=.device/data
source "$(dirname "$0")/stage.sh"
{
  source .device/unpack.sh
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  [ "${SKIP_CHECKS:-0}" = 1 ] || stage matmul-check 150 node dist/cli/main.js bench matmul-check --reps 10 --out "$R/matmul-check.json"
  [ "${SKIP_CHECKS:-0}" = 1 ] || stage coverage 150 node dist/cli/main.js bench coverage --out "$R/coverage.json"
  [ "${SKIP_CHECKS:-0}" = 1 ] || python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print("coverage ok:", r.get("ok"), "failed:", r.get("failed"))' "$R/coverage.json"
  # Kernels per queue submit (MLA_WEBGPU_SUBMIT_BATCH; tfjs's own default is 15), then the matmul A/B at the best.
  for sb in ${SUBMIT_BATCHES:-15 64 256 1024}; do
    MLA_WEBGPU_SUBMIT_BATCH=$sb train train-35m-mla-rope-submit$sb 35m-mla-rope 25
  done
  SB=${BEST_SUBMIT:-64}
  # The tiled matmul against tfjs's alone, alternating (machines of one kind differ more than the two do).
  for round in 1 2; do
    MLA_WEBGPU_SUBMIT_BATCH=$SB MLA_WEBGPU_MATMUL=tiled train train-35m-mla-rope-tiled-matmul-$round 35m-mla-rope 20
    MLA_WEBGPU_SUBMIT_BATCH=$SB MLA_WEBGPU_MATMUL=tfjs train train-35m-mla-rope-tfjs-matmul-$round 35m-mla-rope 20
  done
  MLA_WEBGPU_SUBMIT_BATCH=$SB train train-35m-mla-rope-profile 35m-mla-rope 20 --profile
  MLA_WEBGPU_SUBMIT_BATCH=$SB train train-35m-mha-rope 35m-mha-rope 25
  [ "${SKIP_TORCH:-0}" = 1 ] || stage torch 170 python3 scripts/device/torch_all.py --configs $D --contexts 512 --batch 8 --seq 1024 \
    --train-out "$R/torch-train.jsonl" --decode-out "$R/torch-decode.jsonl"
  MLA_WEBGPU_SUBMIT_BATCH=$SB decode decode-webgpu "$R/decode-webgpu.json" 512
} 2>&1 | tee "$R/log.txt"
mkdir -p "$OUT"
cp "$R/log.txt" "$OUT/log.txt"
tar -czf "$OUT/results.tgz" -C "$R" .
