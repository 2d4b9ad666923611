// UDP batches over loopback: receive and send cost per datagram.
//
// Receiving, "fill, then drain": the receiver's socket (SO_RCVBUF raised, the same size for
// every row) is bound but not read while a C child (recv-bench udp-send, sendmmsg) queues N
// datagrams into it and exits; then the receiver drains the queue without ever waiting, until
// would-block, timed from its first call. The sender is gone while the clock runs, nothing is
// lost (every row must drain exactly N, or the bench fails), and the queue is never empty
// before the end, so the figure is the receiver's own cost per datagram. N is calibrated at
// the start with the C loop: if this machine's SO_RCVBUF limit holds fewer, N is lowered.
// node:dgram is filled the same way (its event loop is blocked while the child runs) and timed
// until its N-th 'message'.
//
// Sending: each sender sends N datagrams to a sink socket in this process (same SO_RCVBUF),
// timed from the first send to the last (dgram: to its last callback); the sink is drained
// after each row and must hold exactly N.
import { Buffer } from 'node:buffer';
import dgram from 'node:dgram';
import fs from 'node:fs';
import { setTimeout, clearTimeout } from 'node:timers';

import {
  C_BINARY,
  IO_TIMEOUT_MS,
  cpuNsSince,
  notAvailable,
  row,
  runRounds,
  runSync,
  standardTable,
  startListening,
  summarize,
} from './common.js';

const BATCH = 64;
const BATCH_BUFFER = 2048;
const C_RECV = 'C recv() loop, 1 per call';
const C_SEND = 'C send() loop, 1 per call';
const DGRAM_RECV = "node:dgram 'message'";
const DGRAM_SEND = 'node:dgram send()';
const TARGETS = { vsC: 2, vsDgram: 5 };
const RUNS = 3;

/**
 * A row's round: RUNS runs (each a fill and a drain, or a send of N), the fastest kept. One run
 * takes a few milliseconds, so a single preemption can halve it; the fastest of three is the
 * receiver's (sender's) own cost on a busy machine.
 */
function fastest(run) {
  return async () => {
    let best;
    for (let i = 0; i < RUNS; i++) {
      const outcome = await run();
      if (best === undefined || outcome.value > best.value) best = outcome;
    }
    return best;
  };
}

/** The receive buffer every row asks for: 8 MiB, or the OS limit (Linux doubles what it grants). */
function receiveBufferSize() {
  try {
    return Math.min(8 * 2 ** 20, Number(fs.readFileSync('/proc/sys/net/core/rmem_max', 'utf8')));
  } catch {
    return 8 * 2 ** 20;
  }
}

/** Queues `count` datagrams of `size` bytes into 127.0.0.1:port (a C child, sendmmsg); blocks meanwhile. */
function fill(port, count, size) {
  const sent = runSync(C_BINARY, ['udp-send', String(port), String(count), String(size), 'sendmmsg']);
  if (sent.datagrams !== count) throw new Error(`udp-send sent ${sent.datagrams} of ${count}`);
}

/** A C drain child: bound, filled, then told to drain (one recv per call, or recvmmsg of 64). */
async function drainC(count, size, rcvbuf, mode) {
  const receiver = await startListening(C_BINARY, ['udp-drain', String(size), String(rcvbuf), mode], { stdin: true });
  try {
    fill(receiver.port, count, size);
    receiver.child.stdin.end('go\n');
    return await receiver.done;
  } catch (error) {
    receiver.kill();
    throw error;
  }
}

function expectDrained(what, got, count) {
  if (got !== count) {
    throw new Error(`${what} drained ${got} of ${count} datagrams (lost in the queue? lower --datagrams)`);
  }
}

function drainSys(sys, fd, buffer, eagain, size) {
  let datagrams = 0;
  for (;;) {
    const ret = sys.recv(fd, buffer, 0, BATCH_BUFFER, 0);
    if (ret === size) datagrams++;
    else if (ret === eagain) return datagrams;
    else throw new Error(`sys.recv returned ${ret}`);
  }
}

function drainRecvInto(socket, buffer, size) {
  let datagrams = 0;
  for (;;) {
    const result = socket.recvInto(buffer);
    if (result.kind === 'data' && result.bytesRead === size) datagrams++;
    else if (result.kind === 'would-block') return datagrams;
    else throw new Error(`Socket.recvInto: ${result.kind} ${result.code ?? result.bytesRead}`);
  }
}

function drainRecvMany(socket, buffers, size) {
  let datagrams = 0;
  const options = { flags: 0 };
  for (;;) {
    const result = socket.recvMany(buffers, options);
    if (result.kind === 'would-block') return datagrams;
    if (result.kind !== 'data') throw new Error(`Socket.recvMany: ${result.kind} ${result.code}`);
    const { messages } = result;
    for (let i = 0; i < messages.length; i++) {
      if (messages[i].bytesRead !== size) throw new Error(`recvMany: a datagram of ${messages[i].bytesRead} bytes`);
    }
    datagrams += messages.length;
  }
}

