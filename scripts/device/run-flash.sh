#!/usr/bin/env bash
# The fused attention kernels on the GPU machine in one call: correctness and time against the unfused core
# (flash-check.js), kernel coverage against the cpu backend, 35M training throughput with and without them
# (MLA_FLASH_ATTENTION=on/off, alternating, since machines of one kind differ more than runs do), a kernel
# profile of a fused step, and PyTorch fp32 training on the same GPU.
# Prepare with scripts/device/pack.sh; on the GPU machine: bash scripts/device/run-flash.sh (results in
# $OUT/results.tgz and $OUT/log.txt). SKIP_CHECKS=1 and SKIP_TORCH=1 shorten it; BUDGET (s) bounds it.
set -uo pipefail
OUT=${OUT:-$PWD/device-out}
R=$(mktemp -d)
export PYTHONUNBUFFERED=1
D=.device/data
source "$(dirname "$0")/stage.sh"
# Stages past BUDGET seconds are skipped, so the results still come back within the device tool's 10 minutes.
later() { [ "$SECONDS" -lt "${BUDGET:-470}" ] || { echo "=== skipped (over budget): $*" >&2; return 1; }; }
train() { # NAME PRESET SECONDS [extra flags]
  local name=$1 preset=$2 secs=$3
  shift 3
  later "$name" || return 0
  stage "$name" $((secs + 60)) node scripts/device/train-bench.js --preset "$preset" --tokens-file $D/train-v10000.u16 \
    --batch 8 --seq 1024 --steps 40 --warmup 3 --max-seconds "$secs" --out "$R/$name.json" "$@"
}
{
  source .device/unpack.sh
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  stage flash-check 150 node scripts/device/flash-check.js --reps 10 --out "$R/flash-check.json"
  MLA_FLASH_ATTENTION=on train train-35m-mla-rope-flash-1 35m-mla-rope 20
  MLA_FLASH_ATTENTION=off train train-35m-mla-rope-unfused-1 35m-mla-rope 20
  if [ "${SKIP_TORCH:-0}" != 1 ] && later torch; then
    stage torch 150 python3 scripts/device/torch_all.py --configs $D --batch 8 --seq 1024 --train-only \
      --train-out "$R/torch-train.jsonl" --decode-out "$R/torch-decode.jsonl"
  fi
  if [ "${SKIP_CHECKS:-0}" != 1 ] && later coverage; then
    stage coverage 150 node scripts/device/coverage.js --out "$R/coverage.json"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("coverage ok:", r.get("ok"), "failed:", r.get("failed"))' "$R/coverage.json"
  fi
  MLA_FLASH_ATTENTION=on train train-35m-mla-rope-flash-2 35m-mla-rope 20
  MLA_FLASH_ATTENTION=off train train-35m-mla-rope-unfused-2 35m-mla-rope 20
  MLA_FLASH_ATTENTION=on train train-35m-mha-rope-flash 35m-mha-rope 20
  MLA_FLASH_ATTENTION=on train train-35m-mla-rope-flash-profile 35m-mla-rope 15 --profile
} 2>&1 | tee "$R/log.txt"
mkdir -p "$OUT"
cp "$R/log.txt" "$OUT/log.txt"
tar -czf "$OUT/results.tgz" -C "$R" .
