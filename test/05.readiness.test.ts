/**
 * Readiness (src/readiness.ts) driven through a fake poller, as serialport's bindings-cpp tests
 * its poller: dispatch to the right waiters, POLLERR, close-when-idle, abort, timeouts, and the
 * statuses that turn into documented errors. No descriptor is touched: the fake records calls.
 */
import { getSystemErrorMap } from 'node:util';

import { describe, expect, it } from 'vitest';

import type { PollBackend } from '../src/addon.js';
import { Readiness, type WaitOutcome, type Waiter } from '../src/readiness.js';

/** libuv's number for an error name on this OS (-9 for EBADF on Linux, -4083 on Windows). */
function uv(name: string): number {
  for (const [status, [code]] of getSystemErrorMap()) if (code === name) return status;
  throw new Error(`libuv has no ${name}`);
}

const READABLE = 1;
const WRITABLE = 2;

/** One fake poll handle, from its open to its close: the calls made on it. */
class FakePoller {
  static readonly CLOSED_ELSEWHERE = uv('ECANCELED');
  /** Every handle opened, newest last. */
  static made: FakePoller[] = [];
  /** What the next open returns. */
  static openResult = 0;

  readonly calls: string[] = [];
  events = 0;
  startResult = 0;

  constructor(readonly readiness: Readiness) {
    FakePoller.made.push(this);
  }

  /** What the addon's delivery of libuv's callback would do. */
  fire(status: number, events: number): void {
    this.readiness.dispatch(status, events);
  }
}

/** The backend a Readiness calls, recording each call on the descriptor's latest handle. */
class FakeBackend implements PollBackend {
  readonly READABLE = READABLE;
  readonly WRITABLE = WRITABLE;
  readonly DISCONNECT = 4;
  readonly CLOSED_ELSEWHERE = FakePoller.CLOSED_ELSEWHERE;

  constructor(readonly readiness: () => Readiness) {}

  get #current(): FakePoller {
    return FakePoller.made.at(-1) as FakePoller;
  }

  open(fd: number): number {
    new FakePoller(this.readiness()).calls.push(`open ${fd}`);
    return FakePoller.openResult;
  }

  start(fd: number, events: number): number {
    this.#current.calls.push(`start ${events}`);
    this.#current.events = events;
    return this.#current.startResult;
  }

  /** The loop-holding calls, in order. */
  readonly holds: boolean[] = [];

  hold(waiting: boolean): void {
    this.holds.push(waiting);
  }

  stop(): number {
    this.#current.calls.push('stop');
    this.#current.events = 0;
    return 0;
  }

  close(): number {
    this.#current.calls.push('close');
    this.#current.events = 0;
    return 0;
  }
}

/** A Readiness whose hooks are the fakes: the backend, the mode switch, idle and elsewhere. */
class TestReadiness extends Readiness {
  readonly modes: string[] = [];
  elsewhere = 0;
  readonly fake = new FakeBackend(() => this);

  constructor(readonly owned: boolean) {
    super(7);
  }

  override get backend(): PollBackend {
    return this.fake;
  }

  override setNonBlocking(fd: number, nonblocking: boolean): number {
    this.modes.push(`fd ${fd} nonblocking ${nonblocking}`);
    return 0;
  }

  override closeWhenIdle(): boolean {
    return !this.owned;
  }

  override closedElsewhere(): void {
    this.elsewhere++;
    this.close();
  }
}

function make(options: { owned?: boolean } = {}): {
  readiness: Readiness;
  modes: string[];
  closedElsewhere: () => number;
  poller: () => FakePoller;
  holds: boolean[];
} {
  FakePoller.made = [];
  FakePoller.openResult = 0;
  const readiness = new TestReadiness(options.owned === true);
  return {
    readiness,
    modes: readiness.modes,
    closedElsewhere: () => readiness.elsewhere,
    poller: () => FakePoller.made.at(-1) as FakePoller,
    holds: readiness.fake.holds,
  };
}

const owner = {};

