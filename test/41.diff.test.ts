/**
 * `rawrecv diff`, as a child process, on a report produced on this machine (`probe --json`) and
 * on the fixtures whose numbers come from the darwin and win32 columns of docs/recv-semantics.md
 * (test/fixtures/probe-{darwin,win32}-reference.json: derived from the documentation, not
 * measured). Checks the exit codes (0 the kinds agree, 1 a kind differs, 2 bad input) and that
 * every errno is named on its own platform.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { validateReport, type ProbeReport, type ScenarioResult } from '../src/scenarios/index.js';
import { tempDir } from './built-package.js';
import { fixture, loadReport as load, runCli, validateWithSchema, type CliResult } from './fixtures/run-cli.js';
import { errnoOf, guardFds } from './helpers.js';

guardFds();

const DARWIN = fixture('probe-darwin-reference.json');
const WIN32 = fixture('probe-win32-reference.json');
/** Measured: `rawrecv probe --json` with the Windows node.exe under Wine (npm run test:windows checks it is current). */
const WINE = fixture('probe-win32-wine.json');

const linux = process.platform === 'linux';
const temp = tempDir('rawrecv-diff-');
const dir = temp.path;
/** The report `probe --json` made on this machine. */
let here: ProbeReport;
let herePath = '';

/** Writes `report` (only the scenarios `ids`, when given) to the temporary folder. */
function write(name: string, report: ProbeReport, ids?: readonly string[]): string {
  const path = join(dir, name);
  const scenarios = ids ? report.scenarios.filter((scenario) => ids.includes(scenario.id)) : report.scenarios;
  writeFileSync(path, JSON.stringify({ ...report, scenarios }));
  return path;
}

function scenarioOf(report: ProbeReport, id: string): ScenarioResult {
  const found = report.scenarios.find((scenario) => scenario.id === id);
  if (!found) throw new Error(`no ${id} in the report`);
  return found;
}

/** A deep copy whose scenario `id` has been changed by `change`. */
function edited(report: ProbeReport, id: string, change: (scenario: ScenarioResult) => void): ProbeReport {
  const copy = structuredClone(report);
  change(scenarioOf(copy, id));
  return copy;
}

function expectOneLineError(result: CliResult, pattern: RegExp): void {
  expect(result.code).toBe(2);
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n')).toBe(true);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/^rawrecv diff: /);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(async () => {
  const probe = await runCli(['probe', '--json'], 20_000);
  expect(probe.code).toBe(0);
  herePath = join(dir, `${process.platform}.json`);
  writeFileSync(herePath, probe.stdout);
  here = load(herePath);
}, 30_000);

afterAll(() => temp.remove());

describe('the fixtures from the reference columns', () => {
  it.each([DARWIN, WIN32])(
    '%s is a valid probe report (schema and validateReport) that says it is not measured',
    (path) => {
      const report = load(path);
      expect(validateWithSchema(report), JSON.stringify(validateWithSchema.errors)).toBe(true);
      expect(validateReport(report)).toEqual({ report });
      expect(report.note).toMatch(/^Derived from the .* column of docs\/recv-semantics\.md .*not measured/);
      for (const scenario of report.scenarios) {
        if (scenario.status === 'ok') expect(scenario.note).toMatch(/^reference: /);
        else expect(scenario.reason).toMatch(/\S/);
      }
    },
  );
  // Their steps and numbers are the tables' (test/13.conformance.test.ts compares them).
});

