/**
 * The native addon's interface, declared once (house style: no `any` across the boundary).
 *
 * Every function is one system call (a few are two, said so below). Numbers go in,
 * and the call's own non-negative result or the negated platform error code comes out:
 * `-errno` on POSIX, `-WSAGetLastError()` on Windows. The addon throws only a
 * TypeError / RangeError for a malformed argument, never for an OS outcome.
 * @module
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** An address as the addon reports it; `family` is the raw `AF_*` number. */
export interface RawAddress {
  family: number;
  address: string;
  port: number;
}

/** Filled in by {@link Addon.recvfrom} / {@link Addon.recvmsg} when they succeed. */
export interface RecvFromOut {
  family?: number;
  address?: string;
  port?: number;
  /** recvmsg only: the kernel's `msg_flags` (MSG_TRUNC, ...). */
  msgFlags?: number;
}

/**
 * @internal This thread's libuv poll handles (uv_poll_t on its loop), one per descriptor, named by the
 * descriptor: what src/readiness.ts needs, and what a unit test fakes.
 */
export interface PollBackend {
  /**
   * uv_poll_init_socket: 0, or a negative libuv error (UV_EEXIST if another handle on this loop
   * polls the descriptor), or CLOSED_ELSEWHERE. libuv sets O_NONBLOCK (FIONBIO) there.
   */
  open(fd: number): number;
  /**
   * uv_poll_start with READABLE / WRITABLE / DISCONNECT bits: 0 or a negative libuv error. A
   * started handle does not hold the loop open (see `hold`).
   */
  start(fd: number, events: number): number;
  /**
   * Whether any wait of this thread is pending: while one is, the loop is held open (poll handles
   * never hold it themselves, so that one left started between waits costs nothing).
   */
  hold(waiting: boolean): void;
  /** uv_poll_stop. */
  stop(fd: number): number;
  /** Stops and uv_close()s the handle (memory is freed in libuv's close callback). Idempotent. */
  close(fd: number): number;
  readonly READABLE: number;
  readonly WRITABLE: number;
  readonly DISCONNECT: number;
  /**
   * The status of `open` or `start` that says another thread has closed the descriptor (its
   * close(2) waits until this thread has let go).
   */
  readonly CLOSED_ELSEWHERE: number;
}

/** @internal The addon's poll handles (native/poller.cc), and the native promises of waiting calls. */
export interface NativePoller extends PollBackend {
  /** `callback(fd, status, events)` is libuv's poll callback of every handle (status < 0: an error). */
  onEvents(callback: (fd: number, status: number, events: number) => void): void;
  /** uv_poll_start calls this process has made: each is an epoll_ctl / kevent change. */
  startCount(): number;
  /** A new pending promise; its slot (for `settle`) is written to `slot[0]`. */
  promise(): Promise<unknown>;
  /** Resolves (or rejects) the promise of `slot` with `value`; the slot is then free. */
  settle(slot: number, value: unknown, rejected: boolean): void;
}

/** recvfrom / recvmsg into `buffer[offset, offset + length)`, the sender (and flags) into `out`. */
type ReceiveFrom = (
  fd: number,
  buffer: ArrayBufferView,
  offset: number,
  length: number,
  flags: number,
  out: RecvFromOut,
) => number;

export type ConstantTable = Readonly<Record<string, number>>;

