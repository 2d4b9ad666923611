// `npm run bench`: rawrecv's recv paths side by side with the same recv(2) calls made from C.
//
//   node bench/run.js [--json] [--rounds N]
//
// 1. ns per would-block recv: an idle connected loopback TCP socket, O_NONBLOCK, recv of 64 bytes
//    (EAGAIN every time), through sys.recv, Socket.recv, Socket.recvInto and a C loop.
// 2. Loopback throughput into one 64 KiB buffer: one C sender (bench/recv-bench.c, "send" mode,
//    a child process) feeds every receiver the same total over 127.0.0.1; each receiver does
//    blocking recv until EOF. Receivers: the C loop, sys.recv, Socket.recv(65536),
//    Socket.recvInto(buf), and node:net for comparison.
// Each figure is the median of the timed rounds (after one warm-up round); rounds interleave the
// rows so that load from elsewhere on the machine hits all of them alike. Speed is shown, never
// asserted: the exit status is 0 unless the benchmark itself could not run or a receiver got the
// wrong byte count. See bench/README.md.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout, clearTimeout } from 'node:timers';
import { Buffer } from 'node:buffer';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.dirname(BENCH_DIR);
const BUILD_DIR = path.join(BENCH_DIR, '.build');
const C_SOURCE = path.join(BENCH_DIR, 'recv-bench.c');
const C_BINARY = path.join(BUILD_DIR, 'recv-bench');
const C_FLAGS = ['-O2', '-pthread'];

const WOULD_BLOCK_CALLS = 200_000; // ~0.1 s per row per round at ~500 ns a call
const WOULD_BLOCK_LENGTH = 64;
const THROUGHPUT_MIB = 512; // default; ~0.2-0.5 s per row per round on loopback
const WARM_UP_BYTES = 64 * 1024 * 1024;
const RECV_BUFFER_BYTES = 64 * 1024;
const IO_TIMEOUT_MS = 10_000; // SO_RCVTIMEO of in-process receivers, accept wait: nothing blocks forever
const CHILD_TIMEOUT_MS = 30_000; // a child still running after this is killed
const TARGETS = { wouldBlock: 0.85, recvIntoThroughput: 0.95 };

// ---------------------------------------------------------------------------------------------
// Arguments, prerequisites

function parseArguments(argv) {
  const options = { json: false, rounds: 7, mebibytes: THROUGHPUT_MIB };
  const integer = (name, text, min, max) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) fail(`${name} must be an integer ${min}..${max}`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    const [flag, inline] = argument.startsWith('--') ? argument.split(/=(.*)/s) : [argument];
    const value = () => inline ?? argv[++i];
    if (flag === '--json') options.json = true;
    else if (flag === '--rounds') options.rounds = integer('--rounds', value(), 1, 30);
    else if (flag === '--mib') options.mebibytes = integer('--mib', value(), 16, 4096);
    else if (argument === '--help' || argument === '-h') {
      console.log('usage: node bench/run.js [--json] [--rounds N] [--mib N]   (see bench/README.md)');
      process.exit(0);
    } else fail(`unknown argument ${argument} (try --help)`);
  }
  return options;
}

function fail(message) {
  console.error(`rawrecv bench: ${message}`);
  process.exit(1);
}

function newestMtime(directory, extension) {
  let newest = 0;
  for (const name of fs.readdirSync(directory)) {
    if (name.endsWith(extension)) newest = Math.max(newest, fs.statSync(path.join(directory, name)).mtimeMs);
  }
  return newest;
}

/** The built package; the benchmark measures what `npm run build` produced, not src/. */
async function loadPackage() {
  const entry = path.join(ROOT, 'dist', 'index.js');
  if (!fs.existsSync(entry)) {
    fail('dist/index.js is missing: run `npm run build` first (it compiles the addon and the TypeScript).');
  }
  const notes = [];
  if (newestMtime(path.join(ROOT, 'src'), '.ts') > newestMtime(path.join(ROOT, 'dist'), '.js')) {
    notes.push('dist/ is older than src/: these figures are for the last build (`npm run build` to refresh).');
  }
  const addon = path.join(ROOT, 'build', 'Release', 'rawrecv.node');
  if (fs.existsSync(addon) && newestMtime(path.join(ROOT, 'native'), '') > fs.statSync(addon).mtimeMs) {
    notes.push('build/Release/rawrecv.node is older than native/: `npm run build` recompiles it.');
  }
  try {
    return { rawrecv: await import(pathToFileURL(entry).href), notes };
  } catch (error) {
    fail(`could not load dist/index.js (${error.message}): run \`npm run build\` first.`);
  }
}