describe('the report measured under Wine', () => {
  it('is a valid probe report from win32 under Wine (its steps: test/13.conformance.test.ts)', () => {
    const report = load(WINE);
    expect(validateWithSchema(report), JSON.stringify(validateWithSchema.errors)).toBe(true);
    expect(report).toMatchObject({ os: 'win32', wine: expect.stringMatching(/^\d/) as string });
  });

  it.runIf(linux)(
    'this machine against Wine: exit 1, the expected semantic differences and the portable ones',
    async () => {
      const result = await runCli(['diff', herePath, WINE, '--no-color']);
      expect(result.code).toBe(1);
      const lines = result.stdout.split('\n');
      expect(lines).toContain('win32 = ' + WINE + ': win32 10.0.18362 x64, rawrecv 0.1.0, Node v20.20.2, Wine 8.0');
      // Portable: the same kinds under other numbers.
      expect(lines).toContain(
        '  #1 tcp4 client#1 recv(16): would-block on both: linux -1 EAGAIN (11), win32 -1 WSAEWOULDBLOCK (10035)',
      );
      expect(lines).toContain(
        '  #1 tcp4 client#1 recv(16): timeout on both: linux -1 EAGAIN (11), win32 -1 WSAETIMEDOUT (10060)',
      );
      // Wine's deviation from Windows (docs/recv-semantics.md#wine): a reset reads as an orderly 0.
      expect(lines).toContain('tcp.rst: KIND DIFFERS (2 calls with another kind)');
      expect(lines).toContain(
        '  #1 tcp4 client#1 recv(16): kind differs: linux error -1 ECONNRESET (104), win32 eof 0',
      );
      // Windows' shutdown(SD_RECEIVE) is WSAESHUTDOWN; Linux returns 0.
      expect(lines.some((line) => line.startsWith('tcp.shut-rd: KIND DIFFERS'))).toBe(true);
    },
  );
});

describe('rawrecv diff pairs calls by role (issue 11, item 7)', () => {
  /** tcp.rst of this machine with one more recv on its first connection (client#1), inserted after its own. */
  const oneMore = (): ProbeReport =>
    edited(here, 'tcp.rst', (scenario) => {
      const extra = { ...scenario.steps[2]! };
      scenario.steps.splice(3, 0, extra);
    });
  /** The same report as format 1: no roles. */
  const formatOne = (report: ProbeReport): ProbeReport => {
    const copy = structuredClone(report) as unknown as Record<string, unknown> & ProbeReport;
    copy.formatVersion = 1;
    for (const scenario of copy.scenarios) {
      scenario.steps = scenario.steps.filter((step) => step.kind !== 'ready');
      for (const step of scenario.steps) delete step.role;
    }
    return copy;
  };

  it.runIf(linux)(
    'two connections, one makes a call more: only that call is unpaired, the other connection still pairs',
    async () => {
      const before = here.scenarios.find((scenario) => scenario.id === 'tcp.rst')!.steps.map((step) => step.role);
      expect(before).toEqual(['client#1', 'client#1', 'client#1', 'client#2', 'client#2', 'client#2']);
      const result = await runCli([
        'diff',
        write('rst.json', here, ['tcp.rst']),
        write('rst-more.json', oneMore(), ['tcp.rst']),
        '--no-color',
      ]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const lines = result.stdout.split('\n');
      expect(lines).toContain('tcp.rst: other calls (1 made on one side only)');
      expect(lines).toContain(
        '  #4 tcp4 client#1 recv(16): only in linux(rst-more.json), eof 0 (no such call in linux(rst.json))',
      );
      expect(lines.filter((line) => line.startsWith('  #'))).toHaveLength(1);
    },
  );

  it.runIf(linux)('the same two reports in format 1 (no roles) pair the wrong calls: what roles prevent', async () => {
    const result = await runCli([
      'diff',
      write('rst-v1.json', formatOne(here), ['tcp.rst']),
      write('rst-more-v1.json', formatOne(oneMore()), ['tcp.rst']),
      '--no-color',
    ]);
    // The extra eof of the first connection is paired with the second connection's ECONNRESET.
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')).toContain(
      '  #4 tcp4 recv(16): kind differs: linux(rst-v1.json) error -1 ECONNRESET (104), linux(rst-more-v1.json) eof 0',
    );
  });

  it('a report of format 1 is still read, valid against the schema, and diffed against one of format 2', async () => {
    const old = formatOne(here);
    expect(validateWithSchema(old), JSON.stringify(validateWithSchema.errors)).toBe(true);
    expect(validateReport(old)).toEqual({ report: old });
    const result = await runCli(['diff', write('v1.json', old), herePath, '--no-color']);
    expect(result.stderr).toBe('');
    // tcp.rcvlowat's poll steps are not in the format 1 copy: calls made on one side only.
    const ran = here.scenarios.filter((scenario) => scenario.status === 'ok').length;
    expect(result.stdout).toMatch(new RegExp(`${here.scenarios.length} scenarios: ${ran - (linux ? 1 : 0)} same`));
    expect(result.code).toBe(0);
  });

  it('a step of format 2 without its role, or of format 1 with one, is refused (schema and validateReport)', () => {
    const noRole = structuredClone(here);
    const first = noRole.scenarios.find((scenario) => scenario.steps.length > 0)!;
    delete first.steps[0]!.role;
    expect(validateWithSchema(noRole)).toBe(false);
    expect(validateReport(noRole)).toMatchObject({
      problems: [expect.stringMatching(/\.role: must be a role such as 'client#1'$/) as string],
    });
    const withRole = { ...structuredClone(here), formatVersion: 1 };
    expect(validateWithSchema(withRole)).toBe(false);
    const refused = validateReport(withRole) as { problems: string[] };
    expect(refused.problems[0]).toMatch(/unexpected property 'role'$/);
  });
});

