/**
 * Windows beyond the steps test/13.conformance.test.ts compares (test/expectations/win32.ts, the
 * documented values and Wine's deviations): Winsock's flags and handle count, recvFrom's sender,
 * the bytes a WSAEMSGSIZE call still delivers, sockets the catalogue does not make (never bound,
 * never connected, a non-blocking listener), SIO_UDP_CONNRESET, and what the peer sees. This leg
 * runs under Wine, which is not Windows (docs/recv-semantics.md#wine): where Wine differs, the test
 * asserts Wine's value when `constants.wine` is set and says "Wine deviation" in its title, and the
 * documented value otherwise. vitest.config.ts collects this file on win32 only.
 */
import { setTimeout as delay } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import { constants, errnoNumber, Server, Socket, sys } from '../src/index.js';
import {
  boundUdp,
  closeAll,
  closing,
  endpointOf,
  errnoOf,
  errorResult,
  failure,
  guardFds,
  tcpPair,
  WINE,
} from './helpers.js';

guardFds();

/** SO_RCVTIMEO for a recv that is expected to wait it out. */
const SHORT_MS = 300;
const timedOut = failure('timeout', 'ETIMEDOUT');

/** A UDP port with nothing bound to it (bound, then released): datagrams to it draw ICMP. */
function closedUdpPort(): number {
  const socket = boundUdp();
  const { port } = endpointOf(socket);
  socket.close();
  return port;
}

const title = (windows: string, wine: string): string => (WINE ? `${wine} (Wine deviation)` : windows);

