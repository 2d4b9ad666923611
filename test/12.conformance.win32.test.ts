/**
 * Conformance, Windows column: every scenario of /work/shared/recv-semantics.md that loopback
 * can create on Windows, one describe per scenario id, through the typed API and, where the
 * scenario is about the raw call, through `sys` (which returns -WSAGetLastError()). Each
 * assertion is kind, ret, errno and code.
 *
 * The documented Winsock values [D] are asserted on Windows. This leg runs under Wine, which
 * is not Windows: where Wine gives something else, the test asserts Wine's value when
 * `constants.wine` is set, with a comment "Wine deviation: ...", and the documented value
 * otherwise. Windows only: vitest.config.ts excludes this file, vitest.windows.config.ts runs it.
 */
import { constants as osConstants } from 'node:os';

import { describe, expect, it } from 'vitest';

import { constants, Server, Socket, sys, type RecvFromResult, type RecvResult } from '../src/index.js';
import { closeAll, closedPort, guardFds, tcpPair, waitFor, WINE, type TcpPair } from './helpers.js';

guardFds();

/** Winsock's numbers as recv-semantics.md ("Error numbers per platform") gives them. */
const WSA = {
  WSAEINVAL: 10022,
  WSAEWOULDBLOCK: 10035,
  WSAENOTSOCK: 10038,
  WSAEMSGSIZE: 10040,
  WSAECONNRESET: 10054,
  WSAENOTCONN: 10057,
  WSAESHUTDOWN: 10058,
  WSAETIMEDOUT: 10060,
  WSAECONNREFUSED: 10061,
} as const;
type WsaCode = keyof typeof WSA;

const HOSTS = ['127.0.0.1', '::1'] as const;
/** The bound on a blocking recv that waits for something loopback delivers at once. */
const ARRIVAL_MS = 2000;
/** SO_RCVTIMEO for a recv that is expected to time out. */
const SHORT_MS = 100;

const EOF = { kind: 'eof', ret: 0, errno: 0 } as const;

/** A would-block / timeout result: ret -1 and the exact Winsock number and name. */
function failure(kind: 'would-block' | 'timeout', code: WsaCode): RecvResult {
  return { kind, ret: -1, errno: WSA[code], code };
}

/** An error result (WSAECONNRESET, WSAENOTCONN, ...), with libuv's message. */
function errorResult(code: WsaCode): unknown {
  return { kind: 'error', ret: -1, errno: WSA[code], code, message: expect.any(String) };
}

function expectData(result: RecvResult, text: string): void {
  const length = Buffer.byteLength(text);
  expect(result).toEqual({ kind: 'data', ret: length, errno: 0, bytesRead: length, data: Buffer.from(text) });
}

function expectSent(socket: Socket, text: string | Buffer, to?: { host: string; port: number }): void {
  const length = Buffer.byteLength(text);
  const result = to === undefined ? socket.send(text) : socket.sendTo(text, to);
  expect(result).toEqual({ kind: 'sent', ret: length, errno: 0, bytesSent: length });
}

/** Waits until `count` bytes are queued for `socket` (FIONREAD), without taking them. */
async function waitForBytes(socket: Socket, count: number): Promise<void> {
  await waitFor(() => socket.available() >= count, ARRIVAL_MS, `${count} queued bytes`);
}

/** A UDP socket bound to an ephemeral port on 127.0.0.1 (Winsock's recvfrom wants it bound). */
function boundUdp(options: { udpConnReset?: boolean; connect?: { host: string; port: number } } = {}): Socket {
  return Socket.udp({ bind: { host: '127.0.0.1', port: 0 }, ...options });
}

function endpointOf(socket: Socket): { host: string; port: number } {
  return { host: '127.0.0.1', port: socket.localAddress().port };
}

/** The sender part of a recvFrom data result from `sender`. */
function from(sender: Socket): { address: string; port: number; family: 'IPv4' } {
  return { address: '127.0.0.1', port: sender.localAddress().port, family: 'IPv4' };
}

