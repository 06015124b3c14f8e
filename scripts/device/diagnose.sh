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
  stage train-b8-profiled 120 node dist/cli/main.js bench train --backend webgpu --preset 35m-mla-rope --tokens-file $D/train-v10000.u16 \
    --batch 8 --seq 1024 --warmup 3 --steps 4 --cpu-profile /tmp/prof/train-b8.cpuprofile --out "$OUT/train-webgpu-35m-mla-rope-b8-profiled.json"
  node dist/cli/main.js bench cpuprofile /tmp/prof/train-b8.cpuprofile --top 30 --out "$OUT/cpuprofile-train-b8.json" >/dev/null
  stage train-b2 90 node dist/cli/main.js bench train --backend webgpu --preset 35m-mla-rope --tokens-file $D/train-v10000.u16 \
    --batch 2 --seq 1024 --warmup 3 --steps 11 --max-seconds 40 --out "$OUT/train-webgpu-35m-mla-rope-b2.json"
  # Node's own profiler over the whole decode bench process (load, prefill and the timed steps).
  rm -rf /tmp/prof/decode && stage decode-profiled 90 node --cpu-prof --cpu-prof-dir=/tmp/prof/decode dist/cli/main.js bench decode \
    --backend webgpu --preset 35m-mha-rope --cache kv --contexts 512 --steps 20 --out "$OUT/decode-webgpu-profiled.json"
  node dist/cli/main.js bench cpuprofile "$(ls /tmp/prof/decode/*.cpuprofile | head -1)" --top 30 --out "$OUT/cpuprofile-decode-kv512.json" >/dev/null
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
