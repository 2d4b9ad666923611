/**
 * `rawrecv diff A.json B.json`: two probe reports compared scenario by scenario, step by step.
 * Each errno is named on its own report's OS (35 is EAGAIN on darwin, 10035 WSAEWOULDBLOCK on
 * win32). Same kind with other numbers is portable; another kind is a real difference.
 * @module
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

import { errnoName, PLATFORMS, type Platform } from '../index.js';
import { validateReport, type ProbeReport, type ScenarioResult, type Step } from '../scenarios/index.js';
import { InputError, parse } from './args.js';
import { colorEnabled, out, paintKind, painter, type Paint } from './style.js';

export const DIFF_HELP = `Usage: rawrecv diff A.json B.json [--no-color]

Compares two reports of rawrecv probe --json (from two OSes, two machines, two versions)
scenario by scenario and call by call, and prints what differs. Each errno is named on its own
report's OS: 35 on darwin is EAGAIN, 10035 on win32 is WSAEWOULDBLOCK.

  same        the same kind and the same numbers
  portable    the same typed kind, other numbers (EAGAIN 11 vs 35; EAGAIN vs WSAETIMEDOUT for a timeout)
  KIND        another kind, or a call made on one side only: a real semantic difference
  not compared  missing from one report, or not run (unsupported, timeout, error) on a side

Options:
  --no-color      no colour (also: NO_COLOR=1)
  -h, --help      this help

Exit codes: 0 the kinds all agree, 1 a kind differs (or a scenario ran on one side and failed
on the other), 2 bad input (unreadable file, invalid JSON, not a valid probe report).`;

const OPTIONS = {
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface Side {
  label: string;
  report: ProbeReport;
  platform: Platform | undefined;
  byId: Map<string, ScenarioResult>;
}

/** Reads and validates a report; every failure is bad input (exit 2). */
export function loadReport(path: string): ProbeReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${(error as { code?: string }).code ?? String(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${path} is not JSON: ${(error as Error).message}`);
  }
  const checked = validateReport(value);
  if ('problems' in checked) {
    const more = checked.problems.length > 1 ? ` (and ${checked.problems.length - 1} more)` : '';
    throw new InputError(`${path} is not a valid probe report: ${checked.problems[0] ?? ''}${more}`);
  }
  return checked.report;
}

function side(report: ProbeReport, label: string): Side {
  const platform = (PLATFORMS as readonly string[]).includes(report.os) ? (report.os as Platform) : undefined;
  return { label, report, platform, byId: new Map(report.scenarios.map((scenario) => [scenario.id, scenario])) };
}

/** The errno's name on the report's own OS (the report's code where rawrecv has no table). */
function nameOf(step: Step, on: Side): string {
  if (step.errno === 0) return '';
  return (on.platform && errnoName(step.errno, on.platform)) ?? step.code ?? `errno ${step.errno}`;
}

/** `would-block -1 EAGAIN (35)`, `data 5 bytes`, `eof 0`. */
function describeStep(step: Step, on: Side, paint: Paint): string {
  const parts = [paintKind(paint, step.kind)];
  if (step.errno !== 0) parts.push(`${step.ret} ${nameOf(step, on)} (${step.errno})`);
  else if (step.bytes !== undefined) parts.push(`${step.bytes} byte${step.bytes === 1 ? '' : 's'} (ret ${step.ret})`);
  else parts.push(String(step.ret));
  if (step.truncated) parts.push('truncated');
  return parts.join(' ');
}

type Verdict = 'same' | 'portable' | 'kind' | 'not compared' | 'status';

function stepVerdict(a: Step | undefined, b: Step | undefined, left: Side, right: Side): 'same' | 'portable' | 'kind' {
  if (!a || !b || a.kind !== b.kind) return 'kind';
  const same =
    a.ret === b.ret &&
    a.errno === b.errno &&
    nameOf(a, left) === nameOf(b, right) &&
    a.bytes === b.bytes &&
    a.truncated === b.truncated;
  return same ? 'same' : 'portable';
}

function compareScenario(id: string, left: Side, right: Side, paint: Paint): Verdict {
  const a = left.byId.get(id);
  const b = right.byId.get(id);
  if (!a || !b) {
    const [has, lacks] = a ? [left, right] : [right, left];
    out(`${paint('bold', id)}: not compared, missing from ${lacks.label} (only in ${has.label})`);
    return 'not compared';
  }
  if (a.status !== 'ok' || b.status !== 'ok') {
    const state = (result: ScenarioResult, on: Side): string =>
      `${on.label} ${result.status}${result.reason ? ` (${result.reason})` : ''}`;
    // Ran on one side, failed (not merely unsupported) on the other: that is a difference.
    const failed = (result: ScenarioResult): boolean => result.status === 'timeout' || result.status === 'error';
    if ((a.status === 'ok' && failed(b)) || (b.status === 'ok' && failed(a))) {
      out(`${paint('bold', id)}: ${paint(['red', 'bold'], 'STATUS DIFFERS')}: ${state(a, left)}, ${state(b, right)}`);
      return 'status';
    }
    out(`${paint('bold', id)}: not compared: ${state(a, left)}; ${state(b, right)}`);
    return 'not compared';
  }
  const count = Math.max(a.steps.length, b.steps.length);
  const lines: string[] = [];
  let verdict: 'same' | 'portable' | 'kind' = 'same';
  for (let index = 0; index < count; index++) {
    const sa = a.steps[index];
    const sb = b.steps[index];
    const step = stepVerdict(sa, sb, left, right);
    if (step === 'same') continue;
    if (step === 'kind' || verdict === 'same') verdict = step;
    const call = sa && sb && (sa.call !== sb.call || sa.socket !== sb.socket) ? undefined : (sa ?? sb);
    const where = call ? `${call.socket} ${call.call}` : `${sa?.socket} ${sa?.call} / ${sb?.socket} ${sb?.call}`;
    const what = (s: Step | undefined, on: Side): string =>
      `${on.label} ${s ? describeStep(s, on, paint) : paint('gray', 'no such call')}`;
    const same = step === 'portable' && sa ? `${paintKind(paint, sa.kind)} on both; ` : '';
    lines.push(`  #${index + 1} ${where}: ${same}${what(sa, left)}, ${what(sb, right)}`);
  }
  if (verdict === 'same') return 'same';
  const label = verdict === 'kind' ? paint(['red', 'bold'], 'KIND DIFFERS') : paint('yellow', 'portable');
  const explain = verdict === 'kind' ? 'a different outcome' : 'same kinds, other numbers';
  out(`${paint('bold', id)}: ${label} (${explain})`);
  for (const line of lines) out(line);
  return verdict;
}

