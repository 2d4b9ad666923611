/**
 * `rawrecv probe` and the scenario catalogue behind it (src/scenarios/): the catalogue has exactly
 * the scenario ids of docs/recv-semantics.md#scenarios, and `node dist/cli/main.js probe --json`,
 * run as a child process, records the steps of test/expectations/linux.ts (the Linux column; the
 * catalogue itself is run against it, in this process, by test/13.conformance.test.ts) in a report
 * that is valid against schema/probe-report.schema.json. Then the runner itself: deadlines,
 * errors, unsupported scenarios, and that everything a scenario opened is closed however it ends.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { release } from 'node:os';

import { beforeAll, describe, expect, it } from 'vitest';

import { Socket } from '../src/index.js';
import { tcpPair } from '../src/scenarios/helpers.js';
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
} from '../src/scenarios/index.js';
import { LINUX } from './expectations/linux.js';
import { expectScenario, referenceScenarioIds } from './expectations/steps.js';
import { CLI, PACKAGE, runCli, validateWithSchema } from './fixtures/run-cli.js';
import { errnoOf, guardFds, openFdCount } from './helpers.js';

guardFds();

// --- The catalogue ------------------------------------------------------------------------------

describe('the scenario catalogue', () => {
  it('has exactly the scenario ids of docs/recv-semantics.md, in its order, each with a title', () => {
    expect([...scenarioIds]).toEqual(referenceScenarioIds());
    expect([...scenarioIds]).toEqual(Object.keys(LINUX));
    for (const scenario of catalogue) expect(scenario.title).toMatch(/\S/);
  });

  it('selectScenarios keeps catalogue order and refuses unknown ids', () => {
    expect(selectScenarios(['udp.idle', 'tcp.fin']).map((scenario) => scenario.id)).toEqual(['tcp.fin', 'udp.idle']);
    expect(selectScenarios().length).toBe(catalogue.length);
    expect(() => selectScenarios(['tcp.fin', 'tcp.nope'])).toThrow(UnknownScenarioError);
    expect(() => selectScenarios(['tcp.nope'])).toThrow('unknown scenario id: tcp.nope');
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
      formatVersion: 2,
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

  it('gives every step the role of its connection: client#n / server#n per connection, in the order made', () => {
    const roles = (id: string): string[] =>
      (report.scenarios.find((scenario) => scenario.id === id)?.steps ?? []).map(
        (step) => `${step.socket} ${step.role}`,
      );
    // Two connections (unread data, then SO_LINGER {1, 0}): three recvs on each.
    expect(roles('tcp.rst')).toEqual([
      ...Array<string>(3).fill('tcp4 client#1'),
      ...Array<string>(3).fill('tcp4 client#2'),
    ]);
    // Both ends of one connection share its number.
    expect(roles('tcp.half-close')).toEqual(['tcp4 client#1', 'tcp4 client#1', 'tcp4 peer server#1']);
    // A socket that is no connection's end has a number of its own (named by its label's role,
    // else socket#n); a raw descriptor is fd#n.
    expect(roles('udp.icmp.unconnected')).toEqual(['udp4 probe probe#1', 'udp4 socket#2']);
    expect(roles('fd.closed')).toEqual(['fd -1 fd#1', 'closed fd fd#2']);
    for (const scenario of report.scenarios) {
      for (const recorded of scenario.steps) expect(recorded.role).toMatch(/^[a-z][a-z0-9-]*#[1-9][0-9]*$/);
    }
  });

  it.runIf(process.platform === 'linux')('records the steps of test/expectations/linux.ts for every scenario', () => {
    const byId = new Map(report.scenarios.map((scenario) => [scenario.id, scenario]));
    for (const id of scenarioIds) expectScenario(byId.get(id), LINUX[id], 'linux');
  });
});

describe('node dist/cli/main.js probe (the table)', () => {
  it('prints each selected scenario with its calls, ret, errno, code and kind', async () => {
    const result = await runCli(['probe', '--only', 'tcp.fin,tcp.wake', '--only', 'udp.idle']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^rawrecv ${PACKAGE.version} probe on ${process.platform} `));
    expect(lines[1]).toMatch(/^\s+socket\s+call\s+ret\s+errno\s+code\s+kind$/);
    const heads = lines.filter((line) => /^[a-z]/.test(line) && line.includes(': '));
    expect(heads.map((line) => line.split(':')[0])).toEqual(['tcp.fin', 'tcp.wake', 'udp.idle']);
    // tcp.wake runs on a worker thread now: the probe is no longer one thread.
    expect(lines).not.toContainEqual(expect.stringMatching(/unsupported: needs a second thread/));
    if (process.platform === 'linux') {
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}tcp4 +recv\(16\) +5 +0 {2}- +data {2}5 bytes$/));
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}tcp4 +recv\(16, MSG_PEEK\) +0 +0 {2}- +eof$/));
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(`^ {2}udp4 +recvmsg\\(16\\) +-1 +${errnoOf('EAGAIN')} {2}EAGAIN +would-block$`),
        ),
      );
    }
    if (process.platform === 'linux') {
      expect(lines).toContainEqual(expect.stringMatching(/^ {2}tcp4 worker +recv\(16\) sys +0 +0 {2}- +eof$/));
    }
    expect(lines.at(-2)).toMatch(/^3 scenarios in \d+\.\d s: 3 ok, 0 unsupported, 0 timeout, 0 error$/);
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
        if (error && typeof error.code !== 'number') reject(new Error(error.message, { cause: error }));
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
        role: 'client#1',
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
    expectScenario(await runScenario(late), LINUX['tcp.eintr'], 'linux');
  });
});
