/**
 * The event loop at scale: 10,000 sockets (5,000 AF_UNIX stream pairs, scenario unix.stream)
 * each with a recvAsync pending at the same time, one uv_poll handle each. Every wait must be
 * answered by its own message and nothing else, and closing must give back every descriptor
 * and every poll handle: a child process running the same scenario must then exit by itself.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { constants, Socket, type RecvResult } from '../src/index.js';
import { moduleFolder } from './built-package.js';
import { errnoOf, guardFds, loopTurns, openFdCount } from './helpers.js';

guardFds();

const PAIRS = 5_000;
const CHILD_PAIRS = 1_000;
/** Each wait gives up after this long: a wait never woken shows up as a `timeout` result. */
const WAIT_MS = 20_000;
/** The child must be gone this long after it reports that everything is closed. */
const CHILD_EXIT_MS = 10_000;
const SEED = 0x5eed31;

/** The soft RLIMIT_NOFILE of this process ("Max open files" in /proc/self/limits). */
function openFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((text) => text.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  if (soft === undefined) throw new Error(`no "Max open files" line in /proc/self/limits: ${line}`);
  return soft === 'unlimited' ? Infinity : Number(soft);
}

/** Fails, never skips, when this process cannot open `count` more descriptors. */
function requireDescriptors(count: number): void {
  const soft = openFileLimit();
  const needed = openFdCount() + count + 64;
  if (soft < needed) {
    throw new Error(
      `the open-file limit (RLIMIT_NOFILE, soft) is ${soft} but this test needs ${needed} descriptors ` +
        `(${count} sockets + those already open + 64 spare): raise it, e.g. \`ulimit -n 20000\`, and run again`,
    );
  }
}

/** mulberry32: a small seeded PRNG, so a failing order can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 0 .. count-1 in a seeded random order (Fisher-Yates). */
function shuffled(count: number, seed: number): number[] {
  const next = random(seed);
  const order = Array.from({ length: count }, (_, index) => index);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/** Socket k is side k % 2 of pair k >> 1; its partner sends it this message. */
const messageFor = (k: number): string => `${k >> 1}:${'ab'[k & 1]}`;

describe('10,000 sockets waiting at once', () => {
  it('every pending recvAsync is woken once, by its own message, and closing gives back every descriptor', async () => {
    requireDescriptors(2 * PAIRS);
    const baseline = openFdCount();
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < PAIRS; i++) sockets.push(...Socket.pair());
      expect(openFdCount()).toBe(baseline + 2 * PAIRS);

      const settled = new Int32Array(2 * PAIRS);
      const sent = new Uint8Array(2 * PAIRS);
      const wokenBeforeItsMessage: number[] = [];
      const waits = sockets.map((socket, k) =>
        socket.recvAsync(16, { timeout: WAIT_MS }).then((result) => {
          settled[k]! += 1;
          if (sent[k] === 0) wokenBeforeItsMessage.push(k);
          return result;
        }),
      );
      // Every wait is now armed on the loop; let it turn a few times with nothing sent.
      await loopTurns(5);
      expect(
        settled.reduce((sum, n) => sum + n, 0),
        'waits settled before any message was sent',
      ).toBe(0);

      // One message to each socket from its partner, in a shuffled order, in batches with a
      // turn of the loop between them, so wake-ups interleave with waits still pending.
      const order = shuffled(2 * PAIRS, SEED);
      const sendFailures: string[] = [];
      for (let n = 0; n < order.length; n++) {
        const k = order[n] as number;
        const partner = sockets[k ^ 1] as Socket;
        sent[k] = 1;
        const result = partner.send(messageFor(k));
        if (result.kind !== 'sent' || result.bytesSent !== messageFor(k).length) {
          sendFailures.push(`${k}: ${JSON.stringify(result)}`);
        }
        if (n % 250 === 249) await nextTurn();
      }
      expect(sendFailures).toEqual([]);

      const results: RecvResult[] = await Promise.all(waits);
      const wrong: string[] = [];
      results.forEach((result, k) => {
        const expected = messageFor(k);
        if (result.kind !== 'data' || result.ret !== expected.length || result.data.toString() !== expected) {
          wrong.push(`socket ${k} (seed ${SEED}) expected data ${expected}, got ${JSON.stringify(result)}`);
        }
      });
      expect(wrong.slice(0, 10), `${wrong.length} waits answered wrongly`).toEqual([]);
      expect(wokenBeforeItsMessage.slice(0, 10)).toEqual([]);
      expect([...settled].filter((n) => n !== 1)).toEqual([]);

      // Nothing else arrived anywhere: no message was delivered twice or to the wrong socket.
      const extra: string[] = [];
      sockets.forEach((socket, k) => {
        const result = socket.recv(16, constants.MSG.DONTWAIT);
        if (result.kind !== 'would-block' || result.errno !== errnoOf('EAGAIN')) {
          extra.push(`socket ${k}: ${JSON.stringify(result)}`);
        }
      });
      expect(extra.slice(0, 10), `${extra.length} sockets had more to read`).toEqual([]);
    } finally {
      for (const socket of sockets) socket.close();
    }
    expect(openFdCount(), 'descriptors after closing all 10,000 sockets').toBe(baseline);
  }, 60_000);
});