/** In-process drain: fill, then time `drain()` (returns the count). */
function drainInProcess(port, count, size, drain) {
  fill(port, count, size);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const datagrams = drain();
  return { datagrams, ns: Number(process.hrtime.bigint() - start), cpuNs: cpuNsSince(cpu) };
}

function bindDgram(rcvbuf) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: rcvbuf });
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/** node:dgram drain: fill while its loop is blocked, then count 'message' events up to `count`. */
function drainDgram(socket, count, size) {
  fill(socket.address().port, count, size);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    let datagrams = 0;
    const done = (error) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      if (error) reject(error);
      else resolve({ datagrams, ns: Number(process.hrtime.bigint() - start), cpuNs: cpuNsSince(cpu) });
    };
    const onMessage = (message) => {
      if (message.length !== size) done(new Error(`dgram: a datagram of ${message.length} bytes`));
      else if (++datagrams === count) done();
    };
    const timer = setTimeout(
      () => done(new Error(`node:dgram received ${datagrams} of ${count} datagrams in ${IO_TIMEOUT_MS} ms`)),
      IO_TIMEOUT_MS,
    );
    socket.on('message', onMessage);
  });
}

function sendSys(sys, fd, payload, size, count) {
  for (let i = 0; i < count; i++) {
    const ret = sys.send(fd, payload, 0, size, 0);
    if (ret !== size) throw new Error(`sys.send returned ${ret}`);
  }
  return count;
}

function sendSocket(socket, payload, count) {
  for (let i = 0; i < count; i++) {
    const result = socket.send(payload);
    if (result.kind !== 'sent') throw new Error(`Socket.send: ${result.kind} ${result.code}`);
  }
  return count;
}

function sendMany(socket, payload, count) {
  const full = Array.from({ length: BATCH }, () => payload);
  const options = { flags: 0 };
  let sent = 0;
  while (sent < count) {
    const messages = count - sent >= BATCH ? full : full.slice(0, count - sent);
    const result = socket.sendMany(messages, options);
    if (result.kind !== 'sent' || result.messagesSent === 0) {
      throw new Error(`Socket.sendMany: ${result.kind} ${result.code ?? result.messagesSent}`);
    }
    sent += result.messagesSent;
  }
  return sent;
}

function sendDgram(socket, payload, count) {
  return new Promise((resolve, reject) => {
    let acknowledged = 0;
    let failed = false;
    const timer = setTimeout(
      () => reject(new Error(`node:dgram: ${acknowledged} of ${count} send callbacks in ${IO_TIMEOUT_MS} ms`)),
      IO_TIMEOUT_MS,
    );
    const callback = (error) => {
      if (failed) return;
      if (error) {
        failed = true;
        clearTimeout(timer);
        reject(error);
      } else if (++acknowledged === count) {
        clearTimeout(timer);
        resolve(count);
      }
    };
    for (let i = 0; i < count; i++) socket.send(payload, callback);
  });
}

function connectDgram(port) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

