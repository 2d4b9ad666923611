/**
 * Every bad-input rule of the public API: each case asserts the exact error class and `code`,
 * that no descriptor was opened or left behind, and (where data is queued) that no system
 * call was made, because the queued bytes are still there afterwards.
 */
import { closeSync, openSync } from 'node:fs';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { constants, Server, Socket, SocketError, sys } from '../src/index.js';
import {
  boundUdp,
  closeAll,
  closing,
  codeOf,
  dgramPair,
  endpointOf,
  errnoOf,
  expectBlockingMode,
  expectThrow,
  guardFds,
  WIN32,
  wrong,
  type ErrorClass,
} from './helpers.js';

guardFds();

/** A printable name for a bad value. */
function show(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (value instanceof ArrayBuffer) return 'ArrayBuffer';
  if (Array.isArray(value)) return `[${value.join(',')}]`;
  return String(value);
}

/** {@link expectThrow} of `call(value)` for each of `values`, labelled with `label`'s %s as the value. */
function expectEachThrows<T>(
  values: readonly T[],
  Class: ErrorClass,
  code: string,
  label: string,
  call: (value: T) => unknown,
): void {
  for (const value of values)
    expectThrow(
      () => call(value),
      Class,
      code,
      label.replace('%s', () => show(value)),
    );
}

/** The lowest bit that is no MSG_* flag of this platform (MSG_PROBE's 0x10 on Linux). */
const KNOWN = Object.values(constants.MSG).reduce<number>((mask, bit) => mask | (bit ?? 0), 0);
const UNKNOWN_BIT = (() => {
  for (let bit = 1; bit <= 2 ** 30; bit *= 2) if ((KNOWN & bit) === 0) return bit;
  throw new Error('every bit is a MSG_* flag');
})();

const LENGTH_WRONG_TYPE = ['16', null, undefined, 16n, {}, true];
const LENGTH_OUT_OF_RANGE = [-1, 0, -0, 1.5, NaN, Infinity, -Infinity, 2 ** 31];
const FLAGS_WRONG_TYPE = ['0', null, 0n, {}, false];
const FLAGS_OUT_OF_RANGE = [-1, 1.5, NaN, Infinity, 2 ** 31];
const FLAGS_UNKNOWN = [UNKNOWN_BIT, constants.MSG.PEEK | UNKNOWN_BIT];
const PORT_OUT_OF_RANGE = [-1, 65536, 1.5, NaN, Infinity];
const HOST_NOT_IP = ['example.com', '999.1.1.1', '', '127.0.0.1:80', '[::1]', ' 127.0.0.1', '::1%'];
const HOST_WRONG_TYPE = [5, null, undefined, {}, ['127.0.0.1']];
const NOT_A_VIEW = ['abc', [1, 2, 3], new ArrayBuffer(8), null, undefined, 5, {}];

/** Checks the length and flags rules of one recv-like method. */
function checkLengthAndFlags(name: string, call: (length: unknown, flags: unknown) => unknown): void {
  expectEachThrows(LENGTH_WRONG_TYPE, TypeError, 'ERR_INVALID_ARG_TYPE', `${name}(%s)`, (length) => call(length, 0));
  expectEachThrows(LENGTH_OUT_OF_RANGE, RangeError, 'ERR_OUT_OF_RANGE', `${name}(%s)`, (length) => call(length, 0));
  expectEachThrows(FLAGS_WRONG_TYPE, TypeError, 'ERR_INVALID_ARG_TYPE', `${name}(4, %s)`, (flags) => call(4, flags));
  expectEachThrows(FLAGS_OUT_OF_RANGE, RangeError, 'ERR_OUT_OF_RANGE', `${name}(4, %s)`, (flags) => call(4, flags));
  expectEachThrows(FLAGS_UNKNOWN, TypeError, 'ERR_INVALID_ARG_VALUE', `${name}(4, %s)`, (flags) => call(4, flags));
}