/** Compiles bench/recv-bench.c into bench/.build/ unless the binary is newer than it and this file (the flags). */
function buildC() {
  if (process.platform === 'win32') fail('the C baseline needs a POSIX system with `cc`.');
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  const inputs = Math.max(fs.statSync(C_SOURCE).mtimeMs, fs.statSync(fileURLToPath(import.meta.url)).mtimeMs);
  const fresh = fs.existsSync(C_BINARY) && fs.statSync(C_BINARY).mtimeMs >= inputs;
  if (!fresh) {
    const temporary = `${C_BINARY}.${process.pid}.tmp`;
    try {
      execFileSync('cc', [...C_FLAGS, '-o', temporary, C_SOURCE], {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 60_000,
      });
      fs.renameSync(temporary, C_BINARY);
    } catch (error) {
      fs.rmSync(temporary, { force: true });
      const detail = error.code === 'ENOENT' ? 'no `cc` on PATH' : String(error.stderr || error.message).trim();
      fail(`could not compile bench/recv-bench.c with \`cc -O2\`: ${detail}`);
    }
  }
  const version = spawnSync('cc', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return (version.stdout || '').split('\n')[0].trim() || 'cc';
}

// ---------------------------------------------------------------------------------------------
// Child processes: every one tracked, bounded by a timer, and killed when this process exits.

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => process.exit(128 + os.constants.signals[signal]));
}

/**
 * Runs bench/.build/recv-bench with `args`. `done` resolves with the JSON of its last stdout line
 * when it exits 0, and rejects otherwise. `onLine` sees each stdout line as it arrives.
 */
