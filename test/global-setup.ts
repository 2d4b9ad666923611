/**
 * Runs once before the suite:
 * - builds dist/, so the tests that run the package as a user would (child processes, worker
 *   threads, the CLI) run the code under test, never a stale build;
 * - makes the prebuild for this platform if there is none or it is older than native/
 *   (`npm run prebuildify`), for the package test. It rebuilds build/ too, which is why it runs here, before any test file.
 *   Not when RAWRECV_PREBUILD names another build to load (npm run test:sanitize): that run tests
 *   that build, leaves this checkout's build/ and prebuilds/ alone, and skips the package test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';

import { ownTarget, prebuildPath } from '../scripts/prebuilds.mjs';

export default function setup(): void {
  const require = createRequire(import.meta.url);
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  // node-gyp-build loads $RAWRECV_PREBUILD/build/Release instead of this checkout's build.
  if (process.env.RAWRECV_PREBUILD) return;
  // Every OS: the package test packs the prebuild of this platform. (Under Wine the mingw build
  // of npm run test:windows is there and current: nothing is rebuilt.)
  const prebuild = prebuildPath(ownTarget());
  if (!existsSync(prebuild) || olderThanSources(prebuild)) {
    execFileSync('npm', ['run', 'prebuildify'], { stdio: 'inherit' });
  }
}

/** Whether `file` predates any file of native/ or binding.gyp. */
function olderThanSources(file: string): boolean {
  const built = statSync(file).mtimeMs;
  const sources = ['binding.gyp', ...readdirSync('native').map((name) => `native/${name}`)];
  return sources.some((source) => statSync(source).mtimeMs > built);
}
