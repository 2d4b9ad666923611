// Loopback TCP bulk: one C sender for every row (recv-bench send, a child process) connects to the
// receiver, waits for its one-byte go signal, sends the round's bytes as fast as send() takes them
// and closes. Each receiver reads into 64 KiB until EOF.
//
// A round's figure is the receive cost: MB received per CPU-second of the receiving process
// (user + system, all its threads: GC caused by a receiver's allocations counts). Wall-clock
// MB/s cannot be it: on loopback the rate is bounded by the slower end, the one C sender, so a
// receiver twice as cheap as another shows the same MB/s as soon as both keep up; and on shared
// cores it moves with the load. MB/s is shown beside it, for the whole round and for its
// fastest sixteenth (Slices: a busy machine only ever slows a stretch down).
//
// Sync rows: blocking recv with a 10 s receive timeout. Async rows: the socket set non-blocking
// (as event-loop code keeps it), recvIntoAsync / for await / iterateInto until EOF.
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { setTimeout, clearTimeout } from 'node:timers';

import {
  C_BINARY,
  CHILD_TIMEOUT_MS,
  IO_TIMEOUT_MS,
  PYTHON_SCRIPT,
  cpuNsSince,
  notAvailable,
  row,
  runRounds,
  skipped,
  sleepMs,
  standardTable,
  startChild,
  startListening,
  summarize,
} from './common.js';

const RECV_BUFFER_BYTES = 64 * 1024;
const C_LOOP = 'C recv() loop';
const NET = "node:net 'data' events";
const TARGETS = { recvIntoAsync: 0.9, iterator: 2 };
const SLICES = 16;

/** Bytes per slice: a sixteenth of the round, at least 256 KiB (four full 64 KiB reads). */
const sliceBytesOf = (total) => Math.max(256 * 1024, Math.floor(total / SLICES));

/**
 * The fastest slice of a round: bytes per second between boundaries `sliceBytes` apart. A
 * receive loop compares its byte count with `next` after each call and calls `passed` when it
 * crosses it, so the clock is read once a slice, not once a call.
 */
class Slices {
  constructor(sliceBytes) {
    this.sliceBytes = sliceBytes;
    this.next = sliceBytes;
    this.from = 0;
    this.start = process.hrtime.bigint();
    this.fastest = 0;
  }

  passed(bytes) {
    const now = process.hrtime.bigint();
    this.fastest = Math.max(this.fastest, ((bytes - this.from) * 1e9) / Number(now - this.start));
    this.start = now;
    this.from = bytes;
    this.next = bytes + this.sliceBytes;
  }
}

function acceptBounded(server) {
  server.setBlocking(false);
  const deadline = Date.now() + IO_TIMEOUT_MS;
  for (;;) {
    const result = server.accept();
    if (result.kind === 'socket') return result.socket;
    if (result.kind !== 'would-block' && result.kind !== 'interrupted') {
      throw new Error(`accept: ${result.code} (${result.errno})`);
    }
    if (Date.now() > deadline) throw new Error(`the C sender did not connect within ${IO_TIMEOUT_MS} ms`);
    sleepMs(1);
  }
}

function receiveSys(sys, socket, buffer, eintr, slices) {
  const fd = socket.fd;
  let bytes = 0;
  for (;;) {
    const ret = sys.recv(fd, buffer, 0, buffer.byteLength, 0);
    if (ret > 0) {
      bytes += ret;
      if (bytes >= slices.next) slices.passed(bytes);
    } else if (ret === 0) return bytes;
    else if (ret !== eintr) throw new Error(`sys.recv returned ${ret}`);
  }
}

function receiveRecv(socket, slices) {
  let bytes = 0;
  for (;;) {
    const result = socket.recv(RECV_BUFFER_BYTES);
    if (result.kind === 'data') {
      bytes += result.bytesRead;
      if (bytes >= slices.next) slices.passed(bytes);
    } else if (result.kind === 'eof') return bytes;
    else if (result.kind !== 'interrupted') throw new Error(`Socket.recv: ${result.kind} ${result.code}`);
  }
}

