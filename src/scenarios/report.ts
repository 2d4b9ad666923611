/**
 * The probe report: what `rawrecv probe --json` writes and `rawrecv diff` reads. Versioned;
 * documented by schema/probe-report.schema.json and docs/probe-report.md. `validateReport`
 * checks the same rules as the schema without a schema library (the package has none at run time).
 * @module
 */
import { release } from 'node:os';

import { STEP_KINDS, type ScenarioResult, type ScenarioStatus, type Step } from './types.js';

export const REPORT_FORMAT = 'rawrecv-probe-report';
/**
 * Bumped whenever a field is added, removed or changes meaning. 2: every step has its `role`
 * (which end of which connection), and the kind `ready` (a poll step).
 */
export const REPORT_FORMAT_VERSION = 2;
/** The versions `rawrecv diff` reads: 1 (steps without roles, paired by socket label) and 2. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

export interface ProbeReport {
  format: typeof REPORT_FORMAT;
  /** The format's version: 2 is written; 1 (no step roles) is still read. */
  formatVersion: 1 | 2;
  /** The rawrecv version that made the report. */
  rawrecv: string;
  /** `process.platform`: the OS whose error numbers the steps carry. */
  os: string;
  /** `os.release()`. */
  osRelease: string;
  /** `process.arch`. */
  arch: string;
  /** `process.version`. */
  node: string;
  /** The Wine version when the Windows build ran under Wine, else null. */
  wine: string | null;
  /** When the probe ran (ISO 8601). */
  createdAt: string;
  /** Free text: where the numbers come from when they were not measured. */
  note?: string;
  scenarios: ScenarioResult[];
}

/** A report of this machine for `results`. */
/** `wine`: the Wine version when run under Wine (constants.wine), else null. */
export function buildReport(
  results: readonly ScenarioResult[],
  rawrecvVersion: string,
  wine: string | null,
): ProbeReport {
  return {
    format: REPORT_FORMAT,
    formatVersion: REPORT_FORMAT_VERSION,
    rawrecv: rawrecvVersion,
    os: process.platform,
    osRelease: release(),
    arch: process.arch,
    node: process.version,
    wine,
    createdAt: new Date().toISOString(),
    scenarios: [...results],
  };
}

const STATUSES: readonly ScenarioStatus[] = ['ok', 'unsupported', 'timeout', 'error'];
const LAYERS: readonly Step['layer'][] = ['typed', 'sys'];
const ID = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

type Problems = string[];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a JSON value is, for a message: `the string "1"`, `null`, `an array`, `missing`. */
function typeName(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function only(value: Record<string, unknown>, allowed: readonly string[], where: string, problems: Problems): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.push(`${where}: unexpected property '${key}'`);
  }
}

function string(value: Record<string, unknown>, key: string, where: string, problems: Problems, optional = false) {
  const field = value[key];
  if (field === undefined && optional) return;
  if (typeof field !== 'string' || field === '') problems.push(`${where}.${key}: must be a non-empty string`);
}

function integer(value: unknown, min: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min;
}

const ROLE = /^[a-z][a-z0-9-]*#[1-9][0-9]*$/;
const V1_FIELDS = ['socket', 'call', 'layer', 'ret', 'errno', 'code', 'kind', 'bytes', 'truncated'];

function checkStep(step: unknown, where: string, problems: Problems, version: number): void {
  if (!isObject(step)) {
    problems.push(`${where}: must be an object`);
    return;
  }
  only(step, version >= 2 ? [...V1_FIELDS, 'role'] : V1_FIELDS, where, problems);
  string(step, 'socket', where, problems);
  if (version >= 2 && (typeof step.role !== 'string' || !ROLE.test(step.role))) {
    problems.push(`${where}.role: must be a role such as 'client#1'`);
  }
  if (version < 2 && step.kind === 'ready') problems.push(`${where}.kind: 'ready' needs formatVersion 2`);
  string(step, 'call', where, problems);
  if (!LAYERS.includes(step.layer as Step['layer'])) problems.push(`${where}.layer: must be 'typed' or 'sys'`);
  if (!integer(step.ret, -1)) problems.push(`${where}.ret: must be an integer >= -1`);
  if (!integer(step.errno, 0)) problems.push(`${where}.errno: must be an integer >= 0`);
  if (step.errno === 0 && step.code !== null) problems.push(`${where}.code: must be null when errno is 0`);
  if (step.errno !== 0 && (typeof step.code !== 'string' || step.code === '')) {
    problems.push(`${where}.code: must be the errno's name when errno is not 0`);
  }
  if (!(STEP_KINDS as readonly unknown[]).includes(step.kind)) {
    problems.push(`${where}.kind: must be one of ${STEP_KINDS.join(', ')}`);
  }
  if (step.bytes !== undefined && !integer(step.bytes, 0)) problems.push(`${where}.bytes: must be an integer >= 0`);
  if (step.truncated !== undefined && typeof step.truncated !== 'boolean') {
    problems.push(`${where}.truncated: must be a boolean`);
  }
}

