/**
 * Regressions of issue 8 ("no documented call may abort, freeze or cross-wire the process"),
 * one describe per defect, each named after it. Before the fixes: defect 1 aborted the process
 * (libuv's epoll_ctl on a closed number), defect 2 let a terminated worker close the main
 * thread's socket, defect 3 spun the event loop at 100% CPU, defect 4 threw V8's bare
 * TypeError, defect 5 leaked Node's resolver error.
 */
import { readlinkSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { Server, Socket, SocketError, sys } from '../src/index.js';
import { moduleFolder } from './built-package.js';
import { boundUdp, bounded, closeAll, closing, endpointOf, EOF, fdLink, guardFds, loopTurns } from './helpers.js';

guardFds();

const CLOSED = { code: 'ERR_SOCKET_CLOSED' };
const RANGE = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' };

describe('defect 1: a shared descriptor closed under a wait', () => {
  /** Runs `check` on a Socket.pair() and a Socket sharing its first one's descriptor ({ owned: false }). */
  function sharing(check: (owner: Socket, peer: Socket, sharer: Socket) => Promise<void>): Promise<void> {
    const [owner, peer] = Socket.pair();
    return closing([Socket.fromFd(owner.fd, { owned: false }), owner, peer], (sharer) => check(owner, peer, sharer));
  }

  it('owner closes while the sharer has recvAsync pending: no abort, the sharer is closed, its wait rejects ERR_SOCKET_CLOSED', () =>
    sharing(async (owner, _peer, sharer) => {
      const pending = sharer.recvAsync(10);
      owner.close();
      await expect(bounded(pending)).rejects.toMatchObject(CLOSED);
      // Before the fix libuv re-armed the closed number on the next turn and aborted here.
      await loopTurns();
      expect(sharer.closed).toBe(true);
      expect(sharer.fd).toBe(-1);
      expect(() => sharer.recv(4)).toThrow(expect.objectContaining(CLOSED) as Error);
    }));

  it('the same after a loop turn with a second waitReadable() pending', () =>
    sharing(async (owner, _peer, sharer) => {
      const first = sharer.waitReadable();
      await loopTurns(1);
      const second = sharer.waitReadable({ timeout: 10_000 });
      owner.close();
      await expect(bounded(first)).rejects.toMatchObject(CLOSED);
      await expect(bounded(second)).rejects.toMatchObject(CLOSED);
      await loopTurns();
    }));

  it('a reused number is never watched by a stale handle: a new socket on it waits and wakes, the old sharer reads none of its bytes', async () => {
    const [owner, peer] = Socket.pair();
    const number = owner.fd;
    const sharer = Socket.fromFd(number, { owned: false });
    const pending = sharer.recvAsync(10);
    owner.close();
    await expect(bounded(pending)).rejects.toMatchObject(CLOSED);
    const [c, d] = Socket.pair();
    try {
      expect([c.fd, d.fd]).toContain(number);
      const reused = c.fd === number ? c : d;
      const partner = reused === c ? d : c;
      // Before the fix this rejected with PollError EEXIST: the sharer's handle still held it.
      const waiting = reused.recvAsync(64, { timeout: 5000 });
      partner.send('for the new socket');
      expect(await bounded(waiting)).toMatchObject({ kind: 'data', data: Buffer.from('for the new socket') });
      expect(() => sharer.recv(16)).toThrow(expect.objectContaining(CLOSED) as Error);
      await expect(sharer.recvAsync(16)).rejects.toMatchObject(CLOSED);
    } finally {
      closeAll(sharer, peer, c, d);
    }
  });

  it('owner and sharer wait at once through one poll handle (no EEXIST between rawrecv Sockets)', () =>
    sharing(async (owner, peer, sharer) => {
      const both = [owner.waitReadable({ timeout: 5000 }), sharer.waitReadable({ timeout: 5000 })];
      peer.send('x');
      expect(await bounded(Promise.all(both))).toEqual(['ready', 'ready']);
      // A sharer letting go rejects only its own waits.
      const ownerWait = owner.waitWritable({ timeout: 5000 });
      const sharerWait = sharer.waitReadable({ timeout: 5000 });
      sharer.close();
      await expect(bounded(sharerWait)).rejects.toMatchObject(CLOSED);
      expect(await bounded(ownerWait)).toBe('ready');
      expect(owner.closed).toBe(false);
    }));

  it('sys.close of a descriptor under a wait closes its Sockets first: no abort', () =>
    sharing(async (owner, _peer, sharer) => {
      const waits: Promise<unknown>[] = [owner.recvAsync(4), sharer.waitReadable()];
      expect(sys.close(owner.fd)).toBe(0);
      for (const wait of waits) await expect(bounded(wait)).rejects.toMatchObject(CLOSED);
      await loopTurns();
      expect(owner.closed && sharer.closed).toBe(true);
      owner.close(); // nothing left to close: no second close(2) of a reused number
    }));

  it('a descriptor that node:net already polls gets ERR_SOCKET_POLLED, not a bare PollError EEXIST', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const remote = await accepted;
    const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
    const adopted = Socket.fromFd(fd, { owned: false });
    try {
      const error = (await adopted.waitReadable().catch((caught: unknown) => caught)) as Error & { code: string };
      expect(error).toBeInstanceOf(Error);
      expect(error.code).toBe('ERR_SOCKET_POLLED');
      expect(error.message).toContain(`descriptor ${fd} is already watched`);
      // The sync calls still work on it.
      expect(adopted.available()).toBe(0);
    } finally {
      adopted.close();
      client.destroy();
      remote.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('defect 2: ownership is process-wide', () => {
  const writeScript = moduleFolder('rawrecv-own-');

  /** Starts `source` in a worker with { fd }; `first` is its first message. */
  function startWorker(source: string, fd: number): { worker: Worker; first: Promise<unknown> } {
    const worker = new Worker(writeScript(`w${fd}-${Date.now()}.mjs`, source), { workerData: { fd } });
    const first = bounded(
      new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
      10_000,
    );
    return { worker, first };
  }

  /** A worker that makes a Socket.pair(), keeps it, posts the first one's descriptor and stays. */
  const OWNS_A_PAIR = `import { parentPort } from 'node:worker_threads';
       import { Socket } from '__RAWRECV__';
       const [x, y] = Socket.pair();
       globalThis.keep = [x, y];
       parentPort.postMessage(x.fd);
       setInterval(() => {}, 60_000);`;

  /** Runs `source` in a worker with { fd }; resolves its first message, then terminates it. */
  async function inWorker(source: string, fd: number): Promise<unknown> {
    const { worker, first } = startWorker(source, fd);
    try {
      return await first;
    } finally {
      await worker.terminate();
    }
  }

  it("a worker's Socket.fromFd of a descriptor the main thread owns is refused with ERR_INVALID_ARG_VALUE", () =>
    closing(Socket.pair(), async (a, b) => {
      const answer = await inWorker(
        `import { parentPort, workerData } from 'node:worker_threads';
         import { Socket } from '__RAWRECV__';
         try { Socket.fromFd(workerData.fd); parentPort.postMessage('accepted'); }
         catch (error) { parentPort.postMessage({ name: error.name, code: error.code, message: error.message }); }`,
        a.fd,
      );
      expect(answer).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
      expect((answer as { message: string }).message).toContain('another thread');
      // Still this thread's, still working.
      expect(b.send('ok')).toMatchObject({ kind: 'sent', ret: 2 });
      expect(a.recv(2)).toMatchObject({ kind: 'data', data: Buffer.from('ok') });
    }));

  it('a terminated worker never closes a descriptor it does not own (shared with { owned: false }, a wait pending)', () =>
    closing(Socket.pair(), async (a, b) => {
      await inWorker(
        `import { parentPort, workerData } from 'node:worker_threads';
         import { Socket } from '__RAWRECV__';
         const shared = Socket.fromFd(workerData.fd, { owned: false });
         shared.recvAsync(4).catch(() => {});
         parentPort.postMessage('waiting');`,
        a.fd,
      );
      await delay(50);
      expect(b.send('still')).toMatchObject({ kind: 'sent' });
      expect(a.recv(5)).toMatchObject({ kind: 'data', data: Buffer.from('still') });
    }));

  // Linux: /proc/self/fd links tell a closed number from a reused one.
  it.runIf(process.platform === 'linux')(
    "the main thread cannot own a worker's descriptor, and terminating the worker closes the worker's own",
    async () => {
      const { worker, first } = startWorker(OWNS_A_PAIR, -1);
      let link: string;
      let fd: number;
      try {
        fd = (await first) as number;
        link = readlinkSync(`/proc/self/fd/${fd}`);
        expect(() => Socket.fromFd(fd)).toThrow(
          expect.objectContaining({
            code: 'ERR_INVALID_ARG_VALUE',
            message: expect.stringContaining('another thread') as string,
          }) as Error,
        );
      } finally {
        await worker.terminate();
      }
      // Its environment's cleanup closed what it owned: the number no longer names that socket.
      expect(fdLink(fd)).not.toBe(link);
    },
  );
  // Linux: /proc/self/fd links tell a closed number from a reused one.
  it.runIf(process.platform === 'linux')(
    "a worker's pending wait on a descriptor the main thread closes rejects ERR_SOCKET_CLOSED; close(2) waits for it, and nothing aborts",
    async () => {
      const [a, b] = Socket.pair();
      const fd = a.fd;
      const link = readlinkSync(`/proc/self/fd/${fd}`);
      const { worker, first } = startWorker(
        `import { parentPort, workerData } from 'node:worker_threads';
       import { Socket } from '__RAWRECV__';
       const shared = Socket.fromFd(workerData.fd, { owned: false });
       const waiting = shared.recvAsync(4);
       parentPort.postMessage('waiting');
       const outcome = await waiting.then((r) => ({ result: r }), (e) => ({ code: e.code }));
       // The closed Socket's later waits reject at once: nothing is re-armed.
       const again = await shared.waitWritable().then(() => 'ready', (e) => e.code);
       parentPort.postMessage({ ...outcome, again, closed: shared.closed, fd: shared.fd });`,
        fd,
      );
      try {
        expect(await first).toBe('waiting');
        const answer = bounded(new Promise((resolve) => worker.once('message', resolve)), 10_000);
        a.close();
        expect(await answer).toEqual({ code: 'ERR_SOCKET_CLOSED', again: 'ERR_SOCKET_CLOSED', closed: true, fd: -1 });
        // The deferred close(2) has happened once the worker's handle let go.
        expect(fdLink(fd)).not.toBe(link);
      } finally {
        await worker.terminate();
        closeAll(a, b);
      }
    },
  );

  it('terminating a worker that owns a descriptor the main thread waits on rejects that wait; nothing aborts', async () => {
    const { worker, first } = startWorker(
      `import { parentPort } from 'node:worker_threads';
       import { Socket } from '__RAWRECV__';
       // A UDP socket: no peer whose close could wake the main thread's wait first.
       const x = Socket.udp({ bind: { host: '127.0.0.1', port: 0 } });
       globalThis.keep = x;
       parentPort.postMessage(x.fd);
       setInterval(() => {}, 60_000);`,
      -1,
    );
    const fd = (await first) as number;
    const shared = Socket.fromFd(fd, { owned: false });
    try {
      const waiting = bounded(shared.recvAsync(4)).catch((error: unknown) => error);
      await worker.terminate();
      expect(await waiting).toMatchObject(CLOSED);
      await loopTurns();
      expect(shared.closed).toBe(true);
      await expect(shared.waitWritable()).rejects.toMatchObject(CLOSED);
    } finally {
      shared.close();
    }
  });

  it("a terminated worker's descriptor that the main thread shares without waiting: the sharer is closed before the number can be reused", async () => {
    const { worker, first } = startWorker(OWNS_A_PAIR, -1);
    const fd = (await first) as number;
    const shared = Socket.fromFd(fd, { owned: false });
    try {
      await worker.terminate();
      // The worker's cleanup closed x only after this thread had let go of it: the sharer is
      // closed (its number may now be reused), and a new socket on that number is untouched.
      await loopTurns();
      expect(shared.closed).toBe(true);
      await closing(Socket.pair(), (c, d) => {
        d.send('queued');
        expect(() => shared.recv(6)).toThrow(expect.objectContaining(CLOSED) as Error);
        expect(c.recv(16)).toMatchObject({ kind: 'data', data: Buffer.from('queued') });
      });
    } finally {
      shared.close();
    }
  });
});

describe('defect 3: SOCK_SEQPACKET peer close', () => {
  it('for await over a seqpacket socket ends at the peer close instead of spinning', () =>
    closing(Socket.pair({ type: 'seqpacket' }), async (ours, peer) => {
      peer.send('one');
      peer.send('');
      peer.send('two');
      peer.close();
      const chunks: string[] = [];
      await bounded(
        (async () => {
          for await (const chunk of ours) chunks.push(chunk.toString());
        })(),
      );
      expect(chunks).toEqual(['one', 'two']);
      expect(ours.readState).toBe('eof');
      expect(await ours.recvAsync(4)).toEqual(EOF);
    }));

  it('zero-length records are dropped by the iterator without holding the event loop: timers run between them', () =>
    closing(Socket.pair({ type: 'dgram' }), async (ours, peer) => {
      for (let i = 0; i < 200; i++) peer.send('');
      peer.send('end');
      let ticks = 0;
      const timer = setInterval(() => ticks++, 0);
      try {
        for await (const chunk of ours) {
          expect(chunk.toString()).toBe('end');
          break;
        }
      } finally {
        clearInterval(timer);
      }
      expect(ticks).toBeGreaterThan(0);
    }));
  it('the async iterator lets timers run while the peer keeps the socket readable', () =>
    closing(Socket.pair({ type: 'dgram' }), async (ours, peer) => {
      for (let i = 0; i < 200; i++) expect(peer.send('x')).toMatchObject({ kind: 'sent' });
      let ticks = 0;
      const timer = setInterval(() => ticks++, 0);
      let chunks = 0;
      try {
        // Every datagram is there at once: without the loop turns, no timer would run until the end.
        for await (const chunk of ours) {
          expect(chunk.toString()).toBe('x');
          if (++chunks === 200) break;
        }
        expect(ticks).toBeGreaterThan(0);
      } finally {
        clearInterval(timer);
      }
    }));
});

describe('defect 4: detached or out-of-bounds DataView', () => {
  function detachedView(): DataView {
    const buffer = new ArrayBuffer(16);
    const view = new DataView(buffer);
    structuredClone(buffer, { transfer: [buffer] });
    return view;
  }

  /** A view of bytes 8-16 of a resizable ArrayBuffer, which is then shrunk to 4 bytes. */
  function shrunkBelow<T>(view: (buffer: ArrayBuffer) => T): T {
    // Resizable ArrayBuffers (ES2024) are newer than this project's TypeScript lib.
    const Resizable = ArrayBuffer as unknown as new (
      length: number,
      options: { maxByteLength: number },
    ) => ArrayBuffer & { resize(length: number): void };
    const buffer = new Resizable(16, { maxByteLength: 32 });
    const made = view(buffer);
    buffer.resize(4);
    return made;
  }

  function outOfBoundsView(): DataView {
    return shrunkBelow((buffer) => new DataView(buffer, 8, 8));
  }

  /** A fixed-length Uint8Array out of bounds: V8 says it is 0 bytes long. */
  function outOfBoundsTypedArray(): Uint8Array {
    return shrunkBelow((buffer) => new Uint8Array(buffer, 8, 8));
  }

  for (const [label, make] of [
    ['detached', detachedView],
    ['out-of-bounds', outOfBoundsView],
  ] as const) {
    it(`a ${label} DataView gets RangeError ERR_OUT_OF_RANGE from recvInto, recvIntoAsync, send, sendAsync and sendTo`, () =>
      closing([...Socket.pair(), boundUdp()], async (a, _b, udp) => {
        expect(() => a.recvInto(make())).toThrow(expect.objectContaining(RANGE) as Error);
        expect(() => a.send(make())).toThrow(expect.objectContaining(RANGE) as Error);
        expect(() => udp.sendTo(make(), endpointOf(udp))).toThrow(expect.objectContaining(RANGE) as Error);
        await expect(a.recvIntoAsync(make())).rejects.toMatchObject(RANGE);
        await expect(a.sendAsync(make())).rejects.toMatchObject(RANGE);
      }));
  }

  it('a typed array over a resizable ArrayBuffer shrunk below it is refused by send, sendTo and sendAsync, not sent as 0 bytes', () =>
    // Found by the fuzzer: V8 reports such a view as 0 bytes long, and it went out as an empty message.
    closing([...Socket.pair({ type: 'dgram' }), boundUdp()], async (a, b, udp) => {
      expect(() => a.send(outOfBoundsTypedArray())).toThrow(expect.objectContaining(RANGE) as Error);
      expect(() => udp.sendTo(outOfBoundsTypedArray(), endpointOf(udp))).toThrow(
        expect.objectContaining(RANGE) as Error,
      );
      await expect(a.sendAsync(outOfBoundsTypedArray())).rejects.toMatchObject(RANGE);
      // Nothing was sent; an empty view of live memory still sends a zero-length datagram.
      b.setBlocking(false);
      expect(b.recv(4)).toMatchObject({ kind: 'would-block' });
      expect(a.send(new Uint8Array(0))).toMatchObject({ kind: 'sent', bytesSent: 0 });
      expect(b.recv(4)).toMatchObject({ kind: 'data', bytesRead: 0 });
    }));

  it('a view detached during a recvIntoAsync wait gets the same RangeError when it wakes', () =>
    closing(Socket.pair(), async (a, b) => {
      const buffer = new ArrayBuffer(16);
      const pending = a.recvIntoAsync(new DataView(buffer), { timeout: 5000 });
      structuredClone(buffer, { transfer: [buffer] });
      b.send('wake');
      await expect(bounded(pending)).rejects.toMatchObject(RANGE);
      // Nothing was consumed by the refused call.
      expect(a.recv(4)).toMatchObject({ kind: 'data', data: Buffer.from('wake') });
    }));
});

describe('defect 5: Socket.connect with an unknown host', () => {
  it('rejects with a SocketError: syscall getaddrinfo, the resolver code, a positive number', () =>
    closing([Server.listen()], async (server) => {
      const error = (await Socket.connect({ host: 'no-such-host.invalid', port: server.port }).catch(
        (caught: unknown) => caught,
      )) as SocketError;
      expect(error).toBeInstanceOf(SocketError);
      expect(error.syscall).toBe('getaddrinfo');
      expect(error.code).toMatch(/^(ENOTFOUND|EAI_[A-Z]+)$/);
      expect(Number.isInteger(error.errno) && error.errno > 0).toBe(true);
      expect(error.address).toBe('no-such-host.invalid');
      expect(error.message).toBe(`getaddrinfo ${error.code} no-such-host.invalid:${server.port}`);
    }));
});