export interface Addon {
  /** `process.platform` as the addon was compiled for it. */
  readonly platform: string;
  /** The Wine version when the Windows build runs under Wine (ntdll's wine_get_version), else null. */
  readonly wine: string | null;
  /** This platform's constants from its C headers, grouped: errno, MSG, AF, SOCK, SOL, IPPROTO, SO, TCP, IP, SHUT. */
  readonly constants: Readonly<Record<string, ConstantTable>>;
  /** @internal This thread's libuv poll handles and waiting calls' promises (src/readiness.ts). */
  readonly poller: NativePoller;
  /** socket(2), close-on-exec. Returns the descriptor or -errno. */
  socket: (domain: number, type: number, protocol: number) => number;
  /** socketpair(2), close-on-exec. Returns both descriptors, or -errno. */
  socketpair: (domain: number, type: number, protocol: number) => [number, number] | number;
  /**
   * sizeof(sockaddr_un::sun_path) in the addon's headers (108 on Linux and Windows, 104 on macOS
   * and FreeBSD); 0 where there is no AF_UNIX. A path must leave room for its NUL.
   */
  readonly unixPathSize: number;
  /**
   * bind(2). The address is parsed first; an unparsable one throws ERR_INVALID_ADDRESS. For
   * AF_UNIX `host` is the path; on Linux a leading NUL makes it an abstract name (every byte of
   * the string counts, no terminator); a NUL anywhere else, or a path too long for sun_path,
   * is ERR_INVALID_ADDRESS. An empty path is the bare family (Linux autobinds to an abstract name).
   */
  bind: (fd: number, family: number, host: string, port: number) => number;
  /** connect(2); same address rules as bind. */
  connect: (fd: number, family: number, host: string, port: number) => number;
  /** listen(2). */
  listen: (fd: number, backlog: number) => number;
  /** accept(2) (accept4 with SOCK_CLOEXEC where it exists). Returns the new descriptor or -errno. */
  accept: (fd: number) => number;
  /** getsockname(2). */
  getsockname: (fd: number) => RawAddress | number;
  /** getpeername(2). */
  getpeername: (fd: number) => RawAddress | number;
  /** The socket's AF_* family: getsockname (POSIX), getsockopt(SO_PROTOCOL_INFOW) (Windows). */
  socketFamily: (fd: number) => number;
  /** fcntl(F_GETFL): 1 when O_NONBLOCK is set, 0 when not, or -errno. */
  getNonBlocking: (fd: number) => number;
  /** fcntl(F_GETFL) then, if it changes, fcntl(F_SETFL): only O_NONBLOCK is touched. */
  setNonBlocking: (fd: number, nonblocking: boolean) => number;
  /** recv(2) into `buffer[offset, offset + length)`. */
  recv: (fd: number, buffer: ArrayBufferView, offset: number, length: number, flags: number) => number;
  /** recvfrom(2); on success the sender is written to `out`. */
  recvfrom: ReceiveFrom;
  /** recvmsg(2) with one iovec; on success the sender and `msg_flags` are written to `out`. */
  recvmsg: ReceiveFrom;
  /** send(2) from `buffer[offset, offset + length)`. */
  send: (fd: number, buffer: ArrayBufferView, offset: number, length: number, flags: number) => number;
  /**
   * @internal recv(2) and send(2) with fd, offset, length and flags in the call-arguments array
   * (see {@link recvCall}): the fast path of `recv` / `send`. A length of -1 is the rest of the
   * view after the offset (see {@link recvWholeCall}); `undefined`, with no call made, when that
   * rest is empty.
   */
  recvFast: (buffer: ArrayBufferView) => number | undefined;
  /** @internal See {@link Addon.recvFast}. */
  sendFast: (buffer: ArrayBufferView) => number;

