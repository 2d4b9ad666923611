/**
 * Conformance: every Linux [V] TCP scenario of /work/shared/recv-semantics.md, one describe
 * per scenario id, through the typed API (Socket / Server) and, where the scenario is about
 * the raw call, through `sys` (which returns -errno). These assert the Linux column, so they
 * run on Linux only; the other platforms' columns differ (rcvtimeo, len0, shut-rd, ...).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

import { describe, expect, it } from 'vitest';

import { constants, Server, Socket, sys, type RecvResult } from '../src/index.js';
import { closeAll, closedPort, errnoOf, guardFds, tcpPair, waitFor, type TcpPair } from './helpers.js';

guardFds();

const linux = describe.runIf(process.platform === 'linux');
const HOSTS = ['127.0.0.1', '::1'] as const;

const EOF = { kind: 'eof', ret: 0, errno: 0 } as const;

/** A would-block / timeout / interrupted result: ret -1 and the exact errno and code. */
function failure(kind: 'would-block' | 'timeout' | 'interrupted', code: string): RecvResult {
  return { kind, ret: -1, errno: errnoOf(code), code };
}

/** An error result (a connection error, ENOTCONN, ...), with libuv's message. */
function errorResult(code: string): unknown {
  return { kind: 'error', ret: -1, errno: errnoOf(code), code, message: expect.any(String) };
}

function expectData(result: RecvResult, text: string): void {
  const length = Buffer.byteLength(text);
  expect(result).toEqual({ kind: 'data', ret: length, errno: 0, bytesRead: length, data: Buffer.from(text) });
}

function expectSent(socket: Socket, text: string): void {
  const length = Buffer.byteLength(text);
  expect(socket.send(text)).toEqual({ kind: 'sent', ret: length, errno: 0, bytesSent: length });
}

function required(value: number | undefined, name: string): number {
  if (value === undefined) throw new Error(`constants lack ${name}`);
  return value;
}

/** Waits until `count` bytes are queued for `socket` (FIONREAD), without taking them. */
async function waitForBytes(socket: Socket, count: number): Promise<void> {
  await waitFor(() => socket.available() >= count, 2000, `${count} queued bytes`);
}

/**
 * Waits until the RST has been processed, without taking the pending error: the socket is
 * then in TCP_CLOSE, where getpeername(2) says ENOTCONN (SO_ERROR or a recv would clear it).
 */
async function waitForReset(socket: Socket): Promise<void> {
  const notConnected = -errnoOf('ENOTCONN');
  await waitFor(() => sys.getpeername(socket.fd) === notConnected, 2000, 'the RST');
}

/** A spawned child and its exit, listened for at once so that it cannot be missed. */
function child(script: string, stdio: (number | 'ignore')[] = ['ignore', 'ignore', 'ignore']) {
  const subprocess: ChildProcess = spawn('sh', ['-c', script], { stdio });
  const exited = once(subprocess, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { process: subprocess, exited };
}

/** The two ways the peer can send a RST. `peer` must not have been read from by the test. */
const RESETS: readonly [string, (pair: TcpPair) => Promise<void>][] = [
  [
    'peer closed with unread data',
    async (pair) => {
      expectSent(pair.client, 'unread');
      await waitForBytes(pair.peer, 6);
      pair.peer.close();
    },
  ],
  [
    'peer.reset(), SO_LINGER {1, 0}',
    async (pair) => {
      pair.peer.reset();
    },
  ],
];

linux('tcp.idle.nonblocking', () => {
  for (const host of HOSTS) {
    it(`tcp.idle.nonblocking: recv and peek return would-block EAGAIN (${host})`, () => {
      const pair = tcpPair(host);
      try {
        pair.client.setBlocking(false);
        expect(pair.client.recv(16)).toEqual(failure('would-block', 'EAGAIN'));
        expect(pair.client.peek(16)).toEqual(failure('would-block', 'EAGAIN'));
        expect(pair.client.readState).toBe('open');
      } finally {
        pair.close();
      }
    });
  }
});

linux('tcp.idle.dontwait', () => {
  const DONTWAIT = required(constants.MSG.DONTWAIT, 'MSG.DONTWAIT');

  it('tcp.idle.dontwait: MSG_DONTWAIT on a blocking socket returns would-block EAGAIN', () => {
    const pair = tcpPair();
    try {
      expect(pair.client.blocking).toBe(true);
      expect(pair.client.recv(16, DONTWAIT)).toEqual(failure('would-block', 'EAGAIN'));
    } finally {
      pair.close();
    }
  });

  it('tcp.idle.dontwait: MSG_DONTWAIT is would-block, not timeout, even with a receive timeout set', () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(1000);
      expect(pair.client.recv(16, DONTWAIT)).toEqual(failure('would-block', 'EAGAIN'));
      expect(pair.client.recv(16, DONTWAIT | constants.MSG.PEEK)).toEqual(failure('would-block', 'EAGAIN'));
    } finally {
      pair.close();
    }
  });
});

