/**
 * `rawrecv serve` driving `rawrecv watch`, both as child processes on loopback: data then FIN,
 * data then RST, a receive timeout, Ctrl-C. The printed kinds and the summary are asserted;
 * every child is killed in `finally`, and every wait is bounded.
 */
import { describe, expect, it } from 'vitest';

import { Server } from '../src/index.js';
import { ipv6Loopback } from '../src/scenarios/helpers.js';
import { startCli, type CliProcess, type CliResult } from './fixtures/run-cli.js';
import { closing, dataResult, errnoOf, guardFds } from './helpers.js';

guardFds();

const posix = process.platform !== 'win32';

/** One parsed `watch` line: `HH:MM:SS.mmm +Nms recv(N) ret=R errno=E [code=C] kind=K [bytes=B text=... hex=...]`. */
interface WatchLine {
  call: string;
  ret: number;
  errno: number;
  code: string | undefined;
  kind: string;
  bytes: number | undefined;
  text: string | undefined;
}

const LINE =
  /^\d{2}:\d{2}:\d{2}\.\d{3} \+\d+ms (\S+) ret=(-?\d+) errno=(\d+)(?: code=(\S+))? kind=(\S+)(?: bytes=(\d+) text="(.*)"…? hex=.*)?$/;

function recvLines(stdout: string): WatchLine[] {
  return stdout
    .split('\n')
    .map((line) => LINE.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({
      call: match[1] ?? '',
      ret: Number(match[2]),
      errno: Number(match[3]),
      code: match[4],
      kind: match[5] ?? '',
      bytes: match[6] === undefined ? undefined : Number(match[6]),
      text: match[7],
    }));
}

/** Starts `serve` with `args` and resolves with it and the port from its first line. */
async function serve(args: string[]): Promise<{ server: CliProcess; port: number }> {
  const server = startCli(['serve', ...args]);
  const first = await server.line(/^listening on /);
  const port = Number(/:(\d+)$/.exec(first)?.[1]);
  expect(first).toMatch(/^listening on (127\.0\.0\.1|\[::1\]):\d+$/);
  expect(server.stdout().startsWith(first)).toBe(true);
  return { server, port };
}

/** Runs `serve --script` against `watch ...watchArgs`; both killed whatever happens. */
async function scripted(
  script: string,
  watchArgs: string[],
  host = '127.0.0.1',
): Promise<{ watched: CliResult; served: CliResult }> {
  const children: CliProcess[] = [];
  try {
    const { server, port } = await serve(['--host', host, '--script', script]);
    children.push(server);
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    const watcher = startCli(['watch', target, ...watchArgs]);
    children.push(watcher);
    const watched = await watcher.exited(10_000);
    const served = await server.exited(10_000);
    return { watched, served };
  } finally {
    for (const child of children) child.kill();
  }
}

