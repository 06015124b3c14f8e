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

# train NAME PRESET SECONDS [flags…]: `mla bench train` (the library's trainer) on WebGPU at the 35M shape (batch 8,
# sequence 1024, 3 warm-up steps then up to 37 timed, at most SECONDS of training) on the packed token file, its
# record in $R/NAME.json; $R and $D (the data folder) are the caller's. A caller may define `later` to skip
# stages past its time budget.
train() {
  local name=$1 preset=$2 secs=$3
  shift 3
  if declare -F later >/dev/null; then later "$name" || return 0; fi
  stage "$name" $((secs + 60)) node dist/cli/main.js bench train --backend webgpu --preset "$preset" --tokens-file "$D/train-v10000.u16" \
    --batch 8 --seq 1024 --warmup 3 --steps 37 --max-seconds "$secs" --out "$R/$name.json" "$@"
}

# decode NAME OUTFILE CONTEXTS [flags…]: `mla bench decode` on WebGPU, every cache mode, for the two 35M RoPE presets
# (batch 1 unless a flag says otherwise), one record per preset merged into OUTFILE as a JSON list.
decode() {
  local name=$1 out=$2 contexts=$3
  shift 3
  if declare -F later >/dev/null; then later "$name" || return 0; fi
  local p files=()
  for p in 35m-mha-rope 35m-mla-rope; do
    stage "$name-$p" 150 node dist/cli/main.js bench decode --backend webgpu --preset "$p" --cache all --contexts "$contexts" \
      --steps 20 --warmup 3 --out "/tmp/$name-$p.json" "$@" && files+=("/tmp/$name-$p.json")
  done
  python3 -c 'import json,sys; json.dump([json.load(open(f)) for f in sys.argv[2:]], open(sys.argv[1], "w"), indent=1)' "$out" "${files[@]}"
}