/** A UDP port with nothing bound to it (bound, then released): datagrams to it draw ICMP. */
function closedUdpPort(): number {
  const socket = boundUdp();
  const port = socket.localAddress().port;
  socket.close();
  return port;
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

describe('Winsock error numbers', () => {
  it("the documented WSAE* numbers are Node's os.constants.errno and the addon's constants.errno", () => {
    for (const [name, number] of Object.entries(WSA)) {
      expect((osConstants.errno as Record<string, number>)[name], `os.constants.errno.${name}`).toBe(number);
      expect(constants.errno[name], `constants.errno.${name}`).toBe(number);
    }
  });

  it('Winsock has no MSG_DONTWAIT (tcp.idle.dontwait): constants.MSG lacks it and 0x40 is refused', () => {
    expect(constants.MSG.DONTWAIT).toBeUndefined();
    const pair = tcpPair();
    try {
      expect(() => pair.client.recv(16, 0x40)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    } finally {
      pair.close();
    }
  });
});

describe('sys.handleCount (GetProcessHandleCount)', () => {
  it(
    WINE
      ? 'is 0 whatever is open under Wine (Wine deviation: GetProcessHandleCount is a stub)'
      : 'counts a new socket handle and drops it at close',
    () => {
      const before = sys.handleCount();
      const socket = Socket.udp();
      const open = sys.handleCount();
      socket.close();
      const after = sys.handleCount();
      if (WINE) {
        // Wine deviation: Wine 8's NtQueryInformationProcess(ProcessHandleCount) fills in 0.
        expect([before, open, after]).toEqual([0, 0, 0]);
      } else {
        expect(before).toBeGreaterThan(0);
        expect(open).toBeGreaterThan(before);
        expect(after).toBeLessThan(open);
      }
    },
  );
});

describe('tcp.idle.nonblocking', () => {
  for (const host of HOSTS) {
    it(`tcp.idle.nonblocking: recv and peek return would-block WSAEWOULDBLOCK 10035 (${host})`, () => {
      const pair = tcpPair(host);
      try {
        pair.client.setBlocking(false);
        expect(pair.client.recv(16)).toEqual(failure('would-block', 'WSAEWOULDBLOCK'));
        expect(pair.client.peek(16)).toEqual(failure('would-block', 'WSAEWOULDBLOCK'));
        expect(sys.recv(pair.client.fd, Buffer.alloc(16), 0, 16, 0)).toBe(-WSA.WSAEWOULDBLOCK);
        expect(pair.client.readState).toBe('open');
      } finally {
        pair.close();
      }
    });
  }
});

describe('tcp.idle.rcvtimeo', () => {
  it('tcp.idle.rcvtimeo: an expired SO_RCVTIMEO is timeout, ret -1, WSAETIMEDOUT 10060 (not the would-block number)', () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(SHORT_MS);
      expect(pair.client.blocking).toBe(true);
      expect(pair.client.recv(16)).toEqual(failure('timeout', 'WSAETIMEDOUT'));
      expect(pair.client.readState).toBe('open');
    } finally {
      pair.close();
    }
  });

  it('tcp.idle.rcvtimeo: sys.recv returns -WSAETIMEDOUT', () => {
    const pair = tcpPair();
    try {
      expect(sys.setTimeout(pair.client.fd, constants.SO.RCVTIMEO, SHORT_MS)).toBe(0);
      expect(sys.recv(pair.client.fd, Buffer.alloc(16), 0, 16, 0)).toBe(-WSA.WSAETIMEDOUT);
    } finally {
      pair.close();
    }
  });
});

describe('tcp.data', () => {
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
        expect(pair.client.recv(16)).toEqual(failure('would-block', 'WSAEWOULDBLOCK'));
        expect(pair.client.readState).toBe('open');
      } finally {
        pair.close();
      }
    });
  }

  it('tcp.data: a blocking recv waits for data that comes later', () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(ARRIVAL_MS);
      expectSent(pair.peer, 'later');
      expectData(pair.client.recv(16), 'later');
    } finally {
      pair.close();
    }
  });
});

