/**
 * Shared test helpers: real sockets on loopback, exact errno checks, and the fd-leak guard
 * every test file installs. Platform-aware: on Windows (the leg that runs under Wine) errno
 * numbers and codes are Winsock's, and the guard counts handles.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { getSystemErrorMap } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { afterAll, beforeAll, expect } from 'vitest';

import { constants, Server, Socket, sys, type RecvResult } from '../src/index.js';

/** True on Windows: errno names take Winsock's WSA prefix, and there is no /proc. */
export const WIN32 = process.platform === 'win32';

/** True when the Windows build runs under Wine, which is not Windows (docs/recv-semantics.md#wine). */
export const WINE = constants.wine !== null;

/**
 * Wine deviation (docs/recv-semantics.md#tcp.rst): after the peer's RST, Wine's recv returns 0, a
 * clean end of stream, where Windows reports WSAECONNRESET (10054) once, as Linux reports
 * ECONNRESET. Tests of a reset assert the documented value unless this is true.
 */
export const WINE_RST_IS_EOF = WIN32 && WINE;

/** Linux: what descriptor `fd` names (its /proc/self/fd link, e.g. socket:[inode]), or null once it is closed. */
export function fdLink(fd: number): string | null {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return null;
  }
}

/**
 * Handle values the Wine count probes: below 2^16, i.e. the first 16,384 handle slots. Windows
 * and Wine hand out the lowest free slot, so a socket can sit above this only after the process
 * held more than 16,000 handles at once; a test process holds a few hundred.
 */
const WINE_HANDLE_LIMIT = 2 ** 16;

/**
 * The SOCKET handles open in this process, found by asking every handle value below
 * {@link WINE_HANDLE_LIMIT} for getsockopt(SO_TYPE): a live socket answers, anything else is
 * WSAENOTSOCK. Handle values are multiples of 4 (the low two bits are ignored by the handle table).
 */
function openSocketHandles(): number {
  let count = 0;
  for (let handle = 4; handle < WINE_HANDLE_LIMIT; handle += 4) {
    if (sys.getsockopt(handle, constants.SOL.SOCKET, constants.SO.TYPE) >= 0) count++;
  }
  return count;
}

/**
 * Open descriptors of this process. Linux: the entries of /proc/self/fd; macOS, FreeBSD: of
 * /dev/fd. Windows:
 * GetProcessHandleCount (sys.handleCount), which counts every handle, SOCKETs included.
 * Under Wine (8.0) GetProcessHandleCount is a stub that always reports 0, and the Wine
 * process's Unix descriptors (/proc/self/fd through the Z: drive) drift by themselves in a
 * vitest worker (Wine's own pipes and files come and go), so there the count is of the open
 * SOCKET handles, which is what a leak of this library's would leave.
 */
export function openFdCount(): number {
  if (WIN32) {
    if (WINE) return openSocketHandles();
    const count = sys.handleCount();
    if (count < 0) throw new Error(`GetProcessHandleCount failed with ${-count}`);
    return count;
  }
  // Linux lists them in /proc/self/fd; macOS and the BSDs in /dev/fd (fdescfs).
  return readdirSync(process.platform === 'linux' ? '/proc/self/fd' : '/dev/fd').length;
}

/**
 * Windows: libuv's uv_poll keeps one unbound "peer" socket per address family for the loop's
 * whole life (src/win/poll.c, uv__fast_poll_get_peer_socket), made by the first poll of an
 * IPv4 or IPv6 socket. It is libuv's, not a leak of the test file: a poll of each family here,
 * before the guard's first count, makes libuv create both, so the count covers only the file's.
 */
async function createPollPeerSockets(): Promise<void> {
  for (const [family, host] of [
    ['IPv4', '127.0.0.1'],
    ['IPv6', '::1'],
  ] as const) {
    const socket = Socket.udp({ family, bind: { host, port: 0 } });
    try {
      await socket.waitReadable({ timeout: 0 });
    } finally {
      socket.close();
    }
  }
}

/**
 * Installs the file-level guard: the number of open descriptors after the file's tests equals
 * the number before them. Call once at the top level of every test file.
 */
export function guardFds(): void {
  let before = -1;
  beforeAll(async () => {
    if (WIN32) await createPollPeerSockets();
    before = openFdCount();
  });
  afterAll(() => {
    expect(openFdCount(), 'descriptors left open by this file').toBe(before);
  });
}

/**
 * The name this OS gives `name`: itself on POSIX; on Windows the Winsock name, `WSA${name}`,
 * with EAGAIN as WSAEWOULDBLOCK (Winsock has no WSAEAGAIN: would-block is its one number).
 */
export function osErrnoName(name: string): string {
  if (!WIN32) return name;
  return name === 'EAGAIN' ? 'WSAEWOULDBLOCK' : `WSA${name}`;
}

/**
 * The errno number Node knows for `name` on this OS (os.constants.errno), asserting it exists.
 * On Windows the Winsock number (os.constants.errno.WSAEWOULDBLOCK, ...), what WSAGetLastError
 * reports, never the C runtime's E* number Node lists beside it.
 */
