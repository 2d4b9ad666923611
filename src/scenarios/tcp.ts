/**
 * The TCP scenarios of docs/recv-semantics.md#scenarios, each made on loopback with its peer in
 * this process. Blocking recvs are bounded by SO_RCVTIMEO, so none can outlive the scenario's
 * deadline.
 * @module
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';

import { classify, constants, errnoName, Server, Socket, sys, type Platform } from '../index.js';
import {
  adopt,
  closedPort,
  errnoOf,
  IPV4,
  loopbackHosts,
  tcpPair,
  tcpSocketFd,
  waitForBytes,
  waitForReset,
} from './helpers.js';
import { callLabel, stepOf } from './run.js';
import type { Scenario, ScenarioContext } from './types.js';

const PLATFORM = constants.platform as Platform;
/** The bound on a blocking recv that is expected to return at once or soon. */
const BOUND_MS = 2000;
/** tcp.wake: how long a recv blocked in another thread is given to wake after close(). */
const WAKE_MS = 300;
const always = (): true => true;

/** recvfrom(2)'s number where glibc's and musl's recv() make it (the generic table: 207). */
const RECVFROM: Readonly<Partial<Record<string, number>>> = { x64: 45, arm64: 207, riscv64: 207, loong64: 207 };

/**
 * tcp.eintr's signaller, `sh -c SIGNAL_WHEN_BLOCKED name PID RECVFROM`: sends SIGUSR2 to PID
 * once its main thread (TID = PID) is blocked in recv, never after a fixed delay (a starved
 * thread may reach its recv later than that, and the signal would be spent before it).
 * Linux: /proc/PID/task/PID/syscall starts with the number of the system call the thread is
 * blocked in ('running' while it runs; unreadable where ptrace is restricted), wchan names the
 * kernel function it sleeps in (wait_woken in tcp_recvmsg's sk_wait_data). Bounded: after 100
 * polls 10 ms apart (at least 1 s) it signals anyway. Without /proc: after 100 ms.
 */
const SIGNAL_WHEN_BLOCKED = `
task=/proc/$1/task/$1
if [ -d "$task" ]; then
  polls=0
  while [ "$polls" -lt 100 ]; do
    call=
    read -r call rest < "$task/syscall"
    if [ -n "$2" ] && [ "$call" = "$2" ]; then break; fi
    wchan=
    read -r wchan < "$task/wchan"
    case $wchan in wait_woken | sk_wait_data) break ;; esac
    polls=$((polls + 1))
    sleep 0.01
  done
else
  sleep 0.1
fi
kill -USR2 "$1"
`;

/**
 * tcp.wake's second thread: a worker that loads the same addon binary (node-gyp-build's choice,
 * passed in) and makes one raw blocking recv(2) on a descriptor number when told to. It holds no
 * Socket: a Socket of another thread would (rightly) hold a close(2) back until it lets go, and
 * the scenario is about what the kernel does to a recv blocked while another thread closes.
 */