linux('tcp.idle.rcvtimeo', () => {
  it('tcp.idle.rcvtimeo: an expired SO_RCVTIMEO on a blocking socket is timeout, ret -1, errno EAGAIN', () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(100);
      expect(pair.client.blocking).toBe(true);
      expect(pair.client.recv(16)).toEqual(failure('timeout', 'EAGAIN'));
      expect(pair.client.readState).toBe('open');
    } finally {
      pair.close();
    }
  });
});

linux('tcp.data', () => {
  for (const host of HOSTS) {
    it(`tcp.data: recv returns the byte count and the bytes, at most the length asked for (${host})`, async () => {
      const pair = tcpPair(host);
      try {
        pair.client.setBlocking(false);
        expectSent(pair.peer, 'hello');
        await waitForBytes(pair.client, 5);
        expectData(pair.client.recv(3), 'hel');
        expect(pair.client.available()).toBe(2);
        expectData(pair.client.recv(16), 'lo');
        expect(pair.client.recv(16)).toEqual(failure('would-block', 'EAGAIN'));
        expect(pair.client.readState).toBe('open');
      } finally {
        pair.close();
      }
    });
  }
});

linux('tcp.peek', () => {
  it('tcp.peek: MSG_PEEK returns the data and leaves it queued for the next recv', async () => {
    const pair = tcpPair();
    try {
      pair.client.setBlocking(false);
      expectSent(pair.peer, 'hello');
      await waitForBytes(pair.client, 5);
      expectData(pair.client.peek(16), 'hello');
      expect(pair.client.available()).toBe(5);
      expectData(pair.client.recv(16, constants.MSG.PEEK), 'hello');
      expectData(pair.client.recv(16), 'hello');
      expect(pair.client.available()).toBe(0);
      expect(pair.client.peek(16)).toEqual(failure('would-block', 'EAGAIN'));
    } finally {
      pair.close();
    }
  });
});

linux('tcp.fin', () => {
  const ENDINGS: readonly [string, (peer: Socket) => void][] = [
    ["shutdown('write')", (peer) => peer.shutdown('write')],
    ['close()', (peer) => peer.close()],
  ];
  for (const host of HOSTS) {
    for (const [how, end] of ENDINGS) {
      it(`tcp.fin: queued data, then eof, then eof again, also with MSG_PEEK (peer ${how}, ${host})`, async () => {
        const pair = tcpPair(host);
        try {
          // Blocking with a bound: the eof recv waits for the FIN if it is not in yet.
          pair.client.setReceiveTimeout(2000);
          expectSent(pair.peer, 'hello');
          end(pair.peer);
          await waitForBytes(pair.client, 5);
          expectData(pair.client.recv(16), 'hello');
          expect(pair.client.readState).toBe('open');
          expect(pair.client.recv(16)).toEqual(EOF);
          expect(pair.client.readState).toBe('eof');
          expect(pair.client.peek(16)).toEqual(EOF);
          expect(pair.client.recv(16)).toEqual(EOF);
          pair.client.setBlocking(false);
          expect(pair.client.recv(16)).toEqual(EOF);
          expect(pair.client.peek(16)).toEqual(EOF);
          expect(pair.client.readState).toBe('eof');
        } finally {
          pair.close();
        }
      });
    }
  }
});

linux('tcp.half-close', () => {
  it("tcp.half-close: after the peer's FIN our send still works and the peer reads it", async () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(2000);
      pair.peer.shutdown('write');
      expect(pair.client.recv(16)).toEqual(EOF);
      expectSent(pair.client, 'pong');
      await waitForBytes(pair.peer, 4);
      expectData(pair.peer.recv(16), 'pong');
      expect(pair.client.readState).toBe('eof');
      expect(pair.peer.readState).toBe('open');
    } finally {
      pair.close();
    }
  });
});