/**
 * The same scenario in a child process that imports the built package and ends without
 * process.exit(): a poll handle (or a wait's timer) left behind would keep its loop alive.
 * Then a second round whose waits are still pending when the sockets are closed: each must
 * reject with ERR_SOCKET_CLOSED, and that must leave nothing behind either.
 */
const CHILD_SCRIPT = `
import { readdirSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Socket } from '__RAWRECV__';

const pairs = Number(process.argv[2]);
const waitMs = Number(process.argv[3]);
const order = JSON.parse(process.argv[4]);
const fds = () => readdirSync('/proc/self/fd').length;
const before = fds();
const report = { before, opened: 0, earlySettled: 0, wrong: [], settledTwice: 0, closedRejections: [], after: -1 };

const sockets = [];
for (let i = 0; i < pairs; i++) sockets.push(...Socket.pair());
report.opened = fds() - before;
const settled = new Int32Array(sockets.length);
const waits = sockets.map((socket, k) =>
  socket.recvAsync(16, { timeout: waitMs }).then((result) => { settled[k] += 1; return result; }),
);
for (let turn = 0; turn < 5; turn++) await nextTurn();
report.earlySettled = settled.reduce((sum, n) => sum + n, 0);
for (let n = 0; n < order.length; n++) {
  const k = order[n];
  sockets[k ^ 1].send(\`\${k >> 1}:\${'ab'[k & 1]}\`);
  if (n % 100 === 99) await nextTurn();
}
const results = await Promise.all(waits);
results.forEach((result, k) => {
  const expected = \`\${k >> 1}:\${'ab'[k & 1]}\`;
  if (result.kind !== 'data' || result.data.toString() !== expected) report.wrong.push({ k, result });
});
report.settledTwice = [...settled].filter((n) => n !== 1).length;

// Waits still pending (no timeout, so no timer either) when their sockets are closed.
const pending = [];
for (let i = 0; i < 100; i++) pending.push(...Socket.pair());
const rejected = pending.map((socket) => socket.recvAsync(16).then(
  (result) => 'resolved ' + result.kind,
  (error) => error.code,
));
await nextTurn();
for (const socket of [...sockets, ...pending]) socket.close();
report.closedRejections = [...new Set(await Promise.all(rejected))];
report.after = fds();
console.log(JSON.stringify(report));
// No process.exit(): the process must end because nothing keeps its event loop alive.
`;

interface ChildReport {
  before: number;
  opened: number;
  earlySettled: number;
  wrong: unknown[];
  settledTwice: number;
  closedRejections: string[];
  after: number;
}

describe('a child process with 1,000 pairs', () => {
  const writeScript = moduleFolder('rawrecv-scale-');

  it('answers every wait, gives back every descriptor and exits on its own once everything is closed', async () => {
    requireDescriptors(2 * CHILD_PAIRS + 200);
    const script = writeScript('scale-child.mjs', CHILD_SCRIPT);
    const order = shuffled(2 * CHILD_PAIRS, SEED);
    const child = spawn(process.execPath, [script, String(CHILD_PAIRS), String(WAIT_MS), JSON.stringify(order)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let reportedAt = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (reportedAt === 0 && stdout.includes('\n')) reportedAt = performance.now();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    // Bounded: 40 s for the work, then CHILD_EXIT_MS after its report to exit by itself.
    let outcome: { code: number | null; signal: NodeJS.Signals | null } | 'stuck' = 'stuck';
    const deadline = performance.now() + 40_000;
    try {
      while (outcome === 'stuck') {
        const limit = reportedAt > 0 ? reportedAt + CHILD_EXIT_MS : deadline;
        const remaining = limit - performance.now();
        if (remaining <= 0) break;
        outcome = await Promise.race([
          exited,
          new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), Math.min(remaining, 100))),
        ]);
      }
    } finally {
      if (outcome === 'stuck') {
        child.kill('SIGKILL');
        await exited;
      }
    }
    expect(
      outcome,
      reportedAt > 0
        ? `the child reported at ${stdout.trim().slice(0, 200)} but did not exit within ${CHILD_EXIT_MS} ms: ` +
            'something (a poll handle, a timer) keeps its event loop alive'
        : `the child never reported; stderr: ${stderr}`,
    ).toEqual({ code: 0, signal: null });
    expect(stderr).toBe('');
    const report = JSON.parse(stdout) as ChildReport;
    expect(report).toEqual({
      before: report.before,
      opened: 2 * CHILD_PAIRS,
      earlySettled: 0,
      wrong: [],
      settledTwice: 0,
      closedRejections: ['ERR_SOCKET_CLOSED'],
      after: report.before,
    });
  }, 60_000);
});