const WAKE_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.addon);
parentPort.on('message', ({ fd, length }) => {
  const buffer = Buffer.alloc(length);
  parentPort.postMessage({ started: true });
  const ret = addon.recv(fd, buffer, 0, length, 0);
  parentPort.postMessage({ ret });
});
`;

/** The wchan of a thread blocked in tcp_recvmsg (sk_wait_data, which sleeps in wait_woken). */
const RECV_WCHANS = new Set(['wait_woken', 'sk_wait_data']);

/**
 * Whether some thread of this process is blocked in a TCP recv: /proc/self/task/<tid>/syscall
 * names recvfrom(2) (glibc's recv), or its wchan the function tcp_recvmsg sleeps in (undefined
 * where there is no /proc: the caller then waits a fixed while).
 */
function threadBlockedInRecv(): boolean | undefined {
  // Under Wine /proc is Linux's, but a Winsock recv does not sleep in tcp_recvmsg there.
  if (PLATFORM === 'win32') return undefined;
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  const recvfrom = String(RECVFROM[process.arch] ?? '');
  const read = (tid: string, file: string): string => {
    try {
      return readFileSync(`/proc/self/task/${tid}/${file}`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  return tids.some(
    (tid) =>
      (recvfrom !== '' && read(tid, 'syscall').split(' ')[0] === recvfrom) || RECV_WCHANS.has(read(tid, 'wchan')),
  );
}

/** A worker for tcp.wake, tracked (terminated when the scenario ends). */
async function wakeWorker(ctx: ScenarioContext): Promise<Worker> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const load = createRequire(import.meta.url)('node-gyp-build') as { path(root: string): string };
  const worker = new Worker(WAKE_WORKER, { eval: true, workerData: { addon: load.path(root) } });
  ctx.track({ close: () => void worker.terminate() });
  await Promise.race([once(worker, 'online'), once(worker, 'error').then(([error]) => Promise.reject(error as Error))]);
  return worker;
}

/**
 * Starts the worker's blocking recv(16) on `socket`'s descriptor and resolves once the worker's
 * thread is blocked in it (or after 100 ms where /proc cannot tell). Returns its outcome: the
 * recv's own number, when it returns.
 */
async function blockedRecv(
  ctx: ScenarioContext,
  worker: Worker,
  socket: Socket,
): Promise<{ outcome: Promise<number> }> {
  const outcome = new Promise<number>((resolve, reject) => {
    const onMessage = (message: { started?: boolean; ret?: number }): void => {
      if (message.ret === undefined) return;
      worker.off('message', onMessage);
      resolve(message.ret);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
  const started = once(worker, 'message');
  worker.postMessage({ fd: socket.fd, length: 16 });
  await started;
  if (threadBlockedInRecv() === undefined) await delay(100, undefined, { signal: ctx.signal });
  else {
    await ctx
      .waitFor(() => threadBlockedInRecv() === true, 'the worker to block in recv', 1000)
      .catch(() => ctx.note('/proc did not show the worker blocked in recv within 1 s: went on'));
  }
  return { outcome };
}

/** Within `ms`, the number `pending` resolves to, or undefined (still blocked). */
async function within(pending: Promise<number>, ms: number): Promise<number | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([pending, expiry]);
  } finally {
    clearTimeout(timer);
  }
}

/** Records the worker's raw recv on `socket`, classified as its Socket would be. */
function recordWorkerRecv(ctx: ScenarioContext, socket: Socket, receiveTimeout: number, ret: number): void {
  const result = classify(ret < 0 ? { ret: -1, errno: -ret } : { ret, errno: 0 }, {
    platform: PLATFORM,
    socketType: 'stream',
    requested: 16,
    blocking: true,
    receiveTimeout,
    flags: 0,
  });
  const code = ret < 0 ? (errnoName(-ret, PLATFORM) ?? `errno ${-ret}`) : undefined;
  ctx.record(stepOf('tcp4 worker', callLabel('recv', 16, 0), 'sys', { ...result, ...(code ? { code } : {}) }), socket);
}

export const tcpScenarios: readonly Scenario[] = [
  {
    id: 'tcp.idle.nonblocking',
    title: 'connected, no data, O_NONBLOCK',
    supported: always,
    async run(ctx) {
      for (const host of loopbackHosts(ctx)) {
        const { client } = tcpPair(ctx, host);
        client.setBlocking(false);
        ctx.recv(client, 16);
      }
    },
  },
  {
    id: 'tcp.idle.dontwait',
    title: 'blocking socket, MSG_DONTWAIT flag',
    supported: () => constants.MSG.DONTWAIT !== undefined || `${PLATFORM} has no MSG_DONTWAIT flag`,
    async run(ctx) {
      const dontWait = constants.MSG.DONTWAIT ?? 0;
      const { client } = tcpPair(ctx);
      ctx.recv(client, 16, dontWait);
      // With a receive timeout set too: MSG_DONTWAIT still makes it would-block, not timeout.
      client.setReceiveTimeout(BOUND_MS);
      ctx.recv(client, 16, dontWait);
    },
  },
  {
    id: 'tcp.idle.rcvtimeo',
    title: 'blocking socket, SO_RCVTIMEO expires',
    supported: always,
    async run(ctx) {
      const { client } = tcpPair(ctx);
      client.setReceiveTimeout(100);
      ctx.recv(client, 16);
    },
  },
  {
    id: 'tcp.data',
    title: 'data pending',
    supported: always,
    async run(ctx) {
      for (const host of loopbackHosts(ctx)) {
        const { client, peer } = tcpPair(ctx, host);
        client.setBlocking(false);
        peer.send('hello');
        await waitForBytes(ctx, client, 5);
        ctx.recv(client, 3);
        ctx.recv(client, 16);
        ctx.recv(client, 16);
      }
    },
  },
  {
    id: 'tcp.peek',
    title: 'MSG_PEEK with data',
    supported: always,
    async run(ctx) {
      const { client, peer } = tcpPair(ctx);
      client.setBlocking(false);
      peer.send('hello');
      await waitForBytes(ctx, client, 5);
      ctx.recv(client, 16, constants.MSG.PEEK);
      ctx.recv(client, 16);
      ctx.recv(client, 16, constants.MSG.PEEK);
    },
  },
  {
    id: 'tcp.fin',
    title: 'peer shutdown(SHUT_WR) or close() after sending',
    supported: always,
    async run(ctx) {
      for (const host of loopbackHosts(ctx)) {
        const { client, peer } = tcpPair(ctx, host);
        client.setReceiveTimeout(BOUND_MS);
        peer.send('hello');
        peer.shutdown('write');
        await waitForBytes(ctx, client, 5);
        ctx.recv(client, 16);
        ctx.recv(client, 16);
        ctx.recv(client, 16, constants.MSG.PEEK);
        ctx.recv(client, 16);
      }
      // The same with close() for the FIN.
      const { client, peer } = tcpPair(ctx);
      client.setReceiveTimeout(BOUND_MS);
      peer.send('hello');
      peer.close();
      await waitForBytes(ctx, client, 5);
      ctx.recv(client, 16);
      ctx.recv(client, 16);
    },
  },
  {
    id: 'tcp.half-close',
    title: "after the peer's FIN our send still works",
    supported: always,
    async run(ctx) {
      const { client, peer } = tcpPair(ctx);
      client.setReceiveTimeout(BOUND_MS);
      peer.shutdown('write');
      ctx.recv(client, 16);
      ctx.send(client, 'pong');
      await waitForBytes(ctx, peer, 4);
      ctx.recv(peer, 16, 0, 'peer');
    },
  },
  {
    id: 'tcp.rst',
    title: 'peer closed with unread data, or SO_LINGER {1, 0} + close',
    supported: always,
    async run(ctx) {
      // 1: the peer closes with data it never read.
      const unread = tcpPair(ctx);
      unread.client.setReceiveTimeout(BOUND_MS);
      unread.client.send('unread');
      await waitForBytes(ctx, unread.peer, 6);
      unread.peer.close();
      await waitForReset(ctx, unread.client);
      ctx.recv(unread.client, 16);
      ctx.recv(unread.client, 16);
      ctx.recv(unread.client, 16);
      // 2: the peer aborts (SO_LINGER {1, 0} then close).
      const linger = tcpPair(ctx);
      linger.client.setReceiveTimeout(BOUND_MS);
      linger.peer.reset();
      await waitForReset(ctx, linger.client);
      ctx.recv(linger.client, 16);
      ctx.recv(linger.client, 16);
      ctx.recv(linger.client, 16);
    },
  },
  {
    id: 'tcp.rst.pending',
    title: 'RST arrives while our receive buffer still holds data',
    supported: always,
    async run(ctx) {
      const { client, peer } = tcpPair(ctx);
      client.setReceiveTimeout(BOUND_MS);
      peer.send('abc');
      await waitForBytes(ctx, client, 3);
      peer.reset();
      await waitForReset(ctx, client);
      ctx.recv(client, 16);
      ctx.recv(client, 16);
      ctx.recv(client, 16);
    },
  },
  {
    id: 'tcp.rst.consumed',
    title: 'RST, then getsockopt(SO_ERROR) or a MSG_PEEK recv first',
    supported: always,
    async run(ctx) {
      const first = tcpPair(ctx);
      first.client.setReceiveTimeout(BOUND_MS);
      first.peer.reset();
      await waitForReset(ctx, first.client);
      ctx.takeError(first.client);
      ctx.recv(first.client, 16);
      const second = tcpPair(ctx);
      second.client.setReceiveTimeout(BOUND_MS);
      second.peer.reset();
      await waitForReset(ctx, second.client);
      ctx.recv(second.client, 16, constants.MSG.PEEK);
      ctx.recv(second.client, 16);
    },
  },
  {
    id: 'tcp.len0.idle',
    title: 'recv(len=0), no data (sys layer: the typed recv refuses length 0)',
    supported: always,
    async run(ctx) {
      const { client } = tcpPair(ctx);
      client.setBlocking(false);
      ctx.sysRecv(client, 0);
      // Blocking: Linux waits (for data, FIN or the timeout) even for zero bytes.
      client.setBlocking(true);
      client.setReceiveTimeout(100);
      ctx.sysRecv(client, 0);
    },
  },
  {
    id: 'tcp.len0.data',
    title: 'recv(len=0), data pending (sys layer)',
    supported: always,
    async run(ctx) {
      const { client, peer } = tcpPair(ctx);
      client.setBlocking(false);
      peer.send('abc');
      await waitForBytes(ctx, client, 3);
      ctx.sysRecv(client, 0);
      ctx.recv(client, 16);
    },
  },
  {
    id: 'tcp.unconnected',
    title: 'socket never connected',
    supported: always,
    async run(ctx) {
      const socket = adopt(ctx, tcpSocketFd(ctx));
      socket.setReceiveTimeout(BOUND_MS);
      ctx.recv(socket, 16);
    },
  },
  {
    id: 'tcp.listening',
    title: 'recv on a listening socket',
    supported: always,
    async run(ctx) {
      const server = ctx.track(Server.listen({ host: IPV4 }));
      const view = ctx.track(Socket.fromFd(server.fd, { owned: false }));
      view.setReceiveTimeout(BOUND_MS);
      ctx.recv(view, 16);
    },
  },
  {
    id: 'tcp.connecting',
    title: 'non-blocking connect still in progress',
    supported: always,
    async run(ctx) {
      // backlog 0: the accept queue holds one connection and SYNs beyond it are dropped, so a
      // second connect stays in SYN_SENT (its first retransmission is a second away).
      const server = ctx.track(Server.listen({ host: IPV4, backlog: 0 }));
      ctx.track(Socket.connectSync({ host: IPV4, port: server.port }));
      const raw = tcpSocketFd(ctx);
      sys.setNonBlocking(raw.fd, true);
      const connected = sys.connect(raw.fd, constants.AF.INET, IPV4, server.port);
      if (connected === 0) throw new Error('connect() completed at once: the scenario needs it in progress');
      const socket = adopt(ctx, raw, { blocking: false });
      ctx.recv(socket, 16);
      if (sys.getpeername(socket.fd) !== -errnoOf('ENOTCONN')) ctx.note('the connect had completed by the recv');
    },
  },
  {
    id: 'tcp.refused',
    title: 'non-blocking connect refused, then recv',
    supported: always,
    async run(ctx) {
      const port = closedPort();
      const raw = tcpSocketFd(ctx);
      sys.setNonBlocking(raw.fd, true);
      sys.connect(raw.fd, constants.AF.INET, IPV4, port);
      const socket = adopt(ctx, raw, { blocking: false });
      // Writable once the connect has failed; waiting takes nothing (SO_ERROR stays pending).
      const outcome = await socket.waitWritable({ timeout: Math.min(BOUND_MS, ctx.remaining()), signal: ctx.signal });
      if (outcome === 'timeout') throw new Error('the refusal did not come');
      ctx.recv(socket, 16);
      ctx.recv(socket, 16);
    },
  },
  {
    id: 'tcp.keepalive-dead',
    title: 'keepalive / user timeout kills the connection',
    supported: () =>
      constants.TCP.USER_TIMEOUT !== undefined ||
      'killing a loopback connection in bounded time needs TCP_USER_TIMEOUT, which this OS lacks',
    async run(ctx) {
      // The peer's window is closed (a small receive buffer it never reads) and the client's
      // TCP_USER_TIMEOUT is 200 ms. Linux bounds zero-window probing by the user timeout too:
      // the probes are answered but the window never opens, so after about half a second the
      // kernel kills the connection with ETIMEDOUT, as keepalive would a silent peer's.
      const server = ctx.track(Server.listen({ host: IPV4 }));
      sys.setsockopt(server.fd, constants.SOL.SOCKET, constants.SO.RCVBUF, 4096);
      const client = ctx.track(Socket.connectSync({ host: IPV4, port: server.port }));
      const accepted = server.accept();
      if (accepted.kind !== 'socket') throw new Error(`accept gave ${accepted.kind}`);
      ctx.track(accepted.socket);
      const userTimeout = constants.TCP.USER_TIMEOUT ?? 0;
      if (sys.setsockopt(client.fd, constants.IPPROTO.TCP, userTimeout, 200) < 0) throw new Error('TCP_USER_TIMEOUT');
      sys.setsockopt(client.fd, constants.SOL.SOCKET, constants.SO.SNDBUF, 4096);
      client.setBlocking(false);
      const chunk = Buffer.alloc(64 * 1024);
      for (let i = 0; i < 1000 && client.send(chunk).kind === 'sent'; i++);
      const outcome = await client.waitReadable({ timeout: ctx.remaining(), signal: ctx.signal });
      if (outcome === 'timeout') throw new Error('the connection did not die');
      ctx.recv(client, 16);
      ctx.recv(client, 16);
    },
    deadlineMs: 4000,
  },
  {
    id: 'tcp.shut-rd',
    title: 'local shutdown(SHUT_RD)',
    supported: always,
    async run(ctx) {
      // Data queued before the shutdown.
      const before = tcpPair(ctx);
      before.client.setReceiveTimeout(BOUND_MS);
      before.peer.send('abc');
      await waitForBytes(ctx, before.client, 3);
      before.client.shutdown('read');
      ctx.recv(before.client, 16);
      ctx.recv(before.client, 16);
      // Nothing queued: 0 at once even though blocking; then data sent after the shutdown.
      const after = tcpPair(ctx);
      after.client.setReceiveTimeout(BOUND_MS);
      after.client.shutdown('read');
      ctx.recv(after.client, 16);
      after.peer.send('late');
      // Linux still delivers it; elsewhere it may be dropped: wait a little, not forever.
      await waitForBytes(ctx, after.client, 4, 300).catch(() => ctx.note('the late data was not queued'));
      ctx.recv(after.client, 16);
      ctx.recv(after.client, 16);
    },
  },
  {
    id: 'tcp.waitall',
    title: 'MSG_WAITALL, peer sends less then FIN',
    supported: always,
    async run(ctx) {
      const { client, peer } = tcpPair(ctx);
      client.setReceiveTimeout(BOUND_MS);
      peer.send('abc');
      peer.shutdown('write');
      ctx.recv(client, 16, constants.MSG.WAITALL);
      ctx.recv(client, 16);
    },
  },
  {
    id: 'tcp.eintr',
    title: 'signal during a blocking recv (SO_RCVTIMEO set)',
    supported: () => PLATFORM !== 'win32' || 'Windows has no signals',
    async run(ctx) {
      const { client } = tcpPair(ctx);
      client.setReceiveTimeout(BOUND_MS);
      let signals = 0;
      const onSignal = (): void => {
        signals += 1;
      };
      // libuv installs the handler with SA_RESTART; signal(7): a recv with SO_RCVTIMEO is
      // interrupted anyway. A child sends the signal once this thread is blocked in recv.
      process.on('SIGUSR2', onSignal);
      try {
        const signaller = spawn(
          '/bin/sh',
          ['-c', SIGNAL_WHEN_BLOCKED, 'rawrecv-eintr', String(process.pid), String(RECVFROM[process.arch] ?? '')],
          { stdio: 'ignore' },
        );
        const exited = once(signaller, 'exit').catch(() => undefined);
        ctx.track({ close: () => signaller.kill('SIGKILL') });
        try {
          ctx.recv(client, 16);
        } finally {
          // The recv is over: the signaller has sent its signal or must not send it any more.
          signaller.kill('SIGKILL');
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, BOUND_MS)))]);
          clearTimeout(timer);
          // SIGUSR2's default action ends the process, so the handler stays until it has run
          // after the signaller is gone: a signal of our own merges with one still pending.
          if (signals === 0) process.kill(process.pid, 'SIGUSR2');
          const until = performance.now() + BOUND_MS;
          while (signals === 0 && performance.now() < until) await delay(5);
        }
      } finally {
        process.off('SIGUSR2', onSignal);
      }
    },
  },
  {
    id: 'tcp.wake',
    title: 'another thread blocked in recv: close() or shutdown(SHUT_RD) from this one',
    supported: always,
    deadlineMs: 6000,
    async run(ctx) {
      const worker = await wakeWorker(ctx);
      // 1: a worker blocked in recv (SO_RCVTIMEO bounds it in case nothing wakes it); this thread
      // closes the descriptor. Linux does not wake the recv (docs/recv-semantics.md#trap-7):
      // still blocked after WAKE_MS, it is ended by the peer's bytes.
      const closing = tcpPair(ctx);
      closing.client.setReceiveTimeout(BOUND_MS);
      const closed = await blockedRecv(ctx, worker, closing.client);
      closing.client.close();
      const early = await within(closed.outcome, WAKE_MS);
      if (early === undefined) {
        ctx.note(`close() did not wake the blocked recv within ${WAKE_MS} ms; the peer's 4 bytes ended it`);
        closing.peer.send('late');
      }
      recordWorkerRecv(ctx, closing.client, BOUND_MS, early ?? (await closed.outcome));
      // 2: blocked again on another connection; this thread calls shutdown(SHUT_RD).
      const shutting = tcpPair(ctx);
      shutting.client.setReceiveTimeout(BOUND_MS);
      const woken = await blockedRecv(ctx, worker, shutting.client);
      shutting.client.shutdown('read');
      recordWorkerRecv(ctx, shutting.client, BOUND_MS, await woken.outcome);
    },
  },
  {
    id: 'tcp.oob',
    title: 'recv(MSG_OOB) without urgent data, with an urgent byte, and with SO_OOBINLINE',
    supported: always,
    async run(ctx) {
      const OOB = constants.MSG.OOB;
      // Linux and the BSDs say POLLPRI; Winsock's WSAPoll does not support POLLPRI and says
      // POLLRDBAND for out-of-band data.
      const urgent = (constants.POLL.PRI ?? 0) | (constants.POLL.RDBAND ?? 0);
      // 1: no urgent data: EINVAL, even on a non-blocking socket (not EAGAIN).
      const plain = tcpPair(ctx);
      plain.client.setBlocking(false);
      ctx.recv(plain.client, 16, OOB);
      // The peer sends 'ab', then '!' as urgent data; POLLPRI says it has arrived.
      plain.peer.send('ab');
      plain.peer.send('!', OOB);
      await ctx
        .waitFor(() => (sys.poll(plain.client.fd, urgent) & urgent) !== 0, 'the urgent byte', 1000)
        .catch(() => ctx.note('poll never reported the urgent byte (POLLPRI / POLLRDBAND) within 1 s'));
      ctx.recv(plain.client, 16, OOB);
      // The urgent byte is out of the stream; once read, MSG_OOB is EINVAL again.
      ctx.recv(plain.client, 16);
      ctx.recv(plain.client, 16, OOB);
      // 2: SO_OOBINLINE: the urgent byte stays in the stream (a recv stops at the mark).
      const inline = tcpPair(ctx);
      if (sys.setsockopt(inline.client.fd, constants.SOL.SOCKET, constants.SO.OOBINLINE ?? -1, 1) < 0) {
        throw new Error('setsockopt(SO_OOBINLINE) failed');
      }
      inline.client.setBlocking(false);
      inline.peer.send('ab');
      inline.peer.send('!', OOB);
      await waitForBytes(ctx, inline.client, 3);
      ctx.recv(inline.client, 16, OOB);
      ctx.recv(inline.client, 16);
      ctx.recv(inline.client, 16);
    },
  },
  {
    id: 'tcp.rcvlowat',
    title: 'SO_RCVLOWAT 4 with 2 bytes queued: poll, blocking and non-blocking recv',
    supported: () =>
      PLATFORM === 'win32'
        ? 'Winsock does not support SO_RCVLOWAT (setsockopt documents it as not supported)'
        : constants.SO.RCVLOWAT !== undefined || 'this OS has no SO_RCVLOWAT',
    async run(ctx) {
      const { client, peer } = tcpPair(ctx);
      if (sys.setsockopt(client.fd, constants.SOL.SOCKET, constants.SO.RCVLOWAT ?? -1, 4) < 0) {
        throw new Error('setsockopt(SO_RCVLOWAT) failed');
      }
      peer.send('ab');
      await waitForBytes(ctx, client, 2);
      // Below the low-water mark: not readable.
      ctx.poll(client, constants.POLL.IN);
      // A blocking recv waits for the mark, here until SO_RCVTIMEO, then returns what there is.
      client.setReceiveTimeout(100);
      ctx.recv(client, 16);
      // A non-blocking recv returns what there is at once.
      peer.send('ab');
      await waitForBytes(ctx, client, 2);
      client.setBlocking(false);
      ctx.recv(client, 16);
      // At the mark: readable.
      peer.send('abcd');
      await waitForBytes(ctx, client, 4);
      ctx.poll(client, constants.POLL.IN);
      ctx.recv(client, 16);
    },
  },
];
