/**
 * Helpers for the tests that run the built package outside vitest's module graph (a child
 * process, worker threads): they import dist/index.js by absolute file URL, as a user's
 * program would import the package, so dist/ must be built from the current src/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { afterAll, beforeAll } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The built entry point, as a file URL a script outside the repository can import. */
export const DIST_INDEX_URL = pathToFileURL(join(root, 'dist', 'index.js')).href;

/** src/X.ts files whose dist/X.js is missing or older than the source. */
function staleOutputs(): string[] {
  const stale: string[] = [];
  for (const name of readdirSync(join(root, 'src'))) {
    if (!name.endsWith('.ts') || name.endsWith('.d.ts')) continue;
    const output = join(root, 'dist', name.replace(/\.ts$/, '.js'));
    if (!existsSync(output) || statSync(output).mtimeMs < statSync(join(root, 'src', name)).mtimeMs) {
      stale.push(name);
    }
  }
  return stale;
}

/**
 * Builds dist/ with `tsc -p tsconfig.build.json` (which writes only dist/) when it is missing
 * or older than src/; vitest's globalSetup normally has done it already. Throws if it stays stale.
 */
export function ensureDist(): void {
  if (staleOutputs().length === 0) return;
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'pipe' });
  const still = staleOutputs();
  if (still.length > 0) throw new Error(`dist/ is still stale after tsc for: ${still.join(', ')}`);
}

/** A fresh temporary directory and a way to remove it. */
export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Writes an ES module into `dir`; every `__RAWRECV__` in `source` becomes the absolute file URL
 * of dist/index.js. Returns the script's path.
 */
export function writeModule(dir: string, name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source.replaceAll('__RAWRECV__', DIST_INDEX_URL));
  return path;
}

/**
 * For the tests of the file (or describe) that calls it: builds dist/ and makes a temporary
 * folder before them, removes it after them. Returns {@link writeModule} into that folder.
 */
export function moduleFolder(prefix: string): (name: string, source: string) => string {
  let dir: ReturnType<typeof tempDir> | undefined;
  beforeAll(() => {
    ensureDist();
    dir = tempDir(prefix);
  }, 120_000);
  afterAll(() => dir?.remove());
  return (name, source) => {
    if (dir === undefined) throw new Error('moduleFolder: a module written before beforeAll');
    return writeModule(dir.path, name, source);
  };
}
