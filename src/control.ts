/**
 * Control messages (ancillary data) of recvmsg(2) and sendmsg(2): their types, their decoding
 * from the bytes the kernel wrote, and the encoding of the ones rawrecv sends. Every level and
 * type number comes from the addon's headers (constants.IP, constants.SO, constants.CMSG); a
 * control message this module does not know, or one too short for its struct (MSG_CTRUNC cut
 * it), comes back raw: `{ level, type, name: null, data }`.
 *
 * Descriptors received in SCM_RIGHTS are this process's the moment recvmsg returns: each is a
 * {@link ReceivedDescriptor}, which the caller takes (as a Socket or a raw number) or closes; one
 * never taken is closed when it is garbage-collected, and a terminated worker closes its own.
 * @module
 */
import { endianness } from 'node:os';
import { inspect } from 'node:util';

import { addon } from './addon.js';
import type { Origin } from './classify.js';
import { constants, PLATFORM } from './constants.js';
import { closeDescriptor, received } from './descriptors.js';
import { nameOf } from './errno.js';
import { illegalConstructor, invalidArgType, invalidArgValue, notSupported, outOfRange } from './errors.js';
import type { Socket } from './socket.js';
import { checkInteger, checkOptions } from './validate.js';

/** recvmsg's `msg_flags`, raw and decoded (a flag the platform lacks reads false). */
export interface MsgFlags {
  /** The number as the kernel wrote it. */
  raw: number;
  /** MSG_TRUNC: the datagram was longer than the buffer; its rest is gone. */
  truncated: boolean;
  /** MSG_CTRUNC: the control messages did not fit the control buffer; what did not fit is gone. */
  controlTruncated: boolean;
  /** MSG_EOR: the end of a record (SOCK_SEQPACKET). */
  eor: boolean;
  /** MSG_OOB: urgent (out-of-band) data was received. */
  oob: boolean;
  /** MSG_ERRQUEUE: the message came from the socket's error queue. */
  errqueue: boolean;
}

/** Where an SO_EE_ORIGIN_* error came from. */
export type ErrorOrigin = 'none' | 'local' | 'icmp' | 'icmp6' | 'txstatus' | 'zerocopy' | 'txtime' | 'unknown';

/**
 * An entry of the error queue (IP_RECVERR / IPV6_RECVERR): `struct sock_extended_err` and the
 * offender's address. Field names are the struct's (`type` and `code` are ee_type and ee_code:
 * the ICMP type and code for an ICMP origin); the errno's name is `errnoName`.
 * @see ip(7) IP_RECVERR
 */
export interface ExtendedError {
  /** ee_errno: ECONNREFUSED for a port unreachable, EMSGSIZE for a too-big, ... */
  errno: number;
  /** Its name on this platform ('ECONNREFUSED'), 'UNKNOWN' if it has none. */
  errnoName: string;
  /** ee_origin, by name. */
  origin: ErrorOrigin;
  /** ee_origin, the number. */
  originNumber: number;
  /** ee_type: the ICMP (or ICMPv6) type for an ICMP origin (3: destination unreachable). */
  type: number;
  /** ee_code: the ICMP code (3: port unreachable). */
  code: number;
  /** ee_info: the MTU for EMSGSIZE, else 0 (or origin-specific). */
  info: number;
  /** ee_data. */
  data: number;
  /** SO_EE_OFFENDER: who reported it (the host that sent the ICMP), null when not known. */
  offender: Origin | null;
}

interface Header {
  /** The cmsg_level, as the kernel wrote it. */
  level: number;
  /** The cmsg_type. */
  type: number;
}

