import { describe, expect, it } from 'vitest';

import { Socket } from '../src/index.js';
import { expectErrno, guardFds, tcpPair } from './helpers.js';

guardFds();

describe('smoke', () => {
  it('non-blocking recv on an idle TCP socket returns would-block, then data, then eof', () => {
    const pair = tcpPair();
    try {
      pair.client.setBlocking(false);
      const idle = pair.client.recv(16);
      expect(idle.kind).toBe('would-block');
      expectErrno(idle, 'EAGAIN');
      pair.peer.send('hi');
      expect(pair.client.recv(16)).toMatchObject({ kind: 'data', ret: 2, bytesRead: 2 });
      pair.peer.shutdown('write');
      expect(pair.client.recv(16)).toEqual({ kind: 'eof', ret: 0, errno: 0 });
    } finally {
      pair.close();
    }
  });

  it('pair() sockets are AF_UNIX', () => {
    const [a, b] = Socket.pair();
    expect(a.family).toBe('unix');
    a.close();
    b.close();
  });
});
