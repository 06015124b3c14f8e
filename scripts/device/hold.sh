#!/usr/bin/env bash
# The device tool copies the whole working tree (tracked files and untracked ones git does not ignore) with the
# carried paths, 64 MiB in all; with .device's ~47 MB of carry, the tree's committed records and figures pass it.
# None of those is read on the GPU machine, so around a device call:
#   bash scripts/device/hold.sh out    # moves data/bench/device/ and figures/ into .device-hold/ (ignored by git)
#   … the device calls …
#   bash scripts/device/hold.sh in     # puts them back (refuses to overwrite anything there)
#   bash scripts/device/hold.sh size   # what the device copy would hold, in MiB, tree + the experiment carry
# `out` refuses while .device-hold/ holds an earlier `out`, so nothing is held twice or lost. Run from the repository root.
set -euo pipefail
[ -f package.json ] && [ -d scripts/device ] || { echo "hold.sh: run from the repository root" >&2; exit 2; }
HOLD=.device-hold
PATHS=(data/bench/device figures)
CARRY=(.device/bundle.tar.xz .device/gl .device/unpack.sh .device/experiment.tar.xz)
size() {
  local tree carry
  tree=$( { git ls-files -z; git ls-files -z -o --exclude-standard; } | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done | du -cb --files0-from=- 2>/dev/null | tail -1 | cut -f1)
  carry=$(du -cb "${CARRY[@]}" 2>/dev/null | tail -1 | cut -f1)
  # The tool refused a copy of 63.3 MiB of apparent size on 2026-12-07 and took one of ~62.8: keep this under ~62.
  echo "device copy: tree $((tree / 1048576)) MiB + carry $((carry / 1048576)) MiB = $(((tree + carry) / 1048576)) MiB of apparent size (the tool's limit is 64 MiB by its own count, which refused 63.3; keep under ~62)"
}
case "${1:-}" in
  out)
    [ -e "$HOLD" ] && { echo "hold.sh: $HOLD exists (an earlier 'out' not put back): run 'bash scripts/device/hold.sh in' first" >&2; exit 1; }
    mkdir -p "$HOLD"
    for p in "${PATHS[@]}"; do mkdir -p "$HOLD/$(dirname "$p")"; mv "$p" "$HOLD/$p"; done
    size ;;
  in)
    [ -d "$HOLD" ] || { echo "hold.sh: nothing held ($HOLD is absent)" >&2; exit 1; }
    for p in "${PATHS[@]}"; do
      [ -e "$HOLD/$p" ] || continue
      [ -e "$p" ] && { echo "hold.sh: $p exists again; merge $HOLD/$p by hand" >&2; exit 1; }
      mkdir -p "$(dirname "$p")"; mv "$HOLD/$p" "$p"
    done
    rm -rf "$HOLD"; echo "hold.sh: put back ${PATHS[*]}" ;;
  size) size ;;
  *) echo "usage: bash scripts/device/hold.sh out|in|size" >&2; exit 2 ;;
esac
