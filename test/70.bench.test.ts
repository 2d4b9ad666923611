/**
 * `npm run bench` still runs: `node bench/run.js --quick --json` (one round of tiny sizes) exits
 * 0, and its JSON has every section and row of issue 10, each row measured, or n/a only because
 * its API is not in this build, or skipped only because its tool (python3, perf) is missing.
 * Nothing about speed is asserted: the figures of a quick run on a busy machine mean nothing.
 * Linux only: the bench's C anchors use recvmmsg / sendmmsg and its counts use perf.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { beforeAll, describe, expect, it } from 'vitest';

import { Socket } from '../src/index.js';
import { guardFds } from './helpers.js';

guardFds();

const RUN = fileURLToPath(new URL('../bench/run.js', import.meta.url));

/** The APIs whose rows may print n/a, and the rows that need each. */
const NEW_APIS = ['recvMany', 'sendMany', 'iterateInto'] as const;

/** Every section and its rows, in order. */
const SECTIONS: Record<string, string[]> = {
  wouldblock: [
    'C recv() loop',
    'C loop, +1 idle thread',
    'Python recv() loop',
    'minimal N-API recv',
    'sys.recv',
    'Socket.recv(64)',
    'Socket.recvInto(buf)',
  ],
  alloc: [
    'sys.recv, would-block (0 B reference)',
    'Socket.recv(64), would-block',
    'Socket.recvInto(buf), would-block',
    'Socket.recv(1 MiB), would-block',
    'sys.recv, 1 KiB data (0 B reference)',
    'Socket.recvInto(1 KiB), data',
  ],
  stream: [
    'C recv() loop',
    'Python recv_into() loop',
    'sys.recv',
    'Socket.recv(65536)',
    'Socket.recvInto(buf)',
    'recvIntoAsync(buf)',
    'for await (chunk of socket)',
    'socket.iterateInto(buf)',
    "node:net 'data' events",
  ],
  pingpong: ['C send/recv loop', 'rawrecv sendAsync + recvAsync', "node:net write + 'data'"],
  syscalls: ['C send/recv loop', 'rawrecv sendAsync + recvAsync', "node:net write + 'data'"],
  'udp-recv': [
    'C recv() loop, 1 per call',
    'C recvmmsg(64 x 2 KiB)',
    'sys.recv, 1 per call',
    'Socket.recvInto, 1 per call',
    'Socket.recvMany(64 x 2 KiB)',
    "node:dgram 'message'",
  ],
  'udp-send': [
    'C send() loop, 1 per call',
    'C sendmmsg(64)',
    'sys.send, 1 per call',
    'Socket.send, 1 per call',
    'Socket.sendMany(64)',
    'node:dgram send()',
  ],
  'sockets-heap': ['rawrecv: Socket + pending recvAsync(1)', "node:net: net.Socket({ fd }) + 'data'"],
  'sockets-wake': ['rawrecv: Socket + pending recvAsync(1)', "node:net: net.Socket({ fd }) + 'data'"],
};

interface Target {
  section: string;
  row: string;
  anchor?: string;
  min?: number;
  max?: number;
  ratio?: number | null;
  pass: boolean | null;
}
interface Row {
  name: string;
  status: 'ok' | 'n/a' | 'skipped';
  note?: string;
  requires?: string;
  median?: number;
  rounds?: number[];
  total?: number;
  perTrip?: Record<string, number>;
  ratios?: Record<string, number | null>;
  targets?: Omit<Target, 'section' | 'row'>[];
}
interface Report {
  machine: { node: string; cores: number; python: string | null; perf: boolean };
  config: { quick: boolean; rounds: number; socketRounds: number };
  features: Record<string, boolean>;
  notes: string[];
  sections: { id: string; title: string; unit: string; rows: Row[] }[];
  targets: Target[];
  seconds: number;
}

