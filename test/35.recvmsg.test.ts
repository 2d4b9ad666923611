/**
 * recvMsg, sendMsg and setRecvOptions on Linux (issue 11, items 1 and 3): each decoded control
 * message is checked against a value the test itself set or can read independently (the TOS and
 * TTL it sent, lo's interface index from /sys, its own pid / uid / gid, a descriptor it passed and
 * then reads through, the clock around the call), and the results are classified as recvFrom's.
 * Descriptors received in SCM_RIGHTS never leak: the file's guard, and counts around each case.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { constants, ReceivedDescriptor, Socket, sys, type ControlMessage, type RecvMsgResult } from '../src/index.js';
import { ipv6Loopback } from '../src/scenarios/helpers.js';
import {
  boundUdp,
  closing,
  collectGarbage,
  endpointOf,
  errnoOf,
  failure,
  fdLink,
  guardFds,
  openFdCount,
  tcpPair,
  waitFor,
} from './helpers.js';

guardFds();

const LO_INDEX = Number(readFileSync('/sys/class/net/lo/ifindex', 'utf8').trim());
const FAMILIES = ipv6Loopback() === true ? (['IPv4', 'IPv6'] as const) : (['IPv4'] as const);
const hostOf = (family: 'IPv4' | 'IPv6'): string => (family === 'IPv4' ? '127.0.0.1' : '::1');
const { IP, CMSG, IPPROTO, MSG } = constants;

/** The data result of `result`, failing the test on any other kind. */
function dataOf(result: RecvMsgResult): Extract<RecvMsgResult, { kind: 'data' }> {
  if (result.kind !== 'data') throw new Error(`expected data, got ${JSON.stringify(result)}`);
  return result;
}

/** The one control message named `name`. */
function only<N extends NonNullable<ControlMessage['name']>>(
  control: ControlMessage[],
  name: N,
): Extract<ControlMessage, { name: N }> {
  const found = control.filter((message) => message.name === name);
  expect(found.map((message) => message.name)).toEqual([name]);
  return found[0] as Extract<ControlMessage, { name: N }>;
}

/** A receiver and a sender of `family` on loopback, the receiver blocking with a 2 s bound. */
function udpPair(family: 'IPv4' | 'IPv6' = 'IPv4'): [Socket, Socket] {
  const receiver = boundUdp({ family });
  receiver.setReceiveTimeout(2000);
  return [receiver, boundUdp({ family })];
}

const NO_FLAGS = { truncated: false, controlTruncated: false, eor: false, oob: false, errqueue: false };
/** MSG_CMSG_CLOEXEC, which rawrecv adds to every recvMsg: Linux echoes it in msg_flags. */
const CLOEXEC = MSG.CMSG_CLOEXEC ?? 0;

