/**
 * The async calls' one loop, in one named place (house style: nothing hidden), and what it is
 * made of: the deadline, the wait on the socket's poll handle, and the one-call non-blocking
 * switch for calls that have no MSG_DONTWAIT. Socket and Server use it alike.
 * @module
 */
import { addon, pendingPromise } from './addon.js';
import { wouldBlockResults, type FailureResult } from './classify.js';
import { constants, PLATFORM } from './constants.js';
import { openFd, readinessOf, type View } from './descriptors.js';
import { rejection, throwIfFailed } from './errors.js';
import { abortError, PollError, settle, type WaitOutcome, type Waiter } from './readiness.js';
import { checkWaitOptions } from './validate.js';

/**
 * What the loop needs of a Socket or Server: its descriptor and its tracked blocking mode. A
 * pending wait holds on to it, so it must keep its Socket alive (a Socket's context does, by
 * its `socket` field), while the View must not.
 */
export interface WaitTarget {
  readonly view: View;
  /** The mode the Socket tracks; set for the one call that {@link nonBlockingFor} switches. */
  blocking: boolean;
}

/** The `timeout` result an async call ends with at its deadline. */
export type TimeoutResult = FailureResult & { kind: 'timeout' };

/** MSG_DONTWAIT, where the OS has it (not Windows). */
const DONTWAIT = constants.MSG.DONTWAIT;

/** This platform's would-block results: a deadline's last would-block becomes its frozen timeout twin. */
const WOULD_BLOCK = wouldBlockResults(PLATFORM);

/**
 * The options, checked, with their timeout as an absolute deadline (performance.now() based;
 * Infinity for none).
 */
export function deadlineOf(options: unknown): {
  deadline: number;
  timeout: number | undefined;
  signal: AbortSignal | undefined;
} {
  const { timeout, signal } = checkWaitOptions(options);
  return { deadline: timeout === undefined ? Infinity : performance.now() + timeout, timeout, signal };
}

/** Milliseconds left until `deadline`, as a wait's timeout (0: it has passed; undefined: none). */
export function remaining(deadline: number): number | undefined {
  return Number.isFinite(deadline) ? Math.max(0, Math.ceil(deadline - performance.now())) : undefined;
}

/** Settles with `promise`, or rejects at the deadline (`onTimeout()`) or on abort. */
export function withDeadline<T>(
  promise: Promise<T>,
  deadline: number,
  signal: AbortSignal | undefined,
  onTimeout: () => Error,
): Promise<T> {
  if (deadline === Infinity && signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const left = remaining(deadline);
    const timer = left === undefined ? undefined : setTimeout(() => reject(onTimeout()), left);
    const onAbort = (): void => reject(abortError(signal as AbortSignal));
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  });
}

/**
 * Waits on the target's poll handle (shared by every Socket of the descriptor in this thread)
 * until `events` (READABLE / WRITABLE) or the options' timeout. Rejects, never throws.
 */
export function waitOn(target: WaitTarget, events: number, options: unknown): Promise<WaitOutcome> {
  try {
    const view = target.view;
    return readinessOf(view).wait(events, checkWaitOptions(options), target.blocking, view, target);
  } catch (error) {
    return rejection(error);
  }
}

/**
 * Runs `call` with O_NONBLOCK set, restoring blocking mode after, for calls that have no
 * MSG_DONTWAIT (accept, every call on Windows). For the call the mode is tracked as
 * non-blocking, so its would-block is classified as would-block, not as an expired receive
 * timeout. The switch is visible to every holder of the open file description for that moment
 * (docs/recv-semantics.md#trap-5).
 */
export function nonBlockingFor<R>(target: WaitTarget, call: () => R): R {
  if (!target.blocking) return call();
  throwIfFailed(addon.setNonBlocking(openFd(target.view), true), 'fcntl', PLATFORM);
  target.blocking = false;
  try {
    return call();
  } finally {
    target.blocking = true;
    throwIfFailed(addon.setNonBlocking(openFd(target.view), false), 'fcntl', PLATFORM);
  }
}

/**
 * The call an async loop makes, as a shared function of its values rather than a closure made
 * per call: `call(a, b, c, flags)` (a pending call then holds no closure and no context).
 */
export type Attempt<R, A, B, C> = (a: A, b: B, c: C, flags: number) => R;

/**
 * The async loop: one non-blocking attempt, `call(a, b, c, flags)`; on would-block, wait for
 * `events` and attempt again; at the deadline one last attempt, whose would-block becomes the
 * `timeout` result carrying that call's own ret, errno and code. An aborted signal stops it
 * before any call. It never spins: every turn waits on the poll handle (through the event loop),
 * and a POLLERR wake-up followed by would-block (an error recv cannot clear, such as an
 * undrained IP_RECVERR queue) rejects with a PollError. Rejects, never throws. The flags of
 * each attempt are `flags` and MSG_DONTWAIT, see {@link attempt}.
 */