describe('Winsock', () => {
  it("constants.errno holds Winsock's numbers; there is no MSG_DONTWAIT, and 0x40 is refused", () => {
    for (const name of ['WSAEINVAL', 'WSAENOTSOCK', 'WSAEMSGSIZE', 'WSAESHUTDOWN', 'WSAECONNREFUSED']) {
      expect(constants.errno[name], name).toBe(errnoNumber(name, 'win32'));
    }
    expect(constants.MSG.DONTWAIT).toBeUndefined();
    return closing([tcpPair()], ({ client }) => {
      expect(() => client.recv(16, 0x40)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    });
  });

  it(
    title('sys.handleCount counts a socket handle', 'sys.handleCount is always 0: GetProcessHandleCount is a stub'),
    () => {
      const counts = [sys.handleCount()];
      const socket = Socket.udp();
      counts.push(sys.handleCount());
      socket.close();
      counts.push(sys.handleCount());
      if (WINE) expect(counts).toEqual([0, 0, 0]);
      else expect([(counts[1] ?? 0) > (counts[0] ?? 0), (counts[2] ?? 0) < (counts[1] ?? 0)]).toEqual([true, true]);
    },
  );
});

describe('TCP', () => {
  it('tcp.unconnected, tcp.listening: never connected, bound only, or a listener, non-blocking: WSAENOTCONN', () => {
    const server = Server.listen();
    const fresh = (): number => sys.socket(constants.AF.INET, constants.SOCK.STREAM, 0);
    const bound = fresh();
    expect(sys.bind(bound, constants.AF.INET, '127.0.0.1', 0)).toBe(0);
    const sockets = [Socket.fromFd(fresh()), Socket.fromFd(bound), Socket.fromFd(server.fd, { owned: false })];
    try {
      for (const socket of sockets) {
        socket.setBlocking(false);
        expect(sys.recv(socket.fd, Buffer.alloc(16), 0, 16, 0)).toBe(-errnoOf('ENOTCONN'));
        expect([socket.family, socket.recv(16)]).toEqual(['IPv4', errorResult('ENOTCONN')]);
      }
    } finally {
      closeAll(...sockets, server);
    }
  });

  it(
    title(
      "tcp.shut-rd: data arriving after shutdown('read') resets the connection: the sender gets WSAECONNRESET",
      "tcp.shut-rd: data arriving after shutdown('read') resets nothing: the sender's recv times out",
    ),
    () =>
      closing([tcpPair()], (pair) => {
        pair.client.shutdown('read');
        pair.client.setBlocking(false);
        expect(pair.client.recv(16)).toEqual(errorResult('ESHUTDOWN'));
        pair.peer.send('late');
        // A blocking recv on the sender, bounded: the RST wakes it on Windows. Winsock resets a
        // connection whose read side is shut when data arrives; Wine's (Linux's) TCP does not.
        pair.peer.setReceiveTimeout(SHORT_MS);
        const sent = pair.peer.recv(16);
        expect(pair.client.recv(16)).toEqual(errorResult('ESHUTDOWN'));
        expect(sent).toEqual(WINE ? timedOut : errorResult('ECONNRESET'));
      }),
  );
});

describe('UDP', () => {
  it(title('udp.idle: recvfrom never bound is WSAEINVAL', 'udp.idle: recvfrom never bound is WSAEWOULDBLOCK'), () => {
    // recvfrom docs, WSAEINVAL: "The socket has not been bound with bind".
    return closing([Socket.udp()], (socket) => {
      socket.setBlocking(false);
      expect(socket.recvFrom(16)).toEqual(WINE ? failure('would-block', 'EWOULDBLOCK') : errorResult('EINVAL'));
    });
  });

  it('udp.truncated: WSAEMSGSIZE still delivers what fits, recvFrom names the sender, MSG_PEEK keeps it whole', () =>
    closing([boundUdp(), boundUdp()], (receiver, sender) => {
      receiver.setReceiveTimeout(2000);
      const from = { address: '127.0.0.1', port: endpointOf(sender).port, family: 'IPv4' };
      const send = (data: string): void => void sender.sendTo(data, endpointOf(receiver));
      const cut = { kind: 'data', ret: -1, errno: errnoOf('EMSGSIZE'), bytesRead: 4, data: Buffer.from('0123') };
      send('0123456789');
      expect(receiver.recvFrom(4, constants.MSG.PEEK)).toEqual({ ...cut, truncated: true, ...from });
      expect(receiver.recvFrom(16)).toMatchObject({ ret: 10, data: Buffer.from('0123456789'), truncated: false });
      send('abcdefghij');
      expect(receiver.recv(4)).toEqual({ ...cut, data: Buffer.from('abcd') });
      send('klmnopqrst');
      const buffer = Buffer.alloc(4);
      expect([sys.recv(receiver.fd, buffer, 0, 4, 0), buffer.toString()]).toEqual([-errnoOf('EMSGSIZE'), 'klmn']);
    }));

  it.runIf(WINE)(
    'udp.icmp: the ICMP error recv never reports goes to a later send as WSAECONNREFUSED (Wine deviation)',
    async () => {
      const socket = boundUdp({ connect: { host: '127.0.0.1', port: closedUdpPort() } });
      try {
        socket.send('x');
        socket.setReceiveTimeout(SHORT_MS);
        // Wine's recv waits out SO_RCVTIMEO; Linux keeps the error for a later send.
        expect(socket.recv(16)).toEqual(timedOut);
        let sent = socket.send('y');
        for (let tries = 0; sent.kind === 'sent' && tries < 20; tries++) {
          await delay(10);
          sent = socket.send('y');
        }
        expect(sent).toEqual(errorResult('ECONNREFUSED'));
      } finally {
        socket.close();
      }
    },
  );

  it(
    title(
      'udp.icmp.unconnected: with udpConnReset true recvFrom reports the ICMP as WSAECONNRESET; false: nothing',
      'udp.icmp.unconnected: recvFrom never reports the ICMP, udpConnReset true or false',
    ),
    () => {
      for (const udpConnReset of [true, false]) {
        const socket = boundUdp({ udpConnReset });
        try {
          socket.sendTo('x', { host: '127.0.0.1', port: closedUdpPort() });
          socket.setReceiveTimeout(SHORT_MS);
          // Wine accepts SIO_UDP_CONNRESET, but no ICMP error reaches its recvfrom (Linux
          // reports none to an unconnected socket without IP_RECVERR).
          expect(socket.recvFrom(16)).toEqual(udpConnReset && !WINE ? errorResult('ECONNRESET') : timedOut);
          socket.setBlocking(false);
          if (!udpConnReset) expect(socket.recvFrom(16)).toEqual(failure('would-block', 'EWOULDBLOCK'));
        } finally {
          socket.close();
        }
      }
    },
  );
});