  /**
   * recvmmsg(2) (Linux; a loop of recvmsg elsewhere, see native/batch.h) into each whole buffer
   * (1..1024 of them): how many messages, or the negated error. For message i, `out[2i]` is its
   * length (more than its buffer: truncated) and `out[2i + 1]` its msg_flags, and `senders[i]`
   * its sender, set only where it differs from message i - 1's (pass an empty array).
   */
  recvMany: (
    fd: number,
    buffers: readonly ArrayBufferView[],
    flags: number,
    out: Int32Array,
    senders: RawAddress[],
  ) => number;
  /**
   * @internal {@link Addon.recvMany} for the Socket: `recvManyFast(fd, flags, out, senders,
   * ...buffers)`, the buffers as arguments (src/socket.ts calls it with Function.prototype.apply
   * on the list it has checked: reading each element of an array through N-API costs about
   * 40 ns), and each distinct sender once, as numbers and a string (an object with three named
   * properties costs about 600 ns). For message i, `out[5i]` is its length, `out[5i + 1]` its
   * msg_flags, `out[5i + 2]` the first message of the batch from the same sender (i for a new
   * one); for a new one `out[5i + 3]` is the sender's AF_* family, `out[5i + 4]` its port and
   * `senders[i]` its address (the path for AF_UNIX). Senders are compared with the batch's first
   * 8 distinct ones; a ninth and later one is new at each of its messages.
   */
  recvManyFast: (
    fd: number,
    flags: number,
    out: Int32Array,
    senders: string[],
    ...buffers: ArrayBufferView[]
  ) => number;
  /**
   * sendmmsg(2) (Linux; a loop of send / sendto elsewhere) of each whole buffer, to
   * `destinations[i]` where given: how many messages went, or the negated error of the first.
   * `out[i]` is message i's byte count.
   */
  sendMany: (
    fd: number,
    buffers: readonly ArrayBufferView[],
    flags: number,
    destinations: readonly ({ family: number; host: string; port: number } | undefined)[] | undefined,
    out: Int32Array,
  ) => number;
  /** sendto(2). */
  sendto: (
    fd: number,
    buffer: ArrayBufferView,
    offset: number,
    length: number,
    flags: number,
    family: number,
    host: string,
    port: number,
  ) => number;
  /** shutdown(2). */
  shutdown: (fd: number, how: number) => number;
  /**
   * close(2) (closesocket on Windows). The number's ownership (see `own`) ends with it. While a
   * Socket of another thread holds the descriptor (track) or its poll handle watches it, the
   * close is deferred until that thread has let go (libuv aborts on re-arming a closed
   * descriptor, and the number must not be reused under it), and 0 is returned.
   */
  close: (fd: number) => number;
  /** getsockopt(2) for an int-valued option: the value, or -errno. */
  getsockopt: (fd: number, level: number, name: number) => number;
  /** setsockopt(2) for an int-valued option. */
  setsockopt: (fd: number, level: number, name: number, value: number) => number;
  /** getsockopt(SO_RCVTIMEO / SO_SNDTIMEO) in milliseconds, rounded up; 0 = none. */
  getTimeout: (fd: number, name: number) => number;
  /** setsockopt(SO_RCVTIMEO / SO_SNDTIMEO) in milliseconds; 0 = none. */
  setTimeout: (fd: number, name: number, milliseconds: number) => number;
  /** getsockopt(SO_LINGER). */
  getLinger: (fd: number) => { on: boolean; seconds: number } | number;
  /** setsockopt(SO_LINGER). */
  setLinger: (fd: number, on: boolean, seconds: number) => number;
  /** ioctl(FIONREAD): bytes queued for reading, or -errno. */
  fionread: (fd: number) => number;
  /**
   * Windows: WSAIoctl(SIO_UDP_CONNRESET), whether an unconnected UDP socket's recvfrom reports an
   * ICMP port-unreachable as WSAECONNRESET (on by default). Elsewhere -EOPNOTSUPP, no system call.
   */
  setUdpConnReset: (fd: number, report: boolean) => number;
  /**
   * @internal Registers this thread's `callback(fd)`, called when another thread has closed a descriptor
   * that this thread's poll handles watch: it must close this thread's Sockets of `fd` (see `close`).
   */
  onClosedElsewhere: (callback: (fd: number) => void) => void;
  /** poll(2) (WSAPoll on Windows) of one descriptor with a zero timeout: the revents bits, or -errno. */
  poll: (fd: number, events: number) => number;
  /**
   * @internal Marks a descriptor as owned by a Socket of this environment (main thread or worker), for
   * the whole process (no system call): if the environment is torn down (a terminated worker)
   * it is closed then. Returns false, changing nothing, if any environment owns it already,
   * unless `take` (the number was just handed out by the kernel: the old owner's is gone).
   */
  own: (fd: number, take: boolean) => boolean;
  /**
   * @internal Whether Sockets of this environment hold `fd` (no system call): while another
   * environment's do, a close(2) here waits until they are closed (see `close`).
   */
  track: (fd: number, tracked: boolean) => void;
  /** @internal Undoes `own` if this environment owns `fd`. (close(2) through the addon undoes it too.) */
  disown: (fd: number) => void;
  /**
   * @internal Windows: GetProcessHandleCount (what /proc/self/fd counts elsewhere), for the test
   * suite's descriptor guard. Elsewhere -ENOSYS, no call.
   */
  handleCount: () => number;
  /**
   * recvmsg(2) with a control buffer of `controlLength` bytes (WSARecvMsg on Windows); POSIX adds
   * MSG_CMSG_CLOEXEC (or sets FD_CLOEXEC on each received descriptor where it does not exist).
   * Returns -errno when nothing was taken, else what came: see {@link RecvMsgRaw}.
   */
  recvmsgControl: (
    fd: number,
    buffer: ArrayBufferView,
    offset: number,
    length: number,
    flags: number,
    controlLength: number,
  ) => RecvMsgRaw | number;
  /**
   * sendmsg(2) (WSASendMsg) to (`family`, `host`, `port`), or with `family` 0 to the connected
   * peer, with these control messages (laid out with CMSG_SPACE by the addon).
   */
  sendmsgControl: (
    fd: number,
    buffer: ArrayBufferView,
    offset: number,
    length: number,
    flags: number,
    family: number,
    host: string,
    port: number,
    control: readonly (readonly [level: number, type: number, data: ArrayBufferView])[],
  ) => number;
  /** if_indextoname(3): the interface's name, or -errno (ENXIO: no such interface). */
  interfaceName: (index: number) => string | number;
  /** inet_ntop(3) of the 4 (AF_INET) or 16 (AF_INET6) bytes at `offset`, or -errno (no call for too few bytes). */
  inetNtop: (family: number, buffer: ArrayBufferView, offset: number) => string | number;
  /** inet_pton(3): the 4 or 16 address bytes, or -errno (EINVAL: not an address of `family`). */
  inetPton: (family: number, host: string) => Buffer | number;
  /** CMSG_SPACE(length): the bytes one control message with `length` data bytes takes. */
  controlSpace: (length: number) => number;
  /** @internal sizeof the structs control messages carry (0 where the platform has none). */
  readonly controlSizes: Readonly<ControlSizes>;
}

