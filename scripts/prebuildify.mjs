// npm run prebuildify: this platform's N-API prebuild, made by prebuildify (node-gyp rebuild,
// stripped) into prebuilds/<platform>-<arch>/ (scripts/prebuilds.mjs names it). On Linux the
// file is tagged with its C library (--tag-libc) and then checked like the prepack check does:
// only the C library, glibc <= 2.28 (scripts/check-prebuild.mjs). Arguments go to prebuildify.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import console from 'node:console';
import process from 'node:process';
import { URL } from 'node:url';

import { libcHere, ownTarget, prebuildPath } from './prebuilds.mjs';

const require = createRequire(import.meta.url);
const prebuildify = require.resolve('prebuildify/bin.js');
const linux = process.platform === 'linux';
const args = ['--napi', '--strip', ...(linux ? ['--tag-libc'] : []), ...process.argv.slice(2)];
// prebuildify reads the C library from PREBUILD_LIBC; node-gyp-build from LIBC: one answer.
const env = { ...process.env, PREBUILD_LIBC: libcHere() };
execFileSync(process.execPath, [prebuildify, ...args], { stdio: 'inherit', env });
const file = prebuildPath(ownTarget());
console.log(`prebuildify: ${file}`);
if (linux) {
  execFileSync(process.execPath, [new URL('check-prebuild.mjs', import.meta.url).pathname, file], {
    stdio: 'inherit',
  });
}
