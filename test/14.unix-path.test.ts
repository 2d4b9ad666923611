/**
 * AF_UNIX path sockets in the typed API (issue 11, item 4): Server.listen({ path, type }),
 * Socket.connectSync({ path }), Socket.connect({ path }), Socket.unixDgram({ path, connect }),
 * sendTo({ path }); the addresses they report; what close() unlinks (the path it bound, never
 * another); Linux abstract names; and bad paths. Every path is in a temporary folder of this
 * file, removed at the end. On Windows only stream sockets exist; Wine 8 has none
 * (docs/recv-semantics.md#wine): there, the argument checks run and the deviation is asserted.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import fc from 'fast-check';

import { afterAll, describe, expect, it } from 'vitest';

import { constants, Server, Socket, SocketError, sys, type Origin } from '../src/index.js';
import { tempDir } from './built-package.js';
import {
  bounded,
  closing,
  codeOf,
  dataResult,
  EOF,
  errnoOf,
  expectThrow,
  failure,
  guardFds,
  waitForBytes,
  WIN32,
  WINE,
} from './helpers.js';

guardFds();

const LINUX = process.platform === 'linux';
/** SOCK_SEQPACKET over AF_UNIX: Linux and FreeBSD (macOS refuses it, Windows has no such type). */
const SEQPACKET = LINUX || process.platform === 'freebsd';
/** sizeof(sun_path) of the headers the addon was built with. */
const SUN_PATH = process.platform === 'darwin' || process.platform === 'freebsd' ? 104 : 108;

const temp = tempDir('rawrecv-unix-');
afterAll(() => temp.remove());
let serial = 0;
/** A fresh path in this file's temporary folder (short: sun_path is small). */
const fresh = (name = 's'): string => join(temp.path, `${name}${++serial}`);
/** An abstract name unique to this process (Linux). */
const abstractName = (name: string): string => `\0rawrecv-test-${process.pid}-${name}-${++serial}`;

const unixOrigin = (path: string): Origin => ({ family: 'unix', path, address: path, port: 0 });

/** A listener at `path`, a client connected to it, and the accepted end. */
function unixPair(path: string, type: 'stream' | 'seqpacket' = 'stream'): [Server, Socket, Socket] {
  const server = Server.listen({ path, type });
  const client = Socket.connectSync({ path, type });
  const accepted = server.accept();
  if (accepted.kind !== 'socket') throw new Error(`accept gave ${accepted.kind}`);
  return [server, client, accepted.socket];
}

