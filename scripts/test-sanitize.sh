#!/usr/bin/env bash
# npm run test:sanitize: the suite (and the fuzzer, test/60.fuzz.test.ts, which is part of it)
# against the addon built with AddressSanitizer and UndefinedBehaviorSanitizer.
#
# 1. binding.gyp and native/ are copied to .cache/sanitize/ and built there by node-gyp with
#    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g -O1
#    (CFLAGS / CXXFLAGS / LDFLAGS, which the Makefile gyp writes appends to binding.gyp's flags).
#    This checkout's build/ and prebuilds/ are never touched. The flags are checked in the
#    compile and link lines (V=1) and in the result (libasan linked, __asan_ and __ubsan_
#    symbols present).
#    libasan is a shared library that must be first in the process: node is not instrumented,
#    so it is LD_PRELOADed. libubsan is linked statically into the addon with its symbols kept
#    private (-static-libubsan -Wl,--exclude-libs,libubsan.a): a shared libubsan loaded beside
#    libasan has its __sanitizer_set_report_path resolved to libasan's, so its UBSAN_OPTIONS
#    log_path is ignored and its reports can only go to stderr.
# 2. node-gyp-build loads $RAWRECV_PREBUILD/build/Release instead of this checkout's build (the
#    <PACKAGE NAME>_PREBUILD variable, node_modules/node-gyp-build/node-gyp-build.js); a node
#    started like vitest is checked to map that very binary and libasan.
# 3. vitest runs with LD_PRELOAD, ASAN_OPTIONS and UBSAN_OPTIONS in its environment, which every
#    process of the run inherits: vitest, its forks, and the node, sh and mkfifo processes that
#    tests start. Reports go to files (log_path=) in a fresh .cache/sanitize/reports/, one per
#    reporting process (asan.<pid>, ubsan.<pid>): a report in a child whose stderr a test
#    swallows still fails the run. The first report ends its process (halt_on_error,
#    -fno-sanitize-recover).
# The run fails when vitest fails or any report file exists; the reports are printed.
#
# Not run here: test/50.package.test.ts. It packs this checkout with the plain prebuild
# (prebuilds/, made by `npm run prebuildify`, which this run must not run: it rebuilds build/)
# and installs the tarball; under RAWRECV_PREBUILD the installed package would load the
# sanitized build instead of the prebuild it ships, so the test could not test what it claims,
# and it exercises npm, not the addon's memory use.
# Nor test/51.prebuild.test.ts: it reads the plain prebuild's dynamic symbols (what it needs to load
# elsewhere), which this run neither builds nor loads; the sanitized build links libasan on purpose.
# Nor the test "where the addon cannot load" of test/43.cli-args.test.ts: it copies dist/ and
# package.json to a folder with no build to show what a user without one gets, but the
# RAWRECV_PREBUILD this run exports reaches its child, which then loads the sanitized build.
#
# Arguments are passed to vitest: `npm run test:sanitize -- test/30.async.test.ts`.
# RAWRECV_SANITIZE_PATCH=<file>: a patch (-p1, paths native/...) applied to the copy before the
# build, e.g. a deliberate bug to check that this leg still catches it (CONTRIBUTING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${RAWRECV_CACHE:-$root/.cache}/sanitize
reports=$cache/reports

step() { printf '== %s\n' "$*"; }
fail() {
  printf 'test-sanitize: %s\n' "$*" >&2
  exit 1
}

# Slower under ASan: the default 20 s of vitest.config.ts (per-test timeouts set in the files
# themselves are longer and stay as they are).
timeout_ms=${RAWRECV_SANITIZE_TIMEOUT:-60000}
# The whole vitest run, in seconds. vitest's timeouts cannot end a test whose thread is stuck in a
# blocking system call (a recv that never returns): past this the run is killed and fails.
deadline=${RAWRECV_SANITIZE_DEADLINE:-1800}

# --- 0. The runtimes, from g++ itself (libgcc-12-dev ships libasan.so and libubsan.a) --------
[ "$(uname -s)" = Linux ] || fail "Linux only (LD_PRELOAD of g++'s libasan, ldd, /proc)"
libasan=$(g++ -print-file-name=libasan.so)
libubsan_a=$(g++ -print-file-name=libubsan.a)
[ -f "$(readlink -f "$libasan")" ] || fail "g++ has no libasan.so ($libasan): install g++'s libgcc-*-dev (libasan8)"
[ -f "$libubsan_a" ] || fail "g++ has no libubsan.a ($libubsan_a): install g++'s libgcc-*-dev"

# --- 1. The sanitized build, in its own directory --------------------------------------------
step "building the addon with ASan + UBSan in $cache"
mkdir -p "$cache"
rm -rf "$cache/native" "$cache/build" "$cache/binding.gyp"
cp -R binding.gyp native "$cache/"
if [ -n "${RAWRECV_SANITIZE_PATCH:-}" ]; then
  step "applying $RAWRECV_SANITIZE_PATCH to the copy (not to native/)"
  patch -p1 -d "$cache" <"$RAWRECV_SANITIZE_PATCH"
