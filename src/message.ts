/**
 * recvMsg, sendMsg, recvError and setRecvOptions: recvmsg(2) / sendmsg(2) with control messages,
 * and the socket options that ask for them. Each function takes the descriptor and what it needs
 * of its Socket (`MessageHooks`): the Socket's own classification, so that a recvMsg result is
 * exactly what recvFrom would say, and its send classification. The Socket methods are thin
 * wrappers (src/socket.ts).
 * @module
 */
import { addon } from './addon.js';
import { checkEndpoint, familyNumber, toOrigin, type Family } from './address.js';
import type { Classification, FailureResult, Origin, SendResult } from './classify.js';
import { constants, PLATFORM } from './constants.js';
import {
  closeReceived,
  decodeControl,
  decodeMsgFlags,
  encodeControl,
  required,
  type Adopt,
  type ControlMessage,
  type ExtendedError,
  type MsgFlags,
  type SendControl,
} from './control.js';
import { invalidArgType, invalidArgValue, notSupported, throwIfFailed } from './errors.js';
import { checkBoolean, checkFlags, checkInteger, checkLength, checkOptions, checkPayload } from './validate.js';

/** Options of {@link recvMsg}. */
export interface RecvMsgOptions {
  /** MSG_* flags (constants.MSG): PEEK, DONTWAIT, ERRQUEUE, TRUNC, ... */
  flags?: number;
  /** The control buffer's size in bytes (default {@link DEFAULT_CONTROL}); too small: MSG_CTRUNC. */
  control?: number;
}

/**
 * The result of `recvMsg`: recvFrom's, and for data the decoded `msg_flags` and control messages.
 * Descriptors received in SCM_RIGHTS are in `control` (see ReceivedDescriptor): take or close them.
 */
export type RecvMsgResult =
  | ({
      kind: 'data';
      ret: number;
      errno: number;
      bytesRead: number;
      data: Buffer;
      truncated: boolean;
      msgFlags: MsgFlags;
      control: ControlMessage[];
    } & Origin)
  | { kind: 'eof'; ret: 0; errno: 0 }
  | FailureResult;

/**
 * The result of `recvError`: an entry of the error queue (`queued-error`), or would-block when the
 * queue is empty (or another failure). `data` is the start of the datagram the error is about, and
 * address / port where it was sent; `error` the decoded sock_extended_err (null only if the entry
 * came without one).
 */
export type RecvErrorResult =
  | ({
      kind: 'queued-error';
      ret: number;
      errno: 0;
      error: ExtendedError | null;
      bytesRead: number;
      data: Buffer;
      truncated: boolean;
      msgFlags: MsgFlags;
      control: ControlMessage[];
    } & Origin)
  | { kind: 'eof'; ret: 0; errno: 0 }
  | FailureResult;

/** What {@link Socket.setRecvOptions} turns on (true) or off (false); an option left out is not touched. */
export interface RecvOptions {
  /** IP_PKTINFO / IPV6_RECVPKTINFO: each datagram's destination address and interface. */
  pktinfo?: boolean;
  /** IP_RECVTOS / IPV6_RECVTCLASS: the TOS / traffic class byte, ECN included (Windows: IP_RECVECN, the ECN bits). */
  tos?: boolean;
  /** IP_RECVTTL / IPV6_RECVHOPLIMIT: the TTL / hop limit. */
  ttl?: boolean;
  /** SO_TIMESTAMPNS: when the kernel received each message, in nanoseconds. */
  timestamp?: boolean;
  /** SO_PASSCRED (AF_UNIX, Linux): the sender's pid, uid and gid. */
  credentials?: boolean;
  /** UDP_GRO (Linux): datagrams may arrive coalesced, with their segment size. */
  gro?: boolean;
  /** IP_RECVERR / IPV6_RECVERR: ICMP and local errors go to the error queue, with the offender. */
  recvErr?: boolean;
}

/** @internal What the message functions need of their Socket. */
export interface MessageHooks {
  readonly family: Family;
  /** The Socket's classification of one receive (the same as recvFrom's: state, seqpacket EOF, readState). */
  classify(ret: number, length: number, flags: number, msgFlags: number): Classification;
  /** The Socket's refusal of flags it does not take on its type (MSG_TRUNC on a stream). */
  checkFlags(flags: number): void;
  /** The Socket's classification of a send. */
  sent(ret: number, flags: number): SendResult;
  /** A Socket's descriptor (-1 when closed), undefined for anything that is not a Socket. */
  descriptorOf(value: unknown): number | undefined;
  /** Makes an owned Socket of a received descriptor. */
  adopt: Adopt;
}