describe('tcp.peek', () => {
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
      expect(pair.client.peek(16)).toEqual(failure('would-block', 'WSAEWOULDBLOCK'));
    } finally {
      pair.close();
    }
  });
});

describe('tcp.fin', () => {
  const ENDINGS: readonly [string, (peer: Socket) => void][] = [
    ["shutdown('write')", (peer) => peer.shutdown('write')],
    ['close()', (peer) => peer.close()],
  ];
  for (const host of HOSTS) {
    for (const [how, end] of ENDINGS) {
      it(`tcp.fin: queued data, then eof 0, then eof again, also with MSG_PEEK (peer ${how}, ${host})`, async () => {
        const pair = tcpPair(host);
        try {
          pair.client.setReceiveTimeout(ARRIVAL_MS);
          expectSent(pair.peer, 'hello');
          end(pair.peer);
          await waitForBytes(pair.client, 5);
          expectData(pair.client.recv(16), 'hello');
          expect(pair.client.recv(16)).toEqual(EOF);
          expect(pair.client.readState).toBe('eof');
          expect(pair.client.peek(16)).toEqual(EOF);
          expect(pair.client.recv(16)).toEqual(EOF);
          expect(sys.recv(pair.client.fd, Buffer.alloc(16), 0, 16, 0)).toBe(0);
          pair.client.setBlocking(false);
          expect(pair.client.recv(16)).toEqual(EOF);
          expect(pair.client.readState).toBe('eof');
        } finally {
          pair.close();
        }
      });
    }
  }
});

describe('tcp.half-close', () => {
  it("tcp.half-close: after the peer's FIN our send still works and the peer reads it", async () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(ARRIVAL_MS);
      pair.peer.shutdown('write');
      expect(pair.client.recv(16)).toEqual(EOF);
      expectSent(pair.client, 'pong');
      await waitForBytes(pair.peer, 4);
      expectData(pair.peer.recv(16), 'pong');
      expect(pair.peer.readState).toBe('open');
    } finally {
      pair.close();
    }
  });
});

describe('tcp.rst', () => {
  for (const [how, reset] of RESETS) {
    it(
      WINE
        ? `tcp.rst under Wine: recv returns 0 (eof), not WSAECONNRESET 10054 (Wine deviation) (${how})`
        : `tcp.rst: error WSAECONNRESET 10054, readState 'reset' (${how})`,
      async () => {
        const pair = tcpPair();
        try {
          // Blocking with a bound: the recv waits for the RST if it is not in yet.
          pair.client.setReceiveTimeout(ARRIVAL_MS);
          await reset(pair);
          const result = pair.client.recv(16);
          if (WINE) {
            // Wine deviation (recv-semantics.md, last section): Wine's recv returns 0 after a
            // reset, as if the peer had sent a FIN; Windows reports WSAECONNRESET.
            expect(result).toEqual(EOF);
            expect(pair.client.readState).toBe('eof');
            expect(sys.recv(pair.client.fd, Buffer.alloc(16), 0, 16, 0)).toBe(0);
          } else {
            expect(result).toEqual(errorResult('WSAECONNRESET'));
            expect(pair.client.readState).toBe('reset');
          }
        } finally {
          pair.close();
        }
      },
    );
  }
});

describe('tcp.waitall', () => {
  it('tcp.waitall: MSG_WAITALL returns the partial count when the FIN comes first', async () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(ARRIVAL_MS);
      expectSent(pair.peer, 'abc');
      pair.peer.shutdown('write');
      await waitForBytes(pair.client, 3);
      expectData(pair.client.recv(16, constants.MSG.WAITALL), 'abc');
      expect(pair.client.recv(16, constants.MSG.WAITALL)).toEqual(EOF);
    } finally {
      pair.close();
    }
  });
});

