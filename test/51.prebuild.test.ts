/**
 * The Linux prebuild loads wherever Node 20 runs: its dynamic section and symbol versions, read
 * with readelf by scripts/check-prebuild.mjs (the same check the prepack step makes), show only
 * the C library, no libstdc++ / libgcc_s version, and no glibc symbol newer than 2.28 (Node 20's
 * own floor: RHEL 8, Ubuntu 20.04, Debian 10). The check itself is tested on a library that fails
 * it: a C++ shared object linked the usual way, which needs libstdc++ and GLIBCXX_ symbols.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { libcHere, ownTarget, prebuildPath } from '../scripts/prebuilds.mjs';
import { tempDir } from './built-package.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = join(root, 'scripts/check-prebuild.mjs');
const temp = tempDir('rawrecv-elf-');
afterAll(() => temp.remove());

function runCheck(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [check, ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
}

/** Every symbol version the file requires, from `readelf --dyn-syms` directly (not through the check). */
function requiredVersions(file: string): string[] {
  const text = execFileSync('readelf', ['--dyn-syms', '-W', file], { encoding: 'utf8' });
  return [...new Set([...text.matchAll(/\bUND\s+[^\s@]+@([A-Z]+_[\d.]+)/g)].map((match) => match[1] ?? ''))].sort();
}

describe.runIf(process.platform === 'linux')('the Linux prebuild', () => {
  const prebuild = join(root, prebuildPath(ownTarget()));

  it('needs only the C library: no libstdc++, no libgcc_s', () => {
    const dynamic = execFileSync('readelf', ['--dynamic', '-W', prebuild], { encoding: 'utf8' });
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((match) => match[1]);
    expect(needed.length).toBeGreaterThan(0);
    const libc =
      libcHere() === 'musl'
        ? /^(libc\.musl-\w+\.so\.1|libc\.so)$/
        : /^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0)$/;
    expect(needed.filter((library) => !libc.test(library ?? ''))).toEqual([]);
  });

  it('requires no GLIBCXX_, CXXABI_ or GCC_ version and no glibc newer than 2.28', () => {
    const versions = requiredVersions(prebuild);
    // It was read: recv, send, ... are there (musl has no symbol versions at all).
    if (libcHere() === 'musl') expect(versions).toEqual([]);
    else expect(versions).toContain('GLIBC_2.2.5');
    expect(versions.filter((version) => /^(GLIBCXX|CXXABI|GCC)_/.test(version))).toEqual([]);
    const tooNew = versions.filter((version) => {
      const match = /^GLIBC_(\d+)\.(\d+)/.exec(version);
      return match !== null && (Number(match[1]) > 2 || (Number(match[1]) === 2 && Number(match[2]) > 28));
    });
    expect(tooNew).toEqual([]);
  });

  it('exports only the N-API entry points', () => {
    const text = execFileSync('readelf', ['--dyn-syms', '-W', prebuild], { encoding: 'utf8' });
    const defined = text
      .split('\n')
      .filter((line) => /\b(FUNC|OBJECT)\b/.test(line) && !/\bUND\b/.test(line))
      .map((line) => line.trim().split(/\s+/).pop());
    expect(defined.sort()).toEqual(['napi_register_module_v1', 'node_api_module_get_api_version_v1']);
  });

  it('passes scripts/check-prebuild.mjs, the prepack check', () => {
    expect(runCheck(prebuild)).toMatchObject({
      status: 0,
      stdout: `ok: ${prebuild} needs only the C library (no libstdc++, no glibc symbol above 2.28)\n`,
    });
  });

  it('scripts/check-prebuild.mjs fails a C++ library linked the usual way (libstdc++, GLIBCXX_)', () => {
    const source = join(temp.path, 'usual.cc');
    const library = join(temp.path, 'usual.so');
    writeFileSync(
      source,
      '#include <string>\nstd::string usual(const char* text) { return std::string(text) + "!"; }\n',
    );
    execFileSync('g++', ['-shared', '-fPIC', '-O1', '-o', library, source]);
    const result = runCheck(library);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(`${library}: needs libstdc++.so.6`);
    expect(result.stdout).toMatch(new RegExp(`${library}: requires \\S+@GLIBCXX_[\\d.]+ \\(libstdc\\+\\+\\)`));
  });

  it.runIf(libcHere() === 'glibc')('scripts/check-prebuild.mjs fails a glibc version above the limit', () => {
    // The prebuild's newest requirement is above 2.2.5 (e.g. fcntl64@GLIBC_2.28): a lower limit fails it.
    const result = runCheck('--max-glibc', '2.2.5', prebuild);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/requires \S+@GLIBC_2\.\d+ \(newer than glibc 2\.2\.5\)/);
  });
});
