/**
 * Conformance as tables: the catalogue `rawrecv probe` runs (src/scenarios/) is run here with its
 * runner, and each scenario's steps are compared with this platform's column of
 * docs/recv-semantics.md#scenarios in test/expectations/: linux.ts; win32.ts on Windows (documented
 * values) and under Wine (Wine's, each deviation named in the title); darwin.ts on macOS and FreeBSD.
 * Then, on every OS, the tables against the reference and the probe fixtures, and the links to it.
 * What steps cannot show is in test/10, 11 and 12.
 */
import { readdirSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { constants, type Platform } from '../src/index.js';
import { ipv6Loopback } from '../src/scenarios/helpers.js';
import { catalogue, runScenario, type ProbeReport, type ScenarioResult } from '../src/scenarios/index.js';
import { DARWIN, FREEBSD } from './expectations/darwin.js';
import { LINUX } from './expectations/linux.js';
import {
  expectScenario,
  referenceAnchors,
  referenceScenarioIds,
  resolve,
  viewOf,
  withoutRole,
} from './expectations/steps.js';
import { WIN32 } from './expectations/win32.js';
import { fixture, loadReport } from './fixtures/run-cli.js';
import { guardFds } from './helpers.js';

guardFds();

const VIEW = viewOf(constants.platform as Platform, constants.wine);
const TABLES = { linux: LINUX, darwin: DARWIN, freebsd: FREEBSD, windows: WIN32, wine: WIN32 } as const;
const TABLE = TABLES[VIEW];

/** What a Linux result shows beyond its steps. */
const LINUX_EXTRA: Readonly<Record<string, (result: ScenarioResult) => void>> = {
  // Linux waits out the 100 ms SO_RCVTIMEO before the blocking zero-length recv returns 0 (macOS returns at once).
  'tcp.len0.idle': (result) => expect(result.durationMs).toBeGreaterThanOrEqual(90),
  // Below SO_RCVLOWAT the blocking recv waited out its 100 ms SO_RCVTIMEO before returning the 2 bytes.
  'tcp.rcvlowat': (result) => expect(result.durationMs).toBeGreaterThanOrEqual(90),
  // The close did not wake the worker's recv: the peer's bytes did, 300 ms later.
  'tcp.wake': (result) =>
    expect(result.note).toBe("close() did not wake the blocked recv within 300 ms; the peer's 4 bytes ended it"),
  // The recv came while the connect was still in progress (SYN_SENT): the scenario notes it otherwise.
  'tcp.connecting': (result) => expect(result.note).toBeUndefined(),
  // It ran on ::1 too, or says why not.
  'tcp.data': (result) =>
    ipv6Loopback() === true
      ? expect(result.note).toBeUndefined()
      : expect(result.note).toContain('::1 is not available'),
  // The decoded control messages (docs/recv-semantics.md#control-messages), against what the scenario set.
  'udp.pktinfo': (result) => expect(result.note).toMatch(/^udp4: IP_PKTINFO to 127\.0\.0\.1 on lo \(ifindex \d+\)$/),
  'udp.tos-ecn': (result) =>
    expect(result.note).toBe(
      'IP_TOS 0xb9 sent by sendmsg: IP_TOS 0xb9 (DSCP 46, ECN 1); IP_TOS 0x3 set by setsockopt: IP_TOS 0x3 (DSCP 0, ECN 3)',
    ),
  'udp.timestamp': (result) =>
    expect(result.note).toBe(
      'SO_TIMESTAMPNS between the clock readings before the send and after the recv; udp4: SO_TIMESTAMPNS',
    ),
  'udp.errqueue': (result) =>
    expect(result.note).toBe(
      ['connected', 'unconnected']
        .map((socket) => `${socket}: IP_RECVERR ECONNREFUSED from icmp type 3 code 3, offender 127.0.0.1`)
        .join('; '),
    ),
  'unix.scm-rights': (result) =>
    expect(result.note).toBe(
      'one descriptor sent: SCM_RIGHTS 1 descriptor; two descriptors sent: SCM_RIGHTS 1 descriptor, MSG_CTRUNC',
    ),
  'unix.credentials': (result) =>
    expect(result.note).toBe("uid and gid are this process's; unix-dgram: SCM_CREDENTIALS pid this process"),
};

describe(`the catalogue against test/expectations (${VIEW})`, () => {
  for (const scenario of catalogue) {
    const entry = TABLE[scenario.id];
    const deviations = [...new Set(entry ? resolve(entry, VIEW).deviations : [])];
    const title = deviations.length > 0 ? `${scenario.id} (Wine deviation: ${deviations.join('; ')})` : scenario.id;
    it(title, async () => {
      const result = await runScenario(scenario);
      expectScenario(result, entry, VIEW);
      if (VIEW === 'linux') LINUX_EXTRA[scenario.id]?.(result);
    });
  }
});

// --- The tables --------------------------------------------------------------------------------

const report = (name: string): ProbeReport => loadReport(fixture(name));

describe('the expectations tables', () => {
  it('have every scenario id of docs/recv-semantics.md, in its order; the Linux table runs each or says why it cannot', () => {
    const ids = referenceScenarioIds();
    expect(ids.length).toBeGreaterThan(30);
    for (const table of [LINUX, WIN32, DARWIN, FREEBSD]) expect(Object.keys(table)).toEqual(ids);
    for (const [id, entry] of Object.entries(LINUX)) {
      expect('undocumented' in entry, `${id} has no Linux value`).toBe(false);
      if ('unsupported' in entry) expect(entry.unsupported, `${id}: why it is unsupported`).toMatch(/\S{4}/);
    }
  });

  it('test/fixtures/probe-win32-wine.json, measured under Wine, is the Wine view of win32.ts', () => {
    const measured = report('probe-win32-wine.json');
    expect(measured.scenarios.map((scenario) => scenario.id)).toEqual(Object.keys(WIN32));
    for (const { id, status, steps } of measured.scenarios) {
      const expected = resolve(WIN32[id] ?? [], 'wine');
      expect({ id, status, steps: steps.map(withoutRole) }).toEqual({
        id,
        status: expected.status,
        steps: expected.steps,
      });
    }
  });

  it.each([
    ['probe-win32-reference.json', 'windows'],
    ['probe-darwin-reference.json', 'darwin'],
  ] as const)('test/fixtures/%s, the column as a report, agrees with the %s view of its table', (name, view) => {
    const reference = report(name);
    const table = TABLES[view];
    const listed = new Set(reference.scenarios.map((scenario) => scenario.id));
    for (const [id, entry] of Object.entries(table)) {
      // The fixture leaves out what the column does not document, and lists every unsupported one.
      if ('undocumented' in entry) expect(listed.has(id), `${id} is undocumented`).toBe(false);
      if ('unsupported' in entry) expect(listed.has(id), `${id} is unsupported`).toBe(true);
    }
    for (const scenario of reference.scenarios) {
      const expected = resolve(table[scenario.id] ?? [], view);
      expect({ id: scenario.id, status: scenario.status }).toEqual({ id: scenario.id, status: expected.status });
      // It stops at the last call the column documents: its steps are the table's first ones.
      const undocumented = expected.steps.indexOf(null);
      const documented = undocumented < 0 ? expected.steps : expected.steps.slice(0, undocumented);
      expect(scenario.steps.map(withoutRole)).toEqual(documented.slice(0, Math.max(scenario.steps.length, 1)));
    }
  });
});

describe('docs/recv-semantics.md, the reference', () => {
  const ROOT = new URL('../', import.meta.url);
  const FOLDERS = ['src', 'test', 'native', 'docs', 'examples', 'bench', 'scripts', '.github'];
  const files = (): string[] => [
    'README.md',
    'CONTRIBUTING.md',
    'vitest.config.ts',
    ...FOLDERS.flatMap((folder) =>
      (readdirSync(new URL(folder, ROOT), { recursive: true }) as string[])
        .filter((path) => /\.(ts|js|mjs|md|cc|h|inc|sh|json|yml)$/.test(path) && !path.includes('.build'))
        .map((path) => `${folder}/${path.replaceAll('\\', '/')}`),
    ),
  ];

  it('has the anchor of every link to it in the project, and nothing points outside the project for it', () => {
    const anchors = referenceAnchors();
    const broken: string[] = [];
    for (const file of files()) {
      let text: string;
      try {
        text = readFileSync(new URL(file, ROOT), 'utf8');
      } catch {
        continue; // a file that someone is moving right now, or a folder this checkout lacks
      }
      for (const [, anchor] of text.matchAll(/recv-semantics\.md#([\w.-]*[\w-])/g)) {
        if (!anchors.has(anchor as string)) broken.push(`${file}: #${anchor}`);
      }
      if (/\.\.\/shared\/|work\/shared/.test(text)) broken.push(`${file}: names the reference outside the project`);
    }
    expect(broken).toEqual([]);
  });
});
