/**
 * SocketError: the one error class for a system call whose failure cannot be a result.
 * Built by hand for every platform's numbers, and for real from connectSync and Server.listen.
 */
import { connect as netConnect } from 'node:net';
import { getSystemErrorName } from 'node:util';

import { describe, expect, it } from 'vitest';

import { Server, Socket, SocketError } from '../src/index.js';
import { closedPort, closing, codeOf, errnoOf, guardFds, openFdCount, thrownBy, WIN32 } from './helpers.js';

guardFds();

/** Runs `call`, asserts it throws a SocketError, and returns it. */
function catchSocketError(call: () => unknown): SocketError {
  const caught = thrownBy(call);
  expect(caught).toBeInstanceOf(SocketError);
  return caught as SocketError;
}

/** What Node's `net` puts on a failed connect's error. */
type NodeConnectError = NodeJS.ErrnoException & { address?: string; port?: number };

/** The error Node's own `net` gives for a failed connect to `port`, bounded by a 5 s timer. */
function nodeConnectError(port: number): Promise<NodeConnectError> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('net.connect neither failed nor connected within 5 s'));
    }, 5000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(`something listens on ${port}`));
    });
    socket.once('error', (error: NodeConnectError) => {
      clearTimeout(timer);
      // Resolve only once the handle is closed, so the fd guard sees its descriptor gone.
      socket.once('close', () => resolve(error));
    });
  });
}

describe('SocketError built by hand', () => {
  it('is an Error and a SocketError named SocketError with a stack', () => {
    const error = new SocketError('connect', 111, { address: '127.0.0.1', port: 9, platform: 'linux' });
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(SocketError);
    expect(error.name).toBe('SocketError');
    expect(Object.prototype.toString.call(error)).toBe('[object Error]');
    expect(error.stack).toMatch(/^SocketError: connect ECONNREFUSED 127\.0\.0\.1:9\n/);
  });

  it('carries code, errno, syscall, address and port, with a message like Node’s', () => {
    const error = new SocketError('connect', 111, { address: '127.0.0.1', port: 9, platform: 'linux' });
    expect(error.message).toBe('connect ECONNREFUSED 127.0.0.1:9');
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.errno).toBe(111);
    expect(error.syscall).toBe('connect');
    expect(error.address).toBe('127.0.0.1');
    expect(error.port).toBe(9);
    expect(String(error)).toBe('SocketError: connect ECONNREFUSED 127.0.0.1:9');
  });

  it('an IPv6 address is written as given, then the port', () => {
    const error = new SocketError('bind', 98, { address: '::1', port: 8080, platform: 'linux' });
    expect(error.message).toBe('bind EADDRINUSE ::1:8080');
    expect(error.code).toBe('EADDRINUSE');
  });

  it('an address without a port is written alone and leaves port unset', () => {
    const error = new SocketError('connect', 2, { address: '/tmp/rawrecv.sock', platform: 'linux' });
    expect(error.message).toBe('connect ENOENT /tmp/rawrecv.sock');
    expect(error.address).toBe('/tmp/rawrecv.sock');
    expect(error.port).toBeUndefined();
  });

  it('without details the message is syscall and code, and address and port are unset', () => {
    const error = new SocketError('fcntl', 9, { platform: 'linux' });
    expect(error.message).toBe('fcntl EBADF');
    expect(error.code).toBe('EBADF');
    expect(error.errno).toBe(9);
    expect(error.syscall).toBe('fcntl');
    expect(error.address).toBeUndefined();
    expect(error.port).toBeUndefined();
  });

  it("has no own address or port property when none was given, like Node's SystemError", () => {
    // Node sets address and port only when it has them, so inspect() and Object.keys() do not
    // show `address: undefined`; SocketError's constructor assigns them conditionally for that.
    const bare = new SocketError('fcntl', 9, { platform: 'linux' });
    expect(Object.hasOwn(bare, 'address')).toBe(false);
    expect(Object.hasOwn(bare, 'port')).toBe(false);
    const noPort = new SocketError('connect', 2, { address: '/tmp/rawrecv.sock', platform: 'linux' });
    expect(Object.hasOwn(noPort, 'address')).toBe(true);
    expect(Object.hasOwn(noPort, 'port')).toBe(false);
  });

  it('names Winsock numbers with their WSA names when the platform is win32', () => {
    const refused = new SocketError('connect', 10061, { address: '127.0.0.1', port: 9, platform: 'win32' });
    expect(refused.code).toBe('WSAECONNREFUSED');
    expect(refused.errno).toBe(10061);
    expect(refused.message).toBe('connect WSAECONNREFUSED 127.0.0.1:9');
    expect(new SocketError('ioctlsocket', 10038, { platform: 'win32' }).code).toBe('WSAENOTSOCK');
    expect(new SocketError('bind', 10048, { platform: 'win32' }).code).toBe('WSAEADDRINUSE');
  });

  it('names a number on the platform given: 35 is EAGAIN on darwin, EDEADLK on linux', () => {
    expect(new SocketError('accept', 35, { platform: 'darwin' }).code).toBe('EAGAIN');
    expect(new SocketError('accept', 35, { platform: 'freebsd' }).code).toBe('EAGAIN');
    expect(new SocketError('accept', 35, { platform: 'linux' }).code).toBe('EDEADLK');
    expect(new SocketError('connect', 61, { platform: 'darwin' }).code).toBe('ECONNREFUSED');
    expect(new SocketError('connect', 61, { platform: 'linux' }).code).toBe('ENODATA');
  });

  it('a number the platform has no name for gets code UNKNOWN and keeps the number', () => {
    const error = new SocketError('recv', 99999, { platform: 'linux' });
    expect(error.code).toBe('UNKNOWN');
    expect(error.errno).toBe(99999);
    expect(error.message).toBe('recv UNKNOWN');
    // A POSIX number means nothing to Winsock, and a Winsock number nothing to POSIX.
    expect(new SocketError('recv', 111, { platform: 'win32' }).code).toBe('UNKNOWN');
    expect(new SocketError('recv', 10061, { platform: 'linux' }).code).toBe('UNKNOWN');
  });

  it("without a platform names the number as this process's OS does", () => {
    // WSAECONNREFUSED (10061) on Windows.
    const errno = errnoOf('ECONNREFUSED');
    const error = new SocketError('connect', errno);
    expect(error.code).toBe(codeOf('ECONNREFUSED'));
    expect(error.errno).toBe(errno);
    expect(error.message).toBe(`connect ${codeOf('ECONNREFUSED')}`);
  });
});

