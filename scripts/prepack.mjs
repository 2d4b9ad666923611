// prepack (npm pack, npm publish): refuses to pack unless every expected prebuild is there, so
// that no tarball goes out that would have to compile on install.
//
// - Expected: $RAWRECV_PREBUILDS, a list of targets ("linux-x64-glibc darwin-arm64 ...") or
//   "all" (every target of a release, scripts/prebuilds.mjs; the release job sets it). Unset:
//   this machine's own target, which is built first (npm run prebuildify) when it is missing or
//   older than native/ or binding.gyp. A listed target is never built here: it must be present.
// - Every Linux prebuild present must pass scripts/check-prebuild.mjs (only the C library,
//   glibc <= 2.28), and none may be untagged (prebuilds/linux-*/rawrecv.node would be loaded on
//   musl and glibc alike).
// Exits 1 with the list of what is wrong; prints the prebuilds the tarball will hold. Everything
// goes to stderr: stdout is npm pack's own (--json).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import console from 'node:console';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

import { ownTarget, prebuildPath, RELEASE_TARGETS, targetOf } from './prebuilds.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);

function refuse(lines) {
  process.stderr.write(`rawrecv prepack: refusing to pack:\n${lines.map((line) => `  ${line}\n`).join('')}`);
  process.exit(1);
}

function olderThanSources(file) {
  const built = statSync(file).mtimeMs;
  const sources = ['binding.gyp', ...readdirSync('native').map((name) => join('native', name))];
  return sources.some((source) => statSync(source).mtimeMs > built);
}

const listed = (process.env.RAWRECV_PREBUILDS ?? '').trim();
let expected;
if (listed === '') {
  const own = prebuildPath(ownTarget());
  if (!existsSync(own) || olderThanSources(own)) {
    console.error(`rawrecv prepack: building ${own} (npm run prebuildify)`);
    // Its output goes to stderr: stdout is npm pack's (--json).
    execFileSync(process.execPath, ['scripts/prebuildify.mjs'], { stdio: ['ignore', 2, 2] });
  }
  expected = [ownTarget()];
} else {
  expected = listed === 'all' ? RELEASE_TARGETS : listed.split(/[\s,]+/);
  const unknown = expected.filter((target) => !RELEASE_TARGETS.includes(target));
  if (unknown.length > 0)
    refuse([`unknown target ${unknown.join(', ')} in RAWRECV_PREBUILDS (${RELEASE_TARGETS.join(' ')})`]);
}

const present = existsSync('prebuilds')
  ? readdirSync('prebuilds', { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((entry) => readdirSync(join('prebuilds', entry.name)).map((name) => `prebuilds/${entry.name}/${name}`))
      .filter((path) => path.endsWith('.node'))
  : [];
const problems = [];
for (const target of expected) {
  if (!existsSync(prebuildPath(target))) problems.push(`missing ${prebuildPath(target)} (${target})`);
}
for (const path of present) {
  if (targetOf(path) === undefined || /^prebuilds\/linux-[^/]+\/rawrecv\.node$/.test(path)) {
    problems.push(
      `${path}: not a prebuild name node-gyp-build should pick (Linux ones are tagged glibc or musl): remove it`,
    );
  }
}
const linux = present.filter((path) => path.startsWith('prebuilds/linux-') && targetOf(path) !== undefined);
if (linux.length > 0) {
  try {
    execFileSync(process.execPath, ['scripts/check-prebuild.mjs', ...linux], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    problems.push(...(output ? output.split('\n') : [`scripts/check-prebuild.mjs failed: ${error.message}`]));
  }
}
if (problems.length > 0) {
  refuse([
    ...problems,
    'Each platform builds its own with `npm run prebuildify`; the release job of .github/workflows/ci.yml',
    'builds every target and packs with RAWRECV_PREBUILDS=all.',
  ]);
}
console.error(`rawrecv prepack: prebuilds: ${present.map((path) => targetOf(path)).join(', ')}`);
