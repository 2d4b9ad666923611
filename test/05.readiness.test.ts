/**
 * Readiness (src/readiness.ts) driven through a fake poller, as serialport's bindings-cpp tests
 * its poller: dispatch to the right waiters, POLLERR, close-when-idle, abort, timeouts, and the
 * statuses that turn into documented errors. No descriptor is touched: the fake records calls.
 */
import { getSystemErrorMap } from 'node:util';

import { describe, expect, it } from 'vitest';

import type { PollerHandle } from '../src/addon.js';
import { Readiness } from '../src/readiness.js';

/** libuv's number for an error name on this OS (-9 for EBADF on Linux, -4083 on Windows). */
function uv(name: string): number {
  for (const [status, [code]] of getSystemErrorMap()) if (code === name) return status;
  throw new Error(`libuv has no ${name}`);
}

const READABLE = 1;
const WRITABLE = 2;

class FakePoller implements PollerHandle {
  static readonly READABLE = READABLE;
  static readonly WRITABLE = WRITABLE;
  static readonly DISCONNECT = 4;
  static readonly CLOSED_ELSEWHERE = uv('ECANCELED');
  /** Every poller made, newest last. */
  static made: FakePoller[] = [];
  /** What the next open returns. */
  static openResult = 0;

  readonly calls: string[] = [];
  events = 0;
  startResult = 0;
  readonly #callback: (this: PollerHandle, status: number, events: number) => void;

  constructor(callback: (this: PollerHandle, status: number, events: number) => void) {
    this.#callback = callback;
    FakePoller.made.push(this);
  }

  open(fd: number): number {
    this.calls.push(`open ${fd}`);
    return FakePoller.openResult;
  }

  start(events: number): number {
    this.calls.push(`start ${events}`);
    this.events = events;
    return this.startResult;
  }

  idle(): number {
    this.calls.push('idle');
    return 0;
  }

  stop(): number {
    this.calls.push('stop');
    this.events = 0;
    return 0;
  }

  close(): number {
    this.calls.push('close');
    this.events = 0;
    return 0;
  }

  /** What libuv's callback would do. */
  fire(status: number, events: number): void {
    this.#callback.call(this, status, events);
  }
}

function make(options: { owned?: boolean } = {}): {
  readiness: Readiness;
  modes: string[];
  closedElsewhere: () => number;
  poller: () => FakePoller;
} {
  FakePoller.made = [];
  FakePoller.openResult = 0;
  const modes: string[] = [];
  let elsewhere = 0;
  const readiness = new Readiness({
    fd: 7,
    closeWhenIdle: () => options.owned !== true,
    closedElsewhere: () => {
      elsewhere++;
      readiness.close();
    },
    Poller: FakePoller,
    setNonBlocking: (fd, nonblocking) => {
      modes.push(`fd ${fd} nonblocking ${nonblocking}`);
      return 0;
    },
  });
  return {
    readiness,
    modes,
    closedElsewhere: () => elsewhere,
    poller: () => FakePoller.made.at(-1) as FakePoller,
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
    expect(poller().calls.at(-1)).toBe('idle');
  });

  it('a receive loop keeps the handle armed: no start between waits; readiness while idle stops it; writability is never kept', async () => {
    const { readiness, poller } = make({ owned: true });
    const first = readiness.wait(READABLE, {}, false, owner);
    poller().fire(0, READABLE);
    await first;
    const handle = poller();
    expect(handle.calls).toEqual(['open 7', `start ${READABLE}`, 'idle']);
    // The next wait starts again with the same events: the native side makes no uv_poll_start
    // for that (test/30 counts them); here it is one start call, as always.
    const second = readiness.wait(READABLE, {}, false, owner);
    handle.fire(0, READABLE);
    await second;
    expect(handle.calls.slice(3)).toEqual([`start ${READABLE}`, 'idle']);
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

  it('POLLERR (libuv UV_EBADF) wakes every waiter and is reported once by takeErrorWake', async () => {
    const { readiness, poller } = make({ owned: true });
    const both = [readiness.wait(READABLE, {}, false, owner), readiness.wait(WRITABLE, {}, false, owner)];
    poller().fire(uv('EBADF'), 0);
    expect(await Promise.all(both)).toEqual(['ready', 'ready']);
    expect(readiness.takeErrorWake()).toBe(uv('EBADF'));
    expect(readiness.takeErrorWake()).toBe(0);
  });

  it('any other poll failure rejects every waiter with a PollError carrying libuv code', async () => {
    const { readiness, poller } = make({ owned: true });
    const pending = readiness.wait(READABLE, {}, false, owner);
    poller().fire(uv('ENOMEM'), 0);
    await expect(pending).rejects.toMatchObject({ name: 'PollError', code: 'ENOMEM', syscall: 'uv_poll' });
  });

  it('a timeout resolves "timeout" and disarms; an abort rejects with an AbortError and disarms', async () => {
    const { readiness, poller } = make({ owned: true });
    expect(await readiness.wait(READABLE, { timeout: 1 }, false, owner)).toBe('timeout');
    expect(poller().calls.at(-1)).toBe('idle');
    const controller = new AbortController();
    const aborted = readiness.wait(READABLE, { signal: controller.signal }, false, owner);
    controller.abort(new Error('why'));
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(poller().calls.at(-1)).toBe('idle');
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