/** A control message of recvmsg, decoded where rawrecv knows it. */
export type ControlMessage =
  | (Header & {
      name: 'IP_PKTINFO' | 'IPV6_PKTINFO';
      /** The datagram's destination address (ipi_addr / ipi6_addr). */
      destination: string;
      /** The interface it arrived on. */
      ifindex: number;
      /** if_indextoname(ifindex), null if the interface is gone (the call failed). */
      interfaceName: string | null;
      /** Linux's ipi_spec_dst (IPv4): the local address a reply would come from; absent elsewhere. */
      localAddress?: string;
    })
  | (Header & {
      name: 'IP_TOS' | 'IPV6_TCLASS';
      /** The whole byte: IPv4's TOS, IPv6's traffic class. */
      tos: number;
      /** The upper six bits (DSCP). */
      dscp: number;
      /** The lower two bits (ECN: 0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE). */
      ecn: number;
    })
  | (Header & { name: 'IP_ECN' | 'IPV6_ECN'; ecn: number })
  | (Header & { name: 'IP_TTL' | 'IPV6_HOPLIMIT'; ttl: number })
  | (Header & {
      name: 'SO_TIMESTAMPNS';
      /** When the kernel received it, CLOCK_REALTIME in nanoseconds since the epoch. */
      timestampNs: bigint;
    })
  | (Header & { name: 'SCM_RIGHTS'; descriptors: ReceivedDescriptor[] })
  | (Header & { name: 'SCM_CREDENTIALS'; pid: number; uid: number; gid: number })
  | (Header & {
      name: 'UDP_GRO';
      /** The size of each datagram the kernel coalesced into this one (the last may be shorter). */
      segmentSize: number;
    })
  | (Header & { name: 'IP_RECVERR' | 'IPV6_RECVERR'; error: ExtendedError })
  | (Header & {
      name: null;
      /** The control message's data (CMSG_DATA), as the kernel wrote it. */
      data: Buffer;
    });

/** What {@link Socket.sendMsg} can put in its control messages. */
export interface SendControl {
  /** SCM_RIGHTS: descriptors to pass over an AF_UNIX socket (the kernel duplicates them at the call). */
  rights?: readonly (Socket | number)[];
  /** IP_PKTINFO / IPV6_PKTINFO: the source address (`source`) and / or the interface (`ifindex`) to send from. */
  pktinfo?: { source?: string; ifindex?: number };
  /** IP_TOS / IPV6_TCLASS for this datagram: 0 to 255 (DSCP << 2 | ECN). */
  tos?: number;
}

const LE = endianness() === 'LE';
const readI32 = (data: Buffer, at: number): number => (LE ? data.readInt32LE(at) : data.readInt32BE(at));
const readU32 = (data: Buffer, at: number): number => (LE ? data.readUInt32LE(at) : data.readUInt32BE(at));
const readU16 = (data: Buffer, at: number): number => (LE ? data.readUInt16LE(at) : data.readUInt16BE(at));
const readI64 = (data: Buffer, at: number): bigint => (LE ? data.readBigInt64LE(at) : data.readBigInt64BE(at));
function writeI32(data: Buffer, value: number, at: number): void {
  if (LE) data.writeInt32LE(value, at);
  else data.writeInt32BE(value, at);
}

const { IP, SO, CMSG, IPPROTO, SOL, AF } = constants;

/** The address in `data` at `offset` as text (inet_ntop), or null if the addon cannot read it. */
function ntop(family: number, data: Buffer, offset: number): string | null {
  const text = addon.inetNtop(family, data, offset);
  return typeof text === 'string' ? text : null;
}

/** @internal if_indextoname, or null when it fails (an interface that has gone away). */
export function interfaceName(ifindex: number): string | null {
  const name = addon.interfaceName(ifindex);
  return typeof name === 'string' ? name : null;
}

/** A sockaddr (Linux layout: family in the first two bytes) as an Origin; null for AF_UNSPEC or too few bytes. */
function sockaddrAt(data: Buffer, offset: number): Origin | null {
  if (data.length < offset + 2) return null;
  const family = readU16(data, offset);
  if (family === AF.INET && data.length >= offset + 8) {
    const address = ntop(AF.INET, data, offset + 4);
    return address === null ? null : { address, port: data.readUInt16BE(offset + 2), family: 'IPv4' };
  }
  if (family === AF.INET6 && data.length >= offset + 24) {
    const address = ntop(AF.INET6, data, offset + 8);
    return address === null ? null : { address, port: data.readUInt16BE(offset + 2), family: 'IPv6' };
  }
  return null;
}

