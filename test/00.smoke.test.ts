import { describe, expect, it } from 'vitest';

import { Socket } from '../src/index.js';
import { closing, EOF, expectErrno, guardFds, tcpPair, WIN32 } from './helpers.js';

guardFds();

describe('smoke', () => {
  it('non-blocking recv on an idle TCP socket returns would-block, then data, then eof', () =>
    closing([tcpPair()], (pair) => {
      pair.client.setBlocking(false);
      const idle = pair.client.recv(16);
      expect(idle.kind).toBe('would-block');
      expectErrno(idle, 'EAGAIN');
      pair.peer.send('hi');
      expect(pair.client.recv(16)).toMatchObject({ kind: 'data', ret: 2, bytesRead: 2 });
      pair.peer.shutdown('write');
      expect(pair.client.recv(16)).toEqual(EOF);
    }));

  // Windows has no socketpair(2): a connected loopback TCP pair stands in.
  it(WIN32 ? 'pair() sockets are a loopback IPv4 TCP pair on Windows' : 'pair() sockets are AF_UNIX', () =>
    closing(Socket.pair(), (a, b) => {
      expect(a.family).toBe(WIN32 ? 'IPv4' : 'unix');
      expect(b.family).toBe(WIN32 ? 'IPv4' : 'unix');
    }),
  );
});