describe('tcp.unconnected', () => {
  it('tcp.unconnected: sys.recv on a TCP socket never connected returns -WSAENOTCONN 10057, blocking or not', () => {
    const fd = sys.socket(constants.AF.INET, constants.SOCK.STREAM, 0);
    expect(fd).toBeGreaterThan(0);
    try {
      expect(sys.recv(fd, Buffer.alloc(16), 0, 16, 0)).toBe(-WSA.WSAENOTCONN);
      expect(sys.setNonBlocking(fd, true)).toBe(0);
      expect(sys.recv(fd, Buffer.alloc(16), 0, 16, 0)).toBe(-WSA.WSAENOTCONN);
    } finally {
      expect(sys.close(fd)).toBe(0);
    }
  });

  it('tcp.unconnected: Socket.fromFd adopts a TCP socket never bound or connected, and recv is error WSAENOTCONN', () => {
    const fd = sys.socket(constants.AF.INET, constants.SOCK.STREAM, 0);
    expect(fd).toBeGreaterThan(0);
    let socket: Socket | undefined;
    try {
      socket = Socket.fromFd(fd);
      expect(socket.family).toBe('IPv4');
      expect(socket.recv(16)).toEqual(errorResult('WSAENOTCONN'));
      socket.setBlocking(false);
      expect(socket.recv(16)).toEqual(errorResult('WSAENOTCONN'));
    } finally {
      if (socket === undefined) sys.close(fd);
      else socket.close();
    }
  });

  it('tcp.unconnected: recv on a TCP socket bound but never connected is error WSAENOTCONN', () => {
    const fd = sys.socket(constants.AF.INET, constants.SOCK.STREAM, 0);
    expect(fd).toBeGreaterThan(0);
    let socket: Socket | undefined;
    try {
      expect(sys.bind(fd, constants.AF.INET, '127.0.0.1', 0)).toBe(0);
      socket = Socket.fromFd(fd);
      expect(socket.recv(16)).toEqual(errorResult('WSAENOTCONN'));
    } finally {
      if (socket === undefined) sys.close(fd);
      else socket.close();
    }
  });
});

describe('tcp.listening', () => {
  it('tcp.listening: recv on a non-blocking listening socket is error WSAENOTCONN 10057', () => {
    const server = Server.listen();
    const view = Socket.fromFd(server.fd, { owned: false, blocking: true });
    try {
      server.setBlocking(false);
      expect(sys.recv(server.fd, Buffer.alloc(16), 0, 16, 0)).toBe(-WSA.WSAENOTCONN);
      view.setBlocking(false);
      expect(view.recv(16)).toEqual(errorResult('WSAENOTCONN'));
    } finally {
      closeAll(view, server);
    }
  });

  it(
    WINE
      ? 'tcp.listening under Wine: a blocking recv waits and times out WSAETIMEDOUT (Wine deviation: not WSAENOTCONN)'
      : 'tcp.listening: recv on a blocking listening socket is error WSAENOTCONN 10057 at once',
    () => {
      const server = Server.listen();
      try {
        // SO_RCVTIMEO bounds the wait of Wine's blocking recv; Windows fails at once.
        expect(sys.setTimeout(server.fd, constants.SO.RCVTIMEO, SHORT_MS)).toBe(0);
        const view = Socket.fromFd(server.fd, { owned: false, blocking: true });
        try {
          expect(view.receiveTimeout).toBe(SHORT_MS);
          // Wine deviation: Wine's recv on a blocking listening socket waits (here until
          // SO_RCVTIMEO expires) instead of failing with WSAENOTCONN; non-blocking it says WSAENOTCONN.
          expect(view.recv(16)).toEqual(WINE ? failure('timeout', 'WSAETIMEDOUT') : errorResult('WSAENOTCONN'));
        } finally {
          view.close();
        }
      } finally {
        server.close();
      }
    },
  );
});

