#!/usr/bin/env bash
# Where WebGPU training and decoding spend their time (the follow-up to run-all.sh): V8 CPU profiles of the
# timed 35m-mla-rope training steps and of MHA decoding at context 512, summarised by package and function;
# training at batch 2 against batch 8 (a fixed cost per step, or per token?); the latency of one small op and
# its read-back. Prepare with scripts/device/pack.sh; on the GPU machine: bash scripts/device/diagnose.sh
set -uo pipefail
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT" /tmp/prof
D=.device/data
source "$(dirname "$0")/stage.sh"
{
  source .device/unpack.sh
  nvidia-smi -L
  stage train-b8-profiled 120 node scripts/device/train-bench.js --preset 35m-mla-rope --tokens-file $D/train-v10000.u16 \
    --batch 8 --seq 1024 --steps 7 --warmup 3 --cpu-profile /tmp/prof/train-b8.cpuprofile --out "$OUT/train-webgpu-35m-mla-rope-b8-profiled.json"
  node scripts/device/cpuprofile-summary.js /tmp/prof/train-b8.cpuprofile --top 30 --out "$OUT/cpuprofile-train-b8.json"
  stage train-b2 90 node scripts/device/train-bench.js --preset 35m-mla-rope --tokens-file $D/train-v10000.u16 \
    --batch 2 --seq 1024 --steps 14 --warmup 3 --max-seconds 40 --out "$OUT/train-webgpu-35m-mla-rope-b2.json"
  stage decode-profiled 60 node scripts/device/decode-bench.js --presets 35m-mha-rope --modes kv --contexts 512 --steps 20 \
    --cpu-profile /tmp/prof/decode --out "$OUT/decode-webgpu-profiled.json"
  node scripts/device/cpuprofile-summary.js /tmp/prof/decode.35m-mha-rope.kv.512.cpuprofile --top 30 --out "$OUT/cpuprofile-decode-kv512.json"
  python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
for f in ('cpuprofile-train-b8.json', 'cpuprofile-decode-kv512.json'):
    p = os.path.join(out, f)
    if os.path.exists(p):
        r = json.load(open(p))
        print(f, r['wallMs'], 'ms;', [(x['name'], x['share']) for x in r['byPackage'][:8]])
        print('   ', [(x['name'], x['share']) for x in r['byFunction'][:12]])
PY
} 2>&1 | tee "$OUT/log.txt"