const ORIGINS: readonly [string, ErrorOrigin][] = [
  ['SO_EE_ORIGIN_NONE', 'none'],
  ['SO_EE_ORIGIN_LOCAL', 'local'],
  ['SO_EE_ORIGIN_ICMP', 'icmp'],
  ['SO_EE_ORIGIN_ICMP6', 'icmp6'],
  ['SO_EE_ORIGIN_TXSTATUS', 'txstatus'],
  ['SO_EE_ORIGIN_ZEROCOPY', 'zerocopy'],
  ['SO_EE_ORIGIN_TXTIME', 'txtime'],
];

function originName(number: number): ErrorOrigin {
  for (const [constant, name] of ORIGINS) if (CMSG[constant] === number) return name;
  return 'unknown';
}

/** struct sock_extended_err, then SO_EE_OFFENDER's sockaddr right after it. */
function extendedError(data: Buffer): ExtendedError {
  const size = addon.controlSizes.sock_extended_err;
  const errno = readU32(data, 0);
  const originNumber = data.readUInt8(4);
  return {
    errno,
    errnoName: nameOf(errno, PLATFORM) ?? 'UNKNOWN',
    origin: originName(originNumber),
    originNumber,
    type: data.readUInt8(5),
    code: data.readUInt8(6),
    info: readU32(data, 8),
    data: readU32(data, 12),
    offender: sockaddrAt(data, size),
  };
}

/** @internal The decoder's hook to make a Socket of a received descriptor (src/message.ts). */
export type Adopt = (fd: number, blocking: boolean) => Socket;

const FINALIZER = new FinalizationRegistry<number>((fd) => {
  closeDescriptor(fd);
});
const RECEIVED = Symbol('rawrecv.ReceivedDescriptor');

/**
 * A descriptor that arrived in SCM_RIGHTS (close-on-exec: MSG_CMSG_CLOEXEC). The package holds it
 * until you take it: {@link ReceivedDescriptor.takeSocket} makes an owned Socket of it,
 * {@link ReceivedDescriptor.takeFd} hands you the number (yours to close), and
 * {@link ReceivedDescriptor.close} closes it. One never taken is closed when this object is
 * garbage-collected, and with its worker if the worker is terminated: it never leaks.
 */
export class ReceivedDescriptor {
  #fd: number;
  readonly #adopt: Adopt;

  /** Received descriptors come from recvMsg (the token keeps JavaScript callers out too). */
  private constructor(token: symbol, fd: number, adopt: Adopt) {
    if (token !== RECEIVED) throw illegalConstructor('Socket#recvMsg (SCM_RIGHTS)');
    this.#fd = fd;
    this.#adopt = adopt;
    received(fd);
    FINALIZER.register(this, fd, this);
  }

  /** @internal The decoder's wrapper for each descriptor of an SCM_RIGHTS message: held from now on. */
  static hold(fd: number, adopt: Adopt): ReceivedDescriptor {
    return new ReceivedDescriptor(RECEIVED, fd, adopt);
  }

  /** The descriptor while the package holds it; -1 once taken or closed. */
  get fd(): number {
    return this.#fd;
  }

  #let(): number {
    const fd = this.#fd;
    if (fd < 0) throw invalidArgValue('descriptor', fd, 'was already taken or closed');
    return fd;
  }

  /**
   * The descriptor as an owned Socket (its type, family, mode and timeouts read from it, as
   * Socket.fromFd does; `blocking` is used on Windows only). A descriptor that is not a socket
   * throws a SocketError (ENOTSOCK) and stays held here: take it with takeFd, or close it.
   */
  takeSocket(options: { blocking?: boolean } = {}): Socket {
    const fd = this.#let();
    const { blocking = true } = checkOptions(options, 'options');
    const socket = this.#adopt(fd, blocking);
    this.#fd = -1;
    FINALIZER.unregister(this);
    return socket;
  }

  /** The raw number, now the caller's to close (the package forgets it). */
  takeFd(): number {
    const fd = this.#let();
    this.#fd = -1;
    FINALIZER.unregister(this);
    addon.disown(fd);
    return fd;
  }

  /** Shown as `ReceivedDescriptor { fd: 23 }` (-1 once taken or closed). */
  [inspect.custom](): string {
    return `ReceivedDescriptor { fd: ${this.#fd} }`;
  }

  /** close(2) of the descriptor, unless it was taken. Idempotent. */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    FINALIZER.unregister(this);
    closeDescriptor(fd);
  }
}

