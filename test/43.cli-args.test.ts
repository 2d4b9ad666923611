/**
 * The `rawrecv` command line: every bad-input path of the argument parser is exit 2 with one
 * line on stderr and no stack trace; --help and --version work; the package declares the bin
 * and the start script. Child processes of dist/cli/main.js, as a user runs it.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import { InputError, parseHostPort } from '../src/cli/args.js';
import { parseScript } from '../src/cli/serve.js';
import { colorEnabled } from '../src/cli/style.js';
import { tempDir } from './built-package.js';
import { CLI, fixture, PACKAGE, runCli, type CliResult } from './fixtures/run-cli.js';
import { guardFds } from './helpers.js';

guardFds();

/** [arguments, what the one line must say]: each must exit 2. */
const BAD: readonly [string[], RegExp][] = [
  [[], /^rawrecv: missing command: probe, diff, watch or serve/],
  [['bogus'], /^rawrecv: unknown command 'bogus'/],
  [['--bogus'], /^rawrecv: unknown option '--bogus'/],
  [['probe', '--bogus'], /^rawrecv probe: unknown option '--bogus'/],
  [['probe', '--json=yes'], /^rawrecv probe: option '--json' does not take an argument/],
  [['probe', 'extra'], /^rawrecv probe: unexpected argument 'extra'/],
  [['probe', '--only'], /^rawrecv probe: option '--only <value>' argument missing/],
  [
    ['probe', '--only', 'tcp.nope'],
    /^rawrecv probe: unknown scenario id: tcp\.nope \(rawrecv probe --list shows the ids\)/,
  ],
  [['probe', '--only', 'tcp.fin,tcp.nope,udp.nah'], /^rawrecv probe: unknown scenario ids: tcp\.nope, udp\.nah/],
  [['probe', '--only', 'tcp.fin,,udp.idle'], /^rawrecv probe: --only takes scenario ids, comma-separated/],
  [['diff'], /^rawrecv diff: needs two report files \(rawrecv diff A\.json B\.json\), got 0/],
  [['diff', 'a.json'], /^rawrecv diff: needs two report files .* got 1/],
  [['diff', '--bogus', 'a.json', 'b.json'], /^rawrecv diff: unknown option '--bogus'/],
  [['watch'], /^rawrecv watch: needs HOST:PORT/],
  [['watch', '127.0.0.1:80', '127.0.0.1:81'], /^rawrecv watch: takes one HOST:PORT, got 2 arguments/],
  [['watch', 'localhost'], /^rawrecv watch: 'localhost' is not HOST:PORT/],
  [['watch', '::1:80'], /^rawrecv watch: '::1:80': an IPv6 address goes in brackets, as in \[::1\]:80/],
  [['watch', '127.0.0.1:'], /^rawrecv watch: '127\.0\.0\.1:' has no port/],
  [['watch', ':80'], /^rawrecv watch: ':80' has no host/],
  [['watch', '[::1]:'], /^rawrecv watch: '\[::1\]:' has no port/],
  [['watch', '127.0.0.1:0'], /^rawrecv watch: the port must be between 1 and 65535, not 0/],
  [['watch', '127.0.0.1:65536'], /^rawrecv watch: the port must be between 1 and 65535, not 65536/],
  [['watch', '127.0.0.1:http'], /^rawrecv watch: the port must be an integer, not 'http'/],
  [
    ['watch', '127.0.0.1:80', '--mode', 'fast'],
    /^rawrecv watch: --mode must be nonblocking, blocking, timeout=MS or async/,
  ],
  [
    ['watch', '127.0.0.1:80', '--mode', 'timeout=0'],
    /^rawrecv watch: the timeout of --mode timeout=MS must be between 1/,
  ],
  [
    ['watch', '127.0.0.1:80', '--mode', 'timeout='],
    /^rawrecv watch: the timeout of --mode timeout=MS must be an integer/,
  ],
  [['watch', '127.0.0.1:80', '--mode'], /^rawrecv watch: option '--mode <value>' argument missing/],
  [['watch', '127.0.0.1:80', '--length', '0'], /^rawrecv watch: --length must be between 1 and 16777216, not 0/],
  [['watch', '127.0.0.1:80', '--length', 'lots'], /^rawrecv watch: --length must be an integer, not 'lots'/],
  [['watch', '127.0.0.1:80', '--length=-5'], /^rawrecv watch: --length must be between 1 and 16777216, not -5/],
  [['watch', '127.0.0.1:80', '--interval', '1.5'], /^rawrecv watch: --interval must be an integer, not '1\.5'/],
  [['watch', '127.0.0.1:80', '--bogus'], /^rawrecv watch: unknown option '--bogus'/],
  [['serve'], /^rawrecv serve: needs --script/],
  [['serve', '--script', ''], /^rawrecv serve: --script is empty/],
  [
    ['serve', '--script', 'send:hi;explode'],
    /^rawrecv serve: bad script step 2 'explode': steps are send:TEXT, wait:MS/,
  ],
  [['serve', '--script', 'wait:soon'], /^rawrecv serve: bad script step 1 'wait:soon': wait needs milliseconds/],
  [
    ['serve', '--script', 'wait:3600001'],
    /^rawrecv serve: bad script step 1 'wait:3600001': wait is at most 3600000 ms/,
  ],
  [
    ['serve', '--script', 'shutdown:sideways'],
    /^rawrecv serve: bad script step 1 'shutdown:sideways': shutdown takes read/,
  ],
  [['serve', '--script', 'reset;send:x'], /^rawrecv serve: bad script step 2 'send:x': nothing can follow 'reset'/],
  [['serve', '--script', 'send:'], /^rawrecv serve: bad script step 1 'send:': send needs text/],
  [['serve', '--script', 'send:a;;close'], /^rawrecv serve: bad script step 2 '': empty step/],
  [['serve', '--script', 'close:now'], /^rawrecv serve: bad script step 1 'close:now': close takes no argument/],
  [['serve', '--script', 'send:\\q'], /^rawrecv serve: bad script step 1 'send:\\q': bad escape '\\q'/],
  [['serve', '--script', 'close', '--port', '70000'], /^rawrecv serve: --port must be between 0 and 65535, not 70000/],
  [
    ['serve', '--script', 'close', '--host', 'example.com'],
    /^rawrecv serve: --host must be an IP address or localhost/,
  ],
  [['serve', 'extra', '--script', 'close'], /^rawrecv serve: unexpected argument 'extra'/],
];

