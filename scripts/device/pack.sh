#!/usr/bin/env bash
# Prepares, on this machine, what scripts/device/run-all.sh needs on the GPU machine (which has no Node and no
# registry): a current dist/, .device/ (Node and the tfjs + Dawn dependency closure, from ../shared/tools/
# device-pack), a 1M-token slice of the embedded corpus at vocabulary 10,000 and the model configs that the
# PyTorch benchmarks read; and for the experiments, the packed dataset and .device/app/ (a frozen dist/ and
# experiment-call.sh). Run from the repository root; then call the device tool with carry [".device", "dist"] and
# `bash scripts/device/run-all.sh` (benchmarks), or carry the four paths printed at the end and
# `tar -xJf .device/experiment.tar.xz -C .device && bash .device/app/experiment-call.sh …`.
set -euo pipefail
[ -f package.json ] && [ -d scripts/device ] || { echo "pack.sh: run from the repository root" >&2; exit 2; }
node node_modules/typescript/bin/tsc -p . || echo "pack.sh: tsc reported errors (dist/ was still emitted)" >&2
# Only what the device scripts load: the model needs @tensorflow/tfjs (its Node build registers the gradients), and
# `mla experiment run --experiment convert` ml-matrix (the conversion's SVD).
../shared/tools/device-pack @tensorflow/tfjs @tensorflow/tfjs-core @tensorflow/tfjs-backend-cpu @tensorflow/tfjs-backend-webgpu webgpu ml-matrix
mkdir -p .device/data
tokens=$(ls data/tokens/*-v10000.train.u16 2>/dev/null | head -1 || true)
[ -n "$tokens" ] || { echo "pack.sh: no data/tokens/*-v10000.train.u16; build it: node dist/cli/main.js data build --vocab 10000" >&2; exit 2; }
head -c 2000000 "$tokens" > .device/data/train-v10000.u16   # 1M uint16 ids
for p in 35m-mla-rope 35m-mha-rope; do node dist/cli/main.js info --preset "$p" --json > ".device/data/$p.json"; done
# The experiments' data (token files + tokenizer: the same corpus hash and run folders as here) and a frozen copy of
# dist/ with the experiment call, so that the GPU runs what was packed, whatever changes here meanwhile. One xz
# archive: the device tool carries at most 64 MiB with the tracked tree, and the token files and dist/ shrink ~2.5x.
rm -rf .device/app .device/data-v10000 && mkdir -p .device/app
node dist/cli/main.js data pack --vocab 10000 --out .device/data-v10000 >/dev/null
cp -r dist .device/app/dist && cp scripts/device/experiment-call.sh .device/app/
tar -cJf .device/experiment.tar.xz -C .device app data-v10000 && rm -rf .device/app .device/data-v10000
# The finished run folders are tracked (data/experiments/gpu/), so they travel with the working tree:
# experiment-call.sh seeds the machine's run directory from them, and a fresh machine skips them instead of training
# them again (a rerun is not the same run: fp32 reductions on the GPU are not bitwise reproducible).
du -sh .device dist
echo "pack.sh: for experiments carry [\".device/bundle.tar.xz\", \".device/gl\", \".device/unpack.sh\", \".device/experiment.tar.xz\"]"
# The device tool takes 64 MiB of tree and carry in all; the committed records push the tree past it.
bash scripts/device/hold.sh size
echo "pack.sh: over ~62 MiB, 'bash scripts/device/hold.sh out' before the device calls and 'bash scripts/device/hold.sh in' after"
