/**
 * `rawrecv probe` and the scenario catalogue behind it (src/scenarios/), checked against the
 * Linux [V] cells of /work/shared/recv-semantics.md: the catalogue run in this process, and
 * `node dist/cli/main.js probe --json` run as a child process, whose report must also be valid
 * against schema/probe-report.schema.json. Then the runner itself: deadlines, errors,
 * unsupported scenarios, and that everything a scenario opened is closed however it ends.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';

import Ajv2020 from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';

import { Socket } from '../src/index.js';
import { ipv6Loopback, tcpPair } from '../src/scenarios/helpers.js';
import {
  catalogue,
  CutOffError,
  runScenario,
  runScenarios,
  scenarioIds,
  selectScenarios,
  STEP_KINDS,
  UnknownScenarioError,
  validateReport,
  type ProbeReport,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
  type Step,
} from '../src/scenarios/index.js';
import { CLI, runCli } from './fixtures/run-cli.js';
import { errnoOf, guardFds, openFdCount } from './helpers.js';

guardFds();

const ROOT = new URL('../', import.meta.url);
const SCHEMA = JSON.parse(readFileSync(new URL('schema/probe-report.schema.json', ROOT), 'utf8')) as object;
const PACKAGE = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { version: string };
const REFERENCE = new URL('../shared/recv-semantics.md', ROOT);

const validateWithSchema = new Ajv2020.default({ strict: true, allErrors: true }).compile(SCHEMA);

// --- The expected Linux steps, from the [V] cells of recv-semantics.md --------------------------

type Expected = Omit<Step, 'errno'>;
const step = (socket: string, call: string, kind: Step['kind'], ret: number, code: string | null): Expected => ({
  socket,
  call,
  layer: 'typed',
  ret,
  code,
  kind,
});
const wouldBlock = (socket: string, call = 'recv(16)'): Expected => step(socket, call, 'would-block', -1, 'EAGAIN');
const timeout = (socket: string, call = 'recv(16)'): Expected => step(socket, call, 'timeout', -1, 'EAGAIN');
const error = (socket: string, code: string, call = 'recv(16)'): Expected => step(socket, call, 'error', -1, code);
const eof = (socket: string, call = 'recv(16)'): Expected => step(socket, call, 'eof', 0, null);
const data = (socket: string, bytes: number, call = 'recv(16)', extra: Partial<Step> = {}): Expected => ({
  ...step(socket, call, 'data', bytes, null),
  bytes,
  ...extra,
});
const sys = (expected: Expected): Expected => ({ ...expected, layer: 'sys' });
const PEEK = 'recv(16, MSG_PEEK)';

/**
 * Scenario id -> the steps `probe` must record on Linux, each call with its ret, errno name and
 * kind. The comment above each is the Linux cell of recv-semantics.md.
 */