describe('Readiness with a fake poller', () => {
  it('the first wait opens the handle and puts a blocking socket back in blocking mode; a non-blocking one is left alone', async () => {
    const blocking = make();
    const pending = blocking.readiness.wait(READABLE, {}, true, owner);
    expect(blocking.poller().calls).toEqual(['open 7', `start ${READABLE}`]);
    expect(blocking.modes).toEqual(['fd 7 nonblocking false']);
    blocking.poller().fire(0, READABLE);
    expect(await pending).toBe('ready');

    const nonBlocking = make();
    const other = nonBlocking.readiness.wait(READABLE, {}, false, owner);
    expect(nonBlocking.modes).toEqual([]);
    nonBlocking.poller().fire(0, READABLE);
    expect(await other).toBe('ready');
  });

  it('dispatch wakes only the waiters whose events fired and re-arms for the rest', async () => {
    const { readiness, poller } = make({ owned: true });
    const reading = readiness.wait(READABLE, {}, false, owner);
    const writing = readiness.wait(WRITABLE, {}, false, owner);
    expect(poller().events).toBe(READABLE | WRITABLE);
    poller().fire(0, WRITABLE);
    expect(await writing).toBe('ready');
    expect(poller().events).toBe(READABLE);
    expect(readiness.pending).toBe(1);
    poller().fire(0, READABLE);
    expect(await reading).toBe('ready');
    // Owned: the handle, left started for readability alone, is kept armed, not closed.
    expect(poller().calls.at(-1)).toBe(`start ${READABLE}`);
    expect(poller().events).toBe(READABLE);
  });

  it('a receive loop keeps the handle armed: no start between waits; readiness while idle stops it; writability is never kept', async () => {
    const { readiness, poller, holds } = make({ owned: true });
    const first = readiness.wait(READABLE, {}, false, owner);
    poller().fire(0, READABLE);
    await first;
    const handle = poller();
    expect(handle.calls).toEqual(['open 7', `start ${READABLE}`]);
    // The next wait wants the same events: no call at all (test/15 counts uv_poll_start calls).
    const second = readiness.wait(READABLE, {}, false, owner);
    handle.fire(0, READABLE);
    await second;
    expect(handle.calls.slice(2)).toEqual([]);
    // The loop is held only while a wait is pending.
    expect(holds).toEqual([true, false, true, false]);
    // Readable again with nobody waiting: stopped, or libuv would call back on every turn.
    handle.fire(0, READABLE);
    expect(handle.calls.at(-1)).toBe('stop');
    expect(handle.events).toBe(0);
    // A wait for writability is stopped as soon as it is over.
    const writing = readiness.wait(WRITABLE, {}, false, owner);
    handle.fire(0, WRITABLE);
    await writing;
    expect(handle.calls.slice(-2)).toEqual([`start ${WRITABLE}`, 'stop']);
  });

  it('a woken waiter that waits again from its wake-up (as a retrying call does) makes no hold, stop, close or open call', () => {
    for (const owned of [true, false]) {
      const { readiness, poller, holds } = make({ owned });
      /** Waits again from inside resolve, `rounds` times, as src/wait.ts Retry does on would-block. */
      class Again implements Waiter {
        readonly events = READABLE;
        readonly owner = owner;
        next: Waiter | undefined = undefined;
        guard: Waiter['guard'] = undefined;
        outcomes: WaitOutcome[] = [];
        constructor(public rounds: number) {}
        resolve(outcome: WaitOutcome): void {
          this.outcomes.push(outcome);
          if (--this.rounds > 0) readiness.listen(this, undefined, undefined, false);
        }
        reject(error: Error): void {
          throw error;
        }
      }
      const waiter = new Again(3);
      readiness.listen(waiter, undefined, undefined, false);
      poller().fire(0, READABLE);
      poller().fire(0, READABLE);
      // Still waiting: one handle, started once, and the loop held once.
      expect(FakePoller.made).toHaveLength(1);
      expect(poller().calls).toEqual(['open 7', `start ${READABLE}`]);
      expect(holds).toEqual([true]);
      poller().fire(0, READABLE);
      expect(waiter.outcomes).toEqual(['ready', 'ready', 'ready']);
      expect(holds).toEqual([true, false]);
      expect(poller().calls.slice(2)).toEqual(owned ? [] : ['close']);
    }
  });

  it('a descriptor no Socket of the thread owns closes its handle whenever it is idle', async () => {
    const { readiness, poller } = make({ owned: false });
    const first = readiness.wait(READABLE, {}, false, owner);
    const handle = poller();
    handle.fire(0, READABLE);
    await first;
    expect(handle.calls.at(-1)).toBe('close');
    // The next wait opens a new handle.
    const second = readiness.wait(READABLE, { timeout: 1 }, false, owner);
    expect(poller()).not.toBe(handle);
    expect(await second).toBe('timeout');
    expect(poller().calls.at(-1)).toBe('close');
  });

  it('POLLERR (libuv UV_EBADF) wakes every waiter and tells each it was POLLERR; a plain wake-up does not', async () => {
    const { readiness, poller } = make({ owned: true });
    const told: Array<[string, number]> = [];
    const listen = (events: number): void =>
      readiness.listen(
        {
          resolve: (outcome, pollError) => told.push([outcome, pollError]),
          reject: (error) => told.push([error.message, -1]),
          events,
          owner,
          next: undefined,
          guard: undefined,
        },
        undefined,
        undefined,
        false,
      );
    listen(READABLE);
    listen(WRITABLE);
    poller().fire(uv('EBADF'), 0);
    // The first at once, the second in a microtask (in the order they waited).
    expect(told).toEqual([['ready', uv('EBADF')]]);
    await Promise.resolve();
    expect(told).toEqual([
      ['ready', uv('EBADF')],
      ['ready', uv('EBADF')],
    ]);
    listen(READABLE);
    poller().fire(0, READABLE);
    expect(told.at(-1)).toEqual(['ready', 0]);
    expect(readiness.pending).toBe(0);
  });

  it('any other poll failure rejects every waiter with a PollError carrying libuv code', async () => {
    const { readiness, poller } = make({ owned: true });
    const pending = readiness.wait(READABLE, {}, false, owner);
    poller().fire(uv('ENOMEM'), 0);
    await expect(pending).rejects.toMatchObject({ name: 'PollError', code: 'ENOMEM', syscall: 'uv_poll' });
  });

  it('a timeout resolves "timeout", an abort rejects with an AbortError; each leaves the handle armed for readability', async () => {
    const { readiness, poller } = make({ owned: true });
    expect(await readiness.wait(READABLE, { timeout: 1 }, false, owner)).toBe('timeout');
    expect(poller().calls.at(-1)).toBe(`start ${READABLE}`);
    const controller = new AbortController();
    const aborted = readiness.wait(READABLE, { signal: controller.signal }, false, owner);
    controller.abort(new Error('why'));
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(poller().calls).toEqual(['open 7', `start ${READABLE}`]);
    expect(readiness.pending).toBe(0);
  });

  it("cancel rejects one owner's waits with ERR_SOCKET_CLOSED; close rejects all and closes the handle", async () => {
    const { readiness, poller } = make({ owned: true });
    const other = {};
    const mine = readiness.wait(READABLE, {}, false, owner);
    const theirs = readiness.wait(READABLE, {}, false, other);
    readiness.cancel(owner);
    await expect(mine).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    expect(readiness.pending).toBe(1);
    readiness.close();
    await expect(theirs).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    expect(poller().calls.at(-1)).toBe('close');
    await expect(readiness.wait(READABLE, {}, false, owner)).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
  });

  it('open failing with EEXIST is ERR_SOCKET_POLLED; another failure is a PollError; the handle is closed', async () => {
    const { readiness, poller } = make();
    FakePoller.openResult = uv('EEXIST');
    await expect(readiness.wait(READABLE, {}, false, owner)).rejects.toMatchObject({ code: 'ERR_SOCKET_POLLED' });
    expect(poller().calls).toEqual(['open 7', 'close']);
    FakePoller.openResult = uv('EBADF');
    await expect(readiness.wait(READABLE, {}, false, owner)).rejects.toMatchObject({
      name: 'PollError',
      code: 'EBADF',
    });
  });

  it('CLOSED_ELSEWHERE from open or start closes through closedElsewhere and rejects ERR_SOCKET_CLOSED', async () => {
    const fromOpen = make();
    FakePoller.openResult = FakePoller.CLOSED_ELSEWHERE;
    await expect(fromOpen.readiness.wait(READABLE, {}, false, owner)).rejects.toMatchObject({
      code: 'ERR_SOCKET_CLOSED',
    });
    expect(fromOpen.closedElsewhere()).toBe(1);

    const fromStart = make({ owned: true });
    const first = fromStart.readiness.wait(READABLE, {}, false, owner);
    fromStart.poller().startResult = FakePoller.CLOSED_ELSEWHERE;
    const second = fromStart.readiness.wait(WRITABLE, {}, false, owner);
    await expect(first).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    await expect(second).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    expect(fromStart.closedElsewhere()).toBe(1);
  });
});