linux('tcp.rst', () => {
  for (const [how, reset] of RESETS) {
    it(`tcp.rst: ECONNRESET once, then eof forever, readState 'reset' throughout (${how})`, async () => {
      const pair = tcpPair();
      try {
        pair.client.setReceiveTimeout(2000);
        await reset(pair);
        await waitForReset(pair.client);
        expect(pair.client.readState).toBe('open');
        expect(pair.client.recv(16)).toEqual(errorResult('ECONNRESET'));
        expect(pair.client.readState).toBe('reset');
        expect(pair.client.recv(16)).toEqual(EOF);
        expect(pair.client.peek(16)).toEqual(EOF);
        expect(pair.client.recv(16)).toEqual(EOF);
        expect(pair.client.readState).toBe('reset');
      } finally {
        pair.close();
      }
    });
  }
});

linux('tcp.rst.pending', () => {
  for (const [how, reset] of RESETS) {
    it(`tcp.rst.pending: the queued data first, then ECONNRESET, then eof (${how})`, async () => {
      const pair = tcpPair();
      try {
        pair.client.setReceiveTimeout(2000);
        expectSent(pair.peer, 'abc');
        await waitForBytes(pair.client, 3);
        await reset(pair);
        await waitForReset(pair.client);
        // The RST is in and the data is still queued.
        expect(pair.client.available()).toBe(3);
        expectData(pair.client.recv(16), 'abc');
        expect(pair.client.readState).toBe('open');
        expect(pair.client.recv(16)).toEqual(errorResult('ECONNRESET'));
        expect(pair.client.readState).toBe('reset');
        expect(pair.client.recv(16)).toEqual(EOF);
        expect(pair.client.recv(16)).toEqual(EOF);
        expect(pair.client.readState).toBe('reset');
      } finally {
        pair.close();
      }
    });
  }
});

linux('tcp.rst.consumed', () => {
  it("tcp.rst.consumed: takeError() takes ECONNRESET, the next recv returns eof, readState stays 'reset'", async () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(2000);
      pair.peer.reset();
      await waitForReset(pair.client);
      expect(pair.client.takeError()).toEqual({ errno: errnoOf('ECONNRESET'), code: 'ECONNRESET' });
      expect(pair.client.readState).toBe('reset');
      expect(pair.client.takeError()).toBeNull();
      expect(pair.client.recv(16)).toEqual(EOF);
      expect(pair.client.recv(16)).toEqual(EOF);
      expect(pair.client.readState).toBe('reset');
    } finally {
      pair.close();
    }
  });

  it('tcp.rst.consumed: a MSG_PEEK recv takes ECONNRESET, the next recv returns eof', async () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(2000);
      pair.peer.reset();
      await waitForReset(pair.client);
      expect(pair.client.peek(16)).toEqual(errorResult('ECONNRESET'));
      expect(pair.client.readState).toBe('reset');
      expect(pair.client.recv(16)).toEqual(EOF);
      expect(pair.client.takeError()).toBeNull();
      expect(pair.client.readState).toBe('reset');
    } finally {
      pair.close();
    }
  });
});

