#!/usr/bin/env bash
# One GPU-machine call of the reproduction's runs: each argument is one `mla experiment run` (its flags), run in
# order within LIMIT seconds (default 555) of the call's start; the run in progress at the limit writes a
# checkpoint, and the next call (while the machine stays warm) resumes it. Every run folder (config, metrics,
# result; no checkpoints) comes back in $OUT/runs.tar.gz: unpack it into data/experiments/gpu/ and commit.
# Prepare here with `bash scripts/device/pack.sh`, then call the device tool with carry [".device"] and e.g.
#   bash .device/app/experiment-call.sh "--experiment noRope --seeds 1" "--experiment rope --seeds 1"
# (pack.sh copies this script and a frozen dist/ into .device/app/, so edits here meanwhile change nothing there).
set -uo pipefail
source .device/unpack.sh
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
M="node .device/app/dist/cli/main.js"; R=/tmp/gpu-runs; D=.device/data-v10000
T0=$(date +%s); LIMIT=${LIMIT:-555}
# Seed the run folders with the finished ones that were committed (pack.sh put them in .device/app/runs); never
# overwrite a folder already here (a warm machine's runs, with their checkpoints).
mkdir -p $R && [ -d .device/app/runs ] && cp -rn .device/app/runs/. $R/
left() { echo $(( LIMIT - ($(date +%s) - T0) )); }
nvidia-smi -L
for step in "$@"; do
  L=$(left); [ "$L" -gt 40 ] || { echo "skipped (time): $step"; continue; }
  echo "=== $step (budget $L s)"
  $M experiment run $step --scale gpu --backend webgpu --dataset $D --runs-dir $R --budget-s $L --progress-every 250
  echo "=== exit $?"
done 2>&1 | tee -a "$OUT/log.txt"
tar -czf "$OUT/runs.tar.gz" --exclude=checkpoint -C $R . 2>/dev/null
ls $R | sed 's/^/run: /'
