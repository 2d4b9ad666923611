/**
 * Readiness on the event loop: one libuv poll handle per socket (`uv_poll_t`, in the addon's
 * table by descriptor), shared by every wait on that socket. It never touches the Socket
 * itself, only its descriptor, so a Socket with no wait pending can still be garbage-collected.
 * @module
 */
import { getSystemErrorName } from 'node:util';

import { addon, pendingPromise, type PollBackend } from './addon.js';
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
 * `reject(error)`. {@link Readiness.wait} makes one that settles a promise the addon made; the
 * async loop's pending call (src/wait.ts) is one itself, so that a waiting call holds no other
 * object or closure.
 * `next` and `guard` are Readiness's to fill.
 */
export interface Waiter {
  /**
   * `pollError`: with 'ready', the libuv status when the wake-up was POLLERR (libuv reports it as
   * UV_EBADF), else 0. A caller whose following call still would block must not wait again
   * then: the condition would wake it at once, forever.
   */
  resolve(outcome: WaitOutcome, pollError: number): void;
  reject(error: Error): void;
  readonly events: number;
  /** Whose wait it is (a Socket's View): {@link Readiness.cancel} rejects one owner's waits. */
  readonly owner: object;
  /** The next pending wait on the same descriptor (the waits are a list: usually one). */
  next: Waiter | undefined;
  /** Its timer and abort listener, when it has a timeout or a signal. */
  guard: Guard | undefined;
}

/** What a wait with a timeout or a signal holds besides itself. */
interface Guard {
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
export const READABLE = addon.poller.READABLE;
/** @internal */
export const WRITABLE = addon.poller.WRITABLE;

/** @internal An AbortError as Node's own APIs give it: code 'ABORT_ERR', the signal's reason as `cause`. */
export function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

/**
 * How many Readiness objects of this thread have a wait pending: while any has, the backend holds
 * the loop open (PollBackend.hold, called only when this goes from 0 to 1 and back, so that a
 * wake-up costs no call).
 */
let waiting = 0;

/** The states of a Readiness's poll handle. */
const NO_HANDLE = 0;
const OPEN = 1;
/** Closed for good: every later wait rejects with ERR_SOCKET_CLOSED. */
const CLOSED = 2;

/**
 * @internal The waits on one descriptor in one thread, through one libuv poll handle. Made by
 * src/descriptors.ts (whose table entry for the descriptor is one), shared by every Socket of the
 * descriptor there. The methods a subclass may override are the hooks at the top: the poll
 * backend, the O_NONBLOCK switch, and what to do when idle or closed elsewhere (a unit test
 * overrides them all).
 */
export class Readiness {
  /** The pending waits, oldest first (a list through `Waiter.next`). */
  #first: Waiter | undefined = undefined;
  #handle = NO_HANDLE;
  /**
   * The events the handle was last started with (0: stopped), as libuv has them: libuv stops a
   * handle by itself only on a poll error, which is dispatched here (and so sets it to 0).
   */
  #armed = 0;
  /** Whether this counts in `waiting`. */
  #waiting = false;

  constructor(readonly fd: number) {}

  /** The poll handles (the addon's). */
  get backend(): PollBackend {
    return addon.poller;
  }

  /** fcntl's O_NONBLOCK switch (the addon's), see {@link Readiness.wait}. */
  setNonBlocking(fd: number, nonblocking: boolean): number {
    return addon.setNonBlocking(fd, nonblocking);
  }

  /**
   * Whether to close the poll handle whenever no wait is pending, instead of keeping it
   * stopped. True while no Socket of this thread owns the descriptor: whoever owns it may close
   * it, and the number be reused, at any time; a handle kept open over that number would, when
   * finally closed, take the new socket out of epoll (uv_close runs EPOLL_CTL_DEL).
   */
  closeWhenIdle(): boolean {
    return true;
  }

  /**
   * Another thread has closed the descriptor (its owner, or `sys.close` there): this must close
   * this thread's Sockets of it, and so this Readiness.
   */
  closedElsewhere(): void {
    this.close();
  }

