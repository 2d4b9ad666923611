/**
 * Conformance: the Linux [V] rows of /work/shared/recv-semantics.md for UDP, AF_UNIX and bad
 * descriptors, each under its scenario id, through the typed API and, where the scenario is
 * about raw numbers, through `sys`.
 *
 * Waiting: a receiver that expects something to arrive is left blocking with SO_RCVTIMEO as
 * the bound (a missing arrival is a `timeout` result, and the test fails); it is switched to
 * non-blocking only to check that nothing more is queued.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { constants, Socket, SocketError, sys, type RecvFromOut } from '../src/index.js';
import { closeAll, closedPort, errnoOf, expectErrno, guardFds } from './helpers.js';

guardFds();

/** The bound on every wait for something that loopback delivers at once. */
const ARRIVAL_MS = 2000;

const LOOPBACK = { IPv4: '127.0.0.1', IPv6: '::1' } as const;

/** A bound UDP socket on loopback, blocking, with SO_RCVTIMEO as the bound on any wait. */
function boundUdp(family: 'IPv4' | 'IPv6' = 'IPv4'): Socket {
  const socket = Socket.udp({ family, bind: { host: LOOPBACK[family], port: 0 } });
  socket.setReceiveTimeout(ARRIVAL_MS);
  return socket;
}

/** Linux's MSG_TRUNC, which these scenarios need. */
function msgTrunc(): number {
  const value = constants.MSG.TRUNC;
  if (value === undefined) throw new Error('constants.MSG.TRUNC is missing on Linux');
  return value;
}

/** An empty Buffer, as a zero-length datagram's `data`. */
const EMPTY = Buffer.alloc(0);

