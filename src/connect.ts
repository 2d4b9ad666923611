/**
 * `Socket.connect`: a TCP or AF_UNIX connection without blocking the event loop.
 * @module
 */
import { lookup } from 'node:dns/promises';

import { addon } from './addon.js';
import { checkPort, familyNumber, type Family } from './address.js';
import { connectInProgress, type SocketType } from './classify.js';
import { constants, PLATFORM, socketTypeNumber } from './constants.js';
import {
  connectTimedOut,
  invalidArgType,
  invalidArgValue,
  resolverError,
  SocketError,
  throwIfFailed,
} from './errors.js';
import { abortError, type WaitOptions } from './readiness.js';
import type { Socket } from './socket.js';
import { checkPathOnly, checkUnixPath, checkUnixType, hasPath, shownPath } from './unix-path.js';
import { deadlineOf, remaining, withDeadline } from './wait.js';

/** `Socket.connect`'s options for TCP. */
export interface ConnectOptions extends WaitOptions {
  host: string;
  port: number;
  family?: 'IPv4' | 'IPv6';
}

/** `Socket.connect`'s and `Socket.connectSync`'s options for an AF_UNIX path. */
export interface UnixConnectOptions extends WaitOptions {
  /** The listener's path; on Linux an abstract name starts with '\0'. */
  path: string;
  /** 'stream' (default) or 'seqpacket' (not on Windows or macOS). */
  type?: 'stream' | 'seqpacket';
}

/** Makes the Socket of a new descriptor. */
type Wrap = (fd: number, family: Family, type: SocketType) => Socket;

/**
 * Host names through `dns.lookup` (its failure a SocketError 'getaddrinfo'), a non-blocking
 * connect(2) (EINPROGRESS), waits for writability, then getsockopt(SO_ERROR). `wrap` makes the
 * Socket of a new descriptor. Rejects with a SocketError (ECONNREFUSED, ENETUNREACH, ...), an
 * Error `ERR_SOCKET_CONNECTION_TIMEOUT` after `timeout` ms, or an AbortError; nothing is left
 * open. The socket is returned in blocking mode, as every new socket.
 */
export async function connect(options: ConnectOptions | UnixConnectOptions, wrap: Wrap): Promise<Socket> {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  if (hasPath(options)) return connectPath(options, wrap);
  const { host, port, family, ...wait } = options;
  if (typeof host !== 'string' || host === '') throw invalidArgType('options.host', 'a non-empty string', host);
  checkPort(port, 'options.port', 1);
  if (family !== undefined && family !== 'IPv4' && family !== 'IPv6') {
    throw invalidArgValue('options.family', family, "must be 'IPv4' or 'IPv6'");
  }
  const { deadline, timeout, signal } = deadlineOf(wait);
  if (signal?.aborted) throw abortError(signal);
  // The name lookup counts against the timeout too (dns.lookup cannot be cancelled: its
  // answer is then ignored).
  const found = await withDeadline(
    lookup(host, { family: family === 'IPv6' ? 6 : family === 'IPv4' ? 4 : 0 }).catch((error: unknown) => {
      throw resolverError(error, host, port, PLATFORM);
    }),
    deadline,
    signal,
    () => connectTimedOut(host, port, timeout),
  );
  const resolved: Family = found.family === 6 ? 'IPv6' : 'IPv4';
  const fd = throwIfFailed(addon.socket(familyNumber(resolved), constants.SOCK.STREAM, 0), 'socket', PLATFORM);
  const where = { address: found.address, port, platform: PLATFORM };
  return connectFd(wrap(fd, resolved, 'stream'), () => addon.connect(fd, familyNumber(resolved), found.address, port), {
    ...where,
    deadline,
    signal,
    timedOut: () => connectTimedOut(found.address, port, timeout),
  });
}

/**
 * The AF_UNIX form: no lookup; socket(AF_UNIX, type), then as for TCP. Linux refuses a
 * non-blocking connect to a listener whose backlog is full with EAGAIN (unix(7)) rather than
 * leaving it in progress: that is a SocketError EAGAIN, as Node's net reports it.
 */
async function connectPath(options: UnixConnectOptions, wrap: Wrap): Promise<Socket> {
  const { path: rawPath, type: rawType, ...wait } = options;
  checkPathOnly(wait, 'options');
  const { path } = checkUnixPath(rawPath, 'options.path');
  const type = checkUnixType(rawType, 'options.type', ['stream', 'seqpacket'] as const);
  const { deadline, timeout, signal } = deadlineOf(wait);
  if (signal?.aborted) throw abortError(signal);
  const fd = throwIfFailed(addon.socket(constants.AF.UNIX, socketTypeNumber(type), 0), 'socket', PLATFORM);
  const shown = shownPath(path);
  return connectFd(wrap(fd, 'unix', type), () => addon.connect(fd, constants.AF.UNIX, path, 0), {
    address: shown,
    platform: PLATFORM,
    deadline,
    signal,
    timedOut: () => connectTimedOut(shown, undefined, timeout),
  });
}

interface ConnectTarget {
  address: string;
  port?: number;
  platform: typeof PLATFORM;
  deadline: number;
  signal: AbortSignal | undefined;
  timedOut: () => Error;
}

/**
 * The shared part: a non-blocking connect(2) on the new socket; on EINPROGRESS (WSAEWOULDBLOCK)
 * waits for writability, then getsockopt(SO_ERROR). Closes the socket on any failure.
 */
async function connectFd(socket: Socket, connectCall: () => number, target: ConnectTarget): Promise<Socket> {
  const { deadline, signal, timedOut, ...where } = target;
  try {
    socket.setBlocking(false);
    const ret = connectCall();
    if (ret < 0 && !connectInProgress(-ret, PLATFORM)) throw new SocketError('connect', -ret, where);
    // Writability can be spurious: connected once getpeername succeeds, failed once SO_ERROR
    // says so; otherwise wait again, until the deadline.
    while (ret < 0) {
      const left = remaining(deadline);
      const outcome = left !== 0 ? await socket.waitWritable({ timeout: left, signal }) : 'timeout';
      if (outcome === 'timeout') throw timedOut();
      const error = socket.takeError();
      if (error !== null) throw new SocketError('connect', error.errno, where);
      if (typeof addon.getpeername(socket.fd) !== 'number') break;
    }
    socket.setBlocking(true);
    return socket;
  } catch (error) {
    socket.close();
    throw error;
  }
}
