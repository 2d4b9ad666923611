// 1-byte ping-pong over loopback TCP: the client sends one byte and waits for it to come back,
// TRIPS times, against a C echo child (recv-bench echo: blocking recv(1) / send(1), TCP_NODELAY),
// so that the figure is the client's cost per round trip. The trips of a round are timed in
// SLICES slices and the round's figure is its fastest slice: a round trip needs two processes
// scheduled, and on a busy machine the load only ever adds to it. Clients: the C loop (blocking send and
// recv), rawrecv's sendAsync + recvAsync (non-blocking socket, TCP_NODELAY), node:net (write on
// each 'data', setNoDelay).
//
// Syscalls per round trip: where `perf stat` may count the syscall tracepoints (Linux, perf
// installed, perf_event_paranoid permitting), each client runs again in a child process
// (bench/lib/pingpong-child.js) under it, twice with different trip counts; the difference
// divided by the difference in trips removes start-up and exit. perf counts in the kernel and
// barely slows the calls; strace would (each call ~20x slower), which changes what an
// optimistic recv finds, so it is not used.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout, clearTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';

import {
  C_BINARY,
  CHILD_TIMEOUT_MS,
  bounded,
  formatTable,
  ratioText,
  row,
  runRounds,
  runSync,
  standardTable,
  startChild,
  startListening,
  summarize,
} from './common.js';

const C_CLIENT = 'C send/recv loop';
const RAWRECV = 'rawrecv sendAsync + recvAsync';
const NET = "node:net write + 'data'";
const TARGET = 1.4;
const CHILD_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pingpong-child.js');
const PING = 112; // 'p'
const SLICES = 10;

/** rawrecv's client: `slices` x `trips` round trips; returns each slice's ns. */
export async function pingRawrecv({ Socket, sys, constants }, port, trips, slices) {
  const socket = await Socket.connect({ host: '127.0.0.1', port, timeout: 10_000 });
  try {
    const noDelay = sys.setsockopt(socket.fd, constants.IPPROTO.TCP, constants.TCP.NODELAY, 1);
    if (noDelay !== 0) throw new Error(`setsockopt(TCP_NODELAY) returned ${noDelay}`);
    socket.setBlocking(false);
    const ping = new Uint8Array([PING]);
    const nsPerSlice = [];
    for (let slice = 0; slice < slices; slice++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < trips; i++) {
        const sent = await socket.sendAsync(ping, { timeout: 10_000 });
        if (sent.kind !== 'sent') throw new Error(`sendAsync: ${sent.kind} ${sent.code}`);
        const back = await socket.recvAsync(1, { timeout: 10_000 });
        if (back.kind !== 'data' || back.data[0] !== PING) {
          throw new Error(`recvAsync: ${back.kind} ${back.code ?? ''}`);
        }
      }
      nsPerSlice.push(Number(process.hrtime.bigint() - start));
    }
    return nsPerSlice;
  } finally {
    socket.close();
  }
}

/** node:net's client: `slices` x `trips` round trips; returns each slice's ns. */
export function pingNet(port, trips, slices) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    const ping = new Uint8Array([PING]);
    const nsPerSlice = [];
    let received = 0;
    let start;
    const timer = setTimeout(
      () => finish(new Error(`no ${slices} x ${trips} round trips in ${CHILD_TIMEOUT_MS} ms`)),
      CHILD_TIMEOUT_MS,
    );
    const finish = (error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(nsPerSlice);
    };
    socket.on('connect', () => {
      start = process.hrtime.bigint();
      socket.write(ping);
    });
    socket.on('data', (chunk) => {
      received += chunk.length;
      if (chunk[chunk.length - 1] !== PING) return finish(new Error('the echo sent back another byte'));
      if (received % trips === 0) {
        const now = process.hrtime.bigint();
        nsPerSlice.push(Number(now - start));
        start = now;
        if (nsPerSlice.length === slices) return finish();
      }
      socket.write(ping);
    });
    socket.on('error', finish);
  });
}

/** One client against a fresh C echo child. */
async function withEcho(client) {
  const echo = await startListening(C_BINARY, ['echo']);
  try {
    const ns = await client(echo.port);
    await bounded(echo.done, 10_000, 'recv-bench echo');
    return ns;
  } catch (error) {
    echo.kill();
    throw error;
  }
}

/** The syscalls named in the breakdown; the rest are counted in `other`. */
const NAMED_SYSCALLS = [
  'epoll_ctl',
  'epoll_wait',
  'epoll_pwait',
  'recvfrom',
  'sendto',
  'read',
  'write',
  'fcntl',
  'ioctl',
  'poll',
  'futex',
];

/** `perf stat -x,` output: count per event, named by syscall ('total' for raw_syscalls). */
function parsePerf(text) {
  const counts = {};
  for (const line of text.split('\n')) {
    const [count, , event] = line.split(',');
    if (event === undefined || !/^\d+$/.test(count)) continue;
    counts[event === 'raw_syscalls:sys_enter' ? 'total' : event.replace('syscalls:sys_enter_', '')] = Number(count);
  }
  const named = Object.entries(counts).reduce((sum, [name, n]) => (name === 'total' ? sum : sum + n), 0);
  counts.other = counts.total - named;
  return counts;
}