describe.runIf(process.platform === 'linux')('recv conformance on Linux: datagrams, AF_UNIX, bad descriptors', () => {
  describe('udp.idle', () => {
    it.each(['IPv4', 'IPv6'] as const)(
      'non-blocking recv on an idle unconnected %s UDP socket returns would-block EAGAIN',
      (family) => {
        const socket = boundUdp(family);
        try {
          socket.setBlocking(false);
          const viaRecv = socket.recv(16);
          expect(viaRecv.kind).toBe('would-block');
          expectErrno(viaRecv, 'EAGAIN');
          const viaRecvFrom = socket.recvFrom(16);
          expect(viaRecvFrom.kind).toBe('would-block');
          expectErrno(viaRecvFrom, 'EAGAIN');
          expect(socket.readState).toBe('open');
        } finally {
          socket.close();
        }
      },
    );
  });

  describe('udp.zero-length', () => {
    it('a zero-length datagram is data with bytesRead 0 and its sender, not eof', () => {
      const receiver = boundUdp();
      const sender = boundUdp();
      try {
        const to = { host: '127.0.0.1', port: receiver.localAddress().port };
        expect(sender.sendTo(EMPTY, to)).toEqual({ kind: 'sent', ret: 0, errno: 0, bytesSent: 0 });
        expect(receiver.recvFrom(16)).toEqual({
          kind: 'data',
          ret: 0,
          errno: 0,
          bytesRead: 0,
          data: EMPTY,
          truncated: false,
          address: '127.0.0.1',
          port: sender.localAddress().port,
          family: 'IPv4',
        });
        // Not eof: nothing else is queued, and a later datagram is still delivered.
        receiver.setBlocking(false);
        expectErrno(receiver.recvFrom(16), 'EAGAIN');
        expect(receiver.readState).toBe('open');
        expect(sender.sendTo('after', to)).toMatchObject({ kind: 'sent', bytesSent: 5 });
        receiver.setBlocking(true);
        expect(receiver.recvFrom(16)).toMatchObject({ kind: 'data', ret: 5, bytesRead: 5, data: Buffer.from('after') });
      } finally {
        closeAll(receiver, sender);
      }
    });

    it('plain recv of a zero-length datagram is data with bytesRead 0', () => {
      const receiver = boundUdp();
      const sender = boundUdp();
      try {
        sender.sendTo(EMPTY, { host: '127.0.0.1', port: receiver.localAddress().port });
        expect(receiver.recv(16)).toEqual({ kind: 'data', ret: 0, errno: 0, bytesRead: 0, data: EMPTY });
        receiver.setBlocking(false);
        expectErrno(receiver.recv(16), 'EAGAIN');
        expect(receiver.readState).toBe('open');
      } finally {
        closeAll(receiver, sender);
      }
    });
  });

  describe('udp.truncated', () => {
    const TEN = Buffer.from('0123456789');

    it('a 10-byte datagram into 4 bytes gives 4 bytes, truncated, and the rest is discarded', () => {
      const receiver = boundUdp();
      const sender = boundUdp();
      try {
        sender.sendTo(TEN, { host: '127.0.0.1', port: receiver.localAddress().port });
        expect(receiver.recvFrom(4)).toEqual({
          kind: 'data',
          ret: 4,
          errno: 0,
          bytesRead: 4,
          data: Buffer.from('0123'),
          truncated: true,
          address: '127.0.0.1',
          port: sender.localAddress().port,
          family: 'IPv4',
        });
        receiver.setBlocking(false);
        expectErrno(receiver.recvFrom(16), 'EAGAIN');
      } finally {
        closeAll(receiver, sender);
      }
    });

    it('a datagram that fits is not truncated', () => {
      const receiver = boundUdp();
      const sender = boundUdp();
      try {
        sender.sendTo(TEN, { host: '127.0.0.1', port: receiver.localAddress().port });
        expect(receiver.recvFrom(10)).toMatchObject({
          kind: 'data',
          ret: 10,
          bytesRead: 10,
          data: TEN,
          truncated: false,
        });
      } finally {
        closeAll(receiver, sender);
      }
    });

    it('with the MSG_TRUNC flag ret is the real length 10, bytesRead 4, truncated', () => {
      const receiver = boundUdp();
      const sender = boundUdp();
      try {
        const to = { host: '127.0.0.1', port: receiver.localAddress().port };
        sender.sendTo(TEN, to);
        expect(receiver.recvFrom(4, msgTrunc())).toEqual({
          kind: 'data',
          ret: 10,
          errno: 0,
          bytesRead: 4,
          data: Buffer.from('0123'),
          truncated: true,
          address: '127.0.0.1',
          port: sender.localAddress().port,
          family: 'IPv4',
        });
        // Plain recv with the flag: the same numbers, and only the bytes that fit.
        sender.sendTo(TEN, to);
        expect(receiver.recv(4, msgTrunc())).toEqual({
          kind: 'data',
          ret: 10,
          errno: 0,
          bytesRead: 4,
          data: Buffer.from('0123'),
        });
        receiver.setBlocking(false);
        expectErrno(receiver.recvFrom(16), 'EAGAIN');
      } finally {
        closeAll(receiver, sender);
      }
    });

    it('sys.recvmsg sets MSG_TRUNC in msgFlags only when the datagram was cut', () => {
      const receiver = boundUdp();
      const sender = boundUdp();
      try {
        const to = { host: '127.0.0.1', port: receiver.localAddress().port };
        const buffer = Buffer.alloc(16);
        const out: RecvFromOut = {};
        sender.sendTo(TEN, to);
        expect(sys.recvmsg(receiver.fd, buffer, 0, 4, 0, out)).toBe(4);
        expect((out.msgFlags ?? 0) & msgTrunc()).toBe(msgTrunc());
        expect(buffer.subarray(0, 4)).toEqual(Buffer.from('0123'));
        expect(buffer.subarray(4)).toEqual(Buffer.alloc(12));
        sender.sendTo(TEN, to);
        expect(sys.recvmsg(receiver.fd, buffer, 0, 16, 0, out)).toBe(10);
        expect((out.msgFlags ?? 0) & msgTrunc()).toBe(0);
      } finally {
        closeAll(receiver, sender);
      }
    });
  });

  describe('udp.len0', () => {
    it('sys.recv with length 0 returns 0 and consumes the pending datagram', () => {
      const receiver = boundUdp();
      const sender = boundUdp();
      try {
        const to = { host: '127.0.0.1', port: receiver.localAddress().port };
        sender.sendTo('first', to);
        sender.sendTo('second', to);
        // The datagram is pending before the zero-length call (peek waits for it, bounded).
        expect(receiver.peek(16)).toMatchObject({ kind: 'data', bytesRead: 5, data: Buffer.from('first') });
        expect(sys.recv(receiver.fd, Buffer.alloc(1), 0, 0, 0)).toBe(0);
        // 'first' is gone: the next datagram is 'second', and then nothing.
        expect(receiver.recv(16)).toMatchObject({ kind: 'data', bytesRead: 6, data: Buffer.from('second') });
        receiver.setBlocking(false);
        expectErrno(receiver.recv(16), 'EAGAIN');
      } finally {
        closeAll(receiver, sender);
      }
    });
  });

  describe('udp.icmp', () => {
    it('connected UDP after port-unreachable: recv gives ECONNREFUSED once, then would-block', () => {
      const socket = Socket.udp({ connect: { host: '127.0.0.1', port: closedPort() } });
      try {
        expect(socket.send('ping')).toEqual({ kind: 'sent', ret: 4, errno: 0, bytesSent: 4 });
        // Blocking with SO_RCVTIMEO: the recv returns when the ICMP error arrives (bounded).
        socket.setReceiveTimeout(ARRIVAL_MS);
        const refused = socket.recv(16);
        expect(refused).toMatchObject({ kind: 'error', code: 'ECONNREFUSED' });
        expectErrno(refused, 'ECONNREFUSED');
        expect(socket.readState).toBe('open');
        socket.setBlocking(false);
        const after = socket.recv(16);
        expect(after.kind).toBe('would-block');
        expectErrno(after, 'EAGAIN');
        // A datagram socket has no connection to lose: readState stays 'open'.
        expect(socket.readState).toBe('open');
      } finally {
        socket.close();
      }
    });
  });

  describe('udp.icmp.unconnected', () => {
    it('unconnected UDP after port-unreachable: recv is would-block and no error is pending', () => {
      const port = closedPort();
      const unconnected = boundUdp();
      // A connected probe to the same closed port: once its ECONNREFUSED has come back, the
      // ICMP for the earlier datagram has been handled too (loopback delivers in order).
      const probe = Socket.udp({ connect: { host: '127.0.0.1', port } });
      try {
        expect(unconnected.sendTo('ping', { host: '127.0.0.1', port })).toMatchObject({ kind: 'sent', bytesSent: 4 });
        probe.send('ping');
        probe.setReceiveTimeout(ARRIVAL_MS);
        expectErrno(probe.recv(16), 'ECONNREFUSED');
        unconnected.setBlocking(false);
        const result = unconnected.recv(16);
        expect(result.kind).toBe('would-block');
        expectErrno(result, 'EAGAIN');
        // Without IP_RECVERR the error is not even kept in SO_ERROR.
        expect(unconnected.takeError()).toBeNull();
        expect(unconnected.readState).toBe('open');
      } finally {
        closeAll(unconnected, probe);
      }
    });
  });

  describe('unix.stream', () => {
    it('idle would-block, then data, then eof after the peer closes, and eof again', () => {
      const [ours, peer] = Socket.pair();
      try {
        ours.setBlocking(false);
        const idle = ours.recv(16);
        expect(idle.kind).toBe('would-block');
        expectErrno(idle, 'EAGAIN');
        expect(peer.send('hello')).toMatchObject({ kind: 'sent', bytesSent: 5 });
        expect(ours.recv(16)).toEqual({ kind: 'data', ret: 5, errno: 0, bytesRead: 5, data: Buffer.from('hello') });
        peer.close();
        expect(ours.recv(16)).toEqual({ kind: 'eof', ret: 0, errno: 0 });
        expect(ours.recv(16)).toEqual({ kind: 'eof', ret: 0, errno: 0 });
        expect(ours.readState).toBe('eof');
      } finally {
        closeAll(ours, peer);
      }
    });

    it('peer closed with unread data: ECONNRESET once, then eof', () => {
      const [ours, peer] = Socket.pair();
      try {
        ours.setBlocking(false);
        ours.send('never read');
        peer.close();
        const reset = ours.recv(16);
        expect(reset).toMatchObject({ kind: 'error', code: 'ECONNRESET' });
        expectErrno(reset, 'ECONNRESET');
        expect(ours.recv(16)).toEqual({ kind: 'eof', ret: 0, errno: 0 });
        expect(ours.readState).toBe('reset');
      } finally {
        closeAll(ours, peer);
      }
    });
  });

  describe('unix.seqpacket', () => {
    it('a zero-length record is data with bytesRead 0, not eof', () => {
      const [ours, peer] = Socket.pair({ type: 'seqpacket' });
      try {
        ours.setBlocking(false);
        expect(peer.send(EMPTY)).toEqual({ kind: 'sent', ret: 0, errno: 0, bytesSent: 0 });
        expect(ours.recv(16)).toEqual({ kind: 'data', ret: 0, errno: 0, bytesRead: 0, data: EMPTY });
        // Not eof: the next call would block instead of returning 0 again.
        expectErrno(ours.recv(16), 'EAGAIN');
        peer.send(EMPTY);
        expect(ours.recvFrom(16)).toMatchObject({ kind: 'data', ret: 0, bytesRead: 0, data: EMPTY, truncated: false });
        expect(ours.readState).toBe('open');
      } finally {
        closeAll(ours, peer);
      }
    });

    it('truncation drops the rest of a record', () => {
      const [ours, peer] = Socket.pair({ type: 'seqpacket' });
      try {
        ours.setBlocking(false);
        peer.send('0123456789');
        peer.send('next');
        expect(ours.recvFrom(4)).toMatchObject({
          kind: 'data',
          ret: 4,
          errno: 0,
          bytesRead: 4,
          data: Buffer.from('0123'),
          truncated: true,
          family: 'unix',
        });
        // The next recv starts at the next record, not at '4'.
        expect(ours.recvFrom(16)).toMatchObject({ kind: 'data', ret: 4, data: Buffer.from('next'), truncated: false });
        expectErrno(ours.recvFrom(16), 'EAGAIN');
      } finally {
        closeAll(ours, peer);
      }
    });

    it('after the peer closes recv returns 0, and poll(2) hang-up makes it eof (zero-length records stay data)', () => {
      const [ours, peer] = Socket.pair({ type: 'seqpacket' });
      try {
        ours.setBlocking(false);
        // A zero-length record while the peer is open: 0, data with bytesRead 0.
        expect(peer.send('')).toMatchObject({ kind: 'sent', ret: 0 });
        expect(ours.recv(16)).toEqual({ kind: 'data', ret: 0, errno: 0, bytesRead: 0, data: EMPTY });
        expect(sys.poll(ours.fd, constants.POLL.IN | (constants.POLL.RDHUP ?? 0)) & constants.POLL.HUP).toBe(0);
        expect(ours.readState).toBe('open');
        peer.close();
        // Linux returns the same 0 for a closed seqpacket peer (trap 1); poll(2) reports
        // POLLHUP | POLLRDHUP then, so the library calls it eof, now and on every later call.
        expect(sys.recv(ours.fd, Buffer.alloc(16), 0, 16, 0)).toBe(0);
        const revents = sys.poll(ours.fd, constants.POLL.IN | (constants.POLL.RDHUP ?? 0));
        expect(revents & constants.POLL.HUP).toBe(constants.POLL.HUP);
        expect(ours.recv(16)).toEqual({ kind: 'eof', ret: 0, errno: 0 });
        expect(ours.recvFrom(16)).toEqual({ kind: 'eof', ret: 0, errno: 0 });
        expect(ours.readState).toBe('eof');
      } finally {
        closeAll(ours, peer);
      }
    });
  });

  describe('unix.dgram.peer-closed', () => {
    it('after the peer closes, non-blocking recv is would-block EAGAIN every time', () => {
      const [ours, peer] = Socket.pair({ type: 'dgram' });
      try {
        peer.close();
        ours.setBlocking(false);
        for (let i = 0; i < 3; i++) {
          const result = ours.recv(16);
          expect(result.kind).toBe('would-block');
          expectErrno(result, 'EAGAIN');
        }
        expectErrno(ours.recvFrom(16), 'EAGAIN');
        expect(ours.readState).toBe('open');
      } finally {
        closeAll(ours, peer);
      }
    });

    it('a blocking recv does not return at all (here it runs into SO_RCVTIMEO)', () => {
      const [ours, peer] = Socket.pair({ type: 'dgram' });
      try {
        peer.close();
        ours.setReceiveTimeout(20);
        const result = ours.recv(16);
        expect(result.kind).toBe('timeout');
        expectErrno(result, 'EAGAIN');
      } finally {
        closeAll(ours, peer);
      }
    });
  });

  describe('fd.closed', () => {
    it('sys.recv on fd -1 returns -EBADF', () => {
      expect(sys.recv(-1, Buffer.alloc(16), 0, 16, 0)).toBe(-errnoOf('EBADF'));
    });

    it('sys.recv on a descriptor number that was closed returns -EBADF', () => {
      const fd = sys.socket(constants.AF.INET, constants.SOCK.DGRAM, 0);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(sys.close(fd)).toBe(0);
      expect(sys.recv(fd, Buffer.alloc(16), 0, 16, 0)).toBe(-errnoOf('EBADF'));
      expect(() => Socket.fromFd(fd)).toThrow(
        expect.objectContaining({ name: 'SocketError', code: 'EBADF', errno: errnoOf('EBADF'), syscall: 'getsockopt' }),
      );
    });

    it('a closed Socket throws ERR_SOCKET_CLOSED without a syscall, even when its number is reused', () => {
      const [first, firstPeer] = Socket.pair();
      const number = first.fd;
      first.close();
      // The lowest free number goes to the new pair's first descriptor: `first`'s old number.
      const [second, secondPeer] = Socket.pair();
      try {
        expect(first.fd).toBe(-1);
        expect(first.closed).toBe(true);
        expect(second.fd).toBe(number);
        secondPeer.send('for second');
        const closed = expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' });
        expect(() => first.recv(16)).toThrow(closed);
        expect(() => first.recvFrom(16)).toThrow(closed);
        expect(() => first.peek(16)).toThrow(closed);
        expect(() => first.recvInto(Buffer.alloc(16))).toThrow(closed);
        // Had any of those reached recv(2), it would have taken these bytes from `second`.
        expect(second.recv(32)).toEqual({
          kind: 'data',
          ret: 10,
          errno: 0,
          bytesRead: 10,
          data: Buffer.from('for second'),
        });
      } finally {
        closeAll(first, firstPeer, second, secondPeer);
      }
    });
  });

  describe('fd.not-socket', () => {
    const notSocket = expect.objectContaining({
      name: 'SocketError',
      code: 'ENOTSOCK',
      errno: errnoOf('ENOTSOCK'),
      syscall: 'getsockopt',
    });

    it('/dev/null: sys.recv returns -ENOTSOCK and Socket.fromFd throws ENOTSOCK', () => {
      const fd = openSync('/dev/null', 'r');
      try {
        expect(sys.recv(fd, Buffer.alloc(16), 0, 16, 0)).toBe(-errnoOf('ENOTSOCK'));
        let thrown: unknown;
        try {
          Socket.fromFd(fd);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(SocketError);
        expect(thrown).toEqual(notSocket);
      } finally {
        closeSync(fd);
      }
    });

    it('both ends of a pipe: sys.recv returns -ENOTSOCK and Socket.fromFd throws ENOTSOCK', () => {
      // Node has no pipe(2); a FIFO is the same kernel pipe object. O_NONBLOCK lets the read
      // end open with no writer yet, and the write end then finds a reader.
      const dir = mkdtempSync(join(tmpdir(), 'rawrecv-fifo-'));
      const ends: number[] = [];
      try {
        const path = join(dir, 'fifo');
        execFileSync('mkfifo', [path]);
        ends.push(openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK));
        ends.push(openSync(path, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
        for (const fd of ends) {
          expect(sys.recv(fd, Buffer.alloc(16), 0, 16, 0)).toBe(-errnoOf('ENOTSOCK'));
          let thrown: unknown;
          try {
            Socket.fromFd(fd);
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(SocketError);
          expect(thrown).toEqual(notSocket);
        }
      } finally {
        for (const fd of ends) closeSync(fd);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