linux('tcp.len0', () => {
  it('tcp.len0: sys.recv of 0 bytes on an idle non-blocking socket returns -EAGAIN', () => {
    const pair = tcpPair();
    try {
      expect(sys.setNonBlocking(pair.client.fd, true)).toBe(0);
      expect(sys.recv(pair.client.fd, Buffer.alloc(16), 0, 0, 0)).toBe(-errnoOf('EAGAIN'));
    } finally {
      pair.close();
    }
  });

  it('tcp.len0: sys.recv of 0 bytes with data pending returns 0 and consumes nothing', async () => {
    const pair = tcpPair();
    try {
      pair.client.setBlocking(false);
      expectSent(pair.peer, 'abc');
      await waitForBytes(pair.client, 3);
      expect(sys.recv(pair.client.fd, Buffer.alloc(16), 0, 0, 0)).toBe(0);
      expect(pair.client.available()).toBe(3);
      expect(sys.fionread(pair.client.fd)).toBe(3);
      expectData(pair.client.recv(16), 'abc');
    } finally {
      pair.close();
    }
  });

  it('tcp.len0: the typed recv(0) throws RangeError ERR_OUT_OF_RANGE and leaves the data queued', async () => {
    const pair = tcpPair();
    try {
      pair.client.setBlocking(false);
      expectSent(pair.peer, 'abc');
      await waitForBytes(pair.client, 3);
      let thrown: unknown;
      try {
        pair.client.recv(0);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(RangeError);
      expect(thrown).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      expect(pair.client.available()).toBe(3);
    } finally {
      pair.close();
    }
  });
});

linux('tcp.unconnected', () => {
  it('tcp.unconnected: recv on a never-connected TCP socket returns ENOTCONN (sys and typed)', () => {
    const fd = sys.socket(constants.AF.INET, constants.SOCK.STREAM, 0);
    expect(fd).toBeGreaterThanOrEqual(0);
    let socket: Socket | undefined;
    try {
      // Blocking, as sockets start: ENOTCONN must come at once; the timeout only bounds a wrong wait.
      expect(sys.setTimeout(fd, constants.SO.RCVTIMEO, 2000)).toBe(0);
      expect(sys.recv(fd, Buffer.alloc(16), 0, 16, 0)).toBe(-errnoOf('ENOTCONN'));
      socket = Socket.fromFd(fd);
      expect(socket.blocking).toBe(true);
      expect(socket.recv(16)).toEqual(errorResult('ENOTCONN'));
      // Not a connection error handed out once: the state says so on every call.
      expect(socket.recv(16)).toEqual(errorResult('ENOTCONN'));
    } finally {
      if (socket) socket.close();
      else sys.close(fd);
    }
  });
});

linux('tcp.listening', () => {
  it('tcp.listening: recv on a listening socket returns ENOTCONN (sys and typed)', () => {
    const server = Server.listen();
    let view: Socket | undefined;
    try {
      expect(sys.recv(server.fd, Buffer.alloc(16), 0, 16, 0)).toBe(-errnoOf('ENOTCONN'));
      view = Socket.fromFd(server.fd, { owned: false });
      expect(view.recv(16)).toEqual(errorResult('ENOTCONN'));
    } finally {
      view?.close();
      server.close();
    }
  });
});

linux('tcp.connecting', () => {
  it('tcp.connecting: recv during a non-blocking connect still in SYN_SENT returns EAGAIN, not ENOTCONN', () => {
    // backlog 0: the accept queue takes one connection; SYNs beyond it are dropped, so a
    // later connect stays in SYN_SENT (the first retransmission is a second away).
    // Only one blocking filler: a second connectSync would itself hang in SYN_SENT.
    const server = Server.listen({ backlog: 0 });
    let filler: Socket | undefined;
    let fd = -1;
    let view: Socket | undefined;
    try {
      filler = Socket.connectSync({ host: '127.0.0.1', port: server.port });
      fd = sys.socket(constants.AF.INET, constants.SOCK.STREAM, 0);
      expect(fd).toBeGreaterThanOrEqual(0);
      expect(sys.setNonBlocking(fd, true)).toBe(0);
      expect(sys.connect(fd, constants.AF.INET, '127.0.0.1', server.port)).toBe(-errnoOf('EINPROGRESS'));
      const notConnected = -errnoOf('ENOTCONN');
      // getpeername is ENOTCONN in SYN_SENT; a connect that had completed would answer.
      expect(sys.getpeername(fd)).toBe(notConnected);
      expect(sys.recv(fd, Buffer.alloc(16), 0, 16, 0)).toBe(-errnoOf('EAGAIN'));
      view = Socket.fromFd(fd, { owned: false });
      expect(view.blocking).toBe(false);
      expect(view.recv(16)).toEqual(failure('would-block', 'EAGAIN'));
      // Still connecting after the recvs: SYN_SENT only leaves for ESTABLISHED or CLOSE.
      expect(sys.getpeername(fd)).toBe(notConnected);
      expect(sys.getsockopt(fd, constants.SOL.SOCKET, constants.SO.ERROR)).toBe(0);
    } finally {
      view?.close();
      if (fd >= 0) sys.close(fd);
      closeAll(filler, server);
    }
  });
});

linux('tcp.refused', () => {
  it("tcp.refused: after a refused non-blocking connect, recv returns ECONNREFUSED once, then eof; readState 'error'", async () => {
    const port = closedPort();
    const fd = sys.socket(constants.AF.INET, constants.SOCK.STREAM, 0);
    expect(fd).toBeGreaterThanOrEqual(0);
    let socket: Socket | undefined;
    try {
      expect(sys.setNonBlocking(fd, true)).toBe(0);
      expect(sys.connect(fd, constants.AF.INET, '127.0.0.1', port)).toBe(-errnoOf('EINPROGRESS'));
      socket = Socket.fromFd(fd);
      const typed = socket;
      // would-block (SYN_SENT) takes nothing; the first other result is the refusal.
      let first: RecvResult = typed.recv(16);
      await waitFor(
        () => {
          if (first.kind !== 'would-block') return true;
          expect(first).toEqual(failure('would-block', 'EAGAIN'));
          first = typed.recv(16);
          return first.kind !== 'would-block';
        },
        2000,
        'the refusal',
      );
      expect(first).toEqual(errorResult('ECONNREFUSED'));
      expect(typed.readState).toBe('error');
      expect(typed.recv(16)).toEqual(EOF);
      expect(typed.recv(16)).toEqual(EOF);
      expect(typed.readState).toBe('error');
    } finally {
      if (socket) socket.close();
      else sys.close(fd);
    }
  });
});

linux('tcp.shut-rd', () => {
  it("tcp.shut-rd: after local shutdown('read') a blocking recv returns eof at once", () => {
    const pair = tcpPair();
    try {
      // The timeout only bounds a wrong wait: a recv that waited would come back as timeout.
      pair.client.setReceiveTimeout(2000);
      pair.client.shutdown('read');
      expect(pair.client.recv(16)).toEqual(EOF);
      expect(pair.client.readState).toBe('eof');
    } finally {
      pair.close();
    }
  });

  it("tcp.shut-rd: data pending before shutdown('read') is still returned first, then eof", async () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(2000);
      expectSent(pair.peer, 'abc');
      await waitForBytes(pair.client, 3);
      pair.client.shutdown('read');
      expectData(pair.client.recv(16), 'abc');
      expect(pair.client.recv(16)).toEqual(EOF);
    } finally {
      pair.close();
    }
  });

  it("tcp.shut-rd: data arriving after shutdown('read') is still delivered (Linux)", async () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(2000);
      pair.client.shutdown('read');
      expect(pair.client.recv(16)).toEqual(EOF);
      expectSent(pair.peer, 'late');
      await waitForBytes(pair.client, 4);
      expectData(pair.client.recv(16), 'late');
      expect(pair.client.recv(16)).toEqual(EOF);
    } finally {
      pair.close();
    }
  });
});