describe('recv, peek, recvInto and recvFrom arguments', () => {
  let a: Socket | undefined;
  let b: Socket | undefined;

  beforeEach(() => {
    [a, b] = Socket.pair();
    a.setBlocking(false);
    // Queued before the bad calls: it is still all there afterwards only if none reached recv(2).
    expect(b.send('abc')).toMatchObject({ kind: 'sent', bytesSent: 3 });
  });

  afterEach(() => {
    closeAll(a, b);
  });

  function expectQueuedUntouched(socket: Socket): void {
    expect(socket.available()).toBe(3);
    const result = socket.recv(16);
    expect(result).toMatchObject({ kind: 'data', ret: 3, bytesRead: 3 });
    expect(result.kind === 'data' && result.data.toString()).toBe('abc');
  }

  it('recv rejects bad lengths and flags with the exact class and code, making no call', () => {
    const socket = a as Socket;
    checkLengthAndFlags('recv', (length, flags) => socket.recv(wrong(length), wrong(flags)));
    expectQueuedUntouched(socket);
  });

  it('peek rejects bad lengths with the exact class and code', () => {
    const socket = a as Socket;
    expectEachThrows(LENGTH_WRONG_TYPE, TypeError, 'ERR_INVALID_ARG_TYPE', 'peek(%s)', (length) =>
      socket.peek(wrong(length)),
    );
    expectEachThrows(LENGTH_OUT_OF_RANGE, RangeError, 'ERR_OUT_OF_RANGE', 'peek(%s)', (length) =>
      socket.peek(wrong(length)),
    );
    expectQueuedUntouched(socket);
  });

  it('recvInto rejects a buffer that is not an ArrayBuffer view', () => {
    const socket = a as Socket;
    expectEachThrows(NOT_A_VIEW, TypeError, 'ERR_INVALID_ARG_TYPE', 'recvInto(%s)', (buffer) =>
      socket.recvInto(wrong(buffer)),
    );
    expectQueuedUntouched(socket);
  });

  it('recvInto rejects options that are not an object', () => {
    const socket = a as Socket;
    expectEachThrows([null, 'x', 5, true], TypeError, 'ERR_INVALID_ARG_TYPE', 'recvInto(buf, %s)', (options) =>
      socket.recvInto(Buffer.alloc(8), wrong(options)),
    );
    expectQueuedUntouched(socket);
  });

  it('recvInto rejects bad offsets, lengths and flags', () => {
    const socket = a as Socket;
    const buffer = Buffer.alloc(16);
    expectEachThrows(['0', null, 0n], TypeError, 'ERR_INVALID_ARG_TYPE', 'offset %s', (offset) =>
      socket.recvInto(buffer, { offset: wrong(offset) }),
    );
    expectEachThrows([-1, 1.5, NaN, Infinity, 17, 2 ** 31], RangeError, 'ERR_OUT_OF_RANGE', 'offset %s', (offset) =>
      socket.recvInto(buffer, { offset }),
    );
    expectEachThrows(['4', null, 4n], TypeError, 'ERR_INVALID_ARG_TYPE', 'length %s', (length) =>
      socket.recvInto(buffer, { length: wrong(length) }),
    );
    expectEachThrows(LENGTH_OUT_OF_RANGE, RangeError, 'ERR_OUT_OF_RANGE', 'length %s', (length) =>
      socket.recvInto(buffer, { length }),
    );
    expectEachThrows(FLAGS_WRONG_TYPE, TypeError, 'ERR_INVALID_ARG_TYPE', 'flags %s', (flags) =>
      socket.recvInto(buffer, { flags: wrong(flags) }),
    );
    expectEachThrows(FLAGS_OUT_OF_RANGE, RangeError, 'ERR_OUT_OF_RANGE', 'flags %s', (flags) =>
      socket.recvInto(buffer, { flags }),
    );
    expectEachThrows(FLAGS_UNKNOWN, TypeError, 'ERR_INVALID_ARG_VALUE', 'flags %s', (flags) =>
      socket.recvInto(buffer, { flags }),
    );
    expectQueuedUntouched(socket);
  });

  it('recvInto rejects a view too short for offset + length, counting bytes, not elements', () => {
    const socket = a as Socket;
    const cases: [string, ArrayBufferView, { offset?: number; length?: number }][] = [
      ['Buffer(16) offset 8 length 9', Buffer.alloc(16), { offset: 8, length: 9 }],
      ['Buffer(16) length 17', Buffer.alloc(16), { length: 17 }],
      ['Buffer(16) offset 16 (nothing left)', Buffer.alloc(16), { offset: 16 }],
      ['Uint32Array(2) (8 bytes) offset 4 length 5', new Uint32Array(2), { offset: 4, length: 5 }],
      ['Float64Array(1) (8 bytes) length 9', new Float64Array(1), { length: 9 }],
      ['DataView of 4 bytes inside 16, length 5', new DataView(new ArrayBuffer(16), 8, 4), { length: 5 }],
      ['subarray(2, 6) of 16, offset 1 length 4', Buffer.alloc(16).subarray(2, 6), { offset: 1, length: 4 }],
    ];
    for (const [label, view, options] of cases) {
      expectThrow(() => socket.recvInto(view, options), RangeError, 'ERR_OUT_OF_RANGE', label);
    }
    expectQueuedUntouched(socket);
  });

  it('recvInto rejects an empty view', () => {
    const socket = a as Socket;
    for (const view of [Buffer.alloc(0), new Uint8Array(0), new DataView(new ArrayBuffer(0))]) {
      expectThrow(() => socket.recvInto(view), RangeError, 'ERR_OUT_OF_RANGE', `empty ${view.constructor.name}`);
    }
    expectQueuedUntouched(socket);
  });

  it('recvInto rejects a view whose ArrayBuffer was detached', () => {
    const socket = a as Socket;
    const arrayBuffer = new ArrayBuffer(8);
    const view = new Uint8Array(arrayBuffer);
    structuredClone(arrayBuffer, { transfer: [arrayBuffer] });
    expect(view.byteLength).toBe(0);
    expectThrow(() => socket.recvInto(view), RangeError, 'ERR_OUT_OF_RANGE', 'detached, no options');
    expectThrow(() => socket.recvInto(view, { length: 4 }), RangeError, 'ERR_OUT_OF_RANGE', 'detached, length 4');
    expectThrow(() => socket.recvInto(view, { offset: 4 }), RangeError, 'ERR_OUT_OF_RANGE', 'detached, offset 4');
    expectQueuedUntouched(socket);
  });

  it('recvFrom rejects bad lengths and flags on a datagram socket, making no call', () =>
    closing(dgramPair(), (x, y) => {
      x.setBlocking(false);
      expect(y.send('abc')).toMatchObject({ kind: 'sent', bytesSent: 3 });
      checkLengthAndFlags('recvFrom', (length, flags) => x.recvFrom(wrong(length), wrong(flags)));
      expect(x.recvFrom(16)).toMatchObject({ kind: 'data', ret: 3, bytesRead: 3, truncated: false });
    }));
});

