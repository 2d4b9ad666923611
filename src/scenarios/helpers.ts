/**
 * Building blocks of the scenarios: loopback pairs, closed ports, bounded waits. Everything
 * opened here is tracked by the context, so it is closed when the scenario ends however it ends.
 * @module
 */
import { constants, errnoNumber, Server, Socket, sys, type Platform } from '../index.js';
import type { Closable, ScenarioContext } from './types.js';

const PLATFORM = constants.platform as Platform;

/** The loopback addresses a TCP or UDP scenario runs on. */
export const IPV4 = '127.0.0.1';
export const IPV6 = '::1';

let ipv6: true | string | undefined;

/** true when ::1 can be bound here, else why not (a container without IPv6, ...). */
export function ipv6Loopback(): true | string {
  if (ipv6 === undefined) {
    try {
      Server.listen({ host: IPV6 }).close();
      ipv6 = true;
    } catch (error) {
      ipv6 = `::1 is not available (${(error as { code?: string }).code ?? String(error)})`;
    }
  }
  return ipv6;
}

/** 127.0.0.1, and ::1 where it exists (saying so in a note where it does not). */
export function loopbackHosts(ctx: ScenarioContext): string[] {
  const v6 = ipv6Loopback();
  if (v6 === true) return [IPV4, IPV6];
  ctx.note(`${v6}: IPv4 only`);
  return [IPV4];
}

export interface TcpPair {
  server: Server;
  /** The connecting end (Socket.connectSync): the one the scenario reads from. */
  client: Socket;
  /** The accepted end: the scripted peer. */
  peer: Socket;
}

/** A connected TCP pair on loopback, every part tracked. */
export function tcpPair(ctx: ScenarioContext, host = IPV4, listen: { backlog?: number } = {}): TcpPair {
  const server = ctx.track(Server.listen({ host, ...listen }));
  const client = ctx.track(Socket.connectSync({ host, port: server.port }));
  const accepted = server.accept();
  if (accepted.kind !== 'socket') throw new Error(`accept gave ${accepted.kind} ${accepted.code}`);
  const peer = ctx.track(accepted.socket);
  ctx.connection({ client, server: peer });
  return { server, client, peer };
}

/** A loopback TCP port with nothing listening on it (bound, then released). */
/** A UDP port with nothing bound to it (bound, then released): where an ICMP unreachable comes from. */
export function closedUdpPort(): number {
  const socket = Socket.udp({ bind: { host: IPV4, port: 0 } });
  try {
    return socket.localAddress().port;
  } finally {
    socket.close();
  }
}

export function closedPort(host = IPV4): number {
  const server = Server.listen({ host });
  try {
    return server.port;
  } finally {
    server.close();
  }
}

/** A raw descriptor that the scenario owns until it hands it to a Socket. */
export interface RawFd extends Closable {
  readonly fd: number;
  /** The descriptor now belongs to a Socket: closing it is the Socket's job. */
  release(): void;
}

/** Tracks a raw descriptor, closed once (a second close could hit a reused number). */
export function rawFd(ctx: ScenarioContext, fd: number): RawFd {
  let open = true;
  return ctx.track({
    fd,
    release() {
      open = false;
    },
    close() {
      if (!open) return;
      open = false;
      sys.close(fd);
    },
  });
}

/** A new TCP socket descriptor (IPv4), tracked. */
export function tcpSocketFd(ctx: ScenarioContext): RawFd {
  const fd = sys.socket(constants.AF.INET, constants.SOCK.STREAM, 0);
  if (fd < 0) throw new Error(`socket() failed: errno ${-fd}`);
  return rawFd(ctx, fd);
}

/** Hands a tracked raw descriptor to a new owning Socket (tracked too). */
export function adopt(ctx: ScenarioContext, raw: RawFd, options: { blocking?: boolean } = {}): Socket {
  const socket = Socket.fromFd(raw.fd, { blocking: options.blocking ?? true });
  raw.release();
  return ctx.track(socket);
}

/** This platform's number for a POSIX errno name (WSA-prefixed on Windows). */
export function errnoOf(name: string): number {
  const number = errnoNumber(PLATFORM === 'win32' ? `WSA${name}` : name, PLATFORM);
  if (number === undefined) throw new Error(`no ${name} on ${PLATFORM}`);
  return number;
}

/** Waits until `count` bytes are queued for `socket` (FIONREAD), without taking them. */
export function waitForBytes(ctx: ScenarioContext, socket: Socket, count: number, ms?: number): Promise<void> {
  return ctx.waitFor(() => socket.available() >= count, `${count} queued bytes`, ms);
}

/**
 * Waits until a RST has been processed, without taking the pending error (SO_ERROR or a recv
 * would): the connection is then closed, and getpeername(2) says ENOTCONN.
 */
export function waitForReset(ctx: ScenarioContext, socket: Socket): Promise<void> {
  const notConnected = -errnoOf('ENOTCONN');
  return ctx.waitFor(() => sys.getpeername(socket.fd) === notConnected, 'the RST');
}