/** @internal Closes every descriptor of `messages` that nobody took (a result that is not data). */
export function closeReceived(messages: readonly ControlMessage[]): void {
  for (const message of messages) {
    if (message.name === 'SCM_RIGHTS') for (const descriptor of message.descriptors) descriptor.close();
  }
}

/** A named constant of this platform, or a value no cmsg_type can have. */
const known = (value: number | undefined): number => value ?? Number.NaN;

/**
 * @internal Decodes the control messages recvmsg returned, in order. Every received descriptor
 * is wrapped (ReceivedDescriptor) where its SCM_RIGHTS comes; no decoder throws, so none is lost
 * to a message that follows.
 */
export function decodeControl(
  raw: readonly { level: number; type: number; data: Buffer }[],
  adopt: Adopt,
): ControlMessage[] {
  const sizes = addon.controlSizes;
  const socketLevel = SOL.SOCKET;
  const ipLevel = IPPROTO.IP;
  const ipv6Level = IPPROTO.IPV6;
  const udpLevel = known(CMSG.SOL_UDP ?? IPPROTO.UDP);
  const messages: ControlMessage[] = [];
  for (const { level, type, data } of raw) {
    const header = { level, type };
    const rawMessage = (): ControlMessage => ({ ...header, name: null, data });
    if (level === socketLevel && type === known(CMSG.SCM_RIGHTS)) {
      const descriptors: ReceivedDescriptor[] = [];
      for (let at = 0; at + 4 <= data.length; at += 4) {
        descriptors.push(ReceivedDescriptor.hold(readI32(data, at), adopt));
      }
      messages.push({ ...header, name: 'SCM_RIGHTS', descriptors });
    } else if (level === socketLevel && type === known(CMSG.SCM_CREDENTIALS)) {
      if (sizes.ucred === 0 || data.length < sizes.ucred) messages.push(rawMessage());
      else
        messages.push({
          ...header,
          name: 'SCM_CREDENTIALS',
          pid: readI32(data, 0),
          uid: readU32(data, 4),
          gid: readU32(data, 8),
        });
    } else if (level === socketLevel && type === known(CMSG.SCM_TIMESTAMPNS ?? SO.TIMESTAMPNS)) {
      if (sizes.timespec !== 16 || data.length < 16) messages.push(rawMessage());
      else {
        const timestampNs = readI64(data, 0) * 1_000_000_000n + readI64(data, 8);
        messages.push({ ...header, name: 'SO_TIMESTAMPNS', timestampNs });
      }
    } else if (level === ipLevel && type === known(IP.IP_PKTINFO)) {
      messages.push(pktinfo4(header, data) ?? rawMessage());
    } else if (level === ipv6Level && type === known(IP.IPV6_PKTINFO)) {
      const size = sizes.in6_pktinfo;
      const destination = size === 20 && data.length >= 20 ? ntop(AF.INET6, data, 0) : null;
      if (destination === null) messages.push(rawMessage());
      else {
        const ifindex = readU32(data, 16);
        messages.push({ ...header, name: 'IPV6_PKTINFO', destination, ifindex, interfaceName: interfaceName(ifindex) });
      }
    } else if (level === ipLevel && type === known(IP.IP_TOS) && data.length >= 1) {
      messages.push(tos(header, 'IP_TOS', data.length >= 4 ? readI32(data, 0) : data.readUInt8(0)));
    } else if (level === ipv6Level && type === known(IP.IPV6_TCLASS) && data.length >= 4) {
      messages.push(tos(header, 'IPV6_TCLASS', readI32(data, 0)));
    } else if (level === ipLevel && type === known(IP.IP_ECN) && data.length >= 4) {
      messages.push({ ...header, name: 'IP_ECN', ecn: readI32(data, 0) });
    } else if (level === ipv6Level && type === known(IP.IPV6_ECN) && data.length >= 4) {
      messages.push({ ...header, name: 'IPV6_ECN', ecn: readI32(data, 0) });
    } else if (level === ipLevel && type === known(IP.IP_TTL) && data.length >= 4) {
      messages.push({ ...header, name: 'IP_TTL', ttl: readI32(data, 0) });
    } else if (level === ipv6Level && type === known(IP.IPV6_HOPLIMIT) && data.length >= 4) {
      messages.push({ ...header, name: 'IPV6_HOPLIMIT', ttl: readI32(data, 0) });
    } else if (level === udpLevel && type === known(CMSG.UDP_GRO) && data.length >= 4) {
      messages.push({ ...header, name: 'UDP_GRO', segmentSize: readI32(data, 0) });
    } else if (
      (level === ipLevel && type === known(IP.IP_RECVERR)) ||
      (level === ipv6Level && type === known(IP.IPV6_RECVERR))
    ) {
      const size = sizes.sock_extended_err;
      if (size !== 16 || data.length < size) messages.push(rawMessage());
      else
        messages.push({
          ...header,
          name: level === ipLevel ? 'IP_RECVERR' : 'IPV6_RECVERR',
          error: extendedError(data),
        });
    } else {
      messages.push(rawMessage());
    }
  }
  return messages;
}