describe.skipIf(process.platform !== 'linux')('npm run bench -- --quick --json', () => {
  let report: Report;

  beforeAll(async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [RUN, '--quick', '--json'], {
      timeout: 240_000,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 2 ** 20,
    });
    report = JSON.parse(stdout) as Report;
  }, 250_000);

  it('reports the machine, the quick configuration and which new APIs this build has', () => {
    expect(report.machine.node).toBe(process.version);
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.config).toMatchObject({ quick: true, rounds: 1, socketRounds: 1 });
    for (const api of NEW_APIS) {
      expect(report.features[api], api).toBe(
        typeof (Socket.prototype as unknown as Record<string, unknown>)[api] === 'function',
      );
    }
    expect(report.seconds).toBeGreaterThan(0);
  });

  it('has every section and row of issue 10, in order', () => {
    expect(report.sections.map((section) => section.id)).toEqual(Object.keys(SECTIONS));
    for (const section of report.sections) {
      expect(
        section.rows.map((row) => row.name),
        section.id,
      ).toEqual(SECTIONS[section.id]);
    }
  });

  it('measured every row, unless its API is not in this build or its tool is missing', () => {
    for (const section of report.sections) {
      for (const row of section.rows) {
        const label = `${section.id}: ${row.name}`;
        if (row.status === 'n/a') {
          expect(NEW_APIS, label).toContain(row.requires);
          expect(report.features[row.requires!], label).toBe(false);
        } else if (row.status === 'skipped') {
          const python = row.name.startsWith('Python') && report.machine.python === null;
          const perf = section.id === 'syscalls' && !report.machine.perf;
          expect(python || perf, `${label} skipped: ${row.note}`).toBe(true);
        } else if (section.id === 'syscalls') {
          expect(row.status, label).toBe('ok');
          expect(row.total, label).toBeGreaterThan(0);
          expect(Object.keys(row.perTrip ?? {}).length, label).toBeGreaterThan(0);
        } else {
          expect(row.status, label).toBe('ok');
          expect(Number.isFinite(row.median), label).toBe(true);
          expect(row.rounds, label).toHaveLength(section.id.startsWith('sockets') ? report.config.socketRounds : 1);
        }
      }
    }
  });

  it('gives each measured row its ratio to every anchor of its section', () => {
    for (const section of report.sections.filter((s) => s.id !== 'syscalls')) {
      for (const row of section.rows.filter((r) => r.status === 'ok')) {
        for (const [anchor, ratio] of Object.entries(row.ratios ?? {})) {
          const anchorRan = section.rows.find((r) => r.name === anchor)?.status === 'ok';
          if (anchorRan) expect(Number.isFinite(ratio), `${section.id}: ${row.name} vs ${anchor}`).toBe(true);
          else expect(ratio).toBeNull();
        }
      }
    }
  });

  it("lists issue 10's targets with PASS / MISS, or null where a row could not run", () => {
    const rows = new Map(report.sections.flatMap((s) => s.rows.map((r) => [`${s.id}: ${r.name}`, r] as const)));
    const targeted = new Set(report.targets.map((t) => `${t.section}: ${t.row}`));
    for (const expected of [
      'wouldblock: sys.recv',
      'wouldblock: Socket.recv(64)',
      'wouldblock: Socket.recvInto(buf)',
      'alloc: Socket.recvInto(buf), would-block',
      'alloc: Socket.recvInto(1 KiB), data',
      'alloc: Socket.recv(1 MiB), would-block',
      'stream: recvIntoAsync(buf)',
      'stream: for await (chunk of socket)',
      'stream: socket.iterateInto(buf)',
      'pingpong: rawrecv sendAsync + recvAsync',
      'udp-recv: Socket.recvMany(64 x 2 KiB)',
      'sockets-heap: rawrecv: Socket + pending recvAsync(1)',
      'sockets-wake: rawrecv: Socket + pending recvAsync(1)',
    ]) {
      expect(targeted, expected).toContain(expected);
    }
    for (const target of report.targets) {
      const row = rows.get(`${target.section}: ${target.row}`);
      expect(row, `${target.section}: ${target.row}`).toBeDefined();
      if (row!.status === 'ok') expect(typeof target.pass, `${target.section}: ${target.row}`).toBe('boolean');
      else expect(target.pass).toBeNull();
    }
  });
});
