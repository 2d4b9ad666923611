/**
 * The hot paths of issue 10 keep every rule of the checked ones: the call-arguments fast path of
 * recv / send (src/addon.ts) against the checked 5-argument call, the frozen shared failure
 * results, recvInto's reused data view, recv(length)'s scratch buffers (src/scratch.ts), and the
 * poll handle kept armed between waits (src/readiness.ts).
 */
import { spawnSync } from 'node:child_process';
import { getSystemErrorMap } from 'node:util';

import { describe, expect, it } from 'vitest';

import { addon, recvWholeCall } from '../src/addon.js';
import { EOF as EOF_RESULT } from '../src/classify.js';
import { Socket, sys } from '../src/index.js';
import { moduleFolder } from './built-package.js';
import {
  closing,
  errorResult,
  failure,
  guardFds,
  loopTurns,
  tcpPair,
  thrownBy,
  WIN32,
  WINE_RST_IS_EOF,
} from './helpers.js';

guardFds();

/** What a call did: its number, or the error it threw (class, code, message). */
function outcomeOf(call: () => unknown): unknown {
  try {
    return call();
  } catch (error) {
    const { name, code, message } = error as Error & { code?: string };
    return { name, code, message };
  }
}

/** libuv's (negative) number for an error name on this OS. */
function uvError(name: string): number {
  for (const [status, [code]] of getSystemErrorMap()) if (code === name) return status;
  throw new Error(`libuv has no ${name}`);
}

describe('sys.recv / sys.send: the fast path answers exactly as the checked call', () => {
  const views = (): [string, ArrayBufferView][] => [
    ['Buffer', Buffer.alloc(16)],
    ['Int8Array', new Int8Array(16)],
    ['Uint8ClampedArray', new Uint8ClampedArray(16)],
    ['Uint16Array', new Uint16Array(8)],
    ['Float64Array', new Float64Array(2)],
    ['DataView', new DataView(new ArrayBuffer(16))],
    ['a subarray at byte 3', Buffer.alloc(32).subarray(3, 19)],
  ];
  const ranges: [number, number][] = [
    [0, 16],
    [15, 1],
    [16, 0],
    [8, 9],
    [17, 0],
    [0, 2 ** 31 - 1],
  ];

  it.each(views())('%s: every offset and length, on an idle socket and on a closed descriptor', async (_, view) => {
    await closing([...Socket.pair()], (ours) => {
      ours.setBlocking(false);
      for (const fd of [ours.fd, 2 ** 30]) {
        for (const [offset, length] of ranges) {
          const checked = outcomeOf(() => addon.recv(fd, view, offset, length, 0));
          expect(
            outcomeOf(() => sys.recv(fd, view, offset, length, 0)),
            `recv ${offset}+${length}`,
          ).toEqual(checked);
          const sent = outcomeOf(() => addon.send(2 ** 30, view, offset, length, 0));
          expect(
            outcomeOf(() => sys.send(2 ** 30, view, offset, length, 0)),
            `send ${offset}+${length}`,
          ).toEqual(sent);
        }
      }
    });
  });

  it('bytes land at the offset of a wider view, and a send takes them from there', async () => {
    await closing([...Socket.pair()], (ours, peer) => {
      const words = new Uint16Array(4);
      expect(peer.send('abcd').kind).toBe('sent');
      expect(sys.recv(ours.fd, words, 2, 4, 0)).toBe(4);
      expect(Buffer.from(words.buffer).toString('latin1')).toBe('\0\0abcd\0\0');
      expect(sys.send(ours.fd, words, 3, 2, 0)).toBe(2);
      expect(peer.recv(8)).toMatchObject({ kind: 'data', data: Buffer.from('bc') });
    });
  });

  it('arguments that are not exact int32s take the checked call and get its errors', () => {
    const buffer = Buffer.alloc(4);
    // A negative descriptor is no error of the arguments: the checked call makes it (EBADF, WSAENOTSOCK).
    expect(sys.recv(-1, buffer, 0, 4, 0)).toBe(addon.recv(-1, buffer, 0, 4, 0));
    expect(sys.recv(-1, buffer, 0, 4, 0)).toBeLessThan(0);
    // Not numbers at all: no bitwise test may run on them (a BigInt or a Symbol would throw an
    // uncoded TypeError there, an object's valueOf would be called).
    let converted = 0;
    const numberLike = {
      valueOf: () => {
        converted++;
        return 3;
      },
    };
    const cases: unknown[][] = [
      [3n, 0, 4, 0],
      [3, 0n, 4, 0],
      [3, 0, 4n, 0],
      [3, 0, 4, 0n],
      [Symbol('fd'), 0, 4, 0],
      [3, 0, Symbol('length'), 0],
      [numberLike, 0, 4, 0],
      [3, 0, numberLike, 0],
      [2 ** 31, 0, 4, 0],
      [1.5, 0, 4, 0],
      [3, -1, 4, 0],
      [3, 0.5, 4, 0],
      [3, 0, Number.NaN, 0],
      [3, 0, '4', 0],
      [3, 0, 4, 2 ** 31],
      [3, 0, 4, 1.5],
      ['3', 0, 4, 0],
    ];
    for (const [fd, offset, length, flags] of cases) {
      const call = sys.recv as (...args: unknown[]) => number;
      const error = thrownBy(() => call(fd, buffer, offset, length, flags)) as Error & { code?: string };
      const shown = [fd, offset, length, flags].map((value) => String(value)).join(', ');
      expect(error, shown).toBeInstanceOf(Error);
      expect(error.code, shown).toMatch(/^ERR_(OUT_OF_RANGE|INVALID_ARG_TYPE)$/);
      expect(
        outcomeOf(() => addon.recv(fd as number, buffer, offset as number, length as number, flags as number)),
      ).toEqual(outcomeOf(() => call(fd, buffer, offset, length, flags)));
      expect(outcomeOf(() => (sys.send as (...args: unknown[]) => number)(fd, buffer, offset, length, flags))).toEqual(
        outcomeOf(() => addon.send(fd as number, buffer, offset as number, length as number, flags as number)),
      );
    }
    expect(converted).toBe(0);
  });

  it('a value that is not a view is refused as by the checked call', () => {
    for (const bad of [null, {}, 'text', new ArrayBuffer(4), [1, 2]]) {
      const view = bad as unknown as ArrayBufferView;
      const error = outcomeOf(() => sys.recv(3, view, 0, 1, 0));
      expect(error).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
      expect(error).toEqual(outcomeOf(() => addon.recv(3, view, 0, 1, 0)));
    }
  });
});

