/**
 * recvMany / sendMany (recvmmsg(2) / sendmmsg(2) on Linux, a loop elsewhere) on every socket kind,
 * and the two async iterators (iterateInto's one reused buffer, the default iterator's chunks).
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { constants, Socket, sys, type RecvManyResult } from '../src/index.js';
import { DIST_INDEX_URL, ensureDist, tempDir } from './built-package.js';
import {
  boundUdp,
  bounded,
  collectGarbage,
  closing,
  dgramPair,
  endpointOf,
  EOF,
  errorResult,
  failure,
  guardFds,
  loopTurns,
  tcpPair,
  WIN32,
} from './helpers.js';

guardFds();

const LINUX = process.platform === 'linux';

function buffers(...sizes: number[]): Buffer[] {
  return sizes.map((size) => Buffer.alloc(size));
}

/** The messages of a data result as [text, truncated] pairs. */
function texts(result: RecvManyResult): [string, boolean][] {
  if (result.kind !== 'data') throw new Error(`expected data, got ${JSON.stringify(result)}`);
  return result.messages.map((message) => [message.data.toString(), message.truncated]);
}

describe('recvMany on UDP', () => {
  it('takes every queued datagram, one per buffer: zero-length and truncated ones exact, each with its sender', async () => {
    await closing([boundUdp(), boundUdp(), boundUdp()], (receiver, first, second) => {
      const to = endpointOf(receiver);
      first.sendTo('one', to);
      second.sendTo('', to);
      first.sendTo('three-and-more', to);
      receiver.setBlocking(false);
      const into = buffers(8, 8, 5, 8);
      const result = receiver.recvMany(into);
      expect(result.kind).toBe('data');
      if (result.kind !== 'data') return;
      expect(result.ret).toBe(3);
      expect(texts(result)).toEqual([
        ['one', false],
        ['', false],
        ['three', true],
      ]);
      expect(result.messages.map((m) => m.bytesRead)).toEqual([3, 0, 5]);
      expect(result.messages.map((m) => m.port)).toEqual([
        endpointOf(first).port,
        endpointOf(second).port,
        endpointOf(first).port,
      ]);
      expect(result.messages.every((m) => m.family === 'IPv4' && m.address === '127.0.0.1')).toBe(true);
      // Each data is a view of its own buffer.
      expect(result.messages[2]?.data.buffer).toBe(into[2]?.buffer);
      expect(receiver.recvMany(into)).toEqual(failure('would-block', 'EAGAIN'));
    });
  });

  it('senders alternating in one batch: each message names its own, in every call', async () => {
    await closing([boundUdp(), boundUdp(), boundUdp(), boundUdp()], (receiver, a, b, c) => {
      const to = endpointOf(receiver);
      receiver.setBlocking(false);
      const into = buffers(8, 8, 8, 8, 8, 8);
      for (let call = 0; call < 3; call++) {
        const order = [a, b, a, b, c, a];
        order.forEach((sender, i) => sender.sendTo(`m${i}`, to));
        const result = receiver.recvMany(into);
        expect(texts(result).map(([text]) => text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
        if (result.kind !== 'data') return;
        expect(result.messages.map((m) => m.port)).toEqual(order.map((sender) => endpointOf(sender).port));
        for (const message of result.messages) {
          expect(message).toMatchObject({ family: 'IPv4', address: '127.0.0.1' });
          expect(Object.keys(message)).toEqual(['bytesRead', 'data', 'truncated', 'family', 'address', 'port']);
        }
      }
      expect(receiver.recvMany(into)).toEqual(failure('would-block', 'EAGAIN'));
    });
  });

  it('more distinct senders than the addon compares (8): every message still names its own', async () => {
    const senders = Array.from({ length: 10 }, () => boundUdp());
    await closing([boundUdp(), ...senders], (receiver) => {
      const to = endpointOf(receiver);
      const order = [...senders, ...senders.slice().reverse(), ...senders];
      order.forEach((sender, i) => sender.sendTo(String(i), to));
      receiver.setBlocking(false);
      const result = receiver.recvMany(buffers(...order.map(() => 4)));
      expect(texts(result).map(([text]) => text)).toEqual(order.map((_, i) => String(i)));
      if (result.kind === 'data') {
        expect(result.messages.map((m) => m.port)).toEqual(order.map((sender) => endpointOf(sender).port));
      }
    });
  });

  it('IPv6 senders are named as recvFrom names them', async () => {
    await closing(
      [boundUdp({ family: 'IPv6' }), boundUdp({ family: 'IPv6' }), boundUdp({ family: 'IPv6' })],
      (receiver, one, two) => {
        const to = endpointOf(receiver);
        one.sendTo('a', to);
        two.sendTo('b', to);
        one.sendTo('c', to);
        receiver.setBlocking(false);
        const result = receiver.recvMany(buffers(4, 4, 4));
        expect(
          result.kind === 'data' && result.messages.map(({ family, address, port }) => [family, address, port]),
        ).toEqual([one, two, one].map((sender) => ['IPv6', '::1', endpointOf(sender).port]));
      },
    );
  });

  it('the batch is at most one message per buffer; the rest waits for the next call', async () => {
    await closing([boundUdp(), boundUdp()], (receiver, sender) => {
      for (let i = 0; i < 5; i++) sender.sendTo(`m${i}`, endpointOf(receiver));
      receiver.setBlocking(false);
      expect(texts(receiver.recvMany(buffers(4, 4, 4)))).toEqual([
        ['m0', false],
        ['m1', false],
        ['m2', false],
      ]);
      expect(texts(receiver.recvMany(buffers(4, 4, 4)))).toEqual([
        ['m3', false],
        ['m4', false],
      ]);
    });
  });

  it.runIf(LINUX)(
    'Linux: a blocking recvmmsg waits to fill every buffer (until SO_RCVTIMEO), unless MSG_WAITFORONE',
    async () => {
      await closing([boundUdp(), boundUdp()], (receiver, sender) => {
        receiver.setReceiveTimeout(100);
        sender.sendTo('only', endpointOf(receiver));
        const started = performance.now();
        expect(texts(receiver.recvMany(buffers(8, 8)))).toEqual([['only', false]]);
        // It blocked for the second datagram until the receive timeout.
        expect(performance.now() - started).toBeGreaterThanOrEqual(80);
        sender.sendTo('again', endpointOf(receiver));
        const WAITFORONE = constants.MSG.WAITFORONE as number;
        expect(WAITFORONE).toBeGreaterThan(0);
        const quick = performance.now();
        expect(texts(receiver.recvMany(buffers(8, 8), { flags: WAITFORONE }))).toEqual([['again', false]]);
        expect(performance.now() - quick).toBeLessThan(80);
        // Nothing queued: the timeout, as for a single recv.
        expect(receiver.recvMany(buffers(8, 8), { flags: WAITFORONE })).toEqual(failure('timeout', 'EAGAIN'));
      });
    },
  );

  it.runIf(LINUX)(
    'Linux: an error after the first datagram ends the batch and is the next call’s (recvmmsg keeps it pending)',
    async () => {
      ensureDist();
      const peer = boundUdp();
      const peerAt = endpointOf(peer);
      await closing([boundUdp({ connect: peerAt })], async (receiver) => {
        peer.sendTo('first', endpointOf(receiver));
        peer.close();
        receiver.setReceiveTimeout(3000);
        // Another thread sends from the receiver's descriptor to the closed port while recvmmsg
        // blocks for a second datagram: the ICMP port-unreachable ends the batch.
        const worker = new Worker(
          `import { sys } from ${JSON.stringify(DIST_INDEX_URL)};
           import { workerData } from 'node:worker_threads';
           setTimeout(() => sys.send(workerData, Buffer.from('x'), 0, 1, 0), 150);`,
          { eval: true, workerData: receiver.fd },
        );
        try {
          const started = performance.now();
          expect(texts(receiver.recvMany(buffers(8, 8, 8)))).toEqual([['first', false]]);
          expect(performance.now() - started).toBeLessThan(2500);
          expect(receiver.recvMany(buffers(8))).toEqual(errorResult('ECONNREFUSED'));
          expect(receiver.recvMany(buffers(8), { flags: constants.MSG.DONTWAIT as number })).toEqual(
            failure('would-block', 'EAGAIN'),
          );
        } finally {
          await worker.terminate();
        }
      });
    },
  );

  it('an error before any datagram is the result of the call', async () => {
    const peer = boundUdp();
    const peerAt = endpointOf(peer);
    peer.close();
    await closing([boundUdp({ connect: peerAt })], async (receiver) => {
      receiver.send('x');
      const result = await receiver.recvManyAsync(buffers(8, 8), { timeout: 2000 });
      expect(result).toEqual(WIN32 ? errorResult('ECONNRESET') : errorResult('ECONNREFUSED'));
    });
  });

  it('recvManyAsync waits without blocking the loop, then takes what is there', async () => {
    await closing([boundUdp(), boundUdp()], async (receiver, sender) => {
      const pending = receiver.recvManyAsync(buffers(8, 8, 8), { timeout: 2000 });
      setTimeout(() => {
        sender.sendTo('a', endpointOf(receiver));
        sender.sendTo('b', endpointOf(receiver));
      }, 20);
      const result = await bounded(pending);
      expect(result.kind).toBe('data');
      const seen = texts(result).map(([text]) => text);
      // Both datagrams are there when the wake-up's recvmmsg runs, or the second waits.
      expect(['a', 'ab']).toContain(seen.join(''));
    });
  });
});

describe('recvMany on stream and seqpacket sockets', () => {
  it('TCP: each buffer takes one recv’s bytes; a 0 after data ends the list, and the next call is eof', async () => {
    const pair = tcpPair();
    try {
      pair.peer.send('abcdefgh');
      pair.peer.shutdown('write');
      await new Promise((resolve) => setTimeout(resolve, 20));
      pair.client.setBlocking(false);
      const result = pair.client.recvMany(buffers(3, 3, 3, 3));
      expect(texts(result)).toEqual([
        ['abc', false],
        ['def', false],
        ['gh', false],
      ]);
      expect(pair.client.recvMany(buffers(3, 3))).toEqual(EOF);
      expect(pair.client.readState).toBe('eof');
    } finally {
      pair.close();
    }
  });

  it.skipIf(WIN32)(
    'AF_UNIX seqpacket: records one per buffer, zero-length ones kept; the peer’s close is eof',
    async () => {
      await closing([...Socket.pair({ type: 'seqpacket' })], (ours, peer) => {
        peer.send('rec1');
        peer.send('');
        peer.send('rec3');
        ours.setBlocking(false);
        expect(texts(ours.recvMany(buffers(8, 8, 8, 8)))).toEqual([
          ['rec1', false],
          ['', false],
          ['rec3', false],
        ]);
        peer.send('last');
        peer.close();
        expect(texts(ours.recvMany(buffers(8, 8, 8)))).toEqual([['last', false]]);
        expect(ours.recvMany(buffers(8, 8))).toEqual(EOF);
      });
    },
  );

  it.skipIf(WIN32)('AF_UNIX datagrams from named and unnamed senders, alternating: each its own path', async () => {
    const temp = tempDir('rawrecv-batch-');
    try {
      const path = join(temp.path, 'rx');
      const firstPath = join(temp.path, 'a');
      const secondPath = join(temp.path, 'b');
      await closing(
        [
          Socket.unixDgram({ path }),
          Socket.unixDgram({ path: firstPath }),
          Socket.unixDgram({ path: secondPath }),
          Socket.unixDgram(),
        ],
        (receiver, first, second, unnamed) => {
          const order = [first, second, unnamed, first, second];
          order.forEach((sender, i) => sender.sendTo(`u${i}`, { path }));
          receiver.setBlocking(false);
          const result = receiver.recvMany(buffers(8, 8, 8, 8, 8));
          expect(texts(result).map(([text]) => text)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4']);
          if (result.kind !== 'data') return;
          const paths = [firstPath, secondPath, '', firstPath, secondPath];
          expect(result.messages).toEqual(
            paths.map((from, i) => ({
              bytesRead: 2,
              data: Buffer.from(`u${i}`),
              truncated: false,
              family: 'unix',
              path: from,
              address: from,
              port: 0,
            })),
          );
        },
      );
    } finally {
      temp.remove();
    }
  });

  it.skipIf(WIN32)(
    'AF_UNIX datagrams from a socketpair: zero-length and truncated ones, no sender address',
    async () => {
      await closing(dgramPair(), (ours, peer) => {
        peer.send('hello');
        peer.send('');
        peer.send('truncated!');
        ours.setBlocking(false);
        const result = ours.recvMany(buffers(8, 8, 4));
        expect(texts(result)).toEqual([
          ['hello', false],
          ['', false],
          ['trun', true],
        ]);
        if (result.kind === 'data') expect(result.messages[0]).toMatchObject({ family: 'unix', address: '' });
      });
    },
  );
});

describe('sendMany', () => {
  it('sends each entry as one datagram, to its own destination or the connected peer', async () => {
    await closing([boundUdp(), boundUdp(), boundUdp()], (sender, one, two) => {
      const result = sender.sendMany([
        { data: 'to one', to: endpointOf(one) },
        { data: Buffer.from('to two'), to: endpointOf(two) },
        { data: new Uint16Array([0x6968]), to: endpointOf(one) },
        { data: '', to: endpointOf(two) },
      ]);
      expect(result).toEqual({ kind: 'sent', ret: 4, errno: 0, messagesSent: 4, bytesSent: [6, 6, 2, 0] });
      one.setBlocking(false);
      two.setBlocking(false);
      expect(texts(one.recvMany(buffers(8, 8, 8)))).toEqual([
        ['to one', false],
        ['hi', false],
      ]);
      expect(texts(two.recvMany(buffers(8, 8, 8)))).toEqual([
        ['to two', false],
        ['', false],
      ]);
    });
  });

  it('a connected socket sends plain entries to its peer; a stream socket sends them in order', async () => {
    await closing([...dgramPair()], (ours, peer) => {
      expect(ours.sendMany(['a', 'bb', Buffer.from('ccc')])).toMatchObject({ kind: 'sent', bytesSent: [1, 2, 3] });
      peer.setBlocking(false);
      expect(texts(peer.recvMany(buffers(4, 4, 4))).map(([text]) => text)).toEqual(['a', 'bb', 'ccc']);
    });
    const pair = tcpPair();
    try {
      expect(() => pair.client.sendMany([{ data: 'x', to: { host: '127.0.0.1', port: 9 } }])).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
      );
      expect(pair.client.sendMany(['one ', 'two ', 'three'])).toMatchObject({ kind: 'sent', messagesSent: 3 });
      const got = await bounded(pair.peer.recvAsync(64, { timeout: 2000 }));
      expect(got.kind === 'data' && got.data.toString().startsWith('one ')).toBe(true);
    } finally {
      pair.close();
    }
  });

  it('an unconnected socket without a destination fails with the first message’s error', async () => {
    await closing([boundUdp()], (sender) => {
      const result = sender.sendMany(['nowhere']);
      expect(result).toEqual(errorResult(WIN32 ? 'ENOTCONN' : 'EDESTADDRREQ'));
    });
  });
});

describe('batch arguments', () => {
  it('are checked before any system call, with clear errors', async () => {
    await closing([boundUdp()], (socket) => {
      const cases: [() => unknown, string, string][] = [
        [() => socket.recvMany('x' as never), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
        [() => socket.recvMany([]), 'RangeError', 'ERR_OUT_OF_RANGE'],
        [() => socket.recvMany(Array.from({ length: 1025 }, () => Buffer.alloc(1))), 'RangeError', 'ERR_OUT_OF_RANGE'],
        [() => socket.recvMany([Buffer.alloc(1), 'x' as never]), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
        [() => socket.recvMany([Buffer.alloc(0)]), 'RangeError', 'ERR_OUT_OF_RANGE'],
        [() => socket.recvMany([Buffer.alloc(1)], { flags: -1 }), 'RangeError', 'ERR_OUT_OF_RANGE'],
        [() => socket.recvMany([Buffer.alloc(1)], 'x' as never), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
        [() => socket.sendMany([]), 'RangeError', 'ERR_OUT_OF_RANGE'],
        [() => socket.sendMany([42 as never]), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
        [
          () => socket.sendMany([{ data: 'x', to: { host: 'nowhere..', port: 1 } }]),
          'TypeError',
          'ERR_INVALID_ARG_VALUE',
        ],
        [
          () => socket.sendMany([{ data: 'x', to: { host: '127.0.0.1', port: 70000 } }]),
          'RangeError',
          'ERR_OUT_OF_RANGE',
        ],
        [() => socket.sendMany([{ data: 7 } as never]), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
      ];
      for (const [call, name, code] of cases) {
        let thrown: unknown;
        try {
          call();
        } catch (error) {
          thrown = error;
        }
        expect(thrown, String(call)).toMatchObject({ name, code });
      }
    });
  });

  it('a getter that detaches a buffer during the call cannot make the kernel write to freed memory', async () => {
    await closing([boundUdp(), boundUdp()], (receiver, sender) => {
      sender.sendTo('payload', endpointOf(receiver));
      receiver.setBlocking(false);
      const victim = new Uint8Array(new ArrayBuffer(16));
      const list: ArrayBufferView[] = [victim];
      let calls = 0;
      Object.defineProperty(list, 1, {
        enumerable: true,
        get() {
          // Detach the first buffer (its memory is freed) every time the element is read.
          if (calls++ < 3 && victim.byteLength > 0) structuredClone(victim.buffer, { transfer: [victim.buffer] });
          return new Uint8Array(8);
        },
      });
      let outcome: unknown;
      try {
        outcome = receiver.recvMany(list);
      } catch (error) {
        outcome = error;
      }
      expect(victim.byteLength).toBe(0);
      // Refused, before any call: the detached buffer holds no byte (the checks' own error), and
      // the datagram is still queued.
      expect(outcome).toBeDefined();
      expect(outcome).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
      expect(receiver.recvFrom(64)).toMatchObject({ kind: 'data', bytesRead: 7 });
    });
  });
});

describe('recvMany called again from a getter of its own call', () => {
  it.skipIf(WIN32)('the outer call still receives into its own buffers', async () => {
    await closing(dgramPair(), (ours, peer) => {
      ours.setBlocking(false);
      const mine = buffers(8, 8);
      const other = buffers(4, 4, 4);
      let inner: RecvManyResult | undefined;
      const options = {
        get flags(): number {
          inner = ours.recvMany(other);
          expect(peer.send('first').kind).toBe('sent');
          return 0;
        },
      };
      const outer = ours.recvMany(mine, options);
      expect(inner?.kind).toBe('would-block');
      expect(texts(outer)).toEqual([['first', false]]);
      expect(mine[0]?.subarray(0, 5).toString()).toBe('first');
      expect(other.every((buffer) => buffer.every((byte) => byte === 0))).toBe(true);
      // And the next call, with neither, is right too.
      expect(peer.send('second').kind).toBe('sent');
      expect(texts(ours.recvMany(buffers(16)))).toEqual([['second', false]]);
    });
  });
});

describe('the glue takes no memory before the JavaScript it runs (review of issue 10)', () => {
  it('sys.recvMany: a getter that detaches `out` gets a RangeError, not a write into freed memory', async () => {
    await closing([...dgramPair()], async (ours, peer) => {
      peer.send('hello');
      let out = new Int32Array(2);
      const list: ArrayBufferView[] = [];
      Object.defineProperty(list, 0, {
        enumerable: true,
        get() {
          structuredClone(out.buffer, { transfer: [out.buffer] });
          return Buffer.alloc(16);
        },
      });
      await collectGarbage(1);
      expect(() => sys.recvMany(ours.fd, list, 0, out, [])).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
      );
      expect(out.byteLength).toBe(0);
      out = new Int32Array(2);
      // Nothing was taken: the datagram is still there.
      expect(sys.recvMany(ours.fd, [Buffer.alloc(16)], 0, out, [])).toBe(1);
      expect(out[0]).toBe(5);
    });
  });

  it.skipIf(WIN32)(
    'sys.sendmsgControl: a control getter that detaches the payload gets a RangeError, nothing is sent',
    async () => {
      await closing([...dgramPair()], (ours, peer) => {
        const data = new Uint8Array(Buffer.from('secret-bytes'));
        const control: unknown[] = [];
        Object.defineProperty(control, 0, {
          enumerable: true,
          get() {
            structuredClone(data.buffer, { transfer: [data.buffer] });
            return [constants.SOL.SOCKET, 1, new Uint8Array(4)];
          },
        });
        const call = sys.sendmsgControl as (...args: unknown[]) => number;
        expect(() => call(ours.fd, data, 0, 12, 0, 0, '', 0, control)).toThrow(
          expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
        );
        peer.setBlocking(false);
        expect(peer.recv(64).kind).toBe('would-block');
      });
    },
  );
});

describe('the async iterators', () => {
  it('iterateInto yields views of the one buffer, until eof', async () => {
    const pair = tcpPair();
    try {
      const buffer = Buffer.alloc(4);
      const seen: string[] = [];
      const loop = (async () => {
        for await (const chunk of pair.client.iterateInto(buffer)) {
          expect(chunk.buffer).toBe(buffer.buffer);
          seen.push(chunk.toString());
          if (seen.join('') === 'abcd') pair.peer.send('efg');
          if (seen.join('') === 'abcdefg') pair.peer.shutdown('write');
        }
      })();
      pair.peer.send('abcd');
      await bounded(loop);
      expect(seen.join('')).toBe('abcdefg');
    } finally {
      pair.close();
    }
  });

  it('the default iterator gives chunks that stay as received, big and small', async () => {
    const pair = tcpPair();
    try {
      const total = 1 << 20;
      const payload = Buffer.alloc(total);
      for (let i = 0; i < total; i++) payload[i] = (i * 7) & 0xff;
      const chunks: Buffer[] = [];
      const loop = (async () => {
        for await (const chunk of pair.client) chunks.push(chunk);
      })();
      const sent = await pair.peer.sendAsync(payload, { timeout: 10_000 });
      expect(sent.kind).toBe('sent');
      pair.peer.send('tail');
      pair.peer.shutdown('write');
      await bounded(loop, 10_000);
      const all = Buffer.concat(chunks);
      expect(all.length).toBe(total + 4);
      expect(all.subarray(0, total).equals(payload)).toBe(true);
      expect(all.subarray(total).toString()).toBe('tail');
    } finally {
      pair.close();
    }
  });

  it('next() calls made together are served in order, one recv each, as a generator serves them', () =>
    closing([...Socket.pair({ type: 'seqpacket' })], async (ours, peer) => {
      for (const record of ['ab', 'cd', 'ef']) peer.send(record);
      const iterator = ours[Symbol.asyncIterator]();
      const results = await bounded(Promise.all([iterator.next(), iterator.next(), iterator.next()]));
      expect(results.map((r) => String(r.value))).toEqual(['ab', 'cd', 'ef']);
      expect(ours.available()).toBe(0);
    }));

  it('after return() the iterator is done and makes no recv', async () => {
    const pair = tcpPair();
    try {
      const iterator = pair.client[Symbol.asyncIterator]();
      pair.peer.send('abc');
      expect(await iterator.return()).toEqual({ value: undefined, done: true });
      expect(await iterator.next()).toEqual({ value: undefined, done: true });
      expect(pair.client.available()).toBe(3);
    } finally {
      pair.close();
    }
  });

  it.skipIf(WIN32)('return() and throw() made behind two next() calls wait for both, as a generator queues them', () =>
    closing([...Socket.pair({ type: 'seqpacket' })], async (ours, peer) => {
      for (const end of ['return', 'throw'] as const) {
        peer.send('one');
        const iterator = ours.iterateInto(Buffer.alloc(16));
        const settled: string[] = [];
        const first = iterator.next().then((r) => settled.push(`next ${String(r.value)}`));
        const second = iterator.next().then((r) => settled.push(`next ${String(r.value)}`));
        const ended = (end === 'return' ? iterator.return() : iterator.throw(new Error('stop'))).then(
          (r) => settled.push(`${end} done ${r.done}`),
          (error: Error) => settled.push(`${end} ${error.message}`),
        );
        await loopTurns(5);
        // The second next() waits for a record: the iterator is not done before it is served.
        expect(settled).toEqual(['next one']);
        peer.send('two');
        await bounded(Promise.all([first, second, ended]));
        expect(settled).toEqual(['next one', 'next two', end === 'return' ? 'return done true' : 'throw stop']);
        expect(await iterator.next()).toEqual({ value: undefined, done: true });
      }
    }),
  );

  it('iterateInto refuses what it cannot receive into', async () => {
    await closing([...Socket.pair()], (ours) => {
      expect(() => ours.iterateInto(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
      expect(() => ours.iterateInto('x' as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    });
  });
});
