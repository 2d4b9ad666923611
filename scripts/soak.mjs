// `npm run soak`: millions of receives through the public API, watching the process's memory.
//
//   node scripts/soak.mjs [--sync N] [--async N] [--max-growth MB]
//   SOAK_SYNC=N SOAK_ASYNC=N SOAK_MAX_GROWTH_MB=MB node scripts/soak.mjs
//
// 1. sync: N (default 5,000,000) synchronous receives on AF_UNIX stream pairs (Socket.pair()),
//    all non-blocking, in a fixed rotation of four:
//      - socket.recv(64) on an idle socket: would-block (EAGAIN);
//      - socket.recvInto(buf) on the idle socket: would-block;
//      - socket.recv(n) after socket.send() of n bytes: data (every 16th with a 128 KiB length,
//        which takes the path that allocates a Buffer per call instead of the scratch buffer);
//      - socket.recvInto(buf) after a send: data, a view of buf.
// 2. async: N (default 200,000) round trips over another pair: a.sendAsync(ping) then
//    b.recvAsync(n), b.sendAsync(pong) then a.recvAsync(n). Every other trip starts the
//    recvAsync before the send, so it waits on the event loop (a uv_poll start, wake and stop)
//    instead of finding the data already there.
// Every result is checked (kind, byte count, first byte). RSS and heapUsed are printed at every
// 10 % of each phase, after a full garbage collection. The verdict compares each phase's RSS at
// its 10 % mark (warmed up: JIT, pools, the heap's working size) with its end: growth above
// --max-growth MB (default 16) in either phase, a wrong result, or a descriptor left open exits 1.
//
// It imports the built package (dist/index.js), rebuilt first with tsc when src/ is newer.
import { Buffer } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MB = 1024 * 1024;

function log(line) {
  process.stdout.write(`${line}\n`);
}

function fail(message) {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(1);
}

/** `--name N` / `--name=N` on the command line, else the environment variable, else the default. */
function option(name, variable, fallback) {
  const args = process.argv.slice(2);
  let raw = process.env[variable];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) raw = args[i + 1];
    else if (args[i].startsWith(`--${name}=`)) raw = args[i].slice(name.length + 3);
  }
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isFinite(value) || value < 0) fail(`--${name} / ${variable} must be a number >= 0, not ${raw}`);
  return value;
}

const SYNC = Math.floor(option('sync', 'SOAK_SYNC', 5_000_000));
const ASYNC = Math.floor(option('async', 'SOAK_ASYNC', 200_000));
const MAX_GROWTH_MB = option('max-growth', 'SOAK_MAX_GROWTH_MB', 16);

/** The newest modification time under `dir` of files ending in `suffix`. */
function newest(dir, suffix) {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) time = Math.max(time, newest(path, suffix));
    else if (entry.name.endsWith(suffix)) time = Math.max(time, statSync(path).mtimeMs);
  }
  return time;
}

const distIndex = join(ROOT, 'dist', 'index.js');
if (!existsSync(distIndex) || newest(join(ROOT, 'src'), '.ts') > newest(join(ROOT, 'dist'), '.js')) {
  log('== dist/ is missing or older than src/: tsc -p tsconfig.build.json');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}
const { Socket } = await import(pathToFileURL(distIndex).href);

// A full collection before each sample, so heapUsed is what is live, not what awaits collection.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

function openDescriptors() {
  return process.platform === 'linux' ? readdirSync('/proc/self/fd').length : -1;
}

