import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Examples import 'rawrecv' as a user would; under test that is the source tree.
    alias: { rawrecv: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // *.win32.test.ts assert Windows' own values (recv-semantics.md's Windows column): only the
    // Windows leg (vitest.windows.config.ts) runs them, so they are never even collected here.
    exclude: [...configDefaults.exclude, 'test/**/*.win32.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // A native addon and real file descriptors: one process per test file, so a
    // crash or an fd leak is pinned to the file that caused it.
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
