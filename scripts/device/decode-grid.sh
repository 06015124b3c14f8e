#!/usr/bin/env bash
# Issue 13's decode measurement in one GPU call: per decode step, ours (`mla bench decode`, WebGPU, fp32: ms per
# step, dispatches, bytes read and the memory-traffic floor over a copy bandwidth measured in the same run, the
# context from which absorbed beats latent and full) and PyTorch eager on the same GPU (scripts/torch/bench_decode.py,
# fp32, TF32 off), for the 35M RoPE presets over a grid of batches and contexts. On the GPU machine, after
# `source .device/unpack.sh` and unpacking .device/experiment.tar.xz:
#   bash scripts/device/decode-grid.sh       (into $OUT: one record per preset, batch and cache mode, torch-decode.jsonl, log)
# and back here `mla bench decode-grid DIR` puts it in one table (ours beside PyTorch, ratios, floors, crossover).
# Settings (environment): GRID "B:CONTEXTS …" (default below: every point whose largest tensor binds in ~2 GiB;
# bench decode records a point that does not as an error row), STEPS, WARMUP, MAXLEN (default: what the grid needs), PREFILL, SYNC, BACKEND (webgpu), TORCH_DEVICE (cuda),
# MLA (the CLI: the frozen copy of .device/app by default), PYTHON, LIMIT (seconds per stage). Here, to check the flags:
#   MLA="node dist/cli/main.js" PYTHON=/usr/bin/python3 BACKEND=cpu TORCH_DEVICE=cpu MLA_PRESET=tiny-mla-rope MHA_PRESET=tiny-mha-rope \
#     GRID="2:16,40" MAXLEN=128 WARMUP=2 OUT=/tmp/grid bash scripts/device/decode-grid.sh
set -uo pipefail
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
MLA=${MLA:-node .device/app/dist/cli/main.js}
BACKEND=${BACKEND:-webgpu}
TORCH_DEVICE=${TORCH_DEVICE:-cuda}
STEPS=${STEPS:-8}
# Untimed steps before ours are timed: V8 needs ~100 steps to optimise the host code (README, Performance: on the
# null device 50 steps after 2 warm-up ones cost 8.0–8.4 ms a step, after 100–300 5.8–6.2); PyTorch warms up with one
# whole run (--warmup-runs 1).
WARMUP=${WARMUP:-100}
# How each side fills its cache before the timed steps: tiled (default here) prefills 256 tokens and repeats their
# cached rows to the context (`--prefill tiled` on both sides: the same rows and shapes to read, so the same step),
# since a real prefill of batch 16 × 16k took our stage past 90 s (2026-12-04) and batch 64 × 32k would take minutes;
# real prefills the whole context (and PyTorch then checks its cache against a full forward).
PREFILL=${PREFILL:-tiled}
# When our timed steps wait for the GPU (`--sync`): end (default), greedy on the device and one read per 10 steps, as
# PyTorch's loop runs (it never syncs until its last step); step, the logits read back every step (the records before
# 2026-12-05 were all timed so).
SYNC=${SYNC:-end}
LIMIT=${LIMIT:-240}
GRID=${GRID:-"1:512,2048,8192,32768 16:1024,4096,16384,32768 64:1024,4096,8192"}
# The RoPE tables' length: the grid's longest context plus every step a stage decodes past it (WARMUP + 1 + STEPS
# ours; PyTorch's new tokens fewer), rounded up to 64. A fixed 32,896 refused 32k with 100 warm-up steps (2026-12-04).
longest=$(for point in $GRID; do tr ',' '\n' <<< "${point#*:}"; done | sort -n | tail -1)
MAXLEN=${MAXLEN:-$(( (longest + WARMUP + 1 + STEPS + 63) / 64 * 64 ))}
PYTHON=${PYTHON:-python3}
MLA_PRESET=${MLA_PRESET:-35m-mla-rope}
# MHA_PRESET=none leaves MHA out (an A/B of an MLA-only setting); MODES, the MLA preset's cache modes.
MHA_PRESET=${MHA_PRESET:-35m-mha-rope}
MODES=${MODES:-absorbed,latent,full}
PRESETS="$MLA_PRESET"; [ "$MHA_PRESET" = none ] || PRESETS="$PRESETS $MHA_PRESET"
source "$(dirname "$0")/stage.sh"
cfg=$(mktemp -d)
{
  for p in $PRESETS; do
    $MLA info --preset "$p" --set "maxSeqLen=$MAXLEN" --json > "$cfg/$p.json" || { echo "decode-grid: mla info --preset $p failed" >&2; exit 2; }
  done
  for point in $GRID; do
    b=${point%%:*}
    ctx=${point#*:}
    for p in $PRESETS; do
      modes=$([ "$p" = "$MLA_PRESET" ] && echo "$MODES" || echo kv)
      # Ours a stage (and a record) per mode, each with its own LIMIT: at batch 16 and 32k one mode's step (latent,
      # re-expanded: 576 ms) took the time the others needed (2026-12-04). The record is written after every cell.
      for m in ${modes//,/ }; do
        # shellcheck disable=SC2086
        stage "ours-$p-b$b-$m" "$LIMIT" $MLA bench decode --preset "$p" --set "maxSeqLen=$MAXLEN" --cache "$m" --contexts "$ctx" \
          --batch "$b" --steps "$STEPS" --warmup "$WARMUP" --prefill "$PREFILL" --sync "$SYNC" --backend "$BACKEND" --out "$OUT/ours-$p-b$b-$m.json"
      done
      stage "torch-$p-b$b" "$LIMIT" "$PYTHON" scripts/torch/bench_decode.py --config-json "$cfg/$p.json" --device "$TORCH_DEVICE" \
        --cache "$modes" --contexts "$ctx" --batch "$b" --new-tokens $((STEPS + 1)) --repeats 1 --warmup-runs 1 --prefill "$PREFILL" \
        --out "$OUT/torch-decode.jsonl"
    done
  done
} 2>&1 | tee "$OUT/decode-grid-log.txt"
rm -rf "$cfg"
