#!/usr/bin/env bash
# The fused WebGPU kernels on the GPU machine in one call: fused attention against the unfused core
# (mla bench flash), the tiled matmul against tfjs's (mla bench matmul-check), kernel coverage against the cpu
# backend (mla bench coverage), host time per dispatch (mla bench dispatch), PyTorch fp32 on the same GPU, 35M
# training throughput through the library's trainer (mla bench train) of VARIANTS
# (environment settings such as MLA_WEBGPU_FUSED and MLA_WEBGPU_MATMUL, alternating, since machines of one kind
# differ more than runs do), a kernel profile and a V8 CPU profile of default steps, and decoding with and
# without the bind group cache.
# Prepare with scripts/device/pack.sh; on the GPU machine: bash scripts/device/run-fused.sh (results in
# $OUT/results.tgz and $OUT/log.txt). SKIP_CHECKS, SKIP_FLASH, SKIP_MATMUL, SKIP_TORCH, SKIP_DECODE (=1), ROUNDS
# and VARIANTS shorten it; stages past BUDGET seconds are skipped so that the results come back within the
# device tool's 10 minutes.
set -uo pipefail
OUT=${OUT:-$PWD/device-out}
R=$(mktemp -d)
export PYTHONUNBUFFERED=1
D=.device/data
source "$(dirname "$0")/stage.sh"
later() { [ "$SECONDS" -lt "${BUDGET:-470}" ] || { echo "=== skipped (over budget): $*" >&2; return 1; }; }
# VARIANTS: name:VAR=value+VAR=value… (environment of each), trained in turn each round.
VARIANTS=${VARIANTS:-"default: unfused:MLA_WEBGPU_FUSED=none+MLA_WEBGPU_MATMUL=tfjs"}
{
  source .device/unpack.sh
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  if [ "${SKIP_CHECKS:-0}" != 1 ]; then
    [ "${SKIP_FLASH:-0}" = 1 ] || stage flash-check 150 node dist/cli/main.js bench flash --reps 10 --out "$R/flash-check.json"
    [ "${SKIP_MATMUL:-0}" = 1 ] || stage matmul-check 200 node dist/cli/main.js bench matmul-check --reps 5 --out "$R/matmul-check.json"
    stage coverage 150 node dist/cli/main.js bench coverage --out "$R/coverage.json"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print("coverage ok:", r.get("ok"), "failed:", r.get("failed"))' "$R/coverage.json"
    stage dispatch-bench 90 node dist/cli/main.js bench dispatch --ops 3000 --out "$R/dispatch-bench.json"
  fi
  if [ "${SKIP_TORCH:-0}" != 1 ] && later torch; then
    stage torch 200 python3 scripts/device/torch_all.py --configs $D --batch 8 --seq 1024 --contexts 512 \
      $([ "${SKIP_DECODE:-0}" = 1 ] && echo --train-only) --train-out "$R/torch-train.jsonl" --decode-out "$R/torch-decode.jsonl"
  fi
  for round in $(seq 1 "${ROUNDS:-2}"); do
    for v in $VARIANTS; do
      name=${v%%:*}
      IFS=+ read -ra assigns <<< "${v#*:}"
      ( for kv in "${assigns[@]}"; do [ -n "$kv" ] && export "$kv"; done
        train "train-35m-mla-rope-$name-$round" 35m-mla-rope 15 )
    done
  done
  # The defaults (every fused kernel; MLA_WEBGPU_MATMUL and the caches as the environment says).
  train train-35m-mha-rope-default 35m-mha-rope 15
  train train-35m-mla-rope-default-profile 35m-mla-rope 10 --profile
  # The record holds the profile's summary too (results.cpuProfile); this is the longer listing.
  train train-35m-mla-rope-default-cpuprofile 35m-mla-rope 10 --cpu-profile "$R/train.cpuprofile" &&
    node dist/cli/main.js bench cpuprofile "$R/train.cpuprofile" --top 40 --out "$R/cpuprofile-train.json" >/dev/null
  rm -f "$R/train.cpuprofile"
  # Decoding (batch 1, context 512, every cache mode) is bound by the host time per dispatch: with and without
  # the bind group cache.
  if [ "${SKIP_DECODE:-0}" != 1 ]; then
    for bg in off on; do
      MLA_WEBGPU_BIND_GROUP_CACHE=$bg decode "decode-bind-group-cache-$bg" "$R/decode-bind-group-cache-$bg.json" 512
    done
  fi
} 2>&1 | tee "$R/log.txt"
mkdir -p "$OUT"
cp "$R/log.txt" "$OUT/log.txt"
tar -czf "$OUT/results.tgz" -C "$R" .