describe('send and sendTo arguments', () => {
  it('send rejects data that is neither a view nor a string, and bad flags, sending nothing', () =>
    closing(Socket.pair(), (a, b) => {
      b.setBlocking(false);
      expectEachThrows(
        [5, null, undefined, [1, 2], new ArrayBuffer(4), {}, 1n],
        TypeError,
        'ERR_INVALID_ARG_TYPE',
        'send(%s)',
        (data) => a.send(wrong(data)),
      );
      expectEachThrows(FLAGS_WRONG_TYPE, TypeError, 'ERR_INVALID_ARG_TYPE', 'send flags %s', (flags) =>
        a.send('x', wrong(flags)),
      );
      expectEachThrows(FLAGS_OUT_OF_RANGE, RangeError, 'ERR_OUT_OF_RANGE', 'send flags %s', (flags) =>
        a.send('x', flags),
      );
      expectEachThrows(FLAGS_UNKNOWN, TypeError, 'ERR_INVALID_ARG_VALUE', 'send flags %s', (flags) =>
        a.send('x', flags),
      );
      expect(b.recv(16)).toMatchObject({ kind: 'would-block' });
    }));

  it('sendTo rejects bad destinations, data and flags, sending nothing', () =>
    closing([boundUdp(), Socket.udp()], (receiver, sender) => {
      receiver.setBlocking(false);
      const to = endpointOf(receiver);
      const { port } = to;
      expectEachThrows([null, undefined, 'x', 5], TypeError, 'ERR_INVALID_ARG_TYPE', 'to %s', (bad) =>
        sender.sendTo('x', wrong(bad)),
      );
      expectEachThrows(HOST_WRONG_TYPE, TypeError, 'ERR_INVALID_ARG_TYPE', 'host %s', (host) =>
        sender.sendTo('x', { host: wrong(host), port }),
      );
      expectEachThrows(HOST_NOT_IP, TypeError, 'ERR_INVALID_ARG_VALUE', 'host %s', (host) =>
        sender.sendTo('x', { host, port }),
      );
      expectEachThrows(PORT_OUT_OF_RANGE, RangeError, 'ERR_OUT_OF_RANGE', 'port %s', (bad) =>
        sender.sendTo('x', { host: '127.0.0.1', port: bad }),
      );
      expectEachThrows(['80', null, undefined, 80n], TypeError, 'ERR_INVALID_ARG_TYPE', 'port %s', (bad) =>
        sender.sendTo('x', { host: '127.0.0.1', port: wrong(bad) }),
      );
      expectEachThrows([5, null, [1], new ArrayBuffer(1)], TypeError, 'ERR_INVALID_ARG_TYPE', 'data %s', (data) =>
        sender.sendTo(wrong(data), to),
      );
      expectEachThrows(FLAGS_OUT_OF_RANGE, RangeError, 'ERR_OUT_OF_RANGE', 'flags %s', (flags) =>
        sender.sendTo('x', to, flags),
      );
      expectEachThrows(FLAGS_UNKNOWN, TypeError, 'ERR_INVALID_ARG_VALUE', 'flags %s', (flags) =>
        sender.sendTo('x', to, flags),
      );
      expect(receiver.recvFrom(16)).toMatchObject({ kind: 'would-block' });
    }));
});

