// Would-block recv: ns per call on an idle connected loopback TCP socket with O_NONBLOCK, a
// 64-byte recv that fails with EAGAIN every time (each result is checked). One function per
// row, so each call site stays monomorphic.
import { Buffer } from 'node:buffer';

import { C_BINARY, PYTHON_SCRIPT, row, runRounds, runSync, skipped, standardTable, summarize } from './common.js';

export const WOULD_BLOCK_LENGTH = 64;
export const FLOOR = 'minimal N-API recv';
const C_LOOP = 'C recv() loop';
const TARGETS = { typed: 0.95, sys: 0.98 };

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

/** The C loop (its own connection, in a child process), optionally with an idle second thread. */
function wouldBlockC(calls, threaded) {
  return runSync(C_BINARY, ['wouldblock', String(calls), '1', ...(threaded ? ['threaded'] : [])]).nsPerCall[0];
}

/** CPython's recv(64) raising BlockingIOError; a tenth of the calls (it is about 20x slower). */
function wouldBlockPython(calls) {
  return runSync('python3', [PYTHON_SCRIPT, 'wouldblock', String(Math.max(100, Math.round(calls / 10))), '1'])
    .nsPerCall[0];
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
    title: `would-block recv: idle loopback TCP, O_NONBLOCK, ${WOULD_BLOCK_LENGTH}-byte recv, ${calls} calls a round (vs X = X ns / row ns)`,
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
      row(
        FLOOR,
        value(() => wouldBlockMinimal(minimal.recv, fd, buffer, calls, eagain)),
      ),
      row(
        'sys.recv',
        value(() => wouldBlockSys(sys, fd, buffer, calls, eagain)),
        { targets: [{ anchor: FLOOR, min: TARGETS.sys }] },
      ),
      row(
        'Socket.recv(64)',
        value(() => wouldBlockRecv(client, calls)),
        { targets: [{ anchor: FLOOR, min: TARGETS.typed }] },
      ),
      row(
        'Socket.recvInto(buf)',
        value(() => wouldBlockRecvInto(client, buffer, calls)),
        { targets: [{ anchor: FLOOR, min: TARGETS.typed }] },
      ),
    ],
  };
  try {
    await runRounds(section.rows, options.rounds);
  } finally {
    connection.close();
  }
  const summary = summarize(section);
  return { summary, text: standardTable(section, summary, { digits: 1 }) };
}
