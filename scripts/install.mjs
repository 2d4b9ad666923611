// The package's install script: node-gyp-build, which loads a prebuild that fits this system
// (prebuilds/) and otherwise compiles the addon with node-gyp. When that fails too, one message
// says what this package has prebuilds for and how to build from source; the install still fails.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const result = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) {
  // This system as node-gyp-build sees it (it honours the same variables).
  const platform = process.env.npm_config_platform || process.platform;
  const arch = process.env.npm_config_arch || process.arch;
  const libc = process.env.LIBC || (existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  const here = platform === 'linux' ? `${platform}-${arch} (${libc})` : `${platform}-${arch}`;
  const prebuilds = join(root, 'prebuilds');
  const available = existsSync(prebuilds)
    ? readdirSync(prebuilds, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .flatMap((tuple) =>
          readdirSync(join(prebuilds, tuple))
            .filter((name) => name.endsWith('.node'))
            .map((name) => {
              const libcTag = /\.(glibc|musl)\.node$/.exec(name)?.[1];
              return libcTag === 'glibc' ? `${tuple} (glibc 2.28+)` : libcTag ? `${tuple} (${libcTag})` : tuple;
            }),
        )
    : [];
  process.stderr.write(
    [
      '',
      `rawrecv: no prebuilt addon fits ${here}, and building it from source failed (output above).`,
      `  Prebuilt in this package: ${available.length > 0 ? available.join(', ') : 'none'}.`,
      '  To build from source, install Python 3, make and a C++17 compiler, then run `npm rebuild rawrecv`:',
      '    Debian/Ubuntu: apt-get install python3 make g++    Alpine: apk add python3 make g++',
      '    RHEL/Fedora: dnf install python3 make gcc-c++      macOS: xcode-select --install',
      '    Windows: Visual Studio Build Tools with "Desktop development with C++"',
      '  More: https://github.com/rawrecv/rawrecv#install',
      '',
    ].join('\n'),
  );
  process.exit(result.status ?? 1);
}
