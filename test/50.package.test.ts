/**
 * The package as users get it. `npm pack` (with its prepack check) ships dist/, native/,
 * binding.gyp, the prebuild, the docs, the examples and the project's files, and nothing that
 * points at what it does not ship; the prepack check refuses a tarball without an expected
 * prebuild. Installing the tarball into a clean project with the compiler disabled loads the
 * prebuild; where no prebuild fits, the install fails with one message that says what to do.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ownTarget, prebuildPath } from '../scripts/prebuilds.mjs';
import { tempDir } from './built-package.js';
import { errnoOf } from './helpers.js';

const root = new URL('..', import.meta.url).pathname;
const prebuild = prebuildPath(ownTarget());
const temp = tempDir('rawrecv-pack-');
const work = temp.path;
let tarball = '';
let files: string[] = [];
/** The tarball's package.json, as the registry will show it. */
let manifest: Record<string, unknown> = {};

/** Any attempt to compile fails: no compiler, and node-gyp itself is /bin/false. */
const NO_COMPILER = { CC: '/bin/false', CXX: '/bin/false', npm_config_node_gyp: '/bin/false' };

/** A clean project in `work/<name>`. */
function cleanProject(name: string): string {
  const app = join(work, name);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  return app;
}

function install(app: string, env: Record<string, string>): { status: number | null; output: string } {
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', tarball], {
    cwd: app,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 110_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

beforeAll(() => {
  // As a user of the repository would: the prepack check runs (globalSetup made the prebuild).
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ) as { filename: string; files: { path: string }[] }[];
  const first = packed[0];
  if (!first) throw new Error('npm pack reported nothing');
  tarball = join(work, first.filename);
  files = first.files.map((file) => file.path);
  manifest = JSON.parse(
    execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }),
  ) as Record<string, unknown>;
}, 120_000);

afterAll(() => temp.remove());

