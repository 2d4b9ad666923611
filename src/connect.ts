/**
 * `Socket.connect`: a TCP connection without blocking the event loop.
 * @module
 */
import { lookup } from 'node:dns/promises';

import { addon } from './addon.js';
import { checkPort, familyNumber, type Family } from './address.js';
import { connectInProgress } from './classify.js';
import { constants, PLATFORM } from './constants.js';
import {
  connectTimedOut,
  invalidArgType,
  invalidArgValue,
  resolverError,
  SocketError,
  throwIfFailed,
} from './errors.js';
import { abortError, type WaitOptions } from './readiness.js';
import type { Socket } from './socket.js';
import { checkWaitOptions } from './validate.js';
import { deadlineOf, remaining, withDeadline } from './wait.js';

/** `Socket.connect`'s options. */
export interface ConnectOptions extends WaitOptions {
  host: string;
  port: number;
  family?: 'IPv4' | 'IPv6';
}

/**
 * Host names through `dns.lookup` (its failure a SocketError 'getaddrinfo'), a non-blocking
 * connect(2) (EINPROGRESS), waits for writability, then getsockopt(SO_ERROR). `wrap` makes the
 * Socket of a new descriptor. Rejects with a SocketError (ECONNREFUSED, ENETUNREACH, ...), an
 * Error `ERR_SOCKET_CONNECTION_TIMEOUT` after `timeout` ms, or an AbortError; nothing is left
 * open. The socket is returned in blocking mode, as every new socket.
 */
export async function connect(options: ConnectOptions, wrap: (fd: number, family: Family) => Socket): Promise<Socket> {
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
  // The name lookup counts against the timeout too (dns.lookup cannot be cancelled: its
  // answer is then ignored).
  const found = await withDeadline(
    lookup(host, { family: family === 'IPv6' ? 6 : family === 'IPv4' ? 4 : 0 }).catch((error: unknown) => {
      throw resolverError(error, host, port, PLATFORM);
    }),
    deadline,
    signal,
    () => connectTimedOut(host, port, timeout),
  );
  const resolved: Family = found.family === 6 ? 'IPv6' : 'IPv4';
  const fd = throwIfFailed(addon.socket(familyNumber(resolved), constants.SOCK.STREAM, 0), 'socket', PLATFORM);
  const socket = wrap(fd, resolved);
  const where = { address: found.address, port, platform: PLATFORM };
  try {
    socket.setBlocking(false);
    const ret = addon.connect(fd, familyNumber(resolved), found.address, port);
    if (ret < 0 && !connectInProgress(-ret, PLATFORM)) throw new SocketError('connect', -ret, where);
    // Writability can be spurious: connected once getpeername succeeds, failed once SO_ERROR
    // says so; otherwise wait again, until the deadline.
    while (ret < 0) {
      const left = remaining(deadline);
      const outcome = left !== 0 ? await socket.waitWritable({ timeout: left, signal }) : 'timeout';
      if (outcome === 'timeout') throw connectTimedOut(found.address, port, timeout);
      const error = socket.takeError();
      if (error !== null) throw new SocketError('connect', error.errno, where);
      if (typeof addon.getpeername(fd) !== 'number') break;
    }
    socket.setBlocking(true);
    return socket;
  } catch (error) {
    socket.close();
    throw error;
  }
}
