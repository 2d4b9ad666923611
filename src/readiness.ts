/**
 * Readiness on the event loop: one libuv poll handle per socket (`uv_poll_t`, through the
 * addon's Poller), shared by every wait on that socket. It never touches the Socket itself,
 * only its descriptor, so a Socket with no wait pending can still be garbage-collected.
 * @module
 */
import { getSystemErrorName } from 'node:util';

import { addon, type PollerClass, type PollerHandle } from './addon.js';
import { errnoName } from './errno.js';
import { descriptorPolled, socketClosed } from './errors.js';

/** What a wait resolves to: readiness, or its own timeout. */
export type WaitOutcome = 'ready' | 'timeout';

export interface WaitOptions {
  /** Milliseconds to wait at most (>= 0); none: wait until ready. */
  timeout?: number;
  /** Aborting rejects the wait with an AbortError. */
  signal?: AbortSignal;
}

interface Waiter {
  events: number;
  /** Whose wait it is (a Socket's View): {@link Readiness.cancel} rejects one owner's waits. */
  owner: object;
  /** The waiting Socket: referenced here so that a pending wait keeps it alive. */
  keepAlive: object | undefined;
  ready(): void;
  fail(error: Error): void;
}

/** A poll failure (libuv status < 0), with libuv's own code name. */
export class PollError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall = 'uv_poll';
  constructor(status: number) {
    // libuv's own codes, or a negated Winsock one (from restoring the mode after init).
    const code = errnoName(-status) ?? getSystemErrorName(status);
    super(`uv_poll ${code}`);
    this.name = 'PollError';
    this.code = code;
    this.errno = -status;
  }
}

/** @internal */
export const READABLE = addon.Poller.READABLE;
/** @internal */
export const WRITABLE = addon.Poller.WRITABLE;

/** @internal An AbortError as Node's own APIs give it: code 'ABORT_ERR', the signal's reason as `cause`. */
export function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

/** Calls from libuv arrive with `this` = the poller; its owner is found here. */
const owners = new WeakMap<PollerHandle, Readiness>();

function onPoll(this: PollerHandle, status: number, events: number): void {
  owners.get(this)?.dispatch(status, events);
}

/** @internal What a {@link Readiness} is made with. */
export interface ReadinessOptions {
  fd: number;
  /**
   * Whether to close the poll handle whenever no wait is pending, instead of keeping it
   * stopped. True while no Socket of this thread owns the descriptor: whoever owns it may close
   * it, and the number be reused, at any time; a handle kept open over that number would, when
   * finally closed, take the new socket out of epoll (uv_close runs EPOLL_CTL_DEL).
   */
  closeWhenIdle(): boolean;
  /**
   * Another thread has closed the descriptor (its owner, or `sys.close` there): this must
   * close this thread's Sockets of it, and so this Readiness.
   */
  closedElsewhere(): void;
  /** The watcher class: the addon's, or a fake that a unit test drives. */
  Poller?: PollerClass;
  /** fcntl's O_NONBLOCK switch (the addon's by default), see {@link Readiness.wait}. */
  setNonBlocking?(fd: number, nonblocking: boolean): number;
}

/**
 * @internal The waits on one descriptor in one thread, through one libuv poll handle (made by
 * src/descriptors.ts, shared by every Socket of the descriptor there).
 */
export class Readiness {
  readonly #fd: number;
  #poller: PollerHandle | undefined;
  readonly #waiters = new Set<Waiter>();
  #closed = false;
  /** The libuv status of a POLLERR wake-up not yet looked at by a waiter (0: none). */
  #errorWake = 0;
  /** The events the handle was last started with (0: stopped). */
  #armed = 0;

  readonly #options: Required<ReadinessOptions>;

  constructor(options: ReadinessOptions) {
    this.#fd = options.fd;
    this.#options = { Poller: addon.Poller, setNonBlocking: addon.setNonBlocking, ...options };
  }

  /** How many waits are pending. */
  get pending(): number {
    return this.#waiters.size;
  }

  /**
   * Re-arms the poll handle for the union of what the pending waiters want. With none left, a
   * handle started for readability alone stays started, idle (see PollerHandle.idle): a
   * receive loop's next wait then changes nothing in epoll / kqueue. Writability is never kept:
   * a socket is nearly always writable, which would call back on every turn.
   */
  #update(): void {
    let events = 0;
    for (const waiter of this.#waiters) events |= waiter.events;
    const poller = this.#poller;
    if (poller === undefined) return;
    if (events === 0) {
      if (this.#options.closeWhenIdle()) {
        poller.close();
        this.#poller = undefined;
        this.#armed = 0;
      } else if (this.#armed === READABLE) {
        poller.idle();
      } else {
        poller.stop();
        this.#armed = 0;
      }
      return;
    }
    this.#armed = events;
    const ret = poller.start(events);
    if (ret === this.#options.Poller.CLOSED_ELSEWHERE) this.#options.closedElsewhere();
    else if (ret < 0) this.#failAll(new PollError(ret));
  }

  #failAll(error: Error): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    this.#update();
    for (const waiter of waiters) waiter.fail(error);
  }