  /** How many waits are pending. */
  get pending(): number {
    let count = 0;
    for (let waiter = this.#first; waiter !== undefined; waiter = waiter.next) count++;
    return count;
  }

  /**
   * Re-arms the poll handle for the union of what the pending waiters want, with no call when it
   * is already started for exactly those. With none left, a handle started for readability alone
   * stays started, idle: a receive loop's next wait then changes nothing in epoll / kqueue, and
   * its callback while idle stops it (see #wake). Writability is never kept: a socket is nearly
   * always writable, which would call back on every turn.
   */
  #update(): void {
    let events = 0;
    for (let waiter = this.#first; waiter !== undefined; waiter = waiter.next) events |= waiter.events;
    this.#hold(events !== 0);
    if (this.#handle !== OPEN) return;
    const backend = this.backend;
    if (events === 0) {
      if (this.closeWhenIdle()) {
        backend.close(this.fd);
        this.#handle = NO_HANDLE;
        this.#armed = 0;
      } else if (this.#armed !== READABLE && this.#armed !== 0) {
        backend.stop(this.fd);
        this.#armed = 0;
      }
      return;
    }
    if (events === this.#armed) return;
    const ret = backend.start(this.fd, events);
    if (ret === backend.CLOSED_ELSEWHERE) {
      this.#armed = 0;
      this.closedElsewhere();
    } else if (ret < 0) {
      this.#failAll(new PollError(ret));
    } else {
      this.#armed = events;
    }
  }

  /** Counts this Readiness in `waiting` or not; the backend holds the loop while any is. */
  #hold(pending: boolean): void {
    if (pending === this.#waiting) return;
    this.#waiting = pending;
    waiting += pending ? 1 : -1;
    if (waiting === (pending ? 1 : 0)) this.backend.hold(pending);
  }

  /** Takes every pending waiter out of the list, oldest first. */
  #takeAll(): Waiter[] {
    const taken: Waiter[] = [];
    for (let waiter = this.#first; waiter !== undefined; waiter = waiter.next) taken.push(waiter);
    this.#first = undefined;
    return taken;
  }

  /** Takes out the pending waiters `test` picks, oldest first; the others stay in order. */
  #take(test: (waiter: Waiter) => boolean): Waiter[] {
    const taken: Waiter[] = [];
    let kept: Waiter | undefined;
    for (let waiter = this.#first; waiter !== undefined; waiter = waiter.next) {
      if (test(waiter)) {
        taken.push(waiter);
        if (kept === undefined) this.#first = waiter.next;
        else kept.next = waiter.next;
      } else {
        kept = waiter;
      }
    }
    return taken;
  }

  #failAll(error: Error): void {
    const waiters = this.#takeAll();
    // Stopped, not kept armed: after a poll error the watcher is not to be trusted.
    if (this.#handle === OPEN && this.#armed !== 0) this.backend.stop(this.fd);
    this.#armed = 0;
    this.#update();
    for (const waiter of waiters) Readiness.#fail(waiter, error);
  }

  /** Removes `waiter` from the pending ones (if it still is). */
  #remove(waiter: Waiter): void {
    this.#take((pending) => pending === waiter);
  }

  /** Lets go of what a waiter holds besides its promise: its timer and abort listener. */
  static #settle(waiter: Waiter): void {
    const guard = waiter.guard;
    if (guard === undefined) return;
    waiter.guard = undefined;
    if (guard.timer !== undefined) clearTimeout(guard.timer);
    if (guard.onAbort !== undefined) guard.signal?.removeEventListener('abort', guard.onAbort);
  }

  static #ready(waiter: Waiter, pollError: number): void {
    Readiness.#settle(waiter);
    waiter.resolve('ready', pollError);
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
        // follows reports that error exactly (the waiter is told it was this).
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

  /** Wakes the waiters of `events`; `pollError` is the POLLERR status of this wake-up (0 for none). */
  #wake(events: number, pollError: number): void {
    const first = this.#first;
    if (first === undefined) {
      // Readiness while idle: nobody takes it, and a level-triggered poll would report it on
      // every turn, so the handle stops until the next wait.
      if (this.#handle === OPEN && this.#armed !== 0) this.backend.stop(this.fd);
      this.#armed = 0;
      return;
    }
    // The handle and the loop's hold are updated after the first waiter has gone on, not
    // before: a retrying call (src/wait.ts Retry) that would block waits again from its
    // resolve, and then finds the handle armed for it and the loop held, so that the wake-up
    // changes nothing (no uv_unref / uv_ref pair, and for a descriptor closed when idle no
    // uv_close, uv_poll_init and start).
    if (first.next === undefined) {
      // One waiter, the usual case: no list to build.
      if ((first.events & events) === 0) return;
      this.#first = undefined;
      try {
        Readiness.#ready(first, pollError);
      } finally {
        this.#update();
      }
      return;
    }
    const woken = this.#take((waiter) => (waiter.events & events) !== 0);
    // In the order they waited: the first goes on at once, each other one in a microtask, so
    // that the code of a wait woken before it (a promise continuation) runs before its own
    // next call (src/wait.ts Retry calls at once). Their timers and listeners go now.
    try {
      woken.forEach((waiter, index) => {
        if (index === 0) {
          Readiness.#ready(waiter, pollError);
        } else {
          Readiness.#settle(waiter);
          queueMicrotask(() => waiter.resolve('ready', pollError));
        }
      });
    } finally {
      this.#update();
    }
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
    const { promise, slot } = pendingPromise<WaitOutcome>();
    this.listen(new PendingWait(events, owner, keepAlive, slot), options.timeout, options.signal, blocking);
    return promise;
  }

