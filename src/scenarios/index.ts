/**
 * The scenario catalogue of docs/recv-semantics.md#scenarios, its runner and the probe report
 * format: what `rawrecv probe` runs and the conformance tests check.
 * @module
 */
export { catalogue, scenarioIds, selectScenarios, UnknownScenarioError } from './catalogue.js';
export { callLabel, CutOffError, DEFAULT_DEADLINE_MS, flagsLabel, runScenario, runScenarios } from './run.js';
export { messageOf } from './message.js';
export { buildReport, REPORT_FORMAT, REPORT_FORMAT_VERSION, validateReport, type ProbeReport } from './report.js';
export {
  STEP_KINDS,
  type Closable,
  type Scenario,
  type ScenarioContext,
  type ScenarioResult,
  type ScenarioStatus,
  type Step,
  type StepKind,
  type SysRecvTarget,
} from './types.js';