const LINUX: Readonly<Record<string, readonly Expected[]>> = {
  // -1 EAGAIN [V]
  'tcp.idle.nonblocking': [wouldBlock('tcp4'), wouldBlock('tcp6')],
  // -1 EAGAIN [V] (MSG_DONTWAIT wins over SO_RCVTIMEO: would-block, not timeout)
  'tcp.idle.dontwait': [wouldBlock('tcp4', 'recv(16, MSG_DONTWAIT)'), wouldBlock('tcp4', 'recv(16, MSG_DONTWAIT)')],
  // -1 EAGAIN after the timeout [V]
  'tcp.idle.rcvtimeo': [timeout('tcp4')],
  // byte count [V]
  'tcp.data': ['tcp4', 'tcp6'].flatMap((s) => [data(s, 3, 'recv(3)'), data(s, 2), wouldBlock(s)]),
  // count, data stays queued [V]
  'tcp.peek': [data('tcp4', 5, PEEK), data('tcp4', 5), wouldBlock('tcp4', PEEK)],
  // queued data, then 0, and 0 on every later call (also with MSG_PEEK) [V]
  'tcp.fin': [
    ...['tcp4', 'tcp6'].flatMap((s) => [data(s, 5), eof(s), eof(s, PEEK), eof(s)]),
    data('tcp4', 5),
    eof('tcp4'),
  ],
  // our send still works; the peer can still read [V]
  'tcp.half-close': [eof('tcp4'), step('tcp4', 'send(4)', 'sent', 4, null), data('tcp4 peer', 4)],
  // -1 ECONNRESET once, then 0 forever [V] (peer closed with unread data; SO_LINGER {1, 0} + close)
  'tcp.rst': [1, 2].flatMap(() => [error('tcp4', 'ECONNRESET'), eof('tcp4'), eof('tcp4')]),
  // data first, then ECONNRESET, then 0 [V]
  'tcp.rst.pending': [data('tcp4', 3), error('tcp4', 'ECONNRESET'), eof('tcp4')],
  // SO_ERROR returns 104 and clears it: recv then returns 0 [V]; a MSG_PEEK recv takes it the same way
  'tcp.rst.consumed': [
    { ...step('tcp4', 'getsockopt(SO_ERROR)', 'error', 0, 'ECONNRESET') },
    eof('tcp4'),
    error('tcp4', 'ECONNRESET', PEEK),
    eof('tcp4'),
  ],
  // non-blocking: -1 EAGAIN; blocking: waits for data/FIN/timeout, then 0 [V]
  'tcp.len0.idle': [sys(wouldBlock('tcp4', 'recv(0)')), sys(data('tcp4', 0, 'recv(0)'))],
  // 0, nothing consumed [V]
  'tcp.len0.data': [sys(data('tcp4', 0, 'recv(0)')), data('tcp4', 3)],
  // -1 ENOTCONN [V]
  'tcp.unconnected': [error('tcp4', 'ENOTCONN')],
  // -1 ENOTCONN [V]
  'tcp.listening': [error('tcp4', 'ENOTCONN')],
  // -1 EAGAIN (not ENOTCONN) [V]
  'tcp.connecting': [wouldBlock('tcp4')],
  // -1 ECONNREFUSED once, then 0 [V]
  'tcp.refused': [error('tcp4', 'ECONNREFUSED'), eof('tcp4')],
  // -1 ETIMEDOUT once, then 0 [V]
  'tcp.keepalive-dead': [error('tcp4', 'ETIMEDOUT'), eof('tcp4')],
  // 0 at once even when blocking; pending data still returned; data arriving later is still delivered [V]
  'tcp.shut-rd': [data('tcp4', 3), eof('tcp4'), eof('tcp4'), data('tcp4', 4), eof('tcp4')],
  // the partial count [V]
  'tcp.waitall': [data('tcp4', 3, 'recv(16, MSG_WAITALL)'), eof('tcp4')],
  // SA_RESTART: restarted, but with SO_RCVTIMEO set: EINTR anyway [V]
  'tcp.eintr': [step('tcp4', 'recv(16)', 'interrupted', -1, 'EINTR')],
  // -1 EAGAIN [V]
  'udp.idle': [wouldBlock('udp4'), wouldBlock('udp4', 'recvmsg(16)')],
  // 0 plus the sender's address; this is a datagram, not EOF [V]
  'udp.zero-length': [data('udp4', 0, 'recvmsg(16)'), wouldBlock('udp4')],
  // 4, rest discarded; MSG_TRUNC in msg_flags; Linux MSG_TRUNC flag returns the real length 10 [V]
  'udp.truncated': [
    data('udp4', 4, 'recvmsg(4)', { truncated: true }),
    data('udp4', 4, 'recv(4, MSG_TRUNC)', { ret: 10, truncated: true }),
    wouldBlock('udp4', 'recvmsg(16)'),
  ],
  // 0, and the datagram is consumed [V] (the next recv returns the second datagram, 6 bytes)
  'udp.len0': [data('udp4', 5, PEEK), sys(data('udp4', 0, 'recv(0)')), data('udp4', 6)],
  // -1 ECONNREFUSED once, then EAGAIN [V]
  'udp.icmp': [error('udp4', 'ECONNREFUSED'), wouldBlock('udp4')],
  // nothing (EAGAIN) unless IP_RECVERR is set [V] (the connected probe gets ECONNREFUSED, as udp.icmp)
  'udp.icmp.unconnected': [error('udp4 probe', 'ECONNREFUSED'), wouldBlock('udp4')],
  // idle EAGAIN; data then 0 after peer close; peer closed with unread data: ECONNRESET then 0 [V]
  'unix.stream': [
    wouldBlock('unix-stream'),
    data('unix-stream', 5),
    eof('unix-stream'),
    eof('unix-stream'),
    error('unix-stream', 'ECONNRESET'),
    eof('unix-stream'),
  ],
  // zero-length record: 0 (not EOF); truncation drops the rest; peer close: 0 [V], which
  // the library calls eof because poll(2) reports the hang-up (README, SOCK_SEQPACKET)
  'unix.seqpacket': [
    data('unix-seqpacket', 0),
    wouldBlock('unix-seqpacket'),
    data('unix-seqpacket', 4, 'recvmsg(4)', { truncated: true }),
    data('unix-seqpacket', 4, 'recvmsg(16)'),
    eof('unix-seqpacket'),
  ],
  // EAGAIN forever (a blocking recv hangs: here SO_RCVTIMEO ends it) [V]
  'unix.dgram.peer-closed': [wouldBlock('unix-dgram'), wouldBlock('unix-dgram'), timeout('unix-dgram')],
  // -1 EBADF [V]
  'fd.closed': [sys(error('fd -1', 'EBADF')), sys(error('closed fd', 'EBADF'))],
  // -1 ENOTSOCK [V]
  'fd.not-socket': [sys(error('/dev/null', 'ENOTSOCK'))],
};