function receiveRecvInto(socket, buffer, slices) {
  let bytes = 0;
  for (;;) {
    const result = socket.recvInto(buffer);
    if (result.kind === 'data') {
      bytes += result.bytesRead;
      if (bytes >= slices.next) slices.passed(bytes);
    } else if (result.kind === 'eof') return bytes;
    else if (result.kind !== 'interrupted') throw new Error(`Socket.recvInto: ${result.kind} ${result.code}`);
  }
}

async function receiveRecvIntoAsync(socket, buffer, slices) {
  let bytes = 0;
  for (;;) {
    const result = await socket.recvIntoAsync(buffer);
    if (result.kind === 'data') {
      bytes += result.bytesRead;
      if (bytes >= slices.next) slices.passed(bytes);
    } else if (result.kind === 'eof') return bytes;
    else if (result.kind !== 'interrupted') throw new Error(`Socket.recvIntoAsync: ${result.kind} ${result.code}`);
  }
}

async function receiveIterator(socket, slices) {
  let bytes = 0;
  for await (const chunk of socket) {
    bytes += chunk.length;
    if (bytes >= slices.next) slices.passed(bytes);
  }
  return bytes;
}

async function receiveIterateInto(socket, buffer, slices) {
  let bytes = 0;
  for await (const view of socket.iterateInto(buffer)) {
    if (view.buffer !== buffer.buffer) throw new Error('iterateInto yielded a view of another buffer');
    bytes += view.length;
    if (bytes >= slices.next) slices.passed(bytes);
  }
  return bytes;
}

/** A rawrecv receiver in this process: listen, start the sender, accept, go, receive until EOF. */
async function throughputInProcess(Server, total, receive, { async = false } = {}) {
  const slices = new Slices(sliceBytesOf(total));
  const server = Server.listen({ host: '127.0.0.1', port: 0 });
  let sender;
  try {
    sender = startChild(C_BINARY, ['send', String(server.port), String(total)]);
    const socket = acceptBounded(server);
    let result;
    try {
      // Sync rows block (BSDs let an accepted socket inherit O_NONBLOCK), with a receive timeout so
      // a stalled sender ends in 'timeout', not a hang; async rows never block, and the sender's
      // kill timer bounds them (its close is an EOF).
      socket.setBlocking(!async);
      if (!async) socket.setReceiveTimeout(IO_TIMEOUT_MS);
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      slices.start = start;
      const go = socket.send('g');
      if (go.kind !== 'sent') throw new Error(`send(go): ${go.kind} ${go.code}`);
      const bytes = await receive(socket, slices);
      const ns = Number(process.hrtime.bigint() - start);
      result = { bytes, ns, cpuNs: cpuNsSince(cpu), fastestSlice: slices.fastest };
    } finally {
      socket.close();
    }
    await sender.done;
    return result;
  } catch (error) {
    sender?.kill();
    throw error;
  } finally {
    server.close();
  }
}

/** A receiver in a child process that prints its port (the C loop, CPython) and reports bytes, ns, cpuNs. */
async function throughputChild(command, args, total) {
  const receiver = await startListening(command, [...args, String(sliceBytesOf(total))]);
  let sender;
  try {
    sender = startChild(C_BINARY, ['send', String(receiver.port), String(total)]);
    const [received] = await Promise.all([receiver.done, sender.done]);
    return received;
  } catch (error) {
    receiver.kill();
    sender?.kill();
    throw error;
  }
}

/** node:net: a net.Server counting the bytes of its 'data' events. */
function throughputNet(total) {
  return new Promise((resolve, reject) => {
    const connections = new Set();
    let sender;
    let settled = false;
    let bytes = 0;
    const finish = (error, result) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      server.close();
      for (const socket of connections) socket.destroy();
      if (error) {
        sender?.kill();
        reject(error);
      } else resolve(result);
    };
    const timer = setTimeout(
      () => finish(new Error(`node:net receiver timed out after ${CHILD_TIMEOUT_MS} ms`)),
      CHILD_TIMEOUT_MS,
    );
    const slices = new Slices(sliceBytesOf(total));
    const server = net.createServer((socket) => {
      connections.add(socket);
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      slices.start = start;
      socket.on('data', (chunk) => {
        bytes += chunk.length;
        if (bytes >= slices.next) slices.passed(bytes);
      });
      socket.on('end', () => {
        const ns = Number(process.hrtime.bigint() - start);
        const result = { bytes, ns, cpuNs: cpuNsSince(cpu), fastestSlice: slices.fastest };
        sender.done.then(() => finish(null, result), finish);
      });
      socket.on('error', finish);
      socket.write('g');
    });
    server.on('error', finish);
    server.listen(0, '127.0.0.1', () => {
      sender = startChild(C_BINARY, ['send', String(server.address().port), String(total)]);
      sender.done.catch(finish);
    });
  });
}