/** IP_PKTINFO: Linux's in_pktinfo { ifindex, spec_dst, addr }; Windows' IN_PKTINFO { addr, ifindex }. */
function pktinfo4(header: Header, data: Buffer): ControlMessage | undefined {
  const size = addon.controlSizes.in_pktinfo;
  if (data.length < size) return undefined;
  if (PLATFORM === 'linux' && size === 12) {
    const ifindex = readI32(data, 0);
    const localAddress = ntop(AF.INET, data, 4);
    const destination = ntop(AF.INET, data, 8);
    if (destination === null || localAddress === null) return undefined;
    return { ...header, name: 'IP_PKTINFO', destination, ifindex, interfaceName: interfaceName(ifindex), localAddress };
  }
  if (PLATFORM === 'win32' && size === 8) {
    const destination = ntop(AF.INET, data, 0);
    const ifindex = readU32(data, 4);
    if (destination === null) return undefined;
    return { ...header, name: 'IP_PKTINFO', destination, ifindex, interfaceName: interfaceName(ifindex) };
  }
  return undefined;
}

function tos(header: Header, name: 'IP_TOS' | 'IPV6_TCLASS', value: number): ControlMessage {
  const byte = value & 0xff;
  return { ...header, name, tos: byte, dscp: byte >> 2, ecn: byte & 3 };
}

/** @internal msg_flags, decoded with this platform's MSG_* values. */
export function decodeMsgFlags(raw: number): MsgFlags {
  const has = (bit: number | undefined): boolean => bit !== undefined && bit !== 0 && (raw & bit) !== 0;
  const { MSG } = constants;
  return {
    raw,
    truncated: has(MSG.TRUNC),
    controlTruncated: has(MSG.CTRUNC),
    eor: has(MSG.EOR),
    oob: has(MSG.OOB),
    errqueue: has(MSG.ERRQUEUE),
  };
}

/** @internal An option's number, or ERR_NOT_SUPPORTED naming it. */
export function required(value: number | undefined, what: string): number {
  if (value === undefined) throw notSupported(what);
  return value;
}

function int32(value: number): Buffer {
  const data = Buffer.alloc(4);
  writeI32(data, value, 0);
  return data;
}

/** The bytes of an IP literal of `family` (inet_pton); ERR_INVALID_ARG_VALUE if it is not one. */
function addressBytes(family: 'IPv4' | 'IPv6', host: unknown, name: string): Buffer {
  if (typeof host !== 'string') throw invalidArgType(name, 'of type string', host);
  const bytes = addon.inetPton(family === 'IPv4' ? AF.INET : AF.INET6, host);
  if (typeof bytes === 'number') throw invalidArgValue(name, host, `is not an ${family} address`);
  return bytes;
}

/**
 * @internal The control messages of a sendMsg as the addon takes them, checked. `descriptorOf`
 * gives a Socket's descriptor (undefined for anything that is not a Socket).
 */
