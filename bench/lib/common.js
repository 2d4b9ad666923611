// What every part of `npm run bench` shares: the options, the child processes (tracked, bounded,
// killed on exit), the compiled anchors, the rounds and their medians, and the tables.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout, clearTimeout } from 'node:timers';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ROOT = path.dirname(BENCH_DIR);
export const BUILD_DIR = path.join(BENCH_DIR, '.build');
export const C_BINARY = path.join(BUILD_DIR, 'recv-bench');
export const MINIMAL_ADDON = path.join(BUILD_DIR, 'minimal-napi.node');
export const PYTHON_SCRIPT = path.join(BENCH_DIR, 'recv-bench.py');

export const IO_TIMEOUT_MS = 10_000; // SO_RCVTIMEO of in-process receivers, accept waits: nothing blocks forever
export const CHILD_TIMEOUT_MS = 30_000; // a child still running after this is killed

// ---------------------------------------------------------------------------------------------
// Options

const SECTIONS = ['wouldblock', 'alloc', 'stream', 'pingpong', 'udp', 'sockets'];

/** Sizes per section: the full run, and `--quick` (one round, tiny sizes: a smoke test, not figures). */
const SIZES = {
  full: {
    rounds: 7,
    wouldBlockCalls: 200_000,
    allocCalls: 100_000,
    mebibytes: 256,
    warmUpMebibytes: 32,
    pingPongTrips: 10_000,
    syscallTrips: [1_000, 3_000],
    datagrams: 8_000,
    datagramSize: 64,
    sockets: 10_000,
    socketRounds: 3,
  },
  quick: {
    rounds: 1,
    wouldBlockCalls: 2_000,
    allocCalls: 2_000,
    mebibytes: 4,
    warmUpMebibytes: 1,
    pingPongTrips: 200,
    syscallTrips: [20, 120],
    datagrams: 500,
    datagramSize: 64,
    sockets: 200,
    socketRounds: 1,
  },
};

export function parseArguments(argv) {
  const options = { json: false, quick: argv.includes('--quick'), only: SECTIONS };
  Object.assign(options, options.quick ? SIZES.quick : SIZES.full);
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
    else if (flag === '--quick') continue;
    else if (flag === '--rounds') options.rounds = integer('--rounds', value(), 1, 30);
    else if (flag === '--mib') options.mebibytes = integer('--mib', value(), 1, 4096);
    else if (flag === '--sockets') options.sockets = integer('--sockets', value(), 10, 100_000);
    else if (flag === '--datagrams') options.datagrams = integer('--datagrams', value(), 100, 1_000_000);
    else if (flag === '--only') {
      options.only = value().split(',');
      for (const name of options.only) if (!SECTIONS.includes(name)) fail(`--only: no section ${name}`);
    } else if (argument === '--help' || argument === '-h') {
      console.log(
        `usage: node bench/run.js [--json] [--quick] [--rounds N] [--mib N] [--datagrams N] [--sockets N]\n` +
          `                         [--only ${SECTIONS.join(',')}]   (see bench/README.md)`,
      );
      process.exit(0);
    } else fail(`unknown argument ${argument} (try --help)`);
  }
  options.socketRounds = Math.min(options.socketRounds, options.rounds);
  return options;
}

export function fail(message) {
  console.error(`rawrecv bench: ${message}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// What is measured: the built package, the C anchors, the minimal N-API binding, python3.

function newestMtime(directory, extension) {
  let newest = 0;
  for (const name of fs.readdirSync(directory, { recursive: true })) {
    if (String(name).endsWith(extension)) newest = Math.max(newest, fs.statSync(path.join(directory, name)).mtimeMs);
  }
  return newest;
}

/** The built package; the benchmark measures what `npm run build` produced, not src/. */
export async function loadPackage(notes) {
  const entry = path.join(ROOT, 'dist', 'index.js');
  if (!fs.existsSync(entry)) {
    fail('dist/index.js is missing: run `npm run build` first (it compiles the addon and the TypeScript).');
  }
  if (newestMtime(path.join(ROOT, 'src'), '.ts') > newestMtime(path.join(ROOT, 'dist'), '.js')) {
    notes.push('dist/ is older than src/: these figures are for the last build (`npm run build` to refresh).');
  }
  const addon = path.join(ROOT, 'build', 'Release', 'rawrecv.node');
  if (fs.existsSync(addon) && newestMtime(path.join(ROOT, 'native'), '') > fs.statSync(addon).mtimeMs) {
    notes.push('build/Release/rawrecv.node is older than native/: `npm run build` recompiles it.');
  }
  try {
    return await import(pathToFileURL(entry).href);
  } catch (error) {
    fail(`could not load dist/index.js (${error.message}): run \`npm run build\` first.`);
  }
}

