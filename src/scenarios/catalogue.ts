/**
 * The scenario catalogue: every scenario id of docs/recv-semantics.md#scenarios, in its order,
 * shared by `rawrecv probe` and the conformance tests so that the tool and the tests cannot
 * disagree.
 * @module
 */
import { controlScenarios } from './control.js';
import { dgramScenarios } from './dgram.js';
import { tcpScenarios } from './tcp.js';
import type { Scenario } from './types.js';

export const catalogue: readonly Scenario[] = Object.freeze([...tcpScenarios, ...dgramScenarios, ...controlScenarios]);

/** Every id, in catalogue order. */
export const scenarioIds: readonly string[] = Object.freeze(catalogue.map((scenario) => scenario.id));

/** Thrown by {@link selectScenarios} for ids the catalogue does not have. */
export class UnknownScenarioError extends Error {
  readonly ids: readonly string[];
  constructor(ids: readonly string[]) {
    super(`unknown scenario id${ids.length > 1 ? 's' : ''}: ${ids.join(', ')}`);
    this.name = 'UnknownScenarioError';
    this.ids = ids;
  }
}

/** The scenarios with these ids, in catalogue order; all of them for an empty list. */
export function selectScenarios(ids: readonly string[] = []): Scenario[] {
  if (ids.length === 0) return [...catalogue];
  const unknown = ids.filter((id) => !scenarioIds.includes(id));
  if (unknown.length > 0) throw new UnknownScenarioError(unknown);
  return catalogue.filter((scenario) => ids.includes(scenario.id));
}
