// Would-block recv: ns per call on an idle connected loopback TCP socket with O_NONBLOCK, a
// 64-byte recv that fails with EAGAIN every time (each result is checked). One function per
// row, so each call site stays monomorphic. A round's figure is a row's fastest slice of its
// calls, and the in-process rows take turns slice by slice (runInterleaved), so that the ratios
// to the minimal N-API binding hold on a busy machine.
import { Buffer } from 'node:buffer';

import { C_BINARY, PYTHON_SCRIPT, row, runSync, skipped, standardTable, summarize } from './common.js';

export const WOULD_BLOCK_LENGTH = 64;
export const FLOOR = 'minimal N-API recv';
const C_LOOP = 'C recv() loop';
const TARGETS = { typed: 0.95, sys: 0.98 };
const SLICES = 40;

function elapsedPerCall(start, calls, unexpected, what) {
  const ns = Number(process.hrtime.bigint() - start) / calls;
  if (unexpected !== 0) throw new Error(`${what}: ${unexpected} of ${calls} calls were not would-block`);
  return ns;
}

function wouldBlockMinimal(recv, fd, buffer, calls, eagain) {
  let unexpected = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) if (recv(fd, buffer, 0, WOULD_BLOCK_LENGTH, 0) !== eagain) unexpected++;
  return elapsedPerCall(start, calls, unexpected, FLOOR);
}

function wouldBlockSys(sys, fd, buffer, calls, eagain) {
  let unexpected = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) if (sys.recv(fd, buffer, 0, WOULD_BLOCK_LENGTH, 0) !== eagain) unexpected++;
  return elapsedPerCall(start, calls, unexpected, 'sys.recv');
}

function wouldBlockRecv(socket, calls) {
  let unexpected = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) if (socket.recv(WOULD_BLOCK_LENGTH).kind !== 'would-block') unexpected++;
  return elapsedPerCall(start, calls, unexpected, 'Socket.recv');
}

function wouldBlockRecvInto(socket, buffer, calls) {
  let unexpected = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) if (socket.recvInto(buffer).kind !== 'would-block') unexpected++;
  return elapsedPerCall(start, calls, unexpected, 'Socket.recvInto');
}

/** The C loop (its own connection, in a child process), optionally with an idle second thread: its fastest slice. */
function wouldBlockC(calls, threaded) {
  const [perSlice, slices] = slicing(calls);
  const args = ['wouldblock', String(perSlice), String(slices), ...(threaded ? ['threaded'] : [])];
  return Math.min(...runSync(C_BINARY, args).nsPerCall);
}

/** CPython's recv(64) raising BlockingIOError: a tenth of the calls (it is about 10x slower), its fastest slice. */
function wouldBlockPython(calls) {
  const [perSlice, slices] = slicing(Math.max(SLICES, Math.round(calls / 10)));
  return Math.min(...runSync('python3', [PYTHON_SCRIPT, 'wouldblock', String(perSlice), String(slices)]).nsPerCall);
}

/** [calls per slice, slices] for `calls` calls a round. */
function slicing(calls) {
  const slices = Math.min(SLICES, calls);
  return [Math.max(1, Math.floor(calls / slices)), slices];
}

/** An in-process row, measured in slices (`measure(n)` makes n calls and returns ns per call). */
function sliced(name, measure, target) {
  return row(name, undefined, { measure, ...(target ? { targets: [target] } : {}) });
}

/**
 * One warm-up round, then `rounds` rounds. Every row makes its calls of a round in SLICES slices
 * and its figure for the round is its fastest slice: interference (other processes, a
 * scheduler tick, an interrupt) only ever adds time, so on a busy machine the fastest slice is
 * the closest to the call's own cost, where a mean or median moves with the load. The rows in
 * other processes (C, Python) time their slices themselves; the in-process rows take turns
 * slice by slice (the order rotating), so a row and its anchor are never far apart in time.
 */
async function runInterleaved(rows, rounds, calls) {
  const active = rows.filter((r) => r.status === 'ok');
  const whole = active.filter((r) => r.measure === undefined);
  const inProcess = active.filter((r) => r.measure !== undefined);
  const [perSlice, slices] = slicing(calls);
  for (let round = -1; round < rounds; round++) {
    for (const r of whole) {
      const { value } = await r.run();
      if (round >= 0) r.rounds.push(value);
    }
    const fastest = inProcess.map(() => Infinity);
    for (let slice = 0; slice < slices; slice++) {
      for (let i = 0; i < inProcess.length; i++) {
        const k = (i + slice) % inProcess.length;
        fastest[k] = Math.min(fastest[k], inProcess[k].measure(perSlice));
      }
    }
    if (round >= 0) inProcess.forEach((r, k) => r.rounds.push(fastest[k]));
  }
}

/** A connected loopback pair from the public API, the client non-blocking. */
export function idleConnection({ Server, Socket }) {
  const server = Server.listen({ host: '127.0.0.1', port: 0 });
  const client = Socket.connectSync({ host: '127.0.0.1', port: server.port });
  const accepted = server.accept();
  if (accepted.kind !== 'socket') throw new Error(`accept: ${accepted.kind} ${accepted.code}`);
  client.setBlocking(false);
  return {
    client,
    close() {
      client.close();
      accepted.socket.close();
      server.close();
    },
  };
}

export async function wouldBlockSection(rawrecv, { minimal }, options, { python }) {
  const { sys, constants } = rawrecv;
  const connection = idleConnection(rawrecv);
  const { client } = connection;
  const fd = client.fd;
  const eagain = -constants.errno.EAGAIN;
  const buffer = Buffer.alloc(WOULD_BLOCK_LENGTH);
  const calls = options.wouldBlockCalls;
  const value = (f) => () => ({ value: f() });
  const section = {
    id: 'wouldblock',
    title: `would-block recv: idle loopback TCP, O_NONBLOCK, ${WOULD_BLOCK_LENGTH}-byte recv, ${calls} calls a round, its fastest of ${SLICES} slices (vs X = X ns / row ns)`,
    unit: 'ns/call',
    better: 'lower',
    anchors: [
      { name: FLOOR, label: 'N-API floor' },
      { name: C_LOOP, label: 'C' },
    ],
    rows: [
      row(
        C_LOOP,
        value(() => wouldBlockC(calls, false)),
      ),
      // The same C loop with an idle second thread: what the kernel part costs in any Node process.
      row(
        'C loop, +1 idle thread',
        value(() => wouldBlockC(calls, true)),
      ),
      python
        ? row(
            'Python recv() loop',
            value(() => wouldBlockPython(calls)),
          )
        : skipped('Python recv() loop', 'python3 is not installed'),
      sliced(FLOOR, (n) => wouldBlockMinimal(minimal.recv, fd, buffer, n, eagain)),
      sliced('sys.recv', (n) => wouldBlockSys(sys, fd, buffer, n, eagain), { anchor: FLOOR, min: TARGETS.sys }),
      sliced('Socket.recv(64)', (n) => wouldBlockRecv(client, n), { anchor: FLOOR, min: TARGETS.typed }),
      sliced('Socket.recvInto(buf)', (n) => wouldBlockRecvInto(client, buffer, n), {
        anchor: FLOOR,
        min: TARGETS.typed,
      }),
    ],
  };
  try {
    await runInterleaved(section.rows, options.rounds, calls);
  } finally {
    connection.close();
  }
  const summary = summarize(section);
  return { summary, text: standardTable(section, summary, { digits: 1 }) };
}