  /**
   * {@link Readiness.wait} for a waiter made by the caller, with its own timeout (ms) and
   * signal; its `next` and `guard` are set here.
   */
  listen(waiter: Waiter, timeout: number | undefined, signal: AbortSignal | undefined, blocking: boolean): void {
    if (this.#handle === CLOSED) {
      waiter.reject(socketClosed());
      return;
    }
    if (signal?.aborted) {
      waiter.reject(abortError(signal));
      return;
    }
    waiter.next = undefined;
    waiter.guard = timeout === undefined && signal === undefined ? undefined : this.#guard(waiter, timeout, signal);
    if (this.#handle === NO_HANDLE) {
      const backend = this.backend;
      const opened = backend.open(this.fd);
      const ret = opened === 0 && blocking ? this.setNonBlocking(this.fd, false) : opened;
      if (ret < 0) {
        backend.close(this.fd);
        Readiness.#settle(waiter);
        if (ret === backend.CLOSED_ELSEWHERE) {
          this.closedElsewhere();
          waiter.reject(socketClosed());
          return;
        }
        // Every rawrecv Socket of this thread waits through this one handle: another handle
        // on the number belongs to someone else (a node:net or dgram socket, another addon).
        waiter.reject(getSystemErrorName(ret) === 'EEXIST' ? descriptorPolled(this.fd) : new PollError(ret));
        return;
      }
      this.#handle = OPEN;
    }
    let last = this.#first;
    if (last === undefined) {
      this.#first = waiter;
    } else {
      while (last.next !== undefined) last = last.next;
      last.next = waiter;
    }
    this.#update();
  }

  /** The timer and abort listener of a wait with a timeout or a signal. */
  #guard(waiter: Waiter, timeout: number | undefined, signal: AbortSignal | undefined): Guard {
    const guard: Guard = { timer: undefined, signal, onAbort: undefined };
    if (timeout !== undefined) {
      guard.timer = setTimeout(() => {
        Readiness.#settle(waiter);
        this.#remove(waiter);
        this.#update();
        waiter.resolve('timeout', 0);
      }, timeout);
    }
    if (signal !== undefined) {
      guard.onAbort = () => {
        Readiness.#settle(waiter);
        this.#remove(waiter);
        this.#update();
        waiter.reject(abortError(signal));
      };
      signal.addEventListener('abort', guard.onAbort, { once: true });
    }
    return guard;
  }

  /** Rejects `owner`'s pending waits with ERR_SOCKET_CLOSED (that Socket let go); others go on. */
  cancel(owner: object): void {
    const cancelled = this.#take((waiter) => waiter.owner === owner);
    this.#update();
    for (const waiter of cancelled) Readiness.#fail(waiter, socketClosed());
  }

  /**
   * Stops and closes the poll handle (uv_close takes the descriptor out of epoll/kqueue at
   * once) and rejects pending waits with ERR_SOCKET_CLOSED. Must run before close(2).
   */
  close(): void {
    if (this.#handle === CLOSED) return;
    if (this.#handle === OPEN) this.backend.close(this.fd);
    this.#handle = CLOSED;
    this.#armed = 0;
    const waiters = this.#takeAll();
    this.#hold(false);
    for (const waiter of waiters) Readiness.#fail(waiter, socketClosed());
  }
}

/** The waiter of {@link Readiness.wait}: it settles its promise, made by the addon. */
class PendingWait implements Waiter {
  next: Waiter | undefined = undefined;
  guard: Guard | undefined = undefined;

  constructor(
    readonly events: number,
    readonly owner: object,
    /** The waiting Socket: referenced here so that a pending wait keeps it alive. */
    readonly keepAlive: object | undefined,
    /** Its promise's slot, until settled (then -1). */
    public slot: number,
  ) {}

  resolve(outcome: WaitOutcome): void {
    this.slot = settle(this.slot, outcome, false);
  }

  reject(error: Error): void {
    this.slot = settle(this.slot, error, true);
  }
}

/**
 * @internal Settles the addon-made promise of `slot` unless it is -1 (settled already), and
 * returns -1: `waiter.slot = settle(waiter.slot, ...)` settles once, whatever calls it twice (a
 * slot, once free, is reused by the next promise).
 */
export function settle(slot: number, value: unknown, rejected: boolean): number {
  if (slot >= 0) addon.poller.settle(slot, value, rejected);
  return -1;
}
