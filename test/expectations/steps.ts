/**
 * The vocabulary of the expectations tables (scenario id of docs/recv-semantics.md#scenarios ->
 * the steps `rawrecv probe` records on one platform, each errno by name), how an entry resolves
 * in a view, and the reader of the reference's ids and anchors. Beside plain steps: `deviation`
 * and `wineOnly` (win32.ts: Wine differs from the documented value; the column has none and Wine's
 * is asserted under Wine only), `REST` (the column says nothing more), `unsupported` (the OS cannot
 * create it, and why) and `undocumented` (no value: only that the scenario runs is checked).
 * @module
 */
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';

import { expect } from 'vitest';

import { errnoNumber, type Platform } from '../../src/index.js';
import { ipv6Loopback } from '../../src/scenarios/helpers.js';
import type { ScenarioResult, Step } from '../../src/scenarios/index.js';

/** A step as the probe records it, with its errno named by `code` only (and no role: see {@link withoutRole}). */
export type Expected = Omit<Step, 'errno' | 'role'>;

/**
 * A recorded step without its `role`: the tables say what each call returns, not which
 * connection it was on (test/40 and test/41 check the roles, rawrecv diff pairs by them).
 */
export function withoutRole(step: Step): Step {
  const copy = { ...step };
  delete copy.role;
  return copy;
}
/** `why`: what Wine does differently (docs/recv-semantics.md#wine). */
export type WineDeviation = { readonly windows: Expected; readonly wine: Expected; readonly why: string };
export type WineOnly = { readonly wineOnly: Expected };
export const REST = { rest: 'undocumented' } as const;
export type Row = Expected | WineDeviation | WineOnly | typeof REST;
export type Unsupported = { readonly unsupported: string };
export type Undocumented = { readonly undocumented: string };
/** Windows has it (`windows`, its entry), Wine cannot create it: `why` (win32.ts only). */
export type WineUnsupported = { readonly wineUnsupported: string; readonly windows: Entry };
export type Entry = readonly Row[] | Unsupported | Undocumented | WineUnsupported;
/** Scenario id -> entry, in the order of docs/recv-semantics.md#scenarios. */
export type Table = Readonly<Record<string, Entry>>;

export function deviation(windows: Expected, wine: Expected, why: string): WineDeviation {
  if (JSON.stringify(windows) === JSON.stringify(wine)) throw new Error(`not a deviation: ${why}`);
  return { windows, wine, why };
}
export const wineOnly = (wine: Expected): WineOnly => ({ wineOnly: wine });
export const unsupported = (why: string): Unsupported => ({ unsupported: why });
export const undocumented = (why: string): Undocumented => ({ undocumented: why });
export const wineUnsupported = (why: string, windows: Entry): WineUnsupported => ({ wineUnsupported: why, windows });

/**
 * A column that differs from `base` (the Linux table) only in `cells`: every other id takes base's
 * steps, through `recode`. Keeps base's order, the reference's.
 */
export function column(base: Table, cells: Table, recode = (step: Expected): Expected => step): Table {
  const unknown = Object.keys(cells).filter((id) => !(id in base));
  if (unknown.length > 0) throw new Error(`not scenario ids: ${unknown.join(', ')}`);
  const recoded = (entry: Entry): Entry => (Array.isArray(entry) ? (entry as readonly Expected[]).map(recode) : entry);
  return Object.fromEntries(Object.entries(base).map(([id, entry]) => [id, cells[id] ?? recoded(entry)]));
}

const WINSOCK_CODES: Readonly<Record<string, string>> = { 'would-block': 'WSAEWOULDBLOCK', timeout: 'WSAETIMEDOUT' };

/** A Linux step in Winsock's names: WSAEWOULDBLOCK, WSAETIMEDOUT for an expired timeout, WSAE* for E*. */
export function winsock(step: Expected): Expected {
  if (step.code === null) return step;
  return { ...step, code: WINSOCK_CODES[step.kind] ?? `WSA${step.code}` };
}

/** The same step made through `sys` (a raw call, its number classified as the Socket would). */
export const sys = (expected: Expected): Expected => ({ ...expected, layer: 'sys' });
export const PEEK = 'recv(16, MSG_PEEK)';

/** Step builders for a column whose would-block and timeout carry these codes. */
export function builders(codes: { wouldBlock: string; timeout: string }) {
  type Kind = Step['kind'];
  const step = (socket: string, call: string, kind: Kind, ret: number, code: string | null): Expected => {
    return { socket, call, layer: 'typed', ret, code, kind };
  };
  const data = (socket: string, bytes: number, call = 'recv(16)', extra: Partial<Step> = {}): Expected => {
    return { ...step(socket, call, 'data', bytes, null), bytes, ...extra };
  };
  return {
    step,
    data,
    wouldBlock: (socket: string, call = 'recv(16)') => step(socket, call, 'would-block', -1, codes.wouldBlock),
    timeout: (socket: string, call = 'recv(16)') => step(socket, call, 'timeout', -1, codes.timeout),
    error: (socket: string, code: string, call = 'recv(16)') => step(socket, call, 'error', -1, code),
    eof: (socket: string, call = 'recv(16)') => step(socket, call, 'eof', 0, null),
  };
}

