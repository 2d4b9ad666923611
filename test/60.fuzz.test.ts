/**
 * A seeded property-based fuzzer (fast-check) over random operation lists on every kind of
 * socket rawrecv makes, with hostile arguments, checking after every operation that the library
 * keeps its documented promises. (Issue 8, "make it permanent".)
 *
 * What is fuzzed. Each run sets up one kind of socket (TCP over 127.0.0.1 or ::1 through
 * Server.listen + Socket.connectSync + accept, or Socket.connect + acceptAsync; UDP through
 * Socket.udp with bind / connect; AF_UNIX stream, dgram and seqpacket through Socket.pair), then
 * runs up to MAX_OPS random operations (plain data, so a failing list prints as it ran) from:
 * - every public sync method of Socket (recv, recvInto, peek, recvFrom, send, sendTo, shutdown,
 *   reset, takeError, available, setBlocking, setReceiveTimeout, setSendTimeout, localAddress,
 *   remoteAddress, close, the getters; recvMsg, recvError, sendMsg with control messages, SCM_RIGHTS
 *   of a throwaway socketpair included, and setRecvOptions) and of Server (accept, setBlocking,
 *   address, port, close);
 * - every async one (waitReadable, waitWritable, recvAsync, recvIntoAsync, recvFromAsync,
 *   sendAsync, Socket.connect, Server#acceptAsync, `for await` with a bound on the chunks),
 *   awaited, or left running in the background while later operations act on the socket;
 * - more sockets of any kind, Socket.fromFd (owned, { owned: false }; on open, closed, reused,
 *   a worker's and made-up numbers), and every documented `sys` call; calls that change or
 *   consume anything only ever get the run's own descriptors (or numbers that are not open);
 * - hostile arguments: negative / NaN / Infinity / huge / fractional lengths, offsets, timeouts
 *   and ports, every MSG_* bit and unknown bits, wrong types, options whose getters change their
 *   answer between two reads; views of every kind (Buffer, typed arrays, DataView,
 *   SharedArrayBuffer-backed, resizable ArrayBuffers under a fixed or a length-tracking view,
 *   detached ArrayBuffers), detached or shrunk before a call and during its wait; AbortSignals
 *   aborted before and during waits; closes during waits;
 * - compound scenarios, so that the rare interleavings happen in every run: probeReuse (close a
 *   Socket's number by close / its owner's close / reset / sys.close, get the number handed out
 *   again by Socket.pair or sys.socketpair with bytes queued, then call every method on the old
 *   Socket object), share (fromFd(fd, { owned: false }) with waits pending on the sharer and the
 *   owner, then the owner, the sharer or sys.close closes), peerGone (the peer sends records,
 *   zero-length ones too, then closes / shuts down / resets; read to the end), abortDuringWait,
 *   viewDuringWait (the view of a pending recvIntoAsync / sendAsync detached or shrunk);
 * - worker threads (a small fraction): a worker that tries to own the main thread's descriptor
 *   (refused), shares it, waits on it and is terminated, or uses it and exits; one that owns a
 *   pair the main thread shares, and is terminated (waiting or idle) or exits; one whose
 *   descriptor the main thread closes and reuses before the worker is terminated.
 * Blocking calls that could wait forever (a blocking socket, no bounded timeout, nothing ready)
 * are skipped: that would be a hang by design, not a defect. Listen backlogs stay >= 16 and at
 * most MAX_BACKLOG_USE connections wait in a queue, so a blocking connect never stalls.
 *
 * Invariants, checked after every operation (and when each background call settles):
 * - no crash: everything runs in this process (vitest's forks pool: an abort fails the file);
 * - every outcome is a typed result (kind 'data' | 'eof' | 'would-block' | 'timeout' |
 *   'interrupted' | 'error' | 'sent' | 'socket', numeric ret / errno, the fields of its kind), a
 *   `sys` number (>= 0, or a negated errno this platform names), or a thrown / rejected error of a
 *   documented class and code: TypeError ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE (and
 *   ERR_INVALID_ADDRESS from the sys address calls), RangeError ERR_OUT_OF_RANGE, Error
 *   ERR_SOCKET_CLOSED / ERR_NOT_SUPPORTED / ERR_INVALID_STATE / ERR_SOCKET_CONNECTION_TIMEOUT,
 *   AbortError ABORT_ERR, SocketError (string code, positive integer errno, syscall), PollError;
 *   async methods reject, they never throw;
 * - no hang: every awaited call with a timeout settles within timeout + HANG_MS; a call waiting
 *   on a Socket that gets closed rejects (ERR_SOCKET_CLOSED) within SETTLE_MS, one whose signal
 *   aborts rejects (AbortError) within SETTLE_MS; once a run has closed everything, every call
 *   still pending settles within HANG_MS; a `for await` on a stream or seqpacket socket whose
 *   peer has gone ends within HANG_MS; a watchdog thread kills the process (printing the seed
 *   and the operations in flight) if the test thread is blocked in a system call WATCHDOG_MS;
 * - no descriptor leak: after each run (everything it made closed, workers gone) the process has
 *   exactly the descriptors it had before the run (/proc/self/fd), or the diff is printed;
 * - a closed Socket never touches a number: after close() (its own, its owner's, sys.close's,
 *   or the number being handed out again) `fd` is -1 and every method throws / rejects
 *   ERR_SOCKET_CLOSED whatever its arguments; a socket made on the reused number keeps its
 *   queued bytes, mode, timeouts and both directions whatever is called on the old Socket object
 *   (closed, or shared from an owner that closed it, in this thread or in a terminated worker);
 * - (a) an owner's close (close, reset, sys.close) closes every Socket of this thread sharing the
 *   descriptor; an open Socket's number always names the socket it was made for (/proc links);
 * - (b) ownership is process-wide: Socket.fromFd(fd) of a descriptor a Socket owns in any thread
 *   throws TypeError ERR_INVALID_ARG_VALUE; terminating (or ending) a worker closes exactly what
 *   it owned, never the main thread's descriptors;
 * - (c) a SOCK_SEQPACKET recv of 0 with the peer gone and nothing queued is `eof`; readState
 *   then is 'eof'; reading a stream or seqpacket socket after its peer has gone ends in eof (or
 *   the reset's error);
 * - (d) a detached or out-of-bounds view (DataView or typed array) given to recvInto /
 *   recvIntoAsync / send / sendAsync / sendTo is RangeError ERR_OUT_OF_RANGE (also when it loses
 *   its memory during the wait), never a write; sys calls refuse a window past what a view covers;
 * - (e) Socket.connect to a name that does not resolve rejects with a SocketError 'getaddrinfo';
 * - received bytes come from the socket's own peer: every socket sends only its own byte value,
 *   and a data result may only hold values of sockets that can reach it (no bytes of another
 *   connection or of a shared scratch buffer);
 * - readState only moves forward ('reset' / 'error' are final) and stays 'open' on a datagram
 *   socket; new sockets start blocking (in the kernel too); setBlocking and the timeouts set
 *   what they say; recvInto's data is a view of the caller's buffer, within its bounds.
 *
 * How to run and replay:
 *   npx vitest run test/60.fuzz.test.ts                        the CI run: DEFAULT_SEED, DEFAULT_RUNS
 *   FUZZ_RUNS=2000 npx vitest run test/60.fuzz.test.ts         a long run (same seed)
 *   FUZZ_SEED=random npx vitest run test/60.fuzz.test.ts       a new seed each time (printed)
 *   FUZZ_SEED=1234 FUZZ_PATH="17:3:0" npx vitest run ...       replay a reported failure exactly
 *   FUZZ_REPLAY=/tmp/rawrecv-fuzz-inflight-<pid>.json ...     run the one scenario an aborted run left
 *   FUZZ_TRACE=1 ...                                           print every operation and outcome
 * A failure reports the seed, the path and the shrunk operation list (fast-check's report), the
 * violated invariant, and the last operations with their outcomes. Before each run its operation
 * list is written to FUZZ_INFLIGHT_FILE (removed when the file ends), so that a native abort,
 * which ends the process before any report, leaves the sequence that caused it (the seed is
 * printed when the file starts). At the end the file prints how often each operation ran and
 * each invariant was put to the test.
 *
 * Linux only: it counts descriptors and compares sockets through /proc/self/fd, and uses
 * SOCK_SEQPACKET and POLLRDHUP.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { runInThisContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  constants,
  errnoName,
  PollError,
  Server,
  Socket,
  SocketError,
  sys,
  type ReadState,
  type RecvFromOut,
  type RecvErrorResult,
  type RecvMsgResult,
} from '../src/index.js';
import { ensureDist, tempDir, writeModule } from './built-package.js';
import { closedPort, guardFds, openFdCount } from './helpers.js';

guardFds();

// ---------------------------------------------------------------------------------------------
// Configuration

const LINUX = process.platform === 'linux';
/** The CI seed. FUZZ_SEED=<n> replays another, FUZZ_SEED=random draws one (printed). */
const DEFAULT_SEED = 600_613;
/** Runs of the CI pass: about 25 operations each, some 5,000 operations in all (about 30 s here). */
const DEFAULT_RUNS = 200;
const MAX_OPS = 50;
/** How long past its own timeout a call may take before it counts as hung. */
const HANG_MS = 2000;
/** An awaited call with no (bounded) timeout is left to run in the background after this. */
const PARK_MS = 40;
/** A wait pending on a Socket that gets closed must reject within this. */
const SETTLE_MS = 1000;
/** Timeouts at most this long count as bounded (a blocking call with one may be made). */
const BOUNDED_MS = 1000;
/** Connections waiting in a listen queue at most: a full backlog would stall a blocking connect. */
const MAX_BACKLOG_USE = 8;
const TRACE = process.env.FUZZ_TRACE === '1';
const INFLIGHT_FILE = process.env.FUZZ_INFLIGHT_FILE ?? join(tmpdir(), `rawrecv-fuzz-inflight-${process.pid}.json`);

