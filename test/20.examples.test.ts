/**
 * The examples (examples/*.ts), run against a real peer on 127.0.0.1. The examples are
 * async and yield to the event loop between polls, so the peer is driven by timers here.
 * Scenarios: tcp.idle.nonblocking, tcp.idle.rcvtimeo, tcp.data, tcp.fin, tcp.rst.
 */
import { setTimeout as delay } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { nonblockingLoop, type LoopOutcome } from '../examples/nonblocking-loop.js';
import { timeoutLoop } from '../examples/timeout-loop.js';
import { Server, type AcceptResult, type Socket } from '../src/index.js';
import { closeAll, closedPort, codeOf, errnoOf, guardFds, WINE_RST_IS_EOF } from './helpers.js';

guardFds();

const HOST = '127.0.0.1';

/**
 * Listens on a free port, starts the example against it, accepts the example's connection and
 * runs `script` on the accepted end while the example runs. Resolves with the example's outcome
 * once both are done; the peer and the listener are closed whatever happens.
 */
async function againstPeer(
  start: (port: number) => Promise<LoopOutcome>,
  script: (peer: Socket) => Promise<void>,
): Promise<LoopOutcome> {
  const server = Server.listen({ host: HOST, port: 0 });
  let peer: Socket | undefined;
  try {
    server.setBlocking(false);
    // The example connects before its first await, so its connection is queued (or about to be).
    const example = start(server.port);
    const driver = (async () => {
      let accepted: AcceptResult = server.accept();
      for (let tries = 0; accepted.kind === 'would-block' && tries < 400; tries++) {
        await delay(5);
        accepted = server.accept();
      }
      if (accepted.kind !== 'socket') throw new Error(`accept gave ${accepted.kind} ${accepted.code}`);
      peer = accepted.socket;
      await script(peer);
    })();
    const [outcome, driven] = await Promise.allSettled([example, driver]);
    if (driven.status === 'rejected') throw driven.reason;
    if (outcome.status === 'rejected') throw outcome.reason;
    return outcome.value;
  } finally {
    closeAll(peer, server);
  }
}

/** The peer of the original answer: a message after ~100 ms, a pause, then its FIN. */
async function helloThenFin(peer: Socket): Promise<void> {
  await delay(100);
  expect(peer.send('hello')).toEqual({ kind: 'sent', ret: 5, errno: 0, bytesSent: 5 });
  await delay(100);
  peer.shutdown('write');
}

/** A peer that aborts the connection (SO_LINGER 0 + close: a RST) after ~100 ms. */
async function resetAfterPause(peer: Socket): Promise<void> {
  await delay(100);
  peer.reset();
}

const resetLine = (): string =>
  `recv failed: ${codeOf('ECONNRESET')} (errno ${errnoOf('ECONNRESET')}): connection reset by peer`;

/**
 * The test title and expectations of a peer's reset. Wine deviation (tcp.rst): Wine's recv
 * returns 0 after the RST instead of WSAECONNRESET, so under Wine the example sees an orderly
 * shutdown and exits 0; Windows and Linux report the reset once and the example exits 1.
 */
const RESET_TITLE = WINE_RST_IS_EOF
  ? 'under Wine reports a reset as the orderly shutdown (Wine deviation: recv returns 0) and exits 0'
  : 'reports ECONNRESET and exits 1 when the peer resets the connection';

function expectResetOutcome(outcome: LoopOutcome, idle: string): void {
  if (WINE_RST_IS_EOF) {
    expectLines(outcome.lines, idle, ['orderly shutdown on server end']);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.error).toBeUndefined();
  } else {
    expectLines(outcome.lines, idle, [resetLine()]);
    expect(outcome.exitCode).toBe(1);
    expect(outcome.error).toEqual({ errno: errnoOf('ECONNRESET'), code: codeOf('ECONNRESET') });
  }
  expect(outcome.messages).toEqual([]);
}

/** Asserts that `lines` is one or more `idle` lines, then exactly `rest`, with only `idle` lines in between. */
function expectLines(lines: string[], idle: string, rest: string[]): void {
  expect(lines[0]).toBe(idle);
  expect(lines.filter((line) => line !== idle)).toEqual(rest);
  expect(lines.at(-1)).toBe(rest.at(-1));
}

const runNonblocking = (port: number, more: { maxPolls?: number } = {}): Promise<LoopOutcome> =>
  nonblockingLoop({ host: HOST, port, pollMs: 20, maxPolls: 250, log: () => {}, ...more });
const runTimeout = (port: number): Promise<LoopOutcome> =>
  timeoutLoop({ host: HOST, port, timeoutMs: 50, pauseMs: 10, maxPolls: 100, log: () => {} });

describe.each([
  { example: 'nonblocking-loop.ts', run: runNonblocking, said: 'No data available', idle: 'No data available' },
  { example: 'timeout-loop.ts', run: runTimeout, said: 'recv timed out', idle: 'recv timed out, retry later' },
])('examples/$example', ({ run, said, idle }) => {
  it(`prints ${said}, then the message, then the orderly shutdown, and exits 0`, async () => {
    const outcome = await againstPeer(run, helloThenFin);
    expectLines(outcome.lines, idle, ['got a message: hello', 'orderly shutdown on server end']);
    expect(outcome.exitCode).toBe(0);
    expect(outcome.messages).toEqual([Buffer.from('hello')]);
    expect(outcome.error).toBeUndefined();
  });

  it(RESET_TITLE, async () => {
    const outcome = await againstPeer(run, resetAfterPause);
    expectResetOutcome(outcome, idle);
  });
});

describe('examples/nonblocking-loop.ts', () => {
  it('gives up with exit code 2 after maxPolls when the peer stays silent', async () => {
    const outcome = await againstPeer(
      (port) => runNonblocking(port, { maxPolls: 3 }),
      () => delay(0),
    );
    expect(outcome.lines).toEqual([
      'No data available',
      'No data available',
      'No data available',
      'gave up after 3 polls',
    ]);
    expect(outcome.exitCode).toBe(2);
  });

  it('passes every line to log as it prints it', async () => {
    const logged: string[] = [];
    const outcome = await againstPeer(
      (port) => nonblockingLoop({ host: HOST, port, pollMs: 20, maxPolls: 250, log: (line) => logged.push(line) }),
      helloThenFin,
    );
    expect(logged).toEqual(outcome.lines);
    expect(logged.at(-1)).toBe('orderly shutdown on server end');
  });

  it('rejects with the SocketError ECONNREFUSED when nothing listens', async () => {
    await expect(runNonblocking(closedPort())).rejects.toMatchObject({
      code: codeOf('ECONNREFUSED'),
      errno: errnoOf('ECONNREFUSED'),
      syscall: 'connect',
    });
  });
});

describe('examples/timeout-loop.ts', () => {
  it('rejects timeoutMs 0 (which would wait forever) with a RangeError before connecting', async () => {
    // Nothing listens on the port: had it connected first, the rejection would be ECONNREFUSED.
    await expect(timeoutLoop({ host: HOST, port: closedPort(), timeoutMs: 0, log: () => {} })).rejects.toThrow(
      RangeError,
    );
  });
});