/** Which values of a table to read: the Windows column has two, the documented one and Wine's. */
export type View = 'linux' | 'darwin' | 'freebsd' | 'windows' | 'wine';

/** The view of this process: its platform, and for win32 whether it runs under Wine. */
export const viewOf = (platform: Platform, wine: string | null): View =>
  platform !== 'win32' ? platform : wine === null ? 'windows' : 'wine';
const platformOf = (view: View): Platform => (view === 'windows' || view === 'wine' ? 'win32' : view);

/**
 * The number of `code` on `platform`: for this OS Node's os.constants.errno (independent of the
 * library), for another the library's table (test/01 checks it against the reference).
 */
function errnoIn(code: string, platform: Platform): number {
  const here = platform === process.platform;
  const number = here ? (osConstants.errno as Record<string, number>)[code] : errnoNumber(code, platform);
  if (number === undefined) throw new Error(`no errno ${code} on ${platform}`);
  return number;
}

export interface Resolved {
  status: 'ok' | 'unsupported' | 'undocumented';
  /** The steps in order; null where a step must be there but its value is not compared. */
  steps: (Step | null)[];
  /** false: the column documents nothing after `steps` (REST). */
  complete: boolean;
  /** The `why` of each Wine deviation (view 'wine'). */
  deviations: string[];
}

/** The steps an entry expects in a view, errno numbers of its platform; without ::1 steps if `ipv6` is false. */
export function resolve(entry: Entry, view: View, options: { ipv6?: boolean } = {}): Resolved {
  const resolved: Resolved = { status: 'ok', steps: [], complete: true, deviations: [] };
  if ('wineUnsupported' in entry) {
    if (platformOf(view) !== 'win32') throw new Error('a Wine entry outside win32.ts');
    if (view !== 'wine') return resolve(entry.windows, view, options);
    return { ...resolved, status: 'unsupported', deviations: [entry.wineUnsupported] };
  }
  if (!Array.isArray(entry)) return { ...resolved, status: 'unsupported' in entry ? 'unsupported' : 'undocumented' };
  const platform = platformOf(view);
  for (const row of entry as readonly Row[]) {
    if ('rest' in row) {
      resolved.complete = false;
      break;
    }
    if (('why' in row || 'wineOnly' in row) && platform !== 'win32') throw new Error('a Wine row outside win32.ts');
    if ('why' in row && view === 'wine') resolved.deviations.push(row.why);
    const expected =
      'why' in row
        ? row[view === 'wine' ? 'wine' : 'windows']
        : 'wineOnly' in row
          ? view === 'wine'
            ? row.wineOnly
            : null
          : row;
    if (options.ipv6 === false && expected?.socket === 'tcp6') continue;
    resolved.steps.push(
      expected && { ...expected, errno: expected.code === null ? 0 : errnoIn(expected.code, platform) },
    );
  }
  return resolved;
}

/** Asserts a scenario's result against its entry in a view. */
export function expectScenario(result: ScenarioResult | undefined, entry: Entry | undefined, view: View): void {
  if (!result || !entry) throw new Error(`${result?.id ?? 'a scenario'} has no ${result ? 'entry' : 'result'}`);
  const expected = resolve(entry, view, { ipv6: ipv6Loopback() === true });
  if (expected.status === 'unsupported')
    expect(result).toMatchObject({ status: 'unsupported', reason: expect.stringMatching(/\S/) as string, steps: [] });
  if (expected.status === 'undocumented') expect(['ok', 'unsupported'], result.reason).toContain(result.status);
  if (expected.status !== 'ok') return;
  expect({ id: result.id, status: result.status, reason: result.reason }).toEqual({ id: result.id, status: 'ok' });
  // A step the column does not document is compared as null: there, any value.
  const actual = result.steps.map((step, index) => (expected.steps[index] === null ? null : withoutRole(step)));
  expect(expected.complete ? actual : actual.slice(0, expected.steps.length)).toEqual(expected.steps);
}

// --- docs/recv-semantics.md itself ---------------------------------------------------------------

export const REFERENCE = new URL('../../docs/recv-semantics.md', import.meta.url);

const text = (): string => readFileSync(REFERENCE, 'utf8');

/** The scenario ids of the reference's table, in its order. Throws on a row whose anchor is not its id. */
export function referenceScenarioIds(): string[] {
  return [...text().matchAll(/^\| <a id="([^"]+)"><\/a>`([^`]+)` +\|/gm)].map(([row, anchor, id]) => {
    if (anchor !== id) throw new Error(`docs/recv-semantics.md: the row of ${id} has the anchor ${anchor}: ${row}`);
    return id as string;
  });
}

/** Every explicit anchor (`<a id="...">`) of the reference. */
export function referenceAnchors(): Set<string> {
  return new Set([...text().matchAll(/<a id="([^"]+)"><\/a>/g)].map((match) => match[1] as string));
}