/** The control buffer's default size: room for every control message rawrecv decodes at once, and 64 descriptors. */
export const DEFAULT_CONTROL = 1024;
/** @internal The largest control buffer (the addon's limit). */
export const MAX_CONTROL = 1 << 20;

const { MSG } = constants;
const NOSIGNAL = MSG.NOSIGNAL ?? 0;

/**
 * @internal One recvmsg(2) with a control buffer. MSG_ERRQUEUE never waits (the error queue is read as it
 * is), so its EAGAIN is `would-block` even on a blocking socket with a receive timeout.
 */
export function recvMsg(
  fd: number,
  length: number,
  options: RecvMsgOptions | undefined,
  hooks: MessageHooks,
): RecvMsgResult {
  checkLength(length);
  const { flags = 0, control = DEFAULT_CONTROL } = checkOptions(options, 'options');
  checkFlags(flags);
  hooks.checkFlags(flags);
  checkInteger(control, 'options.control', 0, MAX_CONTROL);
  const buffer = Buffer.allocUnsafe(length);
  const raw = addon.recvmsgControl(fd, buffer, 0, length, flags, control);
  // Descriptors first: whatever follows, none is left unowned.
  const messages = typeof raw === 'number' ? [] : decodeControl(raw.control, hooks.adopt);
  const ret = typeof raw === 'number' ? raw : raw.ret;
  const errqueue = MSG.ERRQUEUE !== undefined && (flags & MSG.ERRQUEUE) !== 0;
  const classifyFlags = errqueue ? flags | (MSG.DONTWAIT ?? 0) : flags;
  const outcome = hooks.classify(ret, length, classifyFlags, typeof raw === 'number' ? 0 : raw.msgFlags);
  if (outcome.kind !== 'data') {
    closeReceived(messages);
    return outcome;
  }
  const from = typeof raw === 'number' ? { family: 0, address: '', port: 0, msgFlags: 0 } : raw;
  return {
    kind: 'data',
    ret: outcome.ret,
    errno: outcome.errno,
    bytesRead: outcome.bytesRead,
    data: buffer.subarray(0, outcome.bytesRead),
    truncated: outcome.truncated,
    ...toOrigin(from, hooks.family),
    msgFlags: decodeMsgFlags(from.msgFlags),
    control: messages,
  };
}

/** @internal One recvmsg(2) with MSG_ERRQUEUE (and MSG_DONTWAIT): the error queue's next entry, decoded. */
export function recvError(
  fd: number,
  length: number,
  options: { control?: number } | undefined,
  hooks: MessageHooks,
): RecvErrorResult {
  const errqueue = required(MSG.ERRQUEUE, 'recvError (MSG_ERRQUEUE)');
  // AF_UNIX has no error queue, and Linux's unix recvmsg ignores the flag: the call would take
  // the next ordinary message (descriptors and all) as if it were an error.
  if (hooks.family === 'unix') throw notSupported('recvError (MSG_ERRQUEUE) on an AF_UNIX socket');
  const { control } = checkOptions(options, 'options');
  const result = recvMsg(fd, length, { flags: errqueue | (MSG.DONTWAIT ?? 0), control }, hooks);
  if (result.kind !== 'data') return result;
  let error: ExtendedError | null = null;
  for (const message of result.control) {
    if (message.name === 'IP_RECVERR' || message.name === 'IPV6_RECVERR') {
      error = message.error;
      break;
    }
  }
  return { ...result, kind: 'queued-error', errno: 0, error };
}

/** Options of {@link sendMsg}. */
export interface SendMsgOptions {
  /** The destination (an IP literal and port); without it, the connected peer. */
  to?: { host: string; port: number };
  /** The control messages to send. */
  control?: SendControl;
  /** MSG_* flags (MSG_NOSIGNAL is added where it exists). */
  flags?: number;
}

/** @internal One sendmsg(2) with control messages. */
export function sendMsg(
  fd: number,
  data: ArrayBufferView | string,
  options: SendMsgOptions | undefined,
  hooks: MessageHooks,
): SendResult {
  const [bytes, length] = checkPayload(data);
  const { to, control, flags = 0 } = checkOptions(options, 'options');
  checkFlags(flags);
  const endpoint = to === undefined ? undefined : checkEndpoint(to, 'options.to', 0);
  if (endpoint !== undefined && hooks.family !== 'unix' && endpoint.family !== hooks.family) {
    throw invalidArgType('options.to.host', `an ${hooks.family} address`, endpoint.host);
  }
  const entries =
    control === undefined ? [] : encodeControl(control, hooks.family, (value) => hooks.descriptorOf(value));
  const ret = addon.sendmsgControl(
    fd,
    bytes,
    0,
    length,
    flags | NOSIGNAL,
    endpoint === undefined ? 0 : familyNumber(endpoint.family),
    endpoint?.host ?? '',
    endpoint?.port ?? 0,
    entries,
  );
  return hooks.sent(ret, flags);
}

