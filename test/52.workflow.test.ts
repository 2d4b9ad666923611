/**
 * The GitHub workflow (which cannot run here) can pass: actionlint finds nothing in it and does
 * find a broken copy; the release job ships exactly the prebuilds the prepack check expects
 * (scripts/prebuilds.mjs); and the jobs that run on macOS or Windows runners have no step that
 * assumes Linux: each `run:` step there is one npm command, or says `shell: bash`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { RELEASE_TARGETS } from '../scripts/prebuilds.mjs';
import { tempDir } from './built-package.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const workflowPath = join(root, '.github/workflows/ci.yml');
const workflow = readFileSync(workflowPath, 'utf8');
const temp = tempDir('rawrecv-workflow-');
afterAll(() => temp.remove());

function lint(...files: string[]): { status: number | null; stdout: string } {
  return spawnSync(process.execPath, ['scripts/lint-workflows.mjs', ...files], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** The workflow's jobs, by name: the lines of each (two-space-indented keys under `jobs:`). */
function jobs(): Map<string, string> {
  const body = workflow.slice(workflow.indexOf('\njobs:\n'));
  const result = new Map<string, string>();
  for (const part of body.split(/\n(?= {2}[\w-]+:\n)/).slice(1)) {
    const name = /^ {2}([\w-]+):/.exec(part)?.[1];
    if (name) result.set(name, part);
  }
  return result;
}

describe('.github/workflows/ci.yml', () => {
  it('passes actionlint', () => {
    expect(lint()).toMatchObject({ status: 0, stdout: 'actionlint: 1 workflow file(s), no findings\n' });
  }, 70_000);

  it('actionlint fails a copy whose release job needs a job that does not exist', () => {
    const broken = join(temp.path, 'ci.yml');
    expect(workflow).toContain('needs: [prebuild, musl]');
    writeFileSync(broken, workflow.replace('needs: [prebuild, musl]', 'needs: [prebuild, mussl]'));
    const result = lint(broken);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('job "release" needs job "mussl" which does not exist in this workflow');
  }, 70_000);

  it('the release job puts in place every prebuild the prepack check expects, each built by a job', () => {
    const release = jobs().get('release') ?? '';
    const placed = /for target in ([^;]+); do/.exec(release)?.[1]?.trim().split(/\s+/);
    expect(placed?.sort()).toEqual([...RELEASE_TARGETS].sort());
    expect(release).toContain('RAWRECV_PREBUILDS: all');
    const built = [...workflow.matchAll(/name: prebuild-(?:\$\{\{ matrix\.target \}\}|([\w-]+))/g)].map((m) => m[1]);
    const matrixTargets = [...(jobs().get('prebuild') ?? '').matchAll(/target: ([\w-]+)/g)].map((m) => m[1]);
    expect([...matrixTargets, ...built.filter(Boolean)].sort()).toEqual([...RELEASE_TARGETS].sort());
  });

  it('no step on a macOS or Windows runner assumes Linux: one npm command, or shell: bash', () => {
    const offending: string[] = [];
    let checked = 0;
    for (const [name, text] of jobs()) {
      if (!/windows|macos/.test(text)) continue;
      for (const step of text.split(/\n(?= {6}- )/).slice(1)) {
        const run = /\brun: (.*)/.exec(step)?.[1];
        if (run === undefined) continue;
        checked++;
        if (/^npm [\w:-]+( [\w:-]+)*$/.test(run.trim()) || /\n\s+shell: bash\b/.test(step)) continue;
        offending.push(`${name}: ${run}`);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
    expect(offending).toEqual([]);
  });
});