describe.skipIf(WINE)('Server.listen({ path }) and Socket.connectSync({ path }): a stream', () => {
  it('connects, carries bytes both ways, and the peer close reads as eof', () => {
    const path = fresh();
    return closing(unixPair(path), (server, client, peer) => {
      expect(client).toMatchObject({ family: 'unix', type: 'stream', blocking: true });
      expect(peer).toMatchObject({ family: 'unix', type: 'stream', blocking: true });
      expect(client.send('ping')).toMatchObject({ kind: 'sent', bytesSent: 4 });
      expect(peer.recv(16)).toEqual(dataResult('ping'));
      peer.send('pong');
      expect(client.recv(16)).toEqual(dataResult('pong'));
      peer.close();
      expect(client.recv(16)).toEqual(EOF);
      expect(server.closed).toBe(false);
    });
  });

  it('addresses: the server and the accepted end say the path; the client is unnamed', () => {
    const path = fresh();
    return closing(unixPair(path), (server, client, peer) => {
      expect(server.address()).toEqual(unixOrigin(path));
      expect(server.port).toBe(0);
      expect(client.remoteAddress()).toEqual(unixOrigin(path));
      expect(peer.localAddress()).toEqual(unixOrigin(path));
      // connect(2) does not bind the client: it has no name.
      expect(client.localAddress()).toEqual(unixOrigin(''));
      expect(peer.remoteAddress()).toEqual(unixOrigin(''));
    });
  });

  it('an idle non-blocking client would-block; SO_RCVTIMEO gives timeout', () => {
    const path = fresh();
    return closing(unixPair(path), (_server, client) => {
      client.setBlocking(false);
      expect(client.recv(16)).toEqual(failure('would-block', 'EAGAIN'));
      client.setBlocking(true);
      client.setReceiveTimeout(50);
      expect(client.recv(16)).toEqual(failure('timeout', WIN32 ? 'ETIMEDOUT' : 'EAGAIN'));
    });
  });

  it('close() unlinks the path it bound; the path can then be listened on again', async () => {
    const path = fresh();
    const server = Server.listen({ path });
    expect(lstatSync(path).isSocket() || WIN32).toBe(true);
    server.close();
    expect(existsSync(path)).toBe(false);
    server.close(); // idempotent
    await closing([Server.listen({ path })], (again) => expect(again.address()).toEqual(unixOrigin(path)));
    expect(existsSync(path)).toBe(false);
  });

  it('EADDRINUSE when the path exists (a file, or a live server); the file is left as it was', () => {
    const file = fresh('file');
    writeFileSync(file, 'keep me');
    expectThrow(() => Server.listen({ path: file }), SocketError, codeOf('EADDRINUSE'));
    const error = (() => {
      try {
        Server.listen({ path: file });
      } catch (caught) {
        return caught as Error & { syscall: string; address: string; errno: number };
      }
      throw new Error('listen did not throw');
    })();
    expect(error).toMatchObject({ name: 'SocketError', syscall: 'bind', address: file, errno: errnoOf('EADDRINUSE') });
    expect(error.message).toBe(`bind ${codeOf('EADDRINUSE')} ${file}`);
    expect(existsSync(file)).toBe(true);
    const path = fresh();
    return closing([Server.listen({ path })], async (server) => {
      expect(server.closed).toBe(false);
      expectThrow(() => Server.listen({ path }), SocketError, codeOf('EADDRINUSE'));
      // The failed second listen removed nothing: the first still accepts.
      await closing([Socket.connectSync({ path })], (client) => expect(client.family).toBe('unix'));
    });
  });

  it.skipIf(WIN32)('close() leaves alone a path whose file was replaced after the bind', () => {
    const path = fresh();
    const server = Server.listen({ path });
    unlinkSync(path);
    writeFileSync(path, 'not the socket');
    server.close();
    expect(existsSync(path)).toBe(true);
    unlinkSync(path);
    // A symlink to the socket is not the socket file either.
    const target = fresh('target');
    const link = fresh('link');
    const other = Server.listen({ path: target });
    const linked = Server.listen({ path: link });
    unlinkSync(link);
    symlinkSync(target, link);
    linked.close();
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(lstatSync(target).isSocket()).toBe(true);
    other.close();
    unlinkSync(link);
    expect(existsSync(target)).toBe(false);
  });

  it('connectSync to a path with nothing there is ENOENT; to a socket nobody listens on, ECONNREFUSED', () => {
    const missing = fresh('missing');
    expectThrow(() => Socket.connectSync({ path: missing }), SocketError, codeOf('ENOENT'));
    if (WIN32) return;
    // A bound socket that never listened: connect is refused.
    const path = fresh();
    const fd = sys.socket(constants.AF.UNIX, constants.SOCK.STREAM, 0);
    try {
      expect(sys.bind(fd, constants.AF.UNIX, path, 0)).toBe(0);
      expectThrow(() => Socket.connectSync({ path }), SocketError, codeOf('ECONNREFUSED'));
    } finally {
      sys.close(fd);
      unlinkSync(path);
    }
  });

  it('accept on a non-blocking path server without a client would-block', () => {
    const path = fresh();
    return closing([Server.listen({ path })], (server) => {
      server.setBlocking(false);
      expect(server.accept()).toMatchObject({ kind: 'would-block', ret: -1, errno: errnoOf('EAGAIN') });
    });
  });
});

