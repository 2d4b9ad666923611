/**
 * `Socket`: one descriptor, its blocking mode and receive timeout tracked in JavaScript so
 * that every typed call is exactly one system call, and every outcome a typed result.
 *
 * The class and its syscall-shaped methods only: each method is short, and what makes the
 * file long is their documentation (the results and errno values each can return). What the
 * methods share lives beside it: descriptor lifetime and ownership (descriptors.ts), argument
 * checks (validate.ts), the async loop (wait.ts), async connect (connect.ts), what an errno
 * means (classify.ts), the errors (errors.ts).
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { inspect, type InspectOptionsStylized } from 'node:util';

import { addon, recvCall, recvWholeCall, sendCall, type RecvFromOut } from './addon.js';
import { checkEndpoint, familyName, familyNumber, toOrigin, type Family } from './address.js';
import {
  classifyFailure,
  classifyOutcome,
  connectionFate,
  EOF,
  wouldBlockResults,
  type Classification,
  type ClassifyContext,
  type Origin,
  messageFlags,
  type ReceivedMessage,
  type RecvFromResult,
  type RecvManyResult,
  type ReadState,
  type RecvResult,
  type SendAsyncResult,
  type SendManyResult,
  type SendResult,
  type SocketType,
} from './classify.js';
import { connect, type ConnectOptions, type UnixConnectOptions } from './connect.js';
import { constants, PLATFORM, socketTypeNumber, socketTypeOf } from './constants.js';
import { attach, detach, finalizer, openFd } from './descriptors.js';
import { receiveBuffer, takeData } from './scratch.js';
import { nameOf } from './errno.js';
import {
  illegalConstructor,
  invalidArgType,
  invalidArgValue,
  invalidState,
  notSupported,
  outOfRange,
  rejection,
  settledOf,
  SocketError,
  throwIfFailed,
} from './errors.js';
import { READABLE, WRITABLE, type WaitOptions, type WaitOutcome } from './readiness.js';
import { BoundPath, checkPathOnly, checkUnixPath, checkUnixType, hasPath, shownPath } from './unix-path.js';
import {
  attachedLength,
  BATCH_LIMIT,
  checkBatch,
  checkBatchLength,
  checkBoolean,
  checkFlags,
  checkInteger,
  checkLength,
  checkOptions,
  checkPayload,
  checkSocketType,
  checkView,
} from './validate.js';
import {
  deadlineOf,
  untilReady,
  untilReadyWith,
  waitOn,
  type Attempt,
  type TimeoutResult,
  type WaitTarget,
} from './wait.js';
import {
  recvError,
  recvMsg,
  sendMsg,
  setRecvOptions,
  type MessageHooks,
  type RecvErrorResult,
  type RecvMsgOptions,
  type RecvMsgResult,
  type RecvOptions,
  type SendMsgOptions,
} from './message.js';

/** Options of the async receive and send calls. */
export interface RecvAsyncOptions extends WaitOptions {
  /** MSG_* flags for each call (MSG_DONTWAIT is added by the library where it exists). */
  flags?: number;
}

const NOSIGNAL = constants.MSG.NOSIGNAL ?? 0;
const TRUNC = constants.MSG.TRUNC ?? 0;
/** poll(2) bits that say the peer has closed: POLLRDHUP (Linux) or POLLHUP (everywhere). */
const HANGUP = (constants.POLL.RDHUP ?? 0) | constants.POLL.HUP;

/** The async iterator gives the event loop a turn at least this often (in chunks). */
const TURN_EVERY = 16;
/** This platform's would-block number and its frozen would-block / timeout results. */
const WOULD_BLOCK = wouldBlockResults(PLATFORM);
/** What the addon returns for it: the negated number, compared on every recv. */
const WOULD_BLOCK_RET = -WOULD_BLOCK.errno;
/** MSG_TRUNC as this platform's recvmsg reports it in msg_flags. */
const TRUNCATED = messageFlags(PLATFORM).truncated;
/** recvMany's per-message numbers (MANY_STRIDE a message); sendMany's byte counts. Reused. */
const batchOut = new Int32Array(5 * BATCH_LIMIT);
/**
 * recvManyFast's `out`, per message: its length, msg_flags, the first message of the batch from
 * the same sender (itself for a new one), and for a new one the sender's family and port.
 */
const MANY_STRIDE = 5;
const MANY_LENGTH = 0;
const MANY_FLAGS = 1;
const MANY_SENDER = 2;
const MANY_FAMILY = 3;
const MANY_PORT = 4;
/** recvManyFast's `senders`: a new sender's address at its message's index. Reused. */
const batchAddresses: string[] = [];
/** recvMany's origin of each new sender, at its message's index. Reused. */
const batchOrigins: Origin[] = [];
/** recvManyFast's arguments before the buffers: fd, flags, out, senders. */
const BATCH_ARGS = 4;
/** The sender origin recvMany made last, kept while the senders that follow are the same one. */
let lastSender: { family: number; address: string; port: number; fallback: Family; origin: Origin } | undefined;

/** A datagram sender's origin, the one made for the last new sender again when it is the same. */
function senderOrigin(family: number, address: string, port: number, fallback: Family): Origin {
  const last = lastSender;
  if (
    last !== undefined &&
    last.port === port &&
    last.address === address &&
    last.family === family &&
    last.fallback === fallback
  ) {
    return last.origin;
  }
  const origin = toOrigin({ family, address, port }, fallback);
  lastSender = { family, address, port, fallback, origin };
  return origin;
}
/** The async iterators' chunk: up to 64 KiB per recv. */
const CHUNK = 64 * 1024;
/** A chunk at least this long is handed over with its buffer; a shorter one is copied out. */
const HAND_OVER = 16 * 1024;
/** recvmsg writes the sender here; reused so the shape stays stable. */
const fromOut: RecvFromOut = { family: 0, address: '', port: 0, msgFlags: 0 };

/**
 * A recvMany buffer: a view with at least one byte. recvMany tells the common one apart first
 * (a typed array with at least one element) and asks this only for the rest.
 */
function receivable(buffer: unknown, index: number): void {
  const name = `buffers[${index}]`;
  const length = attachedLength(checkView(buffer, name), name);
  if (length < 1) throw outOfRange(`${name}.byteLength`, '>= 1', length);
}

/**
 * `bytes` if a view holds at least that many, else its byte length. A typed array holds at least
 * as many bytes as it has elements, and V8 inlines its length (its byteLength getter it calls:
 * about 10 ns), so byteLength is read only past that (wider elements, a DataView, or more bytes
 * than the view has: a truncated datagram).
 */
function bytesIn(view: ArrayBufferView, bytes: number): number {
  const elements: unknown = (view as Uint8Array).length; // undefined for a DataView
  return typeof elements === 'number' && bytes <= elements ? bytes : view.byteLength;
}

/** One recvMany message, in one of two fixed shapes (an IP or an AF_UNIX sender). */
function messageOf(bytesRead: number, data: Buffer, truncated: boolean, origin: Origin): ReceivedMessage {
  const { address, port } = origin;
  return origin.family === 'unix'
    ? { bytesRead, data, truncated, family: 'unix', path: origin.path, address, port: 0 }
    : { bytesRead, data, truncated, family: origin.family, address, port };
}

const CONSTRUCT = Symbol('rawrecv.Socket');
/** The async calls' default options: one shared object, since a pending call holds its options. */
const NO_OPTIONS: RecvAsyncOptions = Object.freeze({});

/** The attempts of the async receive calls (see Socket.#recvAsync). */
const RECV: Attempt<RecvResult, Socket, number, undefined> = (socket, length, _, flags) => socket.recv(length, flags);
const RECV_INTO: Attempt<
  RecvResult,
  Socket,
  ArrayBufferView,
  RecvAsyncOptions & { offset?: number; length?: number }