describe('SocketError from real calls', () => {
  it('connectSync to a closed port throws ECONNREFUSED with syscall connect, address and port, leaving no fd', () => {
    const port = closedPort();
    const before = openFdCount();
    const error = catchSocketError(() => Socket.connectSync({ host: '127.0.0.1', port }));
    expect(openFdCount()).toBe(before);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('SocketError');
    expect(error.errno).toBe(errnoOf('ECONNREFUSED'));
    expect(error.code).toBe(codeOf('ECONNREFUSED'));
    expect(error.syscall).toBe('connect');
    expect(error.address).toBe('127.0.0.1');
    expect(error.port).toBe(port);
    expect(error.message).toBe(`connect ${codeOf('ECONNREFUSED')} 127.0.0.1:${port}`);
  });

  it(
    WIN32
      ? "connectSync's message is the one Node's net gives for the same refused connect, with Winsock's code"
      : "connectSync's message is the one Node's net gives for the same refused connect",
    async () => {
      const port = closedPort();
      const error = catchSocketError(() => Socket.connectSync({ host: '127.0.0.1', port }));
      const nodeError = await nodeConnectError(port);
      expect(nodeError.code).toBe('ECONNREFUSED');
      expect(error.syscall).toBe(nodeError.syscall);
      expect(error.address).toBe(nodeError.address);
      expect(error.port).toBe(nodeError.port);
      if (WIN32) {
        // Node names libuv's own number (UV_ECONNREFUSED, -4078 on Windows); SocketError keeps
        // what WSAGetLastError said: WSAECONNREFUSED, 10061. Only the code differs in the message.
        expect(getSystemErrorName(nodeError.errno as number)).toBe('ECONNREFUSED');
        expect(nodeError.errno).not.toBe(-error.errno);
        expect(error.errno).toBe(10061);
        expect(error.message).toBe(nodeError.message.replace('ECONNREFUSED', 'WSAECONNREFUSED'));
      } else {
        expect(error.message).toBe(nodeError.message);
        // Node's errno is libuv's negated number; SocketError's is the OS's own, positive.
        expect(error.errno).toBe(-(nodeError.errno as number));
      }
    },
  );

  it("connectSync to 'localhost' reports the address it connected to, 127.0.0.1", () => {
    const port = closedPort();
    const before = openFdCount();
    const error = catchSocketError(() => Socket.connectSync({ host: 'localhost', port }));
    expect(openFdCount()).toBe(before);
    expect(error.code).toBe(codeOf('ECONNREFUSED'));
    expect(error.address).toBe('127.0.0.1');
    expect(error.port).toBe(port);
  });

  it('Server.listen on a port in use throws EADDRINUSE with syscall bind, address and port, leaving no fd', () =>
    closing([Server.listen({ host: '127.0.0.1' })], (server) => {
      const port = server.port;
      const before = openFdCount();
      const error = catchSocketError(() => Server.listen({ host: '127.0.0.1', port }));
      expect(openFdCount()).toBe(before);
      expect(error.errno).toBe(errnoOf('EADDRINUSE'));
      expect(error.code).toBe(codeOf('EADDRINUSE'));
      expect(error.syscall).toBe('bind');
      expect(error.address).toBe('127.0.0.1');
      expect(error.port).toBe(port);
      expect(error.message).toBe(`bind ${codeOf('EADDRINUSE')} 127.0.0.1:${port}`);
      // The first server is untouched and still listening.
      expect(server.closed).toBe(false);
      expect(server.port).toBe(port);
    }));
});
