/**
 * `Server`: a listening TCP or AF_UNIX socket whose accept(2) outcomes are typed results.
 * @module
 */
import { inspect, type InspectOptionsStylized } from 'node:util';

import { addon } from './addon.js';
import { checkHost, checkPort, familyNumber, toOrigin, type Family } from './address.js';
import { classifyFailure, type FailureResult, type Origin } from './classify.js';
import { constants, PLATFORM, socketTypeNumber } from './constants.js';
import { attach, detach, finalizer, openFd } from './descriptors.js';
import { illegalConstructor, rejection, settledOf, throwIfFailed } from './errors.js';
import { READABLE, type WaitOptions } from './readiness.js';
import { Socket } from './socket.js';
import { BoundPath, checkPathOnly, checkUnixPath, checkUnixType, hasPath, shownPath } from './unix-path.js';
import { checkBoolean, checkInteger, checkOptions } from './validate.js';
import { deadlineOf, nonBlockingFor, untilReady, type WaitTarget } from './wait.js';

const CONSTRUCT = Symbol('rawrecv.Server');

/** The result of `accept`: a connected Socket, or why there is none. */
export type AcceptResult = { kind: 'socket'; ret: number; errno: 0; socket: Socket } | FailureResult;

/** `Server.listen`'s options for TCP. */
export interface ListenOptions {
  host?: string;
  port?: number;
  backlog?: number;
}

/** `Server.listen`'s options for an AF_UNIX path. */
export interface UnixListenOptions {
  /** The path to bind (created by bind(2), unlinked by close()); on Linux '\0...' is an abstract name. */
  path: string;
  /** 'stream' (default) or 'seqpacket' (not on Windows or macOS). */
  type?: 'stream' | 'seqpacket';
  backlog?: number;
}

/**
 * A listening TCP socket. Made by {@link Server.listen}; blocking like any new socket, so
 * `accept()` waits for a connection unless `setBlocking(false)` was called.
 */
export class Server {
  readonly #family: Family;
  /** Its descriptor and mode, for the async loop (src/wait.ts). */
  readonly #target: WaitTarget;
  /** The AF_UNIX path it bound, unlinked by close(). */
  #bound: BoundPath | undefined;

  /** Use {@link Server.listen} (the token keeps JavaScript callers out too). */
  private constructor(token: symbol, fd: number, family: Family, bound?: BoundPath) {
    if (token !== CONSTRUCT) throw illegalConstructor('Server.listen');
    this.#family = family;
    this.#bound = bound;
    this.#target = { view: attach(fd, true, true), blocking: true };
    finalizer.register(this, this.#target.view, this);
  }

  /**
   * socket(2), SO_REUSEADDR, bind(2), listen(2). `host` is an IP literal or 'localhost'
   * (default '127.0.0.1': loopback, never all interfaces by accident), `port` 0 picks a free
   * one (read it from `server.port`), `backlog` defaults to 511 as in Node.
   * Throws a SocketError (EADDRINUSE, EACCES, ...) if any step fails; nothing is left open.
   *
   * With `{ path, type? }` instead of host and port: an AF_UNIX listener, `type` 'stream'
   * (default) or 'seqpacket'. bind(2) creates the socket file; a path that exists already (a
   * file, or the socket of a server that is gone) is EADDRINUSE, never removed for you. close()
   * unlinks the path again, as Node's net does, but only while it is still this server's socket
   * file. On Linux a path starting with '\0' is an abstract name: no file at all.
   * @see listen(2), bind(2), socket(7) SO_REUSEADDR, unix(7)
   */
  static listen(options: ListenOptions | UnixListenOptions = {}): Server {
    if (hasPath(options)) return Server.#listenPath(options);
    const { host: rawHost = '127.0.0.1', port: rawPort = 0, backlog = 511 } = checkOptions(options, 'options');
    const { host, family } = checkHost(rawHost, 'options.host');
    const port = checkPort(rawPort, 'options.port', 0);
    checkInteger(backlog, 'options.backlog', 0, 2 ** 31 - 1);
    const af = familyNumber(family);
    const fd = throwIfFailed(addon.socket(af, constants.SOCK.STREAM, 0), 'socket', PLATFORM);
    const steps: [string, () => number][] = [
      ['bind', () => addon.bind(fd, af, host, port)],
      ['listen', () => addon.listen(fd, backlog)],
    ];
    if (PLATFORM !== 'win32') {
      // As Node does: a restarted server can bind while old connections sit in TIME_WAIT.
      // Not on Windows, where SO_REUSEADDR lets another socket take the port (libuv skips it too).
      steps.unshift(['setsockopt', () => addon.setsockopt(fd, constants.SOL.SOCKET, constants.SO.REUSEADDR, 1)]);
    }
    try {
      for (const [syscall, step] of steps) throwIfFailed(step(), syscall, PLATFORM, { address: host, port });
    } catch (error) {
      addon.close(fd);
      throw error;
    }
    return new Server(CONSTRUCT, fd, family);
  }

  static #listenPath(options: UnixListenOptions): Server {
    checkPathOnly(options as unknown as Record<string, unknown>, 'options');
    const unix = checkUnixPath(options.path, 'options.path');
    const type = checkUnixType(options.type, 'options.type', ['stream', 'seqpacket'] as const);
    const backlog = checkInteger(options.backlog ?? 511, 'options.backlog', 0, 2 ** 31 - 1);
    const fd = throwIfFailed(addon.socket(constants.AF.UNIX, socketTypeNumber(type), 0), 'socket', PLATFORM);
    const where = { address: shownPath(unix.path) };
    let bound: BoundPath | undefined;
    try {
      throwIfFailed(addon.bind(fd, constants.AF.UNIX, unix.path, 0), 'bind', PLATFORM, where);
      bound = BoundPath.afterBind(unix);
      throwIfFailed(addon.listen(fd, backlog), 'listen', PLATFORM, where);
    } catch (error) {
      addon.close(fd);
      bound?.unlinkIfOurs();
      throw error;
    }
    return new Server(CONSTRUCT, fd, 'unix', bound);
  }

