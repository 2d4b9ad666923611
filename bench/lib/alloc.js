// Allocation per call, measured in this process without flags:
//
// - JS heap bytes: one warm-up pass, a full GC (gc() exposed at run time), then v8.GCProfiler
//   around the calls. Allocated = used after - used before + what every GC in the window freed
//   (its used size before - after), so scavenges in the window hide nothing. Code spaces are
//   left out: the JIT compiling the loop is not the call's allocation.
// - External bytes (ArrayBuffer backing stores, e.g. a Buffer.allocUnsafe(1 MiB)): the delta
//   of process.memoryUsage().arrayBuffers (Node's allocator's own count) over a short window
//   of calls in which no GC ran (GC frees backing stores later, on a background thread, so
//   they cannot be added back as above); retried shorter if one did.
// - Scavenges per million calls, from the same profiler.
import { Buffer } from 'node:buffer';
import v8 from 'node:v8';
import vm from 'node:vm';

import { formatTable, runRounds, row, sleepMs, summarize, targetText } from './common.js';
import { idleConnection, WOULD_BLOCK_LENGTH } from './wouldblock.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const KIB = 1024;
const BATCH_BYTES = 64 * KIB; // refilled by one sys.send, then drained by 64 recv calls of 1 KiB
const MIB = 1024 * KIB;
const ZERO = 0.5; // "0 B per call": under half a byte, i.e. only the measuring's own few hundred bytes per window
const SMALL_OBJECT = 96; // "one small object": a JS object of up to 9 fields (a result and a Buffer view are ~170 B)
const EXTERNAL_CALLS = 16;

/** Used bytes of the heap spaces that hold objects (not code: the JIT compiling the loop is not the call's). */
function usedObjectBytes(spaces) {
  let used = 0;
  for (const space of spaces) {
    const name = space.space_name ?? space.spaceName;
    if (!name.startsWith('code')) used += space.space_used_size ?? space.spaceUsedSize;
  }
  return used;
}

function heapAllocation(body, calls) {
  body(calls); // warm-up: the JIT, feedback, inline caches
  gc();
  const profiler = new v8.GCProfiler();
  profiler.start();
  const before = usedObjectBytes(v8.getHeapSpaceStatistics());
  const start = process.hrtime.bigint();
  body(calls);
  const ns = Number(process.hrtime.bigint() - start);
  const after = usedObjectBytes(v8.getHeapSpaceStatistics());
  const { statistics } = profiler.stop();
  let bytes = after - before;
  let scavenges = 0;
  for (const event of statistics) {
    bytes += usedObjectBytes(event.beforeGC.heapSpaceStatistics) - usedObjectBytes(event.afterGC.heapSpaceStatistics);
    if (event.gcType === 'Scavenge') scavenges++;
  }
  return { bytesPerCall: bytes / calls, scavengesPerMillion: (scavenges * 1e6) / calls, nsPerCall: ns / calls };
}

function externalAllocation(body) {
  for (let calls = EXTERNAL_CALLS; calls >= 1; calls >>= 1) {
    gc();
    sleepMs(20); // the backing stores that GC freed are released by a background thread: let it finish
    const profiler = new v8.GCProfiler();
    profiler.start();
    const before = process.memoryUsage().arrayBuffers;
    body(calls);
    const after = process.memoryUsage().arrayBuffers;
    if (profiler.stop().statistics.length === 0) return Math.max(0, after - before) / calls;
  }
  throw new Error('every window of external allocation had a GC in it');
}

function measure(body, calls) {
  const { bytesPerCall, scavengesPerMillion, nsPerCall } = heapAllocation(body, calls);
  return { value: bytesPerCall, externalBytesPerCall: externalAllocation(body), scavengesPerMillion, nsPerCall };
}

function expect(condition, what) {
  if (!condition) throw new Error(what);
}

