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

/**
 * @internal A pending wait, and whom it tells how it ends: `resolve('ready' | 'timeout')` or
 * `reject(error)`. {@link Readiness.wait} makes one around a promise; the async loop's pending
 * call (src/wait.ts) is one itself, so that a waiting call holds no other object or closure.
 * The fields below `keepAlive` are Readiness's to fill.
 */
export interface Waiter {
  resolve(outcome: WaitOutcome): void;
  reject(error: Error): void;
  events: number;
  /** Whose wait it is (a Socket's View): {@link Readiness.cancel} rejects one owner's waits. */
  owner: object;
  /** The waiting Socket: referenced here so that a pending wait keeps it alive. */
  keepAlive: object | undefined;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
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
  #poller: PollerHandle | undefined;
  /** The pending waits, oldest first (an array: usually one, and a Set costs far more memory). */
  #waiters: Waiter[] = [];
  #closed = false;
  /** The libuv status of a POLLERR wake-up not yet looked at by a waiter (0: none). */
  #errorWake = 0;
  /** The events the handle was last started with (0: stopped). */
  #armed = 0;

  readonly #options: ReadinessOptions;

  constructor(options: ReadinessOptions) {
    this.#options = options;
  }

  get #Poller(): PollerClass {
    return this.#options.Poller ?? addon.Poller;
  }

  /** How many waits are pending. */
  get pending(): number {
    return this.#waiters.length;
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
    if (ret === this.#Poller.CLOSED_ELSEWHERE) this.#options.closedElsewhere();
    else if (ret < 0) this.#failAll(new PollError(ret));
  }

  #failAll(error: Error): void {
    const waiters = this.#waiters.splice(0);
    // Stopped, not kept armed: after a poll error the watcher is not to be trusted.
    this.#armed = 0;
    this.#update();
    for (const waiter of waiters) Readiness.#fail(waiter, error);
  }

  /** Removes `waiter` from the pending ones (if it still is). */
  #remove(waiter: Waiter): void {
    const index = this.#waiters.indexOf(waiter);
    if (index >= 0) this.#waiters.splice(index, 1);
  }

  /** Lets go of what a waiter holds besides its promise: its timer and abort listener. */
  static #settle(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  static #ready(waiter: Waiter): void {
    Readiness.#settle(waiter);
    waiter.resolve('ready');
  }

  static #fail(waiter: Waiter, error: Error): void {
    Readiness.#settle(waiter);
    waiter.reject(error);
  }

  /** @internal libuv says the descriptor is ready (or failed). */
  dispatch(status: number, events: number): void {
    if (status < 0) {
      if (getSystemErrorName(status) === 'EBADF') {
        // libuv reports POLLERR as UV_EBADF and stops the handle (src/unix/poll.c). The
        // descriptor is never closed under a poll here, so it means an error is pending on the
        // socket (ECONNREFUSED, ECONNRESET, ...): wake every waiter, and the real call that
        // follows reports that error exactly (takeErrorWake tells a caller it was this).
        this.#armed = 0;
        this.#wake(READABLE | WRITABLE, status);
        return;
      }
      // Any other poll error stops polling and is reported to every waiter, never swallowed.
      this.#failAll(new PollError(status));
      return;
    }
    this.#wake(events, 0);
  }

  /**
   * Wakes the waiters of `events`; `errorWake` is the POLLERR status of this wake-up (0 for
   * none), for {@link Readiness.takeErrorWake}: it belongs to this wake-up alone, so a later
   * plain wake-up, or one nobody waited for, clears it.
   */
  #wake(events: number, errorWake: number): void {
    if (this.#waiters.length === 0) {
      // Readiness while idle: nobody takes it, and a level-triggered poll would report it on
      // every turn, so the handle stops until the next wait.
      this.#errorWake = 0;
      this.#poller?.stop();
      this.#armed = 0;
      return;
    }
    this.#errorWake = errorWake;
    const woken = this.#waiters.filter((waiter) => (waiter.events & events) !== 0);
    for (const waiter of woken) this.#remove(waiter);
    this.#update();
    for (const waiter of woken) Readiness.#ready(waiter);
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
    return new Promise<WaitOutcome>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        events,
        owner,
        keepAlive,
        timer: undefined,
        signal: undefined,
        onAbort: undefined,
      };
      this.listen(waiter, options, blocking);
    });
  }

  /**
   * {@link Readiness.wait} for a waiter made by the caller: `waiter.events`, `owner` and
   * `keepAlive` are set; the rest is filled here.
   */
  listen(waiter: Waiter, options: WaitOptions, blocking: boolean): void {
    const { timeout, signal } = options;
    if (this.#closed) {
      waiter.reject(socketClosed());
      return;
    }
    if (signal?.aborted) {
      waiter.reject(abortError(signal));
      return;
    }
    waiter.timer = undefined;
    waiter.signal = signal;
    waiter.onAbort = undefined;
    if (timeout !== undefined) {
      waiter.timer = setTimeout(() => {
        Readiness.#settle(waiter);
        this.#remove(waiter);
        this.#update();
        waiter.resolve('timeout');
      }, timeout);
    }
    if (signal !== undefined) {
      waiter.onAbort = () => {
        Readiness.#settle(waiter);
        this.#remove(waiter);
        this.#update();
        waiter.reject(abortError(signal));
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    if (this.#poller === undefined) {
      const Poller = this.#Poller;
      const poller = new Poller(onPoll);
      const opened = poller.open(this.#options.fd);
      const ret =
        opened === 0 && blocking
          ? (this.#options.setNonBlocking ?? addon.setNonBlocking)(this.#options.fd, false)
          : opened;
      if (ret < 0) {
        poller.close();
        Readiness.#settle(waiter);
        if (ret === Poller.CLOSED_ELSEWHERE) {
          this.#options.closedElsewhere();
          waiter.reject(socketClosed());
          return;
        }
        // Every rawrecv Socket of this thread waits through this one handle: another handle
        // on the number belongs to someone else (a node:net or dgram socket, another addon).
        waiter.reject(getSystemErrorName(ret) === 'EEXIST' ? descriptorPolled(this.#options.fd) : new PollError(ret));
        return;
      }
      owners.set(poller, this);
      this.#poller = poller;
    }
    // A one-element array when it was empty (an empty array's first push reserves 17 slots).
    if (this.#waiters.length === 0) this.#waiters = [waiter];
    else this.#waiters.push(waiter);
    this.#update();
  }

  /** Rejects `owner`'s pending waits with ERR_SOCKET_CLOSED (that Socket let go); others go on. */
  cancel(owner: object): void {
    const cancelled = this.#waiters.filter((waiter) => waiter.owner === owner);
    for (const waiter of cancelled) this.#remove(waiter);
    this.#update();
    for (const waiter of cancelled) Readiness.#fail(waiter, socketClosed());
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
    const waiters = this.#waiters.splice(0);
    for (const waiter of waiters) Readiness.#fail(waiter, socketClosed());
  }
}