describe('recvInto(view): the whole view, measured by the addon', () => {
  const views = (): [string, ArrayBufferView][] => [
    ['Buffer', Buffer.alloc(16)],
    ['Int8Array', new Int8Array(16)],
    ['Uint8ClampedArray', new Uint8ClampedArray(16)],
    ['Uint16Array', new Uint16Array(8)],
    ['Float64Array', new Float64Array(2)],
    ['DataView', new DataView(new ArrayBuffer(16))],
    ['a subarray at byte 3', Buffer.alloc(32).subarray(3, 19)],
    ['an empty view', new Uint8Array(0)],
  ];

  it.each(views().filter(([, view]) => view.byteLength > 0))(
    '%s: the rest-of-view call answers as the checked call with its byte length',
    async (_, view) => {
      await closing([...Socket.pair()], (ours) => {
        ours.setBlocking(false);
        // An idle socket, a descriptor that is no socket's, a number too big for the fast path.
        for (const fd of [ours.fd, 2 ** 30, 2 ** 31]) {
          expect(
            outcomeOf(() => recvWholeCall(fd, view)),
            `fd ${fd}`,
          ).toEqual(outcomeOf(() => addon.recv(fd, view, 0, view.byteLength, 0)));
        }
      });
    },
  );

  it('an empty view: the rest-of-view call makes no recv and answers undefined', async () => {
    await closing([...Socket.pair({ type: 'dgram' })], (ours, peer) => {
      ours.setBlocking(false);
      expect(peer.send('kept').kind).toBe('sent');
      expect(recvWholeCall(ours.fd, new Uint8Array(0))).toBeUndefined();
      expect(recvWholeCall(ours.fd, new DataView(new ArrayBuffer(0)))).toBeUndefined();
      // A number too big for the fast path takes the checked call, which refuses it.
      expect(outcomeOf(() => recvWholeCall(2 ** 31, new Uint8Array(0)))).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
      expect(ours.available()).toBe(4);
    });
  });

  it('a view whose length says it has elements but that holds no bytes gets the checked RangeError, and no recv', async () => {
    await closing([...Socket.pair({ type: 'dgram' })], (ours, peer) => {
      ours.setBlocking(false);
      expect(peer.send('kept').kind).toBe('sent');
      const empty = thrownBy(() => ours.recvInto(new Uint8Array(0)));
      expect(empty).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      // An own `length`, a subclass's getter, a DataView given one: each holds no bytes.
      const own = new Uint8Array(0);
      Object.defineProperty(own, 'length', { value: 4 });
      class Claims extends Uint8Array {
        override get length(): number {
          return 8;
        }
      }
      const view = new DataView(new ArrayBuffer(0));
      Object.defineProperty(view, 'length', { value: 1 });
      for (const liar of [own, new Claims(0), view]) expect(thrownBy(() => ours.recvInto(liar))).toEqual(empty);
      // A `length` getter that detaches the buffer: the checked call's detached-view error.
      const detachedError = thrownBy(() => {
        const gone = new Uint8Array(8);
        structuredClone(gone.buffer, { transfer: [gone.buffer] });
        ours.recvInto(gone);
      });
      expect(detachedError).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      const detaching = new Uint8Array(8);
      Object.defineProperty(detaching, 'length', {
        get: () => {
          structuredClone(detaching.buffer, { transfer: [detaching.buffer] });
          return 8;
        },
      });
      expect(thrownBy(() => ours.recvInto(detaching))).toEqual(detachedError);
      // The datagram is still there: no zero-length recv took it.
      const kept = ours.recv(16);
      expect(kept.kind === 'data' && kept.data.toString()).toBe('kept');
    });
  });

  it.each(views().filter(([, view]) => view.byteLength > 0))(
    '%s: receives up to its byte length, as with an explicit length',
    async (_, view) => {
      await closing([...Socket.pair()], (ours, peer) => {
        ours.setBlocking(false);
        const bytes = Buffer.from('0123456789abcdefXYZ');
        expect(peer.send(bytes).kind).toBe('sent');
        const whole = ours.recvInto(view);
        expect(whole).toMatchObject({ kind: 'data', ret: 16, errno: 0, bytesRead: 16 });
        expect(whole.kind === 'data' && whole.data.toString()).toBe('0123456789abcdef');
        expect(Buffer.from(view.buffer, view.byteOffset, 16).toString()).toBe('0123456789abcdef');
        expect(ours.recvInto(view, { length: view.byteLength })).toMatchObject({ kind: 'data', bytesRead: 3 });
        // Both forms end the same way once drained (the frozen would-block result)...
        expect(ours.recvInto(view)).toBe(ours.recvInto(view, { length: view.byteLength }));
        expect(ours.recvInto(view).kind).toBe('would-block');
      });
    },
  );
});