/** Scenarios a single-threaded probe cannot create, on any OS. */
const UNSUPPORTED = ['tcp.wake'];

/** The expected steps with their Linux errno numbers; ::1 steps only where ::1 exists. */
function expectedSteps(id: string): Step[] {
  const steps = (LINUX[id] ?? []).filter((expected) => ipv6Loopback() === true || expected.socket !== 'tcp6');
  return steps.map((expected) => ({ ...expected, errno: expected.code === null ? 0 : errnoOf(expected.code) }));
}

/** Asserts one scenario result against the Linux reference. */
function expectLinux(result: ScenarioResult | undefined, id: string): void {
  expect(result, `${id} is in the results`).toBeDefined();
  if (!result) return;
  if (UNSUPPORTED.includes(id)) {
    expect(result).toMatchObject({ id, status: 'unsupported', steps: [] });
    expect(result.reason).toMatch(/\S/);
    return;
  }
  expect({ id, status: result.status, reason: result.reason }).toEqual({ id, status: 'ok', reason: undefined });
  expect(result.steps).toEqual(expectedSteps(id));
}

// --- The catalogue ------------------------------------------------------------------------------

describe('the scenario catalogue', () => {
  it('has every scenario id of the reference, in its order, each with a title', () => {
    expect(scenarioIds).toEqual([...Object.keys(LINUX).slice(0, 20), 'tcp.wake', ...Object.keys(LINUX).slice(20)]);
    for (const scenario of catalogue) expect(scenario.title).toMatch(/\S/);
  });

  it.runIf(existsSync(REFERENCE))("has exactly the ids of recv-semantics.md's scenario table", () => {
    const text = readFileSync(REFERENCE, 'utf8');
    const ids = [...text.matchAll(/^\| ((?:tcp|udp|unix|fd)\.[a-z0-9.-]+) \|/gm)].map((match) => match[1]);
    expect(ids.length).toBeGreaterThan(30);
    expect([...scenarioIds]).toEqual(ids);
  });

  it('selectScenarios keeps catalogue order and refuses unknown ids', () => {
    expect(selectScenarios(['udp.idle', 'tcp.fin']).map((scenario) => scenario.id)).toEqual(['tcp.fin', 'udp.idle']);
    expect(selectScenarios().length).toBe(catalogue.length);
    expect(() => selectScenarios(['tcp.fin', 'tcp.nope'])).toThrow(UnknownScenarioError);
    expect(() => selectScenarios(['tcp.nope'])).toThrow('unknown scenario id: tcp.nope');
  });
});