describe('npm pack', () => {
  it('ships dist/ (with the CLI), native/, binding.gyp, the report schema, the install script and the prebuild for this platform', () => {
    for (const path of [
      'package.json',
      'binding.gyp',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'schema/probe-report.schema.json',
      'scripts/install.mjs',
      'native/platform.h',
      'native/posix.cc',
      'native/win32.cc',
      'native/addon.cc',
      prebuild,
    ]) {
      expect(files).toContain(path);
    }
  });

  it('ships the project files, docs/ and examples/: README, LICENSE, CHANGELOG, SECURITY, CONTRIBUTING', () => {
    for (const path of ['README.md', 'LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'CONTRIBUTING.md']) {
      expect(files).toContain(path);
    }
    const tracked = execFileSync('git', ['ls-files', 'docs', 'examples'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    expect(tracked.length).toBeGreaterThan(4);
    for (const path of tracked) expect(files).toContain(path);
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) \d{4} rawrecv contributors\n/,
    );
  });

  it('package.json names the repository, homepage, bug tracker, author and license', () => {
    expect(manifest).toMatchObject({
      repository: { type: 'git', url: 'git+https://github.com/rawrecv/rawrecv.git' },
      homepage: 'https://github.com/rawrecv/rawrecv#readme',
      bugs: { url: 'https://github.com/rawrecv/rawrecv/issues' },
      author: 'rawrecv contributors',
      license: 'MIT',
    });
  });

  it('ships no tests, sources of the build, build output or scripts but the install script', () => {
    expect(files.filter((path) => /^(test|bench|src|build|\.ci|\.github)\//.test(path))).toEqual([]);
    expect(files.filter((path) => path.startsWith('scripts/'))).toEqual(['scripts/install.mjs']);
  });

  it('ships no source maps and no reference to one (their TypeScript sources are not shipped)', () => {
    expect(files.filter((path) => /\.(js|ts)\.map$/.test(path))).toEqual([]);
    const javascript = files.filter((path) => path.endsWith('.js'));
    expect(javascript.length).toBeGreaterThan(10);
    const referencing = javascript.filter((path) =>
      readFileSync(join(root, path), 'utf8').includes('sourceMappingURL'),
    );
    expect(referencing).toEqual([]);
  });

  it('every relative link of its Markdown files points at a file it ships', () => {
    const markdown = files.filter((path) => path.endsWith('.md'));
    expect(markdown).toContain('README.md');
    const dead: string[] = [];
    let checked = 0;
    for (const path of markdown) {
      const text = readFileSync(join(root, path), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (!target || /^(https?:|mailto:|#)/.test(target)) continue;
        const file = normalize(join(dirname(path), target.replace(/#.*$/, ''))).replace(/\/$/, '');
        checked++;
        const shipped = files.includes(file) || files.some((shippedFile) => shippedFile.startsWith(`${file}/`));
        if (!shipped) dead.push(`${path}: ${target}`);
      }
    }
    expect(checked).toBeGreaterThan(5);
    expect(dead).toEqual([]);
  });

  it('its type declarations show no internals (stripInternal): no adopt, PLATFORM, handleCount, ownership or poller', () => {
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
      /\b(adopt|handleCount|own|disown|onClosedElsewhere|readinessOf|untilReady)\(|\bPLATFORM\b|\b[Pp]oller\??:|\bReadiness\b|unique symbol|\bkUntilReady\b|\bkNonBlocking\b/;
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

  it('refuses to pack when an expected prebuild is missing, and names it', () => {
    const result = spawnSync('npm', ['pack', '--dry-run', '--json'], {
      cwd: root,
      env: { ...process.env, RAWRECV_PREBUILDS: `${ownTarget()} darwin-arm64` },
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('rawrecv prepack: refusing to pack:');
    expect(result.stderr).toContain('missing prebuilds/darwin-arm64/rawrecv.node (darwin-arm64)');
    expect(result.stderr).not.toContain(`missing ${prebuild}`);
  }, 120_000);
});

describe('installing the tarball', () => {
  it('into a clean project with the compiler disabled: the install script loads the prebuild and a recv answers', () => {
    const app = cleanProject('app');
    const { status, output } = install(app, NO_COMPILER);
    expect({ status, output }).toMatchObject({ status: 0 });
    // The install script ran (npm's banner; npm 11 also names it in a notice about allowScripts) and found the prebuild.
    expect(output).toMatch(/> rawrecv@[\d.]+ install\n> node scripts\/install\.mjs\n/);
    expect(output).not.toContain('rawrecv: no prebuilt addon fits');
    expect(existsSync(join(app, 'node_modules/rawrecv/build'))).toBe(false);
    const script = `
      import { Socket } from 'rawrecv';
      const [a, b] = Socket.pair();
      a.setBlocking(false);
      console.log(JSON.stringify(a.recv(1)));
      a.close(); b.close();`;
    const output2 = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: app,
      encoding: 'utf8',
    });
    expect(JSON.parse(output2)).toEqual({
      kind: 'would-block',
      ret: -1,
      errno: errnoOf('EAGAIN'),
      code: 'EAGAIN',
      portableCode: 'EAGAIN',
    });
  }, 120_000);

  it('where no prebuild fits and nothing can compile: the install fails with one message naming the prebuilt platforms', () => {
    const app = cleanProject('elsewhere');
    // node-gyp-build and the install script read the target from npm_config_arch: an arch with no prebuild here.
    const arch = process.arch === 'arm64' ? 'x64' : 'arm64';
    const { status, output } = install(app, { ...NO_COMPILER, npm_config_arch: arch });
    expect(status).not.toBe(0);
    const [platform, ownArch, libc] = ownTarget().split('-');
    const elsewhere = libc ? `${platform}-${arch} (${libc})` : `${platform}-${arch}`;
    const prebuilt = libc
      ? `${platform}-${ownArch} (${libc === 'glibc' ? 'glibc 2.28+' : libc})`
      : `${platform}-${ownArch}`;
    expect(output.split('rawrecv: no prebuilt addon fits').length - 1).toBe(1);
    expect(output).toContain(
      `rawrecv: no prebuilt addon fits ${elsewhere}, and building it from source failed (output above).`,
    );
    expect(output).toContain(`Prebuilt in this package: ${prebuilt}.`);
    expect(output).toContain('then run `npm rebuild rawrecv`');
    expect(existsSync(join(app, 'node_modules/rawrecv/package.json'))).toBe(false);
  }, 120_000);
});
