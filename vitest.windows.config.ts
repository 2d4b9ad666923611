/**
 * The Windows leg (npm run test:windows): the test files whose expectations cover win32,
 * run with the Windows node.exe under Wine. Linux-only files are not listed (10 and 11, the
 * Linux column of recv-semantics.md; 31, scale with /proc and ulimits; 40-50, the CLI and the
 * package): 12.conformance.win32 is the Windows column (documented Winsock values, Wine's
 * deviations recorded).
 */
import { configDefaults, defineConfig } from 'vitest/config';

import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/00.*.test.ts',
      'test/01.*.test.ts',
      'test/02.*.test.ts',
      'test/03.*.test.ts',
      'test/04.*.test.ts',
      'test/12.conformance.win32.test.ts',
      'test/20.*.test.ts',
      'test/21.*.test.ts',
      'test/30.*.test.ts',
      'test/32.*.test.ts',
    ],
    // Not the base config's exclude, which keeps the *.win32.test.ts files from the Linux run.
    exclude: configDefaults.exclude,
    // dist/ and the Linux prebuild come from the Linux leg; nothing is built under Wine.
    globalSetup: [],
    // Wine starts processes slowly.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