describe.runIf(process.platform === 'linux')('probe in this process matches the Linux [V] cells', () => {
  const results = new Map<string, ScenarioResult>();

  beforeAll(async () => {
    for await (const result of runScenarios(catalogue)) results.set(result.id, result);
  }, 30_000);

  it.each([...scenarioIds])('%s', (id) => {
    expectLinux(results.get(id), id);
  });

  it('tcp.len0.idle: the blocking zero-length recv waited for its 100 ms SO_RCVTIMEO before returning 0', () => {
    // Linux waits (macOS returns 0 at once): the scenario cannot have been quicker than the timeout.
    expect(results.get('tcp.len0.idle')?.durationMs).toBeGreaterThanOrEqual(90);
  });

  it('tcp.idle.nonblocking and tcp.data ran on ::1 too, or say why not', () => {
    const v6 = ipv6Loopback();
    const note = results.get('tcp.data')?.note;
    if (v6 === true) expect(note).toBeUndefined();
    else expect(note).toContain('::1 is not available');
  });
});

// --- The command, as a child process --------------------------------------------------------------

describe('node dist/cli/main.js probe --json', () => {
  let report: ProbeReport;
  let exitCode: number | null;
  let stderr: string;

  beforeAll(async () => {
    const result = await runCli(['probe', '--json'], 20_000);
    exitCode = result.code;
    stderr = result.stderr;
    report = JSON.parse(result.stdout) as ProbeReport;
  }, 30_000);

  it('exits 0 with nothing on stderr', () => {
    expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: '' });
  });

  it('writes a report that is valid against schema/probe-report.schema.json (ajv) and validateReport', () => {
    expect(validateWithSchema(report), JSON.stringify(validateWithSchema.errors)).toBe(true);
    expect(validateReport(report)).toEqual({ report });
  });

  it('says which machine, OS, Node and rawrecv made it', () => {
    expect(report).toMatchObject({
      format: 'rawrecv-probe-report',
      formatVersion: 1,
      rawrecv: PACKAGE.version,
      os: process.platform,
      osRelease: release(),
      arch: process.arch,
      node: process.version,
      wine: null,
    });
    expect(Date.parse(report.createdAt)).not.toBeNaN();
  });

  it('lists every scenario of the catalogue once, in order; an unsupported one carries a reason', () => {
    expect(report.scenarios.map((scenario) => scenario.id)).toEqual([...scenarioIds]);
    for (const scenario of report.scenarios) {
      expect(['ok', 'unsupported']).toContain(scenario.status);
      if (scenario.status === 'unsupported') expect(scenario.reason).toMatch(/\S/);
      for (const recorded of scenario.steps) expect(STEP_KINDS).toContain(recorded.kind);
    }
  });

  it.runIf(process.platform === 'linux')('matches the Linux [V] cells for every scenario', () => {
    const byId = new Map(report.scenarios.map((scenario) => [scenario.id, scenario]));
    for (const id of scenarioIds) expectLinux(byId.get(id), id);
  });
});

