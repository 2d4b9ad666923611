/**
 * TCP on Linux beyond the steps test/13.conformance.test.ts compares (test/expectations/linux.ts):
 * the bytes, `readState` beyond test/30's (an end the kernel reports once, remembered:
 * docs/recv-semantics.md#trap-2), ENOTCONN as a state, and a MSG_WAITALL recv that really waits past the first bytes.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

import { describe, expect, it } from 'vitest';

import { constants, Socket, sys, type ReadState, type RecvResult } from '../src/index.js';
import {
  closedPort,
  closing,
  EOF,
  errnoOf,
  errorResult,
  expectData,
  guardFds,
  tcpPair,
  waitFor,
  waitForBytes,
} from './helpers.js';

guardFds();

/** Waits until the RST is in without taking its error: the socket is closed, getpeername(2) says ENOTCONN. */
const waitForReset = (socket: Socket): Promise<void> =>
  waitFor(() => sys.getpeername(socket.fd) === -errnoOf('ENOTCONN'), 2000, 'the RST');

/** Asserts each call's result in turn, and the readState it leaves. */
function expectSequence(socket: Socket, calls: readonly [() => RecvResult, unknown, ReadState][]): void {
  for (const [call, result, state] of calls) {
    expect(call()).toEqual(result);
    expect(socket.readState).toBe(state);
  }
}

describe.runIf(process.platform === 'linux')('TCP on Linux: what the steps do not show', () => {
  it('tcp.data, tcp.peek: recv returns at most the length asked for, in order; MSG_PEEK leaves the bytes', () =>
    closing([tcpPair()], async ({ client, peer }) => {
      client.setReceiveTimeout(2000); // blocking, bounded
      peer.send('hello');
      await waitForBytes(client, 5);
      expectData(client.peek(16), 'hello');
      expectData(client.recv(3), 'hel');
      expect(client.available()).toBe(2);
      expectData(client.recv(16), 'lo');
      expect(client.readState).toBe('open');
    }));

  it("tcp.rst.pending: readState stays 'open' while the bytes before the RST are read, then 'reset'", () =>
    closing([tcpPair()], async ({ client, peer }) => {
      client.setReceiveTimeout(2000);
      peer.send('abc');
      await waitForBytes(client, 3);
      peer.reset();
      await waitForReset(client);
      expectSequence(client, [
        [() => client.recv(16), expect.objectContaining({ data: Buffer.from('abc') }), 'open'],
        [() => client.recv(16), errorResult('ECONNRESET'), 'reset'],
        [() => client.peek(16), EOF, 'reset'],
      ]);
    }));

  it("tcp.rst.consumed: readState 'reset' when takeError() or a MSG_PEEK recv takes the error; it is taken once", async () => {
    for (const take of [(s: Socket) => s.takeError(), (s: Socket) => s.peek(16)]) {
      await closing([tcpPair()], async ({ client, peer }) => {
        client.setReceiveTimeout(2000);
        peer.reset();
        await waitForReset(client);
        expect(take(client)).toMatchObject({ errno: errnoOf('ECONNRESET'), code: 'ECONNRESET' });
        expectSequence(client, [[() => client.recv(16), EOF, 'reset']]);
        expect(client.takeError()).toBeNull();
      });
    }
  });

  it("tcp.refused: readState 'error' from a refused connect's ECONNREFUSED on", async () => {
    const fd = sys.socket(constants.AF.INET, constants.SOCK.STREAM, 0);
    expect([sys.setNonBlocking(fd, true), sys.connect(fd, constants.AF.INET, '127.0.0.1', closedPort())]).toEqual([
      0,
      -errnoOf('EINPROGRESS'),
    ]);
    const socket = Socket.fromFd(fd);
    try {
      expect(await socket.waitWritable({ timeout: 2000 })).not.toBe('timeout'); // the refusal, nothing taken
      expectSequence(socket, [
        [() => socket.recv(16), errorResult('ECONNREFUSED'), 'error'],
        [() => socket.recv(16), EOF, 'error'],
      ]);
    } finally {
      socket.close();
    }
  });

  it('tcp.unconnected: ENOTCONN is a state, not an error handed out once: every call says it', () =>
    closing([Socket.fromFd(sys.socket(constants.AF.INET, constants.SOCK.STREAM, 0))], (socket) => {
      socket.setReceiveTimeout(2000);
      const call = (): RecvResult => socket.recv(16);
      expectSequence(
        socket,
        [0, 1, 2].map(() => [call, errorResult('ENOTCONN'), 'open'] as const),
      );
    }));

  it('tcp.waitall: MSG_WAITALL waits past the first bytes and returns the partial count at the FIN', async () => {
    const pair = tcpPair();
    // The child holds the last reference to the peer socket as its fd 3: it writes 'de' after
    // 0.2 s and its exit sends the FIN, while this thread is blocked in the MSG_WAITALL recv.
    // A recv without MSG_WAITALL would return 'abc' at once.
    const stdio = ['ignore', 'ignore', 'ignore', pair.peer.fd] as const;
    const writer = spawn('sh', ['-c', 'sleep 0.2; printf de >&3'], { stdio: [...stdio] });
    const exited = once(writer, 'exit');
    try {
      pair.peer.send('abc');
      pair.peer.close();
      pair.client.setReceiveTimeout(5000);
      expectData(pair.client.recv(16, constants.MSG.WAITALL), 'abcde');
      expect(pair.client.recv(16)).toEqual(EOF);
    } finally {
      await exited;
      pair.close();
    }
    expect(writer.exitCode).toBe(0);
  });
});
