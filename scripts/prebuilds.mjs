// What a prebuild is called and which ones a release ships: one place for npm run prebuildify
// (scripts/prebuildify.mjs), the prepack check (scripts/prepack.mjs) and the tests.
//
// node-gyp-build picks prebuilds/<platform>-<arch>/*.node by file name. On Linux the name carries
// the C library (prebuildify --tag-libc): rawrecv.glibc.node and rawrecv.musl.node, so a musl
// system never loads the glibc build and the other way round. Elsewhere it is rawrecv.node.
import { existsSync } from 'node:fs';
import process from 'node:process';

/** Every prebuild a release ships (the release job of .github/workflows/ci.yml builds them). */
export const RELEASE_TARGETS = [
  'linux-x64-glibc',
  'linux-x64-musl',
  'linux-arm64-glibc',
  'darwin-x64',
  'darwin-arm64',
  'win32-x64',
];

/** The C library of this system as node-gyp-build decides it: $LIBC, else musl on Alpine. */
export function libcHere() {
  return process.env.LIBC || (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
}

/** This system's target: "linux-x64-glibc", "darwin-arm64", ... */
export function ownTarget() {
  const base = `${process.platform}-${process.arch}`;
  return process.platform === 'linux' ? `${base}-${libcHere()}` : base;
}

/** "linux-x64-musl" -> "prebuilds/linux-x64/rawrecv.musl.node"; "win32-x64" -> ".../rawrecv.node". */
export function prebuildPath(target) {
  const [platform, arch, libc] = target.split('-');
  return `prebuilds/${platform}-${arch}/rawrecv.${libc ? `${libc}.` : ''}node`;
}

/** "prebuilds/linux-x64/rawrecv.musl.node" -> "linux-x64-musl"; undefined for another name. */
export function targetOf(path) {
  const match = /^prebuilds\/([a-z0-9]+)-([a-z0-9]+)\/rawrecv\.(?:(glibc|musl)\.)?node$/.exec(path);
  if (!match) return undefined;
  const [, platform, arch, libc] = match;
  return [platform, arch, libc].filter(Boolean).join('-');
}