describe('a closed socket', () => {
  it('throws ERR_SOCKET_CLOSED from every method, has fd -1, and close() again is a no-op', () =>
    closing([...Socket.pair(), Socket.udp()], (a, b, udp) => {
      a.close();
      udp.close();
      expect(a.fd).toBe(-1);
      expect(a.closed).toBe(true);
      expect(() => a.close()).not.toThrow();
      expect(a.fd).toBe(-1);
      const calls: [string, () => unknown][] = [
        ['setBlocking', () => a.setBlocking(false)],
        ['setReceiveTimeout', () => a.setReceiveTimeout(10)],
        ['setSendTimeout', () => a.setSendTimeout(10)],
        ['recv', () => a.recv(4)],
        ['recvInto', () => a.recvInto(Buffer.alloc(4))],
        ['peek', () => a.peek(4)],
        ['recvFrom', () => a.recvFrom(4)],
        ['send', () => a.send('x')],
        ['sendTo', () => udp.sendTo('x', { host: '127.0.0.1', port: 9 })],
        ['shutdown', () => a.shutdown('both')],
        ['reset', () => a.reset()],
        ['takeError', () => a.takeError()],
        ['available', () => a.available()],
        ['localAddress', () => a.localAddress()],
        ['remoteAddress', () => a.remoteAddress()],
        // The closed check comes first: a bad argument on a closed socket still says closed.
        ['recv with a bad length', () => a.recv(wrong('x'))],
        ['reset on a closed dgram socket', () => udp.reset()],
      ];
      for (const [label, call] of calls) expectThrow(call, Error, 'ERR_SOCKET_CLOSED', label);
      expect(a.fd).toBe(-1);
      // The peer is untouched by all this: it sees the close as eof.
      expect(b.recv(4)).toEqual({ kind: 'eof', ret: 0, errno: 0 });
    }));

  it('rejects every async call with ERR_SOCKET_CLOSED first, whatever its arguments', () =>
    closing(Socket.pair(), async (a) => {
      a.close();
      const calls: [string, () => Promise<unknown>][] = [
        ['recvAsync', () => a.recvAsync(4)],
        ['recvAsync with unknown flags', () => a.recvAsync(4, { flags: 2 ** 30 })],
        ['recvIntoAsync with unknown flags', () => a.recvIntoAsync(Buffer.alloc(4), { flags: 2 ** 30 })],
        ['recvFromAsync with a bad length', () => a.recvFromAsync(wrong('x'))],
        ['sendAsync with bad options', () => a.sendAsync('x', wrong(5))],
        ['waitReadable with a bad timeout', () => a.waitReadable({ timeout: -1 })],
        ['waitWritable', () => a.waitWritable()],
      ];
      for (const [label, call] of calls) {
        const error = (await call().then(
          () => undefined,
          (caught: unknown) => caught,
        )) as { code?: string } | undefined;
        expect(error?.code, label).toBe('ERR_SOCKET_CLOSED');
      }
    }));
});

