#!/usr/bin/env bash
# One GPU-machine call of the reproduction's runs: each argument is one `mla experiment run` (its flags), run in
# order within LIMIT seconds (default 555) of the call's start; the run in progress at the limit writes a
# checkpoint, and the next call (while the machine stays warm) resumes it. Every finished or diverged run folder
# (config, metrics, result.json or diverged.json; no checkpoints) comes back in $OUT/runs.tar.gz: unpack it into
# data/experiments/gpu/ (scripts/device/unpack-runs.sh) and commit.
# Prepare here with `bash scripts/device/pack.sh`, then call the device tool with the carry it prints and e.g.
#   tar -xJf .device/experiment.tar.xz -C .device && bash .device/app/experiment-call.sh "--experiment rope --seeds 1"
# (pack.sh archives this script and a frozen dist/ as .device/app/, so edits here meanwhile change nothing there).
set -uo pipefail
source .device/unpack.sh
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
# RUNS (the machine's run folders), OUT and LIMIT may be set from outside (test/scripts/device-runs.test.ts does).
M="node .device/app/dist/cli/main.js"; R=${RUNS:-/tmp/gpu-runs}; D=.device/data-v10000
T0=$(date +%s); LIMIT=${LIMIT:-555}
# Seed the run folders with the finished and diverged ones that were committed (data/experiments/gpu/ travels with
# the working tree; a diverged one is not trained again); never overwrite a folder already here (a warm machine's
# runs, with their checkpoints).
mkdir -p $R; for d in data/experiments/gpu/*/; do
  { [ -f "$d/result.json" ] || [ -f "$d/diverged.json" ]; } && [ ! -e "$R/$(basename "$d")" ] && cp -r "${d%/}" $R/
done
# The finished and diverged run folders, as they are now, in $OUT/runs.tar.gz: written after every run that ends
# (written aside, then renamed), so that a call killed at the device's limit still brings back every run it ended;
# a diverged folder's metrics are the evidence of the blow-up.
# No checkpoints (a 35M run's is ~400 MB) and no folders set aside by --force or a restart (*.replaced-*, *.restarted-*).
snapshot() {
  local done; done=$(cd $R && for d in */; do case "$d" in *.replaced-*|*.restarted-*) continue ;; esac; { [ -f "$d/result.json" ] || [ -f "$d/diverged.json" ]; } && echo "${d%/}"; done)
  [ -n "$done" ] && tar -czf "$OUT/runs.tar.gz.part" --exclude=checkpoint --exclude='checkpoint-*' -C $R $done 2>/dev/null && mv "$OUT/runs.tar.gz.part" "$OUT/runs.tar.gz"
}
left() { echo $(( LIMIT - ($(date +%s) - T0) )); }
nvidia-smi -L
for step in "$@"; do
  L=$(left); [ "$L" -gt 40 ] || { echo "skipped (time): $step"; continue; }
  echo "=== $step (budget $L s)"
  $M experiment run $step --scale gpu --backend webgpu --dataset $D --runs-dir $R --budget-s $L --progress-every 250
  echo "=== exit $?"
done 2>&1 | while IFS= read -r line; do
  printf '%s\n' "$line" | tee -a "$OUT/log.txt"
  case "$line" in *": val ppl "*|*": diverged at step "*) snapshot ;; esac   # the runner's line for a finished or diverged run
done
snapshot
ls $R | sed 's/^/run: /'
