#!/usr/bin/env bash
# The decode-attention shaders on the GPU (issue 13): `bench decode-check` with each shader of $DC, then each shader
# of $SHADERS against the others per cache mode and batch (MLA_WEBGPU_DECODE_SHADER, the stages named in $AB, in the
# same call), then graph-check. On the GPU machine after `source .device/unpack.sh` and unpacking
# .device/experiment.tar.xz: `bash scripts/device/decode-shaders.sh`, or e.g. the tiled shader against its pipelined
# variant: `DC="piped" SHADERS="tiled piped piped:8" AB="abs-b16 abs-b64" bash scripts/device/decode-shaders.sh`
# (SHADER:U sets MLA_WEBGPU_DECODE_UNROLL=U too, its records NAME-SHADER-uU.json; SHADER+KEY=V sets
# MLA_WEBGPU_DECODE_KEY=V too, e.g. `auto+STEP_ROWS=64`, its records NAME-SHADER-KEYV.json). GC=off skips graph-check.
# $OUT/r.tgz is rewritten after every stage, so a call cut short still brings back what finished, and a second call on
# the warm machine skips the stages whose records exist.
set -uo pipefail
source scripts/device/stage.sh
M=${M:-node .device/app/dist/cli/main.js}
DC=${DC-auto}
SHADERS=${SHADERS:-rows auto}
AB=${AB:-abs-b16 kv-b16 abs-b1 kv-b1 abs-b64 full-b16}
R=/tmp/r; mkdir -p $R/ab
snap() { tar czf $OUT/r.tgz -C /tmp r; }
nvidia-smi --query-gpu=name,memory.total --format=csv > $R/gpu.txt 2>&1
for sh in $DC; do
  [ -f $R/dc-$sh.json ] || MLA_WEBGPU_DECODE_SHADER=$sh stage "decode-check-$sh" 60 $M bench decode-check --backend webgpu --out $R/dc-$sh.json > $R/dc-$sh.txt 2>&1; snap
done
ab() { # NAME PRESET MODE BATCH CONTEXTS LIMIT
  [[ " $AB " == *" $1 "* ]] || return 0
  for v in $SHADERS; do
    local extra=() base=${v%%+*} u=1
    local sh=${base%%:*} tag=${base%%:*}
    [[ $base == *:* ]] && u=${base#*:} && tag=$sh-u$u
    if [[ $v == *+* ]]; then extra=("MLA_WEBGPU_DECODE_${v#*+}"); tag=$tag-$(echo "${v#*+}" | tr -d '=' | tr 'A-Z_' 'a-z-'); fi
    [ -f "$R/ab/$1-$tag.json" ] && continue   # done by an earlier call on this warm machine
    env MLA_WEBGPU_DECODE_SHADER=$sh MLA_WEBGPU_DECODE_UNROLL=$u "${extra[@]}" bash -c 'source scripts/device/stage.sh; stage "$@"' _ "ab-$1-$tag" $6 $M bench decode --preset $2 --set maxSeqLen=32896 --cache $3 \
      --contexts "$5" --batch "$4" --steps 40 --warmup 60 --prefill tiled --sync end --backend webgpu --out "$R/ab/$1-$tag.json" >> $R/ab/log.txt 2>&1; snap
  done
}
ab abs-b16 35m-mla-rope absorbed 16 1024,4096,16384,32768 70
ab kv-b16 35m-mha-rope kv 16 1024,4096,16384,32768 80
ab abs-b1 35m-mla-rope absorbed 1 2048,32768 40
ab kv-b1 35m-mha-rope kv 1 2048,32768 40
ab abs-b64 35m-mla-rope absorbed 64 1024,4096,16384 70
ab kv-b64 35m-mha-rope kv 64 1024,4096 60
ab full-b16 35m-mla-rope full 16 1024,4096,16384,32768 80
[ "${GC:-on}" = off ] || [ -f $R/gc.json ] || MLA_WEBGPU_DECODE_SHADER=${DC%% *} stage graph-check 120 $M bench graph-check --out $R/gc.json > $R/gc.txt 2>&1; snap