function labels(a: ProbeReport, b: ProbeReport, pathA: string, pathB: string): [string, string] {
  if (a.os !== b.os) return [a.os, b.os];
  const [nameA, nameB] = [basename(pathA), basename(pathB)];
  return nameA !== nameB ? [`${a.os}(${nameA})`, `${b.os}(${nameB})`] : [`${a.os}(A)`, `${b.os}(B)`];
}

export async function diff(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, true);
  if (values.help) {
    out(DIFF_HELP);
    return 0;
  }
  if (positionals.length !== 2) {
    throw new InputError(`needs two report files (rawrecv diff A.json B.json), got ${positionals.length}`);
  }
  const [pathA = '', pathB = ''] = positionals;
  const reportA = loadReport(pathA);
  const reportB = loadReport(pathB);
  const paint = painter(colorEnabled(values['no-color'] === true));
  const [labelA, labelB] = labels(reportA, reportB, pathA, pathB);
  const left = side(reportA, labelA);
  const right = side(reportB, labelB);
  const about = (report: ProbeReport, path: string): string =>
    `${path}: ${report.os} ${report.osRelease} ${report.arch}, rawrecv ${report.rawrecv}, Node ${report.node}` +
    (report.wine ? `, Wine ${report.wine}` : '') +
    (report.note ? ` (${report.note})` : '');
  out(paint('bold', `${labelA} = ${about(reportA, pathA)}`));
  out(paint('bold', `${labelB} = ${about(reportB, pathB)}`));

  const ids = [...left.byId.keys(), ...[...right.byId.keys()].filter((id) => !left.byId.has(id))];
  const tally: Record<Verdict, number> = { same: 0, portable: 0, kind: 0, status: 0, 'not compared': 0 };
  for (const id of ids) tally[compareScenario(id, left, right, paint)] += 1;
  const differs = tally.kind + tally.status;
  const line =
    `${ids.length} scenarios: ${tally.same} same, ${tally.portable} portable, ${tally.kind} differ in kind, ` +
    `${tally.status} differ in status, ${tally['not compared']} not compared`;
  out(differs > 0 ? paint(['red', 'bold'], line) : paint('bold', line));
  return differs > 0 ? 1 : 0;
}
