/**
 * `Socket`: one descriptor, its blocking mode and receive timeout tracked in JavaScript so
 * that every typed call is exactly one system call, and every outcome a typed result.
 * @module
 */
import { lookup } from 'node:dns/promises';

import { addon, type RecvFromOut } from './addon.js';
import { checkEndpoint, checkPort, familyName, familyNumber, toOrigin, type Family } from './address.js';
import {
  classifyFailure,
  classifyOutcome,
  type Classification,
  type ClassifyContext,
  type FailureResult,
  type Origin,
  type RecvFromResult,
  type RecvResult,
  type SocketType,
} from './classify.js';
import { constants, KNOWN_MSG_FLAGS } from './constants.js';
import { currentPlatform, errnoName, nameOf, type Platform } from './errno.js';
import { invalidArgType, invalidArgValue, notSupported, outOfRange, socketClosed, SocketError } from './errors.js';
import {
  abortError,
  PollError,
  READABLE,
  Readiness,
  WRITABLE,
  type WaitOptions,
  type WaitOutcome,
} from './readiness.js';
import { checkBoolean, checkInteger, checkOptions } from './validate.js';

/** The result of `send` / `sendTo`. */
export type SendResult = { kind: 'sent'; ret: number; errno: 0; bytesSent: number } | FailureResult;

/** The result of `sendAsync`: every byte sent, or the first failure and how much went before it. */
export type SendAsyncResult =
  { kind: 'sent'; ret: number; errno: 0; bytesSent: number } | (FailureResult & { bytesSent: number });

/** The `timeout` result an async call ends with at its deadline. */
type TimeoutResult = FailureResult & { kind: 'timeout' };

/** Options of the async receive and send calls. */
export interface RecvAsyncOptions extends WaitOptions {
  /** MSG_* flags for each call (MSG_DONTWAIT is added by the library where it exists). */
  flags?: number;
}

/**
 * What a stream socket's receive side has seen, kept because the kernel tells some things
 * once (trap 2: ECONNRESET is reported once, then recv returns a plain 0).
 * 'open' until the first eof / reset / error; 'eof' can still become 'reset' or 'error'
 * (a RST after the FIN), but 'reset' and 'error' never change again.
 */
export type ReadState = 'open' | 'eof' | 'reset' | 'error';

function platformOrThrow(): Platform {
  const platform = currentPlatform();
  if (platform === undefined) throw notSupported(`rawrecv on ${process.platform}`);
  return platform;
}

/** The platform whose numbers every result carries. */
export const PLATFORM: Platform = platformOrThrow();

const MAX_LENGTH = 2 ** 31 - 1;
const NOSIGNAL = constants.MSG.NOSIGNAL ?? 0;
const DONTWAIT = constants.MSG.DONTWAIT;
const TRUNC = constants.MSG.TRUNC ?? 0;
const IN_PROGRESS = new Set(['EINPROGRESS', 'WSAEWOULDBLOCK']);
/** setTimeout's own ceiling. */
const MAX_TIMEOUT = 2 ** 31 - 1;
const SOCKET_TYPES: Readonly<Record<string, SocketType>> = { stream: 'stream', dgram: 'dgram', seqpacket: 'seqpacket' };
// Errors after which a connection cannot deliver more data ('error' state); ECONNRESET is 'reset'.
const FATAL_CODES = new Set([
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ENETRESET',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
]);

/** Descriptors owned by a live Socket of this thread: adopting one twice would close it twice. */
const ownedFds = new Set<number>();

/**
 * What must be undone when a Socket goes away: its descriptor and its poll handle. Kept apart
 * from the Socket (it must not reference it) so the finalizer can run.
 */
interface Resources {
  fd: number;
  owned: boolean;
  readiness: Readiness | undefined;
}

/**
 * A Socket dropped without close() is closed here, exactly once: its poll handle first (libuv
 * must stop watching a descriptor before it is closed: uv_close takes the number out of epoll,
 * which would hit whatever socket has the number by then), then the descriptor if owned. Every
 * Socket is registered, owned or not, for the poll handle. A pending wait keeps its Socket
 * reachable, so this never runs under a wait.
 */
const finalizer = new FinalizationRegistry<Resources>((resources) => {
  resources.readiness?.close();
  if (!resources.owned) return;
  release(resources.fd);
  addon.close(resources.fd);
});

/** Takes a descriptor into this thread's ownership (and the addon's, for worker teardown). */
function own(fd: number): void {
  ownedFds.add(fd);
  addon.own(fd);
}

function release(fd: number): void {
  ownedFds.delete(fd);
  addon.disown(fd);
}

/**
 * recv(length) receives into this shared scratch buffer and copies out only what arrived,
 * so a would-block call allocates nothing but its result. Sync calls cannot interleave.
 */
const SCRATCH_LIMIT = 64 * 1024;
const scratch = Buffer.allocUnsafeSlow(SCRATCH_LIMIT);
/** recvmsg writes the sender here; reused so the shape stays stable. */
const fromOut: RecvFromOut = { family: 0, address: '', port: 0, msgFlags: 0 };

const CONSTRUCT = Symbol('rawrecv.Socket');
/** @internal Server's way into the async loop and the temporary non-blocking switch. */
export const kUntilReady = Symbol('rawrecv.untilReady');
/** @internal */
export const kNonBlocking = Symbol('rawrecv.nonBlocking');