export async function streamSection({ Server, sys, constants }, options, { python, features }) {
  const buffer = Buffer.alloc(RECV_BUFFER_BYTES);
  const eintr = -constants.errno.EINTR;
  /** A row's run: receive `total` bytes, check the count, and report MB/s and CPU ms per GB. */
  const measured = (receive) => async (warmUp) => {
    const total = (warmUp ? options.warmUpMebibytes : options.mebibytes) * 2 ** 20;
    const { bytes, ns, cpuNs, fastestSlice } = await receive(total);
    if (bytes !== total) throw new Error(`received ${bytes} bytes, the sender sent ${total}`);
    const whole = bytes / (ns / 1e9);
    return {
      value: bytes / (cpuNs / 1e9) / 1e6,
      // No slice boundary crossed (a tiny round): the whole round.
      fastestSliceMegabytesPerSecond: (fastestSlice > 0 ? fastestSlice : whole) / 1e6,
      wholeRoundMegabytesPerSecond: whole / 1e6,
    };
  };
  const inProcess = (receive, flags) => measured((total) => throughputInProcess(Server, total, receive, flags));
  const section = {
    id: 'stream',
    title: `loopback TCP bulk: C sender, ${options.mebibytes} MiB a round into one 64 KiB buffer: MB received per CPU-second of the receiver (vs X = row / X)`,
    unit: 'MB/CPU-s',
    better: 'higher',
    rowHeader: 'receiver',
    anchors: [
      { name: C_LOOP, label: 'C' },
      { name: NET, label: 'net' },
    ],
    rows: [
      row(
        C_LOOP,
        measured((total) => throughputChild(C_BINARY, ['recv'], total)),
      ),
      python
        ? row(
            'Python recv_into() loop',
            measured((total) => throughputChild('python3', [PYTHON_SCRIPT, 'recv'], total)),
          )
        : skipped('Python recv_into() loop', 'python3 is not installed'),
      row(
        'sys.recv',
        inProcess((s, slices) => receiveSys(sys, s, buffer, eintr, slices)),
      ),
      row('Socket.recv(65536)', inProcess(receiveRecv)),
      row(
        'Socket.recvInto(buf)',
        inProcess((s, slices) => receiveRecvInto(s, buffer, slices)),
      ),
      row(
        'recvIntoAsync(buf)',
        inProcess((s, slices) => receiveRecvIntoAsync(s, buffer, slices), { async: true }),
        { targets: [{ anchor: C_LOOP, min: TARGETS.recvIntoAsync }] },
      ),
      row('for await (chunk of socket)', inProcess(receiveIterator, { async: true }), {
        targets: [{ anchor: NET, min: TARGETS.iterator }],
      }),
      features.iterateInto
        ? row(
            'socket.iterateInto(buf)',
            inProcess((s, slices) => receiveIterateInto(s, buffer, slices), { async: true }),
            { targets: [{ anchor: NET, min: TARGETS.iterator }] },
          )
        : notAvailable('socket.iterateInto(buf)', 'iterateInto', { targets: [{ anchor: NET, min: TARGETS.iterator }] }),
      row(NET, measured(throughputNet)),
    ],
  };
  await runRounds(section.rows, options.rounds, { runArgs: (warmUp) => [warmUp] });
  const summary = summarize(section);
  const text = standardTable(section, summary, {
    columns: [
      { header: `MB/s, fastest 1/${SLICES}`, get: (r) => r.fastestSliceMegabytesPerSecond.toFixed(0) },
      { header: 'MB/s, whole round', get: (r) => r.wholeRoundMegabytesPerSecond.toFixed(0) },
    ],
  });
  return {
    summary,
    text: `${text}\n  MB/CPU-s: bytes received per second of CPU time (user + system) of the receiving process; MB/s is bounded by the one C sender.`,
  };
}