linux('tcp.waitall', () => {
  it('tcp.waitall: MSG_WAITALL waits past the first bytes and returns the partial count at the FIN', async () => {
    const pair = tcpPair();
    // The child holds the last reference to the peer socket as its fd 3: it writes 'de' after
    // 0.2 s and its exit sends the FIN, while this thread is blocked in the MSG_WAITALL recv.
    // A recv without MSG_WAITALL would return 'abc' at once.
    const writer = child('sleep 0.2; printf de >&3', ['ignore', 'ignore', 'ignore', pair.peer.fd]);
    try {
      expectSent(pair.peer, 'abc');
      pair.peer.close();
      pair.client.setReceiveTimeout(5000);
      expectData(pair.client.recv(16, constants.MSG.WAITALL), 'abcde');
      expect(pair.client.recv(16)).toEqual(EOF);
    } finally {
      await writer.exited;
      pair.close();
    }
    expect(writer.process.exitCode).toBe(0);
  });
});

linux('tcp.eintr', () => {
  it('tcp.eintr: a signal during a blocking recv with SO_RCVTIMEO gives interrupted EINTR despite SA_RESTART', async () => {
    const pair = tcpPair();
    let signals = 0;
    const onSignal = (): void => {
      signals += 1;
    };
    // libuv installs this handler with SA_RESTART; signal(7): a recv with SO_RCVTIMEO is not restarted.
    process.on('SIGUSR2', onSignal);
    let signaller: ReturnType<typeof child> | undefined;
    try {
      pair.client.setReceiveTimeout(5000);
      signaller = child(`sleep 0.3; kill -USR2 ${process.pid}`);
      expect(pair.client.recv(16)).toEqual(failure('interrupted', 'EINTR'));
      await signaller.exited;
      expect(signaller.process.exitCode).toBe(0);
      await waitFor(() => signals > 0, 2000, 'the SIGUSR2 handler');
      expect(signals).toBe(1);
      expect(pair.client.readState).toBe('open');
    } finally {
      try {
        if (signaller) {
          await signaller.exited;
          // The handler must have run before it is removed: SIGUSR2's default action ends the process.
          await waitFor(() => signals > 0, 2000, 'the SIGUSR2 handler');
        }
      } finally {
        process.off('SIGUSR2', onSignal);
        pair.close();
      }
    }
  });
});
