/**
 * The one place where a recv(2) outcome becomes a typed result. Pure: it knows all four
 * platforms' numbers, so it is tested for each of them on any OS.
 * @module
 */
import { errnoNumber, nameOf, PLATFORMS, portableCode, type Platform } from './errno.js';
import { invalidArgType, invalidArgValue } from './errors.js';
import { checkInteger } from './validate.js';
import { getSystemErrorMap } from 'node:util';

/** `SOCK_STREAM`, `SOCK_DGRAM` or `SOCK_SEQPACKET`. */
export type SocketType = 'stream' | 'dgram' | 'seqpacket';

/** A system call's own outcome: `ret` as returned, `errno` positive (0 on success). */
export interface RawOutcome {
  ret: number;
  errno: number;
  /** recvmsg's `msg_flags`, when the call was recvmsg (MSG_TRUNC tells a truncated datagram). */
  msgFlags?: number;
}

/** What classification needs to know besides the numbers. */
export interface ClassifyContext {
  platform: Platform;
  socketType: SocketType;
  /** The length asked for. */
  requested: number;
  /** Whether the socket was in blocking mode (O_NONBLOCK clear / FIONBIO 0). */
  blocking: boolean;
  /** SO_RCVTIMEO in milliseconds, 0 for none. */
  receiveTimeout: number;
  /** The MSG_* flags the call was made with. */
  flags: number;
}

/** The failure kinds every call shares (recv, send, accept). */
export type FailureResult =
  | { kind: 'would-block'; ret: -1; errno: number; code: string; portableCode: string }
  | { kind: 'timeout'; ret: -1; errno: number; code: string; portableCode: string }
  | { kind: 'interrupted'; ret: -1; errno: number; code: string; portableCode: string }
  | { kind: 'error'; ret: -1; errno: number; code: string; portableCode: string; message: string };

/**
 * The result of a typed recv. A data result's `errno` is 0, except one case: Windows reports a
 * datagram longer than the buffer as ret -1, WSAEMSGSIZE (10040), with the buffer filled; that
 * is data, and it keeps the call's own ret and errno.
 */
export type RecvResult =
  | { kind: 'data'; ret: number; errno: number; bytesRead: number; data: Buffer }
  | { kind: 'eof'; ret: 0; errno: 0 }
  | FailureResult;

/** The result of `send` / `sendTo`. */
export type SendResult = { kind: 'sent'; ret: number; errno: 0; bytesSent: number } | FailureResult;

/** The result of `sendAsync`: every byte sent, or the first failure and how much went before it. */
export type SendAsyncResult =
  { kind: 'sent'; ret: number; errno: 0; bytesSent: number } | (FailureResult & { bytesSent: number });

/**
 * What a stream socket's receive side has seen, kept because the kernel tells some things
 * once (docs/recv-semantics.md#trap-2: ECONNRESET is reported once, then recv returns a plain 0).
 * 'open' until the first eof / reset / error; 'eof' can still become 'reset' or 'error'
 * (a RST after the FIN), but 'reset' and 'error' never change again.
 */
export type ReadState = 'open' | 'eof' | 'reset' | 'error';

/**
 * An address as the typed API gives it (a datagram's sender, `localAddress()`, `remoteAddress()`,
 * `server.address()`): an IP address and port, or for AF_UNIX the path.
 */
export type Origin = IpOrigin | UnixOrigin;

