// node scripts/check-prebuild.mjs FILE...: whether each Linux addon (ELF shared object) loads
// wherever Node runs, read from its dynamic section and symbol table with binutils' readelf:
//
// - it needs no library but the C library's own (libc, libm, libdl, libpthread, librt, the
//   dynamic loader; for musl, libc.so): no libstdc++, no libgcc_s;
// - no symbol is bound to a GLIBCXX_, CXXABI_ or GCC_ version (libstdc++ / libgcc_s);
// - no symbol is bound to a glibc version newer than --max-glibc (default 2.28, Node 20's own
//   floor: RHEL 8, Ubuntu 20.04, Debian 10).
//
// Prints one line per file ("ok: ..." or each problem) and exits 1 if any file has a problem,
// 2 on a usage error or when readelf is missing. Used by the prepack check (scripts/prepack.mjs)
// and test/51.prebuild.test.ts.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const ALLOWED_LIBRARIES =
  /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|ld-linux-[\w-]+\.so\.\d|libc\.so|libc\.musl-[\w]+\.so\.1)$/;

/** "2.28" -> [2, 28], for comparing versions number by number. */
function parseVersion(text) {
  return text.split('.').map(Number);
}

function newer(a, b) {
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return false;
}

function readelf(args, file) {
  return execFileSync('readelf', [...args, '-W', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The problems of one file, [] when it is portable. */
export function problemsOf(file, maxGlibc = '2.28') {
  const problems = [];
  const dynamic = readelf(['--dynamic'], file);
  for (const [, library] of dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)) {
    if (!ALLOWED_LIBRARIES.test(library)) problems.push(`needs ${library}`);
  }
  const limit = parseVersion(maxGlibc);
  const seen = new Set();
  // Undefined symbols print as "name@VERSION (n)" (defined ones with @@ or none).
  for (const line of readelf(['--dyn-syms'], file).split('\n')) {
    const match = /\bUND\s+([^\s@]+)@([A-Z]+)_([\d.]+)/.exec(line);
    if (!match) continue;
    const [, symbol, library, version] = match;
    const requirement = `${symbol}@${library}_${version}`;
    if (seen.has(requirement)) continue;
    seen.add(requirement);
    if (library === 'GLIBCXX' || library === 'CXXABI' || library === 'GCC') {
      problems.push(`requires ${requirement} (${library === 'GCC' ? 'libgcc_s' : 'libstdc++'})`);
    } else if (library === 'GLIBC' && newer(parseVersion(version), limit)) {
      problems.push(`requires ${requirement} (newer than glibc ${maxGlibc})`);
    }
  }
  return problems;
}

function main(args) {
  let maxGlibc = '2.28';
  const files = [];
  for (let index = 0; index < args.length; index++) {
    if (args[index] === '--max-glibc') maxGlibc = args[++index] ?? '';
    else files.push(args[index]);
  }
  if (files.length === 0 || !/^\d+(\.\d+)*$/.test(maxGlibc)) {
    process.stderr.write('usage: node scripts/check-prebuild.mjs [--max-glibc 2.28] FILE...\n');
    return 2;
  }
  let failed = false;
  for (const file of files) {
    let problems;
    try {
      problems = problemsOf(file, maxGlibc);
    } catch (error) {
      process.stderr.write(`check-prebuild: cannot read ${file} with readelf (binutils): ${error.message}\n`);
      return 2;
    }
    if (problems.length === 0) {
      process.stdout.write(`ok: ${file} needs only the C library (no libstdc++, no glibc symbol above ${maxGlibc})\n`);
    } else {
      failed = true;
      for (const problem of problems) process.stdout.write(`${file}: ${problem}\n`);
    }
  }
  return failed ? 1 : 0;
}

// Run as a script (also through a symlink, or from a path with a space, which the URL escapes).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
