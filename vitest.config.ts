import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The files whose expectations cover Windows (Winsock's numbers, Wine's deviations recorded):
 * what runs on win32, under Wine (npm run test:windows) or on a Windows machine. 13.conformance
 * runs the scenario catalogue against this platform's table of docs/recv-semantics.md#scenarios
 * (test/expectations/win32.ts here), 12.conformance.win32 what steps cannot express on Windows,
 * 14 the AF_UNIX path API (stream sockets only on Windows).
 * The others are POSIX-only: 10 and 11 the Linux details beyond the steps, 31 uses /proc and
 * ulimits, 22 starts npm (npm run example), 33 and 40-51 the POSIX probe, CLI and package (51 reads the Linux prebuild's ELF).
 */
const WINDOWS_FILES = [
  'test/00.*.test.ts',
  'test/01.*.test.ts',
  'test/02.*.test.ts',
  'test/03.*.test.ts',
  'test/04.*.test.ts',
  'test/12.conformance.win32.test.ts',
  'test/13.*.test.ts',
  'test/14.*.test.ts',
  'test/20.*.test.ts',
  'test/21.*.test.ts',
  'test/30.*.test.ts',
  'test/32.*.test.ts',
  'test/38.recvmsg.win32.test.ts',
];
const windows = process.platform === 'win32';
/**
 * Linux-only files, left out on macOS and the BSDs: 31 reads /proc/self/limits and counts
 * /proc/self/fd; the fuzzer (60) checks every descriptor's /proc/self/fd link after each step;
 * 35 to 37 check the control messages and the error queue that Linux has (UDP_GRO, SO_PASSCRED,
 * IP_RECVERR), against /sys and /proc.
 */
const LINUX_ONLY = [
  'test/31.*.test.ts',
  'test/60.*.test.ts',
  'test/35.*.test.ts',
  'test/36.*.test.ts',
  'test/37.*.test.ts',
];

export default defineConfig({
  resolve: {
    // Examples import 'rawrecv' as a user would; under test that is the source tree.
    alias: { rawrecv: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: windows ? WINDOWS_FILES : ['test/**/*.test.ts'],
    // *.win32.test.ts assert Windows' own values: elsewhere they are not even collected.
    exclude: windows
      ? configDefaults.exclude
      : [...configDefaults.exclude, 'test/**/*.win32.test.ts', ...(process.platform === 'linux' ? [] : LINUX_ONLY)],
    globalSetup: ['test/global-setup.ts'],
    // A native addon and real file descriptors: one process per test file, so a
    // crash or an fd leak is pinned to the file that caused it.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