function seedFromEnv(): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  if (raw === 'random') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer or 'random', not '${raw}'`);
  return seed | 0;
}

function runsFromEnv(): number {
  const raw = process.env.FUZZ_RUNS;
  if (raw === undefined || raw === '') return DEFAULT_RUNS;
  const runs = Number(raw);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`FUZZ_RUNS must be a positive integer, not '${raw}'`);
  return runs;
}

const SEED = seedFromEnv();
const RUNS = runsFromEnv();
const PATH = process.env.FUZZ_PATH || undefined;
/** An in-flight file (see FUZZ_INFLIGHT_FILE) whose one scenario to run again, alone. */
const REPLAY = process.env.FUZZ_REPLAY || undefined;

// ---------------------------------------------------------------------------------------------
// Platform constants

const MSG = constants.MSG;
const DONTWAIT = MSG.DONTWAIT ?? 0;
const TRUNC = MSG.TRUNC ?? 0;
const ERRQUEUE = MSG.ERRQUEUE ?? 0;
const POLLIN = constants.POLL.IN;
const POLLOUT = constants.POLL.OUT;
const HANGUP = constants.POLL.HUP | (constants.POLL.RDHUP ?? 0);
const MSG_BITS = Object.values(MSG).filter((bit): bit is number => typeof bit === 'number');
const KNOWN_MSG = MSG_BITS.reduce((mask, bit) => mask | bit, 0);
/** The lowest bit that is no MSG_* flag of this platform. */
const UNKNOWN_BIT = (() => {
  for (let bit = 1; bit <= 2 ** 30; bit *= 2) if ((KNOWN_MSG & bit) === 0) return bit;
  return 2 ** 30;
})();
const SO = constants.SO;
const RCVTIMEO = SO.RCVTIMEO;
const SNDTIMEO = SO.SNDTIMEO;

type Resizable = ArrayBuffer & { resize(length: number): void; readonly resizable: boolean };
const ResizableArrayBuffer = ArrayBuffer as unknown as new (
  length: number,
  options: { maxByteLength: number },
) => Resizable;

// ---------------------------------------------------------------------------------------------
// The operations: plain data, so that fast-check prints a failing list as it was run.

type Mode = 'await' | 'background';
/** An AbortSignal: none, one aborted already, not a signal at all, or controller slot 0 / 1. */
type SignalSpec = 'none' | 'aborted' | 'bogus' | 0 | 1;

/** Options of an async (or recvInto) call. */
type OptionsSpec =
  | { shape: 'none' }
  | { shape: 'bad'; value: unknown }
  | { shape: 'flaky' }
  | { shape: 'object'; timeout?: unknown; signal?: SignalSpec; flags?: unknown; offset?: unknown; length?: unknown };

type ViewKind =
  | 'buffer'
  | 'u8'
  | 'u16'
  | 'i32'
  | 'f64'
  | 'b64'
  | 'dv'
  | 'sub'
  | 'sab-u8'
  | 'sab-dv'
  | 'rab-u8'
  | 'rab-u8-track'
  | 'rab-dv'
  | 'rab-dv-track'
  | 'detached-u8'
  | 'detached-dv'
  | 'detached-buffer'
  | 'empty-u8'
  | 'empty-dv';

interface ViewSpec {
  view: ViewKind;
  /** Elements. */
  n: number;
  /** Byte offset of the view into its ArrayBuffer. */
  off: number;
}

/** A buffer argument: the view in a slot (made from `make` first, if given), or a non-view. */
type BufferSpec = { slot: number; make?: ViewSpec } | { notView: unknown };
/** Data to send: a string of n bytes, a view in a slot, or something that is neither. */
type DataSpec = { str: number } | { slot: number; make?: ViewSpec } | { notData: unknown };
/**
 * sendMsg's control messages: SCM_RIGHTS of a throwaway socketpair made for the call (never of the
 * run's own sockets: one in flight would keep its peer from seeing EOF), TOS, PKTINFO, or anything.
 */
type ControlSpec =
  { rights: 'pair' | 'pair-sockets'; tos?: unknown } | { tos: unknown } | { pktinfo: unknown } | { value: unknown };
/** Where a descriptor number comes from. */
type FdSpec = { handle: number } | { server: number } | { raw: number } | { seen: number } | { value: unknown };

type SysCall =
  | 'socket'
  | 'socketpair'
  | 'bind'
  | 'connect'
  | 'listen'
  | 'accept'
  | 'getsockname'
  | 'getpeername'
  | 'socketFamily'
  | 'getNonBlocking'
  | 'setNonBlocking'
  | 'recv'
  | 'recvfrom'
  | 'recvmsg'
  | 'send'
  | 'sendto'
  | 'shutdown'
  | 'close'
  | 'getsockopt'
  | 'setsockopt'
  | 'getTimeout'
  | 'setTimeout'
  | 'getLinger'
  | 'setLinger'
  | 'fionread'
  | 'poll'
  | 'setUdpConnReset'
  | 'handleCount';

type WorkerVariant = 'adopt' | 'use-and-exit' | 'own-pair' | 'own-pair-idle' | 'own-and-exit' | 'own-pair-sysclose';

type Op =
  | { op: 'pair'; options: unknown }
  | { op: 'udp'; family: unknown; bind: 'none' | 'any' | { host: unknown; port: unknown }; connect: number | null }
  | { op: 'listen'; options: unknown }
  | { op: 'connectSync'; s: number; host: unknown; port: 'server' | 'closed' | { value: unknown } }
  | {
      op: 'connect';
      s: number;
      host: unknown;
      port: 'server' | 'closed' | { value: unknown };
      family: unknown;
      options: OptionsSpec;
      mode: Mode;
    }
  | { op: 'accept'; s: number }
  | { op: 'acceptAsync'; s: number; options: OptionsSpec; mode: Mode }
  | { op: 'fromFd'; fd: FdSpec; options: unknown }
  | { op: 'recv'; t: number; length: unknown; flags: unknown; feed?: number }
  | { op: 'peek'; t: number; length: unknown; feed?: number }
  | { op: 'recvFrom'; t: number; length: unknown; flags: unknown; feed?: number }
  | {
      op: 'recvMsg';
      t: number;
      length: unknown;
      flags: unknown;
      control: unknown;
      take: boolean;
      pass: boolean;
      feed?: number;
    }
  | { op: 'recvError'; t: number; length: unknown }
  | {
      op: 'sendMsg';
      t: number;
      data: DataSpec;
      to: number | null | { value: unknown };
      control: ControlSpec;
      flags: unknown;
    }
  | { op: 'setRecvOptions'; t: number; options: unknown }
  | { op: 'recvInto'; t: number; buffer: BufferSpec; options: OptionsSpec; feed?: number }
  | { op: 'send'; t: number; data: DataSpec; flags: unknown }
  | { op: 'sendTo'; t: number; data: DataSpec; to: number | { value: unknown }; flags: unknown }
  | { op: 'shutdown'; t: number; how: unknown }
  | { op: 'reset'; t: number }
  | { op: 'takeError'; t: number }
  | { op: 'available'; t: number }
  | { op: 'localAddress'; t: number }
  | { op: 'remoteAddress'; t: number }
  | { op: 'setBlocking'; t: number; value: unknown }
  | { op: 'setReceiveTimeout'; t: number; ms: unknown }
  | { op: 'setSendTimeout'; t: number; ms: unknown }
  | { op: 'close'; t: number }
  | { op: 'getters'; t: number }
  | { op: 'wait'; t: number; writable: boolean; options: OptionsSpec; mode: Mode }
  | { op: 'recvAsync'; t: number; length: unknown; options: OptionsSpec; mode: Mode; feed?: number }
  | { op: 'recvFromAsync'; t: number; length: unknown; options: OptionsSpec; mode: Mode; feed?: number }
  | { op: 'recvIntoAsync'; t: number; buffer: BufferSpec; options: OptionsSpec; mode: Mode; feed?: number }
  | { op: 'sendAsync'; t: number; data: DataSpec; options: OptionsSpec; mode: Mode }
  | { op: 'iterate'; t: number; max: number; mode: Mode; feed?: number }
  | { op: 'server'; s: number; call: 'setBlocking' | 'address' | 'port' | 'close' | 'getters'; value?: unknown }
  | { op: 'detach'; slot: number }
  | { op: 'resize'; slot: number; bytes: number }
  | { op: 'abort'; controller: 0 | 1 }
  | { op: 'tick'; ms: number }
  | { op: 'probeReuse'; t: number; via: 'close' | 'sys.close' | 'reset'; reuse: 'pair' | 'sys' }
  | { op: 'share'; t: number; close: 'owner' | 'sharer' | 'sys.close' }
  | { op: 'peerGone'; t: number; how: 'close' | 'shutdown' | 'reset'; records: number; iterate: boolean }
  | {
      op: 'abortDuringWait';
      t: number;
      call: 'waitReadable' | 'recvAsync' | 'recvIntoAsync' | 'recvFromAsync' | 'sendAsync' | 'acceptAsync' | 'connect';
      ms: number;
    }
  | {
      op: 'goneView';
      t: number;
      call: 'recvInto' | 'recvIntoAsync' | 'send' | 'sendTo' | 'sendAsync';
      view: 'rab-u8' | 'rab-u8-track' | 'rab-dv' | 'rab-dv-track' | 'detached-u8' | 'detached-dv' | 'detached-buffer';
      shrinkTo: number;
    }
  | {
      op: 'viewDuringWait';
      t: number;
      call: 'recvIntoAsync' | 'sendAsync';
      view: 'u8' | 'buffer' | 'dv' | 'rab-u8' | 'rab-dv' | 'rab-u8-track' | 'rab-dv-track';
      action: 'detach' | 'shrink';
      trigger: 'data' | 'timeout';
    }
  | { op: 'sys'; call: SysCall; fd: FdSpec; args: unknown[] }
  | { op: 'worker'; variant: WorkerVariant; t: number };

type Setup = 'tcp4' | 'tcp6' | 'tcp-async' | 'udp' | 'unix-stream' | 'unix-dgram' | 'unix-seqpacket';

interface Scenario {
  setup: Setup;
  /** Whether the first sockets get SO_RCVTIMEO / SO_SNDTIMEO, so blocking calls on them can be made. */
  timeouts: boolean;
  ops: Op[];
}

// ---------------------------------------------------------------------------------------------
// Arbitraries

const wrongType = fc.constantFrom<unknown>('16', null, 16n, true, {}, [], Symbol('x'), () => 1);
const hostileNumber = fc.constantFrom<unknown>(
  -1,
  -0,
  0,
  1.5,
  NaN,
  Infinity,
  -Infinity,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  -(2 ** 31),
  Number.MAX_VALUE,
  Number.MIN_VALUE,
);
const hostile = fc.oneof(hostileNumber, wrongType);

const handleIndex = fc.nat({ max: 40 });
const mode = fc.constantFrom<Mode>('await', 'await', 'background');

const length = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 1, max: 64 }) },
  { weight: 3, arbitrary: fc.integer({ min: 65, max: 70_000 }) },
  { weight: 1, arbitrary: fc.constant<unknown>(2 ** 31 - 1) },
  { weight: 2, arbitrary: hostile },
);

const flags = fc.oneof(
  { weight: 6, arbitrary: fc.constant<unknown>(0) },
  {
    weight: 5,
    arbitrary: fc.constantFrom<unknown>(
      DONTWAIT,
      MSG.PEEK | DONTWAIT,
      MSG.PEEK,
      MSG.WAITALL | DONTWAIT,
      TRUNC | DONTWAIT,
      TRUNC | MSG.PEEK | DONTWAIT,
    ),
  },
  { weight: 3, arbitrary: fc.subarray(MSG_BITS).map((bits) => bits.reduce((mask, bit) => mask | bit, 0)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom<unknown>(UNKNOWN_BIT, MSG.PEEK | UNKNOWN_BIT, 0x7fffffff, -1, 1.5, NaN, 2 ** 31),
  },
  { weight: 1, arbitrary: wrongType },
  { weight: 1, arbitrary: fc.constant<unknown>(undefined) },
);

const timeoutValue = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(200, 2 ** 31 - 1) },
  { weight: 1, arbitrary: hostile },
);

const signal = fc.constantFrom<SignalSpec>('none', 'none', 'none', 'none', 'none', 'none', 'aborted', 'bogus', 0, 1);

function optionsSpec(extra: { flags?: boolean; range?: boolean }): fc.Arbitrary<OptionsSpec> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant<OptionsSpec>({ shape: 'none' }) },
    {
      weight: 10,
      arbitrary: fc.record(
        {
          shape: fc.constant('object' as const),
          timeout: timeoutValue,
          signal,
          ...(extra.flags ? { flags } : {}),
          ...(extra.range
            ? {
                offset: fc.oneof(
                  { weight: 6, arbitrary: fc.integer({ min: 0, max: 8 }) },
                  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 9, max: 100 }), hostile) },
                ),
                length: fc.oneof(
                  { weight: 6, arbitrary: fc.integer({ min: 1, max: 64 }) },
                  { weight: 1, arbitrary: hostile },
                ),
              }
            : {}),
        },
        { requiredKeys: ['shape'] },
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom<unknown>(null, 5, 'x', true).map((value): OptionsSpec => ({ shape: 'bad', value })),
    },
    { weight: extra.range ? 1 : 0, arbitrary: fc.constant<OptionsSpec>({ shape: 'flaky' }) },
  );
}

const viewSpec: fc.Arbitrary<ViewSpec> = fc.record({
  view: fc.constantFrom<ViewKind>(
    'buffer',
    'buffer',
    'buffer',
    'buffer',
    'u8',
    'u8',
    'sub',
    'u16',
    'i32',
    'f64',
    'b64',
    'dv',
    'sub',
    'sab-u8',
    'sab-dv',
    'rab-u8',
    'rab-u8-track',
    'rab-dv',
    'rab-dv-track',
    'detached-u8',
    'detached-dv',
    'detached-buffer',
    'empty-u8',
    'empty-dv',
  ),
  n: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 9000 })),
  off: fc.constantFrom(0, 0, 1, 3, 8),
});

const notView = fc.constantFrom<unknown>('abc', [1, 2, 3], 'arraybuffer', null, undefined, 5, {});

/** Receive slots 0-3, send slots 4-5 (a send fills its view with the sender's byte). */
const recvBuffer: fc.Arbitrary<BufferSpec> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ slot: fc.nat({ max: 3 }), make: viewSpec }, { requiredKeys: ['slot'] }) },
  { weight: 1, arbitrary: notView.map((value) => ({ notView: value })) },
);

const data: fc.Arbitrary<DataSpec> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 65, max: 200_000 }))
      .map((n) => ({ str: n })),
  },
  { weight: 4, arbitrary: fc.record({ slot: fc.constantFrom(4, 5), make: viewSpec }, { requiredKeys: ['slot'] }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<unknown>(5, null, undefined, [1, 2], 'arraybuffer', {}, 1n)
      .map((value) => ({ notData: value })),
  },
);

const fdSpec: fc.Arbitrary<FdSpec> = fc.oneof(
  { weight: 6, arbitrary: handleIndex.map((handle) => ({ handle })) },
  { weight: 1, arbitrary: handleIndex.map((server) => ({ server })) },
  { weight: 2, arbitrary: handleIndex.map((raw) => ({ raw })) },
  { weight: 3, arbitrary: handleIndex.map((seen) => ({ seen })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<unknown>(0, 1, 2, -1, 2 ** 20, 2 ** 31, 1.5, NaN, '3', null).map((value) => ({ value })),
  },
);

const host = fc.constantFrom<unknown>('127.0.0.1', '127.0.0.1', '::1', 'localhost');
const badHost = fc.constantFrom<unknown>('example.com', '999.1.1.1', '', '::1%', ' 127.0.0.1', 5, null);
const port = fc.oneof(
  { weight: 8, arbitrary: fc.constant<'server'>('server') },
  { weight: 2, arbitrary: fc.constant<'closed'>('closed') },
  { weight: 1, arbitrary: fc.oneof(hostileNumber, fc.constantFrom<unknown>('80', null)).map((value) => ({ value })) },
);

function sysOp(): fc.Arbitrary<Op> {
  const af = fc.constantFrom<unknown>(constants.AF.INET, constants.AF.INET6, constants.AF.UNIX, 12345, -1, 1.5, '2');
  const sockType = fc.constantFrom<unknown>(
    constants.SOCK.STREAM,
    constants.SOCK.DGRAM,
    constants.SOCK.SEQPACKET,
    constants.SOCK.STREAM | (constants.SOCK.NONBLOCK ?? 0),
    constants.SOCK.DGRAM | (constants.SOCK.NONBLOCK ?? 0),
    99,
    NaN,
  );
  const proto = fc.constantFrom<unknown>(0, 0, 0, -1, 6, 17, 2 ** 31);
  const bufferArg = fc.oneof(
    { weight: 8, arbitrary: fc.record({ slot: fc.nat({ max: 3 }), make: viewSpec }, { requiredKeys: ['slot'] }) },
    { weight: 1, arbitrary: notView.map((value) => ({ notView: value })) },
  );
  const offset = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 16 }) }, { weight: 1, arbitrary: hostile });
  const count = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 64 }) },
    { weight: 1, arbitrary: fc.integer({ min: 65, max: 100_000 }) },
    { weight: 1, arbitrary: hostile },
  );
  const rawFlags = fc.oneof(flags, fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
  const sysHost = fc.constantFrom<unknown>('127.0.0.1', '::1', '', 'localhost', '999.1.1.1', 'a\0b', 5);
  const sysPort = fc.oneof(fc.constantFrom<unknown>('server', 'closed', 0), hostileNumber);
  const level = fc.constantFrom<unknown>(
    constants.SOL.SOCKET,
    constants.SOL.SOCKET,
    constants.IPPROTO.TCP,
    constants.IPPROTO.IP,
    -1,
    1.5,
  );
  const name = fc.constantFrom<unknown>(
    SO.RCVBUF,
    SO.SNDBUF,
    SO.REUSEADDR,
    SO.KEEPALIVE,
    SO.ERROR,
    SO.TYPE,
    SO.LINGER,
    RCVTIMEO,
    SNDTIMEO,
    constants.TCP.NODELAY,
    NaN,
    '7',
  );
  const value = fc.oneof(fc.integer({ min: -2, max: 70_000 }), hostile);
  const args: Record<SysCall, fc.Arbitrary<unknown[]>> = {
    socket: fc.tuple(af, sockType, proto),
    socketpair: fc.tuple(
      fc.constantFrom<unknown>(constants.AF.UNIX, constants.AF.UNIX, constants.AF.INET, 'x'),
      sockType,
      proto,
    ),
    bind: fc.tuple(af, sysHost, sysPort),
    connect: fc.tuple(af, sysHost, sysPort),
    listen: fc.tuple(fc.oneof(fc.integer({ min: -5, max: 600 }), hostile)),
    accept: fc.constant([]),
    getsockname: fc.constant([]),
    getpeername: fc.constant([]),
    socketFamily: fc.constant([]),
    getNonBlocking: fc.constant([]),
    setNonBlocking: fc.tuple(fc.oneof(fc.boolean(), hostile)),
    recv: fc.tuple(bufferArg, offset, count, rawFlags),
    recvfrom: fc.tuple(bufferArg, offset, count, rawFlags, fc.constantFrom<unknown>('out', 'out', null, 5)),
    recvmsg: fc.tuple(bufferArg, offset, count, rawFlags, fc.constantFrom<unknown>('out', 'out', null, 5)),
    send: fc.tuple(bufferArg, offset, count, rawFlags),
    sendto: fc.tuple(bufferArg, offset, count, rawFlags, af, sysHost, sysPort),
    shutdown: fc.tuple(fc.oneof(fc.constantFrom<unknown>(0, 1, 2), fc.integer({ min: -3, max: 5 }), hostile)),
    close: fc.constant([]),
    getsockopt: fc.tuple(level, name),
    setsockopt: fc.tuple(level, name, value),
    getTimeout: fc.tuple(fc.constantFrom<unknown>(RCVTIMEO, SNDTIMEO, 0, NaN)),
    setTimeout: fc.tuple(
      fc.constantFrom<unknown>(RCVTIMEO, SNDTIMEO, 0, NaN),
      fc.oneof(fc.integer({ min: 0, max: 60 }), hostile),
    ),
    getLinger: fc.constant([]),
    setLinger: fc.tuple(fc.oneof(fc.boolean(), hostile), fc.oneof(fc.constant<unknown>(0), hostile)),
    fionread: fc.constant([]),
    poll: fc.tuple(fc.oneof(fc.constantFrom<unknown>(POLLIN, POLLOUT, POLLIN | HANGUP, 0, -1), fc.integer(), hostile)),
    setUdpConnReset: fc.tuple(fc.oneof(fc.boolean(), hostile)),
    handleCount: fc.constant([]),
  };
  return fc.oneof(
    ...Object.entries(args).map(([call, argArb]) =>
      fc.record({ op: fc.constant('sys' as const), call: fc.constant(call as SysCall), fd: fdSpec, args: argArb }),
    ),
  );
}

const t = handleIndex;
/** Bytes the socket's peer sends (MSG_DONTWAIT) just before a receive (half of them), so that receives find data. */
const feed = fc.option(fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 65, max: 100_000 })), {
  nil: undefined,
  freq: 2,
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  // making sockets
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('pair' as const),
      options: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom('stream', 'dgram', 'seqpacket').map((type) => ({ type })) },
        {
          weight: 1,
          arbitrary: fc.constantFrom<unknown>(undefined, null, 'x', { type: 'raw' }, { type: 5 }, { type: 'bogus' }),
        },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('udp' as const),
      family: fc.constantFrom<unknown>(undefined, 'IPv4', 'IPv4', 'IPv6', 'IPv5', 4, null),
      bind: fc.oneof(
        fc.constant<'any'>('any'),
        fc.constant<'none'>('none'),
        fc.record({ host: fc.oneof(host, badHost), port: fc.oneof(fc.constant<unknown>(0), hostile) }),
      ),
      connect: fc.option(handleIndex),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('listen' as const),
      options: fc.oneof(
        {
          weight: 6,
          arbitrary: fc.constantFrom<unknown>(
            {},
            { host: '127.0.0.1' },
            { host: '::1' },
            { host: 'localhost', backlog: 16 },
          ),
        },
        {
          weight: 1,
          arbitrary: fc.oneof(
            fc.constantFrom<unknown>(null, 'x', 5),
            badHost.map((h) => ({ host: h })),
            hostile.map((p) => ({ port: p })),
            hostile.map((b) => ({ backlog: b })),
          ),
        },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('connectSync' as const),
      s: handleIndex,
      host: fc.oneof({ weight: 6, arbitrary: host }, { weight: 1, arbitrary: badHost }),
      port,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('connect' as const),
      s: handleIndex,
      host: fc.oneof(
        { weight: 6, arbitrary: host },
        { weight: 2, arbitrary: fc.constant<unknown>('no-such-host.invalid') },
        { weight: 1, arbitrary: badHost },
      ),
      port,
      family: fc.constantFrom<unknown>(undefined, undefined, 'IPv4', 'IPv6', 'IPv5'),
      options: optionsSpec({}),
      mode,
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('accept' as const), s: handleIndex }) },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('acceptAsync' as const), s: handleIndex, options: optionsSpec({}), mode }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('fromFd' as const),
      fd: fdSpec,
      options: fc.oneof(
        {
          weight: 3,
          arbitrary: fc.constantFrom<unknown>({ owned: false }, { owned: false }, undefined, { owned: true }),
        },
        { weight: 1, arbitrary: fc.constantFrom<unknown>({ owned: 'yes' }, { blocking: 1 }, null, 'x') },
      ),
    }),
  },
  // the sync methods
  { weight: 6, arbitrary: fc.record({ op: fc.constant('recv' as const), t, length, flags, feed }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('peek' as const), t, length, feed }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('recvFrom' as const), t, length, flags, feed }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('recvMsg' as const),
      t,
      length,
      flags: fc.oneof(
        { weight: 4, arbitrary: flags },
        { weight: 1, arbitrary: fc.constant<unknown>(MSG.ERRQUEUE ?? 0) },
      ),
      control: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom<unknown>(undefined, 0, 1, 16, 20, 24, 64, 1024) },
        { weight: 1, arbitrary: hostile },
      ),
      take: fc.boolean(),
      pass: fc.boolean(),
      feed,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('recvError' as const), t, length }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('sendMsg' as const),
      t,
      data,
      to: fc.oneof(
        { weight: 3, arbitrary: fc.constant(null) },
        { weight: 3, arbitrary: handleIndex },
        {
          weight: 1,
          arbitrary: fc.constantFrom<unknown>(null, 'x', { host: '127.0.0.1', port: -1 }).map((value) => ({ value })),
        },
      ),
      control: fc.oneof<fc.Arbitrary<ControlSpec>[]>(
        fc.record({ rights: fc.constantFrom<'pair' | 'pair-sockets'>('pair', 'pair-sockets') }),
        fc.record({ tos: fc.oneof(fc.integer({ min: 0, max: 255 }), hostile) }),
        fc.record({
          pktinfo: fc.constantFrom<unknown>(
            { source: '127.0.0.1' },
            { ifindex: 1 },
            { source: '::1' },
            { source: 5 },
            null,
            {},
          ),
        }),
        fc.record({
          value: fc.constantFrom<unknown>(
            undefined,
            null,
            'x',
            { rights: [-1] },
            { rights: [] },
            { rights: 'x' },
            { tos: 1.5 },
          ),
        }),
      ),
      flags,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('setRecvOptions' as const),
      t,
      options: fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record(
            {
              pktinfo: fc.boolean(),
              tos: fc.boolean(),
              ttl: fc.boolean(),
              timestamp: fc.boolean(),
              credentials: fc.boolean(),
              gro: fc.boolean(),
              recvErr: fc.boolean(),
            },
            { requiredKeys: [] },
          ),
        },
        { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 'x', { tos: 1 }, { nope: true }) },
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('recvInto' as const),
      t,
      buffer: recvBuffer,
      options: optionsSpec({ flags: true, range: true }),
      feed,
    }),
  },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('send' as const), t, data, flags }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('sendTo' as const),
      t,
      data,
      to: fc.oneof(
        { weight: 5, arbitrary: handleIndex },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom<unknown>(
              null,
              'x',
              { host: '127.0.0.1', port: -1 },
              { host: 'example.com', port: 9 },
              { host: '::1', port: 9 },
            )
            .map((value) => ({ value })),
        },
      ),
      flags,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('shutdown' as const),
      t,
      how: fc.constantFrom<unknown>('read', 'write', 'both', 'write', 'sideways', undefined, 1, null),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reset' as const), t }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('takeError' as const), t }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('available' as const), t }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('localAddress' as const), t }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remoteAddress' as const), t }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('setBlocking' as const),
      t,
      value: fc.oneof({ weight: 6, arbitrary: fc.boolean() }, { weight: 1, arbitrary: hostile }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('setReceiveTimeout' as const),
      t,
      ms: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 30 }) }, { weight: 1, arbitrary: hostile }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('setSendTimeout' as const),
      t,
      ms: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 30 }) }, { weight: 1, arbitrary: hostile }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('close' as const), t }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('getters' as const), t }) },
  // the async methods
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('wait' as const),
      t,
      writable: fc.boolean(),
      options: optionsSpec({}),
      mode,
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('recvAsync' as const),
      t,
      length,
      options: optionsSpec({ flags: true }),
      mode,
      feed,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('recvFromAsync' as const),
      t,
      length,
      options: optionsSpec({ flags: true }),
      mode,
      feed,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('recvIntoAsync' as const),
      t,
      buffer: recvBuffer,
      options: optionsSpec({ flags: true, range: true }),
      mode,
      feed,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('sendAsync' as const),
      t,
      data,
      options: optionsSpec({ flags: true }),
      mode,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('iterate' as const), t, max: fc.integer({ min: 1, max: 5 }), mode, feed }),
  },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        op: fc.constant('server' as const),
        s: handleIndex,
        call: fc.constantFrom(
          'setBlocking' as const,
          'address' as const,
          'port' as const,
          'close' as const,
          'getters' as const,
        ),
        value: fc.oneof(fc.boolean(), hostile),
      },
      { requiredKeys: ['op', 's', 'call'] },
    ),
  },
  // the environment: buffers, signals, time
  { weight: 2, arbitrary: fc.record({ op: fc.constant('detach' as const), slot: fc.nat({ max: 5 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('resize' as const),
      slot: fc.nat({ max: 5 }),
      bytes: fc.integer({ min: 0, max: 200 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('abort' as const), controller: fc.constantFrom<0 | 1>(0, 1) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.constantFrom(0, 1, 5, 20) }) },
  // compound scenarios: reuse of a closed number, a sharer whose owner closes under its waits
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('probeReuse' as const),
      t,
      via: fc.constantFrom('close' as const, 'close' as const, 'sys.close' as const, 'reset' as const),
      reuse: fc.constantFrom('pair' as const, 'pair' as const, 'sys' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('share' as const),
      t,
      close: fc.constantFrom('owner' as const, 'owner' as const, 'sharer' as const, 'sys.close' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('peerGone' as const),
      t,
      how: fc.constantFrom('close' as const, 'shutdown' as const, 'reset' as const),
      records: fc.nat({ max: 6 }),
      iterate: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('abortDuringWait' as const),
      t,
      call: fc.constantFrom(
        'waitReadable' as const,
        'recvAsync' as const,
        'recvIntoAsync' as const,
        'recvFromAsync' as const,
        'sendAsync' as const,
        'acceptAsync' as const,
        'connect' as const,
      ),
      ms: fc.constantFrom(0, 1, 5),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('goneView' as const),
      t,
      call: fc.constantFrom(
        'recvInto' as const,
        'recvIntoAsync' as const,
        'send' as const,
        'sendTo' as const,
        'sendAsync' as const,
      ),
      view: fc.constantFrom(
        'rab-u8' as const,
        'rab-u8-track' as const,
        'rab-dv' as const,
        'rab-dv-track' as const,
        'detached-u8' as const,
        'detached-dv' as const,
        'detached-buffer' as const,
      ),
      shrinkTo: fc.nat({ max: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('viewDuringWait' as const),
      t,
      call: fc.constantFrom('recvIntoAsync' as const, 'recvIntoAsync' as const, 'sendAsync' as const),
      view: fc.constantFrom(
        'u8' as const,
        'buffer' as const,
        'dv' as const,
        'rab-u8' as const,
        'rab-dv' as const,
        'rab-u8-track' as const,
        'rab-dv-track' as const,
      ),
      action: fc.constantFrom('detach' as const, 'shrink' as const),
      trigger: fc.constantFrom('data' as const, 'timeout' as const),
    }),
  },
  { weight: 5, arbitrary: sysOp() },
  // worker threads: a small fraction, they cost a thread and a module load each
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('worker' as const),
      variant: fc.constantFrom<WorkerVariant>(
        'adopt',
        'use-and-exit',
        'own-pair',
        'own-pair-idle',
        'own-and-exit',
        'own-pair-sysclose',
      ),
      t,
    }),
  },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  setup: fc.constantFrom<Setup>('tcp4', 'tcp6', 'tcp-async', 'udp', 'unix-stream', 'unix-dgram', 'unix-seqpacket'),
  timeouts: fc.boolean(),
  ops: fc.array(opArb, { minLength: 1, maxLength: MAX_OPS, size: 'max' }),
});

// ---------------------------------------------------------------------------------------------
// Outcomes and the documented shapes

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

function attempt(call: () => unknown): Outcome {
  try {
    return { ok: true, value: call() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** An invariant did not hold: the run fails with this message. */
class Violation extends Error {
  override readonly name = 'Violation';
}

const CLOSED_CODES = new Set([
  'ERR_SOCKET_CLOSED',
  'ERR_NOT_SUPPORTED',
  'ERR_INVALID_STATE',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);
const RESULT_KINDS = new Set(['data', 'eof', 'would-block', 'timeout', 'interrupted', 'error']);
const READ_STATES = new Set<ReadState>(['open', 'eof', 'reset', 'error']);

function show(value: unknown): string {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return `${value.constructor.name}${value.name !== value.constructor.name ? `(${value.name})` : ''}${code === undefined ? '' : ` ${show(code)}`}: ${value.message}`;
  }
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}`;
  if (value instanceof Socket) return `Socket(fd ${value.fd})`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.kind === 'string') {
      const rest: Record<string, unknown> = { ...record };
      delete rest.data;
      delete rest.socket;
      return fc.stringify(rest);
    }
  }
  return fc.stringify(value);
}

function showOutcome(outcome: Outcome): string {
  return outcome.ok ? `-> ${show(outcome.value)}` : `throws ${show(outcome.error)}`;
}

/** Why `error` is not one of the documented errors (undefined when it is). */
function undocumented(error: unknown, sysAddress = false): string | undefined {
  if (error instanceof SocketError) {
    if (error.name !== 'SocketError') return `a SocketError named ${error.name}`;
    if (typeof error.code !== 'string' || error.code === '') return `a SocketError whose code is ${show(error.code)}`;
    if (!Number.isInteger(error.errno) || error.errno <= 0) return `a SocketError whose errno is ${show(error.errno)}`;
    if (typeof error.syscall !== 'string' || error.syscall === '')
      return `a SocketError whose syscall is ${show(error.syscall)}`;
    return undefined;
  }
  if (error instanceof PollError) {
    if (typeof error.code !== 'string' || !Number.isInteger(error.errno)) return `a malformed PollError ${show(error)}`;
    return undefined;
  }
  if (!(error instanceof Error)) return `a thrown value that is no Error: ${show(error)}`;
  const code = (error as { code?: unknown }).code;
  const Class = error.constructor;
  if (error.name === 'AbortError') return code === 'ABORT_ERR' ? undefined : `an AbortError with code ${show(code)}`;
  if (Class === TypeError && (code === 'ERR_INVALID_ARG_TYPE' || code === 'ERR_INVALID_ARG_VALUE')) return undefined;
  if (Class === TypeError && sysAddress && code === 'ERR_INVALID_ADDRESS') return undefined;
  if (Class === RangeError && code === 'ERR_OUT_OF_RANGE') return undefined;
  if (Class === Error && typeof code === 'string' && CLOSED_CODES.has(code)) return undefined;
  return `an undocumented error: ${show(error)}`;
}

