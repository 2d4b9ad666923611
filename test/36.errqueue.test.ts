/**
 * The error queue on Linux (issue 11, item 2; scenario docs/recv-semantics.md#udp.errqueue): UDP
 * datagrams sent to a loopback port nobody has bound come back as ICMP port unreachable, and what
 * recv, recvMsg(MSG_ERRQUEUE) and recvError report, connected and unconnected, with and without
 * IP_RECVERR / IPV6_RECVERR.
 */
import { describe, expect, it } from 'vitest';

import { constants, Socket, sys, type RecvErrorResult } from '../src/index.js';
import { ipv6Loopback } from '../src/scenarios/helpers.js';
import { closing, errnoOf, errorResult, failure, guardFds, waitFor } from './helpers.js';

guardFds();

const { MSG, POLL } = constants;
const WOULD_BLOCK = failure('would-block', 'EAGAIN');
const FAMILIES = ipv6Loopback() === true ? (['IPv4', 'IPv6'] as const) : (['IPv4'] as const);
const hostOf = (family: 'IPv4' | 'IPv6'): string => (family === 'IPv4' ? '127.0.0.1' : '::1');

/** A UDP port of `family` on loopback that nothing is bound to (bound, then released). */
function closedPort(family: 'IPv4' | 'IPv6'): number {
  const socket = Socket.udp({ family, bind: { host: hostOf(family), port: 0 } });
  const { port } = socket.localAddress();
  socket.close();
  return port;
}

/** Waits until poll(2) reports POLLERR: the ICMP error is pending (SO_ERROR or the queue). */
function icmpArrived(socket: Socket): Promise<void> {
  return waitFor(() => (sys.poll(socket.fd, 0) & POLL.ERR) !== 0, 2000, 'POLLERR');
}

/** A non-blocking UDP socket that has sent 'ping' to a closed port: connected to it, or with sendTo. */
function pinging(family: 'IPv4' | 'IPv6', connected: boolean, recvErr: boolean): { socket: Socket; port: number } {
  const host = hostOf(family);
  const port = closedPort(family);
  const socket = connected
    ? Socket.udp({ family, connect: { host, port } })
    : Socket.udp({ family, bind: { host, port: 0 } });
  socket.setBlocking(false);
  if (recvErr) socket.setRecvOptions({ recvErr: true });
  if (connected) socket.send('ping');
  else socket.sendTo('ping', { host, port });
  return { socket, port };
}

/** The port-unreachable entry of `family` for 'ping' sent to `port`. */
function unreachable(family: 'IPv4' | 'IPv6', port: number): RecvErrorResult {
  const v4 = family === 'IPv4';
  const error = {
    errno: errnoOf('ECONNREFUSED'),
    errnoName: 'ECONNREFUSED',
    // ICMP destination unreachable (3) / port unreachable (3); ICMPv6 (1) / port unreachable (4).
    origin: v4 ? 'icmp' : 'icmp6',
    originNumber: v4 ? constants.CMSG.SO_EE_ORIGIN_ICMP : constants.CMSG.SO_EE_ORIGIN_ICMP6,
    type: v4 ? 3 : 1,
    code: v4 ? 3 : 4,
    info: 0,
    data: 0,
    offender: { address: hostOf(family), port: 0, family },
  };
  return {
    kind: 'queued-error',
    ret: 4,
    errno: 0,
    error,
    bytesRead: 4,
    data: Buffer.from('ping'),
    truncated: false,
    address: hostOf(family),
    port,
    family,
    msgFlags: expect.objectContaining({ errqueue: true, truncated: false, controlTruncated: false }) as never,
    control: [
      {
        level: v4 ? constants.IPPROTO.IP : constants.IPPROTO.IPV6,
        type: v4 ? constants.IP.IP_RECVERR : constants.IP.IPV6_RECVERR,
        name: v4 ? 'IP_RECVERR' : 'IPV6_RECVERR',
        error,
      },
    ],
  } as RecvErrorResult;
}

