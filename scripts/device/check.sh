#!/usr/bin/env bash
# A short check of the defaults on the GPU machine: kernel coverage against the cpu backend (every attention
# kind, cache mode and a training step), the fused attention against the unfused core, and one 35M training run.
# Prepare with scripts/device/pack.sh; device tool: carry [".device", "dist"], command `bash scripts/device/check.sh`.
OUT=${OUT:-$PWD/device-out}
set -uo pipefail
R=$(mktemp -d); D=.device/data; source scripts/device/stage.sh
{
source .device/unpack.sh
stage coverage 150 node dist/cli/main.js bench coverage --out "$R/coverage.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print("coverage ok:", r.get("ok"), "failed:", r.get("failed"))' "$R/coverage.json"
stage flash-check 100 node dist/cli/main.js bench flash --reps 3 --out "$R/flash-check.json"
train train-35m-mla-rope-default 35m-mla-rope 12
} 2>&1 | tee "$R/log.txt"
mkdir -p "$OUT"; cp "$R/log.txt" "$OUT/log.txt"; tar -czf "$OUT/results.tgz" -C "$R" .