export async function udpSections(rawrecv, options, { features }) {
  const { Socket, sys, constants } = rawrecv;
  const size = options.datagramSize;
  const rcvbuf = receiveBufferSize();
  const eagain = -constants.errno.EAGAIN;
  const notes = [];

  // Calibration: how many datagrams this SO_RCVBUF holds (the C drain counts them).
  let count = options.datagrams;
  const probe = await drainC(Math.round(count * 1.5), size, rcvbuf, 'recv');
  if (probe.datagrams < count * 1.2) {
    count = Math.max(100, Math.floor(probe.datagrams * 0.8));
    notes.push(`SO_RCVBUF ${rcvbuf} holds ${probe.datagrams} datagrams of ${size} B here: ${count} per round`);
  }

  const udpSocket = () => {
    const socket = Socket.udp({ bind: { host: '127.0.0.1', port: 0 } });
    const ret = sys.setsockopt(socket.fd, constants.SOL.SOCKET, constants.SO.RCVBUF, rcvbuf);
    if (ret !== 0) throw new Error(`setsockopt(SO_RCVBUF) returned ${ret}`);
    socket.setBlocking(false);
    return socket;
  };
  const receiver = udpSocket();
  const port = receiver.localAddress().port;
  const sink = udpSocket();
  const sinkPort = sink.localAddress().port;
  const sender = Socket.udp({ connect: { host: '127.0.0.1', port: sinkPort } });
  const dgramReceiver = await bindDgram(rcvbuf);
  const dgramSender = await connectDgram(sinkPort);
  const buffer = Buffer.alloc(BATCH_BUFFER);
  const buffers = Array.from({ length: BATCH }, () => Buffer.alloc(BATCH_BUFFER));
  const payload = Buffer.alloc(size, 'u');

  /** A row's result as datagrams/s and CPU ns per datagram, after checking the count. */
  const figures = (what, { datagrams, ns, cpuNs }) => {
    expectDrained(what, datagrams, count);
    return { value: datagrams / (ns / 1e9), cpuNsPerDatagram: cpuNs / datagrams };
  };
  const cRecv = (name, mode) =>
    row(
      name,
      fastest(async () => figures(name, await drainC(count, size, rcvbuf, mode))),
    );
  const inProcess = (name, drain, extra) =>
    row(
      name,
      fastest(async () => figures(name, drainInProcess(port, count, size, drain))),
      extra,
    );
  const manyTargets = {
    targets: [
      { anchor: C_RECV, min: TARGETS.vsC },
      { anchor: DGRAM_RECV, min: TARGETS.vsDgram },
    ],
  };
  const receive = {
    id: 'udp-recv',
    title: `UDP receive, fill then drain: ${count} datagrams of ${size} B queued by a C sender, drained until would-block (vs X = row / X)`,
    unit: 'datagrams/s',
    better: 'higher',
    rowHeader: 'receiver',
    anchors: [
      { name: C_RECV, label: 'C' },
      { name: DGRAM_RECV, label: 'dgram' },
    ],
    rows: [
      cRecv(C_RECV, 'recv'),
      cRecv('C recvmmsg(64 x 2 KiB)', 'recvmmsg'),
      inProcess('sys.recv, 1 per call', () => drainSys(sys, receiver.fd, buffer, eagain, size)),
      inProcess('Socket.recvInto, 1 per call', () => drainRecvInto(receiver, buffer, size)),
      features.recvMany
        ? inProcess('Socket.recvMany(64 x 2 KiB)', () => drainRecvMany(receiver, buffers, size), manyTargets)
        : notAvailable('Socket.recvMany(64 x 2 KiB)', 'recvMany', manyTargets),
      row(
        DGRAM_RECV,
        fastest(async () => figures(DGRAM_RECV, await drainDgram(dgramReceiver, count, size))),
      ),
    ],
  };

  /** Times `send()` (returns the count sent) into the sink, then drains the sink and checks it holds them all. */
  const sendTimed = async (what, send) => {
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    const sent = await send();
    const result = { datagrams: sent, ns: Number(process.hrtime.bigint() - start), cpuNs: cpuNsSince(cpu) };
    expectDrained(`${what}: the sink`, drainSys(sys, sink.fd, buffer, eagain, size), count);
    return result;
  };
  const cSend = (name, mode) =>
    row(
      name,
      fastest(async () => {
        const sent = runSync(C_BINARY, ['udp-send', String(sinkPort), String(count), String(size), mode]);
        expectDrained(`${name}: the sink`, drainSys(sys, sink.fd, buffer, eagain, size), count);
        return figures(name, sent);
      }),
    );
  const inProcessSend = (name, send) =>
    row(
      name,
      fastest(async () => figures(name, await sendTimed(name, send))),
    );
  const send = {
    id: 'udp-send',
    title: `UDP send: ${count} datagrams of ${size} B to a sink socket in this process (vs X = row / X)`,
    unit: 'datagrams/s',
    better: 'higher',
    rowHeader: 'sender',
    anchors: [
      { name: C_SEND, label: 'C' },
      { name: DGRAM_SEND, label: 'dgram' },
    ],
    rows: [
      cSend(C_SEND, 'send'),
      cSend('C sendmmsg(64)', 'sendmmsg'),
      inProcessSend('sys.send, 1 per call', () => sendSys(sys, sender.fd, payload, size, count)),
      inProcessSend('Socket.send, 1 per call', () => sendSocket(sender, payload, count)),
      features.sendMany
        ? inProcessSend('Socket.sendMany(64)', () => sendMany(sender, payload, count))
        : notAvailable('Socket.sendMany(64)', 'sendMany'),
      inProcessSend(DGRAM_SEND, () => sendDgram(dgramSender, payload, count)),
    ],
  };

  try {
    await runRounds(receive.rows, options.rounds);
    await runRounds(send.rows, options.rounds);
  } finally {
    receiver.close();
    sink.close();
    sender.close();
    dgramReceiver.close();
    dgramSender.close();
  }
  const cpuColumn = { columns: [{ header: 'CPU ns/datagram', get: (r) => r.cpuNsPerDatagram.toFixed(0) }] };
  return [receive, send].map((section) => {
    const summary = summarize(section);
    summary.datagrams = count;
    summary.datagramSize = size;
    summary.receiveBuffer = rcvbuf;
    if (notes.length > 0) summary.notes = notes;
    const lines = [standardTable(section, summary, cpuColumn), ...notes.map((note) => `  note: ${note}`)];
    return { summary, text: lines.join('\n') };
  });
}