/** The headers for the minimal binding: this Node's own, else the node-api-headers package. */
function nodeApiIncludes() {
  const local = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');
  if (fs.existsSync(path.join(local, 'node_api.h'))) return local;
  try {
    return createRequire(import.meta.url)('node-api-headers').include_dir;
  } catch {
    fail(`no node_api.h: neither ${local} nor the node-api-headers dev dependency (npm ci) is there.`);
  }
}

/** Compiles `source` into `output` unless it is newer than the source and this file (the flags). */
function compile(source, output, flags) {
  const inputs = Math.max(fs.statSync(source).mtimeMs, fs.statSync(fileURLToPath(import.meta.url)).mtimeMs);
  if (fs.existsSync(output) && fs.statSync(output).mtimeMs >= inputs) return;
  const temporary = `${output}.${process.pid}.tmp`;
  try {
    execFileSync('cc', [...flags, '-o', temporary, source], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    fs.renameSync(temporary, output);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    const detail = error.code === 'ENOENT' ? 'no `cc` on PATH' : String(error.stderr || error.message).trim();
    fail(`could not compile ${path.relative(ROOT, source)} with \`cc ${flags.join(' ')}\`: ${detail}`);
  }
}

/**
 * Builds the C anchors into bench/.build/: recv-bench (the C loops, senders and echo) and the
 * minimal N-API binding, and loads the latter. Returns the compiler's name and the binding.
 */
export function buildAnchors() {
  if (process.platform === 'win32') fail('the C anchors need a POSIX system with `cc`.');
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  compile(path.join(BENCH_DIR, 'recv-bench.c'), C_BINARY, ['-O2', '-pthread']);
  const shared = process.platform === 'darwin' ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared', '-fPIC'];
  compile(path.join(BENCH_DIR, 'minimal-napi.c'), MINIMAL_ADDON, ['-O2', ...shared, '-I', nodeApiIncludes()]);
  const minimal = createRequire(import.meta.url)(MINIMAL_ADDON);
  const version = spawnSync('cc', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return { compiler: (version.stdout || '').split('\n')[0].trim() || 'cc', minimal };
}

/** python3's version if it is on PATH, else null (its rows are skipped with a note). */
export function findPython() {
  const run = spawnSync('python3', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return run.status === 0 ? (run.stdout || run.stderr).trim() : null;
}

/** perf if it is installed and may count syscall tracepoints here, else null. */
export function findPerf() {
  const events = 'raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom';
  const run = spawnSync('perf', ['stat', '-x,', '-e', events, '--', 'true'], { encoding: 'utf8', timeout: 10_000 });
  return run.status === 0 && /raw_syscalls:sys_enter/.test(run.stderr) && !/not supported/.test(run.stderr)
    ? 'perf'
    : null;
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
 * Runs `command args`. `done` resolves with the JSON of its last stdout line when it exits 0,
 * and rejects otherwise. `onLine` sees each stdout line as it arrives. `stdin: true` leaves its
 * stdin open as a pipe (child.stdin).
 */
export function startChild(command, args, { onLine, stdin = false, timeout = CHILD_TIMEOUT_MS } = {}) {
  const child = spawn(command, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  children.add(child);
  const label = `${path.basename(command)} ${args.map((a) => path.basename(String(a))).join(' ')}`;
  let stdout = '';
  let stderr = '';
  let seen = 0;
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdin?.on('error', () => {}); // a child that exits first: its close says what happened
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    let end;
    while (onLine && (end = stdout.indexOf('\n', seen)) !== -1) {
      onLine(stdout.slice(seen, end));
      seen = end + 1;
    }
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
  const done = new Promise((resolve, reject) => {
    const settle = (error, result) => {
      clearTimeout(timer);
      children.delete(child);
      if (error) reject(error);
      else resolve(result);
    };
    child.on('error', (error) => settle(new Error(`could not run ${label}: ${error.message}`)));
    child.on('close', (code, signal) => {
      const lines = stdout.trim().split('\n');
      if (code !== 0) {
        settle(new Error(`${label} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
        return;
      }
      try {
        settle(null, JSON.parse(lines[lines.length - 1]));
      } catch {
        settle(new Error(`${label} printed no JSON: ${stdout.trim()}`));
      }
    });
  });
  done.catch(() => {}); // awaited by the caller; a failure after the caller gave up is not unhandled
  return { child, done, kill: () => child.kill('SIGKILL') };
}

/** Starts a child that prints "port N" first (recv-bench recv / echo / udp-drain) and waits for that line. */
export async function startListening(command, args, options = {}) {
  let found;
  const port = new Promise((resolve) => (found = resolve));
  const started = startChild(command, args, {
    ...options,
    onLine: (line) => {
      const match = /^port (\d+)$/.exec(line);
      if (match) found(Number(match[1]));
    },
  });
  const ended = started.done.then(() => {
    throw new Error(`${path.basename(command)} ${args[0]} exited without printing its port`);
  });
  ended.catch(() => {});
  try {
    return { ...started, port: await Promise.race([port, ended]) };
  } catch (error) {
    started.kill();
    throw error;
  }
}

/** Runs a child to its end, blocking this thread (nothing here needs the event loop meanwhile). */
export function runSync(command, args) {
  const run = spawnSync(command, args, { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (run.status !== 0) {
    throw new Error(`${path.basename(command)} ${args[0]} failed: ${run.error?.message ?? run.stderr.trim()}`);
  }
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/** Synchronous sleep (bounded accept waits of the in-process receivers). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
export function sleepMs(ms) {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** CPU time (user + system, all threads) this process used since `start` (a process.cpuUsage()). */
export function cpuNsSince(start) {
  const { user, system } = process.cpuUsage(start);
  return (user + system) * 1000;
}

/** A promise that rejects after `ms` with `what` unless `promise` settles first. */
export function bounded(promise, ms, what) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Rows, rounds and medians
//
// A row: { name, run, status: 'ok' | 'n/a' | 'skipped', note?, requires?, targets?: [...] }.
// A target is { anchor: rowName, min: ratio } (the row's ratio to that anchor) or
// { max: value, unit } (an absolute bound on the row's value). `n/a`: the API the row measures
// is not in this build (`requires` names it); `skipped`: a tool it needs is missing (note).

export function row(name, run, extra = {}) {
  return { name, run, status: 'ok', rounds: [], ...extra };
}

export function notAvailable(name, api, extra = {}) {
  return { name, status: 'n/a', requires: api, note: 'not in this build', rounds: [], ...extra };
}

export function skipped(name, note, extra = {}) {
  return { name, status: 'skipped', note, rounds: [], ...extra };
}

/**
 * Runs every ok row once per round, `warmUp` rounds first (not recorded), rows interleaved so
 * that load from elsewhere hits them alike; the row order rotates from round to round. `record`
 * turns one run's outcome into { value, ...extra figures }.
 */
export async function runRounds(rows, rounds, { warmUp = 1, runArgs = () => [] } = {}) {
  const active = rows.filter((r) => r.status === 'ok');
  for (let round = -warmUp; round < rounds; round++) {
    const shift = round < 0 ? 0 : round % active.length;
    for (let i = 0; i < active.length; i++) {
      const r = active[(i + shift) % active.length];
      const outcome = await r.run(...runArgs(round < 0));
      if (round < 0) continue;
      r.rounds.push(outcome.value);
      for (const [key, value] of Object.entries(outcome)) {
        if (key === 'value') continue;
        (r.extraRounds ??= {})[key] ??= [];
        r.extraRounds[key].push(value);
      }
    }
  }
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * A section's JSON: each row's median, spread (half the range of the rounds relative to the
 * median), its ratio to each anchor ("times as good": value / anchor when higher is better,
 * anchor / value when lower is), and its targets with PASS (true) / MISS (false) / null (the
 * anchor or the row did not run). A ratio is the median of the per-round ratios, each round's
 * row against the same round's anchor: rounds interleave the rows, so a load that comes and goes
 * moves a row and its anchor together and cancels out of their ratio (the ratio of the medians
 * is used when the round counts differ).
 */
export function summarize(section) {
  const higher = section.better === 'higher';
  const byName = new Map(section.rows.filter((r) => r.status === 'ok').map((r) => [r.name, r]));
  const times = (value, anchor) => (higher ? value / anchor : anchor / value);
  /** The per-round ratios of row `r` to an anchor, or null where they cannot be paired. */
  const perRound = (r, anchorName) => {
    const anchor = byName.get(anchorName);
    if (anchor === undefined || r.status !== 'ok' || anchor.rounds.length !== r.rounds.length) return null;
    return r.rounds.map((value, i) => times(value, anchor.rounds[i]));
  };
  const ratio = (r, anchorName) => {
    const anchor = byName.get(anchorName);
    if (anchor === undefined || r.status !== 'ok') return null;
    const paired = perRound(r, anchorName);
    return paired === null ? times(median(r.rounds), median(anchor.rounds)) : median(paired);
  };
  const rows = section.rows.map((r) => {
    const value = r.status === 'ok' ? median(r.rounds) : undefined;
    const out = { name: r.name, status: r.status };
    if (r.note) out.note = r.note;
    if (r.requires) out.requires = r.requires;
    if (r.status === 'ok') {
      out.median = value;
      out.spread = value === 0 ? 0 : (Math.max(...r.rounds) - Math.min(...r.rounds)) / 2 / Math.abs(value);
      out.rounds = r.rounds;
      for (const [key, values] of Object.entries(r.extraRounds ?? {})) out[key] = median(values);
    }
    out.ratios = Object.fromEntries(section.anchors.map((a) => [a.name, ratio(r, a.name)]));
    // Each round's ratio too, so that a reader can see how steady the median ratio is.
    out.ratioRounds = Object.fromEntries(section.anchors.map((a) => [a.name, perRound(r, a.name)]));
    out.targets = (r.targets ?? []).map((t) => {
      if (t.anchor !== undefined) {
        const measured = ratio(r, t.anchor);
        return { anchor: t.anchor, min: t.min, ratio: measured, pass: measured === null ? null : measured >= t.min };
      }
      const measured = t.of === undefined ? value : out[t.of];
      return {
        of: t.of ?? 'median',
        max: t.max,
        unit: t.unit,
        value: measured ?? null,
        pass: measured === undefined ? null : measured <= t.max,
      };
    });
    return out;
  });
  return {
    id: section.id,
    title: section.title,
    unit: section.unit,
    better: section.better,
    anchors: section.anchors,
    rows,
  };
}

// ---------------------------------------------------------------------------------------------
// Tables

/** "PASS" / "MISS" / "n/a" beside each target. */
export function targetText(section, r) {
  return r.targets
    .map((t) => {
      const verdict = t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'MISS';
      if (t.anchor !== undefined) {
        const label = section.anchors.find((a) => a.name === t.anchor)?.label ?? t.anchor;
        return `>= ${t.min.toFixed(2)}x ${label} ${verdict}`;
      }
      return `<= ${t.max} ${t.unit} ${verdict}`;
    })
    .join(', ');
}

/**
 * Lines of a table: the first column left-aligned, the last (targets) left-aligned, the rest
 * right-aligned. A line with fewer cells (a row that did not run) is its name and one note.
 */
export function formatTable(header, lines) {
  const full = [header, ...lines.filter((cells) => cells.length === header.length)];
  const widths = header.map((_, i) => Math.max(...full.map((cells) => String(cells[i]).length)));
  return [header, ...lines].map((cells) => {
    if (cells.length !== header.length) return `  ${cells[0].padEnd(widths[0])}  ${cells.slice(1).join('  ')}`;
    const text = cells.map((cell, i) =>
      i === 0 || i === cells.length - 1 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]),
    );
    return `  ${text.join('  ')}`.trimEnd();
  });
}

export function ratioText(value) {
  return value === null || value === undefined ? '-' : `${value.toFixed(2)}x`;
}

/**
 * The usual table: name, median (with `digits`), spread, one "vs" column per anchor, any
 * `columns` ({ header, get(row) }), targets. Rows that did not run say why.
 */
export function standardTable(section, summary, { digits = 0, columns = [] } = {}) {
  const header = [
    section.rowHeader ?? 'row',
    section.unit,
    'spread',
    ...section.anchors.map((a) => `vs ${a.label}`),
    ...columns.map((c) => c.header),
    'target',
  ];
  const lines = summary.rows.map((r) => {
    if (r.status !== 'ok') return [r.name, r.status === 'n/a' ? 'n/a (not in this build)' : `skipped: ${r.note}`];
    return [
      r.name,
      r.median.toFixed(digits),
      `±${(r.spread * 100).toFixed(1)}%`,
      ...section.anchors.map((a) => ratioText(r.ratios[a.name])),
      ...columns.map((c) => c.get(r)),
      targetText(section, r),
    ];
  });
  return [section.title, ...formatTable(header, lines)].join('\n');
}