export async function allocationSection(rawrecv, options) {
  const { sys, Socket, constants } = rawrecv;
  const eagain = -constants.errno.EAGAIN;
  const connection = idleConnection(rawrecv);
  const { client } = connection;
  const fd = client.fd;
  const small = Buffer.alloc(WOULD_BLOCK_LENGTH);
  const [receiver, peer] = Socket.pair();
  receiver.setBlocking(false);
  const chunk = Buffer.alloc(KIB);
  const batch = Buffer.alloc(BATCH_BYTES, 7);
  const calls = options.allocCalls;

  /** One sys.send of 64 KiB into the pair (0 B: sys returns numbers), so the next 64 recv calls get data. */
  const refill = () => {
    for (let sent = 0; sent < BATCH_BYTES;) {
      const ret = sys.send(peer.fd, batch, sent, BATCH_BYTES - sent, 0);
      expect(ret > 0, `sys.send returned ${ret}`);
      sent += ret;
    }
  };
  const batches = (n, drain) => {
    for (let done = 0; done < n; done += BATCH_BYTES / KIB) {
      refill();
      drain();
    }
  };
  const bodies = {
    sysWouldBlock: (n) => {
      for (let i = 0; i < n; i++) expect(sys.recv(fd, small, 0, WOULD_BLOCK_LENGTH, 0) === eagain, 'sys.recv');
    },
    recvWouldBlock: (n) => {
      for (let i = 0; i < n; i++) expect(client.recv(WOULD_BLOCK_LENGTH).kind === 'would-block', 'Socket.recv');
    },
    recvIntoWouldBlock: (n) => {
      for (let i = 0; i < n; i++) expect(client.recvInto(small).kind === 'would-block', 'Socket.recvInto');
    },
    recvMebibyteWouldBlock: (n) => {
      for (let i = 0; i < n; i++) expect(client.recv(MIB).kind === 'would-block', 'Socket.recv(1 MiB)');
    },
    sysData: (n) =>
      batches(n, () => {
        for (let i = 0; i < BATCH_BYTES / KIB; i++) expect(sys.recv(receiver.fd, chunk, 0, KIB, 0) === KIB, 'sys.recv');
      }),
    recvIntoData: (n) =>
      batches(n, () => {
        for (let i = 0; i < BATCH_BYTES / KIB; i++) expect(receiver.recvInto(chunk).bytesRead === KIB, 'recvInto');
      }),
  };
  const heapTarget = { max: ZERO, unit: 'B/call' };
  const externalTarget = { of: 'externalBytesPerCall', max: ZERO, unit: 'external B/call' };
  const run =
    (body, n = calls) =>
    () =>
      measure(body, n);
  const section = {
    id: 'alloc',
    title: `allocation per call (${calls} calls a window; JS heap via v8.GCProfiler, external: ArrayBuffer bytes)`,
    unit: 'heap B/call',
    better: 'lower',
    anchors: [],
    rows: [
      row('sys.recv, would-block (0 B reference)', run(bodies.sysWouldBlock)),
      row('Socket.recv(64), would-block', run(bodies.recvWouldBlock), { targets: [heapTarget] }),
      row('Socket.recvInto(buf), would-block', run(bodies.recvIntoWouldBlock), { targets: [heapTarget] }),
      row('Socket.recv(1 MiB), would-block', run(bodies.recvMebibyteWouldBlock, Math.max(100, calls / 10)), {
        targets: [heapTarget, externalTarget],
      }),
      row('sys.recv, 1 KiB data (0 B reference)', run(bodies.sysData)),
      row('Socket.recvInto(1 KiB), data', run(bodies.recvIntoData), {
        targets: [{ max: SMALL_OBJECT, unit: 'B/call' }],
      }),
    ],
  };
  try {
    await runRounds(section.rows, options.rounds, { warmUp: 0 });
  } finally {
    connection.close();
    receiver.close();
    peer.close();
  }
  const summary = summarize(section);
  const byName = new Map(summary.rows.map((r) => [r.name, r]));
  const recvIntoNs = byName.get('Socket.recvInto(buf), would-block')?.nsPerCall;
  const header = ['row', 'heap B/call', 'external B/call', 'scavenges/1M', 'ns/call', 'target'];
  const lines = summary.rows.map((r) => {
    const ns = r.nsPerCall.toFixed(0);
    const versus =
      r.name === 'Socket.recv(1 MiB), would-block' && recvIntoNs
        ? ` (${(r.nsPerCall / recvIntoNs).toFixed(2)}x recvInto's)`
        : '';
    return [
      r.name,
      r.median.toFixed(1),
      r.externalBytesPerCall.toFixed(1),
      r.scavengesPerMillion.toFixed(0),
      `${ns}${versus}`,
      targetText(section, r),
    ];
  });
  if (recvIntoNs) {
    const mebibyte = byName.get('Socket.recv(1 MiB), would-block');
    summary.recvMebibyteTimeVsRecvInto = mebibyte.nsPerCall / recvIntoNs;
  }
  const text = [
    section.title,
    ...formatTable(header, lines),
    `  data rows: ns/call includes one sys.send of 64 KiB per 64 calls; "0 B" is < ${ZERO} B/call, "one small object" <= ${SMALL_OBJECT} B/call`,
  ].join('\n');
  return { summary, text };
}
