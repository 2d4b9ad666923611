/**
 * Worker threads: each has its own event loop, and the addon polls on the loop of the
 * environment that made the socket (napi_get_uv_event_loop). Two workers run TCP exchanges on
 * 127.0.0.1 at the same time (scenarios tcp.data, tcp.fin) while the main thread keeps using
 * its own loop; a worker terminated with a wait pending must not take the process down.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { constants, Socket, sys } from '../src/index.js';
import { moduleFolder } from './built-package.js';
import { bounded, closeAll, closing, EOF, errnoOf, fdLink, guardFds, openFdCount, WIN32 } from './helpers.js';

guardFds();

const ROUNDS = 5;

/**
 * A worker's whole life: listen, connect and accept without blocking, wait (recvAsync pending
 * on its own loop) until the main thread says go, then ROUNDS request/echo exchanges, a FIN,
 * close everything, post the results and end by itself.
 */
const EXCHANGE_WORKER = `
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { Server, Socket } from '__RAWRECV__';

const { name, rounds } = workerData;
const limit = { timeout: 10_000 };
const server = Server.listen({ host: '127.0.0.1', port: 0 });
const accepting = server.acceptAsync(limit);
const client = await Socket.connect({ host: '127.0.0.1', port: server.port, ...limit });
const accepted = await accepting;
if (accepted.kind !== 'socket') throw new Error('accept: ' + JSON.stringify(accepted));
const peer = accepted.socket;
const results = { name, threadId, requests: [], echoes: [], eof: null };
try {
  // A wait pending on this worker's loop while the main thread runs its own.
  let request = peer.recvAsync(64, limit);
  parentPort.postMessage({ type: 'ready' });
  await new Promise((resolve) => parentPort.once('message', resolve));
  for (let round = 1; round <= rounds; round++) {
    const sent = await client.sendAsync(name + ' request ' + round, limit);
    if (sent.kind !== 'sent') throw new Error('send: ' + JSON.stringify(sent));
    const got = await request;
    results.requests.push(got.kind === 'data' ? got.data.toString() : got);
    if (got.kind !== 'data') break;
    const echoed = await peer.sendAsync('echo: ' + got.data.toString(), limit);
    if (echoed.kind !== 'sent') throw new Error('echo: ' + JSON.stringify(echoed));
    const echo = await client.recvAsync(64, limit);
    results.echoes.push(echo.kind === 'data' ? echo.data.toString() : echo);
    request = peer.recvAsync(64, limit);
  }
  client.shutdown('write');
  results.eof = await request;
} finally {
  client.close();
  peer.close();
  server.close();
}
parentPort.postMessage({ type: 'result', results });
`;

/**
 * A worker that starts a recvAsync that nothing will answer, reports its descriptors, and waits.
 * Linux: each with its /proc/self/fd link (socket:[inode]), which a reused number would not
 * share. Windows has no such link (null): SOCKET handles are checked right after the terminate.
 */
const STUCK_WORKER = `
import { readlinkSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { Socket } from '__RAWRECV__';

const [a, b] = Socket.pair();
a.recvAsync(16).then(
  (result) => parentPort.postMessage({ type: 'settled', result }),
  (error) => parentPort.postMessage({ type: 'settled', error: String(error) }),
);
const fds = [a.fd, b.fd].map((fd) => ({
  fd,
  link: process.platform === 'linux' ? readlinkSync('/proc/self/fd/' + fd) : null,
}));
parentPort.postMessage({ type: 'waiting', fds });
`;

interface WorkerResults {
  name: string;
  threadId: number;
  requests: unknown[];
  echoes: unknown[];
  eof: unknown;
}

interface Message {
  type: string;
  results?: WorkerResults;
  fds?: { fd: number; link: string | null }[];
}

/** Resolves with the next message of `type`, rejecting on the worker's error, exit, or after `ms`. */
function nextMessage(worker: Worker, type: string, ms = 15_000): Promise<Message> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no '${type}' message from the worker within ${ms} ms`)), ms);
    const onMessage = (message: Message): void => {
      if (message.type === type) done(undefined, message);
    };
    const onError = (error: Error): void => done(error);
    const onExit = (code: number): void => done(new Error(`the worker exited (code ${code}) before '${type}'`));
    function done(error: Error | undefined, message?: Message): void {
      clearTimeout(timer);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      if (error) reject(error);
      else resolve(message as Message);
    }
    worker.on('message', onMessage).once('error', onError).once('exit', onExit);
  });
}

/** The worker's exit code, or 'stuck' if it has not exited after `ms` (it is then terminated). */
async function exitCode(worker: Worker, exited: Promise<number>, ms = 10_000): Promise<number | 'stuck'> {
  const outcome = await bounded(exited, ms).catch(() => 'stuck' as const);
  if (outcome === 'stuck') await worker.terminate();
  return outcome;
}

/** One request/echo round trip on the main thread's own loop. */
async function mainRoundTrip(a: Socket, b: Socket, text: string): Promise<string> {
  const pending = b.recvAsync(64, { timeout: 10_000 });
  await delay(1);
  const sent = await a.sendAsync(text, { timeout: 10_000 });
  if (sent.kind !== 'sent') throw new Error(`main send: ${JSON.stringify(sent)}`);
  const got = await pending;
  return got.kind === 'data' ? got.data.toString() : JSON.stringify(got);
}

const writeScript = moduleFolder('rawrecv-workers-');
const script = (name: string, source: string): URL => new URL(`file://${writeScript(name, source)}`);

