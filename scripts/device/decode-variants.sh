#!/usr/bin/env bash
# decode-grid.sh once per variant of the settings, in one GPU-machine call: an A/B (or A/B/C) of MLA_WEBGPU_*
# settings with PyTorch measured beside ours in every stage. Each argument is "NAME [VAR=VALUE ...]" (one quoted
# word); the variant's records go to $OUT/grid-NAME.tgz (the device tool brings back at most 8 files), and a line
# per variant says how long it took. Variants run in order while TOTAL seconds (default 540) last; each is cut at
# what is left (its stages keep decode-grid.sh's LIMIT each). GRID, STEPS, WARMUP, PREFILL, … pass through; a
# variant may also set SYNC (decode-grid.sh's --sync: "step SYNC=step" times the per-step readback beside the default),
# MODES (the MLA preset's cache modes), MHA_PRESET=none (MLA only) and its own GRID: "unroll4
# MLA_WEBGPU_DECODE_UNROLL=4 MODES=absorbed MHA_PRESET=none" times one mode's A/B without the rest again.
#   source .device/unpack.sh && tar -xJf .device/experiment.tar.xz -C .device &&
#   GRID=1:512,2048,8192 STEPS=40 LIMIT=90 bash scripts/device/decode-variants.sh default "split1 MLA_WEBGPU_DECODE_SPLIT_TILES=1" \
#     "submit16 MLA_WEBGPU_SUBMIT_BATCH=16"
set -uo pipefail
OUT=${OUT:-$PWD/device-out}
TOTAL=${TOTAL:-540}
T0=$(date +%s)
here=$(cd "$(dirname "$0")" && pwd)
[ $# -gt 0 ] || { echo "usage: decode-variants.sh \"NAME [VAR=VALUE ...]\" ..." >&2; exit 2; }
# Every variant is checked before the first runs.
for v in "$@"; do
  read -r name assigns <<< "$v"
  case "$name" in ''|*[!A-Za-z0-9_-]*) echo "decode-variants: variant name '$name' must be letters, digits, - or _" >&2; exit 2 ;; esac
  for a in $assigns; do
    case "$a" in MLA_*=*|SYNC=*|MODES=*|MHA_PRESET=*|GRID=*) ;; *) echo "decode-variants: '$a' in variant $name is not an MLA_*=VALUE, SYNC=end|step, MODES=…, MHA_PRESET=… or GRID=… setting" >&2; exit 2 ;; esac
  done
done
for v in "$@"; do
  read -r name assigns <<< "$v"
  left=$(( TOTAL - ($(date +%s) - T0) ))
  [ "$left" -gt 60 ] || { echo "decode-variants: skipped $name (${left} s left)"; continue; }
  dir=$(mktemp -d)/grid-$name; mkdir -p "$dir"
  # shellcheck disable=SC2086
  env $assigns OUT="$dir" timeout "$left" bash "$here/decode-grid.sh" > /dev/null 2>&1
  rc=$?
  printf '%s\n' "$assigns" > "$dir/variant.txt"
  tar -czf "$OUT/grid-$name.tgz" -C "$(dirname "$dir")" "grid-$name"
  echo "decode-variants: $name ($assigns) rc $rc at $(( $(date +%s) - T0 )) s"
done
