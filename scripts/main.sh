#!/usr/bin/env bash
# The main job on the embedded default: set everything up, train the tiny MLA preset (with decoupled RoPE) on the
# embedded corpus for 1M tokens (about 3 minutes on 2 CPU cores), then print its validation perplexity next to
# the unigram baseline. The run folder is data/runs/main-tiny-mla-rope; rerunning resumes or, when finished,
# only re-evaluates.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
run=data/runs/main-tiny-mla-rope
mla() { node dist/cli/main.js "$@"; }
mla data build --vocab 512
if [ -f "$run/config.json" ]; then resume=(--resume); else resume=(); fi
mla train --preset tiny-mla-rope --tokens 1000000 --batch 16 --seq 64 --accum 1 --lr 2e-3 \
  --eval-every 200 --eval-tokens 65536 --checkpoint-every 200 --out "$run" "${resume[@]}"
mla eval --run "$run" --split val