describe('tcp.shut-rd', () => {
  it("tcp.shut-rd: after shutdown('read') recv is error WSAESHUTDOWN 10058, blocking or not", () => {
    const pair = tcpPair();
    try {
      pair.client.setReceiveTimeout(ARRIVAL_MS);
      pair.client.shutdown('read');
      expect(pair.client.recv(16)).toEqual(errorResult('WSAESHUTDOWN'));
      pair.client.setBlocking(false);
      expect(pair.client.recv(16)).toEqual(errorResult('WSAESHUTDOWN'));
      expect(sys.recv(pair.client.fd, Buffer.alloc(16), 0, 16, 0)).toBe(-WSA.WSAESHUTDOWN);
    } finally {
      pair.close();
    }
  });

  it("tcp.shut-rd: data queued before shutdown('read') is not returned: WSAESHUTDOWN", async () => {
    const pair = tcpPair();
    try {
      expectSent(pair.peer, 'early');
      await waitForBytes(pair.client, 5);
      pair.client.shutdown('read');
      expect(pair.client.recv(16)).toEqual(errorResult('WSAESHUTDOWN'));
    } finally {
      pair.close();
    }
  });

  it(
    WINE
      ? "tcp.shut-rd under Wine: data arriving after shutdown('read') is WSAESHUTDOWN here and no reset for the sender (Wine deviation)"
      : "tcp.shut-rd: data arriving after shutdown('read') is WSAESHUTDOWN here and resets the connection: the sender gets WSAECONNRESET",
    async () => {
      const pair = tcpPair();
      try {
        pair.client.shutdown('read');
        expectSent(pair.peer, 'late');
        // A blocking recv on the sender, bounded: the RST wakes it on Windows.
        pair.peer.setReceiveTimeout(SHORT_MS * 3);
        const sender = pair.peer.recv(16);
        expect(pair.client.recv(16)).toEqual(errorResult('WSAESHUTDOWN'));
        if (WINE) {
          // Wine deviation: Winsock resets a connection whose read side is shut when data
          // arrives; Wine's (Linux's) TCP does not, so the sender just waits.
          expect(sender).toEqual(failure('timeout', 'WSAETIMEDOUT'));
        } else {
          expect(sender).toEqual(errorResult('WSAECONNRESET'));
        }
      } finally {
        pair.close();
      }
    },
  );
});