describe('hosts, ports and socket constructors', () => {
  it('connectSync rejects bad options, hosts and ports without opening a descriptor', () => {
    expectEachThrows([undefined, null, 'x', 5], TypeError, 'ERR_INVALID_ARG_TYPE', 'connectSync(%s)', (options) =>
      Socket.connectSync(wrong(options)),
    );
    expectEachThrows(HOST_WRONG_TYPE, TypeError, 'ERR_INVALID_ARG_TYPE', 'host %s', (host) =>
      Socket.connectSync({ host: wrong(host), port: 9 }),
    );
    expectEachThrows(HOST_NOT_IP, TypeError, 'ERR_INVALID_ARG_VALUE', 'host %s', (host) =>
      Socket.connectSync({ host, port: 9 }),
    );
    // connect needs a port >= 1.
    expectEachThrows([0, ...PORT_OUT_OF_RANGE], RangeError, 'ERR_OUT_OF_RANGE', 'port %s', (port) =>
      Socket.connectSync({ host: '127.0.0.1', port }),
    );
    expectEachThrows(['80', null, undefined], TypeError, 'ERR_INVALID_ARG_TYPE', 'port %s', (port) =>
      Socket.connectSync({ host: '127.0.0.1', port: wrong(port) }),
    );
  });

  it('udp rejects bad options, families, endpoints and a family/address mismatch', () => {
    expectEachThrows([null, 'x', 5], TypeError, 'ERR_INVALID_ARG_TYPE', 'udp(%s)', (options) =>
      Socket.udp(wrong(options)),
    );
    expectEachThrows(['IPv5', 'ipv4', 4, 6, null], TypeError, 'ERR_INVALID_ARG_VALUE', 'family %s', (family) =>
      Socket.udp({ family: wrong(family) }),
    );
    expectEachThrows([null, 'x', 5], TypeError, 'ERR_INVALID_ARG_TYPE', 'bind %s', (bind) =>
      Socket.udp({ bind: wrong(bind) }),
    );
    for (const host of HOST_NOT_IP) {
      expectThrow(
        () => Socket.udp({ bind: { host, port: 0 } }),
        TypeError,
        'ERR_INVALID_ARG_VALUE',
        `bind host ${show(host)}`,
      );
      expectThrow(
        () => Socket.udp({ connect: { host, port: 9 } }),
        TypeError,
        'ERR_INVALID_ARG_VALUE',
        `connect host ${show(host)}`,
      );
    }
    expectEachThrows(PORT_OUT_OF_RANGE, RangeError, 'ERR_OUT_OF_RANGE', 'bind port %s', (port) =>
      Socket.udp({ bind: { host: '127.0.0.1', port } }),
    );
    expectEachThrows([0, ...PORT_OUT_OF_RANGE], RangeError, 'ERR_OUT_OF_RANGE', 'connect port %s', (port) =>
      Socket.udp({ connect: { host: '127.0.0.1', port } }),
    );
    const mismatches: [string, Parameters<typeof Socket.udp>[0]][] = [
      ['default IPv4, bind ::1', { bind: { host: '::1', port: 0 } }],
      ['IPv4, bind ::1', { family: 'IPv4', bind: { host: '::1', port: 0 } }],
      ['IPv6, bind 127.0.0.1', { family: 'IPv6', bind: { host: '127.0.0.1', port: 0 } }],
      ['IPv6, bind localhost', { family: 'IPv6', bind: { host: 'localhost', port: 0 } }],
      ['IPv4, connect ::1', { family: 'IPv4', connect: { host: '::1', port: 9 } }],
      ['IPv6, connect 127.0.0.1', { family: 'IPv6', connect: { host: '127.0.0.1', port: 9 } }],
    ];
    for (const [label, options] of mismatches) {
      expectThrow(() => Socket.udp(options), TypeError, 'ERR_INVALID_ARG_VALUE', label);
    }
  });

  it('pair rejects an unknown type, including names inherited from Object.prototype', () => {
    expectEachThrows([null, 'x', 5], TypeError, 'ERR_INVALID_ARG_TYPE', 'pair(%s)', (options) =>
      Socket.pair(wrong(options)),
    );
    for (const type of ['raw', 'STREAM', 'udp', '', 5, null, 'toString', 'constructor', '__proto__']) {
      const call = () => {
        // If the type is wrongly accepted, close the pair at once so only this test fails.
        const pair = Socket.pair({ type: wrong(type) });
        closeAll(...pair);
        return pair;
      };
      expectThrow(call, TypeError, 'ERR_INVALID_ARG_VALUE', `type ${show(type)}`);
    }
  });

  it('new Socket() throws ERR_ILLEGAL_CONSTRUCTOR', () => {
    const SocketClass = Socket as unknown as new (...args: unknown[]) => Socket;
    expectThrow(() => new SocketClass(), TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'new Socket()');
    expectThrow(
      () =>
        new SocketClass(Symbol('rawrecv.Socket'), {
          fd: 2 ** 30,
          type: 'stream',
          family: 'unix',
          blocking: true,
          receiveTimeout: 0,
          sendTimeout: 0,
          owned: true,
        }),
      TypeError,
      'ERR_ILLEGAL_CONSTRUCTOR',
      'new Socket(another symbol, state)',
    );
  });

  it('new Server() throws ERR_ILLEGAL_CONSTRUCTOR', () => {
    const ServerClass = Server as unknown as new (...args: unknown[]) => Server;
    expectThrow(() => new ServerClass(), TypeError, 'ERR_ILLEGAL_CONSTRUCTOR', 'new Server()');
    expectThrow(
      () => new ServerClass(Symbol('rawrecv.Server'), {}),
      TypeError,
      'ERR_ILLEGAL_CONSTRUCTOR',
      'new Server(symbol)',
    );
  });
});

describe('fromFd', () => {
  it('rejects a negative, fractional or non-number fd and bad options', () => {
    // A Win64 SOCKET is pointer-sized: there 2**31 is a legal handle value (with no socket
    // behind it) and the bound is 2**53, the last exact JavaScript integer.
    expectEachThrows(
      [-1, 1.5, NaN, Infinity, WIN32 ? 2 ** 53 : 2 ** 31],
      RangeError,
      'ERR_OUT_OF_RANGE',
      'fromFd(%s)',
      (fd) => Socket.fromFd(fd),
    );
    if (WIN32) expectThrow(() => Socket.fromFd(2 ** 31), SocketError, 'WSAENOTSOCK', 'fromFd(2**31)');
    expectEachThrows(['3', null, undefined, 3n], TypeError, 'ERR_INVALID_ARG_TYPE', 'fromFd(%s)', (fd) =>
      Socket.fromFd(wrong(fd)),
    );
  });

  it('rejects an fd another live Socket owns, and an owned option that is not boolean', () =>
    closing(Socket.pair(), (a, b) => {
      expectThrow(() => Socket.fromFd(a.fd), TypeError, 'ERR_INVALID_ARG_VALUE', 'fromFd(owned fd)');
      expectThrow(() => Socket.fromFd(a.fd, { owned: true }), TypeError, 'ERR_INVALID_ARG_VALUE', 'owned: true');
      expectEachThrows(['yes', 1, null, 0], TypeError, 'ERR_INVALID_ARG_TYPE', 'owned %s', (owned) =>
        Socket.fromFd(b.fd, { owned: wrong(owned) }),
      );
      expectEachThrows([null, 'x', 5], TypeError, 'ERR_INVALID_ARG_TYPE', 'options %s', (options) =>
        Socket.fromFd(b.fd, wrong(options)),
      );
      // The owner is untouched: it still talks to its peer.
      expect(a.send('ok')).toMatchObject({ kind: 'sent', bytesSent: 2 });
      expect(b.recv(4)).toMatchObject({ kind: 'data', bytesRead: 2 });
      // Sharing without ownership is the documented way, and is allowed.
      const shared = Socket.fromFd(a.fd, { owned: false });
      shared.close();
      expect(a.fd).toBeGreaterThanOrEqual(0);
      expect(a.send('ok')).toMatchObject({ kind: 'sent', bytesSent: 2 });
    }));

  it('throws a SocketError ENOTSOCK for a descriptor that is not a socket, leaving it open', () => {
    // On Windows Node's fs gives a C runtime descriptor, not a HANDLE: as a SOCKET value it names
    // no socket, and Winsock says WSAENOTSOCK.
    const fd = openSync(WIN32 ? '\\\\.\\NUL' : '/dev/null', 'r');
    try {
      expectThrow(() => Socket.fromFd(fd), SocketError, codeOf('ENOTSOCK'), 'fromFd(/dev/null)');
    } finally {
      closeSync(fd);
    }
  });
});

