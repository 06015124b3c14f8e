# Sourced by the device scripts (run-all.sh, run-speed.sh, run-fused.sh, check.sh, diagnose.sh).
# stage NAME SECONDS CMD...: runs CMD under a time limit, banners on stderr (stdout is the command's own), so one
# failing stage costs only its own time.
stage() {
  local name=$1 limit=$2 s rc
  shift 2
  echo "=== $name (limit ${limit}s): $*" >&2
  s=$(date +%s)
  timeout -k 5 "$limit" "$@"
  rc=$?
  echo "=== $name: rc=$rc after $(($(date +%s) - s)) s" >&2
  return $rc
}

# train NAME PRESET SECONDS [flags…]: scripts/device/train-bench.js on the 35M shape (batch 8, sequence 1024, up to
# 40 steps, 3 of warm-up, at most SECONDS of training), its record in $R/NAME.json; $R and $D (the data folder)
# are the caller's. A caller may define `later` to skip stages past its time budget.
train() {
  local name=$1 preset=$2 secs=$3
  shift 3
  if declare -F later >/dev/null; then later "$name" || return 0; fi
  stage "$name" $((secs + 60)) node scripts/device/train-bench.js --preset "$preset" --tokens-file "$D/train-v10000.u16" \
    --batch 8 --seq 1024 --steps 40 --warmup 3 --max-seconds "$secs" --out "$R/$name.json" "$@"
}