describe('recvMsg: results as recvFrom, with msgFlags and control', () => {
  it('a datagram without control options: data, sender, msgFlags all false, no control messages', async () => {
    await closing(udpPair(), (receiver, sender) => {
      sender.sendTo('hello', endpointOf(receiver));
      expect(receiver.recvMsg(16)).toEqual({
        kind: 'data',
        ret: 5,
        errno: 0,
        bytesRead: 5,
        data: Buffer.from('hello'),
        truncated: false,
        address: '127.0.0.1',
        port: endpointOf(sender).port,
        family: 'IPv4',
        msgFlags: { raw: CLOEXEC, ...NO_FLAGS },
        control: [],
      });
    });
  });

  it('a datagram longer than the buffer: truncated, and MSG_TRUNC in msgFlags', async () => {
    await closing(udpPair(), (receiver, sender) => {
      sender.sendTo('0123456789', endpointOf(receiver));
      const result = dataOf(receiver.recvMsg(4));
      expect(result).toMatchObject({ ret: 4, bytesRead: 4, data: Buffer.from('0123'), truncated: true });
      expect(result.msgFlags).toEqual({ raw: CLOEXEC | (MSG.TRUNC ?? 0), ...NO_FLAGS, truncated: true });
    });
  });

  it('failures are classified as recvFrom classifies them: would-block, timeout, eof, ECONNRESET', async () => {
    await closing(udpPair(), (receiver) => {
      receiver.setReceiveTimeout(20);
      expect(receiver.recvMsg(16)).toEqual(failure('timeout', 'EAGAIN'));
      expect(receiver.recvMsg(16, { flags: MSG.DONTWAIT })).toEqual(receiver.recvFrom(16, MSG.DONTWAIT));
      expect(receiver.recvMsg(16, { flags: MSG.DONTWAIT })).toEqual(failure('would-block', 'EAGAIN'));
      receiver.setBlocking(false);
      expect(receiver.recvMsg(16)).toEqual(failure('would-block', 'EAGAIN'));
    });
    const pair = tcpPair();
    await closing([pair], ({ client, peer }) => {
      peer.send('abc');
      peer.shutdown('write');
      client.setReceiveTimeout(2000);
      expect(dataOf(client.recvMsg(16)).data.toString()).toBe('abc');
      expect(client.recvMsg(16)).toEqual({ kind: 'eof', ret: 0, errno: 0 });
      expect(client.readState).toBe('eof');
    });
    const second = tcpPair();
    await closing([second], async ({ client, peer }) => {
      // The peer closes with bytes it never read: a RST (scenario tcp.rst).
      client.send('unread');
      await waitFor(() => peer.available() >= 6);
      peer.close();
      client.setReceiveTimeout(2000);
      await waitFor(() => (sys.poll(client.fd, constants.POLL.IN) & constants.POLL.IN) !== 0);
      expect(client.recvMsg(16)).toMatchObject({
        kind: 'error',
        ret: -1,
        errno: errnoOf('ECONNRESET'),
        code: 'ECONNRESET',
      });
      expect(client.readState).toBe('reset');
      expect(client.recvMsg(16)).toEqual({ kind: 'eof', ret: 0, errno: 0 });
    });
  });

  it('the 0 of a SOCK_SEQPACKET peer that closed is eof, as recvFrom says', async () => {
    await closing(Socket.pair({ type: 'seqpacket' }), (ours, peer) => {
      ours.setBlocking(false);
      peer.send(Buffer.alloc(0));
      expect(dataOf(ours.recvMsg(16)).bytesRead).toBe(0);
      peer.close();
      expect(ours.recvMsg(16)).toEqual({ kind: 'eof', ret: 0, errno: 0 });
    });
  });

  it('MSG_TRUNC on a stream socket is refused, as by recvFrom', async () => {
    await closing(Socket.pair(), (ours) => {
      expect(() => ours.recvMsg(16, { flags: MSG.TRUNC ?? 0 })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }) as Error,
      );
    });
  });
});

