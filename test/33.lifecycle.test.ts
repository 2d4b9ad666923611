/**
 * Lifecycle and edge cases of the event-loop layer: garbage collection around poll handles,
 * a persistent POLLERR, and the refusals that keep results honest.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { constants, PollError, Server, Socket, sys } from '../src/index.js';
import {
  bounded,
  closeAll,
  closedPort,
  closing,
  collectGarbage as collect,
  errnoOf,
  guardFds,
  tcpPair,
  waitFor,
} from './helpers.js';

guardFds();

describe('garbage collection', () => {
  it('a dropped non-owned Socket that waited once does not take a reused number out of epoll', async () => {
    const [x, y] = Socket.pair();
    const number = x.fd;
    // A non-owned Socket over x waits once (its poll handle is opened), then is dropped.
    await (async () => {
      const borrowed = Socket.fromFd(number, { owned: false });
      expect(await borrowed.waitReadable({ timeout: 10 })).toBe('timeout');
    })();
    x.close();
    // The number is reused by a new socket, which then waits.
    const [c, d] = Socket.pair();
    try {
      expect(c.fd === number || d.fd === number).toBe(true);
      const reused = c.fd === number ? c : d;
      const partner = reused === c ? d : c;
      const waiting = reused.waitReadable({ timeout: 2000 });
      // Collecting the dropped Socket closes its poll handle: had that run uv_close on the
      // number now, the new socket's registration would be gone and the wait would time out.
      await collect();
      partner.send('x');
      expect(await waiting).toBe('ready');
    } finally {
      closeAll(y, c, d);
    }
  });

  it('a pending waitReadable keeps its socket alive: the wait times out, it is not closed', async () => {
    const [pending, peer] = (() => {
      const [a, b] = Socket.pair();
      return [a.waitReadable({ timeout: 200 }), b] as const;
    })();
    try {
      await collect();
      expect(await pending).toBe('timeout');
    } finally {
      peer.close();
    }
    // Once settled, the socket is unreachable and the finalizer closes it (the fd guard checks).
    await collect();
  });
});

describe('a POLLERR that recv cannot clear', () => {
  it.runIf(constants.IP.IP_RECVERR !== undefined)(
    'recvAsync rejects with a PollError instead of spinning (connected UDP, IP_RECVERR queue not drained)',
    () =>
      closing([Socket.udp({ connect: { host: '127.0.0.1', port: closedPort() } })], async (socket) => {
        expect(sys.setsockopt(socket.fd, constants.IPPROTO.IP, constants.IP.IP_RECVERR ?? -1, 1)).toBe(0);
        socket.send('x');
        // The ICMP error is reported once (and stays queued on the error queue: POLLERR).
        socket.setBlocking(false);
        await waitFor(() => socket.recv(1).kind === 'error', 2000, 'the ECONNREFUSED');
        const failure = await socket.recvAsync(1, { timeout: 5000 }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure).toBeInstanceOf(PollError);
        expect(failure).toMatchObject({ code: 'EBADF', syscall: 'uv_poll' });
      }),
  );
});

describe('refusals that keep results honest', () => {
  it('MSG_TRUNC on a TCP recv is refused (it discards the bytes unread); sys.recv passes it through', () =>
    closing([tcpPair()], (pair) => {
      const trunc = constants.MSG.TRUNC ?? 0;
      expect(trunc).not.toBe(0);
      pair.peer.send('secret');
      for (const call of [
        () => pair.client.recv(3, trunc),
        () => pair.client.recvInto(Buffer.alloc(3), { flags: trunc }),
        // The fuzzer found recvFrom let it through: the result showed the scratch buffer's bytes.
        () => pair.client.recvFrom(3, trunc),
      ]) {
        expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      }
      expect(pair.client.available()).toBe(6);
      // The raw layer does what the kernel does: 3 bytes discarded, none copied.
      const buffer = Buffer.from('...');
      expect(sys.recv(pair.client.fd, buffer, 0, 3, trunc)).toBe(3);
      expect(buffer.toString()).toBe('...');
    }));

  it('reset() on a socket it does not own is ERR_INVALID_STATE (close would send no RST)', () =>
    closing([tcpPair()], (pair) => {
      const borrowed = Socket.fromFd(pair.client.fd, { owned: false });
      expect(() => borrowed.reset()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
      borrowed.close();
      pair.client.setBlocking(false);
      expect(pair.client.recv(1)).toMatchObject({ kind: 'would-block', errno: errnoOf('EAGAIN') });
    }));

  it('acceptAsync on a blocking server gives a blocking socket, in the kernel too', async () => {
    const server = Server.listen();
    const client = Socket.connectSync({ host: '127.0.0.1', port: server.port });
    try {
      const accepted = await server.acceptAsync({ timeout: 2000 });
      expect(accepted.kind).toBe('socket');
      if (accepted.kind !== 'socket') return;
      expect(accepted.socket.blocking).toBe(true);
      expect(sys.getNonBlocking(accepted.socket.fd)).toBe(0);
      expect(server.blocking).toBe(true);
      expect(sys.getNonBlocking(server.fd)).toBe(0);
      accepted.socket.close();
    } finally {
      closeAll(client, server);
    }
  });
});

describe('memory the addon writes through a raw pointer', () => {
  it('no typed array the addon writes to is reachable through its exports (callArgs, the promise slot): a wait still settles', async () => {
    // The exports object is in the require cache: anyone can load it again.
    const require = createRequire(import.meta.url);
    const load = require('node-gyp-build') as (root: string) => Record<string, unknown> & {
      poller: Record<string, unknown>;
    };
    const exports = load(fileURLToPath(new URL('..', import.meta.url)));
    const views = [...Object.values(exports), ...Object.values(exports.poller)].filter((value) =>
      ArrayBuffer.isView(value),
    );
    expect(views).toEqual([]);
    await closing([...Socket.pair()], async (left, right) => {
      const pending = left.recvAsync(1);
      right.send('x');
      expect(await bounded(pending, 2000)).toMatchObject({ kind: 'data', bytesRead: 1 });
    });
  });
});