describe('socket options and state changes', () => {
  let a: Socket | undefined;
  let b: Socket | undefined;

  beforeEach(() => {
    [a, b] = Socket.pair();
  });

  afterEach(() => {
    closeAll(a, b);
  });

  it('setBlocking rejects a non-boolean and keeps the mode', () => {
    const socket = a as Socket;
    expectEachThrows(['yes', 1, 0, null, undefined], TypeError, 'ERR_INVALID_ARG_TYPE', 'setBlocking(%s)', (value) =>
      socket.setBlocking(wrong(value)),
    );
    expect(socket.blocking).toBe(true);
    expectBlockingMode(socket, true);
  });

  it('setReceiveTimeout and setSendTimeout reject -1, 1.5, NaN, 2**32 and non-numbers, keeping 0', () => {
    const socket = a as Socket;
    for (const [name, set] of [
      ['setReceiveTimeout', (value: number) => socket.setReceiveTimeout(value)],
      ['setSendTimeout', (value: number) => socket.setSendTimeout(value)],
    ] as const) {
      expectEachThrows([-1, 1.5, NaN, Infinity, 2 ** 32], RangeError, 'ERR_OUT_OF_RANGE', `${name}(%s)`, set);
      expectEachThrows(['5', null, undefined, 5n], TypeError, 'ERR_INVALID_ARG_TYPE', `${name}(%s)`, (value) =>
        set(wrong(value)),
      );
    }
    expect(socket.receiveTimeout).toBe(0);
    expect(socket.sendTimeout).toBe(0);
    expect(sys.getTimeout(socket.fd, constants.SO.RCVTIMEO)).toBe(0);
    expect(sys.getTimeout(socket.fd, constants.SO.SNDTIMEO)).toBe(0);
  });

  it("shutdown('sideways') and other unknown directions throw ERR_INVALID_ARG_VALUE and shut nothing", () => {
    const socket = a as Socket;
    expectEachThrows(
      ['sideways', 'READ', 'rdwr', '', undefined, 1, null],
      TypeError,
      'ERR_INVALID_ARG_VALUE',
      'shutdown(%s)',
      (how) => socket.shutdown(wrong(how)),
    );
    // Both directions still work.
    expect(socket.send('x')).toMatchObject({ kind: 'sent', bytesSent: 1 });
    expect((b as Socket).send('y')).toMatchObject({ kind: 'sent', bytesSent: 1 });
    expect(socket.recv(4)).toMatchObject({ kind: 'data', bytesRead: 1 });
  });

  it('reset() on a datagram socket throws ERR_INVALID_STATE and leaves it open', () =>
    closing([...dgramPair(), Socket.udp()], (x, _y, udp) => {
      for (const [label, socket] of [
        [WIN32 ? 'connected udp' : 'unix dgram', x],
        ['udp', udp],
      ] as const) {
        const fd = socket.fd;
        expectThrow(() => socket.reset(), Error, 'ERR_INVALID_STATE', `reset() on ${label}`);
        expect(socket.fd).toBe(fd);
        expect(socket.closed).toBe(false);
      }
      expect(x.send('still open')).toMatchObject({ kind: 'sent', bytesSent: 10 });
    }));
});