/** An IPv4 or IPv6 address and port, like Node's `server.address()`. */
export interface IpOrigin {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/**
 * An AF_UNIX address: `path` is the socket's path, '' for an unnamed socket (a socketpair, a
 * datagram sender that never bound); a Linux abstract name starts with '\0'. `address` is the
 * same string and `port` 0, so code written for IP addresses keeps working.
 */
export interface UnixOrigin {
  family: 'unix';
  path: string;
  address: string;
  port: 0;
}

/**
 * The result of `recvFrom`: a data result says who sent it and whether it was cut short.
 * `errno` is 0 except on Windows, where a truncated datagram is ret -1, WSAEMSGSIZE (10040).
 */
export type RecvFromResult =
  | ({ kind: 'data'; ret: number; errno: number; bytesRead: number; data: Buffer; truncated: boolean } & Origin)
  | { kind: 'eof'; ret: 0; errno: 0 }
  | FailureResult;

/** One message of a {@link RecvManyResult}: what `recvFrom` says of one datagram. */
export type ReceivedMessage = {
  /** Bytes in `data` (at most the buffer's length). */
  bytesRead: number;
  /** A view of the message's buffer: nothing is copied. */
  data: Buffer;
  /** The message was longer than its buffer, and the rest was discarded (MSG_TRUNC, WSAEMSGSIZE). */
  truncated: boolean;
} & Origin;

/**
 * The result of `recvMany`: `ret` is the call's own (recvmmsg's count of messages); `messages`
 * holds them, except a stream's end (a 0 after data), which the next call reports as `eof`.
 */
export type RecvManyResult =
  | { kind: 'data'; ret: number; errno: 0; messages: ReceivedMessage[] }
  | { kind: 'eof'; ret: 0; errno: 0 }
  | FailureResult;

/** The result of `sendMany`: how many messages went (`ret`, as sendmmsg says) and each one's byte count. */
export type SendManyResult =
  { kind: 'sent'; ret: number; errno: 0; messagesSent: number; bytesSent: number[] } | FailureResult;

/** {@link classify}'s answer: a result without the payload, which only the caller has. */
export type Classification =
  | { kind: 'data'; ret: number; errno: number; bytesRead: number; truncated: boolean }
  | { kind: 'eof'; ret: 0; errno: 0 }
  | FailureResult;

/** The numbers classification needs, per platform, from each one's headers. */
interface PlatformFacts {
  /** EAGAIN and EWOULDBLOCK (equal on all three POSIX ones), WSAEWOULDBLOCK on Windows. */
  readonly wouldBlock: number;
  readonly interrupted: number;
  /** ETIMEDOUT / WSAETIMEDOUT. */
  readonly timedOut: number;
  /** EMSGSIZE / WSAEMSGSIZE. */
  readonly messageSize: number;
  /** MSG_DONTWAIT (0: Windows has none). */
  readonly dontWait: number;
  /** MSG_TRUNC as it appears in recvmsg's msg_flags. */
  readonly truncated: number;
  /** The would-block number's name, looked up once: it is the hot path. */
  readonly wouldBlockCode: string;
}

/** MSG_DONTWAIT and MSG_TRUNC per platform (Windows has no MSG_DONTWAIT). */
const MESSAGE_FLAGS: Readonly<Record<Platform, { dontWait: number; truncated: number }>> = {
  linux: { dontWait: 0x40, truncated: 0x20 },
  darwin: { dontWait: 0x80, truncated: 0x10 },
  freebsd: { dontWait: 0x80, truncated: 0x10 },
  win32: { dontWait: 0, truncated: 0x100 },
};

/** An error's number on `platform`, from the one errno table; Winsock spells the names with WSA. */
function numberOf(platform: Platform, name: string): number | undefined {
  return errnoNumber(platform === 'win32' ? `WSA${name}` : name, platform);
}

function factsOf(platform: Platform): PlatformFacts {
  const number = (name: string): number => {
    const value = numberOf(platform, name);
    if (value === undefined) throw new Error(`errno table for ${platform} lacks ${name}`);
    return value;
  };
  return Object.freeze({
    wouldBlock: number(platform === 'win32' ? 'EWOULDBLOCK' : 'EAGAIN'),
    interrupted: number('EINTR'),
    timedOut: number('ETIMEDOUT'),
    messageSize: number('EMSGSIZE'),
    wouldBlockCode: platform === 'win32' ? 'WSAEWOULDBLOCK' : 'EAGAIN',
    ...MESSAGE_FLAGS[platform],
  });
}

/** A frozen table with `make(platform)` for each of the four platforms. */
function perPlatform<T>(make: (platform: Platform) => T): Readonly<Record<Platform, T>> {
  return Object.freeze(Object.fromEntries(PLATFORMS.map((platform) => [platform, make(platform)]))) as Record<
    Platform,
    T
  >;
}

const FACTS = perPlatform(factsOf);

/** The MSG_* flag values of a platform that classification depends on. */
export function messageFlags(platform: Platform): { readonly dontWait: number; readonly truncated: number } {
  return MESSAGE_FLAGS[platform];
}

let messages: Map<string, string> | undefined;

/** A human sentence for an error code, from libuv's table for this OS (`WSA` prefixes dropped). */
export function errorMessage(code: string): string {
  if (!messages) {
    messages = new Map();
    for (const [name, message] of getSystemErrorMap().values()) messages.set(name, message);
  }
  const plain = code.startsWith('WSA') ? code.slice(3) : code;
  return messages.get(plain) ?? `system error ${code}`;
}

type FailureKind = FailureResult['kind'];

/**
 * Failure results are frozen and shared, one per platform, kind and errno: they carry nothing
 * of the call but its numbers, so a would-block or timeout allocates nothing.
 */
const failures = new Map<Platform, Map<number, FailureResult>>();
const KIND_INDEX: Readonly<Record<FailureKind, number>> = { 'would-block': 0, timeout: 1, interrupted: 2, error: 3 };

function failure(kind: FailureKind, errno: number, code: string, platform: Platform): FailureResult {
  let ofPlatform = failures.get(platform);
  if (ofPlatform === undefined) failures.set(platform, (ofPlatform = new Map<number, FailureResult>()));
  const key = errno * 4 + KIND_INDEX[kind];
  const known = ofPlatform.get(key);
  if (known !== undefined) return known;
  const result = Object.freeze(
    kind === 'error'
      ? { kind, ret: -1, errno, code, portableCode: portableCode(code), message: errorMessage(code) }
      : { kind, ret: -1, errno, code, portableCode: portableCode(code) },
  ) as FailureResult;
  ofPlatform.set(key, result);
  return result;
}

/** Per platform: the frozen would-block and timeout results of its would-block number. */
const WOULD_BLOCK = perPlatform((platform) => {
  const { wouldBlock, wouldBlockCode } = FACTS[platform];
  return {
    wouldBlock: failure('would-block', wouldBlock, wouldBlockCode, platform),
    timedOut: failure('timeout', wouldBlock, wouldBlockCode, platform),
  };
});

/**
 * @internal The would-block number of `platform` and its two frozen results, for the hot paths
 * that tell would-block apart before classifying (src/socket.ts).
 */
export function wouldBlockResults(platform: Platform): {
  readonly errno: number;
  readonly wouldBlock: FailureResult;
  readonly timedOut: FailureResult;
} {
  return { errno: FACTS[platform].wouldBlock, ...WOULD_BLOCK[platform] };
}

/** The frozen eof result. */
export const EOF: { readonly kind: 'eof'; readonly ret: 0; readonly errno: 0 } = Object.freeze({
  kind: 'eof',
  ret: 0,
  errno: 0,
});

/**
 * Classifies a failed call (`ret` -1) shared by recv, send and accept. `timeout` is the
 * SO_RCVTIMEO / SO_SNDTIMEO that applies, in milliseconds. The result is frozen and shared.
 */
export function classifyFailure(
  errno: number,
  platform: Platform,
  blocking: boolean,
  timeout: number,
  flags: number,
): FailureResult {
  const facts = FACTS[platform];
  if (errno === facts.wouldBlock) {
    // Unix reports an expired SO_RCVTIMEO as EAGAIN (docs/recv-semantics.md#trap-3): only the mode tells them apart.
    const timedOut = blocking && timeout > 0 && (flags & facts.dontWait) === 0;
    return timedOut ? WOULD_BLOCK[platform].timedOut : WOULD_BLOCK[platform].wouldBlock;
  }
  const code = nameOf(errno, platform) ?? 'UNKNOWN';
  if (errno === facts.interrupted) return failure('interrupted', errno, code, platform);
  // Windows reports an expired SO_RCVTIMEO as WSAETIMEDOUT; on POSIX ETIMEDOUT always means
  // the connection died (keepalive, user timeout), never a receive timeout.
  if (platform === 'win32' && errno === facts.timedOut && blocking && timeout > 0) {
    return failure('timeout', errno, code, platform);
  }
  return failure('error', errno, code, platform);
}

/**
 * The classification every typed recv uses, without validation (the Socket has validated).
 * `msgFlags` is recvmsg's msg_flags, or 0.
 */
export function classifyOutcome(
  ret: number,
  errno: number,
  msgFlags: number,
  context: ClassifyContext,
): Classification {
  const { platform, socketType, requested } = context;
  if (ret >= 0) {
    // 0 is end-of-stream only on a stream socket asked for at least one byte (docs/recv-semantics.md#trap-1);
    // on a datagram or seqpacket socket it is a zero-length message.
    if (ret === 0 && socketType === 'stream' && requested >= 1) return EOF;
    // Linux's MSG_TRUNC input flag makes recv return the datagram's real length.
    const truncated = ret > requested || (msgFlags & FACTS[platform].truncated) !== 0;
    return { kind: 'data', ret, errno: 0, bytesRead: Math.min(ret, requested), truncated };
  }
  if (platform === 'win32' && errno === FACTS.win32.messageSize && socketType !== 'stream') {
    // Winsock fills the buffer, drops the rest of the datagram, and fails with WSAEMSGSIZE.
    return { kind: 'data', ret, errno, bytesRead: requested, truncated: true };
  }
  return classifyFailure(errno, platform, context.blocking, context.receiveTimeout, context.flags);
}

/** The numbers of the named errors on `platform` (Winsock spells them with WSA). */
function numbers(platform: Platform, names: readonly string[]): ReadonlySet<number> {
  const set = new Set<number>();
  for (const name of names) {
    const number = numberOf(platform, name);
    if (number !== undefined) set.add(number);
  }
  return set;
}

/** Errors after which a connection can deliver no more data; ECONNRESET is told apart. */
const DEAD = [
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ENETRESET',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
];

const FATE = perPlatform((platform) => ({ reset: numbers(platform, ['ECONNRESET']), dead: numbers(platform, DEAD) }));

/**
 * What a stream socket's error says about its connection, which the kernel tells once
 * (docs/recv-semantics.md#trap-2): 'reset' for ECONNRESET / WSAECONNRESET, 'dead' for errors
 * after which no more data can come (ETIMEDOUT, ECONNREFUSED, ECONNABORTED, ENETRESET, and
 * unreachable or down networks), undefined for anything else (EAGAIN, EINTR, ENOTCONN, ...).
 */
export function connectionFate(errno: number, platform: Platform): 'reset' | 'dead' | undefined {
  const fate = FATE[platform];
  if (fate.reset.has(errno)) return 'reset';
  return fate.dead.has(errno) ? 'dead' : undefined;
}

// Winsock's non-blocking connect says WSAEWOULDBLOCK; a POSIX connect(2)'s EAGAIN is a real failure.
const IN_PROGRESS = perPlatform((platform) =>
  numbers(platform, [platform === 'win32' ? 'EWOULDBLOCK' : 'EINPROGRESS']),
);

/** Whether a non-blocking connect(2)'s error means "in progress": EINPROGRESS, WSAEWOULDBLOCK. */
export function connectInProgress(errno: number, platform: Platform): boolean {
  return IN_PROGRESS[platform].has(errno);
}

const SOCKET_TYPES: readonly SocketType[] = ['stream', 'dgram', 'seqpacket'];

/**
 * Maps a recv outcome to its kind, the rules in one place:
 * - `ret > 0`: data. `ret == 0`: eof on a stream socket asked for >= 1 byte, else a zero-length message.
 * - EAGAIN / EWOULDBLOCK / WSAEWOULDBLOCK: `timeout` on a blocking socket with a receive timeout
 *   and without MSG_DONTWAIT, else `would-block`. WSAETIMEDOUT with a receive timeout: `timeout`.
 * - EINTR / WSAEINTR: `interrupted` (never retried). Windows WSAEMSGSIZE on a datagram: truncated data.
 * - Anything else (ECONNRESET, ETIMEDOUT, ...): `error`, with libuv's message.
 *
 * @param raw - the call's `ret` and positive `errno` (and recvmsg's `msgFlags`, if any).
 * @param context - the platform whose numbers these are, and the socket's state at the call.
 * @returns the result without `data` (and without the sender, for datagrams).
 * @see recv(2), recvmsg(2), socket(7) SO_RCVTIMEO, Winsock `recv`
 */
export function classify(raw: RawOutcome, context: ClassifyContext): Classification {
  if (typeof raw !== 'object' || raw === null) throw invalidArgType('raw', 'of type object', raw);
  if (typeof context !== 'object' || context === null) throw invalidArgType('context', 'of type object', context);
  checkInteger(raw.ret, 'raw.ret', -1, 2 ** 31 - 1);
  checkInteger(raw.errno, 'raw.errno', 0, 2 ** 31 - 1);
  if (raw.ret === -1 && raw.errno === 0) throw invalidArgValue('raw.errno', raw.errno, 'must be set when ret is -1');
  if (raw.msgFlags !== undefined) checkInteger(raw.msgFlags, 'raw.msgFlags', 0, 2 ** 31 - 1);
  if (!PLATFORMS.includes(context.platform)) {
    throw invalidArgValue('context.platform', context.platform, `must be one of ${PLATFORMS.join(', ')}`);
  }
  if (!SOCKET_TYPES.includes(context.socketType)) {
    throw invalidArgValue('context.socketType', context.socketType, `must be one of ${SOCKET_TYPES.join(', ')}`);
  }
  checkInteger(context.requested, 'context.requested', 0, 2 ** 31 - 1);
  if (typeof context.blocking !== 'boolean')
    throw invalidArgType('context.blocking', 'of type boolean', context.blocking);
  checkInteger(context.receiveTimeout, 'context.receiveTimeout', 0, 2 ** 32 - 1);
  checkInteger(context.flags, 'context.flags', 0, 2 ** 31 - 1);
  return classifyOutcome(raw.ret, raw.errno, raw.msgFlags ?? 0, context);
}
