/**
 * `rawrecv diff A.json B.json`: two probe reports compared scenario by scenario, step by step.
 * Each errno is named on its own report's OS (35 is EAGAIN on darwin, 10035 WSAEWOULDBLOCK on
 * win32). Same kind with other numbers is portable; another kind is a real difference.
 * @module
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

// The pure parts only: diff needs no sockets, so it runs where the addon cannot load.
import { errnoName, PLATFORMS, type Platform } from '../errno.js';
import { validateReport, type ProbeReport } from '../scenarios/report.js';
import type { ScenarioResult, Step } from '../scenarios/types.js';
import { InputError, parse } from './args.js';
import { colorEnabled, out, paintKind, painter, type Paint } from './style.js';

export const DIFF_HELP = `Usage: rawrecv diff A.json B.json [--no-color]

Compares two reports of rawrecv probe --json (from two OSes, two machines, two versions)
scenario by scenario and call by call, and prints what differs. Calls are paired by role
(which end of which connection: client#1, server#2), call and occurrence; with a report of
format 1, which has no roles, by socket, call and occurrence. Each errno is named on its own report's OS: 35 on darwin is EAGAIN, 10035
on win32 is WSAEWOULDBLOCK.

  same          the same kinds and the same numbers (listed on one line)
  portable      the same typed kinds, other numbers: EAGAIN 11 vs 35, or EAGAIN vs WSAETIMEDOUT
                for a timeout; two errors of kind 'error' with other names are marked
  KIND DIFFERS  a call with another kind: a real semantic difference
  other calls   a call made on one side only (a platform-only flag, no ::1, an undocumented step)
  not compared  missing from a report, or not run on a side (unsupported, timeout, error)

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

/** Control characters: C0 (ESC, CR, LF, ...), DEL and C1 (CSI U+009B, ...). */
const CONTROLS = /\p{Cc}/gu;

/**
 * `text` with each control character written out (`\x1b`, `\x0a`, `\u009b`), so that it shows
 * instead of acting: a report is data from elsewhere, and printed raw, `\u001b[2J` in it would
 * clear the reader's terminal, a newline would forge a line of output.
 */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (char) => {
    const code = char.charCodeAt(0);
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A parsed JSON value with every string in it, property names too, through {@link escapeControls}. */
function escapeStrings(value: unknown): unknown {
  if (typeof value === 'string') return escapeControls(value);
  if (Array.isArray(value)) return value.map(escapeStrings);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [escapeControls(key), escapeStrings(field)]));
  }
  return value;
}

/**
 * Reads and validates a report; every failure is bad input (exit 2). Nothing of the file
 * reaches the terminal raw: the report it returns and the message of any failure (which quotes
 * the file's name, property names, JSON.parse's excerpt of the text) have their control
 * characters escaped, here, once, so that no line diff prints has to think of it.
 */
export function loadReport(path: string): ProbeReport {
  let report: ProbeReport;
  try {
    report = readReport(path);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(escapeControls(error.message));
    throw error;
  }
  return escapeStrings(report) as ProbeReport;
}

function readReport(path: string): ProbeReport {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new InputError(`cannot read ${path}: ${(error as { code?: string }).code ?? String(error)}`);
  }
  // Windows PowerShell 5 redirects (`>`) as UTF-16 with a byte order mark; others may add a UTF-8 one.
  const text =
    bytes[0] === 0xff && bytes[1] === 0xfe
      ? bytes.subarray(2).toString('utf16le')
      : bytes.toString('utf8').replace(/^\uFEFF/, '');
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

/** The name without Winsock's prefix: WSAECONNRESET and ECONNRESET are the same error. */
function plainName(step: Step, on: Side): string {
  const name = nameOf(step, on);
  return name.startsWith('WSA') ? name.slice(3) : name;
}

/** `would-block -1 EAGAIN (35)`, `data 5 bytes (ret 5)`, `eof 0` (without the kind: `-1 EAGAIN (35)`). */
function describeStep(step: Step, on: Side, paint: Paint, withKind = true): string {
  const parts = withKind ? [paintKind(paint, step.kind)] : [];
  if (step.errno !== 0) parts.push(`${step.ret} ${nameOf(step, on)} (${step.errno})`);
  else if (step.bytes !== undefined) parts.push(`${step.bytes} byte${step.bytes === 1 ? '' : 's'} (ret ${step.ret})`);
  else parts.push(String(step.ret));
  if (step.truncated) parts.push('truncated');
  return parts.join(' ');
}

type Verdict = 'same' | 'portable' | 'calls' | 'kind' | 'not compared' | 'status';

