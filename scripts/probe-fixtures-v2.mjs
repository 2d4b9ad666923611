#!/usr/bin/env node
/**
 * One-off: brings test/fixtures/probe-{darwin,win32}-reference.json (the reference's columns as
 * probe reports, written by hand from docs/recv-semantics.md) to report format 2, as they were
 * made: the same steps, each given the role its call has in this machine's probe run (the
 * catalogue makes the same calls in the same order everywhere; a step whose socket and call do
 * not match that run's is an error), and the scenarios the reference gained in issue 11, from
 * their cells. Usage:
 *   node dist/cli/main.js probe --json > /tmp/linux.json
 *   node scripts/probe-fixtures-v2.mjs /tmp/linux.json
 * probe-win32-wine.json is measured, not derived: npm run test:windows writes a new one to
 * .cache/windows/probe-win32-wine.json, which is copied over the fixture.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const [linuxPath] = process.argv.slice(2);
if (!linuxPath) throw new Error('usage: node scripts/probe-fixtures-v2.mjs LINUX-PROBE.json');
const linux = JSON.parse(readFileSync(linuxPath, 'utf8'));
const byId = new Map(linux.scenarios.map((scenario) => [scenario.id, scenario]));
const title = (id) => byId.get(id).title;

const step = (socket, call, layer, ret, errno, code, kind) => ({ socket, call, layer, ret, errno, code, kind });
/** The scenarios added by issue 11, per fixture: from the cells of docs/recv-semantics.md. */
const ADDED = {
  'probe-darwin-reference.json': {
    'tcp.wake': {
      status: 'ok',
      note: 'reference: `close()` wakes it with EBADF [S]',
      steps: [step('tcp4 worker', 'recv(16)', 'sys', -1, 9, 'EBADF', 'error')],
    },
    'tcp.oob': {
      status: 'ok',
      note: 'reference: EINVAL without an urgent byte [S]',
      steps: [step('tcp4', 'recv(16, MSG_OOB)', 'typed', -1, 22, 'EINVAL', 'error')],
    },
    'tcp.rcvlowat': {
      status: 'ok',
      note: 'reference: poll: not readable below the mark [S]',
      steps: [step('tcp4', 'poll(POLLIN)', 'typed', 0, 0, null, 'none')],
    },
    'unix.seqpacket.eof': {
      status: 'unsupported',
      reason: 'socketpair(AF_UNIX, SOCK_SEQPACKET) failed',
      note: 'reference: macOS does not have it',
    },
    'fd.not-socket': {
      status: 'ok',
      note: 'reference: ENOTSOCK (38)',
      steps: [
        step('/dev/null', 'recv(16)', 'sys', -1, 38, 'ENOTSOCK', 'error'),
        step('pipe', 'recv(16)', 'sys', -1, 38, 'ENOTSOCK', 'error'),
      ],
    },
  },
  'probe-win32-reference.json': {
    'tcp.wake': {
      status: 'ok',
      note: 'reference: `closesocket()` cancels it: WSAEINTR [D]',
      steps: [step('tcp4 worker', 'recv(16)', 'sys', -1, 10004, 'WSAEINTR', 'interrupted')],
    },
    'tcp.rcvlowat': {
      status: 'unsupported',
      reason: 'Winsock does not support SO_RCVLOWAT (setsockopt documents it as not supported)',
      note: 'reference: `SO_RCVLOWAT` is not supported [D]',
    },
    // Its cell now documents no values (AF_UNIX stream sockets exist; the scenario runs over a path).
    'unix.stream': null,
    'unix.seqpacket.eof': {
      status: 'unsupported',
      reason: 'Socket.pair() on Windows is a loopback TCP pair, not AF_UNIX seqpacket',
      note: 'reference: does not exist',
    },
  },
};

for (const name of Object.keys(ADDED)) {
  const path = new URL(`../test/fixtures/${name}`, import.meta.url);
  const report = JSON.parse(readFileSync(path, 'utf8'));
  const scenarios = new Map(report.scenarios.map((scenario) => [scenario.id, scenario]));
  for (const [id, added] of Object.entries(ADDED[name])) {
    if (added === null) scenarios.delete(id);
    else scenarios.set(id, { id, title: title(id), durationMs: 0, steps: [], ...added });
  }
  const upgraded = [];
  // Catalogue order (this machine's report has every id).
  for (const { id } of linux.scenarios) {
    const scenario = scenarios.get(id);
    if (!scenario) continue;
    const measured = byId.get(id).steps;
    scenario.title = title(id);
    if (scenario.status === 'unsupported' && /probe runs each scenario on one thread/.test(scenario.reason ?? '')) {
      throw new Error(`${name}: ${id} still says the probe cannot run it`);
    }
    scenario.steps = scenario.steps.map((s, index) => {
      const here = measured[index];
      if (!here || here.socket !== s.socket || here.call !== s.call) {
        throw new Error(
          `${name}: ${id} step ${index + 1} (${s.socket} ${s.call}) is not this machine's (${here?.socket} ${here?.call})`,
        );
      }
      const { socket, ...rest } = s;
      return { socket, role: here.role, ...rest };
    });
    // Field order as the probe writes it.
    const { title: t, status, reason, note, durationMs, steps } = scenario;
    upgraded.push({
      id,
      title: t,
      status,
      ...(reason ? { reason } : {}),
      ...(note ? { note } : {}),
      durationMs,
      steps,
    });
  }
  writeFileSync(path, `${JSON.stringify({ ...report, formatVersion: 2, scenarios: upgraded }, null, 2)}\n`);
  process.stdout.write(`${name}: ${upgraded.length} scenarios\n`);
}
