/**
 * Errors rawrecv throws. Expected socket outcomes (would-block, EOF, timeout, reset) are
 * results, never exceptions; these are for misuse and for calls that cannot return a result.
 * @module
 */
import { inspect } from 'node:util';

import { errnoName, portableCode, type Platform } from './errno.js';

/** A Node-style error (`code` like Node's own `ERR_*`), with a stack that starts at the caller. */
function withCode<E extends Error>(error: E, code: string): E & { code: string } {
  Object.defineProperty(error, 'code', { value: code, enumerable: true, writable: true, configurable: true });
  return error as E & { code: string };
}

function received(value: unknown): string {
  if (value === null || value === undefined) return `Received ${String(value)}`;
  if (typeof value === 'function') return `Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = value.constructor?.name;
    return name ? `Received an instance of ${name}` : `Received ${inspect(value, { depth: -1 })}`;
  }
  return `Received type ${typeof value} (${inspect(value, { maxStringLength: 28 })})`;
}

/** TypeError `ERR_INVALID_ARG_TYPE`: the argument is not of the expected type. */
export function invalidArgType(name: string, expected: string, value: unknown): TypeError & { code: string } {
  return withCode(
    new TypeError(`The "${name}" argument must be ${expected}. ${received(value)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

/** TypeError `ERR_INVALID_ARG_VALUE`: the right type, but a value that means nothing here. */
export function invalidArgValue(name: string, value: unknown, reason: string): TypeError & { code: string } {
  return withCode(
    new TypeError(`The argument '${name}' ${reason}. Received ${inspect(value, { maxStringLength: 28 })}`),
    'ERR_INVALID_ARG_VALUE',
  );
}

/** RangeError `ERR_OUT_OF_RANGE`: a number outside what the call accepts. */
export function outOfRange(name: string, range: string, value: unknown): RangeError & { code: string } {
  return withCode(
    new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${inspect(value)}`),
    'ERR_OUT_OF_RANGE',
  );
}

/**
 * RangeError `ERR_OUT_OF_RANGE` for a view that covers no memory any more: its ArrayBuffer was
 * detached (transferred) or resized below it. (Such a view cannot even be inspected.)
 */
export function detachedView(name: string): RangeError & { code: string } {
  return withCode(
    new RangeError(`The "${name}" argument covers no memory: its ArrayBuffer was detached or resized below it`),
    'ERR_OUT_OF_RANGE',
  );
}

/**
 * RangeError `ERR_OUT_OF_RANGE` for an AF_UNIX path sun_path cannot hold: it names the limit
 * (sizeof(sun_path) of this platform's headers, less the byte the terminating NUL needs; an
 * abstract name has no terminator) and the path's own length in UTF-8 bytes.
 */
export function unixPathTooLong(
  name: string,
  bytes: number,
  size: number,
  abstract: boolean,
): RangeError & {
  code: string;
} {
  const limit = abstract
    ? `an abstract name can be at most ${size} bytes, its leading NUL included (sizeof(sun_path) is ${size} here)`
    : `a path can be at most ${size - 1} bytes (sizeof(sun_path) is ${size} here, and the path's terminating NUL takes one)`;
  return withCode(
    new RangeError(`The "${name}" argument is ${bytes} bytes long in UTF-8: ${limit}`),
    'ERR_OUT_OF_RANGE',
  );
}

/** Error `ERR_SOCKET_CLOSED`: the socket was closed; no system call was made. */
export function socketClosed(): Error & { code: string } {
  return withCode(new Error('Socket is closed'), 'ERR_SOCKET_CLOSED');
}

/**
 * Error `ERR_SOCKET_POLLED`: another handle on this thread's event loop already watches the
 * descriptor (a node:net or node:dgram socket, another addon), and libuv allows one per loop.
 */
export function descriptorPolled(fd: number): Error & { code: string } {
  return withCode(
    new Error(
      `descriptor ${fd} is already watched by another handle on this thread's event loop (a node:net or ` +
        'node:dgram socket, another addon): rawrecv cannot wait on it; use the sync calls, or let the other handle go first',
    ),
    'ERR_SOCKET_POLLED',
  );
}

/** Error `ERR_NOT_SUPPORTED`: this platform has no such thing (e.g. SOCK_SEQPACKET on macOS). */
export function notSupported(what: string): Error & { code: string } {
  return withCode(new Error(`${what} is not supported on this platform`), 'ERR_NOT_SUPPORTED');
}

/** TypeError `ERR_ILLEGAL_CONSTRUCTOR`: a class made with `new` instead of its static constructors. */
export function illegalConstructor(use: string): TypeError & { code: string } {
  return withCode(new TypeError(`Illegal constructor: use ${use}`), 'ERR_ILLEGAL_CONSTRUCTOR');
}

/** Error `ERR_INVALID_STATE`: the call cannot be made on this socket as it is. */
export function invalidState(message: string): Error & { code: string } {
  return withCode(new Error(message), 'ERR_INVALID_STATE');
}

/** Error `ERR_SOCKET_CONNECTION_TIMEOUT`: `Socket.connect` gave up at its `timeout`. */
export function connectTimedOut(
  address: string,
  port: number | undefined,
  timeout: number | undefined,
): Error & { code: string } {
  return withCode(
    new Error(`connect timed out after ${timeout} ms (${port === undefined ? address : `${address}:${port}`})`),
    'ERR_SOCKET_CONNECTION_TIMEOUT',
  );
}

/** Where a failed call was aimed, for the message (`connect ECONNREFUSED 127.0.0.1:9`). */
export interface SocketErrorDetails {
  address?: string;
  port?: number;
  platform?: Platform;
  /** The name, where it is not the errno's own (a resolver's code such as ENOTFOUND). */
  code?: string;
}

/**
 * A system call failed where a result could not carry it: `connectSync`, `Server.listen`,
 * `setBlocking`, `shutdown`, ... Shaped like Node's SystemError (`code`, `errno`, `syscall`,
 * `address`, `port`), except that `errno` is positive, the same number a {@link RecvResult} carries
 * (Node's own errors carry libuv's negated one).
 */
export class SocketError extends Error {
  /**
   * The platform's symbolic name: 'ECONNREFUSED', 'WSAECONNREFUSED', ... ('UNKNOWN' if it has
   * none); for syscall 'getaddrinfo', the resolver's: 'ENOTFOUND', 'EAI_AGAIN', ...
   */
  readonly code: string;
  /**
   * The name Node and libuv use for the same condition on every OS (see `portableCode`):
   * 'ECONNREFUSED' for WSAECONNREFUSED too, 'EAGAIN' for every would-block.
   */
  readonly portableCode: string;
  /**
   * The positive error number, exactly as the OS reported it; for syscall 'getaddrinfo', libuv's
   * resolver error number made positive (3008 for ENOTFOUND), which is no OS errno.
   */
  readonly errno: number;
  /** The system call that failed: 'connect', 'listen', 'fcntl', ... */
  readonly syscall: string;
  declare readonly address?: string;
  declare readonly port?: number;

  constructor(syscall: string, errno: number, details: SocketErrorDetails = {}) {
    const code = details.code ?? errnoName(errno, details.platform) ?? 'UNKNOWN';
    const where =
      details.address === undefined
        ? ''
        : details.port === undefined
          ? ` ${details.address}`
          : ` ${details.address}:${details.port}`;
    super(`${syscall} ${code}${where}`);
    this.name = 'SocketError';
    this.code = code;
    this.portableCode = portableCode(code);
    this.errno = errno;
    this.syscall = syscall;
    // Only where they apply, as on Node's SystemError (no `address: undefined`).
    if (details.address !== undefined)
      Object.defineProperty(this, 'address', { value: details.address, enumerable: true });
    if (details.port !== undefined) Object.defineProperty(this, 'port', { value: details.port, enumerable: true });
  }
}

/**
 * The one check of a call whose failure is not a result: returns `ret` (>= 0), or throws a
 * SocketError with the negated error number, `syscall` and where it was aimed.
 */
export function throwIfFailed(
  ret: number,
  syscall: string,
  platform: Platform,
  where?: { address: string; port?: number },
): number {
  if (ret < 0) throw new SocketError(syscall, -ret, { platform, ...where });
  return ret;
}

/**
 * dns.lookup's failure (Node's error: code ENOTFOUND / EAI_AGAIN / ..., a negative libuv errno)
 * as a SocketError: syscall 'getaddrinfo', the resolver's code, its number made positive.
 * Anything without a string code is returned as it is.
 */
export function resolverError(error: unknown, host: string, port: number, platform: Platform): unknown {
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  if (typeof code !== 'string') return error;
  return new SocketError('getaddrinfo', typeof errno === 'number' ? Math.abs(errno) : 0, {
    code,
    address: host,
    port,
    platform,
  });
}

/**
 * A rejected promise for what a call that must reject, never throw, caught: everything this
 * package throws is an Error; anything else is wrapped in one.
 */
export function rejection(error: unknown): Promise<never> {
  return Promise.reject(error instanceof Error ? error : new Error(String(error)));
}

/** `call()` as a promise: resolved when it returns, rejected with what it throws (Symbol.asyncDispose). */
export function settledOf(call: () => void): Promise<void> {
  try {
    call();
    return Promise.resolve();
  } catch (error) {
    return rejection(error);
  }
}