function startC(args, onLine) {
  const child = spawn(C_BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  let seen = 0;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    let end;
    while (onLine && (end = stdout.indexOf('\n', seen)) !== -1) {
      onLine(stdout.slice(seen, end));
      seen = end + 1;
    }
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
  const done = new Promise((resolve, reject) => {
    const settle = (error, result) => {
      clearTimeout(timer);
      children.delete(child);
      if (error) reject(error);
      else resolve(result);
    };
    child.on('error', (error) => settle(new Error(`could not run recv-bench ${args.join(' ')}: ${error.message}`)));
    child.on('close', (code, signal) => {
      const lines = stdout.trim().split('\n');
      if (code !== 0) {
        settle(new Error(`recv-bench ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
        return;
      }
      try {
        settle(null, JSON.parse(lines[lines.length - 1]));
      } catch {
        settle(new Error(`recv-bench ${args.join(' ')} printed no JSON: ${stdout.trim()}`));
      }
    });
  });
  return { child, done };
}

// ---------------------------------------------------------------------------------------------
// Would-block recv: ns per call. One function per row, so each call site stays monomorphic.

function elapsedPerCall(start, calls, unexpected, what) {
  const ns = Number(process.hrtime.bigint() - start) / calls;
  if (unexpected !== 0) throw new Error(`${what}: ${unexpected} of ${calls} calls were not would-block`);
  return ns;
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

function wouldBlockC(calls, threaded) {
  // spawnSync: the loop runs in the child, so nothing here needs the event loop meanwhile.
  const run = spawnSync(C_BINARY, ['wouldblock', String(calls), '1', ...(threaded ? ['threaded'] : [])], {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  if (run.status !== 0) throw new Error(`recv-bench wouldblock failed: ${run.error?.message ?? run.stderr.trim()}`);
  return JSON.parse(run.stdout).nsPerCall[0];
}

function measureWouldBlock({ Server, Socket, sys, constants }, rounds) {
  const server = Server.listen({ host: '127.0.0.1', port: 0 });
  const client = Socket.connectSync({ host: '127.0.0.1', port: server.port });
  const accepted = server.accept();
  try {
    if (accepted.kind !== 'socket') throw new Error(`accept: ${accepted.kind} ${accepted.code}`);
    client.setBlocking(false);
    const fd = client.fd;
    const eagain = -constants.errno.EAGAIN;
    const buffer = Buffer.alloc(WOULD_BLOCK_LENGTH);
    const rows = [
      { name: 'C recv() loop', c: true, run: (calls) => wouldBlockC(calls, false) },
      // The same C loop with an idle second thread: what the kernel part costs in any Node process.
      { name: 'C loop, +1 idle thread', run: (calls) => wouldBlockC(calls, true) },
      { name: 'sys.recv', run: (calls) => wouldBlockSys(sys, fd, buffer, calls, eagain) },
      { name: 'Socket.recv', target: TARGETS.wouldBlock, run: (calls) => wouldBlockRecv(client, calls) },
      {
        name: 'Socket.recvInto',
        target: TARGETS.wouldBlock,
        run: (calls) => wouldBlockRecvInto(client, buffer, calls),
      },
    ];
    for (const row of rows) row.rounds = [];
    for (let round = -1; round < rounds; round++) {
      for (const row of rows) {
        const ns = row.run(WOULD_BLOCK_CALLS);
        if (round >= 0) row.rounds.push(ns); // round -1 is the warm-up (JIT, caches)
      }
    }
    return rows;
  } finally {
    client.close();
    if (accepted.kind === 'socket') accepted.socket.close();
    server.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Throughput: bytes from the C sender until EOF, into one 64 KiB buffer.

/** Synchronous sleep, for the bounded accept wait of the in-process receivers. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms) {
  Atomics.wait(sleeper, 0, 0, ms);
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

function receiveSys(sys, socket, buffer, eintr) {
  const fd = socket.fd;
  let bytes = 0;
  for (;;) {
    const ret = sys.recv(fd, buffer, 0, buffer.byteLength, 0);
    if (ret > 0) bytes += ret;
    else if (ret === 0) return bytes;
    else if (ret !== eintr) throw new Error(`sys.recv returned ${ret}`);
  }
}

function receiveRecv(socket) {
  let bytes = 0;
  for (;;) {
    const result = socket.recv(RECV_BUFFER_BYTES);
    if (result.kind === 'data') bytes += result.bytesRead;
    else if (result.kind === 'eof') return bytes;
    else if (result.kind !== 'interrupted') throw new Error(`Socket.recv: ${result.kind} ${result.code}`);
  }
}

function receiveRecvInto(socket, buffer) {
  let bytes = 0;
  for (;;) {
    const result = socket.recvInto(buffer);
    if (result.kind === 'data') bytes += result.bytesRead;
    else if (result.kind === 'eof') return bytes;
    else if (result.kind !== 'interrupted') throw new Error(`Socket.recvInto: ${result.kind} ${result.code}`);
  }
}

/** CPU time (user + system, all threads) this process used since `start` (a process.cpuUsage()). */
function cpuNsSince(start) {
  const { user, system } = process.cpuUsage(start);
  return (user + system) * 1000;
}

/** A rawrecv receiver in this process: listen, start the sender, accept, go, receive until EOF. */
async function throughputInProcess(Server, total, receive) {
  const server = Server.listen({ host: '127.0.0.1', port: 0 });
  let sender;
  try {
    sender = startC(['send', String(server.port), String(total)]);
    const socket = acceptBounded(server);
    let result;
    try {
      socket.setBlocking(true); // BSDs let an accepted socket inherit O_NONBLOCK
      socket.setReceiveTimeout(IO_TIMEOUT_MS); // a stalled sender ends in 'timeout', not a hang
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      const go = socket.send('g');
      if (go.kind !== 'sent') throw new Error(`send(go): ${go.kind} ${go.code}`);
      const bytes = receive(socket);
      result = { bytes, ns: Number(process.hrtime.bigint() - start), cpuNs: cpuNsSince(cpu) };
    } finally {
      socket.close();
    }
    await sender.done;
    return result;
  } catch (error) {
    sender?.child.kill('SIGKILL');
    await sender?.done.catch(() => {});
    throw error;
  } finally {
    server.close();
  }
}

/** The C loop: recv-bench "recv" listens and reports its own bytes and time. */
async function throughputC(total) {
  let sender;
  let portFound;
  const port = new Promise((resolve) => (portFound = resolve));
  const receiver = startC(['recv'], (line) => {
    const match = /^port (\d+)$/.exec(line);
    if (match) portFound(Number(match[1]));
  });
  try {
    // The receiver's end without a port line rejects here instead of waiting forever.
    const ended = receiver.done.then(() => {
      throw new Error('recv-bench recv exited without printing its port');
    });
    ended.catch(() => {}); // only raced below; its later settling must not be unhandled
    const portNumber = await Promise.race([port, ended]);
    sender = startC(['send', String(portNumber), String(total)]);
    const [received] = await Promise.all([receiver.done, sender.done]);
    return { bytes: received.bytes, ns: received.ns, cpuNs: received.cpuNs };
  } catch (error) {
    receiver.child.kill('SIGKILL');
    sender?.child.kill('SIGKILL');
    throw error;
  }
}

/** node:net for comparison: a net.Server counting the bytes of its 'data' events. */
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
        sender?.child.kill('SIGKILL');
        reject(error);
      } else resolve(result);
    };
    const timer = setTimeout(
      () => finish(new Error(`node:net receiver timed out after ${CHILD_TIMEOUT_MS} ms`)),
      CHILD_TIMEOUT_MS,
    );
    const server = net.createServer((socket) => {
      connections.add(socket);
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      socket.on('data', (chunk) => (bytes += chunk.length));
      socket.on('end', () => {
        const result = { bytes, ns: Number(process.hrtime.bigint() - start), cpuNs: cpuNsSince(cpu) };
        sender.done.then(() => finish(null, result), finish);
      });
      socket.on('error', finish);
      socket.write('g');
    });
    server.on('error', finish);
    server.listen(0, '127.0.0.1', () => {
      sender = startC(['send', String(server.address().port), String(total)]);
      sender.done.catch(finish);
    });
  });
}

async function measureThroughput({ Server, sys, constants }, rounds, totalBytes) {
  const buffer = Buffer.alloc(RECV_BUFFER_BYTES);
  const eintr = -constants.errno.EINTR;
  const rows = [
    { name: 'C recv() loop', c: true, run: (total) => throughputC(total) },
    { name: 'sys.recv', run: (total) => throughputInProcess(Server, total, (s) => receiveSys(sys, s, buffer, eintr)) },
    { name: 'Socket.recv(65536)', run: (total) => throughputInProcess(Server, total, receiveRecv) },
    {
      name: 'Socket.recvInto(buf)',
      target: TARGETS.recvIntoThroughput,
      run: (total) => throughputInProcess(Server, total, (s) => receiveRecvInto(s, buffer)),
    },
    { name: "node:net 'data' events", run: (total) => throughputNet(total) },
  ];
  for (const row of rows) {
    row.rounds = [];
    row.cpuRounds = [];
  }
  for (let round = -1; round < rounds; round++) {
    const total = round < 0 ? Math.min(WARM_UP_BYTES, totalBytes) : totalBytes;
    for (const row of rows) {
      const { bytes, ns, cpuNs } = await row.run(total);
      if (bytes !== total) throw new Error(`${row.name} received ${bytes} bytes, the sender sent ${total}`);
      if (round < 0) continue; // the warm-up (JIT, TCP buffer growth, caches)
      row.rounds.push(bytes / (ns / 1e9) / 1e6); // MB/s, 10^6 bytes a second
      row.cpuRounds.push(cpuNs / 1e6 / (bytes / 1e9)); // receiver CPU ms per GB
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Report

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Median, spread and ratio to the C row (`higherIsBetter`: throughput; else time per call).
 * `spread` is half the range of the rounds relative to the median: ±0.05 means every round was
 * within about 5% of it.
 */
function summarize(rows, higherIsBetter) {
  const c = median(rows.find((row) => row.c).rounds);
  return rows.map((row) => {
    const value = median(row.rounds);
    const ratio = higherIsBetter ? value / c : c / value;
    const target = row.target ?? null;
    return {
      name: row.name,
      median: value,
      rounds: row.rounds,
      spread: (Math.max(...row.rounds) - Math.min(...row.rounds)) / 2 / value,
      ratioToC: ratio,
      target,
      pass: target === null ? null : ratio >= target,
      ...(row.cpuRounds ? { cpuMsPerGB: median(row.cpuRounds), cpuRounds: row.cpuRounds } : {}),
    };
  });
}

function table(title, unit, digits, rows) {
  const cpu = rows.some((row) => row.cpuMsPerGB !== undefined);
  const widths = [24, 10, 9, 7, ...(cpu ? [13] : [])];
  const line = (cells, target) =>
    `  ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('')}  ${target}`.trimEnd();
  const lines = [title, line(['receiver', unit, 'spread', 'vs C', ...(cpu ? ['CPU ms/GB'] : [])], 'target')];
  for (const row of rows) {
    const cells = [
      row.name,
      row.median.toFixed(digits),
      `±${(row.spread * 100).toFixed(1)}%`,
      `${row.ratioToC.toFixed(2)}x`,
    ];
    if (cpu) cells.push(row.cpuMsPerGB.toFixed(0));
    lines.push(line(cells, row.target === null ? '' : `>= ${row.target.toFixed(2)}x  ${row.pass ? 'PASS' : 'MISS'}`));
  }
  return lines.join('\n');
}

async function main() {
  const began = Date.now();
  const options = parseArguments(process.argv.slice(2));
  const print = options.json ? (line) => console.error(line) : (line) => console.log(line);
  const { rawrecv, notes } = await loadPackage();
  const compiler = buildC();
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    os: `${os.type()} ${os.release()}`,
    arch: process.arch,
    node: process.version,
    cc: compiler,
    loadAverage: os.loadavg()[0],
  };
  print(`rawrecv bench: ${machine.cpu}, ${machine.cores} cores, ${machine.os} ${machine.arch}, Node ${machine.node}`);
  print(`C baseline: ${machine.cc}, -O2; ${options.rounds} timed rounds after a warm-up, medians`);
  if (machine.loadAverage > machine.cores / 2) {
    notes.push(`load average ${machine.loadAverage.toFixed(2)} on ${machine.cores} cores: figures will be noisy.`);
  }
  for (const note of notes) print(`note: ${note}`);
  print('');

  const wouldBlock = summarize(measureWouldBlock(rawrecv, options.rounds), false);
  print(
    table(
      `would-block recv: idle loopback TCP, O_NONBLOCK, ${WOULD_BLOCK_LENGTH}-byte recv, ${WOULD_BLOCK_CALLS} calls a round (vs C = C ns / row ns)`,
      'ns/call',
      1,
      wouldBlock,
    ),
  );
  print('');
  const totalBytes = options.mebibytes * 2 ** 20;
  const throughput = summarize(await measureThroughput(rawrecv, options.rounds, totalBytes), true);
  print(
    table(
      `loopback TCP throughput: C sender, ${options.mebibytes} MiB a round, blocking recv into one 64 KiB buffer until EOF (vs C = row / C)`,
      'MB/s',
      0,
      throughput,
    ),
  );
  const seconds = (Date.now() - began) / 1000;
  print('');
  print('spread: half the range of the rounds, relative to the median.');
  print('CPU ms/GB: CPU time (user + system) the receiving process used per 10^9 bytes; lower is cheaper.');
  print(`took ${seconds.toFixed(1)} s`);

  if (options.json) {
    const config = {
      rounds: options.rounds,
      wouldBlockCalls: WOULD_BLOCK_CALLS,
      wouldBlockLength: WOULD_BLOCK_LENGTH,
      throughputBytes: totalBytes,
      recvBufferBytes: RECV_BUFFER_BYTES,
    };
    const rename = (rows, unit) =>
      rows.map(({ median: value, ...rest }) => ({ name: rest.name, [unit]: value, ...rest }));
    console.log(
      JSON.stringify(
        {
          machine,
          config,
          notes,
          wouldBlock: rename(wouldBlock, 'nsPerCall'),
          throughput: rename(throughput, 'megabytesPerSecond'),
          seconds,
        },
        null,
        2,
      ),
    );
  }
}

main().catch((error) => {
  console.error(`rawrecv bench: ${error.stack ?? error}`);
  process.exit(1);
});