describe('rawrecv diff: exit codes and naming', () => {
  it('a report against itself: exit 0, everything that ran is the same', async () => {
    const result = await runCli(['diff', herePath, herePath, '--no-color']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const ran = here.scenarios.filter((scenario) => scenario.status === 'ok').length;
    const skipped = here.scenarios.length - ran;
    expect(result.stdout).toContain(
      `${here.scenarios.length} scenarios: ${ran} same, 0 portable, 0 with calls made on one side only, ` +
        `0 differ in kind, 0 differ in status, ${skipped} not compared`,
    );
  });

  it.runIf(linux)('this machine against the darwin column: exit 1, tcp.len0.idle differs in kind', async () => {
    const result = await runCli(['diff', herePath, DARWIN, '--no-color']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const lines = result.stdout.split('\n');
    // Linux: non-blocking recv(len=0) is EAGAIN; macOS returns 0 at once [S].
    expect(lines).toContain('tcp.len0.idle: KIND DIFFERS (1 call with another kind)');
    expect(lines).toContain(
      `  #1 tcp4 client#1 recv(0): kind differs: linux would-block -1 EAGAIN (${errnoOf('EAGAIN')}), darwin data 0 bytes (ret 0)`,
    );
    // Each errno named on its own platform: 11 on linux and 35 on darwin are both EAGAIN.
    expect(lines).toContain('tcp.idle.rcvtimeo: portable (1 with the same kind, other numbers)');
    expect(lines).toContain(
      '  #1 tcp4 client#1 recv(16): timeout on both: linux -1 EAGAIN (11), darwin -1 EAGAIN (35)',
    );
    expect(lines).toContain(
      '  #1 tcp4 client#1 recv(16): error on both: linux -1 ECONNRESET (104), darwin -1 ECONNRESET (54)',
    );
    // Missing or unsupported on one side: said so, never a difference.
    expect(lines).toContain('tcp.eintr: not compared, missing from darwin (only in linux)');
    expect(lines).toContainEqual(
      expect.stringMatching(/^unix\.seqpacket: not compared: linux ok; darwin unsupported \(/),
    );
  });

  it.runIf(linux)(
    'this machine against the win32 column: exit 1; 10035 is WSAEWOULDBLOCK, rcvtimeo is portable',
    async () => {
      const result = await runCli(['diff', herePath, WIN32, '--no-color']);
      expect(result.code).toBe(1);
      const lines = result.stdout.split('\n');
      expect(lines).toContain(
        '  #1 tcp4 client#1 recv(16): would-block on both: linux -1 EAGAIN (11), win32 -1 WSAEWOULDBLOCK (10035)',
      );
      // Same kind 'timeout', WSAETIMEDOUT on Windows, EAGAIN on Linux: portable.
      expect(lines).toContain('tcp.idle.rcvtimeo: portable (1 with the same kind, other numbers)');
      expect(lines).toContain(
        '  #1 tcp4 client#1 recv(16): timeout on both: linux -1 EAGAIN (11), win32 -1 WSAETIMEDOUT (10060)',
      );
      // Windows: recv(len=0) on a stream socket is WSAEINVAL [D].
      expect(lines).toContain('tcp.len0.idle: KIND DIFFERS (2 calls with another kind)');
      // Same kind 'error', but another error: marked.
      expect(lines).toContain(
        '  #1 udp4 socket#1 recv(16): error on both: linux -1 ECONNREFUSED (111), win32 -1 WSAECONNRESET (10054) (a different error)',
      );
      expect(lines).toContain(
        'tcp.idle.dontwait: not compared: linux ok; win32 unsupported (win32 has no MSG_DONTWAIT flag)',
      );
    },
  );

  it.runIf(linux)('exit 0 when every kind agrees: this machine and darwin on the scenarios where they do', async () => {
    const ids = [
      'tcp.idle.nonblocking',
      'tcp.idle.rcvtimeo',
      'tcp.data',
      'tcp.fin',
      'tcp.rst',
      'udp.idle',
      'fd.closed',
    ];
    // A scenario on one side only is reported, not a difference.
    const a = write('a.json', here, [...ids, 'udp.len0']);
    const b = write('b.json', load(DARWIN), ids);
    const result = await runCli(['diff', a, b, '--no-color']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines).toContain(
      '  #1 tcp4 client#1 recv(16): would-block on both: linux -1 EAGAIN (11), darwin -1 EAGAIN (35)',
    );
    expect(lines).toContain('udp.len0: not compared, missing from darwin (only in linux)');
    expect(lines).toContain('same on both: tcp.fin, fd.closed');
    expect(lines.at(-2)).toBe(
      '8 scenarios: 2 same, 5 portable, 0 with calls made on one side only, 0 differ in kind, 0 differ in status, 1 not compared',
    );
  });

  it.runIf(linux)('exit 0 for tcp.idle.rcvtimeo against win32: WSAETIMEDOUT and EAGAIN are the same kind', async () => {
    const a = write('rcvtimeo-linux.json', here, ['tcp.idle.rcvtimeo']);
    const b = write('rcvtimeo-win32.json', load(WIN32), ['tcp.idle.rcvtimeo']);
    const result = await runCli(['diff', a, b, '--no-color']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      '  #1 tcp4 client#1 recv(16): timeout on both: linux -1 EAGAIN (11), win32 -1 WSAETIMEDOUT (10060)',
    );
  });

  it("names each errno from its platform table, not from the report's code field", async () => {
    const darwin = edited(load(DARWIN), 'tcp.idle.rcvtimeo', (scenario) => {
      for (const recorded of scenario.steps) recorded.code = 'NOT-THE-NAME';
    });
    const win32 = edited(load(WIN32), 'tcp.idle.rcvtimeo', (scenario) => {
      for (const recorded of scenario.steps) recorded.code = 'NOT-THE-NAME';
    });
    const result = await runCli([
      'diff',
      write('named-darwin.json', darwin, ['tcp.idle.rcvtimeo']),
      write('named-win32.json', win32, ['tcp.idle.rcvtimeo']),
      '--no-color',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('timeout on both: darwin -1 EAGAIN (35), win32 -1 WSAETIMEDOUT (10060)');
    expect(result.stdout).not.toContain('NOT-THE-NAME');
  });

  it('Wine-like tcp.rst (recv returns 0 where Windows says WSAECONNRESET) is a kind difference: exit 1', async () => {
    // Wine returns 0 instead of WSAECONNRESET (docs/recv-semantics.md#tcp.rst, [W]).
    const wine = edited(load(WIN32), 'tcp.rst', (scenario) => {
      scenario.steps[0] = { ...scenario.steps[0]!, ret: 0, errno: 0, code: null, kind: 'eof' };
    });
    const winePath = write('wine.json', { ...wine, wine: '8.0' }, ['tcp.rst']);
    const windows = await runCli(['diff', write('windows.json', load(WIN32), ['tcp.rst']), winePath, '--no-color']);
    expect(windows.code).toBe(1);
    expect(windows.stdout.split('\n')).toContain(
      '  #1 tcp4 client#1 recv(16): kind differs: win32(windows.json) error -1 WSAECONNRESET (10054), win32(wine.json) eof 0',
    );
    expect(windows.stdout).toContain('win32(wine.json) = ');
    expect(windows.stdout).toContain(', Wine 8.0');
    if (linux) {
      const here1 = await runCli(['diff', write('rst-linux.json', here, ['tcp.rst']), winePath, '--no-color']);
      expect(here1.code).toBe(1);
      expect(here1.stdout).toContain('tcp.rst: KIND DIFFERS');
      expect(here1.stdout).toContain(
        '  #1 tcp4 client#1 recv(16): kind differs: linux error -1 ECONNRESET (104), win32 eof 0',
      );
    }
  });

  it('a scenario that ran on one side and timed out on the other is a difference: exit 1', async () => {
    const timedOut = edited(here, 'tcp.fin', (scenario) => {
      scenario.status = 'timeout';
      scenario.reason = 'cut off by its 3000 ms deadline';
    });
    const result = await runCli(['diff', herePath, write('timed-out.json', timedOut), '--no-color']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^tcp\.fin: STATUS DIFFERS: .* ok, .* timeout \(cut off by its 3000 ms deadline\)$/m);
  });
});

describe('rawrecv diff: reports as Windows shells write them', () => {
  it('reads a report saved as UTF-16 with a byte order mark (PowerShell 5 `>`) or UTF-8 with one', async () => {
    const text = readFileSync(DARWIN, 'utf8');
    const utf16 = join(dir, 'utf16.json');
    const bom = join(dir, 'bom.json');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    writeFileSync(bom, `\uFEFF${text}`);
    const result = await runCli(['diff', utf16, bom, '--no-color']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /\n\d+ scenarios: \d+ same, 0 portable, 0 with calls made on one side only, 0 differ in kind/,
    );
  });
});

describe('rawrecv diff: bad input is exit 2 and one line', () => {
  it('one file, or three', async () => {
    expectOneLineError(await runCli(['diff', DARWIN]), /needs two report files .* got 1/);
    expectOneLineError(await runCli(['diff', DARWIN, WIN32, DARWIN]), /got 3/);
  });

  it('a file that cannot be read', async () => {
    expectOneLineError(
      await runCli(['diff', join(dir, 'missing.json'), DARWIN]),
      /cannot read .*missing\.json: ENOENT/,
    );
  });

  it('a file that is not JSON', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{"format": "rawrecv-probe-report",');
    expectOneLineError(await runCli(['diff', DARWIN, path]), /broken\.json is not JSON: /);
  });

  it.each([
    [
      'another format',
      (report: Record<string, unknown>) => ({ ...report, format: 'something else' }),
      /format: must be/,
    ],
    [
      'a newer format version',
      (report: Record<string, unknown>) => ({ ...report, formatVersion: 3 }),
      /formatVersion: 3 is not a version this rawrecv reads \(1 or 2\)/,
    ],
    [
      'a step without its kind',
      (report: Record<string, unknown>) => {
        const copy = structuredClone(report) as unknown as ProbeReport;
        delete (copy.scenarios[0]!.steps[0] as Partial<ProbeReport['scenarios'][0]['steps'][0]>).kind;
        return copy;
      },
      /scenarios\[0\]\.steps\[0\]\.kind: must be one of/,
    ],
    [
      'an unsupported scenario without a reason',
      (report: Record<string, unknown>) => {
        const copy = structuredClone(report) as unknown as ProbeReport;
        copy.scenarios[0] = { ...copy.scenarios[0]!, status: 'unsupported', reason: undefined };
        return copy;
      },
      /scenarios\[0\]\.reason: must be a non-empty string/,
    ],
    ['a JSON array', () => [] as unknown as Record<string, unknown>, /report: must be a JSON object/],
  ])('a report with %s: refused by diff and by the schema', async (_what, change, pattern) => {
    const bad = change(load(DARWIN) as unknown as Record<string, unknown>);
    const path = join(dir, 'invalid.json');
    writeFileSync(path, JSON.stringify(bad));
    expect(validateWithSchema(JSON.parse(readFileSync(path, 'utf8')))).toBe(false);
    expectOneLineError(
      await runCli(['diff', DARWIN, path]),
      new RegExp(`invalid\\.json is not a valid probe report: ${pattern.source}`),
    );
  });
});

/** Every C0 or C1 control character or DEL in `text`, apart from the newline that ends each line. */
function controlsIn(text: string): string[] {
  return [...text]
    .filter((char) => {
      const code = char.charCodeAt(0);
      return (code < 0x20 && char !== '\n') || (code >= 0x7f && code <= 0x9f);
    })
    .map((char) => `U+${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function expectNoControls(result: CliResult): void {
  expect(controlsIn(result.stdout), 'control characters on stdout').toEqual([]);
  expect(controlsIn(result.stderr), 'control characters on stderr').toEqual([]);
}

describe('rawrecv diff: terminal escapes from a crafted report (issue 8, defect 6)', () => {
  it('issue 8 defect 6: prints every string of a report with its control characters escaped (\\x1b, \\u009b), even with --no-color', async () => {
    const darwin = load(DARWIN);
    const ids = ['tcp.idle.rcvtimeo', 'tcp.keepalive-dead'];
    const crafted = edited(
      edited(darwin, 'tcp.idle.rcvtimeo', (scenario) => {
        scenario.steps[0] = {
          ...scenario.steps[0]!,
          socket: 'tcp4\u001b[8m',
          call: 'recv(16)\u0000',
          code: 'EAGAIN\u009b2J',
        };
      }),
      'tcp.keepalive-dead',
      (scenario) => {
        scenario.reason = '\u001b[31mred\u001b[0m';
        scenario.title = 'title\u001b[2J';
      },
    );
    const evil = {
      ...crafted,
      os: 'darwin\u001b]0;owned\u0007',
      osRelease: '\u001b[2J',
      arch: 'arm64\r',
      node: 'v20\u007f',
      rawrecv: '0.1.0\u0085',
      wine: '8.0\u001b[5m',
      note: 'first line\nsecond line\t\u001bc',
    };
    const cleanPath = write('clean.json', darwin, ids);
    const evilPath = write('evil.json', evil, ids);
    expect(readFileSync(evilPath, 'utf8')).toContain('\\u001b[2J');
    const result = await runCli(['diff', cleanPath, evilPath, '--no-color']);
    expect(result.stderr).toBe('');
    expectNoControls(result);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      `darwin = ${cleanPath}: darwin n/a (documentation) n/a (documentation), rawrecv 0.1.0, Node n/a (documentation)`,
      `  note: ${darwin.note}`,
      String.raw`darwin\x1b]0;owned\x07 = ` +
        evilPath +
        String.raw`: darwin\x1b]0;owned\x07 \x1b[2J arm64\x0d, rawrecv 0.1.0\u0085, Node v20\x7f, Wine 8.0\x1b[5m`,
      String.raw`  note: first line\x0asecond line\x09\x1bc`,
      'tcp.idle.rcvtimeo: other calls (2 made on one side only)',
      String.raw`  #1 tcp4 client#1 recv(16): only in darwin, timeout -1 EAGAIN (35) (no such call in darwin\x1b]0;owned\x07)`,
      String.raw`  #1 tcp4\x1b[8m client#1 recv(16)\x00: only in darwin\x1b]0;owned\x07, timeout -1 EAGAIN\u009b2J (35) (no such call in darwin)`,
      String.raw`tcp.keepalive-dead: not compared: darwin unsupported (` +
        scenarioOf(darwin, 'tcp.keepalive-dead').reason +
        String.raw`); darwin\x1b]0;owned\x07 unsupported (\x1b[31mred\x1b[0m)`,
      '2 scenarios: 0 same, 0 portable, 1 with calls made on one side only, 0 differ in kind, 0 differ in status, 1 not compared',
      '',
    ]);
  });

  it('issue 8 defect 6: escapes the control characters of a report in its error messages (a property name, JSON)', async () => {
    const badKey = join(dir, 'bad-key.json');
    writeFileSync(badKey, JSON.stringify({ ...load(DARWIN), '\u001b[2J\u009b': 1 }));
    const keyResult = await runCli(['diff', DARWIN, badKey]);
    expectOneLineError(
      keyResult,
      /bad-key\.json is not a valid probe report: report: unexpected property '\\x1b\[2J\\u009b'$/m,
    );
    expectNoControls(keyResult);

    const notJson = join(dir, 'escape.json');
    writeFileSync(notJson, '\u001b[2J');
    const jsonResult = await runCli(['diff', DARWIN, notJson]);
    expectOneLineError(
      jsonResult,
      /escape\.json is not JSON: Unexpected token '\\x1b', "\\x1b\[2J" is not valid JSON$/m,
    );
    expectNoControls(jsonResult);
  });

  it('issue 8 defect 6: a formatVersion that is a string ("1") is refused with a message that says it is a string', async () => {
    const report = { ...load(DARWIN), formatVersion: '1' };
    expect(validateWithSchema(report)).toBe(false);
    expect(validateReport(report)).toEqual({
      problems: ['formatVersion: must be a number (1 or 2), not the string "1"'],
    });
    const path = join(dir, 'string-version.json');
    writeFileSync(path, JSON.stringify(report));
    expectOneLineError(
      await runCli(['diff', DARWIN, path]),
      /string-version\.json is not a valid probe report: formatVersion: must be a number \(1 or 2\), not the string "1"$/m,
    );
  });
});
