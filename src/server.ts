/**
 * `Server`: a listening TCP socket whose accept(2) outcomes are typed results.
 * @module
 */
import { addon } from './addon.js';
import { checkHost, checkPort, familyNumber } from './address.js';
import { classifyFailure, type FailureResult, type Origin } from './classify.js';
import { constants } from './constants.js';
import { socketClosed, SocketError } from './errors.js';
import { READABLE, type WaitOptions } from './readiness.js';
import { kNonBlocking, kUntilReady, PLATFORM, Socket } from './socket.js';
import { checkInteger, checkOptions } from './validate.js';

const CONSTRUCT = Symbol('rawrecv.Server');

/** The result of `accept`: a connected Socket, or why there is none. */
export type AcceptResult = { kind: 'socket'; ret: number; errno: 0; socket: Socket } | FailureResult;

/**
 * A listening TCP socket. Made by {@link Server.listen}; blocking like any new socket, so
 * `accept()` waits for a connection unless `setBlocking(false)` was called.
 */
export class Server {
  readonly #socket: Socket;

  /** @internal Use {@link Server.listen}. */
  constructor(token: symbol, socket: Socket) {
    if (token !== CONSTRUCT) {
      throw Object.assign(new TypeError('Illegal constructor: use Server.listen'), { code: 'ERR_ILLEGAL_CONSTRUCTOR' });
    }
    this.#socket = socket;
  }

  /**
   * socket(2), SO_REUSEADDR, bind(2), listen(2). `host` is an IP literal or 'localhost'
   * (default '127.0.0.1': loopback, never all interfaces by accident), `port` 0 picks a free
   * one (read it from `server.port`), `backlog` defaults to 511 as in Node.
   * Throws a SocketError (EADDRINUSE, EACCES, ...) if any step fails; nothing is left open.
   * @see listen(2)
   */
  static listen(options: { host?: string; port?: number; backlog?: number } = {}): Server {
    const { host: rawHost = '127.0.0.1', port: rawPort = 0, backlog = 511 } = checkOptions(options, 'options');
    const { host, family } = checkHost(rawHost, 'options.host');
    const port = checkPort(rawPort, 'options.port', 0);
    checkInteger(backlog, 'options.backlog', 0, 2 ** 31 - 1);
    const af = familyNumber(family);
    const fd = addon.socket(af, constants.SOCK.STREAM, 0);
    if (fd < 0) throw new SocketError('socket', -fd, { platform: PLATFORM });
    const steps: [string, () => number][] = [
      ['bind', () => addon.bind(fd, af, host, port)],
      ['listen', () => addon.listen(fd, backlog)],
    ];
    if (PLATFORM !== 'win32') {
      // As Node does: a restarted server can bind while old connections sit in TIME_WAIT.
      // Not on Windows, where SO_REUSEADDR lets another socket take the port (libuv skips it too).
      steps.unshift(['setsockopt', () => addon.setsockopt(fd, constants.SOL.SOCKET, constants.SO.REUSEADDR, 1)]);
    }
    for (const [syscall, step] of steps) {
      const ret = step();
      if (ret < 0) {
        addon.close(fd);
        throw new SocketError(syscall, -ret, { address: host, port, platform: PLATFORM });
      }
    }
    try {
      return new Server(CONSTRUCT, Socket.adopt(fd, true, true, true));
    } catch (error) {
      addon.close(fd);
      throw error;
    }
  }

  /** The listening descriptor, or -1 once closed. */
  get fd(): number {
    return this.#socket.fd;
  }

  get closed(): boolean {
    return this.#socket.closed;
  }

  /** The port it listens on (the one the OS picked, for port 0). */
  get port(): number {
    return this.#socket.localAddress().port;
  }

  get blocking(): boolean {
    return this.#socket.blocking;
  }

  /** O_NONBLOCK on the listening socket: a non-blocking accept() gives would-block. */
  setBlocking(blocking: boolean): void {
    this.#socket.setBlocking(blocking);
  }

  /** getsockname(2), like Node's `server.address()`. */
  address(): Origin {
    return this.#socket.localAddress();
  }

  /**
   * One accept(2). The new Socket's mode and timeouts are read from the kernel (BSDs let an
   * accepted socket inherit O_NONBLOCK; Linux does not), so it is right on every OS.
   * @returns socket | would-block (EAGAIN) | interrupted (EINTR) | error (ECONNABORTED, EMFILE, ...)
   * @see accept(2)
   */
  accept(): AcceptResult {
    const fd = this.#socket.fd;
    if (fd < 0) throw socketClosed();
    const ret = addon.accept(fd);
    if (ret < 0) return classifyFailure(-ret, PLATFORM, this.#socket.blocking, 0, 0);
    try {
      // Windows: an accepted socket has its listener's FIONBIO mode, which cannot be read back.
      return { kind: 'socket', ret, errno: 0, socket: Socket.adopt(ret, true, this.#socket.blocking, true) };
    } catch (error) {
      addon.close(ret);
      throw error;
    }
  }

  /**
   * accept without blocking the event loop: waits for the listening socket to be readable,
   * makes one non-blocking accept (O_NONBLOCK switched on for that call if the server is in
   * blocking mode, and back), and loops only on would-block until `timeout` ms; the result is
   * then `timeout` carrying the last accept's own ret / errno / code (EAGAIN on Linux).
   * Rejects with an AbortError on `signal`, ERR_SOCKET_CLOSED if the server is closed meanwhile.
   */
  acceptAsync(options: WaitOptions = {}): Promise<AcceptResult> {
    const socket = this.#socket;
    try {
      if (socket.closed) throw socketClosed();
      const blocking = socket.blocking;
      return socket[kUntilReady](READABLE, options, () => {
        const result = socket[kNonBlocking](() => this.accept());
        // Winsock and the BSDs' accept(2) give the new socket the listener's mode, which was
        // non-blocking for this one call: a new socket starts blocking, as accept() gives it.
        if (result.kind === 'socket' && blocking && !result.socket.blocking) result.socket.setBlocking(true);
        return result;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stops listening and closes the descriptor. Idempotent. */
  close(): void {
    this.#socket.close();
  }
}
