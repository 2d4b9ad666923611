/**
 * The Windows leg (npm run test:windows): the test files whose expectations cover win32,
 * run with the Windows node.exe under Wine. Linux-only conformance files are not listed:
 * their Windows counterparts (documented Winsock values, Wine's deviations recorded) are.
 */
import { defineConfig } from 'vitest/config';

import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/00.*.test.ts', 'test/01.*.test.ts', 'test/02.*.test.ts'],
    // dist/ and the Linux prebuild come from the Linux leg; nothing is built under Wine.
    globalSetup: [],
    // Wine starts processes slowly.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
