/**
 * Datagrams, AF_UNIX and bad descriptors on Linux beyond the steps test/13.conformance.test.ts
 * compares (test/expectations/linux.ts): the bytes and sender of recvFrom (IPv4 and IPv6),
 * recvmsg's msg_flags, the poll(2) behind a SEQPACKET eof, the state a datagram socket keeps, and
 * the exceptions for descriptors that are not (or no longer) sockets. A receiver that waits is
 * blocking with SO_RCVTIMEO as the bound: a datagram that never comes is a `timeout`, and fails.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { constants, Socket, sys, type RecvFromOut } from '../src/index.js';
import { tempDir } from './built-package.js';
import { boundUdp, closedPort, closing, endpointOf, EOF, errnoOf, expectErrno, guardFds } from './helpers.js';

guardFds();

const TEN = Buffer.from('0123456789');
const TRUNC = constants.MSG.TRUNC ?? 0;

/** Runs `check` with a receiver (blocking, SO_RCVTIMEO) and a sender, both bound on loopback. */
function withPeers(
  family: 'IPv4' | 'IPv6',
  check: (receiver: Socket, send: (data: string | Buffer) => void, from: object) => void,
): Promise<void> {
  const address = family === 'IPv4' ? '127.0.0.1' : '::1';
  return closing([boundUdp({ family }), boundUdp({ family })], (receiver, sender) => {
    receiver.setReceiveTimeout(2000);
    const to = endpointOf(receiver);
    check(receiver, (data) => sender.sendTo(data, to), { address, port: endpointOf(sender).port, family });
  });
}

describe.runIf(process.platform === 'linux')('datagrams, AF_UNIX and bad descriptors on Linux', () => {
  it('udp.zero-length over IPv6 (test/30 has IPv4): recvFrom gives 0 bytes and the sender; recv the same', () =>
    withPeers('IPv6', (receiver, send, from) => {
      const zero = { kind: 'data', ret: 0, errno: 0, bytesRead: 0, data: Buffer.alloc(0) };
      send(Buffer.alloc(0));
      expect(receiver.recvFrom(16)).toEqual({ ...zero, truncated: false, ...from });
      send(Buffer.alloc(0));
      expect(receiver.recv(16)).toEqual(zero);
      send('after');
      expect(receiver.recvFrom(16)).toMatchObject({ data: Buffer.from('after'), ...from });
      expect(receiver.readState).toBe('open');
    }));

  it('udp.truncated: the 4 bytes that fit, truncated, with the sender; with MSG_TRUNC ret is the real length', () =>
    withPeers('IPv4', (receiver, send, from) => {
      const four = { kind: 'data', ret: 4, errno: 0, bytesRead: 4, data: Buffer.from('0123') };
      for (const [flags, ret] of [
        [0, 4],
        [TRUNC, 10],
      ]) {
        send(TEN);
        expect(receiver.recvFrom(4, flags)).toEqual({ ...four, ret, truncated: true, ...from });
        send(TEN);
        expect(receiver.recv(4, flags)).toEqual({ ...four, ret });
      }
      send(TEN);
      expect(receiver.recvFrom(10)).toMatchObject({ ret: 10, data: TEN, truncated: false });
    }));

  it('udp.truncated: sys.recvmsg sets MSG_TRUNC in msgFlags only when the datagram was cut', () =>
    withPeers('IPv4', (receiver, send) => {
      const [buffer, out] = [Buffer.alloc(16), {} as RecvFromOut];
      send(TEN);
      expect([sys.recvmsg(receiver.fd, buffer, 0, 4, 0, out), (out.msgFlags ?? 0) & TRUNC]).toEqual([4, TRUNC]);
      expect(buffer).toEqual(Buffer.concat([Buffer.from('0123'), Buffer.alloc(12)]));
      send(TEN);
      expect([sys.recvmsg(receiver.fd, buffer, 0, 16, 0, out), (out.msgFlags ?? 0) & TRUNC]).toEqual([10, 0]);
    }));

  it('udp.icmp: an ICMP error leaves a datagram socket open; an unconnected one keeps none in SO_ERROR', () =>
    withPeers('IPv4', (unconnected) => {
      const port = closedPort();
      const connected = Socket.udp({ connect: { host: '127.0.0.1', port } });
      try {
        unconnected.sendTo('ping', { host: '127.0.0.1', port });
        connected.send('ping');
        connected.setReceiveTimeout(2000);
        // Loopback keeps order: once the connected socket's error is in, so is the other ICMP.
        expectErrno(connected.recv(16), 'ECONNREFUSED');
        expect([connected.readState, unconnected.takeError(), unconnected.readState]).toEqual(['open', null, 'open']);
      } finally {
        connected.close();
      }
    }));

  it('unix.seqpacket: a record cut short is family unix, truncated; 0 after the peer closed is eof by poll(2)', () =>
    closing(Socket.pair({ type: 'seqpacket' }), (ours, peer) => {
      const events = constants.POLL.IN | (constants.POLL.RDHUP ?? 0);
      ours.setBlocking(false);
      peer.send('0123456789');
      peer.send('');
      expect(ours.recvFrom(4)).toMatchObject({ data: Buffer.from('0123'), truncated: true, family: 'unix' });
      // A zero-length record while the peer is open: 0 too, but poll(2) sees no hang-up.
      expect(ours.recv(16)).toMatchObject({ kind: 'data', ret: 0 });
      expect(sys.poll(ours.fd, events) & constants.POLL.HUP).toBe(0);
      peer.close();
      // The same 0 (docs/recv-semantics.md#trap-1); poll(2) now reports POLLHUP | POLLRDHUP.
      expect(sys.recv(ours.fd, Buffer.alloc(16), 0, 16, 0)).toBe(0);
      expect(sys.poll(ours.fd, events) & constants.POLL.HUP).toBe(constants.POLL.HUP);
      expect([ours.recv(16), ours.recvFrom(16), ours.readState]).toEqual([EOF, EOF, 'eof']);
    }));

  it('fd.closed: Socket.fromFd of a closed number throws EBADF (a closed Socket on a reused one: test/04, test/34)', () => {
    const fd = sys.socket(constants.AF.INET, constants.SOCK.DGRAM, 0);
    expect(sys.close(fd)).toBe(0);
    const badf = { name: 'SocketError', code: 'EBADF', errno: errnoOf('EBADF'), syscall: 'getsockopt' };
    expect(() => Socket.fromFd(fd)).toThrow(expect.objectContaining(badf));
  });

  it('fd.not-socket: both ends of a pipe: sys.recv returns -ENOTSOCK and Socket.fromFd throws ENOTSOCK', () => {
    // A FIFO is the kernel's pipe object (Node has no pipe(2)); O_NONBLOCK opens the read end
    // with no writer yet. /dev/null is test/04's.
    const dir = tempDir('rawrecv-fifo-');
    const ends: number[] = [];
    try {
      execFileSync('mkfifo', [join(dir.path, 'fifo')]);
      for (const mode of [fsConstants.O_RDONLY, fsConstants.O_WRONLY]) {
        ends.push(openSync(join(dir.path, 'fifo'), mode | fsConstants.O_NONBLOCK));
      }
      for (const fd of ends) {
        expect(sys.recv(fd, Buffer.alloc(16), 0, 16, 0)).toBe(-errnoOf('ENOTSOCK'));
        expect(() => Socket.fromFd(fd)).toThrow(expect.objectContaining({ name: 'SocketError', code: 'ENOTSOCK' }));
      }
    } finally {
      for (const fd of ends) closeSync(fd);
      dir.remove();
    }
  });
});