export function encodeControl(
  control: SendControl,
  family: 'IPv4' | 'IPv6' | 'unix',
  descriptorOf: (value: unknown) => number | undefined,
): [number, number, Buffer][] {
  const { rights, pktinfo, tos: tosValue } = checkOptions(control, 'options.control');
  const out: [number, number, Buffer][] = [];
  if (rights !== undefined) {
    if (!Array.isArray(rights))
      throw invalidArgType('options.control.rights', 'an array of Sockets or descriptors', rights);
    const type = required(CMSG.SCM_RIGHTS, 'SCM_RIGHTS (options.control.rights)');
    if (family !== 'unix') throw notSupported('SCM_RIGHTS (options.control.rights) on a socket that is not AF_UNIX');
    if (rights.length === 0 || rights.length > 253) {
      throw outOfRange('options.control.rights.length', 'from 1 to 253 (SCM_MAX_FD)', rights.length);
    }
    const data = Buffer.alloc(4 * rights.length);
    rights.forEach((item: unknown, index) => {
      const name = `options.control.rights[${index}]`;
      let fd: number;
      if (typeof item === 'number') fd = checkInteger(item, name, 0, 2 ** 31 - 1);
      else {
        const owned = descriptorOf(item);
        if (owned === undefined) throw invalidArgType(name, 'a Socket or a descriptor number', item);
        if (owned < 0) throw invalidArgValue(name, item, 'is a closed Socket');
        fd = owned;
      }
      writeI32(data, fd, 4 * index);
    });
    out.push([SOL.SOCKET, type, data]);
  }
  if (pktinfo !== undefined) {
    const { source, ifindex = 0 } = checkOptions(pktinfo, 'options.control.pktinfo');
    checkInteger(ifindex, 'options.control.pktinfo.ifindex', 0, 2 ** 31 - 1);
    if (family === 'IPv4') {
      const type = required(IP.IP_PKTINFO, 'IP_PKTINFO (options.control.pktinfo)');
      const size = addon.controlSizes.in_pktinfo;
      const data = Buffer.alloc(size);
      const bytes =
        source === undefined ? Buffer.alloc(4) : addressBytes('IPv4', source, 'options.control.pktinfo.source');
      if (PLATFORM === 'linux' && size === 12) {
        // in_pktinfo: ipi_ifindex, ipi_spec_dst (the source to use), ipi_addr (ignored on send).
        writeI32(data, ifindex, 0);
        bytes.copy(data, 4);
      } else if (PLATFORM === 'win32' && size === 8) {
        // IN_PKTINFO: ipi_addr (the source), ipi_ifindex.
        bytes.copy(data, 0);
        writeI32(data, ifindex, 4);
      } else {
        throw notSupported('IP_PKTINFO (options.control.pktinfo)');
      }
      out.push([IPPROTO.IP, type, data]);
    } else if (family === 'IPv6') {
      const type = required(IP.IPV6_PKTINFO, 'IPV6_PKTINFO (options.control.pktinfo)');
      const data = Buffer.alloc(20);
      if (source !== undefined) addressBytes('IPv6', source, 'options.control.pktinfo.source').copy(data, 0);
      writeI32(data, ifindex, 16);
      out.push([IPPROTO.IPV6, type, data]);
    } else {
      throw notSupported('IP_PKTINFO (options.control.pktinfo) on an AF_UNIX socket');
    }
  }
  if (tosValue !== undefined) {
    checkInteger(tosValue, 'options.control.tos', 0, 255);
    if (PLATFORM === 'win32') throw notSupported('IP_TOS (options.control.tos) in sendMsg on Windows');
    if (family === 'IPv4') out.push([IPPROTO.IP, required(IP.IP_TOS, 'IP_TOS (options.control.tos)'), int32(tosValue)]);
    else if (family === 'IPv6') {
      out.push([IPPROTO.IPV6, required(IP.IPV6_TCLASS, 'IPV6_TCLASS (options.control.tos)'), int32(tosValue)]);
    } else throw notSupported('IP_TOS (options.control.tos) on an AF_UNIX socket');
  }
  return out;
}