export function untilReadyWith<R extends { kind: string }, A, B, C>(
  target: WaitTarget,
  events: number,
  deadline: number,
  signal: AbortSignal | undefined,
  call: Attempt<R, A, B, C>,
  a: A,
  b: B,
  c: C,
  flags: number,
): Promise<R | TimeoutResult> {
  try {
    if (signal?.aborted) throw abortError(signal);
    // Most calls are answered by their first attempt: no promise but the result's.
    const result = attempt(target, call, a, b, c, flags);
    if (result.kind !== 'would-block') return Promise.resolve(result);
  } catch (error) {
    return rejection(error);
  }
  const { promise, slot } = pendingPromise<R | TimeoutResult>();
  const limits = deadline === Infinity && signal === undefined ? undefined : { deadline, signal };
  new Retry(target, events, limits, call, a, b, c, flags, slot).wait();
  return promise;
}

/** {@link untilReadyWith} for a call made by a closure: `call(flags)`. */
export function untilReady<R extends { kind: string }>(
  target: WaitTarget,
  events: number,
  deadline: number,
  signal: AbortSignal | undefined,
  call: (flags: number) => R,
  flags = 0,
): Promise<R | TimeoutResult> {
  return untilReadyWith(target, events, deadline, signal, callClosure<R>, call, undefined, undefined, flags);
}

function callClosure<R>(call: (flags: number) => R, _b: undefined, _c: undefined, flags: number): R {
  return call(flags);
}

/**
 * One attempt that does not block, without touching the socket's own mode: the call with
 * `flags | MSG_DONTWAIT` where the OS has MSG_DONTWAIT; elsewhere (Windows) with `flags` and
 * O_NONBLOCK set for that one call. (A call that takes no flags, such as accept, must make
 * itself non-blocking: see Server.acceptAsync.)
 */
function attempt<R, A, B, C>(target: WaitTarget, call: Attempt<R, A, B, C>, a: A, b: B, c: C, flags: number): R {
  if (DONTWAIT !== undefined) return call(a, b, c, flags | DONTWAIT);
  return nonBlockingFor(target, () => call(a, b, c, flags));
}

/** A pending call's deadline and signal, when it has either. */
interface Limits {
  deadline: number;
  signal: AbortSignal | undefined;
}

/**
 * A pending async call between its attempts: it is the wait's sink (src/readiness.ts), and it
 * settles the call's promise (made by the addon, see pendingPromise) through its slot, so a
 * waiting call holds this object and its promise, and no closure.
 */
class Retry<R extends { kind: string }, A, B, C> implements Waiter {
  // The Waiter fields Readiness fills.
  next: Waiter | undefined = undefined;
  guard: Waiter['guard'] = undefined;

  constructor(
    /** The waiting Socket's wait target: it keeps the Socket alive while the call waits. */
    readonly target: WaitTarget,
    readonly events: number,
    readonly limits: Limits | undefined,
    readonly call: Attempt<R, A, B, C>,
    readonly a: A,
    readonly b: B,
    readonly c: C,
    readonly flags: number,
    /** The call's promise's slot, until settled (then -1). */
    public slot: number,
  ) {}

  get owner(): object {
    return this.target.view;
  }

  /** Waits for the events until the deadline (or ends at once if it has passed). */
  wait(): void {
    const limits = this.limits;
    const left = limits === undefined ? undefined : remaining(limits.deadline);
    if (left === 0) {
      this.resolve('timeout', 0);
      return;
    }
    try {
      readinessOf(this.target.view).listen(this, left, limits?.signal, this.target.blocking);
    } catch (error) {
      this.reject(error as Error);
    }
  }

  /**
   * The wait ended: attempt again at once (waiters woken together go on in the order they
   * waited; the caller's code runs later, as the promise's continuation), and wait again on
   * would-block unless it was the deadline. At once, not in a microtask: libuv polls
   * level-triggered, and readiness taken before its next poll is not reported again.
   */
  resolve(outcome: WaitOutcome, pollError: number): void {
    try {
      const result = attempt(this.target, this.call, this.a, this.b, this.c, this.flags);
      if (result.kind !== 'would-block') {
        this.slot = settle(this.slot, result, false);
      } else if (outcome === 'timeout') {
        // The last attempt's own ret, errno and code, as the timeout.
        const last = result as unknown as FailureResult;
        const { ret, errno, code, portableCode } = last;
        this.slot = settle(
          this.slot,
          last === WOULD_BLOCK.wouldBlock ? WOULD_BLOCK.timedOut : { kind: 'timeout', ret, errno, code, portableCode },
          false,
        );
      } else if (pollError !== 0) {
        throw new PollError(pollError);
      } else {
        this.wait();
      }
    } catch (error) {
      this.reject(error as Error);
    }
  }

  reject(error: Error): void {
    this.slot = settle(this.slot, error, true);
  }
}
