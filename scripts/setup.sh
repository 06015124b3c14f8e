#!/usr/bin/env bash
# One-time (idempotent) setup of MLA Lab on Debian/Ubuntu or macOS:
#   1. system packages: OpenBLAS for the native CPU kernels, Jupyter's headless client for the notebooks,
#      Chromium for rendering figures to PNG/SVG (apt, when run as root; otherwise it prints what to install);
#   2. npm dependencies (npm ci), which also builds the native addon and compiles the TypeScript (postinstall);
#   3. the project's own Jupyter kernel spec for tslab (nothing global).
# Set MLA_SKIP_APT=1 to skip step 1 (e.g. when the packages come from elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libopenblas-dev jupyter-nbconvert jupyter-notebook jupyter-client python3-nbclient python3-ipykernel chromium fonts-dejavu-core)

missing_apt() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

if [ "${MLA_SKIP_APT:-0}" != 1 ] && command -v dpkg-query >/dev/null; then
  missing=$(missing_apt)
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "setup: installing system packages: $(echo $missing)"
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
    else
      echo "setup: missing system packages: $(echo $missing)"
      echo "setup: install them with: sudo apt-get install $(echo $missing)   (then rerun)"
    fi
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
else
  # Dependencies are current; still make sure the native addon and dist/ are built.
  npm run --silent postinstall
fi

echo "setup: done"