/** Counts an outcome: its result kind, or its error's class and code. */
function tally(outcome: Outcome, closed: boolean): void {
  count('calls');
  if (closed) count('calls on a closed Socket or Server');
  if (outcome.ok) {
    const kind = (outcome.value as { kind?: unknown } | null)?.kind;
    count(`result ${typeof kind === 'string' ? kind : typeof outcome.value === 'number' ? 'number (sys)' : 'value'}`);
    return;
  }
  const error = outcome.error as { name?: unknown; code?: unknown } | null;
  count(`error ${String(error?.name)} ${String(error?.code)}`);
}

function isClosedError(outcome: Outcome): boolean {
  return (
    !outcome.ok &&
    outcome.error instanceof Error &&
    outcome.error.constructor === Error &&
    (outcome.error as { code?: unknown }).code === 'ERR_SOCKET_CLOSED'
  );
}

function isRangeError(outcome: Outcome): boolean {
  return (
    !outcome.ok &&
    outcome.error instanceof RangeError &&
    (outcome.error as { code?: unknown }).code === 'ERR_OUT_OF_RANGE'
  );
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

/** Why a failure result (would-block, timeout, interrupted, error) is malformed. */
function failureShape(result: Record<string, unknown>): string | undefined {
  if (result.ret !== -1) return `ret ${show(result.ret)} (must be -1)`;
  if (!isInteger(result.errno) || result.errno <= 0) return `errno ${show(result.errno)}`;
  if (typeof result.code !== 'string' || result.code === '') return `code ${show(result.code)}`;
  if (result.kind === 'error' && typeof result.message !== 'string') return `message ${show(result.message)}`;
  return undefined;
}

/** Why `value` is not a well-formed RecvResult (or RecvFromResult) for a request of `requested` bytes. */
function recvShape(value: unknown, requested: number, flags: number, from: boolean): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const result = value as Record<string, unknown>;
  if (typeof result.kind !== 'string' || !RESULT_KINDS.has(result.kind)) return `kind ${show(result.kind)}`;
  if (result.kind === 'eof') return result.ret === 0 && result.errno === 0 ? undefined : 'eof with ret/errno not 0';
  if (result.kind !== 'data') return failureShape(result);
  const { ret, errno, bytesRead, data } = result;
  if (!isInteger(ret) || !isInteger(errno) || errno !== 0) return `data with ret ${show(ret)}, errno ${show(errno)}`;
  if (!isInteger(bytesRead) || bytesRead < 0 || bytesRead > requested)
    return `bytesRead ${show(bytesRead)} of ${requested}`;
  if (!Buffer.isBuffer(data) || data.length !== bytesRead)
    return `data of ${Buffer.isBuffer(data) ? data.length : 'no'} bytes`;
  if ((flags & TRUNC) === 0 ? ret !== bytesRead : ret < bytesRead) return `ret ${ret} with bytesRead ${bytesRead}`;
  if (from) {
    if (typeof result.truncated !== 'boolean') return `truncated ${show(result.truncated)}`;
    if (typeof result.address !== 'string' || !isInteger(result.port)) return 'no sender address / port';
    if (!['IPv4', 'IPv6', 'unix'].includes(String(result.family))) return `family ${show(result.family)}`;
  }
  return undefined;
}

function sendShape(value: unknown, total: number | undefined, async: boolean): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const result = value as Record<string, unknown>;
  if (async && (!isInteger(result.bytesSent) || result.bytesSent < 0)) return `bytesSent ${show(result.bytesSent)}`;
  if (result.kind === 'sent') {
    if (!isInteger(result.ret) || result.ret < 0 || result.errno !== 0) return `sent with ret ${show(result.ret)}`;
    if (!isInteger(result.bytesSent) || result.bytesSent < 0) return `bytesSent ${show(result.bytesSent)}`;
    if (total !== undefined && (async ? result.bytesSent !== total : result.bytesSent > total)) {
      return `bytesSent ${result.bytesSent} of ${total}`;
    }
    return undefined;
  }
  if (!['would-block', 'timeout', 'interrupted', 'error'].includes(String(result.kind)))
    return `kind ${show(result.kind)}`;
  return failureShape(result);
}