describe('failure results are frozen and shared', () => {
  it('would-block: the same frozen object from every call, recv and recvInto alike', async () => {
    await closing([...Socket.pair()], (ours) => {
      ours.setBlocking(false);
      const first = ours.recvInto(Buffer.alloc(8));
      expect(first).toEqual(failure('would-block', 'EAGAIN'));
      expect(Object.isFrozen(first)).toBe(true);
      expect(ours.recvInto(Buffer.alloc(8))).toBe(first);
      expect(ours.recv(8)).toBe(first);
      expect(ours.recv(1 << 20)).toBe(first);
      expect(() => {
        (first as { kind: string }).kind = 'data';
      }).toThrow(TypeError);
      expect(ours.recv(8).kind).toBe('would-block');
    });
  });

  it('timeout, eof and error results are frozen too', async () => {
    await closing([tcpPair(), tcpPair()], async (quiet, reset) => {
      quiet.client.setReceiveTimeout(20);
      const timedOut = quiet.client.recv(8);
      expect(timedOut).toEqual(failure('timeout', WIN32 ? 'ETIMEDOUT' : 'EAGAIN'));
      expect(Object.isFrozen(timedOut)).toBe(true);
      expect(quiet.client.recvInto(Buffer.alloc(8))).toBe(timedOut);
      quiet.peer.close();
      const eof = quiet.client.recv(8);
      expect(eof).toBe(EOF_RESULT);
      reset.peer.reset();
      const error = await reset.client.recvAsync(8, { timeout: 2000 });
      if (WINE_RST_IS_EOF) expect(error).toBe(EOF_RESULT);
      else {
        expect(error).toEqual(errorResult('ECONNRESET'));
        expect(Object.isFrozen(error)).toBe(true);
      }
    });
  });
});