function stepVerdict(a: Step, b: Step, left: Side, right: Side): 'same' | 'portable' | 'kind' {
  if (a.kind !== b.kind) return 'kind';
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
    if (a.status === b.status && a.reason === b.reason) {
      out(`${paint('bold', id)}: not compared: ${a.status} on both${a.reason ? ` (${a.reason})` : ''}`);
    } else {
      out(`${paint('bold', id)}: not compared: ${state(a, left)}; ${state(b, right)}`);
    }
    return 'not compared';
  }
  const lines: string[] = [];
  let kinds = 0;
  let numbers = 0;
  let unpaired = 0;
  for (const [sa, sb] of pairSteps(a.steps, b.steps)) {
    const call = sa ?? sb;
    if (!call) continue;
    const role = call.step.role === undefined ? '' : ` ${call.step.role}`;
    const where = `#${call.index + 1} ${call.step.socket}${role} ${call.step.call}`;
    if (!sa || !sb) {
      unpaired += 1;
      const [has, lacks] = sa ? [left, right] : [right, left];
      lines.push(
        `  ${where}: only in ${has.label}, ${describeStep(call.step, has, paint)} (no such call in ${lacks.label})`,
      );
      continue;
    }
    const step = stepVerdict(sa.step, sb.step, left, right);
    if (step === 'same') continue;
    const both = `${left.label} ${describeStep(sa.step, left, paint)}, ${right.label} ${describeStep(sb.step, right, paint)}`;
    if (step === 'kind') {
      kinds += 1;
      lines.push(`  ${where}: ${paint(['red', 'bold'], 'kind differs')}: ${both}`);
      continue;
    }
    numbers += 1;
    // The kind is portable, but two results of kind 'error' can still be different errors.
    const otherError =
      sa.step.kind === 'error' && plainName(sa.step, left) !== plainName(sb.step, right)
        ? paint('yellow', ' (a different error)')
        : '';
    const numbersOnly =
      `${left.label} ${describeStep(sa.step, left, paint, false)}, ` +
      `${right.label} ${describeStep(sb.step, right, paint, false)}`;
    lines.push(`  ${where}: ${paintKind(paint, sa.step.kind)} on both: ${numbersOnly}${otherError}`);
  }
  if (lines.length === 0) return 'same';
  const parts: string[] = [];
  if (kinds > 0) parts.push(`${kinds} call${kinds === 1 ? '' : 's'} with another kind`);
  if (numbers > 0) parts.push(`${numbers} with the same kind, other numbers`);
  if (unpaired > 0) parts.push(`${unpaired} made on one side only`);
  const verdict: Verdict = kinds > 0 ? 'kind' : numbers > 0 ? 'portable' : 'calls';
  const label =
    verdict === 'kind'
      ? paint(['red', 'bold'], 'KIND DIFFERS')
      : verdict === 'portable'
        ? paint('yellow', 'portable')
        : paint('gray', 'other calls');
  out(`${paint('bold', id)}: ${label} (${parts.join('; ')})`);
  for (const line of lines) out(line);
  return verdict;
}

interface Indexed {
  step: Step;
  index: number;
}

/**
 * Pairs the two sides' calls by role, call and occurrence (the 2nd `recv(16)` of `client#2`
 * with the 2nd), so that a call made on one side only (a platform-only flag, no ::1 on one
 * machine, a cell the documentation leaves open, one connection that makes a call more) does not
 * shift the rest, not even the calls of the scenario's other connections. The socket label is
 * part of the key too (tcp4 and tcp6 connections are not paired). Where either side has no roles
 * (a report of format 1), by socket, call and occurrence. A's order first, then B's extras.
 */
function pairSteps(a: readonly Step[], b: readonly Step[]): [Indexed | undefined, Indexed | undefined][] {
  const roles = [...a, ...b].every((step) => step.role !== undefined);
  const keyed = (steps: readonly Step[]): [string, Indexed][] => {
    const seen = new Map<string, number>();
    return steps.map((step, index) => {
      const base = roles ? `${step.socket}\0${step.role ?? ''}\0${step.call}` : `${step.socket}\0${step.call}`;
      const occurrence = (seen.get(base) ?? 0) + 1;
      seen.set(base, occurrence);
      return [`${base}\0${occurrence}`, { step, index }];
    });
  };
  const right = new Map(keyed(b));
  const pairs: [Indexed | undefined, Indexed | undefined][] = [];
  for (const [key, step] of keyed(a)) {
    pairs.push([step, right.get(key)]);
    right.delete(key);
  }
  for (const step of right.values()) pairs.push([undefined, step]);
  return pairs;
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
  // The reports come escaped from loadReport; the names of their files are printed too.
  const [shownA, shownB] = [escapeControls(pathA), escapeControls(pathB)];
  const [labelA, labelB] = labels(reportA, reportB, shownA, shownB);
  const left = side(reportA, labelA);
  const right = side(reportB, labelB);
  for (const [label, report, path] of [
    [labelA, reportA, shownA],
    [labelB, reportB, shownB],
  ] as const) {
    const wine = report.wine ? `, Wine ${report.wine}` : '';
    out(
      paint(
        'bold',
        `${label} = ${path}: ${report.os} ${report.osRelease} ${report.arch}, rawrecv ${report.rawrecv}, Node ${report.node}${wine}`,
      ),
    );
    if (report.note) out(paint('gray', `  note: ${report.note}`));
  }

  const ids = [...left.byId.keys(), ...[...right.byId.keys()].filter((id) => !left.byId.has(id))];
  const tally: Record<Verdict, number> = { same: 0, portable: 0, calls: 0, kind: 0, status: 0, 'not compared': 0 };
  const same: string[] = [];
  for (const id of ids) {
    const verdict = compareScenario(id, left, right, paint);
    tally[verdict] += 1;
    if (verdict === 'same') same.push(id);
  }
  if (same.length > 0) out(`${paint('green', 'same on both')}: ${same.join(', ')}`);
  const differs = tally.kind + tally.status;
  const line =
    `${ids.length} scenarios: ${tally.same} same, ${tally.portable} portable, ` +
    `${tally.calls} with calls made on one side only, ${tally.kind} differ in kind, ` +
    `${tally.status} differ in status, ${tally['not compared']} not compared`;
  out(differs > 0 ? paint(['red', 'bold'], line) : paint('bold', line));
  return differs > 0 ? 1 : 0;
}