describe('tcp.len0', () => {
  // recv docs, WSAEINVAL: "(for byte stream sockets only) len was zero or negative". Wine
  // passes the zero length to Linux's recv, which answers as on Linux (recv-semantics.md).
  it(
    WINE
      ? 'tcp.len0 under Wine: sys.recv of 0 bytes on an idle non-blocking socket is -WSAEWOULDBLOCK (Wine deviation: not WSAEINVAL)'
      : 'tcp.len0: sys.recv of 0 bytes on an idle non-blocking socket is -WSAEINVAL 10022',
    () => {
      const pair = tcpPair();
      try {
        expect(sys.setNonBlocking(pair.client.fd, true)).toBe(0);
        expect(sys.recv(pair.client.fd, Buffer.alloc(16), 0, 0, 0)).toBe(WINE ? -WSA.WSAEWOULDBLOCK : -WSA.WSAEINVAL);
      } finally {
        pair.close();
      }
    },
  );

  it(
    WINE
      ? 'tcp.len0 under Wine: sys.recv of 0 bytes with data pending returns 0 and consumes nothing (Wine deviation: not WSAEINVAL)'
      : 'tcp.len0: sys.recv of 0 bytes with data pending is -WSAEINVAL and consumes nothing',
    async () => {
      const pair = tcpPair();
      try {
        pair.client.setBlocking(false);
        expectSent(pair.peer, 'abc');
        await waitForBytes(pair.client, 3);
        expect(sys.recv(pair.client.fd, Buffer.alloc(16), 0, 0, 0)).toBe(WINE ? 0 : -WSA.WSAEINVAL);
        expect(pair.client.available()).toBe(3);
        expectData(pair.client.recv(16), 'abc');
      } finally {
        pair.close();
      }
    },
  );

  it(
    WINE
      ? 'tcp.len0 under Wine: sys.recv of 0 bytes on an idle blocking socket waits until SO_RCVTIMEO, -WSAETIMEDOUT (Wine deviation)'
      : 'tcp.len0: sys.recv of 0 bytes on an idle blocking socket is -WSAEINVAL at once',
    () => {
      const pair = tcpPair();
      try {
        // The bound for Wine's wait; Windows fails at once.
        expect(sys.setTimeout(pair.client.fd, constants.SO.RCVTIMEO, SHORT_MS)).toBe(0);
        expect(sys.recv(pair.client.fd, Buffer.alloc(16), 0, 0, 0)).toBe(WINE ? -WSA.WSAETIMEDOUT : -WSA.WSAEINVAL);
      } finally {
        pair.close();
      }
    },
  );

  it('tcp.len0: the typed recv refuses a length of 0 with ERR_OUT_OF_RANGE and makes no call', () => {
    const pair = tcpPair();
    try {
      expect(() => pair.client.recv(0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    } finally {
      pair.close();
    }
  });
});

describe('udp.idle', () => {
  it('udp.idle: recvFrom and recv on a bound, non-blocking UDP socket return would-block WSAEWOULDBLOCK', () => {
    const socket = boundUdp();
    try {
      socket.setBlocking(false);
      expect(socket.recvFrom(16)).toEqual(failure('would-block', 'WSAEWOULDBLOCK'));
      expect(socket.recv(16)).toEqual(failure('would-block', 'WSAEWOULDBLOCK'));
    } finally {
      socket.close();
    }
  });

  it(
    WINE
      ? 'udp.idle under Wine: recvfrom on a UDP socket never bound is would-block WSAEWOULDBLOCK (Wine deviation: not WSAEINVAL)'
      : 'udp.idle: recvfrom on a UDP socket never bound is error WSAEINVAL 10022',
    () => {
      // recvfrom docs, WSAEINVAL: "The socket has not been bound with bind".
      const socket = Socket.udp();
      try {
        socket.setBlocking(false);
        expect(socket.recvFrom(16)).toEqual(WINE ? failure('would-block', 'WSAEWOULDBLOCK') : errorResult('WSAEINVAL'));
      } finally {
        socket.close();
      }
    },
  );
});

describe('udp.zero-length', () => {
  it('udp.zero-length: a zero-length datagram is data with ret 0 and its sender, not eof', () => {
    const receiver = boundUdp();
    const sender = boundUdp();
    try {
      receiver.setReceiveTimeout(ARRIVAL_MS);
      expectSent(sender, Buffer.alloc(0), endpointOf(receiver));
      expect(receiver.recvFrom(16)).toEqual({
        kind: 'data',
        ret: 0,
        errno: 0,
        bytesRead: 0,
        data: Buffer.alloc(0),
        truncated: false,
        ...from(sender),
      });
      expectSent(sender, Buffer.alloc(0), endpointOf(receiver));
      expect(receiver.recv(16)).toEqual({ kind: 'data', ret: 0, errno: 0, bytesRead: 0, data: Buffer.alloc(0) });
    } finally {
      closeAll(receiver, sender);
    }
  });
});

describe('udp.truncated', () => {
  function truncated(): Extract<RecvFromResult, { kind: 'data' }> {
    return {
      kind: 'data',
      ret: -1,
      errno: WSA.WSAEMSGSIZE,
      bytesRead: 4,
      data: Buffer.from('0123'),
      truncated: true,
      address: '',
      port: 0,
      family: 'IPv4',
    };
  }

  it('udp.truncated: recvFrom of a 10-byte datagram into 4 bytes is data, ret -1, WSAEMSGSIZE 10040, truncated; the rest is lost', () => {
    const receiver = boundUdp();
    const sender = boundUdp();
    try {
      receiver.setReceiveTimeout(ARRIVAL_MS);
      expectSent(sender, '0123456789', endpointOf(receiver));
      expect(receiver.recvFrom(4)).toEqual({ ...truncated(), ...from(sender) });
      receiver.setBlocking(false);
      expect(receiver.recvFrom(16)).toEqual(failure('would-block', 'WSAEWOULDBLOCK'));
    } finally {
      closeAll(receiver, sender);
    }
  });

  it('udp.truncated: recv is data, ret -1, WSAEMSGSIZE; sys.recv returns -WSAEMSGSIZE with the buffer filled', () => {
    const receiver = boundUdp();
    const sender = boundUdp();
    try {
      receiver.setReceiveTimeout(ARRIVAL_MS);
      expectSent(sender, '0123456789', endpointOf(receiver));
      expect(receiver.recv(4)).toEqual({
        kind: 'data',
        ret: -1,
        errno: WSA.WSAEMSGSIZE,
        bytesRead: 4,
        data: Buffer.from('0123'),
      });
      expectSent(sender, 'abcdefghij', endpointOf(receiver));
      const buffer = Buffer.alloc(4);
      expect(sys.recv(receiver.fd, buffer, 0, 4, 0)).toBe(-WSA.WSAEMSGSIZE);
      expect(buffer.toString()).toBe('abcd');
    } finally {
      closeAll(receiver, sender);
    }
  });

  it('udp.truncated: with MSG_PEEK the truncated datagram stays queued, whole for the next recv', () => {
    const receiver = boundUdp();
    const sender = boundUdp();
    try {
      receiver.setReceiveTimeout(ARRIVAL_MS);
      expectSent(sender, '0123456789', endpointOf(receiver));
      expect(receiver.recvFrom(4, constants.MSG.PEEK)).toEqual({ ...truncated(), ...from(sender) });
      expect(receiver.recvFrom(16)).toEqual({
        kind: 'data',
        ret: 10,
        errno: 0,
        bytesRead: 10,
        data: Buffer.from('0123456789'),
        truncated: false,
        ...from(sender),
      });
    } finally {
      closeAll(receiver, sender);
    }
  });
});

describe('udp.len0', () => {
  // recv-semantics.md has no Windows value [U]; Winsock's rule for a datagram longer than the
  // buffer applies (seen under Wine): -WSAEMSGSIZE, and the datagram is consumed.
  it('udp.len0: sys.recv of 0 bytes with a datagram pending is -WSAEMSGSIZE and consumes the datagram', () => {
    const receiver = boundUdp();
    const sender = boundUdp();
    try {
      receiver.setReceiveTimeout(ARRIVAL_MS);
      expectSent(sender, 'abc', endpointOf(receiver));
      expect(receiver.recvFrom(16, constants.MSG.PEEK)).toMatchObject({ kind: 'data', bytesRead: 3 });
      expect(sys.recv(receiver.fd, Buffer.alloc(16), 0, 0, 0)).toBe(-WSA.WSAEMSGSIZE);
      receiver.setBlocking(false);
      expect(receiver.recvFrom(16)).toEqual(failure('would-block', 'WSAEWOULDBLOCK'));
    } finally {
      closeAll(receiver, sender);
    }
  });
});

describe('udp.icmp', () => {
  it(
    WINE
      ? 'udp.icmp under Wine: recv on a connected UDP socket never reports the ICMP (Wine deviation); a later send gets WSAECONNREFUSED'
      : 'udp.icmp: recv on a connected UDP socket after ICMP port-unreachable is error WSAECONNRESET 10054',
    async () => {
      const socket = boundUdp({ connect: { host: '127.0.0.1', port: closedUdpPort() } });
      try {
        expectSent(socket, 'x');
        // Blocking and bounded: the ICMP error wakes the recv on Windows.
        socket.setReceiveTimeout(SHORT_MS * 3);
        const result = socket.recv(16);
        if (WINE) {
          // Wine deviation: Wine's recv does not take the error Linux keeps for the ICMP; the
          // recv waits out SO_RCVTIMEO. The error is not lost: Linux hands it to a later send,
          // as ECONNREFUSED, which Wine reports as WSAECONNREFUSED.
          expect(result).toEqual(failure('timeout', 'WSAETIMEDOUT'));
          let sent = socket.send('y');
          for (let tries = 0; sent.kind === 'sent' && tries < 20; tries++) {
            await new Promise((resolve) => setTimeout(resolve, 10));
            sent = socket.send('y');
          }
          expect(sent).toEqual(errorResult('WSAECONNREFUSED'));
        } else {
          expect(result).toEqual(errorResult('WSAECONNRESET'));
        }
      } finally {
        socket.close();
      }
    },
  );
});

describe('udp.icmp.unconnected', () => {
  const CASES: readonly [string, boolean | undefined][] = [
    ['SIO_UDP_CONNRESET left at the default (on)', undefined],
    ['udpConnReset: true', true],
  ];
  for (const [label, udpConnReset] of CASES) {
    it(
      WINE
        ? `udp.icmp.unconnected under Wine: recvFrom never reports the ICMP (Wine deviation: not WSAECONNRESET) (${label})`
        : `udp.icmp.unconnected: the next recvFrom after ICMP port-unreachable is error WSAECONNRESET 10054 (${label})`,
      () => {
        const socket = boundUdp(udpConnReset === undefined ? {} : { udpConnReset });
        try {
          expectSent(socket, 'x', { host: '127.0.0.1', port: closedUdpPort() });
          socket.setReceiveTimeout(SHORT_MS * 3);
          // Wine deviation: SIO_UDP_CONNRESET is accepted, but no ICMP error ever reaches
          // recvfrom (Linux reports none on an unconnected socket without IP_RECVERR).
          expect(socket.recvFrom(16)).toEqual(WINE ? failure('timeout', 'WSAETIMEDOUT') : errorResult('WSAECONNRESET'));
        } finally {
          socket.close();
        }
      },
    );
  }

  it('udp.icmp.unconnected: with udpConnReset: false (SIO_UDP_CONNRESET off) recvFrom reports nothing and times out', () => {
    const socket = boundUdp({ udpConnReset: false });
    try {
      expectSent(socket, 'x', { host: '127.0.0.1', port: closedUdpPort() });
      socket.setReceiveTimeout(SHORT_MS * 3);
      expect(socket.recvFrom(16)).toEqual(failure('timeout', 'WSAETIMEDOUT'));
      socket.setBlocking(false);
      expect(socket.recvFrom(16)).toEqual(failure('would-block', 'WSAEWOULDBLOCK'));
    } finally {
      socket.close();
    }
  });
});

describe('tcp.refused', () => {
  it('tcp.refused: connectSync to a closed port throws SocketError WSAECONNREFUSED 10061', () => {
    expect(() => Socket.connectSync({ host: '127.0.0.1', port: closedPort() })).toThrow(
      expect.objectContaining({ name: 'SocketError', code: 'WSAECONNREFUSED', errno: WSA.WSAECONNREFUSED }),
    );
  });
});

describe('fd.closed', () => {
  it('fd.closed: sys.recv on a closed SOCKET returns -WSAENOTSOCK 10038', () => {
    const socket = Socket.udp();
    const fd = socket.fd;
    socket.close();
    expect(sys.recv(fd, Buffer.alloc(16), 0, 16, 0)).toBe(-WSA.WSAENOTSOCK);
  });

  it('fd.closed: sys.recv on INVALID_SOCKET (-1) returns -WSAENOTSOCK', () => {
    expect(sys.recv(-1, Buffer.alloc(16), 0, 16, 0)).toBe(-WSA.WSAENOTSOCK);
  });

  it('fd.closed: a closed Socket throws ERR_SOCKET_CLOSED and makes no call', () => {
    const socket = Socket.udp();
    socket.close();
    expect(() => socket.recv(16)).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
  });
});