describe("recvInto's data view", () => {
  it('is the same object while buffer, offset and length stay, and always shows the bytes just read', async () => {
    await closing([...Socket.pair()], (ours, peer) => {
      const buffer = Buffer.alloc(4);
      peer.send('abcd');
      const first = ours.recvInto(buffer);
      expect(first).toMatchObject({ kind: 'data', bytesRead: 4 });
      if (first.kind !== 'data') return;
      expect(first.data.toString()).toBe('abcd');
      peer.send('efgh');
      const second = ours.recvInto(buffer);
      if (second.kind !== 'data') throw new Error(second.kind);
      expect(second.data).toBe(first.data);
      expect(second.data.toString()).toBe('efgh');
      peer.send('ij');
      const shorter = ours.recvInto(buffer);
      if (shorter.kind !== 'data') throw new Error(shorter.kind);
      expect(shorter.data).not.toBe(first.data);
      expect(shorter.data.toString()).toBe('ij');
      peer.send('kl');
      const atOffset = ours.recvInto(buffer, { offset: 2 });
      if (atOffset.kind !== 'data') throw new Error(atOffset.kind);
      expect(atOffset.data).not.toBe(shorter.data);
      expect(atOffset.data.toString()).toBe('kl');
      expect(buffer.toString()).toBe('ijkl');
      const other = Buffer.alloc(2);
      peer.send('mn');
      const elsewhere = ours.recvInto(other);
      if (elsewhere.kind !== 'data') throw new Error(elsewhere.kind);
      expect(elsewhere.data.buffer).toBe(other.buffer);
    });
  });
});

describe('recv(length) receives into a scratch buffer and copies out what arrived', () => {
  it('each data result owns its bytes: later calls of any size never change them', async () => {
    await closing([...Socket.pair()], (ours, peer) => {
      const sizes = [3, 70_000, 5, 200_000, 65_536, 65_537];
      const got: Buffer[] = [];
      for (const [index, size] of sizes.entries()) {
        const payload = Buffer.alloc(size, 97 + index);
        let received = 0;
        peer.setBlocking(true);
        const sent = peer.send(payload);
        expect(sent.kind).toBe('sent');
        const bytes = sent.kind === 'sent' ? sent.bytesSent : 0;
        while (received < bytes) {
          const result = ours.recv(1 << 20);
          if (result.kind !== 'data') throw new Error(`${size}: ${result.kind}`);
          got.push(result.data);
          received += result.bytesRead;
        }
      }
      const all = Buffer.concat(got);
      let at = 0;
      for (const [index, size] of sizes.entries()) {
        const part = all.subarray(at, at + size);
        expect(
          part.every((byte) => byte === 97 + index),
          `chunk ${index} (${size} bytes)`,
        ).toBe(true);
        at += size;
      }
      expect(at).toBe(all.length);
    });
  });

  it.skipIf(WIN32)(
    'a datagram larger than 64 KiB arrives whole (AF_UNIX), and one over the length is cut to it',
    async () => {
      await closing([...Socket.pair({ type: 'dgram' })], (ours, peer) => {
        const big = Buffer.alloc(100_000, 7);
        expect(peer.send(big)).toMatchObject({ kind: 'sent', bytesSent: 100_000 });
        const whole = ours.recv(1 << 20);
        expect(whole).toMatchObject({ kind: 'data', bytesRead: 100_000 });
        if (whole.kind === 'data') expect(whole.data.equals(big)).toBe(true);
        expect(peer.send(big).kind).toBe('sent');
        const cut = ours.recv(70_000);
        expect(cut).toMatchObject({ kind: 'data', bytesRead: 70_000 });
        if (cut.kind === 'data') expect(cut.data.equals(big.subarray(0, 70_000))).toBe(true);
      });
    },
  );

  it('a length above the kept scratch size (16 MiB) still works, would-block and data', async () => {
    await closing([...Socket.pair()], (ours, peer) => {
      ours.setBlocking(false);
      expect(ours.recv(32 << 20).kind).toBe('would-block');
      peer.send('z');
      expect(ours.recv(32 << 20)).toMatchObject({ kind: 'data', data: Buffer.from('z') });
    });
  });
});

