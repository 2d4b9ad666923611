// `npm run bench`: rawrecv measured through its public API (dist/ and build/Release) beside its
// anchors, all in one run: C loops, a minimal N-API binding, Node's net and dgram, CPython.
//
//   node bench/run.js [--json] [--quick] [--rounds N] [--only wouldblock,alloc,...]
//
// Sections (bench/lib/*.js): would-block recv, allocation per call, TCP bulk (sync and async),
// 1-byte ping-pong, UDP batches, 10k waiting sockets. Each figure is the median of interleaved
// rounds and is printed as a ratio to its anchor from the same run, with issue 10's targets
// beside it. Speed is shown, never asserted: the exit status is 0 unless the benchmark could
// not run or a result was wrong. See bench/README.md.
import os from 'node:os';

import { allocationSection } from './lib/alloc.js';
import { buildAnchors, findPython, findPerf, loadPackage, parseArguments } from './lib/common.js';
import { pingPongSection } from './lib/pingpong.js';
import { socketsSection } from './lib/sockets.js';
import { streamSection } from './lib/stream.js';
import { udpSections } from './lib/udp.js';
import { wouldBlockSection } from './lib/wouldblock.js';

/** The APIs the bench measures that may not be in this build yet (their rows print n/a). */
function features(Socket) {
  return Object.fromEntries(
    ['recvMany', 'sendMany', 'iterateInto'].map((name) => [name, typeof Socket.prototype[name] === 'function']),
  );
}

async function main() {
  const began = Date.now();
  const options = parseArguments(process.argv.slice(2));
  const print = options.json ? (line) => console.error(line) : (line) => console.log(line);
  const notes = [];
  const rawrecv = await loadPackage(notes);
  const anchors = buildAnchors();
  const tools = { python: findPython(), perf: findPerf(), features: features(rawrecv.Socket) };
  const cpus = os.cpus();
  const machine = {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    os: `${os.type()} ${os.release()}`,
    arch: process.arch,
    node: process.version,
    cc: anchors.compiler,
    python: tools.python,
    perf: tools.perf !== null,
    loadAverage: os.loadavg()[0],
  };
  print(`rawrecv bench: ${machine.cpu}, ${machine.cores} cores, ${machine.os} ${machine.arch}, Node ${machine.node}`);
  print(`anchors: ${machine.cc} -O2; ${machine.python ?? 'no python3'}; ${options.rounds} timed round(s), medians`);
  const missing = Object.entries(tools.features).filter(([, present]) => !present);
  if (missing.length > 0) notes.push(`not in this build: ${missing.map(([name]) => name).join(', ')} (rows n/a)`);
  if (tools.python === null) notes.push('python3 is not installed: the Python rows are skipped.');
  if (tools.perf === null) notes.push('perf cannot count syscalls here: syscalls per round trip are skipped.');
  if (options.quick) notes.push('--quick: one round of tiny sizes, a smoke test; the figures mean nothing.');
  if (machine.loadAverage > machine.cores / 2) {
    notes.push(`load average ${machine.loadAverage.toFixed(2)} on ${machine.cores} cores: figures will be noisy.`);
  }
  for (const note of notes) print(`note: ${note}`);

  const sections = [];
  const run = async (id, measure) => {
    if (!options.only.includes(id)) return;
    print('');
    for (const { summary, text } of [await measure()].flat()) {
      sections.push(summary);
      print(text);
    }
  };
  await run('wouldblock', () => wouldBlockSection(rawrecv, anchors, options, tools));
  await run('alloc', () => allocationSection(rawrecv, options));
  await run('stream', () => streamSection(rawrecv, options, tools));
  await run('pingpong', () => pingPongSection(rawrecv, options, tools));
  await run('udp', () => udpSections(rawrecv, options, tools));
  await run('sockets', () => socketsSection(options));

  const seconds = (Date.now() - began) / 1000;
  print('');
  print('spread: half the range of the rounds, relative to the median. vs X: times as good as X (higher is better).');
  print(`took ${seconds.toFixed(1)} s`);
  if (options.json) {
    const config = { ...options, sections: options.only };
    delete config.json;
    delete config.only;
    const report = {
      machine,
      config,
      features: tools.features,
      notes,
      sections,
      targets: targetList(sections),
      seconds,
    };
    console.log(JSON.stringify(report, null, 2));
  }
}

/** Every target of the run in one list: which row, against what, and PASS (true) / MISS (false) / null (n/a). */
function targetList(sections) {
  return sections.flatMap((section) =>
    section.rows.flatMap((r) => (r.targets ?? []).map((target) => ({ section: section.id, row: r.name, ...target }))),
  );
}

main().catch((error) => {
  console.error(`rawrecv bench: ${error.stack ?? error}`);
  process.exit(1);
});