describe('control messages the receiver asked for (setRecvOptions)', () => {
  for (const family of FAMILIES) {
    it(`${family}: PKTINFO is the destination ${hostOf(family)} on lo (ifindex ${LO_INDEX} from /sys)`, async () => {
      await closing(udpPair(family), (receiver, sender) => {
        receiver.setRecvOptions({ pktinfo: true });
        sender.sendTo('x', endpointOf(receiver));
        const { control } = dataOf(receiver.recvMsg(16));
        const name = family === 'IPv4' ? 'IP_PKTINFO' : 'IPV6_PKTINFO';
        const pktinfo = only(control, name);
        expect(pktinfo).toMatchObject({
          level: family === 'IPv4' ? IPPROTO.IP : IPPROTO.IPV6,
          type: family === 'IPv4' ? IP.IP_PKTINFO : IP.IPV6_PKTINFO,
          destination: hostOf(family),
          ifindex: LO_INDEX,
          interfaceName: 'lo',
        });
        if (family === 'IPv4') expect(pktinfo.localAddress).toBe('127.0.0.1');
      });
    });

    it(`${family}: the TOS / traffic class the sender set, per datagram (sendMsg) and per socket (setsockopt), with its ECN bits`, async () => {
      await closing(udpPair(family), (receiver, sender) => {
        receiver.setRecvOptions({ tos: true });
        const name = family === 'IPv4' ? 'IP_TOS' : 'IPV6_TCLASS';
        // DSCP 46 (EF) with ECT(1), then DSCP 10 with CE.
        expect(sender.sendMsg('a', { to: endpointOf(receiver), control: { tos: 0xb9 } })).toMatchObject({
          kind: 'sent',
        });
        expect(only(dataOf(receiver.recvMsg(16)).control, name)).toMatchObject({ tos: 0xb9, dscp: 46, ecn: 1 });
        const option = family === 'IPv4' ? [IPPROTO.IP, IP.IP_TOS] : [IPPROTO.IPV6, IP.IPV6_TCLASS];
        expect(sys.setsockopt(sender.fd, option[0] as number, option[1] as number, 0x2b)).toBe(0);
        sender.sendTo('b', endpointOf(receiver));
        expect(only(dataOf(receiver.recvMsg(16)).control, name)).toMatchObject({ tos: 0x2b, dscp: 10, ecn: 3 });
      });
    });

    it(`${family}: the TTL / hop limit the sender set`, async () => {
      await closing(udpPair(family), (receiver, sender) => {
        receiver.setRecvOptions({ ttl: true });
        const option = family === 'IPv4' ? [IPPROTO.IP, IP.IP_TTL] : [IPPROTO.IPV6, IP.IPV6_UNICAST_HOPS];
        expect(sys.setsockopt(sender.fd, option[0] as number, option[1] as number, 7)).toBe(0);
        sender.sendTo('x', endpointOf(receiver));
        const name = family === 'IPv4' ? 'IP_TTL' : 'IPV6_HOPLIMIT';
        expect(only(dataOf(receiver.recvMsg(16)).control, name).ttl).toBe(7);
      });
    });
  }

  it('SO_TIMESTAMPNS: a bigint of nanoseconds between two clock readings around the send', async () => {
    await closing(udpPair(), (receiver, sender) => {
      receiver.setRecvOptions({ timestamp: true });
      const before = BigInt(Date.now() - 1) * 1_000_000n;
      sender.sendTo('x', endpointOf(receiver));
      const result = dataOf(receiver.recvMsg(16));
      const after = BigInt(Date.now() + 1) * 1_000_000n;
      const { timestampNs } = only(result.control, 'SO_TIMESTAMPNS');
      expect(typeof timestampNs).toBe('bigint');
      expect(timestampNs >= before && timestampNs <= after, `${before} <= ${timestampNs} <= ${after}`).toBe(true);
    });
  });

  it('UDP_GRO: datagrams sent with UDP_SEGMENT 100 arrive coalesced, with their segment size', async () => {
    await closing(udpPair(), (receiver, sender) => {
      receiver.setRecvOptions({ gro: true });
      expect(sys.setsockopt(sender.fd, CMSG.SOL_UDP ?? 17, CMSG.UDP_SEGMENT ?? 103, 100)).toBe(0);
      sender.sendTo(Buffer.alloc(250, 7), endpointOf(receiver));
      const result = dataOf(receiver.recvMsg(1000));
      expect(result.bytesRead).toBe(250);
      expect(only(result.control, 'UDP_GRO').segmentSize).toBe(100);
    });
  });

  it('every option together, then each turned off again: no control messages', async () => {
    await closing(udpPair(), (receiver, sender) => {
      receiver.setRecvOptions({ pktinfo: true, tos: true, ttl: true, timestamp: true, recvErr: true, gro: true });
      sender.sendTo('x', endpointOf(receiver));
      const names = dataOf(receiver.recvMsg(16)).control.map((message) => message.name);
      expect(names.sort()).toEqual(['IP_PKTINFO', 'IP_TOS', 'IP_TTL', 'SO_TIMESTAMPNS']);
      receiver.setRecvOptions({ pktinfo: false, tos: false, ttl: false, timestamp: false, recvErr: false, gro: false });
      sender.sendTo('y', endpointOf(receiver));
      expect(dataOf(receiver.recvMsg(16)).control).toEqual([]);
    });
  });

  it('a control buffer too small: MSG_CTRUNC, and the message cut short comes back raw', async () => {
    await closing(udpPair(), (receiver, sender) => {
      receiver.setRecvOptions({ timestamp: true });
      sender.sendTo('x', endpointOf(receiver));
      // Room for the header and 4 of the timespec's 16 bytes.
      const result = dataOf(receiver.recvMsg(16, { control: CMSG.CMSG_LEN_0 + 4 }));
      expect(result.msgFlags.controlTruncated).toBe(true);
      expect(result.control).toEqual([
        { level: constants.SOL.SOCKET, type: constants.SO.TIMESTAMPNS, name: null, data: expect.any(Buffer) as Buffer },
      ]);
      expect((result.control[0] as { data: Buffer }).data.length).toBe(4);
    });
  });
});