/** Calls per syscall of `command` under perf stat (every thread), as the client of a fresh echo. */
async function counted(command, args) {
  const file = path.join(os.tmpdir(), `rawrecv-bench-perf-${process.pid}-${Date.now()}.txt`);
  const events = ['raw_syscalls:sys_enter', ...NAMED_SYSCALLS.map((name) => `syscalls:sys_enter_${name}`)];
  try {
    await withEcho(async (port) => {
      const child = startChild('perf', [
        'stat',
        '-x,',
        '-o',
        file,
        '-e',
        events.join(','),
        '--',
        command,
        ...args(port),
      ]);
      await child.done;
    });
    return parsePerf(fs.readFileSync(file, 'utf8'));
  } finally {
    fs.rmSync(file, { force: true });
  }
}

async function syscallsPerTrip(command, args, [fewer, more]) {
  const low = await counted(command, (port) => args(port, fewer));
  const high = await counted(command, (port) => args(port, more));
  const perTrip = {};
  let total = 0;
  for (const name of Object.keys(high)) {
    const value = (high[name] - (low[name] ?? 0)) / (more - fewer);
    if (name === 'total') total = value;
    else if (Math.abs(value) >= 0.05) perTrip[name] = value; // below: start-up and GC noise, not the loop
  }
  return { total, perTrip };
}

async function syscallTable(options, perf) {
  const clients = [
    [C_CLIENT, C_BINARY, (port, trips) => ['pingpong', String(port), String(trips), '1']],
    [RAWRECV, process.execPath, (port, trips) => [CHILD_SCRIPT, 'rawrecv', String(port), String(trips)]],
    [NET, process.execPath, (port, trips) => [CHILD_SCRIPT, 'net', String(port), String(trips)]],
  ];
  const rows = [];
  for (const [name, command, args] of clients) {
    if (perf === null) rows.push({ name, status: 'skipped', note: 'perf is not available' });
    else rows.push({ name, status: 'ok', ...(await syscallsPerTrip(command, args, options.syscallTrips)) });
  }
  const net = rows.find((r) => r.name === NET);
  for (const r of rows) if (r.status === 'ok') r.ratioToNet = net.status === 'ok' ? net.total / r.total : null;
  const header = ['client', 'syscalls/trip', 'vs net', 'per syscall'];
  const lines = rows.map((r) =>
    r.status !== 'ok'
      ? [r.name, `skipped: ${r.note}`]
      : [
          r.name,
          r.total.toFixed(1),
          ratioText(r.ratioToNet),
          Object.entries(r.perTrip)
            .sort((a, b) => b[1] - a[1])
            .map(([call, n]) => `${call} ${n.toFixed(1)}`)
            .join(', '),
        ],
  );
  const title = `syscalls per 1-byte round trip: perf stat of the client process (all threads), ${options.syscallTrips[1]} - ${options.syscallTrips[0]} trips (vs net = net's / row's)`;
  return {
    summary: { id: 'syscalls', title, unit: 'syscalls/trip', better: 'lower', rows },
    text: [title, ...formatTable(header, lines)].join('\n'),
  };
}

export async function pingPongSection(rawrecv, options, { perf }) {
  const trips = options.pingPongTrips;
  const perSlice = Math.max(1, Math.floor(trips / SLICES));
  /** A round's figure: round trips per second in its fastest slice (see the top of this file). */
  const fastest = (nsPerSlice) => ({ value: perSlice / (Math.min(...nsPerSlice) / 1e9) });
  const section = {
    id: 'pingpong',
    title: `1-byte ping-pong over loopback TCP against a C echo, ${trips} round trips a round, its fastest of ${SLICES} slices (vs X = row trips/s / X trips/s)`,
    unit: 'trips/s',
    better: 'higher',
    rowHeader: 'client',
    anchors: [
      { name: C_CLIENT, label: 'C' },
      { name: NET, label: 'net' },
    ],
    rows: [
      row(C_CLIENT, async () =>
        fastest(
          await withEcho(
            async (port) => runSync(C_BINARY, ['pingpong', String(port), String(perSlice), String(SLICES)]).nsPerSlice,
          ),
        ),
      ),
      row(RAWRECV, async () => fastest(await withEcho((port) => pingRawrecv(rawrecv, port, perSlice, SLICES))), {
        targets: [{ anchor: NET, min: TARGET }],
      }),
      row(NET, async () => fastest(await withEcho((port) => pingNet(port, perSlice, SLICES)))),
    ],
  };
  await runRounds(section.rows, options.rounds);
  const summary = summarize(section);
  const syscalls = await syscallTable(options, perf);
  return [{ summary, text: standardTable(section, summary) }, syscalls];
}
