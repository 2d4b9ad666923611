/**
 * The package as users get it: `npm pack` ships dist/, native/, binding.gyp and the
 * prebuild, and installing the tarball into a fresh folder loads that prebuild without
 * calling a compiler.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from './built-package.js';
import { errnoOf } from './helpers.js';

const root = new URL('..', import.meta.url).pathname;
const prebuild = `prebuilds/${process.platform}-${process.arch}/rawrecv.node`;
const temp = tempDir('rawrecv-pack-');
const work = temp.path;
let tarball = '';
let files: string[] = [];

beforeAll(() => {
  // globalSetup made sure the prebuild exists (npm run prebuildify).
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
    }),
  ) as { filename: string; files: { path: string }[] }[];
  const first = packed[0];
  if (!first) throw new Error('npm pack reported nothing');
  tarball = join(work, first.filename);
  files = first.files.map((file) => file.path);
}, 120_000);

afterAll(() => temp.remove());

describe('npm pack', () => {
  it('ships dist/ (with the CLI), native/, binding.gyp, the report schema and the prebuild for this platform', () => {
    for (const path of [
      'package.json',
      'README.md',
      'binding.gyp',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'schema/probe-report.schema.json',
    ]) {
      expect(files).toContain(path);
    }
    for (const path of ['native/platform.h', 'native/posix.cc', 'native/win32.cc', 'native/addon.cc', prebuild]) {
      expect(files).toContain(path);
    }
  });

  it('ships no tests, sources of the build, or build output', () => {
    expect(files.filter((path) => /^(test|bench|src|build|scripts|\.ci)\//.test(path))).toEqual([]);
  });

  it('its type declarations show no internals (stripInternal): no adopt, PLATFORM, handleCount, ownership or Poller', () => {
    // Every declaration file a user's compiler reads: dist/index.d.ts and what it imports.
    const reachable = new Set<string>();
    const visit = (path: string): void => {
      if (reachable.has(path)) return;
      reachable.add(path);
      const text = readFileSync(join(root, path), 'utf8');
      for (const [, relative] of text.matchAll(/from '(\.[^']+)\.js'/g)) {
        visit(join(dirname(path), `${relative}.d.ts`));
      }
    };
    visit('dist/index.d.ts');
    for (const path of reachable) expect(files).toContain(path);
    const internals =
      /\b(adopt|handleCount|own|disown|onClosedElsewhere|readinessOf|untilReady)\(|\bPLATFORM\b|\bPoller\??:|\bReadiness\b|unique symbol|\bkUntilReady\b|\bkNonBlocking\b/;
    const leaks = [...reachable].flatMap((path) =>
      readFileSync(join(root, path), 'utf8')
        .split('\n')
        .filter((line) => internals.test(line) && !/^\s*(\/\*\*|\*)/.test(line))
        .map((line) => `${path}: ${line.trim()}`),
    );
    expect(leaks).toEqual([]);
    // The constructors are private: `new Socket()` does not type-check.
    expect(readFileSync(join(root, 'dist/socket.d.ts'), 'utf8')).toContain('private constructor();');
  });
});

describe('installing the tarball', () => {
  it('loads the prebuild without a compiler and answers a recv', () => {
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // Any attempt to compile fails: no compiler, and node-gyp itself is /bin/false.
    const env = { ...process.env, CC: '/bin/false', CXX: '/bin/false', npm_config_node_gyp: '/bin/false' };
    execFileSync('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app, env, stdio: 'pipe' });
    expect(existsSync(join(app, 'node_modules/rawrecv/build'))).toBe(false);
    const script = `
      import { Socket } from 'rawrecv';
      const [a, b] = Socket.pair();
      a.setBlocking(false);
      console.log(JSON.stringify(a.recv(1)));
      a.close(); b.close();`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(JSON.parse(output)).toEqual({ kind: 'would-block', ret: -1, errno: errnoOf('EAGAIN'), code: 'EAGAIN' });
  }, 120_000);
});
