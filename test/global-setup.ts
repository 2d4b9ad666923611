/**
 * Builds dist/ once before the suite, so the tests that run the package as a user would
 * (child processes, worker threads, the CLI) run the code under test, never a stale build.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

export default function setup(): void {
  const require = createRequire(import.meta.url);
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