describe('worker threads', () => {
  it('two workers exchange over TCP at once, each on its own loop, and exit 0 while the main loop keeps working', async () => {
    const baseline = openFdCount();
    const url = script('exchange-worker.mjs', EXCHANGE_WORKER);
    const workers = ['alpha', 'beta'].map((name) => new Worker(url, { workerData: { name, rounds: ROUNDS } }));
    const exits = workers.map((worker) => new Promise<number>((resolve) => worker.once('exit', resolve)));
    const [a, b] = Socket.pair();
    try {
      await Promise.all(workers.map((worker) => nextMessage(worker, 'ready')));
      // Both workers now have a recvAsync pending on their own loops: the main loop still answers.
      expect(await mainRoundTrip(a, b, 'main while workers wait')).toBe('main while workers wait');

      const results = workers.map((worker) => nextMessage(worker, 'result'));
      for (const worker of workers) worker.postMessage('go');
      let mainTrips = 0;
      let finished = false;
      const all = Promise.all(results).finally(() => (finished = true));
      // Round trips on the main loop while the workers run theirs.
      while (!finished && mainTrips < 1000) {
        expect(await mainRoundTrip(a, b, `main ${mainTrips}`)).toBe(`main ${mainTrips}`);
        mainTrips++;
      }
      const [alpha, beta] = (await all).map((message) => message.results as WorkerResults);
      expect(mainTrips).toBeGreaterThan(0);

      for (const [results, name] of [
        [alpha, 'alpha'],
        [beta, 'beta'],
      ] as const) {
        const requests = Array.from({ length: ROUNDS }, (_, i) => `${name} request ${i + 1}`);
        expect(results).toEqual({
          name,
          threadId: results?.threadId,
          requests,
          echoes: requests.map((request) => `echo: ${request}`),
          eof: EOF,
        });
      }
      // Each ran on its own thread (the main thread's threadId is 0).
      expect(alpha?.threadId).toBeGreaterThan(0);
      expect(beta?.threadId).toBeGreaterThan(0);
      expect(alpha?.threadId).not.toBe(beta?.threadId);
      expect(await Promise.all(workers.map((worker, i) => exitCode(worker, exits[i] as Promise<number>)))).toEqual([
        0, 0,
      ]);
    } finally {
      closeAll(a, b);
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
    expect(openFdCount(), 'descriptors after both workers closed theirs').toBe(baseline);
  }, 60_000);

  it('terminating a worker with a recvAsync pending does not crash the process, and the main loop still polls', async () => {
    const worker = new Worker(script('stuck-worker.mjs', STUCK_WORKER));
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    let settled: Message | undefined;
    worker.on('message', (message: Message) => {
      if (message.type === 'settled') settled = message;
    });
    try {
      const fds = (await nextMessage(worker, 'waiting')).fds ?? [];
      expect(fds).toHaveLength(2);
      await delay(20);
      // The worker's loop is stopped and its environment torn down with the poll handle open:
      // the addon's async cleanup hook must uv_close it, or libuv's loop close aborts the process.
      expect(await worker.terminate()).toBe(1);
      expect(await exited).toBe(1);
      expect(settled).toBeUndefined();
      if (WIN32) {
        // Windows: no /proc links, so each handle is checked now, before anything new can take
        // its value: the environment cleanup hook closed it, and Winsock says WSAENOTSOCK.
        for (const { fd } of fds) {
          expect(
            sys.getsockopt(fd, constants.SOL.SOCKET, constants.SO.TYPE),
            `handle ${fd} of the terminated worker`,
          ).toBe(-errnoOf('ENOTSOCK'));
        }
      }

      // The process is alive and its own loop still polls.
      await closing(Socket.pair(), async (a, b) => {
        expect(await mainRoundTrip(a, b, 'after terminate')).toBe('after terminate');
      });
      // Terminating a worker runs no JavaScript, so no FinalizationRegistry callback: the addon's
      // environment cleanup hook closes the descriptors its Sockets owned.
      // Linux: the number no longer names the worker's socket (/proc/self/fd links).
      for (const { fd, link } of process.platform === 'linux' ? fds : []) {
        expect(fdLink(fd), `fd ${fd} of the terminated worker`).not.toBe(link);
      }
    } finally {
      await worker.terminate();
    }
  }, 30_000);
});
