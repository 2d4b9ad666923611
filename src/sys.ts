/**
 * `sys`: the addon's syscall-shaped functions, untyped results and all. Numbers in; the
 * call's own result (>= 0) or the negated platform error code out (`-11` is EAGAIN on Linux,
 * `-35` on macOS, `-10035` WSAEWOULDBLOCK on Windows). Nothing is classified, retried or kept.
 * Malformed arguments throw TypeError / RangeError; OS outcomes never throw.
 *
 * A descriptor closed through `sys.close` that a Socket still owns is the caller's bug: the
 * Socket would later close whatever reuses that number.
 * @module
 */
import { addon, type Addon } from './addon.js';

export type Sys = Omit<Addon, 'platform' | 'wine' | 'constants' | 'Poller' | 'own' | 'disown'>;

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
  recv: addon.recv,
  recvfrom: addon.recvfrom,
  recvmsg: addon.recvmsg,
  send: addon.send,
  sendto: addon.sendto,
  shutdown: addon.shutdown,
  close: addon.close,
  getsockopt: addon.getsockopt,
  setsockopt: addon.setsockopt,
  getTimeout: addon.getTimeout,
  setTimeout: addon.setTimeout,
  getLinger: addon.getLinger,
  setLinger: addon.setLinger,
  fionread: addon.fionread,
  setUdpConnReset: addon.setUdpConnReset,
  handleCount: addon.handleCount,
});