/** Runs every bad command line, a few at a time (the machine has two cores). */
const results = new Map<string, CliResult>();
beforeAll(async () => {
  const queue = [...BAD];
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift())
      results.set(JSON.stringify(next[0]), await runCli(next[0]));
  };
  await Promise.all([worker(), worker(), worker()]);
}, 60_000);

describe('bad input: exit 2, one line on stderr, no stack trace', () => {
  it.each(BAD.map(([args, pattern]) => [args.join(' ') || '(no arguments)', args, pattern] as const))(
    'rawrecv %s',
    (_name, args, pattern) => {
      const result = results.get(JSON.stringify(args));
      expect(result).toBeDefined();
      if (!result) return;
      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: '' });
      expect(result.stderr.endsWith('\n')).toBe(true);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
      expect(result.stderr).not.toMatch(/\bat .*\.js:\d+/);
    },
  );
});

describe('--help and --version', () => {
  it.each([['--help'], ['-h'], ['help']])('rawrecv %s prints the usage with every command, exit 0', async (flag) => {
    const result = await runCli([flag]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^Usage: rawrecv <command> \[options\]\n/);
    for (const command of ['probe', 'diff', 'watch', 'serve'])
      expect(result.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it.each([['--version'], ['-v']])("rawrecv %s prints package.json's version, exit 0", async (flag) => {
    const result = await runCli([flag]);
    expect(result).toEqual({ code: 0, signal: null, stdout: `${PACKAGE.version}\n`, stderr: '' });
  });

  it.each(['probe', 'diff', 'watch', 'serve'])(
    'rawrecv %s --help prints its usage and runs nothing, exit 0',
    async (command) => {
      const result = await runCli([command, '--help']);
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      expect(result.stdout).toMatch(new RegExp(`^Usage: rawrecv ${command} `));
      expect(result.stdout).toMatch(/\nExit codes: 0 /);
    },
  );
});

describe('the package', () => {
  it('declares the bin, whose file starts with the node shebang, and npm start runs probe', () => {
    expect(PACKAGE.bin).toEqual({ rawrecv: 'dist/cli/main.js' });
    expect(readFileSync(CLI, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(PACKAGE.scripts?.start).toBe('node dist/cli/main.js probe');
    expect(PACKAGE.files).toContain('schema/');
  });
});

describe('the parsers, in this process', () => {
  it('parseHostPort takes IPv4, names and bracketed IPv6', () => {
    expect(parseHostPort('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHostPort('localhost:1')).toEqual({ host: 'localhost', port: 1 });
    expect(parseHostPort('[::1]:65535')).toEqual({ host: '::1', port: 65535 });
    expect(() => parseHostPort('[::1]')).toThrow(InputError);
  });

  it('parseScript decodes every step and the escapes of send', () => {
    expect(parseScript(' send:a\\;b\\x00\\n ; wait:0;shutdown:both;shutdown:read;shutdown:write;reset')).toEqual([
      { op: 'send', data: Buffer.from('a;b\0\n') },
      { op: 'wait', ms: 0 },
      { op: 'shutdown', how: 'both' },
      { op: 'shutdown', how: 'read' },
      { op: 'shutdown', how: 'write' },
      { op: 'reset' },
    ]);
    expect(parseScript('send:\\\\\\x41é;close')).toEqual([{ op: 'send', data: Buffer.from('\\Aé') }, { op: 'close' }]);
  });

  it('colour only on a terminal, never with --no-color or a non-empty NO_COLOR', () => {
    const saved = process.env.NO_COLOR;
    try {
      delete process.env.NO_COLOR;
      const tty = { isTTY: true } as NodeJS.WriteStream;
      const pipe = { isTTY: false } as unknown as NodeJS.WriteStream;
      expect(colorEnabled(false, tty)).toBe(true);
      expect(colorEnabled(false, pipe)).toBe(false);
      expect(colorEnabled(true, tty)).toBe(false);
      process.env.NO_COLOR = '1';
      expect(colorEnabled(false, tty)).toBe(false);
      process.env.NO_COLOR = '';
      expect(colorEnabled(false, tty)).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  });
});

describe('where the addon cannot load', () => {
  it('--help, --version and diff still work; probe fails with one line and exit 1, no stack trace', () => {
    // dist/ and the loader without any built addon: what a user gets with no prebuild and no compiler.
    const temp = tempDir('rawrecv-noaddon-');
    const root = temp.path;
    try {
      cpSync(fileURLToPath(new URL('../dist', import.meta.url)), join(root, 'dist'), { recursive: true });
      cpSync(fileURLToPath(new URL('../package.json', import.meta.url)), join(root, 'package.json'));
      cpSync(
        fileURLToPath(new URL('../node_modules/node-gyp-build', import.meta.url)),
        join(root, 'node_modules/node-gyp-build'),
        {
          recursive: true,
        },
      );
      const run = (...args: string[]) =>
        spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), ...args], { encoding: 'utf8', timeout: 20_000 });
      expect(run('--help')).toMatchObject({ status: 0, stderr: '' });
      expect(run('--version').stdout.trim()).toBe(PACKAGE.version);
      const report = fixture('probe-win32-wine.json');
      expect(run('diff', report, report, '--no-color')).toMatchObject({ status: 0, stderr: '' });
      const probe = run('probe');
      expect(probe.status).toBe(1);
      expect(probe.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^rawrecv probe: .*No native build/)]);
    } finally {
      temp.remove();
    }
  });
});