function checkLength(length: unknown, name = 'length'): number {
  if (typeof length !== 'number') throw invalidArgType(name, 'of type number', length);
  // A zero-length recv is platform-dependent and says nothing (trap 1): sys.recv allows it.
  if (!Number.isInteger(length) || length < 1 || length > MAX_LENGTH) {
    throw outOfRange(name, `an integer >= 1 and <= ${MAX_LENGTH}`, length);
  }
  return length;
}

function checkFlags(flags: unknown): number {
  if (typeof flags !== 'number') throw invalidArgType('flags', 'of type number', flags);
  if (!Number.isInteger(flags) || flags < 0 || flags > MAX_LENGTH) {
    throw outOfRange('flags', `an integer >= 0 and <= ${MAX_LENGTH}`, flags);
  }
  if ((flags & ~KNOWN_MSG_FLAGS) !== 0) {
    throw invalidArgValue('flags', flags, 'has bits that are not MSG_* flags of this platform (see constants.MSG)');
  }
  return flags;
}

function checkWaitOptions(options: unknown): WaitOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  const { timeout, signal } = options as WaitOptions;
  if (timeout !== undefined) checkInteger(timeout, 'options.timeout', 0, MAX_TIMEOUT);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  }
  return { timeout, signal };
}

/** The options' timeout as an absolute deadline (performance.now() based; Infinity for none). */
function deadlineOf(options: unknown): { deadline: number; signal: AbortSignal | undefined } {
  const { timeout, signal } = checkWaitOptions(options);
  return { deadline: timeout === undefined ? Infinity : performance.now() + timeout, signal };
}

/** Settles with `promise`, or rejects at the deadline (`onTimeout()`) or on abort. */
function withDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
  onTimeout: () => Error,
): Promise<T> {
  if (deadline === Infinity && signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer =
      deadline === Infinity
        ? undefined
        : setTimeout(() => reject(onTimeout()), Math.max(0, deadline - performance.now()));
    const onAbort = (): void => reject(abortError(signal as AbortSignal));
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  });
}

function checkView(buffer: unknown, name: string): ArrayBufferView {
  if (!ArrayBuffer.isView(buffer)) {
    throw invalidArgType(name, 'an instance of Buffer, TypedArray, or DataView', buffer);
  }
  return buffer;
}

/** Bytes to send: a string is sent as UTF-8. */
function checkPayload(data: unknown): ArrayBufferView {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return checkView(data, 'data');
}

function throwIfFailed(ret: number, syscall: string): number {
  if (ret < 0) throw new SocketError(syscall, -ret, { platform: PLATFORM });
  return ret;
}

function typeOf(number: number): SocketType | undefined {
  if (number === constants.SOCK.STREAM) return 'stream';
  if (number === constants.SOCK.DGRAM) return 'dgram';
  if (number === constants.SOCK.SEQPACKET) return 'seqpacket';
  return undefined;
}

function typeNumber(type: SocketType): number {
  const number =
    type === 'stream' ? constants.SOCK.STREAM : type === 'dgram' ? constants.SOCK.DGRAM : constants.SOCK.SEQPACKET;
  if (number === undefined) throw notSupported(`SOCK_${type.toUpperCase()}`);
  return number;
}

interface SocketState {
  fd: number;
  type: SocketType;
  family: Family;
  blocking: boolean;
  receiveTimeout: number;
  sendTimeout: number;
  owned: boolean;
}

/**
 * A socket descriptor with recv(2) outcomes as typed results.
 *
 * Made by {@link Socket.connectSync}, {@link Socket.udp}, {@link Socket.pair},
 * {@link Socket.fromFd} or `Server#accept`; never with `new`. New sockets start in
 * blocking mode, the OS default, as in C and Python. After {@link Socket.close} `fd` is -1
 * and every method throws `ERR_SOCKET_CLOSED` without making a system call.
 */
export class Socket {
  #fd: number;
  readonly #type: SocketType;
  readonly #family: Family;
  readonly #owned: boolean;
  #blocking: boolean;
  #sendTimeout: number;
  #readState: ReadState = 'open';
  /** Reused for every call (only `requested` and `flags` change), so a recv allocates no context. */
  readonly #context: ClassifyContext;
  readonly #resources: Resources;

  /** @internal Use the static constructors. */
  constructor(token: symbol, state: SocketState) {
    if (token !== CONSTRUCT) {
      throw Object.assign(new TypeError('Illegal constructor: use Socket.connectSync, udp, pair or fromFd'), {
        code: 'ERR_ILLEGAL_CONSTRUCTOR',
      });
    }
    this.#fd = state.fd;
    this.#type = state.type;
    this.#family = state.family;
    this.#owned = state.owned;
    this.#blocking = state.blocking;
    this.#sendTimeout = state.sendTimeout;
    this.#context = {
      platform: PLATFORM,
      socketType: state.type,
      requested: 0,
      blocking: state.blocking,
      receiveTimeout: state.receiveTimeout,
      flags: 0,
    };
    this.#resources = { fd: state.fd, owned: state.owned, readiness: undefined };
    if (state.owned) own(state.fd);
    finalizer.register(this, this.#resources, this);
  }

