#!/usr/bin/env bash
# Packs an older commit's compiled library beside the current one, for a before/after measurement in one GPU call:
#   bash scripts/device/pack-old.sh COMMIT      → .device/old.tar.xz (old/dist, old/scripts/device, old/package.json)
# There: `tar -xJf .device/old.tar.xz -C .device` and run `.device/old/…` with the bundle's node_modules (found
# up the tree). The device bundle holds only what the current code loads; an older lib/index.js may require more
# at load time (yaml and bullmq, for the sweep modules no benchmark calls), so those get stubs under old/node_modules
# that throw, naming themselves, if anything does call them. Run from the repository root, after pack.sh (which
# wipes .device/).
set -euo pipefail
commit=${1:?usage: bash scripts/device/pack-old.sh COMMIT}
[ -f package.json ] && [ -d .device ] || { echo "pack-old.sh: run from the repository root after scripts/device/pack.sh" >&2; exit 2; }
root=$(pwd)
tree=$(mktemp -d)/old
git worktree add -q --detach "$tree" "$commit"
trap 'git -C "$root" worktree remove --force "$tree"' EXIT
ln -s "$root/node_modules" "$tree/node_modules"
(cd "$tree" && node node_modules/typescript/bin/tsc -p . >/dev/null) || echo "pack-old.sh: tsc reported errors in $commit (dist/ was still emitted)" >&2
stage=$(mktemp -d)
mkdir -p "$stage/old/dist" "$stage/old/scripts"
cp -r "$tree/dist/lib" "$tree/dist/cli" "$stage/old/dist/"
cp -r "$tree/scripts/device" "$stage/old/scripts/"
cp "$tree/package.json" "$stage/old/"
for pkg in yaml bullmq; do
  mkdir -p "$stage/old/node_modules/$pkg"
  cat > "$stage/old/node_modules/$pkg/index.js" <<JS
'use strict';
// A stub: '$pkg' is not in the device bundle, and the old tree loads it only for code no benchmark calls.
module.exports = new Proxy({}, { get: (_, k) => { if (typeof k === 'symbol' || k === '__esModule' || k === 'default') return undefined; throw new Error("'$pkg' is not packed for the device (scripts/device/pack-old.sh stub): " + String(k)); } });
JS
  echo '{"name":"'"$pkg"'","version":"0.0.0-stub","main":"index.js"}' > "$stage/old/node_modules/$pkg/package.json"
done
tar -cJf .device/old.tar.xz -C "$stage" old
rm -rf "$stage"
echo "pack-old.sh: .device/old.tar.xz from $(git rev-parse --short "$commit") ($(du -h .device/old.tar.xz | cut -f1)); add it to carry"