describe('the error queue after an ICMP port unreachable', () => {
  for (const family of FAMILIES) {
    it(`${family}, connected, without IP_RECVERR: the queue is empty (would-block); recv takes ECONNREFUSED`, async () => {
      const { socket } = pinging(family, true, false);
      await closing([socket], async (socket) => {
        await icmpArrived(socket);
        expect(socket.recvError()).toEqual(WOULD_BLOCK);
        expect(socket.recvMsg(16, { flags: MSG.ERRQUEUE })).toEqual(WOULD_BLOCK);
        expect(socket.recv(16)).toEqual(errorResult('ECONNREFUSED'));
        expect(socket.recv(16)).toEqual(WOULD_BLOCK);
      });
    });

    it(`${family}, connected, with IP_RECVERR: the queue holds the decoded error; reading it clears the pending one`, async () => {
      const { socket, port } = pinging(family, true, true);
      await closing([socket], async (socket) => {
        await icmpArrived(socket);
        expect(socket.recvError()).toEqual(unreachable(family, port));
        // The queue was the pending error's source: recv has nothing left to report.
        expect(socket.recv(16)).toEqual(WOULD_BLOCK);
        expect(socket.recvError()).toEqual(WOULD_BLOCK);
      });
    });

    it(`${family}, unconnected, with IP_RECVERR: recv reports ECONNREFUSED once, and the queue still has the entry`, async () => {
      const { socket, port } = pinging(family, false, true);
      await closing([socket], async (socket) => {
        await icmpArrived(socket);
        expect(socket.recv(16)).toEqual(errorResult('ECONNREFUSED'));
        const entry = socket.recvMsg(16, { flags: MSG.ERRQUEUE });
        expect(entry).toMatchObject({ kind: 'data', ret: 4, data: Buffer.from('ping'), port });
        expect(entry.kind === 'data' && entry.msgFlags.errqueue).toBe(true);
        expect(socket.recvError()).toEqual(WOULD_BLOCK);
        expect(socket.recv(16)).toEqual(WOULD_BLOCK);
      });
    });
  }

  it('IPv4, unconnected, without IP_RECVERR: nothing is reported anywhere', async () => {
    const { socket, port } = pinging('IPv4', false, false);
    // A connected probe to the same port: once its error is in, the first ICMP has been handled too.
    const probe = Socket.udp({ connect: { host: '127.0.0.1', port } });
    await closing([socket, probe], async (socket, probe) => {
      probe.send('ping');
      await icmpArrived(probe);
      expect(sys.poll(socket.fd, 0) & POLL.ERR).toBe(0);
      expect(socket.recvError()).toEqual(WOULD_BLOCK);
      expect(socket.recv(16)).toEqual(WOULD_BLOCK);
    });
  });

  it('MSG_ERRQUEUE never waits: would-block at once on a blocking socket with a receive timeout, not timeout', async () => {
    await closing([Socket.udp({ bind: { host: '127.0.0.1', port: 0 } })], (socket) => {
      socket.setReceiveTimeout(5000);
      const started = performance.now();
      expect(socket.recvMsg(16, { flags: MSG.ERRQUEUE })).toEqual(WOULD_BLOCK);
      expect(socket.recvError()).toEqual(WOULD_BLOCK);
      expect(performance.now() - started).toBeLessThan(1000);
    });
  });

  it('AF_UNIX has no error queue: Linux ignores MSG_ERRQUEUE and takes the next ordinary message (recvError refuses)', async () => {
    await closing(Socket.pair({ type: 'seqpacket' }), (ours, peer) => {
      peer.send('ordinary');
      const result = ours.recvMsg(16, { flags: MSG.ERRQUEUE });
      expect(result).toMatchObject({ kind: 'data', data: Buffer.from('ordinary') });
      expect(result.kind === 'data' && result.msgFlags.errqueue).toBe(false);
      expect(() => ours.recvError()).toThrow(expect.objectContaining({ code: 'ERR_NOT_SUPPORTED' }) as Error);
    });
  });

  it('a buffer shorter than the refused datagram: its start, truncated', async () => {
    const { socket } = pinging('IPv4', true, true);
    await closing([socket], async (socket) => {
      await icmpArrived(socket);
      const entry = socket.recvError(2);
      expect(entry).toMatchObject({ kind: 'queued-error', bytesRead: 2, data: Buffer.from('pi'), truncated: true });
      expect(entry.kind === 'queued-error' && entry.error?.errnoName).toBe('ECONNREFUSED');
    });
  });
});
