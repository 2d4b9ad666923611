/**
 * This platform's socket constants, taken from the C headers the addon was compiled
 * against (never hard-coded here). Groups keep the C names without their prefix:
 * `constants.MSG.PEEK` is MSG_PEEK; `constants.errno` keeps whole names (EAGAIN).
 * @module
 */
import { addon, type ConstantTable } from './addon.js';
import type { SocketType } from './classify.js';
import { currentPlatform, type Platform } from './errno.js';
import { notSupported } from './errors.js';

/** A group of constants; a name the platform lacks is absent (e.g. MSG.NOSIGNAL on macOS). */
export type ConstantGroup<Required extends string> = Readonly<Record<Required, number>> &
  Readonly<Partial<Record<string, number>>>;

export interface Constants {
  /** 'linux', 'darwin', 'freebsd', 'win32': the platform the addon was built for. */
  readonly platform: string;
  /** The Wine version when the Windows build runs under Wine, else null (Wine is not Windows). */
  readonly wine: string | null;
  /**
   * Error numbers by name, as the addon's headers define them (EWOULDBLOCK too, where it
   * exists). On Windows these are Winsock's: WSAEWOULDBLOCK, WSAECONNRESET, ...
   */
  readonly errno: ConstantGroup<never>;
  /** MSG_* flags: PEEK, WAITALL, OOB everywhere; DONTWAIT, TRUNC, NOSIGNAL where they exist. */
  readonly MSG: ConstantGroup<'PEEK' | 'WAITALL' | 'OOB'>;
  /** AF_* address families. */
  readonly AF: ConstantGroup<'UNSPEC' | 'INET' | 'INET6' | 'UNIX'>;
  /** SOCK_* types. */
  readonly SOCK: ConstantGroup<'STREAM' | 'DGRAM' | 'RAW'>;
  /** SOL_SOCKET. */
  readonly SOL: ConstantGroup<'SOCKET'>;
  /** IPPROTO_* levels and protocols. */
  readonly IPPROTO: ConstantGroup<'TCP' | 'UDP' | 'IP' | 'IPV6'>;
  /** SO_* socket options. */
  readonly SO: ConstantGroup<
    'RCVTIMEO' | 'SNDTIMEO' | 'LINGER' | 'ERROR' | 'RCVBUF' | 'SNDBUF' | 'REUSEADDR' | 'TYPE' | 'KEEPALIVE'
  >;
  /** TCP_* options. */
  readonly TCP: ConstantGroup<'NODELAY'>;
  /** IP-level options, full names (IPV6_V6ONLY, IP_RECVERR). */
  readonly IP: ConstantGroup<'IPV6_V6ONLY'>;
  /** shutdown(2)'s `how`. */
  readonly SHUT: ConstantGroup<'RD' | 'WR' | 'RDWR'>;
  /** poll(2)'s event bits (`sys.poll`): IN, OUT, ERR, HUP, NVAL everywhere; RDHUP on Linux. */
  readonly POLL: ConstantGroup<'IN' | 'OUT' | 'ERR' | 'HUP' | 'NVAL'>;
  /**
   * Control messages (recvMsg / sendMsg), full names: SCM_RIGHTS, SCM_CREDENTIALS, SCM_TIMESTAMPNS,
   * SOL_IP, SOL_IPV6, SOL_UDP, UDP_GRO, UDP_SEGMENT, SO_EE_ORIGIN_* where they exist, and
   * CMSG_LEN_0 (the header's length). Their options are in IP and SO.
   */
  readonly CMSG: ConstantGroup<'CMSG_LEN_0'>;
}

function group(name: string, prefix: string): Readonly<Record<string, number>> {
  const table: ConstantTable = addon.constants[name] ?? {};
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(table)) {
    out[key.startsWith(prefix) ? key.slice(prefix.length) : key] = value;
  }
  return Object.freeze(out);
}

/** The platform's constants, frozen. */
export const constants = Object.freeze({
  platform: addon.platform,
  wine: addon.wine,
  errno: group('errno', ''),
  MSG: group('MSG', 'MSG_'),
  AF: group('AF', 'AF_'),
  SOCK: group('SOCK', 'SOCK_'),
  SOL: group('SOL', 'SOL_'),
  IPPROTO: group('IPPROTO', 'IPPROTO_'),
  SO: group('SO', 'SO_'),
  TCP: group('TCP', 'TCP_'),
  IP: group('IP', ''),
  SHUT: group('SHUT', 'SHUT_'),
  POLL: group('POLL', 'POLL'),
  CMSG: group('CMSG', ''),
}) as Constants;

/** @internal Every MSG_* bit this platform knows: a flags argument with any other bit is refused. */
export const KNOWN_MSG_FLAGS = Object.values(constants.MSG).reduce<number>((mask, bit) => mask | (bit ?? 0), 0);

function platformOrThrow(): Platform {
  const platform = currentPlatform();
  if (platform === undefined) throw notSupported(`rawrecv on ${process.platform}`);
  return platform;
}

/** @internal The platform whose numbers every result carries. */
export const PLATFORM: Platform = platformOrThrow();

/** @internal The SocketType of a SOCK_* number (getsockopt SO_TYPE), undefined for any other type. */
export function socketTypeOf(number: number): SocketType | undefined {
  if (number === constants.SOCK.STREAM) return 'stream';
  if (number === constants.SOCK.DGRAM) return 'dgram';
  if (number === constants.SOCK.SEQPACKET) return 'seqpacket';
  return undefined;
}

/** @internal The SOCK_* number of a SocketType; ERR_NOT_SUPPORTED where the platform has none. */
export function socketTypeNumber(type: SocketType): number {
  const number = constants.SOCK[type === 'stream' ? 'STREAM' : type === 'dgram' ? 'DGRAM' : 'SEQPACKET'];
  if (number === undefined) throw notSupported(`SOCK_${type.toUpperCase()}`);
  return number;
}