describe('Server arguments', () => {
  it('listen rejects bad options, ports, backlogs and hosts without opening a descriptor', () => {
    expectEachThrows([null, 'x', 5], TypeError, 'ERR_INVALID_ARG_TYPE', 'listen(%s)', (options) =>
      Server.listen(wrong(options)),
    );
    expectEachThrows(PORT_OUT_OF_RANGE, RangeError, 'ERR_OUT_OF_RANGE', 'port %s', (port) => Server.listen({ port }));
    expectEachThrows(['80', null, 80n], TypeError, 'ERR_INVALID_ARG_TYPE', 'port %s', (port) =>
      Server.listen({ port: wrong(port) }),
    );
    expectEachThrows([-1, 1.5, NaN, 2 ** 31], RangeError, 'ERR_OUT_OF_RANGE', 'backlog %s', (backlog) =>
      Server.listen({ backlog }),
    );
    expectEachThrows(['5', null, 5n], TypeError, 'ERR_INVALID_ARG_TYPE', 'backlog %s', (backlog) =>
      Server.listen({ backlog: wrong(backlog) }),
    );
    expectEachThrows(HOST_NOT_IP, TypeError, 'ERR_INVALID_ARG_VALUE', 'host %s', (host) => Server.listen({ host }));
    expectEachThrows([5, null, {}], TypeError, 'ERR_INVALID_ARG_TYPE', 'host %s', (host) =>
      Server.listen({ host: wrong(host) }),
    );
  });

  it('a closed server throws ERR_SOCKET_CLOSED from accept and the rest, with fd -1; close() again is a no-op', () =>
    closing([Server.listen()], (server) => {
      expectThrow(
        () => server.setBlocking(wrong('no')),
        TypeError,
        'ERR_INVALID_ARG_TYPE',
        "setBlocking('no') while open",
      );
      server.close();
      expect(server.fd).toBe(-1);
      expect(server.closed).toBe(true);
      expect(() => server.close()).not.toThrow();
      expectThrow(() => server.accept(), Error, 'ERR_SOCKET_CLOSED', 'accept()');
      expectThrow(() => server.setBlocking(false), Error, 'ERR_SOCKET_CLOSED', 'setBlocking(false)');
      expectThrow(() => server.address(), Error, 'ERR_SOCKET_CLOSED', 'address()');
      expectThrow(() => server.port, Error, 'ERR_SOCKET_CLOSED', 'port');
    }));
});