  /** The listening descriptor, or -1 once closed. */
  get fd(): number {
    return this.#target.view.fd;
  }

  get closed(): boolean {
    return this.#target.view.fd < 0;
  }

  /** The port it listens on (the one the OS picked, for port 0); 0 for an AF_UNIX server. */
  get port(): number {
    return this.address().port;
  }

  get blocking(): boolean {
    return this.#target.blocking;
  }

  /**
   * O_NONBLOCK on the listening socket: a non-blocking accept() gives would-block.
   * @see fcntl(2)
   */
  setBlocking(blocking: boolean): void {
    const fd = openFd(this.#target.view);
    checkBoolean(blocking, 'blocking');
    throwIfFailed(addon.setNonBlocking(fd, !blocking), 'fcntl', PLATFORM);
    this.#target.blocking = blocking;
  }

  /**
   * getsockname(2), like Node's `server.address()`: `{ address, port, family }`, or for an
   * AF_UNIX server `{ family: 'unix', path, address: path, port: 0 }`.
   * @see getsockname(2)
   */
  address(): Origin {
    const ret = addon.getsockname(openFd(this.#target.view));
    if (typeof ret === 'number') throwIfFailed(ret, 'getsockname', PLATFORM);
    return toOrigin(ret as Exclude<typeof ret, number>, this.#family);
  }

  /**
   * One accept(2). The new Socket's mode and timeouts are read from the kernel (BSDs let an
   * accepted socket inherit O_NONBLOCK; Linux does not), so it is right on every OS.
   * @returns socket | would-block (EAGAIN, EWOULDBLOCK, WSAEWOULDBLOCK) | interrupted (EINTR) |
   *   error (ECONNABORTED, EMFILE, ENFILE, ...)
   * @see accept(2)
   */
  accept(): AcceptResult {
    const target = this.#target;
    const ret = addon.accept(openFd(target.view));
    if (ret < 0) return classifyFailure(-ret, PLATFORM, target.blocking, 0, 0);
    try {
      // Windows: an accepted socket has its listener's FIONBIO mode, which cannot be read back.
      return { kind: 'socket', ret, errno: 0, socket: Socket.adopt(ret, true, target.blocking, true) };
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
   * @returns socket | timeout | interrupted | error, as {@link Server.accept}
   * @see accept(2), uv_poll_start (libuv)
   */
  acceptAsync(options: WaitOptions = {}): Promise<AcceptResult> {
    const target = this.#target;
    try {
      openFd(target.view);
      const blocking = target.blocking;
      const { deadline, signal } = deadlineOf(options);
      return untilReady(target, READABLE, deadline, signal, () => {
        const result = nonBlockingFor(target, () => this.accept());
        // Winsock and the BSDs' accept(2) give the new socket the listener's mode, which was
        // non-blocking for this one call: a new socket starts blocking, as accept() gives it.
        if (result.kind === 'socket' && blocking && !result.socket.blocking) result.socket.setBlocking(true);
        return result;
      });
    } catch (error) {
      return rejection(error);
    }
  }

  /**
   * Stops listening and closes the descriptor. Idempotent. An AF_UNIX server then unlinks the
   * path it bound, if the file there is still its socket (a path replaced meanwhile, or one it
   * never bound, is left alone). Garbage collection closes the descriptor but unlinks nothing.
   * @see close(2), unlink(2)
   */
  close(): void {
    const view = this.#target.view;
    if (view.fd < 0) return;
    finalizer.unregister(this);
    const bound = this.#bound;
    this.#bound = undefined;
    try {
      throwIfFailed(detach(view), 'close', PLATFORM);
    } finally {
      bound?.unlinkIfOurs();
    }
  }

  /** `using server = ...`: closes it at the end of the block (see {@link Server.close}). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** `await using server = ...`: closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return settledOf(() => this.close());
  }

  /** What `util.inspect` and `console.log` show. */
  [inspect.custom](depth: number, options: InspectOptionsStylized, show: typeof inspect): string {
    const fd = this.#target.view.fd;
    let address: Origin | undefined;
    try {
      // getsockname(2): what it listens on, if it still can say (inspect must never throw).
      if (fd >= 0) address = this.address();
    } catch {
      address = undefined;
    }
    const state = { fd, family: this.#family, address, closed: fd < 0 };
    return `Server ${show(state, { ...options, depth: depth < 0 ? null : options.depth })}`;
  }
}
