# Sourced by scripts/device/train-speed.sh and train-ab.sh after they set their own PRESETS and SECS: the settings
# both take from the environment (MLA, PYTHON, BATCH, SEQ, LR, BACKEND, TORCH_DEVICE, TOKENS), the output folder,
# the token file's check (naming the calling script), a scratch folder $R and stage.sh's `stage`.
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
MLA=${MLA:-node .device/app/dist/cli/main.js}
PYTHON=${PYTHON:-python3}
BATCH=${BATCH:-8}
SEQ=${SEQ:-1024}
LR=${LR:-1e-5}
BACKEND=${BACKEND:-webgpu}
TORCH_DEVICE=${TORCH_DEVICE:-cuda}
TOKENS=${TOKENS:-.device/data/train-v10000.u16}
[ -f "$TOKENS" ] || { echo "$(basename "$0" .sh): token file $TOKENS is missing: carry .device/data (scripts/device/pack.sh makes it) or set TOKENS" >&2; exit 2; }
R=$(mktemp -d)
source "$(dirname "${BASH_SOURCE[0]}")/stage.sh"