  /**
   * Wraps a new descriptor that this module just created: blocking, no timeouts, owned.
   * On a failure before this point the caller closes the descriptor itself.
   */
  static #fresh(fd: number, type: SocketType, family: Family): Socket {
    return new Socket(CONSTRUCT, { fd, type, family, blocking: true, receiveTimeout: 0, sendTimeout: 0, owned: true });
  }

  /**
   * @internal Adopts a descriptor: its type, family, mode and timeouts are read once, here,
   * and tracked from then on (a recv never re-reads them). Windows cannot read the mode back
   * (FIONBIO is write-only): there `blocking` is taken as given.
   */
  static adopt(fd: number, owned: boolean, blocking = true): Socket {
    const typeRet = addon.getsockopt(fd, constants.SOL.SOCKET, constants.SO.TYPE);
    if (typeRet < 0) throw new SocketError('getsockopt', -typeRet, { platform: PLATFORM });
    const type = typeOf(typeRet);
    if (type === undefined) {
      throw invalidArgValue('fd', fd, `is a socket of type ${typeRet}, not stream, dgram or seqpacket`);
    }
    const af = addon.socketFamily(fd);
    if (af < 0) throw new SocketError(PLATFORM === 'win32' ? 'getsockopt' : 'getsockname', -af, { platform: PLATFORM });
    const family = familyName(af, 'unix');
    if (PLATFORM !== 'win32') blocking = throwIfFailed(addon.getNonBlocking(fd), 'fcntl') === 0;
    const receiveTimeout = throwIfFailed(addon.getTimeout(fd, constants.SO.RCVTIMEO), 'getsockopt');
    const sendTimeout = throwIfFailed(addon.getTimeout(fd, constants.SO.SNDTIMEO), 'getsockopt');
    return new Socket(CONSTRUCT, { fd, type, family, blocking, receiveTimeout, sendTimeout, owned });
  }

  /**
   * A TCP connection made with a blocking connect(2), like C's or Python's `s.connect()`.
   * `host` is an IP literal or 'localhost' (127.0.0.1). Throws a {@link SocketError}
   * (ECONNREFUSED, ETIMEDOUT, ...) if the connection fails; the descriptor is closed then.
   * @see connect(2)
   */
  static connectSync(options: { host: string; port: number }): Socket {
    const { host, port, family } = checkEndpoint(options, 'options', 1);
    const fd = throwIfFailed(addon.socket(familyNumber(family), constants.SOCK.STREAM, 0), 'socket');
    const ret = addon.connect(fd, familyNumber(family), host, port);
    if (ret < 0) {
      addon.close(fd);
      throw new SocketError('connect', -ret, { address: host, port, platform: PLATFORM });
    }
    return Socket.#fresh(fd, 'stream', family);
  }

  /**
   * A UDP socket, optionally bound (`bind`, port 0 = any) and connected (`connect`: recv then
   * only takes that peer's datagrams, and ICMP errors are reported, scenario udp.icmp).
   * `udpConnReset` is Windows' SIO_UDP_CONNRESET: whether an unconnected socket's recvfrom
   * reports an earlier ICMP port-unreachable as WSAECONNRESET (Windows' default: it does).
   * Left alone unless given. Elsewhere an unconnected socket never reports it, so `false` is
   * already so and `true` is ERR_NOT_SUPPORTED.
   * @see udp(7), Winsock SIO_UDP_CONNRESET
   */
  static udp(
    options: {
      family?: 'IPv4' | 'IPv6';
      bind?: { host: string; port: number };
      connect?: { host: string; port: number };
      udpConnReset?: boolean;
    } = {},
  ): Socket {
    const { family = 'IPv4', bind, connect, udpConnReset } = checkOptions(options, 'options');
    if (udpConnReset !== undefined) {
      checkBoolean(udpConnReset, 'options.udpConnReset');
      if (udpConnReset && PLATFORM !== 'win32') throw notSupported('udpConnReset: true (SIO_UDP_CONNRESET)');
    }
    if (family !== 'IPv4' && family !== 'IPv6')
      throw invalidArgValue('options.family', family, "must be 'IPv4' or 'IPv6'");
    const bindTo = bind === undefined ? undefined : checkEndpoint(bind, 'options.bind', 0);
    const connectTo = connect === undefined ? undefined : checkEndpoint(connect, 'options.connect', 1);
    for (const [name, endpoint] of [
      ['options.bind.host', bindTo],
      ['options.connect.host', connectTo],
    ] as const) {
      if (endpoint && endpoint.family !== family)
        throw invalidArgValue(name, endpoint.host, `is not an ${family} address`);
    }
    const fd = throwIfFailed(addon.socket(familyNumber(family), constants.SOCK.DGRAM, 0), 'socket');
    const socket = Socket.#fresh(fd, 'dgram', family);
    try {
      if (udpConnReset !== undefined && PLATFORM === 'win32') {
        socket.#call(addon.setUdpConnReset(fd, udpConnReset), 'WSAIoctl');
      }
      if (bindTo) socket.#call(addon.bind(fd, familyNumber(family), bindTo.host, bindTo.port), 'bind', bindTo);
      if (connectTo)
        socket.#call(addon.connect(fd, familyNumber(family), connectTo.host, connectTo.port), 'connect', connectTo);
    } catch (error) {
      socket.close();
      throw error;
    }
    return socket;
  }

  /**
   * Two connected AF_UNIX sockets. `type` 'dgram' and 'seqpacket' keep message boundaries
   * (and a zero-length message is not EOF). 'seqpacket' does not exist on macOS. Windows has
   * no socketpair: a connected loopback TCP pair stands in, 'stream' only (others throw
   * ERR_NOT_SUPPORTED).
   * @see socketpair(2), unix(7)
   */
  static pair(options: { type?: SocketType } = {}): [Socket, Socket] {
    const { type = 'stream' } = checkOptions(options, 'options');
    if (typeof type !== 'string' || !Object.hasOwn(SOCKET_TYPES, type)) {
      throw invalidArgValue('options.type', type, "must be 'stream', 'dgram' or 'seqpacket'");
    }
    if (PLATFORM === 'win32' && type !== 'stream') throw notSupported(`Socket.pair({ type: '${type}' })`);
    const ret = addon.socketpair(constants.AF.UNIX, typeNumber(type), 0);
    if (typeof ret === 'number') throw new SocketError('socketpair', -ret, { platform: PLATFORM });
    // Windows stands in a loopback TCP pair for socketpair(2): its family is IPv4 there.
    const family: Family = PLATFORM === 'win32' ? 'IPv4' : 'unix';
    return [Socket.#fresh(ret[0], type, family), Socket.#fresh(ret[1], type, family)];
  }

  /**
   * Adopts an existing socket descriptor (from a parent process, another library, `sys`).
   * Its type, family, blocking mode and SO_RCVTIMEO are read once, now. `owned` (default true):
   * close() and garbage collection close the descriptor; with false they only let go of it.
   * `blocking` is used on Windows only, where the mode cannot be read back (default true, the
   * OS default); elsewhere the mode is read from the descriptor.
   * Throws a SocketError ENOTSOCK / EBADF if `fd` is not an open socket.
   */
  static fromFd(fd: number, options: { owned?: boolean; blocking?: boolean } = {}): Socket {
    checkInteger(fd, 'fd', 0, Number.MAX_SAFE_INTEGER);
    const { owned = true, blocking = true } = checkOptions(options, 'options');
    checkBoolean(owned, 'options.owned');
    checkBoolean(blocking, 'options.blocking');
    if (owned && ownedFds.has(fd)) {
      throw invalidArgValue('fd', fd, 'is already owned by another rawrecv Socket (pass { owned: false } to share it)');
    }
    return Socket.adopt(fd, owned, blocking);
  }

  /** The descriptor, or -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** 'stream', 'dgram' or 'seqpacket'. */
  get type(): SocketType {
    return this.#type;
  }

  /** 'IPv4', 'IPv6' or 'unix'. */
  get family(): Family {
    return this.#family;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Whether the socket is in blocking mode, as this Socket last set or read it. */
  get blocking(): boolean {
    return this.#blocking;
  }

  /** SO_RCVTIMEO in milliseconds, 0 for none. */
  get receiveTimeout(): number {
    return this.#context.receiveTimeout;
  }

  /** SO_SNDTIMEO in milliseconds, 0 for none. */
  get sendTimeout(): number {
    return this.#sendTimeout;
  }

  /** What the receive side has seen so far; see {@link ReadState}. */
  get readState(): ReadState {
    return this.#readState;
  }

  #open(): number {
    const fd = this.#fd;
    if (fd < 0) throw socketClosed();
    return fd;
  }

  /** Throws a SocketError for a failed call whose failure is not a result. */
  #call(ret: number, syscall: string, where?: { host: string; port: number }): number {
    if (ret < 0) {
      throw new SocketError(syscall, -ret, {
        platform: PLATFORM,
        ...(where ? { address: where.host, port: where.port } : {}),
      });
    }
    return ret;
  }

  /**
   * Sets or clears O_NONBLOCK (fcntl F_GETFL then F_SETFL; other flags are kept).
   * O_NONBLOCK belongs to the open file description: dups and other processes share it (trap 5).
   * @see fcntl(2)
   */
  setBlocking(blocking: boolean): void {
    const fd = this.#open();
    checkBoolean(blocking, 'blocking');
    this.#call(addon.setNonBlocking(fd, !blocking), 'fcntl');
    this.#setTracked(blocking);
  }

  /**
   * Sets SO_RCVTIMEO: a blocking recv gives up after `milliseconds` (0 = wait forever) and
   * the result is `timeout` (EAGAIN on Unix, WSAETIMEDOUT on Windows).
   * @see socket(7) SO_RCVTIMEO
   */
  setReceiveTimeout(milliseconds: number): void {
    const fd = this.#open();
    checkInteger(milliseconds, 'milliseconds', 0, 2 ** 32 - 1);
    this.#call(addon.setTimeout(fd, constants.SO.RCVTIMEO, milliseconds), 'setsockopt');
    this.#context.receiveTimeout = milliseconds;
  }

  /** Sets SO_SNDTIMEO (0 = none): a blocking send that cannot proceed in time gives `timeout`. */
  setSendTimeout(milliseconds: number): void {
    const fd = this.#open();
    checkInteger(milliseconds, 'milliseconds', 0, 2 ** 32 - 1);
    this.#call(addon.setTimeout(fd, constants.SO.SNDTIMEO, milliseconds), 'setsockopt');
    this.#sendTimeout = milliseconds;
  }

  /** Notes what the kernel said once, so `readState` can say it later (trap 2). */
  #remember(outcome: { kind: string; code?: string }): void {
    const kind = outcome.kind;
    // would-block, timeout and interrupted say nothing about the connection: the common case.
    if (kind !== 'eof' && kind !== 'error') return;
    const state = this.#readState;
    if (state === 'reset' || state === 'error' || this.#type === 'dgram') return;
    const code = outcome.code;
    if (kind === 'eof') {
      if (state === 'open') this.#readState = 'eof';
    } else if (code === 'ECONNRESET' || code === 'WSAECONNRESET') {
      this.#readState = 'reset';
    } else if (code !== undefined && FATAL_CODES.has(code.startsWith('WSA') ? code.slice(3) : code)) {
      this.#readState = 'error';
    }
  }

  /**
   * Classifies one recv call's number with the socket's state (the context object is reused:
   * nothing is allocated here but the result) and remembers what the kernel says only once.
   */
  #classify(ret: number, length: number, flags: number, msgFlags: number): Classification {
    const context = this.#context;
    context.requested = length;
    context.flags = flags;
    const outcome = ret >= 0 ? classifyOutcome(ret, 0, msgFlags, context) : classifyOutcome(-1, -ret, 0, context);
    if (outcome.kind !== 'data') this.#remember(outcome);
    return outcome;
  }

  /** A recv result: for data, `data` is `target`'s first bytes (copied out of the scratch buffer). */
  #finish(ret: number, length: number, flags: number, target: Buffer): RecvResult {
    const outcome = this.#classify(ret, length, flags, 0);
    if (outcome.kind !== 'data') return outcome;
    const n = outcome.bytesRead;
    const data = target === scratch ? Buffer.from(scratch.subarray(0, n)) : target.subarray(0, n);
    return { kind: 'data', ret: outcome.ret, errno: outcome.errno, bytesRead: n, data };
  }

  /**
   * One recv(2) of up to `length` bytes (>= 1) into a new Buffer.
   * @returns data | eof | would-block (EAGAIN, EWOULDBLOCK, WSAEWOULDBLOCK) | timeout |
   *   interrupted (EINTR) | error (ECONNRESET, ETIMEDOUT, ECONNREFUSED, ENOTCONN, ...)
   * @see recv(2)
   */
  recv(length: number, flags = 0): RecvResult {
    const fd = this.#open();
    checkLength(length);
    checkFlags(flags);
    this.#checkStreamFlags(flags);
    const target = length <= SCRATCH_LIMIT ? scratch : Buffer.allocUnsafe(length);
    return this.#finish(addon.recv(fd, target, 0, length, flags), length, flags, target);
  }

  /**
   * Linux's MSG_TRUNC on a stream socket discards the bytes without copying them: a data
   * result would show whatever the buffer held before. It is refused on the typed stream path
   * (sys.recv passes it through).
   */
  #checkStreamFlags(flags: number): void {
    if (this.#type === 'stream' && TRUNC !== 0 && (flags & TRUNC) !== 0) {
      throw invalidArgValue('flags', flags, 'has MSG_TRUNC, which discards stream data unread (use sys.recv)');
    }
  }

  /**
   * One recv(2) into the caller's buffer at `offset` (default 0) for `length` bytes (default:
   * the rest, >= 1). A data result's `data` is a view of that buffer: nothing is copied.
   * @see recv(2)
   */
  recvInto(buffer: ArrayBufferView, options?: { offset?: number; length?: number; flags?: number }): RecvResult {
    const fd = this.#open();
    checkView(buffer, 'buffer');
    const byteLength = buffer.byteLength;
    let offset = 0;
    let flags = 0;
    let length = byteLength;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
      if (options.offset !== undefined) offset = checkInteger(options.offset, 'options.offset', 0, byteLength);
      length = options.length === undefined ? byteLength - offset : checkLength(options.length, 'options.length');
      if (options.flags !== undefined) flags = checkFlags(options.flags);
    }
    if (length < 1) {
      // Also where the view is empty or its ArrayBuffer was detached (byteLength 0).
      throw outOfRange(
        'options.length',
        `>= 1 (the buffer has ${byteLength - offset} bytes after offset ${offset})`,
        length,
      );
    }
    if (offset + length > byteLength) {
      throw outOfRange(
        'options.length',
        `<= ${byteLength - offset} (the buffer's byte length minus the offset)`,
        length,
      );
    }
    this.#checkStreamFlags(flags);
    const outcome = this.#classify(addon.recv(fd, buffer, offset, length, flags), length, flags, 0);
    if (outcome.kind !== 'data') return outcome;
    // A view of the caller's memory: nothing is copied.
    const data = Buffer.from(buffer.buffer, buffer.byteOffset + offset, outcome.bytesRead);
    return { kind: 'data', ret: outcome.ret, errno: outcome.errno, bytesRead: outcome.bytesRead, data };
  }

  /** recv(2) with MSG_PEEK: the data stays queued. @see recv(2) MSG_PEEK */
  peek(length: number): RecvResult {
    return this.recv(length, constants.MSG.PEEK);
  }

  /**
   * One recvmsg(2): a datagram and its sender. A data result has `truncated` true when the
   * datagram was longer than `length` (MSG_TRUNC in msg_flags; WSAEMSGSIZE on Windows) and
   * the rest was discarded. A zero-length datagram is data with bytesRead 0, not EOF.
   * @see recvmsg(2), recvfrom(2)
   */
  recvFrom(length: number, flags = 0): RecvFromResult {
    const fd = this.#open();
    checkLength(length);
    checkFlags(flags);
    const target = length <= SCRATCH_LIMIT ? scratch : Buffer.allocUnsafe(length);
    const ret = addon.recvmsg(fd, target, 0, length, flags, fromOut);
    const outcome = this.#classify(ret, length, flags, ret >= 0 ? (fromOut.msgFlags ?? 0) : 0);
    if (outcome.kind !== 'data') return outcome;
    const n = outcome.bytesRead;
    const data = target === scratch ? Buffer.from(scratch.subarray(0, n)) : target.subarray(0, n);
    // The addon filled fromOut for every datagram taken (also Windows' WSAEMSGSIZE).
    const origin = toOrigin(
      { family: fromOut.family ?? 0, address: fromOut.address ?? '', port: fromOut.port ?? 0 },
      this.#family,
    );
    return {
      kind: 'data',
      ret: outcome.ret,
      errno: outcome.errno,
      bytesRead: n,
      data,
      truncated: outcome.truncated,
      ...origin,
    };
  }

  #sent(ret: number, flags: number): SendResult {
    if (ret >= 0) return { kind: 'sent', ret, errno: 0, bytesSent: ret };
    return classifyFailure(-ret, PLATFORM, this.#blocking, this.#sendTimeout, flags);
  }

  /**
   * One send(2) (with MSG_NOSIGNAL where the OS has it, so a closed peer gives EPIPE, not
   * SIGPIPE). A string is sent as UTF-8. `bytesSent` may be less than the length.
   * @returns sent | would-block | timeout (SO_SNDTIMEO) | interrupted | error (EPIPE, ECONNRESET, ...)
   * @see send(2)
   */
  send(data: ArrayBufferView | string, flags = 0): SendResult {
    const fd = this.#open();
    const bytes = checkPayload(data);
    checkFlags(flags);
    return this.#sent(addon.send(fd, bytes, 0, bytes.byteLength, flags | NOSIGNAL), flags);
  }

  /** One sendto(2) to an IP literal (or 'localhost'). @see sendto(2) */
  sendTo(data: ArrayBufferView | string, to: { host: string; port: number }, flags = 0): SendResult {
    const fd = this.#open();
    const bytes = checkPayload(data);
    const { host, port, family } = checkEndpoint(to, 'to', 0);
    checkFlags(flags);
    const ret = addon.sendto(fd, bytes, 0, bytes.byteLength, flags | NOSIGNAL, familyNumber(family), host, port);
    return this.#sent(ret, flags);
  }

  /**
   * shutdown(2): 'read' (SHUT_RD; what it does differs per OS, scenario tcp.shut-rd), 'write'
   * (SHUT_WR: the peer reads EOF), or 'both'. Throws a SocketError (ENOTCONN, ...) on failure.
   */
  shutdown(how: 'read' | 'write' | 'both'): void {
    const fd = this.#open();
    const number =
      how === 'read'
        ? constants.SHUT.RD
        : how === 'write'
          ? constants.SHUT.WR
          : how === 'both'
            ? constants.SHUT.RDWR
            : undefined;
    if (number === undefined) throw invalidArgValue('how', how, "must be 'read', 'write' or 'both'");
    this.#call(addon.shutdown(fd, number), 'shutdown');
  }

  /**
   * Abortive close: SO_LINGER {on, 0 s} then close(2), so the peer sees a RST (ECONNRESET)
   * instead of a FIN. Stream sockets only.
   * @see socket(7) SO_LINGER
   */
  reset(): void {
    const fd = this.#open();
    if (this.#type !== 'stream') {
      throw Object.assign(new Error(`reset() needs a stream socket, not ${this.#type}`), { code: 'ERR_INVALID_STATE' });
    }
    if (!this.#owned) {
      // close() would only let go of a shared descriptor: no RST would be sent.
      throw Object.assign(new Error('reset() needs a socket this Socket owns (fromFd with owned: true)'), {
        code: 'ERR_INVALID_STATE',
      });
    }
    this.#call(addon.setLinger(fd, true, 0), 'setsockopt');
    this.close();
  }

  /**
   * getsockopt(SO_ERROR): the pending error, which reading clears (scenario tcp.rst.consumed:
   * a later recv then returns 0). Returns null when none is pending. An ECONNRESET taken
   * here is remembered in `readState`.
   */
  takeError(): { errno: number; code: string } | null {
    const fd = this.#open();
    const errno = this.#call(addon.getsockopt(fd, constants.SOL.SOCKET, constants.SO.ERROR), 'getsockopt');
    if (errno === 0) return null;
    const code = nameOf(errno, PLATFORM) ?? 'UNKNOWN';
    this.#remember({ kind: 'error', code });
    return { errno, code };
  }

  /** ioctl(FIONREAD): bytes that a recv could take now without waiting. */
  available(): number {
    const fd = this.#open();
    return this.#call(addon.fionread(fd), 'ioctl');
  }

  /** getsockname(2), shaped like Node's `server.address()`. */
  localAddress(): Origin {
    const ret = addon.getsockname(this.#open());
    if (typeof ret === 'number') throw new SocketError('getsockname', -ret, { platform: PLATFORM });
    return toOrigin(ret, this.#family);
  }

  /** getpeername(2); a SocketError ENOTCONN on an unconnected socket. */
  remoteAddress(): Origin {
    const ret = addon.getpeername(this.#open());
    if (typeof ret === 'number') throw new SocketError('getpeername', -ret, { platform: PLATFORM });
    return toOrigin(ret, this.#family);
  }

  #readiness(): Readiness {
    this.#open();
    const resources = this.#resources;
    resources.readiness ??= new Readiness(resources.fd, !resources.owned);
    return resources.readiness;
  }

  /**
   * Resolves 'ready' once the socket is readable (data, EOF or an error waiting: a recv will
   * not block), or 'timeout' after `timeout` ms. Never blocks the event loop: libuv's poll
   * handle for this socket does the waiting. Readiness can be spurious (trap 9): follow it with
   * a non-blocking recv and expect would-block now and then. Rejects with an AbortError when
   * `signal` aborts, and with ERR_SOCKET_CLOSED when the socket is closed meanwhile.
   * @see uv_poll_start (libuv)
   */
  waitReadable(options: WaitOptions = {}): Promise<WaitOutcome> {
    return this.#wait(READABLE, options);
  }

  /** Like {@link Socket.waitReadable}, for writability (a send will not block). */
  waitWritable(options: WaitOptions = {}): Promise<WaitOutcome> {
    return this.#wait(WRITABLE, options);
  }

  #wait(events: number, options: WaitOptions): Promise<WaitOutcome> {
    try {
      return this.#readiness().wait(events, checkWaitOptions(options), this.#blocking, this);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Runs one non-blocking attempt without touching the socket's own mode: with MSG_DONTWAIT
   * where the OS has it; elsewhere (Windows) as {@link Socket.[kNonBlocking]}.
   */
  #attempt<R>(flags: number, call: (flags: number) => R): R {
    if (DONTWAIT !== undefined) return call(flags | DONTWAIT);
    return this[kNonBlocking](() => call(flags));
  }

  /**
   * @internal Runs `call` with O_NONBLOCK set, restoring blocking mode after, for calls that
   * have no MSG_DONTWAIT (accept, Windows). The switch is visible to every holder of the
   * open file description for that moment (trap 5).
   */
  [kNonBlocking]<R>(call: () => R): R {
    if (!this.#blocking) return call();
    this.#call(addon.setNonBlocking(this.#open(), true), 'fcntl');
    // For the call the socket is non-blocking, and its outcome is classified so: a would-block
    // is would-block there, not an expired receive timeout.
    this.#setTracked(false);
    try {
      return call();
    } finally {
      this.#setTracked(true);
      this.#call(addon.setNonBlocking(this.#open(), false), 'fcntl');
    }
  }

  #setTracked(blocking: boolean): void {
    this.#blocking = blocking;
    this.#context.blocking = blocking;
  }

  /**
   * The async loop, in one named place: one non-blocking call; on would-block, wait for
   * readiness and call again; at the deadline one last non-blocking call, whose would-block
   * becomes the `timeout` result carrying that call's own ret, errno and code.
   */
  [kUntilReady]<R extends { kind: string }>(
    events: number,
    options: WaitOptions,
    attempt: () => R,
  ): Promise<R | TimeoutResult> {
    try {
      const { deadline, signal } = deadlineOf(options);
      return this.#untilReady(events, deadline, signal, attempt);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async #untilReady<R extends { kind: string }>(
    events: number,
    deadline: number,
    signal: AbortSignal | undefined,
    attempt: () => R,
  ): Promise<R | TimeoutResult> {
    // An aborted signal stops the call before any system call, even one that could proceed.
    if (signal?.aborted) throw abortError(signal);
    let pollError = 0;
    for (;;) {
      const result = attempt();
      if (result.kind !== 'would-block') return result;
      // libuv woke us for POLLERR, and the call still would block: the error condition is one
      // recv cannot clear (an undrained IP_RECVERR queue, say). Report it; never spin on it.
      if (pollError !== 0) throw new PollError(pollError);
      const remaining = deadline - performance.now();
      const readiness = this.#readiness();
      const outcome =
        remaining > 0
          ? await readiness.wait(
              events,
              { timeout: Number.isFinite(remaining) ? Math.ceil(remaining) : undefined, signal },
              this.#blocking,
              this,
            )
          : 'timeout';
      if (outcome === 'timeout') {
        const last = attempt();
        if (last.kind !== 'would-block') return last;
        const { ret, errno, code } = last as unknown as FailureResult;
        return { kind: 'timeout', ret, errno, code };
      }
      pollError = readiness.takeErrorWake();
    }
  }

  /**
   * recv without blocking the event loop: waits for readability, makes one non-blocking recv,
   * and loops only on would-block until `timeout` ms have passed; then makes one last recv
   * (data that arrived just in time is returned), and if that would block too the result is
   * `timeout` with that call's own ret / errno / code (EAGAIN on Linux). The socket's blocking
   * mode and receive timeout are left as they are.
   */
  recvAsync(length: number, options: RecvAsyncOptions = {}): Promise<RecvResult> {
    return this.#recvAsync(
      options,
      () => checkLength(length),
      (flags) => this.recv(length, flags),
    );
  }

  /** {@link Socket.recvAsync} into the caller's buffer, as {@link Socket.recvInto}. */
  recvIntoAsync(
    buffer: ArrayBufferView,
    options: RecvAsyncOptions & { offset?: number; length?: number } = {},
  ): Promise<RecvResult> {
    // The first attempt validates buffer, offset and length before any wait.
    return this.#recvAsync(options, undefined, (flags, { offset, length }) =>
      this.recvInto(buffer, { offset, length, flags }),
    );
  }

  /** {@link Socket.recvAsync} for datagrams, as {@link Socket.recvFrom}. */
  recvFromAsync(length: number, options: RecvAsyncOptions = {}): Promise<RecvFromResult> {
    return this.#recvAsync(
      options,
      () => checkLength(length),
      (flags) => this.recvFrom(length, flags),
    );
  }

  /** The async receive calls: checks (rejecting, never throwing), then the one async loop. */
  #recvAsync<R extends { kind: string }, O extends RecvAsyncOptions>(
    options: O,
    check: (() => void) | undefined,
    call: (flags: number, options: Partial<O>) => R,
  ): Promise<R | TimeoutResult> {
    try {
      const checked = checkOptions(options, 'options');
      const { flags = 0 } = checked;
      check?.();
      checkFlags(flags);
      const { deadline, signal } = deadlineOf(checked);
      return this.#untilReady(READABLE, deadline, signal, () => this.#attempt(flags, (f) => call(f, checked)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Sends every byte without blocking the event loop: non-blocking sends, waiting for
   * writability on would-block. Resolves `sent` with the total in `bytesSent` (and the last
   * call's `ret`), or the first failure result (would-block is never one; `timeout` only with
   * a `timeout` option), with `bytesSent` saying how much went before it.
   */
  async sendAsync(data: ArrayBufferView | string, options: RecvAsyncOptions = {}): Promise<SendAsyncResult> {
    const { flags = 0, ...wait } = checkOptions(options, 'options');
    this.#open();
    const bytes = checkPayload(data);
    checkFlags(flags);
    // One deadline for the whole call, however many sends it takes.
    const { deadline, signal } = deadlineOf(wait);
    let sent = 0;
    for (;;) {
      const result = await this.#untilReady(WRITABLE, deadline, signal, () =>
        this.#attempt(flags, (f) =>
          this.#sent(addon.send(this.#open(), bytes, sent, bytes.byteLength - sent, f | NOSIGNAL), f),
        ),
      );
      if (result.kind !== 'sent') return { ...result, bytesSent: sent };
      sent += result.ret;
      if (sent >= bytes.byteLength) return { kind: 'sent', ret: result.ret, errno: 0, bytesSent: sent };
    }
  }

  /**
   * Yields each chunk received (up to 64 KiB) until EOF, without blocking the event loop.
   * An error result (ECONNRESET, ...) is thrown as a SocketError.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    for (;;) {
      const result = await this.recvAsync(SCRATCH_LIMIT);
      if (result.kind === 'eof') return;
      if (result.kind === 'data') {
        // A zero-length datagram is a message too, but an empty chunk means nothing to a reader.
        if (result.bytesRead > 0) yield result.data;
        continue;
      }
      throw new SocketError('recv', result.errno, { platform: PLATFORM });
    }
  }

  /**
   * A TCP connection without blocking the event loop: host names through `dns.lookup`, a
   * non-blocking connect(2) (EINPROGRESS), a wait for writability, then getsockopt(SO_ERROR).
   * Rejects with a SocketError (ECONNREFUSED, ENETUNREACH, ...), an Error
   * `ERR_SOCKET_CONNECTION_TIMEOUT` after `timeout` ms, or an AbortError; nothing is left open.
   * The socket is returned in blocking mode, as every new socket.
   */
  static async connect(options: {
    host: string;
    port: number;
    family?: 'IPv4' | 'IPv6';
    timeout?: number;
    signal?: AbortSignal;
  }): Promise<Socket> {
    if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
    const { host, port, family, ...wait } = options;
    if (typeof host !== 'string' || host === '') throw invalidArgType('options.host', 'a non-empty string', host);
    checkPort(port, 'options.port', 1);
    if (family !== undefined && family !== 'IPv4' && family !== 'IPv6') {
      throw invalidArgValue('options.family', family, "must be 'IPv4' or 'IPv6'");
    }
    const { timeout } = checkWaitOptions(wait);
    const { deadline, signal } = deadlineOf(wait);
    if (signal?.aborted) throw abortError(signal);
    const timedOut = (address: string): Error =>
      Object.assign(new Error(`connect timed out after ${timeout} ms (${address}:${port})`), {
        code: 'ERR_SOCKET_CONNECTION_TIMEOUT',
      });
    // The name lookup counts against the timeout too (dns.lookup cannot be cancelled: its
    // answer is then ignored).
    const found = await withDeadline(
      lookup(host, { family: family === 'IPv6' ? 6 : family === 'IPv4' ? 4 : 0 }),
      deadline,
      signal,
      () => timedOut(host),
    );
    const resolved: Family = found.family === 6 ? 'IPv6' : 'IPv4';
    const fd = throwIfFailed(addon.socket(familyNumber(resolved), constants.SOCK.STREAM, 0), 'socket');
    const socket = Socket.#fresh(fd, 'stream', resolved);
    const where = { address: found.address, port, platform: PLATFORM };
    try {
      socket.setBlocking(false);
      const ret = addon.connect(fd, familyNumber(resolved), found.address, port);
      // In progress: EINPROGRESS on POSIX, WSAEWOULDBLOCK on Windows. (EAGAIN from a TCP
      // connect is a real failure, connect(2).)
      if (ret < 0 && !IN_PROGRESS.has(errnoName(-ret, PLATFORM) ?? '')) {
        throw new SocketError('connect', -ret, where);
      }
      // Writability can be spurious: connected once getpeername succeeds, failed once SO_ERROR
      // says so; otherwise wait again, until the deadline.
      while (ret < 0) {
        const remaining = deadline - performance.now();
        const outcome =
          remaining > 0
            ? await socket.waitWritable({
                timeout: Number.isFinite(remaining) ? Math.ceil(remaining) : undefined,
                signal,
              })
            : 'timeout';
        if (outcome === 'timeout') throw timedOut(found.address);
        const error = socket.#call(addon.getsockopt(fd, constants.SOL.SOCKET, constants.SO.ERROR), 'getsockopt');
        if (error !== 0) throw new SocketError('connect', error, where);
        if (typeof addon.getpeername(fd) !== 'number') break;
      }
      socket.setBlocking(true);
      return socket;
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  /**
   * Closes the descriptor (if owned) and sets `fd` to -1. Idempotent. The descriptor number
   * is given up before close(2) is made, so no later call can reach a reused number (trap 7).
   * A failing close(2) still frees the descriptor on Linux; it is reported as a SocketError.
   */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    // Pending waits reject with ERR_SOCKET_CLOSED, and libuv lets go of the descriptor first.
    this.#resources.readiness?.close();
    finalizer.unregister(this);
    if (!this.#owned) return;
    release(fd);
    this.#call(addon.close(fd), 'close');
  }
}