describe.skipIf(WINE)('Socket.connect({ path }): through the event loop', () => {
  it('connects to a path server, and acceptAsync takes it', () => {
    const path = fresh();
    return closing([Server.listen({ path })], async (server) => {
      const [client, accepted] = await bounded(
        Promise.all([Socket.connect({ path, timeout: 2000 }), server.acceptAsync({ timeout: 2000 })]),
      );
      if (accepted.kind !== 'socket') throw new Error(`acceptAsync gave ${accepted.kind}`);
      await closing([client, accepted.socket], async (ours, peer) => {
        expect(ours).toMatchObject({ family: 'unix', type: 'stream', blocking: true });
        expect(ours.remoteAddress()).toEqual(unixOrigin(path));
        peer.send('hi');
        expect(await ours.recvAsync(16, { timeout: 2000 })).toEqual(dataResult('hi'));
      });
    });
  });

  it('rejects with a SocketError ENOENT for a missing path; bad options reject, never throw', async () => {
    const missing = fresh('missing');
    await expect(Socket.connect({ path: missing })).rejects.toMatchObject({
      name: 'SocketError',
      code: codeOf('ENOENT'),
      syscall: 'connect',
      address: missing,
    });
    await expect(Socket.connect({ path: '' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    await expect(Socket.connect({ path: 'x'.repeat(SUN_PATH) })).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
  });

  it.runIf(LINUX)('a listener whose backlog is full: EAGAIN at once (unix(7)), nothing left open', async () => {
    const path = fresh();
    await closing([Server.listen({ path, backlog: 0 })], async (server) => {
      expect(server.address()).toEqual(unixOrigin(path));
      const queued: Socket[] = [];
      try {
        let failure: unknown;
        for (let i = 0; i < 8 && failure === undefined; i++) {
          try {
            queued.push(await Socket.connect({ path, timeout: 2000 }));
          } catch (error) {
            failure = error;
          }
        }
        expect(queued.length).toBeGreaterThanOrEqual(1);
        expect(failure).toMatchObject({ name: 'SocketError', code: 'EAGAIN', syscall: 'connect' });
      } finally {
        for (const socket of queued) socket.close();
      }
    });
  });
});

describe.runIf(SEQPACKET)("Server.listen({ path, type: 'seqpacket' })", () => {
  it('keeps record boundaries; a zero-length record is data; the peer close is eof', () => {
    const path = fresh();
    return closing(unixPair(path, 'seqpacket'), (_server, client, peer) => {
      expect(client.type).toBe('seqpacket');
      expect(peer.type).toBe('seqpacket');
      peer.send('one');
      peer.send('two');
      peer.send(Buffer.alloc(0));
      expect(client.recv(16)).toEqual(dataResult('one'));
      expect(client.recv(16)).toEqual(dataResult('two'));
      expect(client.recv(16)).toMatchObject({ kind: 'data', ret: 0, bytesRead: 0 });
      peer.close();
      expect(client.recv(16)).toEqual(EOF);
      expect(client.readState).toBe('eof');
    });
  });

  it('connect({ path, type: seqpacket }) to a stream listener is refused by the kernel (a SocketError)', () => {
    const path = fresh();
    return closing([Server.listen({ path })], (server) => {
      expect(server.address()).toEqual(unixOrigin(path));
      expect(() => Socket.connectSync({ path, type: 'seqpacket' })).toThrow(
        expect.objectContaining({ name: 'SocketError', syscall: 'connect' }),
      );
    });
  });
});

describe.skipIf(WIN32)('Socket.unixDgram({ path, connect }) and sendTo({ path })', () => {
  it("recvFrom names the sender's path, '' for an unnamed sender", () => {
    const path = fresh('rx');
    const senderPath = fresh('tx');
    return closing(
      [Socket.unixDgram({ path }), Socket.unixDgram(), Socket.unixDgram({ path: senderPath })],
      (receiver, unnamed, named) => {
        receiver.setReceiveTimeout(2000);
        expect(receiver.localAddress()).toEqual(unixOrigin(path));
        expect(unnamed.sendTo('a', { path })).toMatchObject({ kind: 'sent', bytesSent: 1 });
        expect(receiver.recvFrom(16)).toMatchObject({ kind: 'data', bytesRead: 1, ...unixOrigin('') });
        named.sendTo('bc', { path });
        expect(receiver.recvFrom(16)).toMatchObject({ kind: 'data', bytesRead: 2, ...unixOrigin(senderPath) });
        // A zero-length datagram is data, not an end.
        named.sendTo(Buffer.alloc(0), { path });
        expect(receiver.recvFrom(16)).toMatchObject({ kind: 'data', ret: 0, bytesRead: 0, ...unixOrigin(senderPath) });
        receiver.setBlocking(false);
        expect(receiver.recvFrom(16)).toMatchObject({ kind: 'would-block', errno: errnoOf('EAGAIN') });
      },
    );
  });

  it('connect: send goes to that path; close() unlinks the bound path', async () => {
    const path = fresh('rx');
    const receiver = Socket.unixDgram({ path });
    try {
      await closing([Socket.unixDgram({ connect: path })], (sender) => {
        expect(sender.remoteAddress()).toEqual(unixOrigin(path));
        sender.send('hello');
        receiver.setReceiveTimeout(2000);
        expect(receiver.recvFrom(16)).toMatchObject({ kind: 'data', bytesRead: 5, ...unixOrigin('') });
      });
    } finally {
      receiver.close();
    }
    expect(existsSync(path)).toBe(false);
  });

  it('sendTo a path nobody bound: error ENOENT (a result, not an exception); a bound path again: EADDRINUSE', () => {
    const path = fresh('rx');
    return closing([Socket.unixDgram(), Socket.unixDgram({ path })], (sender) => {
      expect(sender.sendTo('x', { path: fresh('nobody') })).toMatchObject({
        kind: 'error',
        ret: -1,
        errno: errnoOf('ENOENT'),
      });
      expectThrow(() => Socket.unixDgram({ path }), SocketError, codeOf('EADDRINUSE'));
      expectThrow(() => Socket.unixDgram({ connect: fresh('nobody') }), SocketError, codeOf('ENOENT'));
    });
  });
});

describe.runIf(LINUX)("Linux abstract names: a leading '\\0'", () => {
  it('listen, connect and the addresses carry the name with its NUL; no file is made', async () => {
    const name = abstractName('stream');
    await closing(unixPair(name), async (server, client, peer) => {
      expect(server.address()).toEqual(unixOrigin(name));
      expect(client.remoteAddress()).toEqual(unixOrigin(name));
      client.send('abc');
      await waitForBytes(peer, 3);
      expect(peer.recv(16)).toEqual(dataResult('abc'));
      const async = await Socket.connect({ path: name, timeout: 2000 });
      async.close();
      expectThrow(() => Server.listen({ path: name }), SocketError, 'EADDRINUSE');
    });
    // Gone with the socket: nothing to unlink, and the name is free again.
    await closing([Server.listen({ path: name })], (server) => expect(server.address()).toEqual(unixOrigin(name)));
  });

  it("a datagram from an abstract name is reported with it; an errors' message shows '@'", () => {
    const rx = abstractName('rx');
    const tx = abstractName('tx');
    return closing([Socket.unixDgram({ path: rx }), Socket.unixDgram({ path: tx })], (receiver, sender) => {
      sender.sendTo('z', { path: rx });
      receiver.setReceiveTimeout(2000);
      expect(receiver.recvFrom(16)).toMatchObject({ kind: 'data', bytesRead: 1, ...unixOrigin(tx) });
      expect(() => Socket.connectSync({ path: abstractName('nobody') })).toThrow(
        expect.objectContaining({
          code: 'ECONNREFUSED',
          message: expect.stringMatching(/^connect ECONNREFUSED @rawrecv-test-/) as string,
        }),
      );
    });
  });

  it('an abstract name may use all of sun_path (108 bytes with its NUL), not one more', async () => {
    const longest = `\0${'a'.repeat(SUN_PATH - 1 - String(process.pid).length)}${process.pid}`;
    expect(Buffer.byteLength(longest)).toBe(SUN_PATH);
    await closing([Server.listen({ path: longest })], (server) =>
      expect(server.address()).toEqual(unixOrigin(longest)),
    );
    expectThrow(() => Server.listen({ path: `${longest}b` }), RangeError, 'ERR_OUT_OF_RANGE');
  });
});

describe('bad paths: a clear error, no system call, nothing left behind', () => {
  const longest = (): string => {
    const dir = join(temp.path, 'l');
    mkdirSync(dir, { recursive: true });
    return join(dir, 'x'.repeat(SUN_PATH - 1 - dir.length - 1));
  };

  it.skipIf(WINE)(
    'a path of sizeof(sun_path) - 1 bytes works; one byte more is a RangeError that names the limit',
    async () => {
      const path = longest();
      expect(Buffer.byteLength(path)).toBe(SUN_PATH - 1);
      await closing([Server.listen({ path })], (server) => expect(server.address()).toEqual(unixOrigin(path)));
      const tooLong = `${path}y`;
      for (const call of [
        () => Server.listen({ path: tooLong }),
        () => Socket.connectSync({ path: tooLong }),
        () => (WIN32 ? Server.listen({ path: tooLong }) : Socket.unixDgram({ path: tooLong })),
      ]) {
        expectThrow(call, RangeError, 'ERR_OUT_OF_RANGE');
        expect(() => call()).toThrow(
          `The "options.path" argument is ${SUN_PATH} bytes long in UTF-8: a path can be at most ${SUN_PATH - 1} bytes (sizeof(sun_path) is ${SUN_PATH} here, and the path's terminating NUL takes one)`,
        );
      }
      // Bytes, not characters: 'é' is two.
      const accented = `${path.slice(0, -1)}é`;
      expectThrow(() => Server.listen({ path: accented }), RangeError, 'ERR_OUT_OF_RANGE');
      expect(existsSync(tooLong)).toBe(false);
    },
  );

  it('a NUL after the start, an empty path, a non-string: TypeErrors', () => {
    const path = fresh();
    expectThrow(() => Server.listen({ path: `${path}\0x` }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectThrow(() => Socket.connectSync({ path: 'a\0' }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectThrow(() => Server.listen({ path: '' }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectThrow(() => Server.listen({ path: 5 as unknown as string }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectThrow(() => Socket.connectSync({ path: null as unknown as string }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expect(existsSync(path)).toBe(false);
  });

  it('path with host or port, an unknown type: ERR_INVALID_ARG_VALUE', () => {
    const path = fresh();
    const mixed = { path, host: '127.0.0.1' } as unknown as { path: string };
    expectThrow(() => Server.listen(mixed), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectThrow(() => Socket.connectSync({ path, port: 80 }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectThrow(() => Server.listen({ path, type: 'dgram' as 'stream' }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectThrow(() => Socket.connectSync({ path, type: 'raw' as 'stream' }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectThrow(() => Server.listen({ path, backlog: -1 }), RangeError, 'ERR_OUT_OF_RANGE');
    expect(existsSync(path)).toBe(false);
  });

  it('bad options of unixDgram, sendTo and connect: TypeErrors and RangeErrors; async connect rejects, never throws', async () => {
    expectThrow(() => Socket.unixDgram('x' as unknown as { path: string }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectThrow(() => Socket.unixDgram({ path: 7 as unknown as string }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectThrow(() => Socket.unixDgram({ connect: '' }), TypeError, 'ERR_INVALID_ARG_VALUE');
    expectThrow(() => Server.listen({ path: {} as unknown as string }), TypeError, 'ERR_INVALID_ARG_TYPE');
    expectThrow(() => Server.listen({ path: fresh(), backlog: 1.5 }), RangeError, 'ERR_OUT_OF_RANGE');
    await closing([Socket.udp()], (udp) => {
      expectThrow(() => udp.sendTo('x', { path: 5 as unknown as string }), TypeError, 'ERR_INVALID_ARG_TYPE');
      expectThrow(() => udp.sendTo('x', { path: 'a\0b' }), TypeError, 'ERR_INVALID_ARG_VALUE');
      expectThrow(() => udp.sendTo('x', { path: 'p', port: 1 }), TypeError, 'ERR_INVALID_ARG_VALUE');
    });
    let thrown: unknown;
    let pending: Promise<Socket> | undefined;
    try {
      pending = Socket.connect({ path: fresh(), timeout: -1 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeUndefined();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    await expect(Socket.connect({ path: fresh(), type: 'dgram' as 'stream' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
  });

  it.skipIf(WINE)(
    'any path string: a listener (whose close unlinks it again) or a documented error, never a stray file',
    () => {
      const folder = join(temp.path, 'prop');
      mkdirSync(folder);
      // No '/', '\\' or '.': every path stays inside `folder` (a relative one would land in the working directory).
      const name = fc.string({
        unit: fc.oneof(
          fc.constantFrom('\0', 'é', '\u{1F600}', 'x'),
          fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
        ),
        maxLength: 120,
      });
      fc.assert(
        fc.property(name, fc.boolean(), (raw, abstract) => {
          const safe = raw.replace(/[/\\.]/g, '_');
          const path = abstract && LINUX ? `\0rawrecv-${process.pid}-${safe}` : join(folder, safe);
          let server: Server | undefined;
          try {
            server = Server.listen({ path });
            expect(server.address()).toEqual(unixOrigin(path));
          } catch (error) {
            const { name: type, code } = error as { name: string; code: string };
            expect([
              'RangeError ERR_OUT_OF_RANGE',
              'TypeError ERR_INVALID_ARG_VALUE',
              `SocketError ${codeOf('EADDRINUSE')}`,
            ]).toContain(`${type} ${code}`);
          } finally {
            server?.close();
          }
          expect(readdirSync(folder)).toEqual([]);
        }),
        { seed: 1411, numRuns: 300 },
      );
    },
  );

  it.runIf(WIN32)('Windows: seqpacket, datagram and abstract AF_UNIX sockets are ERR_NOT_SUPPORTED', () => {
    expectThrow(() => Server.listen({ path: fresh(), type: 'seqpacket' }), Error, 'ERR_NOT_SUPPORTED');
    expectThrow(() => Socket.unixDgram({ path: fresh() }), Error, 'ERR_NOT_SUPPORTED');
    expectThrow(() => Server.listen({ path: '\0abstract' }), Error, 'ERR_NOT_SUPPORTED');
  });

  it.runIf(!LINUX && !WIN32)('an abstract name outside Linux is ERR_NOT_SUPPORTED', () => {
    expectThrow(() => Server.listen({ path: '\0abstract' }), Error, 'ERR_NOT_SUPPORTED');
  });
});

describe.runIf(WINE)('under Wine: no AF_UNIX (a Wine deviation, docs/recv-semantics.md#wine)', () => {
  it('socket(AF_UNIX) fails with WSAEAFNOSUPPORT: listen and connect throw that SocketError, nothing is left', () => {
    const path = fresh();
    for (const call of [() => Server.listen({ path }), () => Socket.connectSync({ path })]) {
      expectThrow(call, SocketError, 'WSAEAFNOSUPPORT');
      expect(() => call()).toThrow(expect.objectContaining({ syscall: 'socket', errno: errnoOf('EAFNOSUPPORT') }));
    }
    expect(existsSync(path)).toBe(false);
  });
});
