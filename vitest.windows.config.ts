/**
 * The Windows leg on Linux (npm run test:windows): the Windows node.exe under Wine runs the
 * base config, which picks the Windows files itself (process.platform is win32 there). Only
 * what Wine needs differs.
 */
import { defineConfig } from 'vitest/config';

import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // dist/ and the Linux prebuild come from the Linux leg; nothing is built under Wine.
    globalSetup: [],
    // Wine starts processes slowly.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