> = (socket, buffer, options, flags) =>
  socket.recvInto(buffer, { offset: options.offset, length: options.length, flags });
const RECV_FROM: Attempt<RecvFromResult, Socket, number, undefined> = (socket, length, _, flags) =>
  socket.recvFrom(length, flags);
const RECV_MANY: Attempt<RecvManyResult, Socket, readonly ArrayBufferView[], undefined> = (socket, buffers, _, flags) =>
  socket.recvMany(buffers, { flags });

/** A Socket's classification context and wait target in one object (see Socket.#context). */
interface SocketContext extends ClassifyContext, WaitTarget {
  /** Held by a pending wait through this object, so the Socket stays alive while it waits. */
  readonly socket: Socket;
}

interface SocketState {
  fd: number;
  type: SocketType;
  family: Family;
  blocking: boolean;
  receiveTimeout: number;
  sendTimeout: number;
  owned: boolean;
  /** This process has just been handed the descriptor: whatever held the number before is gone. */
  fresh: boolean;
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
  readonly #family: Family;
  #sendTimeout: number;
  #readState: ReadState = 'open';
  /**
   * The socket's mode and timeout as classification reads them (reused for every call: only
   * `requested` and `flags` change, so a recv allocates no context), and the async loop's wait
   * target (its view and mode, src/wait.ts): one object, which a pending wait holds, and through
   * `socket` this Socket.
   */
  readonly #context: SocketContext;
  /** recvInto's last data view, reused while the buffer, offset and length stay (see #viewOf). */
  #last: { source: ArrayBufferView; offset: number; view: Buffer } | undefined;
  /** The AF_UNIX path this Socket bound (Socket.unixDgram), unlinked by close(). */
  #bound: BoundPath | undefined;
  /** recvMany's data views of the last calls, by message index (see recvMany). */
  #batchViews: Buffer[] | undefined;
  /** The buffer each of #batchViews is a view of. */
  #batchSources: ArrayBufferView[] | undefined;
  /** recvMany's arguments to the addon: fd, flags, out, senders, then the checked buffers. Reused. */
  #batchCall: unknown[] | undefined;