describe('the sys layer re-checks its arguments natively', () => {
  it('sys.recv rejects a bad fd, a non-view buffer, an out-of-range window and bad numbers, and reads nothing', () =>
    closing(Socket.pair(), (a, b) => {
      a.setBlocking(false);
      expect(b.send('abc')).toMatchObject({ kind: 'sent', bytesSent: 3 });
      const fd = a.fd;
      const buffer = Buffer.alloc(8);
      const recv = (...args: unknown[]) => (sys.recv as (...args: unknown[]) => number)(...args);
      const cases: [string, () => unknown, ErrorClass, string][] = [
        ["fd '3'", () => recv(String(fd), buffer, 0, 4, 0), TypeError, 'ERR_INVALID_ARG_TYPE'],
        ['fd null', () => recv(null, buffer, 0, 4, 0), TypeError, 'ERR_INVALID_ARG_TYPE'],
        ['fd 1.5', () => recv(1.5, buffer, 0, 4, 0), RangeError, 'ERR_OUT_OF_RANGE'],
        ['fd NaN', () => recv(NaN, buffer, 0, 4, 0), RangeError, 'ERR_OUT_OF_RANGE'],
        // A Win64 SOCKET is pointer-sized: the bound there is 2**53, and -1 (INVALID_SOCKET) is allowed.
        WIN32
          ? ['fd 2**53', () => recv(2 ** 53, buffer, 0, 4, 0), RangeError, 'ERR_OUT_OF_RANGE']
          : ['fd 2**31', () => recv(2 ** 31, buffer, 0, 4, 0), RangeError, 'ERR_OUT_OF_RANGE'],
        ['buffer string', () => recv(fd, 'abcdefgh', 0, 4, 0), TypeError, 'ERR_INVALID_ARG_TYPE'],
        ['buffer array', () => recv(fd, [0, 0, 0, 0], 0, 4, 0), TypeError, 'ERR_INVALID_ARG_TYPE'],
        ['buffer ArrayBuffer', () => recv(fd, new ArrayBuffer(8), 0, 4, 0), TypeError, 'ERR_INVALID_ARG_TYPE'],
        ['buffer null', () => recv(fd, null, 0, 4, 0), TypeError, 'ERR_INVALID_ARG_TYPE'],
        ['offset 6 + length 3 > 8', () => recv(fd, buffer, 6, 3, 0), RangeError, 'ERR_OUT_OF_RANGE'],
        ['length 9 > 8', () => recv(fd, buffer, 0, 9, 0), RangeError, 'ERR_OUT_OF_RANGE'],
        ['offset 9, length 0', () => recv(fd, buffer, 9, 0, 0), RangeError, 'ERR_OUT_OF_RANGE'],
        [
          'Uint16Array(2) is 4 bytes: length 5',
          () => recv(fd, new Uint16Array(2), 0, 5, 0),
          RangeError,
          'ERR_OUT_OF_RANGE',
        ],
        [
          'DataView of 2 bytes inside 8: length 3',
          () => recv(fd, new DataView(new ArrayBuffer(8), 6, 2), 0, 3, 0),
          RangeError,
          'ERR_OUT_OF_RANGE',
        ],
        ['subarray(6) of 8: length 3', () => recv(fd, buffer.subarray(6), 0, 3, 0), RangeError, 'ERR_OUT_OF_RANGE'],
        ['offset -1', () => recv(fd, buffer, -1, 4, 0), RangeError, 'ERR_OUT_OF_RANGE'],
        ['length 1.5', () => recv(fd, buffer, 0, 1.5, 0), RangeError, 'ERR_OUT_OF_RANGE'],
        ['length -1', () => recv(fd, buffer, 0, -1, 0), RangeError, 'ERR_OUT_OF_RANGE'],
        ['length NaN', () => recv(fd, buffer, 0, NaN, 0), RangeError, 'ERR_OUT_OF_RANGE'],
        ["length '4'", () => recv(fd, buffer, 0, '4', 0), TypeError, 'ERR_INVALID_ARG_TYPE'],
        ['flags 1.5', () => recv(fd, buffer, 0, 4, 1.5), RangeError, 'ERR_OUT_OF_RANGE'],
        ['flags missing', () => recv(fd, buffer, 0, 4), TypeError, 'ERR_INVALID_ARG_TYPE'],
        ['no arguments', () => recv(), TypeError, 'ERR_INVALID_ARG_TYPE'],
      ];
      for (const [label, call, Class, code] of cases) expectThrow(call, Class, code, `sys.recv ${label}`);
      // On Windows 2**31 is a handle value with no socket behind it: the call is made and fails.
      if (WIN32) expect(sys.recv(2 ** 31, buffer, 0, 4, 0)).toBe(-errnoOf('ENOTSOCK'));

      const arrayBuffer = new ArrayBuffer(8);
      const detached = new Uint8Array(arrayBuffer);
      structuredClone(arrayBuffer, { transfer: [arrayBuffer] });
      expectThrow(() => sys.recv(fd, detached, 0, 4, 0), RangeError, 'ERR_OUT_OF_RANGE', 'sys.recv detached view');

      const out = { family: 0, address: '', port: 0, msgFlags: 0 };
      expectThrow(
        () => sys.recvmsg(fd, buffer, 6, 3, 0, out),
        RangeError,
        'ERR_OUT_OF_RANGE',
        'sys.recvmsg offset 6 + length 3 > 8',
      );
      expectThrow(
        () => sys.recvmsg(fd, buffer, 0, 4, 0, wrong(null)),
        TypeError,
        'ERR_INVALID_ARG_TYPE',
        'sys.recvmsg out null',
      );
      expectThrow(
        () => sys.send(fd, buffer, 4, 5, 0),
        RangeError,
        'ERR_OUT_OF_RANGE',
        'sys.send offset 4 + length 5 > 8',
      );

      // Nothing reached recv(2): the three bytes are still queued, and a good call reads them.
      expect(sys.fionread(fd)).toBe(3);
      expect(sys.recv(fd, buffer, 0, 8, 0)).toBe(3);
      expect(buffer.subarray(0, 3).toString()).toBe('abc');
    }));

  it('sys.bind rejects an unparsable or wrong-family address with ERR_INVALID_ADDRESS and binds nothing', () =>
    closing([Socket.udp()], (socket) => {
      const fd = socket.fd;
      const inet = constants.AF.INET;
      expectEachThrows(
        ['example.com', '999.1.1.1', '', '::1', '127.0.0.1\0evil', 'localhost'],
        TypeError,
        'ERR_INVALID_ADDRESS',
        'bind %s',
        (host) => sys.bind(fd, inet, host, 0),
      );
      expectThrow(() => sys.bind(fd, inet, wrong(5), 0), TypeError, 'ERR_INVALID_ARG_TYPE', 'bind host 5');
      expectThrow(() => sys.bind(fd, inet, '127.0.0.1', 65536), RangeError, 'ERR_OUT_OF_RANGE', 'bind port 65536');
      expectThrow(() => sys.bind(fd, inet, '127.0.0.1', -1), RangeError, 'ERR_OUT_OF_RANGE', 'bind port -1');
      expectThrow(() => sys.bind(fd, wrong('2'), '127.0.0.1', 0), TypeError, 'ERR_INVALID_ARG_TYPE', "family '2'");
      if (WIN32) {
        // Still unbound: Winsock's getsockname fails with WSAEINVAL on a socket never bound.
        expect(() => socket.localAddress()).toThrow(
          expect.objectContaining({ syscall: 'getsockname', code: 'WSAEINVAL', errno: errnoOf('EINVAL') }),
        );
      } else {
        // Still unbound: getsockname says port 0.
        expect(socket.localAddress()).toEqual({ address: '0.0.0.0', port: 0, family: 'IPv4' });
      }
    }));

  it('sys.setNonBlocking rejects a non-boolean and leaves the mode alone', () =>
    closing(Socket.pair(), (a, b) => {
      expectEachThrows(
        [1, 0, 'true', null, undefined],
        TypeError,
        'ERR_INVALID_ARG_TYPE',
        'setNonBlocking(fd, %s)',
        (value) => sys.setNonBlocking(a.fd, wrong(value)),
      );
      // The process is still here and the descriptor still works.
      expect(a.send('x')).toMatchObject({ kind: 'sent', bytesSent: 1 });
      expect(b.recv(4)).toMatchObject({ kind: 'data', bytesRead: 1 });
      expectBlockingMode(a, true);
    }));
});
