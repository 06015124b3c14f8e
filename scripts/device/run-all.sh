#!/usr/bin/env bash
# Every GPU-machine measurement of data/bench/device/ in one call: WebGPU kernel coverage against the cpu
# backend, 35M training throughput and per-token decode cost in every cache mode on WebGPU, and the same models
# in PyTorch fp32 (TF32 off) on the same GPU. Prepare here with scripts/device/pack.sh; on the GPU machine:
#   bash scripts/device/run-all.sh          (writes into $OUT, at most 8 files; default ./device-out)
# Each stage has its own time limit and runs whatever the others did, so one failure costs only its stage.
set -uo pipefail
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
D=.device/data
PRESETS=(35m-mla-rope 35m-mha-rope)
CONTEXTS=128,512,960
source "$(dirname "$0")/stage.sh"

{
  source .device/unpack.sh
  nvidia-smi -L
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  node --version
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'

  stage coverage 90 node dist/cli/main.js bench coverage --out "$OUT/coverage.json"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print("adapter:", r.get("adapter"), "ok:", r.get("ok"), "failed:", r.get("failed"), "limits:", r.get("deviceLimits"), "syncReads:", r.get("syncReads"))' "$OUT/coverage.json"

  stage train-webgpu-35m-mla-rope 170 node dist/cli/main.js bench train --backend webgpu --preset 35m-mla-rope \
    --tokens-file $D/train-v10000.u16 --batch 8 --seq 1024 --warmup 3 --steps 27 --max-seconds 70 --profile \
    --out "$OUT/train-webgpu-35m-mla-rope.json"

  stage torch 150 python3 scripts/device/torch_all.py --configs $D --contexts $CONTEXTS --batch 8 --seq 1024 \
    --train-out "$OUT/torch-train.jsonl" --decode-out "$OUT/torch-decode.jsonl"

  decode decode-webgpu "$OUT/decode-webgpu.json" $CONTEXTS

  stage train-webgpu-35m-mha-rope 100 node dist/cli/main.js bench train --backend webgpu --preset 35m-mha-rope \
    --tokens-file $D/train-v10000.u16 --batch 8 --seq 1024 --warmup 3 --steps 27 --max-seconds 45 \
    --out "$OUT/train-webgpu-35m-mha-rope.json"

  # The repository's test, where it does not skip.
  stage test-webgpu-coverage 90 node --test dist/test/backend/webgpu/coverage.test.js >"$OUT/webgpu-test.txt" 2>&1
  tail -15 "$OUT/webgpu-test.txt"

  # The CLI on webgpu: does it finish (Dawn must not hold the process open) and what does it say?
  stage cli-generate-webgpu 40 bash -c 'node dist/cli/main.js init --preset tiny-mla-rope --seed 1 --out /tmp/tiny.safetensors >/dev/null &&
    node dist/cli/main.js generate --checkpoint /tmp/tiny.safetensors --prompt-ids 1,2,3 --tokens 4 --backend webgpu --json'
} 2>&1 | tee "$OUT/log.txt"