describe('SCM_RIGHTS and SCM_CREDENTIALS over AF_UNIX', () => {
  it('a Socket passed with sendMsg arrives as a descriptor that takeSocket reads through', async () => {
    await closing([...Socket.pair(), ...Socket.pair()], (ours, peer, passed, other) => {
      expect(ours.sendMsg('fd', { control: { rights: [passed] } })).toEqual({
        kind: 'sent',
        ret: 2,
        errno: 0,
        bytesSent: 2,
      });
      const result = dataOf(peer.recvMsg(16));
      expect(result.data.toString()).toBe('fd');
      const { descriptors } = only(result.control, 'SCM_RIGHTS');
      expect(descriptors).toHaveLength(1);
      const descriptor = descriptors[0] as ReceivedDescriptor;
      expect(descriptor).toBeInstanceOf(ReceivedDescriptor);
      // A new number for the same socket, close-on-exec (MSG_CMSG_CLOEXEC).
      expect(descriptor.fd).not.toBe(passed.fd);
      expect(fdLink(descriptor.fd)).toBe(fdLink(passed.fd));
      const flags = /^flags:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${descriptor.fd}`, 'utf8'))?.[1];
      expect(Number.parseInt(flags ?? '0', 8) & 0o2000000, 'O_CLOEXEC').not.toBe(0);
      const received = descriptor.takeSocket();
      expect(descriptor.fd).toBe(-1);
      return closing([received], (socket) => {
        expect(socket.type).toBe('stream');
        socket.setReceiveTimeout(2000);
        other.send('through');
        expect(socket.recv(16)).toMatchObject({ kind: 'data', data: Buffer.from('through') });
      });
    });
  });

  it('a raw descriptor (a file) passed by number arrives, and takeFd hands over a number that reads the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rawrecv-'));
    const file = openSync(join(dir, 'passed'), 'w+');
    try {
      writeSync(file, 'file contents');
      await closing(Socket.pair({ type: 'dgram' }), (ours, peer) => {
        expect(ours.sendMsg('f', { control: { rights: [file] } })).toMatchObject({ kind: 'sent' });
        const descriptor = only(dataOf(peer.recvMsg(16)).control, 'SCM_RIGHTS').descriptors[0] as ReceivedDescriptor;
        // Not a socket: takeSocket refuses and the descriptor stays held.
        expect(() => descriptor.takeSocket()).toThrow(expect.objectContaining({ code: 'ENOTSOCK' }) as Error);
        expect(descriptor.fd).toBeGreaterThanOrEqual(0);
        const fd = descriptor.takeFd();
        expect(descriptor.fd).toBe(-1);
        const bytes = Buffer.alloc(32);
        const n = readSync(fd, bytes, 0, 32, 0);
        closeSync(fd);
        expect(bytes.subarray(0, n).toString()).toBe('file contents');
      });
    } finally {
      closeSync(file);
      rmSync(dir, { recursive: true });
    }
  });

  it('a control buffer with room for one of three descriptors: MSG_CTRUNC, one delivered, the others closed by the kernel', async () => {
    await closing([...Socket.pair({ type: 'seqpacket' }), ...Socket.pair()], (ours, peer, first, second) => {
      const before = openFdCount();
      expect(ours.sendMsg('3', { control: { rights: [first, second, 0] } })).toMatchObject({ kind: 'sent' });
      const result = dataOf(peer.recvMsg(16, { control: CMSG.CMSG_LEN_0 + 4 }));
      expect(result.msgFlags.controlTruncated).toBe(true);
      const { descriptors } = only(result.control, 'SCM_RIGHTS');
      expect(descriptors).toHaveLength(1);
      expect(fdLink((descriptors[0] as ReceivedDescriptor).fd)).toBe(fdLink(first.fd));
      expect(openFdCount()).toBe(before + 1);
      (descriptors[0] as ReceivedDescriptor).close();
      expect(openFdCount()).toBe(before);
      // No room at all: nothing is installed.
      expect(ours.sendMsg('0', { control: { rights: [first] } })).toMatchObject({ kind: 'sent' });
      const none = dataOf(peer.recvMsg(16, { control: 0 }));
      expect(none.msgFlags.controlTruncated).toBe(true);
      expect(none.control).toEqual([]);
      expect(openFdCount()).toBe(before);
    });
  });

  it('a received descriptor nobody takes is closed when it is garbage-collected', async () => {
    await closing([...Socket.pair()], async (ours, peer) => {
      const before = openFdCount();
      ours.sendMsg('a', { control: { rights: [ours] } });
      // The result and its descriptor are dropped as this function returns; only the number is kept.
      const fd = ((): number => {
        const [descriptor] = only(dataOf(peer.recvMsg(16)).control, 'SCM_RIGHTS').descriptors;
        return (descriptor as ReceivedDescriptor).fd;
      })();
      expect(fdLink(fd)).not.toBeNull();
      expect(openFdCount()).toBe(before + 1);
      await collectGarbage();
      expect(fdLink(fd)).toBeNull();
      expect(openFdCount()).toBe(before);
    });
  });

  it('SCM_CREDENTIALS: the sender is this process (pid, uid, gid)', async () => {
    await closing(Socket.pair({ type: 'dgram' }), (ours, peer) => {
      peer.setRecvOptions({ credentials: true });
      ours.send('who');
      expect(only(dataOf(peer.recvMsg(16)).control, 'SCM_CREDENTIALS')).toMatchObject({
        level: constants.SOL.SOCKET,
        type: CMSG.SCM_CREDENTIALS,
        pid: process.pid,
        uid: process.getuid?.(),
        gid: process.getgid?.(),
      });
    });
  });
});

describe('sendMsg', () => {
  it('IP_PKTINFO picks the source address: the receiver sees 127.0.0.2', async () => {
    await closing([boundUdp(), Socket.udp()], (receiver, sender) => {
      receiver.setReceiveTimeout(2000);
      const sent = sender.sendMsg('src', { to: endpointOf(receiver), control: { pktinfo: { source: '127.0.0.2' } } });
      expect(sent).toEqual({ kind: 'sent', ret: 3, errno: 0, bytesSent: 3 });
      expect(dataOf(receiver.recvMsg(16))).toMatchObject({ address: '127.0.0.2', data: Buffer.from('src') });
      // And by interface: lo.
      sender.sendMsg('lo', { to: endpointOf(receiver), control: { pktinfo: { ifindex: LO_INDEX } } });
      expect(dataOf(receiver.recvMsg(16))).toMatchObject({ data: Buffer.from('lo') });
    });
  });

  it("a source address that is not ours is the kernel's error (EINVAL, or ENETUNREACH with no route from it), as a result", async () => {
    await closing([boundUdp(), Socket.udp()], (receiver, sender) => {
      const sent = sender.sendMsg('x', { to: endpointOf(receiver), control: { pktinfo: { source: '192.0.2.1' } } });
      expect(sent).toMatchObject({ kind: 'error', ret: -1 });
      expect(['EINVAL', 'ENETUNREACH']).toContain((sent as { code: string }).code);
    });
  });

  it('to a connected peer without `to`, flags checked, MSG_NOSIGNAL added: a closed peer is EPIPE, not SIGPIPE', async () => {
    await closing(Socket.pair(), (ours, peer) => {
      expect(ours.sendMsg('ok')).toMatchObject({ kind: 'sent', bytesSent: 2 });
      peer.close();
      expect(ours.sendMsg('gone')).toMatchObject({ kind: 'error', code: 'EPIPE', errno: errnoOf('EPIPE') });
    });
  });
});