  /** @internal libuv says the descriptor is ready (or failed). */
  dispatch(status: number, events: number): void {
    if (status < 0) {
      if (getSystemErrorName(status) === 'EBADF') {
        // libuv reports POLLERR as UV_EBADF and stops the handle (src/unix/poll.c). The
        // descriptor is never closed under a poll here, so it means an error is pending on the
        // socket (ECONNREFUSED, ECONNRESET, ...): wake every waiter, and the real call that
        // follows reports that error exactly (takeErrorWake tells a caller it was this).
        this.#errorWake = status;
        this.dispatch(0, READABLE | WRITABLE);
        return;
      }
      // Any other poll error stops polling and is reported to every waiter, never swallowed.
      this.#failAll(new PollError(status));
      return;
    }
    if (this.#waiters.size === 0) {
      // Readiness while idle: nobody takes it, and a level-triggered poll would report it on
      // every turn, so the handle stops until the next wait.
      this.#poller?.stop();
      this.#armed = 0;
      return;
    }
    const woken: Waiter[] = [];
    for (const waiter of this.#waiters) {
      if ((waiter.events & events) !== 0) woken.push(waiter);
    }
    for (const waiter of woken) this.#waiters.delete(waiter);
    this.#update();
    for (const waiter of woken) waiter.ready();
  }

  /**
   * The libuv status if the last wake-up was POLLERR (reported by libuv as UV_EBADF), else 0;
   * clears it. A caller whose following call still would block must not wait again: the
   * condition would wake it at once, forever.
   */
  takeErrorWake(): number {
    const status = this.#errorWake;
    this.#errorWake = 0;
    return status;
  }

  /**
   * Waits until the descriptor is readable or writable (`events`: READABLE / WRITABLE bits).
   * Readiness can be spurious: the caller follows it with a real non-blocking call.
   * `blocking` is the socket's mode: uv_poll_init sets O_NONBLOCK (FIONBIO on Windows) on the
   * descriptor, which polling does not need, and the mode is the user's, so the wait that
   * opens the handle puts a blocking socket back in blocking mode at once.
   */
  wait(
    events: number,
    options: WaitOptions,
    blocking: boolean,
    owner: object,
    keepAlive?: object,
  ): Promise<WaitOutcome> {
    const { timeout, signal } = options;
    return new Promise<WaitOutcome>((resolve, reject) => {
      if (this.#closed) {
        reject(socketClosed());
        return;
      }
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        settle();
        this.#waiters.delete(waiter);
        this.#update();
        reject(abortError(signal as AbortSignal));
      };
      const settle = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        events,
        owner,
        keepAlive,
        ready: () => {
          settle();
          resolve('ready');
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      if (timeout !== undefined) {
        timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          this.#waiters.delete(waiter);
          this.#update();
          resolve('timeout');
        }, timeout);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (this.#poller === undefined) {
        const { Poller, setNonBlocking, closedElsewhere } = this.#options;
        const poller = new Poller(onPoll);
        const opened = poller.open(this.#fd);
        const ret = opened === 0 && blocking ? setNonBlocking(this.#fd, false) : opened;
        if (ret < 0) {
          poller.close();
          settle();
          if (ret === Poller.CLOSED_ELSEWHERE) {
            closedElsewhere();
            reject(socketClosed());
            return;
          }
          // Every rawrecv Socket of this thread waits through this one handle: another handle
          // on the number belongs to someone else (a node:net or dgram socket, another addon).
          reject(getSystemErrorName(ret) === 'EEXIST' ? descriptorPolled(this.#fd) : new PollError(ret));
          return;
        }
        owners.set(poller, this);
        this.#poller = poller;
      }
      this.#waiters.add(waiter);
      this.#update();
    });
  }

  /** Rejects `owner`'s pending waits with ERR_SOCKET_CLOSED (that Socket let go); others go on. */
  cancel(owner: object): void {
    const cancelled = [...this.#waiters].filter((waiter) => waiter.owner === owner);
    for (const waiter of cancelled) this.#waiters.delete(waiter);
    this.#update();
    for (const waiter of cancelled) waiter.fail(socketClosed());
  }

  /**
   * Stops and closes the poll handle (uv_close takes the descriptor out of epoll/kqueue at
   * once) and rejects pending waits with ERR_SOCKET_CLOSED. Must run before close(2).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller?.close();
    this.#poller = undefined;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const waiter of waiters) waiter.fail(socketClosed());
  }
}
