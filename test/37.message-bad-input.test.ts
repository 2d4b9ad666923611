/**
 * Bad input to recvMsg, recvError, sendMsg, setRecvOptions, ReceivedDescriptor and the raw
 * `sys.recvmsgControl` / `sendmsgControl` / `inetNtop` / `inetPton` / `interfaceName` /
 * `controlSpace` (the glue re-checks what TypeScript checked): each case asserts the exact error
 * class and code, that no descriptor was opened or left behind, and, where a datagram is queued,
 * that no system call was made (the datagram is still there afterwards).
 */
import { describe, expect, it } from 'vitest';

import { constants, Socket, sys, type ReceivedDescriptor } from '../src/index.js';
import { boundUdp, closing, endpointOf, errnoOf, expectThrow, guardFds, wrong } from './helpers.js';

guardFds();

const { MSG, AF } = constants;

/** Each value of `values` passed by `call` throws `Class` with `code`. */
function each<T>(
  values: readonly T[],
  Class: typeof TypeError | typeof RangeError | typeof Error,
  code: string,
  call: (value: T) => unknown,
): void {
  for (const value of values) expectThrow(() => call(value), Class, code, String(value));
}

describe('recvMsg, recvError, sendMsg and setRecvOptions refuse bad input before any system call', () => {
  it('recvMsg: length, flags, options and control size', async () => {
    await closing([boundUdp(), boundUdp()], (receiver, sender) => {
      sender.sendTo('queued', endpointOf(receiver));
      each(['16', null, 16n], TypeError, 'ERR_INVALID_ARG_TYPE', (length) => receiver.recvMsg(wrong(length)));
      each([0, -1, 1.5, 2 ** 31], RangeError, 'ERR_OUT_OF_RANGE', (length) => receiver.recvMsg(length));
      each(['x', 5, null], TypeError, 'ERR_INVALID_ARG_TYPE', (options) => receiver.recvMsg(16, wrong(options)));
      each(['0', {}], TypeError, 'ERR_INVALID_ARG_TYPE', (flags) => receiver.recvMsg(16, { flags: wrong(flags) }));
      each([-1, 1.5], RangeError, 'ERR_OUT_OF_RANGE', (flags) => receiver.recvMsg(16, { flags }));
      expectThrow(() => receiver.recvMsg(16, { flags: 0x10 }), TypeError, 'ERR_INVALID_ARG_VALUE', 'MSG_PROBE');
      each(['1024', 1n], TypeError, 'ERR_INVALID_ARG_TYPE', (control) =>
        receiver.recvMsg(16, { control: wrong(control) }),
      );
      each([-1, 1.5, NaN, 2 ** 20 + 1], RangeError, 'ERR_OUT_OF_RANGE', (control) => receiver.recvMsg(16, { control }));
      each([0, -1], RangeError, 'ERR_OUT_OF_RANGE', (length) => receiver.recvError(length));
      each([-1, 2 ** 21], RangeError, 'ERR_OUT_OF_RANGE', (control) => receiver.recvError(16, { control }));
      // Nothing was received: the datagram is still queued.
      expect(receiver.available()).toBe(6);
    });
  });

  it('sendMsg: data, destination, flags and each control message', async () => {
    await closing([boundUdp(), boundUdp(), ...Socket.pair()], (receiver, sender, ours, peer) => {
      const to = endpointOf(receiver);
      each([5, null, {}], TypeError, 'ERR_INVALID_ARG_TYPE', (data) => sender.sendMsg(wrong(data), { to }));
      each(['x', 5], TypeError, 'ERR_INVALID_ARG_TYPE', (options) => sender.sendMsg('x', wrong(options)));
      expectThrow(
        () => sender.sendMsg('x', { to: { host: 'example.com', port: 1 } }),
        TypeError,
        'ERR_INVALID_ARG_VALUE',
      );
      expectThrow(
        () => sender.sendMsg('x', { to: { host: '::1', port: 1 } }),
        TypeError,
        'ERR_INVALID_ARG_TYPE',
        'IPv6 to IPv4',
      );
      each([-1, 65536], RangeError, 'ERR_OUT_OF_RANGE', (port) =>
        sender.sendMsg('x', { to: { host: '127.0.0.1', port } }),
      );
      expectThrow(() => sender.sendMsg('x', { to, flags: 0x10 }), TypeError, 'ERR_INVALID_ARG_VALUE', 'flags');
      each(['x', 5], TypeError, 'ERR_INVALID_ARG_TYPE', (control) =>
        sender.sendMsg('x', { to, control: wrong(control) }),
      );
      each([-1, 256, 1.5], RangeError, 'ERR_OUT_OF_RANGE', (tos) => sender.sendMsg('x', { to, control: { tos } }));
      expectThrow(() => sender.sendMsg('x', { to, control: { tos: wrong('1') } }), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectThrow(
        () => sender.sendMsg('x', { to, control: { pktinfo: { source: '::1' } } }),
        TypeError,
        'ERR_INVALID_ARG_VALUE',
        'an IPv6 source on IPv4',
      );
      expectThrow(
        () => sender.sendMsg('x', { to, control: { pktinfo: { source: wrong(5) } } }),
        TypeError,
        'ERR_INVALID_ARG_TYPE',
      );
      each([-1, 2 ** 31], RangeError, 'ERR_OUT_OF_RANGE', (ifindex) =>
        sender.sendMsg('x', { to, control: { pktinfo: { ifindex } } }),
      );
      // SCM_RIGHTS is AF_UNIX's.
      expectThrow(() => sender.sendMsg('x', { to, control: { rights: [ours] } }), Error, 'ERR_NOT_SUPPORTED');
      expectThrow(() => ours.sendMsg('x', { control: { tos: 1 } }), Error, 'ERR_NOT_SUPPORTED', 'tos on AF_UNIX');
      expectThrow(() => ours.sendMsg('x', { control: { rights: wrong(ours) } }), TypeError, 'ERR_INVALID_ARG_TYPE');
      each([[], new Array<number>(254).fill(0)], RangeError, 'ERR_OUT_OF_RANGE', (rights) =>
        ours.sendMsg('x', { control: { rights } }),
      );
      each([-1, 1.5, 2 ** 31], RangeError, 'ERR_OUT_OF_RANGE', (fd) =>
        ours.sendMsg('x', { control: { rights: [fd] } }),
      );
      each([{ fd: 3 }, '3', null], TypeError, 'ERR_INVALID_ARG_TYPE', (item) =>
        ours.sendMsg('x', { control: { rights: [wrong(item)] } }),
      );
      const closed = Socket.pair();
      closed.forEach((socket) => socket.close());
      expectThrow(
        () => ours.sendMsg('x', { control: { rights: [closed[0]] } }),
        TypeError,
        'ERR_INVALID_ARG_VALUE',
        'closed',
      );
      // Nothing was sent.
      expect(receiver.available()).toBe(0);
      expect(peer.available()).toBe(0);
    });
  });

  it('setRecvOptions: an object of booleans with known names; an option the socket cannot have is ERR_NOT_SUPPORTED naming it', async () => {
    await closing([boundUdp(), ...Socket.pair()], (udp, unix, peer) => {
      each([null, 'x', 5, undefined], TypeError, 'ERR_INVALID_ARG_TYPE', (options) =>
        udp.setRecvOptions(wrong(options)),
      );
      expectThrow(() => udp.setRecvOptions(wrong({ pktinfos: true })), TypeError, 'ERR_INVALID_ARG_VALUE');
      each([1, 'true', null], TypeError, 'ERR_INVALID_ARG_TYPE', (value) => udp.setRecvOptions({ tos: wrong(value) }));
      for (const key of ['pktinfo', 'tos', 'ttl', 'gro', 'recvErr'] as const) {
        const caught = (() => {
          try {
            unix.setRecvOptions({ [key]: true });
          } catch (error) {
            return error as Error & { code?: string };
          }
          return undefined;
        })();
        expect(caught?.code, key).toBe('ERR_NOT_SUPPORTED');
        expect(caught?.message, key).toMatch(/AF_UNIX/);
      }
      // AF_UNIX has no error queue (Linux ignores MSG_ERRQUEUE there and would take a message).
      peer.send('not an error');
      expectThrow(() => unix.recvError(), Error, 'ERR_NOT_SUPPORTED', 'recvError on AF_UNIX');
      expect(unix.available()).toBe(12);
      // Checked before the first call: a good option before a bad one is not set either.
      expectThrow(() => unix.setRecvOptions({ credentials: true, pktinfo: true }), Error, 'ERR_NOT_SUPPORTED');
      expect(sys.getsockopt(unix.fd, constants.SOL.SOCKET, constants.SO.PASSCRED ?? 16)).toBe(0);
    });
  });

  it('a closed socket: ERR_SOCKET_CLOSED before anything else', () => {
    const socket = boundUdp();
    socket.close();
    expectThrow(() => socket.recvMsg(wrong('x')), Error, 'ERR_SOCKET_CLOSED');
    expectThrow(() => socket.recvError(), Error, 'ERR_SOCKET_CLOSED');
    expectThrow(() => socket.sendMsg(wrong(5)), Error, 'ERR_SOCKET_CLOSED');
    expectThrow(() => socket.setRecvOptions(wrong(null)), Error, 'ERR_SOCKET_CLOSED');
  });

  it('a received descriptor cannot be taken twice, and close() after a take does not close it', async () => {
    await closing([...Socket.pair(), ...Socket.pair()], (ours, peer, passed) => {
      ours.sendMsg('x', { control: { rights: [passed] } });
      const result = peer.recvMsg(16);
      if (result.kind !== 'data') throw new Error(result.kind);
      const message = result.control[0];
      if (message?.name !== 'SCM_RIGHTS') throw new Error('no SCM_RIGHTS');
      const descriptor = message.descriptors[0] as ReceivedDescriptor;
      return closing([descriptor.takeSocket()], (socket) => {
        expectThrow(() => descriptor.takeSocket(), TypeError, 'ERR_INVALID_ARG_VALUE');
        expectThrow(() => descriptor.takeFd(), TypeError, 'ERR_INVALID_ARG_VALUE');
        descriptor.close();
        expect(socket.closed).toBe(false);
        expect(sys.getsockopt(socket.fd, constants.SOL.SOCKET, constants.SO.TYPE)).toBe(constants.SOCK.STREAM);
      });
    });
  });
});

describe('the glue re-checks: sys.recvmsgControl, sendmsgControl and the helpers', () => {
  it('recvmsgControl: fd, buffer range, flags and control length', async () => {
    await closing([boundUdp(), boundUdp()], (receiver, sender) => {
      sender.sendTo('queued', endpointOf(receiver));
      const fd = receiver.fd;
      const buffer = Buffer.alloc(8);
      expectThrow(() => sys.recvmsgControl(wrong('3'), buffer, 0, 8, 0, 64), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectThrow(() => sys.recvmsgControl(fd, wrong('buf'), 0, 8, 0, 64), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectThrow(() => sys.recvmsgControl(fd, buffer, 4, 8, 0, 64), RangeError, 'ERR_OUT_OF_RANGE', 'past the end');
      expectThrow(() => sys.recvmsgControl(fd, buffer, -1, 8, 0, 64), RangeError, 'ERR_OUT_OF_RANGE');
      expectThrow(() => sys.recvmsgControl(fd, buffer, 0, 8, wrong(null), 64), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectThrow(() => sys.recvmsgControl(fd, buffer, 0, 8, 0, wrong(undefined)), TypeError, 'ERR_INVALID_ARG_TYPE');
      each([-1, 2 ** 20 + 1, 0.5], RangeError, 'ERR_OUT_OF_RANGE', (control) =>
        sys.recvmsgControl(fd, buffer, 0, 8, 0, control),
      );
      const detached = new Uint8Array(8);
      structuredClone(detached.buffer, { transfer: [detached.buffer] });
      expectThrow(() => sys.recvmsgControl(fd, detached, 0, 8, 0, 64), RangeError, 'ERR_OUT_OF_RANGE', 'detached');
      expect(receiver.available()).toBe(6);
      // A good call on a wrong descriptor is the OS's answer, not a throw.
      expect(sys.recvmsgControl(-1, buffer, 0, 8, 0, 64)).toBe(-errnoOf('EBADF'));
    });
  });

  it('sendmsgControl: the address and the [level, type, data] entries', async () => {
    await closing([boundUdp(), boundUdp()], (receiver, sender) => {
      const fd = sender.fd;
      const { port } = endpointOf(receiver);
      const data = Buffer.from('x');
      const send = (control: unknown, family = AF.INET, host: unknown = '127.0.0.1'): number =>
        sys.sendmsgControl(fd, data, 0, 1, 0, family, wrong(host), port, wrong(control));
      expectThrow(() => send([], AF.INET, 5), TypeError, 'ERR_INVALID_ARG_TYPE', 'host');
      expectThrow(() => send([], AF.INET, 'nope'), TypeError, 'ERR_INVALID_ADDRESS');
      expectThrow(() => send([], AF.INET, '127.0.0.1\0'), TypeError, 'ERR_INVALID_ADDRESS');
      each(
        [null, {}, 'x', [[1, 2]], [[1, 2, 3]], [['1', 2, data]], [[1, 2, 'data']], [5]],
        TypeError,
        'ERR_INVALID_ARG_TYPE',
        (control) => send(control),
      );
      each([[[2 ** 31, 1, data]], [[1, 1.5, data]]], RangeError, 'ERR_OUT_OF_RANGE', (control) => send(control));
      expectThrow(() => send([[0, 1, Buffer.alloc(2 ** 20 + 1)]]), RangeError, 'ERR_OUT_OF_RANGE', 'too large');
      expectThrow(() => sys.sendmsgControl(fd, data, 1, 1, 0, 0, '', 0, []), RangeError, 'ERR_OUT_OF_RANGE', 'range');
      expect(receiver.available()).toBe(0);
      // family 0: the connected peer (none here: EDESTADDRREQ from the kernel, not a throw).
      expect(sys.sendmsgControl(fd, data, 0, 1, 0, 0, '', 0, [])).toBe(-errnoOf('EDESTADDRREQ'));
    });
  });

  it('inetNtop, inetPton, interfaceName, controlSpace', () => {
    expect(sys.inetNtop(AF.INET, Buffer.from([127, 0, 0, 1]), 0)).toBe('127.0.0.1');
    expect(sys.inetNtop(AF.INET, Buffer.from([127, 0, 0]), 0)).toBe(-errnoOf('EINVAL'));
    expect(sys.inetNtop(AF.INET6, Buffer.alloc(16), 8)).toBe(-errnoOf('EINVAL'));
    expect(sys.inetNtop(AF.UNIX, Buffer.alloc(16), 0)).toBe(-errnoOf('EAFNOSUPPORT'));
    expectThrow(() => sys.inetNtop(AF.INET, Buffer.alloc(4), 5), RangeError, 'ERR_OUT_OF_RANGE');
    expectThrow(() => sys.inetNtop(AF.INET, wrong([127, 0, 0, 1]), 0), TypeError, 'ERR_INVALID_ARG_TYPE');
    expect(sys.inetPton(AF.INET6, '::1')).toEqual(Buffer.from([...new Array<number>(15).fill(0), 1]));
    expect(sys.inetPton(AF.INET, '::1')).toBe(-errnoOf('EINVAL'));
    expect(sys.inetPton(AF.INET, '127.0.0.1\0junk')).toBe(-errnoOf('EINVAL'));
    expect(sys.inetPton(AF.UNIX, '/tmp')).toBe(-errnoOf('EAFNOSUPPORT'));
    expectThrow(() => sys.inetPton(AF.INET, wrong(1)), TypeError, 'ERR_INVALID_ARG_TYPE');
    expect(sys.interfaceName(0)).toBe(-errnoOf('ENXIO'));
    each([-1, 2 ** 32, 0.5], RangeError, 'ERR_OUT_OF_RANGE', (index) => sys.interfaceName(index));
    expect(sys.controlSpace(0)).toBe(constants.CMSG.CMSG_LEN_0);
    each([-1, 2 ** 20 + 1], RangeError, 'ERR_OUT_OF_RANGE', (length) => sys.controlSpace(length));
    expect(MSG.ERRQUEUE).toBeGreaterThan(0);
  });
});