function sample() {
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

const mb = (bytes) => `${(bytes / MB).toFixed(1)} MB`;
const signedMb = (bytes) => `${bytes >= 0 ? '+' : ''}${(bytes / MB).toFixed(1)} MB`;
const count = (n) => n.toLocaleString('en-US');

/** Runs `total` operations in steps; prints a line at every 10 %; returns the 10 % and final samples. */
async function phase(name, total, unit, run) {
  const marks = [];
  const started = performance.now();
  let done = 0;
  for (let tenth = 1; tenth <= 10; tenth++) {
    const target = Math.round((total * tenth) / 10);
    await run(done, target);
    done = target;
    const now = sample();
    marks.push(now);
    const seconds = (performance.now() - started) / 1000;
    log(
      `${`[${name}]`.padEnd(7)} ${String(tenth * 10).padStart(3)}%  ${count(done).padStart(11)} ${unit}  ` +
        `rss ${mb(now.rss).padStart(9)}  heapUsed ${mb(now.heapUsed).padStart(8)}  ${seconds.toFixed(1)} s`,
    );
  }
  return { name, first: marks[0], last: marks[9] };
}

function expectResult(result, kind, bytes, first, what) {
  if (result.kind !== kind) fail(`${what}: expected ${kind}, got ${JSON.stringify(result)}`);
  if (kind === 'data' && (result.bytesRead !== bytes || result.data[0] !== first)) {
    fail(
      `${what}: expected ${bytes} bytes starting with ${first}, got ${result.bytesRead} starting with ${result.data[0]}`,
    );
  }
}

const descriptorsBefore = openDescriptors();
const memoryBefore = sample();
log(
  `soak: ${count(SYNC)} sync receives, ${count(ASYNC)} async round trips; ` +
    `RSS growth limit ${MAX_GROWTH_MB} MB per phase (from its 10 % mark to its end)`,
);
log(`start: rss ${mb(memoryBefore.rss)}, heapUsed ${mb(memoryBefore.heapUsed)}, ${descriptorsBefore} descriptors`);

// --- 1. sync -------------------------------------------------------------------------------
const [idle, idlePeer] = Socket.pair();
const [writer, reader] = Socket.pair();
for (const socket of [idle, idlePeer, writer, reader]) socket.setBlocking(false);
const SMALL = 32;
const LARGE = 128 * 1024;
const payload = Buffer.alloc(SMALL, 0x61);
const into = Buffer.alloc(256);

function syncStep(i) {
  switch (i & 3) {
    case 0:
      expectResult(idle.recv(64), 'would-block', 0, 0, `sync #${i} recv on an idle socket`);
      break;
    case 1:
      expectResult(idle.recvInto(into), 'would-block', 0, 0, `sync #${i} recvInto on an idle socket`);
      break;
    case 2: {
      payload[0] = i & 0xff;
      const sent = writer.send(payload);
      if (sent.kind !== 'sent' || sent.bytesSent !== SMALL) fail(`sync #${i} send: ${JSON.stringify(sent)}`);
      const length = (i & 63) === 2 ? LARGE : SMALL;
      expectResult(reader.recv(length), 'data', SMALL, i & 0xff, `sync #${i} recv(${length})`);
      break;
    }
    default: {
      payload[0] = i & 0xff;
      const sent = writer.send(payload);
      if (sent.kind !== 'sent' || sent.bytesSent !== SMALL) fail(`sync #${i} send: ${JSON.stringify(sent)}`);
      expectResult(reader.recvInto(into), 'data', SMALL, i & 0xff, `sync #${i} recvInto`);
    }
  }
}

const results = [];
results.push(
  await phase('sync', SYNC, 'recv calls', (from, to) => {
    for (let i = from; i < to; i++) syncStep(i);
  }),
);
for (const socket of [idle, idlePeer, writer, reader]) socket.close();

// --- 2. async ------------------------------------------------------------------------------
const [a, b] = Socket.pair();
const ping = Buffer.alloc(SMALL, 0x70);
const pong = Buffer.alloc(SMALL, 0x71);

async function roundTrip(i) {
  ping[0] = i & 0xff;
  pong[0] = (i + 1) & 0xff;
  // Odd trips: the receive is pending first, so it waits on the event loop for the data.
  const waitFirst = (i & 1) === 1;
  const received = waitFirst ? b.recvAsync(SMALL) : undefined;
  const sent = await a.sendAsync(ping);
  if (sent.kind !== 'sent' || sent.bytesSent !== SMALL) fail(`async #${i} a.sendAsync: ${JSON.stringify(sent)}`);
  expectResult(await (received ?? b.recvAsync(SMALL)), 'data', SMALL, i & 0xff, `async #${i} b.recvAsync`);
  const answer = waitFirst ? a.recvAsync(SMALL) : undefined;
  const back = await b.sendAsync(pong);
  if (back.kind !== 'sent' || back.bytesSent !== SMALL) fail(`async #${i} b.sendAsync: ${JSON.stringify(back)}`);
  expectResult(await (answer ?? a.recvAsync(SMALL)), 'data', SMALL, (i + 1) & 0xff, `async #${i} a.recvAsync`);
}

results.push(
  await phase('async', ASYNC, 'round trips', async (from, to) => {
    for (let i = from; i < to; i++) await roundTrip(i);
  }),
);
a.close();
b.close();

// --- verdict ---------------------------------------------------------------------------------
const descriptorsAfter = openDescriptors();
const problems = [];
const parts = [];
for (const { name, first, last } of results) {
  const growth = last.rss - first.rss;
  parts.push(
    `${name} rss ${signedMb(growth)} (${mb(first.rss)} -> ${mb(last.rss)}), heapUsed ${signedMb(last.heapUsed - first.heapUsed)}`,
  );
  if (growth > MAX_GROWTH_MB * MB) problems.push(`${name}: RSS grew ${signedMb(growth)} after its 10 % mark`);
}
if (descriptorsAfter !== descriptorsBefore) {
  problems.push(`descriptors: ${descriptorsBefore} before, ${descriptorsAfter} after`);
}
log(`verdict: ${problems.length === 0 ? 'ok' : 'FAIL'}: ${parts.join('; ')}; limit +${MAX_GROWTH_MB} MB per phase`);
if (problems.length > 0) fail(problems.join('; '));