export function errnoOf(name: string): number {
  const osName = osErrnoName(name);
  const value = (osConstants.errno as Record<string, number | undefined>)[osName];
  if (value === undefined) throw new Error(`os.constants.errno has no ${osName}`);
  return value;
}

/**
 * The `code` a result carries for `name` on this OS: EWOULDBLOCK is EAGAIN's alias on POSIX
 * and the code is the canonical name; Winsock codes keep their WSA prefix.
 */
export function codeOf(name: string): string {
  if (WIN32) return osErrnoName(name);
  return name === 'EWOULDBLOCK' ? 'EAGAIN' : name;
}

/** Asserts a failure result's exact errno (from os.constants.errno) and code. */
export function expectErrno(result: { ret: number; errno: number; code?: string }, name: string): void {
  expect(result.ret).toBe(-1);
  expect(result.errno).toBe(errnoOf(name));
  expect(result.code).toBe(codeOf(name));
}

/** recv returned 0 on a stream socket. */
export const EOF = { kind: 'eof', ret: 0, errno: 0 } as const;

/** A would-block / timeout / interrupted result for `name` on this OS (EAGAIN: WSAEWOULDBLOCK on Windows). */
export function failure(kind: 'would-block' | 'timeout' | 'interrupted', name: string): RecvResult {
  return { kind, ret: -1, errno: errnoOf(name), code: codeOf(name), portableCode: portableOf(name) };
}

/** The portable name of `name` (results' `portableCode`): the name itself, EAGAIN for EWOULDBLOCK. */
export function portableOf(name: string): string {
  return name === 'EWOULDBLOCK' ? 'EAGAIN' : name;
}

/** libuv's message for `name`, as every error result carries it. */
function messageOf(name: string): string {
  // libuv's table is keyed by libuv's own numbers, which on Windows are not Winsock's
  // (UV_ECONNRESET is -4077, WSAECONNRESET 10054): there the name is looked up.
  const entry = WIN32
    ? [...getSystemErrorMap().values()].find(([code]) => code === name)
    : getSystemErrorMap().get(-errnoOf(name));
  if (entry === undefined) throw new Error(`libuv has no message for ${name}`);
  return entry[1];
}

/** An error result for `name` on this OS (ECONNRESET: WSAECONNRESET on Windows), with libuv's message. */
export function errorResult(name: string): RecvResult {
  return {
    kind: 'error',
    ret: -1,
    errno: errnoOf(name),
    code: codeOf(name),
    portableCode: portableOf(name),
    message: messageOf(name),
  };
}

/** A data result of exactly the bytes of `text`. */
export function dataResult(text: string): RecvResult {
  const length = Buffer.byteLength(text);
  return { kind: 'data', ret: length, errno: 0, bytesRead: length, data: Buffer.from(text) };
}

/** Asserts a data result of exactly the bytes of `text`. */
export function expectData(result: RecvResult, text: string): void {
  expect(result).toEqual(dataResult(text));
}

/** Lets a test pass a value of the wrong type on purpose. */
export function wrong(value: unknown): never {
  return value as never;
}

/** What `call` throws (undefined if it returns). */
export function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** An error class: Error, TypeError, RangeError, SocketError, ... */
export type ErrorClass = new (...args: never[]) => Error;

/**
 * Runs `call` and asserts it throws exactly `Class` (not a subclass: a TypeError does not pass
 * for an Error) with `code`, and that the number of open descriptors did not change.
 */
export function expectThrow(call: () => unknown, Class: ErrorClass, code: string, label = ''): void {
  const before = openFdCount();
  const caught = thrownBy(call);
  const what = `${label} -> ${Class.name} ${code}`;
  expect(caught, what).toBeInstanceOf(Class);
  expect((caught as Error).constructor, what).toBe(Class);
  expect((caught as { code?: unknown }).code, what).toBe(code);
  expect(openFdCount(), `${what}: descriptors`).toBe(before);
}

/** Closes everything given, ignoring what is already closed. */
export function closeAll(...items: ({ close(): void } | undefined)[]): void {
  for (const item of items) item?.close();
}

/**
 * Runs `check` on `items` (sockets, servers, a {@link TcpPair}) and closes them all however it
 * ends: `closing(Socket.pair(), (ours, peer) => ...)`.
 */
export async function closing<const T extends readonly ({ close(): void } | undefined)[]>(
  items: T,
  check: (...items: [...T]) => Promise<void> | void,
): Promise<void> {
  try {
    await check(...items);
  } finally {
    closeAll(...items);
  }
}

/** A connected TCP pair on 127.0.0.1 (or ::1): `client` from connectSync, `peer` accepted. */
export interface TcpPair {
  server: Server;
  client: Socket;
  peer: Socket;
  close(): void;
}

