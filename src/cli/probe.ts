/**
 * `rawrecv probe`: runs the scenario catalogue on this machine and prints every recv, one
 * scenario at a time as each finishes, or the whole run as a JSON report (--json).
 * @module
 */
import { release } from 'node:os';

import { constants } from '../index.js';
import {
  buildReport,
  runScenarios,
  selectScenarios,
  UnknownScenarioError,
  type Scenario,
  type ScenarioResult,
  type Step,
} from '../scenarios/index.js';
import { InputError, parse } from './args.js';
import { colorEnabled, out, pad, paintKind, painter, type Paint } from './style.js';
import { VERSION } from './version.js';

export const PROBE_HELP = `Usage: rawrecv probe [--json] [--only ID,ID...] [--list] [--no-color]

Runs every scenario of the recv reference (tcp.fin, tcp.rst, udp.icmp, ...) on this machine,
over 127.0.0.1, ::1 and AF_UNIX, with the peers inside this process: nothing to start first.
For each scenario it prints every call made: the socket, the call, its ret, errno and the errno's
name (code) on this OS, and the typed kind rawrecv gives it. A scenario this OS cannot create is
listed as unsupported with the reason; one that hangs is cut off by its deadline (timeout).

Options:
  --json          write the report as JSON to stdout (format: schema/probe-report.schema.json)
  --only IDS      run only these scenario ids (comma-separated; may be repeated)
  --list          list the scenario ids and what each one is, and run nothing
  --no-color      no colour (also: NO_COLOR=1; colour is only ever used on a terminal)
  -h, --help      this help

Exit codes: 0 every scenario ran or is unsupported, 1 a scenario failed or timed out, 2 bad arguments.`;

const OPTIONS = {
  json: { type: 'boolean' },
  only: { type: 'string', multiple: true },
  list: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Column widths of the table: socket, call, ret, errno, code. */
const WIDTH = { socket: 16, call: 26, ret: 4, errno: 6, code: 16 } as const;

function stepRow(step: Step, paint: Paint): string {
  const call = step.layer === 'sys' ? `${step.call} sys` : step.call;
  let detail = '';
  if (step.bytes !== undefined) detail = `  ${step.bytes} byte${step.bytes === 1 ? '' : 's'}`;
  if (step.truncated) detail += ', truncated';
  return [
    '  ',
    pad(step.socket, WIDTH.socket),
    pad(call, WIDTH.call),
    pad(String(step.ret), WIDTH.ret, true),
    pad(String(step.errno), WIDTH.errno, true),
    '  ',
    pad(step.code ?? '-', WIDTH.code),
    paintKind(paint, step.kind),
    detail ? paint('gray', detail) : '',
  ].join('');
}

function header(paint: Paint): string {
  return paint(
    'bold',
    [
      '  ',
      pad('socket', WIDTH.socket),
      pad('call', WIDTH.call),
      pad('ret', WIDTH.ret, true),
      pad('errno', WIDTH.errno, true),
      '  ',
      pad('code', WIDTH.code),
      'kind',
    ].join(''),
  );
}

function printResult(result: ScenarioResult, paint: Paint): void {
  out(`${paint('bold', result.id)}${paint('gray', `: ${result.title}`)}`);
  for (const step of result.steps) out(stepRow(step, paint));
  if (result.status === 'unsupported') out(`  ${paint('gray', `unsupported: ${result.reason ?? ''}`)}`);
  if (result.status === 'timeout' || result.status === 'error') {
    out(`  ${paint(['red', 'bold'], `${result.status}: ${result.reason ?? ''}`)}`);
  }
  if (result.note) out(`  ${paint('gray', `note: ${result.note}`)}`);
}

function summary(results: readonly ScenarioResult[], ms: number, paint: Paint): string {
  const count = (status: string): number => results.filter((result) => result.status === status).length;
  const failed = count('timeout') + count('error');
  const line =
    `${results.length} scenarios in ${(ms / 1000).toFixed(1)} s: ${count('ok')} ok, ` +
    `${count('unsupported')} unsupported, ${count('timeout')} timeout, ${count('error')} error`;
  return failed > 0 ? paint(['red', 'bold'], line) : paint('bold', line);
}

/** The ids of every --only, split at commas. */
function onlyIds(values: unknown): string[] {
  if (values === undefined) return [];
  const ids = (values as string[]).flatMap((value) => value.split(',')).map((id) => id.trim());
  if (ids.length === 0 || ids.some((id) => id === ''))
    throw new InputError('--only takes scenario ids, comma-separated');
  return ids;
}

export async function probe(args: string[]): Promise<number> {
  const { values } = parse(args, OPTIONS);
  if (values.help) {
    out(PROBE_HELP);
    return 0;
  }
  let scenarios: Scenario[];
  try {
    scenarios = selectScenarios(onlyIds(values.only));
  } catch (error) {
    if (error instanceof UnknownScenarioError) {
      throw new InputError(`${error.message} (rawrecv probe --list shows the ids)`);
    }
    throw error;
  }
  if (values.list) {
    const width = Math.max(...scenarios.map((scenario) => scenario.id.length)) + 2;
    for (const scenario of scenarios) out(`${pad(scenario.id, width)}${scenario.title}`);
    return 0;
  }

  const json = values.json === true;
  const paint = painter(!json && colorEnabled(values['no-color'] === true));
  const started = performance.now();
  if (!json) {
    out(
      paint(
        'bold',
        `rawrecv ${VERSION} probe on ${process.platform} ${release()} (${process.arch}), Node ${process.version}`,
      ),
    );
    out(header(paint));
  }
  const results: ScenarioResult[] = [];
  for await (const result of runScenarios(scenarios)) {
    results.push(result);
    if (!json) printResult(result, paint);
  }
  if (json) out(JSON.stringify(buildReport(results, VERSION, constants.wine), null, 2));
  else out(summary(results, performance.now() - started, paint));
  return results.some((result) => result.status === 'timeout' || result.status === 'error') ? 1 : 0;
}
