/**
 * The UDP, AF_UNIX and bad-descriptor scenarios of docs/recv-semantics.md#scenarios. A receiver
 * that waits for something to arrive is blocking with SO_RCVTIMEO as the bound.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { closeSync, constants as fsConstants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { constants, Server, Socket, sys, type Platform } from '../index.js';
import { closedUdpPort, IPV4 } from './helpers.js';
import type { Scenario, ScenarioContext } from './types.js';

const PLATFORM = constants.platform as Platform;
const BOUND_MS = 2000;
const always = (): true => true;

/** A bound UDP socket on 127.0.0.1, blocking, with SO_RCVTIMEO as the bound on any wait. */
function boundUdp(ctx: ScenarioContext): Socket {
  const socket = ctx.track(Socket.udp({ bind: { host: IPV4, port: 0 } }));
  socket.setReceiveTimeout(BOUND_MS);
  return socket;
}

function to(socket: Socket): { host: string; port: number } {
  return { host: IPV4, port: socket.localAddress().port };
}

/** true when Socket.pair can make this AF_UNIX type here, else why not (tried for real). */
function pairSupported(type: 'stream' | 'dgram' | 'seqpacket'): true | string {
  if (PLATFORM === 'win32') return `Socket.pair() on Windows is a loopback TCP pair, not AF_UNIX ${type}`;
  try {
    for (const socket of Socket.pair({ type })) socket.close();
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return `socketpair(AF_UNIX, SOCK_${type.toUpperCase()}) failed${code ? `: ${code}` : ''}`;
  }
}

/** A temporary folder for the scenario's AF_UNIX paths and FIFOs, removed when it ends. */
function tempFolder(ctx: ScenarioContext): string {
  const path = mkdtempSync(join(tmpdir(), 'rawrecv-probe-'));
  ctx.track({ close: () => rmSync(path, { recursive: true, force: true }) });
  return path;
}

/**
 * unix.stream's connection: a socketpair where there is one; on Windows, which has AF_UNIX stream
 * sockets (10 1803 and later) but no socketpair, a listener on a path and a connection to it.
 */
function unixStreamPair(ctx: ScenarioContext): [Socket, Socket] {
  if (PLATFORM !== 'win32') return pair(ctx, 'stream');
  const path = join(tempFolder(ctx), 's');
  const server = ctx.track(Server.listen({ path }));
  const ours = ctx.track(Socket.connectSync({ path }));
  const accepted = server.accept();
  if (accepted.kind !== 'socket') throw new Error(`accept gave ${accepted.kind}`);
  const peer = ctx.track(accepted.socket);
  ctx.connection({ socket: ours, peer });
  return [ours, peer];
}