/** The /proc/self/fd link of a descriptor ('socket:[12345]'), or undefined when it is not open. */
function linkOf(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

function fdTable(): Map<number, string> {
  const table = new Map<number, string>();
  for (const name of readdirSync('/proc/self/fd')) table.set(Number(name), linkOf(Number(name)) ?? '?');
  return table;
}

/** Bytes a view still covers: 0 once its ArrayBuffer is detached or shrunk below it. */
function coveredBytes(view: ArrayBufferView): number {
  try {
    return view.byteLength;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------------
// The run: what it made, what is pending, and the checks

/** A kernel socket the run made: its byte value when it sends, and who can send to it. */
interface Endpoint {
  color: number;
  /** UDP: anyone may sendto it. */
  udp: boolean;
  peers: Set<Endpoint>;
  /** A stream socket whose peer is not known (connected through sys): its data is not checked. */
  unknownPeer: boolean;
}

interface SocketHandle {
  kind: 'socket';
  id: number;
  label: string;
  socket: Socket;
  number: number;
  link: string | undefined;
  endpoint: Endpoint;
  owned: boolean;
  /** Shared from a descriptor a worker owns: its number may be closed behind its back. */
  foreign: boolean;
  readState: ReadState;
}

interface ServerHandle {
  kind: 'server';
  id: number;
  label: string;
  server: Server;
  number: number;
  link: string | undefined;
  /** Connections made to it and not yet accepted (a full queue would stall a blocking connect). */
  queued: number;
}

type Handle = SocketHandle | ServerHandle;

interface Raw {
  number: number;
  link: string | undefined;
  endpoint: Endpoint;
}

interface Slot {
  view: ArrayBufferView;
  spec: ViewSpec;
  rab: Resizable | undefined;
  detached: boolean;
  /** The sender byte it was filled with (send slots). */
  color: number;
}

interface Pending {
  index: number;
  label: string;
  handle: Handle | undefined;
  settled: boolean;
  outcome: Outcome | undefined;
  done: Promise<void>;
  /** The receive view it was given, marked when that view is detached or shrunk under it. */
  view: ArrayBufferView | undefined;
  viewGone: boolean;
  /** The AbortSignal of a controller slot it was given, if any. */
  signal: AbortSignal | undefined;
  /** Whether its Socket (or Server) was still open when it settled: then it settled before any close. */
  openAtSettle: boolean;
}

function coverage(slot: Slot): 'ok' | 'gone' | 'empty' {
  if (slot.detached) return 'gone';
  const { spec, rab } = slot;
  if (spec.view === 'empty-u8' || spec.view === 'empty-dv') return 'empty';
  if (rab !== undefined) {
    const element = 1;
    const tracking = spec.view.endsWith('-track');
    if (rab.byteLength < spec.off + (tracking ? 0 : spec.n * element)) return 'gone';
    if (tracking && rab.byteLength === spec.off) return 'empty';
  }
  return 'ok';
}

function detachBuffer(buffer: ArrayBufferLike): boolean {
  try {
    structuredClone(buffer, { transfer: [buffer as ArrayBuffer] });
    return true;
  } catch {
    return false;
  }
}

function makeSlot(spec: ViewSpec, color: number): Slot {
  const { n, off } = spec;
  const bytes = n + off;
  let view: ArrayBufferView;
  let rab: Resizable | undefined;
  let detached = false;
  switch (spec.view) {
    case 'buffer':
      view = Buffer.alloc(n, color);
      break;
    case 'u8':
      view = new Uint8Array(n).fill(color);
      break;
    case 'u16':
      view = new Uint16Array(n).fill(color * 0x101);
      break;
    case 'i32':
      view = new Int32Array(n).fill(color * 0x1010101);
      break;
    case 'f64':
      view = new Float64Array(new Uint8Array(n * 8).fill(color).buffer);
      break;
    case 'b64':
      view = new BigInt64Array(new Uint8Array(n * 8).fill(color).buffer);
      break;
    case 'dv':
      view = new DataView(new Uint8Array(bytes).fill(color).buffer, off);
      break;
    case 'sub':
      view = Buffer.alloc(bytes, color).subarray(off);
      break;
    case 'sab-u8':
      view = new Uint8Array(new SharedArrayBuffer(bytes), off).fill(color);
      break;
    case 'sab-dv': {
      const shared = new SharedArrayBuffer(bytes);
      new Uint8Array(shared).fill(color);
      view = new DataView(shared, off);
      break;
    }
    case 'rab-u8':
    case 'rab-u8-track':
    case 'rab-dv':
    case 'rab-dv-track': {
      rab = new ResizableArrayBuffer(bytes, { maxByteLength: bytes * 2 + 64 });
      new Uint8Array(rab).fill(color);
      const tracking = spec.view.endsWith('-track');
      view = spec.view.startsWith('rab-u8')
        ? tracking
          ? new Uint8Array(rab, off)
          : new Uint8Array(rab, off, n)
        : tracking
          ? new DataView(rab, off)
          : new DataView(rab, off, n);
      break;
    }
    case 'detached-u8':
    case 'detached-dv':
    case 'detached-buffer': {
      const buffer = new ArrayBuffer(bytes);
      view =
        spec.view === 'detached-u8'
          ? new Uint8Array(buffer, off)
          : spec.view === 'detached-dv'
            ? new DataView(buffer, off)
            : Buffer.from(buffer, off);
      detached = detachBuffer(buffer);
      break;
    }
    case 'empty-u8':
      view = new Uint8Array(0);
      break;
    case 'empty-dv':
      view = new DataView(new ArrayBuffer(0));
      break;
  }
  return { view, spec, rab, detached, color };
}

function notViewValue(value: unknown): unknown {
  return value === 'arraybuffer' ? new ArrayBuffer(8) : value;
}

/** Colors: one byte value per kernel socket, so received bytes tell who sent them. */
const COLORS = [...Array.from({ length: 26 }, (_, i) => 0x41 + i), ...Array.from({ length: 26 }, (_, i) => 0x61 + i)];

let workerScript: URL | undefined;

/** How often each operation ran and each invariant was put to the test: printed at the end. */
const stats = new Map<string, number>();

function count(key: string, n = 1): void {
  stats.set(key, (stats.get(key) ?? 0) + n);
}
/** A port with nothing listening. */
let CLOSED_PORT = 9;

class Run {
  readonly scenario: Scenario;
  readonly sockets: SocketHandle[] = [];
  readonly servers: ServerHandle[] = [];
  readonly raws: Raw[] = [];
  readonly seen: number[] = [];
  readonly slots: (Slot | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined];
  readonly controllers: (AbortController | undefined)[] = [undefined, undefined];
  readonly pendings: Pending[] = [];
  readonly violations: string[] = [];
  readonly trace: string[] = [];
  readonly workers = new Set<Worker>();
  /**
   * Sockets a failed check made owners of a descriptor they must not own (another Socket's or a
   * worker's): closed at the end if the number still names that socket, so that later runs (and
   * shrinking) do not inherit the mistake; else kept from garbage collection for good.
   */
  readonly wronglyOwned: { socket: Socket; link: string | undefined }[] = [];
  /** TCP endpoints by 'local>remote' address. */
  readonly connections = new Map<string, Endpoint>();
  readonly udpColors = new Set<number>();
  nextId = 0;
  nextColor = 0;
  /** The controller signal the last options() handed out, for the call made with them. */
  lastSignal: AbortSignal | undefined;
  index = -1;
  ending = false;
  /** Snapshot for the closing checks: each handle's fd, and what was pending, at the last checkpoint. */
  #snapshot: { fds: Map<Handle, number>; unsettled: Pending[] } = { fds: new Map(), unsettled: [] };

  constructor(scenario: Scenario) {
    this.scenario = scenario;
  }

  // ---- bookkeeping -----------------------------------------------------------------------

  fail(message: string): never {
    throw new Violation(message);
  }

  note(text: string): void {
    if (text.includes(' skipped'))
      count('operations skipped (nothing to act on, or a blocking call that could wait forever)');
    const line = `#${this.index} ${text}`;
    this.trace.push(line);
    if (this.trace.length > 24) this.trace.shift();
    if (TRACE) process.stderr.write(`${line}\n`);
  }

  /** A problem found outside the operation's own flow (a background call settling). */
  report(message: string): void {
    this.violations.push(message);
  }

  assertClean(): void {
    const first = this.violations[0];
    if (first !== undefined) this.fail(first);
  }

  endpoint(udp: boolean, unknownPeer = false): Endpoint {
    const color = COLORS[this.nextColor++ % COLORS.length] as number;
    if (udp) this.udpColors.add(color);
    return { color, udp, peers: new Set(), unknownPeer };
  }

  remember(number: number): void {
    if (number >= 0 && !this.seen.includes(number)) this.seen.push(number);
  }

  addSocket(socket: Socket, label: string, endpoint: Endpoint, options: { foreign?: boolean } = {}): SocketHandle {
    const handle: SocketHandle = {
      kind: 'socket',
      id: this.nextId++,
      label: `${label}#${this.nextId - 1}`,
      socket,
      number: socket.fd,
      link: linkOf(socket.fd),
      endpoint,
      owned: true,
      foreign: options.foreign ?? false,
      readState: socket.readState,
    };
    this.sockets.push(handle);
    this.remember(socket.fd);
    if (this.ending) socket.close();
    return handle;
  }

  addServer(server: Server, label: string): ServerHandle {
    const handle: ServerHandle = {
      kind: 'server',
      id: this.nextId++,
      label: `${label}#${this.nextId - 1}`,
      server,
      number: server.fd,
      link: linkOf(server.fd),
      queued: 0,
    };
    this.servers.push(handle);
    this.remember(server.fd);
    if (this.ending) server.close();
    return handle;
  }

  /** A new Socket made by the library: it starts blocking, in the kernel too. */
  fresh(socket: Socket, what: string): void {
    if (socket.blocking !== true) this.fail(`${what}: a new Socket whose blocking is ${socket.blocking}`);
    const mode = sys.getNonBlocking(socket.fd);
    if (mode !== 0) this.fail(`${what}: a new Socket (fd ${socket.fd}) whose O_NONBLOCK reads ${mode} in the kernel`);
  }

  /** Registers a TCP endpoint by its connection (local and remote address), linking it with its other end when known. */
  linkTcp(endpoint: Endpoint, fd: number): void {
    const local = sys.getsockname(fd);
    const remote = sys.getpeername(fd);
    if (typeof local === 'number' || typeof remote === 'number') return;
    const localKey = `${local.family}:${local.address}:${local.port}`;
    const remoteKey = `${remote.family}:${remote.address}:${remote.port}`;
    this.connections.set(`${localKey}>${remoteKey}`, endpoint);
    const other = this.connections.get(`${remoteKey}>${localKey}`);
    if (other !== undefined && other !== endpoint) {
      endpoint.peers.add(other);
      other.peers.add(endpoint);
      endpoint.unknownPeer = false;
      other.unknownPeer = false;
    }
  }

  pairEndpoints(udp = false): [Endpoint, Endpoint] {
    const a = this.endpoint(udp);
    const b = this.endpoint(udp);
    a.peers.add(b);
    b.peers.add(a);
    return [a, b];
  }

  /** The colors that may arrive at an endpoint, or undefined when they cannot be known. */
  allowed(endpoint: Endpoint): Set<number> | undefined {
    if (endpoint.udp) return this.udpColors;
    if (endpoint.unknownPeer) return undefined;
    return new Set([...endpoint.peers].map((peer) => peer.color));
  }

  checkColors(bytes: Uint8Array, endpoint: Endpoint, what: string): void {
    const allowed = this.allowed(endpoint);
    if (allowed === undefined) return;
    count('received bytes checked for their sender', bytes.length);
    for (const byte of bytes) {
      if (!allowed.has(byte)) {
        this.fail(
          `${what}: received byte 0x${byte.toString(16)} ('${String.fromCharCode(byte)}'), which no socket that can reach ` +
            `this one sent (its peers send ${[...allowed].map((c) => `'${String.fromCharCode(c)}'`).join(', ') || 'nothing'}): ` +
            `bytes of another connection, or of the shared scratch buffer, crossed into this result`,
        );
      }
    }
  }

  /** Socket `t`: two indexes in three pick among the open ones (when there are), the third among all. */
  socketAt(t: number): SocketHandle | undefined {
    const open = this.sockets.filter((handle) => !handle.socket.closed);
    const pool = t % 3 !== 0 && open.length > 0 ? open : this.sockets;
    return pool.length === 0 ? undefined : pool[Math.floor(t / 3) % pool.length];
  }

  serverAt(s: number): ServerHandle | undefined {
    return this.servers.length === 0 ? undefined : this.servers[s % this.servers.length];
  }

  /** The run's own open descriptor numbers (handles and raw ones), as /proc names them now. */
  isMine(fd: number): boolean {
    const link = linkOf(fd);
    if (link === undefined) return false;
    for (const handle of [...this.sockets, ...this.servers]) {
      const open = handle.kind === 'socket' ? handle.socket.fd : handle.server.fd;
      if (open === fd && handle.link === link) return true;
    }
    return this.raws.some((raw) => raw.number === fd && raw.link === link);
  }

  /** The endpoint of the run's socket on `fd`, if it is one of the run's. */
  endpointOf(fd: number): Endpoint | undefined {
    const link = linkOf(fd);
    if (link === undefined) return undefined;
    for (const handle of this.sockets) if (handle.socket.fd === fd && handle.link === link) return handle.endpoint;
    return this.raws.find((raw) => raw.number === fd && raw.link === link)?.endpoint;
  }

  /** A descriptor number from a spec, and whether calls that change or consume anything may use it. */
  resolveFd(spec: FdSpec): { fd: unknown; safe: boolean } {
    let fd: unknown;
    if ('handle' in spec) fd = this.socketAt(spec.handle)?.socket.fd ?? -1;
    else if ('server' in spec) fd = this.serverAt(spec.server)?.server.fd ?? -1;
    else if ('raw' in spec) fd = this.raws.length === 0 ? -1 : this.raws[spec.raw % this.raws.length]?.number;
    else if ('seen' in spec) fd = this.seen.length === 0 ? -1 : this.seen[spec.seen % this.seen.length];
    else fd = spec.value;
    // Safe: not a number the native layer takes (it throws), not open (EBADF), or the run's own.
    const safe = !isInteger(fd) || fd < 0 || fd > 2 ** 31 - 1 || linkOf(fd) === undefined || this.isMine(fd);
    return { fd, safe };
  }

  /**
   * Whether a blocking call on `fd` could wait forever: the socket is blocking (in the kernel),
   * has no bounded timeout for that direction, no MSG_DONTWAIT is given, and it is not ready.
   */
  mayBlockForever(fd: number, direction: 'in' | 'out', flags: unknown, bytes = 0): boolean {
    if (fd < 0) return false;
    const numeric = isInteger(flags) ? flags : 0;
    if ((numeric & DONTWAIT) !== 0) return false;
    if (sys.getNonBlocking(fd) !== 0) return false;
    const timeout = sys.getTimeout(fd, direction === 'in' ? RCVTIMEO : SNDTIMEO);
    if (timeout > 0 && timeout <= BOUNDED_MS) return false;
    const revents = sys.poll(fd, direction === 'in' ? POLLIN | (constants.POLL.PRI ?? 0) | HANGUP : POLLOUT);
    if (direction === 'in') {
      // Out-of-band data pending (MSG_OOB, on TCP and on Linux AF_UNIX streams): poll says readable,
      // but a recv without MSG_OOB skips that byte and can block.
      if (revents > 0 && (revents & (constants.POLL.PRI ?? 0)) !== 0 && (numeric & MSG.OOB) === 0) return true;
      return (numeric & MSG.WAITALL) !== 0 || revents <= 0 || (revents & (POLLIN | HANGUP | constants.POLL.ERR)) === 0;
    }
    return bytes > 1024 || revents <= 0 || (revents & (POLLOUT | constants.POLL.ERR | constants.POLL.HUP)) === 0;
  }

  // ---- buffers, signals, options -----------------------------------------------------------

  slotView(spec: { slot: number; make?: ViewSpec }, color: number): Slot {
    const index = spec.slot % this.slots.length;
    let slot = this.slots[index];
    if (spec.make !== undefined || slot === undefined) {
      slot = makeSlot(spec.make ?? { view: 'buffer', n: 64, off: 0 }, color);
      this.slots[index] = slot;
    }
    return slot;
  }

  /** A send slot filled with the sender's byte: a new view if it held another sender's bytes. */
  sendSlot(spec: { slot: number; make?: ViewSpec }, color: number): Slot {
    let slot = this.slotView(spec, color);
    if (slot.color !== color) {
      slot = makeSlot(slot.spec, color);
      this.slots[spec.slot % this.slots.length] = slot;
    }
    if (coverage(slot) === 'ok') {
      const bytes = coveredBytes(slot.view);
      new Uint8Array(slot.view.buffer, slot.view.byteOffset, bytes).fill(color);
    }
    return slot;
  }

  signalOf(spec: SignalSpec | undefined): unknown {
    if (spec === undefined || spec === 'none') return undefined;
    if (spec === 'aborted') return AbortSignal.abort(new Error('fuzz: aborted before the call'));
    if (spec === 'bogus') return { aborted: false };
    let controller = this.controllers[spec];
    if (controller === undefined || controller.signal.aborted) {
      controller = new AbortController();
      this.controllers[spec] = controller;
    }
    return controller.signal;
  }

  /** The options value a spec stands for; `timeout` is the bound it gives, if any. */
  options(spec: OptionsSpec): { value: unknown; timeout: number | undefined; aborted: boolean; valid: boolean } {
    if (spec.shape === 'none') return { value: undefined, timeout: undefined, aborted: false, valid: true };
    if (spec.shape === 'bad') return { value: spec.value, timeout: undefined, aborted: false, valid: false };
    if (spec.shape === 'flaky') {
      // Getters that answer differently on each read: what is checked must be what is used.
      let reads = 0;
      const value = {
        get offset(): unknown {
          return reads++ % 2 === 0 ? 0 : 'x';
        },
        get length(): unknown {
          return reads++ % 3 === 0 ? 1 : 2 ** 31 + 5;
        },
        get timeout(): unknown {
          return reads++ % 2 === 0 ? 5 : -1;
        },
      };
      return { value, timeout: undefined, aborted: false, valid: false };
    }
    const value: Record<string, unknown> = {};
    for (const key of ['timeout', 'flags', 'offset', 'length'] as const) {
      if (key in spec) value[key] = spec[key];
    }
    const signal = this.signalOf(spec.signal);
    if (signal !== undefined) value.signal = signal;
    if (typeof spec.signal === 'number') this.lastSignal = signal as AbortSignal;
    const timeout =
      isInteger(spec.timeout) && spec.timeout >= 0 && spec.timeout <= BOUNDED_MS ? spec.timeout : undefined;
    const validTimeout =
      spec.timeout === undefined || (isInteger(spec.timeout) && spec.timeout >= 0 && spec.timeout <= 2 ** 31 - 1);
    const aborted = signal instanceof AbortSignal && signal.aborted;
    return { value, timeout, aborted, valid: validTimeout && spec.signal !== 'bogus' };
  }

  // ---- checkpoints: what a close must do -----------------------------------------------------

  handles(): Handle[] {
    return [...this.sockets, ...this.servers];
  }

  fdOf(handle: Handle): number {
    return handle.kind === 'socket' ? handle.socket.fd : handle.server.fd;
  }

  async snapshot(): Promise<void> {
    // Lets calls that have finished record their outcomes first.
    await nextTurn();
    const fds = new Map<Handle, number>();
    for (const handle of this.handles()) fds.set(handle, this.fdOf(handle));
    this.#snapshot = { fds, unsettled: this.pendings.filter((pending) => !pending.settled) };
  }

  /**
   * After a step: Sockets that became closed had their pending waits rejected with
   * ERR_SOCKET_CLOSED; an owner's close closed every Socket sharing the number; every open
   * Socket's number still names its own socket; readState only moved forward.
   */
  async checkpoint(what: string): Promise<void> {
    const { fds, unsettled } = this.#snapshot;
    const closedNow: Handle[] = [];
    for (const [handle, before] of fds) {
      const now = this.fdOf(handle);
      if (before >= 0 && now < 0) closedNow.push(handle);
      if (now >= 0 && now !== before) this.fail(`${what}: ${handle.label} changed its fd from ${before} to ${now}`);
    }
    // (a) An owner's close closes the Sockets of this thread that share its number.
    for (const handle of closedNow) {
      const number = fds.get(handle) as number;
      const owner = handle.kind === 'server' || handle.owned;
      if (!owner) continue;
      const sharers = [...fds].filter(([other, before]) => other !== handle && before === number).length;
      if (sharers > 0) count('(a) an owner closed a descriptor that other Sockets here shared', sharers);
      for (const [other, before] of fds) {
        if (other === handle || before !== number) continue;
        if (this.fdOf(other) === number) {
          this.fail(
            `${what}: ${handle.label} (owner) closed fd ${number}, but ${other.label}, which shares it, still has fd ${number}: ` +
              'an owner\u2019s close must close every Socket of this thread sharing the descriptor',
          );
        }
      }
    }
    // Waits pending on a Socket that became closed reject with ERR_SOCKET_CLOSED.
    const affected = unsettled.filter((pending) => pending.handle !== undefined && closedNow.includes(pending.handle));
    if (affected.length > 0) {
      count('calls pending on a Socket when it was closed', affected.length);
      const deadline = Date.now() + SETTLE_MS;
      while (affected.some((pending) => !pending.settled) && Date.now() < deadline) await delay(2);
      for (const pending of affected) {
        // It settled before the close reached it (readiness, a timeout, an abort in the same step).
        if (pending.settled && pending.openAtSettle) continue;
        if (!pending.settled) {
          this.fail(
            `${what}: ${pending.label} (op #${pending.index}) was pending on ${pending.handle?.label}, which was closed, ` +
              `and did not settle within ${SETTLE_MS} ms (must reject ERR_SOCKET_CLOSED)`,
          );
        }
        const outcome = pending.outcome as Outcome;
        if (!isClosedError(outcome)) {
          this.fail(
            `${what}: ${pending.label} (op #${pending.index}) was pending on ${pending.handle?.label} when it was closed, ` +
              `and settled ${showOutcome(outcome)} instead of rejecting ERR_SOCKET_CLOSED`,
          );
        }
      }
    }
    this.checkHandles(what);
    this.assertClean();
  }

  /** Every open handle's number names the socket it was made for; readState moves forward only. */
  checkHandles(what: string): void {
    for (const handle of this.handles()) {
      const fd = this.fdOf(handle);
      if (handle.kind === 'socket') {
        const state = handle.socket.readState;
        if (!READ_STATES.has(state)) this.fail(`${what}: ${handle.label}.readState is ${show(state)}`);
        const previous = handle.readState;
        const allowed =
          previous === state ||
          (previous === 'open' && state !== 'open') ||
          (previous === 'eof' && (state === 'reset' || state === 'error'));
        if (!allowed) this.fail(`${what}: ${handle.label}.readState went from '${previous}' to '${state}'`);
        if (handle.socket.type === 'dgram' && state !== 'open') {
          this.fail(`${what}: ${handle.label} is a datagram socket with readState '${state}'`);
        }
        handle.readState = state;
        if (handle.socket.closed !== fd < 0)
          this.fail(`${what}: ${handle.label}.closed is ${handle.socket.closed} with fd ${fd}`);
        // A sharer of a worker's descriptor cannot know when that thread closes it: what it must
        // not do, touch the number once reused, is what probeReuse checks.
        if (handle.foreign) continue;
      } else if (handle.server.closed !== fd < 0) {
        this.fail(`${what}: ${handle.label}.closed is ${handle.server.closed} with fd ${fd}`);
      }
      if (fd < 0) continue;
      const link = linkOf(fd);
      if (link !== handle.link) {
        this.fail(
          `${what}: ${handle.label} is open with fd ${fd}, but that number now names ${link ?? 'nothing (closed)'} ` +
            `instead of ${handle.link}: its calls would reach another descriptor`,
        );
      }
    }
  }

  // ---- calls ------------------------------------------------------------------------------------

  /** A sync call: checks that a failure is documented, and ERR_SOCKET_CLOSED on a closed socket. */
  call(label: string, closed: boolean, body: () => unknown, sysAddress = false): Outcome {
    this.lastSignal = undefined;
    const outcome = attempt(body);
    tally(outcome, closed);
    this.note(`${label} ${showOutcome(outcome)}`);
    if (!outcome.ok) {
      const why = undocumented(outcome.error, sysAddress);
      if (why !== undefined) this.fail(`${label} threw ${why}`);
    }
    if (closed && !isClosedError(outcome)) {
      this.fail(
        `${label} on a closed Socket ${showOutcome(outcome)}: must throw ERR_SOCKET_CLOSED, making no system call`,
      );
    }
    return outcome;
  }

  /**
   * An async call. It must return a promise (never throw); its outcome is checked when it
   * settles; `await` mode waits for it (a bounded one must settle in time), `background` leaves
   * it running.
   */
  async callAsync(
    label: string,
    handle: Handle | undefined,
    closed: boolean,
    mode: Mode,
    bound: number | undefined,
    start: () => Promise<unknown>,
    check: (outcome: Outcome, pending: Pending) => void,
    extra: { view?: ArrayBufferView; mustEnd?: string } = {},
  ): Promise<Pending> {
    let promise: Promise<unknown>;
    try {
      promise = start();
    } catch (error) {
      this.lastSignal = undefined;
      this.fail(`${label} threw synchronously (${show(error)}): async methods must reject`);
    }
    if (!(promise instanceof Promise)) this.fail(`${label} returned ${show(promise)}, not a Promise`);
    const pending: Pending = {
      index: this.index,
      label,
      handle,
      settled: false,
      outcome: undefined,
      done: Promise.resolve(),
      view: extra.view,
      viewGone: false,
      signal: this.lastSignal,
      openAtSettle: false,
    };
    this.lastSignal = undefined;
    const settle = (outcome: Outcome): void => {
      tally(outcome, closed);
      pending.settled = true;
      pending.outcome = outcome;
      pending.openAtSettle = handle === undefined || this.fdOf(handle) >= 0;
      if (TRACE) process.stderr.write(`   (op #${pending.index} ${label} settled ${showOutcome(outcome)})\n`);
      try {
        if (!outcome.ok && outcome.error instanceof Violation) throw outcome.error;
        if (!outcome.ok) {
          const why = undocumented(outcome.error);
          if (why !== undefined) throw new Violation(`${label} rejected with ${why}`);
        }
        if (closed && !isClosedError(outcome)) {
          throw new Violation(`${label} on a closed Socket ${showOutcome(outcome)}: must reject ERR_SOCKET_CLOSED`);
        }
        if (pending.viewGone && outcome.ok && (outcome.value as { kind?: unknown } | undefined)?.kind === 'data') {
          throw new Violation(`${label} resolved data into a view whose ArrayBuffer was detached or shrunk under it`);
        }
        check(outcome, pending);
      } catch (error) {
        this.report(
          `${error instanceof Error ? error.message : String(error)} [started at op #${pending.index}, settled during op #${this.index}]`,
        );
      }
    };
    pending.done = promise.then(
      (value) => settle({ ok: true, value }),
      (error: unknown) => settle({ ok: false, error }),
    );
    this.pendings.push(pending);
    if (mode === 'background' && extra.mustEnd === undefined) {
      this.note(`${label} started in the background`);
      return pending;
    }
    const limit = extra.mustEnd !== undefined ? HANG_MS : bound !== undefined ? bound + HANG_MS : PARK_MS;
    await Promise.race([pending.done, delay(limit)]);
    if (!pending.settled) {
      if (extra.mustEnd !== undefined) {
        this.fail(`hang: ${label} did not end within ${HANG_MS} ms although ${extra.mustEnd}`);
      }
      if (bound !== undefined) {
        this.fail(`hang: ${label} did not settle within its timeout of ${bound} ms + ${HANG_MS} ms`);
      }
      this.note(`${label} still pending after ${PARK_MS} ms: left running`);
    } else {
      this.note(`${label} ${showOutcome(pending.outcome as Outcome)}`);
    }
    return pending;
  }
}

// ---------------------------------------------------------------------------------------------
// Checks of results

function checkRecv(
  run: Run,
  handle: SocketHandle,
  label: string,
  value: unknown,
  requested: number,
  rawFlags: unknown,
  from: boolean,
  into?: ArrayBufferView,
): void {
  const flags = isInteger(rawFlags) ? rawFlags : 0;
  const why = recvShape(value, requested, flags, from);
  if (why !== undefined) run.fail(`${label} resolved a malformed result (${why}): ${show(value)}`);
  const result = value as { kind: string; bytesRead?: number; data?: Buffer };
  const type = handle.socket.type;
  if (result.kind === 'eof' && type === 'dgram') run.fail(`${label}: eof on a datagram socket`);
  if (result.kind === 'eof' && type === 'seqpacket') count('(c) eof on a SOCK_SEQPACKET socket');
  if (result.kind === 'eof' && !['eof', 'reset', 'error'].includes(handle.socket.readState)) {
    run.fail(`${label}: eof, but readState is '${handle.socket.readState}'`);
  }
  if (result.kind !== 'data') return;
  const data = result.data as Buffer;
  if (type === 'stream' && data.length === 0) run.fail(`${label}: data of 0 bytes on a stream socket (0 is eof there)`);
  if ((flags & ERRQUEUE) === 0) run.checkColors(data, handle.endpoint, label);
  if (into !== undefined) {
    const start = into.byteOffset;
    const covered = coveredBytes(into);
    if (data.buffer !== into.buffer || data.byteOffset < start || data.byteOffset + data.length > start + covered) {
      run.fail(`${label}: the data is not a view of the caller's buffer within its bounds`);
    }
  }
  const fd = handle.socket.fd;
  if (type === 'seqpacket' && data.length === 0 && fd >= 0) {
    const revents = sys.poll(fd, POLLIN | HANGUP);
    if (revents > 0 && (revents & HANGUP) !== 0 && sys.fionread(fd) === 0) {
      run.fail(
        `${label}: a SOCK_SEQPACKET recv returned 0 (data, 0 bytes) with the peer gone (revents 0x${revents.toString(16)}) ` +
          'and nothing queued: must be eof',
      );
    }
  }
}

function checkSys(run: Run, label: string, value: unknown): void {
  if (isInteger(value)) {
    if (value < 0 && errnoName(-value) === undefined) run.fail(`${label} returned ${value}, which names no errno here`);
    return;
  }
  if (Array.isArray(value)) {
    if (value.length !== 2 || !value.every((fd) => isInteger(fd) && fd >= 0))
      run.fail(`${label} returned ${show(value)}`);
    return;
  }
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if ('on' in record) {
      if (typeof record.on !== 'boolean' || !isInteger(record.seconds)) run.fail(`${label} returned ${show(value)}`);
      return;
    }
    if (!isInteger(record.family) || typeof record.address !== 'string' || !isInteger(record.port)) {
      run.fail(`${label} returned ${show(value)}`);
    }
    return;
  }
  run.fail(`${label} returned ${show(value)}: neither a number nor a documented object`);
}

function payload(run: Run, spec: DataSpec, color: number): { value: unknown; bytes: number | undefined; slot?: Slot } {
  if ('str' in spec) return { value: String.fromCharCode(color).repeat(spec.str), bytes: spec.str };
  if ('notData' in spec) return { value: notViewValue(spec.notData), bytes: undefined };
  const slot = run.sendSlot(spec, color);
  return { value: slot.view, bytes: coveredBytes(slot.view), slot };
}

function receiveView(run: Run, spec: BufferSpec): { value: unknown; slot?: Slot } {
  if ('notView' in spec) return { value: notViewValue(spec.notView) };
  const slot = run.slotView({ slot: spec.slot % 4, make: spec.make }, 0x3f);
  return { value: slot.view, slot };
}

/** The `flags` of an options value, if it has any. */
function flagsOf(options: unknown): unknown {
  return typeof options === 'object' && options !== null ? (options as { flags?: unknown }).flags : undefined;
}

// ---------------------------------------------------------------------------------------------
// The operations

async function execute(run: Run, op: Op): Promise<void> {
  switch (op.op) {
    case 'pair':
      return makePair(run, op.options);
    case 'udp':
      return makeUdp(run, op);
    case 'listen':
      return listen(run, op.options);
    case 'connectSync':
    case 'connect':
      return connect(run, op);
    case 'accept':
    case 'acceptAsync':
      return accept(run, op);
    case 'fromFd':
      return fromFd(run, op.fd, op.options);
    case 'server':
      return serverCall(run, op);
    case 'detach':
    case 'resize':
      return touchBuffer(run, op);
    case 'abort':
      return abort(run, op.controller);
    case 'tick':
      await delay(op.ms);
      run.note(`tick ${op.ms} ms`);
      return;
    case 'probeReuse':
      return probeReuse(run, op);
    case 'share':
      return share(run, op);
    case 'peerGone':
      return peerGone(run, op);
    case 'abortDuringWait':
      return abortDuringWait(run, op);
    case 'viewDuringWait':
      return viewDuringWait(run, op);
    case 'goneView':
      return goneView(run, op);
    case 'sys':
      return sysCall(run, op);
    case 'worker':
      return worker(run, op);
    default:
      return socketCall(run, op);
  }
}

function makePair(run: Run, options: unknown): void {
  const outcome = run.call(`Socket.pair(${show(options)})`, false, () => Socket.pair(options as never));
  if (!outcome.ok) return;
  const [a, b] = outcome.value as [Socket, Socket];
  const [ea, eb] = run.pairEndpoints();
  run.addSocket(a, `unix-${a.type}`, ea);
  run.addSocket(b, `unix-${b.type}`, eb);
  run.fresh(a, 'Socket.pair');
  run.fresh(b, 'Socket.pair');
}

function udpTarget(run: Run, index: number | null): { host: string; port: number } | undefined {
  if (index === null) return undefined;
  const candidates = run.sockets.filter(
    (h) => h.socket.type === 'dgram' && h.socket.family !== 'unix' && !h.socket.closed,
  );
  const target = candidates[index % Math.max(1, candidates.length)];
  if (target === undefined) return undefined;
  const address = attempt(() => target.socket.localAddress());
  if (!address.ok) return undefined;
  const origin = address.value as { address: string; port: number };
  return {
    host: origin.address === '0.0.0.0' ? '127.0.0.1' : origin.address === '::' ? '::1' : origin.address,
    port: origin.port,
  };
}

function makeUdp(run: Run, op: Extract<Op, { op: 'udp' }>): void {
  const options: Record<string, unknown> = {};
  if (op.family !== undefined) options.family = op.family;
  if (op.bind === 'any') options.bind = { host: op.family === 'IPv6' ? '::1' : '127.0.0.1', port: 0 };
  else if (op.bind !== 'none') options.bind = op.bind;
  const to = udpTarget(run, op.connect);
  if (to !== undefined) options.connect = to;
  const outcome = run.call(`Socket.udp(${show(options)})`, false, () => Socket.udp(options));
  if (!outcome.ok) return;
  const socket = outcome.value as Socket;
  run.addSocket(socket, `udp-${socket.family}`, run.endpoint(true));
  run.fresh(socket, 'Socket.udp');
}

function listen(run: Run, options: unknown): void {
  const outcome = run.call(`Server.listen(${show(options)})`, false, () => Server.listen(options as never));
  if (!outcome.ok) return;
  const server = outcome.value as Server;
  const handle = run.addServer(server, 'server');
  if (server.blocking !== true || sys.getNonBlocking(server.fd) !== 0)
    run.fail(`${handle.label}: a new Server that is not blocking`);
}

/** The port a connect aims at, and the server whose queue it joins (if any). */
function target(
  run: Run,
  s: number,
  spec: 'server' | 'closed' | { value: unknown },
): { port: unknown; server?: ServerHandle } {
  if (spec === 'closed') return { port: CLOSED_PORT };
  if (spec !== 'server') return { port: spec.value };
  const server = run.serverAt(s);
  if (server === undefined || server.server.closed) return { port: CLOSED_PORT };
  return { port: server.server.port, server };
}

async function connect(run: Run, op: Extract<Op, { op: 'connectSync' | 'connect' }>): Promise<void> {
  const { port, server } = target(run, op.s, op.port);
  if (server !== undefined && server.queued >= MAX_BACKLOG_USE) {
    run.note(`${op.op} skipped: ${server.label} has ${server.queued} connections queued`);
    return;
  }
  const added = (socket: Socket, what: string): void => {
    const handle = run.addSocket(socket, `tcp-${socket.family}`, run.endpoint(false, true));
    // Settled after the run closed everything: closed at once, nothing more to check.
    if (run.ending) return;
    run.fresh(socket, what);
    run.linkTcp(handle.endpoint, socket.fd);
    const peer = sys.getpeername(socket.fd);
    if (typeof peer !== 'number') {
      const queue = run.servers.find(
        (h) => !h.server.closed && attempt(() => h.server.port).ok && h.server.port === peer.port,
      );
      if (queue !== undefined) queue.queued++;
    }
  };
  if (op.op === 'connectSync') {
    const options = { host: op.host, port };
    const outcome = run.call(`Socket.connectSync(${show(options)})`, false, () => Socket.connectSync(options as never));
    if (outcome.ok) added(outcome.value as Socket, 'Socket.connectSync');
    return;
  }
  const spec = run.options(op.options);
  const options: Record<string, unknown> = { host: op.host, port };
  if (op.family !== undefined) options.family = op.family;
  if (typeof spec.value === 'object' && spec.value !== null) Object.assign(options, spec.value);
  const label = `Socket.connect(${show({ ...options, signal: undefined })})`;
  const unresolvable = op.host === 'no-such-host.invalid';
  if (unresolvable) count('(e) Socket.connect to a name that does not resolve');
  await run.callAsync(
    label,
    undefined,
    false,
    op.mode,
    spec.timeout,
    () => Socket.connect(options as never),
    (outcome) => {
      if (outcome.ok) {
        if (!(outcome.value instanceof Socket)) throw new Violation(`${label} resolved ${show(outcome.value)}`);
        if (unresolvable) throw new Violation(`${label} resolved a Socket for a name that does not resolve`);
        added(outcome.value, 'Socket.connect');
        return;
      }
      const error = outcome.error;
      const argumentError = error instanceof TypeError || error instanceof RangeError;
      if (unresolvable && !argumentError && !spec.aborted) {
        const resolver = error instanceof SocketError && error.syscall === 'getaddrinfo';
        const timedOut =
          spec.timeout !== undefined && (error as { code?: unknown }).code === 'ERR_SOCKET_CONNECTION_TIMEOUT';
        const aborted = (error as { name?: unknown }).name === 'AbortError';
        if (!resolver && !timedOut && !aborted) {
          throw new Violation(
            `${label} rejected ${show(error)}: a name that does not resolve must give a SocketError 'getaddrinfo'`,
          );
        }
      }
    },
  );
}

async function accept(run: Run, op: Extract<Op, { op: 'accept' | 'acceptAsync' }>): Promise<void> {
  const handle = run.serverAt(op.s);
  if (handle === undefined) return run.note(`${op.op} skipped: no server`);
  const server = handle.server;
  const closed = server.closed;
  const onSocket = (value: unknown, label: string): void => {
    const result = value as Record<string, unknown>;
    if (result.kind === 'socket') {
      if (!(result.socket instanceof Socket) || !isInteger(result.ret) || result.ret < 0 || result.errno !== 0) {
        throw new Violation(`${label} resolved a malformed socket result ${show(value)}`);
      }
      const socket = result.socket;
      const added = run.addSocket(socket, `tcp-accepted-${socket.family}`, run.endpoint(false, true));
      if (run.ending) return;
      run.fresh(socket, label);
      run.linkTcp(added.endpoint, socket.fd);
      handle.queued = Math.max(0, handle.queued - 1);
      return;
    }
    const why = ['would-block', 'timeout', 'interrupted', 'error'].includes(String(result.kind))
      ? failureShape(result)
      : 'kind';
    if (why !== undefined) throw new Violation(`${label} resolved a malformed result (${why}): ${show(value)}`);
  };
  if (op.op === 'accept') {
    if (!closed && run.mayBlockForever(server.fd, 'in', 0))
      return run.note(`${handle.label}.accept() skipped: would wait forever`);
    const outcome = run.call(`${handle.label}.accept()`, closed, () => server.accept());
    if (outcome.ok) onSocket(outcome.value, `${handle.label}.accept()`);
    return;
  }
  const spec = run.options(op.options);
  const label = `${handle.label}.acceptAsync(${show(op.options)})`;
  await run.callAsync(
    label,
    handle,
    closed,
    op.mode,
    spec.valid ? spec.timeout : undefined,
    () => server.acceptAsync(spec.value as never),
    (outcome) => {
      if (outcome.ok) onSocket(outcome.value, label);
    },
  );
}

function ownerOf(run: Run, fd: number): Handle | undefined {
  const link = linkOf(fd);
  return run.handles().find((h) => run.fdOf(h) === fd && h.link === link && (h.kind === 'server' || h.owned));
}

function fromFd(run: Run, spec: FdSpec, options: unknown): void {
  const { fd, safe } = run.resolveFd(spec);
  const label = `Socket.fromFd(${show(fd)}, ${show(options)})`;
  if (!safe) return run.note(`${label} skipped: not one of this run's descriptors`);
  const owned = !(typeof options === 'object' && options !== null && (options as { owned?: unknown }).owned === false);
  const validOptions =
    options === undefined ||
    (typeof options === 'object' &&
      options !== null &&
      Object.keys(options).every((key) =>
        key === 'owned'
          ? typeof (options as { owned: unknown }).owned === 'boolean'
          : key === 'blocking'
            ? typeof (options as { blocking: unknown }).blocking === 'boolean'
            : true,
      ));
  const owner = isInteger(fd) ? ownerOf(run, fd) : undefined;
  const outcome = run.call(label, false, () => Socket.fromFd(fd as number, options as never));
  if (owned && validOptions && owner !== undefined) {
    const error = outcome.ok ? undefined : outcome.error;
    if (!(error instanceof TypeError && (error as { code?: unknown }).code === 'ERR_INVALID_ARG_VALUE')) {
      if (outcome.ok) (outcome.value as Socket).close();
      run.fail(
        `${label}: fd ${String(fd)} is owned by ${owner.label}, so adopting it owned must throw ERR_INVALID_ARG_VALUE; it ${showOutcome(outcome)}`,
      );
    }
  }
  if (!outcome.ok) return;
  const socket = outcome.value as Socket;
  const endpoint = run.endpointOf(socket.fd) ?? run.endpoint(socket.type === 'dgram' && socket.family !== 'unix', true);
  const handle = run.addSocket(socket, owned ? 'adopted' : 'shared', endpoint);
  handle.owned = owned;
}

async function serverCall(run: Run, op: Extract<Op, { op: 'server' }>): Promise<void> {
  const handle = run.serverAt(op.s);
  if (handle === undefined) return run.note('server op skipped: no server');
  const server = handle.server;
  const closed = server.closed;
  switch (op.call) {
    case 'close': {
      await run.snapshot();
      const outcome = run.call(`${handle.label}.close()`, false, () => server.close());
      if (!outcome.ok && closed) run.fail(`${handle.label}.close() on a closed server threw: it is idempotent`);
      if (server.fd !== -1) run.fail(`${handle.label}.close(): fd is ${server.fd} after it`);
      return run.checkpoint(`${handle.label}.close()`);
    }
    case 'setBlocking': {
      const outcome = run.call(`${handle.label}.setBlocking(${show(op.value)})`, closed, () =>
        server.setBlocking(op.value as boolean),
      );
      if (outcome.ok) {
        const mode = sys.getNonBlocking(server.fd);
        if (server.blocking !== op.value || mode !== (op.value ? 0 : 1)) {
          run.fail(`${handle.label}.setBlocking(${String(op.value)}): blocking ${server.blocking}, O_NONBLOCK ${mode}`);
        }
      }
      return;
    }
    case 'address':
    case 'port': {
      const outcome = run.call(`${handle.label}.${op.call}`, closed, () =>
        op.call === 'port' ? server.port : server.address(),
      );
      if (
        outcome.ok &&
        op.call === 'port' &&
        !(isInteger(outcome.value) && outcome.value > 0 && outcome.value < 65536)
      ) {
        run.fail(`${handle.label}.port is ${show(outcome.value)}`);
      }
      return;
    }
    case 'getters': {
      const fd = server.fd;
      if (!isInteger(fd) || fd < -1 || server.closed !== fd < 0 || typeof server.blocking !== 'boolean') {
        run.fail(`${handle.label}: fd ${show(fd)}, closed ${show(server.closed)}, blocking ${show(server.blocking)}`);
      }
      run.note(`${handle.label} getters: fd ${fd}, closed ${server.closed}, blocking ${server.blocking}`);
      return;
    }
  }
}

function markViews(run: Run, view: ArrayBufferView): void {
  for (const pending of run.pendings) if (pending.view === view && !pending.settled) pending.viewGone = true;
}

function touchBuffer(run: Run, op: Extract<Op, { op: 'detach' | 'resize' }>): void {
  const slot = run.slots[op.slot % run.slots.length];
  if (slot === undefined) return run.note(`${op.op} skipped: slot ${op.slot} is empty`);
  if (op.op === 'detach') {
    if (slot.view.buffer instanceof SharedArrayBuffer || slot.detached)
      return run.note(`detach skipped: cannot detach slot ${op.slot}`);
    slot.detached = detachBuffer(slot.view.buffer);
    run.note(`detach slot ${op.slot} (${slot.spec.view}): ${slot.detached ? 'detached' : 'not detachable'}`);
  } else {
    if (slot.rab === undefined || slot.detached) return run.note(`resize skipped: slot ${op.slot} is not resizable`);
    const bytes = Math.min(op.bytes, (slot.rab as unknown as { maxByteLength: number }).maxByteLength);
    slot.rab.resize(bytes);
    run.note(`resize slot ${op.slot} (${slot.spec.view}) to ${bytes} bytes: view covers ${coveredBytes(slot.view)}`);
  }
  slotTouched.add(slot.view);
  const during = run.pendings.filter((pending) => pending.view === slot.view && !pending.settled).length;
  if (during > 0) count(`(d) a view ${op.op === 'detach' ? 'detached' : 'resized'} while a call used it`, during);
  // The view no longer covers its bytes: what receives into it must not write there.
  if (coverage(slot) === 'gone') markViews(run, slot.view);
}

async function abort(run: Run, index: 0 | 1): Promise<void> {
  const controller = run.controllers[index];
  if (controller === undefined || controller.signal.aborted)
    return run.note(`abort ${index} skipped: no live controller`);
  await run.snapshot();
  const waiting = run.pendings.filter((pending) => !pending.settled && pending.signal === controller.signal);
  controller.abort(new Error(`fuzz: controller ${index} aborted`));
  if (waiting.length > 0) count('signals aborted while calls waited on them', waiting.length);
  run.note(`abort controller ${index} (${waiting.length} calls wait with its signal)`);
  // Every call still waiting with that signal rejects with an AbortError, at once.
  const deadline = Date.now() + SETTLE_MS;
  while (waiting.some((pending) => !pending.settled) && Date.now() < deadline) await delay(2);
  for (const pending of waiting) {
    if (!pending.settled)
      run.fail(`${pending.label} (op #${pending.index}) did not settle within ${SETTLE_MS} ms of its signal aborting`);
    const outcome = pending.outcome as Outcome;
    const aborted = !outcome.ok && (outcome.error as { name?: unknown }).name === 'AbortError';
    if (!aborted)
      run.fail(
        `${pending.label} (op #${pending.index}) was waiting when its signal aborted, and settled ${showOutcome(outcome)}, not with an AbortError`,
      );
  }
}

// ---- Socket methods ---------------------------------------------------------------------------

type SocketOp = Extract<
  Op,
  {
    op:
      | 'recv'
      | 'peek'
      | 'recvFrom'
      | 'recvMsg'
      | 'recvError'
      | 'sendMsg'
      | 'setRecvOptions'
      | 'recvInto'
      | 'send'
      | 'sendTo'
      | 'shutdown'
      | 'reset'
      | 'takeError'
      | 'available'
      | 'localAddress'
      | 'remoteAddress'
      | 'setBlocking'
      | 'setReceiveTimeout'
      | 'setSendTimeout'
      | 'close'
      | 'getters'
      | 'wait'
      | 'recvAsync'
      | 'recvFromAsync'
      | 'recvIntoAsync'
      | 'sendAsync'
      | 'iterate';
  }
>;

async function socketCall(run: Run, op: SocketOp): Promise<void> {
  const handle = run.socketAt(op.t);
  if (handle === undefined) return run.note(`${op.op} skipped: no socket`);
  const socket = handle.socket;
  const closed = socket.closed;
  const fd = socket.fd;
  const name = `${handle.label}.${op.op}`;
  const skip = (): void => run.note(`${name} skipped: a blocking call that could wait forever`);
  if ('feed' in op && op.feed !== undefined && !closed) feedFromPeer(run, handle, op.feed);
  switch (op.op) {
    case 'recv':
    case 'peek':
    case 'recvFrom': {
      const flags = op.op === 'peek' ? MSG.PEEK : op.flags;
      if (!closed && run.mayBlockForever(fd, 'in', flags)) return skip();
      const label = `${name}(${show(op.length)}${op.op === 'peek' ? '' : `, ${show(op.flags)}`})`;
      const outcome = run.call(label, closed, () =>
        op.op === 'recv'
          ? socket.recv(op.length as number, op.flags as number)
          : op.op === 'peek'
            ? socket.peek(op.length as number)
            : socket.recvFrom(op.length as number, op.flags as number),
      );
      if (outcome.ok) checkRecv(run, handle, label, outcome.value, op.length as number, flags, op.op === 'recvFrom');
      return;
    }
    case 'recvMsg': {
      if (op.pass && !closed) passFromPeer(run, handle);
      if (!closed && run.mayBlockForever(fd, 'in', op.flags)) return skip();
      const label = `${name}(${show(op.length)}, { flags: ${show(op.flags)}, control: ${show(op.control)} })`;
      const outcome = run.call(label, closed, () =>
        socket.recvMsg(op.length as number, { flags: op.flags as number, control: op.control as number }),
      );
      if (!outcome.ok) return;
      const result = outcome.value as RecvMsgResult;
      // Every descriptor that arrived is taken (as a Socket, or by number) or closed: none may leak.
      if (result.kind === 'data') {
        for (const message of result.control) {
          if (message.name !== 'SCM_RIGHTS') continue;
          count(`recvMsg received SCM_RIGHTS (${result.msgFlags.controlTruncated ? 'MSG_CTRUNC' : 'whole'})`);
          for (const descriptor of message.descriptors) {
            if (!op.take) descriptor.close();
            else if (op.flags === 0) run.call(`${label} takeSocket`, false, () => descriptor.takeSocket().close());
            else sys.close(descriptor.takeFd());
            if (descriptor.fd !== -1) run.fail(`${label}: a received descriptor is still held after take / close`);
          }
        }
        if (typeof result.msgFlags?.raw !== 'number' || !Array.isArray(result.control))
          run.fail(`${label}: a data result without msgFlags / control: ${show(result)}`);
      }
      checkRecv(run, handle, label, result, op.length as number, op.flags, true);
      return;
    }
    case 'recvError': {
      const label = `${name}(${show(op.length)})`;
      const outcome = run.call(label, closed, () => socket.recvError(op.length as number));
      if (!outcome.ok) return;
      const result = outcome.value as RecvErrorResult;
      if (result.kind === 'queued-error') {
        // Only the error queue answers: never an ordinary message, never descriptors.
        if (!result.msgFlags.errqueue) run.fail(`${label}: a queued-error without MSG_ERRQUEUE: ${show(result)}`);
        for (const message of result.control) {
          if (message.name === 'SCM_RIGHTS') {
            for (const descriptor of message.descriptors) descriptor.close();
            run.fail(`${label}: descriptors from the error queue`);
          }
        }
      }
      return;
    }
    case 'setRecvOptions': {
      run.call(`${name}(${show(op.options)})`, closed, () => socket.setRecvOptions(op.options as never));
      return;
    }
    case 'sendMsg': {
      const { value, bytes } = payload(run, op.data, handle.endpoint.color);
      if (!closed && run.mayBlockForever(fd, 'out', op.flags, bytes ?? 0)) return skip();
      const to =
        op.to === null ? undefined : typeof op.to === 'number' ? udpTarget(run, op.to) : (op.to.value as never);
      // A throwaway pair whose descriptors travel (the kernel holds them until received or dropped).
      let throwaway: Socket[] = [];
      let control: unknown;
      if ('rights' in op.control) {
        const pair = run.call('Socket.pair() to pass', false, () => Socket.pair());
        if (!pair.ok) return;
        throwaway = pair.value as Socket[];
        control = { rights: op.control.rights === 'pair' ? throwaway.map((s) => s.fd) : throwaway };
      } else control = 'value' in op.control ? op.control.value : op.control;
      const label = `${name}(${bytes ?? '?'} bytes, { to: ${show(to)}, control: ${show(control)}, flags: ${show(op.flags)} })`;
      const outcome = run.call(label, closed, () =>
        socket.sendMsg(value as string, { to, control: control as never, flags: op.flags as number }),
      );
      for (const socket of throwaway) socket.close();
      if (outcome.ok) {
        const why = sendShape(outcome.value, bytes, false);
        if (why !== undefined) run.fail(`${label} resolved a malformed result (${why}): ${show(outcome.value)}`);
      }
      return;
    }
    case 'recvInto': {
      const { value: view, slot } = receiveView(run, op.buffer);
      const options = run.options(op.options);
      if (!closed && run.mayBlockForever(fd, 'in', flagsOf(options.value))) return skip();
      const label = `${name}(${slot ? `${slot.spec.view}[${coveredBytes(slot.view)}]` : show(view)}, ${show(options.value)})`;
      const outcome = run.call(label, closed, () => socket.recvInto(view as ArrayBufferView, options.value as never));
      if (!closed && slot !== undefined && coverage(slot) === 'gone') {
        count(`(d) recvInto into a detached or out-of-bounds ${slot.view.constructor.name}`);
        if (outcome.ok) run.fail(`${label}: a detached or out-of-bounds view was received into`);
        if (op.options.shape === 'none' && !isRangeError(outcome)) {
          run.fail(
            `${label}: a detached or out-of-bounds ${view?.constructor.name} must be RangeError ERR_OUT_OF_RANGE; it ${showOutcome(outcome)}`,
          );
        }
      }
      if (outcome.ok && ArrayBuffer.isView(view)) {
        checkRecv(run, handle, label, outcome.value, coveredBytes(view), flagsOf(options.value), false, view);
      }
      return;
    }
    case 'send':
    case 'sendTo': {
      const { value, bytes, slot } = payload(run, op.data, handle.endpoint.color);
      if (!closed && run.mayBlockForever(fd, 'out', op.flags, bytes ?? 0)) return skip();
      let to: unknown;
      if (op.op === 'sendTo')
        to =
          typeof op.to === 'number' ? (udpTarget(run, op.to) ?? { host: '127.0.0.1', port: CLOSED_PORT }) : op.to.value;
      const what = slot
        ? `${slot.spec.view}[${bytes}]`
        : typeof value === 'string'
          ? `'${value.slice(0, 1)}'x${value.length}`
          : show(value);
      const label =
        op.op === 'send' ? `${name}(${what}, ${show(op.flags)})` : `${name}(${what}, ${show(to)}, ${show(op.flags)})`;
      const outcome = run.call(label, closed, () =>
        op.op === 'send'
          ? socket.send(value as string, op.flags as number)
          : socket.sendTo(value as string, to as never, op.flags as number),
      );
      if (!closed && slot !== undefined && coverage(slot) === 'gone')
        count(`(d) ${op.op} of a detached or out-of-bounds ${slot.view.constructor.name}`);
      if (!closed && slot !== undefined && coverage(slot) === 'gone' && !isRangeError(outcome)) {
        run.fail(
          `${label}: a detached or out-of-bounds ${slot.view.constructor.name} must be RangeError ERR_OUT_OF_RANGE; it ${showOutcome(outcome)}`,
        );
      }
      if (outcome.ok) {
        const why = sendShape(outcome.value, bytes, false);
        if (why !== undefined) run.fail(`${label} resolved a malformed result (${why}): ${show(outcome.value)}`);
      }
      return;
    }
    case 'shutdown': {
      run.call(`${name}(${show(op.how)})`, closed, () => socket.shutdown(op.how as 'read'));
      return;
    }
    case 'reset':
    case 'close': {
      await run.snapshot();
      const outcome = run.call(`${name}()`, closed && op.op === 'reset', () =>
        op.op === 'reset' ? socket.reset() : socket.close(),
      );
      if (op.op === 'close') {
        if (closed && !outcome.ok) run.fail(`${name}() on a closed Socket threw: close() is idempotent`);
        if (socket.fd !== -1) run.fail(`${name}(): fd is ${socket.fd} after close()`);
      } else if (outcome.ok && socket.fd !== -1) {
        run.fail(`${name}(): fd is ${socket.fd} after reset()`);
      }
      return run.checkpoint(`${name}()`);
    }
    case 'takeError': {
      const outcome = run.call(`${name}()`, closed, () => socket.takeError());
      const value = outcome.ok ? (outcome.value as { errno?: unknown; code?: unknown } | null) : null;
      if (value !== null && (!isInteger(value.errno) || value.errno <= 0 || typeof value.code !== 'string')) {
        run.fail(`${name}() returned ${show(value)}`);
      }
      return;
    }
    case 'available': {
      const outcome = run.call(`${name}()`, closed, () => socket.available());
      if (outcome.ok && !(isInteger(outcome.value) && outcome.value >= 0))
        run.fail(`${name}() returned ${show(outcome.value)}`);
      return;
    }
    case 'localAddress':
    case 'remoteAddress': {
      const outcome = run.call(`${name}()`, closed, () =>
        op.op === 'localAddress' ? socket.localAddress() : socket.remoteAddress(),
      );
      const value = outcome.ok ? (outcome.value as Record<string, unknown>) : undefined;
      if (
        value !== undefined &&
        (typeof value.address !== 'string' ||
          !isInteger(value.port) ||
          !['IPv4', 'IPv6', 'unix'].includes(String(value.family)))
      ) {
        run.fail(`${name}() returned ${show(value)}`);
      }
      return;
    }
    case 'setBlocking': {
      const outcome = run.call(`${name}(${show(op.value)})`, closed, () => socket.setBlocking(op.value as boolean));
      if (outcome.ok) {
        const mode = sys.getNonBlocking(fd);
        if (socket.blocking !== op.value || mode !== (op.value ? 0 : 1)) {
          run.fail(`${name}(${String(op.value)}): blocking ${socket.blocking}, O_NONBLOCK reads ${mode} in the kernel`);
        }
      }
      return;
    }
    case 'setReceiveTimeout':
    case 'setSendTimeout': {
      const receive = op.op === 'setReceiveTimeout';
      const outcome = run.call(`${name}(${show(op.ms)})`, closed, () =>
        receive ? socket.setReceiveTimeout(op.ms as number) : socket.setSendTimeout(op.ms as number),
      );
      if (outcome.ok) {
        const tracked = receive ? socket.receiveTimeout : socket.sendTimeout;
        const kernel = sys.getTimeout(fd, receive ? RCVTIMEO : SNDTIMEO);
        // The kernel keeps the timeout in jiffies (4 ms at HZ=250): it reads back rounded up.
        const ms = op.ms as number;
        if (tracked !== ms || kernel < ms || kernel > ms + 10) {
          run.fail(`${name}(${String(op.ms)}): tracked ${tracked}, kernel ${kernel}`);
        }
      }
      return;
    }
    case 'getters': {
      const values = {
        fd: socket.fd,
        closed: socket.closed,
        type: socket.type,
        family: socket.family,
        blocking: socket.blocking,
        receiveTimeout: socket.receiveTimeout,
        sendTimeout: socket.sendTimeout,
        readState: socket.readState,
      };
      run.note(`${name}: ${show(values)}`);
      if (
        !isInteger(values.fd) ||
        values.fd < -1 ||
        values.closed !== values.fd < 0 ||
        !['stream', 'dgram', 'seqpacket'].includes(values.type) ||
        !['IPv4', 'IPv6', 'unix'].includes(values.family) ||
        typeof values.blocking !== 'boolean' ||
        !isInteger(values.receiveTimeout) ||
        !isInteger(values.sendTimeout) ||
        !READ_STATES.has(values.readState)
      ) {
        run.fail(`${name}: malformed getters ${show(values)}`);
      }
      return;
    }
    case 'wait': {
      const options = run.options(op.options);
      const label = `${handle.label}.${op.writable ? 'waitWritable' : 'waitReadable'}(${show(op.options)})`;
      await run.callAsync(
        label,
        handle,
        closed,
        op.mode,
        options.valid ? options.timeout : undefined,
        () => (op.writable ? socket.waitWritable(options.value as never) : socket.waitReadable(options.value as never)),
        (outcome) => {
          if (outcome.ok && outcome.value !== 'ready' && outcome.value !== 'timeout')
            throw new Violation(`${label} resolved ${show(outcome.value)}`);
        },
      );
      return;
    }
    case 'recvAsync':
    case 'recvFromAsync': {
      const options = run.options(op.options);
      const label = `${name}(${show(op.length)}, ${show(op.options)})`;
      await run.callAsync(
        label,
        handle,
        closed,
        op.mode,
        options.valid ? options.timeout : undefined,
        () =>
          op.op === 'recvAsync'
            ? socket.recvAsync(op.length as number, options.value as never)
            : socket.recvFromAsync(op.length as number, options.value as never),
        (outcome) => {
          if (outcome.ok)
            checkRecv(
              run,
              handle,
              label,
              outcome.value,
              op.length as number,
              flagsOf(options.value),
              op.op === 'recvFromAsync',
            );
        },
      );
      return;
    }
    case 'recvIntoAsync': {
      const { value: view, slot } = receiveView(run, op.buffer);
      const options = run.options(op.options);
      const gone = !closed && slot !== undefined && coverage(slot) === 'gone';
      const label = `${name}(${slot ? `${slot.spec.view}[${coveredBytes(slot.view)}]` : show(view)}, ${show(op.options)})`;
      const pending = await run.callAsync(
        label,
        handle,
        closed,
        op.mode,
        options.valid ? options.timeout : undefined,
        () => socket.recvIntoAsync(view as ArrayBufferView, options.value as never),
        (outcome) => {
          if (gone && op.options.shape === 'none' && !isRangeError(outcome)) {
            throw new Violation(
              `${label}: a detached or out-of-bounds ${view?.constructor.name} must reject RangeError ERR_OUT_OF_RANGE; it ${showOutcome(outcome)}`,
            );
          }
          if (outcome.ok && ArrayBuffer.isView(view))
            checkRecv(
              run,
              handle,
              label,
              outcome.value,
              Math.max(coveredBytes(view), 0x7fffffff),
              flagsOf(options.value),
              false,
              view,
            );
        },
        { view: ArrayBuffer.isView(view) ? view : undefined },
      );
      if (gone) pending.viewGone = true;
      return;
    }
    case 'sendAsync': {
      const { value, bytes, slot } = payload(run, op.data, handle.endpoint.color);
      const options = run.options(op.options);
      const gone = !closed && slot !== undefined && coverage(slot) === 'gone';
      const what = slot
        ? `${slot.spec.view}[${bytes}]`
        : typeof value === 'string'
          ? `'${value.slice(0, 1)}'x${value.length}`
          : show(value);
      const label = `${name}(${what}, ${show(op.options)})`;
      await run.callAsync(
        label,
        handle,
        closed,
        op.mode,
        options.valid ? options.timeout : undefined,
        () => socket.sendAsync(value as string, options.value as never),
        (outcome, pending) => {
          if (gone && op.options.shape !== 'bad' && op.options.shape !== 'flaky' && !isRangeError(outcome)) {
            throw new Violation(
              `${label}: a detached or out-of-bounds ${slot?.view.constructor.name} must reject RangeError ERR_OUT_OF_RANGE; it ${showOutcome(outcome)}`,
            );
          }
          if (outcome.ok) {
            const why = sendShape(
              outcome.value,
              pending.view === undefined || !slotTouched.has(pending.view) ? bytes : undefined,
              true,
            );
            if (why !== undefined)
              throw new Violation(`${label} resolved a malformed result (${why}): ${show(outcome.value)}`);
          }
        },
        { view: slot?.view },
      );
      return;
    }
    case 'iterate': {
      const revents = closed ? 0 : sys.poll(fd, POLLIN | HANGUP);
      const hungUp = !closed && socket.type !== 'dgram' && revents > 0 && (revents & HANGUP) !== 0;
      const label = `${name}(for await, at most ${op.max} chunks)`;
      await run.callAsync(
        label,
        handle,
        closed,
        op.mode,
        undefined,
        async () => {
          let chunks = 0;
          for await (const chunk of socket) {
            if (!Buffer.isBuffer(chunk) || chunk.length === 0) throw new Violation(`${label} yielded ${show(chunk)}`);
            run.checkColors(chunk, handle.endpoint, label);
            if (++chunks >= op.max) return { chunks, ended: 'bound' };
          }
          return { chunks, ended: 'eof' };
        },
        (outcome) => {
          if (outcome.ok && outcome.value instanceof Violation) throw outcome.value;
          if (!outcome.ok && outcome.error instanceof SocketError && outcome.error.syscall !== 'recv') {
            throw new Violation(`${label} threw a SocketError for ${outcome.error.syscall}, not recv`);
          }
        },
        hungUp
          ? (count(`(c) for await on a ${socket.type} socket whose peer had closed`),
            { mustEnd: `its peer had closed (poll revents 0x${revents.toString(16)}) when it started` })
          : {},
      );
      return;
    }
  }
}

/** The socket's peer (if it has one open here) sends it `bytes` bytes of its own color, without blocking. */
function feedFromPeer(run: Run, handle: SocketHandle, bytes: number): void {
  const peer = peerOf(run, handle);
  if (peer === undefined) return;
  const text = String.fromCharCode(peer.endpoint.color).repeat(bytes);
  run.call(
    `${peer.label}.send('${String.fromCharCode(peer.endpoint.color)}'x${bytes}, MSG_DONTWAIT) (feed)`,
    false,
    () => peer.socket.send(text, DONTWAIT),
  );
}

/**
 * The socket's AF_UNIX peer sends one byte of its colour (MSG_DONTWAIT) with SCM_RIGHTS of a
 * throwaway socketpair, closed at once: the receiver's recvMsg then gets descriptors (all, some
 * with MSG_CTRUNC, or none), which must all be taken or closed.
 */
function passFromPeer(run: Run, handle: SocketHandle): void {
  const peer = peerOf(run, handle);
  if (peer === undefined || peer.socket.closed || peer.socket.family !== 'unix') return;
  const pair = run.call('Socket.pair() to pass', false, () => Socket.pair());
  if (!pair.ok) return;
  const passed = pair.value as Socket[];
  const byte = String.fromCharCode(peer.endpoint.color);
  run.call(`${peer.label}.sendMsg('${byte}', SCM_RIGHTS of a pair, MSG_DONTWAIT) (pass)`, false, () =>
    peer.socket.sendMsg(byte, { control: { rights: passed }, flags: DONTWAIT }),
  );
  for (const socket of passed) socket.close();
}

/** Views whose ArrayBuffer was detached or resized: a sendAsync over them may send less. */
const slotTouched = new WeakSet<ArrayBufferView>();

// ---- compound operations: a number reused after a close, a sharer whose owner closes -----------

const PROBE_BYTES = 7;

/**
 * Closes the Socket's number (itself, its owner, or sys.close), hands the number out again to a
 * new socket with PROBE_BYTES queued, and calls every method on the old Socket object: each must
 * throw / reject ERR_SOCKET_CLOSED, and the new socket must keep its data, mode and timeouts.
 */
async function probeReuse(run: Run, op: Extract<Op, { op: 'probeReuse' }>): Promise<void> {
  const handle = run.socketAt(op.t);
  if (handle === undefined) return run.note('probeReuse skipped: no socket');
  const socket = handle.socket;
  const number = socket.fd >= 0 ? socket.fd : handle.number;
  if (socket.fd >= 0 && linkOf(socket.fd) === handle.link) {
    await run.snapshot();
    const owner = handle.owned ? handle : ownerOf(run, socket.fd);
    let label: string;
    if (op.via === 'sys.close' || owner === undefined) {
      if (!run.isMine(number)) return run.note(`probeReuse skipped: fd ${number} is not this run's to close`);
      label = `sys.close(${number})`;
      const outcome = run.call(label, false, () => sys.close(number));
      if (outcome.ok && outcome.value !== 0)
        run.fail(`${label} returned ${show(outcome.value)} for an open descriptor`);
    } else if (op.via === 'reset' && owner.kind === 'socket' && owner.socket.type === 'stream') {
      label = `${owner.label}.reset()`;
      run.call(label, false, () => owner.socket.reset());
    } else {
      label = `${owner.label}.close()`;
      run.call(label, false, () => (owner.kind === 'socket' ? owner.socket.close() : owner.server.close()));
    }
    await run.checkpoint(`probeReuse: ${label}`);
    if (socket.fd !== -1) run.fail(`after ${label}, ${handle.label} still has fd ${socket.fd}`);
  } else if (socket.fd >= 0 && !handle.foreign) {
    return run.note(`probeReuse skipped: ${handle.label} is open on a number that is not its own`);
  }
  await reuseNumber(run, handle, number, op.reuse);
}

async function reuseNumber(run: Run, handle: SocketHandle, number: number, reuse: 'pair' | 'sys'): Promise<void> {
  const socket = handle.socket;
  await run.snapshot();
  let target: { fd: number; partner: number; owned: boolean } | undefined;
  for (let tries = 0; tries < 4 && target === undefined; tries++) {
    if (reuse === 'pair') {
      const outcome = run.call('Socket.pair() to reuse the number', false, () => Socket.pair());
      if (!outcome.ok) break;
      const [a, b] = outcome.value as [Socket, Socket];
      const [ea, eb] = run.pairEndpoints();
      run.addSocket(a, 'unix-stream', ea);
      run.addSocket(b, 'unix-stream', eb);
      if (a.fd === number) target = { fd: a.fd, partner: b.fd, owned: true };
      else if (b.fd === number) target = { fd: b.fd, partner: a.fd, owned: true };
    } else {
      const pair = sys.socketpair(constants.AF.UNIX, constants.SOCK.STREAM, 0);
      run.note(`sys.socketpair() to reuse the number -> ${show(pair)}`);
      if (typeof pair === 'number') break;
      const [ea, eb] = run.pairEndpoints();
      run.raws.push(
        { number: pair[0], link: linkOf(pair[0]), endpoint: ea },
        { number: pair[1], link: linkOf(pair[1]), endpoint: eb },
      );
      run.remember(pair[0]);
      run.remember(pair[1]);
      if (pair[0] === number) target = { fd: pair[0], partner: pair[1], owned: false };
      else if (pair[1] === number) target = { fd: pair[1], partner: pair[0], owned: false };
    }
  }
  await run.checkpoint(`new sockets made on fd ${number}`);
  if (target === undefined) return run.note(`probeReuse: fd ${number} was not handed out again`);
  count(
    `number reused by ${reuse === 'pair' ? 'Socket.pair' : 'sys.socketpair'}, old Socket ${socket.closed ? 'closed' : 'still open (owner in a worker)'}`,
  );
  const { fd, partner } = target;
  const color = run.endpointOf(partner)?.color ?? 0x21;
  const sent = sys.send(partner, Buffer.alloc(PROBE_BYTES, color), 0, PROBE_BYTES, DONTWAIT);
  if (sent !== PROBE_BYTES) run.fail(`probeReuse: the probe send returned ${sent}`);
  const state = (): string =>
    JSON.stringify({
      link: linkOf(fd),
      queued: sys.fionread(fd),
      nonblocking: sys.getNonBlocking(fd),
      receiveTimeout: sys.getTimeout(fd, RCVTIMEO),
      sendTimeout: sys.getTimeout(fd, SNDTIMEO),
      hangup: sys.poll(fd, POLLIN | HANGUP) & HANGUP,
      partnerQueued: sys.fionread(partner),
    });
  const before = state();
  const closed = socket.closed;
  const old = `${handle.label} (old Socket, ${closed ? 'closed' : `still fd ${socket.fd}, shared from a closed owner`})`;
  const verify = (label: string, outcome: Outcome): void => {
    if (closed && !isClosedError(outcome)) {
      run.fail(`${label} on ${old} ${showOutcome(outcome)}: must throw ERR_SOCKET_CLOSED without a system call`);
    }
    if (!outcome.ok) {
      const why = undocumented(outcome.error);
      if (why !== undefined) run.fail(`${label} on ${old} threw ${why}`);
    }
    const after = state();
    if (after !== before) {
      run.fail(
        `${label} on ${old} reached the new socket now on fd ${fd}: its state went from ${before} to ${after} ` +
          '(data consumed, mode or timeouts changed, or shut down)',
      );
    }
  };
  const detached = new Uint8Array(new ArrayBuffer(8));
  detachBuffer(detached.buffer);
  const sync: [string, () => unknown][] = [
    ['recv(7)', () => socket.recv(PROBE_BYTES)],
    ['recv(7, MSG_DONTWAIT)', () => socket.recv(PROBE_BYTES, DONTWAIT)],
    ['peek(7)', () => socket.peek(PROBE_BYTES)],
    ['recvFrom(7)', () => socket.recvFrom(PROBE_BYTES)],
    ['recvInto(Buffer(7))', () => socket.recvInto(Buffer.alloc(PROBE_BYTES))],
    ["recv('x') (a bad length)", () => socket.recv('x' as never)],
    ['recvInto(a detached view)', () => socket.recvInto(detached)],
    ['available()', () => socket.available()],
    ['takeError()', () => socket.takeError()],
    ['setBlocking(false)', () => socket.setBlocking(false)],
    ['setReceiveTimeout(1)', () => socket.setReceiveTimeout(1)],
    ['setSendTimeout(1)', () => socket.setSendTimeout(1)],
    ['localAddress()', () => socket.localAddress()],
    ['remoteAddress()', () => socket.remoteAddress()],
    ["send('x')", () => socket.send(String.fromCharCode(handle.endpoint.color))],
    ["sendTo('x', closed port)", () => socket.sendTo('x', { host: '127.0.0.1', port: CLOSED_PORT })],
    ["shutdown('read')", () => socket.shutdown('read')],
    ['reset()', () => socket.reset()],
  ];
  for (const [label, call] of sync) {
    // An old Socket still open (shared from a worker's descriptor) makes real calls: never one that blocks for good.
    const direction = /^(recv|peek)/.test(label) ? 'in' : /^send/.test(label) ? 'out' : undefined;
    if (
      !closed &&
      direction !== undefined &&
      run.mayBlockForever(socket.fd, direction, label.includes('DONTWAIT') ? DONTWAIT : 0, 1)
    ) {
      run.note(`${old}.${label} skipped: could wait forever`);
      continue;
    }
    const outcome = attempt(call);
    run.note(`${old}.${label} ${showOutcome(outcome)}`);
    verify(label, outcome);
  }
  const async: [string, () => Promise<unknown>][] = [
    ['waitReadable({ timeout: 10 })', () => socket.waitReadable({ timeout: 10 })],
    ['waitWritable({ timeout: 10 })', () => socket.waitWritable({ timeout: 10 })],
    ['recvAsync(7, { timeout: 10 })', () => socket.recvAsync(PROBE_BYTES, { timeout: 10 })],
    [
      'recvIntoAsync(Buffer(7), { timeout: 10 })',
      () => socket.recvIntoAsync(Buffer.alloc(PROBE_BYTES), { timeout: 10 }),
    ],
    ['recvFromAsync(7, { timeout: 10 })', () => socket.recvFromAsync(PROBE_BYTES, { timeout: 10 })],
    [
      "sendAsync('x', { timeout: 10 })",
      () => socket.sendAsync(String.fromCharCode(handle.endpoint.color), { timeout: 10 }),
    ],
    ['[Symbol.asyncIterator]().next()', () => socket[Symbol.asyncIterator]().next()],
  ];
  for (const [label, call] of async) {
    let promise: Promise<unknown>;
    try {
      promise = call();
    } catch (error) {
      run.fail(`${old}.${label} threw synchronously: ${show(error)}`);
    }
    let outcome: Outcome | undefined;
    void promise.then(
      (value) => (outcome = { ok: true, value }),
      (error: unknown) => (outcome = { ok: false, error }),
    );
    const deadline = Date.now() + HANG_MS;
    while (outcome === undefined && Date.now() < deadline) await delay(2);
    if (outcome === undefined) run.fail(`hang: ${old}.${label} did not settle within ${HANG_MS} ms`);
    run.note(`${old}.${label} ${showOutcome(outcome)}`);
    verify(label, outcome);
  }
  if (target.owned) {
    const label = `Socket.fromFd(${fd}) while a Socket owns it`;
    const outcome = attempt(() => Socket.fromFd(fd));
    if (!(
      !outcome.ok &&
      outcome.error instanceof TypeError &&
      (outcome.error as { code?: unknown }).code === 'ERR_INVALID_ARG_VALUE'
    )) {
      if (outcome.ok) run.wronglyOwned.push({ socket: outcome.value as Socket, link: linkOf(fd) });
      run.fail(`${label} ${showOutcome(outcome)}: must throw ERR_INVALID_ARG_VALUE`);
    }
  }
  // The new socket still has exactly what was sent to it.
  const buffer = Buffer.alloc(64);
  const got = sys.recv(fd, buffer, 0, 64, DONTWAIT);
  if (got !== PROBE_BYTES || !buffer.subarray(0, got).every((byte) => byte === color)) {
    run.fail(
      `probeReuse: the new socket on fd ${fd} received ${got} bytes (${buffer.subarray(0, Math.max(0, got)).toString('latin1')}), not its ${PROBE_BYTES} probe bytes`,
    );
  }
  run.note(`probeReuse: fd ${number} reused; ${old} left it alone`);
}

/** fromFd(fd, { owned: false }) of an open Socket, waits on both, then a close by the owner, the sharer or sys.close. */
async function share(run: Run, op: Extract<Op, { op: 'share' }>): Promise<void> {
  const handle = run.socketAt(op.t);
  if (handle === undefined || handle.socket.closed || linkOf(handle.socket.fd) !== handle.link) {
    return run.note('share skipped: no open socket');
  }
  const fd = handle.socket.fd;
  const outcome = run.call(`Socket.fromFd(${fd}, { owned: false })`, false, () => Socket.fromFd(fd, { owned: false }));
  if (!outcome.ok) return;
  const sharer = run.addSocket(outcome.value as Socket, 'shared', handle.endpoint, { foreign: handle.foreign });
  sharer.owned = false;
  const ready = (label: string) => (result: Outcome) => {
    if (result.ok && result.value !== 'ready' && result.value !== 'timeout')
      throw new Violation(`${label} resolved ${show(result.value)}`);
  };
  await run.callAsync(
    `${sharer.label}.waitReadable()`,
    sharer,
    false,
    'background',
    undefined,
    () => sharer.socket.waitReadable(),
    ready('waitReadable'),
  );
  await run.callAsync(
    `${sharer.label}.recvAsync(16)`,
    sharer,
    false,
    'background',
    undefined,
    () => sharer.socket.recvAsync(16),
    (result) => {
      if (result.ok) checkRecv(run, sharer, `${sharer.label}.recvAsync(16)`, result.value, 16, 0, false);
    },
  );
  const ownWait = await run.callAsync(
    `${handle.label}.waitReadable({ timeout: 300 })`,
    handle,
    false,
    'background',
    undefined,
    () => handle.socket.waitReadable({ timeout: 300 }),
    ready('waitReadable'),
  );
  await run.snapshot();
  let label: string;
  if (op.close === 'sharer') {
    label = `${sharer.label}.close()`;
    run.call(label, false, () => sharer.socket.close());
  } else {
    const owner = ownerOf(run, fd);
    if (op.close === 'sys.close' || owner === undefined) {
      if (!run.isMine(fd)) return run.note(`share: fd ${fd} is not this run's to close`);
      label = `sys.close(${fd})`;
      run.call(label, false, () => sys.close(fd));
      for (const other of run.sockets) {
        if (other.socket.fd === fd && other.link === linkOf(fd)) continue;
        if (other.socket.fd === fd)
          run.fail(
            `${label}: ${other.label} still has fd ${fd}; sys.close closes every Socket of this thread that holds it`,
          );
      }
    } else {
      label = `${owner.label}.close()`;
      run.call(label, false, () => (owner.kind === 'socket' ? owner.socket.close() : owner.server.close()));
    }
  }
  await run.checkpoint(`share: ${label}`);
  if (sharer.socket.fd !== -1 && op.close !== 'sharer')
    run.fail(`share: after ${label}, ${sharer.label} still has fd ${sharer.socket.fd}`);
  if (op.close === 'sharer' && !handle.socket.closed) {
    await delay(1);
    if (ownWait.settled && isClosedError(ownWait.outcome as Outcome)) {
      run.fail(`share: closing the sharer ${sharer.label} rejected the wait of ${handle.label}, which is still open`);
    }
  }
}

/** The open handle, owned here, of one of the endpoint's peers. */
function peerOf(run: Run, handle: SocketHandle): SocketHandle | undefined {
  return run.sockets.find(
    (other) =>
      other !== handle &&
      other.owned &&
      !other.socket.closed &&
      handle.endpoint.peers.has(other.endpoint) &&
      linkOf(other.socket.fd) === other.link,
  );
}

/**
 * The peer sends a few messages (zero-length ones too on a seqpacket socket), then closes, shuts
 * down its sending side or resets; the socket reads until it sees the end (a for await, or
 * non-blocking recvs): it must see eof (or the reset), never spin on zero-length results.
 */
async function peerGone(run: Run, op: Extract<Op, { op: 'peerGone' }>): Promise<void> {
  const handle = run.socketAt(op.t);
  if (handle === undefined || handle.socket.closed || handle.socket.type === 'dgram') {
    return run.note('peerGone skipped: no open stream or seqpacket socket');
  }
  const peer = peerOf(run, handle);
  if (peer === undefined) return run.note(`peerGone skipped: ${handle.label} has no open peer here`);
  const type = handle.socket.type;
  for (let i = 0; i < op.records; i++) {
    const text = type === 'seqpacket' && i % 2 === 0 ? '' : String.fromCharCode(peer.endpoint.color).repeat(3);
    run.call(`${peer.label}.send(${JSON.stringify(text)}, MSG_DONTWAIT)`, false, () =>
      peer.socket.send(text, DONTWAIT),
    );
  }
  await run.snapshot();
  const how = op.how === 'reset' && type !== 'stream' ? 'close' : op.how;
  run.call(`${peer.label}.${how === 'shutdown' ? "shutdown('write')" : `${how}()`}`, false, () =>
    how === 'close' ? peer.socket.close() : how === 'reset' ? peer.socket.reset() : peer.socket.shutdown('write'),
  );
  await run.checkpoint(`peerGone: ${peer.label} ${how}`);
  if (op.iterate) {
    await socketCall(run, { op: 'iterate', t: 3 * run.sockets.indexOf(handle), max: op.records + 3, mode: 'await' });
    return;
  }
  // Non-blocking recvs until the end (after whatever was still queued).
  let last = '';
  let reads = 0;
  let waits = 0;
  while (reads < 2000 && !handle.socket.closed) {
    const label = `${handle.label}.recv(65536, MSG_DONTWAIT) after its peer's ${how}`;
    const outcome = attempt(() => handle.socket.recv(65536, DONTWAIT));
    tally(outcome, false);
    reads++;
    if (!outcome.ok) {
      run.note(`${label} ${showOutcome(outcome)}`);
      const why = undocumented(outcome.error);
      if (why !== undefined) run.fail(`${label} threw ${why}`);
      return;
    }
    checkRecv(run, handle, label, outcome.value, 65536, DONTWAIT, false);
    last = (outcome.value as { kind: string }).kind;
    if (last === 'eof' || last === 'error') break;
    // The FIN (or the hang-up) is queued by the time close() returns on loopback; a little grace anyway.
    if (last === 'would-block' && ++waits <= 20) await delay(5);
    else if (last === 'would-block') break;
  }
  run.note(`peerGone: ${handle.label} read ${reads} times after its peer's ${how}, ending with '${last}'`);
  if (last !== 'eof' && last !== 'error' && !handle.socket.closed) {
    run.fail(
      `peerGone: ${handle.label} (${type}) still reads '${last}' ${reads} reads after its peer's ${how}: ` +
        'the end of the connection must read as eof (or the reset as an error)',
    );
  }
}

/** A call waits with a fresh AbortSignal, which is then aborted: it must reject with an AbortError. */
async function abortDuringWait(run: Run, op: Extract<Op, { op: 'abortDuringWait' }>): Promise<void> {
  const controller = new AbortController();
  const signal = controller.signal;
  let start: (() => Promise<unknown>) | undefined;
  let handle: Handle | undefined;
  let label: string;
  if (op.call === 'acceptAsync' || op.call === 'connect') {
    if (op.call === 'acceptAsync') {
      const server = run.serverAt(op.t);
      if (server === undefined || server.server.closed || run.mayBlockForever(server.server.fd, 'in', 0) === false) {
        return run.note('abortDuringWait skipped: no idle server');
      }
      handle = server;
      label = `${server.label}.acceptAsync({ signal })`;
      start = () => server.server.acceptAsync({ signal });
    } else {
      // A connect that stays in progress: a listener whose queue (backlog 0) is already full.
      const outcome = run.call('Server.listen({ backlog: 0 })', false, () => Server.listen({ backlog: 0 }));
      if (!outcome.ok) return;
      const full = run.addServer(outcome.value as Server, 'server-backlog-0');
      const port = full.server.port;
      await run.callAsync(
        `Socket.connect(${port}) to fill the queue`,
        undefined,
        false,
        'await',
        1000,
        () => Socket.connect({ host: '127.0.0.1', port, timeout: 1000 }),
        (result) => {
          if (result.ok && result.value instanceof Socket) {
            const queued = run.addSocket(result.value, 'tcp-queued', run.endpoint(false, true));
            if (!run.ending) run.linkTcp(queued.endpoint, result.value.fd);
          }
        },
      );
      full.queued = MAX_BACKLOG_USE;
      label = `Socket.connect(${port}, { signal }) to a full queue`;
      start = () => Socket.connect({ host: '127.0.0.1', port, signal });
    }
  } else {
    const target = run.socketAt(op.t);
    if (target === undefined || target.socket.closed) return run.note('abortDuringWait skipped: no open socket');
    handle = target;
    const socket = target.socket;
    const big = String.fromCharCode(target.endpoint.color).repeat(4_000_000);
    label = `${target.label}.${op.call}(..., { signal })`;
    start =
      op.call === 'waitReadable'
        ? () => socket.waitReadable({ signal })
        : op.call === 'recvAsync'
          ? () => socket.recvAsync(64, { signal })
          : op.call === 'recvFromAsync'
            ? () => socket.recvFromAsync(64, { signal })
            : op.call === 'recvIntoAsync'
              ? () => socket.recvIntoAsync(Buffer.alloc(64), { signal })
              : () => socket.sendAsync(big, { signal });
  }
  const pending = await run.callAsync(label, handle, false, 'background', undefined, start, (outcome) => {
    if (outcome.ok && op.call === 'connect' && outcome.value instanceof Socket) {
      const added = run.addSocket(outcome.value, 'tcp', run.endpoint(false, true));
      if (!run.ending) run.linkTcp(added.endpoint, outcome.value.fd);
    }
  });
  await delay(op.ms);
  await run.snapshot();
  if (pending.settled) return run.note(`abortDuringWait: ${label} settled before the abort`);
  controller.abort(new Error('fuzz: aborted during the wait'));
  count('signals aborted while calls waited on them');
  const deadline = Date.now() + SETTLE_MS;
  while (!pending.settled && Date.now() < deadline) await delay(2);
  if (!pending.settled) run.fail(`${label} did not settle within ${SETTLE_MS} ms of its signal aborting`);
  const outcome = pending.outcome as Outcome;
  if (!(!outcome.ok && (outcome.error as { name?: unknown }).name === 'AbortError')) {
    run.fail(
      `${label} was waiting when its signal aborted, and settled ${showOutcome(outcome)}, not with an AbortError`,
    );
  }
  run.note(`${label} rejected with an AbortError when aborted during its wait`);
}

/**
 * A view that covers no memory any more (its ArrayBuffer detached, or resizable and shrunk below
 * the view's start), given to a receive into it or a send of it: RangeError ERR_OUT_OF_RANGE,
 * for a typed array as for a DataView, never a call that reads or writes (or sends 0 bytes).
 */
async function goneView(run: Run, op: Extract<Op, { op: 'goneView' }>): Promise<void> {
  const handle = run.socketAt(op.t);
  if (handle === undefined || handle.socket.closed) return run.note('goneView skipped: no open socket');
  const socket = handle.socket;
  const slot = makeSlot({ view: op.view, n: 16, off: 4 }, handle.endpoint.color);
  // Below the view's start (4): out of bounds for a fixed-length and a length-tracking view alike.
  slot.rab?.resize(op.shrinkTo);
  if (coverage(slot) !== 'gone') return run.note(`goneView skipped: the ${op.view} view still covers memory`);
  const view = slot.view;
  const kind = `${op.view.startsWith('rab') ? 'an out-of-bounds' : 'a detached'} ${view.constructor.name}`;
  count(`(d) ${op.call} of ${kind}`);
  const label = `${handle.label}.${op.call}(${kind}, MSG_DONTWAIT)`;
  const expect = (outcome: Outcome): void => {
    if (!isRangeError(outcome)) run.fail(`${label} ${showOutcome(outcome)}: must be RangeError ERR_OUT_OF_RANGE`);
  };
  if (op.call === 'recvInto' || op.call === 'send' || op.call === 'sendTo') {
    const to = { host: '127.0.0.1', port: CLOSED_PORT };
    expect(
      run.call(label, false, () =>
        op.call === 'recvInto'
          ? socket.recvInto(view, { flags: DONTWAIT })
          : op.call === 'send'
            ? socket.send(view, DONTWAIT)
            : socket.sendTo(view, to, DONTWAIT),
      ),
    );
    return;
  }
  const pending = await run.callAsync(
    label,
    handle,
    false,
    'await',
    50,
    () =>
      op.call === 'recvIntoAsync'
        ? socket.recvIntoAsync(view, { timeout: 50 })
        : socket.sendAsync(view, { timeout: 50 }),
    () => undefined,
  );
  expect(pending.outcome as Outcome);
}

/**
 * recvIntoAsync (or sendAsync of a big view) waits, then its view's ArrayBuffer is detached or
 * shrunk below the view: the next attempt (data arriving, or the deadline's last one) must reject
 * RangeError ERR_OUT_OF_RANGE, never receive into (or send from) memory the view no longer covers.
 */
async function viewDuringWait(run: Run, op: Extract<Op, { op: 'viewDuringWait' }>): Promise<void> {
  const handle = run.socketAt(op.t);
  if (handle === undefined || handle.socket.closed || linkOf(handle.socket.fd) !== handle.link) {
    return run.note('viewDuringWait skipped: no open socket');
  }
  const socket = handle.socket;
  const fd = socket.fd;
  const sending = op.call === 'sendAsync';
  if (sending && socket.type !== 'stream') return run.note('viewDuringWait skipped: a big send needs a stream socket');
  if (!sending && (sys.fionread(fd) !== 0 || (sys.poll(fd, POLLIN | HANGUP) & (POLLIN | HANGUP)) !== 0)) {
    return run.note(`viewDuringWait skipped: ${handle.label} is readable already`);
  }
  const action = op.action === 'shrink' && !op.view.startsWith('rab') ? 'detach' : op.action;
  const slot = makeSlot({ view: op.view, n: sending ? 4_000_000 : 32, off: 4 }, handle.endpoint.color);
  const timeout = op.trigger === 'timeout' ? 30 : 300;
  const label = `${handle.label}.${op.call}(${op.view}[${coveredBytes(slot.view)}], { timeout: ${timeout} }) with its view ${action === 'detach' ? 'detached' : 'shrunk'} during the wait`;
  const pending = await run.callAsync(
    label,
    handle,
    false,
    'background',
    undefined,
    () => (sending ? socket.sendAsync(slot.view, { timeout }) : socket.recvIntoAsync(slot.view, { timeout })),
    () => undefined,
    { view: slot.view },
  );
  await delay(1);
  await run.snapshot();
  if (pending.settled) return run.note(`viewDuringWait: ${label} settled before the view changed`);
  if (action === 'detach') {
    if (!detachBuffer(slot.view.buffer)) return run.note('viewDuringWait: not detachable');
    slot.detached = true;
  } else {
    slot.rab?.resize(2);
  }
  count(
    `(d) a ${slot.view.constructor.name} ${action === 'detach' ? 'detached' : 'shrunk out of bounds'} during ${op.call}`,
  );
  pending.viewGone = true;
  slotTouched.add(slot.view);
  if (op.trigger === 'data') {
    const peer = peerOf(run, handle);
    if (!sending && peer !== undefined) peer.socket.send(String.fromCharCode(peer.endpoint.color).repeat(5), DONTWAIT);
    if (sending && peer !== undefined) peer.socket.recv(1 << 20, DONTWAIT);
  }
  const deadline = Date.now() + timeout + HANG_MS;
  while (!pending.settled && Date.now() < deadline) await delay(2);
  if (!pending.settled) {
    run.fail(`hang: ${label} did not settle within its timeout + ${HANG_MS} ms`);
  }
  const outcome = pending.outcome as Outcome;
  if (!isRangeError(outcome) && !(sending && outcome.ok && (outcome.value as { kind?: unknown }).kind !== 'sent')) {
    run.fail(
      `${label} ${showOutcome(outcome)}: the attempt after the view lost its memory must be RangeError ERR_OUT_OF_RANGE`,
    );
  }
  run.note(`${label} ${showOutcome(outcome)}`);
}

// ---- sys -------------------------------------------------------------------------------------------

const READ_ONLY = new Set<SysCall>([
  'getsockname',
  'getpeername',
  'socketFamily',
  'getNonBlocking',
  'getsockopt',
  'getTimeout',
  'getLinger',
  'fionread',
  'poll',
  'handleCount',
]);
const ADDRESS_CALLS = new Set<SysCall>(['bind', 'connect', 'sendto']);

/** Where an AF_UNIX bind of the fuzzer makes its socket files (beforeAll: a temporary folder). */
let unixDir = '';

/**
 * An AF_UNIX address call (bind, connect, sendto) with a host such as 'localhost' or '::1' names
 * a relative path: bind(2) would make that socket file in the working directory, the repository
 * (it did: stray 'localhost' and '::1' sockets). The path goes into the fuzzer's own folder
 * instead, under the same name; an abstract name (leading NUL), '' and non-strings are left as
 * they are (they make no file).
 */
function unixPathArgs(call: SysCall, args: unknown[]): void {
  const at = call === 'sendto' ? 4 : call === 'bind' || call === 'connect' ? 0 : -1;
  const host = args[at + 1];
  if (at < 0 || args[at] !== constants.AF.UNIX || typeof host !== 'string') return;
  if (host === '' || host.startsWith('\0')) return;
  args[at + 1] = join(unixDir, host.replaceAll('/', '_'));
}

/** The socket files in the working directory (the repository when vitest runs): none may appear. */
function socketFilesHere(): string[] {
  return readdirSync('.').filter((name) => {
    try {
      return lstatSync(name).isSocket();
    } catch {
      return false;
    }
  });
}
const RECV_CALLS = new Set<SysCall>(['recv', 'recvfrom', 'recvmsg']);

function resolvePort(run: Run, value: unknown): { port: unknown; server?: ServerHandle } {
  if (value === 'closed') return { port: CLOSED_PORT };
  if (value !== 'server') return { port: value };
  const server = run.servers.find((h) => !h.server.closed);
  return server === undefined ? { port: CLOSED_PORT } : { port: server.server.port, server };
}

async function sysCall(run: Run, op: Extract<Op, { op: 'sys' }>): Promise<void> {
  const noFd = op.call === 'socket' || op.call === 'socketpair' || op.call === 'handleCount';
  const { fd, safe } = noFd ? { fd: undefined, safe: true } : run.resolveFd(op.fd);
  const args = [...op.args];
  const open = isInteger(fd) && fd >= 0 && fd <= 2 ** 31 - 1 && linkOf(fd) !== undefined ? fd : -1;
  if (!READ_ONLY.has(op.call) && !safe)
    return run.note(`sys.${op.call}(${show(fd)}) skipped: not this run's descriptor`);
  let slot: Slot | undefined;
  let server: ServerHandle | undefined;
  if (RECV_CALLS.has(op.call) || op.call === 'send' || op.call === 'sendto') {
    const spec = args[0] as BufferSpec;
    if ('notView' in spec) {
      args[0] = notViewValue(spec.notView);
    } else if (op.call === 'send' || op.call === 'sendto') {
      slot = run.sendSlot(
        { slot: 4 + (spec.slot % 2), make: spec.make },
        (open >= 0 ? run.endpointOf(open)?.color : undefined) ?? 0x21,
      );
      args[0] = slot.view;
    } else {
      slot = run.slotView({ slot: spec.slot % 4, make: spec.make }, 0x3f);
      args[0] = slot.view;
    }
    if (RECV_CALLS.has(op.call) && op.call !== 'recv' && args[4] === 'out')
      args[4] = { family: 0, address: '', port: 0, msgFlags: 0 } satisfies RecvFromOut;
    if (op.call === 'sendto') args[6] = resolvePort(run, args[6]).port;
  }
  if (ADDRESS_CALLS.has(op.call)) unixPathArgs(op.call, args);
  if (op.call === 'bind' || op.call === 'connect') {
    const resolved = resolvePort(run, args[2]);
    args[2] = resolved.port;
    server = resolved.server;
  }
  if (open >= 0) {
    if (RECV_CALLS.has(op.call) && run.mayBlockForever(open, 'in', args[3]))
      return run.note(`sys.${op.call}(${open}) skipped: could wait forever`);
    if (
      (op.call === 'send' || op.call === 'sendto') &&
      run.mayBlockForever(open, 'out', args[3], isInteger(args[2]) ? args[2] : 0)
    ) {
      return run.note(`sys.${op.call}(${open}) skipped: could wait forever`);
    }
    if (op.call === 'accept' && run.mayBlockForever(open, 'in', 0))
      return run.note(`sys.accept(${open}) skipped: could wait forever`);
    if (
      op.call === 'connect' &&
      sys.getsockopt(open, constants.SOL.SOCKET, SO.TYPE) === constants.SOCK.STREAM &&
      server !== undefined
    ) {
      if (server.queued >= MAX_BACKLOG_USE)
        return run.note(`sys.connect(${open}) skipped: ${server.label}'s queue is full`);
    }
  }
  const shown = args.map((arg) =>
    ArrayBuffer.isView(arg) ? `${slot?.spec.view ?? arg.constructor.name}[${coveredBytes(arg)}]` : show(arg),
  );
  const label = `sys.${op.call}(${[...(noFd ? [] : [show(fd)]), ...shown].join(', ')})`;
  if (op.call === 'close') await run.snapshot();
  const fn = sys[op.call] as (...values: unknown[]) => unknown;
  const outcome = run.call(label, false, () => fn(...(noFd ? args : [fd, ...args])), ADDRESS_CALLS.has(op.call));
  if (outcome.ok) checkSys(run, label, outcome.value);
  // The native layer re-checks buffer bounds: a window past what the view covers never reaches the kernel.
  if (slot !== undefined) {
    const [, offset, count] = args;
    const fdValid = isInteger(fd) && fd >= -(2 ** 31) && fd <= 2 ** 31 - 1;
    const rangeValid =
      isInteger(offset) &&
      offset >= 0 &&
      offset <= 2 ** 31 - 1 &&
      isInteger(count) &&
      count >= 0 &&
      count <= 2 ** 31 - 1;
    if (fdValid && rangeValid && offset + count > coveredBytes(slot.view) && !isRangeError(outcome)) {
      run.fail(
        `${label}: offset + length past what the view covers (${coveredBytes(slot.view)} bytes, ${coverage(slot)}) must be RangeError ERR_OUT_OF_RANGE; it ${showOutcome(outcome)}`,
      );
    }
  }
  if (!outcome.ok) return;
  const value = outcome.value;
  switch (op.call) {
    case 'socket':
    case 'accept':
      if (isInteger(value) && value >= 0) {
        const type = sys.getsockopt(value, constants.SOL.SOCKET, SO.TYPE);
        const family = sys.socketFamily(value);
        const udp = type === constants.SOCK.DGRAM && family !== constants.AF.UNIX;
        const raw: Raw = {
          number: value,
          link: linkOf(value),
          endpoint: run.endpoint(udp, type === constants.SOCK.STREAM && family !== constants.AF.UNIX),
        };
        run.raws.push(raw);
        run.remember(value);
        if (op.call === 'accept') {
          run.linkTcp(raw.endpoint, value);
          const owner = run.servers.find((h) => h.server.fd === open);
          if (owner !== undefined) owner.queued = Math.max(0, owner.queued - 1);
        }
      }
      return;
    case 'socketpair':
      if (Array.isArray(value)) {
        const [a, b] = value as [number, number];
        const type = sys.getsockopt(a, constants.SOL.SOCKET, SO.TYPE);
        const [ea, eb] = run.pairEndpoints(type === constants.SOCK.DGRAM && sys.socketFamily(a) !== constants.AF.UNIX);
        run.raws.push({ number: a, link: linkOf(a), endpoint: ea }, { number: b, link: linkOf(b), endpoint: eb });
        run.remember(a);
        run.remember(b);
      }
      return;
    case 'connect':
      if (value === 0 && open >= 0 && sys.getsockopt(open, constants.SOL.SOCKET, SO.TYPE) === constants.SOCK.STREAM) {
        const endpoint = run.endpointOf(open);
        if (endpoint !== undefined) run.linkTcp(endpoint, open);
        if (server !== undefined) server.queued++;
      }
      return;
    case 'close': {
      if (value === 0) {
        for (const other of run.sockets) {
          if (other.socket.fd === fd)
            run.fail(
              `${label}: ${other.label} still has fd ${String(fd)}; sys.close closes every Socket of this thread that holds it`,
            );
        }
      }
      return run.checkpoint(label);
    }
    default:
      break;
  }
  if (RECV_CALLS.has(op.call) && isInteger(value) && value > 0 && slot !== undefined && open >= 0) {
    const [view, offset, count, flags] = args as [ArrayBufferView, number, number, unknown];
    const numeric = isInteger(flags) ? flags : 0;
    const endpoint = run.endpointOf(open);
    if (endpoint !== undefined && (numeric & (TRUNC | ERRQUEUE)) === 0 && value <= count) {
      run.checkColors(new Uint8Array(view.buffer, view.byteOffset + offset, value), endpoint, label);
    }
  }
}

// ---- worker threads -------------------------------------------------------------------------------

/**
 * The worker: imports the built package (dist/, as a user's worker would), then per variant
 * - adopt: tries to own the main thread's fd (must be refused), shares it, waits on it;
 * - use-and-exit: the same refusal, then sends and receives through a sharer and exits;
 * - own-pair, own-pair-idle, own-pair-sysclose: owns a new pair, reports its fds, waits on it
 *   (own-pair) or not, and stays until terminated;
 * - own-and-exit: owns a new pair and ends by itself, leaving it open.
 */
const WORKER_SOURCE = `
import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Socket } from '__RAWRECV__';

const { variant, fd, color } = workerData;
const post = (message) => parentPort.postMessage(message);
const describe = (error) => ({ ctor: error?.constructor?.name, name: error?.name, code: error?.code, message: String(error?.message ?? error) });
const link = (n) => { try { return readlinkSync('/proc/self/fd/' + n); } catch { return null; } };
try {
  if (variant === 'adopt' || variant === 'use-and-exit') {
    let owned;
    try {
      owned = Socket.fromFd(fd);
    } catch (error) {
      post({ type: 'adopt-owned', error: describe(error) });
    }
    if (owned) post({ type: 'adopt-owned', fd: owned.fd });
    const shared = Socket.fromFd(fd, { owned: false });
    if (variant === 'adopt') {
      shared.recvAsync(16).catch(() => {});
      shared.waitReadable().catch(() => {});
      post({ type: 'waiting' });
    } else {
      const sent = shared.send(Buffer.alloc(3, color), 0x40);
      const got = shared.recv(16, 0x40);
      shared.close();
      post({ type: 'done', sent: sent.kind, got: got.kind });
    }
  } else {
    const [a, b] = Socket.pair();
    if (variant === 'own-pair') a.recvAsync(16).catch(() => {});
    // Stays until terminated, except own-and-exit, which ends with its pair still open.
    if (variant !== 'own-and-exit') setInterval(() => {}, 60_000);
    post({ type: 'owned', fds: [a.fd, b.fd], links: [link(a.fd), link(b.fd)] });
  }
} catch (error) {
  post({ type: 'error', error: describe(error) });
}
`;

interface WorkerMessage {
  type: string;
  error?: { ctor?: string; name?: string; code?: unknown; message?: string };
  fd?: number;
  fds?: [number, number];
  links?: [string | null, string | null];
}

/** Sockets that must never be garbage-collected: owners made by mistake, of a number that is someone else's by now. */
const keepAlive: Socket[] = [];

async function worker(run: Run, op: Extract<Op, { op: 'worker' }>): Promise<void> {
  if (workerScript === undefined) return run.note('worker skipped: no script');
  const handle = run.socketAt(op.t);
  const usesMain = op.variant === 'adopt' || op.variant === 'use-and-exit';
  if (
    usesMain &&
    (handle === undefined || handle.socket.closed || !handle.owned || linkOf(handle.socket.fd) !== handle.link)
  ) {
    return run.note(`worker ${op.variant} skipped: no open socket owned here`);
  }
  const fd = usesMain ? (handle as SocketHandle).socket.fd : -1;
  const label = `worker(${op.variant}${usesMain ? `, fd ${fd} of ${handle?.label}` : ''})`;
  count(`worker ${op.variant}`);
  const thread = new Worker(workerScript, {
    workerData: { variant: op.variant, fd, color: handle?.endpoint.color ?? 0x21 },
  });
  run.workers.add(thread);
  const messages: WorkerMessage[] = [];
  thread.on('message', (message: WorkerMessage) => messages.push(message));
  thread.on('error', (error: unknown) => messages.push({ type: 'error', error: { message: String(error) } }));
  let exitCode: number | undefined;
  const exited = new Promise<number>((resolve) =>
    thread.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const next = async (type: string): Promise<WorkerMessage> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = messages.find((message) => message.type === type);
      if (found !== undefined) return found;
      const error = messages.find((message) => message.type === 'error');
      if (error !== undefined) run.fail(`${label}: the worker failed: ${show(error.error)}`);
      if (exitCode !== undefined) run.fail(`${label}: the worker exited (${exitCode}) before '${type}'`);
      if (Date.now() > deadline) run.fail(`hang: ${label} sent no '${type}' within 15 s`);
      await delay(5);
    }
  };
  const ended = async (): Promise<number> => {
    const code = await Promise.race([exited, delay(15_000).then(() => undefined)]);
    if (code === undefined) run.fail(`hang: ${label} did not exit within 15 s`);
    return code;
  };
  const gone = async (fds: [number, number], links: [string | null, string | null], what: string): Promise<void> => {
    // The worker's Sockets are closed with it (a close another thread's wait defers completes once it lets go).
    const deadline = Date.now() + SETTLE_MS;
    const open = (): number[] => fds.filter((n, i) => links[i] !== null && linkOf(n) === links[i]);
    while (open().length > 0 && Date.now() < deadline) await delay(5);
    if (open().length > 0) run.fail(`${label}: ${what}, but its descriptors ${open().join(', ')} are still open`);
  };
  try {
    if (usesMain) {
      const adopt = await next('adopt-owned');
      if (!(adopt.error?.ctor === 'TypeError' && adopt.error.code === 'ERR_INVALID_ARG_VALUE')) {
        run.fail(
          `${label}: Socket.fromFd(${fd}) in a worker, while ${handle?.label} owns it here, must throw ERR_INVALID_ARG_VALUE; ` +
            `it ${adopt.error ? `threw ${show(adopt.error)}` : 'made an owner'}`,
        );
      }
      if (op.variant === 'adopt') {
        await next('waiting');
        await run.snapshot();
        // Bytes arrive as it is terminated: its poll handle fires while its environment goes away.
        feedFromPeer(run, handle as SocketHandle, 12);
        await thread.terminate();
        await ended();
        run.note(`${label}: terminated while waiting`);
      } else {
        await next('done');
        const code = await ended();
        if (code !== 0) run.fail(`${label}: the worker exited with ${code}`);
        run.note(`${label}: exited 0`);
      }
      // Terminating or ending a worker never closes what it does not own (checked: the number still names it).
      await run.checkpoint(label);
      if ((handle as SocketHandle).socket.fd !== fd) run.fail(`${label}: ${handle?.label} lost its fd`);
      return;
    }
    const owned = await next('owned');
    const fds = owned.fds as [number, number];
    const links = owned.links as [string | null, string | null];
    fds.forEach((n) => run.remember(n));
    const [ea] = run.pairEndpoints();
    if (op.variant === 'own-and-exit') {
      const code = await ended();
      if (code !== 0) run.fail(`${label}: the worker exited with ${code}`);
      await gone(fds, links, 'it exited');
      return;
    }
    // Ownership is process-wide: this thread cannot own what the worker owns.
    for (const n of fds) {
      const outcome = attempt(() => Socket.fromFd(n));
      run.note(`Socket.fromFd(${n}) of the worker's fd ${showOutcome(outcome)}`);
      if (!(
        !outcome.ok &&
        outcome.error instanceof TypeError &&
        (outcome.error as { code?: unknown }).code === 'ERR_INVALID_ARG_VALUE'
      )) {
        if (outcome.ok) run.wronglyOwned.push({ socket: outcome.value as Socket, link: linkOf(n) });
        run.fail(
          `${label}: Socket.fromFd(${n}) here, while the worker owns it, must throw ERR_INVALID_ARG_VALUE; it ${showOutcome(outcome)}`,
        );
      }
    }
    if (op.variant === 'own-pair-sysclose') {
      // The main thread closes the worker's descriptor behind its back and gets the number again:
      // the worker's teardown must not close the new socket.
      const n = fds[0];
      run.call(`sys.close(${n}) of the worker's fd`, false, () => sys.close(n));
      makePair(run, { type: 'stream' });
      await run.snapshot();
      await thread.terminate();
      await ended();
      await gone([fds[1], fds[1]], [links[1], links[1]], 'it was terminated');
      await run.checkpoint(`${label}: terminated`);
      return;
    }
    const sharedOutcome = run.call(`Socket.fromFd(${fds[0]}, { owned: false }) of the worker's fd`, false, () =>
      Socket.fromFd(fds[0], { owned: false }),
    );
    if (!sharedOutcome.ok) return;
    const sharer = run.addSocket(sharedOutcome.value as Socket, 'shared-from-worker', ea, { foreign: true });
    sharer.owned = false;
    if (op.variant === 'own-pair') {
      await run.callAsync(
        `${sharer.label}.waitReadable()`,
        sharer,
        false,
        'background',
        undefined,
        () => sharer.socket.waitReadable(),
        () => undefined,
      );
    }
    await run.snapshot();
    await thread.terminate();
    await ended();
    run.note(`${label}: terminated`);
    await gone(fds, links, 'it was terminated');
    await run.checkpoint(`${label}: terminated`);
    // Its number is handed out again: the main thread's sharer must not reach the new socket.
    await reuseNumber(run, sharer, fds[0], op.t % 2 === 0 ? 'pair' : 'sys');
  } finally {
    await thread.terminate();
    run.workers.delete(thread);
  }
}

// ---- a run: set up, operations, tear down -------------------------------------------------------------

async function setUp(run: Run): Promise<void> {
  const { setup, timeouts } = run.scenario;
  if (setup === 'tcp4' || setup === 'tcp6') {
    const host = setup === 'tcp4' ? '127.0.0.1' : '::1';
    const server = Server.listen({ host });
    run.addServer(server, `server-${setup}`);
    const client = Socket.connectSync({ host, port: server.port });
    const [ec, ep] = run.pairEndpoints();
    run.addSocket(client, `${setup}-client`, ec);
    const accepted = server.accept();
    if (accepted.kind !== 'socket') throw new Error(`setup: accept gave ${show(accepted)}`);
    run.addSocket(accepted.socket, `${setup}-peer`, ep);
  } else if (setup === 'tcp-async') {
    const server = Server.listen({ host: '127.0.0.1' });
    run.addServer(server, 'server-tcp4');
    const accepting = server.acceptAsync({ timeout: 5000 });
    const client = await Socket.connect({ host: '127.0.0.1', port: server.port, timeout: 5000 });
    const accepted = await accepting;
    if (accepted.kind !== 'socket') throw new Error(`setup: acceptAsync gave ${show(accepted)}`);
    const [ec, ep] = run.pairEndpoints();
    run.addSocket(client, 'tcp-async-client', ec);
    run.addSocket(accepted.socket, 'tcp-async-peer', ep);
  } else if (setup === 'udp') {
    const a = Socket.udp({ bind: { host: '127.0.0.1', port: 0 } });
    run.addSocket(a, 'udp-IPv4', run.endpoint(true));
    const b = Socket.udp({
      bind: { host: '127.0.0.1', port: 0 },
      connect: { host: '127.0.0.1', port: a.localAddress().port },
    });
    run.addSocket(b, 'udp-IPv4-connected', run.endpoint(true));
    const c = Socket.udp({ family: 'IPv6', bind: { host: '::1', port: 0 } });
    run.addSocket(c, 'udp-IPv6', run.endpoint(true));
  } else {
    const type = setup.slice('unix-'.length) as 'stream' | 'dgram' | 'seqpacket';
    const [a, b] = Socket.pair({ type });
    const [ea, eb] = run.pairEndpoints();
    run.addSocket(a, `unix-${type}`, ea);
    run.addSocket(b, `unix-${type}`, eb);
  }
  if (timeouts) {
    for (const handle of run.sockets) {
      handle.socket.setReceiveTimeout(15);
      handle.socket.setSendTimeout(15);
    }
  }
  run.note(
    `setup ${setup}${timeouts ? ' (15 ms timeouts)' : ''}: ${run
      .handles()
      .map((h) => `${h.label} fd ${run.fdOf(h)}`)
      .join(', ')}`,
  );
}

/** Closes everything; nothing may hang after that, and every descriptor is given back. */
async function tearDown(run: Run, before: Map<number, string>): Promise<void> {
  run.index = run.scenario.ops.length;
  run.ending = true;
  for (const thread of run.workers) await thread.terminate();
  await run.snapshot();
  const closeEverything = (): void => {
    for (const handle of run.handles()) {
      const outcome = attempt(() => (handle.kind === 'socket' ? handle.socket.close() : handle.server.close()));
      if (!outcome.ok) {
        const why = undocumented(outcome.error);
        if (why !== undefined) run.report(`${handle.label}.close() at the end threw ${why}`);
      }
    }
    for (const raw of run.raws) if (linkOf(raw.number) === raw.link && raw.link !== undefined) sys.close(raw.number);
  };
  for (const { socket, link } of run.wronglyOwned) {
    if (socket.fd >= 0 && linkOf(socket.fd) === link) attempt(() => socket.close());
    else if (socket.fd >= 0) keepAlive.push(socket);
  }
  closeEverything();
  run.note('closed everything');
  await run.checkpoint('closing everything at the end');
  const pending = run.pendings.filter((p) => !p.settled);
  await Promise.race([Promise.all(pending.map((p) => p.done)), delay(HANG_MS)]);
  const stuck = pending.filter((p) => !p.settled);
  // Calls that settled after the close (a connect, an accept) may have made sockets: closed too.
  closeEverything();
  for (const controller of run.controllers) controller?.abort();
  if (stuck.length > 0) {
    run.fail(
      `hang: ${stuck.map((p) => `${p.label} (op #${p.index})`).join(', ')} still pending ${HANG_MS} ms after every socket was closed`,
    );
  }
  run.assertClean();
  const deadline = Date.now() + 1000;
  while (openFdCount() !== before.size && Date.now() < deadline) await delay(5);
  if (openFdCount() !== before.size) {
    const now = fdTable();
    const added = [...now].filter(([n, link]) => before.get(n) !== link).map(([n, link]) => `${n} -> ${link}`);
    const removed = [...before].filter(([n, link]) => now.get(n) !== link).map(([n, link]) => `${n} -> ${link}`);
    run.fail(
      `descriptor leak: ${now.size} open after the run, ${before.size} before; new: [${added.join(', ')}], gone: [${removed.join(', ')}]`,
    );
  }
}

async function property(scenario: Scenario): Promise<void> {
  beat();
  writeFileSync(INFLIGHT_FILE, `${JSON.stringify({ seed: SEED, scenario: fc.stringify(scenario) })}\n`);
  const before = fdTable();
  const run = new Run(scenario);
  let failure: unknown;
  try {
    await setUp(run);
    await run.snapshot();
    run.checkHandles('setup');
    for (const [index, op] of scenario.ops.entries()) {
      run.index = index;
      run.lastSignal = undefined;
      count('operations');
      beat();
      await run.snapshot();
      await execute(run, op);
      await run.checkpoint(`op #${index} (${op.op})`);
    }
  } catch (error) {
    failure = error;
  }
  const failedAt = failure === undefined ? scenario.ops.length : run.index;
  try {
    await tearDown(run, before);
  } catch (error) {
    failure ??= error;
  }
  if (failure === undefined) return;
  const at =
    failedAt < 0
      ? 'the setup'
      : failedAt < scenario.ops.length
        ? `op #${failedAt} ${fc.stringify(scenario.ops[failedAt])}`
        : 'the end of the run';
  const message =
    failure instanceof Error
      ? failure instanceof Violation
        ? failure.message
        : (failure.stack ?? failure.message)
      : show(failure);
  throw new Error(`${message}\n  at ${at}\n  setup ${scenario.setup}; last steps:\n    ${run.trace.join('\n    ')}`);
}

/** One of everything a run may use for the first time, so that lazily opened descriptors are not counted as leaks. */
async function warmUp(): Promise<void> {
  const run = new Run({ setup: 'unix-stream', timeouts: false, ops: [] });
  for (const setup of ['tcp4', 'tcp6', 'tcp-async', 'udp', 'unix-seqpacket'] as const) {
    const warm = new Run({ setup, timeouts: false, ops: [] });
    await setUp(warm);
    for (const handle of warm.handles()) (handle.kind === 'socket' ? handle.socket : handle.server).close();
  }
  for (const host of ['localhost', 'no-such-host.invalid']) {
    await Socket.connect({ host, port: CLOSED_PORT, timeout: 5000 }).then(
      (socket) => socket.close(),
      () => undefined,
    );
  }
  await worker(run, { op: 'worker', variant: 'own-and-exit', t: 0 });
}

/**
 * The watchdog: a thread that kills this process when its event loop has not moved for
 * WATCHDOG_MS. Every wait here is bounded, so that only happens when a system call blocks the
 * thread for good (a blocking recv the fuzzer wrongly thought safe, or a library call that
 * blocks where it must not): the file then fails loudly, with the seed and the in-flight
 * operations, instead of hanging the suite.
 */
const WATCHDOG_MS = 60_000;
const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const { readFileSync, writeSync } = require('node:fs');
const beat = new Int32Array(workerData.heartbeat);
let last = Atomics.load(beat, 0);
let since = Date.now();
setInterval(() => {
  const now = Atomics.load(beat, 0);
  if (now !== last) {
    last = now;
    since = Date.now();
    return;
  }
  if (Date.now() - since < workerData.limit) return;
  let inflight = '';
  try { inflight = readFileSync(workerData.file, 'utf8'); } catch {}
  writeSync(2, '\\n60.fuzz WATCHDOG: the test thread has been blocked for ' + workerData.limit + ' ms (a system call that ' +
    'never returns). Seed ' + workerData.seed + '; the run in flight (replay with FUZZ_REPLAY=' + workerData.file + '):\\n' + inflight + '\\n');
  process.kill(process.pid, 'SIGKILL');
}, 1000);
`;
const heartbeat = new Int32Array(new SharedArrayBuffer(4));

function beat(): void {
  Atomics.add(heartbeat, 0, 1);
}

describe.runIf(LINUX)('fuzz: random operation sequences on every socket kind', () => {
  let dir: ReturnType<typeof tempDir> | undefined;
  let watchdog: Worker | undefined;
  let socketFilesBefore: string[] = [];

  beforeAll(async () => {
    watchdog = new Worker(WATCHDOG_SOURCE, {
      eval: true,
      workerData: { heartbeat: heartbeat.buffer, limit: WATCHDOG_MS, file: INFLIGHT_FILE, seed: SEED },
    });
    watchdog.unref();
    ensureDist();
    dir = tempDir('rawrecv-fuzz-');
    unixDir = join(dir.path, 'unix');
    mkdirSync(unixDir);
    socketFilesBefore = socketFilesHere();
    workerScript = new URL(`file://${writeModule(dir.path, 'fuzz-worker.mjs', WORKER_SOURCE)}`);
    CLOSED_PORT = closedPort();
    await warmUp();
    process.stderr.write(
      `60.fuzz: seed ${SEED}${PATH ? `, path ${PATH}` : ''}, ${RUNS} runs (replay: FUZZ_SEED=${SEED}); ` +
        `each run's operations are written to ${INFLIGHT_FILE} before it starts\n`,
    );
  }, 120_000);

  afterAll(async () => {
    await watchdog?.terminate();
    dir?.remove();
    rmSync(INFLIGHT_FILE, { force: true });
  });

  const budget = Math.max(600_000, RUNS * 5000);
  afterAll(() => {
    const lines = [...stats]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, n]) => `  ${String(n).padStart(8)}  ${key}`);
    process.stderr.write(`60.fuzz coverage (seed ${SEED}):\n${lines.join('\n')}\n`);
  });

  it(
    `holds every invariant over ${RUNS} runs of up to ${MAX_OPS} operations (seed ${SEED})`,
    async () => {
      if (REPLAY !== undefined) {
        // fast-check's printed form of the scenario is a JavaScript expression.
        const { scenario } = JSON.parse(readFileSync(REPLAY, 'utf8')) as { scenario: string };
        await property(runInThisContext(`(${scenario})`) as Scenario);
        return;
      }
      await fc.assert(fc.asyncProperty(scenarioArb, property), {
        seed: SEED,
        numRuns: RUNS,
        ...(PATH === undefined ? {} : { path: PATH }),
        timeout: 120_000,
        plugins: [fc.interruptAfterTimeLimit(budget - 60_000, { failOnInterrupt: true })],
      });
    },
    budget,
  );

  it("an AF_UNIX sys.bind to a host such as 'localhost' or '::1' makes its file in the fuzzer's folder", () => {
    for (const host of ['localhost', '::1', '127.0.0.1']) {
      const args: unknown[] = [constants.AF.UNIX, host, 0];
      unixPathArgs('bind', args);
      expect(args[1]).toBe(join(unixDir, host));
      const fd = sys.socket(constants.AF.UNIX, constants.SOCK.DGRAM, 0);
      try {
        expect(sys.bind(fd, constants.AF.UNIX, args[1] as string, 0)).toBe(0);
        expect(lstatSync(join(unixDir, host)).isSocket()).toBe(true);
      } finally {
        sys.close(fd);
        rmSync(join(unixDir, host));
      }
    }
    // Abstract names and the empty path make no file, and are left as they are; so are IP families.
    for (const args of [
      [constants.AF.UNIX, '\0x', 0],
      [constants.AF.UNIX, '', 0],
      [constants.AF.INET, 'localhost', 0],
    ]) {
      const before = [...args];
      unixPathArgs('bind', args);
      expect(args).toEqual(before);
    }
    const sendto: unknown[] = [null, 0, 0, 0, constants.AF.UNIX, '::1', 0];
    unixPathArgs('sendto', sendto);
    expect(sendto[5]).toBe(join(unixDir, '::1'));
  });

  it('made no socket file in the working directory (AF_UNIX binds go to its own folder)', () => {
    expect(socketFilesHere().filter((name) => !socketFilesBefore.includes(name))).toEqual([]);
  });
});
