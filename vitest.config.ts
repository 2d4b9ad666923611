import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Examples import 'rawrecv' as a user would; under test that is the source tree.
    alias: { rawrecv: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // A native addon and real file descriptors: one process per test file, so a
    // crash or an fd leak is pinned to the file that caused it.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