/** true when an AF_UNIX stream connection can be made here (Windows: over a path), else why not. */
function unixStreamSupported(): true | string {
  if (PLATFORM !== 'win32') return pairSupported('stream');
  const folder = mkdtempSync(join(tmpdir(), 'rawrecv-probe-'));
  try {
    Server.listen({ path: join(folder, 's') }).close();
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    return `an AF_UNIX stream listener on a path failed${code ? `: ${code}` : ''}`;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

function pair(ctx: ScenarioContext, type: 'stream' | 'dgram' | 'seqpacket'): [Socket, Socket] {
  const [ours, peer] = Socket.pair({ type });
  ctx.connection({ socket: ours, peer });
  return [ctx.track(ours), ctx.track(peer)];
}

export const dgramScenarios: readonly Scenario[] = [
  {
    id: 'udp.idle',
    title: 'unconnected UDP, O_NONBLOCK',
    supported: always,
    async run(ctx) {
      const socket = boundUdp(ctx);
      socket.setBlocking(false);
      ctx.recv(socket, 16);
      ctx.recvFrom(socket, 16);
    },
  },
  {
    id: 'udp.zero-length',
    title: 'a zero-length datagram arrives',
    supported: always,
    async run(ctx) {
      const receiver = boundUdp(ctx);
      const sender = boundUdp(ctx);
      sender.sendTo(Buffer.alloc(0), to(receiver));
      ctx.recvFrom(receiver, 16);
      // Not EOF: nothing more is queued.
      receiver.setBlocking(false);
      ctx.recv(receiver, 16);
    },
  },
  {
    id: 'udp.truncated',
    title: '10-byte datagram into a 4-byte buffer',
    supported: always,
    async run(ctx) {
      const receiver = boundUdp(ctx);
      const sender = boundUdp(ctx);
      sender.sendTo('0123456789', to(receiver));
      ctx.recvFrom(receiver, 4);
      const trunc = constants.MSG.TRUNC;
      if (trunc !== undefined) {
        // Linux: the MSG_TRUNC input flag makes recv return the real length.
        sender.sendTo('0123456789', to(receiver));
        ctx.recv(receiver, 4, trunc);
      } else {
        ctx.note('no MSG_TRUNC flag here: its step is left out');
      }
      receiver.setBlocking(false);
      ctx.recvFrom(receiver, 16);
    },
  },
  {
    id: 'udp.len0',
    title: 'recv(len=0) with a datagram pending (sys layer)',
    supported: always,
    async run(ctx) {
      const receiver = boundUdp(ctx);
      const sender = boundUdp(ctx);
      sender.sendTo('first', to(receiver));
      sender.sendTo('second', to(receiver));
      // The peek waits (bounded) until the first datagram is in.
      ctx.recv(receiver, 16, constants.MSG.PEEK);
      ctx.sysRecv(receiver, 0);
      // 'first' is gone if the zero-length recv consumed it.
      ctx.recv(receiver, 16);
    },
  },
  {
    id: 'udp.icmp',
    title: 'connected UDP after ICMP port-unreachable',
    supported: always,
    async run(ctx) {
      const socket = ctx.track(Socket.udp({ connect: { host: IPV4, port: closedUdpPort() } }));
      socket.send('ping');
      socket.setReceiveTimeout(BOUND_MS);
      ctx.recv(socket, 16);
      socket.setBlocking(false);
      ctx.recv(socket, 16);
    },
  },
  {
    id: 'udp.icmp.unconnected',
    title: 'unconnected UDP after ICMP port-unreachable',
    supported: always,
    async run(ctx) {
      const port = closedUdpPort();
      const unconnected = boundUdp(ctx);
      // A connected probe to the same closed port: once its error has come back, the ICMP for
      // the unconnected socket's earlier datagram has been handled too (loopback keeps order).
      const probe = ctx.track(Socket.udp({ connect: { host: IPV4, port } }));
      unconnected.sendTo('ping', { host: IPV4, port });
      probe.send('ping');
      probe.setReceiveTimeout(BOUND_MS);
      ctx.recv(probe, 16, 0, 'probe');
      unconnected.setBlocking(false);
      ctx.recv(unconnected, 16);
    },
  },
  {
    id: 'unix.stream',
    title: 'AF_UNIX stream',
    supported: unixStreamSupported,
    async run(ctx) {
      const [ours, peer] = unixStreamPair(ctx);
      ours.setBlocking(false);
      ctx.recv(ours, 16);
      peer.send('hello');
      ctx.recv(ours, 16);
      peer.close();
      ctx.recv(ours, 16);
      ctx.recv(ours, 16);
      // The peer closes with data it never read.
      const [second, secondPeer] = unixStreamPair(ctx);
      second.setBlocking(false);
      second.send('never read');
      secondPeer.close();
      ctx.recv(second, 16);
      ctx.recv(second, 16);
    },
  },
  {
    id: 'unix.seqpacket',
    title: 'AF_UNIX SOCK_SEQPACKET',
    supported: () => pairSupported('seqpacket'),
    async run(ctx) {
      const [ours, peer] = pair(ctx, 'seqpacket');
      ours.setBlocking(false);
      peer.send(Buffer.alloc(0));
      ctx.recv(ours, 16);
      ctx.recv(ours, 16);
      peer.send('0123456789');
      peer.send('next');
      ctx.recvFrom(ours, 4);
      ctx.recvFrom(ours, 16);
      peer.close();
      ctx.recv(ours, 16);
    },
  },
  {
    id: 'unix.seqpacket.eof',
    title: 'AF_UNIX SOCK_SEQPACKET: the peer closes, or sends a zero-length record',
    supported: () => pairSupported('seqpacket'),
    async run(ctx) {
      // 1: a zero-length record while the peer is still there: data, 0 bytes.
      const [ours, peer] = pair(ctx, 'seqpacket');
      ours.setBlocking(false);
      peer.send(Buffer.alloc(0));
      ctx.recv(ours, 16);
      // 2: a record, a zero-length record, another record, then the close: the zero-length one
      // is a record while a record is still queued behind it (FIONREAD shows its bytes).
      peer.send('ab');
      peer.send(Buffer.alloc(0));
      peer.send('c');
      peer.close();
      ctx.recv(ours, 16);
      ctx.recv(ours, 16);
      ctx.recv(ours, 16);
      // Then recv returns 0 for ever: the peer's close; sys.recv's 0 alone says a record.
      ctx.recv(ours, 16);
      ctx.sysRecv(ours, 16);
      // 3: a zero-length record that is all that is left at the close reads as that end: recv
      // returns 0 for it and then for ever, and no count of the kernel tells them apart.
      const [last, lastPeer] = pair(ctx, 'seqpacket');
      last.setBlocking(false);
      lastPeer.send(Buffer.alloc(0));
      lastPeer.close();
      ctx.recv(last, 16);
      ctx.recv(last, 16);
    },
  },
  {
    id: 'unix.dgram.peer-closed',
    title: 'AF_UNIX DGRAM socketpair, peer closed',
    supported: () => pairSupported('dgram'),
    async run(ctx) {
      const [ours, peer] = pair(ctx, 'dgram');
      peer.close();
      ours.setBlocking(false);
      ctx.recv(ours, 16);
      ctx.recv(ours, 16);
      // A blocking recv would hang: SO_RCVTIMEO ends it.
      ours.setBlocking(true);
      ours.setReceiveTimeout(50);
      ctx.recv(ours, 16);
    },
  },
  {
    id: 'fd.closed',
    title: 'recv on a closed fd / fd -1 (sys layer)',
    supported: always,
    async run(ctx) {
      const target = { socketType: 'stream', blocking: true, receiveTimeout: 0 } as const;
      ctx.sysRecvFd(-1, 16, 0, { ...target, label: 'fd -1' });
      const fd = sys.socket(constants.AF.INET, constants.SOCK.DGRAM, 0);
      if (fd < 0) throw new Error(`socket() failed: errno ${-fd}`);
      sys.close(fd);
      // At once, before anything can reuse the number.
      ctx.sysRecvFd(fd, 16, 0, { ...target, label: 'closed fd' });
    },
  },
  {
    id: 'fd.not-socket',
    title: 'recv on a pipe or /dev/null (sys layer)',
    supported: () => PLATFORM !== 'win32' || 'a CRT file descriptor is not a SOCKET: Windows cannot hand one to recv',
    async run(ctx) {
      const target = { socketType: 'stream', blocking: true, receiveTimeout: 0 } as const;
      const fd = openSync('/dev/null', 'r');
      ctx.track({ close: () => closeSync(fd) });
      ctx.sysRecvFd(fd, 16, 0, { ...target, label: '/dev/null' });
      // A pipe: a FIFO (mkfifo(1)), opened read-write so that the open does not wait for a writer.
      const fifo = join(tempFolder(ctx), 'pipe');
      const made = spawnSync('mkfifo', [fifo], { stdio: 'ignore', timeout: 2000 });
      if (made.status !== 0) {
        ctx.note(`mkfifo failed (${made.error?.message ?? `exit ${made.status}`}): the pipe step is left out`);
        return;
      }
      const pipe = openSync(fifo, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
      ctx.track({ close: () => closeSync(pipe) });
      ctx.sysRecvFd(pipe, 16, 0, { ...target, label: 'pipe' });
    },
  },
];