export function tcpPair(host = '127.0.0.1'): TcpPair {
  const server = Server.listen({ host });
  const client = Socket.connectSync({ host, port: server.port });
  const accepted = server.accept();
  if (accepted.kind !== 'socket') throw new Error(`accept failed: ${JSON.stringify(accepted)}`);
  const peer = accepted.socket;
  return { server, client, peer, close: () => closeAll(client, peer, server) };
}

/** A loopback TCP port with nothing listening on it (bound, then released). */
export function closedPort(host = '127.0.0.1'): number {
  const server = Server.listen({ host });
  const port = server.port;
  server.close();
  return port;
}

/** Waits until `check` is true, polling every 5 ms, failing after `ms`. Bounded, never spins. */
export async function waitFor(check: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Waits until `count` bytes are queued for `socket` (FIONREAD), without taking them. */
export function waitForBytes(socket: Socket, count: number, ms = 2000): Promise<void> {
  return waitFor(() => socket.available() >= count, ms, `${count} queued bytes`);
}

/** Rejects unless `promise` settles within `ms` (a hang fails the test instead of the file). */
export function bounded<T>(promise: Promise<T>, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** Lets the event loop turn `count` times (setImmediate). */
export async function loopTurns(count = 3): Promise<void> {
  for (let turn = 0; turn < count; turn++) await nextTurn();
}

let gc: (() => void) | undefined;

/** `rounds` times: a full garbage collection (V8's gc, exposed here), then a turn of the event loop. */
export async function collectGarbage(rounds = 5): Promise<void> {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  for (let round = 0; round < rounds; round++) {
    gc();
    await loopTurns(1);
  }
}

/**
 * A UDP socket bound to a free port on the loopback address of its family (127.0.0.1 by default):
 * Winsock's recvfrom wants a bound socket.
 */
export function boundUdp(options: Omit<NonNullable<Parameters<typeof Socket.udp>[0]>, 'bind'> = {}): Socket {
  const host = options.family === 'IPv6' ? '::1' : '127.0.0.1';
  return Socket.udp({ ...options, bind: { host, port: 0 } });
}

/** Where `socket` is bound, as the `{ host, port }` that sendTo and connect take. */
export function endpointOf(socket: Socket): { host: string; port: number } {
  const { address, port } = socket.localAddress();
  return { host: address, port };
}

/**
 * A connected datagram pair: Socket.pair({ type: 'dgram' }) (AF_UNIX); on Windows, which has no
 * dgram socketpair (ERR_NOT_SUPPORTED there), two UDP sockets on 127.0.0.1 connected to each other.
 */
export function dgramPair(): [Socket, Socket] {
  if (!WIN32) return Socket.pair({ type: 'dgram' });
  const first = boundUdp();
  let second: Socket | undefined;
  try {
    second = boundUdp({ connect: endpointOf(first) });
    const ret = sys.connect(first.fd, constants.AF.INET, '127.0.0.1', endpointOf(second).port);
    if (ret < 0) throw new Error(`connect failed: ${ret}`);
    return [first, second];
  } catch (error) {
    closeAll(first, second);
    throw error;
  }
}

/**
 * Windows: whether a connected socket is in blocking mode, as Winsock holds it. FIONBIO is
 * write-only there (sys.getNonBlocking is WSAEOPNOTSUPP), so a recv(MSG_PEEK) with a 50 ms
 * SO_RCVTIMEO tells: WSAETIMEDOUT when blocking, WSAEWOULDBLOCK at once when not. Its receive
 * timeout is put back after. The socket must have nothing queued, and since Winsock calls a
 * socket whose receive timed out indeterminate, probe it after the test's own calls.
 */
export function probeBlocking(fd: number): boolean {
  const timeout = sys.getTimeout(fd, constants.SO.RCVTIMEO);
  if (timeout < 0) throw new Error(`getsockopt(SO_RCVTIMEO) failed with ${-timeout}`);
  expect(sys.setTimeout(fd, constants.SO.RCVTIMEO, 50)).toBe(0);
  const ret = sys.recv(fd, Buffer.alloc(1), 0, 1, constants.MSG.PEEK);
  expect(sys.setTimeout(fd, constants.SO.RCVTIMEO, timeout)).toBe(0);
  if (ret === -errnoOf('ETIMEDOUT')) return true;
  if (ret === -errnoOf('EWOULDBLOCK')) return false;
  throw new Error(`the blocking-mode probe's recv returned ${ret}: the socket must be connected and idle`);
}

/**
 * Asserts the socket's blocking mode as the OS holds it, not as the Socket remembers it.
 * POSIX reads O_NONBLOCK back (fcntl F_GETFL); Windows cannot (see {@link probeBlocking}).
 */
export function expectBlockingMode(socket: Socket, blocking: boolean): void {
  if (!WIN32) {
    expect(sys.getNonBlocking(socket.fd)).toBe(blocking ? 0 : 1);
    return;
  }
  expect(sys.getNonBlocking(socket.fd)).toBe(-errnoOf('EOPNOTSUPP'));
  expect(probeBlocking(socket.fd)).toBe(blocking);
}