describe('node dist/cli/main.js probe (the table)', () => {
  it('prints each selected scenario with its calls, ret, errno, code and kind, and an unsupported one with its reason', async () => {
    const result = await runCli(['probe', '--only', 'tcp.fin,tcp.wake', '--only', 'udp.idle']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^rawrecv ${PACKAGE.version} probe on ${process.platform} `));
    expect(lines[1]).toMatch(/^\s+socket\s+call\s+ret\s+errno\s+code\s+kind$/);
    const heads = lines.filter((line) => /^[a-z]/.test(line) && line.includes(': '));
    expect(heads.map((line) => line.split(':')[0])).toEqual(['tcp.fin', 'tcp.wake', 'udp.idle']);
    if (process.platform === 'linux') {
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}tcp4 +recv\(16\) +5 +0 {2}- +data {2}5 bytes$/));
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}tcp4 +recv\(16, MSG_PEEK\) +0 +0 {2}- +eof$/));
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(`^ {2}udp4 +recvmsg\\(16\\) +-1 +${errnoOf('EAGAIN')} {2}EAGAIN +would-block$`),
        ),
      );
    }
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}unsupported: needs a second thread/));
    expect(lines.at(-2)).toMatch(/^3 scenarios in \d+\.\d s: 2 ok, 1 unsupported, 0 timeout, 0 error$/);
  });

  it('--list prints every id and title and runs nothing', async () => {
    const result = await runCli(['probe', '--list']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.map((line) => line.split(/\s+/)[0])).toEqual([...scenarioIds]);
    expect(lines[0]).toMatch(/^tcp\.idle\.nonblocking +connected, no data, O_NONBLOCK$/);
  });

  it('prints no colour escapes when stdout is not a terminal, and none with --no-color', async () => {
    for (const args of [
      ['probe', '--only', 'tcp.rst'],
      ['probe', '--only', 'tcp.rst', '--no-color'],
    ]) {
      const result = await runCli(args);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/ECONNRESET/);
      expect(result.stdout).not.toContain('\u001b[');
    }
  });
});

/** Runs `rawrecv ...args` under `script(1)`, so that its stdout is a terminal. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, CLI, ...args].map((word) => `'${word}'`).join(' ');
    execFile(
      'script',
      ['-qec', command, '/dev/null'],
      { timeout: 20_000, env: { ...process.env, NO_COLOR: undefined, ...env } },
      (error, stdout) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? (error.code as number) : 0, stdout });
      },
    );
  });
}

describe.runIf(process.platform === 'linux' && existsSync('/usr/bin/script'))('probe on a terminal (script(1))', () => {
  it('colours the kinds on a terminal', async () => {
    const result = await onTerminal(['probe', '--only', 'tcp.rst']);
    expect(result.code).toBe(0);
    // styleText: red and bold for an error, cyan for eof.
    expect(result.stdout).toContain('\u001b[31m\u001b[1merror\u001b[22m\u001b[39m');
    expect(result.stdout).toContain('\u001b[36meof\u001b[39m');
  });

  it('no colour on a terminal with --no-color, or with NO_COLOR=1', async () => {
    for (const [args, env] of [
      [['probe', '--only', 'tcp.rst', '--no-color'], {}],
      [['probe', '--only', 'tcp.rst'], { NO_COLOR: '1' }],
    ] as const) {
      const result = await onTerminal([...args], env);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/ECONNRESET +error/);
      expect(result.stdout).not.toContain('\u001b[');
    }
  });
});

// --- The runner ------------------------------------------------------------------------------------

function scenario(run: (ctx: ScenarioContext) => Promise<void>, extra: Partial<Scenario> = {}): Scenario {
  return { id: 'test.runner', title: 'a runner test', supported: () => true, run, ...extra };
}

describe('the scenario runner', () => {
  it("cuts off a scenario that hangs at its deadline: status 'timeout', its steps so far, everything closed", async () => {
    const before = openFdCount();
    let opened: Socket[] = [];
    let afterCutOff: unknown;
    const hanging = scenario(async (ctx) => {
      const pair = tcpPair(ctx);
      opened = [pair.client, pair.peer];
      pair.client.setBlocking(false);
      ctx.recv(pair.client, 16);
      try {
        // Nothing ever arrives: only the deadline ends this wait.
        await pair.client.waitReadable({ signal: ctx.signal });
      } finally {
        try {
          ctx.recv(pair.client, 16);
        } catch (error) {
          afterCutOff = error;
        }
      }
    });
    const result = await runScenario(hanging, { deadlineMs: 150 });
    expect(result).toMatchObject({ id: 'test.runner', status: 'timeout', reason: 'cut off by its 150 ms deadline' });
    expect(result.steps).toEqual([
      {
        socket: 'tcp4',
        call: 'recv(16)',
        layer: 'typed',
        ret: -1,
        errno: errnoOf('EAGAIN'),
        code: 'EAGAIN',
        kind: 'would-block',
      },
    ]);
    expect(opened.map((socket) => socket.closed)).toEqual([true, true]);
    // The scenario's own finally ran after the cut-off, and its recv was refused, not made.
    await new Promise((resolve) => setImmediate(resolve));
    expect(afterCutOff).toBeInstanceOf(CutOffError);
    expect(openFdCount()).toBe(before);
  });

  it("reports a scenario that throws as status 'error' with the message, and closes what it opened", async () => {
    let client: Socket | undefined;
    const failing = scenario(async (ctx) => {
      client = tcpPair(ctx).client;
      throw Object.assign(new Error('went wrong\nsecond line'), { code: 'ERR_TEST' });
    });
    const result = await runScenario(failing);
    expect(result).toMatchObject({ status: 'error', reason: 'ERR_TEST: went wrong', steps: [] });
    expect(client?.closed).toBe(true);
  });

  it('reports an unsupported scenario with its reason and never runs it', async () => {
    let ran = false;
    const result = await runScenario(
      scenario(
        async () => {
          ran = true;
        },
        { supported: () => 'this OS lacks it' },
      ),
    );
    expect(result).toEqual({
      id: 'test.runner',
      title: 'a runner test',
      status: 'unsupported',
      reason: 'this OS lacks it',
      durationMs: 0,
      steps: [],
    });
    expect(ran).toBe(false);
  });

  it('yields results one by one as scenarios finish (runScenarios is a stream)', async () => {
    const order: string[] = [];
    const make = (id: string): Scenario =>
      scenario(
        async () => {
          order.push(`run ${id}`);
        },
        { id },
      );
    for await (const result of runScenarios([make('a.one'), make('a.two')])) order.push(`result ${result.id}`);
    expect(order).toEqual(['run a.one', 'result a.one', 'run a.two', 'result a.two']);
  });
});

// --- tcp.eintr on a starved CPU (issue 8, defect 7) --------------------------------------------------

describe.runIf(process.platform === 'linux')('tcp.eintr on a starved CPU (issue 8, defect 7)', () => {
  it('issue 8 defect 7: tcp.eintr signals once its thread is blocked in recv, even when that thread gets there 300 ms late', async () => {
    const eintr = catalogue.find((entry) => entry.id === 'tcp.eintr');
    if (!eintr) throw new Error('no tcp.eintr in the catalogue');
    // The thread is kept busy between starting the signaller and its recv, as a starved CPU
    // would keep it: a signal sent after a fixed delay lands before the recv, which then
    // waits out its whole SO_RCVTIMEO and records a timeout instead of EINTR.
    const late: Scenario = {
      ...eintr,
      run: (ctx) =>
        eintr.run({
          ...ctx,
          recv(socket, length, flags, role) {
            const until = performance.now() + 300;
            while (performance.now() < until) {
              // busy: on the CPU, not blocked in a system call
            }
            return ctx.recv(socket, length, flags, role);
          },
        }),
    };
    const result = await runScenario(late);
    expect({ status: result.status, reason: result.reason }).toEqual({ status: 'ok', reason: undefined });
    expect(result.steps).toEqual(expectedSteps('tcp.eintr'));
  });
});