function checkScenario(scenario: unknown, where: string, problems: Problems, version: number): void {
  if (!isObject(scenario)) {
    problems.push(`${where}: must be an object`);
    return;
  }
  only(scenario, ['id', 'title', 'status', 'reason', 'note', 'durationMs', 'steps'], where, problems);
  if (typeof scenario.id !== 'string' || !ID.test(scenario.id)) {
    problems.push(`${where}.id: must be a scenario id such as 'tcp.fin'`);
  }
  string(scenario, 'title', where, problems);
  if (!STATUSES.includes(scenario.status as ScenarioStatus)) {
    problems.push(`${where}.status: must be one of ${STATUSES.join(', ')}`);
  }
  string(scenario, 'reason', where, problems, scenario.status === 'ok');
  string(scenario, 'note', where, problems, true);
  if (!integer(scenario.durationMs, 0)) problems.push(`${where}.durationMs: must be an integer >= 0`);
  if (!Array.isArray(scenario.steps)) {
    problems.push(`${where}.steps: must be an array`);
    return;
  }
  scenario.steps.forEach((step, index) => checkStep(step, `${where}.steps[${index}]`, problems, version));
}

/**
 * Checks a parsed JSON value against the report format (the rules of the JSON Schema).
 * @returns the report, or the problems found (each 'path: what is wrong'; at most 20).
 */
export function validateReport(value: unknown): { report: ProbeReport } | { problems: string[] } {
  const problems: Problems = [];
  if (!isObject(value)) return { problems: ['report: must be a JSON object'] };
  if (value.format !== REPORT_FORMAT) {
    return { problems: [`format: must be '${REPORT_FORMAT}' (is this a rawrecv probe report?)`] };
  }
  const version = value.formatVersion;
  const readable = READABLE_VERSIONS.join(' or ');
  if (typeof version === 'number' && !READABLE_VERSIONS.includes(version)) {
    return { problems: [`formatVersion: ${version} is not a version this rawrecv reads (${readable})`] };
  }
  if (typeof version !== 'number') {
    // "1" is not 1: say what was found, or the message reads "1 is not a version ... (1)".
    return { problems: [`formatVersion: must be a number (${readable}), not ${typeName(version)}`] };
  }
  only(
    value,
    [
      '$schema',
      'format',
      'formatVersion',
      'rawrecv',
      'os',
      'osRelease',
      'arch',
      'node',
      'wine',
      'createdAt',
      'note',
      'scenarios',
    ],
    'report',
    problems,
  );
  for (const key of ['rawrecv', 'os', 'osRelease', 'arch', 'node']) string(value, key, 'report', problems);
  if (value.wine !== null && (typeof value.wine !== 'string' || value.wine === '')) {
    problems.push('report.wine: must be null or a non-empty string');
  }
  if (typeof value.createdAt !== 'string' || !DATE_TIME.test(value.createdAt)) {
    problems.push('report.createdAt: must be an ISO 8601 date-time');
  }
  string(value, 'note', 'report', problems, true);
  if (!Array.isArray(value.scenarios)) {
    problems.push('report.scenarios: must be an array');
  } else {
    const seen = new Set<unknown>();
    value.scenarios.forEach((scenario, index) => {
      checkScenario(scenario, `scenarios[${index}]`, problems, version);
      const id = isObject(scenario) ? scenario.id : undefined;
      if (seen.has(id)) problems.push(`scenarios[${index}].id: '${String(id)}' appears twice`);
      seen.add(id);
    });
  }
  return problems.length > 0 ? { problems: problems.slice(0, 20) } : { report: value as unknown as ProbeReport };
}