describe('the poll handle stays armed between waits', () => {
  const startCount = (): number => addon.poller.startCount();

  it('the poller refuses events libuv does not know (libuv would assert and abort) and a descriptor it has no handle for', () => {
    const [a, b] = Socket.pair();
    try {
      const { poller } = addon;
      expect(poller.start(a.fd, poller.READABLE)).toBe(uvError('EBADF'));
      expect(poller.open(a.fd)).toBe(0);
      expect(poller.start(a.fd, 16)).toBe(uvError('EINVAL'));
      expect(poller.start(a.fd, -1)).toBe(uvError('EINVAL'));
      expect(poller.start(a.fd, poller.READABLE | poller.WRITABLE | poller.DISCONNECT)).toBe(0);
      expect(poller.close(a.fd)).toBe(0);
      expect(poller.close(a.fd)).toBe(0);
    } finally {
      a.close();
      b.close();
    }
  });

  it('an async ping-pong of 200 round trips starts each socket’s handle once', async () => {
    await closing([...Socket.pair()], async (left, right) => {
      const before = startCount();
      const buffer = Buffer.alloc(1);
      // Each side waits for the other's byte, so every round trip is two real waits.
      const echo = (async () => {
        for (let i = 0; i < 200; i++) {
          const got = await right.recvIntoAsync(buffer, { timeout: 5000 });
          if (got.kind !== 'data') throw new Error(`echo: ${got.kind}`);
          await right.sendAsync(got.data);
        }
      })();
      for (let i = 0; i < 200; i++) {
        await left.sendAsync('x');
        const back = await left.recvAsync(1, { timeout: 5000 });
        expect(back.kind).toBe('data');
      }
      await echo;
      // One start per socket (its first wait), not one per wait: a steady loop changes nothing in epoll.
      expect(startCount() - before).toBeLessThanOrEqual(2);
      expect(startCount() - before).toBe(2);
    });
  });

  it('readiness nobody waits for stops the handle, and the next wait arms it again', async () => {
    await closing([...Socket.pair()], async (ours, peer) => {
      peer.send('a');
      expect((await ours.recvAsync(1, { timeout: 2000 })).kind).toBe('data');
      const armed = startCount();
      // Readable while idle: the handle calls back once and is stopped, not on every turn.
      peer.send('b');
      await loopTurns(5);
      const late = await ours.recvAsync(1, { timeout: 2000 });
      expect(late).toMatchObject({ kind: 'data', data: Buffer.from('b') });
      // Now a real wait: the stopped handle is started again, and wakes.
      const waiting = ours.recvAsync(1, { timeout: 2000 });
      await loopTurns(2);
      peer.send('c');
      expect(await waiting).toMatchObject({ kind: 'data', data: Buffer.from('c') });
      expect(startCount() - armed).toBe(1);
    });
  });

  const writeScript = moduleFolder('rawrecv-armed-');

  it('an idle armed handle does not hold the process open', async () => {
    const script = writeScript(
      'armed-child.mjs',
      `import { Socket } from '__RAWRECV__';
const [a, b] = Socket.pair();
b.send('x');
const first = await a.recvAsync(1, { timeout: 2000 });
const waiting = a.recvAsync(1, { timeout: 2000 });
b.send('y');
const second = await waiting;
console.log(first.kind, second.kind);
// a and b stay open, a's handle armed and idle: the process must still end by itself.
`,
    );
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 10_000 });
    expect(child.error, 'the child must exit by itself within 10 s').toBeUndefined();
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('data data');
    expect(child.status).toBe(0);
  });

  it('a pending wait holds the process open until it settles (poll handles do not, one keep-alive does)', () => {
    const script = writeScript(
      'pending-child.mjs',
      `import { Socket } from '__RAWRECV__';
const [a, b] = Socket.pair();
const [c, d] = Socket.pair();
// Unref'd timers: only the pending waits can keep the process alive until they fire.
setTimeout(() => b.send('x'), 150).unref();
setTimeout(() => d.send('y'), 300).unref();
const first = await a.recvAsync(1);
console.log('recvAsync', first.kind);
console.log('waitReadable', await c.waitReadable());
`,
    );
    const child = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 10_000 });
    expect(child.error, 'the child must exit by itself within 10 s').toBeUndefined();
    expect(child.stderr).toBe('');
    expect(child.stdout.trim().split('\n')).toEqual(['recvAsync data', 'waitReadable ready']);
    expect(child.status).toBe(0);
  });
});