/** What {@link Addon.recvmsgControl} took: the datagram's sender, msg_flags, the control messages. */
export interface RecvMsgRaw {
  /** The call's result: bytes received, or (Windows' WSAEMSGSIZE, a datagram cut short) the negated error. */
  ret: number;
  family: number;
  address: string;
  port: number;
  msgFlags: number;
  /** Each control message as the kernel wrote it: `data` is a copy of its bytes (CMSG_DATA). */
  control: { level: number; type: number; data: Buffer }[];
}

/** sizeof of the structs in control messages, as the addon was compiled (0: the platform has none). */
export interface ControlSizes {
  in_pktinfo: number;
  in6_pktinfo: number;
  timespec: number;
  ucred: number;
  sock_extended_err: number;
}

/** 2^31 - 1: `(x & INT_MAX) === x` holds exactly for the integers 0..2^31-1. */
const INT_MAX = 0x7fffffff;

const require = createRequire(import.meta.url);
const load = require('node-gyp-build') as (root: string) => unknown;

/**
 * The loaded addon: a prebuild that fits this platform, else build/Release. Copied into a
 * plain frozen object: the exports object the addon fills one property at a time can be in
 * V8's slow dictionary mode, and every recv loads a function from this one.
 */
const loaded = load(fileURLToPath(new URL('..', import.meta.url))) as Addon & { callArgs?: Int32Array };

/**
 * Where `poller.promise()` writes its slot: taken out of the exports as `callArgs` is below (the
 * addon writes to its memory through a raw pointer, and the exports object stays reachable
 * through the require cache: a detached array would leave a write into freed memory, and every
 * later wait with an `undefined` slot that is never settled).
 */