describe.runIf(posix)('rawrecv serve driving rawrecv watch', () => {
  it('data then FIN: data lines with a preview, then eof; the summary counts bytes and calls per kind; exit 0', async () => {
    const { watched, served } = await scripted('send:hello\\n;wait:100;send:world;shutdown:write;wait:100;close', [
      '--mode',
      'nonblocking',
      '--interval',
      '20',
    ]);
    expect(watched.stderr).toBe('');
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(
      /^connected to 127\.0\.0\.1:\d+ from 127\.0\.0\.1:\d+ \(fd \d+, mode nonblocking, length 4096\)\n/,
    );
    const lines = recvLines(watched.stdout);
    const kinds = lines.map((line) => line.kind);
    // Polls in between are would-block; what arrives is the data, then the FIN.
    expect(kinds.filter((kind) => kind !== 'would-block')).toEqual(['data', 'data', 'eof']);
    expect(lines.filter((line) => line.kind === 'data').map((line) => [line.bytes, line.text])).toEqual([
      [6, 'hello\\n'],
      [5, 'world'],
    ]);
    for (const line of lines.filter((each) => each.kind === 'would-block')) {
      expect(line).toMatchObject({ call: 'recv(4096)', ret: -1, errno: errnoOf('EAGAIN'), code: 'EAGAIN' });
    }
    expect(lines.at(-1)).toMatchObject({ kind: 'eof', ret: 0, errno: 0, code: undefined });
    const blocked = kinds.filter((kind) => kind === 'would-block').length;
    expect(blocked).toBeGreaterThan(0);
    expect(watched.stdout).toMatch(
      new RegExp(
        `\\nsummary: 11 bytes in ${lines.length} calls \\(data 2, eof 1, would-block ${blocked}\\); ended by eof after \\d+ ms\\n$`,
      ),
    );
    expect(served.code).toBe(0);
    const steps = served.stdout.split('\n').map((line) => line.replace(/^#1 \+\d+ms /, ''));
    expect(steps).toEqual([
      expect.stringMatching(/^listening on /),
      expect.stringMatching(/^connection from 127\.0\.0\.1:\d+$/),
      'send 6 bytes text="hello\\n" hex=68 65 6c 6c 6f 0a: sent 6',
      'wait 100 ms',
      'send 5 bytes text="world" hex=77 6f 72 6c 64: sent 5',
      'shutdown write (FIN)',
      'wait 100 ms',
      'close',
      'done',
      '',
    ]);
  });

  it('data then RST: the data, then error ECONNRESET; the summary says so; exit 1', async () => {
    const { watched, served } = await scripted('send:abc;wait:100;reset', ['--mode', 'async']);
    expect(watched.code).toBe(1);
    const lines = recvLines(watched.stdout);
    expect(lines).toEqual([
      { call: 'recvAsync(4096)', ret: 3, errno: 0, code: undefined, kind: 'data', bytes: 3, text: 'abc' },
      {
        call: 'recvAsync(4096)',
        ret: -1,
        errno: errnoOf('ECONNRESET'),
        code: 'ECONNRESET',
        kind: 'error',
        bytes: undefined,
        text: undefined,
      },
    ]);
    expect(watched.stdout).toMatch(
      /\nsummary: 3 bytes in 2 calls \(data 1, error 1\); ended by error ECONNRESET after \d+ ms\n$/,
    );
    expect(served.code).toBe(0);
    expect(served.stdout).toMatch(/^#1 \+\d+ms reset \(RST\)$/m);
  });

  it("a receive timeout: with --mode timeout=100 each expiry is a 'timeout' line (EAGAIN), then the data and eof", async () => {
    const { watched } = await scripted('wait:450;send:late;close', ['--mode', 'timeout=100']);
    expect(watched.code).toBe(0);
    const lines = recvLines(watched.stdout);
    const kinds = lines.map((line) => line.kind);
    const timeouts = kinds.filter((kind) => kind === 'timeout').length;
    expect(timeouts).toBeGreaterThanOrEqual(1);
    expect(kinds).toEqual([...Array<string>(timeouts).fill('timeout'), 'data', 'eof']);
    for (const line of lines.slice(0, timeouts)) {
      expect(line).toEqual({
        call: 'recv(4096)',
        ret: -1,
        errno: errnoOf('EAGAIN'),
        code: 'EAGAIN',
        kind: 'timeout',
        bytes: undefined,
        text: undefined,
      });
    }
    expect(lines[timeouts]).toMatchObject({ kind: 'data', bytes: 4, text: 'late' });
    expect(watched.stdout).toContain(`summary: 4 bytes in ${timeouts + 2} calls (data 1, eof 1, timeout ${timeouts})`);
  });

  it.runIf(ipv6Loopback() === true)('over ::1: serve --host ::1 and watch [::1]:PORT in blocking mode', async () => {
    const { watched, served } = await scripted('send:six;close', ['--mode', 'blocking'], '::1');
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(/^connected to \[::1\]:\d+ from \[::1\]:\d+ /);
    expect(recvLines(watched.stdout).map((line) => line.kind)).toEqual(['data', 'eof']);
    expect(served.stdout).toMatch(/^#1 \+\d+ms connection from \[::1\]:\d+$/m);
  });

  it('Ctrl-C (SIGINT) ends watch with its summary and exit 130, and serve --keep with exit 0', async () => {
    const children: CliProcess[] = [];
    try {
      const { server, port } = await serve(['--keep', '--script', 'wait:10000;close']);
      children.push(server);
      const watcher = startCli(['watch', `127.0.0.1:${port}`, '--interval', '50']);
      children.push(watcher);
      await watcher.line(/kind=would-block/);
      watcher.child.kill('SIGINT');
      const watched = await watcher.exited(5000);
      expect({ code: watched.code, signal: watched.signal }).toEqual({ code: 130, signal: null });
      expect(watched.stdout).toMatch(
        /\nsummary: 0 bytes in \d+ calls? \(would-block \d+\); ended by Ctrl-C after \d+ ms\n$/,
      );
      await server.line(/^#1 .*connection from /);
      server.child.kill('SIGINT');
      const served = await server.exited(5000);
      expect(served.code).toBe(0);
      expect(served.stdout).toMatch(/^#1 \+\d+ms done\ninterrupted \(Ctrl-C\)\n$/m);
    } finally {
      for (const child of children) child.kill();
    }
  });

  it('watch against a port where nothing listens: one line on stderr, exit 1', async () => {
    const { server, port } = await serve(['--script', 'close']);
    server.kill();
    await server.exited(5000);
    const watcher = startCli(['watch', `127.0.0.1:${port}`]);
    try {
      const watched = await watcher.exited(5000);
      expect(watched.code).toBe(1);
      expect(watched.stdout).toBe('');
      expect(watched.stderr).toMatch(
        new RegExp(`^rawrecv watch: cannot connect to 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\n$`),
      );
    } finally {
      watcher.kill();
    }
  });

  it.each(['async', 'timeout=200'])('Ctrl-C in --mode %s: summary, exit 130', async (mode) => {
    const children: CliProcess[] = [];
    try {
      const { server, port } = await serve(['--script', 'wait:10000;close']);
      children.push(server);
      const watcher = startCli(['watch', `127.0.0.1:${port}`, '--mode', mode]);
      children.push(watcher);
      await watcher.line(/^connected to /);
      // Bounded: the recv or its wait is in progress once a line (or a timeout's) has been seen.
      if (mode.startsWith('timeout')) await watcher.line(/kind=timeout/);
      else await new Promise((resolve) => setTimeout(resolve, 200));
      watcher.child.kill('SIGINT');
      const watched = await watcher.exited(5000);
      expect({ code: watched.code, signal: watched.signal }).toEqual({ code: 130, signal: null });
      expect(watched.stdout).toMatch(/\nsummary: .*; ended by Ctrl-C after \d+ ms\n$/);
    } finally {
      for (const child of children) child.kill();
    }
  });

  it('Ctrl-C in --mode blocking: SIGINT ends the process at once (no handler can run), no summary', async () => {
    const children: CliProcess[] = [];
    try {
      const { server, port } = await serve(['--script', 'wait:10000;close']);
      children.push(server);
      const watcher = startCli(['watch', `127.0.0.1:${port}`, '--mode', 'blocking']);
      children.push(watcher);
      await watcher.line(/^connected to /);
      await new Promise((resolve) => setTimeout(resolve, 200));
      watcher.child.kill('SIGINT');
      const watched = await watcher.exited(5000);
      // A shell reports this as 130 (128 + SIGINT).
      expect({ code: watched.code, signal: watched.signal }).toEqual({ code: null, signal: 'SIGINT' });
      expect(watched.stdout).not.toContain('summary:');
    } finally {
      for (const child of children) child.kill();
    }
  });

  // Linux's values (recv keeps returning 0 after the FIN, the RST shows in SO_ERROR as EPIPE).
  it.runIf(process.platform === 'linux')(
    '--through-eof keeps reading after the FIN, so the later RST shows (in SO_ERROR on Linux); exit 1',
    async () => {
      const { watched } = await scripted('send:abc;shutdown:write;wait:300;reset', [
        '--through-eof',
        '--mode',
        'async',
        '--interval',
        '50',
      ]);
      expect(watched.stderr).toBe('');
      expect(watched.code).toBe(1);
      const lines = recvLines(watched.stdout);
      const recvs = lines.filter((line) => line.call.startsWith('recv'));
      const checks = lines.filter((line) => line.call === 'getsockopt(SO_ERROR)');
      const eofs = recvs.filter((line) => line.kind === 'eof').length;
      // One recv every 50 ms for the 300 ms between the FIN and the RST: a few eofs, bounded.
      expect(eofs).toBeGreaterThanOrEqual(2);
      expect(eofs).toBeLessThanOrEqual(12);
      // Linux: every recv after the FIN is 0, the RST's too (tcp_recvmsg checks SOCK_DONE first).
      expect(recvs.map((line) => line.kind)).toEqual(['data', ...Array<string>(eofs).fill('eof')]);
      // Each 0 is followed by SO_ERROR: nothing pending until the RST, which it reports as EPIPE.
      expect(checks.map((line) => line.kind)).toEqual([...Array<string>(eofs - 1).fill('none'), 'error']);
      expect(checks.at(-1)).toMatchObject({ ret: 0, errno: errnoOf('EPIPE'), code: 'EPIPE' });
      expect(lines.at(-1)).toBe(checks.at(-1));
      expect(watched.stdout).toMatch(
        / in \d+ calls \(data 1, eof \d+\); ended by error EPIPE \(SO_ERROR\) after \d+ ms\n$/,
      );
    },
  );

  it('without --through-eof the same peer ends watch at the FIN: exit 0', async () => {
    const { watched } = await scripted('send:abc;shutdown:write;wait:300;reset', ['--mode', 'async']);
    expect(watched.code).toBe(0);
    expect(recvLines(watched.stdout).map((line) => line.kind)).toEqual(['data', 'eof']);
  });

  it('--send TEXT is sent once connected (escapes decoded) and logged; the peer reads exactly it', async () => {
    const server = Server.listen({ host: '127.0.0.1' });
    const watcher = startCli(['watch', `127.0.0.1:${server.port}`, '--send', 'hi\\n\\x21', '--mode', 'async']);
    try {
      const accepted = await server.acceptAsync({ timeout: 5000 });
      if (accepted.kind !== 'socket') throw new Error(`acceptAsync gave ${accepted.kind}`);
      await closing([accepted.socket], async (peer) => {
        await watcher.line(/ send\(4\) /);
        expect(await peer.recvAsync(16, { timeout: 5000 })).toEqual(dataResult('hi\n!'));
        peer.shutdown('write');
        const watched = await watcher.exited(5000);
        expect(watched.code).toBe(0);
        expect(watched.stdout).toMatch(/\n\d{2}:\d{2}:\d{2}\.\d{3} \+\d+ms send\(4\) ret=4 errno=0 kind=sent\n/);
        expect(recvLines(watched.stdout).map((line) => line.kind)).toEqual(['sent', 'eof']);
      });
    } finally {
      watcher.kill();
      server.close();
    }
  });

  it('--send with a bad escape is a bad argument: one line, exit 2, no connection', async () => {
    const watcher = startCli(['watch', '127.0.0.1:9', '--send', 'a\\q']);
    try {
      const watched = await watcher.exited(5000);
      expect(watched.code).toBe(2);
      expect(watched.stdout).toBe('');
      expect(watched.stderr).toMatch(/^rawrecv watch: --send: bad escape '\\q' /);
    } finally {
      watcher.kill();
    }
  });
});
