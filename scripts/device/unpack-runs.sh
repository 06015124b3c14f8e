#!/usr/bin/env bash
# Brings one device call's results into the repository: every finished run or study folder of FILES/runs.tar.gz,
# and every diverged run folder (diverged.json: the record, its metrics the evidence), that data/experiments/gpu/
# lacks (never overwriting a committed one, except a diverged record by the same run finished), with its metrics gzipped as the committed
# folders keep them (readMetrics reads metrics.jsonl.gz; the working tree travels to the GPU machine under a 64 MiB
# carry limit), and FILES/log.txt as data/experiments/gpu/logs/NAME.txt. Then review and commit.
#   bash scripts/device/unpack-runs.sh /work/.device/N 2026-12-03-call-1
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: unpack-runs.sh FILES_DIR LOG_NAME   (e.g. /work/.device/3 2026-12-03-call-1)" >&2; exit 2; }
files=$1; name=$2; dest=data/experiments/gpu
[ -d "$dest" ] || { echo "unpack-runs.sh: run from the repository root (no $dest here)" >&2; exit 2; }
[ -f "$files/log.txt" ] && { [ -e "$dest/logs/$name.txt" ] && { echo "unpack-runs.sh: $dest/logs/$name.txt exists; choose another name" >&2; exit 2; }; grep -v 'cp: warning' "$files/log.txt" > "$dest/logs/$name.txt"; echo "log: $dest/logs/$name.txt"; }
[ -f "$files/runs.tar.gz" ] || { echo "unpack-runs.sh: no $files/runs.tar.gz (the call finished no run)"; exit 0; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tar -xzf "$files/runs.tar.gz" -C "$tmp" || { echo "unpack-runs.sh: $files/runs.tar.gz is damaged; nothing was copied" >&2; exit 1; }
for d in "$tmp"/*/; do
  n=$(basename "$d")
  case "$n" in *.replaced-*|*.restarted-*) continue ;; esac
  if [ -f "$d/result.json" ]; then kind=new; elif [ -f "$d/diverged.json" ]; then kind="new, diverged"; else continue; fi
  # A committed diverged record gives way to the same run finished since (trained again under a more patient
  # guard: lib/experiments/runs.ts supersededDivergence); git keeps the record.
  if [ -e "$dest/$n" ]; then
    [ "$kind" = new ] && [ -f "$dest/$n/diverged.json" ] && [ ! -f "$dest/$n/result.json" ] || continue
    rm -rf "${dest:?}/$n"; kind="new, replacing a diverged record"
  fi
  rm -rf "$d/checkpoint"
  find "$d" -name metrics.jsonl -exec gzip -n -9 {} \;
  cp -r "${d%/}" "$dest/" && echo "$kind: $dest/$n"
done