/** One option of setRecvOptions: its level and number for this family, or why it cannot be had. */
function optionFor(key: keyof RecvOptions, family: Family): [level: number, name: number] {
  const { IP, SO, SOL, IPPROTO, CMSG } = constants;
  const inet = family === 'IPv4';
  const ipLevel = inet ? IPPROTO.IP : IPPROTO.IPV6;
  const what = (v4: string, v6: string): string =>
    `setRecvOptions({ ${key} }) (${inet || family === 'unix' ? v4 : v6})`;
  const ip = (v4: string, v6: string): [number, number] => {
    if (family === 'unix') throw notSupported(`${what(v4, v6)} on an AF_UNIX socket`);
    return [ipLevel, required(IP[inet ? v4 : v6], what(v4, v6))];
  };
  switch (key) {
    case 'pktinfo':
      // Windows names the IPv6 option as its control message: IPV6_PKTINFO (RFC 2292's name).
      return PLATFORM === 'win32' ? ip('IP_PKTINFO', 'IPV6_PKTINFO') : ip('IP_PKTINFO', 'IPV6_RECVPKTINFO');
    case 'tos':
      // Windows has no IP_RECVTOS before 10 1903 and delivers ECN through IP_RECVECN.
      return PLATFORM === 'win32' ? ip('IP_RECVECN', 'IPV6_RECVECN') : ip('IP_RECVTOS', 'IPV6_RECVTCLASS');
    case 'ttl':
      if (PLATFORM === 'win32') throw notSupported(what('IP_RECVTTL', 'IPV6_RECVHOPLIMIT'));
      return ip('IP_RECVTTL', 'IPV6_RECVHOPLIMIT');
    case 'recvErr':
      // Windows defines IP_RECVERR but has no error queue (MSG_ERRQUEUE) to read it from.
      if (PLATFORM === 'win32') throw notSupported(what('IP_RECVERR', 'IPV6_RECVERR'));
      return ip('IP_RECVERR', 'IPV6_RECVERR');
    case 'timestamp':
      if (PLATFORM === 'win32') throw notSupported(what('SO_TIMESTAMPNS', 'SO_TIMESTAMPNS'));
      return [SOL.SOCKET, required(SO.TIMESTAMPNS, what('SO_TIMESTAMPNS', 'SO_TIMESTAMPNS'))];
    case 'credentials':
      return [SOL.SOCKET, required(SO.PASSCRED, what('SO_PASSCRED', 'SO_PASSCRED'))];
    case 'gro':
      if (family === 'unix') throw notSupported(`${what('UDP_GRO', 'UDP_GRO')} on an AF_UNIX socket`);
      return [CMSG.SOL_UDP ?? IPPROTO.UDP, required(CMSG.UDP_GRO, what('UDP_GRO', 'UDP_GRO'))];
  }
}

const RECV_OPTIONS: readonly (keyof RecvOptions)[] = [
  'pktinfo',
  'tos',
  'ttl',
  'timestamp',
  'credentials',
  'gro',
  'recvErr',
];

/**
 * @internal setsockopt(2) of each option given, in the order of RECV_OPTIONS. Every option is checked (and
 * ERR_NOT_SUPPORTED raised) before the first call; a failing call throws a SocketError (the
 * options before it are set).
 */
export function setRecvOptions(fd: number, options: RecvOptions, hooks: Pick<MessageHooks, 'family'>): void {
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  const calls: [number, number, number][] = [];
  for (const key of Object.keys(options)) {
    if (!RECV_OPTIONS.includes(key as keyof RecvOptions)) {
      throw invalidArgValue('options', key, `has an unknown option (the options are ${RECV_OPTIONS.join(', ')})`);
    }
  }
  for (const key of RECV_OPTIONS) {
    const value = options[key];
    if (value === undefined) continue;
    checkBoolean(value, `options.${key}`);
    const [level, name] = optionFor(key, hooks.family);
    calls.push([level, name, value ? 1 : 0]);
  }
  for (const [level, name, value] of calls)
    throwIfFailed(addon.setsockopt(fd, level, name, value), 'setsockopt', PLATFORM);
}
