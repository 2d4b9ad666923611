/**
 * `sys`: the addon's syscall-shaped functions, untyped results and all. Numbers in; the
 * call's own result (>= 0) or the negated platform error code out (`-11` is EAGAIN on Linux,
 * `-35` on macOS, `-10035` WSAEWOULDBLOCK on Windows). Nothing is classified, retried or kept.
 * Malformed arguments throw TypeError / RangeError; OS outcomes never throw.
 *
 * `sys.close(fd)` closes every Socket of this thread that holds `fd` first (they become closed,
 * their pending waits reject with ERR_SOCKET_CLOSED, their poll handle lets go of the number),
 * so that no Socket can touch whatever reuses the number, and libuv never watches a closed one.
 * @module
 */
import { addon, recvCall, sendCall, type Addon } from './addon.js';
import { closeDescriptor } from './descriptors.js';

export type Sys = Omit<
  Addon,
  | 'platform'
  | 'wine'
  | 'constants'
  | 'poller'
  | 'own'
  | 'disown'
  | 'track'
  | 'onClosedElsewhere'
  | 'recvFast'
  | 'sendFast'
  | 'recvManyFast'
  | 'unixPathSize'
  | 'controlSizes'
>;

export const sys: Readonly<Sys> = Object.freeze({
  socket: addon.socket,
  socketpair: addon.socketpair,
  bind: addon.bind,
  connect: addon.connect,
  listen: addon.listen,
  accept: addon.accept,
  getsockname: addon.getsockname,
  getpeername: addon.getpeername,
  socketFamily: addon.socketFamily,
  getNonBlocking: addon.getNonBlocking,
  setNonBlocking: addon.setNonBlocking,
  recv: recvCall,
  recvfrom: addon.recvfrom,
  recvmsg: addon.recvmsg,
  send: sendCall,
  sendto: addon.sendto,
  recvMany: addon.recvMany,
  sendMany: addon.sendMany,
  shutdown: addon.shutdown,
  close: closeDescriptor,
  getsockopt: addon.getsockopt,
  setsockopt: addon.setsockopt,
  getTimeout: addon.getTimeout,
  setTimeout: addon.setTimeout,
  getLinger: addon.getLinger,
  setLinger: addon.setLinger,
  fionread: addon.fionread,
  poll: addon.poll,
  setUdpConnReset: addon.setUdpConnReset,
  handleCount: addon.handleCount,
  recvmsgControl: addon.recvmsgControl,
  sendmsgControl: addon.sendmsgControl,
  interfaceName: addon.interfaceName,
  inetNtop: addon.inetNtop,
  inetPton: addon.inetPton,
  controlSpace: addon.controlSpace,
});
