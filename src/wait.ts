/**
 * The async calls' one loop, in one named place (house style: nothing hidden), and what it is
 * made of: the deadline, the wait on the socket's poll handle, and the one-call non-blocking
 * switch for calls that have no MSG_DONTWAIT. Socket and Server use it alike.
 * @module
 */
import { addon } from './addon.js';
import type { FailureResult } from './classify.js';
import { PLATFORM } from './constants.js';
import { openFd, readinessOf, type View } from './descriptors.js';
import { rejection, throwIfFailed } from './errors.js';
import { abortError, PollError, type WaitOutcome } from './readiness.js';
import { checkWaitOptions } from './validate.js';

/**
 * What the loop needs of a Socket or Server: its descriptor and its tracked blocking mode. A
 * pending wait holds on to it, so it must keep its Socket alive (a closure over the Socket
 * does), while the View must not.
 */
export interface WaitTarget {
  readonly view: View;
  /** The mode the Socket tracks; set for the one call that {@link nonBlockingFor} switches. */
  blocking: boolean;
}

/** The `timeout` result an async call ends with at its deadline. */
export type TimeoutResult = FailureResult & { kind: 'timeout' };

/** The options' timeout as an absolute deadline (performance.now() based; Infinity for none). */
export function deadlineOf(options: unknown): { deadline: number; signal: AbortSignal | undefined } {
  const { timeout, signal } = checkWaitOptions(options);
  return { deadline: timeout === undefined ? Infinity : performance.now() + timeout, signal };
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
    openFd(view);
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
 * The async loop: one non-blocking `attempt`; on would-block, wait for `events` and attempt
 * again; at the deadline one last attempt, whose would-block becomes the `timeout` result
 * carrying that call's own ret, errno and code. An aborted signal stops it before any call.
 * It never spins: every turn waits on the poll handle (through the event loop), and a POLLERR
 * wake-up followed by would-block (an error recv cannot clear, such as an undrained
 * IP_RECVERR queue) rejects with a PollError.
 */
export async function untilReady<R extends { kind: string }>(
  target: WaitTarget,
  events: number,
  deadline: number,
  signal: AbortSignal | undefined,
  attempt: () => R,
): Promise<R | TimeoutResult> {
  if (signal?.aborted) throw abortError(signal);
  let pollError = 0;
  for (;;) {
    const result = attempt();
    if (result.kind !== 'would-block') return result;
    if (pollError !== 0) throw new PollError(pollError);
    const left = remaining(deadline);
    const outcome = left !== 0 ? await waitOn(target, events, { timeout: left, signal }) : 'timeout';
    if (outcome === 'timeout') {
      const last = attempt();
      if (last.kind !== 'would-block') return last;
      const { ret, errno, code } = last as unknown as FailureResult;
      return { kind: 'timeout', ret, errno, code };
    }
    pollError = readinessOf(target.view).takeErrorWake();
  }
}