  /** Use the static constructors (the token keeps JavaScript callers out too). */
  private constructor(token: symbol, state: SocketState) {
    if (token !== CONSTRUCT) throw illegalConstructor('Socket.connectSync, udp, pair or fromFd');
    this.#family = state.family;
    this.#sendTimeout = state.sendTimeout;
    const view = attach(state.fd, state.owned, state.fresh);
    this.#context = {
      platform: PLATFORM,
      socketType: state.type,
      requested: 0,
      blocking: state.blocking,
      receiveTimeout: state.receiveTimeout,
      flags: 0,
      view,
      socket: this,
    };
    // No unregister token: close() leaves the registration, whose detach is then a no-op (a
    // token costs each Socket a second weak entry).
    finalizer.register(this, view);
  }

  /**
   * Wraps a new descriptor that this module just created: blocking, no timeouts, owned.
   * On a failure before this point the caller closes the descriptor itself.
   */
  static #fresh(fd: number, type: SocketType, family: Family): Socket {
    return new Socket(CONSTRUCT, {
      fd,
      type,
      family,
      blocking: true,
      receiveTimeout: 0,
      sendTimeout: 0,
      owned: true,
      fresh: true,
    });
  }

  /**
   * @internal Adopts a descriptor: its type, family, mode and timeouts are read once, here,
   * and tracked from then on (a recv never re-reads them). Windows cannot read the mode back
   * (FIONBIO is write-only): there `blocking` is taken as given. `fresh`: this process has just
   * been handed the descriptor (accept(2), a Server's socket(2)), see `attach`.
   */
  static adopt(fd: number, owned: boolean, blocking = true, fresh = false): Socket {
    const typeRet = addon.getsockopt(fd, constants.SOL.SOCKET, constants.SO.TYPE);
    if (typeRet < 0) throw new SocketError('getsockopt', -typeRet, { platform: PLATFORM });
    const type = socketTypeOf(typeRet);
    if (type === undefined) {
      throw invalidArgValue('fd', fd, `is a socket of type ${typeRet}, not stream, dgram or seqpacket`);
    }
    const af = addon.socketFamily(fd);
    if (af < 0) throw new SocketError(PLATFORM === 'win32' ? 'getsockopt' : 'getsockname', -af, { platform: PLATFORM });
    const family = familyName(af, 'unix');
    if (PLATFORM !== 'win32') blocking = throwIfFailed(addon.getNonBlocking(fd), 'fcntl', PLATFORM) === 0;
    const receiveTimeout = throwIfFailed(addon.getTimeout(fd, constants.SO.RCVTIMEO), 'getsockopt', PLATFORM);
    const sendTimeout = throwIfFailed(addon.getTimeout(fd, constants.SO.SNDTIMEO), 'getsockopt', PLATFORM);
    return new Socket(CONSTRUCT, { fd, type, family, blocking, receiveTimeout, sendTimeout, owned, fresh });
  }

  /**
   * A TCP connection made with a blocking connect(2), like C's or Python's `s.connect()`.
   * `host` is an IP literal or 'localhost' (127.0.0.1). With `{ path, type? }` instead, an
   * AF_UNIX connection to that path (`type` 'stream', the default, or 'seqpacket'; on Linux a
   * path starting with '\0' is an abstract name). Throws a {@link SocketError} (ECONNREFUSED,
   * ETIMEDOUT; for a path ENOENT, ECONNREFUSED, EAGAIN when a Linux listener's backlog is full,
   * ...) if the connection fails; the descriptor is closed then.
   * @see connect(2), unix(7)
   */
  static connectSync(
    options: { host: string; port: number } | { path: string; type?: 'stream' | 'seqpacket' },
  ): Socket {
    if (hasPath(options)) return Socket.#connectPathSync(options);
    const { host, port, family } = checkEndpoint(options, 'options', 1);
    const fd = throwIfFailed(addon.socket(familyNumber(family), constants.SOCK.STREAM, 0), 'socket', PLATFORM);
    const ret = addon.connect(fd, familyNumber(family), host, port);
    if (ret < 0) {
      addon.close(fd);
      throw new SocketError('connect', -ret, { address: host, port, platform: PLATFORM });
    }
    return Socket.#fresh(fd, 'stream', family);
  }

  static #connectPathSync(options: { path: unknown; type?: unknown }): Socket {
    checkPathOnly(options, 'options');
    const { path } = checkUnixPath(options.path, 'options.path');
    const type = checkUnixType(options.type, 'options.type', ['stream', 'seqpacket'] as const);
    const fd = throwIfFailed(addon.socket(constants.AF.UNIX, socketTypeNumber(type), 0), 'socket', PLATFORM);
    const ret = addon.connect(fd, constants.AF.UNIX, path, 0);
    if (ret < 0) {
      addon.close(fd);
      throw new SocketError('connect', -ret, { address: shownPath(path), platform: PLATFORM });
    }
    return Socket.#fresh(fd, type, 'unix');
  }

  /**
   * An AF_UNIX datagram socket: bound to `path` if given (the file is created by bind(2), and
   * unlinked again by this Socket's close(), if it is still the one bound: see README), and
   * connected to `connect` if given (send then goes there, and only that peer's datagrams are
   * received). Without `path` it is unnamed: its datagrams arrive from '' (recvFrom's `path`),
   * and nobody can answer it. On Linux a path starting with '\0' is an abstract name (no file).
   * Windows has no AF_UNIX datagram sockets: ERR_NOT_SUPPORTED. Throws a SocketError
   * (EADDRINUSE when the path exists, ENOENT / ECONNREFUSED for `connect`, ...); nothing is
   * left open or bound then.
   * @see unix(7), bind(2), connect(2)
   */
  static unixDgram(options: { path?: string; connect?: string } = {}): Socket {
    const { path: rawPath, connect: rawConnect } = checkOptions(options, 'options');
    const bindTo = rawPath === undefined ? undefined : checkUnixPath(rawPath, 'options.path');
    const connectTo = rawConnect === undefined ? undefined : checkUnixPath(rawConnect, 'options.connect');
    if (PLATFORM === 'win32') throw notSupported('An AF_UNIX dgram socket');
    const fd = throwIfFailed(addon.socket(constants.AF.UNIX, constants.SOCK.DGRAM, 0), 'socket', PLATFORM);
    const socket = Socket.#fresh(fd, 'dgram', 'unix');
    try {
      if (bindTo) {
        const where = { address: shownPath(bindTo.path) };
        throwIfFailed(addon.bind(fd, constants.AF.UNIX, bindTo.path, 0), 'bind', PLATFORM, where);
        socket.#bound = BoundPath.afterBind(bindTo);
      }
      if (connectTo) {
        const where = { address: shownPath(connectTo.path) };
        throwIfFailed(addon.connect(fd, constants.AF.UNIX, connectTo.path, 0), 'connect', PLATFORM, where);
      }
    } catch (error) {
      socket.close();
      throw error;
    }
    return socket;
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
    const fd = throwIfFailed(addon.socket(familyNumber(family), constants.SOCK.DGRAM, 0), 'socket', PLATFORM);
    const socket = Socket.#fresh(fd, 'dgram', family);
    try {
      if (udpConnReset !== undefined && PLATFORM === 'win32') {
        throwIfFailed(addon.setUdpConnReset(fd, udpConnReset), 'WSAIoctl', PLATFORM);
      }
      if (bindTo)
        throwIfFailed(addon.bind(fd, familyNumber(family), bindTo.host, bindTo.port), 'bind', PLATFORM, {
          address: bindTo.host,
          port: bindTo.port,
        });
      if (connectTo)
        throwIfFailed(addon.connect(fd, familyNumber(family), connectTo.host, connectTo.port), 'connect', PLATFORM, {
          address: connectTo.host,
          port: connectTo.port,
        });
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
    checkSocketType(type, 'options.type');
    if (PLATFORM === 'win32' && type !== 'stream') throw notSupported(`Socket.pair({ type: '${type}' })`);
    const ret = addon.socketpair(constants.AF.UNIX, socketTypeNumber(type), 0);
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
   * Ownership is process-wide: a descriptor that a Socket of any thread owns cannot be owned
   * again (ERR_INVALID_ARG_VALUE); share it with `{ owned: false }`. When its owner closes it,
   * every Socket sharing it is closed too (README, "Shared descriptors").
   * Throws a SocketError ENOTSOCK / EBADF if `fd` is not an open socket.
   */
  static fromFd(fd: number, options: { owned?: boolean; blocking?: boolean } = {}): Socket {
    checkInteger(fd, 'fd', 0, Number.MAX_SAFE_INTEGER);
    const { owned = true, blocking = true } = checkOptions(options, 'options');
    checkBoolean(owned, 'options.owned');
    checkBoolean(blocking, 'options.blocking');
    return Socket.adopt(fd, owned, blocking);
  }

  /** The descriptor, or -1 once closed. */
  get fd(): number {
    return this.#context.view.fd;
  }

  /** 'stream', 'dgram' or 'seqpacket'. */
  get type(): SocketType {
    return this.#context.socketType;
  }

  /** 'IPv4', 'IPv6' or 'unix'. */
  get family(): Family {
    return this.#family;
  }

  get closed(): boolean {
    return this.#context.view.fd < 0;
  }

  /** `using socket = ...`: closes it at the end of the block (see {@link Socket.close}). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using socket = ...`: closes it at the end of the block (see {@link Socket.close}). */
  [Symbol.asyncDispose](): Promise<void> {
    return settledOf(() => this.close());
  }

  /** What `util.inspect` and `console.log` show: the descriptor and what the Socket tracks of it. */
  [inspect.custom](depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    const state = {
      fd: this.fd,
      type: this.type,
      family: this.#family,
      blocking: this.blocking,
      readState: this.#readState,
      closed: this.closed,
    };
    return `Socket ${show(state, { ...options, depth: depth < 0 ? null : options.depth })}`;
  }

  /** Whether the socket is in blocking mode, as this Socket last set or read it. */
  get blocking(): boolean {
    return this.#context.blocking;
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
    return openFd(this.#context.view);
  }

  /**
   * Sets or clears O_NONBLOCK (fcntl F_GETFL then F_SETFL; other flags are kept).
   * O_NONBLOCK belongs to the open file description: dups and other processes share it (docs/recv-semantics.md#trap-5).
   * @see fcntl(2)
   */
  setBlocking(blocking: boolean): void {
    const fd = this.#open();
    checkBoolean(blocking, 'blocking');
    throwIfFailed(addon.setNonBlocking(fd, !blocking), 'fcntl', PLATFORM);
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
    throwIfFailed(addon.setTimeout(fd, constants.SO.RCVTIMEO, milliseconds), 'setsockopt', PLATFORM);
    this.#context.receiveTimeout = milliseconds;
  }

  /** Sets SO_SNDTIMEO (0 = none): a blocking send that cannot proceed in time gives `timeout`. */
  setSendTimeout(milliseconds: number): void {
    const fd = this.#open();
    checkInteger(milliseconds, 'milliseconds', 0, 2 ** 32 - 1);
    throwIfFailed(addon.setTimeout(fd, constants.SO.SNDTIMEO, milliseconds), 'setsockopt', PLATFORM);
    this.#sendTimeout = milliseconds;
  }

  /**
   * Notes what the kernel says only once, so `readState` can say it later
   * (docs/recv-semantics.md#trap-2): eof, or an error's fate (classify's connectionFate).
   */
  #remember(outcome: { kind: string; errno: number }): void {
    const kind = outcome.kind;
    // would-block, timeout and interrupted say nothing about the connection: the common case.
    if (kind !== 'eof' && kind !== 'error') return;
    const state = this.#readState;
    if (state === 'reset' || state === 'error' || this.#context.socketType === 'dgram') return;
    if (kind === 'eof') {
      if (state === 'open') this.#readState = 'eof';
      return;
    }
    const fate = connectionFate(outcome.errno, PLATFORM);
    if (fate !== undefined) this.#readState = fate === 'reset' ? 'reset' : 'error';
  }

  /**
   * Classifies one recv call's number with the socket's state (the context object is reused:
   * nothing is allocated here but the result) and remembers what the kernel says only once.
   */
  #classify(fd: number, ret: number, length: number, flags: number, msgFlags: number): Classification {
    const context = this.#context;
    context.requested = length;
    context.flags = flags;
    const outcome =
      ret === 0 && context.socketType === 'seqpacket' && this.#peerClosed(fd)
        ? EOF
        : ret >= 0
          ? classifyOutcome(ret, 0, msgFlags, context)
          : classifyOutcome(-1, -ret, 0, context);
    if (outcome.kind !== 'data') this.#remember(outcome);
    return outcome;
  }

  /**
   * SOCK_SEQPACKET's recv returns 0 both for a zero-length record and, forever, once the peer
   * has closed (scenario unix.seqpacket.eof): only poll(2) tells them apart, with POLLRDHUP /
   * POLLHUP. So a 0 there is followed by one poll(2) with a zero timeout and, if the peer has
   * hung up, one ioctl(FIONREAD): it is `eof` when nothing is queued any more. (Zero-length
   * records that are all that is left when the peer closes read as that eof: they carry no
   * bytes, and the kernel offers no way to count them.)
   * @see poll(2), unix(7)
   */
  #peerClosed(fd: number): boolean {
    const revents = addon.poll(fd, constants.POLL.IN | HANGUP);
    // Records still queued behind a zero-length one: FIONREAD counts a seqpacket socket's whole
    // queue on Linux, so their bytes show and the 0 was a record.
    return revents > 0 && (revents & HANGUP) !== 0 && addon.fionread(fd) === 0;
  }

  /**
   * A recv call's result. Data and would-block (without MSG_* flags) are told apart before the
   * general classification ({@link Socket.#classify}), and a would-block result is a frozen
   * shared one: the hot paths allocate nothing but a data result and its Buffer. The data is a
   * copy out of `target` (a scratch buffer, see src/scratch.ts) when `copy`, else a view of
   * `target` at `offset`.
   */
  #received(
    fd: number,
    ret: number,
    length: number,
    flags: number,
    target: ArrayBufferView,
    offset: number,
    copy: boolean,
  ): RecvResult {
    // Would-block first: the common case of a non-blocking loop, one comparison on the raw number.
    if (ret === WOULD_BLOCK_RET && flags === 0) return this.#wouldBlock();
    let ok: Extract<Classification, { kind: 'data' }> | undefined;
    if (!(ret > 0 && ret <= length)) {
      const outcome = this.#classify(fd, ret, length, flags, 0);
      if (outcome.kind !== 'data') return outcome;
      ok = outcome;
    }
    const n = ok === undefined ? ret : ok.bytesRead;
    const data = copy ? takeData(target as Buffer, n) : this.#viewOf(target, offset, n);
    return ok === undefined
      ? { kind: 'data', ret, errno: 0, bytesRead: n, data }
      : { kind: 'data', ret: ok.ret, errno: ok.errno, bytesRead: n, data };
  }

  /**
   * The frozen result of a would-block recv made without flags: `timeout` when a blocking socket's
   * SO_RCVTIMEO expired (Unix reports it as EAGAIN too, docs/recv-semantics.md#trap-3), else
   * `would-block`. What classifyFailure says for it, without the general classification.
   */
  #wouldBlock(): RecvResult {
    const context = this.#context;
    return context.blocking && context.receiveTimeout > 0 ? WOULD_BLOCK.timedOut : WOULD_BLOCK.wouldBlock;
  }

  /**
   * Bytes [offset, offset + n) of the caller's buffer as a Buffer view: the same view object as
   * the last call's when the buffer, offset and length are the same (a receive loop into one
   * buffer then allocates none; the view shows the same memory either way).
   */
  #viewOf(buffer: ArrayBufferView, offset: number, n: number): Buffer {
    const last = this.#last;
    if (last !== undefined && last.source === buffer && last.offset === offset && last.view.length === n) {
      return last.view;
    }
    const view = Buffer.from(buffer.buffer, buffer.byteOffset + offset, n);
    if (last === undefined) this.#last = { source: buffer, offset, view };
    else {
      last.source = buffer;
      last.offset = offset;
      last.view = view;
    }
    return view;
  }

  /**
   * One recv(2) of up to `length` bytes (>= 1) into a new Buffer. It receives into a reused
   * buffer and copies out what arrived, so a call that brings no data allocates nothing, whatever
   * `length` is (src/scratch.ts).
   * @returns data | eof | would-block (EAGAIN, EWOULDBLOCK, WSAEWOULDBLOCK) | timeout |
   *   interrupted (EINTR) | error (ECONNRESET, ETIMEDOUT, ECONNREFUSED, ENOTCONN, ...)
   * @see recv(2)
   */
  recv(length: number, flags = 0): RecvResult {
    // The common call, an open socket, flags 0 and a length from 1 to 2^31 - 1 (an int32): every
    // check below passes for it, so it makes none of them (each costs on a would-block call).
    const open = this.#context.view.fd;
    if (flags === 0 && open >= 0 && typeof length === 'number' && (length | 0) === length && length > 0) {
      const into = receiveBuffer(length);
      const ret = recvCall(open, into, 0, length, 0);
      // #received tests this first too; tested here as well, the would-block call returns before
      // calling it (V8 does not inline it here: measured 2 to 5% slower without).
      if (ret === WOULD_BLOCK_RET) return this.#wouldBlock();
      return this.#received(open, ret, length, 0, into, 0, true);
    }
    const fd = this.#open();
    checkLength(length);
    checkFlags(flags);
    this.#checkStreamFlags(flags);
    const target = receiveBuffer(length);
    return this.#received(fd, recvCall(fd, target, 0, length, flags), length, flags, target, 0, true);
  }

  /**
   * Linux's MSG_TRUNC on a stream socket discards the bytes without copying them: a data
   * result would show whatever the buffer held before. It is refused on the typed stream path
   * (sys.recv passes it through).
   */
  #checkStreamFlags(flags: number): void {
    if (this.#context.socketType === 'stream' && TRUNC !== 0 && (flags & TRUNC) !== 0) {
      throw invalidArgValue('flags', flags, 'has MSG_TRUNC, which discards stream data unread (use sys.recv)');
    }
  }

  /**
   * One recv(2) into the caller's buffer at `offset` (default 0) for `length` bytes (default:
   * the rest, >= 1). A data result's `data` is a view of that buffer: nothing is copied.
   * @see recv(2)
   * @returns data | eof | would-block (EAGAIN, EWOULDBLOCK, WSAEWOULDBLOCK) | timeout | interrupted (EINTR) |
   *   error (ECONNRESET, ETIMEDOUT, ECONNREFUSED, ENOTCONN, ...)
   */
  recvInto(buffer: ArrayBufferView, options?: { offset?: number; length?: number; flags?: number }): RecvResult {
    // The common call, recvInto(buffer) with a typed array of at least one element: nothing else
    // to check in JavaScript, and the addon measures the view (a detached or out-of-bounds one has
    // length 0 and takes the checked path below, as a DataView, which has no length, does). Its
    // byteLength is read only when something came.
    const open = this.#context.view.fd;
    if (options === undefined && open >= 0 && ArrayBuffer.isView(buffer) && (buffer as Uint8Array).length > 0) {
      const ret = recvWholeCall(open, buffer);
      // As in recv: the would-block call returns before #received (which tests it too).
      if (ret === WOULD_BLOCK_RET) return this.#wouldBlock();
      // undefined: no recv made, the view holds no bytes whatever its `length` says (an own
      // property, a subclass): the checked path below refuses it.
      if (ret !== undefined) return this.#received(open, ret, buffer.byteLength, 0, buffer, 0, false);
    }
    const fd = this.#open();
    checkView(buffer, 'buffer');
    const byteLength = attachedLength(buffer, 'buffer');
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
      // Also where the view is empty.
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
    // A view of the caller's memory: nothing is copied.
    return this.#received(fd, recvCall(fd, buffer, offset, length, flags), length, flags, buffer, offset, false);
  }

  /**
   * recv(2) with MSG_PEEK: the data stays queued.
   * @returns as {@link Socket.recv}: data (left queued) | eof | would-block | timeout | interrupted | error
   * @see recv(2) MSG_PEEK
   */
  peek(length: number): RecvResult {
    return this.recv(length, constants.MSG.PEEK);
  }

  /**
   * One recvmsg(2): a datagram and its sender. A data result has `truncated` true when the
   * datagram was longer than `length` (MSG_TRUNC in msg_flags; WSAEMSGSIZE on Windows) and
   * the rest was discarded. A zero-length datagram is data with bytesRead 0, not EOF.
   * @see recvmsg(2), recvfrom(2)
   * @returns data (with the sender and `truncated`; Windows: ret -1 WSAEMSGSIZE for a truncated one) |
   *   eof | would-block | timeout | interrupted | error (ECONNREFUSED after ICMP, ...)
   */
  recvFrom(length: number, flags = 0): RecvFromResult {
    const fd = this.#open();
    checkLength(length);
    checkFlags(flags);
    this.#checkStreamFlags(flags);
    const target = receiveBuffer(length);
    const ret = addon.recvmsg(fd, target, 0, length, flags, fromOut);
    const outcome = this.#classify(fd, ret, length, flags, ret >= 0 ? (fromOut.msgFlags ?? 0) : 0);
    if (outcome.kind !== 'data') return outcome;
    const n = outcome.bytesRead;
    const data = takeData(target, n);
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

  /**
   * Up to `buffers.length` messages (1..1024) in one call, each into its own buffer: recvmmsg(2)
   * on Linux. Elsewhere a loop of recvmsg(2) that is one call's worth: the first message with
   * `flags` (it may block or time out), later ones only while bytes are queued (never blocking,
   * never taking a pending error; a zero-length datagram behind others waits for the next call).
   * On Linux, `flags` go to the kernel as given: on a blocking socket recvmmsg waits until every
   * buffer is filled unless `constants.MSG.WAITFORONE` is among them.
   *
   * A data result lists each message like recvFrom (bytesRead, data: a view of its buffer,
   * truncated, sender). An error after the first message ends the batch and is reported by the
   * next call (Linux keeps it pending). On a stream socket each message is one recv's bytes, and
   * a 0 after data ends the list (the next call is `eof`).
   * @returns data (`messages`) | eof | would-block | timeout | interrupted | error
   * @see recvmmsg(2), recvmsg(2)
   */
  recvMany(buffers: readonly ArrayBufferView[], options?: { flags?: number }): RecvManyResult {
    const fd = this.#open();
    // checkBatch's checks, each entry's in line: the common entry, a typed array with at least
    // one element, is told apart with what V8 inlines (isView, length), the rest checked in full.
    // Each entry is read once, into the addon's argument list: it receives into what was checked.
    checkBatchLength(buffers, 'buffers');
    const count = buffers.length;
    // The argument list is this call's until it returns: a getter it runs (an entry's, the flags',
    // a view's length below) may call recvMany on this socket again, which then makes its own
    // instead of putting its buffers where this call receives. (Put back on return; a throw
    // leaves the next call to make a new one.)
    const call = this.#batchCall ?? [0, 0, batchOut, batchAddresses];
    this.#batchCall = undefined;
    for (let i = 0; i < count; i++) {
      const buffer = buffers[i];
      if (!(ArrayBuffer.isView(buffer) && (buffer as Uint8Array).length > 0)) receivable(buffer, i);
      call[BATCH_ARGS + i] = buffer;
    }
    if (call.length !== BATCH_ARGS + count) call.length = BATCH_ARGS + count;
    const flags = options === undefined ? 0 : checkFlags(checkOptions(options, 'options').flags ?? 0);
    this.#checkStreamFlags(flags);
    call[0] = fd;
    call[1] = flags;
    const ret = Reflect.apply(addon.recvManyFast, undefined, call) as number;
    if (ret < 0) {
      this.#batchCall = call;
      return this.#classify(fd, ret, 1, flags, 0) as RecvManyResult;
    }
    // Sized once: pushing 64 messages would grow the array three times (garbage the drain of a
    // queue then collects, one scavenge per few calls).
    const messages = new Array<ReceivedMessage>(ret);
    const views = (this.#batchViews ??= []);
    const sources = (this.#batchSources ??= []);
    const family = this.#family;
    const stream = this.#context.socketType !== 'dgram';
    for (let i = 0; i < ret; i++) {
      const at = MANY_STRIDE * i;
      const buffer = call[BATCH_ARGS + i] as ArrayBufferView;
      const length = batchOut[at + MANY_LENGTH] as number;
      if (length === 0 && stream && this.#endedAt(fd, i, ret)) {
        // The stream's end (or a seqpacket peer's close): an eof now, or after the data.
        if (i === 0) {
          this.#batchCall = call;
          return this.#classify(fd, 0, buffer.byteLength, flags, 0) as RecvManyResult;
        }
        messages.length = i;
        break;
      }
      // The buffer's byte length, or `length` when it holds that many: all that decides here.
      const size = bytesIn(buffer, length);
      const bytesRead = length < size ? length : size;
      // The view of the last call's message i again when it was made of this buffer and shows as
      // many bytes (a view's memory is its buffer's: the same object, the same memory).
      let data = views[i];
      if (data === undefined || sources[i] !== buffer || data.length !== bytesRead) {
        data = views[i] = Buffer.from(buffer.buffer, buffer.byteOffset, bytesRead);
        sources[i] = buffer;
      }
      const truncated = length > size || ((batchOut[at + MANY_FLAGS] as number) & TRUNCATED) !== 0;
      // The addon gives each sender once, at its first message of the batch.
      const first = batchOut[at + MANY_SENDER] as number;
      const origin =
        first === i
          ? (batchOrigins[i] = senderOrigin(
              batchOut[at + MANY_FAMILY] as number,
              batchAddresses[i] as string,
              batchOut[at + MANY_PORT] as number,
              family,
            ))
          : (batchOrigins[first] as Origin);
      messages[i] = messageOf(bytesRead, data, truncated, origin);
    }
    this.#batchCall = call;
    return { kind: 'data', ret, errno: 0, messages };
  }

  /**
   * Whether recvMany's 0-length message `index` of `count` is the end of the stream rather than
   * a record: on a stream socket always; on a seqpacket socket when every message from it on is
   * 0 and the peer has closed (see {@link Socket.#peerClosed}).
   */
  #endedAt(fd: number, index: number, count: number): boolean {
    if (this.#context.socketType === 'stream') return true;
    for (let i = index; i < count; i++) if (batchOut[MANY_STRIDE * i + MANY_LENGTH] !== 0) return false;
    return this.#peerClosed(fd);
  }

  /**
   * Several messages in one call: sendmmsg(2) on Linux, a loop of send / sendto elsewhere. Each
   * entry is the data (a string is sent as UTF-8), or `{ data, to }` with a destination as
   * sendTo's. `ret` and `messagesSent` say how many went; an error after the first message ends
   * the batch and is not reported (sendmmsg drops it): send the rest again to meet it. On a
   * stream socket it is one send(2) per entry, and a short send ends the batch (its count is the
   * last of `bytesSent`), so no entry's bytes go out before the rest of the one before.
   * @returns sent (`messagesSent`, `bytesSent` per message) | would-block | timeout | interrupted |
   *   error (EMSGSIZE, EHOSTUNREACH, ...)
   * @see sendmmsg(2), sendto(2)
   */
  sendMany(
    messages: readonly (
      ArrayBufferView | string | { data: ArrayBufferView | string; to?: { host: string; port: number } }
    )[],
    options?: { flags?: number },
  ): SendManyResult {
    const fd = this.#open();
    let destinations: ({ family: number; host: string; port: number } | undefined)[] | undefined;
    const buffers: ArrayBufferView[] = [];
    checkBatch(messages, 'messages', (message, index) => {
      if (ArrayBuffer.isView(message) && !(message instanceof DataView) && message.byteLength > 0) {
        buffers.push(message);
        return;
      }
      const name = `messages[${index}]`;
      let data: unknown = message;
      let dataName = name;
      if (typeof message === 'object' && message !== null && !ArrayBuffer.isView(message)) {
        const entry = message as { data?: unknown; to?: unknown };
        data = entry.data;
        dataName = `${name}.data`;
        if (entry.to !== undefined) {
          const { host, port, family } = checkEndpoint(entry.to, `${name}.to`, 0);
          (destinations ??= [])[index] = { family: familyNumber(family), host, port };
        }
      }
      buffers.push(checkPayload(data, dataName)[0]);
    });
    if (destinations !== undefined) destinations.length = buffers.length;
    const flags = checkFlags(checkOptions(options, 'options').flags ?? 0);
    if (this.#context.socketType === 'stream') {
      if (destinations !== undefined)
        throw invalidArgValue('messages', 'to', 'has a destination: a stream socket sends to its peer');
      return this.#sendStream(fd, buffers, flags);
    }
    const ret = addon.sendMany(fd, buffers, flags | NOSIGNAL, destinations, batchOut);
    if (ret < 0) return classifyFailure(-ret, PLATFORM, this.#context.blocking, this.#sendTimeout, flags);
    return { kind: 'sent', ret, errno: 0, messagesSent: ret, bytesSent: Array.from(batchOut.subarray(0, ret)) };
  }

  /**
   * sendMany on a stream socket: one send(2) per entry, ending at the first short one, so the
   * bytes of an entry never go out before the rest of the one before (sendmmsg would go on).
   */
  #sendStream(fd: number, buffers: readonly ArrayBufferView[], flags: number): SendManyResult {
    const bytesSent: number[] = [];
    for (const buffer of buffers) {
      const length = buffer.byteLength;
      const ret = sendCall(fd, buffer, 0, length, flags | NOSIGNAL);
      if (ret < 0) {
        if (bytesSent.length === 0)
          return classifyFailure(-ret, PLATFORM, this.#context.blocking, this.#sendTimeout, flags);
        break;
      }
      bytesSent.push(ret);
      if (ret < length) break;
    }
    return { kind: 'sent', ret: bytesSent.length, errno: 0, messagesSent: bytesSent.length, bytesSent };
  }

  #sent(ret: number, flags: number): SendResult {
    if (ret >= 0) return { kind: 'sent', ret, errno: 0, bytesSent: ret };
    return classifyFailure(-ret, PLATFORM, this.#context.blocking, this.#sendTimeout, flags);
  }

  /**
   * One send(2) (with MSG_NOSIGNAL where the OS has it, so a closed peer gives EPIPE, not
   * SIGPIPE). A string is sent as UTF-8. `bytesSent` may be less than the length.
   * @returns sent | would-block | timeout (SO_SNDTIMEO) | interrupted | error (EPIPE, ECONNRESET, ...)
   * @see send(2)
   */
  send(data: ArrayBufferView | string, flags = 0): SendResult {
    const fd = this.#open();
    const [bytes, length] = checkPayload(data);
    checkFlags(flags);
    return this.#sent(sendCall(fd, bytes, 0, length, flags | NOSIGNAL), flags);
  }

  /**
   * One sendto(2) to an IP literal (or 'localhost'), or with `{ path }` to an AF_UNIX datagram
   * socket's path (Socket.unixDgram; an abstract name on Linux).
   * @returns sent | would-block | timeout | interrupted | error (EMSGSIZE, EHOSTUNREACH; for a path
   *   ENOENT, ECONNREFUSED, EAGAIN when the receiver's queue is full, ...)
   * @see sendto(2)
   */
  sendTo(data: ArrayBufferView | string, to: { host: string; port: number } | { path: string }, flags = 0): SendResult {
    const fd = this.#open();
    const [bytes, length] = checkPayload(data);
    if (hasPath(to)) {
      checkPathOnly(to, 'to');
      const { path } = checkUnixPath(to.path, 'to.path');
      checkFlags(flags);
      return this.#sent(addon.sendto(fd, bytes, 0, length, flags | NOSIGNAL, constants.AF.UNIX, path, 0), flags);
    }
    const { host, port, family } = checkEndpoint(to, 'to', 0);
    checkFlags(flags);
    const ret = addon.sendto(fd, bytes, 0, length, flags | NOSIGNAL, familyNumber(family), host, port);
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
    throwIfFailed(addon.shutdown(fd, number), 'shutdown', PLATFORM);
  }

  /**
   * Abortive close: SO_LINGER {on, 0 s} then close(2), so the peer sees a RST (ECONNRESET)
   * instead of a FIN. Stream sockets only.
   * @see socket(7) SO_LINGER
   */
  reset(): void {
    const fd = this.#open();
    if (this.#context.socketType !== 'stream') {
      throw invalidState(`reset() needs a stream socket, not ${this.#context.socketType}`);
    }
    if (!this.#context.view.owned) {
      // close() would only let go of a shared descriptor: no RST would be sent.
      throw invalidState('reset() needs a socket this Socket owns (fromFd with owned: true)');
    }
    throwIfFailed(addon.setLinger(fd, true, 0), 'setsockopt', PLATFORM);
    this.close();
  }

  /**
   * getsockopt(SO_ERROR): the pending error, which reading clears (scenario tcp.rst.consumed:
   * a later recv then returns 0). Returns null when none is pending. An ECONNRESET taken
   * here is remembered in `readState`.
   */
  takeError(): { errno: number; code: string } | null {
    const fd = this.#open();
    const errno = throwIfFailed(addon.getsockopt(fd, constants.SOL.SOCKET, constants.SO.ERROR), 'getsockopt', PLATFORM);
    if (errno === 0) return null;
    const code = nameOf(errno, PLATFORM) ?? 'UNKNOWN';
    this.#remember({ kind: 'error', errno });
    return { errno, code };
  }

  /** ioctl(FIONREAD): bytes that a recv could take now without waiting. */
  available(): number {
    const fd = this.#open();
    return throwIfFailed(addon.fionread(fd), 'ioctl', PLATFORM);
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

  /**
   * Resolves 'ready' once the socket is readable (data, EOF or an error waiting: a recv will
   * not block), or 'timeout' after `timeout` ms. Never blocks the event loop: libuv's poll
   * handle for this socket does the waiting. Readiness can be spurious (docs/recv-semantics.md#trap-9): follow it with
   * a non-blocking recv and expect would-block now and then. Rejects with an AbortError when
   * `signal` aborts, and with ERR_SOCKET_CLOSED when the socket is closed meanwhile.
   * @see uv_poll_start (libuv)
   * @returns 'ready' | 'timeout'; rejects with AbortError, ERR_SOCKET_CLOSED, ERR_SOCKET_POLLED or a PollError
   */
  waitReadable(options: WaitOptions = {}): Promise<WaitOutcome> {
    return waitOn(this.#context, READABLE, options);
  }

  /**
   * Like {@link Socket.waitReadable}, for writability (a send will not block).
   * @returns 'ready' | 'timeout'; rejects as {@link Socket.waitReadable}
   * @see uv_poll_start (libuv)
   */
  waitWritable(options: WaitOptions = {}): Promise<WaitOutcome> {
    return waitOn(this.#context, WRITABLE, options);
  }

  #setTracked(blocking: boolean): void {
    this.#context.blocking = blocking;
  }

  /**
   * recv without blocking the event loop: waits for readability, makes one non-blocking recv,
   * and loops only on would-block until `timeout` ms have passed; then makes one last recv
   * (data that arrived just in time is returned), and if that would block too the result is
   * `timeout` with that call's own ret / errno / code (EAGAIN on Linux). The socket's blocking
   * mode and receive timeout are left as they are.
   * @returns data | eof | timeout (the last recv's own EAGAIN / WSAEWOULDBLOCK) | interrupted | error;
   *   rejects with AbortError or ERR_SOCKET_CLOSED
   * @see recv(2), uv_poll_start (libuv)
   */
  recvAsync(length: number, options: RecvAsyncOptions = NO_OPTIONS): Promise<RecvResult> {
    return this.#recvAsync(options, checkLength, length, RECV, this, length, undefined);
  }

  /**
   * {@link Socket.recvAsync} into the caller's buffer, as {@link Socket.recvInto}.
   * @returns as {@link Socket.recvAsync}
   * @see recv(2), uv_poll_start (libuv)
   */
  recvIntoAsync(
    buffer: ArrayBufferView,
    options: RecvAsyncOptions & { offset?: number; length?: number } = NO_OPTIONS,
  ): Promise<RecvResult> {
    // The first attempt validates buffer, offset and length before any wait.
    return this.#recvAsync(options, undefined, undefined, RECV_INTO, this, buffer, options);
  }

  /**
   * {@link Socket.recvAsync} for datagrams, as {@link Socket.recvFrom}.
   * @returns as {@link Socket.recvFrom}, with `timeout` at the deadline
   * @see recvmsg(2), uv_poll_start (libuv)
   */
  recvFromAsync(length: number, options: RecvAsyncOptions = NO_OPTIONS): Promise<RecvFromResult> {
    return this.#recvAsync(options, checkLength, length, RECV_FROM, this, length, undefined);
  }

  /**
   * {@link Socket.recvAsync} for batches, as {@link Socket.recvMany}: waits for readability, then
   * one recvmmsg with MSG_DONTWAIT (every message there is, up to one per buffer).
   * @returns as {@link Socket.recvMany}, with `timeout` at the deadline
   * @see recvmmsg(2), uv_poll_start (libuv)
   */
  recvManyAsync(buffers: readonly ArrayBufferView[], options: RecvAsyncOptions = NO_OPTIONS): Promise<RecvManyResult> {
    return this.#recvAsync(options, undefined, undefined, RECV_MANY, this, buffers, undefined);
  }

  /**
   * The async receive calls: checks (rejecting, never throwing), then the one async loop, which
   * makes `call(socket, b, c, flags)` (a shared function: a waiting call holds no closure).
   */
  #recvAsync<R extends { kind: string }, B, C>(
    options: RecvAsyncOptions,
    check: ((value: number) => void) | undefined,
    checked: number | undefined,
    call: Attempt<R, Socket, B, C>,
    socket: Socket,
    b: B,
    c: C,
  ): Promise<R | TimeoutResult> {
    try {
      // As every method: a closed socket says so first, before its arguments are looked at.
      this.#open();
      const checkedOptions = checkOptions(options, 'options');
      const { flags = 0 } = checkedOptions;
      check?.(checked as number);
      checkFlags(flags);
      const { deadline, signal } = deadlineOf(checkedOptions);
      return untilReadyWith(this.#context, READABLE, deadline, signal, call, socket, b, c, flags);
    } catch (error) {
      return rejection(error);
    }
  }

  /**
   * Sends every byte without blocking the event loop: non-blocking sends, waiting for
   * writability on would-block. Resolves `sent` with the total in `bytesSent` (and the last
   * call's `ret`), or the first failure result (would-block is never one; `timeout` only with
   * a `timeout` option), with `bytesSent` saying how much went before it.
   * @returns sent (every byte) | timeout | interrupted | error, with `bytesSent`; rejects with AbortError or
   *   ERR_SOCKET_CLOSED
   * @see send(2), uv_poll_start (libuv)
   */
  async sendAsync(data: ArrayBufferView | string, options: RecvAsyncOptions = {}): Promise<SendAsyncResult> {
    this.#open();
    const { flags = 0, ...wait } = checkOptions(options, 'options');
    const [bytes, length] = checkPayload(data);
    let total = length;
    checkFlags(flags);
    // One deadline for the whole call, however many sends it takes.
    const { deadline, signal } = deadlineOf(wait);
    let sent = 0;
    for (;;) {
      const result = await untilReady(
        this.#context,
        WRITABLE,
        deadline,
        signal,
        (f) => {
          // The view may have been detached or resized during the wait: measured again.
          total = attachedLength(bytes, 'data');
          return this.#sent(sendCall(this.#open(), bytes, sent, total - sent, f | NOSIGNAL), f);
        },
        flags,
      );
      if (result.kind !== 'sent') return { ...result, bytesSent: sent };
      sent += result.ret;
      if (sent >= total) return { kind: 'sent', ret: result.ret, errno: 0, bytesSent: sent };
    }
  }

  /**
   * Yields each chunk received (up to 64 KiB) until EOF, without blocking the event loop. Each
   * chunk is the caller's to keep. An error result (ECONNRESET, ...) is thrown as a SocketError.
   * Zero-length messages are dropped. A chunk that is there at once is read at once (no wait);
   * so that a peer that keeps the socket readable cannot hold the event loop, the loop takes one
   * turn of it (timers, I/O) every {@link TURN_EVERY} chunks and after every dropped zero-length
   * message. For a loop that copies nothing and allocates nothing, see {@link Socket.iterateInto}.
   */
  [Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    let buffer = Buffer.allocUnsafeSlow(CHUNK);
    return new Chunks(
      () => this.recvIntoAsync(buffer),
      (chunk) => {
        if (chunk.length < HAND_OVER) return Buffer.from(chunk);
        // A big chunk keeps the buffer it is in: the next recv gets a new one.
        buffer = Buffer.allocUnsafeSlow(CHUNK);
        return chunk;
      },
    );
  }

  /**
   * Like the async iterator, receiving every chunk into `buffer` (from its first byte, up to its
   * byte length): each yielded Buffer is a view of `buffer`, valid until the loop asks for the
   * next one. Nothing is copied and nothing is allocated per chunk (the view object is reused
   * while the length repeats).
   * @returns an async iterator of views of `buffer`, ending at EOF; throws a SocketError on an error result
   * @see recv(2), uv_poll_start (libuv)
   */
  iterateInto(buffer: ArrayBufferView): AsyncGenerator<Buffer, void, undefined> {
    this.#open();
    const length = attachedLength(checkView(buffer, 'buffer'), 'buffer');
    if (length < 1) throw outOfRange('buffer.byteLength', '>= 1', length);
    return new Chunks(
      () => this.recvIntoAsync(buffer),
      (chunk) => chunk,
    );
  }

  /**
   * A TCP connection without blocking the event loop: host names through `dns.lookup`, a
   * non-blocking connect(2) (EINPROGRESS), a wait for writability, then getsockopt(SO_ERROR).
   * With `{ path, type? }` instead of host and port, the same for an AF_UNIX stream or
   * seqpacket socket (no lookup; Linux answers a full listener's backlog with EAGAIN at once).
   * Rejects with a SocketError (ECONNREFUSED, ENETUNREACH, ENOENT, ...), an Error
   * `ERR_SOCKET_CONNECTION_TIMEOUT` after `timeout` ms, or an AbortError; nothing is left open.
   * The socket is returned in blocking mode, as every new socket.
   */
  static connect(options: ConnectOptions | UnixConnectOptions): Promise<Socket> {
    return connect(options, (fd, family, type) => Socket.#fresh(fd, type, family));
  }

  /**
   * Closes the descriptor (if owned) and sets `fd` to -1. Idempotent. The descriptor number
   * is given up before close(2) is made, so no later call can reach a reused number
   * (docs/recv-semantics.md#trap-7). An owner's close closes every Socket sharing the
   * descriptor, in this thread at once, in other threads before the close(2) happens.
   * A failing close(2) still frees the descriptor on Linux; it is reported as a SocketError.
   * @see close(2)
   */
  close(): void {
    if (this.#context.view.fd < 0) return;
    this.#last = undefined;
    this.#batchViews = undefined;
    this.#batchSources = undefined;
    this.#batchCall = undefined;
    // Pending waits reject with ERR_SOCKET_CLOSED, and libuv lets go of the descriptor first;
    // an owner's close closes every Socket sharing the descriptor in this thread too.
    const bound = this.#bound;
    this.#bound = undefined;
    try {
      throwIfFailed(detach(this.#context.view), 'close', PLATFORM);
    } finally {
      // The path this Socket bound (Socket.unixDgram), if it is still that socket's file.
      bound?.unlinkIfOurs();
    }
  }

  // --- recvmsg / sendmsg with control messages (src/message.ts, src/control.ts) -----------------

  /** What src/message.ts needs of this Socket: its own classification, so results match recvFrom's. */
  #messageHooks(fd: number): MessageHooks {
    return {
      family: this.#family,
      classify: (ret, length, flags, msgFlags) => this.#classify(fd, ret, length, flags, msgFlags),
      checkFlags: (flags) => this.#checkStreamFlags(flags),
      sent: (ret, flags) => this.#sent(ret, flags),
      descriptorOf: (value) => (value instanceof Socket ? value.fd : undefined),
      adopt: (received, blocking) => Socket.adopt(received, true, blocking, true),
    };
  }

  /**
   * One recvmsg(2) with a control buffer of `options.control` bytes (default 1024). The result is
   * recvFrom's, classified the same way, and a data result adds `msgFlags` (raw and decoded:
   * truncated, controlTruncated, eor, oob, errqueue) and `control`, the control messages decoded
   * (IP_PKTINFO, IP_TOS, IP_TTL, SO_TIMESTAMPNS, SCM_RIGHTS, SCM_CREDENTIALS, UDP_GRO, IP_RECVERR
   * and their IPv6 forms; anything else raw). Descriptors received in SCM_RIGHTS (close-on-exec)
   * must be taken or closed (ReceivedDescriptor); also those that arrived before MSG_CTRUNC cut
   * the rest. `flags: constants.MSG.ERRQUEUE` reads the error queue, which never waits: its EAGAIN
   * is would-block. Turn the control messages on with {@link Socket.setRecvOptions}.
   * @returns data (with sender, msgFlags, control) | eof | would-block | timeout | interrupted |
   *   error (ECONNREFUSED after ICMP, ...), as {@link Socket.recvFrom}
   * @see recvmsg(2), cmsg(3), ip(7), ipv6(7), unix(7), socket(7) SO_TIMESTAMPNS
   */
  recvMsg(length: number, options?: RecvMsgOptions): RecvMsgResult {
    const fd = this.#open();
    return recvMsg(fd, length, options, this.#messageHooks(fd));
  }

  /**
   * The next entry of the error queue (IP_RECVERR / IPV6_RECVERR set with setRecvOptions):
   * recvmsg(2) with MSG_ERRQUEUE | MSG_DONTWAIT, its sock_extended_err decoded as `error` (errno
   * and name, origin, ICMP type and code, info, offender address), `data` the start of the
   * datagram it is about and `address` / `port` where that was sent. Linux only (ERR_NOT_SUPPORTED
   * elsewhere).
   * @returns queued-error | would-block (EAGAIN: the queue is empty) | error
   * @see recvmsg(2) MSG_ERRQUEUE, ip(7) IP_RECVERR
   */
  recvError(length = 512, options?: { control?: number }): RecvErrorResult {
    const fd = this.#open();
    return recvError(fd, length, options, this.#messageHooks(fd));
  }

  /**
   * One sendmsg(2): `data` to `options.to` (or the connected peer) with control messages:
   * `rights` (SCM_RIGHTS, AF_UNIX: Sockets or descriptor numbers, duplicated by the kernel at the
   * call), `pktinfo` (IP_PKTINFO / IPV6_PKTINFO: the source address or interface), `tos`
   * (IP_TOS / IPV6_TCLASS). MSG_NOSIGNAL is added where it exists.
   * @returns sent | would-block | timeout | interrupted | error (EPERM, EINVAL for a source address that is not ours, ...)
   * @see sendmsg(2), cmsg(3), unix(7) SCM_RIGHTS, ip(7) IP_PKTINFO
   */
  sendMsg(data: ArrayBufferView | string, options?: SendMsgOptions): SendResult {
    const fd = this.#open();
    return sendMsg(fd, data, options, this.#messageHooks(fd));
  }

  /**
   * Turns control messages on or off, one setsockopt(2) each, per family (IP_* on IPv4, IPV6_* on
   * IPv6): `pktinfo`, `tos`, `ttl`, `timestamp` (SO_TIMESTAMPNS), `credentials` (SO_PASSCRED),
   * `gro` (UDP_GRO), `recvErr` (IP_RECVERR). An option this platform or socket does not have is
   * ERR_NOT_SUPPORTED naming it, before any call; a failing call throws a SocketError.
   * @see setsockopt(2), ip(7), ipv6(7), socket(7), udp(7)
   */
  setRecvOptions(options: RecvOptions): void {
    const fd = this.#open();
    setRecvOptions(fd, options, { family: this.#family });
  }
}

/**
 * The receive loop of both async iterators, written out rather than as an async generator: a
 * chunk that is there at once costs its recvIntoAsync promise and one `then`, where a generator
 * adds a promise and microtask turns for its await and its yield (and the default iterator was a
 * generator over another). Like a generator, it serves next() calls one after another (a
 * next() made while one is pending runs after it), and it is done after eof, an error, return()
 * or throw(). Every {@link TURN_EVERY} chunks, and after a zero-length message, the next recv
 * waits for a turn of the event loop (see Socket[Symbol.asyncIterator]).
 */
class Chunks implements AsyncGenerator<Buffer, void, undefined> {
  #sinceTurn = 0;
  #done = false;
  /** A next() is pending: what it returned, so that a later call can wait for it. */
  #busy: Promise<IteratorResult<Buffer, void>> | undefined;

  constructor(
    /** One recvIntoAsync into the iterator's buffer. */
    private readonly receive: () => Promise<RecvResult>,
    /** What a received view becomes as the chunk yielded. */
    private readonly take: (data: Buffer) => Buffer,
  ) {}

  next(): Promise<IteratorResult<Buffer, void>> {
    const busy = this.#busy;
    if (busy !== undefined) return busy.then(this.#next, this.#next);
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    let step: Promise<IteratorResult<Buffer, void>>;
    if (this.#sinceTurn >= TURN_EVERY) {
      this.#sinceTurn = 0;
      step = nextTurn().then(this.#receive);
    } else {
      step = this.#receive();
    }
    this.#busy = step;
    return step;
  }

  /** next() as a function of its own (made once): the continuation of a pending one. */
  readonly #next = (): Promise<IteratorResult<Buffer, void>> => this.next();

  readonly #receive = (): Promise<IteratorResult<Buffer, void>> => this.receive().then(this.#onResult, this.#onError);

  readonly #onResult = (result: RecvResult): IteratorResult<Buffer, void> | Promise<IteratorResult<Buffer, void>> => {
    if (result.kind === 'data' && result.bytesRead > 0) {
      this.#busy = undefined;
      this.#sinceTurn++;
      return { value: this.take(result.data), done: false };
    }
    if (result.kind === 'data') {
      // A zero-length message: dropped, after a turn of the event loop (a peer sending nothing
      // but those would otherwise hold it).
      this.#sinceTurn = 0;
      return nextTurn().then(this.#receive);
    }
    this.#busy = undefined;
    this.#done = true;
    if (result.kind === 'eof') return { value: undefined, done: true };
    throw new SocketError('recv', result.errno, { platform: PLATFORM });
  };

  readonly #onError = (error: unknown): never => {
    this.#busy = undefined;
    this.#done = true;
    throw error;
  };

  // return() and throw() made while a next() is pending wait their turn as next() does: after the
  // pending one settles they ask again, so a next() made before them (which runs first, and may
  // then be the pending one) is served before the iterator is done, as a generator's queue is.
  return(value?: void | PromiseLike<void>): Promise<IteratorResult<Buffer, void>> {
    const busy = this.#busy;
    if (busy !== undefined) {
      const again = (): Promise<IteratorResult<Buffer, void>> => this.return(value);
      return busy.then(again, again);
    }
    this.#done = true;
    return Promise.resolve(value).then((resolved) => ({ value: resolved, done: true }));
  }

  throw(error: unknown): Promise<IteratorResult<Buffer, void>> {
    const busy = this.#busy;
    if (busy !== undefined) {
      const again = (): Promise<IteratorResult<Buffer, void>> => this.throw(error);
      return busy.then(again, again);
    }
    this.#done = true;
    // As a generator's throw(): the value thrown in, whatever it is.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