const nativePoller = loaded.poller as NativePoller & { slot?: Int32Array };
const promiseSlots = nativePoller.slot as Int32Array;
delete nativePoller.slot;
const poller: NativePoller = { ...nativePoller };

/**
 * The fast path's arguments, taken out of the addon's exports: the native functions keep a raw
 * pointer to this array's memory, so nothing else may reach it (a transferred, detached array
 * would leave them reading stale values: a recv on the wrong descriptor).
 */
const callArgs = loaded.callArgs as Int32Array;
delete loaded.callArgs;

/** The addon's exports, copied and frozen (see `loaded`). */
export const addon: Addon = Object.freeze({ ...loaded, poller: Object.freeze(poller) });

/**
 * @internal A pending promise made by the addon (it has no resolving functions in the heap), and
 * its slot: settle it, exactly once, with `addon.poller.settle(slot, value, rejected)`.
 */
export function pendingPromise<T>(): { promise: Promise<T>; slot: number } {
  const promise = poller.promise() as Promise<T>;
  return { promise, slot: promiseSlots[0] as number };
}

type Transfer = (fd: number, buffer: ArrayBufferView, offset: number, length: number, flags: number) => number;

/**
 * The checked call, faster: exact int32 arguments (fd and offset >= 0, length >= 0) go through
 * the call-arguments array, so only the buffer crosses as a JavaScript value; anything else
 * takes the checked call, which throws the usual TypeError / RangeError. (No JavaScript can
 * run between writing the array and the call.) The typeof tests come first: `sys` is public,
 * and a bitwise test would throw an uncoded TypeError for a BigInt or Symbol and call an
 * object's valueOf.
 */
function withFastPath(fast: (buffer: ArrayBufferView) => number, checked: Transfer): Transfer {
  return (fd, buffer, offset, length, flags) => {
    if (
      typeof fd === 'number' &&
      typeof offset === 'number' &&
      typeof length === 'number' &&
      typeof flags === 'number' &&
      (fd & INT_MAX) === fd &&
      (offset & INT_MAX) === offset &&
      (length & INT_MAX) === length &&
      (flags | 0) === flags
    ) {
      callArgs[0] = fd;
      callArgs[1] = offset;
      callArgs[2] = length;
      callArgs[3] = flags;
      return fast(buffer);
    }
    return checked(fd, buffer, offset, length, flags);
  };
}

/** @internal `addon.recv` with the fast path (see withFastPath). */
export const recvCall = withFastPath(
  // Only a length of -1 (never written by withFastPath, which passes lengths >= 0) gives undefined.
  addon.recvFast as (buffer: ArrayBufferView) => number,
  addon.recv,
);

/** The call-arguments length that asks the fast path for the rest of the view (never a length). */
const REST_OF_VIEW = -1;

/**
 * @internal `addon.recv` into the whole of `buffer` with flags 0, for a caller that has checked
 * it is a view with at least one element: the fast path measures it natively, so no byteLength
 * is read here (V8 does not inline that getter; `length` it does). A rest longer than an int32
 * throws the checked call's RangeError, as `recvCall(fd, buffer, 0, buffer.byteLength, 0)` does.
 * `undefined`, without a system call, when the view holds no bytes after all (its `length` was an
 * own property, a subclass's getter, or a getter that detached it): the caller's checked path
 * then refuses it as before, where a zero-length recv would read as eof or drop a datagram.
 */
export function recvWholeCall(fd: number, buffer: ArrayBufferView): number | undefined {
  if ((fd & INT_MAX) === fd) {
    callArgs[0] = fd;
    callArgs[1] = 0;
    callArgs[2] = REST_OF_VIEW;
    callArgs[3] = 0;
    return addon.recvFast(buffer);
  }
  return addon.recv(fd, buffer, 0, buffer.byteLength, 0);
}
/** @internal `addon.send` with the fast path. */
export const sendCall = withFastPath(addon.sendFast, addon.send);