fi
# node-gyp run directly reads npm's nodedir setting only from the environment.
if [ -z "${npm_config_nodedir:-}" ]; then
  nodedir=$(npm config get nodedir 2>/dev/null || true)
  case $nodedir in '' | undefined | null) ;; *) export npm_config_nodedir=$nodedir ;; esac
fi
sanitize='-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined'
# binding.gyp runs `node -p "require('node-addon-api')..."` in the copy: resolve from here.
if ! (cd "$cache" &&
  NODE_PATH=$root/node_modules V=1 CFLAGS="$sanitize -g -O1" CXXFLAGS="$sanitize -g -O1" \
    LDFLAGS="-fsanitize=address,undefined -static-libubsan -Wl,--exclude-libs,libubsan.a" \
    "$root/node_modules/.bin/node-gyp" rebuild >build.log 2>&1); then
  cat "$cache/build.log" >&2
  fail "the sanitized build failed (log above, $cache/build.log)"
fi
addon=$cache/build/Release/rawrecv.node
# Every compile and the link carry the flags; the binary has the runtimes in it.
compiles=$(grep -E '^ *g\+\+ .* -c$' "$cache/build.log" || true)
[ -n "$compiles" ] || fail "no compile command in $cache/build.log"
while IFS= read -r line; do
  grep -q -e '-fsanitize=address,undefined .*-fno-sanitize-recover=undefined' <<<"$line" ||
    fail "compiled without the sanitizer flags: $line"
done <<<"$compiles"
grep -E "^ *g\+\+ .*-o Release/obj.target/rawrecv.node -shared.*-fsanitize=address,undefined.*-static-libubsan" \
  "$cache/build.log" >/dev/null || fail "the addon was not linked with the sanitizer flags ($cache/build.log)"
# (Captured first: `grep -q` in a pipe would end nm early, and pipefail would count that.)
libraries=$(ldd "$addon")
dynamic=$(nm -D "$addon")
symbols=$(nm "$addon")
grep -q 'libasan\.so' <<<"$libraries" || fail "$addon does not link libasan"
grep -q ' U __asan_report_load' <<<"$dynamic" || fail "$addon has no ASan instrumentation"
grep -q '__ubsan_handle_add_overflow_abort' <<<"$symbols" || fail "$addon has no UBSan runtime"
grep -q 'libubsan\.so' <<<"$libraries" && fail "$addon links the shared libubsan"
echo "   $(wc -l <<<"$compiles") compile commands and the link with the flags;" \
  "$(grep -c ' U __asan_' <<<"$dynamic") __asan_ imports; UBSan runtime inside"

# --- 2. The environment of the run -----------------------------------------------------------
rm -rf "$reports"
mkdir -p "$reports"
export RAWRECV_PREBUILD=$cache
export LD_PRELOAD=$libasan${LD_PRELOAD:+:$LD_PRELOAD}
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:print_summary=1:log_path=$reports/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1:print_summary=1:log_path=$reports/ubsan"

# The binary a test file loads (src/addon.ts: node-gyp-build on the package root) is the sanitized
# one, and libasan is in the process.
node -e '
  const { readFileSync } = require("node:fs");
  const path = require("node-gyp-build").path(process.argv[1]);
  require(path);
  const maps = new Set(readFileSync("/proc/self/maps", "utf8").split("\n").map((line) => line.split(/\s+/)[5]).filter(Boolean));
  const addon = [...maps].filter((file) => file.endsWith(".node"));
  const asan = [...maps].filter((file) => /libasan\.so/.test(file));
  console.log("   loaded: " + addon.join(", ") + " with " + asan.join(", "));
  if (addon.length !== 1 || addon[0] !== process.argv[2] || asan.length === 0) process.exit(1);
' "$root" "$(readlink -f "$addon")" || fail "node does not load $addon with libasan"

# --- 3. The suite ----------------------------------------------------------------------------
step "vitest with ASan + UBSan (reports: $reports)"
status=0
# timeout(1) signals its whole process group: vitest, its forks and their children.
timeout --kill-after=30 "$deadline" node node_modules/vitest/vitest.mjs run --exclude test/50.package.test.ts \
  --exclude test/51.prebuild.test.ts \
  --testNamePattern '^(?!.*where the addon cannot load)' \
  --testTimeout "$timeout_ms" --hookTimeout "$timeout_ms" "$@" || status=$?
if [ $status -eq 124 ] || [ $status -eq 137 ]; then
  echo "test-sanitize: vitest still running after ${deadline} s (RAWRECV_SANITIZE_DEADLINE): killed;" \
    "a test is stuck, e.g. in a blocking recv (see the files vitest had not finished above)" >&2
fi

found=$(find "$reports" -type f | wc -l)
if [ "$found" -gt 0 ]; then
  step "sanitizer reports"
  find "$reports" -type f -print0 | sort -z | while IFS= read -r -d '' report; do
    printf -- '--- %s\n' "$report"
    cat "$report"
  done
  fail "$found sanitizer report(s) in $reports (vitest exited $status)"
fi
[ $status -eq 0 ] || fail "vitest exited $status"
step "no sanitizer reports"
